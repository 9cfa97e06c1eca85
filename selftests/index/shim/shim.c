// SPDX-License-Identifier: GPL-2.0
/*
 * The unit-test shim: what index.c calls outside itself, in userspace. See
 * shim.h for what a test can count and switch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/bug.h>
#include <linux/slab.h>

#include "index.h"
#include "shim.h"

struct shim shim;
DEFINE_PER_CPU(struct cowmem_stats, cowmem_stats);

struct kmem_cache {
	const char *name;
	unsigned int size;
};

static bool shim_fail_point(void)
{
	shim.fail_points++;
	if (!shim.fail_nth)
		return false;
	return --shim.fail_nth == 0;
}

void shim_warn(const char *what, const char *file, int line)
{
	shim.warnings++;
	fprintf(stderr, "# WARNING: %s at %s:%d\n", what, file, line);
}

bool cowmem_should_fail(void)
{
	if (!shim_fail_point())
		return false;
	cowmem_stat_inc(injected_failures);
	return true;
}

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
				     unsigned int align, slab_flags_t flags,
				     void (*ctor)(void *object))
{
	struct kmem_cache *cache = calloc(1, sizeof(*cache));

	if (!cache)
		return NULL;
	cache->name = name;
	cache->size = size;
	return cache;
}

void kmem_cache_destroy(struct kmem_cache *cache)
{
	free(cache);
}

unsigned int kmem_cache_size(struct kmem_cache *cache)
{
	return cache->size;
}

static size_t shim_object_bytes(struct kmem_cache *cache)
{
	size_t page = sysconf(_SC_PAGESIZE);

	return (cache->size + page - 1) / page * page;
}

/* Each object on pages of its own, for shim_protect(). */
void *kmem_cache_alloc(struct kmem_cache *cache, gfp_t gfp)
{
	void *object;

	if (shim_fail_point())
		return NULL;
	object = aligned_alloc(sysconf(_SC_PAGESIZE), shim_object_bytes(cache));
	if (!object)
		return NULL;
	memset(object, 0xa5, cache->size); /* as uninitialised as slab's */
	shim.slab_live++;
	shim.slab_allocs++;
	return object;
}

void *kmem_cache_zalloc(struct kmem_cache *cache, gfp_t gfp)
{
	void *object = kmem_cache_alloc(cache, gfp);

	if (object)
		memset(object, 0, cache->size);
	return object;
}

void kmem_cache_free(struct kmem_cache *cache, void *object)
{
	free(object);
	shim.slab_live--;
}

void shim_protect(void *object, bool readable)
{
	if (mprotect(object, sysconf(_SC_PAGESIZE),
		     readable ? PROT_READ | PROT_WRITE : PROT_NONE)) {
		perror("mprotect");
		abort();
	}
}

struct cowmem_frame *shim_frame_new(void)
{
	static u64 ids;
	struct cowmem_frame *frame = calloc(1, sizeof(*frame));

	if (!frame)
		abort();
	refcount_set(&frame->holders, 1);
	frame->id = ++ids;
	shim.frames_live++;
	return frame;
}

/* frame.c's, without the page. */
void cowmem_frame_get(struct cowmem_frame *frame)
{
	refcount_inc(&frame->holders);
}

bool cowmem_frame_put(struct cowmem_frame *frame)
{
	if (!refcount_dec_and_test(&frame->holders))
		return false;
	free(frame);
	shim.frames_live--;
	shim.frames_freed++;
	return true;
}
