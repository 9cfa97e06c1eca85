// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem with threads: the faults of one view on different pages do not
 * wait for each other, and two faults on one page both land. A COW break
 * is held between its copy and its publish by debugfs hold_copy (inject.c),
 * where it holds no lock: the tests wait for conditions, never for time,
 * and a fault that waited for the held one would hang the test until the
 * harness's timeout fails it.
 */
#include <pthread.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define PAGES 4
#define REGION_SETUP(map, psz) cowmem_fill((map), PAGES, (psz), 'a')
#define REGION_TEARDOWN() set_hold(0)
#define REGION_FREES_ALL
#define REGION_CLONES

static int set_hold(int value);

#include "cowmem_fixture.h"

#define HOLD_PATH COWMEM_DEBUGFS "/hold_copy"
#define CENSUS_PATH COWMEM_DEBUGFS "/hold_census"
#define HOLD_WAITING 2 /* a COW break (or a census) is held */

/* Writes a hold knob: 1 arms it, 0 lets what it holds go. */
static int set_knob(const char *path, int value)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%d\n", value) < 0;
	return fclose(f) || ret ? -1 : 0;
}

/* A hold knob: 0 idle, 1 armed, 2 held; -1 unreadable. */
static int knob_state(const char *path)
{
	FILE *f = fopen(path, "r");
	int value = -1;

	if (f) {
		if (fscanf(f, "%d", &value) != 1)
			value = -1;
		fclose(f);
	}
	return value;
}

/* Waits until the knob holds something; 0, or -1 when it cannot be read. */
static int wait_for_knob(const char *path)
{
	int state;

	while ((state = knob_state(path)) != HOLD_WAITING) {
		if (state < 0)
			return -1;
		usleep(1000);
	}
	return 0;
}

static int set_hold(int value)
{
	return set_knob(HOLD_PATH, value);
}

static int hold_state(void)
{
	return knob_state(HOLD_PATH);
}

static int wait_for_held_break(void)
{
	return wait_for_knob(HOLD_PATH);
}

/* One byte a thread stores. */
struct store {
	char *at;
	char value;
};

static void *store_thread(void *arg)
{
	struct store *s = arg;

	poke(s->at, s->value);
	return NULL;
}

/* page_sum() of a page whose every byte is @c. */
static __u64 fill_sum(size_t psz, char c)
{
	char *page = malloc(psz);
	__u64 sum = 0;

	if (page) {
		memset(page, c, psz);
		sum = page_sum(page, psz);
		free(page);
	}
	return sum;
}

/* Arms hold_copy and has a thread store @held: its COW break is held. */
static int hold_a_break(pthread_t *thread, struct store *held)
{
	if (set_hold(1) || pthread_create(thread, NULL, store_thread, held))
		return -1;
	return wait_for_held_break();
}

/* Lets the held break go and waits for its thread's store. */
static int release_the_break(pthread_t thread)
{
	return set_hold(0) ?: pthread_join(thread, NULL);
}

/* The clone still reads 'a' + i in every byte of every page i. */
static int clone_untouched(struct cowmem_peer *clone, size_t psz)
{
	struct peer_page rep[PAGES];

	if (peer_ask(clone, rep))
		return 0;
	for (int i = 0; i < PAGES; i++)
		if (rep[i].sum != fill_sum(psz, 'a' + i))
			return 0;
	return 1;
}

/*
 * A COW break held after its copy keeps no other thread's fault on another
 * page of the view (the next page: the same block) from completing.
 */
TEST_F(region, held_break_leaves_other_pages_free)
{
	struct store held = { .at = self->map, .value = 'x' };
	char *next = self->map + self->psz;
	pthread_t thread;

	ASSERT_EQ(0, hold_a_break(&thread, &held));
	poke(next, 'y');
	/* Done while the first break still waits. */
	EXPECT_EQ(HOLD_WAITING, hold_state());
	EXPECT_EQ('y', peek(next));
	ASSERT_EQ(0, release_the_break(thread));
	EXPECT_EQ('x', peek(self->map));
	EXPECT_EQ('a', peek(self->map + 1));
	EXPECT_EQ('b', peek(next + 1));
	EXPECT_TRUE(clone_untouched(&self->clone, self->psz));
}

/*
 * Two faults on one page: the second breaks COW while the first is held,
 * and the first, let go, finds the page changed, drops its copy and writes
 * into the second's frame. Both stores land, in one new frame.
 */
