// SPDX-License-Identifier: GPL-2.0
/*
 * cowload: a small fork/write workload on /dev/cowmem, so that the tracing
 * tools and cowstat have something to show. It makes every kind of event
 * happen: first writes, zero-page reads, forks, COW breaks in the children
 * and in the parent, and reuses once the children are gone. It also checks
 * that nobody sees another process's writes, and exits 0 when all is well.
 *
 *   cowload [-n PAGES] [-c CHILDREN] [--hold S] [--linger S] [--native]
 *
 * --hold keeps the parent and its children alive for SECONDS once all of
 * them wrote, while their views still share pages, e.g. for cowstat;
 * --linger keeps the parent SECONDS more once they are gone and it rewrote
 * its pages, all of them its own again (reuses).
 * --native does every access on a private anonymous mapping of the same
 * size too: the kernel's own COW on the same workload, for
 * cowstat --map --native PID.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cowmem_user.h"

#define MAX_CHILDREN 64
#define PARENT_TAG 'P'

struct load {
	char *map;
	char *native; /* --native: a private anonymous twin, or NULL */
	bool with_native;
	size_t psz;
	size_t pages; /* size of the mapping */
	size_t written; /* the parent writes [0, written) before fork() */
	int children;
	unsigned int hold;
	unsigned int linger; /* the parent, after the children and the reuses */
};

static char *page(const struct load *l, size_t i)
{
	return l->map + i * l->psz;
}

/* --native: the same page of the anonymous twin, written alike. */
static char *twin(const struct load *l, size_t i)
{
	return l->native ? l->native + i * l->psz : NULL;
}

/* Every access goes to both mappings: the same workload on each COW. */
static void fill(const struct load *l, size_t i, char tag)
{
	memset(page(l, i), tag, l->psz);
	if (l->native)
		memset(twin(l, i), tag, l->psz);
}

static void poke(const struct load *l, size_t i, char tag)
{
	page(l, i)[l->psz / 2] = tag;
	if (l->native)
		twin(l, i)[l->psz / 2] = tag;
}

/* One byte per page is enough to tell whose write a page holds. */
static int tag_check(const struct load *l, const char *p, size_t i, char tag,
		     const char *who)
{
	if (p[0] == tag && p[l->psz - 1] == tag)
		return 0;
	fprintf(stderr, "cowload: %s: page %zu holds %#x, expected %#x\n", who,
		i, (unsigned char)p[0], (unsigned char)tag);
	return -1;
}

static int page_holds(const struct load *l, size_t i, char tag, const char *who)
{
	int bad = tag_check(l, page(l, i), i, tag, who);

	if (l->native)
		bad |= tag_check(l, twin(l, i), i, tag, who);
	return bad;
}

/*
 * The written pages fall in children + 1 blocks: child c writes block c, the
 * parent the start of the last one, which every child leaves shared.
 */
static size_t block_size(const struct load *l)
{
	size_t blk = l->written / ((size_t)l->children + 1);

	return blk ? blk : 1;
}

static bool in_block(const struct load *l, size_t i, size_t c)
{
	return i >= c * block_size(l) && i < (c + 1) * block_size(l);
}

/*
 * Child @c reads every page first, so that the pages nobody wrote map the
 * zero page and its writes go through the write-to-a-read-only-PTE path;
 * then it writes its block: one COW break per page. A byte to its parent
 * (@p, its peer) says it is done writing.
 */
static int child(const struct load *l, int c, const struct cowmem_peer *p)
{
	int bad = 0;
	char tag;
	size_t i;

	for (i = 0; i < l->pages; i++)
		bad |= page_holds(l, i, i < l->written ? PARENT_TAG : 0,
				  "child");
	for (i = 0; i < l->written; i++)
		if (in_block(l, i, c))
			fill(l, i, 'a' + c);
	for (i = 0; i < l->written; i++) {
		tag = in_block(l, i, c) ? 'a' + c : PARENT_TAG;
		bad |= page_holds(l, i, tag, "child");
	}
	if (cowmem_peer_send(p, "w", 1))
		bad = 1;
	if (l->hold)
		sleep(l->hold);
	return bad ? 1 : 0;
}

/* Forks the children, a peer each; -1 when one could not be forked. */
static int spawn(const struct load *l, struct cowmem_peer *kids)
{
	int c;

	fflush(stdout);
	for (c = 0; c < l->children; c++) {
		if (cowmem_peer_fork(&kids[c]) < 0) {
			perror("cowload: fork");
			return -1;
		}
		if (kids[c].pid == 0)
			_exit(child(l, c, &kids[c]));
	}
	return 0;
}

/* Waits until every child said it is done writing (or is gone). */
static void wait_written(const struct load *l, const struct cowmem_peer *kids)
{
	char c;

	for (int i = 0; i < l->children && kids[i].pid > 0; i++)
		cowmem_peer_recv(&kids[i], &c, 1);
}

