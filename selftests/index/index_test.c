// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the copy-on-write page index, module/index.c, built in
 * userspace on a shim (shim/) the way the kernel's tools/testing/radix-tree
 * builds lib/xarray.c: no VM, no module, the real index.c. A frame here is
 * a struct cowmem_frame without a page (shim.c stands in for frame.c).
 *
 * Every fixture's teardown releases what the test left in its indexes, then
 * fails the test if a node or a frame is left, or if anything warned.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "index.h"
#include "shim.h"

#define NR_INDEXES 8

/* The pages an index of two and of three levels covers. */
#define TWO_LEVELS (COWMEM_NODE_SLOTS * COWMEM_NODE_SLOTS)
#define THREE_LEVELS (TWO_LEVELS * COWMEM_NODE_SLOTS)

static unsigned int holders(struct cowmem_frame *frame)
{
	return refcount_read(&frame->holders);
}

static unsigned int refs(struct cowmem_node *node)
{
	return refcount_read(&node->ref);
}

/* The node at @level on @pgoff's path, or NULL. */
static struct cowmem_node *node_at(struct cowmem_index *index, pgoff_t pgoff,
				   unsigned int level)
{
	struct cowmem_node *node = index->root;
	unsigned int shift;

	while (node && node->level > level) {
		shift = node->level * COWMEM_NODE_SHIFT;
		node = node->slots[(pgoff >> shift) % COWMEM_NODE_SLOTS];
	}
	return node;
}

/* Puts @frame (its reference passed in) at @pgoff and drops the old one. */
static struct cowmem_frame *store(struct __test_metadata *_metadata,
				  struct cowmem_index *index, pgoff_t pgoff,
				  struct cowmem_frame *frame)
{
	struct cowmem_frame *old;

	ASSERT_EQ(0, cowmem_index_replace(index, pgoff, frame, &old));
	if (old)
		cowmem_frame_put(old);
	return frame;
}

/* What a walk saw of one page, and that frame's holders at the time. */
struct seen {
	pgoff_t pgoff;
	struct cowmem_frame *frame;
	bool exclusive;
	unsigned int holders;
};

struct pages {
	size_t nr, cap;
	struct seen *seen;
};

static void pages_add(pgoff_t pgoff, struct cowmem_frame *frame, bool exclusive,
		      void *data)
{
	struct pages *pages = data;

	if (pages->nr == pages->cap) {
		pages->cap = pages->cap ? 2 * pages->cap : 64;
		pages->seen =
			realloc(pages->seen, pages->cap * sizeof(*pages->seen));
		if (!pages->seen)
			abort();
	}
	pages->seen[pages->nr++] = (struct seen){
		.pgoff = pgoff,
		.frame = frame,
		.exclusive = exclusive,
		.holders = holders(frame),
	};
}

static void pages_of(struct pages *pages, struct cowmem_index *index)
{
	pages->nr = 0;
	cowmem_index_walk(index, pages_add, pages);
}

static bool pages_equal(struct pages *a, struct pages *b)
{
	size_t i;

	if (a->nr != b->nr)
		return false;
	for (i = 0; i < a->nr; i++) {
		if (a->seen[i].pgoff != b->seen[i].pgoff ||
		    a->seen[i].frame != b->seen[i].frame ||
		    a->seen[i].exclusive != b->seen[i].exclusive ||
		    a->seen[i].holders != b->seen[i].holders)
			return false;
	}
	return true;
}

/* A pointer -> count table: how many slots and roots hold each object. */
struct holder {
	void *object;
	unsigned long count;
	bool node;
};

struct tally {
	size_t cap, used;
	struct holder *holders;
};

static struct holder *tally_add(struct tally *t, void *object, bool node)
{
	size_t i = ((uintptr_t)object >> 4) * 0x9e3779b97f4a7c15ULL % t->cap;

	while (t->holders[i].object && t->holders[i].object != object)
		i = (i + 1) % t->cap;
	if (!t->holders[i].object) {
		if (2 * ++t->used > t->cap)
			abort(); /* the tests stay far below */
		t->holders[i].object = object;
		t->holders[i].node = node;
	}
	t->holders[i].count++;
	return &t->holders[i];
}

/* Counts the holders below @node, the first time it is met. */
static void tally_node(struct __test_metadata *_metadata, struct tally *t,
		       struct cowmem_node *node, unsigned int level)
{
	unsigned int i;

	if (tally_add(t, node, true)->count > 1)
		return;
	ASSERT_EQ(level, node->level);
	for (i = 0; i < COWMEM_NODE_SLOTS; i++) {
		if (!node->slots[i])
			continue;
		if (level)
			tally_node(_metadata, t, node->slots[i], level - 1);
		else
			tally_add(t, node->slots[i], false);
	}
}

/*
 * The census of @nr indexes, which must be all that hold anything: every
 * node's ref counts the roots and parent slots pointing at it, every frame's
 * holders the leaf slots holding it, each index's present its pages, and no
 * node or frame exists that none of them reaches. @held: frames the test
 * holds a reference on outside the indexes.
 */
static void census(struct __test_metadata *_metadata,
		   struct cowmem_index *indexes, unsigned int nr, long held)
{
	struct tally t = { .cap = 1 << 16 };
	struct pages pages = {};
	long nodes = 0, frames = 0, present = 0;
	unsigned int i;
	size_t j;

