/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem: the observers (debugfs.c, check.c, page_info.c) and what they
 * share (census.c, ptes.c). They call the core and the features; nothing
 * below them includes this header.
 */
#ifndef _COWMEM_OBSERVE_H
#define _COWMEM_OBSERVE_H

#include "feature.h"
#include "lockset.h"

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
			     bool (*want_snap)(struct cowmem_snapshot *snap));
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

/* Their entry points, for main.c; the core alone has none */
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

#endif /* _COWMEM_OBSERVE_H */
