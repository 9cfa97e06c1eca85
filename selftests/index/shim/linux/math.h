/* SPDX-License-Identifier: GPL-2.0 */
/* Unit-test shim: DIV_ROUND_UP(), as the kernel's, from its uapi headers. */
#ifndef _SHIM_LINUX_MATH_H
#define _SHIM_LINUX_MATH_H

#include <linux/const.h>

#define DIV_ROUND_UP __KERNEL_DIV_ROUND_UP

#endif /* _SHIM_LINUX_MATH_H */
