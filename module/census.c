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
	xa_init(&c->pins);
	return c;
}

/* Lets go of the pins: what their owners replaced meanwhile is freed here. */
void cowmem_census_destroy(struct cowmem_census *c)
{
	struct cowmem_index *pin;
	unsigned long i;

	if (!c)
		return;
	xa_for_each(&c->pins, i, pin) {
		cowmem_index_unpin(pin);
		kfree(pin);
	}
	xa_destroy(&c->pins);
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

/*
 * Keeps @pin, filled by the caller, until the census is destroyed, and
 * counts its root. Returns @pin, or NULL (the census then failed: c->err).
 */
static struct cowmem_index *cowmem_census_keep(struct cowmem_census *c,
					       struct cowmem_index *pin)
{
	void *old = xa_store(&c->pins, c->nr_pins, pin, GFP_KERNEL_ACCOUNT);
	int err = xa_err(old);

	if (err) {
		cowmem_index_unpin(pin);
		kfree(pin);
		c->err = err;
		return NULL;
	}
	c->nr_pins++;
	if (pin->root)
		cowmem_census_tally(c, &c->nodes[pin->root->level], pin->root,
				    1);
	return pin;
}

/* Pins @index, frozen or its owner locked, and counts it. */
static void cowmem_census_add(struct cowmem_census *c,
			      struct cowmem_index *index)
{
	struct cowmem_index *pin = kmalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);

	if (!pin) {
		c->err = -ENOMEM;
		return;
	}
	cowmem_index_pin(pin, index);
	cowmem_census_keep(c, pin);
}

/*
 * Pins @view's index and counts it; returns the pin, or NULL. Takes the
 * view's lock for read, which waits only for what changes the view whole
 * (a fork, a snapshot, a rollback, a merge): its faults go on.
 */
static struct cowmem_index *cowmem_census_add_view(struct cowmem_census *c,
						   struct cowmem_view *view)
{
	struct cowmem_index *pin = kmalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);

	if (!pin) {
		c->err = -ENOMEM;
		return NULL;
	}
	if (down_read_killable(&view->lock)) {
		kfree(pin);
		c->err = -EINTR;
		return NULL;
	}
	cowmem_view_pin(view, pin);
	up_read(&view->lock);
	return cowmem_census_keep(c, pin);
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
		if (fatal_signal_pending(current))
			c->err = -EINTR;
		if (c->err)
			return;
	}
}

/*
 * Hands every counted root's reach down, level by level, to the frames.
 * Returns 0, -ENOMEM when the census could not be completed, or -EINTR
 * when a fatal signal stopped it. Holds no lock: every index is pinned.
 */
static int cowmem_census_count(struct cowmem_census *c)
{
	unsigned int level = COWMEM_INDEX_MAX_LEVELS;

	while (level-- && !c->err)
		cowmem_census_level(c, level);
	return c->err;
}

/* A census of one region, pinned hold by hold: cowmem_census_region(). */
struct cowmem_census_walk {
	struct cowmem_lockset set; /* the region's lock alone, budgeted */
	bool (*want_view)(struct cowmem_view *view);
	bool (*want_snap)(struct cowmem_region *snap);
	struct cowmem_view *mine; /* pinned first, and skipped in the list */
	unsigned long pos; /* list entries done in earlier holds */
	unsigned long seen; /* entries met in this hold */
};

static bool cowmem_census_no_view(struct cowmem_view *view)
{
	return false;
}

/*
 * The next entry of the region's lists: pinned when @wanted and not done in
 * an earlier hold (@view's index, or the frozen @index). Returns false,
 * pinning nothing, when this hold's budget is spent or the census failed.
 */
static bool cowmem_census_entry(struct cowmem_census *c,
				struct cowmem_census_walk *w,
				struct cowmem_index *index,
				struct cowmem_view *view, bool wanted)
{
	if (w->seen < w->pos) {
		w->seen++;
		return true;
	}
	if (wanted && !cowmem_lockset_spend(&w->set, 1))
		return false;
	w->pos = ++w->seen;
	if (wanted && view)
		cowmem_census_add_view(c, view);
	else if (wanted)
		cowmem_census_add(c, index);
	return !c->err;
}

/*
 * Pins what one hold of the region's lock may: its own frozen contents (a
 * snapshot region's), its views and the frozen contents of the snapshots
 * taken of them, in list order, from where the last hold stopped. Returns
 * true when the lists are done. Called with w->set locked.
 */
static bool cowmem_census_hold(struct cowmem_census *c,
			       struct cowmem_census_walk *w,
			       struct cowmem_region *region)
{
	struct cowmem_region *snap;
	struct cowmem_view *view;

	lockdep_assert_held(&region->lock);
	if (w->mine && !c->mine) {
		cowmem_lockset_spend(&w->set, 1); /* a fresh hold: room */
		c->mine = cowmem_census_add_view(c, w->mine);
		if (!c->mine)
			return false;
	}
	w->seen = 0;
	if (!cowmem_census_entry(c, w, &region->base, NULL, true))
		return false;
	list_for_each_entry(view, &region->views, link)
		if (view != w->mine &&
		    !cowmem_census_entry(c, w, NULL, view,
					 !w->want_view || w->want_view(view)))
			return false;
	list_for_each_entry(snap, &region->snapshots, snapshot_link)
		if (!cowmem_census_entry(c, w, &snap->base, NULL,
					 !w->want_snap || w->want_snap(snap)))
			return false;
	return true;
}

/*
 * Counts what shares frames with @region: its own frozen contents (a
 * snapshot region's), its views that @want_view chooses, and the frozen
 * contents of the snapshots of them that @want_snap chooses (NULL: all).
 * @mine, a view of @region or NULL, is always counted, and its pin is
 * c->mine, from the same moment as the others'.
 *
 * Each index is pinned (cowmem_index_pin()) under the region's lock, one
 * unit of a lockset's budget each, dropping the lock between budgets, and
 * counted afterwards with no lock held: a region with thousands of views
 * and snapshots makes no one wait longer than a budget, and the walk's
 * length, which its size multiplies, costs its caller alone. A view's
 * faults go on throughout. Indexes pinned in different holds come from
 * different moments; so does anything counted while the region changes.
 * A page merged with another region's counts that region's holders only
 * in that region's census.
 * Returns 0, -EINTR or -ENOMEM. Entered with no region lock held.
 */
int cowmem_census_region(struct cowmem_census *c, struct cowmem_region *region,
			 struct cowmem_view *mine,
			 bool (*want_view)(struct cowmem_view *view),
			 bool (*want_snap)(struct cowmem_region *snap))
{
	struct cowmem_census_walk w = {
		.set = { .regions = { region }, .want = cowmem_census_no_view },
		.want_view = want_view,
		.want_snap = want_snap,
		.mine = mine,
	};
	bool done;

	do {
		if (cowmem_lockset_lock(&w.set))
			return -EINTR;
		done = cowmem_census_hold(c, &w, region);
		cowmem_lockset_unlock(&w.set);
		cond_resched();
	} while (!done && !c->err);
	return c->err ?: cowmem_census_count(c);
}

/* How many paths from an index root lead to @frame: views and snapshots. */
unsigned long cowmem_census_frame_reach(struct cowmem_census *c,
					struct cowmem_frame *frame)
{
	void *tally = xa_load(&c->frames, (unsigned long)frame);

	return tally ? cowmem_census_reach(tally) : 0;
}
