// SPDX-License-Identifier: GPL-2.0
/*
 * cowdemo: fork()'s copy-on-write, step by step, through /dev/cowmem.
 *
 * Process P maps 4 pages and fills them, forks Q, and both map the same
 * physical pages; P writes page 3, and afterwards P's page 3 is a new copy
 * while pages 0-2 are still shared. Each step prints both page tables as the
 * module reports them (COWMEM_IOC_PAGE_INFO: frame ids and refcounts,
 * never physical addresses). Exits non-zero if what it sees is not what
 * copy-on-write promises.
 *
 * --snapshot: a transaction. P takes a snapshot (COWMEM_IOC_SNAPSHOT), which
 * copies nothing; scribbles over two pages, which copies just those; then
 * rolls back (COWMEM_IOC_ROLLBACK) and shares the snapshot's frames again.
 *
 * --merge: same-page merging. P and its child Q write the same contents into
 * different pages, and P a page of zeros; COWMEM_IOC_MERGE folds the twins
 * into one frame both hold and gives the zero-filled page back to the zero
 * page: the refcounts go up, the module's pages go down.
 *
 * Each story is data: a table of steps (struct step), each an action, its
 * narration, the tables shown after it, the debugfs counters it changes
 * and by how much, and what must hold then. One loop, tell(), walks them.
 *
 *   cowdemo [--snapshot | --merge]
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cowmem_user.h"

#define PAGES 4
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const state_names[] = {
	[COWMEM_PAGE_NONE] = "none",
	[COWMEM_PAGE_ZERO] = "zero",
	[COWMEM_PAGE_SHARED] = "shared",
	[COWMEM_PAGE_EXCLUSIVE] = "exclusive",
};

static int color;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* One process's pages as the module reports them, and the first byte of each. */
struct table {
	struct cowmem_page_info info[PAGES];
	char data[PAGES];
};

/* Everything a story's steps act on and look at. */
struct demo {
	int fd;
	char *map;
	size_t psz;
	struct cowmem_peer q; /* P's child Q, which answers with its table */
	int sfd; /* the snapshot's file */
	struct table p, other; /* P's, and Q's or the snapshot's */
	struct table first; /* P's at step 1 */
	struct cowmem_merge_args merge;
};

/* A debugfs counter a step changes, and by how much. */
struct watch {
	const char *name;
	long delta;
	const char *file; /* the debugfs file that has it; NULL: "stats" */
};

/*
 * One step of a story: what P does, what the demo says about it (%P and %Q
 * stand for "pid N" of P and of Q), the tables it shows after, the counters it
 * changes, and what must hold then.
 */
struct step {
	void (*act)(struct demo *d);
	const char *say;
	void (*show)(struct demo *d, const char *title);
	const char *title;
	struct watch watch[2];
	int (*expect)(const struct demo *d);
};

struct story {
	const char *title;
	const struct step *steps;
	size_t nr_steps;
	const char *moral; /* the last step's words when every check held */
	const char *broken; /* ... and when one did not */
};

/* The tables */

static void own_table(int fd, const char *map, size_t psz, struct table *t)
{
	if (cowmem_page_info(fd, map, PAGES, t->info))
		die("COWMEM_IOC_PAGE_INFO");
	for (int i = 0; i < PAGES; i++)
		t->data[i] = map[i * psz];
}

/* Q's table, asked for over the peer's pipes. */
static void child_table(struct demo *d, struct table *t)
{
	if (cowmem_peer_send(&d->q, "?", 1) ||
	    cowmem_peer_recv(&d->q, t, sizeof(*t)))
		die("talking to Q");
}

/* The snapshot's frames and first bytes, through a read-only mapping of it. */
static void snapshot_table(struct demo *d, struct table *t)
{
	char *map =
		mmap(NULL, PAGES * d->psz, PROT_READ, MAP_SHARED, d->sfd, 0);

	if (map == MAP_FAILED)
		die("mmap of the snapshot");
	own_table(d->sfd, map, d->psz, t);
	if (munmap(map, PAGES * d->psz))
		die("munmap of the snapshot");
}

/*
 * A short name for a frame: frame ids are keyed hashes (20 digits, in no
 * order), so the demo numbers the frames in the order it first shows them.
 */
static unsigned int frame_label(__u64 id)
{
	static __u64 seen[512];
	static unsigned int nr;
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (seen[i] == id)
			return i + 1;
	if (nr == ARRAY_SIZE(seen))
		return 0;
	seen[nr++] = id;
	return nr;
}

