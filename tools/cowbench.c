// SPDX-License-Identifier: GPL-2.0
/*
 * cowbench: cowmem's copy-on-write against the kernel's own, on private
 * anonymous memory (MAP_PRIVATE | MAP_ANONYMOUS with MADV_NOHUGEPAGE, so that
 * both copy page by page). One process, one boot, the two interleaved: every
 * measurement runs on cowmem and then on native memory, for a warm-up and
 * then --reps repetitions; the table gives the median and the range.
 *
 *   cowbench [--sizes 4,64,256] [--reps 5] [--threads N] [--csv FILE]
 *            [--device /dev/cowmem] [--stats DEBUGFS_STATS_FILE]
 *
 * Per region size, in ns per page (a fresh, fully written region each time):
 *   R1  COW break: after fork() the child writes a byte to every page (timed
 *       in the child), or the parent does while the child holds the pages;
 *   R2  reuse: the parent writes every page once its child has exited;
 *   R3  fork() itself; and fork + child reads all + writes all + exit + wait;
 *   R4  the child reads every page after fork();
 *   R5  the child writes with N threads at once, each its own part;
 *   R5 beside cat stats: the same N threads while another process reads
 *       the module's debugfs stats in a loop; and beside a spinner, while
 *       that process only spins, the control: it takes a CPU all the same,
 *       but no lock of cowmem's. Their ratio says what reading stats costs
 *       the writers beyond a CPU (1.00: nothing);
 *   a 4 KiB memcpy per page: the floor no COW break can beat.
 * The module's debugfs counters around R1 and R2 at the largest size give the
 * structure: faults and page allocations per COW break, zaps per fork, and
 * (tracefs, cowmem:cow_break) the time the copy itself takes. Last, for
 * each size, a snapshot and a rollback of a fully written region: the pages
 * and index nodes they allocate (none: they share the index's root) and
 * their time, which only dropping the view's PTEs makes grow with the size.
 *
 * Goals are printed PASS or MISS. A MISS is a finding, not an error: the exit
 * status is 0 unless something failed (1) or the usage was wrong (2).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/cowmem.h>
#include <linux/types.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cowmem_user.h"

#define MAX_SIZES 16
#define MAX_REPS 100
#define MAX_THREADS 64
#define TAG 'P' /* what the parent writes before fork() */
/* The page index: an 8-byte xarray slot plus about 1 byte of node per page. */
#define INDEX_SLOTS_PER_NODE 64
#define TRACE_DIR "/sys/kernel/tracing/events/cowmem/cow_break"
#define TRACE_HIST "hist:keys=view:vals=ns"

enum variant { COWMEM, NATIVE, NR_VARIANTS };

static const char *const variant_names[NR_VARIANTS] = { "cowmem", "native" };

/* What is measured. R5 with n threads is M_THREADS + n - 1. */
enum metric {
	M_COW_CHILD,
	M_COW_PARENT,
	M_REUSE,
	M_FORK,
	M_E2E,
	M_READ,
	M_OBSERVED,
	M_SPUN,
	M_THREADS,
	NR_METRICS = M_THREADS + MAX_THREADS,
};

/* How a measurement is made: one fork() scenario each, R5 one per n. */
enum scenario {
	S_COW_CHILD,
	S_COW_PARENT,
	S_FORK_REUSE,
	S_E2E,
	S_READ,
	S_OBSERVED,
	S_SPUN,
	S_THREADS
};

/*
 * @goal: the ratio cowmem/native must stay at or below it (0: no goal), from
 * a region of @goal_mib on.
 */
struct metric_info {
	const char *csv;
	const char *label;
	double goal;
	size_t goal_mib;
};

static const struct metric_info metric_infos[M_THREADS] = {
	[M_COW_CHILD] = { .csv = "r1_cow_break_child",
			  .label = "R1 COW break, child writes",
			  .goal = 1.0 },
	[M_COW_PARENT] = { .csv = "r1_cow_break_parent",
			   .label = "R1 COW break, parent writes",
			   .goal = 1.0 },
	[M_REUSE] = { .csv = "r2_reuse",
		      .label = "R2 reuse, child gone",
		      .goal = 1.1 },
	[M_FORK] = { .csv = "r3_fork",
		     .label = "R3 fork()",
		     .goal = 1.0,
		     .goal_mib = 64 },
	[M_E2E] = { .csv = "r3_fork_read_write_exit",
		    .label = "R3 fork+read+write+exit" },
	[M_READ] = { .csv = "r4_read_after_fork",
		     .label = "R4 child reads after fork",
		     .goal = 1.5 },
	[M_OBSERVED] = { .csv = "r5_write_beside_stats_reader",
			 .label = "R5 N threads beside cat stats" },
	[M_SPUN] = { .csv = "r5_write_beside_spinner",
		     .label = "R5 N threads beside a spinner" },
};

/*
 * R5: n threads of cowmem must run at least 0.8 n times its own 1-thread
 * speed (1.6x with 2), from a region of 64 MiB on; 1 thread has no goal.
 */
