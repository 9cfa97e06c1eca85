// SPDX-License-Identifier: GPL-2.0
/*
 * A view and its clone, however the clone is made: by fork(), by another
 * process's mmap() of the same fd (a cross-process clone of the origin), or
 * as a snapshot's mapping. Every test runs once per way (the fixture's
 * variants), and the fork and the mmap once more with the source's PTEs
 * zapped rather than write-protected; the clone lives in a reporter peer,
 * self->clone.
 */
#include "kselftest_harness.h"
#include "cowmem_test.h"

#define PAGES 16
#define REGION_SETUP(map, psz) cowmem_fill(map, PAGES, psz, 'a')
#define REGION_CLONES
#define REGION_ROUTES
#include "cowmem_fixture.h"

/*
 * The origin's writes after the clone are invisible to the clone: a
 * parent's after fork() to the child, and the origin's through PTEs it had
 * writable to a cross-process clone or a snapshot's mapping.
 */
TEST_F(region, origin_writes_stay_in_origin)
{
	struct peer_page theirs[PAGES];

	cowmem_fill(self->map, PAGES, self->psz, 'A');
	ASSERT_EQ(0, peer_ask(&self->clone, theirs));
	for (int i = 0; i < PAGES; i++) {
		EXPECT_EQ(byte_sum(self->psz, 'a' + (char)i), theirs[i].sum)
		TH_LOG("page %d", i);
	}
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'A'));
}

/*
 * mprotect() gives the origin's PTEs no write permission back on the frames
 * it shares: its writes after PROT_READ and back to PROT_READ|PROT_WRITE
 * stay its own. (A PTE write-protected in place but left dirty would be
 * made writable by the second mprotect().)
 */
TEST_F(region, mprotect_round_trip_keeps_clone_apart)
{
	struct peer_page theirs[PAGES];
	size_t len = PAGES * self->psz;

	ASSERT_EQ(0, mprotect(self->map, len, PROT_READ));
	ASSERT_EQ(0, mprotect(self->map, len, PROT_READ | PROT_WRITE));
	cowmem_fill(self->map, PAGES, self->psz, 'M');
	ASSERT_EQ(0, peer_ask(&self->clone, theirs));
	for (int i = 0; i < PAGES; i++) {
		EXPECT_EQ(byte_sum(self->psz, 'a' + (char)i), theirs[i].sum)
		TH_LOG("page %d", i);
	}
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'M'));
}

/* The clone's writes are invisible to the origin, and the clone sees its own. */
TEST_F(region, clone_writes_stay_in_clone)
{
	struct peer_page theirs[PAGES];

	for (int i = 0; i < PAGES; i++) {
		ASSERT_EQ(0,
			  peer_write(&self->clone, i, 'A' + (char)i, theirs));
		EXPECT_EQ(byte_sum(self->psz, 'A' + (char)i), theirs[i].sum);
	}
	for (int i = 0; i < PAGES; i++)
		EXPECT_EQ(byte_sum(self->psz, 'A' + (char)i), theirs[i].sum);
	EXPECT_TRUE(filled(self->map, PAGES, self->psz, 'a'));
}

/* The clone copies nothing: both hold the same frames until the origin's write copies one page. */
TEST_F(region, first_write_copies_one_page)
{
	struct cowmem_page_info mine[PAGES];
	struct peer_page theirs[PAGES];
	long breaks, pages;

	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, mine));
	ASSERT_EQ(0, peer_ask(&self->clone, theirs));
	for (int i = 0; i < PAGES; i++) {
		EXPECT_NE(0, mine[i].frame_id);
		EXPECT_EQ(mine[i].frame_id, theirs[i].info.frame_id);
		EXPECT_EQ(COWMEM_PAGE_SHARED, mine[i].state);
	}
	breaks = cowmem_stat("cow_breaks");
	pages = cowmem_stat("pages");
	ASSERT_LE(0, breaks);
	poke(self->map + 3 * self->psz, 'P');
	EXPECT_EQ(breaks + 1, cowmem_stat("cow_breaks"));
	EXPECT_EQ(pages + 1, cowmem_stat("pages"));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, mine));
	ASSERT_EQ(0, peer_ask(&self->clone, theirs));
	EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, mine[3].state);
	EXPECT_EQ(1, mine[3].refcount);
	EXPECT_NE(mine[3].frame_id, theirs[3].info.frame_id);
	EXPECT_EQ(byte_sum(self->psz, 'd'), theirs[3].sum);
	for (int i = 0; i < PAGES; i++)
		if (i != 3)
			EXPECT_EQ(mine[i].frame_id, theirs[i].info.frame_id);
}

/* Once the clone is gone, the origin's write reuses its page: no copy. */
TEST_F(region, origin_reuses_once_clone_is_gone)
{
	long breaks, reuses, pages;

	EXPECT_EQ(0, cowmem_peer_end(&self->clone));
	if (self->sfd >= 0) {
		close(self->sfd);
		self->sfd = -1;
	}
	breaks = cowmem_stat("cow_breaks");
	reuses = cowmem_stat("reuses");
	pages = cowmem_stat("pages");
	ASSERT_LE(0, reuses);
	poke(self->map + 5 * self->psz, 'q');
	EXPECT_EQ(breaks, cowmem_stat("cow_breaks"));
	EXPECT_EQ(reuses + 1, cowmem_stat("reuses"));
	EXPECT_EQ(pages, cowmem_stat("pages"));
	EXPECT_EQ('q', peek(self->map + 5 * self->psz));
	EXPECT_TRUE(cowmem_page_is(self->map + 5 * self->psz + 1, self->psz - 1,
				   'f'));
}

COWMEM_HARNESS_MAIN
