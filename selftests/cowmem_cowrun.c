// SPDX-License-Identifier: GPL-2.0
/*
 * cowrun: a program's private anonymous mappings served by /dev/cowmem
 * through tools/libcowrun.so. The program re-executes itself under the
 * library (LD_PRELOAD) and checks what a program relies on: the mapping is
 * cowmem's, a forked child's writes stay its own and copy only the pages it
 * wrote, MADV_DONTNEED zeroes, mremap() grows, small mappings and stacks
 * are left alone, and without the device everything still works.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define LEN (1024UL * 1024)

static void *map_anon(size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

TEST(large_mapping_is_served_small_and_stack_are_not)
{
	void *big = map_anon(LEN, 0);
	void *small = map_anon(4096, 0);
	void *stack = map_anon(LEN, MAP_STACK);

	ASSERT_NE(MAP_FAILED, big);
	ASSERT_NE(MAP_FAILED, small);
	ASSERT_NE(MAP_FAILED, stack);
	EXPECT_EQ(1, is_cowmem(big));
	EXPECT_EQ(0, is_cowmem(small));
	EXPECT_EQ(0, is_cowmem(stack));
	munmap(big, LEN);
	munmap(small, 4096);
	munmap(stack, LEN);
}

TEST(fork_child_writes_are_its_own_and_copy_only_what_it_wrote)
{
	long page = sysconf(_SC_PAGESIZE), before, after;
	unsigned char *p = map_anon(LEN, 0);
	int status, i;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, is_cowmem(p));
	memset(p, 'P', LEN);
	before = cowmem_stat("cow_breaks");
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		for (i = 0; i < 8; i++)
			p[i * page] = 'C';
		_exit(p[0] == 'C' && p[LEN - 1] == 'P' ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	after = cowmem_stat("cow_breaks");
	EXPECT_EQ(8, after - before);
	for (i = 0; i < 8; i++)
		EXPECT_EQ('P', p[i * page]);
	EXPECT_EQ(1, cowmem_check_ok());
	munmap(p, LEN);
}

TEST(madv_dontneed_reads_zeros_after)
{
	unsigned char *p = map_anon(LEN, 0);
	long page = sysconf(_SC_PAGESIZE);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(1, is_cowmem(p));
	memset(p, 'D', LEN);
	ASSERT_EQ(0, madvise(p + page, 4 * page, MADV_DONTNEED));
	EXPECT_EQ('D', p[0]);
	EXPECT_EQ(0, p[page]);
	EXPECT_EQ(0, p[5 * page - 1]);
	EXPECT_EQ('D', p[5 * page]);
	/* The range is still usable. */
	p[page] = 'x';
	EXPECT_EQ('x', p[page]);
	/* A large range gets a fresh cowmem mapping. */
	ASSERT_EQ(0, madvise(p, LEN, MADV_DONTNEED));
	EXPECT_EQ(0, p[0]);
	EXPECT_EQ(0, p[page]);
	EXPECT_EQ(0, p[LEN - 1]);
	EXPECT_EQ(1, is_cowmem(p));
	EXPECT_EQ(0, madvise(p, LEN, MADV_FREE));
	munmap(p, LEN);
}

TEST(mremap_growth_moves_and_keeps_contents)
{
	unsigned char *p = map_anon(LEN, 0), *q;

	ASSERT_NE(MAP_FAILED, p);
	memset(p, 'R', LEN);
	q = mremap(p, LEN, 2 * LEN, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ('R', q[0]);
	EXPECT_EQ('R', q[LEN - 1]);
	EXPECT_EQ(0, q[2 * LEN - 1]);
	EXPECT_EQ(1, is_cowmem(q));
	/* Shrinking works in place. */
	EXPECT_EQ(q, mremap(q, 2 * LEN, LEN, 0));
	EXPECT_EQ('R', q[LEN - 1]);
	munmap(q, LEN);
}

TEST(without_the_device_mappings_fall_back)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		setenv("COWRUN_DEVICE", "/nonexistent/cowmem", 1);
		setenv("COWMEM_COWRUN_PROBE", "fallback", 1);
		execl("/proc/self/exe", "cowmem_cowrun", NULL);
		_exit(127);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
}

