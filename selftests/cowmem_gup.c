// SPDX-License-Identifier: GPL-2.0
/*
 * GUP on cowmem's memory, beside the kernel's own: every test runs once on
 * a private anonymous mapping (the anon variant, the kernel's COW) and once
 * on a cowmem mapping, and asserts the same outcome of both, but where a
 * test says why they differ. Where the kernel cannot pin cowmem's pages
 * (the module's "pinnable" parameter is N: VM_PFNMAP), the cowmem variant
 * is skipped, and cowmem_access tests that GUP is refused harmlessly.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define PAGES 4

FIXTURE(gup)
{
	int fd; /* /dev/cowmem, or -1 for the anon variant */
	char *map; /* PAGES pages, read and write */
	size_t psz;
	char *buf; /* a page of the test's, for what a pipe or a file gives */
	int pipe[2];
};

FIXTURE_VARIANT(gup)
{
	bool cowmem;
};

/* Each variant is a struct: its brace goes on a line of its own. */
/* clang-format off */
FIXTURE_VARIANT_ADD(gup, anon)
{
	.cowmem = false,
};

FIXTURE_VARIANT_ADD(gup, cowmem)
{
	.cowmem = true,
};

/* clang-format on */

FIXTURE_SETUP(gup)
{
	self->psz = cowmem_page_size();
	self->fd = -1;
	self->map = NULL;
	self->buf = malloc(self->psz);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, pipe(self->pipe));
	if (!variant->cowmem) {
		self->map = mmap(NULL, PAGES * self->psz,
				 PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		return;
	}
	ASSERT_LE(0, cowmem_pinnable())
	TH_LOG("cannot read /sys/module/cowmem/parameters/pinnable: is cowmem loaded?");
	if (!cowmem_pinnable())
		SKIP(return, "VM_PFNMAP: GUP refuses it (cowmem_access)");
	self->fd = cowmem_open();
	ASSERT_LE(0, self->fd);
	self->map = cowmem_map(self->fd, PAGES, 0);
	ASSERT_NE(NULL, self->map);
}

FIXTURE_TEARDOWN(gup)
{
	close(self->pipe[0]);
	close(self->pipe[1]);
	free(self->buf);
	if (self->map)
		munmap(self->map, PAGES * self->psz);
	if (self->fd >= 0) {
		close(self->fd);
		EXPECT_EQ(1, cowmem_check_ok())
		TH_LOG("debugfs check found a PTE or a reference out of place");
	}
}

/*
 * Whether the setup skipped this variant (it leaves no map): the harness
 * Debian's 6.1 ships runs the test's body even then.
 */
static bool skipped(FIXTURE_DATA(gup) * self)
{
	return !self->map;
}

/* A child vmsplice()s the page at @page into @fd and exits: 0 if it did. */
static int splice_in_child(char *page, size_t psz, int fd)
{
	struct iovec iov = { page, psz };
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid)
		_exit(vmsplice(fd, &iov, 1, 0) == (ssize_t)psz ? 0 : 1);
	return cowmem_wait(pid);
}

/* process_vm_writev() lands in the page and process_vm_readv() reads it back. */
TEST_F(gup, process_vm_write_then_read)
{
	char src[32] = "written by process_vm_writev", dst[32] = "";
	struct iovec local = { src, sizeof(src) },
		     remote = { self->map + self->psz, sizeof(src) };

	if (skipped(self))
		return;
	ASSERT_EQ((ssize_t)sizeof(src),
		  process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(0, memcmp(self->map + self->psz, src, sizeof(src)));
	local.iov_base = dst;
	ASSERT_EQ((ssize_t)sizeof(dst),
		  process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(0, memcmp(dst, src, sizeof(src)));
}

/*
 * process_vm_writev() into a child after fork writes the child's page
 * alone: a remote write breaks COW like the child's own.
 */
TEST_F(gup, process_vm_write_into_child_breaks_cow)
{
	char src[8] = "REMOTE!", seen = 0;
	struct iovec local = { src, sizeof(src) },
		     remote = { self->map, sizeof(src) };
	int go[2], back[2];
	pid_t pid;

	if (skipped(self))
		return;
	memset(self->map, 'p', self->psz);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(back));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char c;

		CHILD_CHECK(1, read(go[0], &c, 1) == 1);
		CHILD_CHECK(2, write(back[1], self->map, 1) == 1);
		_exit(0);
	}
	EXPECT_EQ((ssize_t)sizeof(src),
		  process_vm_writev(pid, &local, 1, &remote, 1, 0));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(1, read(back[0], &seen, 1));
	EXPECT_EQ(0, cowmem_wait(pid));
	EXPECT_EQ('R', seen)
	TH_LOG("the child did not see the write made into it");
	EXPECT_EQ('p', self->map[0])
	TH_LOG("the write into the child reached the parent's page");
}

/* vmsplice() hands the page to a pipe, which reads what it held. */
TEST_F(gup, vmsplice_reads_the_page)
{
	struct iovec iov = { self->map, self->psz };

	if (skipped(self))
		return;
	memset(self->map, 'v', self->psz);
	ASSERT_EQ((ssize_t)self->psz, vmsplice(self->pipe[1], &iov, 1, 0));
	ASSERT_EQ((ssize_t)self->psz,
		  read(self->pipe[0], self->buf, self->psz));
	EXPECT_TRUE(cowmem_page_is(self->buf, self->psz, 'v'));
}

