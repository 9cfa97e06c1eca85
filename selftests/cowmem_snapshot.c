// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots, rollback and same-page merging: COWMEM_IOC_SNAPSHOT freezes a
 * view without copying, COWMEM_IOC_ROLLBACK makes the view the snapshot
 * again, COWMEM_IOC_MERGE folds identical pages into one frame. Each scenario
 * checks contents, the page-info ioctl and the debugfs counters.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define PAGES 16
#define ZEROS 0xffffffffu /* a page_writes seed: fill the page with zeros */

FIXTURE(region)
{
	int fd;
	size_t psz;
	char *map;
};

FIXTURE_SETUP(region)
{
	self->psz = page_size();
	self->fd = cowmem_open();
	ASSERT_LE(0, self->fd);
	self->map = cowmem_map(self->fd, PAGES, 0);
	ASSERT_NE(NULL, self->map);
}

FIXTURE_TEARDOWN(region)
{
	EXPECT_TRUE(cowmem_check_ok());
	munmap(self->map, PAGES * self->psz);
	close(self->fd);
}

/* Every page i of @map holds @base + i in every byte. */
static int filled(const char *map, size_t pages, size_t psz, char base)
{
	for (size_t i = 0; i < pages; i++)
		if (!page_is(map + i * psz, psz, base + (char)i))
			return 0;
	return 1;
}

/* Bytes that depend on @seed and on the offset; @seed ZEROS gives zeros. */
static void pattern(char *page, size_t psz, unsigned int seed)
{
	if (seed == ZEROS) {
		memset(page, 0, psz);
		return;
	}
	for (size_t i = 0; i < psz; i++)
		page[i] = (char)(seed * 131 + i * 7 + (i >> 9));
}

/* FNV-1a over one page: what a peer reports of a page's contents. */
static __u64 page_sum(const char *p, size_t psz)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < psz; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

/* The checksum of pattern(@seed). */
static __u64 pattern_sum(size_t psz, unsigned int seed)
{
	char *buf = malloc(psz);
	__u64 sum;

	if (!buf)
		return 0;
	pattern(buf, psz, seed);
	sum = page_sum(buf, psz);
	free(buf);
	return sum;
}

/* A mapping of snapshot @sfd, @pages pages from offset 0; NULL on failure. */
static char *map_snapshot(int sfd, size_t pages, int prot)
{
	void *p = mmap(NULL, pages * page_size(), prot, MAP_SHARED, sfd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* One merge pass over the whole region from page 0; the sums in @total. */
static int merge_pass(int fd, const void *addr, int other_fd,
		      struct cowmem_merge_args *total)
{
	struct cowmem_merge_args a;
	__u64 start = 0;

	memset(total, 0, sizeof(*total));
	do {
		if (cowmem_merge(fd, addr, other_fd, start,
				 COWMEM_MERGE_MAX_BUDGET, &a))
			return -1;
		total->scanned += a.scanned;
		total->merged += a.merged;
		total->zeroed += a.zeroed;
		total->skipped += a.skipped;
		if (a.next && a.next <= start)
			return -1; /* no progress: a pass would never end */
		start = a.next;
	} while (start);
	return 0;
}

static int is_zero_state(__u32 state)
{
	return state == COWMEM_PAGE_NONE || state == COWMEM_PAGE_ZERO;
}

/*
 * A peer: a forked child that runs a setup function, then answers every
 * request with the page info and a checksum of each of its PAGES pages.
 */
struct peer {
	pid_t pid;
	int ask, answer;
};

struct peer_page {
	struct cowmem_page_info info;
	__u64 sum;
};

/* Writes to do in a process: page @page gets pattern(@seed); @cgroup to join first. */
struct page_writes {
	const char *cgroup;
	unsigned int n;
	struct {
		unsigned int page, seed;
	} w[4];
};

static int join_cgroup(const char *dir)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, "0", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

static int do_writes(char *map, size_t psz, const struct page_writes *pw)
{
	if (pw->cgroup && join_cgroup(pw->cgroup))
		return -1;
	for (unsigned int i = 0; i < pw->n; i++)
		pattern(map + pw->w[i].page * psz, psz, pw->w[i].seed);
	return 0;
}

static void peer_loop(int fd, char *map, int ask, int answer)
{
	struct cowmem_page_info info[PAGES];
	struct peer_page rep[PAGES];
	char c;

	while (read(ask, &c, 1) == 1) {
		if (cowmem_page_info(fd, map, PAGES, info))
			_exit(2);
		for (int i = 0; i < PAGES; i++) {
			rep[i].info = info[i];
			rep[i].sum =
				page_sum(map + i * page_size(), page_size());
		}
		if (write(answer, rep, sizeof(rep)) != sizeof(rep))
			_exit(3);
	}
	_exit(0);
}

/* Forks a peer that does @pw (when not NULL) first; -1 when it cannot. */
static int peer_start(struct peer *q, int fd, char *map,
		      const struct page_writes *pw)
{
	int ask[2], answer[2];

	if (pipe(ask))
		return -1;
	if (pipe(answer)) {
		close(ask[0]);
		close(ask[1]);
		return -1;
	}
	q->pid = fork();
	if (q->pid == 0) {
		close(ask[1]);
		close(answer[0]);
		if (pw && do_writes(map, page_size(), pw))
			_exit(1);
		peer_loop(fd, map, ask[0], answer[1]);
	}
	close(ask[0]);
	close(answer[1]);
	q->ask = ask[1];
	q->answer = answer[0];
	return q->pid < 0 ? -1 : 0;
}

/* The peer's report of its PAGES pages, after it did its writes; 0 on success. */
static int peer_ask(struct peer *q, struct peer_page *rep)
{
	if (write(q->ask, "?", 1) != 1)
		return -1;
	return read(q->answer, rep, PAGES * sizeof(*rep)) ==
			       (ssize_t)(PAGES * sizeof(*rep)) ?
		       0 :
		       -1;
}

/* Lets the peer exit; its exit status. */
static int peer_end(struct peer *q)
{
	close(q->ask);
	close(q->answer);
	return wait_status(q->pid);
}

/* A snapshot's mapping keeps the contents of snapshot time while the source is rewritten. */
TEST_F(region, snapshot_shows_frozen_contents)
{
	char *frozen;
	int sfd;

	fill(self->map, PAGES, self->psz, 'a');
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	frozen = map_snapshot(sfd, PAGES, PROT_READ);
	ASSERT_NE(NULL, frozen);
	EXPECT_TRUE(filled(frozen, PAGES, self->psz, 'a'));
	fill(self->map, PAGES, self->psz, 'A');
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'A'));
	EXPECT_TRUE(filled(frozen, PAGES, self->psz, 'a'));
	ASSERT_EQ(0, munmap(frozen, PAGES * self->psz));
	/* A mapping made after the rewrite, smaller than the region, too. */
	frozen = map_snapshot(sfd, PAGES / 2, PROT_READ);
	ASSERT_NE(NULL, frozen);
	EXPECT_TRUE(filled(frozen, PAGES / 2, self->psz, 'a'));
	munmap(frozen, PAGES / 2 * self->psz);
	close(sfd);
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'A'));
}