/*
 * A JIT maps memory writable, writes code and makes it executable. From a
 * device node on a noexec mount PROT_EXEC is refused (EACCES): the library
 * must turn the mapping into anonymous memory, keeping its contents.
 */
TEST(prot_exec_from_a_noexec_device_still_works)
{
	char dir[] = "/tmp/cowrun.XXXXXX", node[64];
	struct stat st;
	int status;
	pid_t pid;

	ASSERT_EQ(0, stat("/dev/cowmem", &st));
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, mount("none", dir, "tmpfs", MS_NOEXEC, NULL));
	snprintf(node, sizeof(node), "%s/cowmem", dir);
	ASSERT_EQ(0, mknod(node, S_IFCHR | 0600, st.st_rdev));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		setenv("COWRUN_DEVICE", node, 1);
		setenv("COWMEM_COWRUN_PROBE", "exec", 1);
		execl("/proc/self/exe", "cowmem_cowrun", NULL);
		_exit(127);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status) TH_LOG("exec probe: status 0x%x", status);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

/* Served from the noexec node, made executable, run: 0 when all holds. */
static int exec_probe(void)
{
	unsigned char *p = map_anon(LEN, 0);
	int (*code)(void);

	if (p == MAP_FAILED || is_cowmem(p) != 1)
		return 1;
	/* mov $42, %eax; ret */
	memcpy(p, "\xb8\x2a\x00\x00\x00\xc3", 6);
	p[LEN - 1] = 'E';
	if (mprotect(p, LEN, PROT_READ | PROT_EXEC))
		return 2;
	code = (int (*)(void))p;
	if (code() != 42 || p[LEN - 1] != 'E' || is_cowmem(p) != 0)
		return 3;
	return 0;
}

/*
 * COWRUN_INHERIT=0: a program exec'd (here bash, which defines its own
 * unsetenv()) finds no LD_PRELOAD; without it, it keeps the library.
 */
static void preload_seen_by_bash(struct __test_metadata *_metadata,
				 const char *inherit, char *out, size_t size)
{
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		setenv("COWRUN_INHERIT", inherit, 1);
		dup2(fds[1], STDOUT_FILENO);
		execl("/bin/bash", "bash", "--norc", "-c",
		      "echo \"${LD_PRELOAD-unset}\"", NULL);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
}

TEST(no_inherit_drops_the_library_for_exec)
{
	char out[PATH_MAX];

	preload_seen_by_bash(_metadata, "0", out, sizeof(out));
	EXPECT_STREQ("unset\n", out);
	preload_seen_by_bash(_metadata, "1", out, sizeof(out));
	EXPECT_NE(NULL, strstr(out, "libcowrun.so"));
}

/*
 * This program's own path (cowrun's /proc/self/exe would be bash) and
 * tools/cowrun beside selftests/, each PATH_MAX long; 0, or -1.
 */
static int cowrun_paths(char *self, char *cowrun)
{
	char *slash;

	if (!realpath("/proc/self/exe", self))
		return -1;
	strcpy(cowrun, self);
	slash = strrchr(cowrun, '/');
	*slash = '\0';
	slash = strrchr(cowrun, '/');
	if (!slash)
		return -1;
	snprintf(slash, PATH_MAX - (slash - cowrun), "/tools/cowrun");
	return 0;
}

/*
 * cowrun --report around a program that forks once: the child writes 5
 * pages, then the parent 3 while the child still lives. The report's fork
 * line must say exactly that.
 */
