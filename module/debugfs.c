// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the debugfs tree, /sys/kernel/debug/cowmem/ (root only).
 *
 *   stats            counters, one "name: value" per line
 *   tree             every region's views as a fork tree
 *   check            verifies the invariants; "ok" or one line per violation
 *   views/<id>/info  one view: owner, origin, page counts
 *   views/<id>/pages one line per page the view holds or maps the zero page at
 *
 * Readers follow the lock order of cowmem.h: what needs a view's PTEs is
 * read first under its mm's mmap_lock and the view's lock; what needs
 * several views is read under cowmem_regions_lock with the region frozen.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "cowmem.h"

static struct dentry *cowmem_debugfs_root;
static struct dentry *cowmem_debugfs_views;

static const char *const cowmem_view_how[] = {
	[COWMEM_VIEW_OPEN] = "open",
	[COWMEM_VIEW_FORK] = "fork",
	[COWMEM_VIEW_MAPPING] = "mapping",
};

/* Prints each snapshot's changed pages and their sum. Called frozen. */
static void cowmem_stats_snapshots(struct seq_file *m)
{
	struct cowmem_region *region;
	struct cowmem_view *source;
	unsigned long changed, sum = 0;

	list_for_each_entry(region, &cowmem_regions, node) {
		if (!region->is_snapshot)
			continue;
		source = cowmem_snapshot_source(region);
		changed = source ? cowmem_index_diff(&region->base,
						     &source->index) :
				   0;
		sum += changed;
		seq_printf(m, "snapshot.%llu.changed_pages: %lu\n", region->id,
			   changed);
	}
	seq_printf(m, "changed_pages: %lu\n", sum);
}

/*
 * What sharing saves needs the census: pages held by two or more views or
 * snapshots, and the copies that would exist without sharing.
 */
static void cowmem_stats_sharing(struct seq_file *m)
{
	unsigned long key, reach, shared = 0, saved = 0;
	struct cowmem_census *c = cowmem_census_create();
	void *tally;

	cowmem_world_freeze();
	if (c && !cowmem_census_world(c)) {
		xa_for_each(&c->frames, key, tally) {
			reach = cowmem_census_reach(tally);
			shared += reach > 1;
			saved += reach - 1;
		}
		seq_printf(m, "shared_pages: %lu\n", shared);
		seq_printf(m, "bytes_saved: %lu\n", saved * PAGE_SIZE);
	}
	cowmem_stats_snapshots(m);
	cowmem_world_thaw();
	cowmem_census_destroy(c);
}