#define THREADS_SCALING 0.8
#define THREADS_GOAL_MIB 64

struct summary {
	double med, min, max;
};

/*
 * A process that reads bench.stats in a loop while *@on is set, forked
 * before any region is mapped, so that it holds no clone of one; between
 * rows it sleeps on a pipe.
 */
/* What the second process does during a round: R5's observer and its control. */
enum beside { BESIDE_NOTHING, BESIDE_STATS, BESIDE_SPIN };

struct stats_reader {
	int *on; /* an enum beside, in a page shared with it: __atomic accesses */
	int go; /* the pipe's write end: one byte starts a round */
	pid_t pid;
};

/* What main() parsed, and every sample taken at the current size. */
struct bench {
	const char *device;
	const char *stats;
	FILE *csv;
	size_t sizes[MAX_SIZES]; /* MiB */
	int nr_sizes;
	int reps;
	int threads;
	size_t psz;
	double samples[NR_METRICS][NR_VARIANTS][MAX_REPS];
	double floor[MAX_REPS]; /* memcpy, ns per page */
	unsigned int checked[NR_METRICS], missed[NR_METRICS]; /* size bits */
	double one_thread; /* cowmem's R5 median with 1 thread, this size */
	int structure; /* 1 PASS, 0 MISS, -1 not measured */
	struct stats_reader reader;
};

static struct bench bench;

struct region {
	char *map;
	size_t pages, psz;
};

/* A child's work: @ns is what it measured, 0 on success. */
struct job {
	const struct region *r;
	int threads;
	__u64 ns;
};

