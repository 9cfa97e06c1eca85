// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures, injected through debugfs fail_nth: a fault that
 * cannot allocate returns VM_FAULT_OOM (the kernel retries it), a fork whose
 * view clone cannot be allocated leaves the child's mapping without pages
 * (SIGBUS on access), and nothing is ever lost, leaked or double-freed.
 */
#include <signal.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define FAIL_NTH COWMEM_DEBUGFS "/fail_nth"

static int arm(const char *knob, int n)
{
	char text[16];
	int fd = open(knob, O_WRONLY);
	int len = snprintf(text, sizeof(text), "%d\n", n);
	ssize_t written;

	if (fd < 0)
		return -1;
	written = write(fd, text, len);
	close(fd);
	return written == len ? 0 : -1;
}

/* Nothing stays armed after a test. */
static void disarm(void)
{
	arm(FAIL_NTH, 0);
	arm(COWMEM_DEBUGFS "/fail_every", 0);
}

#define PAGES 8
#define REGION_SETUP(map, psz) cowmem_fill(map, PAGES, psz, 'a')
#define REGION_TEARDOWN() disarm()
#define REGION_FREES_ALL
#include "cowmem_fixture.h"

/* A COW break whose allocation fails is retried, and then lands intact. */
TEST_F(region, cow_break_allocation_failure_retries)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		long failures = cowmem_stat("injected_failures");

		CHILD_CHECK(1, arm(FAIL_NTH, 1) == 0);
		self->map[2 * self->psz] = 'C';
		CHILD_CHECK(2,
			    cowmem_stat("injected_failures") == failures + 1);
		CHILD_CHECK(3, self->map[2 * self->psz] == 'C');
		CHILD_CHECK(4, self->map[2 * self->psz + 1] == 'c');
		_exit(0);
	}
	ASSERT_EQ(0, cowmem_wait(pid));
	EXPECT_EQ('c', self->map[2 * self->psz]);
}

/* A failed first-write allocation is retried too: zero-filled, then written. */
TEST_F(region, first_write_allocation_failure_retries)
{
	int fd2 = cowmem_open();
	char *other;

	ASSERT_LE(0, fd2);
	other = cowmem_map(fd2, 1, 0);
	ASSERT_NE(NULL, other);
	ASSERT_EQ(0, arm(FAIL_NTH, 2));
	other[10] = 'n';
	EXPECT_EQ('n', other[10]);
	EXPECT_EQ(0, other[11]);
	munmap(other, self->psz);
	close(fd2);
}

/* A fork whose clone fails: the child's mapping has no view (SIGBUS), the parent is fine. */
TEST_F(region, fork_clone_failure_is_sigbus_in_child)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, arm(FAIL_NTH, 1));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		peek(self->map);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGBUS, WTERMSIG(status));
	self->map[0] = 'P';
	EXPECT_EQ('P', self->map[0]);
	EXPECT_EQ('b', self->map[self->psz]);
}

/*
 * The N-th allocation fails, for every N the scenario reaches: fork, both
 * sides write, the child exits. Each side sees exactly its own data (or the
 * child dies of SIGBUS when its view could not be made), and check says ok.
 */
TEST_F(region, sweep_fail_nth_over_fork_and_writes)
{
	for (int nth = 1; nth <= 24; nth++) {
		int status;
		pid_t pid;

		ASSERT_EQ(0, arm(FAIL_NTH, nth));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			for (int i = 0; i < PAGES; i += 2)
				self->map[i * self->psz] = 'C';
			for (int i = 0; i < PAGES; i++) {
				char want = i % 2 ? 'a' + i : 'C';

				CHILD_CHECK(10 + i,
					    self->map[i * self->psz] == want);
			}
			_exit(0);
		}
		for (int i = 1; i < PAGES; i += 2)
			self->map[i * self->psz] = 'P';
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE((WIFEXITED(status) && !WEXITSTATUS(status)) ||
			    (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS))
		TH_LOG("nth %d: child status %#x", nth, status);
		for (int i = 0; i < PAGES; i++) {
			char want = i % 2 ? 'P' : 'a' + i;

			ASSERT_EQ(want, self->map[i * self->psz])
			TH_LOG("nth %d page %d", nth, i);
		}
		ASSERT_EQ(0, arm(FAIL_NTH, 0));
		ASSERT_TRUE(cowmem_check_ok());
		for (int i = 1; i < PAGES; i += 2)
			self->map[i * self->psz] = 'a' + i;
	}
}

COWMEM_HARNESS_MAIN
