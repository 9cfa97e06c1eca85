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
 * 7.1 renamed zap_vma_ptes() to zap_special_vma_range(), with the same
 * arguments: it zaps the PTEs of a VM_PFNMAP range, mmu notifiers and TLB
 * flush included.
 */
#ifndef COWMEM_HAVE_ZAP_SPECIAL_VMA_RANGE
static inline void zap_special_vma_range(struct vm_area_struct *vma,
					 unsigned long address,
					 unsigned long size)
{
	zap_vma_ptes(vma, address, size);
}
#endif

/*
 * 7.1 renamed my_zero_pfn() to zero_pfn(). Before that, zero_pfn is the
 * name of a variable, so the shim is a function-like macro: the variable's
 * own uses, without parentheses, stay as they are.
 */
#ifdef COWMEM_HAVE_MY_ZERO_PFN
#define zero_pfn(addr) my_zero_pfn(addr)
#endif

/*
 * Pinnable memory. GUP (O_DIRECT, vmsplice, process_vm_readv/writev, 9p's
 * and FUSE's zero-copy reads, core dumps) takes references on the struct
 * pages a mapping's PTEs map, and refuses VM_PFNMAP mappings, whose PTEs
 * may map anything. A VM_MIXEDMAP mapping with refcounted pages lets it,
 * and cowmem can keep its rules there where the kernel lets a driver map a
 * page writable itself, under its own lock (vmf_insert_page_mkwrite(),
 * 6.17) and zap one VMA's PTEs of pages (zap_special_vma_range() takes
 * VM_MIXEDMAP from 7.1). Before that, cowmem's mappings are VM_PFNMAP and
 * GUP refuses them: docs/design.md says why no other way is safe there.
 */
#if defined(COWMEM_HAVE_VMF_INSERT_PAGE_MKWRITE) && \
	defined(COWMEM_HAVE_ZAP_SPECIAL_VMA_RANGE)
#define COWMEM_PINNABLE 1
#define COWMEM_VM_FLAGS VM_MIXEDMAP
/* Whether @mm ever pinned a page (the kernel's own fork asks the same). */
#define cowmem_mm_has_pinned(mm) mm_flags_test(MMF_HAS_PINNED, mm)
#else
#define COWMEM_PINNABLE 0
#define COWMEM_VM_FLAGS VM_PFNMAP
#define cowmem_mm_has_pinned(mm) false /* nothing pins a VM_PFNMAP page */
#endif

#if COWMEM_PINNABLE
/*
 * Reads the PTE at @addr of @vma: true and its PFN and write permission if
 * it is present. follow_pfnmap_start() reads VM_PFNMAP mappings alone;
 * in a VM_MIXEDMAP one every PTE maps a page, which GUP finds without
 * faulting (FOLL_NOFAULT), and finds for a write only through a writable
 * PTE. Called with vma->vm_mm's mmap_lock held.
 */
static inline bool cowmem_read_pte(struct vm_area_struct *vma,
				   unsigned long addr, unsigned long *pfn,
				   bool *writable)
{
	struct page *page;
	long got;

	*writable = get_user_pages_remote(vma->vm_mm, addr, 1,
					  FOLL_NOFAULT | FOLL_WRITE, &page,
					  NULL) == 1;
	if (!*writable) {
		got = get_user_pages_remote(vma->vm_mm, addr, 1, FOLL_NOFAULT,
					    &page, NULL);
		/*
		 * -EFAULT is "no PTE"; anything else (-EINTR: a fatal
		 * signal) says nothing: read as a PTE of no page, so that a
		 * caller zaps rather than leave one behind.
		 */
		if (got == -EFAULT)
			return false;
		if (got != 1) {
			*pfn = 0;
			return true;
		}
	}
	*pfn = page_to_pfn(page);
	put_page(page);
	return true;
}
#elif defined(COWMEM_HAVE_FOLLOW_PFNMAP)
/*
 * Reads the PTE at @addr of a VM_PFNMAP @vma: true and its PFN and write
 * permission if it is present. Only reads: cowmem changes PTEs through
 * vmf_insert_pfn_prot() and zaps alone. 6.12 replaced follow_pte() by
 * follow_pfnmap_start()/_end(); 6.10 had given follow_pte() a VMA instead
 * of an mm. Called with vma->vm_mm's mmap_lock held.
 */
static inline bool cowmem_read_pte(struct vm_area_struct *vma,
				   unsigned long addr, unsigned long *pfn,
				   bool *writable)
{
	struct follow_pfnmap_args args = { .vma = vma, .address = addr };

	if (follow_pfnmap_start(&args))
		return false;
	*pfn = args.pfn;
	*writable = args.writable;
	follow_pfnmap_end(&args);
	return true;
}
#else
static inline bool cowmem_read_pte(struct vm_area_struct *vma,
				   unsigned long addr, unsigned long *pfn,
				   bool *writable)
{
	spinlock_t *ptl; /* the page table's, held between the two calls */
	pte_t *ptep;
	pte_t pte;

#ifdef COWMEM_HAVE_FOLLOW_PTE_VMA
	if (follow_pte(vma, addr, &ptep, &ptl))
#else
	if (follow_pte(vma->vm_mm, addr, &ptep, &ptl))
#endif
		return false;
	__acquire(ptl); /* for sparse: follow_pte() returned holding it */
	pte = ptep_get(ptep);
	*pfn = pte_pfn(pte);
	*writable = pte_write(pte);
	pte_unmap_unlock(ptep, ptl);
	return true;
}
#endif

/*
 * Write-protecting a mapping's PTEs in place (mm/mapping_dirty_helpers.c,
 * EXPORT_SYMBOL_GPL from 6.1 on) is built only where something selects
 * CONFIG_MAPPING_DIRTY_HELPERS: vmwgfx does, in every Debian kernel; a
 * tinyconfig kernel has none. Without it a clone zaps its source's PTEs
 * instead (view.c), so the stub is never called.
 */
#ifdef CONFIG_MAPPING_DIRTY_HELPERS
#define COWMEM_CAN_WRPROTECT true
#else
#define COWMEM_CAN_WRPROTECT false
static inline unsigned long wp_shared_mapping_range(struct address_space *m,
						    pgoff_t first, pgoff_t nr)
{
	return 0;
}
#endif

/*
 * Under CONFIG_DEBUG_VM, mmap_assert_locked() reports through dump_mm(),
 * which 6.1 does not export to modules (6.12 through 7.1 do, under
 * CONFIG_DEBUG_VM: Kbuild probes for the export). Without it the same
 * assertion is made with lockdep and a WARN.
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
