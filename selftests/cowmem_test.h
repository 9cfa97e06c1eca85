/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the cowmem selftests alone: cgroups, loads and stores the
 * compiler keeps, a child's verdict. What the tools use too (the device,
 * the ioctls, debugfs "stats", "views" and "pages", peers) is in
 * tools/lib/cowmem_user.h, which this header includes.
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

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/cowmem.h>

#include "cowmem_user.h"

#define CGROOT "/sys/fs/cgroup"

/* Writes @text to the cgroup file @path; 0 on success. */
static inline int cg_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* 1 when cgroup v2 is mounted (mounting it if need be) with memory enabled. */
static inline int cg_enable_memory(void)
{
	mount("none", CGROOT, "cgroup2", 0, NULL);
	return !access(CGROOT "/cgroup.controllers", F_OK) &&
	       !cg_write(CGROOT "/cgroup.subtree_control", "+memory");
}

/*
 * The module parameter that says how a clone takes write permission from
 * its source's PTEs: 'Y' in place (write-protect), 'N' by a zap.
 */
#define WRPROTECT_PARAM "/sys/module/cowmem/parameters/wrprotect"

/* wrprotect's value, 'Y' or 'N'; 0 when it cannot be read. */
static inline char wrprotect_get(void)
{
	char c = 0;
	int fd = open(WRPROTECT_PARAM, O_RDONLY);

	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c;
}

/* Sets wrprotect to @c; 0, or -1 (EOPNOTSUPP: this kernel cannot). */
static inline int wrprotect_set(char c)
{
	int fd = open(WRPROTECT_PARAM, O_WRONLY);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, &c, 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

/* Loads and stores the compiler must not drop or merge (instead of volatile). */
#define peek(p) __atomic_load_n((const char *)(p), __ATOMIC_RELAXED)
#define poke(p, c) __atomic_store_n((char *)(p), (char)(c), __ATOMIC_RELAXED)

/* The child's verdict: 0 when every check passed, else the failed check's number. */
#define CHILD_CHECK(n, cond)      \
	do {                      \
		if (!(cond))      \
			_exit(n); \
	} while (0)

/*
 * 1 when this kernel lets GUP pin cowmem's pages (the module's read-only
 * "pinnable" parameter: VM_MIXEDMAP mappings), 0 when it refuses them
 * (VM_PFNMAP), -1 when the parameter cannot be read.
 */
static inline int cowmem_pinnable(void)
{
	int fd = open("/sys/module/cowmem/parameters/pinnable", O_RDONLY);
	char c = 0;

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y' ? 1 : c == 'N' ? 0 : -1;
}

/* 1 when the mapping at @addr is a cowmem node's (/proc/self/maps), 0 if not, -1 on error. */
static inline int is_cowmem(void *addr)
{
	unsigned long start, end, a = (unsigned long)addr;
	char line[512];
	int found = 0;
	FILE *maps;

	maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return -1;
	while (fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		if (a >= start && a < end) {
			found = strstr(line, "/cowmem") ? 1 : 0;
			break;
		}
	}
	fclose(maps);
	return found;
}

/*
 * How many times slower than the machine the suite's timeouts were chosen
 * on (an idle 2-core host, the guest under TCG) this boot runs: COWMEM_SLOW,
 * which scripts/vm-init measures at boot; 1 without it. Every timeout a
 * test waits with is multiplied by it: a busy laptop gets more time to
 * wait, never a looser assertion.
 */
static inline int cowmem_slowness(void)
{
	const char *slow = getenv("COWMEM_SLOW");
	int factor = slow ? atoi(slow) : 1;

	return factor > 1 ? factor : 1;
}

#ifdef __KSELFTEST_HARNESS_H
/*
 * Scales each test's timeout (its TEST_F_TIMEOUT, or the harness's
 * default) by cowmem_slowness(), for test_harness_run() to run them with.
 */
static inline void cowmem_scale_timeouts(void)
{
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			t->timeout *= cowmem_slowness();
}

/* TEST_HARNESS_MAIN, with the timeouts scaled first. */
#define COWMEM_HARNESS_MAIN                         \
	int main(int argc, char **argv)             \
	{                                           \
		cowmem_scale_timeouts();            \
		exit(test_harness_run(argc, argv)); \
	}
#endif

#endif /* COWMEM_TEST_H */
