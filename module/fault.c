// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the VMA operations. cowmem mappings are VM_MIXEDMAP (VM_PFNMAP
 * on kernels without what that needs: compat.h, COWMEM_PINNABLE), so every
 * PTE in them is installed here and copy-on-write happens here. GUP takes
 * VM_MIXEDMAP pages, faulting through here for a write; it refuses
 * VM_PFNMAP, and then ptrace and /proc/PID/mem come through ->access,
 * which applies the same rules to the traced process's view.
 *
 * The file reads bottom up. The VMA operations at its end (a fault, a write
 * to a read-only PTE, ptrace's ->access, a VMA's open and close, mprotect)
 * call cowmem_fault_read() or cowmem_fault_write(). A write decides once,
 * the way mm/memory.c's do_wp_page() does, and takes one of three steps:
 * a first write (a zeroed frame), a reuse (the same frame: it is the
 * view's alone) or a copy (the COW break); a new frame goes into the index
 * through cowmem_wp_publish(). cowmem.h's reading guide follows one write
 * through it.
 *
 * The first write and the COW break replace the index's frame; the frame
 * (or zero page) they replace goes through cowmem_retire(): its PTEs are
 * zapped before it may be freed.
 *
 * Locking: threads that fault on different pages do not wait for each
 * other. A fault holds
 *  - view->lock for read, from start to end: what changes what the view
 *    shares (fork, a snapshot, a rollback, a merge) takes it for write and
 *    waits for the faults in flight;
 *  - its page's block lock (cowmem_block_lock(): one of a table of mutexes,
 *    by view and block of COWMEM_BLOCK_PAGES page offsets) from its lookup
 *    to its PTE, but never across an allocation or a copy: a fault on the
 *    same page waits only while the other looks, publishes and maps, so
 *    that no PTE maps a frame the index has let go of;
 *  - view->publish, a spinlock, for the swap alone (cowmem_wp_publish()):
 *    the faults of other blocks change the index's shared upper nodes too.
 * A write allocates and copies with none of the last two held, then
 * publishes only if the index still holds what it copied, and otherwise
 * drops its copy and looks again: mm/memory.c's wp_page_copy() rechecks
 * pte_same() the same way.
 *
 * A PTE gains write permission only under its block lock (a fault, a
 * mkwrite, the remap of a block after a reuse), never later through
 * the kernel's finish_mkwrite_fault(): a snapshot or a merge may share the
 * frame as soon as view->lock is released. It loses it by a zap, or at a
 * clone by the kernel's write-protect of the region's mapping (view.c);
 * both tell mmu notifiers and flush the TLB. mprotect() cannot give a
 * shared frame's PTE write permission back: it does so only for dirty
 * PTEs, a read-only PTE cowmem inserts is clean, and the dirty ones a
 * write-protect leaves are zapped first (cowmem_vm_mprotect()).
 * A write through a read-only PTE (a mkwrite) that replaces the frame
 * zaps the PTE first, the first time in its block all the block's PTEs
 * that map frames (cowmem_zap_around()).
 *
 * Pins: a census (census.c) pins the indexes it counts with view->lock
 * held only for read, and a merge holds the frames it compares after it
 * has left their view: sharers that, unlike a fork or a snapshot, take
 * their reference without zapping the PTEs first. So while a pin is in
 * effect on the region (region->pins), a frame that reads as shared may
 * still be mapped writable, by a thread that found it exclusive before,
 * and a store through that PTE while a COW break copies would be lost.
 * A COW break decided while a pin is in effect therefore zaps the page's
 * PTEs before it copies (a store then faults, and copies or waits). And a
 * pin that begins after the decision may make a frame that became
 * exclusive and was written in place read as shared again: the publish
 * refuses a copy when the view's pin_gen moved since it was decided
 * (cowmem_wp_pins(), cowmem_wp_publish()). Only a census pin moves it: a
 * merge takes its references with the view's lock held for write, so no
 * copy of that view is in flight, and a frame exclusive to the view is
 * reached through the view alone.
 *
 * Every wait a fault makes is killable; a fault whose process is being
 * killed returns VM_FAULT_SIGBUS, which the dying process never sees (a
 * kernel access gets -EFAULT).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mm_inline.h>
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
	if (!frame)
		return cowmem_map_zero(vmf->vma, vmf->address);
	return cowmem_map_page(vmf->vma, vmf->address, frame->page, exclusive);
}

