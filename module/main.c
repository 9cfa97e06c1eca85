// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: the module, which puts the layers together, bottom up: the core
 * (frames and the page index, regions and views, the fault path, the
 * device), then the features (snapshots and rollback, same-page merging),
 * then the observers (debugfs, PAGE_INFO); COWMEM_FEATURES=n builds the
 * core alone. Each layer calls only the ones below it; this file alone
 * knows them all.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "feature.h"
#include "observe.h"

static int __init cowmem_init(void)
{
	int ret;

	ret = cowmem_frames_init();
	if (ret)
		return ret;
	ret = cowmem_nodes_init();
	if (ret)
		goto exit_frames;
	cowmem_blocks_init();
	cowmem_features_init();
	cowmem_observe_init();
	ret = cowmem_dev_init();
	if (ret) {
		pr_err("cannot register /dev/%s: %d\n", KBUILD_MODNAME, ret);
		goto exit_observe;
	}
	return 0;

exit_observe:
	cowmem_observe_exit();
	cowmem_nodes_exit();
exit_frames:
	cowmem_frames_exit();
	return ret;
}

/* No file is open (the module is busy until then): nothing is left. */
static void __exit cowmem_exit(void)
{
	cowmem_dev_exit();
	cowmem_observe_exit();
	cowmem_nodes_exit();
	cowmem_frames_exit();
}

module_init(cowmem_init);
module_exit(cowmem_exit);
MODULE_DESCRIPTION("Copy-on-write memory done by a driver, to watch fork()");
MODULE_AUTHOR("The cowmem developers");
MODULE_VERSION(COWMEM_VERSION);
MODULE_LICENSE("GPL");
