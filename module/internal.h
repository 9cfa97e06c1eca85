/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: the core's machinery, for the layers above it: per-user limits,
 * the device's ioctl table and its files, failure injection. cowmem.h
 * holds the lesson: its objects and the story's functions. The core
 * declares nothing of the layers above it: the features' headers are
 * lockset.h and feature.h, the observers' observe.h (scripts/layers
 * checks that no core file includes them).
 */
#ifndef _COWMEM_INTERNAL_H
#define _COWMEM_INTERNAL_H

#include "cowmem.h"

/* limits.c: what one user may make */
int cowmem_limit_charge(const struct cred *cred, enum cowmem_limit what,
			bool force);
void cowmem_limit_uncharge(const struct cred *cred, enum cowmem_limit what);

/* dev.c: the device; the features and observers add its ioctls at load */
struct cowmem_ioctl {
	unsigned int cmd;
	long (*fn)(struct file *file, void __user *uarg);
};

int cowmem_dev_init(void);
void cowmem_dev_exit(void);
void cowmem_dev_add_ioctl(const struct cowmem_ioctl *ioctl);
struct file *cowmem_file_open_region(const struct cowmem_region_ops *ops);
bool cowmem_file_is_ours(struct file *file);

/* inject.c: the allocation failure point (cowmem_should_fail(), index.h) */
int cowmem_inject_set_nth(u64 val);
int cowmem_inject_set_every(u64 val);
u64 cowmem_inject_nth(void);
u64 cowmem_inject_every(void);
int cowmem_inject_set_hold(u64 val);
u64 cowmem_inject_hold(void);
int cowmem_inject_set_hold_census(u64 val);
u64 cowmem_inject_hold_census_state(void);
void cowmem_inject_hold_census(void);

#endif /* _COWMEM_INTERNAL_H */