/* What a write to a page needs, given what the view's index holds there. */
enum cowmem_wp {
	COWMEM_WP_FIRST_WRITE, /* nothing: the page reads as zeroes */
	COWMEM_WP_REUSE, /* a frame exclusive to the view */
	COWMEM_WP_COPY, /* a frame shared with other views or snapshots */
};

/*
 * One write to one page of a view, from a write fault, a mkwrite or
 * ->access: what cowmem_do_wp() and the step it chooses share, like
 * struct vm_fault in mm/memory.c.
 */
struct cowmem_write {
	struct cowmem_view *view;
	struct vm_area_struct *vma; /* the one written through */
	pgoff_t pgoff;
	struct vm_fault *vmf; /* NULL for ->access, which maps nothing */
	bool present; /* through a mkwrite: a read-only PTE maps the page */
	struct mutex *block; /* its block lock, NULL while not held */
	struct cowmem_frame *orig; /* the index's frame before, or NULL */
	bool exclusive; /* orig is the view's alone */
	int pin_gen; /* view->pin_gen when a copy was decided */
	u32 orig_left; /* orig's holders left once replaced, for the trace */
	struct cowmem_frame *frame; /* on success: the view's own frame */
};

/* What each step of a write holds on entry and on return. */
static void cowmem_wp_assert_locked(struct cowmem_write *w)
{
	lockdep_assert_held_read(&w->view->lock);
	lockdep_assert_held(w->block);
	cowmem_mmap_assert_locked(w->vma->vm_mm);
}

/* Takes w's block lock; -EINTR, with it not held, when a fatal signal came. */
static int cowmem_wp_lock_block(struct cowmem_write *w)
{
	struct mutex *block = cowmem_block_lock(w->view, w->pgoff);

	if (mutex_lock_killable(block))
		return -EINTR;
	w->block = block;
	return 0;
}

static void cowmem_wp_unlock_block(struct cowmem_write *w)
{
	mutex_unlock(w->block);
	w->block = NULL;
}

/*
 * The whole decision, from the index lookup and the page's references
 * (cowmem_frame_writable()), so that what the three steps do cannot change
 * what is decided.
 */
static enum cowmem_wp cowmem_wp_decide(struct cowmem_view *view,
				       struct cowmem_frame *frame,
				       bool exclusive, struct page *held)
{
	if (!frame)
		return COWMEM_WP_FIRST_WRITE;
	if (cowmem_frame_writable(view, frame, exclusive, held))
		return COWMEM_WP_REUSE;
	return COWMEM_WP_COPY;
}

/*
 * No PTE of the view maps w->pgoff any more. A fault through a read-only
 * PTE zaps its block at once the first time (cowmem_zap_around()): a TLB
 * flush per block rather than per page. A fault that found no PTE zaps
 * its own page only if a PTE is there now (a read, or a neighbour's
 * fault-around, mapped it meanwhile), or if a flush of the mm's TLB is
 * pending: a zap costs even with nothing to take, and two at once in one
 * mm make the kernel flush the whole mm's TLB on every CPU it runs on
 * (tlb_finish_mmu(), mm_tlb_flush_nested()), which is what threads
 * faulting side by side would do. Only a fault holding the page's block
 * lock maps it in this VMA, so a PTE read as none under the lock stays
 * none. But none is not yet flushed: a zap through the region's mapping
 * (a merge's, another process's mmap) clears PTEs of views whose locks it
 * does not hold, and flushes later; a CPU may still reach the old frame
 * through its TLB until then. mm_tlb_flush_pending(), read after the page
 * table lock that the PTE read took, sees that zap's count, and this
 * fault's own zap then flushes the whole mm (nested) before the old frame
 * can be let go of.
 */
static void cowmem_wp_zap(struct cowmem_write *w)
{
	unsigned long pfn;
	bool writable;

	if (!w->vmf) {
		cowmem_view_zap_page(w->view, w->pgoff, NULL);
		return;
	}
	if (w->present)
		cowmem_zap_around(w->view, w->vmf);
	else if (cowmem_read_pte(w->vma, w->vmf->address, &pfn, &writable) ||
		 mm_tlb_flush_pending(w->vma->vm_mm))
		zap_special_vma_range(w->vma, w->vmf->address, PAGE_SIZE);
	cowmem_view_zap_page(w->view, w->pgoff, w->vma);
}

