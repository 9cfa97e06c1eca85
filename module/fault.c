// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the VMA operations. cowmem mappings are VM_PFNMAP, so every PTE in
 * them is installed here and copy-on-write happens here. GUP refuses
 * VM_PFNMAP, so ptrace and /proc/PID/mem come through ->access, which
 * applies the same rules to the traced process's view.
 *
 * Reading order, the way mm/memory.c's do_wp_page() decides once and then
 * calls wp_page_reuse() or wp_page_copy():
 *
 *   cowmem_vm_fault()            a fault on a page with no PTE
 *     cowmem_fault_read()        the zero page for a page nobody wrote, else
 *                                the frame, writable only if exclusive (the
 *                                invariant in cowmem.h), and the frames of
 *                                its block (fault_around.c)
 *     cowmem_fault_write()       a write: as below
 *   cowmem_vm_pfn_mkwrite()      a write to a read-only PTE
 *     cowmem_fault_write()       a write, mapped before view->lock is dropped
 *       cowmem_do_wp()           looks the frame up once, decides with
 *         cowmem_wp_decide()     and calls exactly one of
 *         cowmem_wp_first_write()  no frame: a zeroed one
 *         cowmem_wp_reuse()        exclusive: the same frame, and its block
 *                                  mapped again (fault_around.c)
 *         cowmem_wp_copy()         shared: a copy, the COW break
 *       cowmem_insert()          maps the now exclusive frame writable
 *   cowmem_vm_access()           ptrace: a write goes through cowmem_do_wp()
 *   cowmem_vm_open(), cowmem_vm_close()  a VMA's view reference; fork
 *
 * The first write and the COW break replace the index's frame; the frame
 * (or zero page) they replace goes through cowmem_retire(): its PTEs are
 * zapped before it may be freed.
 *
 * Locking. A PTE gains write permission only under its view's lock (a
 * fault, pfn_mkwrite, the remap of a block after a reuse), never later
 * through the kernel's finish_mkwrite_fault(): a snapshot or a merge may
 * share the frame as soon as view->lock is released. It loses it only by a
 * zap, which also tells mmu notifiers and flushes the TLB. mprotect()
 * cannot give a shared frame's PTE write permission back: it does so only
 * for dirty PTEs, and a read-only PTE cowmem inserts is clean, while
 * whatever shares a frame zaps its PTEs first. Pages and index nodes are
 * allocated (GFP_KERNEL) under view->lock: reclaim never enters cowmem,
 * whose pages are not on the LRU.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pgtable.h>

#include "compat.h"
#include "cowmem.h"
#include "fault.h"
#include "trace.h"

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

/* What a write to a page needs, given what the view's index holds there. */
enum cowmem_wp {
	COWMEM_WP_FIRST_WRITE, /* nothing: the page reads as zeroes */
	COWMEM_WP_REUSE, /* a frame exclusive to the view */
	COWMEM_WP_COPY, /* a frame shared with other views or snapshots */
};

/*
 * One write to one page of a view, from a write fault, pfn_mkwrite or
 * ->access: what cowmem_do_wp() and the step it chooses share, like
 * struct vm_fault in mm/memory.c.
 */
struct cowmem_write {
	struct cowmem_view *view;
	struct vm_area_struct *vma; /* the one written through */
	pgoff_t pgoff;
	struct vm_fault *vmf; /* NULL for ->access, which maps nothing */
	bool mkwrite; /* pfn_mkwrite: vmf's PTE is there, read-only */
	struct cowmem_frame *orig; /* the index's frame before, or NULL */
	bool exclusive; /* orig is the view's alone */
	struct cowmem_frame *frame; /* on success: the view's own frame */
};

/* What each step of a write holds on entry and on return. */
static void cowmem_wp_assert_locked(struct cowmem_write *w)
{
	lockdep_assert_held(&w->view->lock);
	cowmem_mmap_assert_locked(w->vma->vm_mm);
}

/*
 * The whole decision, from the index lookup alone, so that what the three
 * steps do cannot change what is decided.
 */