/* A byte as the tables show it: 'c' when printable, else its hex value. */
static const char *show_byte(char c, char *buf, size_t len)
{
	if (isprint((unsigned char)c))
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "0x%02x", (unsigned char)c);
	return buf;
}

/* A frame id as the tables show it: "#N", or "-" for none. */
static const char *show_frame(__u64 id, char *buf, size_t len)
{
	if (id)
		snprintf(buf, len, "#%u", frame_label(id));
	else
		snprintf(buf, len, "-");
	return buf;
}

/* P's and Q's tables side by side; pages whose frames differ are highlighted. */
static void show_fork(struct demo *d, const char *title)
{
	const struct cowmem_page_info *p = d->p.info, *q = d->other.info;

	own_table(d->fd, d->map, d->psz, &d->p);
	child_table(d, &d->other);
	printf("\n  %s\n", title);
	printf("  page   P: frame   refs  data        Q: frame   refs  data   state\n");
	for (int i = 0; i < PAGES; i++) {
		int same = p[i].frame_id == q[i].frame_id;
		const char *on = !same && color ? "\033[1;7m" : "";
		const char *off = !same && color ? "\033[0m" : "";

		printf("  %s%4d   #%-8u %4u  '%c'  %s  #%-8u %4u  '%c'    %s%s\n",
		       on, i, frame_label(p[i].frame_id), p[i].refcount,
		       d->p.data[i],
		       same ? "<====>" : "  /=  ", frame_label(q[i].frame_id),
		       q[i].refcount, d->other.data[i],
		       same ? state_names[p[i].state] : "copied", off);
	}
}

/* P's table alone, before there is a snapshot. */
static void show_alone(struct demo *d, const char *title)
{
	const struct cowmem_page_info *p = d->p.info;
	char f[24], b[8];

	own_table(d->fd, d->map, d->psz, &d->p);
	printf("\n  %s\n", title);
	printf("  %4s   %-9s %4s  %-4s  %s\n", "page", "P: frame", "refs",
	       "data", "state");
	for (int i = 0; i < PAGES; i++)
		printf("  %4d   %-9s %4u  %-4s  %s\n", i,
		       show_frame(p[i].frame_id, f, sizeof(f)), p[i].refcount,
		       show_byte(d->p.data[i], b, sizeof(b)),
		       state_names[p[i].state]);
}

/* P's table next to the snapshot's (S); pages whose frames differ are highlighted. */
static void show_snapshot(struct demo *d, const char *title)
{
	const struct cowmem_page_info *p = d->p.info, *s = d->other.info;
	char f1[24], f2[24], b1[8], b2[8];

	own_table(d->fd, d->map, d->psz, &d->p);
	snapshot_table(d, &d->other);
	printf("\n  %s\n", title);
	printf("  %4s   %-9s %4s  %-4s  %-10s  %6s   %-9s %s\n", "page",
	       "P: frame", "refs", "data", "state", "", "S: frame", "data");
	for (int i = 0; i < PAGES; i++) {
		int same = p[i].frame_id == s[i].frame_id;
		const char *on = !same && color ? "\033[1;7m" : "";
		const char *off = !same && color ? "\033[0m" : "";

		printf("  %s%4d   %-9s %4u  %-4s  %-10s  %s   %-9s %s%s\n", on,
		       i, show_frame(p[i].frame_id, f1, sizeof(f1)),
		       p[i].refcount, show_byte(d->p.data[i], b1, sizeof(b1)),
		       state_names[p[i].state], same ? "<====>" : "  /=  ",
		       show_frame(s[i].frame_id, f2, sizeof(f2)),
		       show_byte(d->other.data[i], b2, sizeof(b2)), off);
	}
}

/* One process's rows in show_both(): the other's page with the same frame, if any. */
static void show_rows(char who, const struct table *mine,
		      const struct table *other)
{
	char f[24], b[8];

	for (int i = 0; i < PAGES; i++) {
		const struct cowmem_page_info *m = &mine->info[i];
		int twin = -1;

		for (int j = 0; m->frame_id && j < PAGES; j++)
			if (other->info[j].frame_id == m->frame_id)
				twin = j;
		printf("  %s%-3c  %4d  %-9s %4u  %-4s  %-9s  ",
		       twin >= 0 && color ? "\033[1;7m" : "", who, i,
		       show_frame(m->frame_id, f, sizeof(f)), m->refcount,
		       show_byte(mine->data[i], b, sizeof(b)),
		       state_names[m->state]);
		if (twin >= 0)
			printf("%c's page %d%s\n", who == 'P' ? 'Q' : 'P', twin,
			       color ? "\033[0m" : "");
		else
			printf("-\n");
	}
}

