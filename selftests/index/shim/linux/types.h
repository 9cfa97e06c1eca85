/* SPDX-License-Identifier: GPL-2.0 */
/* Unit-test shim: the kernel's basic types, as x86-64 has them. */
#ifndef _SHIM_LINUX_TYPES_H
#define _SHIM_LINUX_TYPES_H

#include <stdbool.h>
#include <stddef.h>

typedef unsigned long long u64;
typedef unsigned long pgoff_t;
typedef unsigned int gfp_t;
typedef unsigned int slab_flags_t;

struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
};

#endif /* _SHIM_LINUX_TYPES_H */
