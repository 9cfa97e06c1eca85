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
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/cowmem.h>

#define PAGES 4

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

		printf("  %s%4d   #%-8llu %4u  '%c'  %s  #%-8llu %4u  '%c'    %s%s\n",
		       on, i, (unsigned long long)p[i].frame_id, p[i].refcount,
		       data_p[i], same ? "<====>" : "  /=  ",
		       (unsigned long long)q[i].frame_id, q[i].refcount,
		       data_q[i], same ? state_names[p[i].state] : "copied",
		       off);
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

static struct child start_child(int fd, char *map, size_t psz)
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

int main(void)
{
	struct cowmem_page_info p[PAGES], q[PAGES];
	char data_p[PAGES], data_q[PAGES];
	size_t psz = (size_t)sysconf(_SC_PAGESIZE);
	long breaks_before, breaks_after;
	struct child child;
	int fd, ok;
	char *map;

	color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open("/dev/cowmem", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open /dev/cowmem (is the module loaded?)");
	map = mmap(NULL, PAGES * psz, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   0);
	if (map == MAP_FAILED)
		die("mmap");

	printf("cowdemo: copy-on-write in /dev/cowmem, step by step\n");
	printf("\n1. P (pid %d) maps %d pages and writes 'A' 'B' 'C' 'D' into them.\n",
	       getpid(), PAGES);
	for (int i = 0; i < PAGES; i++)
		memset(map + i * psz, 'A' + i, psz);

	child = start_child(fd, map, psz);
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
	return ok ? 0 : 1;
}
