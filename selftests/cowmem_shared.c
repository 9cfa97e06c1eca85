// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem on a shared machine: what a user who may open /dev/cowmem (a
 * workshop's dev_mode=0666) can learn about, and do to, another user's
 * views. Each test has a root process and a child that drops to uid and
 * gid 65534 after fork(), so that the two share a region (as with an fd
 * passed over a socket) but not their credentials.
 */
#include <grp.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/klog.h>
#include <sys/resource.h>
#include <time.h>

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

	if (drop_to_nobody() || cowmem_peer_send(p, "r", 1) ||
	    cowmem_peer_recv(p, &go, 1))
		return 1;
	for (int g = 0; g < GUESSES; g++) {
		write_pin(map + psz, psz, 4710 + g);
		if (cowmem_merge(fd, map, -1, 0, COWMEM_MERGE_MAX_BUDGET, &a))
			return 2;
		seen[g] = (struct merge_seen){ a.scanned, a.merged, a.skipped,
					       a.next };
	}
	return cowmem_peer_send(p, seen, sizeof(seen)) ? 3 : 0;
}

/* Merging guesses at root's private page confirms none of them. */
TEST(merge_tells_nothing_of_another_users_page)
{
	struct merge_seen seen[GUESSES];
	size_t psz = cowmem_page_size();
	struct cowmem_peer p;
	int fd = cowmem_open();
	char *map, ready;
	pid_t pid;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, PAGES, 0);
	ASSERT_NE(NULL, map);
	pid = cowmem_peer_fork(&p);
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(merge_guesser(&p, fd, map, psz));
	ASSERT_EQ(0, cowmem_peer_recv(&p, &ready, 1));
	/* Written after the fork: root's page alone, never the child's. */
	write_pin(map, psz, 4711);
	ASSERT_EQ(0, cowmem_peer_send(&p, "g", 1));
	ASSERT_EQ(0, cowmem_peer_recv(&p, seen, sizeof(seen)));
	ASSERT_EQ(0, cowmem_peer_end(&p));
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
	    cowmem_peer_send(p, "r", 1) || cowmem_peer_recv(p, &go, 1) ||
	    cowmem_page_info(fd, map, 1, &info[1]))
		return 1;
	return cowmem_peer_send(p, info, sizeof(info)) ? 2 : 0;
}

/* PAGE_INFO neither counts root's view nor changes when root writes. */
TEST(page_info_does_not_see_another_users_write)
{
	struct cowmem_page_info mine, seen[2];
	size_t psz = cowmem_page_size();
	struct cowmem_peer p;
	int fd = cowmem_open();
	char *map, ready;
	pid_t pid;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, PAGES, 0);
	ASSERT_NE(NULL, map);
	memset(map, 'A', psz);
	pid = cowmem_peer_fork(&p);
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(info_watcher(&p, fd, map));
	ASSERT_EQ(0, cowmem_peer_recv(&p, &ready, 1));
	/* Root may read the child's view: it counts both. */
	ASSERT_EQ(0, cowmem_page_info(fd, map, 1, &mine));
	EXPECT_EQ(2, mine.refcount);
	EXPECT_EQ(COWMEM_PAGE_SHARED, mine.state);
	memset(map, 'B', psz);
	ASSERT_EQ(0, cowmem_peer_send(&p, "g", 1));
	ASSERT_EQ(0, cowmem_peer_recv(&p, seen, sizeof(seen)));
	ASSERT_EQ(0, cowmem_peer_end(&p));
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(1, seen[i].refcount);
		EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, seen[i].state);
		EXPECT_NE(0, seen[i].frame_id);
	}
	/* Without CAP_SYS_ADMIN, ids compare within one call only. */
	EXPECT_NE(seen[0].frame_id, seen[1].frame_id);
	munmap(map, PAGES * psz);
	close(fd);
}

#define WRITTEN_BY_ROOT ((1u << 1) | (1u << 3) | (1u << 7))

/*
 * The child's part of page_info_does_not_tell_which_pages_another_user_wrote:
 * PAGE_INFO of its 8 pages, root writes 3 of them, the child writes all 8
 * (reusing the frames root left, copying the others), PAGE_INFO again.
 * Sends root the mask of the pages whose frame id stayed the same; returns
 * 0, the failed step, or 255 when two pages read differently.
 */
static int id_watcher(const struct cowmem_peer *p, int fd, char *map,
		      size_t psz)
{
	struct cowmem_page_info before[8], after[8];
	unsigned int same = 0;
	char go;

	if (drop_to_nobody() || cowmem_page_info(fd, map, 8, before) ||
	    cowmem_peer_send(p, "r", 1) || cowmem_peer_recv(p, &go, 1))
		return 1;
	for (int i = 0; i < 8; i++)
		poke(map + i * psz, 'c');
	if (cowmem_page_info(fd, map, 8, after))
		return 2;
	for (int i = 0; i < 8; i++) {
		if (after[i].refcount != after[0].refcount ||
		    after[i].state != after[0].state)
			return 255;
		same |= (before[i].frame_id == after[i].frame_id) << i;
	}
	return cowmem_peer_send(p, &same, sizeof(same)) ? 3 : 0;
}

/*
 * A user who writes its pages after root wrote some of them cannot tell
 * which from PAGE_INFO: no frame id survives its write, whether the write
 * copied the page or reused the frame root had left to it alone.
 */
TEST(page_info_does_not_tell_which_pages_another_user_wrote)
{
	size_t psz = cowmem_page_size();
	struct cowmem_peer p;
	unsigned int same = ~0u;
	int fd = cowmem_open();
	char *map, ready;
	pid_t pid;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, 8, 0);
	ASSERT_NE(NULL, map);
	cowmem_fill(map, 8, psz, 'a');
	pid = cowmem_peer_fork(&p);
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(id_watcher(&p, fd, map, psz));
	ASSERT_EQ(0, cowmem_peer_recv(&p, &ready, 1));
	for (int i = 0; i < 8; i++)
		if (WRITTEN_BY_ROOT & (1u << i))
			poke(map + i * psz, 'r');
	ASSERT_EQ(0, cowmem_peer_send(&p, "g", 1));
	ASSERT_EQ(0, cowmem_peer_recv(&p, &same, sizeof(same)));
	ASSERT_EQ(0, cowmem_peer_end(&p));
	EXPECT_EQ(0, same);
	/* The write the child could not see: root's own pages stay root's. */
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(WRITTEN_BY_ROOT & (1u << i) ? 'r' : 'a' + i,
			  peek(map + i * psz));
	munmap(map, 8 * psz);
	close(fd);
}

