// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the VMA operations. cowmem mappings are VM_PFNMAP, so every PTE in
 * them is installed here and copy-on-write happens here:
 *
 *  - a read fault maps the zero page for a page nobody wrote, a shared frame
 *    read-only, and an exclusive frame writable (it may be: see cowmem.h);
 *  - a write fault, or a write to a read-only PTE (pfn_mkwrite), first makes
 *    the frame exclusive: a zeroed frame for a never-written page, a copy of
 *    a shared frame (a COW break), or the same frame when the other sharers
 *    are gone (a reuse), then maps it writable.
 *
 * GUP refuses VM_PFNMAP, so ptrace and /proc/PID/mem come through ->access,
 * which applies the same rules to the traced process's view.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pgtable.h>

#include "compat.h"
#include "cowmem.h"
#include "trace.h"

static pgprot_t cowmem_frame_prot(struct vm_area_struct *vma, bool exclusive)
{
	/* vm_page_prot is read-only: pfn_mkwrite makes the kernel write-notify. */
	if (exclusive)
		return vm_get_page_prot(vma->vm_flags);
	return vma->vm_page_prot;
}

/* Maps @frame (writable only if @exclusive), or the zero page for NULL. */
static vm_fault_t cowmem_insert(struct vm_fault *vmf,
				struct cowmem_frame *frame, bool exclusive)
{
	struct vm_area_struct *vma = vmf->vma;

	if (!frame)
		return vmf_insert_pfn_prot(vma, vmf->address,
					   zero_pfn(vmf->address),
					   vma->vm_page_prot);
	return vmf_insert_pfn_prot(vma, vmf->address, page_to_pfn(frame->page),
				   cowmem_frame_prot(vma, exclusive));
}

/*
 * Makes the frame at @pgoff exclusive to @view, so that it may be mapped
 * writable. Sets *@old to the frame the index held before when it had to
 * replace it (NULL for a never-written page, whose PTEs map the zero page):
 * the caller zaps the PTEs that may still map it, then hands it to
 * cowmem_retire(). Returns the frame, or an ERR_PTR when out of memory.
 * Called with view->lock held.
 */
static struct cowmem_frame *cowmem_make_exclusive(struct cowmem_view *view,
						  pgoff_t pgoff, bool *replaced,
						  struct cowmem_frame **old)
{
	u64 start = trace_cow_break_enabled() ? ktime_get_ns() : 0;
	struct cowmem_frame *frame;
	bool exclusive;
	int err;

	lockdep_assert_held(&view->lock);
	*old = cowmem_index_lookup(&view->index, pgoff, &exclusive);
	*replaced = false;
	if (exclusive) {
		cowmem_stat_inc(reuses);
		trace_reuse(view->id, pgoff, (*old)->id);
		return *old;
	}
	/* Shared, so nobody writes it: the copy is stable without locks. */
	frame = *old ? cowmem_frame_alloc_copy(*old) :
		       cowmem_frame_alloc_zeroed();
	if (!frame)
		return ERR_PTR(-ENOMEM);
	err = cowmem_index_replace(&view->index, pgoff, frame, old);
	if (err) {
		cowmem_frame_put(frame);
		return ERR_PTR(err);
	}
	*replaced = true;
	if (!*old) {
		cowmem_stat_inc(first_writes);
		return frame;
	}
	cowmem_stat_inc(cow_breaks);
	/* The old frame's reference is still ours until cowmem_retire(). */
	trace_cow_break(view->id, pgoff, (*old)->id, frame->id,
			refcount_read(&(*old)->sharers) - 1,
			start ? ktime_get_ns() - start : 0);
	return frame;
}

/*
 * After the index replaced the frame at @pgoff: zap the PTEs that may still
 * map the old frame (or the zero page) in the view's other VMAs, and only
 * then drop the old frame, which may free it. @done is the VMA whose PTE the
 * caller already took care of, or NULL.
 * Called with view->lock and the view's mmap_lock held.
 */
