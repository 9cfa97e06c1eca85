// SPDX-License-Identifier: GPL-2.0
/*
 * What the module shows of itself: the page-info ioctl, debugfs, and the
 * tracepoints, checked against a scripted fork/write scenario.
 */
#include <stdint.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define TRACEFS "/sys/kernel/tracing"
#define INSTANCE TRACEFS "/instances/cowmem_selftest"

FIXTURE(seed)
{
	int fd;
	size_t psz;
	char *map;
};

FIXTURE_SETUP(seed)
{
	self->psz = cowmem_page_size();
	self->fd = cowmem_open();
	ASSERT_LE(0, self->fd);
	self->map = cowmem_map(self->fd, 4, 0);
	ASSERT_NE(NULL, self->map);
	for (int i = 0; i < 4; i++)
		memset(self->map + i * self->psz, 'A' + i, self->psz);
}

FIXTURE_TEARDOWN(seed)
{
	EXPECT_TRUE(cowmem_check_ok());
	munmap(self->map, 4 * self->psz);
	close(self->fd);
}

/*
 * The child of the seed scenario, Q, a peer: it waits until the parent wrote
 * page 3, then sends its own page-info for the 4 pages, and waits for the
 * parent's end of the peer before it exits (so that the parent can read its
 * debugfs view).
 */
static void seed_child(const struct cowmem_peer *q, int fd, char *map)
{
	struct cowmem_page_info info[4];
	char c;

	CHILD_CHECK(1, !cowmem_peer_recv(q, &c, 1));
	CHILD_CHECK(2, cowmem_page_info(fd, map, 4, info) == 0);
	CHILD_CHECK(3, !cowmem_peer_send(q, info, sizeof(info)));
	CHILD_CHECK(4, read(q->in, &c, 1) == 0);
	_exit(0);
}

/* Forks Q, which waits for seed_ask(); returns -1 when it cannot. */
static int seed_fork(int fd, char *map, struct cowmem_peer *q)
{
	pid_t pid = cowmem_peer_fork(q);

	if (!pid)
		seed_child(q, fd, map);
	return pid < 0 ? -1 : 0;
}

/* Q's page-info for the 4 pages; Q stays alive until cowmem_peer_end(). */
static int seed_ask(struct cowmem_peer *q, struct cowmem_page_info *theirs)
{
	if (cowmem_peer_send(q, "g", 1) ||
	    cowmem_peer_recv(q, theirs, 4 * sizeof(*theirs)))
		return -1;
	return 0;
}

struct debugfs_page {
	unsigned long pfn;
	unsigned int refcount;
	char state[16];
};

/* Parses view @id's debugfs "pages" for pages 0..3; returns how many it found. */
static int read_debugfs_pages(unsigned long long id, struct debugfs_page *pages)
{
	FILE *f = cowmem_open_pages(id);
	struct cowmem_page_line p;
	char line[256];
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!cowmem_parse_page(line, &p) || p.pgoff >= 4)
			continue;
		pages[p.pgoff].pfn = p.pfn;
		pages[p.pgoff].refcount = p.refcount;
		snprintf(pages[p.pgoff].state, sizeof(pages[p.pgoff].state),
			 "%s", p.state);
		found++;
	}
	fclose(f);
	return found;
}

/*
 * The seed scenario through the ioctl: P fills 4 pages, forks Q, P writes
 * page 3. Pages 0-2 have the same frame and refcount 2 in both processes;
 * page 3 has a frame of its own in each, refcount 1; one COW break.
 */
TEST_F(seed, page_info_shows_only_page_three_copied)
{
	struct cowmem_page_info mine[4], theirs[4];
	struct cowmem_peer q;
	long breaks;

	ASSERT_EQ(0, seed_fork(self->fd, self->map, &q));
	breaks = cowmem_stat("cow_breaks");
	self->map[3 * self->psz] = 'P';
	EXPECT_EQ(breaks + 1, cowmem_stat("cow_breaks"));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, 4, mine));
	ASSERT_EQ(0, seed_ask(&q, theirs));
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(COWMEM_PAGE_SHARED, mine[i].state);
		EXPECT_EQ(2, mine[i].refcount);
		EXPECT_EQ(mine[i].frame_id, theirs[i].frame_id);
		EXPECT_EQ(2, theirs[i].refcount);
	}
	EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, mine[3].state);
	EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, theirs[3].state);
	EXPECT_EQ(1, mine[3].refcount);
	EXPECT_EQ(1, theirs[3].refcount);
	EXPECT_NE(mine[3].frame_id, theirs[3].frame_id);
	ASSERT_EQ(0, cowmem_peer_end(&q));
}

