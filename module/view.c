// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: regions and views. A region is what one open() of /dev/cowmem
 * holds; a view is what one address space sees of it. This file decides
 * which view a new VMA belongs to, clones views at fork() and at a
 * cross-process mmap(), and takes write permission from the PTEs that a
 * clone makes shared: in place where the kernel allows it, else by a zap.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "fault.h"
#include "internal.h"
#include "trace.h"

unsigned int cowmem_max_region_mb = 1024;
module_param_named(max_region_mb, cowmem_max_region_mb, uint, 0644);
MODULE_PARM_DESC(max_region_mb,
		 "Largest region one open file may map, in MiB (default 1024)");

/*
 * How a clone takes write permission from its source's PTEs: in place
 * (true, where the kernel has the helpers: cowmem_clone_wrprotect()) or by
 * a zap. A parameter so that cowbench measures both in one boot.
 */
static bool cowmem_wrprotect = COWMEM_CAN_WRPROTECT;

static int cowmem_wrprotect_set(const char *val, const struct kernel_param *kp)
{
	bool on;
	int err = kstrtobool(val, &on);

	if (err)
		return err;
	if (on && !COWMEM_CAN_WRPROTECT) {
		pr_warn("wrprotect: this kernel has no CONFIG_MAPPING_DIRTY_HELPERS; clones zap\n");
		return -EOPNOTSUPP;
	}
	WRITE_ONCE(cowmem_wrprotect, on);
	return 0;
}

static const struct kernel_param_ops cowmem_wrprotect_ops = {
	.set = cowmem_wrprotect_set,
	.get = param_get_bool,
};
module_param_cb(wrprotect, &cowmem_wrprotect_ops, &cowmem_wrprotect, 0644);
MODULE_PARM_DESC(wrprotect, "Clones write-protect PTEs, not zap (default Y)");

/* Every open region, for debugfs walks; taken on open and release only. */
DEFINE_MUTEX(cowmem_regions_lock);
LIST_HEAD(cowmem_regions);

/* Region and view ids; only taken on open, mmap and fork, never on a fault. */
static atomic64_t cowmem_next_id = ATOMIC64_INIT(0);
/* Eras of sole ownership (view->era); 0 is none's. */
static atomic64_t cowmem_next_era = ATOMIC64_INIT(0);

/*
 * Something is about to share all of @view's frames at once (a clone of
 * it, a snapshot, a rollback): the frames it owned (cowmem_frame_owned())
 * are its own no more, and it starts a new era. Called with view->lock
 * held for write, which every fault that reads the era holds for read.
 */
void cowmem_view_new_era(struct cowmem_view *view)
{
	lockdep_assert_held_write(&view->lock);
	view->era = atomic64_inc_return(&cowmem_next_era);
}

/* The region's address_space holds no pages; it exists for its i_mmap tree. */
static const struct address_space_operations cowmem_aops = {};

/*
 * A new region, made by an open (@ops NULL) or by the feature whose @ops
 * they are, inside the feature's struct; counted against current's user
 * (as a region, or as @ops says); an ERR_PTR when out of memory or beyond
 * the user's limit.
 */
