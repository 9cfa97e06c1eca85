// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem_mtfuzz: differential fuzzing with threads, against the kernel's
 * own COW.
 *
 * Every round maps a cowmem region and a private anonymous one (the
 * oracle) of the same size, and starts THREADS threads that run random
 * operations on both at once. Byte t of every page belongs to thread t:
 * every thread writes every page, so the faults of one view race on the
 * same pages and on different ones, yet what each byte must hold is known.
 * The operations:
 *
 *   write      a byte of its own in a random page, in both regions
 *   read       that byte compared in both
 *   fork       a child, which compares both regions whole, writes and
 *              compares a few pages on its own, and exits
 *   snapshot   COWMEM_IOC_SNAPSHOT of the view, with a copy of the oracle
 *   rollback   COWMEM_IOC_ROLLBACK to the thread's snapshot, and the copy
 *              back into the oracle
 *   snap-read  the thread's snapshot mapped read-only, compared with its copy
 *   merge      COWMEM_IOC_MERGE over the whole region (the pages start in
 *              four kinds, so there is something to merge), then its own
 *              bytes compared
 *
 * A write stores into the view, then the oracle: fork, snapshot and
 * rollback must not fall between the two, so they take the round's rwlock
 * for write and the others for read. Faults still race: a read lock is
 * shared. A difference prints the seed, the round, the thread and the
 * operation, and the round replays with --seed. debugfs "check" must say
 * ok after each round.
 *
 *   cowmem_mtfuzz [--seed N] [--seconds N] [--ops N]
 *
 * It stops at whichever limit comes first (20 seconds and no operation
 * limit by default) and prints the operations it ran.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest.h"
#include "cowmem_test.h"

#define THREADS 4
#define PAGES 64
#define OPS_PER_THREAD 2000 /* in a round */
#define CHILD_WRITES 16

enum mt_op {
	OP_WRITE,
	OP_READ,
	OP_FORK,
	OP_SNAPSHOT,
	OP_ROLLBACK,
	OP_SNAP_READ,
	OP_MERGE,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	[OP_WRITE] = "write",	    [OP_READ] = "read",
	[OP_FORK] = "fork",	    [OP_SNAPSHOT] = "snapshot",
	[OP_ROLLBACK] = "rollback", [OP_SNAP_READ] = "snap-read",
	[OP_MERGE] = "merge",
};

/* How often each operation is picked, out of 1000. */
static const int op_weight[OP_COUNT] = {
	[OP_WRITE] = 600,   [OP_READ] = 330,	[OP_FORK] = 5,
	[OP_SNAPSHOT] = 20, [OP_ROLLBACK] = 10, [OP_SNAP_READ] = 20,
	[OP_MERGE] = 15,
};

struct round {
	__u64 seed;
	unsigned long nr;
	size_t psz;
	int fd;
	char *cow, *anon;
	pthread_rwlock_t lock; /* write: fork, snapshot, rollback */
};

struct worker {
	struct round *r;
	int me;
	__u64 rng;
	int sfd; /* this thread's snapshot, or -1 */
	char *copy; /* the oracle when it was taken */
	enum mt_op op; /* the one running, for the report */
	unsigned long ops;
};

static unsigned long *total_ops; /* shared with the children */

static __u64 next(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static unsigned long pick(struct worker *w, unsigned long n)
{
	return next(w) % n;
}

static enum mt_op pick_op(struct worker *w)
{
	int n = (int)pick(w, 1000);
	enum mt_op op;

	for (op = 0; op < OP_COUNT - 1; op++) {
		n -= op_weight[op];
		if (n < 0)
			break;
	}
	return op;
}

static void report(struct worker *w, const char *what, unsigned long page)
{
	printf("# MISMATCH: %s at page %lu, thread %d, op %s, round %lu (pid %d)\n",
	       what, page, w->me, op_names[w->op], w->r->nr, getpid());
	printf("# replay: cowmem_mtfuzz --seed %llu (the round's seed)\n",
	       (unsigned long long)w->r->seed);
	fflush(stdout);
	_exit(1);
}

static void compare_all(struct worker *w)
{
	struct round *r = w->r;

	for (unsigned long p = 0; p < PAGES; p++)
		if (memcmp(r->cow + p * r->psz, r->anon + p * r->psz, r->psz))
			report(w, "cowmem differs from anonymous memory", p);
}

/* The child of a fork: the regions agree, and go on agreeing alone. */
static void child(struct worker *w)
{
	struct round *r = w->r;

	compare_all(w);
	for (int i = 0; i < CHILD_WRITES; i++) {
		unsigned long at = pick(w, PAGES) * r->psz + pick(w, r->psz);
		char v = (char)next(w);

		r->cow[at] = v;
		r->anon[at] = v;
	}
	compare_all(w);
	_exit(0);
}

static void op_fork(struct worker *w)
{
	pid_t pid = fork();

	if (pid < 0)
		report(w, "fork failed", 0);
	if (!pid)
		child(w);
	pthread_rwlock_unlock(&w->r->lock);
	if (cowmem_wait(pid))
		report(w, "the forked child found a difference", 0);
	pthread_rwlock_wrlock(&w->r->lock);
}

static void op_snapshot(struct worker *w)
{
	struct round *r = w->r;

	if (w->sfd >= 0)
		close(w->sfd);
	w->sfd = cowmem_snapshot(r->fd, r->cow, 0);
	if (w->sfd < 0)
		report(w, "snapshot failed", 0);
	memcpy(w->copy, r->anon, PAGES * r->psz);
}

static void op_rollback(struct worker *w)
{
	struct round *r = w->r;

	if (w->sfd < 0)
		return;
	if (cowmem_rollback(r->fd, r->cow, w->sfd, 0))
		report(w, "rollback failed", 0);
	memcpy(r->anon, w->copy, PAGES * r->psz);
}

static void op_snap_read(struct worker *w)
{
	size_t len = PAGES * w->r->psz;
	char *snap;

	if (w->sfd < 0)
		return;
	snap = mmap(NULL, len, PROT_READ, MAP_SHARED, w->sfd, 0);
	if (snap == MAP_FAILED)
		report(w, "cannot map the snapshot", 0);
	for (unsigned long p = 0; p < PAGES; p++)
		if (memcmp(snap + p * w->r->psz, w->copy + p * w->r->psz,
			   w->r->psz))
			report(w, "the snapshot differs from its copy", p);
	munmap(snap, len);
}

/* Runs @op under the rwlock it needs. */
static void step(struct worker *w, enum mt_op op)
{
	struct round *r = w->r;
	unsigned long p = pick(w, PAGES), at = p * r->psz + w->me;
	int exclusive = op == OP_FORK || op == OP_SNAPSHOT || op == OP_ROLLBACK;
	char v = (char)next(w);

	w->op = op;
	if (exclusive)
		pthread_rwlock_wrlock(&r->lock);
	else
		pthread_rwlock_rdlock(&r->lock);
	switch (op) {
	case OP_WRITE:
		r->cow[at] = v;
		r->anon[at] = v;
		break;
	case OP_READ:
		if (r->cow[at] != r->anon[at])
			report(w, "a thread's own byte differs", p);
		break;
	case OP_FORK:
		op_fork(w);
		break;
	case OP_SNAPSHOT:
		op_snapshot(w);
		break;
	case OP_ROLLBACK:
		op_rollback(w);
		break;
	case OP_SNAP_READ:
		op_snap_read(w);
		break;
	case OP_MERGE:
		if (cowmem_merge(r->fd, r->cow, -1, 0, PAGES, NULL))
			report(w, "merge failed", 0);
		for (p = 0; p < PAGES; p++)
			if (r->cow[p * r->psz + w->me] !=
			    r->anon[p * r->psz + w->me])
				report(w, "a merge changed a byte", p);
		break;
	case OP_COUNT:
		break;
	}
	pthread_rwlock_unlock(&r->lock);
	w->ops++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < OPS_PER_THREAD; i++)
		step(w, pick_op(w));
	return NULL;
}

