// SPDX-License-Identifier: GPL-2.0
/*
 * cowrun around whole programs: Redis's BGSAVE, the Python demo, a C
 * program with threads, fork, exec and realloc(), and the fallbacks when
 * cowmem says no (a user the device's mode shuts out, a mapping over
 * max_region_mb, a user over max_regions_per_user). Each program runs
 * under tools/cowrun in a child of the test, which itself is not under the
 * library; after each test debugfs "check" must say ok and the module must
 * hold nothing.
 *
 * Needs tools/cowrun and tools/libcowrun.so (make tools), and for two of
 * the tests redis-server, redis-tools and python3 (scripts/deps dev): a
 * test skips, saying why, where they are missing (the debug kernel's
 * initramfs has none of them).
 */
#include <dirent.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define JEMALLOC "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
#define PARAMS "/sys/module/cowmem/parameters/"
#define NOBODY 65534
#define MIB (1024UL * 1024)

/* Redis: keys DEBUG POPULATE makes, their size, SETs per pipelined batch. */
#define REDIS_KEYS 2000
#define REDIS_SIZE 100
#define REDIS_BATCH 250
/* Python: the demo's objects (its pages are about 30 per 1000 lists). */
#define PY_OBJECTS "30000"

/* This program and the tools next to it, in ../tools. */
static struct {
	char self[PATH_MAX], cowrun[PATH_MAX], lib[PATH_MAX], pydemo[PATH_MAX];
} path;

/* What a test needs that may be missing, or NULL when all is there. */
static const char *missing_tools(void)
{
	if (access(path.lib, R_OK) || access(path.cowrun, X_OK))
		return "no tools/cowrun and libcowrun.so beside this program (make tools)";
	return NULL;
}

/* 1 when @name is an executable in $PATH. */
static int in_path(const char *name)
{
	char *dirs = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	char file[PATH_MAX], *dir, *save;
	int found = 0;

	for (dir = strtok_r(dirs, ":", &save); dir && !found;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(file, sizeof(file), "%s/%s", dir, name);
		found = !access(file, X_OK);
	}
	free(dirs);
	return found;
}

/* How a program is started by spawn(). */
struct run {
	const char *probe; /* COWMEM_COWRUN_PROBE for this program, or NULL */
	bool jemalloc; /* cowrun preloads jemalloc (else --no-jemalloc) */
	int out, err; /* its stdout and stderr, -1: ours */
	bool nobody; /* as uid and gid 65534, without groups */
};

/* Starts @argv as @r says; the child's pid, or -1. */
static pid_t spawn(const struct run *r, char *const argv[])
{
	pid_t pid = fork();

	if (pid)
		return pid;
	if (r->probe)
		setenv("COWMEM_COWRUN_PROBE", r->probe, 1);
	if (r->out >= 0)
		dup2(r->out, STDOUT_FILENO);
	if (r->err >= 0)
		dup2(r->err, STDERR_FILENO);
	if (r->nobody &&
	    (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY)))
		_exit(126);
	execvp(argv[0], argv);
	_exit(127);
}

/* Up to @size - 1 bytes of file @name, NUL-terminated; its length or -1. */
static ssize_t read_file(const char *name, char *buf, size_t size)
{
	ssize_t n, len = 0;
	int fd = open(name, O_RDONLY);

	if (fd < 0)
		return -1;
	while ((size_t)len < size - 1 &&
	       (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	return len;
}

/* cowrun --verbose's summary line of one process, parsed. */
struct summary {
	unsigned long served, kib, fallbacks, no_device, too_large, mmap_failed,
		table_full;
};

/* The summaries in @text, at most @max; how many there were. */
static int parse_summaries(const char *text, struct summary *s, int max)
{
	const char *line = text;
	int n = 0, pid;

	while (line && *line && n < max) {
		if (sscanf(line,
			   "cowrun: pid %d: served %lu mappings (%lu KiB); fallbacks %lu (no device %lu, too large %lu, mmap failed %lu, table full %lu)",
			   &pid, &s[n].served, &s[n].kib, &s[n].fallbacks,
			   &s[n].no_device, &s[n].too_large, &s[n].mmap_failed,
			   &s[n].table_full) == 8)
			n++;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return n;
}

/* How many lines of @text contain @what. */
static int count_lines(const char *text, const char *what)
{
	const char *line = text, *end;
	int n = 0;

	while (line && *line) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		if (memmem(line, end - line, what, strlen(what)))
			n++;
		line = *end ? end + 1 : NULL;
	}
	return n;
}

static int remove_entry(const char *name, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(name);
}

FIXTURE(app)
{
	char dir[64]; /* scratch, removed at teardown */
	bool mounted; /* a tmpfs on dir */
	pid_t pids[4]; /* started and not yet waited for */
	char param[64], old[32]; /* a module parameter to restore, or "" */
};

FIXTURE_SETUP(app)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/cowrun-apps.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
}

/*
 * Whatever the test left running is killed first: then the module must be
 * consistent and hold nothing, whatever the programs did.
 */
FIXTURE_TEARDOWN(app)
{
	static const char *const held[] = { "regions", "views", "snapshots",
					    "pages" };
	unsigned int i;
	int fd;

	for (i = 0; i < ARRAY_SIZE(self->pids); i++) {
		if (self->pids[i] <= 0)
			continue;
		kill(self->pids[i], SIGKILL);
		waitpid(self->pids[i], NULL, 0);
	}
	if (self->param[0]) {
		fd = open(self->param, O_WRONLY);
		EXPECT_EQ((ssize_t)strlen(self->old),
			  write(fd, self->old, strlen(self->old)));
		close(fd);
	}
	if (self->mounted)
		umount2(self->dir, MNT_DETACH);
	nftw(self->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	EXPECT_EQ(1, cowmem_check_ok());
	for (i = 0; i < ARRAY_SIZE(held); i++) {
		EXPECT_EQ(0, cowmem_stat(held[i]))
		TH_LOG("the module still holds %s", held[i]);
	}
}

/* Remembers @pid, for the teardown to kill if it is still there. */
static void track(FIXTURE_DATA(app) * self, pid_t pid)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(self->pids); i++) {
		if (self->pids[i] <= 0) {
			self->pids[i] = pid;
			return;
		}
	}
}

