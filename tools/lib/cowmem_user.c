// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem_user: what the selftests and the tools share (cowmem_user.h says
 * what is here). The debugfs formats are parsed in this file only, so that
 * a change to them is made once.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cowmem_user.h"

size_t cowmem_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

int cowmem_open(void)
{
	return open(COWMEM_DEV, O_RDWR | O_CLOEXEC);
}

/* A read-write MAP_SHARED mapping of @pages pages at page offset @pgoff. */
char *cowmem_map(int fd, size_t pages, size_t pgoff)
{
	void *p = mmap(NULL, pages * cowmem_page_size(), PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, (off_t)(pgoff * cowmem_page_size()));

	return p == MAP_FAILED ? NULL : p;
}

/* COWMEM_IOC_PAGE_INFO for @nr pages from @addr; returns ioctl()'s result. */
int cowmem_page_info(int fd, const void *addr, size_t nr,
		     struct cowmem_page_info *info)
{
	struct cowmem_page_info_args args = {
		.addr = (unsigned long)addr,
		.nr_pages = nr,
		.info = (unsigned long)info,
	};

	return ioctl(fd, COWMEM_IOC_PAGE_INFO, &args);
}

/*
 * COWMEM_IOC_SNAPSHOT of the caller's view mapped at @addr (a mapping of
 * @fd); the snapshot's new fd, or -1 with errno set.
 */
int cowmem_snapshot(int fd, const void *addr, unsigned int flags)
{
	struct cowmem_snapshot_args args = {
		.addr = (unsigned long)addr,
		.flags = flags,
		.fd = -1,
	};

	if (ioctl(fd, COWMEM_IOC_SNAPSHOT, &args))
		return -1;
	return args.fd;
}

/* COWMEM_IOC_ROLLBACK of the view mapped at @addr to @snapshot_fd; ioctl()'s result. */
int cowmem_rollback(int fd, const void *addr, int snapshot_fd,
		    unsigned int flags)
{
	struct cowmem_rollback_args args = {
		.addr = (unsigned long)addr,
		.snapshot_fd = snapshot_fd,
		.flags = flags,
	};

	return ioctl(fd, COWMEM_IOC_ROLLBACK, &args);
}

/*
 * COWMEM_IOC_MERGE from page offset @start, at most @budget pages, of the
 * region mapped at @addr (and of @other_fd's region, unless it is -1); the
 * results in @out, which may be NULL. Returns ioctl()'s result.
 */
int cowmem_merge(int fd, const void *addr, int other_fd, __u64 start,
		 __u64 budget, struct cowmem_merge_args *out)
{
	struct cowmem_merge_args args = {
		.addr = (unsigned long)addr,
		.fd = other_fd,
		.start = start,
		.budget = budget,
	};
	int ret = ioctl(fd, COWMEM_IOC_MERGE, &args);

	if (out)
		*out = args;
	return ret;
}

/*
 * The "name: value" lines of the stats file @path (NULL: debugfs "stats")
 * whose name is one of @names: @values[i] gets @names[i]'s value, and
 * stays as it was for a name the file lacks. Returns how many names it
 * found, or -1 when the file cannot be read.
 */
int cowmem_stats_read(const char *path, const char *const *names,
		      long long *values, int nr)
{
	FILE *f = fopen(path ? path : COWMEM_STATS, "re");
	char line[128], key[64];
	int i, found = 0;
	long long v;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^:]: %lld", key, &v) != 2)
			continue;
		for (i = 0; i < nr; i++) {
			if (!strcmp(key, names[i])) {
				values[i] = v;
				found++;
			}
		}
	}
	fclose(f);
	return found;
}

/*
 * One "name: value" line of the debugfs file @file ("stats", "snapshots"),
 * or -1 when it cannot be read.
 */
long cowmem_debugfs_value(const char *file, const char *name)
{
	long long value = -1;
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", COWMEM_DEBUGFS, file);
	if (cowmem_stats_read(path, &name, &value, 1) != 1)
		return -1;
	return (long)value;
}

/* One counter from debugfs "stats", or -1 when it cannot be read. */
long cowmem_stat(const char *name)
{
	return cowmem_debugfs_value("stats", name);
}

