// SPDX-License-Identifier: GPL-2.0
/*
 * cowstat --map: the frame map for the projector. One character cell per
 * page and one row per view, a region after another; with --native PID,
 * the same for the kernel's own COW in PID's private anonymous memory.
 *
 *   .  untouched: no PTE, nobody touched the page
 *   z  the zero page, read-only
 *   #  exclusive: a frame of its own, writable
 *   2-9 shared: a frame that many views (or processes) map; + for more,
 *      s for a frame only a snapshot shares
 *
 * A 64-page region takes one line per view (79 columns). Under --watch a
 * cell that changed since the last frame is drawn in reverse video.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cowstat.h"

#define MAP_WIDTH 64 /* cells per line */
#define LABEL "%5s %-9.9s "

/* The last frame's cells, to flash what changed; keyed by row. */
struct seen {
	char key[48];
	char *cells;
	size_t n;
};

static struct seen *seen_last, *seen_now;
static size_t seen_last_n, seen_now_n;

static const char *seen_find(const char *key, size_t n)
{
	size_t i;

	for (i = 0; i < seen_last_n; i++)
		if (!strcmp(seen_last[i].key, key) && seen_last[i].n == n)
			return seen_last[i].cells;
	return NULL;
}

static void seen_keep(const char *key, const char *cells, size_t n)
{
	struct seen *grown, *s;

	grown = realloc(seen_now, (seen_now_n + 1) * sizeof(*seen_now));
	if (!grown)
		return;
	seen_now = grown;
	s = &seen_now[seen_now_n];
	s->cells = malloc(n);
	if (!s->cells)
		return;
	memcpy(s->cells, cells, n);
	s->n = n;
	snprintf(s->key, sizeof(s->key), "%s", key);
	seen_now_n++;
}

/* The frame is drawn: what it showed is what the next one compares with. */
static void seen_turn(void)
{
	size_t i;

	for (i = 0; i < seen_last_n; i++)
		free(seen_last[i].cells);
	free(seen_last);
	seen_last = seen_now;
	seen_last_n = seen_now_n;
	seen_now = NULL;
	seen_now_n = 0;
}

int cowstat_map_rows_add(struct map_rows *rows, const char *key, long pid,
			 const char *comm, size_t n)
{
	struct map_row *grown, *r;

	grown = realloc(rows->r, (rows->n + 1) * sizeof(*rows->r));
	if (!grown)
		return -1;
	rows->r = grown;
	r = &rows->r[rows->n];
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	snprintf(r->key, sizeof(r->key), "%s", key);
	snprintf(r->comm, sizeof(r->comm), "%s", comm);
	r->n = n;
	r->cell = calloc(n ? n : 1, sizeof(*r->cell));
	r->count = calloc(n ? n : 1, sizeof(*r->count));
	if (!r->cell || !r->count) {
		free(r->cell);
		free(r->count);
		return -1;
	}
	rows->n++;
	return 0;
}

void cowstat_map_rows_free(struct map_rows *rows)
{
	size_t i;

	for (i = 0; i < rows->n; i++) {
		free(rows->r[i].cell);
		free(rows->r[i].count);
	}
	free(rows->r);
	rows->r = NULL;
	rows->n = 0;
}

static char cell_char(enum cell c, unsigned int count)
{
	switch (c) {
	case CELL_ZERO:
		return 'z';
	case CELL_EXCLUSIVE:
		return '#';
	case CELL_SHARED:
		if (count < 2)
			return 's';
		return count > 9 ? '+' : (char)('0' + count);
	default:
		return '.';
	}
}

/* SGR colours: dim for untouched, blue zero page, green own, yellow shared. */
static const char *cell_color(char ch)
{
	switch (ch) {
	case '.':
		return "\033[2m";
	case 'z':
		return "\033[34m";
	case '#':
		return "\033[32m";
	default:
		return "\033[1;33m";
	}
}

/*
 * One cell; in colour, the escape only where the style changes (a serial
 * console redraws a 64-cell row in a fraction of the time). @style is the
 * style in force, updated; end a line with end_style().
 */
static void put_cell(FILE *out, char ch, bool changed, bool color,
		     const char **style, bool *reversed)
{
	if (color && (*style != cell_color(ch) || *reversed != changed)) {
		*style = cell_color(ch);
		*reversed = changed;
		fprintf(out, "\033[0m%s%s", *style, changed ? "\033[7m" : "");
	}
	fputc(ch, out);
}

static void end_style(FILE *out, bool color, const char **style)
{
	if (color && *style)
		fputs("\033[0m", out);
	*style = NULL;
}

/* The column ruler: the tens of the page offsets over the cells. */
static void put_ruler(FILE *out, size_t first, size_t n)
{
	size_t i;

	fprintf(out, LABEL, "PID", "COMM");
	for (i = first; i < first + n; i++)
		fputc(i % 10 ? ' ' : (char)('0' + (i / 10) % 10), out);
	fputc('\n', out);
}

/* One row, MAP_WIDTH cells a line, the cells that changed flashing. */
static void put_row(FILE *out, const struct map_row *r, bool color)
{
	const char *was = seen_find(r->key, r->n), *style = NULL;
	bool reversed = false;
	char pid[16], *cells;
	size_t i;

	cells = malloc(r->n ? r->n : 1);
	if (!cells)
		return;
	for (i = 0; i < r->n; i++)
		cells[i] = cell_char(r->cell[i], r->count[i]);
	if (r->pid)
		snprintf(pid, sizeof(pid), "%ld", r->pid);
	else
		snprintf(pid, sizeof(pid), "-");
	for (i = 0; i < r->n; i++) {
		if (i % MAP_WIDTH == 0) {
			end_style(out, color, &style);
			if (i)
				fprintf(out, "\n%5s +%-8zu ", "", i);
			else
				fprintf(out, LABEL, pid,
					r->pid ? r->comm : "(gone)");
		}
		put_cell(out, cells[i], was && was[i] != cells[i], color,
			 &style, &reversed);
	}
	end_style(out, color, &style);
	fputc('\n', out);
	seen_keep(r->key, cells, r->n);
	free(cells);
}

