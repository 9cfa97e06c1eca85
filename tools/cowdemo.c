// SPDX-License-Identifier: GPL-2.0
/*
 * cowdemo: fork()'s copy-on-write, step by step, through /dev/cowmem.
 *
 * Process P maps 4 pages and fills them, forks Q, and both map the same
 * physical pages; P writes page 3, and afterwards P's page 3 is a new copy
 * while pages 0-2 are still shared. Each step prints both page tables as the
 * module reports them (COWMEM_IOC_PAGE_INFO: frame ids and sharer counts,
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
 *   cowdemo [--snapshot | --merge]
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/cowmem.h>

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

static void page_info(int fd, char *map, struct cowmem_page_info *info)
{
	struct cowmem_page_info_args args = {
		.addr = (unsigned long)map,
		.nr_pages = PAGES,
		.info = (unsigned long)info,
	};

	if (ioctl(fd, COWMEM_IOC_PAGE_INFO, &args))
		die("COWMEM_IOC_PAGE_INFO");
}

/* A counter from debugfs, when we may read it (root); -1 otherwise. */
static long stat_of(const char *name)
{
	FILE *f = fopen("/sys/kernel/debug/cowmem/stats", "r");
	char key[64];
	long value, found = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%63[^:]: %ld\n", key, &value) == 2)
		if (!strcmp(key, name))
			found = value;
	fclose(f);
	return found;
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

/* Both page tables side by side; pages whose frames differ are highlighted. */
static void show(const char *title, const struct cowmem_page_info *p,
		 const struct cowmem_page_info *q, const char *data_p,
		 const char *data_q)
{
	printf("\n  %s\n", title);
	printf("  page   P: frame   refs  data        Q: frame   refs  data   state\n");
	for (int i = 0; i < PAGES; i++) {
		int same = p[i].frame_id == q[i].frame_id;
		const char *on = !same && color ? "\033[1;7m" : "";
		const char *off = !same && color ? "\033[0m" : "";

		printf("  %s%4d   #%-8u %4u  '%c'  %s  #%-8u %4u  '%c'    %s%s\n",
		       on, i, frame_label(p[i].frame_id), p[i].refcount,
		       data_p[i],
		       same ? "<====>" : "  /=  ", frame_label(q[i].frame_id),
		       q[i].refcount, data_q[i],
		       same ? state_names[p[i].state] : "copied", off);
	}
}

struct child {
	pid_t pid;
	int ask; /* parent -> child: "send your table" */
	int answer; /* child -> parent: its table and the first byte of each page */
};

/* Q: answers each request with its page table, until the pipe closes. */
static void child_loop(int fd, char *map, size_t psz, int ask, int answer)
{
	struct cowmem_page_info info[PAGES];
	char data[PAGES], c;

	while (read(ask, &c, 1) == 1) {
		page_info(fd, map, info);
		for (int i = 0; i < PAGES; i++)
			data[i] = map[i * psz];
		if (write(answer, info, sizeof(info)) != sizeof(info) ||
		    write(answer, data, sizeof(data)) != sizeof(data))
			_exit(2);
	}
	_exit(0);
}

static void ask_child(struct child *q, struct cowmem_page_info *info,
		      char *data)
{
	if (write(q->ask, "?", 1) != 1 ||
	    read(q->answer, info, sizeof(*info) * PAGES) !=
		    (ssize_t)(sizeof(*info) * PAGES) ||
	    read(q->answer, data, PAGES) != PAGES)
		die("talking to Q");
}

/* Forks Q, which runs @setup (when not NULL) first, then answers P. */
static struct child start_child(int fd, char *map, size_t psz,
				void (*setup)(char *map, size_t psz))
{
	int ask[2], answer[2];
	struct child q;

	if (pipe(ask) || pipe(answer))
		die("pipe");
	q.pid = fork();
	if (q.pid < 0)
		die("fork");
	if (!q.pid) {
		close(ask[1]);
		close(answer[0]);
		if (setup)
			setup(map, psz);
		child_loop(fd, map, psz, ask[0], answer[1]);
	}
	close(ask[0]);
	close(answer[1]);
	q.ask = ask[1];
	q.answer = answer[0];
	return q;
}

static void own_table(int fd, char *map, size_t psz,
		      struct cowmem_page_info *info, char *data)
{
	page_info(fd, map, info);
	for (int i = 0; i < PAGES; i++)
		data[i] = map[i * psz];
}

/* Copy-on-write's promise after P wrote page 3, checked page by page. */
static int verify(const struct cowmem_page_info *p,
		  const struct cowmem_page_info *q, const char *data_p,
		  const char *data_q)
{
	int ok = 1;

	for (int i = 0; i < PAGES - 1; i++)
		ok &= p[i].frame_id == q[i].frame_id && p[i].refcount == 2 &&
		      p[i].state == COWMEM_PAGE_SHARED &&
		      data_p[i] == data_q[i];
	ok &= p[3].frame_id != q[3].frame_id && p[3].refcount == 1 &&
	      q[3].refcount == 1;
	ok &= data_p[3] == 'X' && data_q[3] == 'D';
	return ok;
}

/* The seed scenario: P maps, fills, forks Q, writes page 3. */
static int seed_demo(int fd, char *map, size_t psz)
{
	struct cowmem_page_info p[PAGES], q[PAGES];
	char data_p[PAGES], data_q[PAGES];
	long breaks_before, breaks_after;
	struct child child;
	int ok;

	printf("cowdemo: copy-on-write in /dev/cowmem, step by step\n");
	printf("\n1. P (pid %d) maps %d pages and writes 'A' 'B' 'C' 'D' into them.\n",
	       getpid(), PAGES);
	for (int i = 0; i < PAGES; i++)
		memset(map + i * psz, 'A' + i, psz);

	child = start_child(fd, map, psz, NULL);
	printf("2. P forks Q (pid %d). Nothing is copied: both map the same frames.\n",
	       child.pid);
	own_table(fd, map, psz, p, data_p);
	ask_child(&child, q, data_q);
	show("after fork():", p, q, data_p, data_q);

	breaks_before = stat_of("cow_breaks");
	printf("\n3. P writes 'X' into page 3. The write faults into cowmem, which\n"
	       "   copies that one page and gives P the copy.\n");
	map[3 * psz] = 'X';
	breaks_after = stat_of("cow_breaks");
	own_table(fd, map, psz, p, data_p);
	ask_child(&child, q, data_q);
	show("after P's write to page 3:", p, q, data_p, data_q);

	if (breaks_before >= 0)
		printf("\n   debugfs stats: cow_breaks %ld -> %ld (+%ld)\n",
		       breaks_before, breaks_after,
		       breaks_after - breaks_before);
	ok = verify(p, q, data_p, data_q) &&
	     (breaks_before < 0 || breaks_after - breaks_before == 1);
	if (ok)
		printf("\n4. Pages 0-2 are still shared (refs 2); page 3 is two frames now,\n"
		       "   one each. That is copy-on-write.\n");
	else
		printf("\n4. UNEXPECTED: this is not what copy-on-write promises.\n");
	close(child.ask);
	if (waitpid(child.pid, NULL, 0) != child.pid)
		die("waitpid");
	return ok;
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

/* "name a -> b (+d)" for a debugfs counter, when debugfs could be read. */
static void show_delta(const char *name, long before, long after)
{
	if (before >= 0 && after >= 0)
		printf("   debugfs stats: %s %ld -> %ld (%+ld)\n", name, before,
		       after, after - before);
}

/* A whole page holds @c in every byte. */
static int page_is(const char *page, size_t psz, char c)
{
	for (size_t i = 0; i < psz; i++)
		if (page[i] != c)
			return 0;
	return 1;
}

/* The snapshot's frames and first bytes, through a read-only mapping of it. */
static void snapshot_table(int sfd, size_t psz, struct cowmem_page_info *info,
			   char *data)
{
	char *map = mmap(NULL, PAGES * psz, PROT_READ, MAP_SHARED, sfd, 0);

	if (map == MAP_FAILED)
		die("mmap of the snapshot");
	own_table(sfd, map, psz, info, data);
	if (munmap(map, PAGES * psz))
		die("munmap of the snapshot");
}

/*
 * P's page table next to S's, the snapshot's as a read-only mapping of it
 * shows them; pages whose frames differ are highlighted.
 */
static void show_snapshot(const char *title, const struct cowmem_page_info *p,
			  const char *data_p, const struct cowmem_page_info *s,
			  const char *data_s)
{
	char f1[24], f2[24], b1[8], b2[8];

	printf("\n  %s\n", title);
	printf("  %4s   %-9s %4s  %-4s  %-10s  %6s   %-9s %s\n", "page",
	       "P: frame", "refs", "data", "state", "", "S: frame", "data");
	for (int i = 0; i < PAGES; i++) {
		int same = p[i].frame_id == s[i].frame_id;
		const char *on = !same && color ? "\033[1;7m" : "";
		const char *off = !same && color ? "\033[0m" : "";

		printf("  %s%4d   %-9s %4u  %-4s  %-10s  %s   %-9s %s%s\n", on,
		       i, show_frame(p[i].frame_id, f1, sizeof(f1)),
		       p[i].refcount, show_byte(data_p[i], b1, sizeof(b1)),
		       state_names[p[i].state], same ? "<====>" : "  /=  ",
		       show_frame(s[i].frame_id, f2, sizeof(f2)),
		       show_byte(data_s[i], b2, sizeof(b2)), off);
	}
}

/* P's view alone, before there is a snapshot. */
static void show_view(const char *title, const struct cowmem_page_info *p,
		      const char *data_p)
{
	char f[24], b[8];

	printf("\n  %s\n", title);
	printf("  %4s   %-9s %4s  %-4s  %s\n", "page", "P: frame", "refs",
	       "data", "state");
	for (int i = 0; i < PAGES; i++)
		printf("  %4d   %-9s %4u  %-4s  %s\n", i,
		       show_frame(p[i].frame_id, f, sizeof(f)), p[i].refcount,
		       show_byte(data_p[i], b, sizeof(b)),
		       state_names[p[i].state]);
}

/*
 * --snapshot: a transaction. Snapshot, scribble over pages 1 and 3, roll
 * back; the page tables before and after each step, and the checks that
 * the snapshot copied nothing and the rollback brought everything back.
 */
static int snapshot_demo(int fd, char *map, size_t psz)
{
	struct cowmem_page_info p[PAGES], s[PAGES], first[PAGES];
	char data_p[PAGES], data_s[PAGES];
	long pages0, allocs0, pages1, allocs1, breaks0, breaks1, changed0,
		changed1, rollbacks0, rollbacks1;
	struct cowmem_snapshot_args snap = { .addr = (unsigned long)map };
	struct cowmem_rollback_args back = { .addr = (unsigned long)map };
	int ok = 1;

	printf("cowdemo --snapshot: a transaction, with a snapshot and a rollback\n");
	printf("\n1. P (pid %d) maps %d pages and writes 'A' 'B' 'C' 'D' into them.\n",
	       getpid(), PAGES);
	for (int i = 0; i < PAGES; i++)
		memset(map + i * psz, 'A' + i, psz);
	own_table(fd, map, psz, first, data_p);
	show_view("P's pages:", first, data_p);

	printf("\n2. P takes a snapshot (COWMEM_IOC_SNAPSHOT). Nothing is copied: the\n"
	       "   snapshot holds P's frames too (2 holders each), and P's next write\n"
	       "   to a page will copy that page.\n");
	pages0 = stat_of("pages");
	allocs0 = stat_of("page_allocs");
	changed0 = stat_of("changed_pages");
	if (ioctl(fd, COWMEM_IOC_SNAPSHOT, &snap))
		die("COWMEM_IOC_SNAPSHOT");
	pages1 = stat_of("pages");
	allocs1 = stat_of("page_allocs");
	own_table(fd, map, psz, p, data_p);
	snapshot_table(snap.fd, psz, s, data_s);
	show_snapshot("after the snapshot:", p, data_p, s, data_s);
	printf("\n");
	show_delta("pages", pages0, pages1);
	show_delta("page_allocs", allocs0, allocs1);
	for (int i = 0; i < PAGES; i++)
		ok &= p[i].frame_id == first[i].frame_id &&
		      s[i].frame_id == first[i].frame_id &&
		      p[i].refcount == 2 && p[i].state == COWMEM_PAGE_SHARED;
	ok &= pages0 < 0 || (pages1 == pages0 && allocs1 == allocs0);

	printf("\n3. The transaction scribbles 'x' over pages 1 and 3. Each write\n"
	       "   copies its page; the snapshot still holds 'B' and 'D'.\n");
	breaks0 = stat_of("cow_breaks");
	memset(map + 1 * psz, 'x', psz);
	memset(map + 3 * psz, 'x', psz);
	breaks1 = stat_of("cow_breaks");
	changed1 = stat_of("changed_pages");
	own_table(fd, map, psz, p, data_p);
	snapshot_table(snap.fd, psz, s, data_s);
	show_snapshot("after the scribbles:", p, data_p, s, data_s);
	printf("\n");
	show_delta("cow_breaks", breaks0, breaks1);
	show_delta("changed_pages", changed0, changed1);
	for (int i = 0; i < PAGES; i++) {
		int scribbled = i == 1 || i == 3;

		ok &= data_s[i] == 'A' + i &&
		      s[i].frame_id == first[i].frame_id;
		ok &= scribbled ?
			      p[i].frame_id != s[i].frame_id &&
				      p[i].refcount == 1 && data_p[i] == 'x' :
			      p[i].frame_id == s[i].frame_id &&
				      p[i].refcount == 2;
	}
	ok &= breaks0 < 0 || breaks1 - breaks0 == 2;
	ok &= changed0 < 0 || changed1 - changed0 == 2;

	printf("\n4. The transaction fails: P rolls back (COWMEM_IOC_ROLLBACK). Its view\n"
	       "   shares the snapshot's frames again, and the two copies are freed.\n");
	back.snapshot_fd = snap.fd;
	pages0 = stat_of("pages");
	rollbacks0 = stat_of("rollbacks");
	if (ioctl(fd, COWMEM_IOC_ROLLBACK, &back))
		die("COWMEM_IOC_ROLLBACK");
	pages1 = stat_of("pages");
	rollbacks1 = stat_of("rollbacks");
	own_table(fd, map, psz, p, data_p);
	snapshot_table(snap.fd, psz, s, data_s);
	show_snapshot("after the rollback:", p, data_p, s, data_s);
	printf("\n");
	show_delta("pages", pages0, pages1);
	show_delta("rollbacks", rollbacks0, rollbacks1);
	for (int i = 0; i < PAGES; i++)
		ok &= p[i].frame_id == first[i].frame_id &&
		      s[i].frame_id == first[i].frame_id &&
		      p[i].refcount == 2 &&
		      page_is(map + i * psz, psz, 'A' + i);
	ok &= pages0 < 0 ||
	      (pages0 - pages1 == 2 && rollbacks1 == rollbacks0 + 1);
	close(snap.fd);

	if (ok)
		printf("\n5. P reads 'A' 'B' 'C' 'D' again, from the very frames it wrote in\n"
		       "   step 1. The transaction left no trace.\n");
	else
		printf("\n5. UNEXPECTED: this is not what a snapshot and a rollback promise.\n");
	return ok;
}

/* Q's writes in --merge: 'M' into page 2 (P's page 0's twin), 'Q' into page 3. */
static void merge_child_writes(char *map, size_t psz)
{
	memset(map + 2 * psz, 'M', psz);
	memset(map + 3 * psz, 'Q', psz);
}

/* Both processes' pages, one row each; rows whose frame the other process holds too say where. */
static void show_both(const char *title, const struct cowmem_page_info *p,
		      const char *data_p, const struct cowmem_page_info *q,
		      const char *data_q)
{
	const struct cowmem_page_info *tables[2] = { p, q };
	const char *data[2] = { data_p, data_q };
	char f[24], b[8];

	printf("\n  %s\n", title);
	printf("  %-3s  %4s  %-9s %4s  %-4s  %-9s  %s\n", "who", "page",
	       "frame", "refs", "data", "state", "same frame as");
	for (int who = 0; who < 2; who++) {
		const struct cowmem_page_info *mine = tables[who];
		const struct cowmem_page_info *other = tables[!who];

		for (int i = 0; i < PAGES; i++) {
			int twin = -1;

			for (int j = 0; mine[i].frame_id && j < PAGES; j++)
				if (other[j].frame_id == mine[i].frame_id)
					twin = j;
			printf("  %s%-3c  %4d  %-9s %4u  %-4s  %-9s  ",
			       twin >= 0 && color ? "\033[1;7m" : "",
			       who ? 'Q' : 'P', i,
			       show_frame(mine[i].frame_id, f, sizeof(f)),
			       mine[i].refcount,
			       show_byte(data[who][i], b, sizeof(b)),
			       state_names[mine[i].state]);
			if (twin >= 0)
				printf("%c's page %d%s\n", who ? 'P' : 'Q',
				       twin, color ? "\033[0m" : "");
			else
				printf("-\n");
		}
	}
}

/* "pages N (K KiB)" from debugfs, when it can be read. */
static void show_pages(const char *when, long pages, size_t psz)
{
	if (pages >= 0)
		printf("   debugfs stats %s: pages %ld (%ld KiB)\n", when,
		       pages, pages * (long)psz / 1024);
}

/*
 * --merge: P and its child Q write the same contents into different pages,
 * P a page of zeros too; P merges; the twins share one frame (refcount 2),
 * the zeros go back to the zero page, and the module holds 2 pages fewer.
 * Then P writes its twin, which copies it again, and Q keeps its 'M'.
 */
static int merge_demo(int fd, char *map, size_t psz)
{
	struct cowmem_page_info p[PAGES], q[PAGES];
	struct cowmem_merge_args args = {
		.addr = (unsigned long)map,
		.fd = -1,
		.budget = COWMEM_MERGE_MAX_BUDGET,
	};
	char data_p[PAGES], data_q[PAGES];
	long pages0, pages1, merged0, merged1, breaks0, breaks1;
	struct child child;
	int ok = 1;

	printf("cowdemo --merge: same-page merging across two processes\n");
	printf("\n1. P (pid %d) maps %d pages and forks Q before writing anything.\n",
	       getpid(), PAGES);
	child = start_child(fd, map, psz, merge_child_writes);
	printf("2. P writes 'M' into page 0 and zeros into page 1; Q (pid %d) writes\n"
	       "   'M' into page 2 and 'Q' into page 3. Four frames, one holder each.\n",
	       child.pid);
	memset(map, 'M', psz);
	memset(map + psz, 0, psz);
	own_table(fd, map, psz, p, data_p);
	ask_child(&child, q, data_q);
	show_both("before the merge:", p, data_p, q, data_q);
	pages0 = stat_of("pages");
	merged0 = stat_of("merged_pages");
	printf("\n");
	show_pages("before", pages0, psz);
	ok &= p[0].refcount == 1 && q[2].refcount == 1 &&
	      p[0].frame_id != q[2].frame_id && p[1].refcount == 1;

	printf("\n3. P asks cowmem to merge (COWMEM_IOC_MERGE). It scans both views,\n"
	       "   folds P's page 0 and Q's page 2 into one write-protected frame, and\n"
	       "   gives P's zero-filled page 1 back to the zero page.\n");
	if (ioctl(fd, COWMEM_IOC_MERGE, &args))
		die("COWMEM_IOC_MERGE");
	printf("\n   merge: scanned %llu, merged %llu (zero-filled %llu), skipped %llu\n",
	       (unsigned long long)args.scanned,
	       (unsigned long long)args.merged, (unsigned long long)args.zeroed,
	       (unsigned long long)args.skipped);
	pages1 = stat_of("pages");
	merged1 = stat_of("merged_pages");
	own_table(fd, map, psz, p, data_p);
	ask_child(&child, q, data_q);
	show_both("after the merge:", p, data_p, q, data_q);
	printf("\n");
	show_pages("after", pages1, psz);
	show_delta("merged_pages", merged0, merged1);
	ok &= args.merged == 2 && args.zeroed == 1 && args.next == 0;
	ok &= p[0].frame_id == q[2].frame_id && p[0].refcount == 2 &&
	      q[2].refcount == 2 && p[0].state == COWMEM_PAGE_SHARED;
	ok &= p[1].frame_id == 0 && (p[1].state == COWMEM_PAGE_NONE ||
				     p[1].state == COWMEM_PAGE_ZERO);
	ok &= data_p[0] == 'M' && data_q[2] == 'M' && data_p[1] == 0;
	ok &= pages0 < 0 || (pages0 - pages1 == 2 && merged1 - merged0 == 2);

	printf("\n4. P writes 'X' into page 0. The merged frame is shared, so the write\n"
	       "   copies it, as after fork(); Q still reads 'M'.\n");
	breaks0 = stat_of("cow_breaks");
	map[0] = 'X';
	breaks1 = stat_of("cow_breaks");
	own_table(fd, map, psz, p, data_p);
	ask_child(&child, q, data_q);
	show_both("after P's write:", p, data_p, q, data_q);
	printf("\n");
	show_delta("cow_breaks", breaks0, breaks1);
	ok &= p[0].frame_id != q[2].frame_id && p[0].refcount == 1 &&
	      q[2].refcount == 1 && data_p[0] == 'X' && data_q[2] == 'M';
	ok &= breaks0 < 0 || breaks1 - breaks0 == 1;

	if (ok)
		printf("\n5. Merging found the twins across two processes and freed two pages;\n"
		       "   copy-on-write keeps each process's writes its own.\n");
	else
		printf("\n5. UNEXPECTED: this is not what merging promises.\n");
	close(child.ask);
	if (waitpid(child.pid, NULL, 0) != child.pid)
		die("waitpid");
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
	int (*demo)(int fd, char *map, size_t psz) = seed_demo;
	size_t psz = (size_t)sysconf(_SC_PAGESIZE);
	int fd;
	char *map;

	if (argc >= 2 && !strcmp(argv[1], "--redis"))
		return exec_script("cowdemo-redis", argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "--python"))
		return exec_script("cowdemo-python", argv + 1);
	if (argc > 2) {
		print_help(stderr);
		return 2;
	}
	if (argc == 2 && !strcmp(argv[1], "--snapshot")) {
		demo = snapshot_demo;
	} else if (argc == 2 && !strcmp(argv[1], "--merge")) {
		demo = merge_demo;
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
	fd = open("/dev/cowmem", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/cowmem (is the module loaded?)");
	map = mmap(NULL, PAGES * psz, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   0);
	if (map == MAP_FAILED)
		die("mmap");
	return demo(fd, map, psz) ? 0 : 1;
}
