/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cowmem tracepoints. Their names and fields are the stable interface for
 * bpftrace and perf: tools never need to know a function name.
 * Frames are named by their opaque ids, never by PFN.
 *
 * TRACE_EVENT() has a layout of its own that clang-format would flatten.
 */
/* clang-format off */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM cowmem

#if !defined(_COWMEM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _COWMEM_TRACE_H

#include <linux/tracepoint.h>

/* A write copied a page other views still share. */
TRACE_EVENT(cow_break,
	    TP_PROTO(u64 view, unsigned long pgoff, u64 old_frame, u64 new_frame,
		     u32 holders_left, u64 ns),
	    TP_ARGS(view, pgoff, old_frame, new_frame, holders_left, ns),
	    TP_STRUCT__entry(__field(u64, view)
			     __field(unsigned long, pgoff)
			     __field(u64, old_frame)
			     __field(u64, new_frame)
			     __field(u32, holders_left)
			     __field(u64, ns)),
	    TP_fast_assign(__entry->view = view;
			   __entry->pgoff = pgoff;
			   __entry->old_frame = old_frame;
			   __entry->new_frame = new_frame;
			   __entry->holders_left = holders_left;
			   __entry->ns = ns;),
	    TP_printk("view=%llu pgoff=%lu old_frame=%llu new_frame=%llu holders_left=%u ns=%llu",
		      __entry->view, __entry->pgoff, __entry->old_frame,
		      __entry->new_frame, __entry->holders_left, __entry->ns)
);

/* A write to a page whose other holders are gone: no copy. */
TRACE_EVENT(reuse,
	    TP_PROTO(u64 view, unsigned long pgoff, u64 frame),
	    TP_ARGS(view, pgoff, frame),
	    TP_STRUCT__entry(__field(u64, view)
			     __field(unsigned long, pgoff)
			     __field(u64, frame)),
	    TP_fast_assign(__entry->view = view;
			   __entry->pgoff = pgoff;
			   __entry->frame = frame;),
	    TP_printk("view=%llu pgoff=%lu frame=%llu",
		      __entry->view, __entry->pgoff, __entry->frame)
);

/* Every fault cowmem handled: read or write, and whether it mapped the zero page. */
TRACE_EVENT(fault,
	    TP_PROTO(u64 view, unsigned long pgoff, bool write, bool zero),
	    TP_ARGS(view, pgoff, write, zero),
	    TP_STRUCT__entry(__field(u64, view)
			     __field(unsigned long, pgoff)
			     __field(bool, write)
			     __field(bool, zero)),
	    TP_fast_assign(__entry->view = view;
			   __entry->pgoff = pgoff;
			   __entry->write = write;
			   __entry->zero = zero;),
	    TP_printk("view=%llu pgoff=%lu %s%s", __entry->view, __entry->pgoff,
		      __entry->write ? "write" : "read", __entry->zero ? " zero" : "")
);

/* A view was cloned (at fork, or by another process's mmap()). */
TRACE_EVENT(view_clone,
	    TP_PROTO(u64 parent, u64 child, unsigned long pages_shared),
	    TP_ARGS(parent, child, pages_shared),
	    TP_STRUCT__entry(__field(u64, parent)
			     __field(u64, child)
			     __field(unsigned long, pages_shared)),
	    TP_fast_assign(__entry->parent = parent;
			   __entry->child = child;
			   __entry->pages_shared = pages_shared;),
	    TP_printk("parent=%llu child=%llu pages_shared=%lu",
		      __entry->parent, __entry->child, __entry->pages_shared)
);

/* A view's last mapping went away; @pages is what it still held. */
TRACE_EVENT(view_free,
	    TP_PROTO(u64 view, unsigned long pages),
	    TP_ARGS(view, pages),
	    TP_STRUCT__entry(__field(u64, view)
			     __field(unsigned long, pages)),
	    TP_fast_assign(__entry->view = view;
			   __entry->pages = pages;),
	    TP_printk("view=%llu pages=%lu", __entry->view, __entry->pages)
);

/* A snapshot of a view was taken: @pages are shared with it, none copied. */
TRACE_EVENT(snapshot,
	    TP_PROTO(u64 view, u64 snapshot, unsigned long pages),
	    TP_ARGS(view, snapshot, pages),
	    TP_STRUCT__entry(__field(u64, view)
			     __field(u64, snapshot)
			     __field(unsigned long, pages)),
	    TP_fast_assign(__entry->view = view;
			   __entry->snapshot = snapshot;
			   __entry->pages = pages;),
	    TP_printk("view=%llu snapshot=%llu pages=%lu", __entry->view,
		      __entry->snapshot, __entry->pages)
);

/* A view was rolled back to a snapshot; @freed pages went with its old contents. */
TRACE_EVENT(rollback,
	    TP_PROTO(u64 view, u64 snapshot, unsigned long pages,
		     unsigned long freed),
	    TP_ARGS(view, snapshot, pages, freed),
	    TP_STRUCT__entry(__field(u64, view)
			     __field(u64, snapshot)
			     __field(unsigned long, pages)
			     __field(unsigned long, freed)),
	    TP_fast_assign(__entry->view = view;
			   __entry->snapshot = snapshot;
			   __entry->pages = pages;
			   __entry->freed = freed;),
	    TP_printk("view=%llu snapshot=%llu pages=%lu freed=%lu",
		      __entry->view, __entry->snapshot, __entry->pages,
		      __entry->freed)
);

/* One same-page merging pass over a region (and maybe a second one). */
TRACE_EVENT(merge,
	    TP_PROTO(u64 region, u64 other, unsigned long scanned,
		     unsigned long merged, unsigned long zeroed,
		     unsigned long skipped),
	    TP_ARGS(region, other, scanned, merged, zeroed, skipped),
	    TP_STRUCT__entry(__field(u64, region)
			     __field(u64, other)
			     __field(unsigned long, scanned)
			     __field(unsigned long, merged)
			     __field(unsigned long, zeroed)
			     __field(unsigned long, skipped)),
	    TP_fast_assign(__entry->region = region;
			   __entry->other = other;
			   __entry->scanned = scanned;
			   __entry->merged = merged;
			   __entry->zeroed = zeroed;
			   __entry->skipped = skipped;),
	    TP_printk("region=%llu other=%llu scanned=%lu merged=%lu zeroed=%lu skipped=%lu",
		      __entry->region, __entry->other, __entry->scanned,
		      __entry->merged, __entry->zeroed, __entry->skipped)
);

#endif /* _COWMEM_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
/* clang-format on */