/* Frame ids made one after another are in no order a caller can read. */
TEST(frame_ids_tell_no_order)
{
	struct cowmem_page_info info[PAGES];
	size_t psz = cowmem_page_size();
	int fd = cowmem_open(), up = 0, down = 0;
	char *map;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, PAGES, 0);
	ASSERT_NE(NULL, map);
	cowmem_fill(map, PAGES, psz, 'a');
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
	size_t psz = cowmem_page_size();
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
		EXPECT_EQ(0, cowmem_wait(kids[i]));
	munmap(map, PAGES * psz);
	close(fd);
}

#define LONG_PAGES 6000 /* more than one stretch of 4096 visits */

/* A merge drops its locks between stretches: pages merge within one only. */
TEST(merge_works_in_stretches)
{
	struct cowmem_page_info info[2];
	size_t psz = cowmem_page_size();
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

#define VICTIM_PAGES 4096 /* 16 MiB, mapped, written and unmapped per round */
#define VICTIM_ROUNDS 4
/*
 * Each attacker's own region, 64 MiB, three rounds; on the debug kernel,
 * whose KASAN makes PAGE_INFO's census ~20x dearer, 32 MiB and one round:
 * still two whole stretches per merge.
 */
#define ATTACK_SLOW (!!getenv("COWMEM_SLOW_KERNEL"))
#define ATTACK_PAGES (ATTACK_SLOW ? 8192 : 16384)
#define ATTACK_ROUNDS (ATTACK_SLOW ? 1 : 3)
#define ATTACKERS 2

/* Root's ordinary work in a region of its own: map, write, unmap; 0 when done. */
static int victim_run(void)
{
	size_t psz = cowmem_page_size();

	for (int r = 0; r < VICTIM_ROUNDS; r++) {
		int fd = cowmem_open();
		char *map = fd < 0 ? NULL : cowmem_map(fd, VICTIM_PAGES, 0);

		if (!map)
			return -1;
		for (size_t i = 0; i < VICTIM_PAGES; i++)
			poke(map + i * psz, 1);
		munmap(map, VICTIM_PAGES * psz);
		close(fd);
	}
	return 0;
}

/* What each attacker reports: the rounds it finished, and what its merges saw. */
struct attack_board {
	int rounds[ATTACKERS];
	__u64 scanned[ATTACKERS];
};

/* One PAGE_INFO pass and one MERGE over the attacker's whole region. */
static int attack_once(int fd, char *map, size_t psz, __u64 *scanned)
{
	static struct cowmem_page_info info[1024];
	struct cowmem_merge_args a;

	for (size_t i = 0; i < ATTACK_PAGES; i += 1024)
		if (cowmem_page_info(fd, map + i * psz, 1024, info))
			return -1;
	if (cowmem_merge(fd, map, -1, 0, COWMEM_MERGE_MAX_BUDGET, &a))
		return -1;
	*scanned += a.scanned;
	return 0;
}

/*
 * Attacker @me: uid 65534, its own written 64 MiB region (every page
 * different, so that MERGE visits each page and merges none), then, once
 * told to go, ATTACK_ROUNDS rounds of PAGE_INFO and MERGE over all of it.
 */
static int attacker(int me, struct attack_board *b, int ready, int go)
{
	size_t psz = cowmem_page_size();
	char *map, c;
	int fd;

	if (drop_to_nobody())
		return 1;
	fd = cowmem_open();
	map = fd < 0 ? NULL : cowmem_map(fd, ATTACK_PAGES, 0);
	if (!map)
		return 2;
	for (size_t i = 0; i < ATTACK_PAGES; i++)
		snprintf(map + i * psz, psz, "page %zu", i);
	/* Ready; then a 'g' to go, or the end of the pipe to leave. */
	if (write(ready, "r", 1) != 1)
		return 3;
	if (read(go, &c, 1) != 1)
		return 0;
	for (int r = 0; r < ATTACK_ROUNDS; r++) {
		if (attack_once(fd, map, psz, &b->scanned[me]))
			return 4;
		__atomic_store_n(&b->rounds[me], r + 1, __ATOMIC_SEQ_CST);
	}
	return 0;
}

/* ATTACKERS unprivileged processes, each with its region written, waiting for go. */
FIXTURE(attackers)
{
	struct attack_board *board;
	pid_t pid[ATTACKERS];
	int go[2]; /* a 'g' per attacker sets them on */
	mode_t dev_mode;
};

FIXTURE_SETUP(attackers)
{
	struct stat node;
	int ready[2];
	char c;

	self->board = mmap(NULL, sizeof(*self->board), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->board);
	/* They open the node themselves, as on a workshop machine. */
	ASSERT_EQ(0, stat(COWMEM_DEV, &node));
	self->dev_mode = node.st_mode & 07777;
	ASSERT_EQ(0, chmod(COWMEM_DEV, 0666));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(self->go));
	for (int i = 0; i < ATTACKERS; i++) {
		self->pid[i] = fork();
		ASSERT_LE(0, self->pid[i]);
		if (!self->pid[i]) {
			close(ready[0]);
			close(self->go[1]);
			_exit(attacker(i, self->board, ready[1], self->go[0]));
		}
	}
	close(ready[1]);
	close(self->go[0]);
	/* A byte from each; an attacker that died ends the pipe instead. */
	for (int i = 0; i < ATTACKERS; i++)
		ASSERT_EQ(1, read(ready[0], &c, 1));
	close(ready[0]);
}