	t.holders = calloc(t.cap, sizeof(*t.holders));
	ASSERT_NE(NULL, t.holders);
	for (i = 0; i < nr; i++) {
		if (indexes[i].root)
			tally_node(_metadata, &t, indexes[i].root,
				   indexes[i].levels - 1);
		pages_of(&pages, &indexes[i]);
		EXPECT_EQ(pages.nr, indexes[i].present);
		present += indexes[i].present;
	}
	/* The counter behind debugfs bytes_saved follows every index. */
	EXPECT_EQ(present, cowmem_stats.held_pages);
	for (j = 0; j < t.cap; j++) {
		struct holder *h = &t.holders[j];

		if (!h->object)
			continue;
		if (h->node) {
			nodes++;
			EXPECT_EQ(h->count, refs(h->object));
		} else {
			frames++;
			EXPECT_EQ(h->count, holders(h->object));
		}
	}
	EXPECT_EQ(nodes, shim.slab_live);
	EXPECT_EQ(nodes, cowmem_stats.nodes);
	EXPECT_EQ(frames + held, shim.frames_live);
	free(pages.seen);
	free(t.holders);
}

/*
 * Eight empty indexes of three levels; any of them a test leaves full is
 * released by the teardown, which then checks that nothing is left.
 */
FIXTURE(index)
{
	struct cowmem_index ix[NR_INDEXES];
};

FIXTURE_SETUP(index)
{
	unsigned int i;

	memset(&shim, 0, sizeof(shim));
	memset(&cowmem_stats, 0, sizeof(cowmem_stats));
	ASSERT_EQ(0, cowmem_nodes_init());
	for (i = 0; i < NR_INDEXES; i++)
		cowmem_index_init(&self->ix[i], THREE_LEVELS);
}

FIXTURE_TEARDOWN(index)
{
	unsigned int i;

	for (i = 0; i < NR_INDEXES; i++)
		cowmem_index_release(&self->ix[i]);
	cowmem_nodes_exit();
	EXPECT_EQ(0, shim.slab_live);
	EXPECT_EQ(0, cowmem_stats.nodes);
	EXPECT_EQ(0, cowmem_stats.held_pages);
	EXPECT_EQ(0, shim.frames_live);
	EXPECT_EQ(0, shim.warnings);
}

/* index_init() picks the fewest levels whose 64^levels pages cover nr_pages. */
TEST(init_levels)
{
	struct cowmem_index index;
	unsigned int levels;
	pgoff_t span;

	ASSERT_EQ(11, COWMEM_INDEX_MAX_LEVELS);
	cowmem_index_init(&index, 0);
	EXPECT_EQ(1, index.levels);
	EXPECT_NULL(index.root);
	EXPECT_EQ(0, index.present);
	cowmem_index_init(&index, 1);
	EXPECT_EQ(1, index.levels);
	for (levels = 1; levels < COWMEM_INDEX_MAX_LEVELS; levels++) {
		span = 1UL << (levels * COWMEM_NODE_SHIFT);
		cowmem_index_init(&index, span - 1);
		EXPECT_EQ(levels, index.levels);
		cowmem_index_init(&index, span);
		EXPECT_EQ(levels, index.levels);
		cowmem_index_init(&index, span + 1);
		EXPECT_EQ(levels + 1, index.levels);
	}
	cowmem_index_init(&index, ~0UL);
	EXPECT_EQ(COWMEM_INDEX_MAX_LEVELS, index.levels);
}

/*
 * After share() and a replace() in the clone, the original still shows what
 * it did; only the nodes on the path were copied, their untouched siblings
 * are shared (ref 2), and the replaced frame lost the clone's reference.
 */
