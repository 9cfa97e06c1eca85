// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: how observers (debugfs "pages", "check") reach a view's PTEs.
 *
 * They find views in region->views, under region->lock; but a view's PTEs
 * need its mm's mmap_lock, which comes before region->lock in the lock
 * order. So an observer notes the view (its id, and a reference on its mm)
 * under the region's lock, lets go of it, and finds the view again through
 * the mm's VMAs, each of which holds the view while the mmap_lock is held.
 * A view that died meanwhile is simply not found.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mm.h>
#include <linux/sched/mm.h>

#include "compat.h"
#include "observe.h"

/* Notes @view for cowmem_view_ref_walk(). Called with region->lock held. */
void cowmem_view_ref_get(struct cowmem_view_ref *ref, struct cowmem_view *view)
{
	lockdep_assert_held(&view->region->lock);
	ref->id = view->id;
	ref->mm = mmget_not_zero(view->mm) ? view->mm : NULL;
}

void cowmem_view_ref_put(struct cowmem_view_ref *ref)
{
	if (ref->mm)
		mmput(ref->mm);
	ref->mm = NULL;
}

/* Called with @mm's mmap_lock held. */
static unsigned long cowmem_mm_walk_view(struct mm_struct *mm, u64 id,
					 cowmem_view_vma_fn fn, void *data)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct cowmem_view *view;
	struct vm_area_struct *vma;
	unsigned long n = 0;

	for_each_vma(vmi, vma) {
		if (vma->vm_ops != &cowmem_vm_ops)
			continue;
		view = vma->vm_private_data;
		if (!view || view->id != id)
			continue;
		down_write(&view->lock);
		fn(vma, view, data);
		up_write(&view->lock);
		n++;
	}
	return n;
}

/*
 * Calls @fn for every VMA of the noted view, with the view's lock held;
 * returns how many VMAs that was (0 when the view or its mm is gone).
 * Takes the mm's mmap_lock for read, then the view's lock: the fault
 * path's order.
 */
unsigned long cowmem_view_ref_walk(struct cowmem_view_ref *ref,
				   cowmem_view_vma_fn fn, void *data)
{
	unsigned long n;

	if (!ref->mm || mmap_read_lock_killable(ref->mm))
		return 0;
	n = cowmem_mm_walk_view(ref->mm, ref->id, fn, data);
	mmap_read_unlock(ref->mm);
	return n;
}
