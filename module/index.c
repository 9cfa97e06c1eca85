// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the page index that maps a page offset to a frame (frame.c): a
 * radix tree whose nodes are shared between the indexes of a view, its fork
 * children and its snapshots, and copied on write. Cloning an index takes
 * one reference on its root; the first write under a shared node copies the
 * nodes on its path (path copying), each copy taking a reference on the
 * children it now also points at.
 *
 * A page is exclusive to an index only when every node on its path and its
 * frame have a single holder. Holder counts are structural (a frame counts
 * the leaf slots that hold it), so how many views see a page is a question
 * for the census (census.c), not a field.
 *
 * This file includes index.h and a few kernel headers only, which
 * selftests/index/shim stands in for: the unit test builds it in userspace.
 *
 * The walks over a whole index (a walk, a diff, a count) may visit
 * millions of pages under a mutex: each gives the CPU away once per leaf
 * node (cond_resched()), so that no CPU is held for their length. A
 * release does not yet, and runs as long as what it frees.
 *
 * Index nodes need no lock of their own: a node is changed in place only by
 * the one index whose path holds it alone, under its owner's lock (the
 * view's); a shared node is read-only, and its holders only take or drop
 * references.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "index.h"

static struct kmem_cache *cowmem_node_cache;

/* Called by cowmem_frames_init(), which dev.c sets up both caches with. */
int cowmem_nodes_init(void)
{
	cowmem_node_cache = KMEM_CACHE(cowmem_node, SLAB_ACCOUNT);
	return cowmem_node_cache ? 0 : -ENOMEM;
}

void cowmem_nodes_exit(void)
{
	kmem_cache_destroy(cowmem_node_cache);
}

unsigned int cowmem_node_bytes(void)
{
	return kmem_cache_size(cowmem_node_cache);
}

static struct cowmem_node *cowmem_node_alloc(unsigned int level)
{
	struct cowmem_node *node;

	if (cowmem_should_fail())
		return NULL;
	node = kmem_cache_zalloc(cowmem_node_cache, GFP_KERNEL);
	if (!node)
		return NULL;
	refcount_set(&node->ref, 1);
	node->level = level;
	cowmem_stat_inc(nodes);
	return node;
}

static void cowmem_node_get(struct cowmem_node *node)
{
	refcount_inc(&node->ref);
}

/*
 * The last holder frees the node and lets go of its children; a shared
 * subtree stops at its top. Returns how many frames that freed. Recurses
 * at most COWMEM_INDEX_MAX_LEVELS deep.
 */
static unsigned long cowmem_node_put(struct cowmem_node *node)
{
	unsigned long freed = 0;
	unsigned int i;

	if (!refcount_dec_and_test(&node->ref))
		return 0;
	for (i = 0; i < COWMEM_NODE_SLOTS; i++) {
		if (!node->slots[i])
			continue;
		if (node->level)
			freed += cowmem_node_put(node->slots[i]);
		else
			freed += cowmem_frame_put(node->slots[i]);
	}
	kmem_cache_free(cowmem_node_cache, node);
	cowmem_stat_dec(nodes);
	return freed;
}

/* The index of the slot covering @pgoff in a node at @level. */
static unsigned int cowmem_slot(pgoff_t pgoff, unsigned int level)
{
	return (pgoff >> (level * COWMEM_NODE_SHIFT)) & (COWMEM_NODE_SLOTS - 1);
}

void cowmem_index_init(struct cowmem_index *index, pgoff_t nr_pages)
{
	unsigned int levels = 1;

	while (levels < COWMEM_INDEX_MAX_LEVELS &&
	       nr_pages > 1UL << (levels * COWMEM_NODE_SHIFT))
		levels++;
	index->root = NULL;
	index->levels = levels;
	index->present = 0;
}

/*
 * The leaf node covering @pgoff, or NULL. *@sole tells whether every node on
 * the path has a single holder, so that the leaf belongs to this index alone.
 * Called with the index's owner locked (view->lock), or on an immutable one.
 */
struct cowmem_node *cowmem_index_leaf(struct cowmem_index *index, pgoff_t pgoff,
				      bool *sole)
{
	struct cowmem_node *node = index->root;

	*sole = true;
	while (node) {
		*sole = *sole && cowmem_node_sole(node);
		if (!node->level)
			break;
		node = node->slots[cowmem_slot(pgoff, node->level)];
	}
	return node;
}

/*
 * The frame at @pgoff, or NULL. With @exclusive, tells whether this index
 * alone holds it (and so it may be mapped writable).
 */
struct cowmem_frame *cowmem_index_lookup(struct cowmem_index *index,
					 pgoff_t pgoff, bool *exclusive)
{
	struct cowmem_frame *frame;
	struct cowmem_node *leaf;
	bool sole;

	leaf = cowmem_index_leaf(index, pgoff, &sole);
	frame = leaf ? leaf->slots[cowmem_slot(pgoff, 0)] : NULL;
	if (exclusive)
		*exclusive = frame && sole && cowmem_frame_sole(frame);
	return frame;
}

/* Takes a reference on everything a copied node now points at too. */
static void cowmem_node_get_children(struct cowmem_node *node)
{
	unsigned int i;
	void *entry;

	for (i = 0; i < COWMEM_NODE_SLOTS; i++) {
		entry = node->slots[i];
		if (entry && node->level)
			cowmem_node_get(entry);
		else if (entry)
			cowmem_frame_get(entry);
	}
}

