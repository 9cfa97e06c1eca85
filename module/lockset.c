// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: locking one or two regions, and one view of them at a time, for
 * an operation that works across views, the one way it is done: a merge,
 * a census (which enters no view: it pins each holding the view's lock
 * for read, census.c) and the debugfs readers all go through here.
 *
 * The regions are locked in id order (cowmem_regions' order), killably,
 * and held throughout, so that their lists of views and snapshots hold
 * still. Then the caller enters its views one after another
 * (cowmem_lockset_enter()): each view->lock for write, killably, which
 * waits for the view's faults in flight and keeps out new ones until the
 * caller enters another view or unlocks. One view lock at a time is what
 * lets lockdep see every one of them (it counts the locks of one class
 * held at once in a few bits, and a region can have thousands of views),
 * and what keeps a lockset from making every view wait at once: only the
 * view entered does. An operation that needs a view's pages to hold
 * still after it has left the view takes a reference instead (a merge
 * holds the frames it compares; a census pins the indexes it counts).
 *
 * Whoever holds a lockset keeps the regions' mmaps, forks and snapshots
 * waiting, other users' too (a region opened once and mapped by several
 * processes, a MERGE across two regions). So a lockset counts the work
 * done under it (cowmem_lockset_spend(): one unit is one page of one view
 * looked at), and its holder drops it and takes it again before
 * COWMEM_HOLD_MAX_WORK units: no unprivileged caller keeps another user
 * waiting longer than that. The most any hold did since load is a counter
 * (debugfs stats max_hold_work) that the selftests check against the
 * bound. MERGE counts every view it visits, and a unit per VMA each zap
 * of a page walks; a census a unit per index it pins, and it counts them
 * after the hold.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/cowmem.h>

#include "lockset.h"

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

/* The regions, in id order. Returns 0, or -EINTR with neither held. */
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
 * Locks @set's regions (one or two; regions[1] may be NULL), and no view
 * yet. Returns 0, or -EINTR with nothing held when a fatal signal came
 * while waiting. Entered with no region or view lock held.
 */
int cowmem_lockset_lock(struct cowmem_lockset *set)
{
	if (cowmem_lockset_lock_regions(set))
		return -EINTR;
	set->work = 0;
	set->view = NULL;
	return 0;
}

/* Leaves the view entered, if any: its faults go on. */
static void cowmem_lockset_leave(struct cowmem_lockset *set)
{
	if (set->view)
		up_write(&set->view->lock);
	set->view = NULL;
}

/*
 * Makes @view, of one of @set's regions, the view entered: leaves the one
 * entered before and takes @view's lock for write. Killable: the view's
 * faults in flight may be allocating. Returns 0, or -EINTR with no view
 * entered. Called with @set locked.
 */
int cowmem_lockset_enter(struct cowmem_lockset *set, struct cowmem_view *view)
{
	lockdep_assert_held(&view->region->lock);
	if (set->view == view)
		return 0;
	cowmem_lockset_leave(set);
	if (down_write_killable(&view->lock))
		return -EINTR;
	set->view = view;
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

/* Unlocks in the reverse order: the view entered, then the regions. */
void cowmem_lockset_unlock(struct cowmem_lockset *set)
{
	struct cowmem_region *first, *second;

	cowmem_lockset_leave(set);
	cowmem_lockset_note_work(set->work);
	cowmem_lockset_order(set, &first, &second);
	if (second)
		mutex_unlock(&second->lock);
	mutex_unlock(&first->lock);
}

/*
 * For the functions whose contract says "called with @view entered in a
 * lockset": its region's lock and its own for write, both of which
 * lockdep sees.
 */
void cowmem_lockset_assert(struct cowmem_view *view)
{
	lockdep_assert_held(&view->region->lock);
	lockdep_assert_held_write(&view->lock);
}
