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
 * view's, for write) or its owner's publish lock (view->publish, which a
 * fault holds for the swap alone: cowmem_index_publish()); a shared node
 * is read-only, and its holders only take or drop references.
 *
 * Lookups take no lock: the faults of one view, each on its own block of
 * pages, look up while another publishes. So:
 *  - a pointer (index->root, a slot) is stored with smp_store_release()
 *    once what it points at is complete (a copied node's slots, a frame's
 *    copied page), and loaded with READ_ONCE(), whose address dependency
 *    orders what the lookup reads through it after the store: the
 *    rcu_assign_pointer()/rcu_dereference() pair, without the __rcu
 *    annotation (a slot holds nodes and frames alike);
 *  - a node is freed an RCU grace period after its last reference goes
 *    (call_rcu()), and a lookup holds rcu_read_lock(), so that a path it
 *    read before a publisher replaced a node on it stays readable;
 *  - a path a lookup read may stop being the index's while it reads it:
 *    a publish of another page copies a shared node and drops the
 *    original, which another index may then hold alone and change in
 *    place. So every publish bumps index->seq (a seqcount, written under
 *    the publish lock), and a lookup reads it before and after its walk
 *    and walks again when it moved: what it returns comes from the index's
 *    own path. It reads no frame before that check: a frame on a path no
 *    longer the index's may be freed at any time, and frames are freed at
 *    once, not after a grace period.
 * A frame a lookup returns stays alive: a view's frames at a page offset
 * change only under that offset's block lock (fault.c), which the caller
 * holds (or the index's owner for write), and a copy of a path takes
 * references on the frames it leads to before the old path lets go of
 * them. "Exclusive" read then is stale only where a pin has just begun
 * (cowmem_index_pin(), which fault.c's "Pins" deals with): otherwise only
 * what holds the view's lock for write makes a frame shared again. It may
 * read "shared" where another holder is just letting go, and a write then
 * copies.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "index.h"

static struct kmem_cache *cowmem_node_cache;

/* The nodes' slab cache, made at load by cowmem_init() (main.c). */
int cowmem_nodes_init(void)
{
	cowmem_node_cache = KMEM_CACHE(cowmem_node, SLAB_ACCOUNT);
	return cowmem_node_cache ? 0 : -ENOMEM;
}

void cowmem_nodes_exit(void)
{
	rcu_barrier(); /* the nodes call_rcu() still has to free */
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

static void cowmem_node_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(cowmem_node_cache,
			container_of(head, struct cowmem_node, rcu));
}

/*
 * The last holder frees the node (after a grace period: a lookup may be
 * reading it) and lets go of its children; a shared subtree stops at its
 * top. Returns how many frames that freed. Recurses at most
 * COWMEM_INDEX_MAX_LEVELS deep.
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
	call_rcu(&node->rcu, cowmem_node_free_rcu);
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
	seqcount_init(&index->seq);
}

/*
 * The leaf node covering @pgoff, or NULL. *@sole tells whether every node on
 * the path has a single holder, so that the leaf belongs to this index alone.
 * Called under rcu_read_lock(), or with the index's owner locked for write,
 * or on an immutable index.
 */
struct cowmem_node *cowmem_index_leaf(struct cowmem_index *index, pgoff_t pgoff,
				      bool *sole)
{
	/* Pairs with the release that published it: see the top of the file. */
	struct cowmem_node *node = READ_ONCE(index->root);

	*sole = true;
	while (node) {
		*sole = *sole && cowmem_node_sole(node);
		if (!node->level)
			break;
		node = READ_ONCE(node->slots[cowmem_slot(pgoff, node->level)]);
	}
	return node;
}

/*
 * The frame at @pgoff, or NULL. With @exclusive, tells whether this index
 * alone holds it (and so it may be mapped writable); under a publisher, an
 * answer of "shared" may be stale, an answer of "exclusive" only where a
 * pin has just begun (see the top of the file). Takes no lock: the caller keeps the frame alive
 * (it holds the offset's block lock, or the index's owner for write).
 */
struct cowmem_frame *cowmem_index_lookup(struct cowmem_index *index,
					 pgoff_t pgoff, bool *exclusive)
{
	struct cowmem_frame *frame;
	struct cowmem_node *leaf;
	unsigned int seq;
	bool sole;

	do {
		rcu_read_lock();
		/* Orders the walk after the read of seq: see the top. */
		seq = read_seqcount_begin(&index->seq);
		leaf = cowmem_index_leaf(index, pgoff, &sole);
		frame = leaf ? READ_ONCE(leaf->slots[cowmem_slot(pgoff, 0)]) :
			       NULL;
		rcu_read_unlock();
		/* And the walk before the second read. */
	} while (read_seqcount_retry(&index->seq, seq));
	/* The path was the index's: the frame is alive (see the top). */
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
 * A new node at @level: one of @spares, or allocated when there are none
 * (NULL when out of memory).
 */
static struct cowmem_node *cowmem_node_new(struct cowmem_index_spares *spares,
					   unsigned int level)
{
	struct cowmem_node *node;

	if (!spares)
		return cowmem_node_alloc(level);
	if (!spares->nr) {
		/* The path changed since the spares were counted. */
		spares->short_of_nodes = true;
		return NULL;
	}
	node = spares->node[--spares->nr];
	node->level = level;
	return node;
}

/*
 * Makes the node in *@slot (the root, or a slot of a node this index alone
 * holds) one this index alone holds: a new empty node where there is none,
 * a copy where the node is shared. Returns it, or NULL when out of memory.
 * The copy holds its children before the original lets go of them, and is
 * complete before it is published; with @spares, the original is let go of
 * by cowmem_index_spares_put(), after the publish lock.
 */
static struct cowmem_node *
cowmem_node_unshare(void **slot, unsigned int level,
		    struct cowmem_index_spares *spares)
{
	struct cowmem_node *node = *slot, *copy;

	if (node && cowmem_node_sole(node))
		return node;
	copy = cowmem_node_new(spares, level);
	if (!copy)
		return NULL;
	if (node) {
		memcpy(copy->slots, node->slots, sizeof(copy->slots));
		cowmem_node_get_children(copy);
		cowmem_stat_inc(node_copies);
	}
	/* The copy's slots and references before the pointer to it. */
	smp_store_release(slot, copy);
	if (node && spares)
		spares->drop[spares->nr_drop++] = node;
	else if (node)
		cowmem_node_put(node);
	return copy;
}

/* replace and publish: new nodes from @spares, or allocated without. */
static int cowmem_index_store(struct cowmem_index *index, pgoff_t pgoff,
			      struct cowmem_frame *frame,
			      struct cowmem_frame **old,
			      struct cowmem_index_spares *spares)
{
	void **slot = (void **)&index->root;
	unsigned int level = index->levels;
	struct cowmem_node *node;

	while (level--) {
		node = cowmem_node_unshare(slot, level, spares);
		if (!node)
			return spares && spares->short_of_nodes ? -EAGAIN :
								  -ENOMEM;
		slot = &node->slots[cowmem_slot(pgoff, level)];
	}
	*old = *slot;
	/* The frame's page (zeroed or copied) before the pointer to it. */
	smp_store_release(slot, frame);
	index->present += !!frame - !!*old;
	this_cpu_add(cowmem_stats.held_pages, (long)!!frame - !!*old);
	return 0;
}

/*
 * Puts @frame (whose reference the caller passes in; NULL empties the slot)
 * at @pgoff, copying the shared nodes on the way. The frame it replaces is
 * returned in *@old with its reference, which the caller drops once no PTE
 * maps it. On failure nothing the index shows has changed.
 * Called with the index's owner locked for write (view->lock):
 * a merge. A fault publishes instead (cowmem_index_publish()).
 */
int cowmem_index_replace(struct cowmem_index *index, pgoff_t pgoff,
			 struct cowmem_frame *frame, struct cowmem_frame **old)
{
	*old = NULL;
	if (cowmem_should_fail())
		return -ENOMEM;
	return cowmem_index_store(index, pgoff, frame, old, NULL);
}

/*
 * How many nodes a change at @pgoff would make now: one for each node of
 * its path that is missing or shared, and every node under a shared one
 * (its copy shares them). Takes no lock; the path may change meanwhile.
 */
static unsigned int cowmem_index_path_cost(struct cowmem_index *index,
					   pgoff_t pgoff)
{
	unsigned int level = index->levels;
	struct cowmem_node *node;
	void **slot;

	rcu_read_lock();
	node = READ_ONCE(index->root);
	for (; level && node && cowmem_node_sole(node); level--) {
		slot = &node->slots[cowmem_slot(pgoff, node->level)];
		if (node->level)
			node = READ_ONCE(*slot);
	}
	rcu_read_unlock();
	return level;
}

/*
 * The nodes a publish at @pgoff may need (cowmem_index_path_cost()),
 * allocated before the publish lock is taken; usually none, once a view
 * writes where it wrote before. Returns 0 or -ENOMEM. Takes no lock.
 */
int cowmem_index_spares_get(struct cowmem_index *index, pgoff_t pgoff,
			    struct cowmem_index_spares *spares)
{
	unsigned int need = cowmem_index_path_cost(index, pgoff);

	*spares = (struct cowmem_index_spares){};
	while (spares->nr < need) {
		spares->node[spares->nr] = cowmem_node_alloc(0);
		if (!spares->node[spares->nr])
			return -ENOMEM;
		spares->nr++;
	}
	return 0;
}

/*
 * After a publish, outside its lock: frees the spare nodes it did not use
 * (nobody ever saw them: no grace period) and drops the originals of
 * those it copied. Takes no lock.
 */
void cowmem_index_spares_put(struct cowmem_index_spares *spares)
{
	while (spares->nr) {
		kmem_cache_free(cowmem_node_cache, spares->node[--spares->nr]);
		cowmem_stat_dec(nodes);
	}
	while (spares->nr_drop)
		cowmem_node_put(spares->drop[--spares->nr_drop]);
}

/*
 * Puts @frame (whose reference the caller passes in) at @pgoff, if the
 * index still holds @expected there, and still shared if it was
 * (@was_shared); returns -EAGAIN, changing nothing, if not: another fault
 * got there first, and its frame stands, or @expected is the index's
 * alone now, to be reused. Copies the
 * shared nodes on the way with @spares, which has one per level. The
 * frame replaced (@expected, with its reference) is the caller's to drop
 * once no PTE maps it. -EAGAIN too when the path needs more nodes than
 * @spares has (it changed since they were counted): the caller counts
 * again. Called with the index's publish lock held (a spinlock: nothing
 * here sleeps or allocates).
 */
int cowmem_index_publish(struct cowmem_index *index, pgoff_t pgoff,
			 struct cowmem_frame *expected, bool was_shared,
			 struct cowmem_frame *frame,
			 struct cowmem_index_spares *spares)
{
	struct cowmem_frame *old;
	bool exclusive;
	int err;

	/*
	 * Another fault replaced the frame, or the frame, shared when the
	 * copy was decided, became the index's alone meanwhile (its other
	 * holders let go): then a thread of this view may already write it
	 * in place, and the copy is stale.
	 */
	if (cowmem_index_lookup(index, pgoff, &exclusive) != expected ||
	    (was_shared && exclusive))
		return -EAGAIN;
	write_seqcount_begin(&index->seq);
	err = cowmem_index_store(index, pgoff, frame, &old, spares);
	write_seqcount_end(&index->seq);
	return err;
}

/* @dst holds what @src holds too: one more reference on its root. */
static void cowmem_index_take(struct cowmem_index *dst,
			      struct cowmem_index *src)
{
	dst->root = src->root;
	dst->levels = src->levels;
	dst->present = src->present;
	if (dst->root)
		cowmem_node_get(dst->root);
}

/*
 * Makes @pin (uninitialised) a read-only copy of what @index holds now: one
 * reference on its root, as a clone takes, but nobody's pages, so no
 * statistic counts it. An observer pins what it reads and reads it after
 * letting go of the owner's locks (census.c). While the pin is held every
 * node and frame of @index has a second holder, so a write to the index
 * copies its path (and a write fault its page) instead of changing one in
 * place: the pin's nodes never change, and the owner pays for being
 * watched in copies, never in contents (fault.c's "Pins" says how a COW
 * break keeps it so). Called with @index's owner's lock
 * (a view's for read, with its publish lock, which orders the root read
 * after any swap), or on an immutable index.
 */
void cowmem_index_pin(struct cowmem_index *pin, struct cowmem_index *index)
{
	cowmem_index_init(pin, 0);
	cowmem_index_take(pin, index);
}

/* Lets go of a pin; returns how many frames that freed (the owner's old ones). */
unsigned long cowmem_index_unpin(struct cowmem_index *pin)
{
	struct cowmem_node *root = pin->root;

	pin->root = NULL;
	pin->present = 0;
	return root ? cowmem_node_put(root) : 0;
}

/*
 * Makes @dst (empty) hold what @src holds: one reference, whatever the size.
 * Called with both indexes' owners locked for write (no lookup runs).
 */
void cowmem_index_share(struct cowmem_index *dst, struct cowmem_index *src)
{
	cowmem_index_take(dst, src);
	this_cpu_add(cowmem_stats.held_pages, dst->present);
}

/*
 * Moves what @src holds to @dst (whose seq is its own, initialised), and
 * leaves @src empty. Called with @src's owner locked for write.
 */
void cowmem_index_move(struct cowmem_index *dst, struct cowmem_index *src)
{
	dst->root = src->root;
	dst->levels = src->levels;
	dst->present = src->present;
	src->root = NULL;
	src->present = 0;
}

/* Lets go of everything @index holds; returns how many frames that freed. */
unsigned long cowmem_index_release(struct cowmem_index *index)
{
	this_cpu_add(cowmem_stats.held_pages, -(long)index->present);
	return cowmem_index_unpin(index);
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
