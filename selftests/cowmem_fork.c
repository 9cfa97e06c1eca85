// SPDX-License-Identifier: GPL-2.0
/*
 * fork() and copy-on-write: the seed scenario, the zero
 * page, many children, deep chains, racing threads, and reuse after exit
 * (isolation both ways is in cowmem_clone.c, with the other clones).
 */
#include <pthread.h>
#include <stdint.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define PAGES 64
#include "cowmem_fixture.h"

/*
 * The seed scenario: P fills 4 pages, forks Q, P writes page 3. Exactly one
 * COW break, Q still sees the old page 3 and P the new one.
 */
TEST_F(region, seed_only_written_page_is_copied)
{
	struct cowmem_peer q;
	long breaks, pages;
	pid_t pid;
	char go;

	cowmem_fill(self->map, 4, self->psz, '0');
	pid = cowmem_peer_fork(&q);
	ASSERT_LE(0, pid);
	if (!pid) {
		CHILD_CHECK(1, !cowmem_peer_send(&q, "r", 1));
		CHILD_CHECK(2, !cowmem_peer_recv(&q, &go, 1));
		for (int i = 0; i < 4; i++)
			CHILD_CHECK(3, cowmem_page_is(self->map + i * self->psz,
						      self->psz, '0' + i));
		_exit(0);
	}
	ASSERT_EQ(0, cowmem_peer_recv(&q, &go, 1));
	breaks = cowmem_stat("cow_breaks");
	pages = cowmem_stat("pages");
	ASSERT_LE(0, breaks);
	self->map[3 * self->psz] = 'P';
	EXPECT_EQ(breaks + 1, cowmem_stat("cow_breaks"));
	EXPECT_EQ(pages + 1, cowmem_stat("pages"));
	ASSERT_EQ(0, cowmem_peer_send(&q, "g", 1));
	ASSERT_EQ(0, cowmem_peer_end(&q));
	EXPECT_EQ('P', self->map[3 * self->psz]);
	EXPECT_TRUE(cowmem_page_is(self->map + 3 * self->psz + 1, self->psz - 1,
				   '3'));
}

/*
 * A child that reads what its parent wrote, counting cowmem's faults: the
 * parent's pages are filled, the child checks them and exits. Returns the
 * faults (-1 when the child saw wrong contents or the count is unreadable).
 */
static long faults_of_child_reading(char *map, size_t pages, size_t psz)
{
	long faults;
	int status;
	pid_t pid;

	cowmem_fill(map, pages, psz, 'a');
	faults = cowmem_stat("faults");
	pid = fork();
	if (!pid)
		_exit(filled(map, pages, psz, 'a') ? 0 : 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status || faults < 0)
		return -1;
	return cowmem_stat("faults") - faults;
}

/*
 * A fork that write-protects the parent's PTEs in place leaves the child
 * copies of them, read-only: it reads every page without a fault.
 */
TEST_F(region, child_reads_without_faults)
{
	long faults;

	if (wrprotect_get() != 'Y')
		SKIP(return, "forks zap here (wrprotect=N)");
	faults = faults_of_child_reading(self->map, self->pages, self->psz);
	EXPECT_EQ(0, faults);
}

/*
 * A fork that zaps the parent's PTEs leaves the child none: it faults,
 * once per block of pages (fault-around), not once per page.
 */
TEST_F(region, child_refaults_when_zapped)
{
	char was = wrprotect_get();
	long faults;

	ASSERT_NE(0, was);
	ASSERT_EQ(0, wrprotect_set('N'));
	faults = faults_of_child_reading(self->map, self->pages, self->psz);
	ASSERT_EQ(0, wrprotect_set(was));
	EXPECT_EQ(1, faults);
}