FIXTURE_TEARDOWN(attackers)
{
	/* Those still waiting see the pipe end and leave. */
	close(self->go[1]);
	for (int i = 0; i < ATTACKERS; i++)
		if (self->pid[i] > 0)
			EXPECT_EQ(0, cowmem_wait(self->pid[i]));
	EXPECT_EQ(0, chmod(COWMEM_DEV, self->dev_mode));
	munmap(self->board, sizeof(*self->board));
}

/*
 * Unprivileged PAGE_INFO and MERGE loops over 64 MiB regions, beside root's
 * work in a region of its own: each MERGE holds its locks for at most
 * COWMEM_HOLD_MAX_WORK page visits at a time (debugfs max_hold_work, the
 * most any hold did since load), and root's work completes. A count, not a
 * time: how much the loops slow root down is a row of make bench
 * (tools/cowvictim), since a ratio of times on a busy host is noise.
 */
TEST_F_TIMEOUT(attackers, page_info_and_merge_loops_hold_locks_for_bounded_work,
	       300)
{
	long most;

	for (int i = 0; i < ATTACKERS; i++)
		ASSERT_EQ(1, write(self->go[1], "g", 1));
	ASSERT_EQ(0, victim_run());
	for (int i = 0; i < ATTACKERS; i++) {
		int status = cowmem_wait(self->pid[i]);

		self->pid[i] = 0;
		ASSERT_EQ(0, status);
		EXPECT_EQ(ATTACK_ROUNDS, self->board->rounds[i]);
		/* Every page of the region, in every round. */
		EXPECT_EQ((__u64)ATTACK_ROUNDS * ATTACK_PAGES,
			  self->board->scanned[i]);
	}
	most = cowmem_stat("max_hold_work");
	TH_LOG("the most work one hold did: %ld units (bound %d)", most,
	       COWMEM_HOLD_MAX_WORK);
	EXPECT_LE(most, COWMEM_HOLD_MAX_WORK);
	/* A merge of 8,192 pages or more fills whole stretches: the count counts. */
	EXPECT_EQ(COWMEM_HOLD_MAX_WORK, most);
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
	EXPECT_EQ(0, cowmem_wait(pid));
	EXPECT_EQ(0, chmod(COWMEM_DEV, node.st_mode & 07777));
	EXPECT_EQ(2, set_param("max_regions_per_user", regions));
	EXPECT_EQ(1, set_param("max_views_per_user", views));
	EXPECT_EQ(1, set_param("max_snapshots_per_user", snapshots));
}

/*
 * The unprivileged child of refused_mmap_leaves_the_region_unsized: at its
 * one view, a 1-page mmap() of a second region gets EDQUOT; once the first
 * view is gone, a 16-page mmap() of that second region works.
 */
static int refused_user(void)
{
	size_t psz = cowmem_page_size();
	int fd[2];
	char *map;

	if (drop_to_nobody())
		return 1;
	fd[0] = cowmem_open();
	fd[1] = cowmem_open();
	if (fd[0] < 0 || fd[1] < 0)
		return 2;
	map = cowmem_map(fd[0], 1, 0);
	if (!map || cowmem_map(fd[1], 1, 0) || errno != EDQUOT)
		return 3;
	munmap(map, psz);
	map = cowmem_map(fd[1], 16, 0);
	if (!map)
		return 4;
	poke(map + 15 * psz, 'x');
	return peek(map + 15 * psz) == 'x' ? 0 : 5;
}

/* An mmap() refused with EDQUOT leaves the region's size unset: a later, larger one works. */
TEST(refused_mmap_leaves_the_region_unsized)
{
	long views = set_param("max_views_per_user", 1);
	struct stat node;
	pid_t pid;

	ASSERT_LE(0, views);
	ASSERT_EQ(0, stat(COWMEM_DEV, &node));
	ASSERT_EQ(0, chmod(COWMEM_DEV, 0666));
	pid = fork();
	if (!pid)
		_exit(refused_user());
	EXPECT_EQ(0, cowmem_wait(pid));
	EXPECT_EQ(0, chmod(COWMEM_DEV, node.st_mode & 07777));
	EXPECT_EQ(1, set_param("max_views_per_user", views));
}

/* Lets this process hold @n more file descriptors (root may raise both limits). */
static int allow_fds(rlim_t n)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r))
		return -1;
	if (r.rlim_cur >= n + 64)
		return 0;
	r.rlim_cur = n + 64;
	if (r.rlim_max < r.rlim_cur)
		r.rlim_max = r.rlim_cur;
	return setrlimit(RLIMIT_NOFILE, &r);
}

/* /proc/lockdep_stats' debug_locks: 1 while lockdep runs, -1 without it. */
static long lockdep_on_now(void)
{
	FILE *f = fopen("/proc/lockdep_stats", "r");
	char line[128], key[64];
	long on = -1, v;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " %63[^:]: %ld", key, &v) == 2 &&
		    !strcmp(key, "debug_locks"))
			on = v;
	fclose(f);
	return on;
}

#define FLOOD_CG CGROOT "/cowmem_shared"
#define FLOOD_LIMIT (64L << 20)
#define FLOOD_REGIONS 64
#define FLOOD_THREADS 64 /* one a region: each allocates at once */
#define FLOOD_SECONDS 2

/* What the flood's threads did, in memory the parent reads after it. */
struct flood_tally {
	long calls, nomem, other;
};

struct flood {
	int fd;
	char *map;
	int *stop;
	struct flood_tally *tally;
};

