// SPDX-License-Identifier: GPL-2.0
/*
 * The workshop lab's tests (docs/lab.md): each TEST belongs to one exercise
 * (its name starts with ex<N>_), and says in words about copy-on-write what
 * it expected and what happened. scripts/grade runs them one exercise at a
 * time (COWMEM_LAB_EX=N skips the others) on an attendee's module; on the
 * real module they all pass, and make check runs them there.
 *
 * Exercises 1 to 4 never write a page next to one read while it is shared:
 * that is exercise 5's planted bug, which the trees of exercises 1 to 4
 * carry too.
 */
#include <setjmp.h>
#include <signal.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define LAB_PAGES 16

/*
 * Whether a test of exercise @n is to be skipped (COWMEM_LAB_EX names
 * another exercise: scripts/grade runs one at a time).
 */
static bool lab_skip(struct __test_metadata *_metadata, int n)
{
	const char *only = getenv("COWMEM_LAB_EX");

	if (!only || atoi(only) == n)
		return false;
	SKIP(return true, "exercise %d only", atoi(only));
}

static sigjmp_buf lab_jmp;

static void lab_on_signal(int sig)
{
	siglongjmp(lab_jmp, sig);
}

/* An access this long (times the slowness) faults forever: its fault leaves no usable PTE. */
#define LAB_ACCESS_SECONDS 10

/*
 * Reads (@write false) or writes @c at @p: 0, or the signal (SIGBUS,
 * SIGSEGV; SIGALRM when it faulted again and again) the access raised, so
 * that a test can say which access failed.
 */
static int lab_access(char *p, char *c, bool write)
{
	struct sigaction sa = { .sa_handler = lab_on_signal };
	struct sigaction old_bus, old_segv, old_alrm;
	int sig;

	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGALRM, &sa, &old_alrm);
	sig = sigsetjmp(lab_jmp, 1);
	if (!sig) {
		alarm(LAB_ACCESS_SECONDS * cowmem_slowness());
		/* Atomic accesses: the compiler may not drop or merge them. */
		if (write)
			__atomic_store_n(p, *c, __ATOMIC_RELAXED);
		else
			*c = __atomic_load_n(p, __ATOMIC_RELAXED);
	}
	alarm(0);
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGALRM, &old_alrm, NULL);
	return sig;
}

/* What went wrong with an access that raised @sig, in words. */
static const char *lab_sig(int sig)
{
	static char buf[64];

	if (sig == SIGALRM)
		return "an endless fault (10 s of faults, each leaving the old PTE)";
	if (sig == SIGBUS)
		return "SIGBUS";
	snprintf(buf, sizeof(buf), "signal %d (%s)", sig, strsignal(sig));
	return buf;
}

static int lab_read(char *p, char *c)
{
	return lab_access(p, c, false);
}

static int lab_write(char *p, char c)
{
	return lab_access(p, &c, true);
}

