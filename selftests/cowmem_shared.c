// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem on a shared machine: what a user who may open /dev/cowmem (a
 * workshop's dev_mode=0666) can learn about, and do to, another user's
 * views. Each test has a root process and a child that drops to uid and
 * gid 65534 after fork(), so that the two share a region (as with an fd
 * passed over a socket) but not their credentials.
 */
#include <grp.h>
#include <stdint.h>
#include <sys/prctl.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define PAGES 16
#define NOBODY 65534
#define GUESSES 3

/* Becomes uid and gid 65534 with no supplementary groups; 0 on success. */
static int drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return -1;
	return 0;
}

/* Page @p holds "PIN=@pin" and zeros after it. */
static void write_pin(char *p, size_t psz, int pin)
{
	memset(p, 0, psz);
	snprintf(p, psz, "PIN=%d", pin);
}

struct merge_seen {
	__u64 scanned, merged, skipped, next;
};

/*
 * The child's part of merge_tells_nothing_of_another_users_page: for each
 * guess, writes it into its own page 1 and merges the whole region, after
 * root wrote its secret into root's page 0.
 */
static int merge_guesser(const struct cowmem_peer *p, int fd, char *map,
			 size_t psz)
{
	struct merge_seen seen[GUESSES];
	struct cowmem_merge_args a;
	char go;

	if (drop_to_nobody() || peer_send(p, "r", 1) || peer_recv(p, &go, 1))
		return 1;
	for (int g = 0; g < GUESSES; g++) {
		write_pin(map + psz, psz, 4710 + g);
		if (cowmem_merge(fd, map, -1, 0, COWMEM_MERGE_MAX_BUDGET, &a))
			return 2;
		seen[g] = (struct merge_seen){ a.scanned, a.merged, a.skipped,
					       a.next };
	}
	return peer_send(p, seen, sizeof(seen)) ? 3 : 0;
}

/* Merging guesses at root's private page confirms none of them. */
TEST(merge_tells_nothing_of_another_users_page)
{
	struct merge_seen seen[GUESSES];
	size_t psz = page_size();
	struct cowmem_peer p;
	int fd = cowmem_open();
	char *map, ready;
	pid_t pid;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, PAGES, 0);
	ASSERT_NE(NULL, map);
	pid = peer_fork(&p);
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(merge_guesser(&p, fd, map, psz));
	ASSERT_EQ(0, peer_recv(&p, &ready, 1));
	/* Written after the fork: root's page alone, never the child's. */
	write_pin(map, psz, 4711);
	ASSERT_EQ(0, peer_send(&p, "g", 1));
	ASSERT_EQ(0, peer_recv(&p, seen, sizeof(seen)));
	ASSERT_EQ(0, peer_end(&p));
	for (int g = 0; g < GUESSES; g++) {
		/* Only the child's own written page is looked at. */
		EXPECT_EQ(1, seen[g].scanned);
		EXPECT_EQ(0, seen[g].merged);
		EXPECT_EQ(0, seen[g].skipped);
		EXPECT_EQ(0, seen[g].next);
	}
	/* Root's secret is still root's, in its own frame. */
	EXPECT_EQ(0, strcmp(map, "PIN=4711"));
	munmap(map, PAGES * psz);
	close(fd);
}

/*
 * The child's part of page_info_does_not_see_another_users_write: PAGE_INFO
 * of page 0 before and after root writes it.
 */
static int info_watcher(const struct cowmem_peer *p, int fd, char *map)
{
	struct cowmem_page_info info[2];
	char go;

	if (drop_to_nobody() || cowmem_page_info(fd, map, 1, &info[0]) ||
	    peer_send(p, "r", 1) || peer_recv(p, &go, 1) ||
	    cowmem_page_info(fd, map, 1, &info[1]))
		return 1;
	return peer_send(p, info, sizeof(info)) ? 2 : 0;
}