/* A snapshot copies nothing: pages, page_allocs and frames stay; pages go SHARED, refcount 2. */
TEST_F(region, snapshot_copies_no_page)
{
	struct cowmem_page_info before[PAGES], after[PAGES], snap[PAGES];
	const int written = 12;
	long pages, allocs, breaks;
	char *smap;
	int sfd;

	fill(self->map, written, self->psz, 'a');
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, before));
	pages = cowmem_stat("pages");
	allocs = cowmem_stat("page_allocs");
	breaks = cowmem_stat("cow_breaks");
	ASSERT_LE(0, pages);
	ASSERT_LE(0, allocs);
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	EXPECT_EQ(pages, cowmem_stat("pages"));
	EXPECT_EQ(allocs, cowmem_stat("page_allocs"));
	EXPECT_EQ(breaks, cowmem_stat("cow_breaks"));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, after));
	for (int i = 0; i < PAGES; i++) {
		if (i >= written) {
			EXPECT_TRUE(is_zero_state(after[i].state));
			EXPECT_EQ(0, after[i].frame_id);
			continue;
		}
		EXPECT_EQ(before[i].frame_id, after[i].frame_id);
		EXPECT_EQ(2, after[i].refcount);
		EXPECT_EQ(COWMEM_PAGE_SHARED, after[i].state);
	}
	/* The view's writable PTEs are gone: the next write copies that page. */
	poke(self->map + 5 * self->psz, 'z');
	EXPECT_EQ(breaks + 1, cowmem_stat("cow_breaks"));
	EXPECT_EQ(pages + 1, cowmem_stat("pages"));
	EXPECT_EQ(allocs + 1, cowmem_stat("page_allocs"));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, after));
	EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, after[5].state);
	EXPECT_EQ(1, after[5].refcount);
	EXPECT_NE(before[5].frame_id, after[5].frame_id);
	/* The snapshot still holds the original frames, page 5's included. */
	smap = map_snapshot(sfd, PAGES, PROT_READ);
	ASSERT_NE(NULL, smap);
	EXPECT_TRUE(filled(smap, written, self->psz, 'a'));
	ASSERT_EQ(0, cowmem_page_info(sfd, smap, PAGES, snap));
	for (int i = 0; i < written; i++) {
		EXPECT_EQ(before[i].frame_id, snap[i].frame_id);
		EXPECT_EQ(COWMEM_PAGE_SHARED, snap[i].state);
	}
	munmap(smap, PAGES * self->psz);
	close(sfd);
}

/* changed_pages counts each page the source rewrote since the snapshot, once, until it closes. */
TEST_F(region, changed_pages_counts_rewritten_pages)
{
	long snapshots, changed;
	int sfd;

	fill(self->map, PAGES, self->psz, 'a');
	snapshots = cowmem_stat("snapshots");
	changed = cowmem_stat("changed_pages");
	ASSERT_LE(0, snapshots);
	ASSERT_LE(0, changed);
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	EXPECT_EQ(snapshots + 1, cowmem_stat("snapshots"));
	EXPECT_EQ(changed, cowmem_stat("changed_pages"));
	/* Pages 1, 4, 7, 10, 13. */
	for (int i = 1; i < PAGES; i += 3)
		poke(self->map + i * self->psz, 'w');
	EXPECT_EQ(changed + 5, cowmem_stat("changed_pages"));
	poke(self->map + 4 * self->psz + 100, 'x');
	poke(self->map + 7 * self->psz, 'y');
	EXPECT_EQ(changed + 5, cowmem_stat("changed_pages"));
	/* Reads change nothing. */
	EXPECT_EQ('a', peek(self->map));
	EXPECT_EQ(changed + 5, cowmem_stat("changed_pages"));
	close(sfd);
	EXPECT_EQ(snapshots, cowmem_stat("snapshots"));
	EXPECT_EQ(changed, cowmem_stat("changed_pages"));
}