/* Both processes' pages, one row each, saying which share a frame. */
static void show_both(struct demo *d, const char *title)
{
	own_table(d->fd, d->map, d->psz, &d->p);
	child_table(d, &d->other);
	printf("\n  %s\n", title);
	printf("  %-3s  %4s  %-9s %4s  %-4s  %-9s  %s\n", "who", "page",
	       "frame", "refs", "data", "state", "same frame as");
	show_rows('P', &d->p, &d->other);
	show_rows('Q', &d->other, &d->p);
}

/* What the merge reported, then both processes' pages. */
static void show_merged(struct demo *d, const char *title)
{
	printf("\n   merge: scanned %llu, merged %llu (zero-filled %llu), skipped %llu\n",
	       (unsigned long long)d->merge.scanned,
	       (unsigned long long)d->merge.merged,
	       (unsigned long long)d->merge.zeroed,
	       (unsigned long long)d->merge.skipped);
	show_both(d, title);
}

/* The actions */

static void write_abcd(struct demo *d)
{
	cowmem_fill(d->map, PAGES, d->psz, 'A');
}

/* Step 1 of --snapshot: what the rollback must bring back. */
static void write_abcd_keep(struct demo *d)
{
	write_abcd(d);
	own_table(d->fd, d->map, d->psz, &d->first);
}

/* Forks Q, which runs @setup (when not NULL), then answers each "?" with its table. */
static void fork_q(struct demo *d, void (*setup)(char *map, size_t psz))
{
	struct table t;
	char c;

	if (cowmem_peer_fork(&d->q) < 0)
		die("fork");
	if (d->q.pid)
		return;
	if (setup)
		setup(d->map, d->psz);
	while (!cowmem_peer_recv(&d->q, &c, 1)) {
		own_table(d->fd, d->map, d->psz, &t);
		if (cowmem_peer_send(&d->q, &t, sizeof(t)))
			_exit(2);
	}
	_exit(0);
}

static void fork_plain(struct demo *d)
{
	fork_q(d, NULL);
}

/* Q's writes in --merge: 'M' into page 2 (P's page 0's twin), 'Q' into page 3. */
static void q_writes(char *map, size_t psz)
{
	memset(map + 2 * psz, 'M', psz);
	memset(map + 3 * psz, 'Q', psz);
}

static void fork_writing(struct demo *d)
{
	fork_q(d, q_writes);
}

static void write_x_page3(struct demo *d)
{
	d->map[3 * d->psz] = 'X';
}

static void write_x_page0(struct demo *d)
{
	d->map[0] = 'X';
}

static void take_snapshot(struct demo *d)
{
	d->sfd = cowmem_snapshot(d->fd, d->map, 0);
	if (d->sfd < 0)
		die("COWMEM_IOC_SNAPSHOT");
}

static void scribble(struct demo *d)
{
	memset(d->map + 1 * d->psz, 'x', d->psz);
	memset(d->map + 3 * d->psz, 'x', d->psz);
}

static void roll_back(struct demo *d)
{
	if (cowmem_rollback(d->fd, d->map, d->sfd, 0))
		die("COWMEM_IOC_ROLLBACK");
}

static void write_m_and_zeros(struct demo *d)
{
	memset(d->map, 'M', d->psz);
	memset(d->map + d->psz, 0, d->psz);
}

static void merge(struct demo *d)
{
	if (cowmem_merge(d->fd, d->map, -1, 0, COWMEM_MERGE_MAX_BUDGET,
			 &d->merge))
		die("COWMEM_IOC_MERGE");
}

/* The expectations */

/* Page @i is one frame with two holders, the same in P and in the other table. */
static int shared(const struct demo *d, int i)
{
	const struct cowmem_page_info *p = &d->p.info[i];
	const struct cowmem_page_info *o = &d->other.info[i];

	return p->frame_id && p->frame_id == o->frame_id && p->refcount == 2 &&
	       p->state == COWMEM_PAGE_SHARED &&
	       d->p.data[i] == d->other.data[i];
}

