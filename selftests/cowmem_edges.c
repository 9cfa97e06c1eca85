// SPDX-License-Identifier: GPL-2.0
/*
 * Edges: every mmap flag and protection the kernel lets through, closes and
 * mappings racing with faults, and the memory cgroup that pays for pages.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

/*
 * Maps with @flags and @prot in a child and touches what @prot allows.
 * Returns 0 when the mapping worked, 1 when mmap() refused it with an errno,
 * anything else when something went wrong (a signal: 200).
 */
static int try_mapping(int flags, int prot)
{
	int status, fd = cowmem_open();
	pid_t pid = fork();

	if (pid == 0) {
		char *map =
			mmap(NULL, 2 * cowmem_page_size(), prot, flags, fd, 0);
		char want = (prot & PROT_WRITE) ? 'w' : 0;

		if (map == MAP_FAILED)
			_exit(errno ? 1 : 100);
		if (prot & PROT_WRITE)
			poke(map + cowmem_page_size(), 'w');
		if ((prot & PROT_READ) &&
		    peek(map + cowmem_page_size()) != want)
			_exit(101);
		_exit(munmap(map, 2 * cowmem_page_size()) ? 102 : 0);
	}
	close(fd);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

/*
 * Every flag combination and protection gets an errno or a working mapping,
 * never a signal or a crash; MAP_PRIVATE is always refused.
 */
TEST(mmap_flag_and_prot_sweep)
{
	static const int extra[] = { 0,
				     MAP_POPULATE,
				     MAP_LOCKED,
				     MAP_NORESERVE,
				     MAP_NONBLOCK,
				     MAP_STACK,
				     MAP_HUGETLB,
				     MAP_32BIT,
				     MAP_GROWSDOWN,
				     MAP_SYNC,
				     MAP_POPULATE | MAP_LOCKED };
	static const int type[] = { MAP_SHARED, MAP_SHARED_VALIDATE,
				    MAP_PRIVATE };
	static const int prot[] = { PROT_NONE, PROT_READ, PROT_WRITE,
				    PROT_READ | PROT_WRITE,
				    PROT_READ | PROT_EXEC };

	for (size_t t = 0; t < 3; t++) {
		for (size_t e = 0; e < 11; e++) {
			for (size_t p = 0; p < 5; p++) {
				int flags = type[t] | extra[e];
				int r = try_mapping(flags, prot[p]);

				EXPECT_TRUE(r == 0 || r == 1)
				TH_LOG("flags %#x prot %#x: %d", flags, prot[p],
				       r);
				if (type[t] == MAP_PRIVATE)
					EXPECT_EQ(1, r);
			}
		}
	}
	EXPECT_TRUE(cowmem_check_ok());
}

struct racer {
	char *map;
	size_t pages;
	time_t until;
	unsigned int seed;
};

/* Writes and reads back its own byte of random pages until told to stop. */
static void *fault_loop(void *arg)
{
	struct racer *r = arg;
	size_t slot = r->seed % 64;

	while (time(NULL) < r->until) {
		char *p = r->map +
			  (rand_r(&r->seed) % r->pages) * cowmem_page_size() +
			  slot;
		char v = (char)rand_r(&r->seed);

		*p = v;
		if (*p != v)
			return (void *)1;
	}
	return NULL;
}

/*
 * Faults in four threads while the main thread closes and reopens fds, maps
 * and unmaps more windows of the region, and forks children that exit: no
 * store is lost and the invariants hold.
 */
TEST(close_and_map_race_with_faults)
{
	enum { PAGES = 64 };
	int fd = cowmem_open();
	struct racer r[4];
	pthread_t t[4];
	char *map;
	void *ret;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, PAGES, 0);
	ASSERT_NE(NULL, map);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){ map, PAGES, time(NULL) + 3,
				       (unsigned int)i * 17 + 3 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fault_loop, &r[i]));
	}
	while (time(NULL) < r[0].until) {
		int other = dup(fd);
		char *window =
			cowmem_map(other, 8, (size_t)(rand() % (PAGES - 8)));
		pid_t pid;

		ASSERT_LE(0, other);
		ASSERT_NE(NULL, window);
		ASSERT_EQ(0, close(other));
		pid = fork();
		if (pid == 0) {
			poke(window, 'c');
			_exit(0);
		}
		ASSERT_EQ(0, cowmem_wait(pid));
		ASSERT_EQ(0, munmap(window, 8 * cowmem_page_size()));
	}
	ASSERT_EQ(0, close(fd));
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(0, pthread_join(t[i], &ret));
		EXPECT_EQ(NULL, ret);
	}
	EXPECT_TRUE(cowmem_check_ok());
	munmap(map, PAGES * cowmem_page_size());
}

#define CG CGROOT "/cowmem_selftest"

static long cg_read(const char *file)
{
	char path[256], buf[64];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), CG "/%s", file);
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f))
		v = atol(buf);
	if (f)
		fclose(f);
	return v;
}

/* A cgroup v2 group with the memory controller, or 0 when there is none. */
static int make_memory_cgroup(void)
{
	if (!cg_enable_memory())
		return 0;
	rmdir(CG);
	return mkdir(CG, 0755) == 0 && access(CG "/memory.current", F_OK) == 0;
}

/* The pages a process writes are charged to its memory cgroup, and uncharged on exit. */
TEST(pages_are_charged_to_the_writers_memcg)
{
	enum { PAGES = 512 };
	struct cowmem_peer q;
	long before, during;
	pid_t pid;
	char c;

	if (!make_memory_cgroup())
		SKIP(return, "no cgroup v2 memory controller in this kernel");
	pid = cowmem_peer_fork(&q);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = cowmem_open();
		char *map;

		CHILD_CHECK(1, !cg_write(CG "/cgroup.procs", "0"));
		map = cowmem_map(fd, PAGES, 0);
		CHILD_CHECK(2, map);
		for (size_t i = 0; i < PAGES; i++)
			map[i * cowmem_page_size()] = 1;
		CHILD_CHECK(3, !cowmem_peer_send(&q, "r", 1));
		CHILD_CHECK(4, !cowmem_peer_recv(&q, &c, 1));
		_exit(0);
	}
	before = cg_read("memory.current");
	ASSERT_EQ(0, cowmem_peer_recv(&q, &c, 1));
	during = cg_read("memory.current");
	ASSERT_EQ(0, cowmem_peer_send(&q, "g", 1));
	ASSERT_EQ(0, cowmem_peer_end(&q));
	/* The group was empty before the child joined: its pages are the charge. */
	EXPECT_LE((long)(PAGES * cowmem_page_size()), during - before)
	TH_LOG("memory.current %ld -> %ld", before, during);
	EXPECT_GT((long)(PAGES * cowmem_page_size()) / 2 + before,
		  cg_read("memory.current"));
	EXPECT_EQ(0, rmdir(CG));
}

COWMEM_HARNESS_MAIN
