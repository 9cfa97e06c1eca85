// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: frames: a data page and the number of index slots holding it.
 * Holder counts are structural (a frame counts the leaf slots that hold it),
 * so how many views see a page is a question for the census (census.c), not
 * a field.
 */
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "compat.h"
#include "index.h"

static struct kmem_cache *cowmem_frame_cache;

/*
 * What a page nobody wrote maps where cowmem's mappings are VM_MIXEDMAP
 * (compat.h, COWMEM_PINNABLE): there the kernel will not map its own zero
 * page into a shared writable mapping (vm_mixed_zeropage_allowed()), so
 * cowmem keeps a zeroed page of its own, mapped read-only as the kernel's
 * would be, never written, freed at unload. NULL elsewhere: there the
 * kernel's zero page is mapped (zero_pfn()).
 */
struct page *cowmem_zero_page;
static DEFINE_PER_CPU(u64, cowmem_frame_seq);

int cowmem_frames_init(void)
{
	cowmem_frame_cache = KMEM_CACHE(cowmem_frame, SLAB_ACCOUNT);
	if (!cowmem_frame_cache)
		return -ENOMEM;
	if (COWMEM_PINNABLE) {
		cowmem_zero_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!cowmem_zero_page)
			goto destroy_cache;
	}
	return 0;

destroy_cache:
	kmem_cache_destroy(cowmem_frame_cache);
	return -ENOMEM;
}

/* What one frame costs in the slab, for the metadata-per-page figure. */
unsigned int cowmem_frame_bytes(void)
{
	return kmem_cache_size(cowmem_frame_cache);
}

void cowmem_frames_exit(void)
{
	if (cowmem_zero_page)
		put_page(cowmem_zero_page);
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
	refcount_set(&frame->holders, 1);
	frame->era = 0; /* nobody's own until its view publishes it */
	frame->id = cowmem_frame_next_id();
	cowmem_stat_inc(page_allocs);
	cowmem_stat_inc(pages);
	return frame;

free_frame:
	kmem_cache_free(cowmem_frame_cache, frame);
	return NULL;
}

struct cowmem_frame *cowmem_frame_alloc_zeroed(void)
{
	return cowmem_frame_alloc(__GFP_ZERO);
}

/* A frame holding a copy of @src, a page its caller holds a reference on. */
struct cowmem_frame *cowmem_frame_alloc_copy(struct page *src)
{
	struct cowmem_frame *frame = cowmem_frame_alloc(0);

	if (frame)
		copy_highpage(frame->page, src);
	return frame;
}

/* One more index leaf slot (or a merge comparing it) holds @frame. */
void cowmem_frame_get(struct cowmem_frame *frame)
{
	refcount_inc(&frame->holders);
}

/* Returns true when that was the last holder: the frame is freed. */
bool cowmem_frame_put(struct cowmem_frame *frame)
{
	if (!refcount_dec_and_test(&frame->holders))
		return false;
	/* The page itself goes with its last reference: a pin may hold one. */
	put_page(frame->page);
	kmem_cache_free(cowmem_frame_cache, frame);
	cowmem_stat_dec(pages);
	return true;
}
