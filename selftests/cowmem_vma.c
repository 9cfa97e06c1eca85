// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write under every VMA operation: partial munmap, mprotect splits,
 * mremap moves, MADV_DONTFORK, several mappings of one view, and a view that
 * outlives its file descriptor.
 */
#include "kselftest_harness.h"
#include "cowmem_test.h"

#define PAGES 16
#define REGION_SETUP(map, psz) cowmem_fill(map, PAGES, psz, 'a')
#include "cowmem_fixture.h"

/*
 * Forks a child that waits for the parent's go, then checks that page @i of
 * @map still holds 'a' + i for every page in [first, last).
 */
static pid_t fork_checker(char *map, size_t psz, int first, int last, int go[2])
{
	pid_t pid;
	char c;

	if (pipe(go))
		return -1;
	pid = fork();
	if (pid)
		return pid;
	CHILD_CHECK(1, read(go[0], &c, 1) == 1);
	for (int i = first; i < last; i++) {
		char *page = map + i * psz;

		CHILD_CHECK(10 + i,
			    page[0] == 'a' + i && page[psz - 1] == 'a' + i);
	}
	_exit(0);
}

/* After a partial munmap splits the VMA, both pieces still break COW on fork. */
TEST_F(region, partial_munmap_keeps_cow)
{
	int go[2];
	pid_t pid;

	ASSERT_EQ(0, munmap(self->map + 4 * self->psz, self->psz));
	pid = fork_checker(self->map, self->psz, 0, 4, go);
	ASSERT_LE(0, pid);
	for (int i = 0; i < PAGES; i++)
		if (i != 4)
			self->map[i * self->psz] = 'X';
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, cowmem_wait(pid));
	EXPECT_EQ('X', self->map[15 * self->psz]);
	EXPECT_EQ('a' + 15, self->map[15 * self->psz + 1]);
}

/* The child's partial munmap does not disturb the parent's pages. */
TEST_F(region, child_munmap_leaves_parent_intact)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		CHILD_CHECK(1,
			    !munmap(self->map + 2 * self->psz, 4 * self->psz));
		self->map[0] = 'C';
		self->map[8 * self->psz] = 'C';
		_exit(0);
	}
	ASSERT_EQ(0, cowmem_wait(pid));
	for (int i = 0; i < PAGES; i++)
		ASSERT_EQ('a' + i, self->map[i * self->psz]);
}

/* An mprotect() split in the middle: fork isolation holds on all three pieces. */
TEST_F(region, mprotect_split_keeps_cow)
{
	int go[2];
	pid_t pid;

	ASSERT_EQ(0, mprotect(self->map + 4 * self->psz, 4 * self->psz,
			      PROT_READ));
	pid = fork_checker(self->map, self->psz, 0, PAGES, go);
	ASSERT_LE(0, pid);
	ASSERT_EQ(0, mprotect(self->map + 4 * self->psz, 4 * self->psz,
			      PROT_READ | PROT_WRITE));
	for (int i = 0; i < PAGES; i++)
		self->map[i * self->psz] = 'X';
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, cowmem_wait(pid));
}

/*
 * mprotect(PROT_READ) then back to read-write after a fork must not make a
 * shared page writable without a fault: the write still breaks COW.
 */
TEST_F(region, mprotect_roundtrip_after_fork_still_breaks)
{
	long breaks;
	int go[2];
	pid_t pid;

	pid = fork_checker(self->map, self->psz, 0, PAGES, go);
	ASSERT_LE(0, pid);
	/* Map the shared pages read-only first, so that there are PTEs to keep. */
	for (int i = 0; i < PAGES; i++)
		ASSERT_EQ('a' + i, self->map[i * self->psz]);
	ASSERT_EQ(0, mprotect(self->map, PAGES * self->psz, PROT_READ));
	ASSERT_EQ(0, mprotect(self->map, PAGES * self->psz,
			      PROT_READ | PROT_WRITE));
	breaks = cowmem_stat("cow_breaks");
	for (int i = 0; i < PAGES; i++)
		self->map[i * self->psz] = 'X';
	EXPECT_EQ(breaks + PAGES, cowmem_stat("cow_breaks"));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, cowmem_wait(pid));
}

/* A written page mapped read-only, then writable again, is reused: no copy. */
TEST_F(region, mprotect_roundtrip_exclusive_reuses)
{
	long breaks = cowmem_stat("cow_breaks");

	ASSERT_EQ(0, mprotect(self->map, PAGES * self->psz, PROT_READ));
	ASSERT_EQ('a', self->map[0]);
	ASSERT_EQ(0, mprotect(self->map, PAGES * self->psz,
			      PROT_READ | PROT_WRITE));
	self->map[0] = 'Y';
	EXPECT_EQ('Y', self->map[0]);
	EXPECT_EQ(breaks, cowmem_stat("cow_breaks"));
}