TEST(report_counts_the_child_and_the_parent)
{
	char cowrun[PATH_MAX], self[PATH_MAX], line[256];
	long child = -1, parent = -1;
	int fds[2], status, a, b;
	FILE *report;
	pid_t pid;

	ASSERT_EQ(0, cowrun_paths(self, cowrun));
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		setenv("COWMEM_COWRUN_PROBE", "report", 1);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		/* Only the probe's own writes: no allocator's. */
		execl(cowrun, "cowrun", "--report", "--no-jemalloc", "--", self,
		      NULL);
		_exit(127);
	}
	close(fds[1]);
	report = fdopen(fds[0], "r");
	ASSERT_NE(NULL, report);
	while (fgets(line, sizeof(line), report)) {
		if (sscanf(line, "%d -> %d %ld %ld", &a, &b, &child, &parent) ==
		    4)
			break;
	}
	fclose(report);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_EQ(5, child);
	EXPECT_EQ(3, parent);
}

/*
 * Runs @argv (tools/cowrun, or this program) for the probe @probe, with no
 * library of ours preloaded but what @argv sets up, and @name=@value in its
 * environment (when @name); its stderr goes to @err. Returns its wait
 * status, or -1.
 */
static int run_probe(const char *probe, char *const argv[], const char *name,
		     const char *value, char *err, size_t size)
{
	int fds[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		unsetenv("LD_PRELOAD");
		setenv("COWMEM_COWRUN_PROBE", probe, 1);
		if (name)
			setenv(name, value, 1);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while (len < size - 1 &&
	       (n = read(fds[0], err + len, size - 1 - len)) > 0)
		len += n;
	err[len] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* The two devices that are not cowmem's: /dev/zero and a regular file. */
FIXTURE(not_cowmem)
{
	char path[64];
};

FIXTURE_VARIANT(not_cowmem)
{
	const char *device; /* NULL: an empty regular file */
};

/* Each variant is a struct: its brace goes on a line of its own. */
/* clang-format off */
FIXTURE_VARIANT_ADD(not_cowmem, dev_zero)
{
	.device = "/dev/zero",
};

FIXTURE_VARIANT_ADD(not_cowmem, empty_file)
{
	.device = NULL,
};

/* clang-format on */

FIXTURE_SETUP(not_cowmem)
{
	int fd;

	if (variant->device) {
		snprintf(self->path, sizeof(self->path), "%s", variant->device);
		return;
	}
	snprintf(self->path, sizeof(self->path), "/tmp/cowrun-file.XXXXXX");
	fd = mkstemp(self->path);
	ASSERT_LE(0, fd);
	close(fd);
}

FIXTURE_TEARDOWN(not_cowmem)
{
	if (!variant->device)
		unlink(self->path);
}

/*
 * cowrun --device with a device that is not cowmem's says so and runs the
 * program unserved, which works; the library alone refuses it too.
 */
TEST_F(not_cowmem, runs_the_program_unserved)
{
	char cowrun[PATH_MAX], self_path[PATH_MAX], err[4096];
	char *const launch[] = { cowrun, "--device", self->path,
				 "--",	 self_path,  NULL };
	char lib[PATH_MAX + 32], said[128];
	char *const direct[] = { self_path, NULL };

	ASSERT_EQ(0, cowrun_paths(self_path, cowrun));
	EXPECT_EQ(0,
		  run_probe("unserved", launch, NULL, NULL, err, sizeof(err)));
	/* cowrun's own words, not the library's */
	snprintf(said, sizeof(said), "%s is not the cowmem device", self->path);
	EXPECT_NE(NULL, strstr(err, said))
	TH_LOG("%s", err);
	/* The library alone, preloaded by hand. */
	snprintf(lib, sizeof(lib), "%s", cowrun);
	strcpy(strrchr(lib, '/'), "/libcowrun.so");
	setenv("COWRUN_DEVICE", self->path, 1);
	EXPECT_EQ(0, run_probe("unserved", direct, "LD_PRELOAD", lib, err,
			       sizeof(err)));
	unsetenv("COWRUN_DEVICE");
	EXPECT_NE(NULL, strstr(err, "COWRUN_DEVICE is not the cowmem device"))
	TH_LOG("%s", err);
}

/* --verbose: each process reports its own mappings, not its parent's. */
TEST(verbose_lines_are_per_process)
{
	char self_path[PATH_MAX], cowrun[PATH_MAX], err[4096], *line;
	char *const argv[] = { cowrun, "--verbose", "--no-jemalloc",
			       "--",   self_path,   NULL };
	unsigned long served, seen[2];
	int n = 0, pid;

	ASSERT_EQ(0, cowrun_paths(self_path, cowrun));
	ASSERT_EQ(0, run_probe("verbose", argv, NULL, NULL, err, sizeof(err)));
	for (line = strstr(err, "cowrun: pid "); line;
	     line = strstr(line + 1, "cowrun: pid ")) {
		if (sscanf(line, "cowrun: pid %d: served %lu", &pid, &served) !=
		    2)
			continue;
		ASSERT_GT(2, n) TH_LOG("%s", err);
		seen[n++] = served;
	}
	ASSERT_EQ(2, n) TH_LOG("%s", err);
	/* The child maps 2 after the fork, the parent 1 before it. */
	EXPECT_EQ(2, seen[0]) TH_LOG("%s", err);
	EXPECT_EQ(1, seen[1]) TH_LOG("%s", err);
}

/*
 * fork() while other threads allocate, under the jemalloc cowrun
 * preloads: the allocator's fork handlers take its locks before the
 * library takes its table's, so no fork waits for a thread that waits for
 * it (the other order hung on the first fork).
 */
TEST(fork_while_threads_allocate_does_not_hang)
{
	char self_path[PATH_MAX], cowrun[PATH_MAX], err[4096];
	char *const argv[] = { cowrun, "--", self_path, NULL };

	ASSERT_EQ(0, cowrun_paths(self_path, cowrun));
	EXPECT_EQ(0,
		  run_probe("forkstress", argv, NULL, NULL, err, sizeof(err)))
	TH_LOG("%s", err);
}

/* Copies @from to @to, mode 0755; 0 on success. */
static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in, out, err = 0;
	ssize_t n;

	in = open(from, O_RDONLY);
	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			err = -1;
	close(in);
	return close(out) || n < 0 ? -1 : err;
}

/*
 * cowrun and its library in a directory whose path has a space (ld.so
 * splits LD_PRELOAD there) still serve the program.
 */
TEST(a_tools_path_with_a_space_still_serves)
{
	char dir[] = "/tmp/cowrun dir.XXXXXX", self_path[PATH_MAX];
	char cowrun[PATH_MAX], copy[PATH_MAX + 64], lib[PATH_MAX + 64];
	char from[PATH_MAX + 32], err[4096];
	char *const argv[] = { copy, "--", self_path, NULL };

	ASSERT_EQ(0, cowrun_paths(self_path, cowrun));
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(copy, sizeof(copy), "%s/cowrun", dir);
	snprintf(lib, sizeof(lib), "%s/libcowrun.so", dir);
	snprintf(from, sizeof(from), "%s", cowrun);
	strcpy(strrchr(from, '/'), "/libcowrun.so");
	ASSERT_EQ(0, copy_file(cowrun, copy));
	ASSERT_EQ(0, copy_file(from, lib));
	EXPECT_EQ(0, run_probe("served", argv, NULL, NULL, err, sizeof(err)))
	TH_LOG("%s", err);
	unlink(copy);
	unlink(lib);
	rmdir(dir);
}

/* A symlink to cowrun, elsewhere, finds the library beside cowrun itself. */
TEST(a_symlink_to_cowrun_serves)
{
	char dir[] = "/tmp/cowrun-link.XXXXXX", self_path[PATH_MAX];
	char cowrun[PATH_MAX], link[64], err[4096];
	char *const argv[] = { link, "--", self_path, NULL };

	ASSERT_EQ(0, cowrun_paths(self_path, cowrun));
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(link, sizeof(link), "%s/cowrun", dir);
	ASSERT_EQ(0, symlink(cowrun, link));
	EXPECT_EQ(0, run_probe("served", argv, NULL, NULL, err, sizeof(err)))
	TH_LOG("%s", err);
	unlink(link);
	rmdir(dir);
}

/*
 * A program on glibc's malloc (this one) gets jemalloc preloaded, and its
 * small allocations are served; with --no-jemalloc they come from glibc's
 * heap, unserved. The probe exits 0 when served, 1 when not.
 */
TEST(glibc_malloc_is_served_through_jemalloc)
{
	char self_path[PATH_MAX], cowrun[PATH_MAX], err[4096];
	char *const with[] = { cowrun, "--", self_path, NULL };
	char *const without[] = { cowrun, "--no-jemalloc", "--", self_path,
				  NULL };

	ASSERT_EQ(0, cowrun_paths(self_path, cowrun));
	if (access("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", R_OK))
		SKIP(return, "libjemalloc2 is not installed");
	EXPECT_EQ(0, run_probe("malloc", with, NULL, NULL, err, sizeof(err)))
	TH_LOG("%s", err);
	EXPECT_EQ(1 << 8,
		  run_probe("malloc", without, NULL, NULL, err, sizeof(err)))
	TH_LOG("%s", err);
}

/*
 * cowrun sets coredump_filter's bit for shared mappings of files, which a
 * served mapping is, so that a core takes it as it would take anonymous
 * memory (cowmem_gup's core_dump_holds_the_pages: a core with the bit set
 * holds cowmem's pages).
 */
TEST(coredump_filter_takes_served_memory)
{
	char self_path[PATH_MAX], cowrun[PATH_MAX], err[4096];
	char *const with[] = { cowrun, "--", self_path, NULL };
	char *const without[] = { self_path, NULL };

	ASSERT_EQ(0, cowrun_paths(self_path, cowrun));
	if (access("/proc/self/coredump_filter", R_OK))
		SKIP(return, "no core dumps in this kernel (CONFIG_ELF_CORE)");
	if (run_probe("coredump", without, NULL, NULL, err, sizeof(err)) == 0)
		SKIP(return, "coredump_filter has the bit already");
	EXPECT_EQ(0, run_probe("coredump", with, NULL, NULL, err, sizeof(err)))
	TH_LOG("%s", err);
}

#define PLANT_TMP "/tmp/cowrun-plant"
#define PLANT_VICTIM "/tmp/cowrun-plant-victim"

/* Writes @text into @path, created or truncated; 0 on success. */
static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int err = !f || fputs(text, f) < 0;

	if (f)
		err |= fclose(f);
	return err ? -1 : 0;
}

