// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/cowmem device node itself: permissions and open/close.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

/* The node is a character device, mode 0600 by default (module parameter). */
TEST(node_is_private_char_device)
{
	struct stat st;

	ASSERT_EQ(0, stat("/dev/cowmem", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 0777);
}

/* Every open creates a region of its own; many can be open at once. */
TEST(open_many_and_close)
{
	int fds[64];
	int i;

	for (i = 0; i < 64; i++) {
		fds[i] = open("/dev/cowmem", O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0, close(fds[i]));
}

COWMEM_HARNESS_MAIN