static void put_legend(FILE *out, bool color)
{
	static const char *const what[] = {
		".", "untouched", "z", "zero page",
		"#", "exclusive", "2", "shared by 2 (to 9, then +)",
	};
	size_t i;

	const char *style = NULL;
	bool reversed = false;

	for (i = 0; i < ARRAY_SIZE(what); i += 2) {
		fputs(i ? "   " : "", out);
		put_cell(out, what[i][0], false, color, &style, &reversed);
		end_style(out, color, &style);
		fprintf(out, " %s", what[i + 1]);
	}
	fputc('\n', out);
}

/* A view's page line, read into the row's cell. */
static void view_cell(struct map_row *r, const struct page *p)
{
	const char *c;
	unsigned int others = 0;

	if (p->pgoff >= r->n)
		return;
	if (!strcmp(p->state, "zero")) {
		r->cell[p->pgoff] = CELL_ZERO;
		return;
	}
	if (strcmp(p->state, "shared")) {
		r->cell[p->pgoff] = CELL_EXCLUSIVE;
		return;
	}
	if (strcmp(p->with, "-"))
		for (others = 1, c = p->with; *c; c++)
			others += *c == ',';
	r->cell[p->pgoff] = CELL_SHARED;
	r->count[p->pgoff] = others + 1;
}

/* Every view of region @region, in view order, one row each. */
static int region_rows(struct map_rows *rows, struct views *vs,
		       unsigned long long region)
{
	struct view *v;
	char key[32];
	size_t i, j;

	for (i = 0; i < vs->n; i++) {
		v = &vs->v[i];
		if (v->line.region != region)
			continue;
		snprintf(key, sizeof(key), "view %llu", v->line.id);
		if (cowstat_load_pages(v) ||
		    cowstat_map_rows_add(rows, key, v->line.pid, v->line.comm,
					 v->line.size))
			return -1;
		for (j = 0; j < v->nr_pages; j++)
			view_cell(&rows->r[rows->n - 1], &v->pages[j]);
	}
	return 0;
}

static bool region_of_pid(const struct views *vs, unsigned long long region,
			  long pid)
{
	size_t i;

	for (i = 0; i < vs->n; i++)
		if (vs->v[i].line.region == region && vs->v[i].line.pid == pid)
			return true;
	return false;
}

static void put_rows(FILE *out, const struct map_rows *rows, bool color)
{
	size_t i;

	for (i = 0; i < rows->n; i++)
		put_row(out, &rows->r[i], color);
}

/* Whether a view before the @i-th has the same region: drawn already. */
static bool region_drawn(const struct views *vs, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (vs->v[j].line.region == vs->v[i].line.region)
			return true;
	return false;
}

/* Each region (of @pid's, if not 0) with its views. */
static int put_regions(FILE *out, struct views *vs, long pid, bool color,
		       size_t *pages)
{
	struct map_rows rows = { NULL, 0 };
	unsigned long long region;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < vs->n; i++) {
		region = vs->v[i].line.region;
		if (region_drawn(vs, i) ||
		    (pid && !region_of_pid(vs, region, pid)))
			continue;
		ret = region_rows(&rows, vs, region);
		if (ret || !rows.n)
			break;
		*pages = rows.r[0].n;
		fprintf(out, "\ncowmem region %llu: %zu pages, %zu view%s\n",
			region, rows.r[0].n, rows.n, rows.n == 1 ? "" : "s");
		put_ruler(out, 0,
			  rows.r[0].n < MAP_WIDTH ? rows.r[0].n : MAP_WIDTH);
		put_rows(out, &rows, color);
		cowstat_map_rows_free(&rows);
	}
	cowstat_map_rows_free(&rows);
	return ret;
}

static int put_native(FILE *out, long pid, size_t pages, bool color)
{
	struct map_rows rows = { NULL, 0 };

	if (cowstat_native_rows(&rows, pid, pages))
		return -1;
	fprintf(out,
		"\nkernel's own COW: private anonymous %zu-page mappings of %ld and its children\n",
		pages, pid);
	if (rows.n) {
		put_ruler(out, 0, pages < MAP_WIDTH ? pages : MAP_WIDTH);
		put_rows(out, &rows, color);
	} else {
		fprintf(out, "(none)\n");
	}
	cowstat_map_rows_free(&rows);
	return 0;
}

/*
 * One frame: the legend, the regions of @pid (every region if 0), and with
 * @native_pid the kernel's own pages beside them, as many pages a mapping
 * as the last region drawn has (64 if none).
 */
int cowstat_map(FILE *out, long pid, long native_pid, bool color)
{
	struct views vs = { NULL, 0 };
	size_t pages = 64;
	int ret;

	put_legend(out, color);
	ret = cowstat_load_views(&vs, 0);
	if (!ret)
		ret = put_regions(out, &vs, pid, color, &pages);
	if (!ret && !vs.n)
		fprintf(out, "\n(no live views)\n");
	cowstat_free_views(&vs);
	if (!ret && native_pid)
		ret = put_native(out, native_pid, pages, color);
	seen_turn();
	return ret;
}
