// SPDX-License-Identifier: GPL-2.0
/*
 * GUP on cowmem's memory, beside the kernel's own: every test runs once on
 * a private anonymous mapping (the anon variant, the kernel's COW) and once
 * on a cowmem mapping, and asserts the same outcome of both, but where a
 * test says why they differ. Where the kernel cannot pin cowmem's pages
 * (the module's "pinnable" parameter is N: VM_PFNMAP), the cowmem variant
 * is skipped, and cowmem_access tests that GUP is refused harmlessly.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/elf.h>
#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

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

/*
 * A pin held across fork(). process_vm_readv() and process_vm_writev() pin
 * the target's pages (FOLL_PIN), drop its mmap_lock, and only then copy to
 * or from the caller's buffer. Where that buffer is a missing page of a
 * userfaultfd, the copy waits for the test to resolve the fault, the pin
 * held all along: the test forks meanwhile. A thread of the test makes the
 * call on its own process.
 */
struct held_pin {
	int uffd;
	char *local; /* the caller's buffer: a page the uffd reports missing */
	char *target; /* the pinned page */
	size_t psz;
	bool write; /* process_vm_writev(): @local into @target; else readv */
	ssize_t done; /* what the call returned */
	int err; /* its errno */
	int ended[2]; /* a pipe the thread closes its end of as the call returns */
	pthread_t thread;
};

static void *held_pin_call(void *arg)
{
	struct held_pin *hp = arg;
	struct iovec local = { hp->local, hp->psz },
		     remote = { hp->target, hp->psz };

	if (hp->write)
		hp->done =
			process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
	else
		hp->done = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	hp->err = errno;
	close(hp->ended[1]);
	return NULL;
}

/*
 * Starts the call and returns once its copy waits on the uffd (the uffd's
 * fault message says so): @target is pinned then. 0; the errno of
 * userfaultfd() if this kernel or this user has none; -errno of the step
 * that failed; -EIO if the call ended without waiting (hp->done and
 * hp->err say how), or did not reach the uffd within the harness's time.
 */
