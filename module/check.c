// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: debugfs "check", which verifies the module's invariants and prints
 * "ok" or one line per violation:
 *
 *  - each index node's and each frame's reference count equals the number
 *    of holders found (index roots and parent slots for a node, leaf slots
 *    for a frame);
 *  - the counters in "stats" agree with what the indexes hold;
 *  - every PTE of a view maps the frame its index holds at that page (or
 *    the zero page where it holds none), and a writable PTE maps a frame
 *    exclusive to the view.
 * A pin in effect (a census's, a merge's held frames) holds nodes or
 * frames that no index does, and leaves writable PTEs on frames it shares
 * ("Pins" in fault.c): while one runs, check reports both. Its holder
 * holds the region's lock only while it pins, so check sees them only
 * when it reads during a PAGE_INFO or a merge.
 *
 * It goes one region at a time, holding that region's lockset and no other
 * region's lock, and enters its views one at a time, as every debugfs
 * reader does: the faults of the other views go on. A node or frame can
 * be held from several regions (a snapshot's frozen index shares its
 * source's nodes, a merge shares frames across two regions), so the
 * holders are summed over the whole walk and
 * compared at its end, and a node met again in a later region is counted
 * as held once more but not walked again: its own slots were counted the
 * first time. The reference count compared is the one read when the node
 * or frame was first met. So the verdict is exact when nothing changes
 * while it runs, which is when the selftests read it (after each test);
 * read while processes fault and fork, it can report a count that moved.
 * The PTEs of each region's views are checked after its hold, view by view,
 * under each mm's mmap_lock, which comes before any region's (ptes.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "observe.h"

/*
 * A tally packs the reference count read when the node or frame was first
 * met (high bits) and the holders found (low 32 bits) in an xa value, which
 * holds at most LONG_MAX: both saturate rather than wrap.
 */
#define COWMEM_CHECK_SHIFT 32
#define COWMEM_CHECK_REF_MAX (LONG_MAX >> COWMEM_CHECK_SHIFT)

struct cowmem_check {
	struct seq_file *m;
	unsigned long violations;
	struct xarray nodes; /* node pointer -> tally */
	struct xarray frames; /* frame id -> tally: ids are never reused */
	int err;
	long views, regions, snapshots;
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

/*
 * One more holder of @key, whose reference count is @ref. Returns true
 * when @key was met for the first time. The tallies are charged to root's
 * memory cgroup: a check of a large module is large.
 */
static bool cowmem_check_hold(struct cowmem_check *c, struct xarray *xa,
			      unsigned long key, unsigned int ref)
{
	void *tally = xa_load(xa, key);
	unsigned long v = tally ? xa_to_value(tally) : 0;
	unsigned long holders = v & U32_MAX;

	if (!tally)
		v = min_t(unsigned long, ref, COWMEM_CHECK_REF_MAX)
		    << COWMEM_CHECK_SHIFT;
	holders = min(holders + 1, (unsigned long)U32_MAX);
	v = (v & ~(unsigned long)U32_MAX) | holders;
	tally = xa_store(xa, key, xa_mk_value(v), GFP_KERNEL_ACCOUNT);
	if (xa_is_err(tally))
		c->err = xa_err(tally);
	return !tally;
}

/* Counts @node as held once more and, the first time, what it holds. */
static void cowmem_check_node(struct cowmem_check *c, struct cowmem_node *node)
{
	struct cowmem_frame *frame;
	unsigned int i;

	if (!cowmem_check_hold(c, &c->nodes, (unsigned long)node,
			       refcount_read(&node->ref)))
		return;
	for (i = 0; i < COWMEM_NODE_SLOTS && !c->err; i++) {
		if (!node->slots[i])
			continue;
		if (node->level) {
			cowmem_check_node(c, node->slots[i]);
			continue;
		}
		frame = node->slots[i];
		cowmem_check_hold(c, &c->frames, frame->id,
				  refcount_read(&frame->holders));
	}
	/* A check can walk a large region: others get the CPU. */
	if (node->level == 1)
		cond_resched();
}

/* Called with the index's owner locked. */
static void cowmem_check_index(struct cowmem_check *c,
			       struct cowmem_index *index)
{
	if (index->root)
		cowmem_check_node(c, index->root);
}

/* Compares each reference count with the holders found; frames by id. */
static void cowmem_check_tallies(struct cowmem_check *c, struct xarray *xa)
{
	unsigned long key, v, ref, holders;
	void *tally;

	xa_for_each(xa, key, tally) {
		v = xa_to_value(tally);
		ref = v >> COWMEM_CHECK_SHIFT;
		holders = v & U32_MAX;
		if (ref == holders)
			continue;
		if (xa == &c->frames)
			cowmem_bad(c, "frame %lu: refcount %lu, %lu holders",
				   key, ref, holders);
		else
			cowmem_bad(c, "node: refcount %lu, %lu holders", ref,
				   holders);
	}
}

/* The counters move with what was walked, when nothing changed meanwhile. */
static void cowmem_check_counters(struct cowmem_check *c)
{
	long nodes = 0, pages = 0;
	struct cowmem_stats s;
	unsigned long key;
	void *tally;

	xa_for_each(&c->nodes, key, tally)
		nodes++;
	xa_for_each(&c->frames, key, tally)
		pages++;
	cowmem_stats_sum(&s);
	if (s.regions != c->regions)
		cowmem_bad(c, "stats: regions %ld, found %ld", s.regions,
			   c->regions);
	if (s.snapshots != c->snapshots)
		cowmem_bad(c, "stats: snapshots %ld, found %ld", s.snapshots,
			   c->snapshots);
	if (s.views != c->views)
		cowmem_bad(c, "stats: views %ld, found %ld", s.views, c->views);
	if (s.pages != pages)
		cowmem_bad(c, "stats: pages %ld, found %ld", s.pages, pages);
	if (s.nodes != nodes)
		cowmem_bad(c, "stats: nodes %ld, found %ld", s.nodes, nodes);
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
	if (!frame && !cowmem_is_zero_pfn(pfn))
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

/*
 * Counts the indexes of @set's region (its views', each entered in turn,
 * and its own frozen one) and notes its views in @refs (room for @max) for
 * the PTE pass; returns how many (a fatal signal stops it: c->err is
 * -EINTR). Called with @set locked.
 */
static long cowmem_check_region_indexes(struct cowmem_check *c,
					struct cowmem_lockset *set,
					struct cowmem_view_ref *refs, long max)
{
	struct cowmem_region *region = set->regions[0];
	struct cowmem_snapshot *snap = cowmem_snapshot_of(region);
	struct cowmem_view *view;
	long nr = 0;

	c->regions++;
	/* A snapshot is counted once taken: it has a source then. */
	if (snap && snap->source) {
		c->snapshots++;
		cowmem_check_index(c, &snap->base);
	}
	list_for_each_entry(view, &region->views, link) {
		if (cowmem_lockset_enter(set, view)) {
			c->err = -EINTR;
			break;
		}
		c->views++;
		cowmem_check_index(c, &view->index);
		if (nr < max)
			cowmem_view_ref_get(&refs[nr++], view);
	}
	return nr;
}

/* How many views @region has now: room for the PTE pass's notes. */
static long cowmem_check_count_views(struct cowmem_region *region)
{
	struct cowmem_view *view;
	long n = 0;

	if (mutex_lock_killable(&region->lock))
		return -EINTR;
	list_for_each_entry(view, &region->views, link)
		n++;
	mutex_unlock(&region->lock);
	return n;
}

/*
 * @region's indexes under its lockset, then its views' PTEs with no
 * region lock held. A view made meanwhile is counted but its PTEs are not
 * checked this time. Returns 0, -EINTR or -ENOMEM.
 */
static int cowmem_check_region(struct cowmem_check *c,
			       struct cowmem_region *region)
{
	struct cowmem_lockset set = { .regions = { region } };
	struct cowmem_view_ref *refs;
	long i, nr, max = cowmem_check_count_views(region);
	int err;

	if (max < 0)
		return max;
	refs = kvcalloc(max ?: 1, sizeof(*refs), GFP_KERNEL);
	if (!refs)
		return -ENOMEM;
	err = cowmem_lockset_lock(&set);
	if (err)
		goto free_refs;
	nr = cowmem_check_region_indexes(c, &set, refs, max);
	cowmem_lockset_unlock(&set);
	for (i = 0; i < nr; i++) {
		if (!c->err)
			cowmem_view_ref_walk(&refs[i], cowmem_check_vma, c);
		cowmem_view_ref_put(&refs[i]);
	}
	err = c->err;
free_refs:
	kvfree(refs);
	return err;
}

static int cowmem_check_show(struct seq_file *m, void *unused)
{
	struct cowmem_check c = { .m = m };
	struct cowmem_region *region;
	u64 id = 0;
	int err = 0;

	xa_init(&c.nodes);
	xa_init(&c.frames);
	while (!err && (region = cowmem_region_next(id))) {
		id = region->id;
		err = cowmem_check_region(&c, region);
		cowmem_region_put(region);
	}
	if (!err) {
		cowmem_check_tallies(&c, &c.nodes);
		cowmem_check_tallies(&c, &c.frames);
		cowmem_check_counters(&c);
	}
	if (err == -ENOMEM)
		seq_puts(m, "check: out of memory, incomplete\n");
	else if (!err && !c.violations)
		seq_puts(m, "ok\n");
	xa_destroy(&c.nodes);
	xa_destroy(&c.frames);
	return err == -ENOMEM ? 0 : err;
}
DEFINE_SHOW_ATTRIBUTE(cowmem_check);

void cowmem_debugfs_check_init(struct dentry *root)
{
	debugfs_create_file("check", 0400, root, NULL, &cowmem_check_fops);
}