static enum cowmem_wp cowmem_wp_decide(struct cowmem_frame *frame,
				       bool exclusive)
{
	if (!frame)
		return COWMEM_WP_FIRST_WRITE;
	if (exclusive)
		return COWMEM_WP_REUSE;
	return COWMEM_WP_COPY;
}

/*
 * The index now holds w->frame instead of @old (NULL: the zero page): zap
 * the PTEs of the view that may still map @old, and only then drop it,
 * which may free it. A fault zaps its own PTE first where it may map @old:
 * always after pfn_mkwrite; after a write fault when @old is a frame (a
 * racing read, or a neighbour's fault-around, may have mapped it since the
 * kernel saw no PTE). A zero-page PTE a racing read put there is harmless:
 * the insert leaves it, and the write faults again, through pfn_mkwrite.
 * ->access maps nothing, so every VMA of the view is zapped, its own too.
 * Entered and returns with view->lock and the mmap_lock held.
 */
static void cowmem_retire(struct cowmem_write *w, struct cowmem_frame *old)
{
	struct vm_area_struct *done = NULL;

	cowmem_wp_assert_locked(w);
	if (w->vmf && (old || w->mkwrite))
		zap_special_vma_range(w->vma, w->vmf->address, PAGE_SIZE);
	if (w->vmf)
		done = w->vma;
	cowmem_view_zap_index(w->view, w->pgoff, done);
	if (old)
		cowmem_frame_put(old);
}

/*
 * Puts @frame (a new frame of the view's own, or NULL when it could not be
 * allocated) at w->pgoff; the frame it replaces is returned in *@old, for
 * cowmem_retire(). On failure @frame is dropped and the index is as it was.
 * Entered and returns with view->lock and the mmap_lock held.
 */
static int cowmem_wp_replace(struct cowmem_write *w, struct cowmem_frame *frame,
			     struct cowmem_frame **old)
{
	int err;

	if (!frame)
		return -ENOMEM;
	err = cowmem_index_replace(&w->view->index, w->pgoff, frame, old);
	if (err) {
		cowmem_frame_put(frame);
		return err;
	}
	w->frame = frame;
	return 0;
}

/*
 * A first write: nobody wrote the page, so it reads as zeroes (the zero
 * page where mapped). It gets a zeroed frame of its own.
 * Entered and returns with view->lock and the mmap_lock held; on success
 * the zero page's PTEs of the view are zapped, but the fault's own where
 * a racing read may have put one (see cowmem_retire()).
 */
static int cowmem_wp_first_write(struct cowmem_write *w)
{
	struct cowmem_frame *old;
	int err;

	cowmem_wp_assert_locked(w);
	err = cowmem_wp_replace(w, cowmem_frame_alloc_zeroed(), &old);
	if (err)
		return err;
	cowmem_stat_inc(first_writes);
	cowmem_retire(w, old);
	return 0;
}

/*
 * A reuse: the frame's other holders are gone, so the view writes it in
 * place, no copy. A fault also maps the frame's block again (fault_around.c):
 * its neighbours are likely exclusive now too, and about to be written.
 * Entered and returns with view->lock and the mmap_lock held; a fault's
 * own page is left to its caller to map (unless another thread's remap
 * already mapped it writable).
 */
static int cowmem_wp_reuse(struct cowmem_write *w)
{
	cowmem_wp_assert_locked(w);
	w->frame = w->orig;
	cowmem_stat_inc(reuses);
	trace_reuse(w->view->id, w->pgoff, w->frame->id);
	if (w->vmf)
		cowmem_remap_around(w->view, w->vmf, w->frame);
	return 0;
}

/*
 * A COW break: the frame is shared, so the view gets a copy. After a copy
 * the neighbours are likely shared still: they are left to fault.
 * Entered and returns with view->lock and the mmap_lock held; on success
 * no PTE of the view maps the old frame, whose reference is dropped.
 */