TEST_F(region, held_break_and_same_page_writer_both_land)
{
	struct store held = { .at = self->map, .value = 'x' };
	long pages, breaks;
	pthread_t thread;

	pages = cowmem_stat("pages");
	breaks = cowmem_stat("cow_breaks");
	ASSERT_EQ(0, hold_a_break(&thread, &held));
	poke(self->map + 1, 'y');
	EXPECT_EQ(HOLD_WAITING, hold_state());
	ASSERT_EQ(0, release_the_break(thread));
	EXPECT_EQ('x', peek(self->map));
	EXPECT_EQ('y', peek(self->map + 1));
	EXPECT_EQ('a', peek(self->map + 2));
	/* One copy kept, the held one's dropped; one break counted. */
	EXPECT_EQ(pages + 1, cowmem_stat("pages"));
	EXPECT_EQ(breaks + 1, cowmem_stat("cow_breaks"));
	EXPECT_TRUE(clone_untouched(&self->clone, self->psz));
}

/*
 * A held COW break whose frame becomes the view's alone meanwhile (the
 * clone goes away), while another thread of the view writes the frame in
 * place: let go, the held break must not publish its stale copy over that
 * store, but reuse the frame. (With a snapshot's mapping as the clone, the
 * snapshot still holds the frame, and the held break's copy stands.)
 */
TEST_F(region, held_break_over_a_frame_written_since_loses_no_store)
{
	struct store held = { .at = self->map, .value = 'x' };
	pthread_t thread;

	ASSERT_EQ(0, hold_a_break(&thread, &held));
	/* The one way to let go that every kind of clone has. */
	EXPECT_EQ(0, cowmem_peer_end(&self->clone));
	self->clone.pid = -1;
	poke(self->map + 1, 'y');
	EXPECT_EQ(HOLD_WAITING, hold_state());
	ASSERT_EQ(0, release_the_break(thread));
	EXPECT_EQ('x', peek(self->map));
	EXPECT_EQ('y', peek(self->map + 1));
	EXPECT_EQ('a', peek(self->map + 2));
}

/*
 * PAGE_INFO, from the view's process and from the clone's, completes while
 * a COW break of the view is held, and counts the page as still shared:
 * its census pins what it counts and waits for no fault.
 */
TEST_F(region, page_info_completes_beside_a_held_break)
{
	struct store held = { .at = self->map, .value = 'x' };
	struct cowmem_page_info info;
	struct peer_page rep[PAGES];
	pthread_t thread;

	ASSERT_EQ(0, hold_a_break(&thread, &held));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, 1, &info));
	EXPECT_EQ(COWMEM_PAGE_SHARED, info.state);
	EXPECT_EQ(2, info.refcount);
	ASSERT_EQ(0, peer_ask(&self->clone, rep));
	EXPECT_EQ(COWMEM_PAGE_SHARED, rep[0].info.state);
	EXPECT_EQ(2, rep[0].info.refcount);
	EXPECT_EQ(HOLD_WAITING, hold_state());
	ASSERT_EQ(0, release_the_break(thread));
	ASSERT_EQ(0, cowmem_page_info(self->fd, self->map, 1, &info));
	EXPECT_EQ(COWMEM_PAGE_EXCLUSIVE, info.state);
	EXPECT_EQ(1, info.refcount);
	EXPECT_EQ('x', peek(self->map));
	EXPECT_TRUE(clone_untouched(&self->clone, self->psz));
}

struct info_call {
	int fd;
	char *at;
	struct cowmem_page_info info;
	int ret;
};

static void *info_thread(void *arg)
{
	struct info_call *call = arg;

	call->ret = cowmem_page_info(call->fd, call->at, 1, &call->info);
	return NULL;
}

/* One view mapped twice in this process, and both holds let go after. */
FIXTURE(twice)
{
	int fd;
	char *map, *again;
};

FIXTURE_SETUP(twice)
{
	self->fd = -1;
	self->fd = cowmem_open();
	ASSERT_LE(0, self->fd);
	self->map = cowmem_map(self->fd, 1, 0);
	self->again = cowmem_map(self->fd, 1, 0);
	ASSERT_NE(NULL, self->map);
	ASSERT_NE(NULL, self->again);
}