/* Writes to a snapshot's mapping break COW there only: source and snapshot keep their data. */
TEST_F(region, snapshot_mapping_writes_stay_there)
{
	long breaks;
	char *smap;
	int sfd;

	fill(self->map, PAGES, self->psz, 'a');
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	fill(self->map, PAGES, self->psz, 'A');
	smap = map_snapshot(sfd, PAGES, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, smap);
	breaks = cowmem_stat("cow_breaks");
	fill(smap, PAGES, self->psz, 's');
	EXPECT_EQ(breaks + PAGES, cowmem_stat("cow_breaks"));
	EXPECT_TRUE(filled(smap, PAGES, self->psz, 's'));
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'A'));
	ASSERT_EQ(0, munmap(smap, PAGES * self->psz));
	smap = map_snapshot(sfd, PAGES, PROT_READ);
	ASSERT_NE(NULL, smap);
	EXPECT_TRUE(filled(smap, PAGES, self->psz, 'a'));
	munmap(smap, PAGES * self->psz);
	ASSERT_EQ(0, cowmem_rollback(self->fd, self->map, sfd, 0));
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'a'));
	close(sfd);
}

/* A snapshot of a snapshot's mapping copies nothing, stays frozen; the mapping rolls back to it. */
TEST_F(region, snapshot_of_a_snapshot)
{
	struct cowmem_page_info orig[PAGES], info[PAGES];
	long pages, allocs;
	char *m1, *m2;
	int s1, s2;

	fill(self->map, PAGES, self->psz, 'a');
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, orig));
	s1 = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, s1);
	m1 = map_snapshot(s1, PAGES, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m1);
	fill(self->map, PAGES, self->psz, 'b');
	EXPECT_TRUE(filled(m1, PAGES, self->psz, 'a'));
	pages = cowmem_stat("pages");
	allocs = cowmem_stat("page_allocs");
	s2 = cowmem_snapshot(s1, m1 + 3 * self->psz, 0);
	ASSERT_LE(0, s2);
	EXPECT_EQ(pages, cowmem_stat("pages"));
	EXPECT_EQ(allocs, cowmem_stat("page_allocs"));
	fill(m1, PAGES, self->psz, 'c');
	m2 = map_snapshot(s2, PAGES, PROT_READ);
	ASSERT_NE(NULL, m2);
	EXPECT_TRUE(filled(m2, PAGES, self->psz, 'a'));
	ASSERT_EQ(0, cowmem_page_info(s2, m2, PAGES, info));
	for (int i = 0; i < PAGES; i++)
		EXPECT_EQ(orig[i].frame_id, info[i].frame_id);
	EXPECT_TRUE(filled(m1, PAGES, self->psz, 'c'));
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'b'));
	ASSERT_EQ(0, cowmem_rollback(s1, m1, s2, 0));
	EXPECT_TRUE(filled(m1, PAGES, self->psz, 'a'));
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'b'));
	munmap(m2, PAGES * self->psz);
	munmap(m1, PAGES * self->psz);
	close(s2);
	close(s1);
}

/* A rollback restores the snapshot in the caller at once; a child sharing pages keeps its own. */
TEST_F(region, rollback_in_caller_only)
{
	struct cowmem_page_info orig[PAGES], now[PAGES];
	struct peer_page theirs[PAGES];
	long rollbacks;
	char *page;
	struct peer q;
	int sfd;

	fill(self->map, PAGES, self->psz, 'a');
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, orig));
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	fill(self->map, PAGES, self->psz, 'b');
	ASSERT_EQ(0, peer_start(&q, self->fd, self->map, NULL));
	ASSERT_EQ(0, peer_ask(&q, theirs));
	EXPECT_EQ(2, theirs[0].info.refcount); /* the child shares 'b' */
	rollbacks = cowmem_stat("rollbacks");
	ASSERT_EQ(0, cowmem_rollback(self->fd, self->map, sfd, 0));
	EXPECT_EQ(rollbacks + 1, cowmem_stat("rollbacks"));
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'a'));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, now));
	for (int i = 0; i < PAGES; i++) {
		EXPECT_EQ(orig[i].frame_id, now[i].frame_id);
		EXPECT_EQ(2, now[i].refcount); /* this view and the snapshot */
		EXPECT_EQ(COWMEM_PAGE_SHARED, now[i].state);
	}
	/* The child still reads 'b', now from pages it alone holds. */
	ASSERT_EQ(0, peer_ask(&q, theirs));
	page = malloc(self->psz);
	ASSERT_NE(NULL, page);
	for (int i = 0; i < PAGES; i++) {
		memset(page, 'b' + i, self->psz);
		EXPECT_EQ(page_sum(page, self->psz), theirs[i].sum);
		EXPECT_EQ(1, theirs[i].info.refcount);
		EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, theirs[i].info.state);
		EXPECT_NE(orig[i].frame_id, theirs[i].info.frame_id);
	}
	free(page);
	EXPECT_EQ(0, peer_end(&q));
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'a'));
	close(sfd);
}

