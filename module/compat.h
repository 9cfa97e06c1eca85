/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: the differences between the kernels cowmem builds on, one shim
 * each, named after the version that changed the API. Kbuild probes the
 * kernel's headers for each feature (COWMEM_HAVE_*) rather than trusting the
 * version number, since distributions backport.
 */
#ifndef _COWMEM_COMPAT_H
#define _COWMEM_COMPAT_H

#include <linux/mm.h>

/* 6.3 made vma->vm_flags read-only outside its accessors, vm_flags_set() among them. */
#ifndef COWMEM_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

#endif /* _COWMEM_COMPAT_H */