/*
 * debugfs "pages" of both views agrees with the ioctl: same refcounts and
 * states, and two pages have the same PFN exactly when their frame ids match.
 */
TEST_F(seed, debugfs_pages_agree_with_page_info)
{
	struct debugfs_page dp[4] = {}, dq[4] = {};
	struct cowmem_page_info mine[4], theirs[4];
	struct cowmem_view_line pv, qv;
	struct cowmem_peer q;

	ASSERT_EQ(0, seed_fork(self->fd, self->map, &q));
	self->map[3 * self->psz] = 'P';
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, 4, mine));
	ASSERT_EQ(0, seed_ask(&q, theirs));
	ASSERT_TRUE(cowmem_find_view(getpid(), &pv));
	ASSERT_TRUE(cowmem_find_view(q.pid, &qv));
	ASSERT_EQ(4, read_debugfs_pages(pv.id, dp));
	ASSERT_EQ(4, read_debugfs_pages(qv.id, dq));
	EXPECT_EQ(4, pv.present);
	EXPECT_EQ(3, pv.shared);
	EXPECT_EQ(1, qv.exclusive);
	for (int i = 0; i < 4; i++) {
		EXPECT_EQ(mine[i].refcount, dp[i].refcount);
		EXPECT_EQ(theirs[i].refcount, dq[i].refcount);
		const char *state = mine[i].state == COWMEM_PAGE_SHARED ?
					    "shared" :
					    "exclusive";

		EXPECT_STREQ(state, dp[i].state);
		EXPECT_EQ(mine[i].frame_id == theirs[i].frame_id,
			  dp[i].pfn == dq[i].pfn);
		/* A frame id is never the PFN. */
		EXPECT_NE(mine[i].frame_id, dp[i].pfn);
	}
	ASSERT_EQ(0, cowmem_peer_end(&q));
}

/*
 * frame_id is not a PFN: none of the view's frame ids equals any of the
 * PFNs debugfs shows for it (pagemap reports VM_PFNMAP mappings as holes).
 */
TEST_F(seed, frame_id_is_not_pfn)
{
	struct cowmem_page_info info[4];
	struct debugfs_page dp[4] = {};
	struct cowmem_view_line v;

	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, 4, info));
	ASSERT_TRUE(cowmem_find_view(getpid(), &v));
	ASSERT_EQ(4, read_debugfs_pages(v.id, dp));
	for (int i = 0; i < 4; i++) {
		EXPECT_NE(0, info[i].frame_id);
		for (int j = 0; j < 4; j++)
			EXPECT_NE(info[i].frame_id, dp[j].pfn);
	}
}

/* Untouched pages are NONE, read-only-touched ones ZERO, written ones EXCLUSIVE. */
TEST(page_states_none_zero_exclusive)
{
	struct cowmem_page_info info[3];
	int fd = cowmem_open();
	char *map;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, 3, 0);
	ASSERT_NE(NULL, map);
	peek(map + cowmem_page_size());
	poke(map + 2 * cowmem_page_size(), 1);
	ASSERT_EQ(0, cowmem_page_info(fd, map, 3, info));
	EXPECT_EQ(COWMEM_PAGE_NONE, info[0].state);
	EXPECT_EQ(COWMEM_PAGE_ZERO, info[1].state);
	EXPECT_EQ(0, info[1].frame_id);
	EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, info[2].state);
	EXPECT_EQ(1, info[2].refcount);
	EXPECT_TRUE(cowmem_check_ok());
	munmap(map, 3 * cowmem_page_size());
	close(fd);
}

/* PAGE_INFO on one file about another file's mapping is EINVAL, not an answer. */
TEST(page_info_other_file)
{
	struct cowmem_page_info info[4];
	int fd = cowmem_open(), other = cowmem_open();
	size_t psz = cowmem_page_size();
	char *map;

	ASSERT_LE(0, fd);
	ASSERT_LE(0, other);
	map = cowmem_map(fd, 4, 0);
	ASSERT_NE(NULL, map);
	map[0] = 1;
	EXPECT_EQ(-1, cowmem_page_info(other, map, 4, info));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, cowmem_page_info(fd, map, 4, info));
	EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, info[0].state);
	munmap(map, 4 * psz);
	close(other);
	close(fd);
}

