/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit-test shim: a kmem_cache whose objects are counted (shim.slab_live)
 * and each take a page of their own, so that a test can make one unreadable
 * (shim_protect()). An allocation is a failure point (shim.fail_nth).
 */
#ifndef _SHIM_LINUX_SLAB_H
#define _SHIM_LINUX_SLAB_H

#include <linux/types.h>

#define GFP_KERNEL 0u
#define SLAB_ACCOUNT 0x1u

struct kmem_cache;

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
				     unsigned int align, slab_flags_t flags,
				     void (*ctor)(void *object));
void kmem_cache_destroy(struct kmem_cache *cache);
unsigned int kmem_cache_size(struct kmem_cache *cache);
void *kmem_cache_alloc(struct kmem_cache *cache, gfp_t gfp);
void *kmem_cache_zalloc(struct kmem_cache *cache, gfp_t gfp);
void kmem_cache_free(struct kmem_cache *cache, void *object);

/* The alignment is the kernel's business: an object here has a page. */
#define KMEM_CACHE(__struct, __flags)                                       \
	kmem_cache_create(#__struct, sizeof(struct __struct), 0, (__flags), \
			  NULL)

#endif /* _SHIM_LINUX_SLAB_H */
