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
	COWMEM_PAGE_EXCLUSIVE = 3, /* a page this view alone holds */
};

/*
 * @frame_id: an opaque id, equal for two pages exactly when they are the same
 *            physical page; never a PFN. 0 for NONE and ZERO.
 * @refcount: how many views share the page (0 for NONE and ZERO).
 * @state:    an enum cowmem_page_state.
 */
struct cowmem_page_info {
	__u64 frame_id;
	__u32 refcount;
	__u32 state;
};

/*
 * @addr:     first page, page aligned, inside one cowmem mapping of the caller
 * @nr_pages: pages to describe; the range must stay inside that mapping
 * @info:     user pointer to @nr_pages struct cowmem_page_info
 */
struct cowmem_page_info_args {
	__u64 addr;
	__u64 nr_pages;
	__u64 info;
};

#define COWMEM_IOC_MAGIC 0xC3
/* Bad ranges: EINVAL; bad pointers: EFAULT; unknown commands: ENOTTY. */
#define COWMEM_IOC_PAGE_INFO \
	_IOW(COWMEM_IOC_MAGIC, 0x01, struct cowmem_page_info_args)

#endif /* _UAPI_LINUX_COWMEM_H */
