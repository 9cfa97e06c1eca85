/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: frames (frame.c) and the copy-on-write page index (index.c).
 * Only kernel headers that selftests/index/shim stands in for are included
 * here, and only inject.c and stats.c are called besides: the unit test
 * builds index.c in userspace against this header as it is.
 */
#ifndef _COWMEM_INDEX_H
#define _COWMEM_INDEX_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/math.h>
#include <linux/refcount.h>
#include <linux/seqlock.h>
#include <linux/types.h>

#include "stats.h"

struct page;

struct cowmem_frame {
	struct page *page;
	refcount_t holders; /* leaf slots holding it; a merge comparing it */
	u64 id; /* unique since load; userspace sees a keyed hash of it */
	/*
	 * The era (cowmem.h, view->era) of the view that made it or reused
	 * it, which owns it alone until that era ends; 0: none. Written
	 * before it is published, under the page's block lock by the one view
	 * that holds it (a reuse, a claim), or by what holds it beside that
	 * view: a clone under the source view's lock for write, a merge while
	 * its own hold keeps every view from reusing it. Read with
	 * READ_ONCE() under the reader's view->lock (cowmem_frame_owned()).
	 */
	u64 era;
};

#define COWMEM_NODE_SHIFT 6
#define COWMEM_NODE_SLOTS BIT(COWMEM_NODE_SHIFT)
#define COWMEM_INDEX_MAX_LEVELS DIV_ROUND_UP(BITS_PER_LONG, COWMEM_NODE_SHIFT)

/*
 * A node of a page index: a radix tree of 64 slots per node whose nodes are
 * shared between indexes and copied on write, like the page tables of a
 * Btrfs or ZFS snapshot. A node is immutable while shared (ref > 1); whoever
 * needs to change one first copies it (and takes a reference on each of its
 * children), so cloning an index is taking a reference on its root.
 */
struct cowmem_node {
	refcount_t ref; /* holders: parent slots and index roots */
	unsigned int level; /* 0: slots hold frames; else nodes one level down */
	struct rcu_head rcu; /* freed a grace period after the last put */
	void *slots[COWMEM_NODE_SLOTS];
};

/* What a view (or a snapshot) holds: page offset -> frame. */
struct cowmem_index {
	struct cowmem_node *root; /* NULL while empty */
	unsigned int levels; /* height, from the region's size */
	unsigned long present; /* pages that have a frame */
	/*
	 * Bumped around each publish, so that a lookup that takes no lock
	 * knows the path it walked was the index's all along (index.c).
	 * Never copied: an index moves with cowmem_index_move().
	 */
	seqcount_t seq;
};

/*
 * What one publish (cowmem_index_publish()) may use and leave behind: the
 * spare nodes its path needs, allocated before its lock, and the shared
 * nodes it copied, dropped after it.
 */
struct cowmem_index_spares {
	struct cowmem_node *node[COWMEM_INDEX_MAX_LEVELS];
	unsigned int nr;
	struct cowmem_node *drop[COWMEM_INDEX_MAX_LEVELS];
	unsigned int nr_drop;
	bool short_of_nodes; /* the publish needed more: -EAGAIN */
};

/* inject.c: the allocation failure point, which index.c calls too */
bool cowmem_should_fail(void);

/* frame.c: a data page and the number of index slots holding it */
extern struct page *cowmem_zero_page;
int cowmem_frames_init(void);
void cowmem_frames_exit(void);
unsigned int cowmem_frame_bytes(void);
struct cowmem_frame *cowmem_frame_alloc_zeroed(void);
struct cowmem_frame *cowmem_frame_alloc_copy(struct page *src);
void cowmem_frame_get(struct cowmem_frame *frame);
bool cowmem_frame_put(struct cowmem_frame *frame);

/* Pairs with the release in refcount_dec(): a sharer that let go is done. */
static inline bool cowmem_frame_sole(struct cowmem_frame *frame)
{
	return atomic_read_acquire(&frame->holders.refs) == 1;
}

static inline bool cowmem_node_sole(struct cowmem_node *node)
{
	return atomic_read_acquire(&node->ref.refs) == 1;
}

/* index.c: the copy-on-write page index */
int cowmem_nodes_init(void);
void cowmem_nodes_exit(void);
unsigned int cowmem_node_bytes(void);
void cowmem_index_init(struct cowmem_index *index, pgoff_t nr_pages);
struct cowmem_node *cowmem_index_leaf(struct cowmem_index *index, pgoff_t pgoff,
				      bool *sole);
struct cowmem_frame *cowmem_index_lookup(struct cowmem_index *index,
					 pgoff_t pgoff, bool *exclusive);
int cowmem_index_replace(struct cowmem_index *index, pgoff_t pgoff,
			 struct cowmem_frame *frame, struct cowmem_frame **old);
int cowmem_index_spares_get(struct cowmem_index *index, pgoff_t pgoff,
			    struct cowmem_index_spares *spares);
void cowmem_index_spares_put(struct cowmem_index_spares *spares);
int cowmem_index_publish(struct cowmem_index *index, pgoff_t pgoff,
			 struct cowmem_frame *expected, bool was_shared,
			 struct cowmem_frame *frame,
			 struct cowmem_index_spares *spares);
void cowmem_index_share(struct cowmem_index *dst, struct cowmem_index *src);
void cowmem_index_pin(struct cowmem_index *pin, struct cowmem_index *index);
unsigned long cowmem_index_unpin(struct cowmem_index *pin);
void cowmem_index_move(struct cowmem_index *dst, struct cowmem_index *src);
unsigned long cowmem_index_release(struct cowmem_index *index);
typedef void (*cowmem_index_fn)(pgoff_t pgoff, struct cowmem_frame *frame,
				bool exclusive, void *data);
void cowmem_index_walk(struct cowmem_index *index, cowmem_index_fn fn,
		       void *data);
unsigned long cowmem_index_diff(struct cowmem_index *a, struct cowmem_index *b);

#endif /* _COWMEM_INDEX_H */