static void die(const char *what)
{
	fprintf(stderr, "cowbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A failure that errno does not describe. */
static void fail(const char *what)
{
	fprintf(stderr, "cowbench: %s\n", what);
	exit(1);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static double per_page(const struct region *r, __u64 ns)
{
	return (double)ns / r->pages;
}

/* One byte per page in [first, last): enough to fault and to copy. */
static void write_pages(const struct region *r, size_t first, size_t last,
			char val)
{
	size_t i;

	for (i = first; i < last; i++)
		r->map[i * r->psz] = val;
	/* The stores are the point: the compiler must not drop or sink them. */
	asm volatile("" : : : "memory");
}

/* Reads one byte of every page; returns how many did not hold @val. */
static size_t read_pages(const struct region *r, char val)
{
	size_t i, bad = 0;

	asm volatile("" : : : "memory");
	for (i = 0; i < r->pages; i++)
		bad += r->map[i * r->psz] != val;
	return bad;
}

static char *map_anon(size_t len)
{
	char *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (map == MAP_FAILED)
		die("mmap anonymous");
	/* The kernel's COW then copies 4 KiB pages, as cowmem does. */
	if (madvise(map, len, MADV_NOHUGEPAGE))
		die("madvise MADV_NOHUGEPAGE");
	return map;
}

static char *map_cowmem(size_t len)
{
	int fd = open(bench.device, O_RDWR | O_CLOEXEC);
	char *map;

	if (fd < 0)
		die(bench.device);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap /dev/cowmem (larger than max_region_mb?)");
	close(fd);
	return map;
}

/* A fresh region of @mib, every page written, as fork() will find it. */
static void region_open(struct region *r, enum variant v, size_t mib)
{
	size_t len = mib << 20;

	r->psz = bench.psz;
	r->pages = len / r->psz;
	r->map = v == COWMEM ? map_cowmem(len) : map_anon(len);
	write_pages(r, 0, r->pages, TAG);
}

static void region_close(struct region *r)
{
	if (munmap(r->map, r->pages * r->psz))
		die("munmap");
}

/* Forks @child, a peer: 0 in the child, its pid in the parent. */
static pid_t peer_or_die(struct cowmem_peer *child)
{
	pid_t pid;

	fflush(NULL);
	pid = cowmem_peer_fork(child);
	if (pid < 0)
		die("fork");
	return pid;
}

/* @status is a child's (cowmem_wait()): anything but 0 ends the run. */
static void reap(int status)
{
	if (status)
		fail("a child failed (it read wrong data, or was killed)");
}

/*
 * Forks a child that runs @fn on @j and sends back the time it measured;
 * returns that time once the child is reaped.
 */
static __u64 in_child(struct job *j, int (*fn)(struct job *j))
{
	struct cowmem_peer child;
	pid_t pid;
	int rc;

	pid = peer_or_die(&child);
	if (pid == 0) {
		rc = fn(j);
		if (cowmem_peer_send(&child, &j->ns, sizeof(j->ns)))
			rc = 1;
		_exit(rc);
	}
	if (cowmem_peer_recv(&child, &j->ns, sizeof(j->ns)))
		j->ns = 0;
	reap(cowmem_peer_end(&child));
	return j->ns;
}

static int child_write(struct job *j)
{
	__u64 t0 = now_ns();

	write_pages(j->r, 0, j->r->pages, 'c');
	j->ns = now_ns() - t0;
	return 0;
}

static int child_read(struct job *j)
{
	__u64 t0 = now_ns();
	size_t bad = read_pages(j->r, TAG);

	j->ns = now_ns() - t0;
	return bad ? 1 : 0;
}

static int child_read_write(struct job *j)
{
	if (read_pages(j->r, TAG))
		return 1;
	write_pages(j->r, 0, j->r->pages, 'c');
	return 0;
}

struct worker {
	const struct region *r;
	pthread_barrier_t *go;
	size_t first, last;
	__u64 t0, t1;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(w->go);
	w->t0 = now_ns();
	write_pages(w->r, w->first, w->last, 'c');
	w->t1 = now_ns();
	return NULL;
}

/* R5: from the first thread's start to the last one's end. */
static int child_threads(struct job *j)
{
	struct worker w[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	__u64 t0 = ~0ull, t1 = 0;
	pthread_barrier_t go;
	int i, n = j->threads;

	pthread_barrier_init(&go, NULL, n);
	for (i = 0; i < n; i++) {
		w[i] = (struct worker){
			.r = j->r,
			.go = &go,
			.first = j->r->pages * i / n,
			.last = j->r->pages * (i + 1) / n,
		};
		if (pthread_create(&tid[i], NULL, worker_main, &w[i]))
			return 1;
	}
	for (i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		t0 = w[i].t0 < t0 ? w[i].t0 : t0;
		t1 = w[i].t1 > t1 ? w[i].t1 : t1;
	}
	j->ns = t1 - t0;
	return 0;
}

/* R1 from the parent's side: the child holds the pages until told to go. */
static void run_cow_parent(const struct region *r, double *res)
{
	struct cowmem_peer child;
	pid_t pid;
	__u64 t0;
	char c;

	pid = peer_or_die(&child);
	if (pid == 0) {
		if (cowmem_peer_send(&child, "r", 1))
			_exit(1);
		while (!cowmem_peer_recv(&child, &c, 1))
			;
		_exit(0);
	}
	if (cowmem_peer_recv(&child, &c, 1))
		fail("the holding child did not start");
	t0 = now_ns();
	write_pages(r, 0, r->pages, 'p');
	res[M_COW_PARENT] = per_page(r, now_ns() - t0);
	reap(cowmem_peer_end(&child));
}

/* R3 fork() alone, then R2: the parent writes once the child is gone. */
static void run_fork_reuse(const struct region *r, double *res)
{
	__u64 t0, t1;
	pid_t pid;

	fflush(NULL);
	t0 = now_ns();
	pid = fork();
	t1 = now_ns();
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		die("fork");
	reap(cowmem_wait(pid));
	res[M_FORK] = per_page(r, t1 - t0);
	t0 = now_ns();
	write_pages(r, 0, r->pages, 'p');
	res[M_REUSE] = per_page(r, now_ns() - t0);
}

static void reader_loop(int *on, int go)
{
	char buf[4096], c;
	int fd, mode;

	while (read(go, &c, 1) == 1) {
		for (;;) {
			mode = __atomic_load_n(on, __ATOMIC_RELAXED);
			if (mode == BESIDE_NOTHING)
				break;
			/* The control: a CPU taken, no cowmem lock. */
			if (mode == BESIDE_SPIN)
				continue;
			fd = open(bench.stats, O_RDONLY);
			if (fd < 0)
				_exit(1);
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
		}
	}
	_exit(0);
}

static void reader_start(void)
{
	struct stats_reader *sr = &bench.reader;
	void *page;
	int p[2];

	if (access(bench.stats, R_OK))
		die(bench.stats);
	page = mmap(NULL, bench.psz, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED || pipe(p))
		die("the stats reader");
	sr->on = page;
	fflush(NULL);
	sr->pid = fork();
	if (sr->pid < 0)
		die("fork");
	if (sr->pid == 0) {
		close(p[1]);
		reader_loop(sr->on, p[0]);
	}
	close(p[0]);
	sr->go = p[1];
}

static void reader_round(enum beside on)
{
	struct stats_reader *sr = &bench.reader;

	__atomic_store_n(sr->on, on, __ATOMIC_RELAXED);
	if (on != BESIDE_NOTHING && write(sr->go, "g", 1) != 1)
		die("the stats reader");
}

static void reader_stop(void)
{
	close(bench.reader.go);
	reap(cowmem_wait(bench.reader.pid));
}

/* Fills the entries of @res that scenario @s measures, on region @r. */
static void run_scenario(const struct region *r, int s, double *res)
{
	struct job j = { .r = r, .threads = s - S_THREADS + 1 };
	__u64 t0 = now_ns();

	switch (s) {
	case S_COW_CHILD:
		res[M_COW_CHILD] = per_page(r, in_child(&j, child_write));
		break;
	case S_COW_PARENT:
		run_cow_parent(r, res);
		break;
	case S_FORK_REUSE:
		run_fork_reuse(r, res);
		break;
	case S_E2E:
		in_child(&j, child_read_write);
		res[M_E2E] = per_page(r, now_ns() - t0);
		break;
	case S_READ:
		res[M_READ] = per_page(r, in_child(&j, child_read));
		break;
	case S_OBSERVED:
	case S_SPUN:
		j.threads = bench.threads;
		reader_round(s == S_OBSERVED ? BESIDE_STATS : BESIDE_SPIN);
		res[s == S_OBSERVED ? M_OBSERVED : M_SPUN] =
			per_page(r, in_child(&j, child_threads));
		reader_round(BESIDE_NOTHING);
		break;
	default:
		res[M_THREADS + j.threads - 1] =
			per_page(r, in_child(&j, child_threads));
	}
}

/* The floor: a plain memcpy of each 4 KiB page, both sides present. */
static double memcpy_floor(size_t mib)
{
	size_t len = mib << 20, i;
	char *src = map_anon(len), *dst = map_anon(len);
	__u64 t0;

	memset(src, TAG, len);
	memset(dst, 0, len);
	t0 = now_ns();
	for (i = 0; i < len; i += bench.psz)
		memcpy(dst + i, src + i, bench.psz);
	t0 = now_ns() - t0;
	if (dst[len - 1] != TAG)
		fail("the memcpy floor copied wrong data");
	munmap(src, len);
	munmap(dst, len);
	return (double)t0 / (len / bench.psz);
}

/* One repetition at @mib: every scenario on cowmem, then on native memory. */
static void measure(size_t mib, int rep)
{
	double res[NR_METRICS];
	struct region r;
	int s, v, m;

	for (s = 0; s < S_THREADS + bench.threads; s++) {
		for (v = 0; v < NR_VARIANTS; v++) {
			for (m = 0; m < NR_METRICS; m++)
				res[m] = -1;
			region_open(&r, v, mib);
			run_scenario(&r, s, res);
			region_close(&r);
			for (m = 0; m < NR_METRICS && rep >= 0; m++)
				if (res[m] >= 0)
					bench.samples[m][v][rep] = res[m];
		}
	}
	res[0] = memcpy_floor(mib);
	if (rep >= 0)
		bench.floor[rep] = res[0];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct summary summarize(const double *x, int n)
{
	double sorted[MAX_REPS];
	struct summary s;

	memcpy(sorted, x, n * sizeof(*x));
	qsort(sorted, n, sizeof(*sorted), cmp_double);
	s.min = sorted[0];
	s.max = sorted[n - 1];
	s.med = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	return s;
}

/* Three significant digits or so: per-page times span 1 ns to 100 us. */
static const char *num(char *buf, size_t len, double v)
{
	snprintf(buf, len, v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v);
	return buf;
}

/* "median [min-max]" as two columns. */
static void print_cell(const struct summary *s)
{
	char med[32], lo[32], hi[32], range[80];

	snprintf(range, sizeof(range), "[%s-%s]", num(lo, sizeof(lo), s->min),
		 num(hi, sizeof(hi), s->max));
	printf(" %8s %-17s", num(med, sizeof(med), s->med), range);
}

static void csv_row(size_t mib, const char *metric, const char *variant,
		    const struct summary *s, double ratio)
{
	if (!bench.csv)
		return;
	fprintf(bench.csv, "%zu,%s,%s,%.2f,%.2f,%.2f,", mib, metric, variant,
		s->med, s->min, s->max);
	if (ratio > 0)
		fprintf(bench.csv, "%.4f", ratio);
	fputc('\n', bench.csv);
}

static void metric_name(int m, char *csv, char *label, size_t len)
{
	int n = m - M_THREADS + 1;

	if (m < M_THREADS) {
		snprintf(csv, len, "%s", metric_infos[m].csv);
		snprintf(label, len, "%s", metric_infos[m].label);
		return;
	}
	snprintf(csv, len, "r5_write_%d_threads", n);
	snprintf(label, len, "R5 COW break, %d thread%s", n, n > 1 ? "s" : "");
}

/*
 * Prints the goal and the verdict of metric @m at @mib, whose cowmem median
 * is @med; records it.
 */
static void print_goal(int m, int size, size_t mib, double ratio, double med)
{
	int n = m - M_THREADS + 1;
	double speedup;
	bool pass;

	if (m > M_THREADS && mib >= THREADS_GOAL_MIB) {
		speedup = bench.one_thread / med;
		pass = speedup >= THREADS_SCALING * n;
		printf(" x%.1f    %s (x%.2f)", THREADS_SCALING * n,
		       pass ? "PASS" : "MISS", speedup);
	} else if (m >= M_THREADS) {
		printf(" %-8s -", "");
		return;
	} else if (metric_infos[m].goal && mib >= metric_infos[m].goal_mib) {
		pass = ratio <= metric_infos[m].goal;
		printf(" <=%-6.2f %s", metric_infos[m].goal,
		       pass ? "PASS" : "MISS");
	} else {
		printf(" %-8s -", "");
		return;
	}
	bench.checked[m] |= 1u << size;
	if (!pass)
		bench.missed[m] |= 1u << size;
}

/* One table row and its two CSV rows; @s gets the two summaries. */
static void report_metric(int m, int size, size_t mib, struct summary *s)
{
	char csv[64], label[64];
	double ratio;
	int v;

	metric_name(m, csv, label, sizeof(label));
	for (v = 0; v < NR_VARIANTS; v++)
		s[v] = summarize(bench.samples[m][v], bench.reps);
	ratio = s[COWMEM].med / s[NATIVE].med;
	printf("%-28s", label);
	print_cell(&s[COWMEM]);
	print_cell(&s[NATIVE]);
	printf(" %6.2f", ratio);
	if (m == M_THREADS)
		bench.one_thread = s[COWMEM].med;
	print_goal(m, size, mib, ratio, s[COWMEM].med);
	putchar('\n');
	for (v = 0; v < NR_VARIANTS; v++)
		csv_row(mib, csv, variant_names[v], &s[v], ratio);
}

/* A row under a metric's: a figure derived from each variant's median. */
static void report_note(const char *label, const char *fmt, double cowmem,
			double native)
{
	char buf[2][32];

	snprintf(buf[0], sizeof(buf[0]), fmt, cowmem);
	snprintf(buf[1], sizeof(buf[1]), fmt, native);
	printf("%-28s %8s %-17s %8s\n", label, buf[0], "", buf[1]);
}

static void report_size(int size, size_t mib)
{
	struct summary s[NR_VARIANTS], one[NR_VARIANTS] = {},
				       obs[NR_VARIANTS] = {};
	struct summary fl = summarize(bench.floor, bench.reps);
	double pages = (double)(mib << 20) / bench.psz;
	char buf[3][32];
	int m;

	printf("\n== %zu MiB (%.0f pages of %zu bytes); memcpy floor %s ns/page [%s-%s]\n",
	       mib, pages, bench.psz, num(buf[0], 32, fl.med),
	       num(buf[1], 32, fl.min), num(buf[2], 32, fl.max));
	printf("%-28s %8s %-17s %8s %-17s %6s %-8s %s\n", "ns per page",
	       "cowmem", "[min-max]", "native", "[min-max]", "ratio", " goal",
	       "verdict");
	csv_row(mib, "memcpy_4k", "floor", &fl, 0);
	for (m = 0; m < M_THREADS + bench.threads; m++) {
		report_metric(m, size, mib, s);
		if (m == M_COW_CHILD || m == M_COW_PARENT)
			report_note("  ... in memcpys", "%.1fx",
				    s[COWMEM].med / fl.med,
				    s[NATIVE].med / fl.med);
		if (m == M_FORK)
			report_note("  ... whole fork(), ms", "%.2f",
				    s[COWMEM].med * pages / 1e6,
				    s[NATIVE].med * pages / 1e6);
		if (m == M_THREADS)
			memcpy(one, s, sizeof(one));
		if (m > M_THREADS)
			report_note("  ... speedup over 1 thread", "%.2fx",
				    one[COWMEM].med / s[COWMEM].med,
				    one[NATIVE].med / s[NATIVE].med);
		if (m == M_OBSERVED)
			memcpy(obs, s, sizeof(obs));
		if (m == M_SPUN)
			report_note("  ... cat stats against a spinner",
				    "%.2fx", obs[COWMEM].med / s[COWMEM].med,
				    obs[NATIVE].med / s[NATIVE].med);
		if (m == M_THREADS + bench.threads - 1)
			report_note("  ... slowed by cat stats", "%.2fx",
				    obs[COWMEM].med / s[COWMEM].med,
				    obs[NATIVE].med / s[NATIVE].med);
	}
}

/* The debugfs counters the structure figures need. */
enum stat_id {
	ST_FAULTS,
	ST_COW_BREAKS,
	ST_REUSES,
	ST_PAGE_ALLOCS,
	ST_FORKS,
	ST_SHARE_ZAPS,
	ST_CLONE_WRPROTECTS, /* absent from modules before the write-protect */
	ST_FRAME_BYTES,
	ST_NODE_BYTES,
	ST_PAGES,
	ST_NODES,
	NR_STATS
};

static const char *const stat_names[NR_STATS] = {
	[ST_FAULTS] = "faults",
	[ST_COW_BREAKS] = "cow_breaks",
	[ST_REUSES] = "reuses",
	[ST_PAGE_ALLOCS] = "page_allocs",
	[ST_FORKS] = "forks",
	[ST_SHARE_ZAPS] = "share_zaps",
	[ST_CLONE_WRPROTECTS] = "clone_wrprotects",
	[ST_FRAME_BYTES] = "frame_bytes",
	[ST_NODE_BYTES] = "node_bytes",
	[ST_PAGES] = "pages",
	[ST_NODES] = "nodes",
};

/*
 * Reads the counters into @v; -1 when the file or a counter is missing,
 * but clone_wrprotects, which reads 0 from a module that has none
 * (bench --before with an older build).
 */
static int stats_read(long long *v)
{
	int found;

	v[ST_CLONE_WRPROTECTS] = -1;
	found = cowmem_stats_read(bench.stats, stat_names, v, NR_STATS);
	if (v[ST_CLONE_WRPROTECTS] < 0) {
		v[ST_CLONE_WRPROTECTS] = 0;
		found++;
	}
	return found == NR_STATS ? 0 : -1;
}

/* Hist trigger on cowmem:cow_break: on (@on) or off, 0 on success. */
static int trace_hist(bool on)
{
	FILE *f = fopen(TRACE_DIR "/trigger", "we");
	int err;

	if (!f)
		return -1;
	err = fprintf(f, "%s%s\n", on ? "" : "!", TRACE_HIST) < 0;
	err |= fclose(f) != 0;
	return err ? -1 : 0;
}

/* Sums the hist's hitcount and ns over every key (view). */
static int trace_sum(double *hits, double *ns)
{
	FILE *f = fopen(TRACE_DIR "/hist", "re");
	char line[256], *p;

	if (!f)
		return -1;
	*hits = 0;
	*ns = 0;
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, "hitcount:");
		if (p)
			*hits += strtod(p + strlen("hitcount:"), NULL);
		p = strstr(line, " ns:");
		if (p)
			*ns += strtod(p + strlen(" ns:"), NULL);
	}
	fclose(f);
	return 0;
}

/*
 * Runs scenario @s once on a cowmem region of @mib, with the counters read
 * around it (after the parent wrote every page, before fork()): @d gets the
 * differences, @res the scenario's times.
 */
static int structure_run(size_t mib, int s, long long *d, double *res)
{
	long long before[NR_STATS], after[NR_STATS];
	struct region r;
	int i, err;

	region_open(&r, COWMEM, mib);
	err = stats_read(before);
	if (!err) {
		run_scenario(&r, s, res);
		err = stats_read(after);
	}
	region_close(&r);
	if (err)
		return err;
	for (i = 0; i < NR_STATS; i++)
		d[i] = after[i] - before[i];
	d[ST_FRAME_BYTES] = after[ST_FRAME_BYTES];
	d[ST_NODE_BYTES] = after[ST_NODE_BYTES];
	return 0;
}

/* One COW break side: exactly one fault and one page allocation each? */
static bool structure_breaks(const char *side, const long long *d, size_t pages)
{
	bool ok = d[ST_COW_BREAKS] == (long long)pages &&
		  d[ST_FAULTS] == d[ST_COW_BREAKS] &&
		  d[ST_PAGE_ALLOCS] == d[ST_COW_BREAKS];

	printf("  %-14s %lld COW breaks, %zu pages; per break: %.3f faults, %.3f page allocs  %s\n",
	       side, d[ST_COW_BREAKS], pages,
	       (double)d[ST_FAULTS] / d[ST_COW_BREAKS],
	       (double)d[ST_PAGE_ALLOCS] / d[ST_COW_BREAKS],
	       ok ? "PASS" : "MISS");
	return ok;
}

/* Where a child's COW break goes: the copy (tracepoint ns) vs the rest. */
static void structure_trace(size_t mib)
{
	double res[NR_METRICS], hits, ns, total;
	long long d[NR_STATS];

	trace_hist(false); /* a trigger an interrupted run left behind */
	if (trace_hist(true)) {
		printf("  copy time: no tracefs hist trigger on cowmem:cow_break\n");
		return;
	}
	if (structure_run(mib, S_COW_CHILD, d, res) || trace_sum(&hits, &ns) ||
	    !hits) {
		trace_hist(false);
		printf("  copy time: the cow_break hist stayed empty\n");
		return;
	}
	trace_hist(false);
	total = res[M_COW_CHILD] * d[ST_COW_BREAKS];
	printf("  copy time:     a traced R1 child run: %.0f ns per COW break, of which\n"
	       "                 %.0f ns (%.0f%%) allocate and copy the page (cowmem:cow_break ns)\n",
	       total / hits, ns / hits, 100 * ns / total);
}

/* The module's counters around R1 (both sides) and R2 at @mib. */
static void report_structure(size_t mib)
{
	size_t pages = (mib << 20) / bench.psz;
	long long d[NR_STATS];
	double res[NR_METRICS];
	double index;
	bool ok;

	printf("\n== structure, from cowmem's counters (%s) around single runs at %zu MiB\n",
	       bench.stats, mib);
	if (structure_run(mib, S_COW_CHILD, d, res)) {
		printf("  cannot read the counters (root? debugfs?): not measured\n");
		return;
	}
	ok = structure_breaks("R1 child:", d, pages);
	structure_run(mib, S_COW_PARENT, d, res);
	ok &= structure_breaks("R1 parent:", d, pages);
	bench.structure = ok;
	structure_run(mib, S_FORK_REUSE, d, res);
	printf("  R2 reuse:      %lld reuses, %lld COW breaks, %lld page allocs, %zu pages\n",
	       d[ST_REUSES], d[ST_COW_BREAKS], d[ST_PAGE_ALLOCS], pages);
	/* The two counters as module/stats.h defines them, per fork. */
	printf("  fork:          %.2f clone_wrprotects, %.2f share_zaps per fork\n",
	       (double)d[ST_CLONE_WRPROTECTS] / (d[ST_FORKS] ? d[ST_FORKS] : 1),
	       (double)d[ST_SHARE_ZAPS] / (d[ST_FORKS] ? d[ST_FORKS] : 1));
	/* A full leaf node serves 64 pages; the levels above add 1/64 of that. */
	index = d[ST_NODE_BYTES] / (double)INDEX_SLOTS_PER_NODE *
		(1 + 1.0 / INDEX_SLOTS_PER_NODE);
	printf("  metadata:      %.1f bytes per page (frame %lld + index %.1f), %.1f%% of a page\n",
	       d[ST_FRAME_BYTES] + index, d[ST_FRAME_BYTES], index,
	       100.0 * (d[ST_FRAME_BYTES] + index) / bench.psz);
	structure_trace(mib);
}

/* Times one ioctl on @fd; dies when it fails. */
static __u64 timed_ioctl(int fd, unsigned long cmd, void *arg, const char *what)
{
	__u64 t0 = now_ns();

	if (ioctl(fd, cmd, arg))
		die(what);
	return now_ns() - t0;
}

/*
 * A snapshot and a rollback of a fully written region of @mib: what they
 * allocate (pages, index nodes) and how long they take. Neither should
 * grow with the size but for dropping the view's PTEs.
 */
static void snapshot_run(size_t mib)
{
	struct cowmem_snapshot_args snap = { 0 };
	struct cowmem_rollback_args back = { 0 };
	long long s0[NR_STATS], s1[NR_STATS], s2[NR_STATS];
	struct region r = { .psz = bench.psz,
			    .pages = (mib << 20) / bench.psz };
	int fd = open(bench.device, O_RDWR | O_CLOEXEC);
	__u64 t_snap, t_back;

	if (fd < 0)
		die(bench.device);
	r.map = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		     0);
	if (r.map == MAP_FAILED)
		die("mmap /dev/cowmem");
	write_pages(&r, 0, r.pages, TAG);
	snap.addr = (unsigned long)r.map;
	back.addr = snap.addr;
	if (stats_read(s0))
		die("reading the counters");
	t_snap = timed_ioctl(fd, COWMEM_IOC_SNAPSHOT, &snap,
			     "COWMEM_IOC_SNAPSHOT");
	stats_read(s1);
	write_pages(&r, 0, r.pages, TAG + 1);
	back.snapshot_fd = snap.fd;
	t_back = timed_ioctl(fd, COWMEM_IOC_ROLLBACK, &back,
			     "COWMEM_IOC_ROLLBACK");
	stats_read(s2);
	if (read_pages(&r, TAG))
		fail("rollback: the region does not read the snapshot's contents");
	printf("  %6zu MiB %8zu pages: snapshot %9.1f us, +%lld pages +%lld nodes;",
	       mib, r.pages, t_snap / 1e3, s1[ST_PAGES] - s0[ST_PAGES],
	       s1[ST_NODES] - s0[ST_NODES]);
	printf(" rollback %9.1f us, %lld pages freed\n", t_back / 1e3,
	       (s1[ST_PAGES] + (long long)r.pages) - s2[ST_PAGES]);
	munmap(r.map, mib << 20);
	close(snap.fd);
	close(fd);
}

static void report_snapshot(void)
{
	int i;

	printf("\n== snapshot and rollback of a fully written region (cowmem only)\n");
	for (i = 0; i < bench.nr_sizes; i++)
		snapshot_run(bench.sizes[i]);
}

/* The goals over every size: PASS, or MISS with the sizes that missed. */
static void report_goals(void)
{
	char label[64], csv[64], goal[32];
	const char *sep;
	int m, i;

	printf("\n== goals (ratio = cowmem/native median; R5: speedup over 1 thread)\n");
	for (m = 0; m < M_THREADS + bench.threads; m++) {
		if (!bench.checked[m])
			continue;
		metric_name(m, csv, label, sizeof(label));
		if (m >= M_THREADS)
			snprintf(goal, sizeof(goal), "x%.1f from %d MiB",
				 THREADS_SCALING * (m - M_THREADS + 1),
				 THREADS_GOAL_MIB);
		else
			snprintf(goal, sizeof(goal), "<= %.2f%s",
				 metric_infos[m].goal,
				 metric_infos[m].goal_mib ? " from 64 MiB" :
							    "");
		printf("  %-28s %-18s %s", label, goal,
		       bench.missed[m] ? "MISS at" : "PASS");
		sep = " ";
		for (i = 0; i < bench.nr_sizes; i++) {
			if (bench.missed[m] & (1u << i)) {
				printf("%s%zu", sep, bench.sizes[i]);
				sep = ", ";
			}
		}
		printf("%s\n", bench.missed[m] ? " MiB" : "");
	}
	printf("  %-28s %-18s %s\n", "faults, allocations/break", "exactly 1",
	       bench.structure < 0 ? "not measured" :
	       bench.structure	   ? "PASS" :
				     "MISS");
}

/* The loaded module's version: VERSION and the commit it was built from. */
static const char *module_version(char *buf, int len)
{
	FILE *f = fopen("/sys/module/cowmem/version", "re");

	if (!f || !fgets(buf, len, f))
		snprintf(buf, len, "unknown");
	buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
	return buf;
}

static void report_header(void)
{
	char when[64], version[64];
	struct utsname u;
	time_t t = time(NULL);

	if (uname(&u))
		die("uname");
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	printf("cowbench: cowmem's copy-on-write vs the kernel's (private anonymous, no THP)\n");
	printf("kernel %s, cowmem %s, %s, %ld CPUs online\n", u.release,
	       module_version(version, sizeof(version)), when,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%d repetitions after a warm-up, cowmem and native interleaved; R5: 1-%d threads\n",
	       bench.reps, bench.threads);
	printf("times: ns per page, median [min-max] over the repetitions\n");
}

static void show_usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: cowbench [--sizes MIB,MIB,...] [--reps N] [--threads N] [--csv FILE]\n"
		"                [--device PATH] [--stats PATH]\n"
		"defaults: --sizes 4,64,256 --reps 5 --threads <CPUs online>\n"
		"          --device " COWMEM_DEV " --stats " COWMEM_STATS "\n");
	exit(status);
}

