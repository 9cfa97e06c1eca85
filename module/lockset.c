// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: locking one or two regions and the views of them that an
 * operation works on, the one way it is done: a merge, a PAGE_INFO count
 * and a debugfs reader all go through here.
 *
 * The regions are locked in id order (cowmem_regions' order), killably,
 * then the chosen views of each, every view->lock nested under the first
 * region's lock. A caller that names only the views it may read never
 * holds the lock of another process's view: that process's faults go on.
 * Which views were locked is decided once, when they are locked, and
 * recorded in each view (view->in_lockset, under region->lock, which the
 * lockset holds throughout): what want() tests could change meanwhile,
 * and the unlock and the work in between must see the same set.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mutex.h>

#include "internal.h"

/* The regions in the order their locks are taken: the lower id first. */
static void cowmem_lockset_order(struct cowmem_lockset *set,
				 struct cowmem_region **first,
				 struct cowmem_region **second)
{
	*first = set->regions[0];
	*second = set->regions[1];
	if (*second && (*second)->id < (*first)->id)
		swap(*first, *second);
}

static bool cowmem_lockset_want(struct cowmem_lockset *set,
				struct cowmem_view *view)
{
	return !set->want || set->want(view);
}

/* The regions, then the views. */
static int cowmem_lockset_lock_regions(struct cowmem_lockset *set)
{
	struct cowmem_region *first, *second;

	cowmem_lockset_order(set, &first, &second);
	if (mutex_lock_killable(&first->lock))
		return -EINTR;
	if (second &&
	    mutex_lock_killable_nested(&second->lock, SINGLE_DEPTH_NESTING)) {
		mutex_unlock(&first->lock);
		return -EINTR;
	}
	return 0;
}

/*
 * Locks @set's regions (one or two; regions[1] may be NULL) and the views
 * of them that set->want chooses (all of them without it). Returns 0, or
 * -EINTR with nothing held when a fatal signal came while waiting for a
 * region.
 * Entered with no region or view lock held.
 */
int cowmem_lockset_lock(struct cowmem_lockset *set)
{
	struct cowmem_region *first, *second;
	struct cowmem_view *view;
	int r;

	if (cowmem_lockset_lock_regions(set))
		return -EINTR;
	cowmem_lockset_order(set, &first, &second);
	for (r = 0; r < 2 && set->regions[r]; r++)
		list_for_each_entry(view, &set->regions[r]->views, link) {
			if (!cowmem_lockset_want(set, view))
				continue;
			mutex_lock_nest_lock(&view->lock, &first->lock);
			view->in_lockset = true;
		}
	return 0;
}

/* Unlocks in the reverse order: the views, then the regions. */
void cowmem_lockset_unlock(struct cowmem_lockset *set)
{
	struct cowmem_region *first, *second;
	struct cowmem_view *view;
	int r;

	for (r = 0; r < 2 && set->regions[r]; r++) {
		list_for_each_entry(view, &set->regions[r]->views, link) {
			if (!view->in_lockset)
				continue;
			view->in_lockset = false;
			mutex_unlock(&view->lock);
		}
	}
	cowmem_lockset_order(set, &first, &second);
	if (second)
		mutex_unlock(&second->lock);
	mutex_unlock(&first->lock);
}

/* Is @view among the views locked? Called with its region's lock held. */
bool cowmem_lockset_has(struct cowmem_view *view)
{
	lockdep_assert_held(&view->region->lock);
	return view->in_lockset;
}

/*
 * For the functions whose contract says "called with @view in a lockset".
 * Lockdep alone cannot tell which of several views of one class is held.
 */
void cowmem_lockset_assert(struct cowmem_view *view)
{
	lockdep_assert_held(&view->region->lock);
	lockdep_assert_held(&view->lock);
	WARN_ON_ONCE(!view->in_lockset);
}
