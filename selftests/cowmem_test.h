/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the cowmem selftests: map a region, read the module's
 * counters from debugfs, wait for a child and get its verdict.
 */
#ifndef COWMEM_TEST_H
#define COWMEM_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define COWMEM_DEV "/dev/cowmem"
#define COWMEM_STATS "/sys/kernel/debug/cowmem/stats"

static inline size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static inline int cowmem_open(void)
{
	return open(COWMEM_DEV, O_RDWR | O_CLOEXEC);
}

/* A read-write MAP_SHARED mapping of @pages pages at page offset @pgoff. */
static inline char *cowmem_map(int fd, size_t pages, size_t pgoff)
{
	void *p = mmap(NULL, pages * page_size(), PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, (off_t)(pgoff * page_size()));

	return p == MAP_FAILED ? NULL : p;
}

/* One counter from debugfs "stats", or -1 when it cannot be read. */
static inline long cowmem_stat(const char *name)
{
	char line[128], key[64];
	long value = -1, v;
	FILE *f = fopen(COWMEM_STATS, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^:]: %ld", key, &v) == 2 && !strcmp(key, name)) {
			value = v;
			break;
		}
	}
	fclose(f);
	return value;
}

/* The exit status of @pid, or 255 when it did not exit normally. */
static inline int wait_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return 255;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/* The child's verdict: 0 when every check passed, else the failed check's number. */
#define CHILD_CHECK(n, cond)			\
	do {					\
		if (!(cond))			\
			_exit(n);		\
	} while (0)

#endif /* COWMEM_TEST_H */
