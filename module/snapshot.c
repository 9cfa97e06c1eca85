// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: snapshots and rollback, copy-on-write's other two uses.
 *
 * A snapshot is a region of its own, behind a file of its own, whose frozen
 * index shares the view's index at the moment it is taken: one reference on
 * the root node, whatever the size. What is left proportional to the size
 * is dropping the view's PTEs, so that its next write to each page breaks
 * COW instead of writing into the snapshot. Mapping the snapshot's file
 * makes a view that starts from the frozen index, like any other view.
 *
 * A rollback gives the view the snapshot's index (again one reference),
 * drops the view's PTEs so that every mapping refaults into it, and lets go
 * of the old index. A thread writing meanwhile holds the same mmap_lock for
 * read and waits on view->lock in its fault: each of its stores lands either
 * before the rollback (and is undone) or after it (and is kept).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/cowmem.h>

#include "compat.h"
#include "feature.h"
#include "trace.h"

/*
 * The core frees a region with kfree(): the snapshot it is embedded in
 * must start where the region does.
 */
static_assert(offsetof(struct cowmem_snapshot, region) == 0);

/* Each origin view starts from the frozen contents. region->lock held. */
static void cowmem_snapshot_new_origin(struct cowmem_region *region,
				       struct cowmem_view *view)
{
	struct cowmem_snapshot *snap = cowmem_snapshot_of(region);

	lockdep_assert_held(&region->lock);
	cowmem_index_share(&view->index, &snap->base);
}

/*
 * At the file's release, before the core lets go of the region; no lock
 * held, none taken under another: the snapshot first leaves its source's
 * list (the source's lock may be held for a hold's work, a merge), then
 * takes its frozen index out under its own lock, where debugfs "check"
 * reads it, and releases it holding none: a census reads the index only
 * from the source's list or under the snapshot's lock. A snapshot whose
 * taking failed has no source and an empty index.
 */
static void cowmem_snapshot_destroy(struct cowmem_region *region)
{
	struct cowmem_snapshot *snap = cowmem_snapshot_of(region);
	struct cowmem_region *source = snap->source;
	struct cowmem_index base;

	if (source) {
		mutex_lock(&source->lock);
		list_del(&snap->link);
		mutex_unlock(&source->lock);
	}
	cowmem_index_init(&base, 0);
	/* check.c counts a snapshot and reads its index under this lock. */
	mutex_lock(&region->lock);
	cowmem_index_move(&base, &snap->base);
	if (source) {
		snap->source = NULL;
		cowmem_stat_dec(snapshots);
	}
	mutex_unlock(&region->lock);
	if (source)
		cowmem_region_put(source);
	cowmem_index_release(&base);
}

const struct cowmem_region_ops cowmem_snapshot_ops = {
	.size = sizeof(struct cowmem_snapshot),
	.limit = COWMEM_LIMIT_SNAPSHOTS,
	.name = "[cowmem-snapshot]",
	.new_origin = cowmem_snapshot_new_origin,
	.destroy = cowmem_snapshot_destroy,
};

/*
 * Makes @snap (new, not yet reachable from any file descriptor) a snapshot
 * of the view mapped at @addr, in the list of snapshots of the view's
 * region. Takes current->mm's mmap_lock, then the region's lock, @snap's
 * (already on cowmem_regions, where debugfs "check" reads its frozen
 * index under its lock) and the view's: two regions in id order, then a
 * view, a lockset's order (@snap is younger than the region it copies).
 */
static int cowmem_snapshot_take(struct file *file, unsigned long addr,
				struct cowmem_snapshot *snap)
{
	struct cowmem_region *region;
	struct cowmem_view *view;
	int err = -EINVAL;

	if (mmap_read_lock_killable(current->mm))
		return -EINTR;
	view = cowmem_file_view(file, addr);
	if (!view)
		goto unlock_mm;
	region = view->region;
	err = -EINTR;
	if (mutex_lock_killable(&region->lock))
		goto unlock_mm;
	mutex_lock_nested(&snap->region.lock, SINGLE_DEPTH_NESTING);
	/* Killable: the view's faults in flight may be allocating. */
	if (down_write_killable(&view->lock))
		goto unlock_snap;
	cowmem_view_new_era(view);
	cowmem_index_share(&snap->base, &view->index);
	snap->region.nr_pages = region->nr_pages;
	snap->source_region = region->id;
	snap->source_view = view->id;
	/* The source's struct outlives its file while the snapshot lives. */
	refcount_inc(&region->ref);
	snap->source = region;
	list_add_tail(&snap->link, &region->derived);
	cowmem_stat_inc(snapshots);
	this_cpu_add(cowmem_stats.share_zaps, cowmem_view_zap_all(view));
	trace_snapshot(view->id, snap->region.id, snap->base.present);
	up_write(&view->lock);
	err = 0;
unlock_snap:
	mutex_unlock(&snap->region.lock);
	mutex_unlock(&region->lock);
unlock_mm:
	mmap_read_unlock(current->mm);
	return err;
}

