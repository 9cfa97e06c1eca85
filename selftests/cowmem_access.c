// SPDX-License-Identifier: GPL-2.0
/*
 * Access from outside the process's own loads and stores: /proc/PID/mem and
 * ptrace go through the module and respect COW; where the kernel cannot pin
 * cowmem's pages (VM_PFNMAP), interfaces that need GUP
 * (process_vm_readv/writev, vmsplice) are refused with EFAULT, harmlessly.
 * Where it can, cowmem_gup tests them against anonymous memory.
 */
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define PAGES 8

/* Every byte of the region holds 's' when a test starts. */
static void fill_s(char *map, size_t psz)
{
	memset(map, 's', PAGES * psz);
}

#define REGION_SETUP(map, psz) fill_s(map, psz)
#include "cowmem_fixture.h"

/* A /proc/self/mem write after fork splits the page, in the writer only. */
TEST_F(region, proc_mem_write_after_fork_splits)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		int mem = open("/proc/self/mem", O_RDWR);
		long breaks = cowmem_stat("cow_breaks");

		CHILD_CHECK(1, mem >= 0);
		CHILD_CHECK(2, pwrite(mem, "MEM", 3,
				      (off_t)(uintptr_t)self->map) == 3);
		CHILD_CHECK(3, !memcmp(self->map, "MEMs", 4));
		CHILD_CHECK(4, cowmem_stat("cow_breaks") == breaks + 1);
		_exit(0);
	}
	ASSERT_EQ(0, cowmem_wait(pid));
	EXPECT_EQ(0, memcmp(self->map, "ssss", 4));
}

/* /proc/self/mem reads see written data and zeros for never-written pages. */
TEST_F(region, proc_mem_reads_data_and_zeros)
{
	int fd2 = cowmem_open();
	char *fresh, buf[8];
	int mem;

	ASSERT_LE(0, fd2);
	fresh = cowmem_map(fd2, 2, 0);
	ASSERT_NE(NULL, fresh);
	mem = open("/proc/self/mem", O_RDONLY);
	ASSERT_LE(0, mem);
	ASSERT_EQ(8, pread(mem, buf, 8, (off_t)(uintptr_t)self->map));
	EXPECT_EQ(0, memcmp(buf, "ssssssss", 8));
	memset(buf, 'x', sizeof(buf));
	ASSERT_EQ(8, pread(mem, buf, 8,
			   (off_t)(uintptr_t)fresh + (off_t)self->psz - 4));
	EXPECT_EQ(0, memcmp(buf, "\0\0\0\0\0\0\0\0", 8));
	close(mem);
	munmap(fresh, 2 * self->psz);
	close(fd2);
}

/* PTRACE_POKEDATA into a forked tracee splits its page and leaves the tracer's. */
TEST_F(region, ptrace_poke_after_fork_splits)
{
	long word, peeked;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		CHILD_CHECK(1, ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0);
		raise(SIGSTOP);
		CHILD_CHECK(2, !memcmp(self->map + self->psz, "POKEPOKE", 8));
		CHILD_CHECK(3, self->map[self->psz + 8] == 's');
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSTOPPED(status));
	memcpy(&word, "POKEPOKE", sizeof(word));
	ASSERT_EQ(0, ptrace(PTRACE_POKEDATA, pid, self->map + self->psz,
			    (void *)word));
	errno = 0;
	peeked = ptrace(PTRACE_PEEKDATA, pid, self->map + self->psz, NULL);
	ASSERT_EQ(0, errno);
	EXPECT_EQ(word, peeked);
	ASSERT_EQ(0, ptrace(PTRACE_CONT, pid, NULL, NULL));
	ASSERT_EQ(0, cowmem_wait(pid));
	EXPECT_EQ('s', self->map[self->psz]);
}

/* process_vm_writev/readv need GUP: refused with EFAULT, memory untouched. */
TEST_F(region, process_vm_rw_refused_without_harm)
{
	char src[16] = "REMOTE-WRITE", dst[16];
	struct iovec local = { src, sizeof(src) },
		     remote = { self->map, sizeof(src) };

	if (cowmem_pinnable() == 1)
		SKIP(return, "cowmem's pages are pinnable: see cowmem_gup");

	EXPECT_EQ(-1, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	local.iov_base = dst;
	EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ('s', self->map[0]);
	self->map[0] = 'w';
	EXPECT_EQ('w', self->map[0]);
}

/* vmsplice() of the mapping needs GUP too: EFAULT, and the process goes on. */
TEST_F(region, vmsplice_refused_without_harm)
{
	struct iovec iov = { self->map, self->psz };
	int p[2];

	if (cowmem_pinnable() == 1)
		SKIP(return, "cowmem's pages are pinnable: see cowmem_gup");
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-1, vmsplice(p[1], &iov, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	close(p[0]);
	close(p[1]);
}

/* Plain syscalls copy to and from the mapping (no GUP): write() and read() work. */
TEST_F(region, copy_to_and_from_user_work)
{
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(4, write(p[1], self->map, 4));
	ASSERT_EQ(4, write(p[1], "READ", 4));
	ASSERT_EQ(4, read(p[0], self->map + 2 * self->psz, 4));
	EXPECT_EQ(0, memcmp(self->map + 2 * self->psz, "ssss", 4));
	ASSERT_EQ(4, read(p[0], self->map + 2 * self->psz, 4));
	EXPECT_EQ(0, memcmp(self->map + 2 * self->psz, "READ", 4));
	close(p[0]);
	close(p[1]);
}

COWMEM_HARNESS_MAIN
