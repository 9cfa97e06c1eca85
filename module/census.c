// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the census, which counts who holds each index node and each frame
 * over the indexes of one region and its snapshots at once.
 *
 * Index nodes are shared and hold structural counts (see index.c), so how
 * many views see a page is not written anywhere: it is the number of paths
 * from an index root down to the frame. The census walks each distinct node
 * once, from the top level down, handing every node's reach (the paths to
 * it) to its children. Its cost follows the nodes that exist, not the pages
 * the views see. It also counts each node's and frame's holders, which
 * debugfs "check" compares with their reference counts.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>

#include "internal.h"

/*
 * A tally packs reach (high bits) and holders (low 32 bits) in an xa value,
 * which holds at most LONG_MAX: 31 bits are left for the reach. Both
 * saturate there: one frame merged across a large region and then
 * snapshotted thousands of times can be reached by more paths than that,
 * and reads as COWMEM_TALLY_REACH_MAX instead of wrapping (or tripping
 * xa_mk_value()'s warning, a panic under panic_on_warn).
 */
#define COWMEM_TALLY_SHIFT 32
#define COWMEM_TALLY_REACH_MAX (LONG_MAX >> COWMEM_TALLY_SHIFT)

unsigned long cowmem_census_reach(void *tally)
{
	return xa_to_value(tally) >> COWMEM_TALLY_SHIFT;
}

unsigned long cowmem_census_holders(void *tally)
{
	return xa_to_value(tally) & U32_MAX;
}

/*
 * An empty census, or NULL. Too big for the stack with lockdep on. It and
 * its tallies are charged to the caller's memory cgroup.
 */
struct cowmem_census *cowmem_census_create(void)
{
	struct cowmem_census *c = kzalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);
	unsigned int i;

	if (!c)
		return NULL;
	for (i = 0; i < COWMEM_INDEX_MAX_LEVELS; i++)
		xa_init(&c->nodes[i]);
	xa_init(&c->frames);
	return c;
}

void cowmem_census_destroy(struct cowmem_census *c)
{
	unsigned int i;

	if (!c)
		return;
	for (i = 0; i < COWMEM_INDEX_MAX_LEVELS; i++)
		xa_destroy(&c->nodes[i]);
	xa_destroy(&c->frames);
	kfree(c);
}

/* One more holder of @key, through which @reach more paths lead to it. */
static void cowmem_census_tally(struct cowmem_census *c, struct xarray *xa,
				void *key, unsigned long reach)
{
	void *tally = xa_load(xa, (unsigned long)key);
	unsigned long holders = tally ? cowmem_census_holders(tally) : 0;
	unsigned long sum = tally ? cowmem_census_reach(tally) : 0;

	/* Both are at most COWMEM_TALLY_REACH_MAX: their sum cannot wrap. */
	sum = min(sum + reach, (unsigned long)COWMEM_TALLY_REACH_MAX);
	holders = min(holders + 1, (unsigned long)U32_MAX);
	tally = xa_mk_value(sum << COWMEM_TALLY_SHIFT | holders);
	tally = xa_store(xa, (unsigned long)key, tally, GFP_KERNEL_ACCOUNT);
	if (xa_is_err(tally))
		c->err = xa_err(tally);
}

/* Counts @index's root. Called with the index's owner locked. */
void cowmem_census_add(struct cowmem_census *c, struct cowmem_index *index)
{
	struct cowmem_node *root = index->root;

	if (root)
		cowmem_census_tally(c, &c->nodes[root->level], root, 1);
}

/* Hands the reach of every node at @level to its children. */
static void cowmem_census_level(struct cowmem_census *c, unsigned int level)
{
	struct cowmem_node *node;
	struct xarray *below;
	unsigned long key, reach;
	unsigned int i;
	void *tally;

	xa_for_each(&c->nodes[level], key, tally) {
		node = (struct cowmem_node *)key;
		reach = cowmem_census_reach(tally);
		below = level ? &c->nodes[level - 1] : &c->frames;
		for (i = 0; i < COWMEM_NODE_SLOTS && !c->err; i++)
			if (node->slots[i])
				cowmem_census_tally(c, below, node->slots[i],
						    reach);
		/* A census can count a large region: others get the CPU. */
		cond_resched();
	}
}

/*
 * Hands every counted root's reach down, level by level, to the frames.
 * Returns 0, or -ENOMEM when the census could not be completed.
 * Called with the counted indexes' owners locked.
 */
int cowmem_census_count(struct cowmem_census *c)
{
	unsigned int level = COWMEM_INDEX_MAX_LEVELS;

	while (level-- && !c->err)
		cowmem_census_level(c, level);
	return c->err;
}

/*
 * Counts what shares frames with @region, as the holder of its lockset sees
 * it: its own frozen contents (a snapshot region's), its views in the
 * lockset, and the frozen contents of the snapshots taken of its views
 * that @want_snap chooses (NULL: all of them). A page merged with another
 * region's counts that region's holders only in that region's census.
 * Returns 0, or -ENOMEM when the census could not be completed.
 * Called with @region in a lockset.
 */
int cowmem_census_region(struct cowmem_census *c, struct cowmem_region *region,
			 bool (*want_snap)(struct cowmem_region *snap))
{
	struct cowmem_region *snap;
	struct cowmem_view *view;

	lockdep_assert_held(&region->lock);
	cowmem_census_add(c, &region->base);
	list_for_each_entry(view, &region->views, link)
		if (cowmem_lockset_has(view))
			cowmem_census_add(c, &view->index);
	list_for_each_entry(snap, &region->snapshots, snapshot_link)
		if (!want_snap || want_snap(snap))
			cowmem_census_add(c, &snap->base);
	return cowmem_census_count(c);
}

/* How many paths from an index root lead to @frame: views and snapshots. */
unsigned long cowmem_census_frame_reach(struct cowmem_census *c,
					struct cowmem_frame *frame)
{
	void *tally = xa_load(&c->frames, (unsigned long)frame);

	return tally ? cowmem_census_reach(tally) : 0;
}
