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
 */
struct cowmem_stats {
	long regions;
	long views;
	long pages;
	long nodes; /* index nodes */
	long snapshots;
	long held_pages; /* every index's present, summed: index.c */
	unsigned long faults;
	unsigned long cow_breaks;
	unsigned long reuses;
	unsigned long zero_maps;
	unsigned long first_writes;
	unsigned long forks;
	unsigned long injected_failures;
	unsigned long page_allocs; /* data pages allocated */
	unsigned long clone_zaps; /* VMAs zapped as a clone shared them */
	unsigned long clone_wrprotects; /* clones that write-protected instead */
	unsigned long node_copies; /* shared index nodes copied on write */
	unsigned long rollbacks;
	unsigned long merged_pages; /* pages freed by merging */
	unsigned long merged_zero; /* of those, zero-filled ones */
};

DECLARE_PER_CPU(struct cowmem_stats, cowmem_stats);
#define cowmem_stat_inc(field) this_cpu_inc(cowmem_stats.field)
#define cowmem_stat_dec(field) this_cpu_dec(cowmem_stats.field)
void cowmem_stats_sum(struct cowmem_stats *sum);

#endif /* _COWMEM_STATS_H */
