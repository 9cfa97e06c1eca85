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

/* A pipe each way between the root parent and its unprivileged child. */
struct peer {
	int to_child[2];
	int to_parent[2];
};

static int peer_open(struct peer *p)
{
	return pipe(p->to_child) || pipe(p->to_parent) ? -1 : 0;
}

/* Sends @len bytes of @buf to the other side; 0 on success. */
static int peer_send(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

static int peer_recv(int fd, void *buf, size_t len)
{
	return read(fd, buf, len) == (ssize_t)len ? 0 : -1;
}

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
static int merge_guesser(struct peer *p, int fd, char *map, size_t psz)
{
	struct merge_seen seen[GUESSES];
	struct cowmem_merge_args a;
	char go;

	if (drop_to_nobody() || peer_send(p->to_parent[1], "r", 1) ||
	    peer_recv(p->to_child[0], &go, 1))
		return 1;
	for (int g = 0; g < GUESSES; g++) {
		write_pin(map + psz, psz, 4710 + g);
		if (cowmem_merge(fd, map, -1, 0, COWMEM_MERGE_MAX_BUDGET, &a))
			return 2;
		seen[g] = (struct merge_seen){ a.scanned, a.merged, a.skipped,
					       a.next };
	}
	return peer_send(p->to_parent[1], seen, sizeof(seen)) ? 3 : 0;
}

/* Merging guesses at root's private page confirms none of them. */
TEST(merge_tells_nothing_of_another_users_page)
{
	struct merge_seen seen[GUESSES];
	size_t psz = page_size();
	struct peer p;
	int fd = cowmem_open();
	char *map, ready;
	pid_t pid;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, PAGES, 0);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, peer_open(&p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(merge_guesser(&p, fd, map, psz));
	ASSERT_EQ(0, peer_recv(p.to_parent[0], &ready, 1));
	/* Written after the fork: root's page alone, never the child's. */
	write_pin(map, psz, 4711);
	ASSERT_EQ(0, peer_send(p.to_child[1], "g", 1));
	ASSERT_EQ(0, peer_recv(p.to_parent[0], seen, sizeof(seen)));
	ASSERT_EQ(0, wait_status(pid));
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
static int info_watcher(struct peer *p, int fd, char *map)
{
	struct cowmem_page_info info[2];
	char go;

	if (drop_to_nobody() || cowmem_page_info(fd, map, 1, &info[0]) ||
	    peer_send(p->to_parent[1], "r", 1) ||
	    peer_recv(p->to_child[0], &go, 1) ||
	    cowmem_page_info(fd, map, 1, &info[1]))
		return 1;
	return peer_send(p->to_parent[1], info, sizeof(info)) ? 2 : 0;
}

/* PAGE_INFO neither counts root's view nor changes when root writes. */
TEST(page_info_does_not_see_another_users_write)
{
	struct cowmem_page_info mine, seen[2];
	size_t psz = page_size();
	struct peer p;
	int fd = cowmem_open();
	char *map, ready;
	pid_t pid;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, PAGES, 0);
	ASSERT_NE(NULL, map);
	memset(map, 'A', psz);
	ASSERT_EQ(0, peer_open(&p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(info_watcher(&p, fd, map));
	ASSERT_EQ(0, peer_recv(p.to_parent[0], &ready, 1));
	/* Root may read the child's view: it counts both. */
	ASSERT_EQ(0, cowmem_page_info(fd, map, 1, &mine));
	EXPECT_EQ(2, mine.refcount);
	EXPECT_EQ(COWMEM_PAGE_SHARED, mine.state);
	memset(map, 'B', psz);
	ASSERT_EQ(0, peer_send(p.to_child[1], "g", 1));
	ASSERT_EQ(0, peer_recv(p.to_parent[0], seen, sizeof(seen)));
	ASSERT_EQ(0, wait_status(pid));
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

#define LONG_PAGES 6000 /* more than one stretch of 4096 visits */

/* A merge drops its locks between stretches: pages merge within one only. */
TEST(merge_works_in_stretches)
{
	struct cowmem_page_info info[2];
	size_t psz = page_size();
	struct cowmem_merge_args a;
	int fd = cowmem_open();
	char *map;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, LONG_PAGES, 0);
	ASSERT_NE(NULL, map);
	for (int i = 0; i < 2; i++) {
		memset(map + i * psz, 't', psz);
		memset(map + (5000 + i) * psz, 't', psz);
	}
	ASSERT_EQ(0, cowmem_merge(fd, map, -1, 0, COWMEM_MERGE_MAX_BUDGET, &a));
	EXPECT_EQ(0, a.next);
	EXPECT_EQ(4, a.scanned);
	/* 1 into 0, 5001 into 5000: the twins 4096 visits apart stay apart. */
	EXPECT_EQ(2, a.merged);
	ASSERT_EQ(0, cowmem_page_info(fd, map, 1, &info[0]));
	ASSERT_EQ(0, cowmem_page_info(fd, map + 5000 * psz, 1, &info[1]));
	EXPECT_NE(info[0].frame_id, info[1].frame_id);
	EXPECT_EQ(2, info[0].refcount);
	EXPECT_EQ(2, info[1].refcount);
	munmap(map, LONG_PAGES * psz);
	close(fd);
}

#define PARAMS "/sys/module/cowmem/parameters/"

/* Sets module parameter @name to @value; returns its old value, or -1. */
static long set_param(const char *name, long value)
{
	char path[128], buf[32];
	long old = -1;
	FILE *f;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	old = strtol(buf, NULL, 10);
	snprintf(buf, sizeof(buf), "%ld", value);
	return cg_write(path, buf) ? -1 : old;
}

/*
 * The unprivileged child of limits_refuse_cleanly: under limits of two
 * regions, one view and one snapshot, the next of each gets EDQUOT.
 */
static int limited_user(void)
{
	int fd[3], sfd;
	char *map;

	if (drop_to_nobody())
		return 1;
	fd[0] = cowmem_open();
	fd[1] = cowmem_open();
	fd[2] = cowmem_open();
	if (fd[0] < 0 || fd[1] < 0 || fd[2] != -1 || errno != EDQUOT)
		return 2;
	map = cowmem_map(fd[0], 1, 0);
	if (!map || cowmem_map(fd[1], 1, 0) || errno != EDQUOT)
		return 3;
	sfd = cowmem_snapshot(fd[0], map, 0);
	if (sfd < 0 || cowmem_snapshot(fd[0], map, 0) != -1 || errno != EDQUOT)
		return 4;
	/* What was given back may be made again. */
	close(sfd);
	sfd = cowmem_snapshot(fd[0], map, 0);
	if (sfd < 0)
		return 5;
	return 0;
}

/* Each per-user limit refuses the one over it with EDQUOT, and nothing else. */
TEST(limits_refuse_cleanly)
{
	long regions = set_param("max_regions_per_user", 2);
	long views = set_param("max_views_per_user", 1);
	long snapshots = set_param("max_snapshots_per_user", 1);
	struct stat node;
	pid_t pid;

	ASSERT_LE(0, regions);
	ASSERT_LE(0, views);
	ASSERT_LE(0, snapshots);
	/* As a workshop loads it (dev_mode=0666), for the child's opens. */
	ASSERT_EQ(0, stat(COWMEM_DEV, &node));
	ASSERT_EQ(0, chmod(COWMEM_DEV, 0666));
	pid = fork();
	if (!pid)
		_exit(limited_user());
	EXPECT_EQ(0, wait_status(pid));
	EXPECT_EQ(0, chmod(COWMEM_DEV, node.st_mode & 07777));
	EXPECT_EQ(2, set_param("max_regions_per_user", regions));
	EXPECT_EQ(1, set_param("max_views_per_user", views));
	EXPECT_EQ(1, set_param("max_snapshots_per_user", snapshots));
}

TEST_HARNESS_MAIN
