// SPDX-License-Identifier: GPL-2.0
/*
 * libcowrun.so: serves a program's private anonymous mappings from
 * /dev/cowmem, so that its fork()s use cowmem's copy-on-write. Loaded with
 * LD_PRELOAD by tools/cowrun, which sets its options in the environment:
 *
 *   COWRUN_MIN=BYTES    smallest mapping served (default 65536)
 *   COWRUN_DEVICE=PATH  the device (default /dev/cowmem); one that is not
 *                       cowmem's (a file, /dev/zero) is refused
 *   COWRUN_INHERIT=0    children neither keep it after exec (LD_PRELOAD is
 *                       dropped) nor get new mappings served after fork()
 *   COWRUN_VERBOSE=1    one summary line per process on stderr at exit
 *
 * Each served mapping is a region of its own: one open() of the device, one
 * MAP_SHARED mmap() at offset 0, the file closed again (the mapping keeps
 * it). Whatever fails falls back to the anonymous mapping the program asked
 * for, so the program never sees cowmem's refusals; the first such fallback
 * is reported once. munmap(), mremap(), mprotect() and madvise() keep a
 * table of the served ranges, because cowmem mappings refuse what
 * anonymous memory allows (MADV_DONTNEED, mremap() growth) and those calls
 * are emulated here.
 *
 * Every call goes to the kernel through syscall(), never through dlsym():
 * an allocator that mmap()s from inside dlsym()'s own allocation would
 * recurse into us.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

extern char **environ;

#define EXPORT __attribute__((visibility("default")))
#define MAX_RANGES 16384

struct range {
	uintptr_t start, end;
	int prot;
};

/* Served ranges, unsorted; the lock is a spinlock so fork() can take it. */
static struct range ranges[MAX_RANGES];
static int nr_ranges;
static char table_lock;

static struct {
	int state; /* 0, then INITIALIZING, then READY */
	bool disabled, no_inherit, verbose, device_gone, warned, device_warned;
	bool not_cowmem;
	size_t min;
	size_t max_region;
	char device[256];
} opt;

enum { INITIALIZING = 1, READY };

static struct {
	unsigned long served, served_kib;
	unsigned long no_device, too_large, mmap_failed, table_full;
	unsigned long dontneed, zeroed, unserved, mremap_moved, mremap_refused,
		hints;
} count;

static const char warning[] =
	"cowrun: %s; such mappings fall back to anonymous memory (--verbose counts them)\n";
/* At exit, under --verbose: what was served, what fell back, what was emulated. */
static const char summary[] =
	"cowrun: pid %d: served %lu mappings (%lu KiB); fallbacks %lu ";
static const char detail[] =
	"(no device %lu, too large %lu, mmap failed %lu, table full %lu); ";
static const char emulated[] =
	"DONTNEED remapped %lu, zeroed %lu; mremap moved %lu, refused %lu; hints %lu; exec %lu\n";

static const char no_fds[] = "out of file descriptors for the cowmem device";
static const char refused[] =
	"cowmem refused a region (a per-user limit such as max_regions_per_user, or memory)";
static const char no_device[] =
	"cannot open the cowmem device (is the module loaded, and may you open it?)";
static const char not_cowmem[] =
	"COWRUN_DEVICE is not the cowmem device (or the module is not loaded)";

static void lock(void)
{
	while (__atomic_test_and_set(&table_lock, __ATOMIC_ACQUIRE))
		;
}

static void unlock(void)
{
	__atomic_clear(&table_lock, __ATOMIC_RELEASE);
}

/* The end of [start, start + len) rounded up to a page, as the kernel does. */
static uintptr_t page_end(uintptr_t start, size_t len)
{
	uintptr_t psz = (uintptr_t)getpagesize();

	return (start + len + psz - 1) & ~(psz - 1);
}

static void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd,
		      off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static int sys_munmap(void *addr, size_t len)
{
	return syscall(SYS_munmap, addr, len);
}