static void parse_sizes(char *arg)
{
	char *tok, *end;

	bench.nr_sizes = 0;
	for (tok = strtok(arg, ","); tok; tok = strtok(NULL, ",")) {
		if (bench.nr_sizes == MAX_SIZES)
			show_usage(2);
		bench.sizes[bench.nr_sizes] = strtoul(tok, &end, 10);
		if (*end || !bench.sizes[bench.nr_sizes] ||
		    bench.sizes[bench.nr_sizes] > (1ul << 20))
			show_usage(2);
		bench.nr_sizes++;
	}
	if (!bench.nr_sizes)
		show_usage(2);
}

static const struct option long_options[] = {
	{ "sizes", required_argument, NULL, 's' },
	{ "reps", required_argument, NULL, 'r' },
	{ "threads", required_argument, NULL, 't' },
	{ "csv", required_argument, NULL, 'c' },
	{ "device", required_argument, NULL, 'd' },
	{ "stats", required_argument, NULL, 'S' },
	{ "help", no_argument, NULL, 'h' },
	{}
};

static void parse_args(int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (c) {
		case 's':
			parse_sizes(optarg);
			break;
		case 'r':
			bench.reps = atoi(optarg);
			break;
		case 't':
			bench.threads = atoi(optarg);
			break;
		case 'c':
			bench.csv = fopen(optarg, "we");
			if (!bench.csv)
				die(optarg);
			break;
		case 'd':
			bench.device = optarg;
			break;
		case 'S':
			bench.stats = optarg;
			break;
		case 'h':
			show_usage(0);
			break;
		default:
			show_usage(2);
		}
	}
	if (optind < argc || bench.reps < 1 || bench.reps > MAX_REPS ||
	    bench.threads < 1 || bench.threads > MAX_THREADS)
		show_usage(2);
}

