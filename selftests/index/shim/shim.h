/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The unit test's side of the shim: what it counts and the failure switch.
 * The shim stands in for the kernel under index.c (linux/), for inject.c
 * (cowmem_should_fail()), stats.c (cowmem_stats) and frame.c: a frame here
 * has no page, only its holders count and an id.
 */
#ifndef _SHIM_H
#define _SHIM_H

#include <linux/types.h>

struct cowmem_frame;

struct shim {
	long slab_live; /* kmem_cache objects allocated and not freed */
	unsigned long slab_allocs;
	long frames_live; /* frames from shim_frame_new() not freed yet */
	unsigned long frames_freed; /* by cowmem_frame_put() */
	unsigned long warnings; /* WARN_ON_ONCE() and refcount_t misuse */
	/*
	 * Failure points are cowmem_should_fail() and kmem_cache allocations:
	 * with fail_nth at n, the nth one from now fails, once.
	 */
	unsigned long fail_nth;
	unsigned long fail_points; /* failure points passed */
};

extern struct shim shim;

/* A frame with one holder, as cowmem_frame_alloc_zeroed() returns it. */
struct cowmem_frame *shim_frame_new(void);

/* Makes a kmem_cache object unreadable (or readable again). */
void shim_protect(void *object, bool readable);

#endif /* _SHIM_H */
