// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the debugfs tree, /sys/kernel/debug/cowmem/ (root only).
 *
 *   stats   counters, one "name: value" per line: no lock, no walk
 *   snapshots   each snapshot's changed pages, and their sum
 *   tree    every region's views as a fork tree
 *   views   one line per live view: owner, origin, page counts
 *   pages   one line per page each view holds or maps the zero page at;
 *           write a view id to the open file to read that view's alone
 *   check   verifies the invariants; "ok" or one line per violation (check.c)
 *   fail_nth, fail_every   arm allocation-failure injection (inject.c)
 *   hold_copy   holds the next COW break after its copy (inject.c)
 *   hold_census holds the next census once it has pinned (inject.c)
 *
 * The files are made once, at load: a view is named by its id, and found
 * again in its region's list each time a file is read. Readers follow the
 * lock order of cowmem.h: what needs a view's PTEs is read under its mm's
 * mmap_lock and the view's lock (ptes.c); what needs several views, under
 * their region's lockset, entering one view at a time. A reader goes one
 * region at a time
 * (cowmem_region_next()) and never holds one region's locks while waiting
 * for another's: a file is a moment's view of each region in turn, not of
 * the module, and no reader stops the faults of a region it is not at.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "observe.h"

static struct dentry *cowmem_debugfs_root;

static const char *const cowmem_view_how[] = {
	[COWMEM_VIEW_OPEN] = "open",
	[COWMEM_VIEW_FORK] = "fork",
	[COWMEM_VIEW_PEER] = "peer",
};

static int cowmem_stats_show(struct seq_file *m, void *unused)
{
	struct cowmem_stats s;

	cowmem_stats_sum(&s);
	seq_printf(m, "regions: %ld\n", s.regions);
	seq_printf(m, "views: %ld\n", s.views);
	seq_printf(m, "snapshots: %ld\n", s.snapshots);
	seq_printf(m, "pages: %ld\n", s.pages);
	seq_printf(m, "held_pages: %ld\n", s.held_pages);
	/* Each page held beyond its frame is a copy sharing saved. */
	seq_printf(m, "bytes_saved: %ld\n",
		   max(s.held_pages - s.pages, 0L) * (long)PAGE_SIZE);
	seq_printf(m, "nodes: %ld\n", s.nodes);
	seq_printf(m, "faults: %lu\n", s.faults);
	seq_printf(m, "cow_breaks: %lu\n", s.cow_breaks);
	seq_printf(m, "reuses: %lu\n", s.reuses);
	seq_printf(m, "zero_maps: %lu\n", s.zero_maps);
	seq_printf(m, "first_writes: %lu\n", s.first_writes);
	seq_printf(m, "forks: %lu\n", s.forks);
	seq_printf(m, "pinned_copies: %lu\n", s.pinned_copies);
	seq_printf(m, "injected_failures: %lu\n", s.injected_failures);
	seq_printf(m, "page_allocs: %lu\n", s.page_allocs);
	seq_printf(m, "share_zaps: %lu\n", s.share_zaps);
	seq_printf(m, "clone_wrprotects: %lu\n", s.clone_wrprotects);
	seq_printf(m, "node_copies: %lu\n", s.node_copies);
	seq_printf(m, "rollbacks: %lu\n", s.rollbacks);
	seq_printf(m, "merged_pages: %lu\n", s.merged_pages);
	seq_printf(m, "merged_zero: %lu\n", s.merged_zero);
	seq_printf(m, "max_hold_work: %lu\n", cowmem_lockset_max_work());
	seq_printf(m, "frame_bytes: %u\n", cowmem_frame_bytes());
	seq_printf(m, "node_bytes: %u\n", cowmem_node_bytes());
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cowmem_stats);

