// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: frames (a data page and its sharer count) and the per-view page
 * index that maps a page offset in the region to a frame.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/slab.h>

#include "cowmem.h"

static struct kmem_cache *cowmem_frame_cache;
static DEFINE_PER_CPU(u64, cowmem_frame_seq);

int cowmem_frames_init(void)
{
	cowmem_frame_cache = KMEM_CACHE(cowmem_frame, SLAB_ACCOUNT);
	return cowmem_frame_cache ? 0 : -ENOMEM;
}

/* What one frame costs in the slab, for the metadata-per-page figure. */
unsigned int cowmem_frame_bytes(void)
{
	return kmem_cache_size(cowmem_frame_cache);
}

void cowmem_frames_exit(void)
{
	kmem_cache_destroy(cowmem_frame_cache);
}

/*
 * Frame ids come from a per-CPU sequence so that allocating one touches no
 * shared cache line; interleaving by CPU number keeps them unique.
 */
static u64 cowmem_frame_next_id(void)
{
	int cpu = get_cpu();
	u64 seq = ++per_cpu(cowmem_frame_seq, cpu);

	put_cpu();
	return seq * nr_cpu_ids + cpu;
}

/*
 * The page is charged to the current task's memory cgroup (__GFP_ACCOUNT):
 * the task whose write needed it.
 */
static struct cowmem_frame *cowmem_frame_alloc(gfp_t extra)
{
	struct cowmem_frame *frame;

	if (cowmem_should_fail())
		return NULL;
	frame = kmem_cache_alloc(cowmem_frame_cache, GFP_KERNEL);
	if (!frame)
		return NULL;
	frame->page = cowmem_should_fail() ?
			      NULL :
			      alloc_page(GFP_HIGHUSER | __GFP_ACCOUNT | extra);
	if (!frame->page)
		goto free_frame;
	refcount_set(&frame->sharers, 1);
	frame->id = cowmem_frame_next_id();
	cowmem_stat_inc(page_allocs);
	cowmem_stat_inc(pages);
	cowmem_stat_inc(slots);
	return frame;

free_frame:
	kmem_cache_free(cowmem_frame_cache, frame);
	return NULL;
}

struct cowmem_frame *cowmem_frame_alloc_zeroed(void)
{
	return cowmem_frame_alloc(__GFP_ZERO);
}

struct cowmem_frame *cowmem_frame_alloc_copy(struct cowmem_frame *src)
{
	struct cowmem_frame *frame = cowmem_frame_alloc(0);

	if (frame)
		copy_highpage(frame->page, src->page);
	return frame;
}

void cowmem_frame_get(struct cowmem_frame *frame)
{
	int old;

	__refcount_inc(&frame->sharers, &old);
	if (old == 1)
		cowmem_stat_inc(shared_pages);
	cowmem_stat_inc(slots);
}

void cowmem_frame_put(struct cowmem_frame *frame)
{
	int old;
	bool last = __refcount_dec_and_test(&frame->sharers, &old);

	cowmem_stat_dec(slots);
	if (old == 2)
		cowmem_stat_dec(shared_pages);
	if (!last)
		return;
	__free_page(frame->page);
	kmem_cache_free(cowmem_frame_cache, frame);
	cowmem_stat_dec(pages);
}

/* Called with view->lock held, or on a view nobody else can reach. */
struct cowmem_frame *cowmem_index_lookup(struct cowmem_view *view,
					 pgoff_t pgoff)
{
	return xa_load(&view->frames, pgoff);
}

/*
 * Puts @frame (whose reference the caller passes in) at @pgoff. The frame it
 * replaces keeps its reference, which the caller drops once no PTE maps it.
 * Called with view->lock held.
 */
int cowmem_index_replace(struct cowmem_view *view, pgoff_t pgoff,
			 struct cowmem_frame *frame)
{
	void *old;

	lockdep_assert_held(&view->lock);
	if (cowmem_should_fail())
		return -ENOMEM;
	old = xa_store(&view->frames, pgoff, frame, GFP_KERNEL_ACCOUNT);
	return xa_err(old);
}

/*
 * Makes @dst (new, unreachable by anyone else) share every frame of @src.
 * Called with src->lock held. On failure @dst keeps what it got so far, and
 * the caller releases it with the rest of the view.
 */
int cowmem_index_clone(struct cowmem_view *dst, struct cowmem_view *src,
		       unsigned long *shared)
{
	struct cowmem_frame *frame;
	unsigned long pgoff;
	void *old;

	lockdep_assert_held(&src->lock);
	*shared = 0;
	xa_for_each(&src->frames, pgoff, frame) {
		if (cowmem_should_fail())
			return -ENOMEM;
		old = xa_store(&dst->frames, pgoff, frame, GFP_KERNEL_ACCOUNT);
		if (xa_is_err(old))
			return xa_err(old);
		cowmem_frame_get(frame);
		(*shared)++;
	}
	return 0;
}

/* Drops every frame of a view that no VMA maps any more; returns how many. */
unsigned long cowmem_index_release(struct cowmem_view *view)
{
	struct cowmem_frame *frame;
	unsigned long pgoff, n = 0;

	xa_for_each(&view->frames, pgoff, frame) {
		cowmem_frame_put(frame);
		n++;
	}
	xa_destroy(&view->frames);
	return n;
}