static void untrack(FIXTURE_DATA(app) * self, pid_t pid)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(self->pids); i++)
		if (self->pids[i] == pid)
			self->pids[i] = 0;
}

/* Waits for our child @pid: its exit status, 255 when it did not exit. */
static int reap(FIXTURE_DATA(app) * self, pid_t pid)
{
	untrack(self, pid);
	return cowmem_wait(pid);
}

/* Sets module parameter @name to @value until the teardown. */
static void set_param(struct __test_metadata *_metadata,
		      FIXTURE_DATA(app) * self, const char *name,
		      const char *value)
{
	int fd;

	snprintf(self->param, sizeof(self->param), PARAMS "%s", name);
	ASSERT_LT(0, read_file(self->param, self->old, sizeof(self->old)));
	fd = open(self->param, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)strlen(value), write(fd, value, strlen(value)));
	close(fd);
}

/*
 * Runs this program's probe @r->probe under cowrun --verbose (on @device
 * unless it is NULL), its stderr in @err; the probe's exit status.
 */
static int run_probe(struct __test_metadata *_metadata,
		     FIXTURE_DATA(app) * self, struct run *r,
		     const char *device, char *err, size_t size)
{
	char *argv[8] = { path.cowrun, "--verbose" }, name[128];
	int n = 2;
	int status;
	pid_t pid;

	/* Exact counts are the probe's own mappings: no allocator's. */
	if (!r->jemalloc)
		argv[n++] = "--no-jemalloc";
	if (device) {
		argv[n++] = "--device";
		argv[n++] = (char *)device;
	}
	argv[n++] = "--";
	argv[n++] = path.self;
	snprintf(name, sizeof(name), "%s/cowrun.err", self->dir);
	r->out = -1;
	r->err = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_LE(0, r->err);
	pid = spawn(r, argv);
	close(r->err);
	ASSERT_LT(0, pid);
	track(self, pid);
	status = reap(self, pid);
	ASSERT_LE(0, read_file(name, err, size));
	return status;
}

/* --- A Redis client: RESP over a unix socket, enough for this test. --- */

struct resp {
	FILE *in, *out;
};

static void resp_close(struct resp *c)
{
	if (c->in)
		fclose(c->in);
	if (c->out)
		fclose(c->out);
	c->in = NULL;
	c->out = NULL;
}

/* Connects to @sock; 0, or -1 while nobody listens there. */
static int resp_open(struct resp *c, const char *sock)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(sock) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, sock, strlen(sock));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		close(fd);
		return -1;
	}
	c->in = fdopen(fd, "r");
	c->out = fdopen(dup(fd), "w");
	if (!c->in || !c->out) {
		resp_close(c);
		return -1;
	}
	return 0;
}

/* Queues one command of @argc words (sent at the next resp_reply()). */
static void resp_send(struct resp *c, int argc, const char *const argv[])
{
	int i;

	fprintf(c->out, "*%d\r\n", argc);
	for (i = 0; i < argc; i++)
		fprintf(c->out, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
}

/*
 * One reply: its type ('+', '-', ':' or '$'), its text (a bulk string's
 * first @size - 1 bytes) in @out; -1 when the connection broke. Nothing
 * here asks for an array.
 */
static int resp_reply(struct resp *c, char *out, size_t size)
{
	char line[512];
	long len, i;
	int ch;

	if (fflush(c->out) || !fgets(line, sizeof(line), c->in))
		return -1;
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] != '$') {
		snprintf(out, size, "%s", line + 1);
		return line[0];
	}
	len = atol(line + 1);
	out[0] = '\0';
	for (i = 0; i < len + 2; i++) { /* the text, then \r\n */
		ch = fgetc(c->in);
		if (ch == EOF)
			return -1;
		if (i < len && (size_t)i < size - 1) {
			out[i] = (char)ch;
			out[i + 1] = '\0';
		}
	}
	return '$';
}

