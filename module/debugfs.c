// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the debugfs tree, /sys/kernel/debug/cowmem/ (root only).
 *
 *   stats   counters, one "name: value" per line
 *   tree    every region's views as a fork tree
 *   views   one line per live view: owner, origin, page counts
 *   pages   one line per page each view holds or maps the zero page at;
 *           write a view id to the open file to read that view's alone
 *   check   verifies the invariants; "ok" or one line per violation (check.c)
 *   fail_nth, fail_every   arm allocation-failure injection (inject.c)
 *
 * The files are made once, at load: a view is named by its id, and found
 * again in its region's list each time a file is read. Readers follow the
 * lock order of cowmem.h: what needs a view's PTEs is read under its mm's
 * mmap_lock and the view's lock (ptes.c); what needs several views, under
 * their region's lockset, or the world lock for the census.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "internal.h"

static struct dentry *cowmem_debugfs_root;

static const char *const cowmem_view_how[] = {
	[COWMEM_VIEW_OPEN] = "open",
	[COWMEM_VIEW_FORK] = "fork",
	[COWMEM_VIEW_MAPPING] = "mapping",
};

/* Prints each snapshot's changed pages and their sum. Called with the world locked. */
static void cowmem_stats_snapshots(struct seq_file *m)
{
	struct cowmem_region *region;
	struct cowmem_view *source;
	unsigned long changed, sum = 0;

	cowmem_world_assert_locked();
	list_for_each_entry(region, &cowmem_regions, link) {
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

	cowmem_world_lock();
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
	cowmem_world_unlock();
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
	seq_printf(m, "max_hold_work: %lu\n", cowmem_lockset_max_work());
	seq_printf(m, "frame_bytes: %u\n", cowmem_frame_bytes());
	seq_printf(m, "node_bytes: %u\n", cowmem_node_bytes());
	cowmem_stats_sharing(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cowmem_stats);

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

/* Called with @view in a lockset. */
static void cowmem_view_count(struct cowmem_view *view, unsigned long *present,
			      unsigned long *shared)
{
	cowmem_lockset_assert(view);
	*present = view->index.present;
	*shared = 0;
	cowmem_index_walk(&view->index, cowmem_view_count_one, shared);
}

/* One line of "views". Called with @view in a lockset. */
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
 * that region's lockset, one region at a time, as kfence prints each object
 * under its own lock: the file is a moment's view of each region, not of
 * the module.
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
			list_for_each_entry(view, &region->views, link)
				cowmem_views_line(m, view);
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
	u64 region_id;
	struct cowmem_view_ref ref;
	pgoff_t nr_pages;
	unsigned long *zero; /* pages whose PTE maps the zero page */
};

struct cowmem_pages {
	u64 only; /* the view id written to the file; 0: every view */
	struct cowmem_pages_view *views;
	long nr;
};

/* Notes the views to print, in list order. Called with the world locked. */
static void cowmem_pages_note(struct cowmem_pages *p, long max)
{
	struct cowmem_region *region;
	struct cowmem_view *view;
	struct cowmem_pages_view *pv;

	cowmem_world_assert_locked();
	list_for_each_entry(region, &cowmem_regions, link) {
		list_for_each_entry(view, &region->views, link) {
			if ((p->only && view->id != p->only) || p->nr == max)
				continue;
			pv = &p->views[p->nr++];
			pv->region_id = region->id;
			cowmem_view_ref_get(&pv->ref, view);
			pv->nr_pages = region->nr_pages;
		}
	}
}

static void cowmem_note_zero_pte(pgoff_t pgoff, unsigned long pfn,
				 bool writable, void *data)
{
	struct cowmem_pages_view *pv = data;

	if (is_zero_pfn(pfn) && pgoff < pv->nr_pages)
		__set_bit(pgoff, pv->zero);
}

/* Called with the mm's mmap_lock and the view's lock held. */
static void cowmem_pages_zero_vma(struct vm_area_struct *vma,
				  struct cowmem_view *view, void *data)
{
	cowmem_vma_walk_ptes(vma, vma->vm_start, vma->vm_end,
			     cowmem_note_zero_pte, data);
}

/* One line of "pages". Called with the world locked, @c counted. */
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
	list_for_each_entry(other, &view->region->views, link) {
		if (other == view ||
		    cowmem_index_lookup(&other->index, pgoff, NULL) != frame)
			continue;
		seq_printf(m, "%s%llu", any ? "," : " ", other->id);
		any = true;
	}
	seq_puts(m, any ? "\n" : " -\n");
}

/* The lines of one view. Called with the world locked, @c counted. */
static void cowmem_pages_view_lines(struct seq_file *m,
				    struct cowmem_view *view,
				    struct cowmem_pages_view *pv,
				    struct cowmem_census *c)
{
	pgoff_t pgoff;