/* One attacker thread: MERGE with the largest budget, until told to stop. */
static void *flood_loop(void *arg)
{
	struct flood *f = arg;
	long *count;

	while (!__atomic_load_n(f->stop, __ATOMIC_RELAXED)) {
		if (!cowmem_merge(f->fd, f->map, -1, 0, COWMEM_MERGE_MAX_BUDGET,
				  NULL))
			count = &f->tally->calls;
		else if (errno == ENOMEM)
			count = &f->tally->nomem;
		else
			count = &f->tally->other;
		__atomic_add_fetch(count, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * The child of merge_flood_stays_in_its_cgroup: in the 64 MiB group, as
 * uid 65534, FLOOD_THREADS threads loop MERGE over FLOOD_REGIONS regions
 * of their own, counting in @tally. The group's own OOM killer may end it
 * (it is that group's memory that runs out).
 */
static int merge_flood(struct flood_tally *tally)
{
	static struct flood f[FLOOD_THREADS];
	pthread_t t[FLOOD_THREADS];
	int stop = 0, started = 0;

	if (cg_write(FLOOD_CG "/cgroup.procs", "0") || drop_to_nobody())
		return 1;
	for (int r = 0; r < FLOOD_REGIONS; r++) {
		f[r].fd = cowmem_open();
		f[r].map = f[r].fd < 0 ? NULL : cowmem_map(f[r].fd, 16, 0);
		if (!f[r].map)
			return 2;
		cowmem_fill(f[r].map, 16, cowmem_page_size(), 'a');
	}
	for (int i = 0; i < FLOOD_THREADS; i++) {
		f[i] = f[i % FLOOD_REGIONS];
		f[i].stop = &stop;
		f[i].tally = tally;
		if (pthread_create(&t[i], NULL, flood_loop, &f[i]))
			break;
		started++;
	}
	sleep(FLOOD_SECONDS);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	return 0;
}

/* Unreclaimable kernel memory, in bytes: slab and vmalloc, from /proc/meminfo. */
static long unreclaimable(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128], key[64];
	long kb, sum = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63[^:]: %ld", key, &kb) == 2 &&
		    (!strcmp(key, "SUnreclaim") || !strcmp(key, "VmallocUsed")))
			sum += kb;
	fclose(f);
	return sum * 1024;
}

/*
 * A 64 MiB memory cgroup for an unprivileged flood, the node open to it,
 * and a tally the flood's threads count in.
 */
FIXTURE(flood)
{
	struct flood_tally *tally;
	mode_t dev_mode;
	int have_cg;
};

FIXTURE_SETUP(flood)
{
	struct stat node;
	char limit[32];

	self->tally = mmap(NULL, sizeof(*self->tally), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->tally);
	ASSERT_EQ(0, stat(COWMEM_DEV, &node));
	self->dev_mode = node.st_mode & 07777;
	ASSERT_EQ(0, chmod(COWMEM_DEV, 0666));
	self->have_cg = cg_enable_memory();
	if (!self->have_cg)
		return;
	rmdir(FLOOD_CG);
	ASSERT_EQ(0, mkdir(FLOOD_CG, 0755));
	snprintf(limit, sizeof(limit), "%ld", FLOOD_LIMIT);
	ASSERT_EQ(0, cg_write(FLOOD_CG "/memory.max", limit));
}

FIXTURE_TEARDOWN(flood)
{
	if (self->have_cg)
		EXPECT_EQ(0, rmdir(FLOOD_CG));
	EXPECT_EQ(0, chmod(COWMEM_DEV, self->dev_mode));
	munmap(self->tally, sizeof(*self->tally));
}

/*
 * Threads of another user looping MERGE in a 64 MiB memory cgroup grow the
 * machine's unreclaimable kernel memory by no more than that limit: what
 * MERGE allocates is charged to them.
 */
TEST_F_TIMEOUT(flood, merge_flood_stays_in_its_cgroup, 180)
{
	struct flood_tally *tally = self->tally;
	long base, peak, now;
	int status;
	pid_t pid, done;

	if (!self->have_cg)
		SKIP(return, "no cgroup v2 memory controller in this kernel");
	base = unreclaimable();
	peak = base;
	ASSERT_LT(0, base);
	pid = fork();
	if (!pid)
		_exit(merge_flood(tally));
	while ((done = waitpid(pid, &status, WNOHANG)) == 0) {
		now = unreclaimable();
		peak = now > peak ? now : peak;
		usleep(10000);
	}
	ASSERT_EQ(pid, done);
	/* It ran to the end, or its group's OOM killer ended it. */
	EXPECT_TRUE((WIFEXITED(status) && !WEXITSTATUS(status)) ||
		    (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
	TH_LOG("%ld merges, %ld ENOMEM; unreclaimable memory grew by %ld KiB at most",
	       tally->calls, tally->nomem, (peak - base) >> 10);
	EXPECT_LT(0, tally->calls);
	EXPECT_EQ(0, tally->other);
	EXPECT_GE(FLOOD_LIMIT, peak - base);
}

#define CHECK_REGIONS 2100

/* 2,100 regions, each mapped and written by this process: a view each. */
FIXTURE(many_regions)
{
	int fd[CHECK_REGIONS];
	char *map[CHECK_REGIONS];
	int nr;
};

FIXTURE_SETUP(many_regions)
{
	ASSERT_EQ(0, allow_fds(CHECK_REGIONS));
	for (; self->nr < CHECK_REGIONS; self->nr++) {
		int i = self->nr;

		self->fd[i] = cowmem_open();
		ASSERT_LE(0, self->fd[i]);
		self->map[i] = cowmem_map(self->fd[i], 1, 0);
		ASSERT_NE(NULL, self->map[i]);
		poke(self->map[i], i);
	}
}

FIXTURE_TEARDOWN(many_regions)
{
	for (int i = 0; i < self->nr; i++) {
		if (self->map[i])
			munmap(self->map[i], cowmem_page_size());
		close(self->fd[i]);
	}
}

/*
 * Root's debugfs "check" goes over 2,100 regions one at a time (more than
 * lockdep counts nested under one lock, had it held them all): it answers
 * "ok", and lockdep, where the kernel has it, is still on afterwards.
 */
TEST_F_TIMEOUT(many_regions, check_walks_2100_regions, 600)
{
	long lockdep = lockdep_on_now();

	ASSERT_LE(CHECK_REGIONS, cowmem_stat("regions"));
	EXPECT_TRUE(cowmem_check_ok());
	if (lockdep == 1)
		EXPECT_EQ(1, lockdep_on_now());
	for (int i = 0; i < CHECK_REGIONS; i++)
		EXPECT_EQ(i & 0xff, (unsigned char)peek(self->map[i]));
}

#define FORKED_VIEWS 2100

/*
 * One region mapped by this process and by 2,100 forked children, each
 * with a view of its own (a fork clones the view), parked on a pipe.
 */
FIXTURE(forked_views)
{
	int fd, gate[2];
	char *map;
	pid_t pid[FORKED_VIEWS];
	int nr;
};

FIXTURE_SETUP(forked_views)
{
	char c;

	ASSERT_EQ(0, pipe(self->gate));
	self->fd = cowmem_open();
	ASSERT_LE(0, self->fd);
	self->map = cowmem_map(self->fd, 1, 0);
	ASSERT_NE(NULL, self->map);
	poke(self->map, 'p');
	for (; self->nr < FORKED_VIEWS; self->nr++) {
		self->pid[self->nr] = fork();
		ASSERT_LE(0, self->pid[self->nr]);
		if (!self->pid[self->nr]) {
			close(self->gate[1]);
			_exit(read(self->gate[0], &c, 1) == 0 ? 0 : 1);
		}
	}
	close(self->gate[0]);
}

FIXTURE_TEARDOWN(forked_views)
{
	close(self->gate[1]);
	for (int i = 0; i < self->nr; i++)
		EXPECT_EQ(0, cowmem_wait(self->pid[i]));
	munmap(self->map, cowmem_page_size());
	close(self->fd);
}

/*
 * PAGE_INFO and MERGE lock every view they may read of a region: root,
 * over 2,101 views (more than lockdep counts nested under one lock),
 * counts them all, and lockdep, where the kernel has it, is still on.
 */
TEST_F_TIMEOUT(forked_views, lockset_holds_2100_views, 600)
{
	struct cowmem_page_info info;
	struct cowmem_merge_args a;
	long lockdep = lockdep_on_now();

	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, 1, &info));
	EXPECT_EQ(FORKED_VIEWS + 1, info.refcount);
	ASSERT_EQ(0, cowmem_merge(self->fd, self->map, -1, 0,
				  COWMEM_MERGE_MAX_BUDGET, &a));
	EXPECT_EQ(FORKED_VIEWS + 1, a.scanned);
	if (lockdep == 1)
		EXPECT_EQ(1, lockdep_on_now());
}

/*
 * Merges @n pages after page @first, written with the same contents, into
 * the frame page @first holds: one stretch per call, starting at the page
 * already merged, so that every call adds to the same frame.
 */
static int merge_onto(int fd, char *map, size_t first, size_t n, size_t psz)
{
	struct cowmem_merge_args a;

	for (size_t i = first + 1; i <= first + n; i++)
		map[i * psz] = 'T';
	if (cowmem_merge(fd, map, -1, first, n + 1, &a))
		return -1;
	return a.merged == n ? 0 : -1;
}

/*
 * Pages a call adds, all in one stretch (a stretch forgets the frame it
 * merges into): the first page is a visit, each other a visit and the zap
 * of its page (1 + its region's one VMA), the first page's zap once:
 * 1 + 1023 * 3 + 2 units of the COWMEM_HOLD_MAX_WORK (4096) a hold may do.
 */
#define TALLY_STRETCH 1023
#define TALLY_CALLS 132
#define TALLY_PAGES (1 + TALLY_STRETCH * TALLY_CALLS)
#define TALLY_SNAPSHOTS 16384

/*
 * One frame at all 135,037 offsets of a region, seen through a snapshot
 * of it (its base and a one-page view) and 16,384 snapshots of that view:
 * 2.2 billion paths from an index root to the frame. The snapshots are of
 * the one-page view so that each has one PTE to drop, not 135,136.
 */
FIXTURE(one_frame_everywhere)
{
	int fd, snap_fd, *snaps;
	char *map, *snap_map;
	int slow; /* a debug kernel: too slow to build it in the time */
};

FIXTURE_SETUP(one_frame_everywhere)
{
	size_t psz = cowmem_page_size();

	self->slow = !!getenv("COWMEM_SLOW_KERNEL");
	if (self->slow)
		return;

	ASSERT_EQ(0, allow_fds(TALLY_SNAPSHOTS));
	self->snaps = calloc(TALLY_SNAPSHOTS, sizeof(*self->snaps));
	ASSERT_NE(NULL, self->snaps);
	self->fd = cowmem_open();
	ASSERT_LE(0, self->fd);
	self->map = cowmem_map(self->fd, TALLY_PAGES, 0);
	ASSERT_NE(NULL, self->map);
	self->map[0] = 'T';
	for (size_t c = 0; c < TALLY_CALLS; c++)
		ASSERT_EQ(0, merge_onto(self->fd, self->map, c * TALLY_STRETCH,
					TALLY_STRETCH, psz));
	self->snap_fd = cowmem_snapshot(self->fd, self->map, 0);
	ASSERT_LE(0, self->snap_fd);
	self->snap_map = cowmem_map(self->snap_fd, 1, 0);
	ASSERT_NE(NULL, self->snap_map);
	for (int i = 0; i < TALLY_SNAPSHOTS; i++) {
		self->snaps[i] = cowmem_snapshot(self->snap_fd, self->snap_map,
						 COWMEM_SNAPSHOT_CLOEXEC);
		ASSERT_LE(0, self->snaps[i]);
	}
}

FIXTURE_TEARDOWN(one_frame_everywhere)
{
	for (int i = 0; i < TALLY_SNAPSHOTS && self->snaps && self->snaps[i];
	     i++)
		close(self->snaps[i]);
	free(self->snaps);
	if (self->snap_map)
		munmap(self->snap_map, cowmem_page_size());
	if (self->map)
		munmap(self->map, TALLY_PAGES * cowmem_page_size());
	if (self->snap_fd > 0)
		close(self->snap_fd);
	if (self->fd > 0)
		close(self->fd);
}

/*
 * PAGE_INFO's refcount of a page reached by more paths than 2^31 - 1
 * saturates there, the same frame everywhere, and neither it nor
 * debugfs warns (the census packs a reach in 31 bits). It counts 16,386
 * indexes, more than one hold's budget: only all of them saturate it.
 */
TEST_F_TIMEOUT(one_frame_everywhere, page_info_refcount_saturates, 600)
{
	struct cowmem_page_info info;

	if (self->slow)
		SKIP(return, "too slow to build on a debug kernel");
	ASSERT_EQ(0, cowmem_page_info(self->snap_fd, self->snap_map, 1, &info));
	EXPECT_EQ(INT32_MAX, info.refcount);
	EXPECT_EQ(COWMEM_PAGE_SHARED, info.state);
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, 1, &info));
	/* The region's own count: its view and its snapshot, at every offset. */
	EXPECT_EQ(2 * TALLY_PAGES, info.refcount);
	/* The snapshots were pinned a budget at a time, and every one counted. */
	EXPECT_GE(COWMEM_HOLD_MAX_WORK, cowmem_stat("max_hold_work"));
	EXPECT_LE((long)cowmem_page_size(), cowmem_stat("bytes_saved"));
	EXPECT_TRUE(cowmem_check_ok());
}

