// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: counters since load. Each CPU counts into its own copy; readers
 * add them up, so the fault path never writes a shared cache line.
 */
#include <linux/percpu.h>
#include <linux/string.h>

#include "cowmem.h"

DEFINE_PER_CPU(struct cowmem_stats, cowmem_stats);

/* A sum taken while faults run is a moment's estimate, not a snapshot. */
void cowmem_stats_sum(struct cowmem_stats *sum)
{
	const struct cowmem_stats *one;
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		one = per_cpu_ptr(&cowmem_stats, cpu);
		sum->regions += READ_ONCE(one->regions);
		sum->views += READ_ONCE(one->views);
		sum->pages += READ_ONCE(one->pages);
		sum->shared_pages += READ_ONCE(one->shared_pages);
		sum->slots += READ_ONCE(one->slots);
		sum->faults += READ_ONCE(one->faults);
		sum->cow_breaks += READ_ONCE(one->cow_breaks);
		sum->reuses += READ_ONCE(one->reuses);
		sum->zero_maps += READ_ONCE(one->zero_maps);
		sum->first_writes += READ_ONCE(one->first_writes);
		sum->forks += READ_ONCE(one->forks);
		sum->injected_failures += READ_ONCE(one->injected_failures);
		sum->page_allocs += READ_ONCE(one->page_allocs);
		sum->clone_zaps += READ_ONCE(one->clone_zaps);
	}
}
