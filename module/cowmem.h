/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: copy-on-write memory done by a driver.
 *
 * Reading guide
 * -------------
 * The lesson is one story: a process maps /dev/cowmem, writes, forks, and
 * one of the two writes a shared page. Fifteen functions tell it:
 *
 *  1. mmap                 dev.c cowmem_fops_mmap() -> view.c
 *                          cowmem_region_attach(): the region's first view,
 *                          its origin, with an empty index.
 *  2. the first write      fault.c cowmem_vm_fault() -> cowmem_do_wp() ->
 *                          cowmem_wp_first_write(): a zeroed frame,
 *                          allocated holding no lock but view->lock for
 *                          read, and published (step 5) unless another
 *                          thread's fault on the page got there first.
 *  3. fork                 fault.c cowmem_vm_open() -> view.c
 *                          cowmem_view_clone(): the child's index shares
 *                          the parent's, one reference on its root
 *                          (index.c cowmem_index_share()), and
 *                          cowmem_clone_protect() takes write permission
 *                          from the parent's PTEs, in place where it can.
 *                          Fork copies them, read-only: reads after it
 *                          fault on nothing.
 *  4. a write after fork   fault.c cowmem_vm_mkwrite() -> cowmem_do_wp(),
 *                          which decides once (cowmem_wp_decide()): the
 *                          frame is shared, so cowmem_wp_copy(), the COW
 *                          break, copies it holding no block lock.
 *  5. the publish          cowmem_wp_publish() swaps the copy into the
 *                          index under view->publish; the index nodes on
 *                          its path that are still shared are copied first
 *                          (index.c cowmem_node_unshare()). Then
 *                          cowmem_retire() zaps the PTEs that map the old
 *                          frame before its reference goes.
 * The other writes find the frame the view's alone and write it in place,
 * no copy (a reuse); the last VMA's close frees the view and its index.
 *
 * Then the chapters, each a file, each calling only the story's files:
 *  - the page index:       index.c (a radix tree shared between indexes and
 *                          copied on write), frame.c (its pages)
 *  - fault-around:         fault_around.c (a block of PTEs per fault)
 *  - locking across views: lockset.c
 *  - snapshots, rollback:  snapshot.c
 *  - same-page merging:    merge.c
 *  - who holds what:       census.c, check.c (debugfs "check")
 *  - watching:             debugfs.c, ptes.c, page_info.c, trace.h
 *  - failure injection:    inject.c
 * Along the way the story uses a few helpers, each in a file of its own:
 * stats.h (per-CPU counters, each defined there), compat.h (one shim per
 * kernel API change), fault.h (what fault.c and fault_around.c share),
 * limits.c (what one user may make), inject.c (failures on purpose) and
 * trace.h (the tracepoints; a page's offset in its view is their pgoff
 * field).
 *
 * main.c puts the layers together; README's Layout has the layers. This
 * header holds the story's objects and functions; internal.h declares the
 * core's machinery (limits, the ioctl table, failure injection). The layers
 * above have headers of their own, which no core file includes
 * (scripts/layers): lockset.h and feature.h (the features: snapshot.c
 * embeds a region in its struct cowmem_snapshot and hands the core its
 * struct cowmem_region_ops), observe.h (the census and the observers).
 * From userspace, uapi/linux/cowmem.h is the ABI (the ioctls), and
 * tools/lib/cowmem_user.h is what the selftests and the tools share on top
 * of it and of debugfs.
 *
 * The invariant everything serves: a PTE may be writable only when the
 * frame it maps is exclusive to the view that maps it (a single holder for
 * the frame and for every index node on its path), and nothing else holds
 * its page unless the view owns it (cowmem_frame_writable(): a pipe or a
 * pin from while it was shared). Whatever makes a frame
 * shared (fork, another process's mmap, a snapshot, a rollback, a merge of
 * two pages) first takes the new reference, then takes write permission
 * from the PTEs of the views that had it: a clone write-protects them in
 * place where the kernel has the helpers for it (view.c), everything else
 * zaps them. A pin is the one exception: a census's, or a frame a
 * merge holds while it compares, shares frames for a moment without a
 * zap, and a COW break decided meanwhile zaps for it ("Pins" in fault.c).
 * cowmem changes PTEs through vmf_insert_page_mkwrite() (VM_MIXEDMAP) or
 * vmf_insert_pfn_prot() (VM_PFNMAP, before 7.1: compat.h),
 * zap_special_vma_range(), unmap_mapping_range() and
 * wp_shared_mapping_range() alone.
 *
 * Objects
 * -------
 * region  One per open of /dev/cowmem (file->private_data), and one per
 *         region a feature makes behind a file of its own on an anonymous
 *         inode (a snapshot: snapshot.c embeds the region in its struct
 *         and gives the core its struct cowmem_region_ops). Its size is
 *         fixed by the first mmap() (or by the feature). It
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
 *         indexes and copied on write (index.c). Each view has one; a
 *         feature's region may hold one more (a snapshot's frozen
 *         contents), which each of its origin views starts from
 *         (ops->new_origin).
 * frame   One data page and the number of index leaf slots holding it (and
 *         of merges holding it while they compare), and the era of the
 *         view that owns it, if one does (index.h: whose pins are the
 *         view's own, so that its writes reuse it).
 *         Pages nobody wrote are absent from every index and map the zero page.
 *
 * Lock order
 * ----------
 *   mm->mmap_lock              (one mm's; fork: the parent's, then the child's)
 *     region->lock
 *       view->lock             (a rwsem: each fault and a census's pin
 *                               for read; fork, snapshot, rollback, and a
 *                               lockset entering it, for write; the
 *                               view's zapped_blocks marks are cleared
 *                               and its era changed only under it for
 *                               write)
 *         block lock           (block.c: a fault's page's block, from its
 *                               lookup to its PTE, never across an
 *                               allocation or a copy; one at a time)
 *           view->publish      (a spinlock: a fault's swap into the index,
 *                               index->seq's writer; lookups take no lock)
 *           page table lock
 *         mapping->i_mmap_rwsem  (clones and merges, for read: zaps and
 *                                 write-protects through the region's
 *                                 address_space)
 *
 *   cowmem_regions_lock        (a leaf: held only to walk or change the
 *                               list, never while waiting for a region)
 *
 *   cowmem_inject_lock         (a leaf)
 *   cowmem_users_lock          (a leaf; a view made under region->lock
 *                               counts under it: limits.c)
 *
 * Two region->locks are held at once only by lockset.c (and by a
 * snapshot being taken, snapshot.c: its source, then itself, then the
 * view), in id
 * order (cowmem_regions' order), and never more than one view->lock: a
 * lockset enters its views one at a time, so lockdep sees and checks
 * every lock the module takes. Observers (debugfs, check.c) go one region
 * at a time (cowmem_region_next()) and never hold one region's locks
 * while waiting for another's.
 * An unprivileged holder of a lockset does at most COWMEM_HOLD_MAX_WORK
 * units of work before it drops it (cowmem_lockset_spend(); debugfs
 * max_hold_work counts it), and a region's destroy (its ops->destroy
 * first) takes each lock on its own, never one under another. The rules
 * for each lock sit with the code that relies on them.
 *
 * References and lifetimes
 * ------------------------
 * region  refcount_t ref: its struct file holds one from open to release
 *         (cowmem_region_destroy(), which takes it off cowmem_regions and
 *         uncharges it), each region on its derived list one (a
 *         snapshot's, until its own destroy), and a walker of
 *         cowmem_regions (cowmem_region_next()) one while it works on
 *         it; the last put frees it (the feature's whole struct: its ops
 *         gave the size). Every VMA pins the file (vma->vm_file), so no
 *         VMA and no view outlives the file. What a feature keeps in its
 *         region (a snapshot's frozen index, its place on its source's
 *         derived list) is the feature's to let go, in ops->destroy,
 *         which the core calls first at destroy, with no lock held
 *         (snapshot.c says how a snapshot does it).
 * view    kref, one reference per VMA (vma->vm_private_data). region->views
 *         and region->origin point at views without holding a reference: the
 *         last put unlinks the view from both under region->lock
 *         (kref_put_mutex(), so lookups under that lock never see a dying
 *         view), frees its index, and then the struct. view->mm is
 *         mmgrab()bed (an identity; observers mmget() it to walk the view's
 *         PTEs) and view->cred held, both until then. Nobody else holds a
 *         view: faults and ioctls reach it through a VMA, observers through
 *         region->views under region->lock, and by id afterwards (ptes.c).
 * node    refcount_t ref: one per index root or parent slot pointing at
 *         it, and one per census pin of a root (census.c, until the
 *         census is destroyed). Whoever drops it to zero drops its children and frees it an RCU
 *         grace period later: a fault's lookup takes no lock (index.c).
 * frame   refcount_t holders: one per index leaf slot that holds it, and
 *         one while a merge holds it to compare (merge.c). Whoever
 *         drops it to zero frees the frame and puts the page, which a
 *         pin, a pipe or a PTE (VM_MIXEDMAP: one reference each; none
 *         under VM_PFNMAP) may keep a while: a frame the index let go of is put
 *         only after every PTE of that view mapping it has been zapped
 *         and the zap flushed (cowmem_retire(), under the block lock,
 *         with the index's reference handed to the fault; a PTE already
 *         gone is zapped again while a flush of its mm is pending, since
 *         a zap through the region's mapping clears it without the view's
 *         locks and flushes later: cowmem_wp_zap()), and a view is freed only after
 *         its last VMA, and so its last PTE, is gone. A COW
 *         break copies with a reference on the page (get_page()), not on
 *         the frame, which another fault may replace meanwhile.
 *         "Exclusive" is decided from holders and the node counts on the
 *         frame's path, read with acquire, by a fault holding its block
 *         lock: only a fault of the same view and block could change the
 *         slot, and whatever shares a frame anew (fork, snapshot, merge)
 *         holds view->lock for write. A census pin is the exception: it
 *         takes view->lock for read and the publish lock, so a frame a
 *         fault found exclusive just before may stay mapped writable
 *         while it reads as shared; a COW break then zaps before it
 *         copies ("Pins" in fault.c). A lookup validates the path it
 *         walked with index->seq (index.c), and a publish refuses to
 *         replace a frame that became exclusive meanwhile (a thread may
 *         have written it in place since the copy).
 *         How many views see a frame is not stored: the census counts it.
 */
#ifndef _COWMEM_H
#define _COWMEM_H

#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/pgtable.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/atomic.h>
#include <linux/sched.h>
#include <linux/xarray.h>

#include "compat.h"
#include "index.h"
#include "stats.h"

/*
 * Whether @pfn is the zero page that a page nobody wrote maps: the
 * kernel's, or cowmem's own in a VM_MIXEDMAP mapping (frame.c).
 */
static inline bool cowmem_is_zero_pfn(unsigned long pfn)
{
	return is_zero_pfn(pfn) ||
	       (cowmem_zero_page && pfn == page_to_pfn(cowmem_zero_page));
}

/*
 * Whether something besides the index and PTEs holds @frame's page: a pipe
 * that vmsplice() filled, a pin for I/O, a GUP caller (the PTEs hold one
 * reference each where mappings are VM_MIXEDMAP, none where VM_PFNMAP).
 * @held is the page the caller holds a reference on itself, or NULL: the
 * kernel calls ->page_mkwrite holding one on the page it is given
 * (vmf->page). A reference taken or dropped at this moment (an insert, a
 * zap whose TLB flush is pending) reads as one more: a copy then, which
 * is never wrong.
 */
static inline bool cowmem_frame_referenced(struct cowmem_frame *frame,
					   struct page *held)
{
	struct folio *folio = page_folio(frame->page);
	/* VM_PFNMAP PTEs take no reference (and 6.1 exports no mapcount) */
	int mapped = COWMEM_PINNABLE ? folio_mapcount(folio) : 0;

	return folio_ref_count(folio) > 1 + mapped + (held == frame->page);
}

enum cowmem_view_how {
	COWMEM_VIEW_OPEN, /* the first mmap() of the region */
	COWMEM_VIEW_FORK, /* cloned from the parent's view at fork() */
	COWMEM_VIEW_PEER, /* cloned from the origin by another process's mmap() */
};

/* limits.c: what one user may make (its functions: internal.h) */
enum cowmem_limit {
	COWMEM_LIMIT_REGIONS,
	COWMEM_LIMIT_SNAPSHOTS,
	COWMEM_LIMIT_VIEWS,
	COWMEM_NR_LIMITS
};

struct cowmem_region;
struct cowmem_view;

/*
 * What a feature that makes regions of its own (snapshot.c) tells the
 * core about them; the core knows nothing of the feature's struct.
 */
struct cowmem_region_ops {
	size_t size; /* of the feature's struct, which embeds the region first */
	enum cowmem_limit limit; /* what one counts as, for its user */
	/* anon_inode name of its file: what /proc/PID/maps shows */
	const char *name;
	/* region->lock held: each new origin view (not yet published) */
	void (*new_origin)(struct cowmem_region *region,
			   struct cowmem_view *view);
	/*
	 * At destroy, before anything of the core's goes, no lock held;
	 * also for a region the feature never filled in (its file failed).
	 */
	void (*destroy)(struct cowmem_region *region);
};

struct cowmem_region {
	struct address_space mapping; /* the file's f_mapping */
	refcount_t ref; /* its file's, its derived regions', a walker's */
	struct list_head link; /* in cowmem_regions, protected by its lock */
	struct mutex lock;
	struct list_head views; /* protected by lock */
	struct cowmem_view *origin; /* protected by lock; no reference */
	pgoff_t nr_pages; /* protected by lock; fixed once non-zero */
	/* VMAs of all its views: what zapping one page walks (merge.c) */
	atomic_t nr_vmas;
	/*
	 * Pins in effect on its views' frames: sharers that took their
	 * reference without zapping the PTEs (a census's pins, a merge's held
	 * frames). See "Pins" in fault.c for what a COW break does about them.
	 */
	atomic_t pins;
	u64 id;
	const struct cred *cred; /* who opened it (or took the snapshot) */
	enum cowmem_limit charged; /* what it counts as, for cred's user */
	/* the feature's that made it, or NULL (an open); fixed */
	const struct cowmem_region_ops *ops;
	/*
	 * Regions made of its views that share their frames: only
	 * snapshot.c's snapshots, linked through a field of their own; a
	 * census counts them with it. protected by lock; each entry holds a
	 * reference on the region, so it is empty when the region is freed.
	 */
	struct list_head derived;
};

struct cowmem_view {
	struct kref ref;
	struct cowmem_region *region;
	struct mm_struct *mm; /* mmgrab()bed; fixed */
	struct list_head link; /* in region->views, protected by region->lock */
	/*
	 * Read by each fault, written by what changes what the view shares
	 * (fork, a snapshot, a rollback, a merge) or reads it whole
	 * (observers): see "Lock order".
	 */
	struct rw_semaphore lock;
	/* a fault's change to the index: held for the swap alone (fault.c) */
	spinlock_t publish;
	/* changed under lock for write, or under lock for read and publish */
	struct cowmem_index index;
	atomic_t pin_gen; /* bumped under publish as a census pins it */
	u64 region_id;
	atomic_t nr_vmas; /* VMAs of this view; change under mm->mmap_lock */
	enum cowmem_view_how how;
	u64 id;
	/*
	 * Its era of sole ownership, unique since load (cowmem_frame_owned()):
	 * a new one each time something shares the view's frames at once
	 * (a clone of it, a snapshot, a rollback). Changed under lock for
	 * write, read under it for read.
	 */
	u64 era;
	u64 parent_id; /* view this one was cloned from, or 0 */
	const struct cred *cred; /* its process's when it was made */
	/*
	 * Blocks whose PTEs a write zapped at once (fault_around.c): set
	 * under the block's lock, cleared under lock for write. A hint only.
	 */
	unsigned long zapped_blocks[];
};

extern unsigned int cowmem_max_region_mb;
extern struct mutex cowmem_regions_lock;
extern struct list_head cowmem_regions; /* protected by cowmem_regions_lock */

/* view.c: regions and views */
struct cowmem_region *cowmem_region_create(struct inode *inode,
					   const struct cowmem_region_ops *ops);
void cowmem_region_destroy(struct cowmem_region *region);
void cowmem_region_put(struct cowmem_region *region);
struct cowmem_region *cowmem_region_next(u64 id);
struct cowmem_view *cowmem_region_attach(struct cowmem_region *region,
					 struct vm_area_struct *vma);
struct cowmem_view *cowmem_view_fork(struct cowmem_view *parent,
				     struct vm_area_struct *vma);
bool cowmem_cred_may_read(const struct cred *owner);
bool cowmem_view_may_read(struct cowmem_view *view);
void cowmem_region_pins_begin(struct cowmem_region *region);
void cowmem_region_pins_end(struct cowmem_region *region);
void cowmem_view_pin(struct cowmem_view *view, struct cowmem_index *pin);
void cowmem_view_get_vma(struct cowmem_view *view);
void cowmem_view_put_vma(struct cowmem_view *view);
unsigned long cowmem_view_zap_all(struct cowmem_view *view);
void cowmem_view_new_era(struct cowmem_view *view);
void cowmem_view_zap_page(struct cowmem_view *view, pgoff_t pgoff,
			  struct vm_area_struct *skip);
struct vm_area_struct *cowmem_file_vma(struct file *file, unsigned long addr,
				       unsigned long end);
struct cowmem_view *cowmem_file_view(struct file *file, unsigned long addr);
typedef void (*cowmem_pte_fn)(pgoff_t pgoff, unsigned long pfn, bool writable,
			      void *data);
void cowmem_vma_walk_ptes(struct vm_area_struct *vma, unsigned long start,
			  unsigned long end, cowmem_pte_fn fn, void *data);

/* fault.c: the VMA operations and the COW break */
extern const struct vm_operations_struct cowmem_vm_ops;
void cowmem_blocks_init(void); /* block.c: the fault path's block locks */

/* inject.c: where a test holds a COW break, between its copy and publish */
void cowmem_inject_hold_copy(void);

#endif /* _COWMEM_H */
