// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: debugfs "check", which verifies the module's invariants and prints
 * "ok" or one line per violation:
 *
 *  - each index node's and each frame's reference count equals the number
 *    of holders the census finds (index roots and parent slots for a node,
 *    leaf slots for a frame);
 *  - the counters in "stats" agree with what the indexes hold;
 *  - every PTE of a view maps the frame its index holds at that page (or
 *    the zero page where it holds none), and a writable PTE maps a frame
 *    exclusive to the view.
 *
 * The first two need every index at once: the whole module is locked (the
 * world lock: cowmem_regions_lock, every region->lock, then every
 * view->lock). The last needs each view's mm: it runs afterwards, view by
 * view, in lock order (ptes.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "internal.h"

struct cowmem_check {
	struct seq_file *m;
	unsigned long violations;
	struct cowmem_census *census;
	long views, regions, snapshots, pages, nodes;
	struct cowmem_view_ref *refs; /* the live views, for the PTE pass */
	long nr_refs;
};

static __printf(2, 3) void cowmem_bad(struct cowmem_check *c, const char *fmt,
				      ...)
{
	va_list args;

	c->violations++;
	va_start(args, fmt);
	seq_vprintf(c->m, fmt, args);
	va_end(args);
	seq_putc(c->m, '\n');
}

/* Notes @view for the PTE pass. Called with the world locked. */
static void cowmem_check_keep(struct cowmem_check *c, struct cowmem_view *view)
{
	cowmem_view_ref_get(&c->refs[c->nr_refs++], view);
}

static void cowmem_check_node(struct cowmem_check *c, struct cowmem_node *node,
			      unsigned long holders)
{
	unsigned int ref = refcount_read(&node->ref);

	c->nodes++;
	if (ref != holders)
		cowmem_bad(c, "node at level %u: refcount %u, %lu holders",
			   node->level, ref, holders);
}

static void cowmem_check_frame(struct cowmem_check *c,
			       struct cowmem_frame *frame,
			       unsigned long holders)
{
	unsigned int ref = refcount_read(&frame->holders);

	c->pages++;
	if (ref != holders)
		cowmem_bad(c, "frame %llu: refcount %u, %lu holders", frame->id,
			   ref, holders);
}

/* Compares every reference count with the holders the census found. */
static void cowmem_check_tallies(struct cowmem_check *c)
{
	unsigned int level;
	unsigned long key;
	void *tally;

	for (level = 0; level < COWMEM_INDEX_MAX_LEVELS; level++)
		xa_for_each(&c->census->nodes[level], key, tally)
			cowmem_check_node(c, (struct cowmem_node *)key,
					  cowmem_census_holders(tally));
	xa_for_each(&c->census->frames, key, tally)
		cowmem_check_frame(c, (struct cowmem_frame *)key,
				   cowmem_census_holders(tally));
}

/* Called with the world locked. */
static int cowmem_check_indexes(struct cowmem_check *c)
{
	struct cowmem_region *region;
	struct cowmem_view *view;
	int err;

	cowmem_world_assert_locked();
	list_for_each_entry(region, &cowmem_regions, link) {
		c->regions++;
		c->snapshots += region->is_snapshot;
		list_for_each_entry(view, &region->views, link) {
			c->views++;
			if (c->refs)
				cowmem_check_keep(c, view);
		}
	}
	err = c->census ? cowmem_census_world(c->census) : -ENOMEM;
	if (!err)
		cowmem_check_tallies(c);
	return err;
}

/* Called with the world locked: the counters move only under its locks. */
static void cowmem_check_counters(struct cowmem_check *c)
{
	struct cowmem_stats s;

	cowmem_world_assert_locked();
	cowmem_stats_sum(&s);
	if (s.regions != c->regions)
		cowmem_bad(c, "stats: regions %ld, found %ld", s.regions,
			   c->regions);
	if (s.snapshots != c->snapshots)
		cowmem_bad(c, "stats: snapshots %ld, found %ld", s.snapshots,
			   c->snapshots);
	if (s.views != c->views)
		cowmem_bad(c, "stats: views %ld, found %ld", s.views, c->views);
	if (s.pages != c->pages)
		cowmem_bad(c, "stats: pages %ld, found %ld", s.pages, c->pages);
	if (s.nodes != c->nodes)
		cowmem_bad(c, "stats: nodes %ld, found %ld", s.nodes, c->nodes);
}

struct cowmem_check_pte {
	struct cowmem_check *c;
	struct cowmem_view *view;
};

static void cowmem_check_one_pte(pgoff_t pgoff, unsigned long pfn,
				 bool writable, void *data)
{
	struct cowmem_check_pte *p = data;
	struct cowmem_frame *frame;
	const char *bad = NULL;
	bool exclusive;

	frame = cowmem_index_lookup(&p->view->index, pgoff, &exclusive);
	if (!frame && !is_zero_pfn(pfn))
		bad = "maps a page the view does not hold";
	else if (frame && pfn != page_to_pfn(frame->page))
		bad = "is stale: it does not map the view's frame";
	else if (writable && !exclusive)
		bad = "is writable, but the page is not exclusive";
	if (bad)
		cowmem_bad(p->c, "view %llu pgoff %lu: PTE %s", p->view->id,
			   pgoff, bad);
}

/* Called with the mm's mmap_lock and the view's lock held. */
static void cowmem_check_vma(struct vm_area_struct *vma,
			     struct cowmem_view *view, void *data)
{
	struct cowmem_check_pte p = { .c = data, .view = view };

	cowmem_vma_walk_ptes(vma, vma->vm_start, vma->vm_end,
			     cowmem_check_one_pte, &p);
}

static int cowmem_check_show(struct seq_file *m, void *unused)
{
	struct cowmem_check c = { .m = m };
	long i;
	int err;

	c.census = cowmem_census_create();
	cowmem_world_lock();
	c.refs = kvcalloc(cowmem_world_count_views() ?: 1, sizeof(*c.refs),
			  GFP_KERNEL);
	err = cowmem_check_indexes(&c);
	if (!err)
		cowmem_check_counters(&c);
	cowmem_world_unlock();
	cowmem_census_destroy(c.census);

	/* The PTEs need each mm's mmap_lock, which comes before the world lock. */
	for (i = 0; i < c.nr_refs; i++) {
		cowmem_view_ref_walk(&c.refs[i], cowmem_check_vma, &c);
		cowmem_view_ref_put(&c.refs[i]);
	}
	if (err || !c.refs)
		seq_puts(m, "check: out of memory, incomplete\n");
	else if (!c.violations)
		seq_puts(m, "ok\n");
	kvfree(c.refs);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cowmem_check);

void cowmem_debugfs_check_init(struct dentry *root)
{
	debugfs_create_file("check", 0400, root, NULL, &cowmem_check_fops);
}
