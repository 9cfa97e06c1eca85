// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots: COWMEM_IOC_SNAPSHOT freezes a view without copying; its fd
 * maps the frozen contents. Each scenario checks contents, the page-info
 * ioctl and the debugfs counters. Rollback is in cowmem_rollback.c, merging
 * in cowmem_merge.c.
 */
#include "kselftest_harness.h"
#include "cowmem_test.h"

#define PAGES 16
#include "cowmem_fixture.h"

/* A snapshot's mapping keeps the contents of snapshot time while the source is rewritten. */
TEST_F(region, snapshot_shows_frozen_contents)
{
	char *frozen;
	int sfd;

	cowmem_fill(self->map, PAGES, self->psz, 'a');
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	frozen = map_snapshot(sfd, PAGES, PROT_READ);
	ASSERT_NE(NULL, frozen);
	EXPECT_TRUE(filled(frozen, PAGES, self->psz, 'a'));
	cowmem_fill(self->map, PAGES, self->psz, 'A');
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

	cowmem_fill(self->map, written, self->psz, 'a');
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

/* debugfs "snapshots": the sum of every live snapshot's changed pages. */
static long changed_pages(void)
{
	return cowmem_debugfs_value("snapshots", "changed_pages");
}

/* changed_pages counts each page the source rewrote since the snapshot, once, until it closes. */
TEST_F(region, changed_pages_counts_rewritten_pages)
{
	long snapshots, changed;
	int sfd;

	cowmem_fill(self->map, PAGES, self->psz, 'a');
	snapshots = cowmem_stat("snapshots");
	changed = changed_pages();
	ASSERT_LE(0, snapshots);
	ASSERT_LE(0, changed);
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	EXPECT_EQ(snapshots + 1, cowmem_stat("snapshots"));
	EXPECT_EQ(changed, changed_pages());
	/* Pages 1, 4, 7, 10, 13. */
	for (int i = 1; i < PAGES; i += 3)
		poke(self->map + i * self->psz, 'w');
	EXPECT_EQ(changed + 5, changed_pages());
	poke(self->map + 4 * self->psz + 100, 'x');
	poke(self->map + 7 * self->psz, 'y');
	EXPECT_EQ(changed + 5, changed_pages());
	/* Reads change nothing. */
	EXPECT_EQ('a', peek(self->map));
	EXPECT_EQ(changed + 5, changed_pages());
	close(sfd);
	EXPECT_EQ(snapshots, cowmem_stat("snapshots"));
	EXPECT_EQ(changed, changed_pages());
}

/* Writes to a snapshot's mapping break COW there only: source and snapshot keep their data. */
TEST_F(region, snapshot_mapping_writes_stay_there)
{
	long breaks;
	char *smap;
	int sfd;

	cowmem_fill(self->map, PAGES, self->psz, 'a');
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	cowmem_fill(self->map, PAGES, self->psz, 'A');
	smap = map_snapshot(sfd, PAGES, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, smap);
	breaks = cowmem_stat("cow_breaks");
	cowmem_fill(smap, PAGES, self->psz, 's');
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

	cowmem_fill(self->map, PAGES, self->psz, 'a');
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, PAGES, orig));
	s1 = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, s1);
	m1 = map_snapshot(s1, PAGES, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, m1);
	cowmem_fill(self->map, PAGES, self->psz, 'b');
	EXPECT_TRUE(filled(m1, PAGES, self->psz, 'a'));
	pages = cowmem_stat("pages");
	allocs = cowmem_stat("page_allocs");
	s2 = cowmem_snapshot(s1, m1 + 3 * self->psz, 0);
	ASSERT_LE(0, s2);
	EXPECT_EQ(pages, cowmem_stat("pages"));
	EXPECT_EQ(allocs, cowmem_stat("page_allocs"));
	cowmem_fill(m1, PAGES, self->psz, 'c');
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

/* Bad flags or addresses are EINVAL for snapshot and rollback; CLOEXEC sets FD_CLOEXEC. */
TEST_F(region, snapshot_and_rollback_bad_input)
{
	int fd2 = cowmem_open(), sfd, cfd;
	char stack;

	ASSERT_LE(0, fd2);
	cowmem_fill(self->map, PAGES, self->psz, 'a');
	sfd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, sfd);
	EXPECT_EQ(0, fcntl(sfd, F_GETFD) & FD_CLOEXEC);
	cfd = cowmem_snapshot(self->fd, self->map, COWMEM_SNAPSHOT_CLOEXEC);
	ASSERT_LE(0, cfd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(cfd, F_GETFD) & FD_CLOEXEC);
	cowmem_fill(self->map, PAGES, self->psz, 'b');

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

COWMEM_HARNESS_MAIN
