// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: fault-around, the remap after a reuse and the zap of a block
 * before a write, the fault path's optimisation chapter. fault.c is
 * correct without this file: every page would then fault, and zap, on
 * its own.
 *
 * Why it exists. A view loses its PTEs when its frames become shared by a
 * snapshot, a rollback, a merge, or a clone where the kernel cannot
 * write-protect them in place (see view.c). Reading a region back after
 * that would cost a fault per page. So a read fault that finds a frame
 * maps the frames the view holds in the rest of its block too
 * (cowmem_fault_around()): a fault per block instead.
 * A reuse (a write to a frame whose other holders are gone) finds its
 * neighbours likely exclusive again, but mapped read-only from when they
 * were shared; cowmem_remap_around() zaps the block's frames and maps them
 * again, each writable where it may be now: a zap and a TLB flush per block
 * instead of a write fault per page.
 * And after a fork that kept the PTEs, read-only, each COW break would
 * zap a present PTE: a TLB flush per page, which reaches every CPU the
 * process runs on. cowmem_zap_around() zaps the block at its first break
 * instead: a flush per block, and the other breaks in it find no PTE.
 *
 * What it costs. A fault maps up to a block, one index lookup and one
 * vmf_insert_pfn_prot() per page, under the block's lock, so the faults
 * on that block wait that long; pages the process never touches get PTEs (the
 * page table was there anyway: a block is a page table's worth). A reuse
 * zaps and flushes its block even when only one page will be written, and
 * the first break in a block makes its unwritten pages fault again on
 * their next read, one page at a time (the block is marked: see
 * cowmem_zap_around()). `make bench` measures the choices; docs/design.md
 * has the table.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/pagemap.h>

#include "compat.h"
#include "cowmem.h"
#include "fault.h"

/*
 * The addresses of the fault's block (fault.h: the aligned block of
 * COWMEM_BLOCK_PAGES page offsets, whose lock the fault holds), cut to its
 * VMA.
 */
static void cowmem_fault_block(struct vm_fault *vmf, unsigned long *start,
			       unsigned long *end)
{
	struct vm_area_struct *vma = vmf->vma;
	pgoff_t first = ALIGN_DOWN(vmf->pgoff, COWMEM_BLOCK_PAGES);
	pgoff_t from = max(first, vma->vm_pgoff);
	pgoff_t to =
		min(first + COWMEM_BLOCK_PAGES, vma->vm_pgoff + vma_pages(vma));

	*start = vma->vm_start + ((from - vma->vm_pgoff) << PAGE_SHIFT);
	*end = vma->vm_start + ((to - vma->vm_pgoff) << PAGE_SHIFT);
}

/* What the two hold on entry and on return. */
static void cowmem_around_assert_locked(struct cowmem_view *view,
					struct vm_fault *vmf)
{
	lockdep_assert_held(&view->lock);
	lockdep_assert_held(cowmem_block_lock(view, vmf->pgoff));
	cowmem_mmap_assert_locked(vmf->vma->vm_mm);
}

/*
 * Maps the frames the view holds in the fault's block, writable where
 * exclusive and read-only where shared. The faulting page is left to the
 * caller, and pages nobody wrote fault on their own (and count as
 * zero_maps). A PTE that is already there stays as it is: the insert
 * leaves it.
 */
static void cowmem_map_block(struct cowmem_view *view, struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long start, end, addr;
	struct cowmem_frame *frame;
	bool exclusive;
	pgoff_t pgoff;

	cowmem_fault_block(vmf, &start, &end);
	for (addr = start; addr < end; addr += PAGE_SIZE) {
		if (addr == vmf->address)
			continue;
		pgoff = linear_page_index(vma, addr);
		frame = cowmem_index_lookup(&view->index, pgoff, &exclusive);
		if (!frame)
			continue;
		cowmem_map_page(vma, addr, frame->page,
				cowmem_frame_claim(view, frame, exclusive));
	}
}

/*
 * Maps the frames around a read fault (cowmem_map_block()), unless a
 * write zapped the block (cowmem_zap_around()): the view is writing there,
 * and a read taking turns with the writes (a[i]++) would map the block
 * only for the next write to zap it again.
 * Entered and returns with view->lock for read, the block lock and the
 * mmap_lock held.
 */
void cowmem_fault_around(struct cowmem_view *view, struct vm_fault *vmf)
{
	cowmem_around_assert_locked(view, vmf);
	if (!test_bit(vmf->pgoff / COWMEM_BLOCK_PAGES, view->zapped_blocks))
		cowmem_map_block(view, vmf);
}

/*
 * Zaps the PTEs of the fault's block that map a frame, and the faulting
 * page's, a run of pages at a time: a page nobody wrote keeps its
 * zero-page PTE, as the kernel's own COW keeps it, and in a block written
 * through that is one run, one TLB flush. The block lock keeps the index
 * of its pages as it is: only faults holding it change them.
 */
static void cowmem_zap_frames(struct cowmem_view *view, struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long start, end, addr, from = 0;
	bool in_run = false;
	pgoff_t pgoff;

	cowmem_fault_block(vmf, &start, &end);
	for (addr = start; addr < end; addr += PAGE_SIZE) {
		pgoff = linear_page_index(vma, addr);
		if (addr == vmf->address ||
		    cowmem_index_lookup(&view->index, pgoff, NULL)) {
			if (!in_run)
				from = addr;
			in_run = true;
			continue;
		}
		if (in_run)
			zap_special_vma_range(vma, from, addr - from);
		in_run = false;
	}
	if (in_run)
		zap_special_vma_range(vma, from, end - from);
}

/*
 * Before a write replaces the frame (or zero page) that a read-only PTE
 * maps at the faulting page: that PTE must go, and a zap of a present PTE
 * flushes the TLB of every CPU running the process. After a fork that
 * write-protected the PTEs in place, every page of the block is likely
 * about to be written too: the first such write zaps the block's frames at
 * once (cowmem_zap_frames()), one flush for the block, and the others find
 * no PTE, so their faults flush nothing. It marks the block, so that from
 * then on its writes zap their own page alone and its reads map their own
 * page alone (see cowmem_fault_around()), until the view's PTEs are next
 * write-protected or zapped all at once (view.c).
 * Entered and returns with view->lock for read, the block lock and the
 * mmap_lock held.
 */
void cowmem_zap_around(struct cowmem_view *view, struct vm_fault *vmf)
{
	cowmem_around_assert_locked(view, vmf);
	/* A hint, set under the block lock: no ordering beyond the bit's own. */
	if (test_and_set_bit(vmf->pgoff / COWMEM_BLOCK_PAGES,
			     view->zapped_blocks))
		zap_special_vma_range(vmf->vma, vmf->address, PAGE_SIZE);
	else
		cowmem_zap_frames(view, vmf);
}

/*
 * After a reuse of @frame at the faulting page: the block's PTEs, if any,
 * were mapped read-only while their frames were shared. cowmem changes
 * PTEs only through the kernel's insert and zap interfaces, so the block's
 * frames are zapped and mapped again, each with what it may have now (a
 * page nobody wrote keeps its zero-page PTE: cowmem_zap_frames()).
 * This happens under the block lock, never later through the kernel's
 * finish_mkwrite_fault(): that would check only that the PTE is unchanged,
 * after the locks are dropped, and a snapshot or a merge may meanwhile have
 * shared the frame and a read fault mapped it again, identically.
 * The faulting PTE is read first: when it already maps @frame writable,
 * another thread's reuse remapped the block while this fault waited for
 * the block lock, and it is left alone, or threads writing to one block
 * would zap each other's work, a TLB flush each time.
 * Entered and returns with view->lock for read, the block lock and the
 * mmap_lock held; the caller then maps the faulting page.
 */
void cowmem_remap_around(struct cowmem_view *view, struct vm_fault *vmf,
			 struct cowmem_frame *frame)
{
	unsigned long pfn;
	bool writable;

	cowmem_around_assert_locked(view, vmf);
	if (cowmem_read_pte(vmf->vma, vmf->address, &pfn, &writable) &&
	    writable && pfn == page_to_pfn(frame->page))
		return;
	cowmem_zap_frames(view, vmf);
	cowmem_map_block(view, vmf);
}
