/* SPDX-License-Identifier: GPL-2.0 */
/* Unit-test shim: memcpy() and friends, from the C library. */
#ifndef _SHIM_LINUX_STRING_H
#define _SHIM_LINUX_STRING_H

#include <string.h>

#endif /* _SHIM_LINUX_STRING_H */
