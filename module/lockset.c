// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: locking one or two regions and the views of them that an
 * operation works on, the one way it is done: a merge, a census (which
 * locks a region and no view) and a debugfs reader all go through here.
 *
 * The regions are locked in id order (cowmem_regions' order), killably,
 * then, killably too, the chosen views of each: every view->lock for
 * write, which waits for the view's faults in flight. A caller that names
 * only the views it may read never holds the lock of another process's
 * view: that process's faults go on.
 * Which views were locked is decided once, when they are locked, and
 * recorded in each view (view->in_lockset, under region->lock, which the
 * lockset holds throughout): what want() tests could change meanwhile,
 * and the unlock and the work in between must see the same set.
 *
 * Lockdep counts the locks of one class nested under another in 11 bits,
 * and a region can have more than 2,048 views (forks), so lockdep sees
 * one view lock of a lockset, which teaches it the order (region, then
 * view, then what is taken under them), and the others, of the same class
 * and taken in the same order, are taken out of its sight.
 *
 * Whoever holds a lockset makes every fault on its views wait, other
 * users' faults too (a region opened once and mapped by several processes,
 * a MERGE across two regions). So a lockset counts the work done under it
 * (cowmem_lockset_spend(): one unit is one page of one view looked at),
 * and its holder drops it and takes it again before COWMEM_HOLD_MAX_WORK
 * units: no unprivileged caller keeps another user's fault waiting longer
 * than that. The most any hold did since load is a counter (debugfs stats
 * max_hold_work) that the selftests check against the bound. MERGE counts
 * every view it visits, and a unit per VMA each zap of a page walks; a
 * census (PAGE_INFO's) a unit per index it pins, and it counts them after
 * the hold.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/cowmem.h>

#include "internal.h"

/*
 * The most units one hold did since load, for debugfs. Only the larger of
 * two unlocks at once may win, hence the compare-and-swap; nothing else is
 * ordered by it (a statistic), so it is relaxed.
 */
static atomic_long_t cowmem_lockset_most;

static void cowmem_lockset_note_work(unsigned long work)
{
	atomic_long_t *most = &cowmem_lockset_most;
	long seen = atomic_long_read(most);

	/* A failed swap updates seen: try again while work is still more. */
	while ((long)work > seen &&
	       !atomic_long_try_cmpxchg_relaxed(most, &seen, work))
		;
}

unsigned long cowmem_lockset_max_work(void)
{
	return atomic_long_read(&cowmem_lockset_most);
}

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
 * One more view: the first one lockdep sees, the others it does not.
 * Killable: the view's faults in flight may be allocating. Returns 0 or
 * -EINTR.
 */
static int cowmem_lockset_lock_view(struct cowmem_lockset *set,
				    struct cowmem_view *view)
{
	int err;

	if (!set->shown) {
		err = down_write_killable(&view->lock);
		if (!err)
			set->shown = view;
	} else {
		lockdep_off();
		err = down_write_killable(&view->lock);
		lockdep_on();
	}
	if (!err)
		view->in_lockset = true;
	return err;
}

static void cowmem_lockset_unlock_view(struct cowmem_lockset *set,
				       struct cowmem_view *view)
{
	view->in_lockset = false;
	if (view == set->shown) {
		up_write(&view->lock);
		return;
	}
	lockdep_off();
	up_write(&view->lock);
	lockdep_on();
}

/*
 * Locks @set's regions (one or two; regions[1] may be NULL) and the views
 * of them that set->want chooses (all of them without it). Returns 0, or
 * -EINTR with nothing held when a fatal signal came while waiting for a
 * region or a view.
 * Entered with no region or view lock held.
 */
int cowmem_lockset_lock(struct cowmem_lockset *set)
{
	struct cowmem_view *view;
	int r;

	if (cowmem_lockset_lock_regions(set))
		return -EINTR;
	set->work = 0;
	for (r = 0; r < 2 && set->regions[r]; r++)
		list_for_each_entry(view, &set->regions[r]->views, link) {
			if (!cowmem_lockset_want(set, view))
				continue;
			if (cowmem_lockset_lock_view(set, view)) {
				cowmem_lockset_unlock(set);
				return -EINTR;
			}
		}
	return 0;
}

/*
 * Counts @units of work about to be done under @set. Returns false, and
 * counts nothing, when they would take this hold past COWMEM_HOLD_MAX_WORK:
 * the caller drops the lockset (and may take it again) first. A hold that
 * has done nothing yet always has room, so that every hold makes progress.
 * Called with @set locked.
 */
bool cowmem_lockset_spend(struct cowmem_lockset *set, unsigned long units)
{
	if (set->work && set->work + units > COWMEM_HOLD_MAX_WORK)
		return false;
	set->work += units;
	return true;
}

/* Unlocks in the reverse order: the views, then the regions. */
void cowmem_lockset_unlock(struct cowmem_lockset *set)
{
	struct cowmem_region *first, *second;
	struct cowmem_view *view;
	int r;

	for (r = 0; r < 2 && set->regions[r]; r++) {
		list_for_each_entry(view, &set->regions[r]->views, link) {
			if (view->in_lockset)
				cowmem_lockset_unlock_view(set, view);
		}
	}
	set->shown = NULL;
	cowmem_lockset_note_work(set->work);
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
 * Lockdep sees one view lock of a lockset at most: in_lockset, written
 * under the region's lock, which lockdep does see, says the rest.
 */
void cowmem_lockset_assert(struct cowmem_view *view)
{
	lockdep_assert_held(&view->region->lock);
	lockdep_assert(rwsem_is_locked(&view->lock));
	WARN_ON_ONCE(!view->in_lockset);
}