/* P's page @i is a copy of its own, apart from the other table's frame. */
static int apart(const struct demo *d, int i)
{
	return d->p.info[i].frame_id != d->other.info[i].frame_id &&
	       d->p.info[i].refcount == 1;
}

/* P's page @i is the frame it wrote at step 1. */
static int kept(const struct demo *d, int i)
{
	return d->p.info[i].frame_id == d->first.info[i].frame_id;
}

static int all_shared(const struct demo *d)
{
	int ok = 1;

	for (int i = 0; i < PAGES; i++)
		ok &= shared(d, i);
	return ok;
}

/* Copy-on-write's promise after P wrote page 3. */
static int page3_copied(const struct demo *d)
{
	return shared(d, 0) && shared(d, 1) && shared(d, 2) && apart(d, 3) &&
	       d->other.info[3].refcount == 1 && d->p.data[3] == 'X' &&
	       d->other.data[3] == 'D';
}

/* The snapshot copied nothing: P and S hold the frames P wrote. */
static int snapshot_copied_nothing(const struct demo *d)
{
	int ok = all_shared(d);

	for (int i = 0; i < PAGES; i++)
		ok &= kept(d, i);
	return ok;
}

/* Pages 1 and 3 are copies P scribbled on; S still holds what P wrote. */
static int scribbles_copied(const struct demo *d)
{
	int ok = shared(d, 0) && shared(d, 2) && apart(d, 1) && apart(d, 3);

	for (int i = 0; i < PAGES; i++)
		ok &= d->other.info[i].frame_id == d->first.info[i].frame_id &&
		      d->other.data[i] == 'A' + i;
	return ok && d->p.data[1] == 'x' && d->p.data[3] == 'x';
}

/* P shares S's frames again, which are the ones it wrote at step 1. */
static int rolled_back(const struct demo *d)
{
	int ok = all_shared(d);

	for (int i = 0; i < PAGES; i++)
		ok &= kept(d, i) &&
		      cowmem_page_is(d->map + i * d->psz, d->psz, 'A' + i);
	return ok;
}

/* Four frames with one holder each: P's page 0 and Q's page 2 are twins apart. */
static int twins_apart(const struct demo *d)
{
	const struct cowmem_page_info *p = d->p.info, *q = d->other.info;

	return p[0].refcount == 1 && q[2].refcount == 1 &&
	       p[0].frame_id != q[2].frame_id && p[1].refcount == 1;
}

/* The twins are one frame both hold; P's zeros are the zero page again. */
static int twins_merged(const struct demo *d)
{
	const struct cowmem_page_info *p = d->p.info, *q = d->other.info;

	return d->merge.merged == 2 && d->merge.zeroed == 1 &&
	       d->merge.next == 0 && p[0].frame_id == q[2].frame_id &&
	       p[0].refcount == 2 && q[2].refcount == 2 &&
	       p[0].state == COWMEM_PAGE_SHARED && p[1].frame_id == 0 &&
	       (p[1].state == COWMEM_PAGE_NONE ||
		p[1].state == COWMEM_PAGE_ZERO) &&
	       d->p.data[0] == 'M' && d->other.data[2] == 'M' &&
	       d->p.data[1] == 0;
}

/* P's write copied the merged frame; Q keeps its 'M'. */
static int twin_copied(const struct demo *d)
{
	const struct cowmem_page_info *p = d->p.info, *q = d->other.info;

	return p[0].frame_id != q[2].frame_id && p[0].refcount == 1 &&
	       q[2].refcount == 1 && d->p.data[0] == 'X' &&
	       d->other.data[2] == 'M';
}

/* The stories */

static const struct step fork_steps[] = {
	{
		.act = write_abcd,
		.say = "P (%P) maps 4 pages and writes 'A' 'B' 'C' 'D' into them.",
	},
	{
		.act = fork_plain,
		.say = "P forks Q (%Q). Nothing is copied: both map the same frames.",
		.show = show_fork,
		.title = "after fork():",
		.expect = all_shared,
	},
	{
		.act = write_x_page3,
		.say = "P writes 'X' into page 3. The write faults into cowmem, which\n"
		       "   copies that one page and gives P the copy.",
		.show = show_fork,
		.title = "after P's write to page 3:",
		.watch = { { "cow_breaks", 1 } },
		.expect = page3_copied,
	},
};