static int held_pin_start(struct held_pin *hp, char *target, size_t psz,
			  bool write)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct pollfd fds[2];
	struct uffd_msg msg;

	hp->target = target;
	hp->psz = psz;
	hp->write = write;
	hp->uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (hp->uffd < 0)
		return errno;
	hp->local = mmap(NULL, psz, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hp->local == MAP_FAILED)
		return -errno;
	reg.range.start = (unsigned long)hp->local;
	reg.range.len = psz;
	if (ioctl(hp->uffd, UFFDIO_API, &api) ||
	    ioctl(hp->uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	if (pipe(hp->ended))
		return -errno;
	if (pthread_create(&hp->thread, NULL, held_pin_call, hp))
		return -EAGAIN;
	fds[0] = (struct pollfd){ .fd = hp->uffd, .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = hp->ended[0], .events = POLLIN };
	if (poll(fds, 2, 20000 * cowmem_slowness()) <= 0 || fds[1].revents ||
	    read(hp->uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT) {
		/* Ends a call still waiting: its copy gets EFAULT. */
		close(hp->uffd);
		hp->uffd = -1;
		pthread_join(hp->thread, NULL);
		return -EIO;
	}
	return 0;
}

/*
 * Resolves the fault with a page of @fill (what a write puts in @target)
 * and waits for the call to end: it returns what the call returned.
 */
static ssize_t held_pin_finish(struct held_pin *hp, char fill)
{
	struct uffdio_copy copy = { .dst = (unsigned long)hp->local,
				    .len = hp->psz };
	char *src = malloc(hp->psz);

	if (!src)
		return -1;
	memset(src, fill, hp->psz);
	copy.src = (unsigned long)src;
	if (ioctl(hp->uffd, UFFDIO_COPY, &copy)) {
		/* The call would wait for ever: closing the uffd ends it. */
		close(hp->uffd);
		hp->uffd = -1;
	}
	pthread_join(hp->thread, NULL);
	free(src);
	return hp->done;
}

static void held_pin_end(struct held_pin *hp)
{
	munmap(hp->local, hp->psz);
	if (hp->uffd >= 0)
		close(hp->uffd);
	close(hp->ended[0]);
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
 * A write in flight at fork: process_vm_writev() pins the parent's page,
 * the parent forks, and then the write lands. It lands in the parent's
 * page alone: the child got a copy at fork (the kernel's
 * copy_present_page(); cowmem's pin-safe clone), as a DMA into the
 * parent's buffer must not reach its child.
 */
TEST_F(gup, write_in_flight_at_fork_lands_in_the_parent)
{
	struct cowmem_peer child;
	struct held_pin hp;
	long copies = 0;
	char seen = 0;
	int err;

	if (skipped(self))
		return;
	memset(self->map, 'o', self->psz);
	if (variant->cowmem)
		copies = cowmem_stat("pinned_copies");
	err = held_pin_start(&hp, self->map, self->psz, true);
	if (err > 0)
		SKIP(return, "no userfaultfd here: %s", strerror(err));
	ASSERT_EQ(0, err)
	TH_LOG("the write did not wait, pin held: %zd, %s", hp.done,
	       strerror(hp.err));
	ASSERT_LE(0, cowmem_peer_fork(&child));
	if (!child.pid) {
		/* Tells its page's first byte once the write has landed. */
		CHILD_CHECK(1, !cowmem_peer_recv(&child, &seen, 1));
		CHILD_CHECK(2, !cowmem_peer_send(&child, self->map, 1));
		_exit(0);
	}
	EXPECT_EQ((ssize_t)self->psz, held_pin_finish(&hp, 'd'));
	held_pin_end(&hp);
	ASSERT_EQ(0, cowmem_peer_send(&child, "g", 1));
	EXPECT_EQ(0, cowmem_peer_recv(&child, &seen, 1));
	EXPECT_EQ(0, cowmem_peer_end(&child));
	EXPECT_TRUE(cowmem_page_is(self->map, self->psz, 'd'))
	TH_LOG("the parent's page holds '%c', not the write's 'd'",
	       self->map[0]);
	EXPECT_EQ('o', seen)
	TH_LOG("the child saw '%c': the parent's write reached it", seen);
	if (variant->cowmem)
		EXPECT_EQ(copies + 1, cowmem_stat("pinned_copies"))
	TH_LOG("the fork did not copy the pinned page for the child");
}

/*
 * A read-only pin taken before fork sees what the parent writes after it:
 * process_vm_readv() pins the page, the parent forks, the child writes its
 * copy and exits, the parent writes, and then the read copies the page out.
 * The pinned page stays the parent's, so its write is not copied away from
 * the pin (cow.c's R/O pin scenarios); the child's write reaches nobody.
 */
TEST_F(gup, read_pin_at_fork_sees_the_parent_write)
{
	struct held_pin hp;
	pid_t pid;
	int err;

	if (skipped(self))
		return;
	memset(self->map, 'o', self->psz);
	err = held_pin_start(&hp, self->map, self->psz, false);
	if (err > 0)
		SKIP(return, "no userfaultfd here: %s", strerror(err));
	ASSERT_EQ(0, err)
	TH_LOG("the read did not wait, pin held: %zd, %s", hp.done,
	       strerror(hp.err));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		memset(self->map, 'c', self->psz);
		_exit(0);
	}
	ASSERT_EQ(0, cowmem_wait(pid));
	memset(self->map, 'p', self->psz);
	EXPECT_EQ((ssize_t)self->psz, held_pin_finish(&hp, 0));
	EXPECT_TRUE(cowmem_page_is(hp.local, self->psz, 'p'))
	TH_LOG("the pinned read saw '%c', not the parent's later 'p'",
	       hp.local[0]);
	held_pin_end(&hp);
}

/*
 * A read-only pin taken after fork, on a page parent and child share, then
 * a write by the parent. The kernel unshares an anonymous page for a pin
 * (FAULT_FLAG_UNSHARE), so the pin is on the parent's own page and sees
 * the write. GUP unshares anonymous pages alone: on cowmem the pin is on
 * the shared page, the write copies away from it, and the pin sees the
 * old contents (docs/design.md, "What a driver cannot promise").
 */
TEST_F(gup, read_pin_after_fork_on_a_shared_page)
{
	char want = variant->cowmem ? 'o' : 'p';
	struct cowmem_peer child;
	struct held_pin hp;
	int err;

	if (skipped(self))
		return;
	memset(self->map, 'o', self->psz);
	/* The child keeps the page shared until told; end of file too. */
	ASSERT_LE(0, cowmem_peer_fork(&child));
	if (!child.pid) {
		char c;

		cowmem_peer_recv(&child, &c, 1);
		CHILD_CHECK(1, cowmem_page_is(self->map, self->psz, 'o'));
		_exit(0);
	}
	err = held_pin_start(&hp, self->map, self->psz, false);
	if (err > 0) {
		cowmem_peer_end(&child);
		SKIP(return, "no userfaultfd here: %s", strerror(err));
	}
	ASSERT_EQ(0, err)
	TH_LOG("the read did not wait, pin held: %zd, %s", hp.done,
	       strerror(hp.err));
	memset(self->map, 'p', self->psz);
	EXPECT_EQ((ssize_t)self->psz, held_pin_finish(&hp, 0));
	EXPECT_TRUE(cowmem_page_is(hp.local, self->psz, want))
	TH_LOG("the pinned read saw '%c', not '%c'", hp.local[0], want);
	held_pin_end(&hp);
	EXPECT_EQ(0, cowmem_peer_end(&child))
	TH_LOG("the child's page changed");
}

/*
 * An O_DIRECT read of the test's own program into the page: in the test
 * VM the program is on the project's 9p mount, which pins the buffer (GUP) and reads
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
 * An O_DIRECT write out of the page into a file beside the test's program
 * (the project's 9p mount in the test VM: the write reads the page through
 * GUP), which a plain read then finds holding the page's bytes.
 */
TEST_F(gup, o_direct_write_out_of_the_page)
{
	char path[PATH_MAX], *slash;
	int fd, err;
	ssize_t n;

	if (skipped(self))
		return;
	n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	ASSERT_LT(0, n);
	path[n] = '\0';
	slash = strrchr(path, '/');
	ASSERT_NE(NULL, slash);
	strcpy(slash, "/.cowmem_gup.XXXXXX");
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	close(fd);
	memset(self->map, 'w', self->psz);
	fd = open(path, O_WRONLY | O_DIRECT);
	if (fd < 0 && errno == EINVAL) {
		unlink(path);
		SKIP(return, "the file system here takes no O_DIRECT");
	}
	ASSERT_LE(0, fd);
	n = pwrite(fd, self->map, self->psz, 0);
	err = errno;
	close(fd);
	fd = open(path, O_RDONLY);
	unlink(path);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)self->psz, n)
	TH_LOG("O_DIRECT write out of the page: %s", strerror(err));
	ASSERT_EQ((ssize_t)self->psz, pread(fd, self->buf, self->psz, 0));
	close(fd);
	EXPECT_TRUE(cowmem_page_is(self->buf, self->psz, 'w'));
}

/*
 * A plain read() of the test's own program into the pages. In the test VM
 * the program is on the project's 9p mount, which has no page cache
 * (cache=none): 9p reads more than a few bytes straight into the caller's
 * pages, which it pins (GUP), the read that gave "Bad address" under
 * cowrun before cowmem's pages could be pinned.
 */
TEST_F(gup, read_into_the_pages)
{
	size_t len = 2 * self->psz;
	ssize_t got;
	int fd;

	if (skipped(self))
		return;
	fd = open("/proc/self/exe", O_RDONLY);
	ASSERT_LE(0, fd);
	got = pread(fd, self->map + self->psz, len, 0);
	EXPECT_EQ((ssize_t)len, got)
	TH_LOG("read into the pages: %s", got < 0 ? strerror(errno) : "short");
	ASSERT_EQ((ssize_t)self->psz, pread(fd, self->buf, self->psz, 0));
	close(fd);
	EXPECT_EQ(0, memcmp(self->buf, self->map + self->psz, self->psz));
}

/*
 * The core file in @dir (whatever core_pattern's name for it): its
 * segment that starts at @addr, @len bytes of it read into @out. 0, or -1
 * if there is no core there, or no such segment.
 */
static int core_segment(const char *dir, const void *addr, char *out,
			size_t len)
{
	char path[PATH_MAX] = "";
	struct dirent *de;
	struct elf64_phdr ph;
	struct elf64_hdr eh;
	int fd, ret = -1;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "core", 4))
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
	closedir(d);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_type != ET_CORE)
		goto close;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) !=
		    sizeof(ph))
			break;
		if (ph.p_type != PT_LOAD || ph.p_vaddr != (uintptr_t)addr ||
		    ph.p_filesz < len)
			continue;
		if (pread(fd, out, len, ph.p_offset) == (ssize_t)len)
			ret = 0;
		break;
	}
