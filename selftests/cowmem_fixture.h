/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The region fixture of the cowmem selftests, written once: a region of
 * PAGES pages, opened and mapped for each test, whose teardown fails the
 * test unless debugfs "check" says ok. Include it after kselftest_harness.h
 * and cowmem_test.h, with, defined before:
 *
 *   PAGES                 how many pages the fixture maps (required)
 *   REGION_SETUP(map, psz) what the pages hold when a test starts (default:
 *                         never written, they read zeros)
 *   REGION_TEARDOWN()     a statement run first in the teardown
 *   REGION_FREES_ALL      the teardown also fails the test unless debugfs
 *                         "pages" is back where it was before the setup
 *   REGION_CLONES         the fixture gets one variant per way of cloning
 *                         the region's view (fork, another process's mmap,
 *                         a snapshot's mapping): each test then runs once
 *                         per variant, with self->clone answering for the
 *                         clone. Without it the fixture has no variants.
 *   REGION_ROUTES         with REGION_CLONES: two variants more, a fork
 *                         and a mmap whose clone zaps its source's PTEs
 *                         (wrprotect=N) where the others keep them,
 *                         read-only, wherever the kernel can
 *
 * Also here: the helpers of the programs that use it, among them the
 * reporter peer, a forked child that reports its page info and checksums.
 */
#ifndef COWMEM_FIXTURE_H
#define COWMEM_FIXTURE_H

#ifndef PAGES
#error "define PAGES before including cowmem_fixture.h"
#endif
#ifndef REGION_SETUP
#define REGION_SETUP(map, psz) ((void)(map), (void)(psz))
#endif
#ifndef REGION_TEARDOWN
#define REGION_TEARDOWN() ((void)0)
#endif

#define ZEROS 0xffffffffu /* a page_writes seed: fill the page with zeros */

/* Every page i of @map holds @base + i in every byte. */
static inline int filled(const char *map, size_t pages, size_t psz, char base)
{
	for (size_t i = 0; i < pages; i++)
		if (!cowmem_page_is(map + i * psz, psz, base + (char)i))
			return 0;
	return 1;
}

/* Bytes that depend on @seed and on the offset; @seed ZEROS gives zeros. */
static inline void pattern(char *page, size_t psz, unsigned int seed)
{
	if (seed == ZEROS) {
		memset(page, 0, psz);
		return;
	}
	for (size_t i = 0; i < psz; i++)
		page[i] = (char)(seed * 131 + i * 7 + (i >> 9));
}

/* FNV-1a over one page: what a peer reports of a page's contents. */
static inline __u64 page_sum(const char *p, size_t psz)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < psz; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	return h;
}

/* The checksum of pattern(@seed). */
static inline __u64 pattern_sum(size_t psz, unsigned int seed)
{
	char *buf = malloc(psz);
	__u64 sum;

	if (!buf)
		return 0;
	pattern(buf, psz, seed);
	sum = page_sum(buf, psz);
	free(buf);
	return sum;
}

/* The checksum of a page holding @c in every byte. */
static inline __u64 byte_sum(size_t psz, char c)
{
	char *buf = malloc(psz);
	__u64 sum;

	if (!buf)
		return 0;
	memset(buf, c, psz);
	sum = page_sum(buf, psz);
	free(buf);
	return sum;
}

/* A mapping of snapshot @sfd, @pages pages from offset 0; NULL on failure. */
static inline char *map_snapshot(int sfd, size_t pages, int prot)
{
	void *p = mmap(NULL, pages * cowmem_page_size(), prot, MAP_SHARED, sfd,
		       0);

	return p == MAP_FAILED ? NULL : p;
}

static inline int is_zero_state(__u32 state)
{
	return state == COWMEM_PAGE_NONE || state == COWMEM_PAGE_ZERO;
}

/* Writes to do in a process: page @page gets pattern(@seed); @cgroup to join first. */
struct page_writes {
	const char *cgroup;
	unsigned int n;
	struct {
		unsigned int page, seed;
	} w[4];
};

static inline int join_cgroup(const char *dir)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, "0", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

static inline int do_writes(char *map, size_t psz, const struct page_writes *pw)
{
	if (pw->cgroup && join_cgroup(pw->cgroup))
		return -1;
	for (unsigned int i = 0; i < pw->n; i++)
		pattern(map + pw->w[i].page * psz, psz, pw->w[i].seed);
	return 0;
}

/*
 * The reporter: a peer that answers every request with the page info and a
 * checksum of each of its PAGES pages, after writing @c over page @page
 * when the request names one (@page >= 0).
 */
struct peer_req {
	int page;
	char c;
};

struct peer_page {
	struct cowmem_page_info info;
	__u64 sum;
};

/* The reporter's side, in the child: answers until the parent ends it. */
static inline void peer_loop(const struct cowmem_peer *p, int fd, char *map)
{
	struct cowmem_page_info info[PAGES];
	struct peer_page rep[PAGES];
	struct peer_req req;

	while (!cowmem_peer_recv(p, &req, sizeof(req))) {
		if (req.page >= 0 && req.page < PAGES)
			memset(map + req.page * cowmem_page_size(), req.c,
			       cowmem_page_size());
		if (cowmem_page_info(fd, map, PAGES, info))
			_exit(2);
		for (int i = 0; i < PAGES; i++) {
			rep[i].info = info[i];
			rep[i].sum = page_sum(map + i * cowmem_page_size(),
					      cowmem_page_size());
		}
		if (cowmem_peer_send(p, rep, sizeof(rep)))
			_exit(3);
	}
	_exit(0);
}