/*
 * Bob Jenkins' lookup3 hash of 32-bit words, as the kernel's jhash2()
 * computes it (the hash MERGE looks pages up by), written here to find two
 * pages with the same hash and different contents.
 */
static __u32 rol32(__u32 x, int k)
{
	return (x << k) | (x >> (32 - k));
}

struct jhash_state {
	__u32 a, b, c;
};

/* A step of the mix: x -= z, x ^= z rotated by k, z += y. */
static void jhash_mix_step(__u32 *x, __u32 *y, __u32 *z, int k)
{
	*x -= *z;
	*x ^= rol32(*z, k);
	*z += *y;
}

static void jhash_mix(struct jhash_state *s)
{
	jhash_mix_step(&s->a, &s->b, &s->c, 4);
	jhash_mix_step(&s->b, &s->c, &s->a, 6);
	jhash_mix_step(&s->c, &s->a, &s->b, 8);
	jhash_mix_step(&s->a, &s->b, &s->c, 16);
	jhash_mix_step(&s->b, &s->c, &s->a, 19);
	jhash_mix_step(&s->c, &s->a, &s->b, 4);
}

/* A step of the final mix: x ^= y, x -= y rotated by k. */
static void jhash_final_step(__u32 *x, __u32 y, int k)
{
	*x ^= y;
	*x -= rol32(y, k);
}