/* debugfs "check"'s verdict: "ok", or its report, in @buf. */
static const char *lab_check(char *buf, size_t size)
{
	int fd = open(COWMEM_DEBUGFS "/check", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return "(debugfs check could not be read)";
	buf[n] = 0;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return buf;
}

#define LAB_CHECK_OK(buf) (!strcmp(lab_check(buf, sizeof(buf)), "ok"))

/* What a test says when an access it needs on its way raised a signal. */
static const char lab_prep[] =
	"an access this test needs on its way raised a signal: exercise 1's faults must work first";

/* A printable name for a byte a test read. */
static const char *lab_byte(char c, char *buf)
{
	if (c >= 0x21 && c < 0x7f)
		sprintf(buf, "'%c'", c);
	else
		sprintf(buf, "%d", (unsigned char)c);
	return buf;
}

/* A child's verdict: an empty message, or what went wrong in words. */
struct lab_msg {
	char text[512];
};

/* The test's child, if any: one per test, and each test is a process. */
static struct cowmem_peer lab_peer;

/* In the child: sends the verdict (printf-like; "" when all held), exits. */
static void lab_say(const char *fmt, ...)
{
	struct lab_msg m = { "" };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	cowmem_peer_send(&lab_peer, &m, sizeof(m));
	_exit(0);
}

/* The parent's end: the child's message ("" when all held), @m filled. */
static const char *lab_child_verdict(struct cowmem_peer *peer,
				     struct lab_msg *m)
{
	int status;

	if (cowmem_peer_recv(peer, m, sizeof(*m)))
		snprintf(m->text, sizeof(m->text),
			 "the child died before it could say what it read");
	status = cowmem_peer_end(peer);
	if (!m->text[0] && status)
		snprintf(m->text, sizeof(m->text),
			 "the child exited with status %d", status);
	return m->text;
}

struct lab_stats {
	long faults, pages, page_allocs, cow_breaks, reuses, first_writes,
		zero_maps;
};

static void lab_stats(struct lab_stats *s)
{
	s->faults = cowmem_stat("faults");
	s->pages = cowmem_stat("pages");
	s->page_allocs = cowmem_stat("page_allocs");
	s->cow_breaks = cowmem_stat("cow_breaks");
	s->reuses = cowmem_stat("reuses");
	s->first_writes = cowmem_stat("first_writes");
	s->zero_maps = cowmem_stat("zero_maps");
}

FIXTURE(lab)
{
	size_t psz;
	int fd;
	char *a; /* the region's first mapping: LAB_PAGES pages */
	char check[4096];
	char got[16], want[16];
	char wrprotect; /* the module parameter before lab_fork_zaps(), or 0 */
};

FIXTURE_SETUP(lab)
{
	self->psz = cowmem_page_size();
	self->wrprotect = 0;
	self->fd = cowmem_open();
	ASSERT_LE(0, self->fd)
	TH_LOG("cannot open " COWMEM_DEV ": is cowmem loaded?");
	self->a = cowmem_map(self->fd, LAB_PAGES, 0);
	ASSERT_NE(NULL, self->a)
	TH_LOG("mmap of " COWMEM_DEV " failed: %s", strerror(errno));
}

/*
 * No debugfs check here, unlike the other fixtures: the trees of exercises
 * 1 to 4 carry exercise 5's planted bug, which check would find in any test
 * that reads a page after a snapshot or a fork. Each test reads check where
 * its own exercise needs it.
 */
FIXTURE_TEARDOWN(lab)
{
	if (self->wrprotect)
		wrprotect_set(self->wrprotect);
	if (self->a)
		munmap(self->a, LAB_PAGES * self->psz);
	if (self->fd >= 0)
		close(self->fd);
}

/* Page @i of mapping @m. */
#define PG(m, i) ((m) + self->psz * (i))

/* Ex 1: a read of a page nobody wrote maps the zero page, and allocates nothing. */
TEST_F(lab, ex1_unwritten_page_reads_zero)
{
	struct lab_stats before, after;
	char c = 'x';
	int sig;

	if (lab_skip(_metadata, 1))
		return;
	lab_stats(&before);
	sig = lab_read(PG(self->a, 5), &c);
	ASSERT_EQ(0, sig)
	TH_LOG("reading page 5, which nobody wrote, raised %s: a read fault on an unwritten page must map the zero page",
	       lab_sig(sig));
	ASSERT_EQ(0, c)
	TH_LOG("page 5, which nobody wrote, read %s: it must read as zeroes",
	       lab_byte(c, self->got));
	lab_stats(&after);
	ASSERT_EQ(before.pages, after.pages)
	TH_LOG("reading page 5, which nobody wrote, allocated %ld frame(s): a read maps the zero page, a frame comes only with the first write",
	       after.pages - before.pages);
	ASSERT_EQ(before.zero_maps + 1, after.zero_maps)
	TH_LOG("reading page 5 counted %ld zero_maps, expected 1",
	       after.zero_maps - before.zero_maps);
	ASSERT_TRUE(LAB_CHECK_OK(self->check))
	TH_LOG("after reading page 5, debugfs check says: %s", self->check);
}

/* Ex 1: the first write gets a zeroed frame of the view's own. */
TEST_F(lab, ex1_first_write_gets_zeroed_frame)
{
	struct lab_stats before, after;
	char c = 0;
	int sig;

	if (lab_skip(_metadata, 1))
		return;
	lab_stats(&before);
	sig = lab_write(PG(self->a, 2), 'A');
	ASSERT_EQ(0, sig)
	TH_LOG("writing page 2 for the first time raised %s: the first write must get a zeroed frame of the view's own",
	       lab_sig(sig));
	ASSERT_EQ(0, lab_read(PG(self->a, 2), &c))
	TH_LOG("%s", lab_prep);
	ASSERT_EQ('A', c)
	TH_LOG("page 2 read %s right after 'A' was written to it",
	       lab_byte(c, self->got));
	ASSERT_EQ(0, PG(self->a, 2)[100])
	TH_LOG("byte 100 of page 2 read %s after the first write of byte 0: the new frame must be zeroed",
	       lab_byte(PG(self->a, 2)[100], self->got));
	lab_stats(&after);
	ASSERT_EQ(before.pages + 1, after.pages)
	TH_LOG("the first write of page 2 left %ld more frame(s) allocated, expected exactly 1",
	       after.pages - before.pages);
	ASSERT_TRUE(LAB_CHECK_OK(self->check))
	TH_LOG("after the first write of page 2, debugfs check says: %s",
	       self->check);
}

/* Ex 1: a write after a read of the zero page replaces the zero page's PTE. */
TEST_F(lab, ex1_write_after_zero_page_read)
{
	char c = 'x';
	int sig;

	if (lab_skip(_metadata, 1))
		return;
	ASSERT_EQ(0, lab_read(PG(self->a, 3), &c))
	TH_LOG("reading page 3, which nobody wrote, raised a signal: a read fault must map the zero page");
	sig = lab_write(PG(self->a, 3), 'B');
	ASSERT_EQ(0, sig)
	TH_LOG("writing page 3 after reading it (the zero page, read-only) raised %s: the write must get a frame of the view's own",
	       lab_sig(sig));
	ASSERT_EQ(0, lab_read(PG(self->a, 3), &c))
	TH_LOG("%s", lab_prep);
	ASSERT_EQ('B', c)
	TH_LOG("page 3 read %s after 'B' was written over the zero page: the zero page's PTE was not replaced",
	       lab_byte(c, self->got));
}

/*
 * Ex 1: two mappings of one file in one process are one view: a first
 * write through one zaps the zero page's PTE in the other.
 */
TEST_F(lab, ex1_second_mapping_sees_first_write)
{
	char *b = cowmem_map(self->fd, LAB_PAGES, 0);
	char c = 'x';

	if (lab_skip(_metadata, 1))
		return;
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, lab_read(PG(b, 4), &c))
	TH_LOG("reading page 4 through a second mapping raised a signal: expected the zero page");
	ASSERT_EQ(0, lab_write(PG(self->a, 4), 'C'))
	TH_LOG("the first write of page 4 raised a signal");
	ASSERT_EQ(0, lab_read(PG(b, 4), &c))
	TH_LOG("%s", lab_prep);
	ASSERT_EQ('C', c)
	TH_LOG("mapping B of the same view still read %s from page 4 after mapping A's first write of 'C': B's PTE of the zero page was not zapped (cowmem_retire())",
	       lab_byte(c, self->got));
	munmap(b, LAB_PAGES * self->psz);
}

