/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: locksets, the one way to work across views (lockset.c), for the
 * features (a merge) and the observers (census, check, debugfs). The core
 * never takes one: its faults, forks and mmaps each take their own
 * region's and view's locks.
 */
#ifndef _COWMEM_LOCKSET_H
#define _COWMEM_LOCKSET_H

#include "internal.h"

/* One or two regions, and one view of them at a time. */
struct cowmem_lockset {
	struct cowmem_region *regions[2]; /* the second may be NULL */
	struct cowmem_view *view; /* the view entered, or NULL */
	unsigned long work; /* units done in this hold: lockset.c */
};

int cowmem_lockset_lock(struct cowmem_lockset *set);
void cowmem_lockset_unlock(struct cowmem_lockset *set);
int cowmem_lockset_enter(struct cowmem_lockset *set, struct cowmem_view *view);
bool cowmem_lockset_spend(struct cowmem_lockset *set, unsigned long units);
unsigned long cowmem_lockset_max_work(void);
void cowmem_lockset_assert(struct cowmem_view *view);

#endif /* _COWMEM_LOCKSET_H */