/* One command, NULL-terminated words, and its reply as resp_reply(). */
static int redis(struct resp *c, char *out, size_t size, ...)
{
	const char *argv[8];
	int argc = 0;
	va_list ap;

	va_start(ap, size);
	while (argc < 8 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	resp_send(c, argc, argv);
	return resp_reply(c, out, size);
}

/* The value of @key in INFO's answer @info, in @out; 0 when found. */
static int info_field(const char *info, const char *key, char *out, size_t size)
{
	size_t len = strlen(key);
	const char *line;

	for (line = info; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (!strncmp(line, key, len) && line[len] == ':') {
			snprintf(out, size, "%.*s",
				 (int)strcspn(line + len + 1, "\r\n"),
				 line + len + 1);
			return 0;
		}
	}
	return -1;
}

/* INFO persistence's @key, in @out; 0 when it answered. */
static int persistence(struct resp *c, const char *key, char *out, size_t size)
{
	char info[4096];

	if (redis(c, info, sizeof(info), "INFO", "persistence", NULL) != '$')
		return -1;
	return info_field(info, key, out, size);
}

/*
 * Starts redis-server on socket @name in the scratch directory (under
 * cowrun --verbose, its stderr in cowrun.err, when @cowrun) and connects
 * @c to it once it answers PING; its pid.
 */
static pid_t start_redis(struct __test_metadata *_metadata,
			 FIXTURE_DATA(app) * self, const char *name,
			 bool cowrun, struct resp *c)
{
	char sock[128], log[128], err[128], reply[64];
	char *const argv[] = { path.cowrun,
			       "--verbose",
			       "--",
			       "redis-server",
			       "--port",
			       "0",
			       "--unixsocket",
			       sock,
			       "--dir",
			       self->dir,
			       "--dbfilename",
			       "dump.rdb",
			       "--save",
			       "",
			       "--appendonly",
			       "no",
			       "--enable-debug-command",
			       "yes",
			       "--logfile",
			       log,
			       NULL };
	struct run r = { .out = -1, .err = -1 };
	int i, status;
	pid_t pid;

	snprintf(sock, sizeof(sock), "%s/%s.sock", self->dir, name);
	snprintf(log, sizeof(log), "%s/%s.log", self->dir, name);
	snprintf(err, sizeof(err), "%s/cowrun.err", self->dir);
	if (cowrun) {
		r.err = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			     0644);
		ASSERT_LE(0, r.err);
	}
	pid = spawn(&r, cowrun ? argv : argv + 3);
	if (r.err >= 0)
		close(r.err);
	ASSERT_LT(0, pid);
	track(self, pid);
	/* Started under TCG in seconds: half a minute at most. */
	for (i = 0; i < 300; i++) {
		if (!resp_open(c, sock)) {
			if (redis(c, reply, sizeof(reply), "PING", NULL) ==
				    '+' &&
			    !strcmp(reply, "PONG"))
				return pid;
			resp_close(c);
		}
		ASSERT_EQ(0, waitpid(pid, &status, WNOHANG))
		TH_LOG("redis-server exited (status 0x%x): see %s", status,
		       log);
		usleep(100 * 1000);
	}
	ASSERT_TRUE(0) TH_LOG("redis-server never answered on %s", sock);
	return -1;
}

/* The process whose parent is @parent (Redis's BGSAVE child), or -1. */
static pid_t child_of(pid_t parent)
{
	char name[300], stat[512], *end;
	struct dirent *e;
	pid_t found = -1;
	int ppid;
	DIR *proc = opendir("/proc");

	while (proc && found < 0 && (e = readdir(proc))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(name, sizeof(name), "/proc/%s/stat", e->d_name);
		if (read_file(name, stat, sizeof(stat)) <= 0)
			continue;
		end = strrchr(stat, ')');
		if (end && sscanf(end + 2, "%*c %d", &ppid) == 1 &&
		    ppid == parent)
			found = atoi(e->d_name);
	}
	if (proc)
		closedir(proc);
	return found;
}

/* SET of every key DEBUG POPULATE made, to a value of the same size. */
static void overwrite_every_key(struct __test_metadata *_metadata,
				struct resp *c)
{
	char key[32], value[REDIS_SIZE + 1], reply[64];
	int i, j;