/* Ex 1: a read fault maps a frame the view has alone writable. */
TEST_F(lab, ex1_own_frame_mapped_writable)
{
	char *b = cowmem_map(self->fd, LAB_PAGES, 0);
	struct lab_stats before, after;
	char c = 'x';

	if (lab_skip(_metadata, 1))
		return;
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, lab_write(PG(self->a, 1), 'D'))
	TH_LOG("the first write of page 1 raised a signal");
	ASSERT_EQ(0, lab_read(PG(b, 1), &c))
	TH_LOG("reading page 1 through a second mapping raised a signal: a read fault must map the view's frame");
	ASSERT_EQ('D', c)
	TH_LOG("mapping B read %s from page 1, which mapping A wrote 'D' to: a read fault must map the view's own frame",
	       lab_byte(c, self->got));
	lab_stats(&before);
	ASSERT_EQ(0, lab_write(PG(b, 1), 'E'))
	TH_LOG("%s", lab_prep);
	lab_stats(&after);
	ASSERT_EQ(before.faults, after.faults)
	TH_LOG("writing page 1 through mapping B faulted again after its read fault: the frame was the view's alone, so the read fault should have mapped it writable");
	ASSERT_EQ('E', PG(self->a, 1)[0])
	TH_LOG("mapping A read %s from page 1 after mapping B wrote 'E': two mappings of one view must see one frame",
	       lab_byte(PG(self->a, 1)[0], self->got));
}

