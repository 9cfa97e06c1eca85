// SPDX-License-Identifier: GPL-2.0
/*
 * The core and the features, with nothing but the device to look through:
 * these tests need no debugfs and no PAGE_INFO, so they run on the module
 * as built by default and on the core alone (scripts/build-core: built
 * with COWMEM_FEATURES=n, so without its features and its observers, and
 * run with COWMEM_FEATURES=n in the environment), where they also check
 * that what was compiled out is gone.
 */
#include "kselftest_harness.h"
#include "cowmem_test.h"

#define PAGES 8

/* 1 when the module under test is the core alone. */
static int core_alone(void)
{
	const char *features = getenv("COWMEM_FEATURES");

	return features && !strcmp(features, "n");
}

FIXTURE(core)
{
	int fd;
	char *map;
	size_t psz;
};

FIXTURE_SETUP(core)
{
	self->psz = cowmem_page_size();
	self->fd = cowmem_open();
	ASSERT_LE(0, self->fd);
	self->map = cowmem_map(self->fd, PAGES, 0);
	ASSERT_NE(NULL, self->map);
	cowmem_fill(self->map, PAGES, self->psz, 'a');
}

FIXTURE_TEARDOWN(core)
{
	munmap(self->map, PAGES * self->psz);
	close(self->fd);
}

/* After fork, neither process sees the other's writes. */
TEST_F(core, fork_isolates_parent_and_child)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		CHILD_CHECK(1, cowmem_page_is(self->map, self->psz, 'a'));
		poke(self->map, 'c');
		CHILD_CHECK(2, peek(self->map) == 'c');
		CHILD_CHECK(3, peek(self->map + self->psz) == 'b');
		_exit(0);
	}
	poke(self->map + self->psz, 'p');
	ASSERT_EQ(0, cowmem_wait(pid));
	EXPECT_EQ('a', peek(self->map));
	EXPECT_EQ('p', peek(self->map + self->psz));
}

/* A rollback gives back what the snapshot froze. */
TEST_F(core, rollback_restores_the_snapshot)
{
	int sfd;

	if (core_alone())
		SKIP(return, "the core alone has no snapshots");
	sfd = cowmem_snapshot(self->fd, self->map, 0);

	ASSERT_LE(0, sfd);
	memset(self->map, 'x', self->psz);
	ASSERT_EQ(0, cowmem_rollback(self->fd, self->map, sfd, 0));
	EXPECT_TRUE(cowmem_page_is(self->map, self->psz, 'a'));
	close(sfd);
}

/* Two identical pages merge, and a write splits them again. */
TEST_F(core, merge_folds_twins)
{
	struct cowmem_merge_args a;

	if (core_alone())
		SKIP(return, "the core alone has no merging");
	memset(self->map + self->psz, 'a', self->psz);
	ASSERT_EQ(0, cowmem_merge(self->fd, self->map, -1, 0, PAGES, &a));
	EXPECT_EQ(1, a.merged);
	poke(self->map + self->psz, 'z');
	EXPECT_EQ('z', peek(self->map + self->psz));
	EXPECT_TRUE(cowmem_page_is(self->map, self->psz, 'a'));
}

/* The features are there exactly when the module was built with them. */
TEST_F(core, features_as_built)
{
	struct cowmem_merge_args a;
	int sfd = cowmem_snapshot(self->fd, self->map, 0);

	if (core_alone()) {
		EXPECT_EQ(-1, sfd);
		EXPECT_EQ(ENOTTY, errno);
		EXPECT_EQ(-1,
			  cowmem_rollback(self->fd, self->map, self->fd, 0));
		EXPECT_EQ(ENOTTY, errno);
		EXPECT_EQ(-1,
			  cowmem_merge(self->fd, self->map, -1, 0, PAGES, &a));
		EXPECT_EQ(ENOTTY, errno);
	} else {
		ASSERT_LE(0, sfd);
		EXPECT_EQ(0, cowmem_rollback(self->fd, self->map, sfd, 0));
		close(sfd);
	}
}

/* The observers are there exactly when the module was built with them. */
TEST_F(core, observers_as_built)
{
	struct cowmem_page_info info;
	int ret = cowmem_page_info(self->fd, self->map, 1, &info);

	if (core_alone()) {
		EXPECT_EQ(-1, ret);
		EXPECT_EQ(ENOTTY, errno);
		EXPECT_NE(0, access(COWMEM_DEBUGFS, F_OK));
	} else {
		EXPECT_EQ(0, ret);
		EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, info.state);
		EXPECT_EQ(0, access(COWMEM_STATS, R_OK));
	}
}

COWMEM_HARNESS_MAIN
