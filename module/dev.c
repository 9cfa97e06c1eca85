// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the /dev/cowmem misc device and its file operations: open makes
 * a region, mmap attaches a view, release destroys the region. The ioctls
 * are not the device's to know: the features and observers that serve
 * them add themselves to its table at load (cowmem_dev_add_ioctl()), and
 * an ioctl nobody added gets ENOTTY.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "compat.h"
#include "internal.h"

static ushort cowmem_dev_mode = 0600;
module_param_named(dev_mode, cowmem_dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode, "Mode of /dev/cowmem (default 0600; 0666: all)");

/* Read-only, for userspace to know what to expect: compat.h says why. */
static bool cowmem_pinnable = COWMEM_PINNABLE;
module_param_named(pinnable, cowmem_pinnable, bool, 0444);
MODULE_PARM_DESC(pinnable, "Whether GUP can pin cowmem's pages (O_DIRECT...)");

/* Every open creates an empty region; its file's pages live there. */
static int cowmem_fops_open(struct inode *inode, struct file *file)
{
	struct cowmem_region *region;

	region = cowmem_region_create(inode, NULL);
	if (IS_ERR(region))
		return PTR_ERR(region);
	file->private_data = region;
	file->f_mapping = &region->mapping;
	return 0;
}

/* The last reference to the file: every VMA of every view is gone. */
static int cowmem_fops_release(struct inode *inode, struct file *file)
{
	cowmem_region_destroy(file->private_data);
	return 0;
}

/*
 * Only MAP_SHARED: a private mapping would get the kernel's own COW, which
 * is not what this module is for. VM_MIXEDMAP, or VM_PFNMAP where the
 * kernel lacks what cowmem needs to let GUP in (compat.h, COWMEM_PINNABLE),
 * keeps every PTE ours: the kernel fills none of them itself.
 * VM_DONTEXPAND makes mremap() growth fail.
 * Entered with current->mm's mmap_lock held for write.
 */
static int cowmem_fops_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct cowmem_view *view;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	view = cowmem_region_attach(file->private_data, vma);
	if (IS_ERR(view))
		return PTR_ERR(view);
	vma->vm_private_data = view;
	vma->vm_ops = &cowmem_vm_ops;
	vm_flags_set(vma, COWMEM_VM_FLAGS | VM_DONTEXPAND);
	return 0;
}

/* Indexed by _IOC_NR(cmd); filled in at load, before the device exists. */
static const struct cowmem_ioctl *cowmem_ioctls[8];

void cowmem_dev_add_ioctl(const struct cowmem_ioctl *ioctl)
{
	unsigned int nr = _IOC_NR(ioctl->cmd);

	if (!WARN_ON_ONCE(nr >= ARRAY_SIZE(cowmem_ioctls) || cowmem_ioctls[nr]))
		cowmem_ioctls[nr] = ioctl;
}

/* Entered with no lock held: each ioctl takes what it needs itself. */
static long cowmem_fops_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	const struct cowmem_ioctl *ioctl = NULL;

	if (_IOC_NR(cmd) < ARRAY_SIZE(cowmem_ioctls))
		ioctl = cowmem_ioctls[_IOC_NR(cmd)];
	if (!ioctl || ioctl->cmd != cmd)
		return -ENOTTY;
	return ioctl->fn(file, (void __user *)arg);
}

static const struct file_operations cowmem_fops = {
	.owner = THIS_MODULE,
	.open = cowmem_fops_open,
	.release = cowmem_fops_release,
	.mmap = cowmem_fops_mmap,
	.unlocked_ioctl = cowmem_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* A /dev/cowmem file, or a feature's region's: the ioctls take either. */
bool cowmem_file_is_ours(struct file *file)
{
	return file->f_op == &cowmem_fops;
}

/*
 * The file of a new region a feature makes (@ops: a snapshot's), empty
 * until the feature fills it in, on an anonymous inode as it has no
 * device node.
 */
struct file *cowmem_file_open_region(const struct cowmem_region_ops *ops)
{
	struct cowmem_region *region;
	struct file *file;

	region = cowmem_region_create(NULL, ops);
	if (IS_ERR(region))
		return ERR_CAST(region);
	file = anon_inode_getfile(ops->name, &cowmem_fops, region, O_RDWR);
	if (IS_ERR(file)) {
		cowmem_region_destroy(region);
		return file;
	}
	region->mapping.host = file_inode(file);
	file->f_mapping = &region->mapping;
	return file;
}

static struct miscdevice cowmem_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KBUILD_MODNAME,
	.fops = &cowmem_fops,
};

int cowmem_dev_init(void)
{
	cowmem_misc.mode = cowmem_dev_mode & 0666;
	return misc_register(&cowmem_misc);
}

/* No file is open: the module is busy until then. */
void cowmem_dev_exit(void)
{
	misc_deregister(&cowmem_misc);
}
