// SPDX-License-Identifier: GPL-2.0
/*
 * Rollback: COWMEM_IOC_ROLLBACK makes the caller's view its snapshot again,
 * at once, in the caller only. Each scenario checks contents, the page-info
 * ioctl and the debugfs counters.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define PAGES 16
#include "cowmem_fixture.h"

/* A rollback restores the snapshot in the caller at once; a child sharing pages keeps its own. */
TEST_F(region, rollback_in_caller_only)
{
	struct cowmem_page_info orig[PAGES], now[PAGES];
	struct peer_page theirs[PAGES];
	long rollbacks;
	char *page;
	struct cowmem_peer q;
	int sfd;

	cowmem_fill(self->map, PAGES, self->psz, 'a');
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, orig));
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	cowmem_fill(self->map, PAGES, self->psz, 'b');
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
	EXPECT_EQ(0, cowmem_peer_end(&q));
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'a'));
	close(sfd);
}

/* Write, roll back, write, roll back: each time the snapshot returns and the copies are freed. */
TEST_F(region, rollback_is_repeatable)
{
	struct cowmem_page_info info[PAGES];
	long pages, rollbacks;
	int sfd;

	cowmem_fill(self->map, PAGES - 1, self->psz, 'a');
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	pages = cowmem_stat("pages");
	rollbacks = cowmem_stat("rollbacks");
	ASSERT_LE(0, pages);
	for (int round = 0; round < 3; round++) {
		cowmem_fill(self->map, PAGES, self->psz,
			    (char)('A' + 20 * round));
		EXPECT_EQ(pages + PAGES, cowmem_stat("pages"));
		ASSERT_EQ(0, cowmem_rollback(self->fd, self->map, sfd, 0));
		EXPECT_EQ(rollbacks + round + 1, cowmem_stat("rollbacks"));
		EXPECT_TRUE(filled(self->map, PAGES - 1, self->psz, 'a'));
		EXPECT_TRUE(cowmem_page_is(self->map + (PAGES - 1) * self->psz,
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
	cowmem_fill(map2, PAGES, self->psz, 'x');
	sfd2 = cowmem_snapshot(fd2, map2, 0);
	ASSERT_LE(0, sfd2);
	cowmem_fill(self->map, PAGES, self->psz, 'a');
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
	cowmem_fill(self->map, PAGES, self->psz, 'a');
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

COWMEM_HARNESS_MAIN