TEST_F(index, path_copy)
{
	static const pgoff_t pages[] = { 0, 1, 64, 65, 130, 4096, 8191 };
	struct cowmem_index *a = &self->ix[0], *b = &self->ix[1];
	struct cowmem_frame *frames[ARRAY_SIZE(pages)], *fresh, *old;
	struct cowmem_node *a_root, *a_mid, *a_leaf;
	unsigned long allocs;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pages); i++)
		frames[i] = store(_metadata, a, pages[i], shim_frame_new());
	/* root, two level-1 nodes, leaves for 0, 64, 128, 4096, 8128 */
	ASSERT_EQ(8, cowmem_stats.nodes);
	a_root = a->root;
	a_mid = node_at(a, 0, 1);
	a_leaf = node_at(a, 0, 0);

	cowmem_index_share(b, a);
	ASSERT_EQ(a_root, b->root);
	ASSERT_EQ(2, refs(a_root));
	ASSERT_EQ(8, shim.slab_allocs);

	fresh = shim_frame_new();
	ASSERT_EQ(0, cowmem_index_replace(b, 1, fresh, &old));
	ASSERT_EQ(frames[1], old);
	/* The root, the level-1 node and the leaf over page 1: nothing else. */
	EXPECT_EQ(8 + 3, shim.slab_allocs);
	EXPECT_EQ(3, cowmem_stats.node_copies);
	EXPECT_EQ(11, cowmem_stats.nodes);

	/* The original is as it was, and now alone on the copied path. */
	EXPECT_EQ(a_root, a->root);
	EXPECT_EQ(a_mid, node_at(a, 0, 1));
	EXPECT_EQ(a_leaf, node_at(a, 0, 0));
	EXPECT_EQ(1, refs(a_root));
	EXPECT_EQ(1, refs(a_mid));
	EXPECT_EQ(1, refs(a_leaf));
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		EXPECT_EQ(frames[i], cowmem_index_lookup(a, pages[i], NULL));
	EXPECT_EQ(ARRAY_SIZE(pages), a->present);

	/* The clone has its own copies on the path, sharing the rest. */
	EXPECT_NE(a_root, b->root);
	EXPECT_NE(a_mid, node_at(b, 0, 1));
	EXPECT_NE(a_leaf, node_at(b, 0, 0));
	EXPECT_EQ(1, refs(b->root));
	EXPECT_EQ(node_at(a, 64, 0), node_at(b, 64, 0));
	EXPECT_EQ(2, refs(node_at(b, 64, 0)));
	EXPECT_EQ(node_at(a, 130, 0), node_at(b, 130, 0));
	EXPECT_EQ(2, refs(node_at(b, 130, 0)));
	EXPECT_EQ(node_at(a, 4096, 1), node_at(b, 4096, 1));
	EXPECT_EQ(2, refs(node_at(b, 4096, 1)));
	EXPECT_EQ(fresh, cowmem_index_lookup(b, 1, NULL));
	EXPECT_EQ(frames[0], cowmem_index_lookup(b, 0, NULL));
	EXPECT_EQ(ARRAY_SIZE(pages), b->present);

	/*
	 * Both leaves over page 0 hold its frame; page 1's old frame is
	 * returned with the clone's reference, which the caller drops.
	 */
	EXPECT_EQ(2, holders(frames[0]));
	EXPECT_EQ(2, holders(old));
	EXPECT_FALSE(cowmem_frame_put(old));
	EXPECT_EQ(1, holders(frames[1]));
	EXPECT_EQ(1, holders(fresh));
	EXPECT_EQ(1, holders(frames[2]));
	census(_metadata, self->ix, 2, 0);

	/* A second write on the same path copies nothing. */
	allocs = shim.slab_allocs;
	store(_metadata, b, 0, shim_frame_new());
	EXPECT_EQ(allocs, shim.slab_allocs);
	EXPECT_EQ(3, cowmem_stats.node_copies);
	EXPECT_EQ(frames[0], cowmem_index_lookup(a, 0, NULL));
	EXPECT_EQ(1, holders(frames[0]));
	census(_metadata, self->ix, 2, 0);
}

/*
 * A replace() that fails at any of its failure points, at any depth, leaves
 * both indexes showing what they showed (pages, frames, exclusive flags,
 * holders), every refcount consistent and nothing leaked.
 */
TEST_F(index, failed_replace)
{
	/* Under a shared path; below a missing level-1 node; unshared. */
	static const struct {
		pgoff_t pgoff;
		bool shared;
		unsigned long allocs;
	} cases[] = {
		{ 65, true, 3 },      { 2 * TWO_LEVELS + 5, true, 3 },
		{ 64 * 5, true, 3 },  { 65, false, 0 },
		{ 64 * 6, false, 1 }, { 3 * TWO_LEVELS, false, 2 },
	};
	static const pgoff_t pages[] = { 0, 64, 65, 4096, 4097, 64 * 5 + 1 };
	struct cowmem_index *a = &self->ix[0], *b = &self->ix[1];
	struct pages a_before = {}, b_before = {}, a_now = {}, b_now = {};
	struct cowmem_frame *frame, *old;
	unsigned long n, allocs;
	unsigned int c, i;
	int ret;

	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		/* Each failure point from the same start, until none is left. */
		for (n = 1;; n++) {
			for (i = 0; i < ARRAY_SIZE(pages); i++)
				store(_metadata, a, pages[i], shim_frame_new());
			if (cases[c].shared)
				cowmem_index_share(b, a);
			pages_of(&a_before, a);
			pages_of(&b_before, b);
			frame = shim_frame_new();
			allocs = shim.slab_allocs;
			shim.fail_nth = n;
			ret = cowmem_index_replace(a, cases[c].pgoff, frame,
						   &old);
			shim.fail_nth = 0;
			if (!ret)
				break;
			ASSERT_EQ(-ENOMEM, ret);
			ASSERT_NULL(old);
			pages_of(&a_now, a);
			pages_of(&b_now, b);
			ASSERT_TRUE(pages_equal(&a_before, &a_now))
			TH_LOG("case %u, failure point %lu", c, n);
			ASSERT_TRUE(pages_equal(&b_before, &b_now))
			TH_LOG("case %u, failure point %lu", c, n);
			census(_metadata, self->ix, 2, 1);
			ASSERT_TRUE(_metadata->passed)
			TH_LOG("case %u, failure point %lu", c, n);
			cowmem_frame_put(frame);
			cowmem_index_release(a);
			cowmem_index_release(b);
			ASSERT_EQ(0, shim.slab_live);
			ASSERT_EQ(0, shim.frames_live);
		}
		/* The entry point, then two per node allocated: every depth. */
		EXPECT_EQ(cases[c].allocs, shim.slab_allocs - allocs)
		TH_LOG("case %u", c);
		EXPECT_EQ(1 + 2 * cases[c].allocs, n - 1)
		TH_LOG("case %u", c);
		EXPECT_EQ(frame, cowmem_index_lookup(a, cases[c].pgoff, NULL));
		if (old)
			cowmem_frame_put(old);
		census(_metadata, self->ix, 2, 0);
		cowmem_index_release(a);
		cowmem_index_release(b);
	}
	free(a_before.seen);
	free(b_before.seen);
	free(a_now.seen);
	free(b_now.seen);
}