/* Reading pages nobody wrote maps the zero page and allocates nothing. */
TEST_F(region, zero_page_reads_allocate_nothing)
{
	long pages = cowmem_stat("pages");
	long zero = cowmem_stat("zero_maps");

	for (size_t i = 0; i < self->pages; i++)
		ASSERT_EQ(0, self->map[i * self->psz + 7]);
	EXPECT_EQ(pages, cowmem_stat("pages"));
	EXPECT_EQ(zero + (long)self->pages, cowmem_stat("zero_maps"));
	/* The first write to such a page allocates exactly one page. */
	self->map[5 * self->psz] = 1;
	EXPECT_EQ(pages + 1, cowmem_stat("pages"));
	EXPECT_EQ(0, self->map[4 * self->psz]);
}

/* 32 children each write a different page; nobody sees anyone else's. */
TEST_F(region, thirty_two_children_each_own_page)
{
	pid_t pids[32];

	cowmem_fill(self->map, 32, self->psz, 0);
	for (int c = 0; c < 32; c++) {
		pids[c] = fork();
		ASSERT_LE(0, pids[c]);
		if (!pids[c]) {
			size_t psz = self->psz;

			memset(self->map + c * psz, 'x', psz);
			usleep(20000);
			for (int i = 0; i < 32; i++) {
				char want = i == c ? 'x' : (char)i;

				CHILD_CHECK(1,
					    cowmem_page_is(self->map + i * psz,
							   psz, want));
			}
			_exit(0);
		}
	}
	for (int c = 0; c < 32; c++)
		EXPECT_EQ(0, cowmem_wait(pids[c]));
	for (int i = 0; i < 32; i++) {
		char *page = self->map + i * self->psz;

		EXPECT_TRUE(cowmem_page_is(page, self->psz, (char)i));
	}
}

/* Each level of an 8-deep fork chain writes its own byte; ancestors keep theirs. */
TEST_F(region, fork_chain_eight_deep)
{
	int depth;
	pid_t pid;

	memset(self->map, 0, self->psz);
	for (depth = 1; depth <= 8; depth++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid) {
			int status = cowmem_wait(pid);

			/* Every level below must still see the bytes above it. */
			for (int d = 1; d < depth; d++)
				if (self->map[d] != (char)d)
					status = 100 + d;
			if (self->map[depth] != 0)
				status = 99;
			if (depth == 1) {
				ASSERT_EQ(0, status);
				return;
			}
			_exit(status);
		}
		self->map[depth] = (char)depth;
	}
	_exit(0);
}

struct race {
	char *page;
	pthread_barrier_t *start;
	int nr;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(r->start);
	r->page[r->nr * 64] = (char)(r->nr + 1);
	return NULL;
}

/* Threads racing to write one shared page: one copy, and every store lands in it. */
TEST_F(region, threads_race_on_one_shared_page)
{
	pid_t pid;

	memset(self->map, 0, self->psz);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		enum { N = 8 };
		pthread_barrier_t start;
		pthread_t t[N];
		struct race r[N];
		long breaks = cowmem_stat("cow_breaks");

		pthread_barrier_init(&start, NULL, N);
		for (int i = 0; i < N; i++) {
			r[i] = (struct race){ self->map, &start, i };
			CHILD_CHECK(1, !pthread_create(&t[i], NULL, race_writer,
						       &r[i]));
		}
		for (int i = 0; i < N; i++)
			pthread_join(t[i], NULL);
		for (int i = 0; i < N; i++)
			CHILD_CHECK(2, self->map[i * 64] == (char)(i + 1));
		CHILD_CHECK(3, cowmem_stat("cow_breaks") == breaks + 1);
		_exit(0);
	}
	ASSERT_EQ(0, cowmem_wait(pid));
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(0, self->map[i * 64]);
}

/*
 * Three views share a page (a fork of a fork before anyone writes). The two
 * descendants exit; the parent's write then reuses the page: no copy.
 */