static const struct step snapshot_steps[] = {
	{
		.act = write_abcd_keep,
		.say = "P (%P) maps 4 pages and writes 'A' 'B' 'C' 'D' into them.",
		.show = show_alone,
		.title = "P's pages:",
	},
	{
		.act = take_snapshot,
		.say = "P takes a snapshot (COWMEM_IOC_SNAPSHOT). Nothing is copied: the\n"
		       "   snapshot holds P's frames too (2 holders each), and P's next write\n"
		       "   to a page will copy that page.",
		.show = show_snapshot,
		.title = "after the snapshot:",
		.watch = { { "pages", 0 }, { "page_allocs", 0 } },
		.expect = snapshot_copied_nothing,
	},
	{
		.act = scribble,
		.say = "The transaction scribbles 'x' over pages 1 and 3. Each write\n"
		       "   copies its page; the snapshot still holds 'B' and 'D'.",
		.show = show_snapshot,
		.title = "after the scribbles:",
		.watch = { { "cow_breaks", 2 },
			   { "changed_pages", 2, "snapshots" } },
		.expect = scribbles_copied,
	},
	{
		.act = roll_back,
		.say = "The transaction fails: P rolls back (COWMEM_IOC_ROLLBACK). Its view\n"
		       "   shares the snapshot's frames again, and the two copies are freed.",
		.show = show_snapshot,
		.title = "after the rollback:",
		.watch = { { "pages", -2 }, { "rollbacks", 1 } },
		.expect = rolled_back,
	},
};

static const struct step merge_steps[] = {
	{
		.act = fork_writing,
		.say = "P (%P) maps 4 pages and forks Q before writing anything.",
	},
	{
		.act = write_m_and_zeros,
		.say = "P writes 'M' into page 0 and zeros into page 1; Q (%Q) writes\n"
		       "   'M' into page 2 and 'Q' into page 3. Four frames, one holder each.",
		.show = show_both,
		.title = "before the merge:",
		.expect = twins_apart,
	},
	{
		.act = merge,
		.say = "P asks cowmem to merge (COWMEM_IOC_MERGE). It scans both views,\n"
		       "   folds P's page 0 and Q's page 2 into one write-protected frame, and\n"
		       "   gives P's zero-filled page 1 back to the zero page.",
		.show = show_merged,
		.title = "after the merge:",
		.watch = { { "pages", -2 }, { "merged_pages", 2 } },
		.expect = twins_merged,
	},
	{
		.act = write_x_page0,
		.say = "P writes 'X' into page 0. The merged frame is shared, so the write\n"
		       "   copies it, as after fork(); Q still reads 'M'.",
		.show = show_both,
		.title = "after P's write:",
		.watch = { { "cow_breaks", 1 } },
		.expect = twin_copied,
	},
};

static const struct story fork_story = {
	.title = "cowdemo: copy-on-write in /dev/cowmem, step by step",
	.steps = fork_steps,
	.nr_steps = ARRAY_SIZE(fork_steps),
	.moral =
		"Pages 0-2 are still shared (refs 2); page 3 is two frames now,\n"
		"   one each. That is copy-on-write.",
	.broken = "UNEXPECTED: this is not what copy-on-write promises.",
};

static const struct story snapshot_story = {
	.title =
		"cowdemo --snapshot: a transaction, with a snapshot and a rollback",
	.steps = snapshot_steps,
	.nr_steps = ARRAY_SIZE(snapshot_steps),
	.moral =
		"P reads 'A' 'B' 'C' 'D' again, from the very frames it wrote in\n"
		"   step 1. The transaction left no trace.",
	.broken =
		"UNEXPECTED: this is not what a snapshot and a rollback promise.",
};

static const struct story merge_story = {
	.title = "cowdemo --merge: same-page merging across two processes",
	.steps = merge_steps,
	.nr_steps = ARRAY_SIZE(merge_steps),
	.moral =
		"Merging found the twins across two processes and freed two pages;\n"
		"   copy-on-write keeps each process's writes its own.",
	.broken = "UNEXPECTED: this is not what merging promises.",
};

/* The loop */

/* A step's words, with %P and %Q replaced by "pid N" of P and of Q. */
static void say(const struct demo *d, const char *words)
{
	for (const char *c = words; *c; c++) {
		if (c[0] != '%' || (c[1] != 'P' && c[1] != 'Q')) {
			putchar(*c);
			continue;
		}
		c++;
		printf("pid %d", *c == 'P' ? (int)getpid() : (int)d->q.pid);
	}
	putchar('\n');
}