static __u32 jhash_final(struct jhash_state s)
{
	jhash_final_step(&s.c, s.b, 14);
	jhash_final_step(&s.a, s.c, 11);
	jhash_final_step(&s.b, s.a, 25);
	jhash_final_step(&s.c, s.b, 16);
	jhash_final_step(&s.a, s.c, 4);
	jhash_final_step(&s.b, s.a, 14);
	jhash_final_step(&s.c, s.b, 24);
	return s.c;
}

/*
 * Makes @b differ from page @a in its last word alone and hash the same
 * (jhash2 over the page's words, seed 0). A page of 1024 words leaves one
 * word for the final mix: the state before it is computed once, and a
 * birthday search over that word finds two values with one hash in about
 * 2^16 tries. Returns 0, or -1 when none was found.
 */
static int jhash_twins(__u32 *a, __u32 *b, size_t words)
{
	enum { TRIES = 1 << 18, SLOTS = 1 << 19 };
	struct jhash_state s, t;
	__u32 *key, *val;
	size_t i = 0;
	int found = -1;

	s.a = 0xdeadbeef + (__u32)(words << 2);
	s.b = s.a;
	s.c = s.a;
	for (; words - i > 3; i += 3) {
		s.a += a[i];
		s.b += a[i + 1];
		s.c += a[i + 2];
		jhash_mix(&s);
	}
	if (words - i != 1)
		return -1;
	key = calloc(SLOTS, sizeof(*key));
	val = calloc(SLOTS, sizeof(*val));
	for (__u32 x = 1; key && val && x < TRIES && found; x++) {
		__u32 y = x * 2654435761u, h, slot;

		t = s;
		t.a += y;
		h = jhash_final(t);
		for (slot = h & (SLOTS - 1); val[slot];
		     slot = (slot + 1) & (SLOTS - 1))
			if (key[slot] == h)
				break;
		if (!val[slot]) {
			key[slot] = h;
			val[slot] = y;
			continue;
		}
		memcpy(b, a, i * sizeof(*a));
		a[i] = val[slot];
		b[i] = y;
		found = 0;
	}
	free(key);
	free(val);
	return found;
}

/*
 * A region whose page 0 and page 1 hash alike and differ: MERGE compares
 * them and leaves both (merged 0), and the copy of page 1 at page 2 stays
 * apart too, since page 1 was never remembered. Without the collision, page
 * 2 would merge into page 1: the pair is a real one.
 */
TEST(merge_leaves_hash_twins_apart)
{
	size_t psz = cowmem_page_size();
	struct cowmem_merge_args a;
	int fd = cowmem_open();
	char *map;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, 3, 0);
	ASSERT_NE(NULL, map);
	memset(map, 'A', psz);
	ASSERT_EQ(0, jhash_twins((__u32 *)map, (__u32 *)(map + psz), psz / 4));
	memcpy(map + 2 * psz, map + psz, psz);
	ASSERT_NE(0, memcmp(map, map + psz, psz));
	ASSERT_EQ(0, cowmem_merge(fd, map, -1, 0, COWMEM_MERGE_MAX_BUDGET, &a));
	EXPECT_EQ(3, a.scanned);
	EXPECT_EQ(0, a.merged);
	/* The same pages, page 0 changed: page 2 merges into page 1. */
	memset(map, 'C', psz);
	ASSERT_EQ(0, cowmem_merge(fd, map, -1, 0, COWMEM_MERGE_MAX_BUDGET, &a));
	EXPECT_EQ(1, a.merged);
	munmap(map, 3 * psz);
	close(fd);
}

#define N1_PAGES 4096
#define N1_MAPPINGS 256 /* more VMAs of the one view: each zap walks them */
#define N1_SNAPSHOTS 1500
/* The debug kernel's KASAN and lockdep make each zap ~10x dearer. */
#define N1_SCALE (getenv("COWMEM_SLOW_KERNEL") ? 4 : 1)