/* Write, roll back, write, roll back: each time the snapshot returns and the copies are freed. */
TEST_F(region, rollback_is_repeatable)
{
	struct cowmem_page_info info[PAGES];
	long pages, rollbacks;
	int sfd;

	fill(self->map, PAGES - 1, self->psz, 'a');
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	pages = cowmem_stat("pages");
	rollbacks = cowmem_stat("rollbacks");
	ASSERT_LE(0, pages);
	for (int round = 0; round < 3; round++) {
		fill(self->map, PAGES, self->psz, (char)('A' + 20 * round));
		EXPECT_EQ(pages + PAGES, cowmem_stat("pages"));
		ASSERT_EQ(0, cowmem_rollback(self->fd, self->map, sfd, 0));
		EXPECT_EQ(rollbacks + round + 1, cowmem_stat("rollbacks"));
		EXPECT_TRUE(filled(self->map, PAGES - 1, self->psz, 'a'));
		EXPECT_TRUE(page_is(self->map + (PAGES - 1) * self->psz,
				    self->psz, 0));
		EXPECT_EQ(pages, cowmem_stat("pages"));
		ASSERT_EQ(0,
			  cowmem_page_info(self->fd, self->map, PAGES, info));
		EXPECT_TRUE(is_zero_state(info[PAGES - 1].state));
		EXPECT_EQ(2, info[0].refcount);
	}
	close(sfd);
}