	for (i = 0; i < REDIS_KEYS; i += REDIS_BATCH) {
		for (j = i; j < i + REDIS_BATCH; j++) {
			const char *argv[3] = { "SET", key, value };

			snprintf(key, sizeof(key), "key:%d", j);
			snprintf(value, sizeof(value), "overwritten:%0*d",
				 REDIS_SIZE - 12, j);
			resp_send(c, 3, argv);
		}
		for (j = i; j < i + REDIS_BATCH; j++) {
			ASSERT_EQ('+', resp_reply(c, reply, sizeof(reply)));
			ASSERT_STREQ("OK", reply);
		}
	}
}

/*
 * Redis under cowrun: the parent overwrites every key while its BGSAVE
 * child is saving (stopped, so all writes land while it lives); the RDB,
 * loaded into a second, plain server, has the digest taken at the fork.
 */
TEST_F_TIMEOUT(app, redis_bgsave_saves_the_dataset_as_at_the_fork, 240)
{
	char keys[16], digest[64], after[64], loaded[64], reply[128];
	char rdb[128], err[1024];
	char *const check_argv[] = { "redis-check-rdb", rdb, NULL };
	struct resp c = { 0 }, plain = { 0 };
	struct run r = { .out = -1, .err = -1 };
	long breaks, regions;
	struct summary s;
	pid_t server, child, check, reader;
	const char *why = missing_tools();
	int i;

	if (!why && (!in_path("redis-server") || !in_path("redis-check-rdb")))
		why = "no redis-server or redis-check-rdb (scripts/deps dev installs them)";
	if (why)
		SKIP(return, "%s", why);
	server = start_redis(_metadata, self, "cowrun", true, &c);
	snprintf(keys, sizeof(keys), "%d", REDIS_KEYS);
	snprintf(reply, sizeof(reply), "%d", REDIS_SIZE);
	ASSERT_EQ('+', redis(&c, err, sizeof(err), "DEBUG", "POPULATE", keys,
			     "key", reply, NULL));
	/* The save waits 500 us per key: it outlives the search for it. */
	ASSERT_EQ('+', redis(&c, reply, sizeof(reply), "CONFIG", "SET",
			     "rdb-key-save-delay", "500", NULL));
	regions = cowmem_stat("regions");
	EXPECT_LT(0, regions) TH_LOG("nothing of redis-server is served");
	ASSERT_EQ('+',
		  redis(&c, digest, sizeof(digest), "DEBUG", "DIGEST", NULL));
	breaks = cowmem_stat("cow_breaks");
	ASSERT_EQ('+', redis(&c, reply, sizeof(reply), "BGSAVE", NULL));
	child = child_of(server);
	ASSERT_LT(0, child);
	/* Killed by the teardown if the test stops while it is stopped. */
	track(self, child);
	ASSERT_EQ(0, kill(child, SIGSTOP));

	overwrite_every_key(_metadata, &c);
	breaks = cowmem_stat("cow_breaks") - breaks;
	ASSERT_EQ('+',
		  redis(&c, after, sizeof(after), "DEBUG", "DIGEST", NULL));
	EXPECT_STRNE(digest, after);
	ASSERT_EQ(0, persistence(&c, "rdb_bgsave_in_progress", reply,
				 sizeof(reply)));
	EXPECT_STREQ("1", reply) TH_LOG("the save ended before the writes");
	EXPECT_LT(0, breaks) TH_LOG("no COW break while every key changed");
	TH_LOG("%ld COW breaks while %d keys were overwritten", breaks,
	       REDIS_KEYS);

	ASSERT_EQ(0, kill(child, SIGCONT));
	untrack(self, child);
	for (i = 0; i < 600; i++) {
		ASSERT_EQ(0, persistence(&c, "rdb_bgsave_in_progress", reply,
					 sizeof(reply)));
		if (!strcmp(reply, "0"))
			break;
		usleep(100 * 1000);
	}
	ASSERT_STREQ("0", reply) TH_LOG("BGSAVE did not end in a minute");
	ASSERT_EQ(0, persistence(&c, "rdb_last_bgsave_status", reply,
				 sizeof(reply)));
	ASSERT_STREQ("ok", reply);

	snprintf(rdb, sizeof(rdb), "%s/dump.rdb", self->dir);
	r.out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	check = spawn(&r, check_argv);
	close(r.out);
	ASSERT_LT(0, check);
	EXPECT_EQ(0, cowmem_wait(check)) TH_LOG("redis-check-rdb %s", rdb);

	reader = start_redis(_metadata, self, "plain", false, &plain);
	ASSERT_EQ('+', redis(&plain, loaded, sizeof(loaded), "DEBUG", "DIGEST",
			     NULL));
	EXPECT_STREQ(digest, loaded);
	ASSERT_EQ(':', redis(&plain, reply, sizeof(reply), "DBSIZE", NULL));
	EXPECT_EQ(REDIS_KEYS, atoi(reply));

	/* SHUTDOWN answers by closing the connection. */
	redis(&plain, reply, sizeof(reply), "SHUTDOWN", "NOSAVE", NULL);
	resp_close(&plain);
	EXPECT_EQ(0, reap(self, reader));
	redis(&c, reply, sizeof(reply), "SHUTDOWN", "NOSAVE", NULL);
	resp_close(&c);
	EXPECT_EQ(0, reap(self, server));
	/* The server's own line: served, and nothing fell back. */
	snprintf(rdb, sizeof(rdb), "%s/cowrun.err", self->dir);
	ASSERT_LE(0, read_file(rdb, err, sizeof(err)));
	ASSERT_EQ(1, parse_summaries(err, &s, 1)) TH_LOG("stderr: %s", err);
	EXPECT_LT(0, s.served);
	EXPECT_EQ(0, s.fallbacks);
}