/*
 * Makes the node in *@slot (the root, or a slot of a node this index alone
 * holds) one this index alone holds: a new empty node where there is none,
 * a copy where the node is shared. Returns it, or NULL when out of memory.
 */
static struct cowmem_node *cowmem_node_unshare(void **slot, unsigned int level)
{
	struct cowmem_node *node = *slot, *copy;

	if (node && cowmem_node_sole(node))
		return node;
	copy = cowmem_node_alloc(level);
	if (!copy)
		return NULL;
	if (node) {
		memcpy(copy->slots, node->slots, sizeof(copy->slots));
		cowmem_node_get_children(copy);
		cowmem_node_put(node);
		cowmem_stat_inc(node_copies);
	}
	*slot = copy;
	return copy;
}

/*
 * Puts @frame (whose reference the caller passes in; NULL empties the slot)
 * at @pgoff, copying the shared nodes on the way. The frame it replaces is
 * returned in *@old with its reference, which the caller drops once no PTE
 * maps it. On failure nothing the index shows has changed.
 * Called with the index's owner locked (view->lock).
 */
int cowmem_index_replace(struct cowmem_index *index, pgoff_t pgoff,
			 struct cowmem_frame *frame, struct cowmem_frame **old)
{
	void **slot = (void **)&index->root;
	unsigned int level = index->levels;
	struct cowmem_node *node;

	*old = NULL;
	if (cowmem_should_fail())
		return -ENOMEM;
	while (level--) {
		node = cowmem_node_unshare(slot, level);
		if (!node)
			return -ENOMEM;
		slot = &node->slots[cowmem_slot(pgoff, level)];
	}
	*old = *slot;
	*slot = frame;
	index->present += !!frame - !!*old;
	this_cpu_add(cowmem_stats.held_pages, (long)!!frame - !!*old);
	return 0;
}

/* Makes @dst (empty) hold what @src holds: one reference, whatever the size. */
void cowmem_index_share(struct cowmem_index *dst, struct cowmem_index *src)
{
	*dst = *src;
	if (dst->root)
		cowmem_node_get(dst->root);
	this_cpu_add(cowmem_stats.held_pages, dst->present);
}

/* Lets go of everything @index holds; returns how many frames that freed. */
unsigned long cowmem_index_release(struct cowmem_index *index)
{
	struct cowmem_node *root = index->root;

	this_cpu_add(cowmem_stats.held_pages, -(long)index->present);
	index->root = NULL;
	index->present = 0;
	return root ? cowmem_node_put(root) : 0;
}

struct cowmem_walk {
	cowmem_index_fn fn;
	void *data;
};

static void cowmem_node_walk(struct cowmem_walk *w, struct cowmem_node *node,
			     pgoff_t first, bool sole)
{
	pgoff_t step = 1UL << (node->level * COWMEM_NODE_SHIFT);
	struct cowmem_frame *frame;
	unsigned int i;

	sole = sole && cowmem_node_sole(node);
	if (!node->level)
		cond_resched();
	for (i = 0; i < COWMEM_NODE_SLOTS; i++) {
		if (!node->slots[i])
			continue;
		if (node->level) {
			cowmem_node_walk(w, node->slots[i], first + i * step,
					 sole);
			continue;
		}
		frame = node->slots[i];
		w->fn(first + i, frame, sole && cowmem_frame_sole(frame),
		      w->data);
	}
}

/*
 * Calls @fn for every frame of @index in page order, saying whether the
 * index alone holds it. Called with the index's owner locked.
 */
void cowmem_index_walk(struct cowmem_index *index, cowmem_index_fn fn,
		       void *data)
{
	struct cowmem_walk w = { .fn = fn, .data = data };

	if (index->root)
		cowmem_node_walk(&w, index->root, 0, true);
}

static unsigned long cowmem_node_present(struct cowmem_node *node)
{
	unsigned long n = 0;
	unsigned int i;

	if (!node->level)
		cond_resched();
	for (i = 0; i < COWMEM_NODE_SLOTS; i++) {
		if (!node->slots[i])
			continue;
		n += node->level ? cowmem_node_present(node->slots[i]) : 1;
	}
	return n;
}

static unsigned long cowmem_node_diff(struct cowmem_node *a,
				      struct cowmem_node *b)
{
	unsigned long n = 0;
	unsigned int i;

	if (a == b)
		return 0;
	if (!a || !b)
		return cowmem_node_present(a ?: b);
	if (!a->level)
		cond_resched();
	for (i = 0; i < COWMEM_NODE_SLOTS; i++) {
		if (a->level)
			n += cowmem_node_diff(a->slots[i], b->slots[i]);
		else
			n += a->slots[i] != b->slots[i];
	}
	return n;
}

/*
 * How many pages hold different frames in @a and @b, two indexes of one
 * region (a snapshot's and its view's), and so of one height. Subtrees they
 * still share are skipped whole: the cost follows what changed, not the
 * size. Called with both indexes' owners locked.
 */
unsigned long cowmem_index_diff(struct cowmem_index *a, struct cowmem_index *b)
{
	if (WARN_ON_ONCE(a->levels != b->levels))
		return 0;
	return cowmem_node_diff(a->root, b->root);
}