/* A rollback to a snapshot of another region (another open) is EINVAL and changes nothing. */
TEST_F(region, rollback_to_other_region_is_einval)
{
	int fd2 = cowmem_open(), sfd2;
	char *map2;

	ASSERT_LE(0, fd2);
	map2 = cowmem_map(fd2, PAGES, 0);
	ASSERT_NE(NULL, map2);
	fill(map2, PAGES, self->psz, 'x');
	sfd2 = cowmem_snapshot(fd2, map2, 0);
	ASSERT_LE(0, sfd2);
	fill(self->map, PAGES, self->psz, 'a');
	EXPECT_EQ(-1, cowmem_rollback(self->fd, self->map, sfd2, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'a'));
	/* Our fd with an address in the other region's mapping: EINVAL too. */
	EXPECT_EQ(-1, cowmem_rollback(self->fd, map2, sfd2, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(filled(map2, PAGES, self->psz, 'x'));
	munmap(map2, PAGES * self->psz);
	close(sfd2);
	close(fd2);
}

/* A rollback to a file that is not a snapshot is EINVAL; a number that is no fd is EBADF. */
TEST_F(region, rollback_to_non_snapshot_is_einval)
{
	int fd2 = cowmem_open(), p[2];

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, pipe(p));
	fill(self->map, PAGES, self->psz, 'a');
	EXPECT_EQ(-1, cowmem_rollback(self->fd, self->map, self->fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_rollback(self->fd, self->map, fd2, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_rollback(self->fd, self->map, p[0], 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_rollback(self->fd, self->map, -1, 0));
	EXPECT_EQ(EBADF, errno);
	close(p[1]);
	EXPECT_EQ(-1, cowmem_rollback(self->fd, self->map, p[1], 0));
	EXPECT_EQ(EBADF, errno);
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'a'));
	close(p[0]);
	close(fd2);
}

/* Bad flags or addresses are EINVAL for snapshot and rollback; CLOEXEC sets FD_CLOEXEC. */
TEST_F(region, snapshot_and_rollback_bad_input)
{
	int fd2 = cowmem_open(), sfd, cfd;
	char stack;

	ASSERT_LE(0, fd2);
	fill(self->map, PAGES, self->psz, 'a');
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	EXPECT_EQ(0, fcntl(sfd, F_GETFD) & FD_CLOEXEC);
	cfd = cowmem_snapshot(self->fd, self->map, COWMEM_SNAPSHOT_CLOEXEC);
	ASSERT_LE(0, cfd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(cfd, F_GETFD) & FD_CLOEXEC);
	fill(self->map, PAGES, self->psz, 'b');

	EXPECT_EQ(-1, cowmem_snapshot(self->fd, self->map, 0x2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_snapshot(self->fd, self->map, 0x80000000u));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_rollback(self->fd, self->map, sfd, 0x1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_rollback(self->fd, self->map, sfd, 0x80000000u));
	EXPECT_EQ(EINVAL, errno);
	/* Not in a cowmem mapping, or in one of another file. */
	EXPECT_EQ(-1, cowmem_snapshot(self->fd, &stack, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_snapshot(fd2, self->map, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_rollback(self->fd, &stack, sfd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_rollback(fd2, self->map, sfd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->fd, COWMEM_IOC_SNAPSHOT, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, COWMEM_IOC_ROLLBACK, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	/* None of it touched the view, and the snapshot still works. */
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'b'));
	ASSERT_EQ(0, cowmem_rollback(self->fd, self->map, cfd, 0));
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'a'));
	close(cfd);
	close(sfd);
	close(fd2);
}

struct rollback_writer {
	char *map;
	size_t psz;
	__u64 last[PAGES]; /* the value each page should hold */
	int reverted[PAGES]; /* the page read its snapshot value after a store */
	unsigned long rounds; /* full passes over the pages, atomic */
	unsigned long errors;
	int stop; /* atomic */
};

/* The word page @p holds in the snapshot; stores are (seq << 16) | p, seq >= 1. */
static __u64 snap_word(size_t p)
{
	return 0x5eed000000000000ULL | p;
}

/*
 * Each visit of a page reads its first word, which must be the writer's
 * last store there, or, once per page, the snapshot's value (a store undone
 * by the rollback); then stores the next sequence number.
 */
static void *rollback_writer(void *arg)
{
	struct rollback_writer *w = arg;
	__u64 seq = 0;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		for (size_t p = 0; p < PAGES; p++) {
			__u64 *word = (__u64 *)(w->map + p * w->psz);
			__u64 v = __atomic_load_n(word, __ATOMIC_RELAXED);

			if (v == snap_word(p) && v != w->last[p] &&
			    !w->reverted[p])
				w->reverted[p] = 1;
			else if (v != w->last[p])
				w->errors++;
			w->last[p] = (++seq << 16) | p;
			__atomic_store_n(word, w->last[p], __ATOMIC_RELAXED);
		}
		__atomic_add_fetch(&w->rounds, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Waits (at most 20 s) until the writer completed @n rounds. */
static int wait_rounds(struct rollback_writer *w, unsigned long n)
{
	for (int i = 0; i < 200000; i++) {
		if (__atomic_load_n(&w->rounds, __ATOMIC_ACQUIRE) >= n)
			return 1;
		usleep(100);
	}
	return 0;
}

/* A store racing a rollback lands before it (undone) or after it (kept), never otherwise. */
TEST_F_TIMEOUT(region, rollback_with_concurrent_writer, 90)
{
	struct rollback_writer *w = calloc(1, sizeof(*w));
	unsigned long rounds;
	int sfd, reverted = 0;
	pthread_t tid;
	char *smap;

	ASSERT_NE(NULL, w);
	w->map = self->map;
	w->psz = self->psz;
	for (size_t p = 0; p < PAGES; p++) {
		w->last[p] = snap_word(p);
		memcpy(self->map + p * self->psz, &w->last[p], sizeof(__u64));
	}
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	/* Each page's first word: the snapshot's value, or a store's (seq, page). */
	ASSERT_EQ(0, pthread_create(&tid, NULL, rollback_writer, w));
	/* Every page has stores of its own before the rollback. */
	EXPECT_TRUE(wait_rounds(w, 3));
	/* No ASSERT while the writer runs: the teardown would unmap under it. */
	EXPECT_EQ(0, cowmem_rollback(self->fd, self->map, sfd, 0));
	/* And is visited again after it. */
	rounds = __atomic_load_n(&w->rounds, __ATOMIC_ACQUIRE);
	EXPECT_TRUE(wait_rounds(w, rounds + 2));
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	pthread_join(tid, NULL);
	EXPECT_EQ(0, w->errors);
	for (size_t p = 0; p < PAGES; p++) {
		__u64 v;

		memcpy(&v, self->map + p * self->psz, sizeof(v));
		EXPECT_EQ(w->last[p], v);
		reverted += w->reverted[p];
	}
	/*
	 * The rollback is one point in the writer's sequence of stores: every
	 * page had a store before it, so its next read shows the snapshot's
	 * value; only a page read before and stored after may escape that.
	 */
	EXPECT_LE(PAGES - 1, reverted)
	TH_LOG("%d of %d pages read the snapshot after the rollback", reverted,
	       PAGES);
	/* The snapshot itself saw none of it. */
	smap = map_snapshot(sfd, PAGES, PROT_READ);
	ASSERT_NE(NULL, smap);
	for (size_t p = 0; p < PAGES; p++) {
		__u64 v;

		memcpy(&v, smap + p * self->psz, sizeof(v));
		EXPECT_EQ(snap_word(p), v);
	}
	munmap(smap, PAGES * self->psz);
	close(sfd);
	free(w);
}

/* Twin pages of a parent and its child merge into one frame, refcount 2; a write splits them. */
TEST_F(region, merge_pages_of_parent_and_child)
{
	const struct page_writes mine = { NULL, 2, { { 0, 7 }, { 2, 8 } } };
	const struct page_writes theirs = { NULL, 2, { { 1, 7 }, { 3, 9 } } };
	struct peer_page rep[PAGES];
	struct cowmem_page_info info[PAGES];
	struct cowmem_merge_args a;
	long pages, merged, breaks;
	struct peer q;

	pages = cowmem_stat("pages");
	merged = cowmem_stat("merged_pages");
	ASSERT_LE(0, pages);
	ASSERT_LE(0, merged);
	ASSERT_EQ(0, peer_start(&q, self->fd, self->map, &theirs));
	ASSERT_EQ(0, do_writes(self->map, self->psz, &mine));
	ASSERT_EQ(0, peer_ask(&q, rep)); /* it has written its pages */
	EXPECT_EQ(pages + 4, cowmem_stat("pages"));
	EXPECT_NE(0, rep[1].info.frame_id);

	ASSERT_EQ(0, cowmem_merge(self->fd, self->map, -1, 0,
				  COWMEM_MERGE_MAX_BUDGET, &a));
	EXPECT_EQ(0, a.next);
	EXPECT_LE(4, a.scanned);
	EXPECT_EQ(1, a.merged);
	EXPECT_EQ(0, a.zeroed);
	EXPECT_EQ(0, a.skipped);
	EXPECT_EQ(pages + 3, cowmem_stat("pages"));
	EXPECT_EQ(merged + 1, cowmem_stat("merged_pages"));

	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, info));
	ASSERT_EQ(0, peer_ask(&q, rep));
	EXPECT_EQ(info[0].frame_id, rep[1].info.frame_id);
	EXPECT_EQ(2, info[0].refcount);
	EXPECT_EQ(COWMEM_PAGE_SHARED, info[0].state);
	EXPECT_EQ(2, rep[1].info.refcount);
	EXPECT_EQ(COWMEM_PAGE_SHARED, rep[1].info.state);
	EXPECT_EQ(1, info[2].refcount);
	EXPECT_EQ(1, rep[3].info.refcount);
	EXPECT_EQ(pattern_sum(self->psz, 7), rep[1].sum);
	EXPECT_EQ(pattern_sum(self->psz, 7), page_sum(self->map, self->psz));

	/* The parent's write copies the merged page; the child keeps its own. */
	breaks = cowmem_stat("cow_breaks");
	poke(self->map + 9, 'w');
	EXPECT_EQ(breaks + 1, cowmem_stat("cow_breaks"));
	EXPECT_EQ(pages + 4, cowmem_stat("pages"));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, info));
	ASSERT_EQ(0, peer_ask(&q, rep));
	EXPECT_NE(info[0].frame_id, rep[1].info.frame_id);
	EXPECT_EQ(1, info[0].refcount);
	EXPECT_EQ(1, rep[1].info.refcount);
	EXPECT_EQ(pattern_sum(self->psz, 7), rep[1].sum);
	EXPECT_EQ('w', peek(self->map + 9));
	EXPECT_EQ(0, peer_end(&q));
}

/* A written page of zeros goes back to the zero page: pages drops, it reads zeros, NONE or ZERO. */
TEST_F(region, merge_returns_zero_pages)
{
	struct cowmem_page_info info[PAGES];
	long pages, allocs, mzero, merged;
	struct cowmem_merge_args a;

	memset(self->map, 'x', self->psz);
	memset(self->map, 0, self->psz);
	memset(self->map + self->psz, 0, self->psz);
	pattern(self->map + 2 * self->psz, self->psz, 3);
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, info));
	ASSERT_EQ(COWMEM_PAGE_EXCLUSIVE, info[0].state);
	ASSERT_EQ(COWMEM_PAGE_EXCLUSIVE, info[1].state);
	pages = cowmem_stat("pages");
	mzero = cowmem_stat("merged_zero");
	merged = cowmem_stat("merged_pages");
	ASSERT_LE(0, mzero);

	ASSERT_EQ(0, merge_pass(self->fd, self->map, -1, &a));
	EXPECT_EQ(2, a.merged);
	EXPECT_EQ(2, a.zeroed);
	EXPECT_EQ(0, a.skipped);
	EXPECT_EQ(pages - 2, cowmem_stat("pages"));
	EXPECT_EQ(mzero + 2, cowmem_stat("merged_zero"));
	EXPECT_EQ(merged + 2, cowmem_stat("merged_pages"));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, info));
	for (int i = 0; i < 2; i++) {
		EXPECT_TRUE(is_zero_state(info[i].state));
		EXPECT_EQ(0, info[i].frame_id);
		EXPECT_EQ(0, info[i].refcount);
	}
	EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, info[2].state);
	EXPECT_TRUE(page_is(self->map, 2 * self->psz, 0));
	EXPECT_EQ(pattern_sum(self->psz, 3),
		  page_sum(self->map + 2 * self->psz, self->psz));

	allocs = cowmem_stat("page_allocs");
	poke(self->map + 1, 'y');
	EXPECT_EQ(pages - 1, cowmem_stat("pages"));
	EXPECT_EQ(allocs + 1, cowmem_stat("page_allocs"));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, 1, info));
	EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, info[0].state);
	EXPECT_EQ('y', peek(self->map + 1));
	EXPECT_TRUE(page_is(self->map + 2, self->psz - 2, 0));
}