/* cowdemo-python's first line: its objects and their pages. */
static const char py_header[] =
	"=== cowdemo --python: %ld small lists in pymalloc arenas, %ld pages";

/* One row of cowdemo-python's table: the pages @label's child copied. */
static long demo_row(const char *out, const char *label)
{
	const char *line;
	long copied;

	for (line = out; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (!strncmp(line, label, strlen(label)) &&
		    sscanf(line + strlen(label), " %ld", &copied) == 1)
			return copied;
	}
	return -1;
}

/*
 * The Python demo's relations: a child that touches nothing copies few of
 * the objects' pages, one that reads every object most of them (reference
 * counts), gc.collect() many, gc.freeze() before the fork few again.
 */
TEST_F_TIMEOUT(app, python_demo_copies_what_it_explains, 240)
{
	char *const argv[] = { "python3", path.pydemo, "--objects", PY_OBJECTS,
			       NULL };
	struct run r = { .out = -1, .err = -1 };
	long n, pages, nothing, reads, collect, frozen, frozen_read;
	char out[8192];
	const char *why = missing_tools();
	ssize_t got, len = 0;
	int fds[2];
	pid_t pid;

	if (!why && !in_path("python3"))
		why = "no python3 (scripts/deps dev installs it)";
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, pipe2(fds, O_CLOEXEC));
	r.out = fds[1];
	pid = spawn(&r, argv);
	close(fds[1]);
	ASSERT_LT(0, pid);
	track(self, pid);
	while (len < (ssize_t)sizeof(out) - 1 &&
	       (got = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += got;
	close(fds[0]);
	out[len] = '\0';
	ASSERT_EQ(0, reap(self, pid)) TH_LOG("cowdemo-python: %s", out);

	got = sscanf(strstr(out, "===") ?: out, py_header, &n, &pages);
	ASSERT_EQ(2, got) TH_LOG("%s", out);
	nothing = demo_row(out, "touches nothing");
	reads = demo_row(out, "reads every object");
	collect = demo_row(out, "runs gc.collect()");
	frozen = demo_row(out, "gc.freeze() before fork, runs gc.collect()");
	frozen_read =
		demo_row(out, "gc.freeze() before fork, reads every object");
	TH_LOG("%ld pages: nothing %ld, read %ld, collect %ld, frozen collect %ld, frozen read %ld",
	       pages, nothing, reads, collect, frozen, frozen_read);
	EXPECT_EQ(atol(PY_OBJECTS), n);
	ASSERT_LT(100, pages) TH_LOG("the objects were not served by cowmem");
	EXPECT_LE(0, nothing);
	EXPECT_LT(nothing, pages / 10);
	EXPECT_LT(pages / 2, reads);
	EXPECT_LT(pages / 4, collect);
	EXPECT_LE(0, frozen);
	EXPECT_LT(frozen, pages / 10);
	EXPECT_LT(frozen * 4, collect);
	/* Freezing spares the collector's writes, not the reference counts. */
	EXPECT_LT(pages / 2, frozen_read);
}

/*
 * A C program on glibc's malloc under cowrun, which preloads jemalloc for
 * it (glibc's own malloc is not served): threads growing arrays by
 * realloc(), a fork while they run whose child and parent each write a
 * shared buffer and see only their own writes, and an exec that keeps the
 * library. Every
 * process's data checks; the fork's writes are cowmem's COW breaks.
 */
TEST_F_TIMEOUT(app, c_program_with_threads_fork_exec_realloc, 240)
{
	struct run r = { .probe = "workload", .jemalloc = true };
	const char *why = missing_tools();
	struct summary s[4];
	char err[2048];
	long breaks;
	int i, n;

	if (!why && access(JEMALLOC, R_OK))
		why = "no " JEMALLOC
		      " (scripts/deps dev installs libjemalloc2)";
	if (why)
		SKIP(return, "%s", why);
	breaks = cowmem_stat("cow_breaks");
	EXPECT_EQ(0, run_probe(_metadata, self, &r, NULL, err, sizeof(err)));
	breaks = cowmem_stat("cow_breaks") - breaks;
	TH_LOG("%ld COW breaks", breaks);
	/* The child's writes to the 4 MiB buffer alone copy every page of it. */
	EXPECT_LE((long)(4 * MIB / cowmem_page_size()), breaks);
	/* The program and what its child exec'd: served, nothing fell back. */
	n = parse_summaries(err, s, 4);
	EXPECT_EQ(2, n) TH_LOG("stderr: %s", err);
	for (i = 0; i < n; i++) {
		EXPECT_LT(0, s[i].served);
		EXPECT_EQ(0, s[i].fallbacks);
	}
}

/*
 * The device's mode (dev_mode 0600) shuts uid 65534 out: the program still
 * runs on anonymous memory, fork isolation holds, cowrun warns once, and
 * --verbose counts every mapping as a fallback.
 */
TEST_F_TIMEOUT(app, fallback_when_dev_mode_denies_the_user, 120)
{
	struct run r = { .probe = "denied", .nobody = true };
	const char *why = missing_tools();
	struct summary s;
	struct stat st;
	char err[2048];

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, stat(COWMEM_DEV, &st));
	if (st.st_mode & 0006)
		SKIP(return, "dev_mode lets every user open %s", COWMEM_DEV);
	EXPECT_EQ(0, run_probe(_metadata, self, &r, NULL, err, sizeof(err)));
	EXPECT_EQ(1, count_lines(err, "cannot open")) TH_LOG("stderr: %s", err);
	ASSERT_EQ(1, parse_summaries(err, &s, 1)) TH_LOG("stderr: %s", err);
	EXPECT_EQ(0, s.served);
	EXPECT_EQ(3, s.fallbacks);
	EXPECT_EQ(3, s.no_device);
}