/* PAGE_INFO neither counts root's view nor changes when root writes. */
TEST(page_info_does_not_see_another_users_write)
{
	struct cowmem_page_info mine, seen[2];
	size_t psz = page_size();
	struct cowmem_peer p;
	int fd = cowmem_open();
	char *map, ready;
	pid_t pid;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, PAGES, 0);
	ASSERT_NE(NULL, map);
	memset(map, 'A', psz);
	pid = peer_fork(&p);
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(info_watcher(&p, fd, map));
	ASSERT_EQ(0, peer_recv(&p, &ready, 1));
	/* Root may read the child's view: it counts both. */
	ASSERT_EQ(0, cowmem_page_info(fd, map, 1, &mine));
	EXPECT_EQ(2, mine.refcount);
	EXPECT_EQ(COWMEM_PAGE_SHARED, mine.state);
	memset(map, 'B', psz);
	ASSERT_EQ(0, peer_send(&p, "g", 1));
	ASSERT_EQ(0, peer_recv(&p, seen, sizeof(seen)));
	ASSERT_EQ(0, peer_end(&p));
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(1, seen[i].refcount);
		EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, seen[i].state);
	}
	EXPECT_EQ(seen[0].frame_id, seen[1].frame_id);
	munmap(map, PAGES * psz);
	close(fd);
}

/* Frame ids made one after another are in no order a caller can read. */
TEST(frame_ids_tell_no_order)
{
	struct cowmem_page_info info[PAGES];
	size_t psz = page_size();
	int fd = cowmem_open(), up = 0, down = 0;
	char *map;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, PAGES, 0);
	ASSERT_NE(NULL, map);
	fill(map, PAGES, psz, 'a');
	ASSERT_EQ(0, cowmem_page_info(fd, map, PAGES, info));
	for (int i = 1; i < PAGES; i++) {
		EXPECT_NE(0, info[i].frame_id);
		EXPECT_NE(info[i - 1].frame_id, info[i].frame_id);
		up += info[i].frame_id > info[i - 1].frame_id;
		down += info[i].frame_id < info[i - 1].frame_id;
	}
	/* A counter would go one way only; a keyed hash goes both ways. */
	EXPECT_LT(0, up);
	EXPECT_LT(0, down);
	munmap(map, PAGES * psz);
	close(fd);
}

#define VIEWS 9 /* the parent and eight children */

/* A merge's budget counts every view it visits, whether it wrote there or not. */
TEST(merge_budget_counts_every_view_visited)
{
	size_t psz = page_size();
	struct cowmem_merge_args a;
	pid_t kids[VIEWS - 1];
	int fd = cowmem_open(), hold[2];
	char *map, c;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, PAGES, 0);
	ASSERT_NE(NULL, map);
	/* Only the last page is written: the others are lookups, no more. */
	memset(map + (PAGES - 1) * psz, 'z', psz);
	ASSERT_EQ(0, pipe(hold));
	for (int i = 0; i < VIEWS - 1; i++) {
		kids[i] = fork();
		ASSERT_LE(0, kids[i]);
		if (!kids[i]) {
			close(hold[1]);
			_exit(read(hold[0], &c, 1) == 0 ? 0 : 1);
		}
	}
	close(hold[0]);
	ASSERT_EQ(0, cowmem_merge(fd, map, -1, 0, VIEWS, &a));
	/* One offset in every view is the whole budget. */
	EXPECT_EQ(1, a.next);
	EXPECT_EQ(0, a.scanned);
	ASSERT_EQ(0, cowmem_merge(fd, map, -1, PAGES - 1, VIEWS, &a));
	EXPECT_EQ(0, a.next);
	EXPECT_EQ(VIEWS, a.scanned);
	close(hold[1]);
	for (int i = 0; i < VIEWS - 1; i++)
		EXPECT_EQ(0, wait_status(kids[i]));
	munmap(map, PAGES * psz);
	close(fd);
}

TEST_HARNESS_MAIN
