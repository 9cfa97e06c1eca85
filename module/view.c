// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: regions and views. A region is what one open() of /dev/cowmem
 * holds; a view is what one address space sees of it. This file decides
 * which view a new VMA belongs to, clones views at fork() and at a
 * cross-process mmap(), and zaps the PTEs that a clone makes stale.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "cowmem.h"

/* Region and view ids; only taken on open, mmap and fork, never on a fault. */
static atomic64_t cowmem_next_id = ATOMIC64_INIT(0);

/* The region's address_space holds no pages; it exists for its i_mmap tree. */
static const struct address_space_operations cowmem_aops = {};

struct cowmem_region *cowmem_region_create(struct inode *inode)
{
	struct cowmem_region *region;

	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		return NULL;
	address_space_init_once(&region->mapping);
	region->mapping.host = inode;
	region->mapping.a_ops = &cowmem_aops;
	mutex_init(&region->lock);
	INIT_LIST_HEAD(&region->views);
	region->id = atomic64_inc_return(&cowmem_next_id);
	cowmem_stat_inc(regions);
	return region;
}

/*
 * Called from release: no VMA maps the file any more, so every view is
 * already gone.
 */
void cowmem_region_destroy(struct cowmem_region *region)
{
	WARN_ON_ONCE(!list_empty(&region->views) || region->origin);
	mutex_destroy(&region->lock);
	kfree(region);
	cowmem_stat_dec(regions);
}

static struct cowmem_view *cowmem_view_alloc(struct cowmem_region *region,
					     struct mm_struct *mm,
					     enum cowmem_view_origin how,
					     struct cowmem_view *parent)
{
	struct cowmem_view *view;

	view = kzalloc(sizeof(*view), GFP_KERNEL_ACCOUNT);
	if (!view)
		return NULL;
	kref_init(&view->ref);
	view->region = region;
	view->mm = mm;
	mmgrab(mm);
	mutex_init(&view->lock);
	xa_init(&view->frames);
	atomic_set(&view->nr_vmas, 1);
	view->how = how;
	view->id = atomic64_inc_return(&cowmem_next_id);
	view->parent_id = parent ? parent->id : 0;
	/* At fork the child task has no pid yet: the first fault records it. */
	if (how != COWMEM_VIEW_FORK)
		cowmem_view_note_owner(view);
	cowmem_stat_inc(views);
	return view;
}

/* Called with view->lock held, or before anyone else can reach the view. */
void cowmem_view_note_owner(struct cowmem_view *view)
{
	view->pid = current->tgid;
	get_task_comm(view->comm, current);
}

/* Frees a view no VMA, no index slot and no list points at any more. */
static void cowmem_view_free(struct cowmem_view *view)
{
	cowmem_index_release(view);
	mmdrop(view->mm);
	mutex_destroy(&view->lock);
	kfree(view);
	cowmem_stat_dec(views);
}

void cowmem_view_get(struct cowmem_view *view)
{
	kref_get(&view->ref);
}

static void cowmem_view_release(struct kref *ref)
	__releases(&view->region->lock)
{
	struct cowmem_view *view = container_of(ref, struct cowmem_view, ref);

	list_del(&view->node);
	if (view->region->origin == view)
		view->region->origin = NULL;
	mutex_unlock(&view->region->lock);
	cowmem_view_free(view);
}

/* Must not be called with region->lock held: the last put takes it. */
void cowmem_view_put(struct cowmem_view *view)
{
	kref_put_mutex(&view->ref, cowmem_view_release, &view->region->lock);
}

/*
 * A clone of @src for @mm: a new view whose index shares every frame of
 * @src. Called with region->lock held; the caller zaps the PTEs of @src
 * that the sharing makes stale.
 */
static struct cowmem_view *cowmem_view_clone(struct cowmem_view *src,
					     struct mm_struct *mm,
					     enum cowmem_view_origin how)
{
	struct cowmem_view *view;
	int err;

	lockdep_assert_held(&src->region->lock);
	view = cowmem_view_alloc(src->region, mm, how, src);
	if (!view)
		return ERR_PTR(-ENOMEM);
	mutex_lock(&src->lock);
	err = cowmem_index_clone(view, src);
	mutex_unlock(&src->lock);
	if (err)
		goto free_view;
	list_add_tail(&view->node, &src->region->views);
	return view;

free_view:
	cowmem_view_free(view);
	return ERR_PTR(err);
}

static bool cowmem_vma_maps_view(struct vm_area_struct *vma, struct cowmem_view *view)
{
	return vma->vm_ops == &cowmem_vm_ops && vma->vm_private_data == view;
}

/*
 * Zaps every PTE of @view, in every VMA of its mm that maps it: the ones
 * fork() copies and the MADV_DONTFORK ones it skips alike.
 * Called with view->mm's mmap_lock held.
 */
static void cowmem_view_zap_all(struct cowmem_view *view)
{
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, view->mm, 0);

	mmap_assert_locked(view->mm);
	for_each_vma(vmi, vma) {
		if (cowmem_vma_maps_view(vma, view))
			zap_vma_ptes(vma, vma->vm_start, vma->vm_end - vma->vm_start);
	}
}

/*
 * Zaps the PTE of page @pgoff in every VMA of @view except @skip, after the
 * index replaced the frame there. Most views have a single VMA, which is the
 * faulting one: then there is nothing to walk.
 * Called with view->lock and view->mm's mmap_lock held.
 */