/*
 * A publish (a fault's swap) happens only over the frame it expected, and
 * copies the shared path with its spare nodes, one per level, leaving the
 * originals to cowmem_index_spares_put(): before that, the clone's nodes
 * still count the publisher's old path.
 */
TEST_F(index, publish_swaps_only_the_expected_frame)
{
	struct cowmem_index *a = &self->ix[0], *b = &self->ix[1];
	struct cowmem_frame *mine, *copy, *other;
	struct cowmem_index_spares spares;
	struct cowmem_node *b_root;
	unsigned int seq;

	mine = store(_metadata, a, 5, shim_frame_new());
	cowmem_index_share(b, a);
	b_root = b->root;
	ASSERT_EQ(0, cowmem_index_spares_get(a, 5, &spares));
	ASSERT_EQ(a->levels, spares.nr);
	copy = shim_frame_new();
	other = shim_frame_new();

	/* Another fault replaced the frame meanwhile: nothing changes. */
	EXPECT_EQ(-EAGAIN,
		  cowmem_index_publish(a, 5, other, true, copy, &spares));
	EXPECT_EQ(mine, cowmem_index_lookup(a, 5, NULL));
	EXPECT_EQ(a->levels, spares.nr);
	EXPECT_EQ(0, spares.nr_drop);
	EXPECT_EQ(b_root, a->root);

	seq = a->seq.sequence;
	ASSERT_EQ(0, cowmem_index_publish(a, 5, mine, true, copy, &spares));
	/* Lookups without a lock see the publish. */
	EXPECT_EQ(seq + 2, a->seq.sequence);
	EXPECT_EQ(copy, cowmem_index_lookup(a, 5, NULL));
	EXPECT_EQ(mine, cowmem_index_lookup(b, 5, NULL));
	EXPECT_EQ(0, spares.nr);
	EXPECT_EQ(a->levels, spares.nr_drop);
	/* Until the originals are dropped, b's root still counts a's hold. */
	EXPECT_EQ(2, refs(b_root));
	cowmem_index_spares_put(&spares);
	EXPECT_EQ(1, refs(b_root));
	/* The index's reference on mine came back with the swap. */
	EXPECT_EQ(2, holders(mine));
	cowmem_frame_put(mine);
	cowmem_frame_put(other);
	census(_metadata, self->ix, 2, 0);
}

/*
 * Spares are counted from the path: one per missing or shared node, none
 * once the path is the index's alone; unused ones are freed again. A
 * publish short of spares (the path changed) changes nothing it shows.
 */
TEST_F(index, spares_follow_the_path)
{
	struct cowmem_index *a = &self->ix[0], *b = &self->ix[1];
	struct cowmem_index_spares spares;
	struct cowmem_frame *mine, *copy;

	ASSERT_EQ(0, cowmem_index_spares_get(a, 7, &spares));
	EXPECT_EQ(a->levels, spares.nr);
	EXPECT_EQ(a->levels, cowmem_stats.nodes);
	cowmem_index_spares_put(&spares);
	EXPECT_EQ(0, cowmem_stats.nodes);
	EXPECT_EQ(0, shim.slab_live);

	mine = store(_metadata, a, 7, shim_frame_new());
	ASSERT_EQ(0, cowmem_index_spares_get(a, 7, &spares));
	EXPECT_EQ(0, spares.nr);
	/* The frame is a's alone: a thread may write it, a copy is stale. */
	copy = shim_frame_new();
	EXPECT_EQ(-EAGAIN,
		  cowmem_index_publish(a, 7, mine, true, copy, &spares));
	EXPECT_EQ(mine, cowmem_index_lookup(a, 7, NULL));
	/* Shared from the root down: every level again. */
	cowmem_index_share(b, a);
	EXPECT_EQ(-EAGAIN,
		  cowmem_index_publish(a, 7, mine, true, copy, &spares));
	EXPECT_EQ(mine, cowmem_index_lookup(a, 7, NULL));
	EXPECT_EQ(mine, cowmem_index_lookup(b, 7, NULL));
	cowmem_index_spares_put(&spares);
	ASSERT_EQ(0, cowmem_index_spares_get(a, 7, &spares));
	EXPECT_EQ(a->levels, spares.nr);
	ASSERT_EQ(0, cowmem_index_publish(a, 7, mine, true, copy, &spares));
	cowmem_index_spares_put(&spares);
	cowmem_frame_put(mine);
	census(_metadata, self->ix, 2, 0);
}

/* Every node reachable from both @a and @b: what diff() must not read. */
static void shared_nodes(struct cowmem_node *a, struct cowmem_node *b,
			 struct cowmem_node **out, unsigned int *nr)
{
	unsigned int i;

	if (!a || !b)
		return;
	if (a == b) {
		out[(*nr)++] = a;
		if (a->level)
			for (i = 0; i < COWMEM_NODE_SLOTS; i++)
				shared_nodes(a->slots[i], a->slots[i], out, nr);
		return;
	}
	if (a->level)
		for (i = 0; i < COWMEM_NODE_SLOTS; i++)
			shared_nodes(a->slots[i], b->slots[i], out, nr);
}

static void protect(struct cowmem_node **nodes, unsigned int nr, bool readable)
{
	while (nr--)
		shim_protect(nodes[nr], readable);
}

