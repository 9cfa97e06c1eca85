// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the block locks of the fault path. A fault holds the lock of its
 * page's block (fault.h: COWMEM_BLOCK_PAGES aligned page offsets of one
 * view) from its lookup to its PTE, so that no PTE maps a frame the index
 * has let go of, and never across an allocation or a copy (fault.c).
 *
 * The locks are a table shared by every view, so that a view costs no
 * memory for them: two blocks that hash to one lock wait for each other
 * briefly, and since no fault ever holds two of them, never for ever. They
 * are one lockdep class.
 */
#include <linux/hash.h>
#include <linux/mutex.h>

#include "fault.h"

#define COWMEM_BLOCK_LOCK_BITS 8
static struct mutex cowmem_block_locks[1 << COWMEM_BLOCK_LOCK_BITS];

void cowmem_blocks_init(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cowmem_block_locks); i++)
		mutex_init(&cowmem_block_locks[i]);
}

/* The lock of the block of @view that holds page offset @pgoff. */
struct mutex *cowmem_block_lock(struct cowmem_view *view, pgoff_t pgoff)
{
	u64 key = (unsigned long)view + pgoff / COWMEM_BLOCK_PAGES;

	return &cowmem_block_locks[hash_64(key, COWMEM_BLOCK_LOCK_BITS)];
}