/* Ex 1: a read fault maps a frame a snapshot shares read-only. */
TEST_F(lab, ex1_shared_frame_mapped_read_only)
{
	char c = 'x';
	int sfd;

	if (lab_skip(_metadata, 1))
		return;
	ASSERT_EQ(0, lab_write(PG(self->a, 0), 'F'))
	TH_LOG("the first write of page 0 raised a signal");
	sfd = cowmem_snapshot(self->fd, self->a, 0);
	ASSERT_LE(0, sfd)
	TH_LOG("COWMEM_IOC_SNAPSHOT failed: %s", strerror(errno));
	ASSERT_EQ(0, lab_read(PG(self->a, 0), &c))
	TH_LOG("reading page 0 after a snapshot raised a signal: a read fault must map the shared frame");
	ASSERT_EQ('F', c)
	TH_LOG("page 0 read %s after the snapshot, expected 'F'",
	       lab_byte(c, self->got));
	ASSERT_TRUE(LAB_CHECK_OK(self->check))
	TH_LOG("after a snapshot, a read fault of page 0 mapped its frame writable though the snapshot shares it; debugfs check says: %s",
	       self->check);
	close(sfd);
}

/* Ex 2: a write to a frame a snapshot shares copies it; the snapshot keeps the old one. */
TEST_F(lab, ex2_write_after_snapshot_copies)
{
	struct lab_stats before, after;
	char *s, c = 'x';
	int sfd, sig;

	if (lab_skip(_metadata, 2))
		return;
	ASSERT_EQ(0, lab_write(PG(self->a, 3), 'X'))
	TH_LOG("%s", lab_prep);
	PG(self->a, 3)[100] = 'x';
	sfd = cowmem_snapshot(self->fd, self->a, 0);
	ASSERT_LE(0, sfd)
	TH_LOG("COWMEM_IOC_SNAPSHOT failed: %s", strerror(errno));
	lab_stats(&before);
	sig = lab_write(PG(self->a, 3), 'Y');
	ASSERT_EQ(0, sig)
	TH_LOG("writing page 3 after a snapshot raised %s: a write to a shared frame must break COW: copy it",
	       lab_sig(sig));
	lab_stats(&after);
	ASSERT_EQ('Y', PG(self->a, 3)[0])
	TH_LOG("page 3 read %s right after 'Y' was written to it",
	       lab_byte(PG(self->a, 3)[0], self->got));
	ASSERT_EQ('x', PG(self->a, 3)[100])
	TH_LOG("after the COW break of page 3, its byte 100 read %s, expected 'x': the copy must start from the shared frame's contents",
	       lab_byte(PG(self->a, 3)[100], self->got));
	ASSERT_EQ(before.cow_breaks + 1, after.cow_breaks)
	TH_LOG("writing page 3 after the snapshot counted %ld COW breaks, expected 1",
	       after.cow_breaks - before.cow_breaks);
	s = cowmem_map(sfd, LAB_PAGES, 0);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, lab_read(PG(s, 3), &c))
	TH_LOG("%s", lab_prep);
	ASSERT_EQ('X', c)
	TH_LOG("the snapshot read %s from page 3, which the view wrote after the snapshot: the write went to the shared frame instead of a copy",
	       lab_byte(c, self->got));
	ASSERT_TRUE(LAB_CHECK_OK(self->check))
	TH_LOG("after the COW break of page 3, debugfs check says: %s",
	       self->check);
	munmap(s, LAB_PAGES * self->psz);
	close(sfd);
}

/*
 * Ex 2: the COW break zaps the old frame's PTE in the view's other
 * mappings too (here one at another offset of the file).
 */
