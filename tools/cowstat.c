// SPDX-License-Identifier: GPL-2.0
/*
 * cowstat: what cowmem holds right now, read from its debugfs tree
 * (/sys/kernel/debug/cowmem, root only): the counters and every live view,
 * one process's pages, or a Graphviz picture of which views share which
 * physical page.
 *
 *   cowstat [-p PID] [--watch [SECONDS]]
 *   cowstat --dot [-p PID] >views.dot && dot -Tsvg views.dot >views.svg
 *   cowstat --map [-p PID] [--native PID] [--watch [SECONDS]]
 *
 * --map (cowstat_map.c) draws one cell per page, for the projector, and
 * --native (cowstat_native.c) the kernel's own COW beside it.
 *
 * Each debugfs file is a consistent snapshot of its own, but cowstat reads
 * one view after another: a view that changes meanwhile shows its new state.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cowstat.h"

struct opts {
	long pid; /* 0: every process */
	bool dot;
	bool map;
	long native; /* --map --native PID, or 0 */
	double watch; /* seconds between redraws, 0: draw once */
};

/*
 * The shared ranges --dot draws, by the pfn of their first page, which only
 * serves to find them again: they are numbered in the order they are drawn.
 */
struct frames {
	unsigned long *pfn; /* sorted, each once */
	size_t *node; /* node[i] is pfn[i]'s number, 0 until drawn */
	size_t n, drawn;
};

/* The file a failed load was reading, for the error message. */
static char failed_path[256];

static FILE *open_debugfs(const char *name)
{
	FILE *f;

	snprintf(failed_path, sizeof(failed_path), "%s/%s", COWMEM_DEBUGFS,
		 name);
	f = fopen(failed_path, "re");
	if (f)
		failed_path[0] = '\0';
	return f;
}

/* The counters the summary shows: the gauges, then the events. */
enum { S_REGIONS, S_VIEWS, S_PAGES, S_HELD, S_SAVED, S_EVENTS };
static const char *const summary_names[] = {
	"regions",     "views",	       "pages",	     "held_pages",
	"bytes_saved", "faults",       "cow_breaks", "reuses",
	"zero_maps",   "first_writes", "forks",
};

static int print_summary(FILE *out)
{
	long long v[ARRAY_SIZE(summary_names)];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		v[i] = -1;
	snprintf(failed_path, sizeof(failed_path), "%s", COWMEM_STATS);
	if (cowmem_stats_read(NULL, summary_names, v, ARRAY_SIZE(v)) < 0)
		return -1;
	failed_path[0] = '\0';
	fprintf(out,
		"regions %lld  views %lld  pages %lld (held %lld)  saved %lld KiB\n",
		v[S_REGIONS], v[S_VIEWS], v[S_PAGES], v[S_HELD],
		v[S_SAVED] / 1024);
	for (i = S_EVENTS; i < ARRAY_SIZE(v); i++)
		fprintf(out, "%s%s %lld", i > S_EVENTS ? "  " : "",
			summary_names[i], v[i]);
	fputc('\n', out);
	return 0;
}

static int view_cmp(const void *a, const void *b)
{
	const struct view *x = a, *y = b;

	return x->line.id < y->line.id ? -1 : x->line.id > y->line.id;
}

static int views_add(struct views *vs, const struct view *v)
{
	struct view *grown = realloc(vs->v, (vs->n + 1) * sizeof(*vs->v));

	if (!grown)
		return -1;
	vs->v = grown;
	vs->v[vs->n++] = *v;
	return 0;
}

/* The live views, of @pid only unless it is 0, sorted by id. */
int cowstat_load_views(struct views *vs, long pid)
{
	char *line = NULL;
	size_t cap = 0;
	struct view v;
	int ret = 0;
	FILE *f = open_debugfs("views");

	if (!f)
		return -1;
	memset(&v, 0, sizeof(v));
	while (!ret && getline(&line, &cap, f) > 0) {
		if (!cowmem_parse_view(line, &v.line) ||
		    (pid && v.line.pid != pid))
			continue;
		ret = views_add(vs, &v);
	}
	free(line);
	fclose(f);
	if (vs->n)
		qsort(vs->v, vs->n, sizeof(*vs->v), view_cmp);
	return ret;
}

