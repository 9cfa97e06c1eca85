/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: what fault.c (the fault path) and fault_around.c (its
 * optimisation: a block of PTEs per fault) share. Nothing else includes it.
 */
#ifndef _COWMEM_FAULT_H
#define _COWMEM_FAULT_H

#include <linux/mm.h>

#include "compat.h"
#include "cowmem.h"

/*
 * Does @view own @frame, as PageAnonExclusive says of an anonymous page:
 * did the view make it or reuse it in its current era, so that nobody
 * else can have taken a reference to it while it was shared? Then a
 * reference on its page (a pin for the view's own I/O) is the view's, and
 * a write reuses it anyway: a copy would leave the I/O writing into a
 * page the view has let go of. Called with view->lock held.
 */
static inline bool cowmem_frame_owned(struct cowmem_view *view,
				      struct cowmem_frame *frame)
{
	return READ_ONCE(frame->era) == view->era;
}

/*
 * May @frame, which @view's index holds alone if @exclusive, be mapped
 * writable? Only if nothing else holds its page either, or the view owns
 * it: a process that vmsplice()d the page while it was shared still reads
 * it through the pipe after it let go of its view, and must not see this
 * view's later writes (CVE-2020-29374; mm/memory.c's
 * wp_can_reuse_anon_folio() asks the same of the refcount). A write to it
 * then copies it. @held: as for cowmem_frame_referenced().
 */
static inline bool cowmem_frame_writable(struct cowmem_view *view,
					 struct cowmem_frame *frame,
					 bool exclusive, struct page *held)
{
	return exclusive && (cowmem_frame_owned(view, frame) ||
			     !cowmem_frame_referenced(frame, held));
}

/*
 * cowmem_frame_writable(), for a PTE about to map @frame: if it may be
 * writable, it becomes the view's own, as reuse makes it (a writable PTE
 * is what a pin for the view's own I/O goes through, with no fault, and
 * the view's later writes must reuse the page, not copy it away from the
 * pin). Called with the page's block lock held.
 */
static inline bool cowmem_frame_claim(struct cowmem_view *view,
				      struct cowmem_frame *frame,
				      bool exclusive)
{
	if (!cowmem_frame_writable(view, frame, exclusive, NULL))
		return false;
	WRITE_ONCE(frame->era, view->era);
	return true;
}

/*
 * Maps @page at @addr of @vma, writable only when it is a frame exclusive
 * to the view (the invariant in cowmem.h); a read-only PTE is left for a
 * write to come back through ->pfn_mkwrite or ->page_mkwrite. A PTE that
 * is already there stays, but for write permission added to a PTE of the
 * same page. VM_PFNMAP mappings (compat.h) get the page's PFN, with
 * vm_page_prot, which is read-only, or the VMA's writable protection.
 */
static inline vm_fault_t cowmem_map_page(struct vm_area_struct *vma,
					 unsigned long addr, struct page *page,
					 bool exclusive)
{
#if COWMEM_PINNABLE
	struct vm_fault vmf = { .vma = vma, .address = addr };

	return vmf_insert_page_mkwrite(&vmf, page, exclusive);
#else
	pgprot_t prot = vma->vm_page_prot;

	if (exclusive)
		prot = vm_get_page_prot(vma->vm_flags);
	return vmf_insert_pfn_prot(vma, addr, page_to_pfn(page), prot);
#endif
}

/* Maps the zero page at @addr of @vma, read-only: a page nobody wrote. */
static inline vm_fault_t cowmem_map_zero(struct vm_area_struct *vma,
					 unsigned long addr)
{
	if (COWMEM_PINNABLE)
		return cowmem_map_page(vma, addr, cowmem_zero_page, false);
	return vmf_insert_pfn_prot(vma, addr, zero_pfn(addr),
				   vma->vm_page_prot);
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