TEST_F(lab, ex2_other_mapping_loses_old_frame)
{
	char *b = cowmem_map(self->fd, LAB_PAGES - 1, 1);
	char c = 'x';
	int sfd;

	if (lab_skip(_metadata, 2))
		return;
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, lab_write(PG(self->a, 4), 'P'))
	TH_LOG("%s", lab_prep);
	sfd = cowmem_snapshot(self->fd, self->a, 0);
	ASSERT_LE(0, sfd)
	TH_LOG("COWMEM_IOC_SNAPSHOT failed: %s", strerror(errno));
	ASSERT_EQ(0, lab_read(PG(b, 3), &c))
	TH_LOG("%s", lab_prep);
	ASSERT_EQ('P', c)
	TH_LOG("mapping B (the file from page 1) read %s at its page 3, which is page 4, expected 'P'",
	       lab_byte(c, self->got));
	ASSERT_EQ(0, lab_write(PG(self->a, 4), 'Q'))
	TH_LOG("writing page 4 after a snapshot raised a signal: a write to a shared frame must break COW");
	ASSERT_EQ(0, lab_read(PG(b, 3), &c))
	TH_LOG("%s", lab_prep);
	ASSERT_EQ('Q', c)
	TH_LOG("mapping B still read %s from page 4 after mapping A's COW break wrote 'Q': B's PTE still mapped the old frame; zap it in every VMA of the view, at the address where that VMA maps page 4",
	       lab_byte(c, self->got));
	ASSERT_TRUE(LAB_CHECK_OK(self->check))
	TH_LOG("after the COW break of page 4, debugfs check says: %s",
	       self->check);
	/* The old frame is freed with the snapshot: unmap B first. */
	munmap(b, (LAB_PAGES - 1) * self->psz);
	close(sfd);
}

/* Ex 2: every page written after a snapshot is copied; the snapshot keeps them all. */
TEST_F(lab, ex2_snapshot_keeps_every_page)
{
	struct lab_stats before, after;
	char *s, c = 'x';
	int sfd, i;

	if (lab_skip(_metadata, 2))
		return;
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, lab_write(PG(self->a, i), 'a' + i))
		TH_LOG("%s", lab_prep);
	}
	sfd = cowmem_snapshot(self->fd, self->a, 0);
	ASSERT_LE(0, sfd)
	TH_LOG("COWMEM_IOC_SNAPSHOT failed: %s", strerror(errno));
	lab_stats(&before);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, lab_write(PG(self->a, i), 'A' + i))
		TH_LOG("writing page %d after a snapshot raised a signal: a write to a shared frame must break COW",
		       i);
	}
	lab_stats(&after);
	ASSERT_EQ(before.cow_breaks + 8, after.cow_breaks)
	TH_LOG("writing 8 shared pages counted %ld COW breaks, expected 8",
	       after.cow_breaks - before.cow_breaks);
	s = cowmem_map(sfd, LAB_PAGES, 0);
	ASSERT_NE(NULL, s);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, lab_read(PG(s, i), &c))
		TH_LOG("%s", lab_prep);
		ASSERT_EQ('a' + i, c)
		TH_LOG("the snapshot read %s from page %d, which the view wrote after the snapshot: the write went to the shared frame",
		       lab_byte(c, self->got), i);
		ASSERT_EQ('A' + i, PG(self->a, i)[0])
		TH_LOG("the view read %s from page %d, expected %s, which it wrote after the snapshot",
		       lab_byte(PG(self->a, i)[0], self->got), i,
		       lab_byte('A' + i, self->want));
	}
	munmap(s, LAB_PAGES * self->psz);
	close(sfd);
}

/*
 * Ex 3: while a snapshot shares a frame a write copies it; once the
 * snapshot is gone the frame is the view's alone, and a write reuses it.
 */
TEST_F(lab, ex3_reuse_only_when_alone)
{
	struct lab_stats before, after;
	char *s, c = 'x';
	int sfd, sig;

	if (lab_skip(_metadata, 3))
		return;
	ASSERT_EQ(0, lab_write(PG(self->a, 0), 'T'))
	TH_LOG("%s", lab_prep);
	sfd = cowmem_snapshot(self->fd, self->a, 0);
	ASSERT_LE(0, sfd)
	TH_LOG("COWMEM_IOC_SNAPSHOT failed: %s", strerror(errno));
	ASSERT_EQ(0, lab_write(PG(self->a, 0), 'U'))
	TH_LOG("writing page 0 after a snapshot raised a signal");
	s = cowmem_map(sfd, LAB_PAGES, 0);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, lab_read(PG(s, 0), &c))
	TH_LOG("%s", lab_prep);
	ASSERT_EQ('T', c)
	TH_LOG("the snapshot read %s from page 0, which the view wrote after the snapshot: the frame was still shared (the snapshot holds it through a shared index node, though the frame itself counts one holder), and the write reused it in place",
	       lab_byte(c, self->got));
	munmap(s, LAB_PAGES * self->psz);
	close(sfd);

	ASSERT_EQ(0, lab_write(PG(self->a, 2), 'V'))
	TH_LOG("%s", lab_prep);
	sfd = cowmem_snapshot(self->fd, self->a, 0);
	ASSERT_LE(0, sfd);
	close(sfd);
	lab_stats(&before);
	sig = lab_write(PG(self->a, 2), 'W');
	ASSERT_EQ(0, sig)
	TH_LOG("writing page 2 once its snapshot was gone raised %s: the frame is the view's alone again, reuse it",
	       lab_sig(sig));
	lab_stats(&after);
	ASSERT_EQ(before.page_allocs, after.page_allocs)
	TH_LOG("writing page 2 once its snapshot was gone allocated %ld page(s): no view or snapshot shares its frame any more, so it must be reused in place, not copied",
	       after.page_allocs - before.page_allocs);
	ASSERT_EQ(before.reuses + 1, after.reuses)
	TH_LOG("writing page 2 once its snapshot was gone counted %ld reuses, expected 1",
	       after.reuses - before.reuses);
	ASSERT_EQ('W', PG(self->a, 2)[0]);
}