/*
 * max_region_mb at 1: a mapping of 512 KiB is served, two larger ones fall
 * back, all three work (fork isolation too), the warning is said once and
 * --verbose counts both as too large.
 */
TEST_F_TIMEOUT(app, fallback_when_a_mapping_is_over_max_region_mb, 120)
{
	struct run r = { .probe = "too-large" };
	const char *why = missing_tools();
	struct summary s;
	char err[2048];

	if (why)
		SKIP(return, "%s", why);
	set_param(_metadata, self, "max_region_mb", "1");
	EXPECT_EQ(0, run_probe(_metadata, self, &r, NULL, err, sizeof(err)));
	EXPECT_EQ(1, count_lines(err, "max_region_mb"))
	TH_LOG("stderr: %s", err);
	ASSERT_EQ(1, parse_summaries(err, &s, 1)) TH_LOG("stderr: %s", err);
	/* The 512 KiB one, and again at its MADV_DONTNEED. */
	EXPECT_EQ(2, s.served);
	EXPECT_EQ(2, s.fallbacks);
	EXPECT_EQ(2, s.too_large);
}

/*
 * max_regions_per_user at 2 for uid 65534, on a device node it may open:
 * of four mappings two are served and two fall back (the open says EDQUOT),
 * and once a served one is unmapped the next is served again: a limit
 * passes, unlike a missing device.
 */
TEST_F_TIMEOUT(app, fallback_when_over_the_per_user_region_limit, 120)
{
	struct run r = { .probe = "limited", .nobody = true };
	const char *why = missing_tools();
	char err[2048], node[128];
	struct summary s;
	struct stat st;

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, stat(COWMEM_DEV, &st));
	ASSERT_EQ(0, mount("none", self->dir, "tmpfs", 0, "mode=0755"));
	self->mounted = true;
	snprintf(node, sizeof(node), "%s/cowmem", self->dir);
	ASSERT_EQ(0, mknod(node, S_IFCHR | 0600, st.st_rdev));
	ASSERT_EQ(0, chmod(node, 0666));
	set_param(_metadata, self, "max_regions_per_user", "2");
	EXPECT_EQ(0, run_probe(_metadata, self, &r, node, err, sizeof(err)));
	EXPECT_EQ(1, count_lines(err, "refused a region"))
	TH_LOG("stderr: %s", err);
	ASSERT_EQ(1, parse_summaries(err, &s, 1)) TH_LOG("stderr: %s", err);
	EXPECT_EQ(3, s.served);
	EXPECT_EQ(2, s.fallbacks);
	EXPECT_EQ(2, s.mmap_failed);
	EXPECT_EQ(0, s.no_device);
}

/* --- The programs the tests above run under cowrun (probes). --- */