void cowstat_free_views(struct views *vs)
{
	size_t i, j;

	for (i = 0; i < vs->n; i++) {
		for (j = 0; j < vs->v[i].nr_pages; j++)
			free(vs->v[i].pages[j].with);
		free(vs->v[i].pages);
	}
	free(vs->v);
	vs->v = NULL;
	vs->n = 0;
}

/* A copy of one page's line of "pages": 0, or -1 for another line. */
static int parse_page(char *line, struct page *p)
{
	struct cowmem_page_line l;

	if (!cowmem_parse_page(line, &l))
		return -1;
	p->pgoff = l.pgoff;
	p->pfn = l.pfn;
	p->refcount = l.refcount;
	memcpy(p->state, l.state, sizeof(p->state));
	p->with = strdup(l.with);
	return p->with ? 0 : -1;
}

static int view_add_page(struct view *v, const struct page *p)
{
	struct page *grown =
		realloc(v->pages, (v->nr_pages + 1) * sizeof(*v->pages));

	if (!grown)
		return -1;
	v->pages = grown;
	v->pages[v->nr_pages++] = *p;
	return 0;
}

/*
 * Reads debugfs "pages" for @v alone (its id written to the open file
 * first); a view that died meanwhile just has none.
 */
int cowstat_load_pages(struct view *v)
{
	char *line = NULL;
	size_t cap = 0;
	struct page p;
	int ret = 0;
	FILE *f;

	snprintf(failed_path, sizeof(failed_path), "%s/pages", COWMEM_DEBUGFS);
	f = cowmem_open_pages(v->line.id);
	if (!f)
		return -1;
	failed_path[0] = '\0';
	while (!ret && getline(&line, &cap, f) > 0) {
		if (parse_page(line, &p))
			continue;
		ret = view_add_page(v, &p);
		if (ret)
			free(p.with);
	}
	free(line);
	fclose(f);
	return ret;
}

/* The pid and comm columns: a view whose process is gone shows none. */
static const char *view_owner(const struct view *v, char *buf, size_t size)
{
	if (v->line.pid)
		snprintf(buf, size, "%7ld %-16s", v->line.pid, v->line.comm);
	else
		snprintf(buf, size, "%7s %-16s", "-", "(no process)");
	return buf;
}

static void print_views(FILE *out, const struct views *vs)
{
	char owner[64], parent[24];
	const struct view *v;
	size_t i;

	fprintf(out, "\n%6s %6s %7s %-16s %-7s %6s %7s %6s %6s\n", "VIEW",
		"REGION", "PID", "COMM", "HOW", "PARENT", "PRESENT", "SHARED",
		"EXCL");
	for (i = 0; i < vs->n; i++) {
		v = &vs->v[i];
		snprintf(parent, sizeof(parent), "%llu", v->line.parent);
		fprintf(out, "%6llu %6llu %s %-7s %6s %7lu %6lu %6lu\n",
			v->line.id, v->line.region,
			view_owner(v, owner, sizeof(owner)), v->line.how,
			v->line.parent ? parent : "-", v->line.present,
			v->line.shared, v->line.exclusive);
	}
	if (!vs->n)
		fprintf(out, "(no live views)\n");
}