static void defaults(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	bench.device = COWMEM_DEV;
	bench.stats = COWMEM_STATS;
	bench.sizes[0] = 4;
	bench.sizes[1] = 64;
	bench.sizes[2] = 256;
	bench.nr_sizes = 3;
	bench.reps = 5;
	bench.threads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : cpus;
	bench.psz = sysconf(_SC_PAGESIZE);
	bench.structure = -1;
}

int main(int argc, char **argv)
{
	size_t largest = 0;
	int i, rep;

	defaults();
	parse_args(argc, argv);
	if (access(bench.device, R_OK | W_OK))
		die(bench.device);
	report_header();
	reader_start();
	if (bench.csv)
		fprintf(bench.csv,
			"size_mib,metric,variant,median_ns_per_page,min,max,ratio\n");
	for (i = 0; i < bench.nr_sizes; i++) {
		/* rep -1 is the warm-up, not kept. */
		for (rep = -1; rep < bench.reps; rep++)
			measure(bench.sizes[i], rep);
		report_size(i, bench.sizes[i]);
		fflush(stdout);
		if (bench.sizes[i] > largest)
			largest = bench.sizes[i];
	}
	reader_stop();
	report_structure(largest);
	report_snapshot();
	report_goals();
	if (bench.csv && fclose(bench.csv))
		die("closing the CSV file");
	return 0;
}