/* mremap() can move the mapping: contents follow, and COW still holds. */
TEST_F(region, mremap_move_keeps_contents_and_cow)
{
	int go[2];
	char *moved;
	pid_t pid;

	moved = mremap(self->map, PAGES * self->psz, PAGES * self->psz,
		       MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, moved);
	/* Force an actual move to a fresh address. */
	{
		char *target = mmap(NULL, PAGES * self->psz, PROT_NONE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ASSERT_NE(MAP_FAILED, target);
		moved = mremap(moved, PAGES * self->psz, PAGES * self->psz,
			       MREMAP_MAYMOVE | MREMAP_FIXED, target);
		ASSERT_EQ(target, moved);
	}
	self->map = moved;
	for (int i = 0; i < PAGES; i++)
		ASSERT_EQ('a' + i, self->map[i * self->psz]);
	pid = fork_checker(self->map, self->psz, 0, PAGES, go);
	ASSERT_LE(0, pid);
	for (int i = 0; i < PAGES; i++)
		self->map[i * self->psz] = 'X';
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, cowmem_wait(pid));
}

/* A mapping cannot grow: mremap() growth fails and the mapping is untouched. */
TEST_F(region, mremap_growth_fails)
{
	void *grown =
		mremap(self->map, PAGES * self->psz, 2 * PAGES * self->psz, 0);

	EXPECT_EQ(MAP_FAILED, grown);
	grown = mremap(self->map, PAGES * self->psz, 2 * PAGES * self->psz,
		       MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, grown);
	EXPECT_EQ('a', self->map[0]);
}

/*
 * Two mappings of one view, one of them MADV_DONTFORK: fork skips it, yet the
 * parent's writes through it must not reach the child's copy of the other.
 */
TEST_F(region, dontfork_mapping_does_not_leak_into_child)
{
	char *second = cowmem_map(self->fd, PAGES, 0);
	int go[2];
	pid_t pid;

	ASSERT_NE(NULL, second);
	ASSERT_EQ('a', second[0]);
	ASSERT_EQ(0, madvise(second, PAGES * self->psz, MADV_DONTFORK));
	/* Make the DONTFORK mapping's PTEs writable before the fork. */
	for (int i = 0; i < PAGES; i++)
		second[i * self->psz + 1] = 'a' + i;
	pid = fork_checker(self->map, self->psz, 0, PAGES, go);
	ASSERT_LE(0, pid);
	for (int i = 0; i < PAGES; i++)
		second[i * self->psz] = 'X';
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, cowmem_wait(pid));
	/* Both of the parent's mappings still show one view. */
	EXPECT_EQ('X', self->map[0]);
	ASSERT_EQ(0, munmap(second, PAGES * self->psz));
}

/* Two mappings of one fd in one process see each other's writes, COW or not. */
TEST_F(region, two_mappings_share_one_view)
{
	char *second = cowmem_map(self->fd, PAGES, 0);
	pid_t pid;

	ASSERT_NE(NULL, second);
	self->map[0] = 'M';
	EXPECT_EQ('M', second[0]);
	/* Read through both, fork, then break COW through one of them. */
	EXPECT_EQ('b', second[self->psz]);
	EXPECT_EQ('b', self->map[self->psz]);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		second[self->psz] = 'S';
		CHILD_CHECK(1, self->map[self->psz] == 'S');
		_exit(0);
	}
	ASSERT_EQ(0, cowmem_wait(pid));
	self->map[self->psz] = 'P';
	EXPECT_EQ('P', second[self->psz]);
	ASSERT_EQ(0, munmap(second, PAGES * self->psz));
}

/* A second mapping at another offset sees the same pages of the region. */
TEST_F(region, offset_mapping_sees_region_pages)
{
	char *tail = cowmem_map(self->fd, 4, 12);

	ASSERT_NE(NULL, tail);
	EXPECT_EQ('a' + 12, tail[0]);
	tail[0] = 'T';
	EXPECT_EQ('T', self->map[12 * self->psz]);
	ASSERT_EQ(0, munmap(tail, 4 * self->psz));
}

/* A view outlives its fd: close it, keep the mapping, fork, write. */
TEST_F(region, view_outlives_closed_fd)
{
	int go[2];
	pid_t pid;

	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	pid = fork_checker(self->map, self->psz, 0, PAGES, go);
	ASSERT_LE(0, pid);
	for (int i = 0; i < PAGES; i++)
		self->map[i * self->psz] = 'X';
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, cowmem_wait(pid));
	EXPECT_EQ('X', self->map[0]);
}

/* A child mapping the inherited fd anew gets a clone of the parent's view. */
TEST_F(region, child_new_mapping_clones_parent_view)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		char *fresh = cowmem_map(self->fd, PAGES, 0);

		CHILD_CHECK(1, fresh);
		CHILD_CHECK(2, fresh[3 * self->psz] == 'd');
		fresh[3 * self->psz] = 'F';
		/* The new mapping is its own view: the inherited one is unchanged. */
		CHILD_CHECK(3, self->map[3 * self->psz] == 'd');
		_exit(0);
	}
	ASSERT_EQ(0, cowmem_wait(pid));
	EXPECT_EQ('d', self->map[3 * self->psz]);
	/* The parent's own writes after the clone stay its own. */
	self->map[4 * self->psz] = 'Q';
	EXPECT_EQ('Q', self->map[4 * self->psz]);
}

COWMEM_HARNESS_MAIN