static void print_pages(FILE *out, const struct view *v)
{
	size_t i;

	fprintf(out, "\nview %llu (region %llu, %s", v->line.id, v->line.region,
		v->line.how);
	if (v->line.parent)
		fprintf(out, " of view %llu", v->line.parent);
	fprintf(out, "): %lu of %lu pages present, %lu shared, %lu exclusive\n",
		v->line.present, v->line.size, v->line.shared,
		v->line.exclusive);
	fprintf(out, "%8s %-9s %8s  %s\n", "PGOFF", "STATE", "REFCOUNT",
		"SHARED_WITH");
	for (i = 0; i < v->nr_pages; i++)
		fprintf(out, "%8lu %-9s %8lu  %s\n", v->pages[i].pgoff,
			v->pages[i].state, v->pages[i].refcount,
			v->pages[i].with);
	if (!v->nr_pages)
		fprintf(out, "(no pages)\n");
}

/*
 * The summary, the views, and with -p the pages of each of them.
 * Returns 0, -1 with errno on error, or 1 when PID has no view.
 */
static int render_text(FILE *out, const struct opts *o)
{
	struct views vs = { NULL, 0 };
	size_t i;
	int ret;

	if (print_summary(out))
		return -1;
	ret = cowstat_load_views(&vs, o->pid);
	if (!ret)
		print_views(out, &vs);
	for (i = 0; !ret && o->pid && i < vs.n; i++) {
		ret = cowstat_load_pages(&vs.v[i]);
		if (!ret)
			print_pages(out, &vs.v[i]);
	}
	if (!ret && o->pid && !vs.n)
		ret = 1;
	cowstat_free_views(&vs);
	return ret;
}

/*
 * --dot: consecutive pages that look alike (same state, and for shared
 * pages the same other views) are one node, to keep big regions readable.
 * Views that share a page share the same range, since they hold the same
 * frames; each shared range is one node outside the views, keyed by the
 * pfn of its first page, with an edge from every view that maps it.
 */
static size_t run_end(const struct view *v, size_t i)
{
	const struct page *p = v->pages;
	size_t j;

	for (j = i + 1; j < v->nr_pages; j++) {
		if (p[j].pgoff != p[j - 1].pgoff + 1 ||
		    strcmp(p[j].state, p[i].state) ||
		    p[j].refcount != p[i].refcount ||
		    strcmp(p[j].with, p[i].with))
			break;
	}
	return j;
}

static void dot_range(FILE *out, const struct view *v, size_t i, size_t end)
{
	if (end - i == 1)
		fprintf(out, "%lu", v->pages[i].pgoff);
	else
		fprintf(out, "%lu-%lu", v->pages[i].pgoff,
			v->pages[end - 1].pgoff);
}

static const char *dot_color(const char *state)
{
	if (!strcmp(state, "shared"))
		return "lightblue";
	if (!strcmp(state, "exclusive"))
		return "palegreen";
	return "gray90";
}

/* A comm is whatever its process chose: keep it from ending a DOT string. */
static void dot_comm(char *dst, size_t size, const char *comm)
{
	size_t i;

	for (i = 0; i + 1 < size && comm[i]; i++) {
		dst[i] = comm[i];
		if (!isprint((unsigned char)comm[i]) || strchr("\"\\", comm[i]))
			dst[i] = '?';
	}
	dst[i] = '\0';
}

static void dot_view(FILE *out, const struct view *v)
{
	char owner[64], comm[32];
	size_t i, end;

	dot_comm(comm, sizeof(comm), v->line.comm);
	if (v->line.pid)
		snprintf(owner, sizeof(owner), "pid %ld %s", v->line.pid, comm);
	else
		snprintf(owner, sizeof(owner), "no process");
	fprintf(out,
		"\t\tsubgraph cluster_v%llu {\n\t\t\tlabel=\"view %llu\\n%s\\n%s",
		v->line.id, v->line.id, owner, v->line.how);
	if (v->line.parent)
		fprintf(out, " of view %llu", v->line.parent);
	fprintf(out, "\";\n");
	for (i = 0; i < v->nr_pages; i = end) {
		end = run_end(v, i);
		fprintf(out, "\t\t\tv%llu_%lu [label=\"", v->line.id,
			v->pages[i].pgoff);
		dot_range(out, v, i, end);
		fprintf(out, "\\n%s\", fillcolor=%s];\n", v->pages[i].state,
			dot_color(v->pages[i].state));
	}
	if (!v->nr_pages)
		fprintf(out,
			"\t\t\tv%llu_none [label=\"no pages\", style=dashed];\n",
			v->line.id);
	fprintf(out, "\t\t}\n");
}