/*
 * diff() counts exactly the pages whose frames differ (changed, emptied,
 * added; not a page rewritten with its own frame), and never reads a node
 * both indexes share: those are made unreadable while it runs.
 */
TEST_F(index, diff_skips_shared_subtrees)
{
	struct cowmem_index *a = &self->ix[0], *b = &self->ix[1];
	struct cowmem_index *c = &self->ix[2];
	struct cowmem_node *shared[64];
	struct cowmem_frame *frame;
	unsigned int nr = 0, sub, leaf, page;

	/* 8 level-1 subtrees of 4 leaves of 8 pages: 41 nodes, 256 pages. */
	for (sub = 0; sub < 8; sub++)
		for (leaf = 0; leaf < 4; leaf++)
			for (page = 0; page < 8; page++)
				store(_metadata, a,
				      sub * TWO_LEVELS + leaf * 64 + page,
				      shim_frame_new());
	ASSERT_EQ(41, cowmem_stats.nodes);
	cowmem_index_share(b, a);
	cowmem_index_share(c, a);

	/* Nothing changed: equal roots, not a node read. */
	shared_nodes(a->root, c->root, shared, &nr);
	ASSERT_EQ(41, nr);
	protect(shared, nr, false);
	EXPECT_EQ(0, cowmem_index_diff(a, c));
	protect(shared, nr, true);

	store(_metadata, b, 0, shim_frame_new());
	store(_metadata, b, 3, shim_frame_new());
	store(_metadata, b, 7, shim_frame_new());
	store(_metadata, b, TWO_LEVELS + 2 * 64 + 1, NULL);
	store(_metadata, b, TWO_LEVELS + 2 * 64 + 6, NULL);
	for (page = 0; page < 5; page++)
		store(_metadata, b, 12 * TWO_LEVELS + page * 100,
		      shim_frame_new());
	frame = cowmem_index_lookup(b, 2 * TWO_LEVELS + 64 + 4, NULL);
	cowmem_frame_get(frame);
	store(_metadata, b, 2 * TWO_LEVELS + 64 + 4, frame);

	/* 41 nodes minus the copied root, 3 level-1 nodes and 3 leaves. */
	nr = 0;
	shared_nodes(a->root, b->root, shared, &nr);
	ASSERT_EQ(41 - 1 - 3 - 3, nr);
	protect(shared, nr, false);
	EXPECT_EQ(3 + 2 + 5, cowmem_index_diff(a, b));
	EXPECT_EQ(3 + 2 + 5, cowmem_index_diff(b, a));
	protect(shared, nr, true);

	/* Indexes of two heights are not compared, with a warning. */
	cowmem_index_release(c);
	cowmem_index_init(c, TWO_LEVELS);
	EXPECT_EQ(0, cowmem_index_diff(a, c));
	EXPECT_EQ(1, shim.warnings);
	shim.warnings = 0;
	census(_metadata, self->ix, 3, 0);
}

/*
 * release() returns exactly the frames it freed: a clone frees only what it
 * alone held, the last holder frees the rest, and then nothing is left.
 */
TEST_F(index, release_counts)
{
	struct cowmem_index *a = &self->ix[0], *b = &self->ix[1];
	pgoff_t pgoff;

	EXPECT_EQ(0, cowmem_index_release(a));
	for (pgoff = 0; pgoff < 300; pgoff += 3)
		store(_metadata, a, pgoff * 11, shim_frame_new());
	ASSERT_EQ(100, a->present);

	/* An unchanged clone holds nothing alone. */
	cowmem_index_share(b, a);
	EXPECT_EQ(0, cowmem_index_release(b));
	EXPECT_EQ(0, shim.frames_freed);
	EXPECT_NULL(b->root);
	EXPECT_EQ(0, b->present);
	EXPECT_EQ(1, refs(a->root));
	census(_metadata, self->ix, 2, 0);

	/* A clone with 7 frames of its own over a's, and 5 pages emptied. */
	cowmem_index_share(b, a);
	for (pgoff = 0; pgoff < 7; pgoff++)
		store(_metadata, b, pgoff * 33 * 10, shim_frame_new());
	for (pgoff = 0; pgoff < 5; pgoff++)
		store(_metadata, b, (pgoff * 33 + 3) * 11, NULL);
	EXPECT_EQ(0, shim.frames_freed);
	EXPECT_EQ(7, cowmem_index_release(b));
	EXPECT_EQ(7, shim.frames_freed);
	census(_metadata, self->ix, 2, 0);

	/* a still holds all of its 100. */
	EXPECT_EQ(100, cowmem_index_release(a));
	EXPECT_EQ(7 + 100, shim.frames_freed);
	EXPECT_EQ(0, shim.slab_live);
	EXPECT_EQ(0, shim.frames_live);
	EXPECT_EQ(0, cowmem_stats.nodes);
}

/*
 * lookup()'s exclusive flag is true only when the frame and every node on
 * its path have one holder; leaf()'s sole flag covers the nodes alone.
 */