/*
 * cowrun --report as root, in a TMPDIR anyone may write (as /tmp), with
 * symlinks followed anywhere (protected_symlinks=0): while the program
 * runs, uid 65534 cannot put a symlink, or anything else, where cowrun
 * writes; a root file stays as it was; nothing is left behind.
 */
TEST(report_files_are_out_of_other_users_reach)
{
	char cowrun[PATH_MAX], self[PATH_MAX], old[8] = "1", text[16];
	FILE *f;
	int status;
	pid_t pid;

	ASSERT_EQ(0, cowrun_paths(self, cowrun));
	f = fopen("/proc/sys/fs/protected_symlinks", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(old, sizeof(old), f));
	fclose(f);
	ASSERT_EQ(0, write_file("/proc/sys/fs/protected_symlinks", "0"));
	ASSERT_EQ(0, mkdir(PLANT_TMP, 0777) && errno != EEXIST ? -1 : 0);
	ASSERT_EQ(0, chmod(PLANT_TMP, 01777));
	ASSERT_EQ(0, write_file(PLANT_VICTIM, "root's"));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		setenv("COWMEM_COWRUN_PROBE", "plant", 1);
		setenv("TMPDIR", PLANT_TMP, 1);
		execl(cowrun, "cowrun", "--report", "--", self, NULL);
		_exit(127);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, write_file("/proc/sys/fs/protected_symlinks", old));
	/* 2: cowrun's directory was not there or not root's; 3: planted. */
	EXPECT_EQ(0, status);
	f = fopen(PLANT_VICTIM, "r");
	ASSERT_NE(NULL, f);
	EXPECT_NE(NULL, fgets(text, sizeof(text), f));
	fclose(f);
	EXPECT_EQ(0, strcmp(text, "root's"));
	EXPECT_EQ(0, unlink(PLANT_VICTIM));
	/* Empty again: rmdir fails on anything cowrun left. */
	EXPECT_EQ(0, rmdir(PLANT_TMP));
}