/* @region's view @id, or NULL. Called with @region's lock held. */
static struct cowmem_view *
cowmem_debugfs_find_view(struct cowmem_region *region, u64 id)
{
	struct cowmem_view *view;

	lockdep_assert_held(&region->lock);
	list_for_each_entry(view, &region->views, link)
		if (view->id == id)
			return view;
	return NULL;
}

/*
 * The lines of the snapshots taken of @region's views: the pages each one
 * and its view differ by (0 once the view is gone), added to *@sum. Holds
 * @region's lock, so that the snapshots stay on its list and their frozen
 * indexes stay (view.c releases one only once it is off the list), and
 * each view's lock in turn while its index is compared.
 */
static int cowmem_snapshots_region(struct seq_file *m,
				   struct cowmem_region *region,
				   unsigned long *sum)
{
	struct cowmem_snapshot *snap;
	struct cowmem_view *view;
	unsigned long changed;

	if (mutex_lock_killable(&region->lock))
		return -EINTR;
	cowmem_for_each_snapshot(snap, region) {
		view = cowmem_debugfs_find_view(region, snap->source_view);
		changed = 0;
		if (view) {
			down_write(&view->lock);
			changed = cowmem_index_diff(&snap->base, &view->index);
			up_write(&view->lock);
		}
		*sum += changed;
		seq_printf(m, "snapshot.%llu.changed_pages: %lu\n",
			   snap->region.id, changed);
	}
	mutex_unlock(&region->lock);
	return 0;
}

/*
 * "snapshots": each live snapshot's changed pages, and their sum. A diff
 * costs what the two indexes differ by, times the snapshots: it is read
 * here, one source region at a time, and never by "stats", which cowstat
 * polls.
 */
static int cowmem_snapshots_show(struct seq_file *m, void *unused)
{
	struct cowmem_region *region;
	unsigned long sum = 0;
	u64 id = 0;
	int err = 0;

	while (!err && (region = cowmem_region_next(id))) {
		id = region->id;
		err = cowmem_snapshots_region(m, region, &sum);
		cowmem_region_put(region);
	}
	if (!err)
		seq_printf(m, "changed_pages: %lu\n", sum);
	return err;
}
DEFINE_SHOW_ATTRIBUTE(cowmem_snapshots);

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

/* Called with @view entered in a lockset. */
static void cowmem_view_count(struct cowmem_view *view, unsigned long *present,
			      unsigned long *shared)
{
	cowmem_lockset_assert(view);
	*present = view->index.present;
	*shared = 0;
	cowmem_index_walk(&view->index, cowmem_view_count_one, shared);
}

/* One line of "views". Called with @view entered in a lockset. */
static void cowmem_views_line(struct seq_file *m, struct cowmem_view *view)
{
	unsigned long present, shared;
	struct cowmem_owner owner;

	cowmem_view_count(view, &present, &shared);
	cowmem_debugfs_owner(view->mm, &owner);
	seq_printf(m, "%6llu %6llu %7d %-7s %6llu %8lu %8lu %8lu %9lu %s\n",
		   view->id, view->region_id, owner.pid,
		   cowmem_view_how[view->how], view->parent_id,
		   view->region->nr_pages, present, shared, present - shared,
		   owner.comm);
}

/*
 * "views": one line per live view. Each region's views are printed under
 * that region's lockset, one region at a time and each view entered in
 * turn, as kfence prints each object under its own lock: the file is a
 * moment's view of each view, not of the module.
 */