static int cowmem_wp_copy(struct cowmem_write *w)
{
	u64 start = trace_cow_break_enabled() ? ktime_get_ns() : 0;
	struct cowmem_frame *old;
	int err;

	cowmem_wp_assert_locked(w);
	/* Shared, so nobody writes it: the copy is stable without locks. */
	err = cowmem_wp_replace(w, cowmem_frame_alloc_copy(w->orig), &old);
	if (err)
		return err;
	cowmem_stat_inc(cow_breaks);
	/*
	 * ns is the copy: allocating, copying and the index taking the frame.
	 * The old frame's reference is still ours until cowmem_retire().
	 */
	trace_cow_break(w->view->id, w->pgoff, old->id, w->frame->id,
			refcount_read(&old->holders) - 1,
			start ? ktime_get_ns() - start : 0);
	cowmem_retire(w, old);
	return 0;
}

/*
 * Makes the page at w->pgoff the view's own, so that it may be written:
 * looks its frame up once, decides, and takes exactly one of the three
 * steps. Returns 0 with w->frame set, or an errno when out of memory.
 * Entered and returns with view->lock and the mmap_lock held.
 */
static int cowmem_do_wp(struct cowmem_write *w)
{
	cowmem_wp_assert_locked(w);
	w->orig = cowmem_index_lookup(&w->view->index, w->pgoff, &w->exclusive);
	switch (cowmem_wp_decide(w->orig, w->exclusive)) {
	case COWMEM_WP_FIRST_WRITE:
		return cowmem_wp_first_write(w);
	case COWMEM_WP_REUSE:
		return cowmem_wp_reuse(w);
	case COWMEM_WP_COPY:
		return cowmem_wp_copy(w);
	}
	return -EINVAL; /* not reached: the switch covers the enum */
}

/*
 * A write fault (@mkwrite false: no PTE) or a write to a read-only PTE
 * (@mkwrite true). The frame is mapped writable here, under view->lock.
 * Entered and returns with view->lock and the mmap_lock held.
 */
static vm_fault_t cowmem_fault_write(struct cowmem_view *view,
				     struct vm_fault *vmf, bool mkwrite)
{
	struct cowmem_write w = {
		.view = view,
		.vma = vmf->vma,
		.pgoff = vmf->pgoff,
		.vmf = vmf,
		.mkwrite = mkwrite,
	};
	int err;

	trace_fault(view->id, vmf->pgoff, true, false);
	err = cowmem_do_wp(&w);
	if (err)
		return vmf_error(err); /* -ENOMEM: VM_FAULT_OOM; else SIGBUS */
	return cowmem_insert(vmf, w.frame, true);
}

/*
 * A read of a page with no PTE: the zero page for a page nobody wrote, else
 * the frame, writable only if exclusive, and the frames around it.
 * Entered and returns with view->lock and the mmap_lock held.
 */
static vm_fault_t cowmem_fault_read(struct cowmem_view *view,
				    struct vm_fault *vmf)
{
	struct cowmem_frame *frame;
	bool exclusive;

	lockdep_assert_held(&view->lock);
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
		ret = cowmem_fault_write(view, vmf, false);
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
	vm_fault_t ret;

	cowmem_mmap_assert_locked(vmf->vma->vm_mm);
	cowmem_stat_inc(faults);
	if (!view)
		return VM_FAULT_SIGBUS;
	mutex_lock(&view->lock);
	ret = cowmem_fault_write(view, vmf, true);
	mutex_unlock(&view->lock);
	return ret;
}

/*
 * A ptrace write: the same steps as a write fault, without a PTE to map.
 * Entered and returns with view->lock and the mmap_lock held. Returns the
 * bytes written or an errno.
 */
static int cowmem_access_write(struct cowmem_view *view,
			       struct vm_area_struct *vma, pgoff_t pgoff,
			       unsigned int offset, void *buf, int len)
{
	struct cowmem_write w = {
		.view = view,
		.vma = vma,
		.pgoff = pgoff,
	};
	int err;

	err = cowmem_do_wp(&w);
	if (err)
		return err;
	memcpy_to_page(w.frame->page, offset, buf, len);
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