/*
 * The program of the test above, run by cowrun --report: finds cowrun's
 * directory in TMPDIR, then as uid 65534 tries to plant a symlink to the
 * root file under each name cowrun uses there, and any other file.
 */
static int plant_probe(void)
{
	static const char *const names[] = { "trace", "traced", "other" };
	char dir[PATH_MAX] = "", path[PATH_MAX + 16];
	struct dirent *e;
	struct stat st;
	pid_t pid;
	DIR *d;

	d = opendir(PLANT_TMP);
	if (!d)
		return 2;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "cowrun.", 7))
			snprintf(dir, sizeof(dir), PLANT_TMP "/%s", e->d_name);
	closedir(d);
	if (!dir[0] || lstat(dir, &st) || !S_ISDIR(st.st_mode) || st.st_uid ||
	    (st.st_mode & 0077))
		return 2;
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(1);
		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (!symlink(PLANT_VICTIM, path) || errno != EACCES)
				_exit(3);
		}
		_exit(0);
	}
	return cowmem_wait(pid);
}

/* The program cowrun --report watches: see the test above. */
static int report_probe(void)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *p = map_anon(LEN, 0);
	int to_parent[2], to_child[2], status, i;
	char c;
	pid_t pid;

	if (p == MAP_FAILED || pipe(to_parent) || pipe(to_child))
		return 1;
	memset(p, 'R', LEN);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		for (i = 0; i < 5; i++)
			p[i * page] = 'c';
		if (write(to_parent[1], "w", 1) != 1 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	if (read(to_parent[0], &c, 1) != 1)
		return 1;
	for (i = 0; i < 3; i++)
		p[(100 + i) * page] = 'p';
	if (write(to_child[1], "w", 1) != 1)
		return 1;
	if (waitpid(pid, &status, 0) != pid || status)
		return 1;
	return 0;
}