/* Entered with no lock held. */
static long cowmem_ioctl_snapshot(struct file *file, void __user *uarg)
{
	struct cowmem_snapshot_args args;
	unsigned int fd_flags = O_RDWR;
	struct file *snap_file;
	int fd, err;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags & ~COWMEM_SNAPSHOT_CLOEXEC)
		return -EINVAL;
	if (args.flags & COWMEM_SNAPSHOT_CLOEXEC)
		fd_flags |= O_CLOEXEC;
	fd = get_unused_fd_flags(fd_flags);
	if (fd < 0)
		return fd;
	snap_file = cowmem_file_open_region(&cowmem_snapshot_ops);
	if (IS_ERR(snap_file)) {
		err = PTR_ERR(snap_file);
		goto put_fd;
	}
	err = cowmem_snapshot_take(file, args.addr,
				   cowmem_snapshot_of(snap_file->private_data));
	if (err)
		goto put_file;
	args.fd = fd;
	if (copy_to_user(uarg, &args, sizeof(args))) {
		err = -EFAULT;
		goto put_file;
	}
	fd_install(fd, snap_file);
	return 0;

put_file:
	fput(snap_file);
put_fd:
	put_unused_fd(fd);
	return err;
}

/*
 * Gives the view mapped at @addr the contents of @snap. Takes current->mm's
 * mmap_lock, then view->lock; @snap's index is frozen and needs no lock.
 */
static int cowmem_rollback(struct file *file, unsigned long addr,
			   struct cowmem_snapshot *snap)
{
	struct cowmem_index old;
	struct cowmem_view *view;
	unsigned long freed;
	int err = -EINVAL;

	if (mmap_read_lock_killable(current->mm))
		return -EINTR;
	view = cowmem_file_view(file, addr);
	if (!view || view->region_id != snap->source_region)
		goto unlock_mm;
	err = -EINTR;
	if (down_write_killable(&view->lock))
		goto unlock_mm;
	cowmem_index_init(&old, 0);
	cowmem_index_move(&old, &view->index);
	cowmem_view_new_era(view);
	cowmem_index_share(&view->index, &snap->base);
	cowmem_view_zap_all(view);
	/* No PTE maps the old frames any more: they may go. */
	freed = cowmem_index_release(&old);
	cowmem_stat_inc(rollbacks);
	trace_rollback(view->id, snap->region.id, view->index.present, freed);
	up_write(&view->lock);
	err = 0;
unlock_mm:
	mmap_read_unlock(current->mm);
	return err;
}

/* Entered with no lock held. */
static long cowmem_ioctl_rollback(struct file *file, void __user *uarg)
{
	struct cowmem_rollback_args args;
	struct cowmem_snapshot *snap = NULL;
	struct file *snap_file;
	int err = -EINVAL;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags)
		return -EINVAL;
	snap_file = fget(args.snapshot_fd);
	if (!snap_file)
		return -EBADF;
	/* A snapshot's fd exists only once it was taken (source fixed). */
	if (cowmem_file_is_ours(snap_file))
		snap = cowmem_snapshot_of(snap_file->private_data);
	if (snap)
		err = cowmem_rollback(file, args.addr, snap);
	fput(snap_file);
	return err;
}

static const struct cowmem_ioctl cowmem_snapshot_ioctl = {
	.cmd = COWMEM_IOC_SNAPSHOT,
	.fn = cowmem_ioctl_snapshot,
};

static const struct cowmem_ioctl cowmem_rollback_ioctl = {
	.cmd = COWMEM_IOC_ROLLBACK,
	.fn = cowmem_ioctl_rollback,
};

void cowmem_snapshot_init(void)
{
	cowmem_dev_add_ioctl(&cowmem_snapshot_ioctl);
	cowmem_dev_add_ioctl(&cowmem_rollback_ioctl);
}