/* A private anonymous mapping, as a program would ask for one. */
static unsigned char *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* @p (@len bytes) holds what is written, a forked child's writes stay its own. */
static int fork_isolates(unsigned char *p, size_t len)
{
	pid_t pid;

	memset(p, 'a', len);
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		memset(p, 'b', len);
		_exit(cowmem_page_is((char *)p, len, 'b') ? 0 : 1);
	}
	if (cowmem_wait(pid) || !cowmem_page_is((char *)p, len, 'a'))
		return 2;
	return 0;
}

/* fork_isolates(), and MADV_DONTNEED reads zeros after: 0 when all holds. */
static int use_and_fork(unsigned char *p, size_t len)
{
	int err = fork_isolates(p, len);

	if (err)
		return err;
	if (madvise(p, len, MADV_DONTNEED) || p[0] || p[len - 1])
		return 3;
	return 0;
}

/* Three mappings, none served (the device is shut): all usable. */
static int denied_probe(void)
{
	unsigned char *p;
	int i, err;

	for (i = 0; i < 3; i++) {
		p = map_anon(MIB);
		if (!p || is_cowmem(p) != 0)
			return 10 + i;
		err = use_and_fork(p, MIB);
		if (err)
			return 20 + err;
	}
	return 0;
}

/* Under max_region_mb=1: 512 KiB served, 4 and 2 MiB not; all usable. */
static int too_large_probe(void)
{
	static const size_t sizes[] = { MIB / 2, 4 * MIB, 2 * MIB };
	unsigned char *p;
	unsigned int i;
	int err, served;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		served = sizes[i] <= MIB;
		p = map_anon(sizes[i]);
		if (!p || is_cowmem(p) != served)
			return 10 + i;
		err = use_and_fork(p, sizes[i]);
		if (err)
			return 20 + err;
	}
	return 0;
}

/*
 * Under max_regions_per_user=2: two of four mappings served; one unmapped,
 * the next is served again. All usable.
 */
static int limited_probe(void)
{
	const size_t len = MIB / 4;
	unsigned char *p[4], *again;
	int i, err, served;

	for (i = 0; i < 4; i++) {
		served = i < 2;
		p[i] = map_anon(len);
		if (!p[i] || is_cowmem(p[i]) != served)
			return 10 + i;
		err = fork_isolates(p[i], len);
		if (err)
			return 20 + err;
	}
	munmap(p[0], len);
	again = map_anon(len);
	if (!again || is_cowmem(again) != 1)
		return 30;
	return fork_isolates(again, len) ? 31 : 0;
}

/* One thread's realloc() work, seeded; its verdict in @result. */
struct work {
	unsigned int seed;
	int result;
};

#define WORK_STEP 4096 /* values added per realloc() of the array */
#define WORK_STEPS 64 /* so the array ends at 1 MiB */
#define WORK_STRINGS 256

static unsigned int work_value(const struct work *w, size_t i)
{
	return (unsigned int)i * 2654435761u + w->seed;
}

/*
 * An array grown by realloc() a step at a time to 1 MiB, checked at every
 * step (its early values must survive each move), then strings grown by
 * realloc() 8 bytes at a time, interleaved: 0 in @result when all held.
 */
static void *realloc_work(void *arg)
{
	struct work *w = arg;
	char *strs[WORK_STRINGS] = { 0 }, *s;
	unsigned int *v = NULL, *grown;
	size_t n = 0, i, len, k;

	w->result = 1;
	for (k = 0; k < WORK_STEPS; k++) {
		grown = realloc(v, (n + WORK_STEP) * sizeof(*v));
		if (!grown)
			goto free_all;
		v = grown;
		for (i = n; i < n + WORK_STEP; i++)
			v[i] = work_value(w, i);
		n += WORK_STEP;
		if (v[0] != work_value(w, 0) ||
		    v[n / 2] != work_value(w, n / 2))
			goto free_all;
	}
	for (i = 0; i < n; i++)
		if (v[i] != work_value(w, i))
			goto free_all;
	w->result = 2;
	for (len = 8; len <= 512; len += 8) {
		for (k = 0; k < WORK_STRINGS; k++) {
			s = realloc(strs[k], len);
			if (!s)
				goto free_all;
			strs[k] = s;
			memset(s + len - 8, 'a' + (k + w->seed) % 26, 8);
		}
	}
	for (k = 0; k < WORK_STRINGS; k++)
		if (!cowmem_page_is(strs[k], 512, 'a' + (k + w->seed) % 26))
			goto free_all;
	w->result = 0;
free_all:
	for (k = 0; k < WORK_STRINGS; k++)
		free(strs[k]);
	free(v);
	return NULL;
}