FIXTURE_TEARDOWN(twice)
{
	set_knob(CENSUS_PATH, 0);
	set_hold(0);
	if (self->again)
		munmap(self->again, cowmem_page_size());
	if (self->map)
		munmap(self->map, cowmem_page_size());
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * A census (PAGE_INFO's) pins a frame that this process has mapped
 * writable (it wrote the page while exclusive). A COW break through the
 * view's second mapping, held after its copy, then must not lose a store
 * made through the first one meanwhile: the break zapped the writable
 * PTE before it copied, and the store broke COW on its own.
 */
TEST_F(twice, census_pin_loses_no_store)
{
	struct store second = { .value = 'b' };
	char *map = self->map, *again = self->again;
	struct info_call call = { .fd = self->fd, .at = map };
	pthread_t census, writer;

	poke(map, 'a'); /* exclusive, and writable through map */
	ASSERT_EQ(0, set_knob(CENSUS_PATH, 1));
	ASSERT_EQ(0, pthread_create(&census, NULL, info_thread, &call));
	ASSERT_EQ(0, wait_for_knob(CENSUS_PATH));
	/* Pinned: a write through the other mapping copies, and is held. */
	second.at = again + 1;
	ASSERT_EQ(0, hold_a_break(&writer, &second));
	poke(map + 2, 'c');
	ASSERT_EQ(0, release_the_break(writer));
	ASSERT_EQ(0, set_knob(CENSUS_PATH, 0));
	ASSERT_EQ(0, pthread_join(census, NULL));
	EXPECT_EQ(0, call.ret);
	EXPECT_EQ('a', peek(map));
	EXPECT_EQ('b', peek(map + 1));
	EXPECT_EQ('c', peek(map + 2));
	EXPECT_EQ('c', peek(again + 2));
}

#define RACERS 4
#define RACE_ROUNDS 100

struct racer {
	char *map;
	size_t psz;
	int me;
	pthread_barrier_t *go, *done;
};

/*
 * Each round, once the main thread has taken a snapshot (every page shared
 * again), every racer writes its mark into every page, at its own byte.
 */
static void *race_thread(void *arg)
{
	struct racer *r = arg;

	for (int round = 0; round < RACE_ROUNDS; round++) {
		pthread_barrier_wait(r->go);
		for (int i = 0; i < PAGES; i++)
			poke(r->map + i * r->psz + r->me, 'A' + round % 26);
		pthread_barrier_wait(r->done);
	}
	return NULL;
}

/*
 * RACERS threads write every page at once, each at a byte of its own,
 * right after a snapshot shared every page again: every round is a race of
 * COW breaks on each page, lost publishes and reuses. Every byte then
 * holds what its thread wrote, the snapshot what the view held before,
 * and the clone what it held.
 */
TEST_F(region, racing_writers_lose_no_store)
{
	pthread_barrier_t go, done;
	struct racer r[RACERS];
	pthread_t thread[RACERS];
	char *snap;
	int sfd;

	ASSERT_EQ(0, pthread_barrier_init(&go, NULL, RACERS + 1));
	ASSERT_EQ(0, pthread_barrier_init(&done, NULL, RACERS + 1));
	for (int t = 0; t < RACERS; t++) {
		r[t] = (struct racer){ self->map, self->psz, t, &go, &done };
		ASSERT_EQ(0,
			  pthread_create(&thread[t], NULL, race_thread, &r[t]));
	}
	for (int round = 0; round < RACE_ROUNDS; round++) {
		sfd = cowmem_snapshot(self->fd, self->map, 0);
		ASSERT_LE(0, sfd);
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&done);
		for (int i = 0; i < PAGES; i++)
			for (int t = 0; t < RACERS; t++)
				ASSERT_EQ('A' + round % 26,
					  peek(self->map + i * self->psz + t));
		snap = map_snapshot(sfd, PAGES, PROT_READ);
		ASSERT_NE(NULL, snap);
		/* Before the round: the last round's marks, then 'a' + i. */
		for (int i = 0; round && i < PAGES; i++)
			ASSERT_EQ('A' + (round - 1) % 26,
				  peek(snap + i * self->psz));
		EXPECT_EQ('a' + PAGES - 1,
			  peek(snap + (PAGES - 1) * self->psz + RACERS));
		munmap(snap, PAGES * self->psz);
		close(sfd);
	}
	for (int t = 0; t < RACERS; t++)
		ASSERT_EQ(0, pthread_join(thread[t], NULL));
	pthread_barrier_destroy(&go);
	pthread_barrier_destroy(&done);
	EXPECT_TRUE(clone_untouched(&self->clone, self->psz));
}

COWMEM_HARNESS_MAIN
