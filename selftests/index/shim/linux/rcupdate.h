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

static inline void *shim_container(const void *ptr, size_t offset)
{
	return (char *)ptr - offset;
}

#define container_of(ptr, type, member) \
	((type *)shim_container((ptr), offsetof(type, member)))
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
/* One thread: the store needs no ordering, only its effect. */
#define smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

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