/* Bad ranges get EINVAL, bad pointers EFAULT, unknown commands ENOTTY. */
TEST(page_info_bad_input)
{
	size_t psz = cowmem_page_size();
	struct cowmem_page_info info[8];
	int fd = cowmem_open();
	char *map, *next, stack;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, 4, 0);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(-1, cowmem_page_info(fd, map + 1, 1, info));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_page_info(fd, map, 0, info));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_page_info(fd, map, 5, info));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_page_info(fd, &stack, 1, info));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_page_info(fd, map, UINT64_MAX / 2, info));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_page_info(fd, (void *)(0xffff888000000000UL), 1,
				       info));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_page_info(fd, map, 4, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, COWMEM_IOC_PAGE_INFO, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, _IO(COWMEM_IOC_MAGIC, 0x7f), 0));
	EXPECT_EQ(ENOTTY, errno);
	/* A range crossing into a second, adjacent cowmem mapping is refused. */
	next = mmap(map + 4 * psz, psz, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	if (next != MAP_FAILED) {
		EXPECT_EQ(-1, cowmem_page_info(fd, map, 5, info));
		EXPECT_EQ(EINVAL, errno);
		munmap(next, psz);
	}
	EXPECT_EQ(0, cowmem_page_info(fd, map, 4, info));
	munmap(map, 4 * psz);
	close(fd);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Counts the lines of the instance's trace that name @event ("cow_break:"). */
static int count_events(const char *event)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(INSTANCE "/trace", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && strstr(line, event))
			n++;
	fclose(f);
	return n;
}

/*
 * Each tracepoint fires the expected number of times in a scripted scenario,
 * read from a tracefs instance of our own (no bpftrace needed).
 */
TEST(tracepoints_fire_as_scripted)
{
	size_t psz = cowmem_page_size();
	int fd = cowmem_open();
	char *map;
	pid_t pid;

	ASSERT_LE(0, fd);
	rmdir(INSTANCE);
	ASSERT_EQ(0, mkdir(INSTANCE, 0700));
	ASSERT_EQ(0, write_file(INSTANCE "/events/cowmem/enable", "1"));
	map = cowmem_map(fd, 5, 0);
	ASSERT_NE(NULL, map);
	for (int i = 0; i < 4; i++)
		poke(map + i * psz, 'a'); /* 4 write faults */
	pid = fork(); /* 1 view_clone */
	ASSERT_LE(0, pid);
	if (!pid) {
		poke(map, 'c'); /* 1 write fault, 1 cow_break */
		_exit(0); /* 1 view_free */
	}
	ASSERT_EQ(0, cowmem_wait(pid));
	poke(map, 'p'); /* 1 write fault, 1 reuse, pages 1-3 mapped around it */
	peek(map + psz); /* no fault: fault-around mapped it */
	peek(map + 4 * psz); /* 1 read fault of the zero page */
	ASSERT_EQ(0, write_file(INSTANCE "/events/cowmem/enable", "0"));
	EXPECT_EQ(1, count_events("cow_break:"));
	EXPECT_EQ(1, count_events("reuse:"));
	EXPECT_EQ(1, count_events("view_clone:"));
	EXPECT_EQ(1, count_events("view_free:"));
	EXPECT_EQ(7, count_events("fault:"));
	EXPECT_EQ(1, count_events("read zero"));
	munmap(map, 5 * psz);
	close(fd);
	EXPECT_EQ(0, rmdir(INSTANCE));
}

/* Our views in debugfs "views": their ids and regions, at most @max. */
static int own_views(struct cowmem_view_line *v, int max)
{
	FILE *f = fopen(COWMEM_DEBUGFS "/views", "r");
	char line[256];
	int n = 0;

	if (!f)
		return -1;
	while (n < max && fgets(line, sizeof(line), f))
		if (cowmem_parse_view(line, &v[n]) && v[n].pid == getpid())
			n++;
	fclose(f);
	return n;
}

/*
 * debugfs "pages" lists every live view, also when the view of a later
 * region is older than the view of an earlier one (ids are not in list
 * order across regions).
 */
TEST(pages_lists_views_mapped_out_of_region_order)
{
	struct cowmem_view_line v[2];
	int a = cowmem_open(), b = cowmem_open();
	char line[256], want[2][64];
	int found = 0;
	char *ma, *mb;
	FILE *f;

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	mb = cowmem_map(b, 1, 0);
	ma = cowmem_map(a, 1, 0);
	ASSERT_NE(NULL, mb);
	ASSERT_NE(NULL, ma);
	poke(mb, 'b');
	poke(ma, 'a');
	ASSERT_EQ(2, own_views(v, 2));
	for (int i = 0; i < 2; i++)
		snprintf(want[i], sizeof(want[i]), "view %llu region %llu\n",
			 v[i].id, v[i].region);
	f = fopen(COWMEM_DEBUGFS "/pages", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		found += !strcmp(line, want[0]) + !strcmp(line, want[1]);
	fclose(f);
	EXPECT_EQ(2, found);
	munmap(ma, cowmem_page_size());
	munmap(mb, cowmem_page_size());
	close(a);
	close(b);
}

COWMEM_HARNESS_MAIN