/*
 * The index now holds w->frame instead of @old (NULL: the zero page): zap
 * the PTEs of the view that may still map @old, and only then drop it,
 * which may free it. A fault zaps its own PTE first, which may map @old
 * even after a write fault that found none: a read on this page, or a
 * neighbour's fault-around, may have mapped it between the kernel's look
 * at the PTE and the block lock. Even a zero-page PTE must go: left there,
 * it would read zeroes through this mapping while another mapping of the
 * view writes the new frame, until this write faulted again.
 * ->access maps nothing, so every VMA of the view is zapped, its own too.
 * Entered and returns with view->lock for read, the block lock and the
 * mmap_lock held.
 */
static void cowmem_retire(struct cowmem_write *w, struct cowmem_frame *old)
{
	cowmem_wp_assert_locked(w);
	cowmem_wp_zap(w);
	if (old)
		cowmem_frame_put(old);
}

/*
 * Puts @frame (a new frame of the view's own, made with the block lock
 * dropped; NULL when it could not be allocated) at w->pgoff in place of
 * w->orig, and retires w->orig. Retakes the block lock, then swaps under
 * view->publish, if the index still holds w->orig there, still shared.
 * Returns 0 with w->frame set; -EAGAIN when another fault changed the page
 * meanwhile, or w->orig became the view's alone (another thread may have
 * written it in place since: the copy is stale) (@frame is dropped: the
 * caller looks again, and reuses); -ENOMEM; or -EINTR, with the block
 * lock not held, when a fatal signal came.
 * Entered with view->lock for read and the mmap_lock held, and the block
 * lock not held; returns with the block lock held but for -EINTR.
 */
static int cowmem_wp_publish(struct cowmem_write *w, struct cowmem_frame *frame)
{
	struct cowmem_view *view = w->view;
	struct cowmem_index_spares spares;
	int err = -ENOMEM;

	if (frame && !cowmem_index_spares_get(&view->index, w->pgoff, &spares))
		err = 0;
	/* The view's own, from this era on: no one else has seen it yet. */
	if (frame)
		frame->era = view->era;
	if (cowmem_wp_lock_block(w)) {
		err = -EINTR;
		goto drop;
	}
	if (err)
		goto drop;
	/*
	 * The swap is the decision's point of no return: the index holds
	 * w->orig, or another fault replaced it and its frame stands.
	 */
	spin_lock(&view->publish);
	/* A pin began since the copy was decided: see "Pins" at the top. */
	if (w->orig && !w->exclusive &&
	    atomic_read(&view->pin_gen) != w->pin_gen)
		err = -EAGAIN;
	else
		err = cowmem_index_publish(&view->index, w->pgoff, w->orig,
					   !w->exclusive, frame, &spares);
	spin_unlock(&view->publish);
drop:
	if (frame)
		cowmem_index_spares_put(&spares);
	if (err) {
		if (frame)
			cowmem_frame_put(frame);
		return err;
	}
	w->frame = frame;
	/* The index's reference on w->orig is ours now, until the retire. */
	if (w->orig)
		w->orig_left = refcount_read(&w->orig->holders) - 1;
	cowmem_retire(w, w->orig);
	return 0;
}

/*
 * A first write: nobody wrote the page, so it reads as zeroes (the zero
 * page where mapped). It gets a zeroed frame of its own, allocated with
 * the block lock dropped.
 * Entered with view->lock for read, the block lock and the mmap_lock
 * held; returns as cowmem_wp_publish().
 */
static int cowmem_wp_first_write(struct cowmem_write *w)
{
	int err;

	cowmem_wp_assert_locked(w);
	cowmem_wp_unlock_block(w);
	err = cowmem_wp_publish(w, cowmem_frame_alloc_zeroed());
	if (!err)
		cowmem_stat_inc(first_writes);
	return err;
}

