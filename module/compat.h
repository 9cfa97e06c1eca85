/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: the differences between the kernels cowmem builds on, one shim
 * each, named after the version that changed the API.
 */
#ifndef _COWMEM_COMPAT_H
#define _COWMEM_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>

/* 6.3 made vma->vm_flags read-only outside its accessors, vm_flags_set() among them. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

#endif /* _COWMEM_COMPAT_H */