/*
 * CVE-2020-29374: a child vmsplice()s a page it shares with its parent and
 * exits; the parent's later write must not reach the pipe. The page is the
 * parent's alone again, but the pipe still holds it: the write copies.
 */
TEST_F(gup, vmsplice_by_child_misses_parent_write)
{
	long breaks = 0;

	if (skipped(self))
		return;
	memset(self->map, 'A', self->psz);
	ASSERT_EQ(0, splice_in_child(self->map, self->psz, self->pipe[1]));
	if (variant->cowmem)
		breaks = cowmem_stat("cow_breaks");
	memset(self->map, 'B', self->psz);
	if (variant->cowmem)
		EXPECT_EQ(breaks + 1, cowmem_stat("cow_breaks"))
	TH_LOG("the write did not copy the page the pipe holds");
	ASSERT_EQ((ssize_t)self->psz,
		  read(self->pipe[0], self->buf, self->psz));
	EXPECT_TRUE(cowmem_page_is(self->buf, self->psz, 'A'))
	TH_LOG("the pipe read '%c': the parent's later write reached it",
	       self->buf[0]);
}

/*
 * The same, but the parent drains the pipe before it writes: nothing else
 * holds the page then, and cowmem reuses it rather than copy (the check is
 * of references, not a blanket copy).
 */
TEST_F(gup, parent_reuses_once_the_pipe_let_go)
{
	long reuses = 0, breaks = 0;

	if (skipped(self))
		return;
	memset(self->map, 'A', self->psz);
	ASSERT_EQ(0, splice_in_child(self->map, self->psz, self->pipe[1]));
	ASSERT_EQ((ssize_t)self->psz,
		  read(self->pipe[0], self->buf, self->psz));
	EXPECT_TRUE(cowmem_page_is(self->buf, self->psz, 'A'));
	if (variant->cowmem) {
		reuses = cowmem_stat("reuses");
		breaks = cowmem_stat("cow_breaks");
	}
	memset(self->map, 'B', self->psz);
	EXPECT_EQ('B', self->map[self->psz - 1]);
	if (variant->cowmem) {
		EXPECT_EQ(reuses + 1, cowmem_stat("reuses"));
		EXPECT_EQ(breaks, cowmem_stat("cow_breaks"))
		TH_LOG("the write copied a page nothing else held any more");
	}
}

/*
 * A parent vmsplice()s a page, forks, and both write it: the pipe keeps
 * what the page held when it was spliced.
 */
TEST_F(gup, vmsplice_before_fork_keeps_the_page)
{
	struct iovec iov = { self->map, self->psz };
	pid_t pid;

	if (skipped(self))
		return;
	memset(self->map, 'A', self->psz);
	ASSERT_EQ((ssize_t)self->psz, vmsplice(self->pipe[1], &iov, 1, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		memset(self->map, 'C', self->psz);
		_exit(0);
	}
	ASSERT_EQ(0, cowmem_wait(pid));
	memset(self->map, 'P', self->psz);
	ASSERT_EQ((ssize_t)self->psz,
		  read(self->pipe[0], self->buf, self->psz));
	EXPECT_TRUE(cowmem_page_is(self->buf, self->psz, 'A'))
	TH_LOG("the pipe read '%c', not the 'A' spliced before the fork",
	       self->buf[0]);
}

/*
 * An O_DIRECT read of the test's own program into the page: in the test
 * VM the program is on its 9p root, which pins the buffer (GUP) and reads
 * into it, the read that failed with "Bad address" under cowrun.
 */
TEST_F(gup, o_direct_read_into_the_page)
{
	int fd;

	if (skipped(self))
		return;
	fd = open("/proc/self/exe", O_RDONLY | O_DIRECT);
	if (fd < 0 && errno == EINVAL)
		SKIP(return, "the file system here takes no O_DIRECT");
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)self->psz,
		  pread(fd, self->map + 2 * self->psz, self->psz, 0))
	TH_LOG("O_DIRECT read into the page: %s", strerror(errno));
	close(fd);
	fd = open("/proc/self/exe", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)self->psz, pread(fd, self->buf, self->psz, 0));
	close(fd);
	EXPECT_EQ(0, memcmp(self->buf, self->map + 2 * self->psz, self->psz));
}

/*
 * A process-shared futex (no FUTEX_PRIVATE_FLAG) on the page. The kernel
 * keys it by the page's file and offset for a shared mapping's page, and
 * cowmem's pages belong to no file (made file pages, they would be reclaimed,
 * written back and truncated as such): EFAULT, where anonymous memory keys
 * it by the process. A private futex, which pthread uses unless told
 * otherwise, works on both.
 */
TEST_F(gup, futex_wake)
{
	long shared;
	int err;

	if (skipped(self))
		return;
	shared = syscall(SYS_futex, self->map, FUTEX_WAKE, 1, NULL, NULL, 0);
	err = errno;
	EXPECT_EQ(0, syscall(SYS_futex, self->map, FUTEX_WAKE_PRIVATE, 1, NULL,
			     NULL, 0));
	if (variant->cowmem) {
		EXPECT_EQ(-1, shared);
		EXPECT_EQ(EFAULT, err);
	} else {
		EXPECT_EQ(0, shared);
	}
}

COWMEM_HARNESS_MAIN
