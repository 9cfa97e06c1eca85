/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit-test shim: one thread, nothing to yield to. The kernel's
 * cond_resched() lets a long walk under a mutex give the CPU away.
 */
#ifndef _SHIM_LINUX_SCHED_H
#define _SHIM_LINUX_SCHED_H

static inline void cond_resched(void)
{
}

#endif /* _SHIM_LINUX_SCHED_H */