static bool is_shared(const struct page *p)
{
	return !strcmp(p->state, "shared");
}

static int pfn_cmp(const void *a, const void *b)
{
	const unsigned long *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Collects the first frame of every shared range of every view. */
static int frames_collect(struct frames *fr, const struct views *vs)
{
	size_t i, j, n = 0, pages = 0;
	const struct view *v;

	for (i = 0; i < vs->n; i++)
		pages += vs->v[i].nr_pages;
	fr->pfn = calloc(pages + 1, sizeof(*fr->pfn));
	fr->node = calloc(pages + 1, sizeof(*fr->node));
	if (!fr->pfn || !fr->node)
		return -1;
	for (i = 0; i < vs->n; i++) {
		v = &vs->v[i];
		for (j = 0; j < v->nr_pages; j = run_end(v, j))
			if (is_shared(&v->pages[j]))
				fr->pfn[n++] = v->pages[j].pfn;
	}
	qsort(fr->pfn, n, sizeof(*fr->pfn), pfn_cmp);
	for (i = 0; i < n; i++)
		if (!fr->n || fr->pfn[fr->n - 1] != fr->pfn[i])
			fr->pfn[fr->n++] = fr->pfn[i];
	return 0;
}

static size_t *frame_node(const struct frames *fr, unsigned long pfn)
{
	const unsigned long *at =
		bsearch(&pfn, fr->pfn, fr->n, sizeof(pfn), pfn_cmp);

	return at ? &fr->node[at - fr->pfn] : &fr->node[fr->n];
}

/* One node per shared range of @region, however many views map it. */
static void dot_shared(FILE *out, const struct views *vs,
		       unsigned long long region, struct frames *fr)
{
	const struct view *v;
	size_t i, j, end, *node;

	for (i = 0; i < vs->n; i++) {
		v = &vs->v[i];
		for (j = 0; v->line.region == region && j < v->nr_pages;
		     j = end) {
			end = run_end(v, j);
			if (!is_shared(&v->pages[j]))
				continue;
			node = frame_node(fr, v->pages[j].pfn);
			if (*node)
				continue;
			*node = ++fr->drawn;
			fprintf(out, "\t\tf%zu [label=\"%s ", *node,
				end - j > 1 ? "pages" : "page");
			dot_range(out, v, j, end);
			fprintf(out,
				"\\nshared by %lu views\", shape=box3d, %s];\n",
				v->pages[j].refcount, "fillcolor=lightblue");
		}
	}
}

/* Edges from a view's shared ranges to their nodes, and to the zero page. */
static void dot_edges(FILE *out, const struct view *v, const struct frames *fr)
{
	const struct page *p;
	size_t i, end;

	for (i = 0; i < v->nr_pages; i = end) {
		end = run_end(v, i);
		p = &v->pages[i];
		if (is_shared(p))
			fprintf(out, "\tv%llu_%lu -> f%zu;\n", v->line.id,
				p->pgoff, *frame_node(fr, p->pfn));
		else if (!strcmp(p->state, "zero"))
			fprintf(out, "\tv%llu_%lu -> zero [style=dashed];\n",
				v->line.id, p->pgoff);
	}
}

static void dot_regions(FILE *out, const struct views *vs, struct frames *fr)
{
	unsigned long long region;
	size_t i, j;

	for (i = 0; i < vs->n; i++) {
		region = vs->v[i].line.region;
		if (i && region == vs->v[i - 1].line.region)
			continue;
		fprintf(out, "\tsubgraph cluster_r%llu {\n", region);
		fprintf(out, "\t\tlabel=\"region %llu (%lu pages)\";\n", region,
			vs->v[i].line.size);
		for (j = i; j < vs->n && vs->v[j].line.region == region; j++)
			dot_view(out, &vs->v[j]);
		dot_shared(out, vs, region, fr);
		fprintf(out, "\t}\n");
	}
}

static int region_cmp(const void *a, const void *b)
{
	const struct view *x = a, *y = b;

	if (x->line.region != y->line.region)
		return x->line.region < y->line.region ? -1 : 1;
	return view_cmp(a, b);
}

static bool maps_zero_page(const struct views *vs)
{
	size_t i, j;

	for (i = 0; i < vs->n; i++)
		for (j = 0; j < vs->v[i].nr_pages; j++)
			if (!vs->v[i].pages[j].pfn)
				return true;
	return false;
}

static void dot_graph(FILE *out, const struct views *vs, struct frames *fr)
{
	static const char *const head[] = {
		"digraph cowmem {\n",
		"\tgraph [fontname=Helvetica, labelloc=t,\n",
		"\t       label=\"cowmem views and the pages they map\"];\n",
		"\tnode [shape=box, style=\"rounded,filled\", fontname=Helvetica,\n",
		"\t      fontsize=10];\n",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(head); i++)
		fputs(head[i], out);
	if (maps_zero_page(vs))
		fputs("\tzero [label=\"zero page\", fillcolor=gray90];\n", out);
	dot_regions(out, vs, fr);
	for (i = 0; i < vs->n; i++)
		dot_edges(out, &vs->v[i], fr);
	fputs("}\n", out);
}

static int render_dot(FILE *out, const struct opts *o)
{
	struct frames fr = { NULL, NULL, 0, 0 };
	struct views vs = { NULL, 0 };
	size_t i;
	int ret;

	ret = cowstat_load_views(&vs, o->pid);
	for (i = 0; !ret && i < vs.n; i++)
		ret = cowstat_load_pages(&vs.v[i]);
	if (!ret && vs.n)
		qsort(vs.v, vs.n, sizeof(*vs.v), region_cmp);
	if (!ret)
		ret = frames_collect(&fr, &vs);
	if (!ret)
		dot_graph(out, &vs, &fr);
	free(fr.pfn);
	free(fr.node);
	cowstat_free_views(&vs);
	return ret;
}

static int render(FILE *out, const struct opts *o)
{
	bool color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");

	if (o->map)
		return cowstat_map(out, o->pid, o->native, color);
	return o->dot ? render_dot(out, o) : render_text(out, o);
}

static void report_error(FILE *out)
{
	int err = errno;

	fprintf(out, "cowstat: %s: %s\n",
		failed_path[0] ? failed_path : COWMEM_DEBUGFS, strerror(err));
	if (err == ENOENT)
		fputs("cowstat: is cowmem loaded, and debugfs mounted?\n", out);
	else if (err == EACCES || err == EPERM)
		fputs("cowstat: cowmem's debugfs is for root only\n", out);
}

/* Renders off screen first, so that a redraw does not flicker. */
static void draw_frame(const struct opts *o)
{
	char *frame, stamp[32];
	size_t len;
	time_t now;
	FILE *out;

	out = open_memstream(&frame, &len);
	if (!out)
		return;
	now = time(NULL);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
	fprintf(out, "\033[H\033[2Jcowstat: every %gs, %s (Ctrl-C quits)\n\n",
		o->watch, stamp);
	if (render(out, o) < 0)
		report_error(out);
	fclose(out);
	fwrite(frame, 1, len, stdout);
	fflush(stdout);
	free(frame);
}

/*
 * SIGINT stays blocked and is waited for between frames: it ends the wait
 * at once, and one that comes during a redraw ends the next wait.
 */
static int watch(const struct opts *o)
{
	struct timespec ts;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL)) {
		perror("cowstat: sigprocmask");
		return 1;
	}
	for (;;) {
		draw_frame(o);
		ts.tv_sec = (time_t)o->watch;
		ts.tv_nsec = (long)((o->watch - (double)ts.tv_sec) * 1e9);
		if (sigtimedwait(&set, NULL, &ts) == SIGINT)
			return 0;
	}
}

