// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: allocation-failure injection, for tests: the core's failure point,
 * cowmem_should_fail(), which two debugfs knobs arm (debugfs.c):
 *
 *   fail_nth    write N: the Nth allocation from now on fails, once
 *   fail_every  write N: every Nth allocation fails, until 0 is written
 *
 * "Allocation" means every allocation in the fault, clone, mmap and ioctl
 * paths (a frame, its page, a view, an index node, a region). Failures are
 * counted in stats as injected_failures. Unarmed, the check is a static
 * branch: nothing on the fault path.
 *
 * And the hold point, cowmem_inject_hold_copy(), which a third knob arms:
 *
 *   hold_copy   write 1: the next COW break, once it has copied its page,
 *               waits there (holding no block lock and no publish lock)
 *               until 0 is written; reads 0 (idle), 1 (armed) or 2 (a
 *               break is waiting)
 *
 * so that a test can show, without timing anything, that another thread's
 * fault completes meanwhile.
 */
#include <linux/atomic.h>
#include <linux/jump_label.h>
#include <linux/sched.h>
#include <linux/wait.h>

#include "internal.h"

static DEFINE_STATIC_KEY_FALSE(cowmem_inject_armed);
static DEFINE_MUTEX(cowmem_inject_lock); /* serializes the knobs' writers */
static atomic_t cowmem_fail_nth;
static atomic_t cowmem_fail_every;
static atomic_t cowmem_alloc_seq;

static bool cowmem_inject_due(void)
{
	int every = atomic_read(&cowmem_fail_every);

	if (atomic_add_unless(&cowmem_fail_nth, -1, 0) &&
	    !atomic_read(&cowmem_fail_nth))
		return true;
	return every && atomic_inc_return(&cowmem_alloc_seq) % every == 0;
}

bool cowmem_should_fail(void)
{
	if (!static_branch_unlikely(&cowmem_inject_armed))
		return false;
	if (!cowmem_inject_due())
		return false;
	cowmem_stat_inc(injected_failures);
	return true;
}

/* Arms the static branch while either knob is set. */
static int cowmem_inject_set(atomic_t *knob, u64 val)
{
	if (val > INT_MAX)
		return -EINVAL;
	mutex_lock(&cowmem_inject_lock);
	atomic_set(&cowmem_alloc_seq, 0);
	atomic_set(knob, (int)val);
	if (atomic_read(&cowmem_fail_nth) || atomic_read(&cowmem_fail_every))
		static_branch_enable(&cowmem_inject_armed);
	else
		static_branch_disable(&cowmem_inject_armed);
	mutex_unlock(&cowmem_inject_lock);
	return 0;
}

int cowmem_inject_set_nth(u64 val)
{
	return cowmem_inject_set(&cowmem_fail_nth, val);
}

int cowmem_inject_set_every(u64 val)
{
	return cowmem_inject_set(&cowmem_fail_every, val);
}

u64 cowmem_inject_nth(void)
{
	return atomic_read(&cowmem_fail_nth);
}

u64 cowmem_inject_every(void)
{
	return atomic_read(&cowmem_fail_every);
}

static DEFINE_STATIC_KEY_FALSE(cowmem_hold_armed);
static DECLARE_WAIT_QUEUE_HEAD(cowmem_hold_wait);

/*
 * 0 idle, 1 armed, 2 a COW break waiting. The break that takes 1 to 2 is
 * the one that waits (one compare-and-swap decides it among racing
 * breaks); writing 0 wakes it. The wait queue orders the wake-up after the
 * store of 0.
 */
static atomic_t cowmem_hold_state;

void cowmem_inject_hold_copy(void)
{
	if (!static_branch_unlikely(&cowmem_hold_armed))
		return;
	if (atomic_cmpxchg(&cowmem_hold_state, 1, 2) != 1)
		return;
	/* Killable: a test that dies leaves no fault waiting for ever. */
	wait_event_killable(cowmem_hold_wait,
			    atomic_read(&cowmem_hold_state) != 2);
}

int cowmem_inject_set_hold(u64 val)
{
	if (val > 1)
		return -EINVAL;
	mutex_lock(&cowmem_inject_lock);
	atomic_set(&cowmem_hold_state, (int)val);
	if (val)
		static_branch_enable(&cowmem_hold_armed);
	else
		static_branch_disable(&cowmem_hold_armed);
	wake_up_all(&cowmem_hold_wait);
	mutex_unlock(&cowmem_inject_lock);
	return 0;
}

u64 cowmem_inject_hold(void)
{
	return atomic_read(&cowmem_hold_state);
}