/* What the unprivileged side of the N1 scenario did, for root to read. */
struct n1_board {
	int done; /* the merges and the closes are over */
	long merges; /* MERGE calls made */
	long closed; /* snapshot fds closed */
	int failed; /* the step that failed, or 0 */
};

struct n1_closer {
	int *fds;
	struct n1_board *b;
};

static void *n1_close_snapshots(void *arg)
{
	struct n1_closer *c = arg;

	for (int i = 0; i < N1_SNAPSHOTS / N1_SCALE; i++) {
		close(c->fds[i]);
		__atomic_store_n(&c->b->closed, i + 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/*
 * The attacker of N1, as uid 65534: 4096 pages, page 0 a hash twin of
 * pages 1-2047, pages 2048-4095 all alike (they merge: each merge zaps
 * two pages), mapped N1_MAPPINGS + 1 times, N1_SNAPSHOTS snapshots; then
 * MERGE in a loop while another thread closes the snapshots one by one.
 */
static int n1_attacker(struct n1_board *b)
{
	size_t psz = cowmem_page_size();
	struct n1_closer closer = { .b = b };
	pthread_t thread;
	char *map;
	int fd;

	if (drop_to_nobody())
		return 1;
	closer.fds = calloc(N1_SNAPSHOTS, sizeof(int));
	fd = cowmem_open();
	map = fd < 0 ? NULL : cowmem_map(fd, N1_PAGES, 0);
	if (!closer.fds || !map)
		return 2;
	memset(map, 'A', psz);
	if (jhash_twins((__u32 *)map, (__u32 *)(map + psz), psz / 4))
		return 3;
	for (int i = 2; i < N1_PAGES / 2; i++)
		memcpy(map + i * psz, map + psz, psz);
	for (int i = N1_PAGES / 2; i < N1_PAGES; i++)
		memset(map + i * psz, 'C', psz);
	for (int i = 0; i < N1_MAPPINGS / N1_SCALE; i++)
		if (!cowmem_map(fd, N1_PAGES, 0))
			return 4;
	for (int i = 0; i < N1_SNAPSHOTS / N1_SCALE; i++) {
		closer.fds[i] = cowmem_snapshot(fd, map, 0);
		if (closer.fds[i] < 0)
			return 5;
	}
	if (pthread_create(&thread, NULL, n1_close_snapshots, &closer))
		return 6;
	/* Until every snapshot is closed, and 3 merges at least. */
	while (__atomic_load_n(&b->closed, __ATOMIC_SEQ_CST) <
		       N1_SNAPSHOTS / N1_SCALE ||
	       b->merges < 3) {
		if (cowmem_merge(fd, map, -1, 0, N1_PAGES, NULL))
			return 7;
		/* 16 'C' pages written again: new frames to zap and merge. */
		for (int j = 0; j < 16; j++) {
			char *page =
				map + (N1_PAGES / 2 +
				       (b->merges * 16 + j) % (N1_PAGES / 2)) *
					      psz;

			poke(page, 'C');
		}
		__atomic_add_fetch(&b->merges, 1, __ATOMIC_SEQ_CST);
	}
	pthread_join(thread, NULL);
	return 0;
}

/* The kernel log holds @what: 1, 0 if not, -1 when it cannot be read. */
static int kernel_log_has(const char *what)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *log = len > 0 ? malloc(len + 1) : NULL;
	int n, found;

	if (!log)
		return -1;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, len);
	if (n < 0) {
		free(log);
		return -1;
	}
	log[n] = '\0';
	found = !!strstr(log, what);
	free(log);
	return found;
}

/*
 * N1 of the second review: an unprivileged user merges hash twins across
 * 257 VMAs of one region while closing 1,500 snapshots of it. Each hold of
 * the region's locks does at most COWMEM_HOLD_MAX_WORK units (its zaps
 * counted), the closes wait for the region holding no global lock, so
 * root's open() and close() of /dev/cowmem go on meanwhile, and the kernel
 * reports no hung task (hung_task_timeout_secs 20). Root's worst
 * open+close is logged, a figure, not a bound.
 */
FIXTURE(n1)
{
	struct n1_board *b;
};

FIXTURE_SETUP(n1)
{
	self->b = mmap(NULL, sizeof(*self->b), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->b);
}

FIXTURE_TEARDOWN(n1)
{
	munmap(self->b, sizeof(*self->b));
}

TEST_F_TIMEOUT(n1, merge_with_many_vmas_and_closing_snapshots_stalls_nobody,
	       900)
{
	long timeout_before = -1, most, opens = 0;
	struct n1_board *b = self->b;
	struct timespec t0, t1;
	double worst = 0, t;
	struct stat node;
	FILE *f;
	pid_t pid;

	f = fopen("/proc/sys/kernel/hung_task_timeout_secs", "r+");
	if (f) {
		ASSERT_EQ(1, fscanf(f, "%ld", &timeout_before));
		rewind(f);
		fprintf(f, "20\n");
		fclose(f);
	}
	ASSERT_EQ(0, allow_fds(N1_SNAPSHOTS + 16));
	ASSERT_EQ(0, stat(COWMEM_DEV, &node));
	ASSERT_EQ(0, chmod(COWMEM_DEV, 0666));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(n1_attacker(b));
	/* Root's own opens and closes, until the attacker is done. */
	while (waitpid(pid, &b->failed, WNOHANG) == 0) {
		int fd;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		fd = cowmem_open();
		ASSERT_LE(0, fd);
		close(fd);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		t = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		worst = t > worst ? t : worst;
		opens++;
	}
	EXPECT_EQ(0, chmod(COWMEM_DEV, node.st_mode & 07777));
	if (timeout_before >= 0) {
		f = fopen("/proc/sys/kernel/hung_task_timeout_secs", "w");
		ASSERT_NE(NULL, f);
		fprintf(f, "%ld\n", timeout_before);
		fclose(f);
	}
	ASSERT_TRUE(WIFEXITED(b->failed));
	ASSERT_EQ(0, WEXITSTATUS(b->failed));
	most = cowmem_stat("max_hold_work");
	TH_LOG("%ld merges while %ld snapshots closed; root's %ld opens+closes",
	       b->merges, b->closed, opens);
	TH_LOG("root's worst open+close %.1f ms; the most one hold did: %ld units (bound %d)",
	       worst * 1e3, most, COWMEM_HOLD_MAX_WORK);
	EXPECT_LT(0, b->merges);
	EXPECT_EQ(N1_SNAPSHOTS / N1_SCALE, b->closed);
	EXPECT_LE(most, COWMEM_HOLD_MAX_WORK);
	EXPECT_EQ(0, kernel_log_has("blocked for more than"));
}

/* N4: a region whose many snapshots each differ from it here and there. */
#define N4_PAGES (N1_SCALE > 1 ? 4096 : 16384) /* 16 or 64 MiB */
#define N4_SNAPSHOTS 1024
#define N4_STRIDE 64 /* one byte written per 64 pages after the snapshots */

/* What the unprivileged side of N4 did, for root to read. */
struct n4_board {
	int ready; /* the snapshots are taken and the pages rewritten */
	int stop; /* root is done reading: the attacker may exit */
	int failed; /* the step that failed, or 0 */
};

/*
 * The attacker of N4, as uid 65534: writes its region, takes N4_SNAPSHOTS
 * snapshots of it, writes one byte every N4_STRIDE pages, and keeps it all
 * until root is done.
 */
static int n4_attacker(struct n4_board *b)
{
	size_t psz = cowmem_page_size();
	char *map;
	int fd;

	if (drop_to_nobody())
		return 1;
	fd = cowmem_open();
	map = fd < 0 ? NULL : cowmem_map(fd, N4_PAGES, 0);
	if (!map)
		return 2;
	cowmem_fill(map, N4_PAGES, psz, 'a');
	for (int i = 0; i < N4_SNAPSHOTS; i++)
		if (cowmem_snapshot(fd, map, 0) < 0)
			return 3;
	for (int i = 0; i < N4_PAGES; i += N4_STRIDE)
		poke(map + i * psz, 'b');
	__atomic_store_n(&b->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&b->stop, __ATOMIC_SEQ_CST))
		usleep(10000);
	return 0;
}