static void print_help(FILE *f)
{
	fprintf(f,
		"usage: cowstat [-p PID] [--watch [SECONDS]] [--dot | --map [--native PID]]\n"
		"Shows what cowmem holds, from %s (root only).\n"
		"  (none)             counters, then every live view\n"
		"  -p, --pid PID      only PID's views, and the pages of each\n"
		"  --watch [SECONDS]  redraw every SECONDS (default 1) until Ctrl-C\n"
		"  --dot              a Graphviz digraph of the views and the pages they\n"
		"                     share: cowstat --dot | dot -Tsvg >cowmem.svg\n"
		"  --map              one cell per page, one row per view (with -p, PID's\n"
		"                     regions): . untouched, z zero page, # exclusive,\n"
		"                     2-9 shared by that many; with --watch, changes flash\n"
		"  --native PID       with --map: the kernel's own COW beside it, in the\n"
		"                     same-sized private anonymous mappings of PID and its\n"
		"                     children (/proc/PID/pagemap, /proc/kpagecount)\n"
		"  -h, --help         this text\n",
		COWMEM_DEBUGFS);
}

static double parse_seconds(const char *arg)
{
	char *end;
	double s = strtod(arg, &end);

	if (end == arg || *end || !(s >= 0.1 && s <= 3600)) {
		fprintf(stderr,
			"cowstat: bad interval '%s' (0.1 to 3600 seconds)\n",
			arg);
		exit(2);
	}
	return s;
}