/*
 * A reuse: the frame's other holders are gone, so the view writes it in
 * place, no copy. A fault also maps the frame's block again (fault_around.c):
 * its neighbours are likely exclusive now too, and about to be written.
 * Entered and returns with view->lock for read, the block lock and the
 * mmap_lock held; a fault's own page is left to its caller to map (unless
 * another thread's remap already mapped it writable).
 */
static int cowmem_wp_reuse(struct cowmem_write *w)
{
	cowmem_wp_assert_locked(w);
	w->frame = w->orig;
	/* Like reuse_anon_folio()'s PageAnonExclusive: the view's own now. */
	WRITE_ONCE(w->frame->era, w->view->era);
	cowmem_stat_inc(reuses);
	trace_reuse(w->view->id, w->pgoff, w->frame->id);
	if (w->vmf)
		cowmem_remap_around(w->view, w->vmf, w->frame);
	return 0;
}

/*
 * Before a copy: notes region->pin_gen for the publish, and zaps the
 * page's PTEs while a pin is in effect (see "Pins" at the top).
 */
static void cowmem_wp_pins(struct cowmem_write *w)
{
	struct cowmem_region *region = w->view->region;

	/*
	 * Pairs with the smp_wmb() in cowmem_view_pin(): a pin whose
	 * reference the lookup saw is counted in pin_gen and pins here.
	 */
	smp_rmb();
	w->pin_gen = atomic_read(&w->view->pin_gen);
	/* Pairs with cowmem_region_pins_begin(): a newer pin_gen, its pins. */
	smp_rmb();
	if (atomic_read(&region->pins))
		cowmem_wp_zap(w);
}

/*
 * A COW break: the frame is shared, so the view gets a copy, made with the
 * block lock dropped. Nobody writes the frame while it stays shared, once
 * cowmem_wp_pins() has zapped what a pin left writable, and the publish
 * checks that it still is; the page is held, since another fault on this
 * page may replace the frame meanwhile and its other holders let go of
 * it. After a copy the neighbours are likely shared still: they are left
 * to fault.
 * Entered with view->lock for read, the block lock and the mmap_lock
 * held; returns as cowmem_wp_publish(), and on success no PTE of the view
 * maps the old frame, whose reference is dropped.
 */
static int cowmem_wp_copy(struct cowmem_write *w)
{
	u64 start = trace_cow_break_enabled() ? ktime_get_ns() : 0;
	struct page *src = w->orig->page;
	u64 old_id = w->orig->id;
	struct cowmem_frame *frame;
	int err;

	cowmem_wp_assert_locked(w);
	cowmem_wp_pins(w);
	/*
	 * A frame the view has alone, copied because its page is referenced
	 * elsewhere (cowmem_wp_decide()): another VMA of the view may map it
	 * writable, and a store through it during the copy would be lost.
	 */
	if (w->exclusive)
		cowmem_wp_zap(w);
	/*
	 * Held until the swap: while it is, the page reads as referenced, so
	 * no other fault on it maps it writable or reuses it while this
	 * copies, even when it is the view's alone (a pipe that held it may
	 * let go meanwhile).
	 */
	get_page(src);
	cowmem_wp_unlock_block(w);
	frame = cowmem_frame_alloc_copy(src);
	cowmem_inject_hold_copy();
	err = cowmem_wp_publish(w, frame);
	put_page(src);
	if (err)
		return err;
	cowmem_stat_inc(cow_breaks);
	/* ns is the copy: allocating, copying and the index taking the frame. */
	trace_cow_break(w->view->id, w->pgoff, old_id, w->frame->id,
			w->orig_left, start ? ktime_get_ns() - start : 0);
	return 0;
}

/*
 * Makes the page at w->pgoff the view's own, so that it may be written:
 * looks its frame up once, decides, and takes exactly one of the three
 * steps, looking again when another fault on the page got there first.
 * Returns 0 with w->frame set, or an errno (-EINTR with the block lock not
 * held, when a fatal signal came).
 * Entered with view->lock for read, the block lock and the mmap_lock held;
 * returns with the same, but for -EINTR.
 */