/* 1 when debugfs "check" finds every invariant holding; its report goes to stderr. */
int cowmem_check_ok(void)
{
	char buf[4096];
	ssize_t n;
	int fd = open(COWMEM_DEBUGFS "/check", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	if (!strcmp(buf, "ok\n"))
		return 1;
	fprintf(stderr, "# check: %s", buf);
	return 0;
}

/*
 * One line of "views",
 *   "view region pid how parent size present shared exclusive comm":
 * 1 with *@v filled in, 0 for the header or a malformed line.
 */
int cowmem_parse_view(const char *line, struct cowmem_view_line *v)
{
	memset(v, 0, sizeof(*v));
	return sscanf(line, "%llu %llu %ld %15s %llu %lu %lu %lu %lu %31[^\n]",
		      &v->id, &v->region, &v->pid, v->how, &v->parent, &v->size,
		      &v->present, &v->shared, &v->exclusive, v->comm) >= 9;
}

/* The first live view of process @pid in debugfs "views": 1 when found. */
int cowmem_find_view(pid_t pid, struct cowmem_view_line *v)
{
	FILE *f = fopen(COWMEM_DEBUGFS "/views", "re");
	char line[256];
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = cowmem_parse_view(line, v) && v->pid == pid;
	fclose(f);
	return found;
}

/*
 * debugfs "pages" narrowed to view @id (written to the open file), ready
 * to be read from its first line; NULL on failure.
 */
FILE *cowmem_open_pages(unsigned long long id)
{
	FILE *f = fopen(COWMEM_DEBUGFS "/pages", "r+e");

	if (!f)
		return NULL;
	if (fprintf(f, "%llu\n", id) < 0 || fflush(f)) {
		fclose(f);
		return NULL;
	}
	rewind(f);
	return f;
}

/*
 * One page's line of "pages",
 *   "pgoff pfn refcount page_count state shared_with",
 * e.g. "3 0x511c9 2 1 shared 113,114" or "5 zero 0 - zero -": 1 with *@p
 * filled in (@p->with points into @line, which is cut into words), 0 for
 * the header, a "view N region M" line, or a malformed one.
 */
int cowmem_parse_page(char *line, struct cowmem_page_line *p)
{
	char *field[6], *save = NULL;
	int i;

	for (i = 0; i < 6; i++) {
		field[i] = strtok_r(i ? NULL : line, " \t\n", &save);
		if (!field[i])
			return 0;
	}
	if (!isdigit((unsigned char)field[0][0]))
		return 0;
	p->pgoff = strtoul(field[0], NULL, 10);
	p->pfn = strcmp(field[1], "zero") ? strtoul(field[1], NULL, 16) : 0;
	p->refcount = strtoul(field[2], NULL, 10);
	snprintf(p->state, sizeof(p->state), "%s", field[4]);
	p->with = field[5];
	return 1;
}

/* The exit status of @pid, or 255 when it did not exit normally. */
int cowmem_wait(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return 255;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/* Forks a peer: 0 in the child, the child's pid in the parent, -1 on failure. */
pid_t cowmem_peer_fork(struct cowmem_peer *p)
{
	int down[2], up[2];

	p->pid = -1;
	if (pipe(down))
		return -1;
	if (pipe(up))
		goto close_down;
	p->pid = fork();
	if (p->pid < 0)
		goto close_up;
	close(p->pid ? down[0] : down[1]);
	close(p->pid ? up[1] : up[0]);
	p->in = p->pid ? up[0] : down[0];
	p->out = p->pid ? down[1] : up[1];
	return p->pid;

close_up:
	close(up[0]);
	close(up[1]);
close_down:
	close(down[0]);
	close(down[1]);
	return -1;
}

/* Sends @len bytes of @buf to the other side; 0 on success. */
int cowmem_peer_send(const struct cowmem_peer *p, const void *buf, size_t len)
{
	return write(p->out, buf, len) == (ssize_t)len ? 0 : -1;
}

/* Receives exactly @len bytes into @buf; 0 on success, -1 at end of file too. */
int cowmem_peer_recv(const struct cowmem_peer *p, void *buf, size_t len)
{
	return read(p->in, buf, len) == (ssize_t)len ? 0 : -1;
}

/*
 * The parent's end of the peer: closes its pipes (the child reads end of
 * file) and waits for the child; the child's exit status.
 */
int cowmem_peer_end(struct cowmem_peer *p)
{
	int status;

	close(p->in);
	close(p->out);
	status = cowmem_wait(p->pid);
	p->pid = -1;
	return status;
}

/* Page i of @map filled with the byte @base + i, for @pages pages. */
void cowmem_fill(char *map, size_t pages, size_t psz, char base)
{
	for (size_t i = 0; i < pages; i++)
		memset(map + i * psz, base + (char)i, psz);
}

/* 1 when all @psz bytes at @p are @c. */
int cowmem_page_is(const char *p, size_t psz, char c)
{
	for (size_t i = 0; i < psz; i++)
		if (p[i] != c)
			return 0;
	return 1;
}