/* One line, once per process image, whatever the verbosity. */
static void warn_once(const char *why)
{
	char line[256];
	int n;

	if (__atomic_exchange_n(&opt.warned, true, __ATOMIC_RELAXED))
		return;
	n = snprintf(line, sizeof(line), warning, why);
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

/* Removes [start, end) from the table, splitting ranges that straddle it. */
static void table_remove_locked(uintptr_t start, uintptr_t end)
{
	int i;

	for (i = 0; i < nr_ranges; i++) {
		struct range *r = &ranges[i];

		if (r->end <= start || r->start >= end)
			continue;
		if (r->start < start && r->end > end) {
			if (nr_ranges == MAX_RANGES) {
				/* Forget the tail: later calls on it get
				 * cowmem's own answers (EINVAL for
				 * MADV_DONTNEED, no growth), not emulation.
				 */
				r->end = start;
				continue;
			}
			ranges[nr_ranges] = *r;
			ranges[nr_ranges].start = end;
			nr_ranges++;
			r->end = start;
		} else if (r->start < start) {
			r->end = start;
		} else if (r->end > end) {
			r->start = end;
		} else {
			ranges[i--] = ranges[--nr_ranges];
		}
	}
}

static bool table_add(uintptr_t start, uintptr_t end, int prot)
{
	bool ok;

	lock();
	table_remove_locked(start, end);
	ok = nr_ranges < MAX_RANGES;
	if (ok)
		ranges[nr_ranges++] = (struct range){ start, end, prot };
	unlock();
	return ok;
}

static void table_remove(uintptr_t start, uintptr_t end)
{
	lock();
	table_remove_locked(start, end);
	unlock();
}

/*
 * The served range with the lowest start that overlaps [start, end), copied
 * to @out; false if none.
 */
static bool table_first(uintptr_t start, uintptr_t end, struct range *out)
{
	bool found = false;
	int i;

	lock();
	for (i = 0; i < nr_ranges; i++) {
		if (ranges[i].end <= start || ranges[i].start >= end)
			continue;
		if (!found || ranges[i].start < out->start)
			*out = ranges[i];
		found = true;
	}
	unlock();
	return found;
}

static void read_max_region(void)
{
	char buf[32] = "";
	ssize_t n;
	int fd;

	fd = syscall(SYS_openat, AT_FDCWD,
		     "/sys/module/cowmem/parameters/max_region_mb",
		     O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0)
		opt.max_region = strtoull(buf, NULL, 10) << 20;
}

/*
 * Takes our own entry out of LD_PRELOAD in environ itself, leaving any
 * others: not through setenv()/unsetenv(), which a shell may define for
 * itself (bash's act on its variables, not yet read in a constructor).
 */
static void drop_preload(void)
{
	static char entry[4096];
	const char *jemalloc = getenv("COWRUN_JEMALLOC");
	char copy[4096], kept[4096] = "";
	char *tok, *save, **env;

	for (env = environ; *env; env++)
		if (!strncmp(*env, "LD_PRELOAD=", 11))
			break;
	if (!*env)
		return;
	snprintf(copy, sizeof(copy), "%s", *env + 11);
	for (tok = strtok_r(copy, ": ", &save); tok;
	     tok = strtok_r(NULL, ": ", &save)) {
		/* Ours, and the jemalloc tools/cowrun added for us. */
		if (strstr(tok, "libcowrun.so") ||
		    (jemalloc && !strcmp(tok, jemalloc)))
			continue;
		if (kept[0])
			strncat(kept, ":", sizeof(kept) - strlen(kept) - 1);
		strncat(kept, tok, sizeof(kept) - strlen(kept) - 1);
	}
	if (kept[0]) {
		snprintf(entry, sizeof(entry), "LD_PRELOAD=%s", kept);
		*env = entry;
		return;
	}
	do
		env[0] = env[1];
	while (*env++);
}

static void atfork_prepare(void)
{
	lock();
}

static void atfork_parent(void)
{
	unlock();
}

/* The child counts its own mappings: --verbose's line is per process. */
static void atfork_child(void)
{
	unlock();
	memset(&count, 0, sizeof(count));
	if (opt.no_inherit)
		opt.disabled = true;
}

/*
 * Whether opt.device is there but is not cowmem's: the character device
 * whose numbers the module gives in sysfs. Mapping anything else (a
 * regular file, /dev/zero) would break the program. A path that is not
 * there is left to open() to report. Allocates nothing: see cowrun_ready().
 */
static bool device_not_cowmem(void)
{
	unsigned long major_nr, minor_nr;
	char buf[32] = "", *end;
	struct stat st;
	ssize_t n;
	int fd;

	if (syscall(SYS_newfstatat, AT_FDCWD, opt.device, &st, 0))
		return false;
	if (!S_ISCHR(st.st_mode))
		return true;
	fd = syscall(SYS_openat, AT_FDCWD, "/sys/class/misc/cowmem/dev",
		     O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true; /* no module loaded: nothing is cowmem's */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	major_nr = strtoul(buf, &end, 10);
	if (n <= 0 || *end != ':')
		return true;
	minor_nr = strtoul(end + 1, NULL, 10);
	return major(st.st_rdev) != major_nr || minor(st.st_rdev) != minor_nr;
}

/*
 * The options, read on the first mmap() or by the constructor, whichever
 * comes first: libraries initialised before us (jemalloc) map their first
 * arenas before our constructor runs. The device path is copied, because
 * programs that set their process title (Redis) overwrite the environment.
 * Only what needs no allocation happens here: an allocator may be calling.
 */
static bool cowrun_ready(void)
{
	const char *env;
	int state = 0;

	if (__atomic_load_n(&opt.state, __ATOMIC_ACQUIRE) == READY)
		return true;
	if (!__atomic_compare_exchange_n(&opt.state, &state, INITIALIZING,
					 false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return false; /* another thread is at it: not served */
	opt.min = 64 << 10;
	env = getenv("COWRUN_MIN");
	if (env && *env)
		opt.min = strtoull(env, NULL, 0);
	env = getenv("COWRUN_DEVICE");
	snprintf(opt.device, sizeof(opt.device), "%s",
		 env && *env ? env : "/dev/cowmem");
	env = getenv("COWRUN_VERBOSE");
	opt.verbose = env && strcmp(env, "0");
	env = getenv("COWRUN_INHERIT");
	opt.no_inherit = env && !strcmp(env, "0");
	/* tools/cowrun found no device and said so, once for all processes. */
	opt.device_warned = getenv("COWRUN_NO_DEVICE_WARNED");
	if (device_not_cowmem()) {
		opt.not_cowmem = true;
		opt.device_gone = true;
	}
	read_max_region();
	/*
	 * Registered here, on the first mmap(), which comes before an
	 * allocator preloaded ahead of us (jemalloc) registers its own fork
	 * handlers: the prepare handlers run in reverse order, so the
	 * allocator takes its locks first and ours comes last. The other way
	 * round, fork() would hold our table's lock while waiting for an
	 * allocator lock held by a thread spinning on ours in mmap().
	 */
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	__atomic_store_n(&opt.state, READY, __ATOMIC_RELEASE);
	return true;
}

__attribute__((constructor)) static void cowrun_init(void)
{
	cowrun_ready();
	if (opt.no_inherit)
		drop_preload();
}

__attribute__((destructor)) static void cowrun_fini(void)
{
	unsigned long fallbacks = count.no_device + count.too_large +
				  count.mmap_failed + count.table_full;
	char line[512];
	int n;

	/* Quiet for the shells and helpers a program runs that map nothing. */
	if (!opt.verbose || !(count.served + fallbacks))
		return;
	n = snprintf(line, sizeof(line), summary, (int)getpid(), count.served,
		     count.served_kib, fallbacks);
	n += snprintf(line + n, sizeof(line) - n, detail, count.no_device,
		      count.too_large, count.mmap_failed, count.table_full);
	n += snprintf(line + n, sizeof(line) - n, emulated, count.dontneed,
		      count.zeroed, count.mremap_moved, count.mremap_refused,
		      count.hints, count.unserved);
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

static bool wants_cowmem(size_t len, int flags, int fd)
{
	if (fd != -1 || !(flags & MAP_ANONYMOUS))
		return false;
	if ((flags & MAP_TYPE) != MAP_PRIVATE)
		return false;
	/* Stacks: a thread's exit wakes a futex on its stack, which needs GUP. */
	if (flags & (MAP_GROWSDOWN | MAP_STACK | MAP_HUGETLB))
		return false;
	if (!cowrun_ready() || opt.disabled)
		return false;
	return len >= opt.min;
}

static void fallback(unsigned long *counter, const char *why)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
	warn_once(why);
}

/*
 * Counts a failed open() of the device. Out of file descriptors, over a
 * per-user limit (EDQUOT: the user's regions are counted at open) or out of
 * memory passes as mappings go away; a device that is not there or that
 * this user may not open does not, and is not tried again.
 */
static void open_failed(int err)
{
	switch (err) {
	case EMFILE:
	case ENFILE:
		fallback(&count.no_device, no_fds);
		return;
	case EDQUOT:
	case ENOMEM:
		fallback(&count.mmap_failed, refused);
		return;
	}
	__atomic_store_n(&opt.device_gone, true, __ATOMIC_RELAXED);
	if (opt.device_warned)
		__atomic_add_fetch(&count.no_device, 1, __ATOMIC_RELAXED);
	else
		fallback(&count.no_device, no_device);
}

/*
 * A cowmem mapping in place of a private anonymous one, or MAP_FAILED
 * (counted, and warned about once) when the caller must fall back.
 */
static void *serve(void *addr, size_t len, int prot, int flags)
{
	int shared = (flags & ~(MAP_TYPE | MAP_ANONYMOUS)) | MAP_SHARED;
	void *p;
	int fd;

	if (opt.not_cowmem) {
		fallback(&count.no_device, not_cowmem);
		return MAP_FAILED;
	}
	if (__atomic_load_n(&opt.device_gone, __ATOMIC_RELAXED)) {
		__atomic_add_fetch(&count.no_device, 1, __ATOMIC_RELAXED);
		return MAP_FAILED;
	}
	if (opt.max_region && len > opt.max_region) {
		fallback(&count.too_large,
			 "a mapping is larger than cowmem's max_region_mb");
		return MAP_FAILED;
	}
	fd = syscall(SYS_openat, AT_FDCWD, opt.device, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		open_failed(errno);
		return MAP_FAILED;
	}
	p = sys_mmap(addr, len, prot, shared, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		fallback(&count.mmap_failed, "cowmem refused an mmap()");
		return MAP_FAILED;
	}
	if (!table_add((uintptr_t)p, page_end((uintptr_t)p, len), prot)) {
		/* Untracked it could not be emulated: give it back. */
		sys_munmap(p, len);
		fallback(&count.table_full,
			 "cowrun's table of mappings is full");
		return MAP_FAILED;
	}
	__atomic_add_fetch(&count.served, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&count.served_kib, len >> 10, __ATOMIC_RELAXED);
	return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	int saved = errno;
	void *p;

	if (wants_cowmem(len, flags, fd)) {
		p = serve(addr, len, prot, flags);
		if (p != MAP_FAILED) {
			errno = saved;
			return p;
		}
		errno = saved;
	}
	p = sys_mmap(addr, len, prot, flags, fd, off);
	/* Anything mapped over served memory replaces it. */
	if (p != MAP_FAILED && (flags & MAP_FIXED))
		table_remove((uintptr_t)p, (uintptr_t)p + len);
	return p;
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
		    off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len)
{
	int ret = sys_munmap(addr, len);

	if (!ret)
		table_remove((uintptr_t)addr, page_end((uintptr_t)addr, len));
	return ret;
}

/*
 * Turns a served piece back into anonymous memory with the same contents:
 * for what cowmem's mapping cannot do, such as PROT_EXEC when /dev is
 * mounted noexec (a JIT maps RW, then RX). Another thread touching the piece
 * meanwhile could see zeros: only done where the program would fail.
 */
static int unserve(struct range *r)
{
	size_t len = r->end - r->start;
	int rw = PROT_READ | PROT_WRITE;
	int anon = MAP_PRIVATE | MAP_ANONYMOUS;
	void *copy;

	copy = sys_mmap(NULL, len, rw, anon, -1, 0);
	if (copy == MAP_FAILED)
		return -1;
	if (!(r->prot & PROT_READ))
		syscall(SYS_mprotect, r->start, len, PROT_READ);
	memcpy(copy, (void *)r->start, len);
	if (sys_mmap((void *)r->start, len, rw, anon | MAP_FIXED, -1, 0) ==
	    MAP_FAILED) {
		sys_munmap(copy, len);
		return -1;
	}
	memcpy((void *)r->start, copy, len);
	sys_munmap(copy, len);
	syscall(SYS_mprotect, r->start, len, r->prot);
	table_remove(r->start, r->end);
	__atomic_add_fetch(&count.unserved, 1, __ATOMIC_RELAXED);
	return 0;
}

EXPORT int mprotect(void *addr, size_t len, int prot)
{
	uintptr_t start = (uintptr_t)addr, end = page_end(start, len);
	struct range r;
	int ret, err;

	ret = syscall(SYS_mprotect, addr, len, prot);
	if (ret && errno == EACCES && (prot & PROT_EXEC)) {
		/* Served pieces become anonymous memory, then try again. */
		err = errno;
		while (table_first(start, end, &r)) {
			r.start = r.start > start ? r.start : start;
			r.end = r.end < end ? r.end : end;
			if (unserve(&r)) {
				errno = err;
				return -1;
			}
		}
		ret = syscall(SYS_mprotect, addr, len, prot);
	}
	if (ret)
		return ret;
	/* Re-add each served piece with its new protection. */
	while (table_first(start, end, &r)) {
		r.start = r.start > start ? r.start : start;
		r.end = r.end < end ? r.end : end;
		r.prot = prot;
		table_add(r.start, r.end, prot);
		start = r.end;
	}
	return 0;
}

/*
 * Zeroes the pages of [start, end) that hold anything: reading a page never
 * written maps the zero page and allocates nothing, so only pages with data
 * are written (and, if shared with a child, copied first).
 */
static void zero_fill(uintptr_t start, uintptr_t end)
{
	size_t psz = (size_t)getpagesize(), i;
	uintptr_t page;

	for (page = start; page < end; page += psz) {
		const unsigned long *word = (const unsigned long *)page;

		for (i = 0; i < psz / sizeof(*word); i++) {
			if (word[i]) {
				memset((void *)page, 0, psz);
				break;
			}
		}
	}
}

/*
 * MADV_DONTNEED on anonymous memory: the range reads zeros afterwards and
 * its memory goes back. cowmem refuses it (EINVAL). A range of at least
 * --min bytes gets a fresh cowmem mapping over it (anonymous memory if that
 * fails); a smaller one, writable, is zeroed in place instead, or allocators
 * that purge page by page (jemalloc) would split their mappings into
 * thousands of VMAs. Either way the old pages are freed only when the whole
 * region they belong to is unmapped: cowmem frees a view's pages with its
 * last VMA, not per range.
 */
static int emulate_dontneed(struct range *r)
{
	size_t len = r->end - r->start;
	void *p = MAP_FAILED;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
	int rw = PROT_READ | PROT_WRITE;

	if (len < opt.min && (r->prot & rw) == rw) {
		zero_fill(r->start, r->end);
		__atomic_add_fetch(&count.zeroed, 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (!opt.disabled)
		p = serve((void *)r->start, len, r->prot, flags);
	if (p == MAP_FAILED) {
		p = sys_mmap((void *)r->start, len, r->prot, flags, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		table_remove(r->start, r->end);
	}
	__atomic_add_fetch(&count.dontneed, 1, __ATOMIC_RELAXED);
	return 0;
}

static bool is_hint(int advice)
{
	switch (advice) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_FREE:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_COLD:
	case MADV_PAGEOUT:
		return true;
	}
	return false;
}

/*
 * Served pieces of the range are handled here, the rest goes to the kernel,
 * in address order. Hints cowmem refuses are no-ops here, as the kernel is
 * free to ignore them (MADV_FREE may leave the contents as they are).
 */
EXPORT int madvise(void *addr, size_t len, int advice)
{
	uintptr_t cur = (uintptr_t)addr, end = page_end(cur, len);
	bool dontneed = advice == MADV_DONTNEED ||
			advice == MADV_DONTNEED_LOCKED;
	struct range r;

	if (!dontneed && !is_hint(advice))
		return syscall(SYS_madvise, addr, len, advice);
	while (cur < end && table_first(cur, end, &r)) {
		if (r.start > cur &&
		    syscall(SYS_madvise, (void *)cur, r.start - cur, advice))
			return -1;
		r.start = r.start > cur ? r.start : cur;
		r.end = r.end < end ? r.end : end;
		if (dontneed) {
			if (emulate_dontneed(&r))
				return -1;
		} else {
			__atomic_add_fetch(&count.hints, 1, __ATOMIC_RELAXED);
		}
		cur = r.end;
	}
	if (cur < end)
		return syscall(SYS_madvise, (void *)cur, end - cur, advice);
	return 0;
}

/*
 * cowmem mappings cannot grow (VM_DONTEXPAND). Growth that may move gets a
 * new mapping and a copy; growth in place fails with ENOMEM, which the
 * kernel may answer for anonymous memory too. Shrinking and moving work.
 */
EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	uintptr_t start = (uintptr_t)old;
	void *new_addr = NULL, *p;
	int map_flags;
	struct range r;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	if (!table_first(start, start + (old_len ? old_len : 1), &r) ||
	    new_len <= old_len || !old_len || (flags & MREMAP_DONTUNMAP)) {
		p = (void *)syscall(SYS_mremap, old, old_len, new_len, flags,
				    new_addr);
		if (p != MAP_FAILED && table_first(start, start + 1, &r)) {
			table_remove(start, page_end(start, old_len));
			if (!(flags & MREMAP_DONTUNMAP))
				table_add((uintptr_t)p,
					  page_end((uintptr_t)p, new_len),
					  r.prot);
		}
		return p;
	}
	if (!(flags & MREMAP_MAYMOVE)) {
		__atomic_add_fetch(&count.mremap_refused, 1, __ATOMIC_RELAXED);
		errno = ENOMEM;
		return MAP_FAILED;
	}
	/* The kernel's rule, which keeps the copy below from reading what
	 * the new mapping replaced.
	 */
	if ((flags & MREMAP_FIXED) && (uintptr_t)new_addr < start + old_len &&
	    (uintptr_t)new_addr + new_len > start) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	map_flags = MAP_PRIVATE | MAP_ANONYMOUS;
	if (flags & MREMAP_FIXED)
		map_flags |= MAP_FIXED;
	p = mmap(new_addr, new_len, r.prot | PROT_READ | PROT_WRITE, map_flags,
		 -1, 0);
	if (p == MAP_FAILED)
		return p;
	memcpy(p, old, old_len);
	if (!(r.prot & PROT_WRITE))
		mprotect(p, new_len, r.prot);
	munmap(old, old_len);
	__atomic_add_fetch(&count.mremap_moved, 1, __ATOMIC_RELAXED);
	return p;
}