/* Forks a reporter sharing @map that does @pw (when not NULL) first; -1 when it cannot. */
static inline int peer_start(struct cowmem_peer *q, int fd, char *map,
			     const struct page_writes *pw)
{
	pid_t pid = cowmem_peer_fork(q);

	if (!pid) {
		if (pw && do_writes(map, cowmem_page_size(), pw))
			_exit(1);
		peer_loop(q, fd, map);
	}
	return pid < 0 ? -1 : 0;
}

/*
 * The reporter writes @c over its page @page (none when -1), then reports
 * its PAGES pages; 0 on success.
 */
static inline int peer_write(struct cowmem_peer *q, int page, char c,
			     struct peer_page *rep)
{
	struct peer_req req = { .page = page, .c = c };

	if (cowmem_peer_send(q, &req, sizeof(req)))
		return -1;
	return cowmem_peer_recv(q, rep, PAGES * sizeof(*rep));
}

/* The reporter's report of its PAGES pages, after it did its writes; 0 on success. */
static inline int peer_ask(struct cowmem_peer *q, struct peer_page *rep)
{
	return peer_write(q, -1, 0, rep);
}

FIXTURE(region)
{
	int fd;
	size_t psz;
	size_t pages;
	char *map;
	long held; /* debugfs "pages" before the setup */
	char wrprotect; /* wrprotect before the setup, to restore; or 0 */
	int sfd; /* the snapshot the clone maps, or -1 */
	struct cowmem_peer clone; /* the reporter holding the clone */
};

/* How the clone of the region's view is made. */
enum clone_how {
	CLONE_FORK, /* fork(): the child's inherited mapping */
	CLONE_MMAP, /* another process's mmap() of the same fd */
	CLONE_SNAPSHOT, /* COWMEM_IOC_SNAPSHOT, then mmap() of its fd */
};

FIXTURE_VARIANT(region)
{
	enum clone_how how;
	char wrprotect; /* wrprotect during the test; 0: as it is */
};

#ifdef REGION_CLONES
/* Each variant is a struct: its brace goes on a line of its own. */
/* clang-format off */
FIXTURE_VARIANT_ADD(region, fork)
{
	.how = CLONE_FORK,
};

FIXTURE_VARIANT_ADD(region, mmap)
{
	.how = CLONE_MMAP,
};

FIXTURE_VARIANT_ADD(region, snapshot)
{
	.how = CLONE_SNAPSHOT,
};

#ifdef REGION_ROUTES
FIXTURE_VARIANT_ADD(region, fork_zap)
{
	.how = CLONE_FORK,
	.wrprotect = 'N',
};

FIXTURE_VARIANT_ADD(region, mmap_zap)
{
	.how = CLONE_MMAP,
	.wrprotect = 'N',
};
#endif

/* clang-format on */
#endif

/*
 * The clone's side, in the child: the view made as @how says, then the
 * reporter's loop over it. Its exit status 1 says the clone was not made.
 */
static inline void clone_child(const struct cowmem_peer *p, int fd, char *map,
			       int sfd, enum clone_how how)
{
	size_t len = PAGES * cowmem_page_size();

	if (how == CLONE_FORK)
		peer_loop(p, fd, map);
	munmap(map, len);
	if (how == CLONE_MMAP)
		map = cowmem_map(fd, PAGES, 0);
	else
		map = map_snapshot(sfd, PAGES, PROT_READ | PROT_WRITE);
	if (!map)
		_exit(1);
	peer_loop(p, how == CLONE_MMAP ? fd : sfd, map);
}

FIXTURE_SETUP(region)
{
	struct peer_page rep[PAGES];

	self->sfd = -1;
	self->wrprotect = 0;
	self->clone.pid = -1;
	self->psz = cowmem_page_size();
	self->pages = PAGES;
	self->held = cowmem_stat("pages");
	self->fd = cowmem_open();
	ASSERT_LE(0, self->fd);
	self->map = cowmem_map(self->fd, PAGES, 0);
	ASSERT_NE(NULL, self->map);
	REGION_SETUP(self->map, self->psz);
	if (!variant)
		return;
	if (variant->wrprotect) {
		self->wrprotect = wrprotect_get();
		ASSERT_NE(0, self->wrprotect);
		ASSERT_EQ(0, wrprotect_set(variant->wrprotect));
	}
	if (variant->how == CLONE_SNAPSHOT) {
		self->sfd = cowmem_snapshot(self->fd, self->map, 0);
		ASSERT_LE(0, self->sfd);
	}
	if (!cowmem_peer_fork(&self->clone))
		clone_child(&self->clone, self->fd, self->map, self->sfd,
			    variant->how);
	ASSERT_LT(0, self->clone.pid);
	/* The clone exists once it answered; it holds the origin's contents. */
	ASSERT_EQ(0, peer_ask(&self->clone, rep));
	for (int i = 0; i < PAGES; i++)
		ASSERT_EQ(page_sum(self->map + i * self->psz, self->psz),
			  rep[i].sum);
}

FIXTURE_TEARDOWN(region)
{
	REGION_TEARDOWN();
	if (self->wrprotect)
		EXPECT_EQ(0, wrprotect_set(self->wrprotect));
	if (self->clone.pid > 0)
		EXPECT_EQ(0, cowmem_peer_end(&self->clone));
	if (self->sfd >= 0)
		close(self->sfd);
	EXPECT_TRUE(cowmem_check_ok());
	munmap(self->map, PAGES * self->psz);
	if (self->fd >= 0)
		close(self->fd);
#ifdef REGION_FREES_ALL
	/* Everything this test allocated is gone again. */
	EXPECT_EQ(self->held, cowmem_stat("pages"));
#endif
}

#endif /* COWMEM_FIXTURE_H */
