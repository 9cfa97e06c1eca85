/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit-test shim: the kernel's error numbers, from its uapi headers, as the
 * uapi <linux/errno.h> this stands in for (the C library's <errno.h> reaches
 * it too) gets them.
 */
#ifndef _SHIM_LINUX_ERRNO_H
#define _SHIM_LINUX_ERRNO_H

#include <asm/errno.h>

#endif /* _SHIM_LINUX_ERRNO_H */
