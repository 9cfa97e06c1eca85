// SPDX-License-Identifier: GPL-2.0
/*
 * cowdemo: shows copy-on-write through /dev/cowmem (placeholder until the
 * COW core lands: it only opens the device).
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	int fd = open("/dev/cowmem", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror("open /dev/cowmem");
		return 1;
	}
	printf("cowdemo: /dev/cowmem is open (fd %d)\n", fd);
	close(fd);
	return 0;
}
