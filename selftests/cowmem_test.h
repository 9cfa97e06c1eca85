/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the cowmem selftests: map a region, read the module's
 * counters from debugfs (cowmem_stat(), the one parser of "stats"), talk to
 * a forked peer, wait for a child and get its verdict.
 */
#ifndef COWMEM_TEST_H
#define COWMEM_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/cowmem.h>

#define COWMEM_DEV "/dev/cowmem"
#define COWMEM_DEBUGFS "/sys/kernel/debug/cowmem"
#define COWMEM_STATS COWMEM_DEBUGFS "/stats"

static inline size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static inline int cowmem_open(void)
{
	return open(COWMEM_DEV, O_RDWR | O_CLOEXEC);
}

/* A read-write MAP_SHARED mapping of @pages pages at page offset @pgoff. */
static inline char *cowmem_map(int fd, size_t pages, size_t pgoff)
{
	void *p = mmap(NULL, pages * page_size(), PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, (off_t)(pgoff * page_size()));

	return p == MAP_FAILED ? NULL : p;
}

/* One counter from debugfs "stats", or -1 when it cannot be read. */
static inline long cowmem_stat(const char *name)
{
	char line[128], key[64];
	long value = -1, v;
	FILE *f = fopen(COWMEM_STATS, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^:]: %ld", key, &v) == 2 &&
		    !strcmp(key, name)) {
			value = v;
			break;
		}
	}
	fclose(f);
	return value;
}

/* 1 when debugfs "check" finds every invariant holding; its report goes to stderr. */
static inline int cowmem_check_ok(void)
{
	char buf[4096];
	ssize_t n;
	int fd = open(COWMEM_DEBUGFS "/check", O_RDONLY);

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

/* 1 when the mapping at @addr is a cowmem node's (/proc/self/maps), 0 if not, -1 on error. */
static inline int is_cowmem(void *addr)
{
	unsigned long start, end, a = (unsigned long)addr;
	char line[512];
	int found = 0;
	FILE *maps;

	maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return -1;
	while (fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx", &start, &end) != 2)
			continue;
		if (a >= start && a < end) {
			found = strstr(line, "/cowmem") ? 1 : 0;
			break;
		}
	}
	fclose(maps);
	return found;
}

/* One line of debugfs "views". */
struct cowmem_view_line {
	unsigned long long id, region, parent;
	long pid;
	char how[16];
	unsigned long size, present, shared, exclusive;
	char comm[32];
};

/* Parses one line of "views"; 1 on success, 0 for the header. */
static inline int cowmem_parse_view(const char *line,
				    struct cowmem_view_line *v)
{
	memset(v, 0, sizeof(*v));
	return sscanf(line, "%llu %llu %ld %15s %llu %lu %lu %lu %lu %31[^\n]",
		      &v->id, &v->region, &v->pid, v->how, &v->parent, &v->size,
		      &v->present, &v->shared, &v->exclusive, v->comm) >= 9;
}

/* The first live view of process @pid in debugfs "views": 1 when found. */
static inline int cowmem_find_view(pid_t pid, struct cowmem_view_line *v)
{
	FILE *f = fopen(COWMEM_DEBUGFS "/views", "r");
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
static inline FILE *cowmem_open_pages(unsigned long long id)
{
	FILE *f = fopen(COWMEM_DEBUGFS "/pages", "r+");

	if (!f)
		return NULL;
	if (fprintf(f, "%llu\n", id) < 0 || fflush(f)) {
		fclose(f);
		return NULL;
	}
	rewind(f);
	return f;
}

/* COWMEM_IOC_PAGE_INFO for @nr pages from @addr; returns ioctl()'s result. */
static inline int cowmem_page_info(int fd, const void *addr, size_t nr,
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
static inline int cowmem_snapshot(int fd, const void *addr, unsigned int flags)
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
static inline int cowmem_rollback(int fd, const void *addr, int snapshot_fd,
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
static inline int cowmem_merge(int fd, const void *addr, int other_fd,
			       __u64 start, __u64 budget,
			       struct cowmem_merge_args *out)
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

/* The exit status of @pid, or 255 when it did not exit normally. */
static inline int wait_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return 255;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/*
 * A peer: a forked child with a pipe each way between it and its parent.
 * Each side keeps the two ends it uses: @in reads what the other side sent,
 * @out sends to it.
 */
struct cowmem_peer {
	pid_t pid; /* the child's in the parent, 0 in the child, -1 for none */
	int in, out;
};

/* Forks a peer: 0 in the child, the child's pid in the parent, -1 on failure. */
static inline pid_t peer_fork(struct cowmem_peer *p)
{
	int down[2], up[2];

	p->pid = -1;
	if (pipe(down))
		return -1;
	if (pipe(up)) {
		close(down[0]);
		close(down[1]);
		return -1;
	}
	p->pid = fork();
	if (p->pid < 0) {
		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(up[1]);
		return -1;
	}
	close(p->pid ? down[0] : down[1]);
	close(p->pid ? up[1] : up[0]);
	p->in = p->pid ? up[0] : down[0];
	p->out = p->pid ? down[1] : up[1];
	return p->pid;
}

/* Sends @len bytes of @buf to the other side; 0 on success. */
static inline int peer_send(const struct cowmem_peer *p, const void *buf,
			    size_t len)
{
	return write(p->out, buf, len) == (ssize_t)len ? 0 : -1;
}

/* Receives exactly @len bytes into @buf; 0 on success, -1 at end of file too. */
static inline int peer_recv(const struct cowmem_peer *p, void *buf, size_t len)
{
	return read(p->in, buf, len) == (ssize_t)len ? 0 : -1;
}

/*
 * The parent's end of the peer: closes its pipes (the child reads end of
 * file) and waits for the child; the child's exit status.
 */
static inline int peer_end(struct cowmem_peer *p)
{
	int status;

	close(p->in);
	close(p->out);
	status = wait_status(p->pid);
	p->pid = -1;
	return status;
}

/* Page i of @map filled with the byte @base + i, for @pages pages. */
static inline void fill(char *map, size_t pages, size_t psz, char base)
{
	for (size_t i = 0; i < pages; i++)
		memset(map + i * psz, base + (char)i, psz);
}

/* 1 when all @psz bytes at @p are @c. */
static inline int page_is(const char *p, size_t psz, char c)
{
	for (size_t i = 0; i < psz; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

#define CGROOT "/sys/fs/cgroup"

/* Writes @text to the cgroup file @path; 0 on success. */
static inline int cg_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* 1 when cgroup v2 is mounted (mounting it if need be) with memory enabled. */
static inline int cg_enable_memory(void)
{
	mount("none", CGROOT, "cgroup2", 0, NULL);
	return !access(CGROOT "/cgroup.controllers", F_OK) &&
	       !cg_write(CGROOT "/cgroup.subtree_control", "+memory");
}

/* Loads and stores the compiler must not drop or merge (instead of volatile). */
#define peek(p) __atomic_load_n((const char *)(p), __ATOMIC_RELAXED)
#define poke(p, c) __atomic_store_n((char *)(p), (char)(c), __ATOMIC_RELAXED)

/* The child's verdict: 0 when every check passed, else the failed check's number. */
#define CHILD_CHECK(n, cond)      \
	do {                      \
		if (!(cond))      \
			_exit(n); \
	} while (0)

#endif /* COWMEM_TEST_H */