/* With a second fd, twin pages of two regions merge into one frame; a write splits them again. */
TEST_F(region, merge_across_two_regions)
{
	struct cowmem_page_info mine, theirs;
	struct cowmem_merge_args a;
	int fd2 = cowmem_open();
	long pages;
	char *map2;

	ASSERT_LE(0, fd2);
	map2 = cowmem_map(fd2, PAGES, 0);
	ASSERT_NE(NULL, map2);
	pattern(self->map, self->psz, 21);
	pattern(map2, self->psz, 21);
	pattern(map2 + self->psz, self->psz, 22);
	pages = cowmem_stat("pages");
	ASSERT_EQ(0, merge_pass(self->fd, self->map, fd2, &a));
	EXPECT_EQ(1, a.merged);
	EXPECT_EQ(pages - 1, cowmem_stat("pages"));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, 1, &mine));
	ASSERT_EQ(0, cowmem_page_info(fd2, map2, 1, &theirs));
	EXPECT_EQ(mine.frame_id, theirs.frame_id);
	/* PAGE_INFO counts the holders of its own region: one each. */
	EXPECT_EQ(1, mine.refcount);
	EXPECT_EQ(1, theirs.refcount);
	poke(map2 + 5, 'q');
	EXPECT_EQ(pattern_sum(self->psz, 21), page_sum(self->map, self->psz));
	EXPECT_EQ('q', peek(map2 + 5));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, 1, &mine));
	EXPECT_EQ(1, mine.refcount);
	munmap(map2, PAGES * self->psz);
	close(fd2);
}

#define RACE_PAGES 8 /* page 0 is the writer's; page k holds k, k = 1..7 */

struct merge_writer {
	__u64 *word; /* the first word of page 0 */
	__u64 last; /* the value written last */
	unsigned long writes, lost; /* writes is atomic */
	int stop; /* atomic */
};

/*
 * Cycles page 0's first word through 1..RACE_PAGES - 1, so that page 0 is
 * always identical to one of pages 1..7 and a merge can fold it; reads the
 * word back before each store: a merge that lost a store shows here.
 */
