// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: same-page merging, copy-on-write's third use. Like KSM, it folds
 * pages with identical contents into one shared page, write-protected in
 * every mapping, so that a later write breaks COW as usual; a zero-filled
 * page goes back to the zero page.
 *
 * One call scans a bounded number of pages of the views of one region (and
 * maybe a second), hashing each, in stretches between which it drops its
 * locks; pages merge with those scanned in the same stretch. A stretch is
 * bounded by its work, not its pages (cowmem_lockset_spend()): a page
 * looked at is a unit, and zapping a page a unit per VMA that maps the
 * region. It holds the regions' locks and enters one view at a time (its
 * lock for write, so that none of its faults runs while one of its pages
 * is looked at or repointed). A page it remembers keeps a reference on
 * its frame until the stretch ends: the frame stays alive after merge has
 * left its view, and, with a second holder, is shared, so that no fault
 * maps it writable again (a write copies it). A hash match is only a
 * hint, and so is a first comparison of the contents, which a writer may
 * still be changing: only pages that compare equal have their PTEs
 * dropped, so that no write can land (the remembered frame is shared, and
 * the other page's view is entered), and are then compared again. A write
 * racing with the merge therefore lands before (and the pages differ) or
 * after (and breaks COW): it is never lost.
 *
 * Pages charged to different memory cgroups are never merged: the merged
 * page would stay charged to one cgroup alone. cowmem refuses rather than
 * moves charges, which the kernel does not offer to modules.
 *
 * Only the views the caller may read (its own, and those of processes
 * whose memory it may read: cowmem_view_may_read()) are looked at, locked
 * or merged: what a merge reports (merged, skipped, next) would otherwise
 * tell the caller what another process's private pages hold. What is left
 * is what KSM leaves too: a write to a merged page takes longer (it breaks
 * COW), which a process can time on its own pages.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/jhash.h>
#include <linux/log2.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/cowmem.h>

#include "feature.h"
#include "lockset.h"
#include "trace.h"

/*
 * Visits between two drops of the locks: a stretch, as many as one hold of
 * a lockset may do (cowmem_lockset_spend()). Pages merge with the pages
 * seen in the same stretch (the table, and the references its frames hold,
 * are let go of at the next one), and so the table of pages seen has room
 * for a stretch, or for the budget when that is smaller.
 */
#define COWMEM_MERGE_STRETCH COWMEM_HOLD_MAX_WORK

/* A page scanned in this stretch: the first of its contents. */
struct cowmem_merge_seen {
	u32 hash;
	int next; /* the next entry in the same bucket, or -1 */
	struct cowmem_region *region;
	pgoff_t pgoff;
	struct cowmem_frame *frame; /* with a reference, for the stretch */
	/*
	 * Its PTEs are gone, and no view maps it writable again this
	 * stretch: the reference makes it shared, so a fault maps it
	 * read-only and a write copies it.
	 */
	bool zapped;
};

struct cowmem_merge {
	struct cowmem_lockset set; /* the regions, and the view entered */
	struct cowmem_view **views; /* those the caller may read, this stretch */
	unsigned long nr_views;
	struct cowmem_merge_seen *seen;
	int *buckets;
	unsigned long nr_seen, max_seen, nr_buckets;
	unsigned long visits; /* one view at one offset: what budget counts */
	pgoff_t pos; /* the next offset to scan */
	unsigned long view_pos; /* and the next of its views, mid-offset */
	u64 view_done; /* mid-offset: the id of the view before view_pos */
	unsigned long freed, freed_zero; /* for stats, which root reads */
	int err; /* -EINTR: a fatal signal came while entering a view */
	struct cowmem_merge_args args;
};

static u32 cowmem_merge_hash(struct page *page)
{
	void *addr = kmap_local_page(page);
	u32 hash = jhash2(addr, PAGE_SIZE / sizeof(u32), 0);

	kunmap_local(addr);
	return hash;
}

static bool cowmem_merge_zero(struct page *page)
{
	void *addr = kmap_local_page(page);
	bool zero = !memchr_inv(addr, 0, PAGE_SIZE);

	kunmap_local(addr);
	return zero;
}

static bool cowmem_merge_same(struct page *a, struct page *b)
{
	void *x = kmap_local_page(a), *y = kmap_local_page(b);
	bool same = !memcmp(x, y, PAGE_SIZE);

	kunmap_local(y);
	kunmap_local(x);
	return same;
}

static bool cowmem_merge_same_memcg(struct page *a, struct page *b)
{
	bool same;

	rcu_read_lock();
	same = page_memcg_check(a) == page_memcg_check(b);
	rcu_read_unlock();
	return same;
}

/* No PTE of any view of @region maps page @pgoff any more. */
static void cowmem_merge_zap(struct cowmem_region *region, pgoff_t pgoff)
{
	unmap_mapping_range(&region->mapping, (loff_t)pgoff << PAGE_SHIFT,
			    PAGE_SIZE, 1);
}

/*
 * Points @view's page @pgoff (whose PTEs are gone) at @to, a frame with
 * the same contents, or at nothing for a zero-filled page. The caller
 * learns how many of its pages it repointed, whether that freed the old
 * frame or not: a frame also held by a view it may not read is freed only
 * once that view has written its page, which the caller must not learn.
 * What was freed goes to the stats. Called with @view entered.
 */
static void cowmem_merge_into(struct cowmem_merge *mg, struct cowmem_view *view,
			      pgoff_t pgoff, struct cowmem_frame *to)
{
	struct cowmem_frame *old;

	if (to) {
		cowmem_frame_get(to);
		/* Shared now: nobody's own (cowmem_frame_owned()). */
		WRITE_ONCE(to->era, 0);
	}
	if (cowmem_index_replace(&view->index, pgoff, to, &old)) {
		if (to)
			cowmem_frame_put(to);
		return;
	}
	mg->args.merged++;
	mg->args.zeroed += !to;
	if (cowmem_frame_put(old)) {
		mg->freed++;
		mg->freed_zero += !to;
	}
}

/*
 * The first page seen with @hash, or NULL: a candidate, whose contents are
 * compared only once both pages' PTEs are gone.
 */
static struct cowmem_merge_seen *cowmem_merge_find(struct cowmem_merge *mg,
						   u32 hash)
{
	struct cowmem_merge_seen *seen;
	int i;

	for (i = mg->buckets[hash & (mg->nr_buckets - 1)]; i >= 0;
	     i = seen->next) {
		seen = &mg->seen[i];
		if (seen->hash == hash)
			return seen;
	}
	return NULL;
}

static void cowmem_merge_remember(struct cowmem_merge *mg, u32 hash,
				  struct cowmem_view *view, pgoff_t pgoff,
				  struct cowmem_frame *frame)
{
	struct cowmem_merge_seen *seen = &mg->seen[mg->nr_seen];
	int *bucket = &mg->buckets[hash & (mg->nr_buckets - 1)];

	/*
	 * Only an offset with more views than the rest of the stretch (or of
	 * the budget) has room for gets here: its page is not remembered,
	 * and a later identical page stays apart until another call.
	 */
	if (mg->nr_seen == mg->max_seen)
		return;
	/*
	 * Alive, and shared, until the stretch ends: cowmem_merge_forget().
	 * A pin ("Pins" in fault.c): its PTEs are zapped only if it is
	 * merged. Taken with the view entered, so that no fault of the view
	 * is between its decision and its PTE.
	 */
	cowmem_frame_get(frame);
	*seen = (struct cowmem_merge_seen){ .hash = hash,
					    .zapped = false,
					    .next = *bucket,
					    .region = view->region,
					    .pgoff = pgoff,
					    .frame = frame };
	*bucket = mg->nr_seen++;
}

/* What zapping one page of @region costs a hold: a unit per VMA it walks. */
static unsigned long cowmem_merge_zap_cost(struct cowmem_region *region)
{
	return 1 + atomic_read(&region->nr_vmas);
}

/*
 * Looks at @view's page @pgoff: merges it into the zero page or into an
 * identical page seen before, or remembers it. Contents are compared
 * first, while a writer may still change them, and only pages that look
 * alike are zapped, then compared again, now that no PTE can write them:
 * a hash collision costs no zap. The visit and the zaps it needs are
 * spent from the hold before any of them is done; returns false, having
 * changed nothing, when the hold has no room left for them.
 * Called with the lockset held and @view entered.
 */
static bool cowmem_merge_page(struct cowmem_merge *mg, struct cowmem_view *view,
			      pgoff_t pgoff, struct cowmem_frame *frame)
{
	struct cowmem_merge_seen *seen = NULL;
	bool zero, alike = false;
	unsigned long cost = 1;
	u32 hash = 0;

	/*
	 * A page something else holds (a pipe, a pin for I/O) stays the
	 * view's own: shared, it would take a device's writes to the others.
	 */
	if (cowmem_frame_referenced(frame, NULL))
		return true;
	zero = cowmem_merge_zero(frame->page);
	if (zero) {
		cost += cowmem_merge_zap_cost(view->region);
	} else {
		hash = cowmem_merge_hash(frame->page);
		seen = cowmem_merge_find(mg, hash);
		alike = seen && seen->frame != frame &&
			cowmem_merge_same(seen->frame->page, frame->page);
		if (alike && !seen->zapped)
			cost += cowmem_merge_zap_cost(seen->region);
		if (alike)
			cost += cowmem_merge_zap_cost(view->region);
	}
	if (!cowmem_lockset_spend(&mg->set, cost))
		return false;
	mg->args.scanned++;
	if (zero) {
		cowmem_merge_zap(view->region, pgoff);
		/* Stable now that no PTE can write it: look again. */
		if (cowmem_merge_zero(frame->page) &&
		    !cowmem_frame_referenced(frame, NULL))
			cowmem_merge_into(mg, view, pgoff, NULL);
		return true;
	}
	if (!seen) {
		cowmem_merge_remember(mg, hash, view, pgoff, frame);
		return true;
	}
	if (!alike)
		return true;
	if (!seen->zapped)
		cowmem_merge_zap(seen->region, seen->pgoff);
	seen->zapped = true;
	cowmem_merge_zap(view->region, pgoff);
	if (!cowmem_merge_same(seen->frame->page, frame->page))
		return true;
	/* Pinned since the first look, through a PTE now gone? */
	if (cowmem_frame_referenced(seen->frame, NULL) ||
	    cowmem_frame_referenced(frame, NULL))
		return true;
	if (!cowmem_merge_same_memcg(seen->frame->page, frame->page)) {
		mg->args.skipped++;
		return true;
	}
	cowmem_merge_into(mg, view, pgoff, seen->frame);
	return true;
}

/*
 * Scans page @pgoff of the stretch's views, from mg->view_pos on, entering
 * each: a view without a page there costs the hold one unit, one with a
 * page what cowmem_merge_page() spends. Returns false when the hold is
 * spent before the last view (mg->view_pos says where to go on) or a fatal
 * signal came (mg->err), true once every view is done. Called with the
 * lockset held.
 */
static bool cowmem_merge_offset(struct cowmem_merge *mg, pgoff_t pgoff)
{
	struct cowmem_frame *frame = NULL;
	struct cowmem_view *view;
	bool done;

	for (; mg->view_pos < mg->nr_views; mg->view_pos++) {
		view = mg->views[mg->view_pos];
		if (cowmem_lockset_enter(&mg->set, view)) {
			mg->err = -EINTR;
			return false;
		}
		if (pgoff < view->region->nr_pages)
			frame = cowmem_index_lookup(&view->index, pgoff, NULL);
		else
			frame = NULL;
		if (frame)
			done = cowmem_merge_page(mg, view, pgoff, frame);
		else
			done = cowmem_lockset_spend(&mg->set, 1);
		if (!done) {
			/* Where the next hold goes on: cowmem_merge_stretch(). */
			if (mg->view_pos)
				mg->view_done = mg->views[mg->view_pos - 1]->id;
			return false;
		}
	}
	mg->view_pos = 0;
	return true;
}

/*
 * Scans from mg->pos on, one page offset (in every locked view) at a time,
 * while the budget lasts. The budget counts every view visited at every
 * offset, written or not (and an offset as one visit at least), so that
 * the work follows what the caller asked for; the first offset is scanned
 * whole even when it has more views than the budget, so that every call
 * makes progress. The hold's work is counted apart, view by view, and a
 * stretch may end in the middle of an offset with more views than a
 * stretch. Returns true when it paused at the end of a stretch, for the
 * caller to drop the locks, false when the call is done or stopped
 * (mg->err). Called with the lockset held.
 */
static bool cowmem_merge_scan(struct cowmem_merge *mg)
{
	unsigned long cost = max(mg->nr_views, 1UL);
	pgoff_t end = 0;
	unsigned long i;

	for (i = 0; i < mg->nr_views; i++)
		end = max(end, mg->views[i]->region->nr_pages);
	for (; mg->pos < end; mg->pos++) {
		if (!mg->view_pos && mg->visits &&
		    mg->visits + cost > mg->args.budget) {
			mg->args.next = mg->pos;
			return false;
		}
		if (!cowmem_merge_offset(mg, mg->pos))
			return !mg->err;
		mg->visits += cost;
		cond_resched();
	}
	mg->args.next = 0;
	return false;
}

/*
 * Forgets the pages seen, and lets go of their frames: a frame its view
 * replaced meanwhile (a write copied it) is freed here.
 */
static void cowmem_merge_forget(struct cowmem_merge *mg)
{
	while (mg->nr_seen)
		cowmem_frame_put(mg->seen[--mg->nr_seen].frame);
	if (mg->buckets)
		memset(mg->buckets, 0xff,
		       mg->nr_buckets * sizeof(*mg->buckets));
}

/*
 * Lists the views the caller may read (cowmem_view_may_read(), decided
 * once for the stretch), and forgets the pages seen before: the start of
 * a stretch. Called with the lockset held.
 */
static int cowmem_merge_stretch(struct cowmem_merge *mg, gfp_t gfp)
{
	struct cowmem_view *view;
	unsigned long n = 0, i;
	int r;

	cowmem_merge_forget(mg);
	kvfree(mg->views);
	mg->nr_views = 0;
	for (r = 0; r < 2 && mg->set.regions[r]; r++)
		list_for_each_entry(view, &mg->set.regions[r]->views, link)
			n++;
	mg->views = kvmalloc_array(max(n, 1UL), sizeof(*mg->views), gfp);
	if (!mg->views)
		return -ENOMEM;
	for (r = 0; r < 2 && mg->set.regions[r]; r++)
		list_for_each_entry(view, &mg->set.regions[r]->views, link)
			if (cowmem_view_may_read(view))
				mg->views[mg->nr_views++] = view;
	/*
	 * Mid-offset, go on after the view done last, wherever a fork or an
	 * munmap moved it in the new list (if it is gone, at its old place).
	 */
	for (i = 0; mg->view_pos && i < mg->nr_views; i++)
		if (mg->views[i]->id == mg->view_done)
			mg->view_pos = i + 1;
	return 0;
}

/*
 * Scans stretch by stretch, dropping and retaking the locks in between,
 * so that nobody waiting for them waits longer than a stretch. Returns
 * with the lockset held and 0 or -ENOMEM, or without it and -EINTR.
 */
static int cowmem_merge_stretches(struct cowmem_merge *mg, gfp_t gfp)
{
	int err;

	for (;;) {
		err = cowmem_merge_stretch(mg, gfp);
		if (err)
			return err;
		if (!cowmem_merge_scan(mg))
			break;
		cowmem_merge_forget(mg); /* the stretch ends with its hold */
		cowmem_lockset_unlock(&mg->set);
		cond_resched();
		if (cowmem_lockset_lock(&mg->set))
			return -EINTR;
	}
	/* A fatal signal came while it waited to enter a view. */
	if (mg->err)
		cowmem_lockset_unlock(&mg->set);
	return mg->err;
}

/* The frames remembered are pins on their regions ("Pins" in fault.c). */
static void cowmem_merge_pins(struct cowmem_merge *mg, bool begin)
{
	int r;

	for (r = 0; r < 2 && mg->set.regions[r]; r++) {
		if (begin)
			cowmem_region_pins_begin(mg->set.regions[r]);
		else
			cowmem_region_pins_end(mg->set.regions[r]);
	}
}

/*
 * Runs one call's scan with its table. The table is allocated after the
 * wait for the locks, so that callers queued on a busy region hold no
 * memory (reclaim never enters cowmem, so allocating under them is safe),
 * and charged to the caller's memory cgroup; a cgroup without room for it
 * gets ENOMEM, not its OOM killer: a merge is optional work.
 * Entered with no lock held.
 */
static int cowmem_merge_run(struct cowmem_merge *mg)
{
	const gfp_t gfp = GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL |
			  __GFP_NOWARN;
	int err = -ENOMEM;

	if (cowmem_lockset_lock(&mg->set))
		return -EINTR;
	cowmem_merge_pins(mg, true);
	mg->pos = mg->args.start;
	mg->max_seen = min_t(u64, mg->args.budget, COWMEM_MERGE_STRETCH);
	mg->nr_buckets = roundup_pow_of_two(mg->max_seen);
	mg->seen = kvmalloc_array(mg->max_seen, sizeof(*mg->seen), gfp);
	mg->buckets = kvmalloc_array(mg->nr_buckets, sizeof(*mg->buckets), gfp);
	if (!mg->seen || !mg->buckets)
		goto free_table;
	err = cowmem_merge_stretches(mg, gfp);
	if (err == -EINTR)
		goto free_unlocked;
	if (err)
		goto free_table;
	this_cpu_add(cowmem_stats.merged_pages, mg->freed);
	this_cpu_add(cowmem_stats.merged_zero, mg->freed_zero);
	trace_merge(mg->set.regions[0]->id,
		    mg->set.regions[1] ? mg->set.regions[1]->id : 0,
		    mg->args.scanned, mg->args.merged, mg->args.zeroed,
		    mg->args.skipped);
free_table:
	cowmem_lockset_unlock(&mg->set);
free_unlocked:
	cowmem_merge_forget(mg);
	cowmem_merge_pins(mg, false);
	kvfree(mg->views);
	kvfree(mg->buckets);
	kvfree(mg->seen);
	return err;
}

/* The ioctl's mapping must belong to its file, as for the other ioctls. */
static int cowmem_merge_check_addr(struct file *file, unsigned long addr)
{
	int err = 0;

	if (mmap_read_lock_killable(current->mm))
		return -EINTR;
	if (!cowmem_file_view(file, addr))
		err = -EINVAL;
	mmap_read_unlock(current->mm);
	return err;
}

/* Entered with no lock held. */
static long cowmem_ioctl_merge(struct file *file, void __user *uarg)
{
	struct cowmem_merge mg = {
		.set = { .regions = { file->private_data } },
	};
	struct file *other = NULL;
	int err;

	if (copy_from_user(&mg.args, uarg, sizeof(mg.args)))
		return -EFAULT;
	if (mg.args.flags || !mg.args.budget ||
	    mg.args.budget > COWMEM_MERGE_MAX_BUDGET)
		return -EINVAL;
	mg.args.scanned = 0;
	mg.args.merged = 0;
	mg.args.zeroed = 0;
	mg.args.skipped = 0;
	if (mg.args.fd >= 0) {
		other = fget(mg.args.fd);
		if (!other)
			return -EBADF;
		err = -EINVAL;
		if (!cowmem_file_is_ours(other))
			goto put_other;
		if (other->private_data != mg.set.regions[0])
			mg.set.regions[1] = other->private_data;
	}
	err = cowmem_merge_check_addr(file, mg.args.addr);
	if (!err)
		err = cowmem_merge_run(&mg);
	if (!err && copy_to_user(uarg, &mg.args, sizeof(mg.args)))
		err = -EFAULT;
put_other:
	if (other)
		fput(other);
	return err;
}

static const struct cowmem_ioctl cowmem_merge_ioctl = {
	.cmd = COWMEM_IOC_MERGE,
	.fn = cowmem_ioctl_merge,
};

void cowmem_merge_init(void)
{
	cowmem_dev_add_ioctl(&cowmem_merge_ioctl);
}