close:
	close(fd);
	unlink(path);
	return ret;
}

/* The dumping child: its pages written, file-backed shared mappings dumped. */
static void dump_core(char *map, size_t psz, const char *dir)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	unsigned long filter = 0;
	FILE *f;

	for (int i = 0; i < PAGES; i++)
		memset(map + i * psz, 'a' + i, psz);
	f = fopen("/proc/self/coredump_filter", "r+");
	if (!f || fscanf(f, "%lx", &filter) != 1)
		_exit(1);
	rewind(f);
	fprintf(f, "%#lx", filter | 1ul << 3); /* MMF_DUMP_MAPPED_SHARED */
	if (fclose(f) || chdir(dir) || setrlimit(RLIMIT_CORE, &unlimited))
		_exit(2);
	abort();
}

/*
 * A core dump holds the pages, as their process wrote them. The kernel
 * dumps a shared mapping of a file, which a cowmem mapping is, only where
 * coredump_filter asks for it (bit 3, off by default; cowrun sets it), and
 * private anonymous memory by default.
 */
TEST_F(gup, core_dump_holds_the_pages)
{
	char dir[] = "/tmp/cowmem_gup.XXXXXX", pattern[64] = "";
	size_t len = PAGES * self->psz;
	int status, err, i;
	char *dumped;
	pid_t pid;
	FILE *f;

	if (skipped(self))
		return;
	f = fopen("/proc/sys/kernel/core_pattern", "r");
	if (!f && errno == ENOENT)
		SKIP(return, "no core dumps in this kernel (CONFIG_COREDUMP)");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(pattern, sizeof(pattern), f));
	fclose(f);
	if (pattern[0] == '|' || strchr(pattern, '/'))
		SKIP(return, "core_pattern is not a file name: %s", pattern);
	ASSERT_NE(NULL, mkdtemp(dir));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		dump_core(self->map, self->psz, dir);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WCOREDUMP(status))
	TH_LOG("the child did not dump core (status %#x)", status);
	dumped = malloc(len);
	ASSERT_NE(NULL, dumped);
	err = core_segment(dir, self->map, dumped, len);
	rmdir(dir);
	if (err)
		free(dumped);
	ASSERT_EQ(0, err)
	TH_LOG("no core in %s, or no segment of the mapping in it", dir);
	for (i = 0; i < PAGES; i++) {
		EXPECT_TRUE(cowmem_page_is(dumped + i * self->psz, self->psz,
					   'a' + i))
		TH_LOG("page %d of the dump holds '%c'", i,
		       dumped[i * self->psz]);
	}
	free(dumped);
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