static int reap(const struct load *l, struct cowmem_peer *kids)
{
	int c, status, bad = 0;
	pid_t pid;

	for (c = 0; c < l->children && kids[c].pid > 0; c++) {
		pid = kids[c].pid;
		status = cowmem_peer_end(&kids[c]);
		if (status) {
			fprintf(stderr,
				"cowload: child %d failed (status %d)\n", pid,
				status);
			bad = 1;
		}
	}
	return bad;
}

static void announce(const struct load *l, const struct cowmem_peer *kids)
{
	int c;

	printf("cowload: parent %d, children", getpid());
	for (c = 0; c < l->children; c++)
		printf(" %d", kids[c].pid);
	printf("; holding for %u s\n", l->hold);
	fflush(stdout);
}

/*
 * The parent writes a few pages every child still shares (COW breaks on its
 * side), and once the children are gone, rewrites the pages they shared with
 * it: no copies then, only reuses.
 */
static int run(const struct load *l)
{
	size_t first = l->children * block_size(l);
	struct cowmem_peer kids[MAX_CHILDREN];
	int bad = 0;
	size_t i;

	for (i = 0; i < MAX_CHILDREN; i++)
		kids[i].pid = -1;
	for (i = 0; i < l->written; i++)
		fill(l, i, PARENT_TAG);
	bad = spawn(l, kids) ? 1 : 0;
	for (i = first; i < l->written && i < first + 4; i++)
		fill(l, i, PARENT_TAG);
	wait_written(l, kids);
	if (l->hold && !bad) {
		announce(l, kids);
		sleep(l->hold);
	}
	bad |= reap(l, kids);
	/* Before any read: a read would map the now exclusive pages writable. */
	for (i = 0; i < l->written; i++)
		poke(l, i, PARENT_TAG);
	for (i = 0; i < l->pages; i++)
		bad |= page_holds(l, i, i < l->written ? PARENT_TAG : 0,
				  "parent");
	if (l->linger)
		sleep(l->linger);
	return bad;
}

static void print_help(FILE *f)
{
	fprintf(f,
		"usage: cowload [-n PAGES] [-c CHILDREN] [--hold SECONDS] [--linger SECONDS]\n"
		"               [--native]\n"
		"  -n PAGES        pages to map (default 64; the parent writes 3/4 of them)\n"
		"  -c CHILDREN     children to fork (default 3, at most %d)\n"
		"  --hold SECONDS  keep every process alive SECONDS after its writes\n"
		"  --linger SECONDS  keep the parent alive SECONDS more once its children\n"
		"                  are gone and it rewrote its pages (reuses, no copies)\n"
		"  --native        the same accesses on a private anonymous mapping too,\n"
		"                  the kernel's own COW (cowstat --map --native PID)\n",
		MAX_CHILDREN);
}

static unsigned long parse_number(const char *arg, unsigned long min,
				  unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "cowload: bad number '%s' (%lu..%lu)\n", arg,
			min, max);
		exit(2);
	}
	return v;
}

static void parse(int argc, char **argv, struct load *l)
{
	static const struct option opts[] = {
		{ "hold", required_argument, NULL, 'H' },
		{ "native", no_argument, NULL, 'N' },
		{ "linger", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "n:c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			l->pages = parse_number(optarg, 4, 1 << 18);
			break;
		case 'c':
			l->children = parse_number(optarg, 1, MAX_CHILDREN);
			break;
		case 'H':
			l->hold = parse_number(optarg, 0, 86400);
			break;
		case 'L':
			l->linger = parse_number(optarg, 0, 86400);
			break;
		case 'N':
			l->with_native = true;
			break;
		case 'h':
			print_help(stdout);
			exit(0);
		default:
			print_help(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		print_help(stderr);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct load l = { .pages = 64, .children = 3 };
	int fd, bad;

	parse(argc, argv, &l);
	l.psz = sysconf(_SC_PAGESIZE);
	l.written = l.pages * 3 / 4;
	fd = open("/dev/cowmem", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("cowload: open /dev/cowmem");
		return 1;
	}
	l.map = mmap(NULL, l.pages * l.psz, PROT_READ | PROT_WRITE, MAP_SHARED,
		     fd, 0);
	if (l.map == MAP_FAILED) {
		perror("cowload: mmap /dev/cowmem");
		return 1;
	}
	if (l.with_native) {
		l.native = mmap(NULL, l.pages * l.psz, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (l.native == MAP_FAILED) {
			perror("cowload: mmap the anonymous twin");
			return 1;
		}
	}
	bad = run(&l);
	if (l.native)
		munmap(l.native, l.pages * l.psz);
	munmap(l.map, l.pages * l.psz);
	close(fd);
	printf("cowload: %zu pages, %d children: %s\n", l.pages, l.children,
	       bad ? "FAILED" : "ok");
	return bad;
}