	seq_printf(m, "view %llu region %llu\n", view->id, view->region_id);
	for (pgoff = 0; pgoff < pv->nr_pages; pgoff++) {
		if (cowmem_index_lookup(&view->index, pgoff, NULL) ||
		    (pv->zero && test_bit(pgoff, pv->zero)))
			cowmem_page_line(m, view, pgoff, c);
	}
}

/*
 * Where noted view @pv sits against @view in list order: regions by id,
 * and each region's views by id (view ids alone are not in list order:
 * regions and views share one counter).
 */
static int cowmem_pages_cmp(const struct cowmem_pages_view *pv,
			    const struct cowmem_view *view)
{
	if (pv->region_id != view->region->id)
		return pv->region_id < view->region->id ? -1 : 1;
	if (pv->ref.id != view->id)
		return pv->ref.id < view->id ? -1 : 1;
	return 0;
}

/*
 * Prints the noted views that are still alive, in one walk of the lists:
 * both are in list order. Called with the world locked, @c counted.
 */
static void cowmem_pages_lines(struct seq_file *m, struct cowmem_pages *p,
			       struct cowmem_census *c)
{
	struct cowmem_region *region;
	struct cowmem_view *view;
	long i = 0;

	cowmem_world_assert_locked();
	list_for_each_entry(region, &cowmem_regions, link) {
		list_for_each_entry(view, &region->views, link) {
			while (i < p->nr &&
			       cowmem_pages_cmp(&p->views[i], view) < 0)
				i++;
			if (i < p->nr && !cowmem_pages_cmp(&p->views[i], view))
				cowmem_pages_view_lines(m, view, &p->views[i],
							c);
		}
	}
}

/*
 * "pages": each live view's pages (or, once a view id is written to the
 * open file, that view's), with what each PTE maps and the census's count.
 * The PTEs come first, view by view under each mm's mmap_lock; then the
 * indexes, all at once under the world lock (root's debugging only).
 */
static int cowmem_pages_show(struct seq_file *m, void *unused)
{
	struct cowmem_pages *p = m->private;
	struct cowmem_census *c = cowmem_census_create();
	long i, max;

	seq_printf(m, "%8s %10s %8s %10s  %-9s %s\n", "pgoff", "pfn",
		   "refcount", "page_count", "state", "shared_with");
	cowmem_world_lock();
	max = p->only ? 1 : cowmem_world_count_views();
	p->views = kvcalloc(max ?: 1, sizeof(*p->views), GFP_KERNEL);
	p->nr = 0;
	if (p->views)
		cowmem_pages_note(p, max);
	cowmem_world_unlock();
	for (i = 0; i < p->nr; i++) {
		p->views[i].zero =
			bitmap_zalloc(p->views[i].nr_pages, GFP_KERNEL);
		if (p->views[i].zero)
			cowmem_view_ref_walk(&p->views[i].ref,
					     cowmem_pages_zero_vma,
					     &p->views[i]);
		cowmem_view_ref_put(&p->views[i].ref);
	}
	cowmem_world_lock();
	if (c && !cowmem_census_world(c))
		cowmem_pages_lines(m, p, c);
	else
		seq_puts(m, "out of memory\n");
	cowmem_world_unlock();
	for (i = 0; i < p->nr; i++)
		bitmap_free(p->views[i].zero);
	kvfree(p->views);
	cowmem_census_destroy(c);
	return 0;
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

/* One view of the tree, indented by @depth. Called with its region in a lockset. */
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

	list_for_each_entry(view, &region->views, link) {
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

	list_for_each_entry(other, &region->views, link)
		if (other->id == view->parent_id)
			return false;
	return true;
}

/* The fork trees of @region's views. Called with @region in a lockset. */
static void cowmem_tree_region(struct seq_file *m, struct cowmem_region *region)
{
	struct cowmem_view *view;

	seq_printf(m, "region %llu (%lu pages)\n", region->id,
		   region->nr_pages);
	list_for_each_entry(view, &region->views, link) {
		if (!cowmem_tree_is_root(region, view))
			continue;
		cowmem_tree_line(m, view, 1);
		cowmem_tree_children(m, region, view->id, 2);
	}
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
			cowmem_tree_region(m, region);
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

DEFINE_DEBUGFS_ATTRIBUTE(cowmem_fail_nth_fops, cowmem_fail_nth_get,
			 cowmem_fail_nth_set, "%llu\n");
DEFINE_DEBUGFS_ATTRIBUTE(cowmem_fail_every_fops, cowmem_fail_every_get,
			 cowmem_fail_every_set, "%llu\n");

void cowmem_debugfs_init(void)
{
	cowmem_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("stats", 0400, cowmem_debugfs_root, NULL,
			    &cowmem_stats_fops);
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
}

void cowmem_debugfs_exit(void)
{
	debugfs_remove(cowmem_debugfs_root);
}
