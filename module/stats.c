// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: counters since load. Each CPU counts into its own copy; readers
 * add them up, so the fault path never writes a shared cache line.
 */
#include <linux/percpu.h>
#include <linux/string.h>

#include "cowmem.h"

DEFINE_PER_CPU(struct cowmem_stats, cowmem_stats);

/*
 * Every field is a long or an unsigned long, so the sum goes word by word
 * and a new counter cannot be forgotten here. A sum taken while faults run
 * is a moment's estimate, not a snapshot.
 */
void cowmem_stats_sum(struct cowmem_stats *sum)
{
	unsigned long *total = (unsigned long *)sum;
	const unsigned long *one;
	unsigned int i;
	int cpu;

	BUILD_BUG_ON(sizeof(*sum) % sizeof(long));
	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		one = (const unsigned long *)per_cpu_ptr(&cowmem_stats, cpu);
		for (i = 0; i < sizeof(*sum) / sizeof(long); i++)
			total[i] += READ_ONCE(one[i]);
	}
}