/* @nr threads of realloc_work(), seeded from @seed: 0 when all held. */
static int run_threads(unsigned int nr, unsigned int seed)
{
	pthread_t threads[8];
	struct work works[8];
	unsigned int i, started;
	int verdict = 0;

	for (started = 0; started < nr; started++) {
		works[started] = (struct work){ .seed = seed + started };
		if (pthread_create(&threads[started], NULL, realloc_work,
				   &works[started]))
			break;
	}
	for (i = 0; i < started; i++) {
		pthread_join(threads[i], NULL);
		verdict |= works[i].result;
	}
	return started == nr ? verdict : 4;
}

struct threads_arg {
	unsigned int nr, seed;
	int verdict;
};

static void *threads_main(void *arg)
{
	struct threads_arg *t = arg;

	t->verdict = run_threads(t->nr, t->seed);
	return NULL;
}

#define SHARED_LEN (4 * MIB)

/*
 * The forked child: sees the buffer as at the fork, writes all of it, runs
 * threads of its own, sees its own writes after the parent wrote, then
 * execs this program again (the exec probe). Never returns.
 */
static void workload_child(struct cowmem_peer *peer, unsigned char *buf)
{
	char c;

	CHILD_CHECK(20, cowmem_page_is((char *)buf, SHARED_LEN, 'P'));
	memset(buf, 'C', SHARED_LEN);
	CHILD_CHECK(21, !run_threads(2, 100));
	CHILD_CHECK(22, !cowmem_peer_send(peer, "w", 1));
	CHILD_CHECK(23, !cowmem_peer_recv(peer, &c, 1));
	CHILD_CHECK(24, cowmem_page_is((char *)buf, SHARED_LEN, 'C'));
	setenv("COWMEM_COWRUN_PROBE", "exec", 1);
	execl("/proc/self/exe", "cowmem_cowrun_apps", NULL);
	_exit(25);
}

/*
 * The C program: a buffer from malloc() (jemalloc, served), four threads
 * growing arrays meanwhile, a fork while they run; parent and child each
 * see only their own writes to the buffer. 0 when all held.
 */
static int workload_probe(void)
{
	struct threads_arg t = { .nr = 4, .seed = 1 };
	struct cowmem_peer peer;
	pthread_t runner;
	unsigned char *buf;
	int verdict = 0;
	char c;

	buf = malloc(SHARED_LEN);
	if (!buf || is_cowmem(buf) != 1)
		return 10;
	memset(buf, 'P', SHARED_LEN);
	if (pthread_create(&runner, NULL, threads_main, &t))
		return 11;
	if (cowmem_peer_fork(&peer) < 0)
		return 12;
	if (!peer.pid)
		workload_child(&peer, buf);
	if (cowmem_peer_recv(&peer, &c, 1) ||
	    !cowmem_page_is((char *)buf, SHARED_LEN, 'P'))
		verdict = 13;
	memset(buf, 'Q', SHARED_LEN);
	if (cowmem_peer_send(&peer, "w", 1))
		verdict = 14;
	verdict = verdict ?: cowmem_peer_end(&peer);
	pthread_join(runner, NULL);
	if (!verdict && t.verdict)
		verdict = 15;
	if (!verdict && !cowmem_page_is((char *)buf, SHARED_LEN, 'Q'))
		verdict = 16;
	free(buf);
	return verdict;
}

/* What the child exec'd: still under the library, served, working. */
static int exec_probe(void)
{
	const char *preload = getenv("LD_PRELOAD");
	unsigned char *buf;

	if (!preload || !strstr(preload, "libcowrun.so"))
		return 30;
	buf = malloc(2 * MIB);
	if (!buf || is_cowmem(buf) != 1)
		return 31;
	memset(buf, 'E', 2 * MIB);
	free(buf);
	return run_threads(2, 200) ? 32 : 0;
}

/* Fills in path from where this program is, ../tools beside it. */
static void find_paths(void)
{
	char top[PATH_MAX], *slash;

	if (!realpath("/proc/self/exe", path.self))
		return;
	strcpy(top, path.self);
	slash = strrchr(top, '/');
	*slash = '\0';
	slash = strrchr(top, '/');
	if (slash)
		*slash = '\0';
	snprintf(path.cowrun, sizeof(path.cowrun), "%s/tools/cowrun", top);
	snprintf(path.lib, sizeof(path.lib), "%s/tools/libcowrun.so", top);
	snprintf(path.pydemo, sizeof(path.pydemo), "%s/tools/cowdemo-python",
		 top);
}

int main(int argc, char **argv)
{
	const char *probe = getenv("COWMEM_COWRUN_PROBE");

	if (probe && !strcmp(probe, "denied"))
		return denied_probe();
	if (probe && !strcmp(probe, "too-large"))
		return too_large_probe();
	if (probe && !strcmp(probe, "limited"))
		return limited_probe();
	if (probe && !strcmp(probe, "workload"))
		return workload_probe();
	if (probe && !strcmp(probe, "exec"))
		return exec_probe();
	find_paths();
	cowmem_scale_timeouts();
	return test_harness_run(argc, argv);
}
