// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem_stress: many processes and threads at once. 64 workers, forked from
 * one region's owner, run 8 threads each; every thread writes its own pages
 * and reads them back, and now and then forks a child that scribbles over
 * every page and exits. Meanwhile one process reads every debugfs file in a
 * loop and another keeps trying to unload the module, which must fail while
 * anything maps it. Afterwards the owner's pages are intact, the module
 * holds what it held before, and debugfs "check" says ok.
 *
 *   cowmem_stress [--seconds N] [--workers N] [--threads N]
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#include "kselftest.h"
#include "cowmem_test.h"

#define PAGES 256

struct shared {
	unsigned long ops;
	unsigned long rmmod_tries;
	unsigned long debugfs_reads;
	int failed;
};

static struct shared *sh;
static char *map;
static size_t psz;
static int nthreads = 8;
static time_t deadline;

struct thread {
	int nr;
	unsigned int seed;
};

static void fail(const char *what)
{
	printf("# FAIL: %s (pid %d)\n", what, getpid());
	__atomic_store_n(&sh->failed, 1, __ATOMIC_RELAXED);
}

/* A child of a worker: writes every page, checks its own writes, exits. */
static void scribble_and_exit(void)
{
	for (size_t p = 0; p < PAGES; p++)
		map[p * psz] = (char)0xee;
	for (size_t p = 0; p < PAGES; p++)
		if (map[p * psz] != (char)0xee)
			_exit(1);
	_exit(0);
}

/* One thread of a worker: its pages are p % nthreads == nr. */
static void *thread_main(void *arg)
{
	struct thread *t = arg;
	unsigned long iter = 0;

	while (time(NULL) < deadline && !sh->failed) {
		size_t p = (size_t)(rand_r(&t->seed) % (PAGES / nthreads)) *
				   nthreads +
			   t->nr;
		char value = (char)(iter++ & 0x7f);
		pid_t pid;

		map[p * psz] = value;
		if (map[p * psz] != value)
			fail("a thread lost its own write");
		__atomic_add_fetch(&sh->ops, 1, __ATOMIC_RELAXED);
		if (rand_r(&t->seed) % 64)
			continue;
		pid = fork();
		if (pid == 0)
			scribble_and_exit();
		if (pid < 0 || cowmem_wait(pid) != 0)
			fail("a scribbling child failed");
		if (map[p * psz] != value)
			fail("a child's write reached its parent");
	}
	return NULL;
}

static void worker(int nr)
{
	struct thread t[64];
	pthread_t tid[64];

	for (int i = 0; i < nthreads; i++) {
		t[i] = (struct thread){ i, (unsigned int)(nr * 131 + i) };
		if (pthread_create(&tid[i], NULL, thread_main, &t[i]))
			fail("pthread_create");
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	_exit(0);
}

static void read_file(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

/* Reads every debugfs file until the deadline, "pages" whole and per view. */
static void debugfs_reader(void)
{
	static const char *const files[] = { "stats", "snapshots", "tree",
					     "check", "views",	   "pages" };
	struct cowmem_view_line v;
	char path[512], line[256];
	FILE *views, *pages;

	while (time(NULL) < deadline) {
		for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
			snprintf(path, sizeof(path), COWMEM_DEBUGFS "/%s",
				 files[i]);
			read_file(path);
		}
		views = fopen(COWMEM_DEBUGFS "/views", "r");
		while (views && fgets(line, sizeof(line), views)) {
			if (!cowmem_parse_view(line, &v))
				continue;
			pages = cowmem_open_pages(v.id);
			while (pages && fgets(line, sizeof(line), pages))
				;
			if (pages)
				fclose(pages);
		}
		if (views)
			fclose(views);
		__atomic_add_fetch(&sh->debugfs_reads, 1, __ATOMIC_RELAXED);
	}
	_exit(0);
}

/* Unloading must fail while anything maps the device. */
static void rmmod_attempter(void)
{
	while (time(NULL) < deadline) {
		if (syscall(SYS_delete_module, "cowmem", O_NONBLOCK) == 0) {
			fail("rmmod succeeded while the module was in use");
			break;
		}
		__atomic_add_fetch(&sh->rmmod_tries, 1, __ATOMIC_RELAXED);
		usleep(10000);
	}
	_exit(0);
}

static pid_t spawn(void (*fn)(int), int arg)
{
	pid_t pid = fork();

	if (pid == 0)
		fn(arg);
	return pid;
}

static void debugfs_reader_fn(int unused)
{
	(void)unused;
	debugfs_reader();
}

static void rmmod_fn(int unused)
{
	(void)unused;
	rmmod_attempter();
}

static int run(int seconds, int workers)
{
	pid_t pids[260];
	int n = 0, fd = cowmem_open();

	map = fd < 0 ? NULL : cowmem_map(fd, PAGES, 0);
	if (!map)
		return -1;
	for (size_t p = 0; p < PAGES; p++)
		memset(map + p * psz, 'o', psz);
	deadline = time(NULL) + seconds;
	pids[n++] = spawn(debugfs_reader_fn, 0);
	pids[n++] = spawn(rmmod_fn, 0);
	for (int w = 0; w < workers; w++)
		pids[n++] = spawn(worker, w);
	for (int i = 0; i < n; i++)
		if (pids[i] < 0 || cowmem_wait(pids[i]) != 0)
			fail("a worker, the reader or the rmmod loop failed");
	for (size_t p = 0; p < PAGES; p++)
		if (map[p * psz] != 'o' || map[p * psz + 1] != 'o')
			fail("the owner's pages changed");
	munmap(map, PAGES * psz);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ "threads", required_argument, NULL, 't' },
		{}
	};
	int seconds = 10, workers = 64, c;
	long pages_before;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			seconds = atoi(optarg);
		else if (c == 'w')
			workers = atoi(optarg) > 256 ? 256 : atoi(optarg);
		else if (c == 't')
			nthreads = atoi(optarg) > 64 ? 64 : atoi(optarg);
		else
			return KSFT_FAIL;
	}
	psz = cowmem_page_size();
	sh = mmap(NULL, psz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		  -1, 0);
	ksft_print_header();
	ksft_set_plan(1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pages_before = cowmem_stat("pages");
	if (sh == MAP_FAILED || run(seconds, workers))
		ksft_exit_fail_msg("cannot set up the stress run\n");
	if (cowmem_stat("pages") != pages_before)
		fail("the module holds more pages than before the run");
	if (!cowmem_check_ok())
		fail("debugfs check after the run");
	printf("# %d workers x %d threads, %d s: %lu ops (%lu ops/s)\n",
	       workers, nthreads, seconds, sh->ops, sh->ops / (seconds ?: 1));
	printf("# %lu debugfs sweeps, %lu refused rmmods\n", sh->debugfs_reads,
	       sh->rmmod_tries);
	printf("# counters: cow_breaks %ld reuses %ld faults %ld forks %ld\n",
	       cowmem_stat("cow_breaks"), cowmem_stat("reuses"),
	       cowmem_stat("faults"), cowmem_stat("forks"));
	if (sh->failed)
		ksft_test_result_fail("stress\n");
	else
		ksft_test_result_pass("stress: %lu ops\n", sh->ops);
	ksft_finished();
}
