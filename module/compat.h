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
#include <linux/mmap_lock.h>

/* 6.3 made vma->vm_flags read-only outside its accessors, vm_flags_set() among them. */
#ifndef COWMEM_HAVE_VM_FLAGS_SET
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

/*
 * 6.6 gave pte_mkwrite() a VMA (for shadow stacks); on x86 it is out of
 * line and not exported. pte_mkwrite_novma() is the inline one, and cowmem
 * VMAs are never shadow stacks.
 */
#ifndef COWMEM_HAVE_PTE_MKWRITE_NOVMA
static inline pte_t pte_mkwrite_novma(pte_t pte)
{
	return pte_mkwrite(pte);
}
#endif

/*
 * Under CONFIG_DEBUG_VM, mmap_assert_locked() reports through dump_mm(),
 * which is not exported to modules (6.1 through at least 6.12). There the
 * same assertion is made with lockdep and a WARN.
 */
#if defined(CONFIG_DEBUG_VM) && !defined(COWMEM_HAVE_DUMP_MM)
static inline void cowmem_mmap_assert_locked(struct mm_struct *mm)
{
	lockdep_assert_held(&mm->mmap_lock);
	WARN_ON_ONCE(!rwsem_is_locked(&mm->mmap_lock));
}

static inline void cowmem_mmap_assert_write_locked(struct mm_struct *mm)
{
	lockdep_assert_held_write(&mm->mmap_lock);
	WARN_ON_ONCE(!rwsem_is_locked(&mm->mmap_lock));
}
#else
#define cowmem_mmap_assert_locked mmap_assert_locked
#define cowmem_mmap_assert_write_locked mmap_assert_write_locked
#endif

#endif /* _COWMEM_COMPAT_H */
