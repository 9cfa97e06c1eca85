/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: what fault.c (the fault path) and fault_around.c (its
 * optimisation: a block of PTEs per fault) share. Nothing else includes it.
 */
#ifndef _COWMEM_FAULT_H
#define _COWMEM_FAULT_H

#include <linux/mm.h>

#include "cowmem.h"

/*
 * The protection a frame is mapped with: writable only when exclusive to the
 * view (the invariant in cowmem.h). vm_page_prot is read-only, so that a
 * write to a shared frame comes back through pfn_mkwrite.
 */
static inline pgprot_t cowmem_frame_prot(struct vm_area_struct *vma,
					 bool exclusive)
{
	if (exclusive)
		return vm_get_page_prot(vma->vm_flags);
	return vma->vm_page_prot;
}

/*
 * A block: COWMEM_BLOCK_PAGES page offsets of one view, aligned: a page
 * table's worth on x86-64. A fault holds its block's lock from its lookup to its PTE
 * (fault.c), and maps and remaps around it within the block alone
 * (fault_around.c).
 */
#define COWMEM_BLOCK_PAGES 512
/* A leaf node's pages in one block: block locks cover whole leaves. */
static_assert(COWMEM_BLOCK_PAGES % COWMEM_NODE_SLOTS == 0);

struct mutex *cowmem_block_lock(struct cowmem_view *view, pgoff_t pgoff);
void cowmem_fault_around(struct cowmem_view *view, struct vm_fault *vmf);
void cowmem_zap_around(struct cowmem_view *view, struct vm_fault *vmf);
void cowmem_remap_around(struct cowmem_view *view, struct vm_fault *vmf,
			 struct cowmem_frame *frame);

#endif /* _COWMEM_FAULT_H */
