// SPDX-License-Identifier: GPL-2.0
/*
 * Same-page merging: COWMEM_IOC_MERGE folds identical pages into one frame
 * (pages of zeros back into the zero page), within a budget, never across
 * memory cgroups, never losing a store. Each scenario checks contents, the
 * page-info ioctl and the debugfs counters.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define PAGES 16
#include "cowmem_fixture.h"

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

/* Twin pages of a parent and its child merge into one frame, refcount 2; a write splits them. */
TEST_F(region, merge_pages_of_parent_and_child)
{
	const struct page_writes mine = { NULL, 2, { { 0, 7 }, { 2, 8 } } };
	const struct page_writes theirs = { NULL, 2, { { 1, 7 }, { 3, 9 } } };
	struct peer_page rep[PAGES];
	struct cowmem_page_info info[PAGES];
	struct cowmem_merge_args a;
	long pages, merged, breaks;
	struct cowmem_peer q;

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
	EXPECT_EQ(0, cowmem_peer_end(&q));
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
	EXPECT_TRUE(cowmem_page_is(self->map, 2 * self->psz, 0));
	EXPECT_EQ(pattern_sum(self->psz, 3),
		  page_sum(self->map + 2 * self->psz, self->psz));

	allocs = cowmem_stat("page_allocs");
	poke(self->map + 1, 'y');
	EXPECT_EQ(pages - 1, cowmem_stat("pages"));
	EXPECT_EQ(allocs + 1, cowmem_stat("page_allocs"));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, 1, info));
	EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, info[0].state);
	EXPECT_EQ('y', peek(self->map + 1));
	EXPECT_TRUE(cowmem_page_is(self->map + 2, self->psz - 2, 0));
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

#define CG_A CGROOT "/cowmem_merge_a"
#define CG_B CGROOT "/cowmem_merge_b"

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
	struct cowmem_peer a, b;
};

FIXTURE_SETUP(memcgs)
{
	self->psz = cowmem_page_size();
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
		cowmem_peer_end(&self->b);
	if (self->a.pid > 0)
		cowmem_peer_end(&self->a);
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

/*
 * MERGE's tables are charged to the caller's cgroup: ENOMEM with 128 KiB
 * of room (less than a full budget's 144 KiB), run with 64 MiB.
 */
TEST_F(memcgs, merge_tables_are_charged_to_the_caller)
{
	int status;

	if (!self->usable)
		SKIP(return, "no cgroup v2 memory controller in this kernel");
	self->map[0] = 1;
	status = merge_in_memcg(self->fd, self->map, "64M");
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	status = merge_in_memcg(self->fd, self->map, "128K");
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
	EXPECT_EQ(0, cowmem_peer_end(&self->b));
	EXPECT_EQ(0, cowmem_peer_end(&self->a));
}

COWMEM_HARNESS_MAIN
