/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit-test shim: one thread, so no reader can be inside a read-side
 * critical section while a callback runs: call_rcu() calls it at once, and
 * the marked accesses are the compiler's.
 */
#ifndef _SHIM_LINUX_RCUPDATE_H
#define _SHIM_LINUX_RCUPDATE_H

#include <stddef.h>
#include <linux/types.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static inline void rcu_read_lock(void)
{
}

static inline void rcu_read_unlock(void)
{
}

static inline void call_rcu(struct rcu_head *head,
			    void (*func)(struct rcu_head *head))
{
	func(head);
}

static inline void rcu_barrier(void)
{
}

#endif /* _SHIM_LINUX_RCUPDATE_H */
