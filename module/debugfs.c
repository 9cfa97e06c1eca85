// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the debugfs tree, /sys/kernel/debug/cowmem/ (root only).
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "cowmem.h"

static struct dentry *cowmem_debugfs_root;

/* One "name: value" per line, for people and for scripts alike. */
static int cowmem_stats_show(struct seq_file *m, void *unused)
{
	struct cowmem_stats s;

	cowmem_stats_sum(&s);
	seq_printf(m, "regions: %ld\n", s.regions);
	seq_printf(m, "views: %ld\n", s.views);
	seq_printf(m, "pages: %ld\n", s.pages);
	seq_printf(m, "shared_pages: %ld\n", s.shared_pages);
	seq_printf(m, "bytes_saved: %ld\n", (s.slots - s.pages) * (long)PAGE_SIZE);
	seq_printf(m, "faults: %lu\n", s.faults);
	seq_printf(m, "cow_breaks: %lu\n", s.cow_breaks);
	seq_printf(m, "reuses: %lu\n", s.reuses);
	seq_printf(m, "zero_maps: %lu\n", s.zero_maps);
	seq_printf(m, "first_writes: %lu\n", s.first_writes);
	seq_printf(m, "forks: %lu\n", s.forks);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cowmem_stats);

void cowmem_debugfs_init(void)
{
	cowmem_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("stats", 0400, cowmem_debugfs_root, NULL, &cowmem_stats_fops);
}

void cowmem_debugfs_exit(void)
{
	debugfs_remove(cowmem_debugfs_root);
}
