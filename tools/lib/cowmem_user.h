/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem_user: the userspace side of cowmem that the selftests and the tools
 * share. The ABI is the uapi header (linux/cowmem.h); this library wraps it
 * and reads the module's debugfs files, which are not ABI and are parsed
 * here only:
 *
 *  - the device:  cowmem_open(), cowmem_map()
 *  - the ioctls:  cowmem_page_info(), cowmem_snapshot(), cowmem_rollback(),
 *                 cowmem_merge()
 *  - debugfs:     "stats" (cowmem_stat(), cowmem_stats_read()),
 *                 "snapshots" (cowmem_debugfs_value()), "check",
 *                 "views" (struct cowmem_view_line) and "pages" (struct
 *                 cowmem_page_line), root only
 *  - peers:       a forked child with a pipe each way (struct cowmem_peer)
 *  - pages:       cowmem_fill(), cowmem_page_is()
 */
#ifndef COWMEM_USER_H
#define COWMEM_USER_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/cowmem.h>

#define COWMEM_DEV "/dev/cowmem"
#define COWMEM_DEBUGFS "/sys/kernel/debug/cowmem"
#define COWMEM_STATS COWMEM_DEBUGFS "/stats"

size_t cowmem_page_size(void);
int cowmem_open(void);
char *cowmem_map(int fd, size_t pages, size_t pgoff);

int cowmem_page_info(int fd, const void *addr, size_t nr,
		     struct cowmem_page_info *info);
int cowmem_snapshot(int fd, const void *addr, unsigned int flags);
int cowmem_rollback(int fd, const void *addr, int snapshot_fd,
		    unsigned int flags);
int cowmem_merge(int fd, const void *addr, int other_fd, __u64 start,
		 __u64 budget, struct cowmem_merge_args *out);

long cowmem_stat(const char *name);
long cowmem_debugfs_value(const char *file, const char *name);
int cowmem_stats_read(const char *path, const char *const *names,
		      long long *values, int nr);
int cowmem_check_ok(void);

/* One line of debugfs "views". */
struct cowmem_view_line {
	unsigned long long id, region, parent;
	long pid; /* 0 when its process is gone */
	char how[16]; /* open, fork or mapping */
	unsigned long size, present, shared, exclusive;
	char comm[32];
};

int cowmem_parse_view(const char *line, struct cowmem_view_line *v);
int cowmem_find_view(pid_t pid, struct cowmem_view_line *v);

/* One line of debugfs "pages"; @with points into the parsed line. */
struct cowmem_page_line {
	unsigned long pgoff;
	unsigned long pfn; /* identity only; 0 for the zero page */
	unsigned long refcount; /* views and snapshots holding it (census) */
	char state[16]; /* shared, exclusive or zero */
	const char *with; /* the other views holding it: "113,114" or "-" */
};

FILE *cowmem_open_pages(unsigned long long id);
int cowmem_parse_page(char *line, struct cowmem_page_line *p);

/*
 * A peer: a forked child with a pipe each way between it and its parent.
 * Each side keeps the two ends it uses: @in reads what the other side sent,
 * @out sends to it.
 */
struct cowmem_peer {
	pid_t pid; /* the child's in the parent, 0 in the child, -1 for none */
	int in, out;
};

pid_t cowmem_peer_fork(struct cowmem_peer *p);
int cowmem_peer_send(const struct cowmem_peer *p, const void *buf, size_t len);
int cowmem_peer_recv(const struct cowmem_peer *p, void *buf, size_t len);
int cowmem_peer_end(struct cowmem_peer *p);
int cowmem_wait(pid_t pid);

void cowmem_fill(char *map, size_t pages, size_t psz, char base);
int cowmem_page_is(const char *p, size_t psz, char c);

#endif /* COWMEM_USER_H */