/* One round in a process of its own, so that every mapping dies with it. */
static int round_of(__u64 round_seed, unsigned long nr)
{
	struct round r = { .seed = round_seed, .nr = nr };
	struct worker w[THREADS];
	pthread_t thread[THREADS];
	unsigned long ops = 0;
	pid_t pid = fork();

	if (pid)
		return pid < 0 ? -1 : cowmem_wait(pid);
	r.psz = cowmem_page_size();
	r.fd = cowmem_open();
	r.cow = r.fd < 0 ? NULL : cowmem_map(r.fd, PAGES, 0);
	r.anon = mmap(NULL, PAGES * r.psz, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!r.cow || r.anon == MAP_FAILED)
		_exit(2);
	madvise(r.anon, PAGES * r.psz, MADV_NOHUGEPAGE);
	/* Four kinds of page, so that a merge finds twins. */
	for (int p = 0; p < PAGES; p++) {
		memset(r.cow + p * r.psz, 'a' + p % 4, r.psz);
		memset(r.anon + p * r.psz, 'a' + p % 4, r.psz);
	}
	pthread_rwlock_init(&r.lock, NULL);
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){ .r = &r, .me = t, .sfd = -1 };
		w[t].rng = (round_seed * THREADS + t) | 1;
		w[t].copy = malloc(PAGES * r.psz);
		if (!w[t].copy ||
		    pthread_create(&thread[t], NULL, worker_main, &w[t]))
			_exit(2);
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(thread[t], NULL);
		ops += w[t].ops;
	}
	__atomic_add_fetch(total_ops, ops, __ATOMIC_RELAXED);
	_exit(0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "ops", required_argument, NULL, 'o' },
		{}
	};
	unsigned long seconds = 20, max_ops = 0, rounds = 0;
	__u64 seed = (__u64)time(NULL);
	int c, failed = 0;
	time_t end;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			seed = strtoull(optarg, NULL, 0);
		else if (c == 't')
			seconds = strtoul(optarg, NULL, 0);
		else if (c == 'o')
			max_ops = strtoul(optarg, NULL, 0);
		else
			return KSFT_FAIL;
	}
	total_ops = mmap(NULL, cowmem_page_size(), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (total_ops == MAP_FAILED)
		return KSFT_FAIL;
	ksft_print_header();
	ksft_set_plan(1);
	printf("# seed %llu, %lu seconds, %lu operations at most\n",
	       (unsigned long long)seed, seconds, max_ops);
	setvbuf(stdout, NULL, _IOLBF, 0);
	end = time(NULL) + (time_t)seconds;
	while (!failed && time(NULL) < end &&
	       (!max_ops || *total_ops < max_ops)) {
		failed = round_of(seed + rounds, rounds) != 0;
		if (!failed && !cowmem_check_ok()) {
			printf("# debugfs check failed after round %lu\n",
			       rounds);
			failed = 1;
		}
		rounds++;
	}
	printf("# %lu rounds, %lu operations, %d threads each\n", rounds,
	       *total_ops, THREADS);
	if (failed) {
		ksft_test_result_fail("mtfuzz: seed %llu round %lu\n",
				      (unsigned long long)seed, rounds - 1);
		ksft_exit_fail();
	}
	ksft_test_result_pass("mtfuzz: %lu rounds, %lu ops, 0 differences\n",
			      rounds, *total_ops);
	ksft_exit_pass();
}