static int cowmem_do_wp(struct cowmem_write *w)
{
	int err;

	do {
		cowmem_wp_assert_locked(w);
		w->orig = cowmem_index_lookup(&w->view->index, w->pgoff,
					      &w->exclusive);
		switch (cowmem_wp_decide(w->view, w->orig, w->exclusive,
					 w->vmf ? w->vmf->page : NULL)) {
		case COWMEM_WP_FIRST_WRITE:
			err = cowmem_wp_first_write(w);
			break;
		case COWMEM_WP_REUSE:
			err = cowmem_wp_reuse(w);
			break;
		case COWMEM_WP_COPY:
			err = cowmem_wp_copy(w);
			break;
		}
	} while (err == -EAGAIN);
	return err;
}

/*
 * A write fault (no PTE) or a write to a read-only PTE (a mkwrite): the
 * same steps. The frame is mapped writable here, under its block lock.
 * Entered and returns with view->lock for read and the mmap_lock held.
 */
static vm_fault_t cowmem_fault_write(struct cowmem_view *view,
				     struct vm_fault *vmf, bool present)
{
	struct cowmem_write w = {
		.view = view,
		.vma = vmf->vma,
		.pgoff = vmf->pgoff,
		.vmf = vmf,
		.present = present,
	};
	vm_fault_t ret;
	int err;

	trace_fault(view->id, vmf->pgoff, true, false);
	if (cowmem_wp_lock_block(&w))
		return VM_FAULT_SIGBUS;
	err = cowmem_do_wp(&w);
	if (err == -EINTR)
		return VM_FAULT_SIGBUS;
	ret = err ? vmf_error(err) : cowmem_insert(vmf, w.frame, true);
	cowmem_wp_unlock_block(&w);
	return ret;
}

/*
 * A read of a page with no PTE: the zero page for a page nobody wrote, else
 * the frame, writable only if exclusive, and the frames around it.
 * Entered and returns with view->lock for read and the mmap_lock held.
 */
static vm_fault_t cowmem_fault_read(struct cowmem_view *view,
				    struct vm_fault *vmf)
{
	struct mutex *block = cowmem_block_lock(view, vmf->pgoff);
	struct cowmem_frame *frame;
	bool exclusive;
	vm_fault_t ret;

	lockdep_assert_held_read(&view->lock);
	if (mutex_lock_killable(block))
		return VM_FAULT_SIGBUS;
	frame = cowmem_index_lookup(&view->index, vmf->pgoff, &exclusive);
	trace_fault(view->id, vmf->pgoff, false, !frame);
	if (!frame) {
		cowmem_stat_inc(zero_maps);
		ret = cowmem_insert(vmf, NULL, false);
	} else {
		cowmem_fault_around(view, vmf);
		ret = cowmem_insert(vmf, frame,
				    cowmem_frame_claim(view, frame, exclusive));
	}
	mutex_unlock(block);
	return ret;
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
	if (!view || down_read_killable(&view->lock))
		return VM_FAULT_SIGBUS;
	if (vmf->flags & FAULT_FLAG_WRITE)
		ret = cowmem_fault_write(view, vmf, false);
	else
		ret = cowmem_fault_read(view, vmf);
	up_read(&view->lock);
	return ret;
}

/*
 * A write to a read-only PTE: the zero page, a shared frame, or an exclusive
 * frame mapped read-only while it was shared. ->pfn_mkwrite where the PTE
 * maps no struct page (VM_PFNMAP, or the kernel's zero page), else
 * ->page_mkwrite, which the kernel calls with a reference on the page and
 * not its lock: the same write either way. The PTE is replaced here, under
 * its block lock, and the fault returns VM_FAULT_NOPAGE: returning 0 would
 * let the kernel make it writable after the lock is gone (see
 * cowmem_remap_around()).
 * Entered with vma->vm_mm's mmap_lock held for read, no page table lock and
 * no cowmem lock; returns with the same.
 */
static vm_fault_t cowmem_vm_mkwrite(struct vm_fault *vmf)
{
	struct cowmem_view *view = cowmem_fault_view(vmf);
	vm_fault_t ret;

	cowmem_mmap_assert_locked(vmf->vma->vm_mm);
	cowmem_stat_inc(faults);
	if (!view || down_read_killable(&view->lock))
		return VM_FAULT_SIGBUS;
	ret = cowmem_fault_write(view, vmf, true);
	up_read(&view->lock);
	return ret;
}