/*
 * Ex 3: a reuse maps its block again, writable: the neighbours, shared and
 * mapped read-only until the snapshot went, are written without a fault.
 */
TEST_F(lab, ex3_reuse_remaps_block)
{
	struct lab_stats before, after;
	char c = 'x';
	int sfd, i, sig;

	if (lab_skip(_metadata, 3))
		return;
	for (i = 0; i < LAB_PAGES; i++) {
		ASSERT_EQ(0, lab_write(PG(self->a, i), 'a' + i))
		TH_LOG("%s", lab_prep);
	}
	sfd = cowmem_snapshot(self->fd, self->a, 0);
	ASSERT_LE(0, sfd)
	TH_LOG("COWMEM_IOC_SNAPSHOT failed: %s", strerror(errno));
	/* Maps the block read-only while the snapshot shares it. */
	ASSERT_EQ(0, lab_read(PG(self->a, 0), &c))
	TH_LOG("%s", lab_prep);
	close(sfd);
	lab_stats(&before);
	sig = lab_write(PG(self->a, 0), 'Z');
	ASSERT_EQ(0, sig)
	TH_LOG("writing page 0 (mapped read-only while a snapshot shared it, which is gone now) raised %s: the reuse must map the frame writable",
	       lab_sig(sig));
	lab_stats(&after);
	ASSERT_EQ(before.page_allocs, after.page_allocs)
	TH_LOG("writing page 0 once its snapshot was gone allocated %ld page(s): its frame is the view's alone, reuse it",
	       after.page_allocs - before.page_allocs);
	lab_stats(&before);
	for (i = 1; i < LAB_PAGES; i++) {
		ASSERT_EQ(0, lab_write(PG(self->a, i), 'A' + i))
		TH_LOG("%s", lab_prep);
	}
	lab_stats(&after);
	ASSERT_EQ(before.faults, after.faults)
	TH_LOG("after the reuse of page 0, writing pages 1 to %d faulted %ld times: their frames were the view's alone again, and the reuse should have zapped the block and mapped it again writable (cowmem_remap_around())",
	       LAB_PAGES - 1, after.faults - before.faults);
	ASSERT_TRUE(LAB_CHECK_OK(self->check))
	TH_LOG("after the reuse of page 0, debugfs check says: %s",
	       self->check);
}

/* Ex 4: after fork the child reads what the parent wrote before it. */
TEST_F(lab, ex4_child_sees_parent_pages)
{
	struct lab_msg m;
	char c = 'x';
	int i, sig;

	if (lab_skip(_metadata, 4))
		return;
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, lab_write(PG(self->a, i), 'a' + i))
		TH_LOG("%s", lab_prep);
	}
	ASSERT_LE(0, cowmem_peer_fork(&lab_peer));
	if (!lab_peer.pid) {
		for (i = 0; i < 4; i++) {
			sig = lab_read(PG(self->a, i), &c);
			if (sig)
				lab_say("after fork the child got %s reading page %d: its VMA has no view (clone the parent's view in ->open)",
					lab_sig(sig), i);
			if (c != 'a' + i)
				lab_say("after fork the child read %s from page %d, which the parent wrote %s before the fork: the child's view must start as the parent's",
					lab_byte(c, self->got), i,
					lab_byte('a' + i, self->want));
		}
		lab_say("");
	}
	ASSERT_STREQ("", lab_child_verdict(&lab_peer, &m)) TH_LOG("%s", m.text);
}

