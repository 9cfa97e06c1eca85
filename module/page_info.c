// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: COWMEM_IOC_PAGE_INFO, which tells an unprivileged process what
 * each page of one of its cowmem mappings is, by an opaque frame id and the
 * number of views and snapshots it may read that hold the page, never by
 * physical address.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/once.h>
#include <linux/pagemap.h>
#include <linux/random.h>
#include <linux/siphash.h>
#include <linux/uaccess.h>
#include <linux/cowmem.h>

#include "compat.h"
#include "observe.h"

/* Pages described per batch: the copy to userspace happens unlocked. */
#define COWMEM_INFO_BATCH 1024

struct cowmem_info_fill {
	pgoff_t first;
	unsigned int nr;
	struct cowmem_page_info *info;
	siphash_key_t key; /* this call's frame ids: cowmem_info_key() */
};

/*
 * The frame id userspace sees: a keyed hash of the frame's own id, equal
 * exactly when the frame is, and telling nothing of the order in which
 * frames were made or how many (the ids themselves count every process's
 * allocations).
 */
static siphash_key_t cowmem_frame_key;

/*
 * The key of one PAGE_INFO call's frame ids. Root's (CAP_SYS_ADMIN) is the
 * one key of this load, so that its ids stay the same from call to call
 * and process to process, and root's tools follow a frame (cowdemo, the
 * selftests). Anyone else gets a new key at every call: its ids compare
 * within the call only. An id that stayed the same across the caller's
 * own write would tell that the write reused the frame, and so that every
 * other holder of it, maybe a user the caller may not read, had written
 * its own copy since: the timing channel of a COW break, made exact.
 */
static void cowmem_info_key(siphash_key_t *key)
{
	if (ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN)) {
		get_random_once(&cowmem_frame_key, sizeof(cowmem_frame_key));
		*key = cowmem_frame_key;
	} else {
		get_random_bytes(key, sizeof(*key));
	}
}

static u64 cowmem_info_frame_id(struct cowmem_info_fill *fill,
				struct cowmem_frame *frame)
{
	return siphash_1u64(frame->id, &fill->key) ?: 1;
}

static void cowmem_info_note_zero(pgoff_t pgoff, unsigned long pfn,
				  bool writable, void *data)
{
	struct cowmem_info_fill *fill = data;

	if (cowmem_is_zero_pfn(pfn))
		fill->info[pgoff - fill->first].state = COWMEM_PAGE_ZERO;
}

/*
 * A snapshot counts in PAGE_INFO when current may read its taker's memory.
 * Another process's view counts only when current may read it too
 * (cowmem_view_may_read()), so the count tells nothing of when others
 * write (a COW break in a view current may not read leaves it unchanged).
 */
static bool cowmem_info_want_snapshot(struct cowmem_snapshot *snap)
{
	return cowmem_cred_may_read(snap->region.cred);
}

/* Fills in the frames of the view asked about, from its pin in @c. */
static void cowmem_info_frames(struct cowmem_info_fill *fill,
			       struct cowmem_census *c)
{
	struct cowmem_page_info *info = fill->info;
	struct cowmem_frame *frame;
	unsigned long reach;
	unsigned int i;

	if (WARN_ON_ONCE(!c->mine))
		return;
	for (i = 0; i < fill->nr; i++) {
		frame = cowmem_index_lookup(c->mine, fill->first + i, NULL);
		if (!frame)
			continue;
		reach = cowmem_census_frame_reach(c, frame);
		info[i].frame_id = cowmem_info_frame_id(fill, frame);
		info[i].refcount = min_t(unsigned long, reach, S32_MAX);
		info[i].state = reach > 1 ? COWMEM_PAGE_SHARED :
					    COWMEM_PAGE_EXCLUSIVE;
	}
}

/*
 * Reads the PTEs of @fill->nr pages from @addr, and pins (into @c) what
 * current may read of the region: its lock a budget at a time, and no
 * view's lock, so the views' faults go on, whoever's they are.
 * Takes current->mm's mmap_lock, then the region's lock.
 */
static int cowmem_info_pin(struct file *file, unsigned long addr,
			   struct cowmem_info_fill *fill,
			   struct cowmem_census *c)
{
	unsigned long end = addr + fill->nr * PAGE_SIZE;
	struct vm_area_struct *vma;
	struct cowmem_view *view;
	int err = -EINVAL;

	if (mmap_read_lock_killable(current->mm))
		return -EINTR;
	vma = cowmem_file_vma(file, addr, end);
	if (vma) {
		view = vma->vm_private_data;
		fill->first = linear_page_index(vma, addr);
		cowmem_vma_walk_ptes(vma, addr, end, cowmem_info_note_zero,
				     fill);
		err = cowmem_census_pin_region(c, view->region, view,
					       cowmem_view_may_read,
					       cowmem_info_want_snapshot);
	}
	mmap_read_unlock(current->mm);
	return err;
}

/*
 * Describes @fill->nr pages from @addr into @fill->info: their PTEs and a
 * census's pins, taken under the locks (cowmem_info_pin()), then the
 * count and the frames, with none held: not this mm's either, which its
 * other threads may want for an mmap meanwhile.
 */
static int cowmem_info_batch(struct file *file, unsigned long addr,
			     struct cowmem_info_fill *fill)
{
	struct cowmem_census *c;
	int err;

	memset(fill->info, 0, fill->nr * sizeof(*fill->info));
	c = cowmem_census_create();
	if (!c)
		return -ENOMEM;
	err = cowmem_info_pin(file, addr, fill, c);
	if (!err)
		err = cowmem_census_count(c);
	if (!err)
		cowmem_info_frames(fill, c);
	cowmem_census_destroy(c);
	return err;
}

static long cowmem_ioctl_page_info(struct file *file, void __user *uarg)
{
	struct cowmem_info_fill fill = {};
	struct cowmem_page_info_args args;
	struct cowmem_page_info __user *out;
	u64 done;
	int err = 0;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (!args.nr_pages || offset_in_page(args.addr) ||
	    args.nr_pages > (TASK_SIZE_MAX - args.addr) >> PAGE_SHIFT)
		return -EINVAL;
	/* The whole range must lie in one cowmem mapping, checked up front. */
	if (mmap_read_lock_killable(current->mm))
		return -EINTR;
	if (!cowmem_file_vma(file, args.addr,
			     args.addr + args.nr_pages * PAGE_SIZE))
		err = -EINVAL;
	mmap_read_unlock(current->mm);
	if (err)
		return err;
	fill.info = kvmalloc_array(min_t(u64, args.nr_pages, COWMEM_INFO_BATCH),
				   sizeof(*fill.info), GFP_KERNEL_ACCOUNT);
	if (!fill.info)
		return -ENOMEM;
	out = u64_to_user_ptr(args.info);
	cowmem_info_key(&fill.key);
	for (done = 0; done < args.nr_pages && !err; done += fill.nr) {
		fill.nr = min_t(u64, COWMEM_INFO_BATCH, args.nr_pages - done);
		err = cowmem_info_batch(file, args.addr + done * PAGE_SIZE,
					&fill);
		if (!err && copy_to_user(out + done, fill.info,
					 fill.nr * sizeof(*fill.info)))
			err = -EFAULT;
	}
	kvfree(fill.info);
	return err;
}

static const struct cowmem_ioctl cowmem_page_info_ioctl = {
	.cmd = COWMEM_IOC_PAGE_INFO,
	.fn = cowmem_ioctl_page_info,
};

void cowmem_page_info_init(void)
{
	cowmem_dev_add_ioctl(&cowmem_page_info_ioctl);
}