/*
 * A ptrace write: the same steps as a write fault, without a PTE to map.
 * Entered and returns with view->lock for read and the mmap_lock held.
 * Returns the bytes written or an errno.
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

	err = cowmem_wp_lock_block(&w);
	if (err)
		return err;
	err = cowmem_do_wp(&w);
	if (err == -EINTR)
		return err;
	if (!err)
		memcpy_to_page(w.frame->page, offset, buf, len);
	cowmem_wp_unlock_block(&w);
	return err ?: len;
}

/* A ptrace read. Entered and returns with view->lock for read. */
static int cowmem_access_read(struct cowmem_view *view, pgoff_t pgoff,
			      unsigned int offset, void *buf, int len)
{
	struct mutex *block = cowmem_block_lock(view, pgoff);
	struct cowmem_frame *frame;

	if (mutex_lock_killable(block))
		return -EINTR;
	frame = cowmem_index_lookup(&view->index, pgoff, NULL);
	if (frame)
		memcpy_from_page(buf, frame->page, offset, len);
	else
		memset(buf, 0, len);
	mutex_unlock(block);
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

	cowmem_mmap_assert_locked(vma->vm_mm);
	if (!view || pgoff >= READ_ONCE(view->region->nr_pages))
		return -EFAULT;
	if (write && !(vma->vm_flags & VM_WRITE))
		return -EFAULT;
	len = min_t(int, len, PAGE_SIZE - offset);
	if (down_read_killable(&view->lock))
		return -EINTR;
	if (write)
		len = cowmem_access_write(view, vma, pgoff, offset, buf, len);
	else
		len = cowmem_access_read(view, pgoff, offset, buf, len);
	up_read(&view->lock);
	return len;
}

/*
 * A new VMA that copies an existing one: on fork (from dup_mmap(), with
 * vma->vm_mm the child's mm), on a split (munmap, mprotect, madvise) and on
 * mremap. Only fork clones the view (cowmem_view_fork()), which takes write
 * permission from the parent's PTEs. dup_mmap() calls ->open before
 * copy_page_range() since "fork: defer linking file vma until vma is fully
 * initialized" (6.9, and Debian's 6.1 has it), so the child copies the
 * parent's PTEs as the clone left them: read-only, or none where zapped.
 * A kernel without that commit copies them first, writable ones too: the
 * child's VMA is zapped here as well, which costs nothing where it has no
 * PTEs yet. (A write-protect reaches the child's copies anyway: it walks
 * the region's address_space, where that kernel has linked the VMA.)
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
	zap_special_vma_range(vma, vma->vm_start, vma->vm_end - vma->vm_start);
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

/*
 * mprotect() is about to change the protection of [@start, @end) of @vma.
 * When the range stays writable, the kernel makes each dirty read-only PTE
 * writable in place, with no fault (can_change_pte_writable(): a dirty PTE
 * of a shared mapping counts as written already). A clone's write-protect
 * leaves the PTEs it takes write permission from dirty (view.c), and their
 * frames shared: so the range is zapped, and its next accesses fault. Its
 * frames lose nothing, and no cowmem lock is needed: the index does not
 * change, and with mmap_lock held for write no fault of this mm runs.
 * mprotect() is the one path that upgrades a PTE without asking: a write
 * fault asks ->pfn_mkwrite or ->page_mkwrite, and userfaultfd and NUMA
 * balancing never take VM_PFNMAP or VM_MIXEDMAP mappings.
 * Entered with vma->vm_mm's mmap_lock held for write and no cowmem lock;
 * returns with the same, and 0: the change goes ahead.
 */
static int cowmem_vm_mprotect(struct vm_area_struct *vma, unsigned long start,
			      unsigned long end, unsigned long newflags)
{
	cowmem_mmap_assert_write_locked(vma->vm_mm);
	if (newflags & VM_WRITE)
		zap_special_vma_range(vma, start, end - start);
	return 0;
}

const struct vm_operations_struct cowmem_vm_ops = {
	.open = cowmem_vm_open,
	.close = cowmem_vm_close,
	.fault = cowmem_vm_fault,
	.pfn_mkwrite = cowmem_vm_mkwrite,
	.page_mkwrite = cowmem_vm_mkwrite,
	.mprotect = cowmem_vm_mprotect,
	.access = cowmem_vm_access,
};