static int cowmem_views_show(struct seq_file *m, void *unused)
{
	struct cowmem_lockset set = {};
	struct cowmem_region *region;
	struct cowmem_view *view;
	u64 id = 0;
	int err;

	seq_printf(m, "%6s %6s %7s %-7s %6s %8s %8s %8s %9s %s\n", "view",
		   "region", "pid", "how", "parent", "size", "present",
		   "shared", "exclusive", "comm");
	/* One region at a time, holding only its locks (cowmem_region_next()). */
	while ((region = cowmem_region_next(id))) {
		id = region->id;
		set.regions[0] = region;
		err = cowmem_lockset_lock(&set);
		if (!err) {
			list_for_each_entry(view, &region->views, link) {
				err = cowmem_lockset_enter(&set, view);
				if (err)
					break;
				cowmem_views_line(m, view);
			}
			cowmem_lockset_unlock(&set);
		}
		cowmem_region_put(region);
		if (err)
			break;
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cowmem_views);

/* What "pages" prints of one view: noted, then walked, then printed. */
struct cowmem_pages_view {
	struct cowmem_view_ref ref;
	unsigned long *zero; /* pages whose PTE maps the zero page */
};

struct cowmem_pages {
	u64 only; /* the view id written to the file; 0: every view */
	struct cowmem_pages_view *views; /* of the region being printed */
	long nr;
	pgoff_t nr_pages; /* the region's */
};

/*
 * Notes the views of @region to print, in list order (id order). Returns
 * 0 or -ENOMEM. Called with @region's lock held.
 */
static int cowmem_pages_note(struct cowmem_pages *p,
			     struct cowmem_region *region)
{
	struct cowmem_view *view;
	long max = 0;

	lockdep_assert_held(&region->lock);
	list_for_each_entry(view, &region->views, link)
		max++;
	p->nr = 0;
	p->nr_pages = region->nr_pages;
	p->views = kvcalloc(max ?: 1, sizeof(*p->views), GFP_KERNEL);
	if (!p->views)
		return -ENOMEM;
	list_for_each_entry(view, &region->views, link)
		if (!p->only || view->id == p->only)
			cowmem_view_ref_get(&p->views[p->nr++].ref, view);
	return 0;
}

static void cowmem_note_zero_pte(pgoff_t pgoff, unsigned long pfn,
				 bool writable, void *data)
{
	struct cowmem_pages *p = data;

	if (cowmem_is_zero_pfn(pfn) && pgoff < p->nr_pages)
		__set_bit(pgoff, p->views[p->nr].zero);
}

/* Called with the mm's mmap_lock and the view's lock held. */
static void cowmem_pages_zero_vma(struct vm_area_struct *vma,
				  struct cowmem_view *view, void *data)
{
	cowmem_vma_walk_ptes(vma, vma->vm_start, vma->vm_end,
			     cowmem_note_zero_pte, data);
}

/*
 * Which pages of each noted view map the zero page: its PTEs, read under
 * its mm's mmap_lock, which comes before the region's lock (ptes.c).
 * p->nr says which view the walk is at while it runs.
 */
static void cowmem_pages_zero(struct cowmem_pages *p)
{
	long nr = p->nr;

	for (p->nr = 0; p->nr < nr; p->nr++) {
		p->views[p->nr].zero = bitmap_zalloc(p->nr_pages, GFP_KERNEL);
		if (p->views[p->nr].zero)
			cowmem_view_ref_walk(&p->views[p->nr].ref,
					     cowmem_pages_zero_vma, p);
		cowmem_view_ref_put(&p->views[p->nr].ref);
	}
}

static void cowmem_pages_free(struct cowmem_pages *p)
{
	long i;

	for (i = 0; i < p->nr; i++)
		bitmap_free(p->views[i].zero);
	kvfree(p->views);
	p->views = NULL;
	p->nr = 0;
}

/*
 * One line of "pages". Called with @view entered in a lockset, @c counted.
 * The other views of the region are looked up without their locks, which
 * a lookup needs none of: their frames are compared with @view's, never
 * read.
 */
static void cowmem_page_line(struct seq_file *m, struct cowmem_view *view,
			     pgoff_t pgoff, struct cowmem_census *c)
{
	struct cowmem_frame *frame;
	struct cowmem_view *other;
	unsigned long reach;
	bool any = false;

	frame = cowmem_index_lookup(&view->index, pgoff, NULL);
	if (!frame) {
		seq_printf(m, "%8lu %10s %8u %10s  %-9s -\n", pgoff, "zero", 0,
			   "-", "zero");
		return;
	}
	/* From the census: its pins share every page while it is held. */
	reach = cowmem_census_frame_reach(c, frame);
	seq_printf(m, "%8lu %#10lx %8lu %10d  %-9s", pgoff,
		   page_to_pfn(frame->page), reach, page_count(frame->page),
		   reach > 1 ? "shared" : "exclusive");
	list_for_each_entry(other, &view->region->views, link) {
		if (other == view ||
		    cowmem_index_lookup(&other->index, pgoff, NULL) != frame)
			continue;
		seq_printf(m, "%s%llu", any ? "," : " ", other->id);
		any = true;
	}
	seq_puts(m, any ? "\n" : " -\n");
}

/* The lines of one view. Called with @view entered in a lockset, @c counted. */
static void cowmem_pages_view_lines(struct seq_file *m,
				    struct cowmem_view *view,
				    struct cowmem_pages_view *pv,
				    pgoff_t nr_pages, struct cowmem_census *c)
{
	pgoff_t pgoff;

	cowmem_lockset_assert(view);
	seq_printf(m, "view %llu region %llu\n", view->id, view->region_id);
	for (pgoff = 0; pgoff < nr_pages; pgoff++) {
		if (cowmem_index_lookup(&view->index, pgoff, NULL) ||
		    (pv->zero && test_bit(pgoff, pv->zero)))
			cowmem_page_line(m, view, pgoff, c);
	}
}

/*
 * Prints the noted views of @region that are still alive, in one walk of
 * both lists, which are in id order, entering each in turn. Returns 0 or
 * -EINTR. Called with @set, @region's lockset, locked, @c counted.
 */
static int cowmem_pages_lines(struct seq_file *m, struct cowmem_pages *p,
			      struct cowmem_lockset *set,
			      struct cowmem_census *c)
{
	struct cowmem_view *view;
	long i = 0;

	list_for_each_entry(view, &set->regions[0]->views, link) {
		while (i < p->nr && p->views[i].ref.id < view->id)
			i++;
		if (i == p->nr || p->views[i].ref.id != view->id)
			continue;
		if (cowmem_lockset_enter(set, view))
			return -EINTR;
		cowmem_pages_view_lines(m, view, &p->views[i], p->nr_pages, c);
	}
	return 0;
}

/*
 * The views of @region: noted under its lock, their PTEs walked with no
 * region lock held, counted by a census of the region (its views and its
 * snapshots, pinned just before), then printed under the region's lockset.
 */
static int cowmem_pages_region(struct seq_file *m, struct cowmem_pages *p,
			       struct cowmem_region *region)
{
	struct cowmem_lockset set = { .regions = { region } };
	struct cowmem_census *c;
	int err;

	if (mutex_lock_killable(&region->lock))
		return -EINTR;
	err = cowmem_pages_note(p, region);
	mutex_unlock(&region->lock);
	if (err || !p->nr)
		goto free_views;
	cowmem_pages_zero(p);
	err = -ENOMEM;
	c = cowmem_census_create();
	if (!c)
		goto free_views;
	err = cowmem_census_pin_region(c, region, NULL, NULL, NULL);
	if (!err)
		err = cowmem_census_count(c);
	if (err)
		goto destroy_census;
	err = cowmem_lockset_lock(&set);
	if (err)
		goto destroy_census;
	err = cowmem_pages_lines(m, p, &set, c);
	cowmem_lockset_unlock(&set);
destroy_census:
	cowmem_census_destroy(c);
free_views:
	cowmem_pages_free(p);
	return err;
}

/*
 * "pages": each live view's pages (or, once a view id is written to the
 * open file, that view's), with what each PTE maps and how many of its
 * region's views and snapshots hold the page. One region at a time, under
 * its own locks, as kfence prints each object: other regions' faults go on.
 */
static int cowmem_pages_show(struct seq_file *m, void *unused)
{
	struct cowmem_pages *p = m->private;
	struct cowmem_region *region;
	u64 id = 0;
	int err = 0;

	seq_printf(m, "%8s %10s %8s %10s  %-9s %s\n", "pgoff", "pfn",
		   "refcount", "page_count", "state", "shared_with");
	while (!err && (region = cowmem_region_next(id))) {
		id = region->id;
		err = cowmem_pages_region(m, p, region);
		cowmem_region_put(region);
	}
	if (err == -ENOMEM)
		seq_puts(m, "out of memory\n");
	return err == -ENOMEM ? 0 : err;
}

static int cowmem_pages_open(struct inode *inode, struct file *file)
{
	struct cowmem_pages *p = kzalloc(sizeof(*p), GFP_KERNEL);
	int err;

	if (!p)
		return -ENOMEM;
	err = single_open(file, cowmem_pages_show, p);
	if (err)
		kfree(p);
	return err;
}

/* A view id written to the open file narrows the next read to that view. */
static ssize_t cowmem_pages_write(struct file *file, const char __user *buf,
				  size_t len, loff_t *ppos)
{
	struct seq_file *m = file->private_data;
	struct cowmem_pages *p = m->private;
	int err = kstrtou64_from_user(buf, len, 10, &p->only);

	return err ?: len;
}

static int cowmem_pages_release(struct inode *inode, struct file *file)
{
	struct seq_file *m = file->private_data;

	kfree(m->private);
	return single_release(inode, file);
}

static const struct file_operations cowmem_pages_fops = {
	.owner = THIS_MODULE,
	.open = cowmem_pages_open,
	.read = seq_read,
	.write = cowmem_pages_write,
	.llseek = seq_lseek,
	.release = cowmem_pages_release,
};

/*
 * One view of the tree, indented by @depth, entered in @set, its region's
 * lockset. Returns 0 or -EINTR.
 */
static int cowmem_tree_line(struct seq_file *m, struct cowmem_lockset *set,
			    struct cowmem_view *view, int depth)
{
	unsigned long present, shared;
	struct cowmem_owner owner;

	if (cowmem_lockset_enter(set, view))
		return -EINTR;
	cowmem_view_count(view, &present, &shared);
	cowmem_debugfs_owner(view->mm, &owner);
	seq_printf(m, "%*sview %llu pid %d %s [%s]", 2 * depth, "", view->id,
		   owner.pid, owner.comm, cowmem_view_how[view->how]);
	seq_printf(m, " shared %lu exclusive %lu\n", shared, present - shared);
	return 0;
}

/* Prints @parent's children, then theirs, indented by depth. */
static int cowmem_tree_children(struct seq_file *m, struct cowmem_lockset *set,
				u64 parent, int depth)
{
	struct cowmem_view *view;

	list_for_each_entry(view, &set->regions[0]->views, link) {
		if (view->parent_id != parent)
			continue;
		if (cowmem_tree_line(m, set, view, depth))
			return -EINTR;
		if (depth < 64 &&
		    cowmem_tree_children(m, set, view->id, depth + 1))
			return -EINTR;
	}
	return 0;
}

/* A view whose parent is gone heads a tree of its own. */
static bool cowmem_tree_is_root(struct cowmem_region *region,
				struct cowmem_view *view)
{
	struct cowmem_view *other;

	list_for_each_entry(other, &region->views, link)
		if (other->id == view->parent_id)
			return false;
	return true;
}

/*
 * The fork trees of the views of @set's region. Returns 0 or -EINTR.
 * Called with @set locked.
 */
static int cowmem_tree_region(struct seq_file *m, struct cowmem_lockset *set)
{
	struct cowmem_region *region = set->regions[0];
	struct cowmem_view *view;

	seq_printf(m, "region %llu (%lu pages)\n", region->id,
		   region->nr_pages);
	list_for_each_entry(view, &region->views, link) {
		if (!cowmem_tree_is_root(region, view))
			continue;
		if (cowmem_tree_line(m, set, view, 1) ||
		    cowmem_tree_children(m, set, view->id, 2))
			return -EINTR;
	}
	return 0;
}

static int cowmem_tree_show(struct seq_file *m, void *unused)
{
	struct cowmem_lockset set = {};
	struct cowmem_region *region;
	u64 id = 0;
	int err;

	/* One region at a time, holding only its locks (cowmem_region_next()). */
	while ((region = cowmem_region_next(id))) {
		id = region->id;
		set.regions[0] = region;
		err = cowmem_lockset_lock(&set);
		if (!err) {
			err = cowmem_tree_region(m, &set);
			cowmem_lockset_unlock(&set);
		}
		cowmem_region_put(region);
		if (err)
			break;
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cowmem_tree);

static int cowmem_fail_nth_get(void *data, u64 *val)
{
	*val = cowmem_inject_nth();
	return 0;
}

static int cowmem_fail_nth_set(void *data, u64 val)
{
	return cowmem_inject_set_nth(val);
}

static int cowmem_fail_every_get(void *data, u64 *val)
{
	*val = cowmem_inject_every();
	return 0;
}

static int cowmem_fail_every_set(void *data, u64 val)
{
	return cowmem_inject_set_every(val);
}

static int cowmem_hold_copy_get(void *data, u64 *val)
{
	*val = cowmem_inject_hold();
	return 0;
}

static int cowmem_hold_copy_set(void *data, u64 val)
{
	return cowmem_inject_set_hold(val);
}

static int cowmem_hold_census_get(void *data, u64 *val)
{
	*val = cowmem_inject_hold_census_state();
	return 0;
}

static int cowmem_hold_census_set(void *data, u64 val)
{
	return cowmem_inject_set_hold_census(val);
}

DEFINE_DEBUGFS_ATTRIBUTE(cowmem_hold_copy_fops, cowmem_hold_copy_get,
			 cowmem_hold_copy_set, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(cowmem_hold_census_fops, cowmem_hold_census_get,
			 cowmem_hold_census_set, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(cowmem_fail_nth_fops, cowmem_fail_nth_get,
			 cowmem_fail_nth_set, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(cowmem_fail_every_fops, cowmem_fail_every_get,
			 cowmem_fail_every_set, "%llu\n");

void cowmem_debugfs_init(void)
{
	cowmem_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("stats", 0400, cowmem_debugfs_root, NULL,
			    &cowmem_stats_fops);
	debugfs_create_file("snapshots", 0400, cowmem_debugfs_root, NULL,
			    &cowmem_snapshots_fops);
	debugfs_create_file("tree", 0400, cowmem_debugfs_root, NULL,
			    &cowmem_tree_fops);
	debugfs_create_file("views", 0400, cowmem_debugfs_root, NULL,
			    &cowmem_views_fops);
	debugfs_create_file("pages", 0600, cowmem_debugfs_root, NULL,
			    &cowmem_pages_fops);
	cowmem_debugfs_check_init(cowmem_debugfs_root);
	debugfs_create_file_unsafe("fail_nth", 0600, cowmem_debugfs_root, NULL,
				   &cowmem_fail_nth_fops);
	debugfs_create_file_unsafe("fail_every", 0600, cowmem_debugfs_root,
				   NULL, &cowmem_fail_every_fops);
	debugfs_create_file_unsafe("hold_copy", 0600, cowmem_debugfs_root, NULL,
				   &cowmem_hold_copy_fops);
	debugfs_create_file_unsafe("hold_census", 0600, cowmem_debugfs_root,
				   NULL, &cowmem_hold_census_fops);
}

void cowmem_debugfs_exit(void)
{
	debugfs_remove(cowmem_debugfs_root);
}