static void cowmem_retire(struct cowmem_view *view, pgoff_t pgoff,
			  struct vm_area_struct *done, struct cowmem_frame *old)
{
	cowmem_view_zap_index(view, pgoff, done);
	if (old)
		cowmem_frame_put(old);
}

/*
 * Pages a fault maps at once: the faulting one and the rest of its aligned
 * block of a page table's worth (one PMD's reach). A view loses its PTEs
 * whenever its frames become shared (at fork above all), so reading a
 * region back costs a fault per block: README's "How it works" has what
 * 16 pages and a page table cost.
 */
#define COWMEM_FAULT_AROUND PTRS_PER_PTE

/*
 * The aligned block of COWMEM_FAULT_AROUND pages around a fault, cut to its
 * VMA (so it starts at vm_start when the VMA does not start on a boundary).
 */
static void cowmem_fault_block(struct vm_fault *vmf, unsigned long *start,
			       unsigned long *end)
{
	unsigned long size = COWMEM_FAULT_AROUND * PAGE_SIZE;

	*start = max(vmf->vma->vm_start, ALIGN_DOWN(vmf->address, size));
	*end = min(vmf->vma->vm_end, *start + size);
}

/*
 * Maps the frames the view holds around a fault, writable where exclusive
 * and read-only where shared, so that touching a region costs a fault per
 * block rather than per page. Pages nobody wrote are left to fault on their
 * own (and count as zero_maps). A PTE that is already there stays as it is.
 * Called with view->lock held.
 */
static void cowmem_fault_around(struct cowmem_view *view, struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long start, end, addr;
	struct cowmem_frame *frame;
	bool exclusive;
	pgoff_t pgoff;

	cowmem_fault_block(vmf, &start, &end);
	for (addr = start; addr < end; addr += PAGE_SIZE) {
		pgoff = linear_page_index(vma, addr);
		frame = cowmem_index_lookup(&view->index, pgoff, &exclusive);
		if (!frame || addr == vmf->address)
			continue;
		vmf_insert_pfn_prot(vma, addr, page_to_pfn(frame->page),
				    cowmem_frame_prot(vma, exclusive));
	}
}

/*
 * After a reuse: the other sharers went away, so the neighbours are likely
 * exclusive now too, and about to be written. Their PTEs, if any, were
 * mapped read-only while shared; cowmem changes PTEs only through the
 * kernel's insert and zap interfaces, so the block is zapped and mapped
 * again, each frame with what it may have now. One zap and one TLB flush
 * per block, instead of a write fault per page.
 * This happens under view->lock, never later through the kernel's
 * finish_mkwrite_fault(): that would check only that the PTE is unchanged,
 * after view->lock is dropped, and a snapshot or a merge may meanwhile have
 * shared the frame and a read fault mapped it again, identically.
 * When the faulting PTE already maps @frame writable, another thread's
 * reuse remapped the block while this fault waited for view->lock: it is
 * left alone, or threads writing to one block would zap each other's
 * work, a TLB flush each time.
 * Called with view->lock and the mmap_lock held.
 */
static void cowmem_remap_around(struct cowmem_view *view, struct vm_fault *vmf,
				struct cowmem_frame *frame)
{
	unsigned long start, end, pfn;
	bool writable;

	if (cowmem_read_pte(vmf->vma, vmf->address, &pfn, &writable) &&
	    writable && pfn == page_to_pfn(frame->page))
		return;
	cowmem_fault_block(vmf, &start, &end);
	zap_special_vma_range(vmf->vma, start, end - start);
	cowmem_fault_around(view, vmf);
}

/* A write to a page with no PTE. Called with view->lock held. */
static vm_fault_t cowmem_fault_write(struct cowmem_view *view,
				     struct vm_fault *vmf)
{
	struct cowmem_frame *frame, *old;
	bool replaced;

