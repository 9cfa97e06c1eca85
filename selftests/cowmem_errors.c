// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input gets a clear errno or signal, and the process and the kernel
 * carry on: private mappings, oversized and out-of-region mappings, bad
 * offsets, read/write on the device, stores to read-only mappings.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>

#include "kselftest_harness.h"
#include "cowmem_test.h"

#define MiB (1024UL * 1024)

/* MAP_PRIVATE would hand the work to the kernel's own COW: EINVAL. */
TEST(map_private_rejected)
{
	int fd = cowmem_open();

	ASSERT_LE(0, fd);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, cowmem_page_size(),
				   PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* A first mapping larger than max_region_mb (default 1024) gets ENOMEM. */
TEST(oversized_region_rejected)
{
	int fd = cowmem_open();

	ASSERT_LE(0, fd);
	EXPECT_EQ(MAP_FAILED,
		  mmap(NULL, 1025 * MiB, PROT_READ, MAP_SHARED, fd, 0));
	EXPECT_EQ(ENOMEM, errno);
	/* Offset plus length counts: 1 MiB at offset 1024 MiB is too large too. */
	EXPECT_EQ(MAP_FAILED,
		  mmap(NULL, MiB, PROT_READ, MAP_SHARED, fd, 1024 * MiB));
	EXPECT_EQ(ENOMEM, errno);
	close(fd);
}

/* Once the first mmap() fixed the size, later mappings must lie inside it. */
TEST(mapping_outside_region_rejected)
{
	size_t psz = cowmem_page_size();
	int fd = cowmem_open();
	char *map;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, 4, 0);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(NULL, cowmem_map(fd, 4, 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, cowmem_map(fd, 1, 4));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_NE(NULL, cowmem_map(fd, 1, 3));
	munmap(map, 4 * psz);
	close(fd);
}

/* Offsets that overflow or are absurd fail cleanly. */
TEST(absurd_offsets_rejected)
{
	size_t psz = cowmem_page_size();
	int fd = cowmem_open();

	ASSERT_LE(0, fd);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, psz, PROT_READ, MAP_SHARED, fd,
				   (off_t)(INT64_MAX & ~(int64_t)(psz - 1))));
	EXPECT_EQ(MAP_FAILED,
		  mmap(NULL, psz, PROT_READ, MAP_SHARED, fd, (off_t)1 << 40));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, psz, PROT_READ, MAP_SHARED, fd, 1));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* The device has no read/write: EINVAL, not a crash. */
TEST(read_write_on_device_refused)
{
	int fd = cowmem_open();
	char buf[8] = { 0 };

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, write(fd, buf, sizeof(buf)));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* A read-only open maps MAP_SHARED read-only (zeros), never writable. */
TEST(readonly_open_maps_readonly)
{
	int fd = open(COWMEM_DEV, O_RDONLY | O_CLOEXEC);
	char *map;

	ASSERT_LE(0, fd);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, cowmem_page_size(),
				   PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	EXPECT_EQ(EACCES, errno);
	map = mmap(NULL, cowmem_page_size(), PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(0, map[100]);
	munmap(map, cowmem_page_size());
	close(fd);
}

static sigjmp_buf segv_jump;

static void on_segv(int sig)
{
	siglongjmp(segv_jump, sig);
}

/* A store to a PROT_READ cowmem mapping is SIGSEGV, and the data stays. */
TEST(store_to_readonly_mapping_segfaults)
{
	int fd = cowmem_open();
	char *map;

	ASSERT_LE(0, fd);
	map = cowmem_map(fd, 1, 0);
	ASSERT_NE(NULL, map);
	poke(map, 'k');
	ASSERT_EQ(0, mprotect(map, cowmem_page_size(), PROT_READ));
	signal(SIGSEGV, on_segv);
	if (sigsetjmp(segv_jump, 1) == 0) {
		poke(map, 'x');
		ASSERT_TRUE(0); /* not reached */
	}
	signal(SIGSEGV, SIG_DFL);
	EXPECT_EQ('k', peek(map));
	munmap(map, cowmem_page_size());
	close(fd);
}

/*
 * MADV_DONTNEED keeps the data: VM_PFNMAP mappings refuse it (EINVAL), and
 * in VM_MIXEDMAP ones (a kernel that pins cowmem's pages) it drops PTEs
 * alone, as in a shared file mapping, and the page faults back in.
 */
TEST(madv_dontneed_keeps_data)
{
	int fd = cowmem_open();
	int pinnable = cowmem_pinnable();
	char *map;

	ASSERT_LE(0, pinnable);
	ASSERT_LE(0, fd);
	map = cowmem_map(fd, 2, 0);
	ASSERT_NE(NULL, map);
	map[0] = 'd';
	if (pinnable) {
		EXPECT_EQ(0,
			  madvise(map, 2 * cowmem_page_size(), MADV_DONTNEED));
	} else {
		EXPECT_EQ(-1,
			  madvise(map, 2 * cowmem_page_size(), MADV_DONTNEED));
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ('d', map[0]);
	munmap(map, 2 * cowmem_page_size());
	close(fd);
}

/* MAP_POPULATE and MAP_LOCKED are accepted and change nothing visible. */
TEST(populate_and_locked_accepted)
{
	int fd = cowmem_open();
	char *map;

	ASSERT_LE(0, fd);
	map = mmap(NULL, 4 * cowmem_page_size(), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_POPULATE | MAP_LOCKED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(0, map[3 * cowmem_page_size()]);
	map[0] = 'p';
	EXPECT_EQ('p', map[0]);
	munmap(map, 4 * cowmem_page_size());
	close(fd);
}

/* After all of the above, the module's invariants still hold. */
TEST(check_ok_after_bad_input)
{
	EXPECT_TRUE(cowmem_check_ok());
}

COWMEM_HARNESS_MAIN