/* Root's ordinary work beside: victim_run() until told to stop; its rounds. */
static long n4_victim(struct n4_board *b, double *worst)
{
	struct timespec t0, t1;
	long rounds = 0;
	double t;

	while (!__atomic_load_n(&b->stop, __ATOMIC_SEQ_CST)) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (victim_run())
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		t = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		*worst = t > *worst ? t : *worst;
		rounds++;
	}
	return rounds;
}

/* Reads debugfs @file whole; the bytes read, or -1. */
static long read_debugfs(const char *file)
{
	char path[256], buf[4096];
	long total = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), COWMEM_DEBUGFS "/%s", file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return n < 0 ? -1 : total;
}

FIXTURE(n4)
{
	struct n4_board *b;
	mode_t mode;
	pid_t attacker, victim;
};

FIXTURE_SETUP(n4)
{
	struct stat node;

	self->b = mmap(NULL, sizeof(*self->b), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->b);
	ASSERT_EQ(0, allow_fds(N4_SNAPSHOTS + 16));
	ASSERT_EQ(0, stat(COWMEM_DEV, &node));
	self->mode = node.st_mode & 07777;
	ASSERT_EQ(0, chmod(COWMEM_DEV, 0666));
	self->attacker = fork();
	ASSERT_LE(0, self->attacker);
	if (!self->attacker)
		_exit(n4_attacker(self->b));
	while (!__atomic_load_n(&self->b->ready, __ATOMIC_SEQ_CST)) {
		ASSERT_EQ(0, waitpid(self->attacker, &self->b->failed, WNOHANG))
		TH_LOG("the attacker exited with %d", self->b->failed);
		usleep(10000);
	}
}

FIXTURE_TEARDOWN(n4)
{
	__atomic_store_n(&self->b->stop, 1, __ATOMIC_SEQ_CST);
	if (self->attacker > 0)
		waitpid(self->attacker, NULL, 0);
	chmod(COWMEM_DEV, self->mode);
	munmap(self->b, sizeof(*self->b));
}

/*
 * N4 of the second review: root reads "stats" in a loop, as cowstat
 * --watch does, while an unprivileged user holds 1,024 snapshots of a
 * 64 MiB region, each differing from it every 64 pages. "stats" walks
 * nothing (its changed pages moved to "snapshots", read one region at a
 * time), so root's own work in another region goes on, and the kernel
 * reports no soft lockup and no hung task. "snapshots" still counts
 * every changed page. The worst round of root's work is logged, a
 * figure, not a bound.
 */
TEST_F_TIMEOUT(n4, stats_readers_stall_nobody, 900)
{
	long reads = 0, rounds, changed;
	double worst = 0;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		rounds = n4_victim(self->b, &worst);
		printf("# n4: root's worst round (%d pages mapped, written, unmapped): %.1f ms\n",
		       VICTIM_PAGES, worst * 1e3);
		fflush(stdout);
		_exit(rounds > 0 ? 0 : 1);
	}
	/* stats, as cowstat --watch reads it, for as long as "snapshots" and "check" take. */
	for (int i = 0; i < 200; i++) {
		ASSERT_LT(0, read_debugfs("stats"));
		reads++;
	}
	changed = cowmem_debugfs_value("snapshots", "changed_pages");
	ASSERT_LT(0, read_debugfs("check"));
	__atomic_store_n(&self->b->stop, 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	TH_LOG("%ld reads of stats", reads);
	EXPECT_EQ((long)N4_SNAPSHOTS * (N4_PAGES / N4_STRIDE), changed);
	EXPECT_EQ(0, kernel_log_has("soft lockup"));
	EXPECT_EQ(0, kernel_log_has("blocked for more than"));
}

COWMEM_HARNESS_MAIN