/* Under a device that is not cowmem's: served nothing, and it works. */
static int unserved_probe(void)
{
	unsigned char *p = map_anon(LEN, 0);
	pid_t pid;

	if (p == MAP_FAILED || is_cowmem(p) != 0)
		return 1;
	memset(p, 'U', LEN);
	pid = fork();
	if (pid == 0) {
		p[0] = 'c';
		_exit(p[0] == 'c' && p[LEN - 1] == 'U' ? 0 : 1);
	}
	if (cowmem_wait(pid) || p[0] != 'U')
		return 1;
	return 0;
}

/* One served mapping, then a child that maps two and exits (exit(): the
 * library's summary line), then the parent's own line at its exit.
 */
static int verbose_probe(void)
{
	void *p = map_anon(LEN, 0);
	pid_t pid;

	if (p == MAP_FAILED || is_cowmem(p) != 1)
		return 1;
	pid = fork();
	if (pid == 0) {
		if (map_anon(LEN, 0) == MAP_FAILED ||
		    map_anon(LEN, 0) == MAP_FAILED)
			_exit(1);
		exit(0);
	}
	return cowmem_wait(pid);
}

/* 0 when a large mapping is served, 1 when not. */
static int served_probe(void)
{
	void *p = map_anon(LEN, 0);

	return p != MAP_FAILED && is_cowmem(p) == 1 ? 0 : 1;
}

