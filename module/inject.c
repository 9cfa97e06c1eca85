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
 * And two hold points, which two more knobs arm:
 *
 *   hold_copy    write 1: the next COW break, once it has copied its page,
 *                waits there (holding no block lock and no publish lock)
 *                until 0 is written; reads 0 (idle), 1 (armed) or 2 (a
 *                break is waiting)
 *   hold_census  the same for the next census (PAGE_INFO, debugfs pages),
 *                once it has pinned what it counts, holding no lock
 *
 * so that a test can show, without timing anything, what another thread's
 * fault does meanwhile.
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

/*
 * A hold point: 0 idle, 1 armed, 2 one caller waiting. The caller that
 * takes 1 to 2 is the one that waits (one compare-and-swap decides it
 * among racing callers); writing 0 wakes it. The wait queue orders the
 * wake-up after the store of 0.
 */
struct cowmem_hold {
	struct static_key_false armed;
	wait_queue_head_t wait;
	atomic_t state;
};

#define COWMEM_HOLD_INIT(name)                                     \
	{                                                          \
		.armed = STATIC_KEY_FALSE_INIT,                    \
		.wait = __WAIT_QUEUE_HEAD_INITIALIZER((name).wait) \
	}

static struct cowmem_hold cowmem_hold_copy = COWMEM_HOLD_INIT(cowmem_hold_copy);
static struct cowmem_hold cowmem_hold_census =
	COWMEM_HOLD_INIT(cowmem_hold_census);

/* Inlined: a static branch needs its key's address at build time. */
static __always_inline void cowmem_hold_here(struct cowmem_hold *h)
{
	if (!static_branch_unlikely(&h->armed))
		return;
	if (atomic_cmpxchg(&h->state, 1, 2) != 1)
		return;
	/* Killable: a test that dies leaves no caller waiting for ever. */
	wait_event_killable(h->wait, atomic_read(&h->state) != 2);
}

static int cowmem_hold_set(struct cowmem_hold *h, u64 val)
{
	if (val > 1)
		return -EINVAL;
	mutex_lock(&cowmem_inject_lock);
	atomic_set(&h->state, (int)val);
	if (val)
		static_branch_enable(&h->armed);
	else
		static_branch_disable(&h->armed);
	wake_up_all(&h->wait);
	mutex_unlock(&cowmem_inject_lock);
	return 0;
}

/* A COW break, once it has copied its page: no block or publish lock held. */
void cowmem_inject_hold_copy(void)
{
	cowmem_hold_here(&cowmem_hold_copy);
}

/* A census, once it has pinned what it counts: no lock held. */
void cowmem_inject_hold_census(void)
{
	cowmem_hold_here(&cowmem_hold_census);
}

int cowmem_inject_set_hold(u64 val)
{
	return cowmem_hold_set(&cowmem_hold_copy, val);
}

u64 cowmem_inject_hold(void)
{
	return atomic_read(&cowmem_hold_copy.state);
}

int cowmem_inject_set_hold_census(u64 val)
{
	return cowmem_hold_set(&cowmem_hold_census, val);
}

u64 cowmem_inject_hold_census_state(void)
{
	return atomic_read(&cowmem_hold_census.state);
}