TEST_F(index, lookup_exclusive)
{
	struct cowmem_index *a = &self->ix[0], *b = &self->ix[1];
	struct cowmem_frame *frame;
	bool exclusive, sole;

	store(_metadata, a, 0, shim_frame_new());
	store(_metadata, a, 1, shim_frame_new());
	store(_metadata, a, 64, shim_frame_new());
	EXPECT_NE(NULL, cowmem_index_lookup(a, 0, &exclusive));
	EXPECT_TRUE(exclusive);
	EXPECT_NULL(cowmem_index_lookup(a, 2, &exclusive));
	EXPECT_FALSE(exclusive);
	EXPECT_NULL(cowmem_index_lookup(a, TWO_LEVELS, &exclusive));
	EXPECT_FALSE(exclusive);

	/* A frame with a second holder. */
	frame = cowmem_index_lookup(a, 1, NULL);
	cowmem_frame_get(frame);
	cowmem_index_lookup(a, 1, &exclusive);
	EXPECT_FALSE(exclusive);
	EXPECT_NE(NULL, cowmem_index_leaf(a, 1, &sole));
	EXPECT_TRUE(sole);
	cowmem_frame_put(frame);
	cowmem_index_lookup(a, 1, &exclusive);
	EXPECT_TRUE(exclusive);

	/* A shared root: nothing is exclusive on either side. */
	cowmem_index_share(b, a);
	cowmem_index_lookup(a, 0, &exclusive);
	EXPECT_FALSE(exclusive);
	cowmem_index_lookup(b, 64, &exclusive);
	EXPECT_FALSE(exclusive);
	cowmem_index_leaf(b, 64, &sole);
	EXPECT_FALSE(sole);

	/*
	 * b writes page 0: its own path and frame are exclusive; page 1 is
	 * on its own path but shared as a frame; page 64 sits in a shared
	 * leaf. In a, page 0 is back to a single holder, page 1 is not.
	 */
	store(_metadata, b, 0, shim_frame_new());
	cowmem_index_lookup(b, 0, &exclusive);
	EXPECT_TRUE(exclusive);
	cowmem_index_lookup(b, 1, &exclusive);
	EXPECT_FALSE(exclusive);
	cowmem_index_leaf(b, 1, &sole);
	EXPECT_TRUE(sole);
	cowmem_index_lookup(b, 64, &exclusive);
	EXPECT_FALSE(exclusive);
	cowmem_index_leaf(b, 64, &sole);
	EXPECT_FALSE(sole);
	cowmem_index_lookup(a, 0, &exclusive);
	EXPECT_TRUE(exclusive);
	cowmem_index_lookup(a, 1, &exclusive);
	EXPECT_FALSE(exclusive);
	cowmem_index_lookup(a, 64, &exclusive);
	EXPECT_FALSE(exclusive);

	/* Once b is gone, all of a is exclusive again. */
	cowmem_index_release(b);
	cowmem_index_lookup(a, 1, &exclusive);
	EXPECT_TRUE(exclusive);
	cowmem_index_lookup(a, 64, &exclusive);
	EXPECT_TRUE(exclusive);
}

/*
 * A pin reads what the index held when it was taken, whatever the index
 * writes afterwards: the write copies instead of changing a pinned node or
 * frame. A pin counts in no statistic, and its unpin frees what the index
 * replaced meanwhile, and only that.
 */
TEST_F(index, pin_keeps_what_it_pinned)
{
	struct cowmem_index *a = &self->ix[0], pin;
	struct cowmem_frame *old, *new;
	long held;
	bool exclusive;

	old = shim_frame_new();
	store(_metadata, a, 0, old);
	store(_metadata, a, 64, shim_frame_new());
	held = cowmem_stats.held_pages;
	cowmem_index_pin(&pin, a);
	EXPECT_EQ(held, cowmem_stats.held_pages);
	EXPECT_EQ(old, cowmem_index_lookup(&pin, 0, NULL));
	/* Pinned, the index's page is shared: a write would copy. */
	EXPECT_EQ(old, cowmem_index_lookup(a, 0, &exclusive));
	EXPECT_FALSE(exclusive);

	new = shim_frame_new();
	store(_metadata, a, 0, new);
	EXPECT_EQ(new, cowmem_index_lookup(a, 0, &exclusive));
	EXPECT_TRUE(exclusive);
	EXPECT_EQ(old, cowmem_index_lookup(&pin, 0, NULL));
	EXPECT_EQ(cowmem_index_lookup(a, 64, NULL),
		  cowmem_index_lookup(&pin, 64, NULL));

	/* The replaced frame was the pin's alone. */
	EXPECT_EQ(1, cowmem_index_unpin(&pin));
	EXPECT_NULL(cowmem_index_lookup(&pin, 0, NULL));
	cowmem_index_lookup(a, 64, &exclusive);
	EXPECT_TRUE(exclusive);
	EXPECT_EQ(held, cowmem_stats.held_pages);
}

/* A tiny PRNG of our own, so that a seed means the same run everywhere. */
static u64 rng_state;

static u64 rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/*
 * walk() calls back once per present page, in page order, with the frame
 * and the exclusive flag lookup() gives.
 */
TEST_F(index, walk_order)
{
	struct cowmem_index *a = &self->ix[0], *b = &self->ix[1];
	struct cowmem_index *which[] = { a, b };
	struct pages pages = {};
	struct cowmem_frame *frame;
	struct seen *seen;
	unsigned int i, w;
	bool exclusive;

	rng_state = 7;
	for (i = 0; i < 400; i++)
		store(_metadata, a, rng() % THREE_LEVELS, shim_frame_new());
	cowmem_index_share(b, a);
	for (i = 0; i < 40; i++)
		store(_metadata, b, rng() % THREE_LEVELS,
		      rng() % 4 ? shim_frame_new() : NULL);
	for (w = 0; w < ARRAY_SIZE(which); w++) {
		pages_of(&pages, which[w]);
		ASSERT_EQ(which[w]->present, pages.nr);
		ASSERT_GT(pages.nr, 300);
		for (i = 0; i < pages.nr; i++) {
			seen = &pages.seen[i];
			if (i)
				ASSERT_LT(seen[-1].pgoff, seen->pgoff);
			frame = cowmem_index_lookup(which[w], seen->pgoff,
						    &exclusive);
			ASSERT_EQ(frame, seen->frame);
			ASSERT_EQ(exclusive, seen->exclusive);
		}
	}
	free(pages.seen);
}

