// SPDX-License-Identifier: GPL-2.0
/*
 * cowstat --native PID: the kernel's own copy-on-write, in the cells
 * cowstat --map draws for cowmem. For PID and each of its descendants, each
 * private anonymous writable mapping of as many pages as the cowmem region
 * beside it: /proc/P/pagemap says whether a page is present and its frame,
 * /proc/kpageflags whether that frame is the zero page, /proc/kpagecount
 * how many PTEs map it. The frame numbers need root (CAP_SYS_ADMIN); they
 * are only used to look those up, never shown.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cowstat.h"

/* /proc/PID/pagemap's entry (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_PFN_BITS 55
#define PM_PRESENT_BIT 63
#define KPF_ZERO_PAGE 24

struct procs {
	long *pid, *ppid;
	size_t n;
};

static int procs_add(struct procs *ps, long pid, long ppid)
{
	long *p = realloc(ps->pid, (ps->n + 1) * sizeof(*p));

	if (!p)
		return -1;
	ps->pid = p;
	p = realloc(ps->ppid, (ps->n + 1) * sizeof(*p));
	if (!p)
		return -1;
	ps->ppid = p;
	ps->pid[ps->n] = pid;
	ps->ppid[ps->n++] = ppid;
	return 0;
}

/* Every process's parent, from /proc/P/stat (the comm may hold spaces). */
static int procs_load(struct procs *ps)
{
	char path[64], buf[512], *p;
	struct dirent *d;
	long pid, ppid;
	DIR *dir = opendir("/proc");
	FILE *f;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		pid = strtol(d->d_name, &p, 10);
		if (pid <= 0 || *p)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (!p || sscanf(p, ") %*c %ld", &ppid) != 1)
			continue;
		if (procs_add(ps, pid, ppid)) {
			closedir(dir);
			return -1;
		}
	}
	closedir(dir);
	return 0;
}

static bool descends(const struct procs *ps, long pid, long root)
{
	size_t i, hops;

	for (hops = 0; pid > 1 && hops < ps->n; hops++) {
		if (pid == root)
			return true;
		for (i = 0; i < ps->n && ps->pid[i] != pid; i++)
			;
		if (i == ps->n)
			return false;
		pid = ps->ppid[i];
	}
	return pid == root;
}

static void read_comm(long pid, char *comm, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f || !fgets(comm, (int)size, f))
		snprintf(comm, size, "?");
	else
		comm[strcspn(comm, "\n")] = '\0';
	if (f)
		fclose(f);
}

static int read_u64(int fd, uint64_t *v, uint64_t index)
{
	return pread(fd, v, sizeof(*v), (off_t)(index * sizeof(*v))) ==
			       sizeof(*v) ?
		       0 :
		       -1;
}

/* The cell of the page whose pagemap entry is @pm. */
static void native_cell(struct map_row *r, size_t i, uint64_t pm, int flags_fd,
			int count_fd)
{
	uint64_t pfn = pm << (64 - PM_PFN_BITS) >> (64 - PM_PFN_BITS);
	uint64_t flags = 0, count = 0;

	if (!(pm >> PM_PRESENT_BIT & 1) || !pfn)
		return;
	if (!read_u64(flags_fd, &flags, pfn) && (flags >> KPF_ZERO_PAGE & 1)) {
		r->cell[i] = CELL_ZERO;
		return;
	}
	if (read_u64(count_fd, &count, pfn) || count < 2) {
		r->cell[i] = CELL_EXCLUSIVE;
		return;
	}
	r->cell[i] = CELL_SHARED;
	r->count[i] = (unsigned int)count;
}

/* One row for the mapping at @start of @pid: its pages' cells. */
static int native_row(struct map_rows *rows, long pid, unsigned long start,
		      size_t pages, const int fds[2])
{
	long psz = sysconf(_SC_PAGESIZE);
	char path[64], comm[32], key[48];
	struct map_row *r;
	uint64_t pm;
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	read_comm(pid, comm, sizeof(comm));
	snprintf(key, sizeof(key), "native %ld@%lx", pid, start);
	if (cowstat_map_rows_add(rows, key, pid, comm, pages)) {
		close(fd);
		return -1;
	}
	r = &rows->r[rows->n - 1];
	for (i = 0; i < pages; i++)
		if (!read_u64(fd, &pm, start / psz + i))
			native_cell(r, i, pm, fds[0], fds[1]);
	close(fd);
	return 0;
}

/* @pid's private anonymous writable mappings of @pages pages. */
static int native_maps(struct map_rows *rows, long pid, size_t pages,
		       const int fds[2])
{
	long psz = sysconf(_SC_PAGESIZE);
	unsigned long start, end, inode;
	char path[64], line[512], perms[8];
	int name = 0, ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0; /* gone meanwhile */
	while (!ret && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %n", &start, &end,
			   perms, &inode, &name) < 4)
			continue;
		if (perms[1] != 'w' || perms[3] != 'p' || inode ||
		    (line[name] && strncmp(line + name, "[anon:", 6)) ||
		    (end - start) / psz != pages)
			continue;
		ret = native_row(rows, pid, start, pages, fds);
	}
	fclose(f);
	return ret;
}

int cowstat_native_rows(struct map_rows *rows, long pid, size_t pages)
{
	struct procs ps = { NULL, NULL, 0 };
	int fds[2], ret = -1;
	size_t i;

	fds[0] = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	fds[1] = open("/proc/kpagecount", O_RDONLY | O_CLOEXEC);
	if (fds[0] < 0 || fds[1] < 0 || procs_load(&ps))
		goto out;
	ret = native_maps(rows, pid, pages, fds);
	for (i = 0; !ret && i < ps.n; i++)
		if (ps.pid[i] != pid && descends(&ps, ps.pid[i], pid))
			ret = native_maps(rows, ps.pid[i], pages, fds);
out:
	free(ps.pid);
	free(ps.ppid);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return ret;
}