static long parse_pid(const char *arg)
{
	char *end;
	long pid = strtol(arg, &end, 10);

	if (end == arg || *end || pid <= 0) {
		fprintf(stderr, "cowstat: bad pid '%s'\n", arg);
		exit(2);
	}
	return pid;
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "watch", optional_argument, NULL, 'w' },
		{ "dot", no_argument, NULL, 'd' },
		{ "map", no_argument, NULL, 'm' },
		{ "native", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			o->pid = parse_pid(optarg);
			break;
		case 'w':
			/* "--watch 2" as well as "--watch=2" */
			if (!optarg && optind < argc &&
			    isdigit((unsigned char)argv[optind][0]))
				optarg = argv[optind++];
			o->watch = optarg ? parse_seconds(optarg) : 1;
			break;
		case 'd':
			o->dot = true;
			break;
		case 'm':
			o->map = true;
			break;
		case 'n':
			o->native = parse_pid(optarg);
			break;
		case 'h':
			print_help(stdout);
			exit(0);
		default:
			print_help(stderr);
			exit(2);
		}
	}
	if (o->dot && (o->watch || o->map)) {
		fprintf(stderr,
			"cowstat: --dot draws once, alone: no --watch or --map\n");
		exit(2);
	}
	if (o->native && !o->map) {
		fprintf(stderr, "cowstat: --native PID goes with --map\n");
		exit(2);
	}
	if (o->native && geteuid()) {
		fprintf(stderr,
			"cowstat: --native reads /proc/kpagecount and the frames in /proc/PID/pagemap: run it as root\n");
		exit(2);
	}
	if (optind != argc) {
		print_help(stderr);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	FILE *probe;

	parse(argc, argv, &o);
	probe = open_debugfs("stats");
	if (!probe) {
		report_error(stderr);
		return 1;
	}
	fclose(probe);
	if (o.watch)
		return watch(&o);
	switch (render(stdout, &o)) {
	case 0:
		return 0;
	case 1:
		fprintf(stderr, "cowstat: pid %ld has no live cowmem view\n",
			o.pid);
		return 1;
	default:
		report_error(stderr);
		return 1;
	}
}
