/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowstat's parts: cowstat.c reads cowmem's debugfs and draws the text and
 * Graphviz views; cowstat_map.c draws --map, one cell per page; and
 * cowstat_native.c reads the same cells for the kernel's own COW, from
 * /proc/PID/pagemap and /proc/kpagecount (--native).
 */
#ifndef COWSTAT_H
#define COWSTAT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "cowmem_user.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* One line of debugfs "pages", its shared_with list its own copy. */
struct page {
	unsigned long pgoff;
	unsigned long pfn; /* identity only, never printed; 0 for the zero page */
	unsigned long refcount;
	char state[16]; /* shared, exclusive or zero */
	char *with; /* the other views sharing it, or "-" */
};

/* One line of debugfs "views", and the view's pages once loaded. */
struct view {
	struct cowmem_view_line line;
	struct page *pages;
	size_t nr_pages;
};

struct views {
	struct view *v;
	size_t n;
};

int cowstat_load_views(struct views *vs, long pid);
int cowstat_load_pages(struct view *v);
void cowstat_free_views(struct views *vs);

/*
 * A map cell: what one page of one mapping is, the same words for cowmem's
 * views and for the kernel's own private anonymous memory.
 */
enum cell {
	CELL_UNTOUCHED, /* no PTE: nobody touched the page */
	CELL_ZERO, /* the zero page, read-only */
	CELL_EXCLUSIVE, /* a frame of its own: writable */
	CELL_SHARED, /* a frame others map too (how many: the count) */
};

/* One row of the map: one mapping of one process. */
struct map_row {
	char key[48]; /* the same row from frame to frame (what flashes) */
	long pid; /* 0 when the process is gone */
	char comm[32];
	size_t n; /* pages */
	enum cell *cell;
	unsigned int *count; /* CELL_SHARED: how many map the frame */
};

struct map_rows {
	struct map_row *r;
	size_t n;
};

int cowstat_map_rows_add(struct map_rows *rows, const char *key, long pid,
			 const char *comm, size_t n);
void cowstat_map_rows_free(struct map_rows *rows);

/*
 * --native: PID's and its descendants' private anonymous mappings of
 * @pages pages, one row each. -1 with errno when /proc cannot tell.
 */
int cowstat_native_rows(struct map_rows *rows, long pid, size_t pages);

/* --map: one frame of the map; @color for a terminal. */
int cowstat_map(FILE *out, long pid, long native_pid, bool color);

#endif /* COWSTAT_H */
