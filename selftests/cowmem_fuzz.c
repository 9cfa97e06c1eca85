// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem_fuzz: differential fuzzing against the kernel's own COW.
 *
 * Every round maps a private anonymous region (the kernel's copy-on-write:
 * the oracle) and a cowmem region of the same size, then runs the same
 * random operations on both across a tree of processes: writes of a byte or
 * a range, fork, exit, threads writing disjoint pages, mprotect round trips,
 * partial munmap, mremap moves, closing the fd, writes through a second,
 * MADV_DONTFORK mapping of the cowmem view (mirrored into the oracle), and
 * snapshots: COWMEM_IOC_SNAPSHOT, whose oracle is a copy of the anonymous
 * region taken at the same moment, COWMEM_IOC_ROLLBACK, which copies it back
 * into the anonymous region, and read-only mappings of a snapshot compared
 * with its copy. A process keeps up to MAX_SNAPS snapshots; a child inherits
 * its parent's and may roll back to them. After every step each process
 * compares the two regions page by page. A difference prints the seed, the
 * process's lineage and its operations up to the failing step, which replay
 * with the same --seed. debugfs "check" must say ok between rounds.
 *
 *   cowmem_fuzz [--seed N] [--seconds N]
 */
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "kselftest.h"
#include "cowmem_test.h"

#define MAX_STEPS 48
#define MAX_DEPTH 3
#define MAX_LOG 512
#define MAX_SNAPS 3

enum fuzz_op {
	OP_WRITE,
	OP_RANGE,
	OP_FORK,
	OP_EXIT,
	OP_THREADS,
	OP_MPROTECT,
	OP_MUNMAP,
	OP_MREMAP,
	OP_CLOSE,
	OP_ALIAS,
	OP_ALIAS_WRITE,
	OP_SNAPSHOT,
	OP_ROLLBACK,
	OP_SNAP_READ,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	[OP_WRITE] = "write",
	[OP_RANGE] = "range",
	[OP_FORK] = "fork",
	[OP_EXIT] = "exit",
	[OP_THREADS] = "threads",
	[OP_MPROTECT] = "mprotect",
	[OP_MUNMAP] = "munmap",
	[OP_MREMAP] = "mremap",
	[OP_CLOSE] = "close",
	[OP_ALIAS] = "alias",
	[OP_ALIAS_WRITE] = "alias-write",
	[OP_SNAPSHOT] = "snapshot",
	[OP_ROLLBACK] = "rollback",
	[OP_SNAP_READ] = "snap-read",
};

struct logged {
	enum fuzz_op op;
	int depth;
	unsigned long a, b;
};

/* A snapshot of the cowmem view and its oracle: the anonymous region then. */
struct snap {
	int fd; /* -1: an empty slot */
	char *copy;
	unsigned char mapped[64]; /* pages mapped when it was taken */
};

struct world {
	__u64 round_seed; /* replays this round as round 0 */
	__u64 rng;
	size_t pages, psz;
	char *anon, *cow, *alias;
	unsigned char mapped[64]; /* page still mapped in both regions */
	int fd, depth, pristine;
	struct snap snaps[MAX_SNAPS];
	char path[64];
	struct logged log[MAX_LOG];
	int nlog;
};

static __u64 seed;
static unsigned long *total_ops; /* shared by the whole tree */