/* Ex 4: a write by the parent after fork breaks COW: the child keeps the old page. */
TEST_F(lab, ex4_parent_write_after_fork)
{
	struct lab_msg m;
	char c = 'x', go;
	int sig;

	if (lab_skip(_metadata, 4))
		return;
	ASSERT_EQ(0, lab_write(PG(self->a, 3), 'X'))
	TH_LOG("%s", lab_prep);
	ASSERT_LE(0, cowmem_peer_fork(&lab_peer));
	if (!lab_peer.pid) {
		if (cowmem_peer_recv(&lab_peer, &go, 1))
			lab_say("the parent did not get to write");
		sig = lab_read(PG(self->a, 3), &c);
		if (sig)
			lab_say("after fork the child got %s reading page 3: its VMA has no view (clone the parent's view in ->open)",
				lab_sig(sig));
		if (c == 'Y')
			lab_say("after fork the child read 'Y' from page 3, which the parent wrote after the fork: the parent's PTE was still writable (take write permission from the parent's PTEs at fork)");
		if (c != 'X')
			lab_say("after fork the child read %s from page 3, expected 'X', which the parent wrote there before the fork",
				lab_byte(c, self->got));
		lab_say("");
	}
	sig = lab_write(PG(self->a, 3), 'Y');
	cowmem_peer_send(&lab_peer, "g", 1);
	ASSERT_STREQ("", lab_child_verdict(&lab_peer, &m)) TH_LOG("%s", m.text);
	ASSERT_EQ(0, sig)
	TH_LOG("the parent's write to page 3 after fork raised %s",
	       lab_sig(sig));
	ASSERT_EQ('Y', PG(self->a, 3)[0]);
}

/* Ex 4: a write by the child after fork breaks COW: the parent keeps its page. */
TEST_F(lab, ex4_child_write_after_fork)
{
	struct lab_msg m;
	char c = 'x';
	int sig;

	if (lab_skip(_metadata, 4))
		return;
	ASSERT_EQ(0, lab_write(PG(self->a, 2), 'p'))
	TH_LOG("%s", lab_prep);
	ASSERT_LE(0, cowmem_peer_fork(&lab_peer));
	if (!lab_peer.pid) {
		sig = lab_write(PG(self->a, 2), 'C');
		if (sig)
			lab_say("after fork the child got %s writing page 2: its VMA has no view (clone the parent's view in ->open)",
				lab_sig(sig));
		lab_say("");
	}
	ASSERT_STREQ("", lab_child_verdict(&lab_peer, &m)) TH_LOG("%s", m.text);
	ASSERT_EQ(0, lab_read(PG(self->a, 2), &c))
	TH_LOG("%s", lab_prep);
	ASSERT_EQ('p', c)
	TH_LOG("after fork the parent read %s from page 2, which only the child wrote after the fork: the child's write did not break COW (did the child inherit the parent's writable PTE? copy_page_range() copies what the parent still maps at fork)",
	       lab_byte(c, self->got));
}

/*
 * Ex 4: the child's mappings of one parent view are one view too: what
 * the child writes through one it reads through the other.
 */
TEST_F(lab, ex4_child_mappings_share_one_clone)
{
	char *b = cowmem_map(self->fd, LAB_PAGES, 0);
	struct lab_msg m;
	char c = 'x';
	int sig;

	if (lab_skip(_metadata, 4))
		return;
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, lab_write(PG(self->a, 1), 'm'))
	TH_LOG("%s", lab_prep);
	ASSERT_LE(0, cowmem_peer_fork(&lab_peer));
	if (!lab_peer.pid) {
		sig = lab_write(PG(self->a, 1), 'M');
		if (sig)
			lab_say("after fork the child got %s writing page 1 through mapping A: its VMA has no view",
				lab_sig(sig));
		sig = lab_read(PG(b, 1), &c);
		if (sig)
			lab_say("after fork the child got %s reading page 1 through mapping B: its VMA has no view",
				lab_sig(sig));
		if (c != 'M')
			lab_say("in the child, mapping B read %s from page 1 after mapping A wrote 'M' to it: the child's VMAs of one parent view must share one clone (one per fork, not one per VMA)",
				lab_byte(c, self->got));
		lab_say("");
	}
	ASSERT_STREQ("", lab_child_verdict(&lab_peer, &m)) TH_LOG("%s", m.text);
	ASSERT_EQ('m', PG(b, 1)[0])
	TH_LOG("after fork the parent read %s from page 1, which only the child wrote: the child's write did not break COW (did the child inherit the parent's writable PTE?)",
	       lab_byte(PG(b, 1)[0], self->got));
	munmap(b, LAB_PAGES * self->psz);
}