	trace_fault(view->id, vmf->pgoff, true, false);
	frame = cowmem_make_exclusive(view, vmf->pgoff, &replaced, &old);
	if (IS_ERR(frame))
		return VM_FAULT_OOM;
	/* After a copy the neighbours are likely shared: left to fault. */
	if (!replaced) {
		cowmem_remap_around(view, vmf, frame);
		return cowmem_insert(vmf, frame, true);
	}
	/*
	 * A racing read (or a neighbour's fault-around) may have mapped the old
	 * frame here since the kernel saw no PTE: it goes too, before the old
	 * frame may be freed. A zero-page PTE is harmless and is replaced when
	 * the write is retried.
	 */
	if (old)
		zap_special_vma_range(vmf->vma, vmf->address, PAGE_SIZE);
	cowmem_retire(view, vmf->pgoff, vmf->vma, old);
	return cowmem_insert(vmf, frame, true);
}

/* A read of a page with no PTE. Called with view->lock held. */
static vm_fault_t cowmem_fault_read(struct cowmem_view *view,
				    struct vm_fault *vmf)
{
	struct cowmem_frame *frame;
	bool exclusive;

	frame = cowmem_index_lookup(&view->index, vmf->pgoff, &exclusive);
	trace_fault(view->id, vmf->pgoff, false, !frame);
	if (!frame) {
		cowmem_stat_inc(zero_maps);
		return cowmem_insert(vmf, NULL, false);
	}
	cowmem_fault_around(view, vmf);
	return cowmem_insert(vmf, frame, exclusive);
}

static struct cowmem_view *cowmem_fault_view(struct vm_fault *vmf)
{
	struct cowmem_view *view = vmf->vma->vm_private_data;

	if (!view || vmf->pgoff >= READ_ONCE(view->region->nr_pages))
		return NULL;
	return view;
}

/*
 * A fault on a page with no PTE.
 * Entered with vma->vm_mm's mmap_lock held for read and no cowmem lock;
 * returns with the same, the PTE installed (VM_FAULT_NOPAGE) or an error.
 */
static vm_fault_t cowmem_vm_fault(struct vm_fault *vmf)
{
	struct cowmem_view *view = cowmem_fault_view(vmf);
	vm_fault_t ret;

	cowmem_mmap_assert_locked(vmf->vma->vm_mm);
	cowmem_stat_inc(faults);
	if (!view)
		return VM_FAULT_SIGBUS;
	mutex_lock(&view->lock);
	if (vmf->flags & FAULT_FLAG_WRITE)
		ret = cowmem_fault_write(view, vmf);
	else
		ret = cowmem_fault_read(view, vmf);
	mutex_unlock(&view->lock);
	return ret;
}

/*
 * A write to a read-only PTE: the zero page, a shared frame, or an exclusive
 * frame mapped read-only while it was shared. The PTE is replaced here,
 * under view->lock, and the fault returns VM_FAULT_NOPAGE: returning 0
 * would let the kernel make it writable after the lock is gone (see
 * cowmem_remap_around()).
 * Entered with vma->vm_mm's mmap_lock held for read, no page table lock and
 * no cowmem lock; returns with the same.
 */
static vm_fault_t cowmem_vm_pfn_mkwrite(struct vm_fault *vmf)
{
	struct cowmem_view *view = cowmem_fault_view(vmf);
	struct cowmem_frame *frame, *old;
	vm_fault_t ret;
	bool replaced;

	cowmem_mmap_assert_locked(vmf->vma->vm_mm);
	cowmem_stat_inc(faults);
	if (!view)
		return VM_FAULT_SIGBUS;
	mutex_lock(&view->lock);
	trace_fault(view->id, vmf->pgoff, true, false);
	frame = cowmem_make_exclusive(view, vmf->pgoff, &replaced, &old);
	if (IS_ERR(frame)) {
		ret = VM_FAULT_OOM;
		goto unlock;
	}
	if (replaced) {
		zap_special_vma_range(vmf->vma, vmf->address, PAGE_SIZE);
		cowmem_retire(view, vmf->pgoff, vmf->vma, old);
	} else {
		cowmem_remap_around(view, vmf, frame);
	}
	ret = cowmem_insert(vmf, frame, true);
unlock:
	mutex_unlock(&view->lock);
	return ret;
}

