/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: the features, what they add on top of the core (snapshot.c:
 * snapshots and rollback; merge.c: same-page merging), and what the
 * observers read of them. COWMEM_FEATURES=n builds the module without
 * them (and so without its observers): the core alone. Not features.h:
 * selftests/index builds with -I module/, where that name would hide
 * glibc's <features.h>.
 */
#ifndef _COWMEM_FEATURE_H
#define _COWMEM_FEATURE_H

#include "internal.h"

/*
 * A snapshot: a region of its own (the core's, embedded first: the core
 * frees the whole struct), behind a file of its own, whose frozen index
 * shares the source view's index at the moment it was taken.
 */
struct cowmem_snapshot {
	struct cowmem_region region;
	/*
	 * The frozen contents. Filled under the source's lock and
	 * region.lock before the snapshot's file descriptor exists, then
	 * only read; taken out under region.lock at destroy, where debugfs
	 * "check" reads it.
	 */
	struct cowmem_index base;
	u64 source_region; /* the region and view it was taken of; fixed */
	u64 source_view;
	/*
	 * With a reference: set when taken, cleared at destroy, both under
	 * region.lock (where check.c counts the snapshot by it).
	 */
	struct cowmem_region *source;
	struct list_head link; /* in source->derived, protected by its lock */
};

extern const struct cowmem_region_ops cowmem_snapshot_ops;

/* @region as a snapshot, or NULL when it is not one. */
static inline struct cowmem_snapshot *
cowmem_snapshot_of(struct cowmem_region *region)
{
	if (region->ops != &cowmem_snapshot_ops)
		return NULL;
	return container_of(region, struct cowmem_snapshot, region);
}

/* The snapshots taken of @source's views (its derived list); its lock held. */
#define cowmem_for_each_snapshot(snap, source) \
	list_for_each_entry(snap, &(source)->derived, link)

#ifdef COWMEM_FEATURES
void cowmem_snapshot_init(void);
void cowmem_merge_init(void);

static inline void cowmem_features_init(void)
{
	cowmem_snapshot_init();
	cowmem_merge_init();
}
#else
static inline void cowmem_features_init(void)
{
}
#endif

#endif /* _COWMEM_FEATURE_H */