static int forkstress_stop;

/* Allocates and frees through the preloaded allocator until told to stop. */
static void *forkstress_thread(void *arg)
{
	void *p[16];
	int i;

	(void)arg;
	while (!__atomic_load_n(&forkstress_stop, __ATOMIC_RELAXED)) {
		/* 64 to 256 KiB: extents the allocator maps and purges. */
		for (i = 0; i < 16; i++) {
			p[i] = malloc((size_t)(i % 4 + 1) << 16);
			if (p[i])
				memset(p[i], 1, 64);
		}
		for (i = 0; i < 16; i++)
			free(p[i]);
	}
	return NULL;
}

/*
 * 50 forks while 4 threads allocate: 0 once all are done. Few enough for
 * a busy host under TCG; the old handler order hung on the first.
 */
static int forkstress_probe(void)
{
	pthread_t t[4];
	int i, err = 0;

	for (i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, forkstress_thread, NULL))
			return 1;
	for (i = 0; i < 50 && !err; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		err = pid < 0 || cowmem_wait(pid);
	}
	__atomic_store_n(&forkstress_stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	return err;
}

/* 0 when a small malloc() lands in a served mapping, 1 when not. */
static int malloc_probe(void)
{
	char *p = malloc(100);

	if (!p)
		return 2;
	memset(p, 'm', 100);
	return is_cowmem(p) == 1 ? 0 : 1;
}

/* Under a missing device: served nothing, the memory still works. */
static int fallback_probe(void)
{
	unsigned char *p = map_anon(LEN, 0);

	if (p == MAP_FAILED || is_cowmem(p) != 0)
		return 1;
	memset(p, 'F', LEN);
	if (madvise(p, LEN, MADV_DONTNEED) || p[0] != 0)
		return 1;
	return 0;
}

/* 0 when core dumps take file-backed shared mappings (cowmem's), 1 if not. */
static int coredump_probe(void)
{
	FILE *f = fopen("/proc/self/coredump_filter", "r");
	unsigned long filter = 0;

	if (!f || fscanf(f, "%lx", &filter) != 1)
		return 2;
	fclose(f);
	return filter & 1ul << 3 ? 0 : 1; /* MMF_DUMP_MAPPED_SHARED */
}

/* The programs the tests run, by COWMEM_COWRUN_PROBE. */
static const struct {
	const char *name;
	int (*run)(void);
} probes[] = {
	{ "fallback", fallback_probe },	    { "exec", exec_probe },
	{ "report", report_probe },	    { "plant", plant_probe },
	{ "unserved", unserved_probe },	    { "verbose", verbose_probe },
	{ "served", served_probe },	    { "malloc", malloc_probe },
	{ "forkstress", forkstress_probe }, { "coredump", coredump_probe },
};

int main(int argc, char **argv)
{
	char lib[PATH_MAX], *slash;
	const char *probe = getenv("COWMEM_COWRUN_PROBE");

	for (size_t i = 0; probe && i < ARRAY_SIZE(probes); i++)
		if (!strcmp(probe, probes[i].name))
			return probes[i].run();
	if (!getenv("COWMEM_COWRUN")) {
		/* Run again under the library, next to us in ../tools. */
		if (!realpath("/proc/self/exe", lib))
			return 1;
		slash = strrchr(lib, '/');
		*slash = '\0';
		slash = strrchr(lib, '/');
		snprintf(slash, sizeof(lib) - (slash - lib),
			 "/tools/libcowrun.so");
		if (access(lib, R_OK)) {
			printf("# SKIP %s is not built (make tools)\n", lib);
			return KSFT_SKIP;
		}
		setenv("LD_PRELOAD", lib, 1);
		setenv("COWMEM_COWRUN", "1", 1);
		execv("/proc/self/exe", argv);
		return 1;
	}
	cowmem_scale_timeouts();
	return test_harness_run(argc, argv);
}