static __u64 next(struct world *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static unsigned long pick(struct world *w, unsigned long n)
{
	return n ? next(w) % n : 0;
}

static void note(struct world *w, enum fuzz_op op, unsigned long a,
		 unsigned long b)
{
	if (w->nlog < MAX_LOG)
		w->log[w->nlog++] = (struct logged){ op, w->depth, a, b };
	__atomic_add_fetch(total_ops, 1, __ATOMIC_RELAXED);
}

static void report(struct world *w, const char *what, unsigned long page)
{
	printf("# MISMATCH: %s at page %lu in process %s (pid %d)\n", what,
	       page, w->path, getpid());
	printf("# replay: cowmem_fuzz --seed %llu (run seed %llu); lineage ops:\n",
	       (unsigned long long)w->round_seed, (unsigned long long)seed);
	for (int i = 0; i < w->nlog; i++)
		printf("#   %3d depth %d %-11s %lu %lu\n", i, w->log[i].depth,
		       op_names[w->log[i].op], w->log[i].a, w->log[i].b);
	fflush(stdout);
	_exit(1);
}

/* Both regions, and the alias where this process still has it, agree. */
static void compare(struct world *w)
{
	for (unsigned long p = 0; p < w->pages; p++) {
		size_t off = p * w->psz;

		if (!w->mapped[p])
			continue;
		if (memcmp(w->anon + off, w->cow + off, w->psz))
			report(w, "cowmem differs from anonymous memory", p);
		if (w->alias && memcmp(w->anon + off, w->alias + off, w->psz))
			report(w, "the alias mapping differs from its view", p);
	}
}

static unsigned long mapped_page(struct world *w)
{
	for (int tries = 0; tries < 64; tries++) {
		unsigned long p = pick(w, w->pages);

		if (w->mapped[p])
			return p;
	}
	return w->pages;
}

static void op_write(struct world *w, int range)
{
	unsigned long p = mapped_page(w), off, len;
	char byte = (char)next(w);

	if (p == w->pages)
		return;
	off = pick(w, w->psz);
	len = range ? 1 + pick(w, w->psz - off) : 1;
	memset(w->anon + p * w->psz + off, byte, len);
	memset(w->cow + p * w->psz + off, byte, len);
	note(w, range ? OP_RANGE : OP_WRITE, p, len);
}

static void op_alias_write(struct world *w)
{
	unsigned long p = mapped_page(w);
	char byte = (char)next(w);

	if (!w->alias || p == w->pages)
		return;
	w->anon[p * w->psz] = byte;
	w->alias[p * w->psz] = byte;
	note(w, OP_ALIAS_WRITE, p, (unsigned char)byte);
}

struct writer {
	struct world *w;
	unsigned long first, step;
	char byte;
};

static void *thread_writes(void *arg)
{
	struct writer *t = arg;
	struct world *w = t->w;

	for (unsigned long p = t->first; p < w->pages; p += t->step) {
		if (!w->mapped[p])
			continue;
		w->anon[p * w->psz + t->first] = t->byte;
		w->cow[p * w->psz + t->first] = t->byte;
	}
	return NULL;
}

/* Up to 4 threads, each writing its own pages. */
static void op_threads(struct world *w)
{
	unsigned long n = 2 + pick(w, 3);
	struct writer t[4];
	pthread_t tid[4];

	for (unsigned long i = 0; i < n; i++) {
		t[i] = (struct writer){ w, i, n, (char)next(w) };
		if (pthread_create(&tid[i], NULL, thread_writes, &t[i]))
			report(w, "pthread_create failed", 0);
	}
	for (unsigned long i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	note(w, OP_THREADS, n, 0);
}

static void op_mprotect(struct world *w)
{
	unsigned long p = mapped_page(w);
	unsigned long n = 1 + pick(w, 4);

	if (p == w->pages || p + n > w->pages)
		return;
	for (unsigned long i = p; i < p + n; i++)
		if (!w->mapped[i])
			return;
	for (int prot = PROT_READ;; prot = PROT_READ | PROT_WRITE) {
		if (mprotect(w->anon + p * w->psz, n * w->psz, prot) ||
		    mprotect(w->cow + p * w->psz, n * w->psz, prot))
			report(w, "mprotect failed", p);
		if (prot != PROT_READ)
			break;
		compare(w);
	}
	w->pristine = 0;
	note(w, OP_MPROTECT, p, n);
}

static void op_munmap(struct world *w)
{
	unsigned long p = mapped_page(w);

	if (p == w->pages || p == 0)
		return;
	if (munmap(w->anon + p * w->psz, w->psz) ||
	    munmap(w->cow + p * w->psz, w->psz))
		report(w, "munmap failed", p);
	w->mapped[p] = 0;
	w->pristine = 0;
	note(w, OP_MUNMAP, p, 0);
}

static char *move(struct world *w, char *from)
{
	size_t size = w->pages * w->psz;
	void *to =
		mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (to == MAP_FAILED)
		report(w, "mmap of a target for mremap failed", 0);
	to = mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (to == MAP_FAILED)
		report(w, "mremap failed", 0);
	return to;
}

/* Moves both regions; only while each is still one whole mapping. */
static void op_mremap(struct world *w)
{
	if (!w->pristine)
		return;
	w->anon = move(w, w->anon);
	w->cow = move(w, w->cow);
	note(w, OP_MREMAP, 0, 0);
}

/* A second, MADV_DONTFORK mapping of the same cowmem view. */
static void op_alias(struct world *w)
{
	if (w->alias || w->fd < 0 || w->depth)
		return;
	w->alias = cowmem_map(w->fd, w->pages, 0);
	if (!w->alias || madvise(w->alias, w->pages * w->psz, MADV_DONTFORK))
		report(w, "alias mapping failed", 0);
	note(w, OP_ALIAS, 0, 0);
}

/* A page of the view: through the region's mapping or, sometimes, the alias. */
static char *view_addr(struct world *w, unsigned long p)
{
	return (w->alias && pick(w, 2) ? w->alias : w->cow) + p * w->psz;
}

/* Snapshots the view into a random slot; the oracle copies the anonymous region. */
static void op_snapshot(struct world *w)
{
	unsigned long slot = pick(w, MAX_SNAPS), p = mapped_page(w);
	struct snap *s = &w->snaps[slot];

	if (w->fd < 0 || p == w->pages)
		return;
	note(w, OP_SNAPSHOT, slot, p);
	if (s->fd >= 0)
		close(s->fd);
	if (!s->copy)
		s->copy = malloc(w->pages * w->psz);
	if (!s->copy)
		report(w, "malloc of a snapshot copy failed", p);
	s->fd = cowmem_snapshot(w->fd, view_addr(w, p),
				COWMEM_SNAPSHOT_CLOEXEC);
	if (s->fd < 0)
		report(w, "COWMEM_IOC_SNAPSHOT failed", p);
	for (unsigned long q = 0; q < w->pages; q++) {
		s->mapped[q] = w->mapped[q];
		if (w->mapped[q])
			memcpy(s->copy + q * w->psz, w->anon + q * w->psz,
			       w->psz);
	}
}

/*
 * Rolls the whole view (the alias sees it too) back to one of the snapshots;
 * the oracle copies that snapshot's copy back. A page mapped now was mapped
 * when the snapshot was taken: munmap only ever takes pages away.
 */
static void op_rollback(struct world *w)
{
	unsigned long slot = pick(w, MAX_SNAPS), p = mapped_page(w);
	struct snap *s = &w->snaps[slot];

	if (w->fd < 0 || s->fd < 0 || p == w->pages)
		return;
	note(w, OP_ROLLBACK, slot, p);
	if (cowmem_rollback(w->fd, view_addr(w, p), s->fd, 0))
		report(w, "COWMEM_IOC_ROLLBACK failed", p);
	for (unsigned long q = 0; q < w->pages; q++)
		if (w->mapped[q] && s->mapped[q])
			memcpy(w->anon + q * w->psz, s->copy + q * w->psz,
			       w->psz);
}

/* A read-only mapping of a snapshot shows what its copy holds. */
static void op_snap_read(struct world *w)
{
	unsigned long slot = pick(w, MAX_SNAPS);
	struct snap *s = &w->snaps[slot];
	size_t size = w->pages * w->psz;
	char *map;

	if (s->fd < 0)
		return;
	note(w, OP_SNAP_READ, slot, 0);
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, s->fd, 0);
	if (map == MAP_FAILED)
		report(w, "mmap of a snapshot failed", 0);
	for (unsigned long q = 0; q < w->pages; q++)
		if (s->mapped[q] &&
		    memcmp(map + q * w->psz, s->copy + q * w->psz, w->psz))
			report(w, "a snapshot differs from its copy", q);
	if (munmap(map, size))
		report(w, "munmap of a snapshot failed", 0);
}

static void run(struct world *w);

static void op_fork(struct world *w, pid_t *children, int *nchildren)
{
	pid_t pid;

	if (w->depth >= MAX_DEPTH || *nchildren >= 4)
		return;
	note(w, OP_FORK, (unsigned long)*nchildren, 0);
	pid = fork();
	if (pid < 0)
		report(w, "fork failed", 0);
	if (pid) {
		children[(*nchildren)++] = pid;
		return;
	}
	/* The child: its own lineage, its own random stream; no alias (DONTFORK). */
	snprintf(w->path + strlen(w->path), sizeof(w->path) - strlen(w->path),
		 ".%d", *nchildren);
	w->rng ^= 0x9e3779b97f4a7c15ULL * (unsigned long)(*nchildren + 1);
	w->depth++;
	w->alias = NULL;
	run(w);
	_exit(0);
}

static int wait_children(pid_t *children, int n)
{
	int failed = 0;

	for (int i = 0; i < n; i++)
		failed |= cowmem_wait(children[i]) != 0;
	return failed;
}

static void step(struct world *w, enum fuzz_op op, pid_t *children,
		 int *nchildren)
{
	switch (op) {
	case OP_WRITE:
	case OP_RANGE:
		op_write(w, op == OP_RANGE);
		break;
	case OP_FORK:
		op_fork(w, children, nchildren);
		break;
	case OP_THREADS:
		op_threads(w);
		break;
	case OP_MPROTECT:
		op_mprotect(w);
		break;
	case OP_MUNMAP:
		op_munmap(w);
		break;
	case OP_MREMAP:
		op_mremap(w);
		break;
	case OP_CLOSE:
		if (w->fd >= 0 && !w->depth) {
			close(w->fd);
			w->fd = -1;
			note(w, OP_CLOSE, 0, 0);
		}
		break;
	case OP_ALIAS:
		op_alias(w);
		break;
	case OP_ALIAS_WRITE:
		op_alias_write(w);
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
	default:
		break;
	}
}

/* One process's share of the round: steps, then its children's verdicts. */
static void run(struct world *w)
{
	pid_t children[4];
	int nchildren = 0;

	for (int s = 0; s < MAX_STEPS; s++) {
		enum fuzz_op op = (enum fuzz_op)pick(w, OP_COUNT);

		if (op == OP_EXIT && w->depth) {
			note(w, OP_EXIT, 0, 0);
			break;
		}
		step(w, op, children, &nchildren);
		compare(w);
	}
	if (wait_children(children, nchildren))
		_exit(1);
}

/* One round in a process of its own, so that every mapping dies with it. */
static int round_of(__u64 round_seed)
{
	struct world *w = calloc(1, sizeof(*w));
	pid_t pid;

	w->round_seed = round_seed;
	w->rng = round_seed | 1;
	w->psz = cowmem_page_size();
	w->pages = 8 + pick(w, 56);
	pid = fork();
	if (pid)
		return pid < 0 ? -1 : cowmem_wait(pid);
	w->fd = cowmem_open();
	w->anon = mmap(NULL, w->pages * w->psz, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w->cow = cowmem_map(w->fd, w->pages, 0);
	if (w->fd < 0 || w->anon == MAP_FAILED || !w->cow)
		report(w, "cannot map the regions", 0);
	madvise(w->anon, w->pages * w->psz, MADV_NOHUGEPAGE);
	memset(w->mapped, 1, sizeof(w->mapped));
	for (int i = 0; i < MAX_SNAPS; i++)
		w->snaps[i].fd = -1;
	w->pristine = 1;
	snprintf(w->path, sizeof(w->path), "0");
	run(w);
	_exit(0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{}
	};
	unsigned long seconds = 20, rounds = 0;
	time_t end;
	int c, failed = 0;

	seed = (__u64)time(NULL);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			seed = strtoull(optarg, NULL, 0);
		else if (c == 't')
			seconds = strtoul(optarg, NULL, 0);
		else
			return KSFT_FAIL;
	}
	total_ops = mmap(NULL, cowmem_page_size(), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ksft_print_header();
	ksft_set_plan(1);
	printf("# seed %llu, %lu seconds\n", (unsigned long long)seed, seconds);
	setvbuf(stdout, NULL, _IOLBF, 0);
	end = time(NULL) + (time_t)seconds;
	while (!failed && time(NULL) < end) {
		failed = round_of(seed + rounds) != 0;
		if (!failed && !cowmem_check_ok()) {
			printf("# debugfs check failed after round %lu\n",
			       rounds);
			failed = 1;
		}
		rounds++;
	}
	printf("# %lu rounds, %lu operations\n", rounds, *total_ops);
	if (failed) {
		unsigned long long s = seed;

		ksft_test_result_fail("fuzz: seed %llu round %lu\n", s,
				      rounds - 1);
		ksft_exit_fail();
	}
	ksft_test_result_pass("differential fuzz: %lu rounds, %lu operations\n",
			      rounds, *total_ops);
	ksft_exit_pass();
}
