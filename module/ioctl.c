// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: ioctls on /dev/cowmem. COWMEM_IOC_PAGE_INFO tells an unprivileged
 * process what each page of one of its cowmem mappings is, by frame id and
 * sharer count, never by physical address; the others are dispatched to
 * snapshot.c and merge.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/uaccess.h>
#include <linux/cowmem.h>

#include "compat.h"
#include "cowmem.h"

/* Pages described per census: the copy to userspace happens unlocked. */
#define COWMEM_INFO_BATCH 1024

struct cowmem_info_fill {
	struct file *file; /* the ioctl's: the mapping must be of its region */
	pgoff_t first;
	unsigned int nr;
	struct cowmem_page_info *info;
};

static void cowmem_info_note_zero(pgoff_t pgoff, unsigned long pfn,
				  bool writable, void *data)
{
	struct cowmem_info_fill *fill = data;

	if (is_zero_pfn(pfn))
		fill->info[pgoff - fill->first].state = COWMEM_PAGE_ZERO;
}

/*
 * The VMA of current->mm that maps @file's region over all of [@addr, @end),
 * or NULL: the mapping an ioctl names must belong to the file it is made on.
 * Called with current->mm's mmap_lock held.
 */
static struct vm_area_struct *
cowmem_file_vma(struct file *file, unsigned long addr, unsigned long end)
{
	struct vm_area_struct *vma = vma_lookup(current->mm, addr);

	if (!vma || vma->vm_ops != &cowmem_vm_ops || !vma->vm_private_data ||
	    end > vma->vm_end ||
	    vma->vm_file->private_data != file->private_data)
		return NULL;
	return vma;
}

/*
 * The view of @file's region mapped at @addr in current->mm, or NULL.
 * Called with current->mm's mmap_lock held.
 */
struct cowmem_view *cowmem_ioctl_view(struct file *file, unsigned long addr)
{
	struct vm_area_struct *vma;

	cowmem_mmap_assert_locked(current->mm);
	vma = cowmem_file_vma(file, addr, addr + 1);
	return vma ? vma->vm_private_data : NULL;
}

/*
 * Marks the pages whose PTE maps the zero page, and pins the view.
 * Takes and drops current->mm's mmap_lock, then the view's lock.
 */
static struct cowmem_view *cowmem_info_ptes(unsigned long addr,
					    struct cowmem_info_fill *fill)
{
	unsigned long end = addr + fill->nr * PAGE_SIZE;
	struct vm_area_struct *vma;
	struct cowmem_view *view;

	if (mmap_read_lock_killable(current->mm))
		return ERR_PTR(-EINTR);
	vma = cowmem_file_vma(fill->file, addr, end);
	if (!vma) {
		mmap_read_unlock(current->mm);
		return ERR_PTR(-EINVAL);
	}
	view = vma->vm_private_data;
	cowmem_view_pin(view);
	fill->first = linear_page_index(vma, addr);
	mutex_lock(&view->lock);
	if (unlikely(!view->pid))
		cowmem_view_note_owner(view);
	cowmem_vma_walk_ptes(vma, addr, end, cowmem_info_note_zero, fill);
	mutex_unlock(&view->lock);
	mmap_read_unlock(current->mm);
	return view;
}

/* Fills in the frames, counted by the empty census @c. Called frozen. */
static int cowmem_info_frames(struct cowmem_view *view,
			      struct cowmem_info_fill *fill,
			      struct cowmem_census *c)
{
	struct cowmem_page_info *info = fill->info;
	struct cowmem_frame *frame;
	bool exclusive;
	unsigned int i;
	int err;

	err = cowmem_census_world(c);
	for (i = 0; i < fill->nr && !err; i++) {
		frame = cowmem_index_lookup(&view->index, fill->first + i,
					    &exclusive);
		if (!frame)
			continue;
		info[i].frame_id = frame->id;
		info[i].refcount = cowmem_census_frame_reach(c, frame);
		info[i].state = exclusive ? COWMEM_PAGE_EXCLUSIVE :
					    COWMEM_PAGE_SHARED;
	}
	return err;
}

/* Describes @fill->nr pages from @addr into @fill->info. */
static int cowmem_info_batch(unsigned long addr, struct cowmem_info_fill *fill)
{
	struct cowmem_census *c;
	struct cowmem_view *view;
	int err = -EINVAL;

	memset(fill->info, 0, fill->nr * sizeof(*fill->info));
	view = cowmem_info_ptes(addr, fill);
	if (IS_ERR(view))
		return PTR_ERR(view);
	c = cowmem_census_create();
	if (!c) {
		err = -ENOMEM;
		goto unpin_view;
	}
	/* The mapping may have gone while no lock was held. */
	if (cowmem_world_freeze_live(view)) {
		err = cowmem_info_frames(view, fill, c);
		cowmem_world_thaw();
	}
	cowmem_census_destroy(c);
unpin_view:
	cowmem_view_unpin(view);
	return err;
}

static long cowmem_ioctl_page_info(struct file *file, void __user *uarg)
{
	struct cowmem_info_fill fill = { .file = file };
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
				   sizeof(*fill.info), GFP_KERNEL);
	if (!fill.info)
		return -ENOMEM;
	out = u64_to_user_ptr(args.info);
	for (done = 0; done < args.nr_pages && !err; done += fill.nr) {
		fill.nr = min_t(u64, COWMEM_INFO_BATCH, args.nr_pages - done);
		err = cowmem_info_batch(args.addr + done * PAGE_SIZE, &fill);
		if (!err && copy_to_user(out + done, fill.info,
					 fill.nr * sizeof(*fill.info)))
			err = -EFAULT;
	}
	kvfree(fill.info);
	return err;
}

/* Entered with no lock held: each ioctl takes what it needs itself. */
long cowmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case COWMEM_IOC_PAGE_INFO:
		return cowmem_ioctl_page_info(file, uarg);
	case COWMEM_IOC_SNAPSHOT:
		return cowmem_ioctl_snapshot(file, uarg);
	case COWMEM_IOC_ROLLBACK:
		return cowmem_ioctl_rollback(file, uarg);
	case COWMEM_IOC_MERGE:
		return cowmem_ioctl_merge(file, uarg);
	default:
		return -ENOTTY;
	}
}
