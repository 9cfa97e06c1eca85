/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: copy-on-write memory done by a driver.
 *
 * Objects
 * -------
 * region  One per open of /dev/cowmem (file->private_data), and one per
 *         snapshot, behind a file of its own on an anonymous inode. Its size
 *         is fixed by the first mmap() (a snapshot's: by its source). It
 *         embeds the file's address_space, so that unmap_mapping_range()
 *         reaches the PTEs of every view of the region without taking any
 *         mm's mmap_lock.
 * view    What one address space sees of a region: its own page index. The
 *         first process to mmap() a region creates the origin view; fork()
 *         clones each view the parent maps (one clone per view per fork);
 *         another process mmap()ing the file gets a clone of the origin.
 *         A view lives as long as something maps it, like anonymous memory:
 *         once the origin is unmapped, the next mmap() starts a new origin.
 * index   page offset -> frame, a radix tree whose nodes are shared between
 *         indexes and copied on write (index.c). Each view has one, and a
 *         snapshot region has a frozen one (its base), which its first
 *         mapping's view starts from.
 * frame   One data page and the number of index leaf slots holding it.
 *         Pages nobody wrote are absent from every index and map the zero page.
 *
 * The invariant everything else serves: a PTE may be writable only when the
 * frame it maps is exclusive to the view that maps it (a single holder for
 * the frame and for every index node on its path). Any operation that makes
 * a frame shared (fork, a cross-process mmap, a snapshot, a rollback, a
 * merge) first takes the new reference, then zaps the PTEs of the views
 * that had it.
 *
 * Lock order
 * ----------
 *   mm->mmap_lock                  (fault, mmap, munmap, fork: parent, then
 *                                   child nested, both for write)
 *   cowmem_regions_lock            (mutex; open, release, debugfs walks, the
 *                                   census; never held with an mmap_lock)
 *     region->lock                 (mutex; two at once only in a lockset:
 *                                   the lower id first, which is also
 *                                   cowmem_regions' order; a snapshot
 *                                   holds its source's, and links the new
 *                                   snapshot region into it)
 *       view->lock                 (mutex; several at once only in a
 *                                   lockset, or a world freeze)
 *         mapping->i_mmap_rwsem    (unmap_mapping_range())
 *           page table lock        (zap_special_vma_range(),
 *                                   vmf_insert_pfn_prot(), and the reads
 *                                   of cowmem_read_pte())
 *   cowmem_inject_lock             (mutex; debugfs fail_* writers only, a leaf)
 *
 * Only one mm's mmap_lock is ever held at a time, except in fork, where the
 * kernel holds both. This is why a cross-process clone zaps the origin's PTEs
 * through the region's address_space rather than through the origin's mm.
 * The fault path allocates pages and index nodes (GFP_KERNEL) under
 * view->lock, and a merge its tables under its regions' locks, before any
 * view->lock (so that a caller queued on a busy region holds no memory):
 * reclaim never enters cowmem, whose pages are not on the LRU.
 * Index nodes need no lock of their own: a node is changed in place only by
 * the one view whose path holds it alone, under that view's lock; a shared
 * node is read-only, and its holders only take or drop references.
 * Several view->locks are held at once only in a lockset (lockset.c: one
 * or two regions, then the views of them an operation needs, all nested
 * under the first region's lock), or under cowmem_regions_lock with every
 * region->lock held: the census's world freeze, for root's debugfs only.
 * What an unprivileged caller locks is its lockset of the views it may
 * read (cowmem_view_may_read()): another process's faults never wait on
 * it.
 * cowmem_regions_lock is never taken under an mmap_lock.
 * A PTE gains write permission only under its view's view->lock (a fault,
 * pfn_mkwrite, the remap of a block after a reuse), never later through the
 * kernel's finish_mkwrite_fault(): a snapshot or a merge may share the frame
 * as soon as view->lock is released. cowmem takes it away only by a zap,
 * which also tells mmu notifiers and flushes the TLB: it changes PTEs
 * through vmf_insert_pfn_prot() and zap_special_vma_range() or
 * unmap_mapping_range() alone, and never edits a page table itself.
 * mprotect() cannot give a shared frame's PTE write permission back: it
 * does so only for dirty PTEs, and a read-only PTE cowmem inserts is clean,
 * while every operation that shares a frame zaps its PTEs first.
 *
 * References and lifetimes
 * ------------------------
 * region  Lives exactly as long as its struct file: created in open, freed in
 *         release. Every VMA pins the file (vma->vm_file), so no VMA and no
 *         view outlives the region. A snapshot's base index is filled under
 *         the new region's lock before its file descriptor exists, then only
 *         read (a rollback reads it holding the snapshot's file), and
 *         released at destroy under cowmem_regions_lock, so that a census
 *         never sees its references go.
 * view    kref, one reference per VMA (vma->vm_private_data). region->views
 *         and region->origin point at views without holding a reference: the
 *         last put unlinks the view from both under region->lock
 *         (kref_put_mutex(), so lookups under that lock never see a dying
 *         view), then frees its index.
 *         view->mm is mmgrab()bed (an identity; observers mmget() it to
 *         walk the view's PTEs) and view->cred held, both until the struct
 *         is freed, right after the last put. Nobody else holds a view:
 *         faults and ioctls reach it through a VMA, observers through
 *         region->views under region->lock, and by id afterwards.
 *         A snapshot region lives as long as its file. It sits in its
 *         source region's list of snapshots (under the source's lock)
 *         and points at it (snap->source, cleared under
 *         cowmem_regions_lock when the source goes, which is also where
 *         a snapshot leaves the list), so that a PAGE_INFO holding one
 *         region's lock finds the snapshots that share its frames.
 * node    refcount_t ref: one per index root or parent slot pointing at it.
 *         Whoever drops it to zero frees it and drops its children.
 * frame   refcount_t sharers: one per index leaf slot that holds it. Whoever
 *         drops it to zero frees the page and the frame. PTEs hold
 *         no reference (VM_PFNMAP): a frame leaves an index only after every
 *         PTE of that view mapping it has been zapped, and a view is freed
 *         only after its last VMA, and so its last PTE, is gone.
 *         How many views see a frame is not stored: the census counts it.
 */
#ifndef _COWMEM_H
#define _COWMEM_H

#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/refcount.h>
#include <linux/atomic.h>
#include <linux/sched.h>
#include <linux/xarray.h>

#include "index.h"
#include "stats.h"

enum cowmem_view_origin {
	COWMEM_VIEW_OPEN, /* the first mmap() of the region */
	COWMEM_VIEW_FORK, /* cloned from the parent's view at fork() */
	COWMEM_VIEW_MAPPING, /* cloned from the origin by another process's mmap() */
};

struct cowmem_region {
	struct address_space mapping; /* the file's f_mapping */
	struct list_head node; /* in cowmem_regions, protected by its lock */
	struct mutex lock;
	struct list_head views; /* protected by lock */
	struct cowmem_view *origin; /* protected by lock; no reference */
	pgoff_t nr_pages; /* protected by lock; fixed once non-zero */
	u64 id;
	const struct cred *cred; /* who opened it (or took the snapshot) */
	/* A snapshot's frozen contents: see "References and lifetimes". */
	struct cowmem_index base;
	bool is_snapshot;
	u64 source_region; /* a snapshot's: the region and view it was taken of */
	u64 source_view;
	/* protected by cowmem_regions_lock; NULL once the source is gone */
	struct cowmem_region *source;
	struct list_head snapshot_node; /* in source->snapshots */
	struct list_head snapshots; /* of its views; protected by lock */
};

struct cowmem_view {
	struct kref ref;
	struct cowmem_region *region;
	struct mm_struct *mm; /* mmgrab()bed; fixed */
	struct list_head node; /* in region->views, protected by region->lock */
	struct mutex lock;
	struct cowmem_index index; /* protected by lock */
	u64 region_id;
	atomic_t nr_vmas; /* VMAs of this view; change under mm->mmap_lock */
	enum cowmem_view_origin how;
	u64 id;
	u64 parent_id; /* view this one was cloned from, or 0 */
	const struct cred *cred; /* its process's when it was made */
	bool in_lockset; /* protected by region->lock; see lockset.c */
};

extern unsigned int cowmem_max_region_mb;
extern struct mutex cowmem_regions_lock;
extern struct list_head cowmem_regions; /* protected by cowmem_regions_lock */

/* census.c: who holds what, over every index at once */
struct cowmem_census {
	struct xarray nodes[COWMEM_INDEX_MAX_LEVELS]; /* node -> tally */
	struct xarray frames; /* frame -> tally */
	int err;
};

struct cowmem_census *cowmem_census_create(void);
void cowmem_census_destroy(struct cowmem_census *c);
void cowmem_census_add(struct cowmem_census *c, struct cowmem_index *index);
int cowmem_census_count(struct cowmem_census *c);
int cowmem_census_world(struct cowmem_census *c);
unsigned long cowmem_census_reach(void *tally);
unsigned long cowmem_census_holders(void *tally);
unsigned long cowmem_census_frame_reach(struct cowmem_census *c,
					struct cowmem_frame *frame);
void cowmem_world_freeze(void);
long cowmem_world_count_views(void);
void cowmem_world_thaw(void);

/* view.c: regions and views */
struct cowmem_region *cowmem_region_create(struct inode *inode);
void cowmem_region_destroy(struct cowmem_region *region);
struct cowmem_view *cowmem_region_attach(struct cowmem_region *region,
					 struct vm_area_struct *vma);
struct cowmem_view *cowmem_view_fork(struct cowmem_view *parent,
				     struct vm_area_struct *vma);
bool cowmem_cred_may_read(const struct cred *owner);
bool cowmem_view_may_read(struct cowmem_view *view);
void cowmem_view_get_vma(struct cowmem_view *view);
void cowmem_view_put_vma(struct cowmem_view *view);
unsigned long cowmem_view_zap_all(struct cowmem_view *view);
void cowmem_view_zap_index(struct cowmem_view *view, pgoff_t pgoff,
			   struct vm_area_struct *skip);
bool cowmem_vma_maps_view(struct vm_area_struct *vma, struct cowmem_view *view);
typedef void (*cowmem_pte_fn)(pgoff_t pgoff, unsigned long pfn, bool writable,
			      void *data);
void cowmem_vma_walk_ptes(struct vm_area_struct *vma, unsigned long start,
			  unsigned long end, cowmem_pte_fn fn, void *data);

/* ptes.c: how observers reach a view's PTEs, by id through its mm */
struct cowmem_view_ref {
	u64 id;
	struct mm_struct *mm; /* with an mm_users reference, or NULL */
};

typedef void (*cowmem_view_vma_fn)(struct vm_area_struct *vma,
				   struct cowmem_view *view, void *data);
void cowmem_view_ref_get(struct cowmem_view_ref *ref, struct cowmem_view *view);
void cowmem_view_ref_put(struct cowmem_view_ref *ref);
unsigned long cowmem_view_ref_walk(struct cowmem_view_ref *ref,
				   cowmem_view_vma_fn fn, void *data);

/* lockset.c: one or two regions and the views of them an operation needs */
struct cowmem_lockset {
	struct cowmem_region *regions[2]; /* the second may be NULL */
	bool (*want)(struct cowmem_view *view); /* NULL: every view */
};

int cowmem_lockset_lock(struct cowmem_lockset *set);
void cowmem_lockset_unlock(struct cowmem_lockset *set);
bool cowmem_lockset_has(struct cowmem_view *view);
void cowmem_lockset_assert(struct cowmem_view *view);

/* ioctl.c */
long cowmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
struct cowmem_view *cowmem_ioctl_view(struct file *file, unsigned long addr);

/* dev.c */
struct file *cowmem_file_open_snapshot(void);
bool cowmem_file_is_ours(struct file *file);

/* snapshot.c: snapshots and rollback */
long cowmem_ioctl_snapshot(struct file *file, void __user *uarg);
long cowmem_ioctl_rollback(struct file *file, void __user *uarg);
struct cowmem_view *cowmem_snapshot_source(struct cowmem_region *snapshot);

/* merge.c: same-page merging */
long cowmem_ioctl_merge(struct file *file, void __user *uarg);

/* inject.c: allocation-failure injection */
void cowmem_inject_init(struct dentry *root);

/* debugfs.c */
void cowmem_debugfs_init(void);
void cowmem_debugfs_check_init(struct dentry *root); /* check.c */
void cowmem_debugfs_exit(void);

/* fault.c: the VMA operations and the COW break */
extern const struct vm_operations_struct cowmem_vm_ops;

#endif /* _COWMEM_H */