/*
 * Exercise 5's forks zap the parent's PTEs (module parameter wrprotect=N),
 * as a snapshot does, so that the child's first read faults and maps the
 * pages around it (fault_around.c). By default fork write-protects them in
 * place, and the child reads through copies of them without a fault.
 * Keeps its value in @was, for the teardown; returns 0, or -1 when the
 * parameter cannot be set.
 */
static int lab_fork_zaps(char *was)
{
	*was = wrprotect_get();
	return *was ? wrprotect_set('N') : -1;
}

/*
 * Ex 5: after fork, a read fault maps the shared neighbours read-only: a
 * write to one of them breaks COW instead of reaching the parent's page.
 */
TEST_F(lab, ex5_neighbour_write_after_fork)
{
	struct lab_msg m;
	char c = 'x';
	int i, sig;

	if (lab_skip(_metadata, 5))
		return;
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, lab_write(PG(self->a, i), 'a' + i))
		TH_LOG("%s", lab_prep);
	}
	ASSERT_EQ(0, lab_fork_zaps(&self->wrprotect))
	TH_LOG("cannot set " WRPROTECT_PARAM " to N (root?)");
	ASSERT_LE(0, cowmem_peer_fork(&lab_peer));
	if (!lab_peer.pid) {
		sig = lab_read(PG(self->a, 0), &c);
		if (!sig)
			sig = lab_write(PG(self->a, 1), 'Z');
		if (sig)
			lab_say("after fork the child got %s reading page 0 or writing page 1",
				lab_sig(sig));
		lab_say("");
	}
	ASSERT_STREQ("", lab_child_verdict(&lab_peer, &m)) TH_LOG("%s", m.text);
	ASSERT_EQ(0, lab_read(PG(self->a, 1), &c))
	TH_LOG("%s", lab_prep);
	ASSERT_EQ('b', c)
	TH_LOG("after fork the parent read %s from page 1, which only the child wrote, after it read page 0: the child's PTE of page 1 was writable though its frame was shared (something mapped it along with page 0)",
	       lab_byte(c, self->got));
}

/* Ex 5: debugfs check finds every PTE right after a read after fork. */
TEST_F(lab, ex5_check_after_read_after_fork)
{
	struct lab_msg m;
	char c = 'x';
	int i, sig;

	if (lab_skip(_metadata, 5))
		return;
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, lab_write(PG(self->a, i), 'a' + i))
		TH_LOG("%s", lab_prep);
	}
	ASSERT_EQ(0, lab_fork_zaps(&self->wrprotect))
	TH_LOG("cannot set " WRPROTECT_PARAM " to N (root?)");
	ASSERT_LE(0, cowmem_peer_fork(&lab_peer));
	if (!lab_peer.pid) {
		sig = lab_read(PG(self->a, 2), &c);
		if (sig)
			lab_say("after fork the child got %s reading page 2",
				lab_sig(sig));
		if (!LAB_CHECK_OK(self->check))
			lab_say("after fork the child read page 2, and debugfs check says: %s",
				self->check);
		lab_say("");
	}
	ASSERT_STREQ("", lab_child_verdict(&lab_peer, &m)) TH_LOG("%s", m.text);
}

/*
 * Not an exercise's, and last in the file, so it runs after each
 * exercise's tests: the kernel's zero page still reads as zeroes. A
 * cowmem PTE that mapped it writable lets a test's write go into it, and
 * then every page nobody wrote, in every process, reads that write
 * (scripts/grade then boots afresh).
 */
TEST_F(lab, zero_page_reads_zeroes)
{
	size_t len = 16 * (size_t)getpagesize(), i;
	unsigned char *p;

	/* A private anonymous page that is only read maps the zero page. */
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < len && !p[i]; i++)
		;
	EXPECT_EQ(len, i)
	TH_LOG("the kernel's zero page reads 0x%02x at byte %zu: a PTE mapped it writable, and a write went into the page every unwritten page reads (map it read-only, always)",
	       i < len ? p[i] : 0, i % getpagesize());
	munmap(p, len);
}

COWMEM_HARNESS_MAIN