static void *merge_writer(void *arg)
{
	struct merge_writer *w = arg;
	__u64 expect = 1, seq = 0;

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(w->word, __ATOMIC_RELAXED) != expect)
			w->lost++;
		seq++;
		expect = 1 + seq % (RACE_PAGES - 1);
		__atomic_store_n(w->word, expect, __ATOMIC_RELAXED);
		__atomic_add_fetch(&w->writes, 1, __ATOMIC_RELEASE);
	}
	w->last = expect;
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Merges racing a writer whose page always has a twin do merge it, and never lose a store. */
TEST_F_TIMEOUT(region, merge_racing_writer_loses_nothing, 90)
{
	struct merge_writer w = { .word = (__u64 *)self->map };
	unsigned long merges = 0, merged = 0;
	struct cowmem_merge_args a;
	double start;
	pthread_t tid;
	char *ref;

	ref = malloc(self->psz);
	ASSERT_NE(NULL, ref);
	pattern(ref, self->psz, 0x3c);
	for (__u64 k = 0; k < RACE_PAGES; k++) {
		__u64 v = k ? k : 1;

		memcpy(self->map + k * self->psz, ref, self->psz);
		memcpy(self->map + k * self->psz, &v, sizeof(v));
	}
	ASSERT_EQ(0, pthread_create(&tid, NULL, merge_writer, &w));
	while (__atomic_load_n(&w.writes, __ATOMIC_ACQUIRE) < 1000)
		usleep(100);
	start = now_s();
	while ((merges < 50 || now_s() - start < 1.0) && now_s() - start < 10) {
		if (cowmem_merge(self->fd, self->map, -1, 0,
				 COWMEM_MERGE_MAX_BUDGET, &a))
			break;
		merges++;
		merged += a.merged;
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(tid, NULL);
	EXPECT_LE(50, merges);
	EXPECT_LT(0, merged);
	TH_LOG("%lu merge calls freed %lu pages during %lu writes", merges,
	       merged, w.writes);
	EXPECT_EQ(0, w.lost);
	EXPECT_EQ(w.last, *w.word);
	EXPECT_EQ(0, memcmp(self->map + 8, ref + 8, self->psz - 8));
	for (__u64 k = 1; k < RACE_PAGES; k++) {
		char *page = self->map + k * self->psz;
		__u64 v;

		memcpy(&v, page, sizeof(v));
		EXPECT_EQ(k, v);
		EXPECT_EQ(0, memcmp(page + 8, ref + 8, self->psz - 8));
	}
	free(ref);
}

/* A merge call scans at most budget pages, next resumes there, and a pass sees each page once. */
TEST_F(region, merge_budget_bounds_each_call)
{
	struct cowmem_merge_args a;
	unsigned long scanned = 0, merged = 0, calls = 0;
	__u64 start = 0;
	long pages;

	for (int i = 0; i < PAGES; i++)
		pattern(self->map + i * self->psz, self->psz, 11);
	pages = cowmem_stat("pages");
	do {
		ASSERT_EQ(0,
			  cowmem_merge(self->fd, self->map, -1, start, 4, &a));
		EXPECT_GE(4, a.scanned);
		EXPECT_LE(a.merged, a.scanned);
		if (!calls) {
			/* Pages 0-3, identical, become one frame. */
			EXPECT_EQ(3, a.merged);
		}
		if (a.next) {
			EXPECT_LT(start, a.next);
			EXPECT_GT(PAGES, a.next);
		}
		scanned += a.scanned;
		merged += a.merged;
		start = a.next;
		calls++;
	} while (start && calls <= PAGES);
	EXPECT_EQ(0, start);
	EXPECT_EQ(PAGES / 4, calls);
	EXPECT_EQ(PAGES, scanned);
	EXPECT_LE(3 * PAGES / 4, merged);
	EXPECT_EQ(pages - (long)merged, cowmem_stat("pages"));
	/* A call from the last page scans at most that page and ends the pass. */
	ASSERT_EQ(0, cowmem_merge(self->fd, self->map, -1, PAGES - 1, 4, &a));
	EXPECT_GE(1, a.scanned);
	EXPECT_EQ(0, a.next);
	/* One call over everything folds the groups into one frame. */
	ASSERT_EQ(0, merge_pass(self->fd, self->map, -1, &a));
	EXPECT_EQ(pages - (PAGES - 1), cowmem_stat("pages"));
	for (int i = 0; i < PAGES; i++)
		EXPECT_EQ(pattern_sum(self->psz, 11),
			  page_sum(self->map + i * self->psz, self->psz));
}

/* Budget 0 or over the maximum, any flag, a foreign address: EINVAL; a bad pointer: EFAULT. */
TEST_F(region, merge_bad_input)
{
	struct cowmem_merge_args a;
	int fd2 = cowmem_open();
	char stack;

	ASSERT_LE(0, fd2);
	pattern(self->map, self->psz, 5);
	pattern(self->map + self->psz, self->psz, 5);
	EXPECT_EQ(-1, cowmem_merge(self->fd, self->map, -1, 0, 0, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_merge(self->fd, self->map, -1, 0,
				   COWMEM_MERGE_MAX_BUDGET + 1, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1,
		  cowmem_merge(self->fd, self->map, -1, 0, UINT64_MAX, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_merge(self->fd, &stack, -1, 0, 1, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, cowmem_merge(fd2, self->map, -1, 0, 1, NULL));
	EXPECT_EQ(EINVAL, errno);
	for (__u32 flags = 1; flags; flags <<= 1) {
		a = (struct cowmem_merge_args){
			.addr = (unsigned long)self->map,
			.fd = -1,
			.flags = flags,
			.budget = PAGES,
		};
		EXPECT_EQ(-1, ioctl(self->fd, COWMEM_IOC_MERGE, &a));
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(-1, ioctl(self->fd, COWMEM_IOC_MERGE, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	/* None of it merged anything; a good call does. */
	EXPECT_EQ(pattern_sum(self->psz, 5), page_sum(self->map, self->psz));
	ASSERT_EQ(0, cowmem_merge(self->fd, self->map, -1, 0,
				  COWMEM_MERGE_MAX_BUDGET, &a));
	EXPECT_EQ(1, a.merged);
	close(fd2);
}

#define CG_A CGROOT "/cowmem_snapshot_a"
#define CG_B CGROOT "/cowmem_snapshot_b"

/* Two cgroup v2 groups with the memory controller; 0 when there are none. */
static int make_memcgs(void)
{
	if (!cg_enable_memory())
		return 0;
	rmdir(CG_A);
	rmdir(CG_B);
	return !mkdir(CG_A, 0755) && !mkdir(CG_B, 0755) &&
	       !access(CG_A "/memory.current", F_OK) &&
	       !access(CG_B "/memory.current", F_OK);
}

FIXTURE(memcgs)
{
	int fd;
	size_t psz;
	char *map;
	int usable;
	struct peer a, b;
};

FIXTURE_SETUP(memcgs)
{
	self->psz = page_size();
	self->a.pid = -1;
	self->b.pid = -1;
	self->fd = cowmem_open();
	ASSERT_LE(0, self->fd);
	self->map = cowmem_map(self->fd, PAGES, 0);
	ASSERT_NE(NULL, self->map);
	self->usable = make_memcgs();
}

FIXTURE_TEARDOWN(memcgs)
{
	if (self->b.pid > 0)
		peer_end(&self->b);
	if (self->a.pid > 0)
		peer_end(&self->a);
	EXPECT_TRUE(cowmem_check_ok());
	munmap(self->map, PAGES * self->psz);
	close(self->fd);
	rmdir(CG_A);
	rmdir(CG_B);
}

/*
 * Runs one full-budget MERGE of @map in a child moved into CG_A, whose
 * memory.max is @max; returns the child's wait status. The child exits 0
 * when the merge ran, 2 when it got ENOMEM, 1 on anything else.
 */
static int merge_in_memcg(int fd, const void *map, const char *max)
{
	char pid_text[16];
	int status = -1;
	pid_t pid;

	if (cg_write(CG_A "/memory.max", max))
		return -1;
	pid = fork();
	if (pid == 0) {
		snprintf(pid_text, sizeof(pid_text), "%d", getpid());
		if (cg_write(CG_A "/cgroup.procs", pid_text))
			_exit(1);
		if (!cowmem_merge(fd, map, -1, 0, COWMEM_MERGE_MAX_BUDGET,
				  NULL))
			_exit(0);
		_exit(errno == ENOMEM ? 2 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* MERGE's tables are charged to the caller's cgroup: ENOMEM with 1 MiB of room, run with 64 MiB. */
TEST_F(memcgs, merge_tables_are_charged_to_the_caller)
{
	int status;

	if (!self->usable)
		SKIP(return, "no cgroup v2 memory controller in this kernel");
	self->map[0] = 1;
	status = merge_in_memcg(self->fd, self->map, "64M");
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	status = merge_in_memcg(self->fd, self->map, "1M");
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(2, WEXITSTATUS(status));
}

/* Twin pages in two memory cgroups are never merged (skipped); twins within one cgroup are. */
TEST_F(memcgs, merge_keeps_memcgs_apart)
{
	const struct page_writes in_a = { CG_A, 2, { { 0, 5 }, { 2, 5 } } };
	const struct page_writes in_b = { CG_B, 1, { { 1, 5 } } };
	struct peer_page ra[PAGES], rb[PAGES];
	struct cowmem_merge_args m;
	long pages;

	if (!self->usable)
		SKIP(return, "no cgroup v2 memory controller in this kernel");
	ASSERT_EQ(0, peer_start(&self->a, self->fd, self->map, &in_a));
	ASSERT_EQ(0, peer_ask(&self->a, ra));
	ASSERT_EQ(0, peer_start(&self->b, self->fd, self->map, &in_b));
	ASSERT_EQ(0, peer_ask(&self->b, rb));
	ASSERT_NE(0, rb[1].info.frame_id);
	pages = cowmem_stat("pages");

	ASSERT_EQ(0, merge_pass(self->fd, self->map, -1, &m));
	EXPECT_EQ(1, m.merged); /* a's pages 0 and 2 */
	EXPECT_LE(1, m.skipped); /* b's page 1 */
	EXPECT_EQ(pages - 1, cowmem_stat("pages"));
	ASSERT_EQ(0, peer_ask(&self->a, ra));
	ASSERT_EQ(0, peer_ask(&self->b, rb));
	EXPECT_EQ(ra[0].info.frame_id, ra[2].info.frame_id);
	EXPECT_EQ(2, ra[0].info.refcount);
	EXPECT_NE(ra[0].info.frame_id, rb[1].info.frame_id);
	EXPECT_EQ(1, rb[1].info.refcount);
	EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, rb[1].info.state);
	EXPECT_EQ(pattern_sum(self->psz, 5), rb[1].sum);
	EXPECT_EQ(pattern_sum(self->psz, 5), ra[2].sum);
	/* b first: it inherited a's pipe, so a sees no end of it while b lives. */
	EXPECT_EQ(0, peer_end(&self->b));
	self->b.pid = -1;
	EXPECT_EQ(0, peer_end(&self->a));
	self->a.pid = -1;
}

TEST_HARNESS_MAIN