void cowmem_view_zap_index(struct cowmem_view *view, pgoff_t pgoff,
			   struct vm_area_struct *skip)
{
	struct vm_area_struct *vma;
	unsigned long addr;
	VMA_ITERATOR(vmi, view->mm, 0);

	lockdep_assert_held(&view->lock);
	mmap_assert_locked(view->mm);
	if (skip && atomic_read(&view->nr_vmas) == 1)
		return;
	for_each_vma(vmi, vma) {
		if (vma == skip || !cowmem_vma_maps_view(vma, view))
			continue;
		if (pgoff < vma->vm_pgoff || pgoff >= vma->vm_pgoff + vma_pages(vma))
			continue;
		addr = vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
		zap_vma_ptes(vma, addr, PAGE_SIZE);
	}
}

/*
 * The first mmap() fixes the region's size; later ones must fit inside it.
 * Called with region->lock held.
 */
static int cowmem_region_fit(struct cowmem_region *region, pgoff_t end)
{
	pgoff_t max = (pgoff_t)READ_ONCE(cowmem_max_region_mb) << (20 - PAGE_SHIFT);

	lockdep_assert_held(&region->lock);
	if (region->nr_pages)
		return end <= region->nr_pages ? 0 : -EINVAL;
	if (end > max)
		return -ENOMEM;
	region->nr_pages = end;
	return 0;
}

/* The view @mm created by mmap(), if any. Called with region->lock held. */
static struct cowmem_view *cowmem_region_find(struct cowmem_region *region,
					      struct mm_struct *mm,
					      enum cowmem_view_origin how,
					      u64 parent_id)
{
	struct cowmem_view *view;

	lockdep_assert_held(&region->lock);
	list_for_each_entry(view, &region->views, node) {
		if (view->mm != mm)
			continue;
		if (how == COWMEM_VIEW_FORK ? view->how == how && view->parent_id == parent_id
					    : view->how != COWMEM_VIEW_FORK)
			return view;
	}
	return NULL;
}

/*
 * Another process maps a region whose origin lives elsewhere: it gets a clone
 * of the origin. The origin's mm is not ours to lock, so its now-stale
 * writable PTEs go through the region's address_space, which reaches every
 * view's VMAs (the others merely refault).
 * Called with region->lock held.
 */
static struct cowmem_view *cowmem_region_clone_origin(struct cowmem_region *region,
						      struct mm_struct *mm)
{
	struct cowmem_view *view;

	view = cowmem_view_clone(region->origin, mm, COWMEM_VIEW_MAPPING);
	if (!IS_ERR(view))
		unmap_mapping_range(&region->mapping, 0, 0, 1);
	return view;
}

/*
 * Finds or makes the view a new mapping of @region belongs to, with one
 * reference for @vma. Called from mmap() with vma->vm_mm's mmap_lock held
 * for write.
 */
struct cowmem_view *cowmem_region_attach(struct cowmem_region *region,
					 struct vm_area_struct *vma)
{
	pgoff_t end = vma->vm_pgoff + vma_pages(vma);
	struct cowmem_view *view;
	int err;

	mmap_assert_write_locked(vma->vm_mm);
	if (end < vma->vm_pgoff)
		return ERR_PTR(-EINVAL);
	mutex_lock(&region->lock);
	err = cowmem_region_fit(region, end);
	if (err) {
		view = ERR_PTR(err);
		goto unlock;
	}
	view = cowmem_region_find(region, vma->vm_mm, COWMEM_VIEW_OPEN, 0);
	if (view) {
		cowmem_view_get(view);
		atomic_inc(&view->nr_vmas);
	} else if (region->origin) {
		view = cowmem_region_clone_origin(region, vma->vm_mm);
	} else {
		view = cowmem_view_alloc(region, vma->vm_mm, COWMEM_VIEW_OPEN, NULL);
		if (!view) {
			view = ERR_PTR(-ENOMEM);
			goto unlock;
		}
		list_add_tail(&view->node, &region->views);
		region->origin = view;
	}
unlock:
	mutex_unlock(&region->lock);
	return view;
}

/*
 * The view a VMA copied by fork() belongs to: one clone of @parent per fork,
 * shared by all of the child's VMAs of it. Returns NULL when the clone cannot
 * be allocated (the child's VMA then has no view and faults get SIGBUS).
 * Either way the parent's PTEs are zapped, before copy_page_range() could
 * copy them into the child, and so that the parent refaults read-only.
 * Called from vm_ops->open with both mms' mmap_lock held for write.
 */
struct cowmem_view *cowmem_view_fork(struct cowmem_view *parent,
				     struct vm_area_struct *vma)
{
	struct cowmem_region *region = parent->region;
	struct cowmem_view *child;

	mmap_assert_write_locked(parent->mm);
	mutex_lock(&region->lock);
	child = cowmem_region_find(region, vma->vm_mm, COWMEM_VIEW_FORK, parent->id);
	if (child) {
		cowmem_view_get(child);
		atomic_inc(&child->nr_vmas);
		goto unlock;
	}
	child = cowmem_view_clone(parent, vma->vm_mm, COWMEM_VIEW_FORK);
	cowmem_view_zap_all(parent);
	if (IS_ERR(child)) {
		pr_warn_ratelimited("fork: no memory to clone view %llu\n", parent->id);
		child = NULL;
	} else {
		cowmem_stat_inc(forks);
	}
unlock:
	mutex_unlock(&region->lock);
	return child;
}
