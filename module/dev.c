// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the /dev/cowmem misc device and its file operations.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

static int cowmem_fops_open(struct inode *inode, struct file *file)
{
	return 0;
}

static int cowmem_fops_release(struct inode *inode, struct file *file)
{
	return 0;
}

static const struct file_operations cowmem_fops = {
	.owner = THIS_MODULE,
	.open = cowmem_fops_open,
	.release = cowmem_fops_release,
	.llseek = noop_llseek,
};

static struct miscdevice cowmem_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "cowmem",
	.fops = &cowmem_fops,
	.mode = 0600,
};

static int __init cowmem_init(void)
{
	int ret = misc_register(&cowmem_misc);

	if (ret)
		pr_err("cannot register /dev/cowmem: %d\n", ret);
	return ret;
}

static void __exit cowmem_exit(void)
{
	misc_deregister(&cowmem_misc);
}

module_init(cowmem_init);
module_exit(cowmem_exit);
MODULE_DESCRIPTION("Driver-level copy-on-write memory");
MODULE_LICENSE("GPL");