struct cowmem_region *cowmem_region_create(struct inode *inode,
					   const struct cowmem_region_ops *ops)
{
	struct cowmem_region *region;
	int err;

	if (WARN_ON_ONCE(ops && ops->size < sizeof(*region)))
		return ERR_PTR(-EINVAL);
	if (cowmem_should_fail())
		return ERR_PTR(-ENOMEM);
	region = kzalloc(ops ? ops->size : sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		return ERR_PTR(-ENOMEM);
	region->ops = ops;
	region->cred = get_current_cred();
	region->charged = ops ? ops->limit : COWMEM_LIMIT_REGIONS;
	err = cowmem_limit_charge(region->cred, region->charged, false);
	if (err)
		goto put_cred;
	refcount_set(&region->ref, 1);
	address_space_init_once(&region->mapping);
	region->mapping.host = inode;
	region->mapping.a_ops = &cowmem_aops;
	mutex_init(&region->lock);
	INIT_LIST_HEAD(&region->views);
	INIT_LIST_HEAD(&region->derived);
	/*
	 * Under the lock: the list is in id order, a lockset's. Nobody holds
	 * it while waiting for anything else (cowmem_region_next()), but an
	 * open waits killably all the same.
	 */
	err = -EINTR;
	if (mutex_lock_killable(&cowmem_regions_lock))
		goto uncharge;
	region->id = atomic64_inc_return(&cowmem_next_id);
	list_add_tail(&region->link, &cowmem_regions);
	cowmem_stat_inc(regions);
	mutex_unlock(&cowmem_regions_lock);
	return region;

uncharge:
	cowmem_limit_uncharge(region->cred, region->charged);
put_cred:
	put_cred(region->cred);
	kfree(region);
	return ERR_PTR(err);
}

/* Drops a reference on @region; the last one frees it. */
void cowmem_region_put(struct cowmem_region *region)
{
	if (!refcount_dec_and_test(&region->ref))
		return;
	WARN_ON_ONCE(!list_empty(&region->derived));
	put_cred(region->cred);
	mutex_destroy(&region->lock);
	kfree(region);
}

/*
 * The first region on cowmem_regions with an id above @id, with a
 * reference for the caller to put, or NULL past the last: a walk that
 * holds no lock while it works on a region, and so never waits for one
 * region's lock holding the list or another region. The list is in id
 * order, so a walk that goes on from the id it last saw sees every region
 * that was there all along once, whatever came and went meanwhile.
 */
struct cowmem_region *cowmem_region_next(u64 id)
{
	struct cowmem_region *region;

	mutex_lock(&cowmem_regions_lock);
	list_for_each_entry(region, &cowmem_regions, link) {
		if (region->id > id) {
			refcount_inc(&region->ref);
			mutex_unlock(&cowmem_regions_lock);
			return region;
		}
	}
	mutex_unlock(&cowmem_regions_lock);
	return NULL;
}

/*
 * Called from release: no VMA maps the file any more, so every view is
 * already gone. The feature that made the region lets go of what it
 * keeps there first (ops->destroy), with no lock held; then the region
 * leaves cowmem_regions. Regions derived from it keep the struct (not
 * the file) alive.
 */
void cowmem_region_destroy(struct cowmem_region *region)
{
	WARN_ON_ONCE(!list_empty(&region->views) || region->origin);
	if (region->ops && region->ops->destroy)
		region->ops->destroy(region);
	mutex_lock(&cowmem_regions_lock);
	list_del(&region->link);
	cowmem_stat_dec(regions);
	mutex_unlock(&cowmem_regions_lock);
	cowmem_limit_uncharge(region->cred, region->charged);
	cowmem_region_put(region);
}

/* How many blocks (fault.h) a view of @region has: its zapped_blocks bits. */
static unsigned long cowmem_region_blocks(struct cowmem_region *region)
{
	return DIV_ROUND_UP(region->nr_pages, COWMEM_BLOCK_PAGES);
}

/*
 * A new view of @region for @mm, counted against current's user (a fork's
 * clone is counted but never refused: see limits.c); an ERR_PTR when out
 * of memory or beyond the user's limit.
 */
static struct cowmem_view *cowmem_view_alloc(struct cowmem_region *region,
					     struct mm_struct *mm,
					     enum cowmem_view_how how,
					     struct cowmem_view *parent)
{
	struct cowmem_view *view;
	int err;

	if (cowmem_should_fail())
		return ERR_PTR(-ENOMEM);
	view = kzalloc(struct_size(view, zapped_blocks,
				   BITS_TO_LONGS(cowmem_region_blocks(region))),
		       GFP_KERNEL_ACCOUNT);
	if (!view)
		return ERR_PTR(-ENOMEM);
	/* At fork, the parent's: the child has them too until it changes them. */
	view->cred = get_current_cred();
	err = cowmem_limit_charge(view->cred, COWMEM_LIMIT_VIEWS,
				  how == COWMEM_VIEW_FORK);
	if (err) {
		put_cred(view->cred);
		kfree(view);
		return ERR_PTR(err);
	}
	kref_init(&view->ref);
	view->region = region;
	view->region_id = region->id;
	view->mm = mm;
	mmgrab(mm);
	init_rwsem(&view->lock);
	spin_lock_init(&view->publish);
	cowmem_index_init(&view->index, region->nr_pages);
	atomic_set(&view->nr_vmas, 1);
	atomic_inc(&region->nr_vmas);
	view->how = how;
	view->id = atomic64_inc_return(&cowmem_next_id);
	view->era = atomic64_inc_return(&cowmem_next_era);
	view->parent_id = parent ? parent->id : 0;
	cowmem_stat_inc(views);
	return view;
}

/*
 * May current read what a process with credentials @owner holds? When it
 * has the same uids and gids, or CAP_SYS_PTRACE over it: the credential
 * part of ptrace's read check, which process_madvise() and /proc/PID/mem
 * apply through ptrace_may_access() (not exported to modules, and so
 * without its LSM hook here).
 */
bool cowmem_cred_may_read(const struct cred *owner)
{
	const struct cred *me = current_cred();

	if (uid_eq(me->fsuid, owner->uid) && uid_eq(me->fsuid, owner->euid) &&
	    uid_eq(me->fsuid, owner->suid) && gid_eq(me->fsgid, owner->gid) &&
	    gid_eq(me->fsgid, owner->egid) && gid_eq(me->fsgid, owner->sgid))
		return true;
	return ns_capable_noaudit(owner->user_ns, CAP_SYS_PTRACE);
}

/*
 * May current read what @view holds? Its own views, and another process's
 * when it has that process's credentials (as they were when the view was
 * made) or CAP_SYS_PTRACE over them. What current may not read (a merge,
 * PAGE_INFO) neither looks at nor locks. The answer depends on nothing
 * that can change while current is in an ioctl (unlike ptrace's, which
 * also asks whether the mm is dumpable).
 * Called with @view alive: under region->lock or view->lock.
 */
bool cowmem_view_may_read(struct cowmem_view *view)
{
	return view->mm == current->mm || cowmem_cred_may_read(view->cred);
}

/*
 * Pins begin and end on a whole region: while any is in effect (between
 * these two), a COW break in any of its views zaps before it copies
 * ("Pins" in fault.c). A census pin of a view also bumps the view's
 * pin_gen, which a COW break of that view in flight checks.
 */
void cowmem_region_pins_begin(struct cowmem_region *region)
{
	atomic_inc(&region->pins);
	/*
	 * Orders pins before what the pins then do (a view's pin_gen, a
	 * reference): pairs with the smp_rmb()s in cowmem_wp_pins().
	 */
	smp_mb__after_atomic();
}

/* Called once every reference taken under the pins is dropped. */
void cowmem_region_pins_end(struct cowmem_region *region)
{
	atomic_dec(&region->pins);
}

/*
 * Pins what @view holds now (cowmem_index_pin()), for an observer that
 * reads it with no lock held, between cowmem_region_pins_begin() and
 * _end() on its region. The publish lock orders the read of the root
 * after any fault's swap into it (and a later swap sees the pin and
 * copies); view->lock, held for read at least, keeps out what changes the
 * index otherwise (a rollback, a merge). Its faults go on meanwhile.
 */
void cowmem_view_pin(struct cowmem_view *view, struct cowmem_index *pin)
{
	struct cowmem_region *region = view->region;

	lockdep_assert_held(&view->lock);
	WARN_ON_ONCE(!atomic_read(&region->pins));
	spin_lock(&view->publish);
	atomic_inc(&view->pin_gen);
	/*
	 * Orders pins and pin_gen before the reference, which a fault's
	 * lookup may see: pairs with the smp_rmb() in cowmem_wp_pins().
	 */
	smp_wmb();
	cowmem_index_pin(pin, &view->index);
	spin_unlock(&view->publish);
}

/* Makes a new view visible: in its region's list, where observers find it. */
static void cowmem_view_publish(struct cowmem_view *view)
{
	lockdep_assert_held(&view->region->lock);
	list_add_tail(&view->link, &view->region->views);
}

/*
 * The last VMA of the view is gone. Its frames go now, under region->lock,
 * so that the other holders see them go at once and nobody who finds views
 * through the region's list sees a half-dead one. Nobody else can hold
 * the view then: faults and ioctls reach it through a VMA, and observers
 * through the list, under the lock held here.
 * Called with region->lock held.
 */
static void cowmem_view_die(struct cowmem_view *view)
{
	unsigned long pages;

	lockdep_assert_held(&view->region->lock);
	list_del(&view->link);
	if (view->region->origin == view)
		view->region->origin = NULL;
	down_write(&view->lock);
	pages = cowmem_index_release(&view->index);
	up_write(&view->lock);
	trace_view_free(view->id, pages);
	cowmem_stat_dec(views);
}

static void cowmem_view_free(struct cowmem_view *view)
{
	mmdrop(view->mm);
	cowmem_limit_uncharge(view->cred, COWMEM_LIMIT_VIEWS);
	put_cred(view->cred);
	kfree(view);
}

/* One more VMA maps @view: the reference it holds in vm_private_data. */
void cowmem_view_get_vma(struct cowmem_view *view)
{
	kref_get(&view->ref);
	atomic_inc(&view->nr_vmas);
	atomic_inc(&view->region->nr_vmas);
}

/* Entered with region->lock held by kref_put_mutex(); returns with it released. */
static void cowmem_view_release(struct kref *ref)
{
	struct cowmem_view *view = container_of(ref, struct cowmem_view, ref);
	struct cowmem_region *region = view->region;

	cowmem_view_die(view);
	mutex_unlock(&region->lock);
	cowmem_view_free(view);
}

/*
 * A VMA of @view went away. Must not be called with region->lock held: the
 * last put takes it.
 */
void cowmem_view_put_vma(struct cowmem_view *view)
{
	atomic_dec(&view->nr_vmas);
	atomic_dec(&view->region->nr_vmas);
	kref_put_mutex(&view->ref, cowmem_view_release, &view->region->lock);
}

/*
 * Does @vma map @view? Pointers alone tell: nobody else's VMA holds a live
 * view of ours in vm_private_data, nor a region of ours as its file's
 * private_data.
 */
static bool cowmem_vma_maps_view(struct vm_area_struct *vma,
				 struct cowmem_view *view)
{
	return vma->vm_private_data == view && vma->vm_file &&
	       vma->vm_file->private_data == view->region;
}

/*
 * The VMA of current->mm that maps @file's region over all of [@addr, @end),
 * or NULL: the mapping an ioctl names must belong to the file it is made on.
 * Called with current->mm's mmap_lock held.
 */
struct vm_area_struct *cowmem_file_vma(struct file *file, unsigned long addr,
				       unsigned long end)
{
	struct vm_area_struct *vma = vma_lookup(current->mm, addr);

	/*
	 * Only cowmem's files have one of its regions as private_data: the
	 * pointer alone says the VMA is a mapping of @file's region.
	 */
	if (!vma || !vma->vm_file ||
	    vma->vm_file->private_data != file->private_data ||
	    !vma->vm_private_data || end > vma->vm_end)
		return NULL;
	return vma;
}

/*
 * The view of @file's region mapped at @addr in current->mm, or NULL.
 * Called with current->mm's mmap_lock held.
 */
struct cowmem_view *cowmem_file_view(struct file *file, unsigned long addr)
{
	struct vm_area_struct *vma;

	cowmem_mmap_assert_locked(current->mm);
	vma = cowmem_file_vma(file, addr, addr + 1);
	return vma ? vma->vm_private_data : NULL;
}

/* Calls @fn for every VMA of @view's mm that maps it; returns how many. */
static unsigned long cowmem_view_each_vma(struct cowmem_view *view,
					  void (*fn)(struct vm_area_struct *))
{
	VMA_ITERATOR(vmi, view->mm, 0);
	struct vm_area_struct *vma;
	unsigned long n = 0;

	cowmem_mmap_assert_locked(view->mm);
	for_each_vma(vmi, vma) {
		if (!cowmem_vma_maps_view(vma, view))
			continue;
		fn(vma);
		n++;
	}
	return n;
}

static void cowmem_vma_zap(struct vm_area_struct *vma)
{
	zap_special_vma_range(vma, vma->vm_start, vma->vm_end - vma->vm_start);
}

/*
 * Every block of @view may map around its faults again (fault_around.c):
 * its PTEs have all just been zapped, or write-protected in place.
 * Called with view->lock held for write: no fault reads the marks.
 */
static void cowmem_view_unmark_blocks(struct cowmem_view *view)
{
	lockdep_assert_held_write(&view->lock);
	bitmap_zero(view->zapped_blocks, cowmem_region_blocks(view->region));
}

/*
 * Zaps every PTE of @view, in every VMA of its mm that maps it: the ones
 * fork() copies and the MADV_DONTFORK ones it skips alike. This is how a
 * view loses write permission when its frames become shared by a snapshot,
 * a rollback, or a clone that cannot write-protect (a merge zaps through
 * the region's address_space instead): a zap tells secondary MMUs (mmu
 * notifiers) and flushes the TLB. The next access refaults, and
 * fault-around maps the view's frames back a block at a time (see
 * fault_around.c), from now on in every block. Returns how many VMAs that
 * was.
 * Called with view->lock held for write and view->mm's mmap_lock.
 */
unsigned long cowmem_view_zap_all(struct cowmem_view *view)
{
	lockdep_assert_held_write(&view->lock);
	cowmem_view_unmark_blocks(view);
	return cowmem_view_each_vma(view, cowmem_vma_zap);
}

/*
 * Takes write permission from every PTE of @region in place, with the
 * kernel's own helper for dirty tracking (mm/mapping_dirty_helpers.c, as
 * vmwgfx uses it): the PTEs stay, read-only, so that reads after a fork
 * cost no fault, and copy_page_range() copies them into the child as the
 * kernel's own fork copies its PTEs. The walk goes by the address_space, so
 * it reaches every VMA of every view of @region, under i_mmap_rwsem; the
 * other views merely lose write permission they get back on their next
 * write (a reuse). It tells mmu notifiers and flushes the TLB: after it no
 * CPU writes to @region without faulting, and a write to the source view
 * waits for its lock in its fault.
 * The PTEs stay dirty. The helpers' clean step would cost fork a second
 * walk; instead cowmem_vm_mprotect() zaps what mprotect() would make
 * writable again (see there).
 * Returns false, having changed nothing, where it cannot: a kernel without
 * the helper, the parameter off, or a read-only file (@vma, like every VMA
 * of the region, since they all map its one file, lacks VM_SHARED or
 * VM_MAYWRITE, which would stop the walk at the first VMA; none of them
 * has a writable PTE anyway).
 * Called with the source view's lock held for write and region->lock.
 */
static bool cowmem_clone_wrprotect(struct cowmem_region *region,
				   struct vm_area_struct *vma)
{
	vm_flags_t walkable = VM_SHARED | VM_MAYWRITE;

	lockdep_assert_held(&region->lock);
	if (!COWMEM_CAN_WRPROTECT || !READ_ONCE(cowmem_wrprotect) ||
	    (vma->vm_flags & walkable) != walkable)
		return false;
	wp_shared_mapping_range(&region->mapping, 0, region->nr_pages);
	return true;
}

/*
 * @src's frames have just become shared with a clone: its PTEs lose write
 * permission, so that its next write to any of them faults and breaks COW.
 * In place where the kernel allows it (cowmem_clone_wrprotect()), else by
 * a zap: at fork the parent's own VMAs, under its mmap_lock (which the
 * kernel holds); another process's mapping cannot lock the origin's mm, so
 * it zaps through the region's address_space, which reaches every view's
 * VMAs (the others merely refault). Either way under @src->lock: a write
 * that faulted meanwhile waits, and then breaks COW.
 * Called with @src->lock held for write and region->lock; @vma is the
 * clone's.
 */
static void cowmem_clone_protect(struct cowmem_view *src,
				 struct vm_area_struct *vma,
				 enum cowmem_view_how how)
{
	lockdep_assert_held_write(&src->lock);
	if (cowmem_clone_wrprotect(src->region, vma)) {
		cowmem_view_unmark_blocks(src);
		cowmem_stat_inc(clone_wrprotects);
	} else if (how == COWMEM_VIEW_FORK) {
		this_cpu_add(cowmem_stats.share_zaps, cowmem_view_zap_all(src));
	} else {
		cowmem_view_unmark_blocks(src);
		unmap_mapping_range(&src->region->mapping, 0, 0, 1);
	}
}

/* Marks in @data (a bitmap by page offset) each frame that may be pinned. */
static void cowmem_note_pinned(pgoff_t pgoff, struct cowmem_frame *frame,
			       bool exclusive, void *data)
{
	if (folio_maybe_dma_pinned(page_folio(frame->page)))
		__set_bit(pgoff, data);
}

/*
 * A pin-safe clone, the lesson of CVE-2020-29374. A frame a device may be
 * writing into (a pin: O_DIRECT or other I/O in flight) must not become
 * shared: the device's later writes would reach the clone. So the clone
 * gets a copy of each such frame now, as the kernel's copy_present_page()
 * gives a child one of a pinned anonymous page, and @src keeps the pinned
 * one: its own in its new era (cowmem_frame_owned()) where it now has it
 * alone, so that its next write reuses it rather than copy it away from
 * the pin.
 * At fork the parent's PTEs of it are zapped, so that copy_page_range()
 * finds none to copy into the child. Only where @src's mm ever pinned a
 * page (MMF_HAS_PINNED), as the kernel's own fork asks; VM_PFNMAP mappings
 * cannot be pinned. folio_maybe_dma_pinned() is a refcount heuristic: a
 * frame with very many PTEs may be copied for nothing.
 * Returns 0, or -ENOMEM: the clone fails then, and a child's VMA gets no
 * view (its accesses get SIGBUS), where the kernel's fork would fail.
 * Called with @src->lock held for write, @src->mm's mmap_lock held for
 * write at fork, and @view not yet published: nobody else reaches its
 * index.
 */
static int cowmem_clone_unshare_pinned(struct cowmem_view *view,
				       struct cowmem_view *src)
{
	pgoff_t nr = view->region->nr_pages, pgoff;
	struct cowmem_frame *frame, *old;
	unsigned long *pinned;
	bool exclusive;
	int err = 0;

	lockdep_assert_held_write(&src->lock);
	if (!cowmem_mm_has_pinned(src->mm))
		return 0;
	pinned = bitmap_zalloc(nr, GFP_KERNEL);
	if (!pinned)
		return -ENOMEM;
	cowmem_index_walk(&src->index, cowmem_note_pinned, pinned);
	for_each_set_bit(pgoff, pinned, nr) {
		frame = cowmem_index_lookup(&view->index, pgoff, NULL);
		frame = cowmem_frame_alloc_copy(frame->page);
		if (!frame) {
			err = -ENOMEM;
			break;
		}
		frame->era = view->era;
		err = cowmem_index_replace(&view->index, pgoff, frame, &old);
		if (err) {
			cowmem_frame_put(frame);
			break;
		}
		/*
		 * The clone's hold on the pinned frame goes. If @src now has
		 * it alone (a sibling, a snapshot may hold it too), it is
		 * @src's own in its new era, so that its next write reuses
		 * it: the pin is @src's.
		 */
		cowmem_frame_put(old);
		cowmem_index_lookup(&src->index, pgoff, &exclusive);
		if (exclusive)
			WRITE_ONCE(old->era, src->era);
		if (view->how == COWMEM_VIEW_FORK)
			cowmem_view_zap_page(src, pgoff, NULL);
		cowmem_stat_inc(pinned_copies);
	}
	bitmap_free(pinned);
	return err;
}

/* Undoes cowmem_view_alloc() and what the clone shared, before publishing. */
static void cowmem_view_unmake(struct cowmem_view *view)
{
	cowmem_index_release(&view->index);
	atomic_dec(&view->region->nr_vmas);
	cowmem_stat_dec(views);
	cowmem_view_free(view);
}

/*
 * A clone of @src for @vma's mm: a new view whose index shares every frame
 * of @src, at the cost of one reference on its root. @src's PTEs lose write
 * permission before its lock is released (see cowmem_clone_protect()), so
 * that the clone's contents are @src's at one instant.
 * Called with region->lock held and, for a fork, @src->mm's mmap_lock.
 */
static struct cowmem_view *cowmem_view_clone(struct cowmem_view *src,
					     struct vm_area_struct *vma,
					     enum cowmem_view_how how)
{
	struct cowmem_view *view;
	int err = 0;

	lockdep_assert_held(&src->region->lock);
	view = cowmem_view_alloc(src->region, vma->vm_mm, how, src);
	if (IS_ERR(view))
		return view;
	down_write(&src->lock);
	cowmem_view_new_era(src);
	cowmem_index_share(&view->index, &src->index);
	cowmem_clone_protect(src, vma, how);
	err = cowmem_clone_unshare_pinned(view, src);
	up_write(&src->lock);
	if (err) {
		cowmem_view_unmake(view);
		return ERR_PTR(err);
	}
	cowmem_view_publish(view);
	trace_view_clone(src->id, view->id, view->index.present);
	return view;
}

/*
 * Zaps the PTE of page @pgoff in every VMA of @view except @skip, after the
 * index replaced the frame there. Most views have a single VMA, which is the
 * faulting one: then there is nothing to walk.
 * Called with view->lock and view->mm's mmap_lock held.
 */
void cowmem_view_zap_page(struct cowmem_view *view, pgoff_t pgoff,
			  struct vm_area_struct *skip)
{
	VMA_ITERATOR(vmi, view->mm, 0);
	struct vm_area_struct *vma;
	unsigned long addr;

	lockdep_assert_held(&view->lock);
	cowmem_mmap_assert_locked(view->mm);
	if (skip && atomic_read(&view->nr_vmas) == 1)
		return;
	for_each_vma(vmi, vma) {
		if (vma == skip || !cowmem_vma_maps_view(vma, view))
			continue;
		if (pgoff < vma->vm_pgoff ||
		    pgoff >= vma->vm_pgoff + vma_pages(vma))
			continue;
		addr = vma->vm_start + ((pgoff - vma->vm_pgoff) << PAGE_SHIFT);
		zap_special_vma_range(vma, addr, PAGE_SIZE);
	}
}

/*
 * The first mmap() fixes the region's size; later ones must fit inside it.
 * Called with region->lock held.
 */
static int cowmem_region_fit(struct cowmem_region *region, pgoff_t end)
{
	pgoff_t max = (pgoff_t)READ_ONCE(cowmem_max_region_mb)
		      << (20 - PAGE_SHIFT);

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
					      enum cowmem_view_how how,
					      u64 parent_id)
{
	struct cowmem_view *view;

	lockdep_assert_held(&region->lock);
	list_for_each_entry(view, &region->views, link) {
		if (view->mm != mm)
			continue;
		if (how == COWMEM_VIEW_FORK ?
			    view->how == how && view->parent_id == parent_id :
			    view->how != COWMEM_VIEW_FORK)
			return view;
	}
	return NULL;
}

/*
 * Another process maps a region whose origin lives elsewhere: it gets a clone
 * of the origin. Called with region->lock held.
 */
static struct cowmem_view *
cowmem_region_clone_origin(struct cowmem_region *region,
			   struct vm_area_struct *vma)
{
	return cowmem_view_clone(region->origin, vma, COWMEM_VIEW_PEER);
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
	pgoff_t size;
	int err;

	cowmem_mmap_assert_write_locked(vma->vm_mm);
	if (end < vma->vm_pgoff)
		return ERR_PTR(-EINVAL);
	/* A merge may hold it for a stretch: mmap() waits killably. */
	if (mutex_lock_killable(&region->lock))
		return ERR_PTR(-EINTR);
	size = region->nr_pages;
	err = cowmem_region_fit(region, end);
	if (err) {
		view = ERR_PTR(err);
		goto unlock;
	}
	view = cowmem_region_find(region, vma->vm_mm, COWMEM_VIEW_OPEN, 0);
	if (view) {
		cowmem_view_get_vma(view);
	} else if (region->origin) {
		view = cowmem_region_clone_origin(region, vma);
	} else {
		view = cowmem_view_alloc(region, vma->vm_mm, COWMEM_VIEW_OPEN,
					 NULL);
		/*
		 * A refused first mapping (EDQUOT, ENOMEM) of a region never
		 * mapped leaves it unsized, as it was: no view of it exists
		 * to have seen the size, and the next mmap() may choose
		 * another. A region sized before keeps its size, which the
		 * clones of an earlier origin read.
		 */
		if (IS_ERR(view)) {
			if (!size)
				region->nr_pages = 0;
			goto unlock;
		}
		/* a snapshot's starts from its frozen contents */
		if (region->ops && region->ops->new_origin)
			region->ops->new_origin(region, view);
		cowmem_view_publish(view);
		region->origin = view;
	}
unlock:
	mutex_unlock(&region->lock);
	return view;
}

/*
 * The view a VMA copied by fork() belongs to: one clone of @parent per fork,
 * shared by all of the child's VMAs of it. The first of them takes write
 * permission from the parent's PTEs in every VMA of @parent
 * (cowmem_clone_protect()) before copy_page_range() copies them into the
 * child: the child so starts with the parent's PTEs, all read-only (or,
 * where they were zapped, with none, and refaults like the parent). The
 * later VMAs rely on that: the parent's mmap_lock is held for write
 * through dup_mmap(), and cowmem's faults take it (they are never run
 * under a per-VMA lock alone: no ->map_pages), so nothing makes a parent's
 * PTE writable again before its copy. Returns NULL when the clone cannot
 * be allocated (the child's VMA then has no view and faults get SIGBUS);
 * the parent's PTEs are zapped then too, or the child would get its
 * writable ones.
 * Called from vm_ops->open with both mms' mmap_lock held for write.
 */
struct cowmem_view *cowmem_view_fork(struct cowmem_view *parent,
				     struct vm_area_struct *vma)
{
	struct cowmem_region *region = parent->region;
	struct cowmem_view *child;

	cowmem_mmap_assert_write_locked(parent->mm);
	mutex_lock(&region->lock);
	child = cowmem_region_find(region, vma->vm_mm, COWMEM_VIEW_FORK,
				   parent->id);
	if (child) {
		cowmem_view_get_vma(child);
		goto unlock;
	}
	child = cowmem_view_clone(parent, vma, COWMEM_VIEW_FORK);
	if (IS_ERR(child)) {
		pr_warn_ratelimited("fork: no memory to clone view %llu\n",
				    parent->id);
		child = NULL;
		down_write(&parent->lock);
		this_cpu_add(cowmem_stats.share_zaps,
			     cowmem_view_zap_all(parent));
		up_write(&parent->lock);
	} else {
		cowmem_stat_inc(forks);
	}
unlock:
	mutex_unlock(&region->lock);
	return child;
}

/*
 * Calls @fn for every present PTE of @vma in [@start, @end), one page at a
 * time, with what the PTE held; @fn runs without the page table lock.
 * Reading, like this, is all that cowmem does to a PTE other than insert or
 * zap it.
 * Called with vma->vm_mm's mmap_lock held and, to keep the index and the
 * PTEs in step, the view's lock.
 */
void cowmem_vma_walk_ptes(struct vm_area_struct *vma, unsigned long start,
			  unsigned long end, cowmem_pte_fn fn, void *data)
{
	unsigned long addr, pfn;
	bool writable;

	cowmem_mmap_assert_locked(vma->vm_mm);
	for (addr = start; addr < end; addr += PAGE_SIZE) {
		if (cowmem_read_pte(vma, addr, &pfn, &writable))
			fn(linear_page_index(vma, addr), pfn, writable, data);
		/* A reader being killed would only report what it cannot read. */
		if (fatal_signal_pending(current))
			break;
		cond_resched();
	}
}