/*
 * Pages at the far ends of a full 64-bit index (11 levels) and on each
 * level's boundaries stay apart, with one node per distinct path prefix;
 * a write at the top offset in a clone copies all 11 nodes of its path.
 */
TEST_F(index, big_offsets)
{
	static const pgoff_t pages[] = {
		0,	   1,	      63,	 64,
		4095,	   4096,      1UL << 36, (1UL << 60) - 1,
		1UL << 60, ~0UL - 64, ~0UL - 1,	 ~0UL,
	};
	struct cowmem_index *a = &self->ix[0], *b = &self->ix[1];
	struct cowmem_frame *frames[ARRAY_SIZE(pages)];
	unsigned int i, j, level, shift;
	struct pages seen = {};
	long nodes = 1; /* the root */
	bool exclusive, first;
	pgoff_t far;

	cowmem_index_init(a, ~0UL);
	cowmem_index_init(b, ~0UL);
	ASSERT_EQ(11, a->levels);
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		frames[i] = store(_metadata, a, pages[i], shim_frame_new());
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		EXPECT_EQ(frames[i],
			  cowmem_index_lookup(a, pages[i], &exclusive));
		EXPECT_TRUE(exclusive);
		/* One bit away, where nothing was stored. */
		far = pages[i] ^ (1UL << 59);
		EXPECT_NULL(cowmem_index_lookup(a, far, NULL));
		far = pages[i] ^ (1UL << 18);
		EXPECT_NULL(cowmem_index_lookup(a, far, NULL));
	}
	/* Below the root, a node per distinct pgoff >> shift of its level. */
	for (level = 0; level < 10; level++) {
		shift = (level + 1) * COWMEM_NODE_SHIFT;
		for (i = 0; i < ARRAY_SIZE(pages); i++) {
			first = true;
			for (j = 0; j < i; j++)
				if (pages[j] >> shift == pages[i] >> shift)
					first = false;
			nodes += first;
		}
	}
	EXPECT_EQ(nodes, cowmem_stats.nodes);

	pages_of(&seen, a);
	ASSERT_EQ(ARRAY_SIZE(pages), seen.nr);
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		EXPECT_EQ(pages[i], seen.seen[i].pgoff);
		EXPECT_EQ(frames[i], seen.seen[i].frame);
	}

	cowmem_index_share(b, a);
	store(_metadata, b, ~0UL, shim_frame_new());
	EXPECT_EQ(11, cowmem_stats.node_copies);
	EXPECT_EQ(1, cowmem_index_diff(a, b));
	EXPECT_EQ(frames[ARRAY_SIZE(pages) - 1],
		  cowmem_index_lookup(a, ~0UL, NULL));
	census(_metadata, self->ix, 2, 0);
	free(seen.seen);
}

/* The differential test's model: per index, the frame of every page. */
#define MODEL_PAGES 5000
#define MODEL_STEPS 40000
#define MODEL_FRAMES (MODEL_STEPS + 1) /* a new one per step at most */

struct model {
	struct cowmem_frame **frame[NR_INDEXES]; /* NULL while not live */
	unsigned long occurrences[MODEL_FRAMES]; /* by frame id: (index, page) */
	long frames; /* frames some index holds */
};

static void model_hold(struct model *m, struct cowmem_frame *frame, int delta)
{
	if (!frame)
		return;
	if (frame->id >= MODEL_FRAMES)
		abort(); /* MODEL_STEPS makes fewer */
	if (!m->occurrences[frame->id])
		m->frames++;
	m->occurrences[frame->id] += delta;
	if (!m->occurrences[frame->id])
		m->frames--;
}

static pgoff_t model_page(void)
{
	/* Mostly a hot range, so that indexes keep sharing and diverging. */
	return rng() % 4 ? 1000 + rng() % 700 : rng() % MODEL_PAGES;
}

/* Releases index @i; returns how many frames the model says that frees. */
static unsigned long model_release(struct model *m, unsigned int i)
{
	unsigned long freed = 0;
	struct cowmem_frame *f;
	pgoff_t p;

	for (p = 0; p < MODEL_PAGES; p++) {
		f = m->frame[i][p];
		if (!f)
			continue;
		model_hold(m, f, -1);
		freed += !m->occurrences[f->id];
	}
	free(m->frame[i]);
	m->frame[i] = NULL;
	return freed;
}

/* A walk of index @i shows the model's pages, with lookup()'s flags. */
static void model_walk(struct __test_metadata *_metadata, struct model *m,
		       struct cowmem_index *index, unsigned int i)
{
	struct pages pages = {};
	struct seen *seen;
	size_t n = 0;
	pgoff_t p;

