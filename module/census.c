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

#include "observe.h"

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
	xa_init(&c->met);
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
	xa_destroy(&c->met);
	/* After every unpin: "Pins" in fault.c. */
	if (c->region)
		cowmem_region_pins_end(c->region);
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
 * Hands every pinned root's reach down, level by level, to the frames.
 * Returns 0, -ENOMEM when the census could not be completed, or -EINTR
 * when a fatal signal stopped it. Entered with no lock held, after
 * cowmem_census_pin_region(): its length, which the region's size and
 * snapshots multiply, costs its caller alone.
 */
int cowmem_census_count(struct cowmem_census *c)
{
	unsigned int level = COWMEM_INDEX_MAX_LEVELS;

	cowmem_inject_hold_census();
	while (level-- && !c->err)
		cowmem_census_level(c, level);
	return c->err;
}

/* A census of one region, pinned hold by hold: cowmem_census_pin_region(). */
struct cowmem_census_walk {
	struct cowmem_lockset set; /* the region's lock, no view entered */
	bool (*want_view)(struct cowmem_view *view);
	bool (*want_snap)(struct cowmem_snapshot *snap);
};

/*
 * Whether this census met the index known by @id (its view's or its
 * snapshot's id, or its region's for the region's own frozen contents:
 * one id space) in an earlier hold; it is met from now on. Ids, not list
 * positions: views and snapshots come and go between holds, and an index
 * is pinned once or not at all.
 */
static bool cowmem_census_met(struct cowmem_census *c, u64 id)
{
	void *old;

	if (xa_load(&c->met, id))
		return true;
	old = xa_store(&c->met, id, xa_mk_value(0), GFP_KERNEL_ACCOUNT);
	if (xa_is_err(old))
		c->err = xa_err(old);
	return false;
}

/*
 * Pins the index known by @id (@view's, or the frozen @index) unless met
 * before. Returns false, pinning nothing and meeting nothing, when the
 * hold's budget is spent; or when the census failed (c->err).
 */
static bool cowmem_census_take(struct cowmem_census *c,
			       struct cowmem_census_walk *w, u64 id,
			       struct cowmem_index *index,
			       struct cowmem_view *view)
{
	if (xa_load(&c->met, id))
		return true;
	if (!cowmem_lockset_spend(&w->set, 1))
		return false;
	cowmem_census_met(c, id);
	if (c->err)
		return false;
	if (view)
		cowmem_census_add_view(c, view);
	else
		cowmem_census_add(c, index);
	return !c->err;
}

/*
 * Pins what one hold of the region's lock may: its own frozen contents (a
 * snapshot region's), its views and the frozen contents of the snapshots
 * taken of them, the ones not met before. What the wants turn down is met
 * too, for nothing: it is not asked again. Walking past what was met in
 * earlier holds is not counted: a lookup each. Returns true when the
 * lists are done. Called with w->set locked.
 */
static bool cowmem_census_hold(struct cowmem_census *c,
			       struct cowmem_census_walk *w,
			       struct cowmem_region *region)
{
	struct cowmem_snapshot *self = cowmem_snapshot_of(region), *snap;
	struct cowmem_view *view;

	lockdep_assert_held(&region->lock);
	if (self && !cowmem_census_take(c, w, region->id, &self->base, NULL))
		return false;
	list_for_each_entry(view, &region->views, link) {
		if (xa_load(&c->met, view->id))
			continue;
		if (w->want_view && !w->want_view(view))
			cowmem_census_met(c, view->id);
		else if (!cowmem_census_take(c, w, view->id, NULL, view))
			return false;
		cond_resched();
	}
	cowmem_for_each_snapshot(snap, region) {
		u64 id = snap->region.id;

		if (xa_load(&c->met, id))
			continue;
		if (w->want_snap && !w->want_snap(snap))
			cowmem_census_met(c, id);
		else if (!cowmem_census_take(c, w, id, &snap->base, NULL))
			return false;
		cond_resched();
	}
	return !c->err;
}

/*
 * Pins @mine, a view of the census's region, as c->mine, the view whose
 * pages a caller asks about: first, in a hold of its own.
 */
static int cowmem_census_mine(struct cowmem_census *c,
			      struct cowmem_census_walk *w,
			      struct cowmem_view *mine)
{
	if (cowmem_lockset_lock(&w->set)) {
		c->err = -EINTR;
		return c->err;
	}
	cowmem_lockset_spend(&w->set, 1); /* a fresh hold: room */
	if (!cowmem_census_met(c, mine->id))
		c->mine = cowmem_census_add_view(c, mine);
	cowmem_lockset_unlock(&w->set);
	return c->err;
}

/*
 * Pins what shares frames with @region, for cowmem_census_count(): its
 * own frozen contents (a snapshot region's), its views that @want_view
 * chooses, and the frozen contents of the snapshots of them that
 * @want_snap chooses (NULL: all). @mine, a view of @region or NULL, is
 * always pinned, and its pin is c->mine.
 *
 * Each index is pinned (cowmem_index_pin()) under the region's lock, one
 * unit of a lockset's budget each, dropping the lock between budgets: a
 * region with thousands of views and snapshots keeps no one waiting
 * longer than a budget. A view's faults go on throughout; while the
 * census holds its pins (until cowmem_census_destroy()), a COW break in
 * the region zaps before it copies ("Pins" in fault.c). Indexes pinned in
 * different holds come from different moments; so does anything counted
 * while the region changes. A page merged with another region's counts
 * that region's holders only in that region's census.
 * Returns 0, -EINTR or -ENOMEM. Entered with no region lock held; @region
 * stays alive until the census is destroyed (its caller's file or
 * reference keeps it).
 */
int cowmem_census_pin_region(struct cowmem_census *c,
			     struct cowmem_region *region,
			     struct cowmem_view *mine,
			     bool (*want_view)(struct cowmem_view *view),
			     bool (*want_snap)(struct cowmem_snapshot *snap))
{
	struct cowmem_census_walk w = {
		.set = { .regions = { region } },
		.want_view = want_view,
		.want_snap = want_snap,
	};
	bool done;

	if (WARN_ON_ONCE(c->region))
		return -EINVAL;
	c->region = region;
	cowmem_region_pins_begin(region);
	if (mine && cowmem_census_mine(c, &w, mine))
		return c->err;
	do {
		if (cowmem_lockset_lock(&w.set))
			return -EINTR;
		done = cowmem_census_hold(c, &w, region);
		cowmem_lockset_unlock(&w.set);
		cond_resched();
	} while (!done && !c->err);
	return c->err;
}

/* How many paths from an index root lead to @frame: views and snapshots. */
unsigned long cowmem_census_frame_reach(struct cowmem_census *c,
					struct cowmem_frame *frame)
{
	void *tally = xa_load(&c->frames, (unsigned long)frame);

	return tally ? cowmem_census_reach(tally) : 0;
}
