/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit-test shim: a warning is counted (shim.warnings) and printed, every
 * time rather than once, so that a test sees each one.
 */
#ifndef _SHIM_LINUX_BUG_H
#define _SHIM_LINUX_BUG_H

#include <linux/types.h>

void shim_warn(const char *what, const char *file, int line);

#define WARN_ON_ONCE(condition)                                    \
	({                                                         \
		bool __ret_warn = !!(condition);                   \
		if (__ret_warn)                                    \
			shim_warn(#condition, __FILE__, __LINE__); \
		__ret_warn;                                        \
	})

#endif /* _SHIM_LINUX_BUG_H */
