/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: counters since load (stats.c). A header of its own, with nothing
 * but <linux/percpu.h> under it, so that index.c counts its nodes without
 * cowmem.h (the unit test in selftests/index builds index.c in userspace).
 */
#ifndef _COWMEM_STATS_H
#define _COWMEM_STATS_H

#include <linux/percpu.h>

/*
 * Counters since load, per CPU so that the fault path touches no shared
 * cache line; every field is a long (see cowmem_stats_sum()). Gauges
 * (regions, views, snapshots, pages, nodes) may go negative on one CPU;
 * only their sum means something.
 *
 * Each field's comment is its one definition: debugfs "stats" prints it
 * as "name: value", and scripts/stats-table makes docs/observe.md's table
 * of the stats file from these comments and the list below it.
 */
struct cowmem_stats {
	long regions; /* open regions: one per open() and one per snapshot */
	long views; /* live views: one per address space per region */
	long pages; /* data pages the module holds now */
	/*
	 * page-index nodes held now (64 slots each, shared between views and
	 * snapshots until one of them writes under it)
	 */
	long nodes;
	long snapshots; /* live snapshots (open snapshot file descriptors) */
	/*
	 * pages held, summed over every view and snapshot: what they would
	 * take if nothing were shared (index.c)
	 */
	long held_pages;
	/* faults cowmem handled: a page with no PTE, a write to a read-only one */
	unsigned long faults;
	unsigned long cow_breaks; /* writes that copied a shared page */
	/*
	 * writes to a page whose other holders were gone: no copy (such a
	 * fault also maps the exclusive neighbours writable, so their writes
	 * need no fault and are not counted)
	 */
	unsigned long reuses;
	unsigned long zero_maps; /* read faults that mapped the zero page */
	/* writes that allocated a never-written page */
	unsigned long first_writes;
	unsigned long forks; /* views cloned at fork() */
	/*
	 * frames a fork copied for the child at once because they may be
	 * pinned (a pin-safe fork: view.c)
	 */
	unsigned long pinned_copies;
	/* allocations failed on purpose (fail_nth, fail_every) */
	unsigned long injected_failures;
	unsigned long page_allocs; /* data pages allocated since load */
	/*
	 * VMAs whose PTEs were zapped at once because their view's frames
	 * became shared: a snapshot, a clone that could not write-protect
	 * them in place, a fork that failed
	 */
	unsigned long share_zaps;
	/*
	 * clones (a fork, another process's mapping) that write-protected
	 * their source's PTEs in place instead
	 */
	unsigned long clone_wrprotects;
	/* shared index nodes copied on a write under them */
	unsigned long node_copies;
	/* COWMEM_IOC_ROLLBACK calls that rolled a view back */
	unsigned long rollbacks;
	/* pages freed by COWMEM_IOC_MERGE */
	unsigned long merged_pages;
	unsigned long merged_zero; /* of merged_pages, the zero-filled ones */
};

/*
 * The lines of debugfs "stats" computed when it is read:
 *  bytes_saved: what sharing saves: (held_pages - pages) x page size
 *  max_hold_work: the most work one hold of a lockset did since load (a
 *   unit per page of a view looked at, and per VMA a zap of a page walks,
 *   plus one); never above COWMEM_HOLD_MAX_WORK (uapi) but for a single
 *   zap dearer than that, done alone
 *  frame_bytes: what one page's descriptor costs in the slab
 *  node_bytes: what one index node costs in the slab
 */

DECLARE_PER_CPU(struct cowmem_stats, cowmem_stats);
#define cowmem_stat_inc(field) this_cpu_inc(cowmem_stats.field)
#define cowmem_stat_dec(field) this_cpu_dec(cowmem_stats.field)
void cowmem_stats_sum(struct cowmem_stats *sum);

#endif /* _COWMEM_STATS_H */
