/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: the machinery's declarations, for the chapters and the files that
 * serve them: the census, locksets, how observers reach PTEs, per-user
 * limits, failure injection, the device's ioctl table, and the features'
 * and observers' entry points. cowmem.h holds the lesson: its objects and
 * the story's functions.
 */
#ifndef _COWMEM_INTERNAL_H
#define _COWMEM_INTERNAL_H

#include "cowmem.h"

/* limits.c: what one user may make */
int cowmem_limit_charge(const struct cred *cred, enum cowmem_limit what,
			bool force);
void cowmem_limit_uncharge(const struct cred *cred, enum cowmem_limit what);

/* census.c: who holds what, over every index of a region at once */
struct cowmem_census {
	struct xarray nodes[COWMEM_INDEX_MAX_LEVELS]; /* node -> tally */
	struct xarray frames; /* frame -> tally */
	struct xarray pins; /* 0.. -> the pinned indexes counted */
	unsigned long nr_pins;
	struct cowmem_index *mine; /* the pin of the view asked about */
	struct xarray met; /* ids of the indexes met: cowmem_census_met() */
	struct cowmem_region *region; /* whose pins it holds, or NULL */
	int err;
};

struct cowmem_census *cowmem_census_create(void);
void cowmem_census_destroy(struct cowmem_census *c);
int cowmem_census_pin_region(struct cowmem_census *c,
			     struct cowmem_region *region,
			     struct cowmem_view *mine,
			     bool (*want_view)(struct cowmem_view *view),
			     bool (*want_snap)(struct cowmem_region *snap));
int cowmem_census_count(struct cowmem_census *c);
unsigned long cowmem_census_reach(void *tally);
unsigned long cowmem_census_holders(void *tally);
unsigned long cowmem_census_frame_reach(struct cowmem_census *c,
					struct cowmem_frame *frame);

/* ptes.c: how observers reach a view's PTEs, by id through its mm */
struct cowmem_view_ref {
	u64 id;
	struct mm_struct *mm; /* with an mm_users reference, or NULL */
};

typedef void (*cowmem_view_vma_fn)(struct vm_area_struct *vma,
				   struct cowmem_view *view, void *data);
void cowmem_view_ref_get(struct cowmem_view_ref *ref, struct cowmem_view *view);
void cowmem_view_ref_put(struct cowmem_view_ref *ref);
unsigned long cowmem_view_ref_walk(struct cowmem_view_ref *ref,
				   cowmem_view_vma_fn fn, void *data);

/* lockset.c: one or two regions, and one view of them at a time */
struct cowmem_lockset {
	struct cowmem_region *regions[2]; /* the second may be NULL */
	struct cowmem_view *view; /* the view entered, or NULL */
	unsigned long work; /* units done in this hold: lockset.c */
};

int cowmem_lockset_lock(struct cowmem_lockset *set);
void cowmem_lockset_unlock(struct cowmem_lockset *set);
int cowmem_lockset_enter(struct cowmem_lockset *set, struct cowmem_view *view);
void cowmem_lockset_leave(struct cowmem_lockset *set);
bool cowmem_lockset_spend(struct cowmem_lockset *set, unsigned long units);
unsigned long cowmem_lockset_max_work(void);
void cowmem_lockset_assert(struct cowmem_view *view);

/* dev.c: the device; the features and observers add its ioctls at load */
struct cowmem_ioctl {
	unsigned int cmd;
	long (*fn)(struct file *file, void __user *uarg);
};

int cowmem_dev_init(void);
void cowmem_dev_exit(void);
void cowmem_dev_add_ioctl(const struct cowmem_ioctl *ioctl);
struct file *cowmem_file_open_snapshot(void);
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

/* Features: snapshot.c (snapshots and rollback), merge.c (merging) */
void cowmem_snapshot_init(void);
void cowmem_merge_init(void);

/* Observers: debugfs.c, check.c, page_info.c; COWMEM_OBSERVE=n: none */
#ifdef COWMEM_OBSERVE
void cowmem_debugfs_init(void);
void cowmem_debugfs_check_init(struct dentry *root); /* check.c */
void cowmem_debugfs_exit(void);
void cowmem_page_info_init(void);

static inline void cowmem_observe_init(void)
{
	cowmem_debugfs_init();
	cowmem_page_info_init();
}

static inline void cowmem_observe_exit(void)
{
	cowmem_debugfs_exit();
}
#else
static inline void cowmem_observe_init(void)
{
}

static inline void cowmem_observe_exit(void)
{
}
#endif

#endif /* _COWMEM_INTERNAL_H */