	pages_of(&pages, index);
	for (p = 0; p < MODEL_PAGES; p++) {
		if (!m->frame[i][p])
			continue;
		ASSERT_LT(n, pages.nr);
		seen = &pages.seen[n++];
		ASSERT_EQ(p, seen->pgoff);
		ASSERT_EQ(m->frame[i][p], seen->frame);
		ASSERT_EQ(m->occurrences[seen->frame->id] == 1,
			  seen->exclusive);
	}
	ASSERT_EQ(n, pages.nr);
	free(pages.seen);
}

/*
 * Random replaces (new frames, holes, another index's frame, injected
 * failures), shares and releases over 8 indexes agree with a model array per
 * index: lookups, exclusive flags, diff() and release() counts, and the
 * census stays consistent. The seed is fixed (INDEX_TEST_SEED to change).
 */
TEST_F_TIMEOUT(index, random_differential, 120)
{
	struct cowmem_frame *frame, *old, *want;
	const char *env = getenv("INDEX_TEST_SEED");
	unsigned long step, expect, failed = 0;
	unsigned int i, j, op;
	struct model *m;
	bool exclusive;
	pgoff_t p;
	int ret;

	rng_state = env ? strtoull(env, NULL, 0) : 0x13c0ffee;
	TH_LOG("seed %#llx", (unsigned long long)rng_state);
	m = calloc(1, sizeof(*m));
	ASSERT_NE(NULL, m);
	for (i = 0; i < NR_INDEXES; i++)
		cowmem_index_init(&self->ix[i], MODEL_PAGES);
	m->frame[0] = calloc(MODEL_PAGES, sizeof(*m->frame[0]));

	for (step = 0; step < MODEL_STEPS; step++) {
		i = rng() % NR_INDEXES;
		j = rng() % NR_INDEXES;
		op = rng() % 100;
		if (!m->frame[i]) {
			/* Not live: becomes a clone of a live one, or empty. */
			m->frame[i] = calloc(MODEL_PAGES, sizeof(*m->frame[i]));
			ASSERT_NE(NULL, m->frame[i]);
			if (!m->frame[j] || i == j)
				continue;
			cowmem_index_share(&self->ix[i], &self->ix[j]);
			for (p = 0; p < MODEL_PAGES; p++) {
				m->frame[i][p] = m->frame[j][p];
				model_hold(m, m->frame[i][p], 1);
			}
		} else if (op < 60) {
			p = model_page();
			if (op < 35) {
				frame = shim_frame_new();
			} else if (op < 45 || !m->frame[j]) {
				frame = NULL;
			} else {
				/* A frame another index holds, as a merge. */
				frame = m->frame[j][model_page()];
				if (frame)
					cowmem_frame_get(frame);
			}
			shim.fail_nth = rng() % 8 ? 0 : 1 + rng() % 7;
			ret = cowmem_index_replace(&self->ix[i], p, frame,
						   &old);
			shim.fail_nth = 0;
			if (ret) {
				ASSERT_EQ(-ENOMEM, ret);
				ASSERT_NULL(old);
				failed++;
				if (frame)
					cowmem_frame_put(frame);
				continue;
			}
			ASSERT_EQ(m->frame[i][p], old);
			model_hold(m, frame, 1);
			model_hold(m, old, -1);
			m->frame[i][p] = frame;
			if (old)
				cowmem_frame_put(old);
		} else if (op < 70) {
			expect = model_release(m, i);
			ASSERT_EQ(expect, cowmem_index_release(&self->ix[i]))
			TH_LOG("step %lu: release of index %u", step, i);
		} else if (op < 85) {
			for (p = 0; p < MODEL_PAGES; p += 1 + rng() % 50) {
				want = m->frame[i][p];
				frame = cowmem_index_lookup(&self->ix[i], p,
							    &exclusive);
				ASSERT_EQ(want, frame)
				TH_LOG("step %lu: index %u page %lu", step, i,
				       p);
				ASSERT_EQ(want && m->occurrences[want->id] == 1,
					  exclusive)
				TH_LOG("step %lu: index %u page %lu", step, i,
				       p);
			}
		} else if (op < 97) {
			if (!m->frame[j])
				continue;
			expect = 0;
			for (p = 0; p < MODEL_PAGES; p++)
				expect += m->frame[i][p] != m->frame[j][p];
			ASSERT_EQ(expect,
				  cowmem_index_diff(&self->ix[i], &self->ix[j]))
			TH_LOG("step %lu: diff of %u and %u", step, i, j);
		} else {
			model_walk(_metadata, m, &self->ix[i], i);
			census(_metadata, self->ix, NR_INDEXES, 0);
			ASSERT_TRUE(_metadata->passed)
			TH_LOG("step %lu", step);
		}
		ASSERT_EQ(m->frames, shim.frames_live)
		TH_LOG("step %lu", step);
		ASSERT_EQ(0, shim.warnings)
		TH_LOG("step %lu", step);
	}
	/* The run did what it is for. */
	TH_LOG("%d steps: %lu failed replaces, %lu node copies", MODEL_STEPS,
	       failed, cowmem_stats.node_copies);
	EXPECT_GT(failed, 100);
	EXPECT_GT(cowmem_stats.node_copies, 1000);
	census(_metadata, self->ix, NR_INDEXES, 0);
	for (i = 0; i < NR_INDEXES; i++) {
		if (!m->frame[i])
			continue;
		expect = model_release(m, i);
		EXPECT_EQ(expect, cowmem_index_release(&self->ix[i]));
	}
	EXPECT_EQ(0, m->frames);
	free(m);
}

TEST_HARNESS_MAIN