TEST_F(region, last_owner_reuses_after_children_exit)
{
	long breaks, reuses, pages;
	pid_t pid;

	memset(self->map, 'p', self->psz);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		pid_t grandchild = fork();

		if (grandchild == 0)
			_exit(self->map[0] == 'p' ? 0 : 1);
		_exit(cowmem_wait(grandchild));
	}
	ASSERT_EQ(0, cowmem_wait(pid));
	breaks = cowmem_stat("cow_breaks");
	reuses = cowmem_stat("reuses");
	pages = cowmem_stat("pages");
	self->map[0] = 'q';
	EXPECT_EQ(breaks, cowmem_stat("cow_breaks"));
	EXPECT_EQ(reuses + 1, cowmem_stat("reuses"));
	EXPECT_EQ(pages, cowmem_stat("pages"));
}

/*
 * The ancestors go first (they unmap, as exiting would); the surviving
 * grandchild's write is then a reuse, not a copy.
 */
TEST_F(region, grandchild_reuses_after_ancestors_unmap)
{
	int ready[2], unmapped[2];
	pid_t pid;
	char go;

	memset(self->map, 'p', self->psz);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(unmapped));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		pid_t grandchild = fork();

		if (grandchild == 0) {
			long breaks, reuses;

			close(unmapped[1]);
			CHILD_CHECK(1, read(ready[0], &go, 1) == 1);
			breaks = cowmem_stat("cow_breaks");
			reuses = cowmem_stat("reuses");
			self->map[0] = 'g';
			CHILD_CHECK(2, cowmem_stat("cow_breaks") == breaks);
			CHILD_CHECK(3, cowmem_stat("reuses") == reuses + 1);
			CHILD_CHECK(4, self->map[1] == 'p');
			_exit(0);
		}
		CHILD_CHECK(5, !munmap(self->map, self->pages * self->psz));
		CHILD_CHECK(6, write(unmapped[1], "u", 1) == 1);
		_exit(cowmem_wait(grandchild));
	}
	close(unmapped[1]);
	ASSERT_EQ(0, munmap(self->map, self->pages * self->psz));
	/* The middle child has unmapped too: the grandchild is the last. */
	ASSERT_EQ(1, read(unmapped[0], &go, 1));
	ASSERT_EQ(1, write(ready[1], "g", 1));
	ASSERT_EQ(0, cowmem_wait(pid));
}

/* The vfork() child stores @c at @p and exits; a function of its own for -Wclobbered. */
static pid_t vfork_and_store(char *p, char c)
{
	pid_t pid = vfork();

	if (!pid) {
		poke(p, c);
		_exit(0);
	}
	return pid;
}

/* vfork() shares the mm: the child's write is the parent's write, no copy. */
TEST_F(region, vfork_shares_without_copy)
{
	long breaks;
	pid_t pid;

	memset(self->map, 'v', self->psz);
	breaks = cowmem_stat("cow_breaks");
	pid = vfork_and_store(self->map, 'c');
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, cowmem_wait(pid));
	EXPECT_EQ('c', self->map[0]);
	EXPECT_EQ(breaks, cowmem_stat("cow_breaks"));
}

/* Both sides write the same shared pages at once: each keeps only its own data. */
TEST_F(region, both_sides_break_the_same_pages)
{
	pid_t pid;

	cowmem_fill(self->map, self->pages, self->psz, 0);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		for (int round = 0; round < 20; round++)
			for (size_t i = 0; i < self->pages; i++)
				self->map[i * self->psz + round] = 'c';
		for (size_t i = 0; i < self->pages; i++) {
			char *page = self->map + i * self->psz;

			CHILD_CHECK(1, page[0] == 'c' && page[19] == 'c');
		}
		_exit(0);
	}
	for (int round = 0; round < 20; round++)
		for (size_t i = 0; i < self->pages; i++)
			self->map[i * self->psz + round] = 'p';
	ASSERT_EQ(0, cowmem_wait(pid));
	for (size_t i = 0; i < self->pages; i++)
		ASSERT_EQ('p', self->map[i * self->psz + 19]);
}

COWMEM_HARNESS_MAIN
