/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit-test shim: refcount_t with the kernel's checks. Taking a reference
 * on zero or dropping one below it is a warning (shim.warnings), as the
 * kernel's "addition on 0" and "underflow" are, and the count saturates
 * instead of wrapping.
 */
#ifndef _SHIM_LINUX_REFCOUNT_H
#define _SHIM_LINUX_REFCOUNT_H

#include <linux/atomic.h>
#include <linux/bug.h>
#include <linux/types.h>

#define REFCOUNT_SATURATED (-(1 << 30))

typedef struct refcount_struct {
	atomic_t refs;
} refcount_t;

static inline void refcount_set(refcount_t *r, int n)
{
	atomic_set(&r->refs, n);
}

static inline unsigned int refcount_read(const refcount_t *r)
{
	return atomic_read(&r->refs);
}

static inline void refcount_inc(refcount_t *r)
{
	int old = atomic_fetch_add(1, &r->refs);

	if (old <= 0) {
		atomic_set(&r->refs, REFCOUNT_SATURATED);
		shim_warn("refcount_t: addition on 0; use-after-free", __FILE__,
			  __LINE__);
	}
}

static inline bool refcount_dec_and_test(refcount_t *r)
{
	int old = atomic_fetch_add(-1, &r->refs);

	if (old <= 0) {
		atomic_set(&r->refs, REFCOUNT_SATURATED);
		shim_warn("refcount_t: underflow; use-after-free", __FILE__,
			  __LINE__);
		return false;
	}
	return old == 1;
}

#endif /* _SHIM_LINUX_REFCOUNT_H */