/* Called with view->lock held. Returns the bytes written or an errno. */
static int cowmem_access_write(struct cowmem_view *view,
			       struct vm_area_struct *vma, pgoff_t pgoff,
			       unsigned int offset, void *buf, int len)
{
	struct cowmem_frame *frame, *old;
	bool replaced;

	frame = cowmem_make_exclusive(view, pgoff, &replaced, &old);
	if (IS_ERR(frame))
		return PTR_ERR(frame);
	memcpy_to_page(frame->page, offset, buf, len);
	if (replaced)
		cowmem_retire(view, pgoff, NULL, old);
	return len;
}

/*
 * ptrace and /proc/PID/mem, one page at most per call.
 * Entered with vma->vm_mm's mmap_lock held for read (the traced process's mm,
 * not necessarily current's) and no cowmem lock; returns with the same.
 */
static int cowmem_vm_access(struct vm_area_struct *vma, unsigned long addr,
			    void *buf, int len, int write)
{
	struct cowmem_view *view = vma->vm_private_data;
	unsigned int offset = offset_in_page(addr);
	pgoff_t pgoff = linear_page_index(vma, addr);
	struct cowmem_frame *frame;

	cowmem_mmap_assert_locked(vma->vm_mm);
	if (!view || pgoff >= READ_ONCE(view->region->nr_pages))
		return -EFAULT;
	if (write && !(vma->vm_flags & VM_WRITE))
		return -EFAULT;
	len = min_t(int, len, PAGE_SIZE - offset);
	mutex_lock(&view->lock);
	if (write) {
		len = cowmem_access_write(view, vma, pgoff, offset, buf, len);
	} else {
		frame = cowmem_index_lookup(&view->index, pgoff, NULL);
		if (frame)
			memcpy_from_page(buf, frame->page, offset, len);
		else
			memset(buf, 0, len);
	}
	mutex_unlock(&view->lock);
	return len;
}

/*
 * A new VMA that copies an existing one: on fork (from dup_mmap(), with
 * vma->vm_mm the child's mm, before copy_page_range(), which finds none of
 * the view's PTEs left to copy: cowmem_view_fork() zaps them), on a split
 * (munmap, mprotect, madvise) and on mremap. Only fork clones the view.
 * Cannot fail: see cowmem_view_fork().
 * Entered with vma->vm_mm's mmap_lock held for write (and, on fork, the
 * parent's too) and no cowmem lock; returns with the same.
 */
static void cowmem_vm_open(struct vm_area_struct *vma)
{
	struct cowmem_view *view = vma->vm_private_data;

	cowmem_mmap_assert_write_locked(vma->vm_mm);
	if (!view)
		return;
	if (vma->vm_mm == view->mm) {
		cowmem_view_get_vma(view);
		return;
	}
	vma->vm_private_data = cowmem_view_fork(view, vma);
}

/*
 * A VMA goes away (munmap, exit, the dropped part of a split); its PTEs are
 * already zapped. Entered with vma->vm_mm's mmap_lock held (munmap may have
 * downgraded it to read) and no cowmem lock; returns with the same.
 */
static void cowmem_vm_close(struct vm_area_struct *vma)
{
	struct cowmem_view *view = vma->vm_private_data;

	cowmem_mmap_assert_locked(vma->vm_mm);
	if (view)
		cowmem_view_put_vma(view);
}

const struct vm_operations_struct cowmem_vm_ops = {
	.open = cowmem_vm_open,
	.close = cowmem_vm_close,
	.fault = cowmem_vm_fault,
	.pfn_mkwrite = cowmem_vm_pfn_mkwrite,
	.access = cowmem_vm_access,
};
