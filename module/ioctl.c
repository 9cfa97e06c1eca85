// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: ioctls on /dev/cowmem. COWMEM_IOC_PAGE_INFO tells an unprivileged
 * process what each page of one of its cowmem mappings is, by frame id and
 * sharer count, never by physical address.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/uaccess.h>
#include <linux/cowmem.h>

#include "cowmem.h"

/* Pages described per mmap_lock hold; the copy to userspace happens unlocked. */
#define COWMEM_INFO_CHUNK 16

struct cowmem_info_fill {
	pgoff_t first;
	unsigned int nr;
	struct cowmem_page_info *info;
};

static void cowmem_info_note_zero(pgoff_t pgoff, pte_t pte, void *data)
{
	struct cowmem_info_fill *fill = data;
	struct cowmem_page_info *info = &fill->info[pgoff - fill->first];

	if (is_zero_pfn(pte_pfn(pte)) && info->state == COWMEM_PAGE_NONE)
		info->state = COWMEM_PAGE_ZERO;
}

/*
 * The cowmem VMA of current->mm holding all of [@addr, @end), or NULL.
 * Called with current->mm's mmap_lock held.
 */
static struct vm_area_struct *cowmem_info_vma(unsigned long addr,
					      unsigned long end)
{
	struct vm_area_struct *vma = vma_lookup(current->mm, addr);

	if (!vma || vma->vm_ops != &cowmem_vm_ops || !vma->vm_private_data ||
	    end > vma->vm_end)
		return NULL;
	return vma;
}

/* Describes @nr pages from @addr. Called with current->mm's mmap_lock held. */
static int cowmem_info_fill(unsigned long addr, unsigned int nr,
			    struct cowmem_page_info *info)
{
	struct vm_area_struct *vma =
		cowmem_info_vma(addr, addr + nr * PAGE_SIZE);
	struct cowmem_info_fill fill = { .nr = nr, .info = info };
	struct cowmem_frame *frame;
	struct cowmem_view *view;
	unsigned int i;

	if (!vma)
		return -EINVAL;
	view = vma->vm_private_data;
	fill.first = linear_page_index(vma, addr);
	memset(info, 0, nr * sizeof(*info));
	mutex_lock(&view->lock);
	if (unlikely(!view->pid))
		cowmem_view_note_owner(view);
	for (i = 0; i < nr; i++) {
		frame = cowmem_index_lookup(view, fill.first + i);
		if (!frame)
			continue;
		info[i].frame_id = frame->id;
		info[i].refcount = refcount_read(&frame->sharers);
		info[i].state = info[i].refcount > 1 ? COWMEM_PAGE_SHARED :
						       COWMEM_PAGE_EXCLUSIVE;
	}
	cowmem_vma_walk_ptes(vma, addr, addr + nr * PAGE_SIZE,
			     cowmem_info_note_zero, &fill);
	mutex_unlock(&view->lock);
	return 0;
}

static long cowmem_ioctl_page_info(void __user *uarg)
{
	struct cowmem_page_info info[COWMEM_INFO_CHUNK];
	struct cowmem_page_info_args args;
	struct cowmem_page_info __user *out;
	unsigned long addr;
	u64 done;
	int err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (!args.nr_pages || offset_in_page(args.addr) ||
	    args.nr_pages > (TASK_SIZE_MAX - args.addr) >> PAGE_SHIFT)
		return -EINVAL;
	out = u64_to_user_ptr(args.info);
	for (done = 0; done < args.nr_pages; done += COWMEM_INFO_CHUNK) {
		unsigned int nr =
			min_t(u64, COWMEM_INFO_CHUNK, args.nr_pages - done);

		addr = args.addr + done * PAGE_SIZE;
		if (mmap_read_lock_killable(current->mm))
			return -EINTR;
		/* The whole range must lie in one cowmem mapping, checked up front. */
		err = 0;
		if (!done &&
		    !cowmem_info_vma(addr, addr + args.nr_pages * PAGE_SIZE))
			err = -EINVAL;
		if (!err)
			err = cowmem_info_fill(addr, nr, info);
		mmap_read_unlock(current->mm);
		if (err)
			return err;
		if (copy_to_user(out + done, info, nr * sizeof(*info)))
			return -EFAULT;
	}
	return 0;
}

/* Entered with no lock held: the ioctl takes current->mm's mmap_lock itself. */
long cowmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case COWMEM_IOC_PAGE_INFO:
		return cowmem_ioctl_page_info((void __user *)arg);
	default:
		return -ENOTTY;
	}
}
