/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cowmem: the interface between /dev/cowmem and userspace, shared by the
 * module, its selftests and its tools.
 */
#ifndef _UAPI_LINUX_COWMEM_H
#define _UAPI_LINUX_COWMEM_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* What one page of a cowmem mapping is, as the calling process sees it. */
enum cowmem_page_state {
	COWMEM_PAGE_NONE = 0, /* never written, not mapped */
	COWMEM_PAGE_ZERO = 1, /* never written, the zero page is mapped */
	COWMEM_PAGE_SHARED = 2, /* a page other views share too */
	COWMEM_PAGE_EXCLUSIVE = 3, /* no other view (you may read) holds it */
};

/*
 * What the caller learns is about what it may read anyway: its own views,
 * and those of processes whose memory it may read (same uids and gids, or
 * CAP_SYS_PTRACE), of the mapping's region, and snapshots of them. A view
 * of another user's shares frames invisibly: @refcount and @state do not
 * count it, and do not change when it writes.
 *
 * @frame_id: an opaque id, equal for two pages exactly when they are the same
 *            physical page; never a PFN, and no order or count can be read
 *            from it (a keyed hash). With CAP_SYS_ADMIN the key is the
 *            module load's, and ids compare across calls and processes;
 *            without it, the key is new at every call, and ids compare
 *            within one call only (a stable id would tell whether one's
 *            own write copied the page, and so whether others had written
 *            theirs). 0 for NONE and ZERO.
 * @refcount: how many of those views and snapshots hold the page, at this
 *            offset or (after a merge) at another (0 for NONE and ZERO);
 *            saturates at 2^31 - 1.
 * @state:    an enum cowmem_page_state: SHARED when @refcount is 2 or
 *            more.
 */
struct cowmem_page_info {
	__u64 frame_id;
	__u32 refcount;
	__u32 state;
};

/*
 * @addr:     first page, page aligned, inside one mapping of the ioctl's file
 *            in the caller (EINVAL for another file's mapping)
 * @nr_pages: pages to describe; the range must stay inside that mapping
 * @info:     user pointer to @nr_pages struct cowmem_page_info
 */
struct cowmem_page_info_args {
	__u64 addr;
	__u64 nr_pages;
	__u64 info;
};

/*
 * COWMEM_IOC_SNAPSHOT: a copy-on-write snapshot of the caller's view of one
 * mapping, as it is now. No page is copied: the snapshot shares every page
 * with the view, and the view's writable PTEs are dropped so that its next
 * write to each page breaks COW.
 * @addr:  in: an address inside a cowmem mapping of the ioctl's file
 * @flags: in: 0 or COWMEM_SNAPSHOT_CLOEXEC
 * @fd:    out: a new file descriptor of the snapshot; mmap() it (same size
 *         as the region, or less) to read the frozen contents. A mapping of
 *         it is a view like any other: writes to it break COW and are lost
 *         when it is unmapped, while the snapshot itself stays frozen.
 */
struct cowmem_snapshot_args {
	__u64 addr;
	__u32 flags;
	__s32 fd;
};

#define COWMEM_SNAPSHOT_CLOEXEC 0x1

/*
 * COWMEM_IOC_ROLLBACK: makes the caller's view of one mapping identical to
 * a snapshot again, sharing its pages copy-on-write. The view's PTEs are
 * dropped, so every mapping of it reads the rolled-back contents at once.
 * @addr:        in: an address inside a cowmem mapping of the ioctl's file
 * @snapshot_fd: in: a snapshot taken of a view of that same region; a
 *               snapshot of a snapshot belongs to the first snapshot's
 *               region (EINVAL otherwise, EBADF if not a file descriptor)
 * @flags:       in: 0
 */
struct cowmem_rollback_args {
	__u64 addr;
	__s32 snapshot_fd;
	__u32 flags;
};

/*
 * COWMEM_IOC_MERGE: same-page merging. Scans the pages of the views of the
 * ioctl's region that the caller may read (its own, and those of processes
 * whose memory it may read: same uids and gids, or CAP_SYS_PTRACE) and,
 * with @fd >= 0, of that second cowmem file's region, from page offset
 * @start on, and merges pages with identical contents into one shared,
 * write-protected page; a zero-filled page goes back to the zero page.
 * Other users' views are neither scanned nor locked: nothing it reports
 * depends on what they hold.
 * A later write breaks COW as usual. Pages charged to different memory
 * cgroups are never merged (counted in @skipped). The scan's table (about
 * 36 bytes per page of @budget, 144 KiB at most) is charged to the
 * caller's memory cgroup: ENOMEM when it has no room for it.
 * @addr:    in: an address inside a cowmem mapping of the ioctl's file
 * @fd:      in: -1, or a second /dev/cowmem or snapshot file descriptor
 *           (EBADF if not a file descriptor, EINVAL if not cowmem's)
 * @flags:   in: 0
 * @start:   in: first page offset to scan
 * @budget:  in: most views to visit, 1 to COWMEM_MERGE_MAX_BUDGET: one
 *           view at one offset is one visit, written or not, so that the
 *           work of a call follows @budget. The views at an offset are
 *           visited together (so a first offset with more views than
 *           @budget is visited whole). The locks are dropped every 4096
 *           visits; pages merge with the pages scanned since the last
 *           drop.
 * @next:    out: where the next call should start; 0 after the last page
 * @scanned: out: written pages looked at
 * @merged:  out: pages (of one view at one offset) now sharing an
 *           identical page's frame, or reading the zero page; a frame
 *           still held elsewhere is not freed by it (debugfs stats count
 *           what was freed)
 * @zeroed:  out: of those, zero-filled pages now reading the zero page
 * @skipped: out: pages left apart from an identical one charged to a
 *           different memory cgroup
 */
struct cowmem_merge_args {
	__u64 addr;
	__s32 fd;
	__u32 flags;
	__u64 start;
	__u64 budget;
	__u64 next;
	__u64 scanned;
	__u64 merged;
	__u64 zeroed;
	__u64 skipped;
};

#define COWMEM_MERGE_MAX_BUDGET 65536

/*
 * The most work an ioctl does while it holds locks that the faults of
 * other processes' views wait for: one unit is one page of one view looked
 * at, and a zap of a page one unit per VMA of the region, plus one. MERGE
 * drops its locks before this many units and takes them again (a single
 * zap dearer than that, of a page of a region with more VMAs, is done
 * alone in a hold); debugfs "stats" shows the most one hold did since load
 * (max_hold_work).
 */
#define COWMEM_HOLD_MAX_WORK 4096

#define COWMEM_IOC_MAGIC 0xC3
/* Bad ranges: EINVAL; bad pointers: EFAULT; unknown commands: ENOTTY. */
#define COWMEM_IOC_PAGE_INFO \
	_IOW(COWMEM_IOC_MAGIC, 0x01, struct cowmem_page_info_args)
#define COWMEM_IOC_SNAPSHOT \
	_IOWR(COWMEM_IOC_MAGIC, 0x02, struct cowmem_snapshot_args)
#define COWMEM_IOC_ROLLBACK \
	_IOW(COWMEM_IOC_MAGIC, 0x03, struct cowmem_rollback_args)
#define COWMEM_IOC_MERGE _IOWR(COWMEM_IOC_MAGIC, 0x04, struct cowmem_merge_args)

#endif /* _UAPI_LINUX_COWMEM_H */
