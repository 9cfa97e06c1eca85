// SPDX-License-Identifier: GPL-2.0
/*
 * cowvictim: how much unprivileged PAGE_INFO and MERGE loops slow another
 * user's work, a row of make bench. Root maps, writes and unmaps 16 MiB of
 * its own (the victim), beside two processes of uid 65534 that either loop
 * PAGE_INFO and MERGE over 64 MiB regions of their own (the attack) or only
 * spin (the control, the same CPU taken). Short trials alternate control
 * and attack, and the medians of each are compared: under TCG on a shared
 * host a single trial varies by tens of percent either way, in bursts
 * longer than a trial. A figure, not a verdict: the selftests check the
 * count that bounds the stall (cowmem_shared, max_hold_work).
 *
 *   cowvictim [--trials N]      root, with the module loaded
 *
 * Prints one line: the median times, their ratio (attack/control), the
 * quartiles' ratios and the worst single fault of each.
 */
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cowmem_user.h"

#define VICTIM_PAGES 4096 /* 16 MiB, mapped, written and unmapped per trial */
#define ATTACK_PAGES 16384 /* each attacker's own 64 MiB region */
#define ATTACKERS 2
#define NOBODY 65534
#define MAX_TRIALS 1001

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

struct victim_run {
	double total; /* seconds for the trial */
	double worst; /* the slowest single first write (a fault) */
};

/* Root's ordinary work in a region of its own: map, write, unmap. */
static void victim_run(struct victim_run *out)
{
	size_t psz = cowmem_page_size();
	double t0 = now(), t;
	int fd = cowmem_open();
	char *map = fd < 0 ? NULL : cowmem_map(fd, VICTIM_PAGES, 0);

	if (!map)
		die("cowvictim: the victim's region");
	out->worst = 0;
	for (size_t i = 0; i < VICTIM_PAGES; i++) {
		t = now();
		__atomic_store_n(map + i * psz, 1, __ATOMIC_RELAXED);
		t = now() - t;
		if (t > out->worst)
			out->worst = t;
	}
	munmap(map, VICTIM_PAGES * psz);
	close(fd);
	out->total = now() - t0;
}

/* What the attackers do, set by root; each says which it does now. */
enum attack_mode { SPIN, ATTACK, STOP };

struct attack_board {
	int mode;
	int doing[ATTACKERS];
};

/* One PAGE_INFO pass and one MERGE over the attacker's whole region. */
static int attack_once(int fd, char *map, size_t psz)
{
	static struct cowmem_page_info info[1024];

	for (size_t i = 0; i < ATTACK_PAGES; i += 1024)
		if (cowmem_page_info(fd, map + i * psz, 1024, info))
			return -1;
	return cowmem_merge(fd, map, -1, 0, COWMEM_MERGE_MAX_BUDGET, NULL);
}

/* Attacker @me, as uid 65534, until root says STOP; says when it is ready. */
static int attacker(int me, struct attack_board *b, int ready)
{
	size_t psz = cowmem_page_size();
	int fd, mode;
	char *map;

	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return 1;
	fd = cowmem_open();
	map = fd < 0 ? NULL : cowmem_map(fd, ATTACK_PAGES, 0);
	if (!map)
		return 2;
	for (size_t i = 0; i < ATTACK_PAGES; i++)
		snprintf(map + i * psz, psz, "page %zu", i);
	if (write(ready, "r", 1) != 1)
		return 3;
	while ((mode = __atomic_load_n(&b->mode, __ATOMIC_SEQ_CST)) != STOP) {
		__atomic_store_n(&b->doing[me], mode, __ATOMIC_SEQ_CST);
		if (mode == ATTACK && attack_once(fd, map, psz))
			return 4;
	}
	return 0;
}

/* Sets the attackers to @mode and waits until each is at it. */
static void attackers_do(struct attack_board *b, enum attack_mode mode)
{
	__atomic_store_n(&b->mode, mode, __ATOMIC_SEQ_CST);
	for (int i = 0; i < ATTACKERS; i++)
		while (__atomic_load_n(&b->doing[i], __ATOMIC_SEQ_CST) !=
		       (int)mode)
			usleep(1000);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "trials", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	static double control[MAX_TRIALS], attack[MAX_TRIALS];
	double worst_c = 0, worst_a = 0;
	struct attack_board *board;
	pid_t pid[ATTACKERS];
	struct victim_run run;
	int trials = 41, ready[2], opt, failed = 0;
	struct stat node;
	char c;

	while ((opt = getopt_long(argc, argv, "t:h", options, NULL)) != -1) {
		if (opt != 't') {
			fprintf(stderr,
				"usage: cowvictim [--trials N (odd, 1 to %d)]\n",
				MAX_TRIALS);
			return opt == 'h' ? 0 : 2;
		}
		trials = atoi(optarg);
	}
	if (trials < 1 || trials > MAX_TRIALS || !(trials % 2)) {
		fprintf(stderr,
			"cowvictim: --trials takes an odd number from 1 to %d\n",
			MAX_TRIALS);
		return 2;
	}
	board = mmap(NULL, sizeof(*board), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (board == MAP_FAILED || pipe(ready))
		die("cowvictim: setup");
	/* The attackers open the node themselves, as on a workshop machine. */
	if (stat(COWMEM_DEV, &node) || chmod(COWMEM_DEV, 0666))
		die("cowvictim: " COWMEM_DEV " (load the module, run as root)");
	for (int i = 0; i < ATTACKERS; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			die("cowvictim: fork");
		if (!pid[i])
			_exit(attacker(i, board, ready[1]));
	}
	close(ready[1]);
	for (int i = 0; i < ATTACKERS; i++)
		if (read(ready[0], &c, 1) != 1)
			die("cowvictim: an attacker did not start");
	for (int t = 0; t < trials; t++) {
		attackers_do(board, SPIN);
		victim_run(&run);
		control[t] = run.total;
		worst_c = run.worst > worst_c ? run.worst : worst_c;
		attackers_do(board, ATTACK);
		victim_run(&run);
		attack[t] = run.total;
		worst_a = run.worst > worst_a ? run.worst : worst_a;
	}
	__atomic_store_n(&board->mode, STOP, __ATOMIC_SEQ_CST);
	for (int i = 0; i < ATTACKERS; i++)
		failed |= cowmem_wait(pid[i]);
	chmod(COWMEM_DEV, node.st_mode & 07777);
	qsort(control, trials, sizeof(control[0]), by_value);
	qsort(attack, trials, sizeof(attack[0]), by_value);
	printf("victim beside PAGE_INFO+MERGE loops, %d trials: ", trials);
	printf("median %.3f s against %.3f s beside spinners: %.2fx ",
	       attack[trials / 2], control[trials / 2],
	       attack[trials / 2] / control[trials / 2]);
	printf("(quartiles %.2fx, %.2fx); ",
	       attack[trials / 4] / control[trials / 4],
	       attack[3 * trials / 4] / control[3 * trials / 4]);
	printf("worst fault %.1f ms against %.1f ms\n", worst_a * 1e3,
	       worst_c * 1e3);
	if (failed)
		fprintf(stderr, "cowvictim: an attacker failed\n");
	return failed ? 1 : 0;
}