static const char *watch_file(const struct watch *w)
{
	return w->file ? w->file : "stats";
}

/* The step's counters; -1 for each when debugfs cannot be read (not root). */
static void read_watch(const struct step *s, long *v)
{
	for (size_t i = 0; i < ARRAY_SIZE(s->watch); i++)
		v[i] = s->watch[i].name ?
			       cowmem_debugfs_value(watch_file(&s->watch[i]),
						    s->watch[i].name) :
			       -1;
}

/* Prints the counters' changes; 0 when one changed by other than the step's delta. */
static int check_watch(const struct step *s, const long *before,
		       const long *after)
{
	int ok = 1;

	for (size_t i = 0; i < ARRAY_SIZE(s->watch); i++) {
		if (before[i] < 0 || after[i] < 0)
			continue;
		printf("%s   debugfs %s: %s %ld -> %ld (%+ld)\n", i ? "" : "\n",
		       watch_file(&s->watch[i]), s->watch[i].name, before[i],
		       after[i], after[i] - before[i]);
		ok &= after[i] - before[i] == s->watch[i].delta;
	}
	return ok;
}

/* Acts, says and shows each step in turn, checking each; 1 when all held. */
static int tell(const struct story *story, struct demo *d)
{
	long before[2], after[2];
	int ok = 1, gap = 1;
	size_t i;

	printf("%s\n", story->title);
	for (i = 0; i < story->nr_steps; i++) {
		const struct step *s = &story->steps[i];

		read_watch(s, before);
		s->act(d);
		read_watch(s, after);
		printf("%s%zu. ", gap ? "\n" : "", i + 1);
		say(d, s->say);
		if (s->show)
			s->show(d, s->title);
		ok &= check_watch(s, before, after);
		if (s->expect)
			ok &= s->expect(d);
		gap = !!s->show;
	}
	printf("%s%zu. %s\n", gap ? "\n" : "", i + 1,
	       ok ? story->moral : story->broken);
	return ok;
}

static int run(const struct story *story)
{
	struct demo d = { .psz = cowmem_page_size(), .q.pid = -1, .sfd = -1 };
	int ok;

	d.fd = cowmem_open();
	if (d.fd < 0)
		die("open /dev/cowmem (is the module loaded?)");
	d.map = cowmem_map(d.fd, PAGES, 0);
	if (!d.map)
		die("mmap");
	ok = tell(story, &d);
	if (d.q.pid > 0 && cowmem_peer_end(&d.q))
		ok = 0;
	if (d.sfd >= 0)
		close(d.sfd);
	return ok;
}

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: cowdemo [--snapshot | --merge | --redis ... | --python ...]\n"
		"  (no option)  fork()'s copy-on-write, step by step\n"
		"  --snapshot   a transaction: snapshot, scribble, roll back\n"
		"  --merge      same-page merging across a parent and its child\n"
		"  --redis      Redis BGSAVE under cowrun (tools/cowdemo-redis)\n"
		"  --python     a Python child that only reads (tools/cowdemo-python)\n");
}

/*
 * cowdemo --redis and --python run programs people know under cowrun: each
 * is a script beside this binary, given the remaining arguments.
 */
static int exec_script(const char *name, char **argv)
{
	char path[PATH_MAX];
	char *slash;

	if (!realpath("/proc/self/exe", path))
		die("realpath /proc/self/exe");
	slash = strrchr(path, '/');
	snprintf(slash + 1, sizeof(path) - (slash + 1 - path), "%s", name);
	argv[0] = path;
	execv(path, argv);
	die(path);
	return 1;
}

int main(int argc, char **argv)
{
	const struct story *story = &fork_story;

	if (argc >= 2 && !strcmp(argv[1], "--redis"))
		return exec_script("cowdemo-redis", argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "--python"))
		return exec_script("cowdemo-python", argv + 1);
	if (argc > 2) {
		print_help(stderr);
		return 2;
	}
	if (argc == 2 && !strcmp(argv[1], "--snapshot")) {
		story = &snapshot_story;
	} else if (argc == 2 && !strcmp(argv[1], "--merge")) {
		story = &merge_story;
	} else if (argc == 2 &&
		   (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		print_help(stdout);
		return 0;
	} else if (argc == 2) {
		print_help(stderr);
		return 2;
	}

	color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run(story) ? 0 : 1;
}