static int cowmem_stats_show(struct seq_file *m, void *unused)
{
	struct cowmem_stats s;

	cowmem_stats_sum(&s);
	seq_printf(m, "regions: %ld\n", s.regions);
	seq_printf(m, "views: %ld\n", s.views);
	seq_printf(m, "snapshots: %ld\n", s.snapshots);
	seq_printf(m, "pages: %ld\n", s.pages);
	seq_printf(m, "nodes: %ld\n", s.nodes);
	seq_printf(m, "faults: %lu\n", s.faults);
	seq_printf(m, "cow_breaks: %lu\n", s.cow_breaks);
	seq_printf(m, "reuses: %lu\n", s.reuses);
	seq_printf(m, "zero_maps: %lu\n", s.zero_maps);
	seq_printf(m, "first_writes: %lu\n", s.first_writes);
	seq_printf(m, "forks: %lu\n", s.forks);
	seq_printf(m, "injected_failures: %lu\n", s.injected_failures);
	seq_printf(m, "page_allocs: %lu\n", s.page_allocs);
	seq_printf(m, "clone_zaps: %lu\n", s.clone_zaps);
	seq_printf(m, "node_copies: %lu\n", s.node_copies);
	seq_printf(m, "rollbacks: %lu\n", s.rollbacks);
	seq_printf(m, "merged_pages: %lu\n", s.merged_pages);
	seq_printf(m, "merged_zero: %lu\n", s.merged_zero);
	seq_printf(m, "frame_bytes: %u\n", cowmem_frame_bytes());
	seq_printf(m, "node_bytes: %u\n", cowmem_node_bytes());
	cowmem_stats_sharing(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cowmem_stats);

/*
 * Freezes the region @view belongs to if the view is still alive: returns
 * it with its lockset held, or NULL. A dead view's region may be gone: it
 * is looked up by id. Called with cowmem_regions_lock held.
 */
static struct cowmem_region *
cowmem_debugfs_freeze_view(struct cowmem_view *view)
{
	struct cowmem_lockset set = {};
	struct cowmem_region *region;
	struct cowmem_view *v;

	lockdep_assert_held(&cowmem_regions_lock);
	list_for_each_entry(region, &cowmem_regions, node) {
		if (region->id != view->region_id)
			continue;
		set.regions[0] = region;
		if (cowmem_lockset_lock(&set))
			return NULL;
		list_for_each_entry(v, &region->views, node)
			if (v == view)
				return region;
		cowmem_lockset_unlock(&set);
		return NULL;
	}
	return NULL;
}

static void cowmem_debugfs_thaw(struct cowmem_region *region)
{
	struct cowmem_lockset set = { .regions = { region } };

	cowmem_lockset_unlock(&set);
}

/*
 * The process behind @mm, a live view's: the task the mm names as its
 * owner where the kernel keeps one (CONFIG_MEMCG), else the first thread
 * group found using it. A fork child that never faulted is found too: the
 * view is made before the child runs, but its mm knows the child.
 */
struct cowmem_owner {
	pid_t pid; /* 0 when none was found */
	char comm[TASK_COMM_LEN];
};

static void cowmem_debugfs_owner(struct mm_struct *mm,
				 struct cowmem_owner *owner)
{
	struct task_struct *task, *found = NULL;

	*owner = (struct cowmem_owner){};
	rcu_read_lock();
#ifdef CONFIG_MEMCG
	found = rcu_dereference(mm->owner);
#endif
	if (!found) {
		for_each_process(task) {
			if (READ_ONCE(task->mm) == mm) {
				found = task;
				break;
			}
		}
	}
	if (found) {
		owner->pid = task_tgid_nr(found);
		get_task_comm(owner->comm, found);
	}
	rcu_read_unlock();
}

static void cowmem_view_count_one(pgoff_t pgoff, struct cowmem_frame *frame,
				  bool exclusive, void *data)
{
	unsigned long *shared = data;

	*shared += !exclusive;
}

/* Called with the view's region frozen. */
static void cowmem_view_count(struct cowmem_view *view, unsigned long *present,
			      unsigned long *shared)
{
	*present = view->index.present;
	*shared = 0;
	cowmem_index_walk(&view->index, cowmem_view_count_one, shared);
}

/*
 * The snapshots taken of @view, and what @view is a snapshot of.
 * Called with @view's region frozen; the snapshots' frozen indexes need
 * no lock.
 */
static void cowmem_view_info_snapshots(struct seq_file *m,
				       struct cowmem_view *view)
{
	struct cowmem_region *snap;

	if (view->region->is_snapshot)
		seq_printf(m, "snapshot_of_view: %llu\n",
			   view->region->source_view);
	list_for_each_entry(snap, &view->region->snapshots, snapshot_node) {
		if (snap->source_view != view->id)
			continue;
		seq_printf(m, "snapshot.%llu.changed_pages: %lu\n", snap->id,
			   cowmem_index_diff(&snap->base, &view->index));
	}
}

/* Called with cowmem_regions_lock held and @region frozen. */
static void cowmem_view_info_live(struct seq_file *m, struct cowmem_view *view,
				  struct cowmem_region *region)
{
	unsigned long present, shared;
	struct cowmem_owner owner;

	cowmem_view_count(view, &present, &shared);
	cowmem_debugfs_owner(view->mm, &owner);
	seq_printf(m, "pid: %d\ncomm: %s\nhow: %s\nparent: %llu\n", owner.pid,
		   owner.comm, cowmem_view_how[view->how], view->parent_id);
	seq_printf(m, "size_pages: %lu\npresent: %lu\n", region->nr_pages,
		   present);
	seq_printf(m, "shared: %lu\nexclusive: %lu\n", shared,
		   present - shared);
	cowmem_view_info_snapshots(m, view);
	seq_puts(m, "state: live\n");
}

static int cowmem_view_info_show(struct seq_file *m, void *unused)
{
	struct cowmem_view *view = m->private;
	struct cowmem_region *region;

	seq_printf(m, "view: %llu\nregion: %llu\n", view->id, view->region_id);
	mutex_lock(&cowmem_regions_lock);
	region = cowmem_debugfs_freeze_view(view);
	if (region) {
		cowmem_view_info_live(m, view, region);
		cowmem_debugfs_thaw(region);
	} else {
		seq_puts(m, "state: dead\n");
	}
	mutex_unlock(&cowmem_regions_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cowmem_view_info);

/*
 * Pins the mm of a live @view: returns it with a mm_users reference and the
 * size of its region in *@nr_pages, or NULL when the view or its mm is gone.
 */
static struct mm_struct *cowmem_debugfs_view_mm(struct cowmem_view *view,
						pgoff_t *nr_pages)
{
	struct cowmem_region *region;
	struct mm_struct *mm = NULL;

	mutex_lock(&cowmem_regions_lock);
	region = cowmem_debugfs_freeze_view(view);
	if (region) {
		if (mmget_not_zero(view->mm))
			mm = view->mm;
		*nr_pages = region->nr_pages;
		cowmem_debugfs_thaw(region);
	}
	mutex_unlock(&cowmem_regions_lock);
	return mm;
}

static void cowmem_note_zero_pte(pgoff_t pgoff, unsigned long pfn,
				 bool writable, void *data)
{
	unsigned long *zero = data;

	if (is_zero_pfn(pfn))
		__set_bit(pgoff, zero);
}

/*
 * Marks in @zero the pages of @view whose PTE maps the zero page, in any of
 * its VMAs. Takes @mm's mmap_lock, then the view's lock.
 */
static void cowmem_debugfs_zero_ptes(struct cowmem_view *view,
				     struct mm_struct *mm, unsigned long *zero,
				     pgoff_t nr_pages)
{
	VMA_ITERATOR(vmi, mm, 0);
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	mutex_lock(&view->lock);
	if (view->mm != mm)
		goto unlock;
	for_each_vma(vmi, vma) {
		if (!cowmem_vma_maps_view(vma, view) ||
		    vma->vm_pgoff + vma_pages(vma) > nr_pages)
			continue;
		cowmem_vma_walk_ptes(vma, vma->vm_start, vma->vm_end,
				     cowmem_note_zero_pte, zero);
	}
unlock:
	mutex_unlock(&view->lock);
	mmap_read_unlock(mm);
}

/* Called frozen, with @c counted. */
static void cowmem_page_line(struct seq_file *m, struct cowmem_view *view,
			     pgoff_t pgoff, struct cowmem_census *c)
{
	struct cowmem_frame *frame;
	struct cowmem_view *other;
	bool exclusive, any = false;

	frame = cowmem_index_lookup(&view->index, pgoff, &exclusive);
	if (!frame) {
		seq_printf(m, "%8lu %10s %8u %10s  %-9s -\n", pgoff, "zero", 0,
			   "-", "zero");
		return;
	}
	seq_printf(m, "%8lu %#10lx %8lu %10d  %-9s", pgoff,
		   page_to_pfn(frame->page),
		   cowmem_census_frame_reach(c, frame), page_count(frame->page),
		   exclusive ? "exclusive" : "shared");
	list_for_each_entry(other, &view->region->views, node) {
		if (other == view ||
		    cowmem_index_lookup(&other->index, pgoff, NULL) != frame)
			continue;
		seq_printf(m, "%s%llu", any ? "," : " ", other->id);
		any = true;
	}
	seq_puts(m, any ? "\n" : " -\n");
}

/* The lines of "pages", counted by the empty census @c. Called frozen. */
static void cowmem_view_pages_lines(struct seq_file *m,
				    struct cowmem_view *view,
				    unsigned long *zero, pgoff_t nr_pages,
				    struct cowmem_census *c)
{
	pgoff_t pgoff;

	if (cowmem_census_world(c)) {
		seq_puts(m, "out of memory\n");
		return;
	}
	for (pgoff = 0; pgoff < nr_pages; pgoff++) {
		if (cowmem_index_lookup(&view->index, pgoff, NULL) ||
		    (zero && test_bit(pgoff, zero)))
			cowmem_page_line(m, view, pgoff, c);
	}
}

static int cowmem_view_pages_show(struct seq_file *m, void *unused)
{
	struct cowmem_view *view = m->private;
	struct cowmem_census *c;
	unsigned long *zero;
	struct mm_struct *mm;
	pgoff_t nr_pages;

	seq_printf(m, "%8s %10s %8s %10s  %-9s %s\n", "index", "pfn",
		   "refcount", "page_count", "state", "shared_with");
	mm = cowmem_debugfs_view_mm(view, &nr_pages);
	if (!mm)
		return 0;
	zero = bitmap_zalloc(nr_pages, GFP_KERNEL);
	if (zero)
		cowmem_debugfs_zero_ptes(view, mm, zero, nr_pages);
	mmput(mm);
	c = cowmem_census_create();
	if (c && cowmem_world_freeze_live(view)) {
		cowmem_view_pages_lines(m, view, zero, nr_pages, c);
		cowmem_world_thaw();
	}
	cowmem_census_destroy(c);
	bitmap_free(zero);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cowmem_view_pages);

/* One view of the tree, indented by @depth. Called with its region frozen. */
static void cowmem_tree_line(struct seq_file *m, struct cowmem_view *view,
			     int depth)
{
	unsigned long present, shared;
	struct cowmem_owner owner;

	cowmem_view_count(view, &present, &shared);
	cowmem_debugfs_owner(view->mm, &owner);
	seq_printf(m, "%*sview %llu pid %d %s [%s]", 2 * depth, "", view->id,
		   owner.pid, owner.comm, cowmem_view_how[view->how]);
	seq_printf(m, " shared %lu exclusive %lu\n", shared, present - shared);
}

/* Prints @parent's children in @region, then theirs, indented by depth. */
static void cowmem_tree_children(struct seq_file *m,
				 struct cowmem_region *region, u64 parent,
				 int depth)
{
	struct cowmem_view *view;

	list_for_each_entry(view, &region->views, node) {
		if (view->parent_id != parent)
			continue;
		cowmem_tree_line(m, view, depth);
		if (depth < 64)
			cowmem_tree_children(m, region, view->id, depth + 1);
	}
}

/* A view whose parent is gone heads a tree of its own. */
static bool cowmem_tree_is_root(struct cowmem_region *region,
				struct cowmem_view *view)
{
	struct cowmem_view *other;

	list_for_each_entry(other, &region->views, node)
		if (other->id == view->parent_id)
			return false;
	return true;
}

static int cowmem_tree_show(struct seq_file *m, void *unused)
{
	struct cowmem_lockset set = {};
	struct cowmem_region *region;
	struct cowmem_view *view;

	mutex_lock(&cowmem_regions_lock);
	list_for_each_entry(region, &cowmem_regions, node) {
		set.regions[0] = region;
		if (cowmem_lockset_lock(&set))
			break;
		seq_printf(m, "region %llu (%lu pages)\n", region->id,
			   region->nr_pages);
		list_for_each_entry(view, &region->views, node) {
			if (!cowmem_tree_is_root(region, view))
				continue;
			cowmem_tree_line(m, view, 1);
			cowmem_tree_children(m, region, view->id, 2);
		}
		cowmem_lockset_unlock(&set);
	}
	mutex_unlock(&cowmem_regions_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cowmem_tree);

void cowmem_debugfs_init(void)
{
	cowmem_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	cowmem_debugfs_views = debugfs_create_dir("views", cowmem_debugfs_root);
	debugfs_create_file("stats", 0400, cowmem_debugfs_root, NULL,
			    &cowmem_stats_fops);
	debugfs_create_file("tree", 0400, cowmem_debugfs_root, NULL,
			    &cowmem_tree_fops);
	cowmem_debugfs_check_init(cowmem_debugfs_root);
	cowmem_inject_init(cowmem_debugfs_root);
}

void cowmem_debugfs_exit(void)
{
	debugfs_remove(cowmem_debugfs_root);
}

/* Runs on cowmem_wq: never under an mmap_lock (see cowmem.h). */
void cowmem_debugfs_view_publish(struct work_struct *work)
{
	struct cowmem_view *view =
		container_of(work, struct cowmem_view, publish_work);
	char name[24];

	snprintf(name, sizeof(name), "%llu", view->id);
	view->debugfs = debugfs_create_dir(name, cowmem_debugfs_views);
	debugfs_create_file("info", 0400, view->debugfs, view,
			    &cowmem_view_info_fops);
	debugfs_create_file("pages", 0400, view->debugfs, view,
			    &cowmem_view_pages_fops);
}

/*
 * Runs on cowmem_wq, after the view's publish work. Removing the directory
 * waits for its readers; only then may the struct go.
 */
void cowmem_debugfs_view_retire(struct work_struct *work)
{
	struct cowmem_view *view =
		container_of(work, struct cowmem_view, retire_work);

	debugfs_remove(view->debugfs);
	cowmem_view_unpin(view);
}
