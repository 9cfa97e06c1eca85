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

/* One more index slot holds @frame; true when it was exclusive until now. */
static bool cowmem_frame_share(struct cowmem_frame *frame)
{
	int old;

	__refcount_inc(&frame->sharers, &old);
	return old == 1;
}

void cowmem_frame_get(struct cowmem_frame *frame)
{
	if (cowmem_frame_share(frame))
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
 * Copies @src's slots into @dst from @from on, taking a reference on each
 * frame, until done or out of index nodes (the error stays in @to). Counts
 * the slots in *@shared and the frames that stopped being exclusive in
 * *@newly, for the counters to be added once.
 * Returns an injected failure, or 0. Called with @to's xa_lock held.
 */
static int cowmem_index_copy_run(struct xa_state *from, struct xa_state *to,
				 unsigned long *shared, long *newly)
{
	struct cowmem_frame *frame;

	xas_for_each(from, frame, ULONG_MAX) {
		if (cowmem_should_fail())
			return -ENOMEM;
		/* Runs of consecutive pages stay in the same index node. */
		if (to->xa_node && !xas_invalid(to) &&
		    to->xa_index + 1 == from->xa_index)
			xas_next(to);
		else
			xas_set(to, from->xa_index);
		xas_store(to, frame);
		if (xas_error(to))
			break;
		*newly += cowmem_frame_share(frame);
		(*shared)++;
	}
	return 0;
}

/*
 * Makes @dst (new, unreachable by anyone else) share every frame of @src,
 * walking both indexes in step rather than looking each page up from the
 * root: this is most of what a fork of a large region costs.
 * Called with src->lock held. On failure @dst keeps what it got so far, and
 * the caller releases it with the rest of the view.
 */
int cowmem_index_clone(struct cowmem_view *dst, struct cowmem_view *src,
		       unsigned long *shared)
{
	XA_STATE(from, &src->frames, 0);
	XA_STATE(to, &dst->frames, 0);
	long newly = 0;
	int err;

	lockdep_assert_held(&src->lock);
	*shared = 0;
	do {
		/* Resume at the slot that ran out of nodes (or at 0). */
		xas_set(&from, to.xa_index);
		xas_lock(&to);
		rcu_read_lock();
		err = cowmem_index_copy_run(&from, &to, shared, &newly);
		rcu_read_unlock();
		xas_unlock(&to);
	} while (!err && xas_nomem(&to, GFP_KERNEL_ACCOUNT));
	if (err)
		xas_nomem(&to, 0); /* without an error, it frees a spare node */
	this_cpu_add(cowmem_stats.shared_pages, newly);
	this_cpu_add(cowmem_stats.slots, *shared);
	return err ?: xas_error(&to);
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
