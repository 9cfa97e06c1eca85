/* SPDX-License-Identifier: GPL-2.0 */
/* Unit-test shim: BIT() and BITS_PER_LONG. */
#ifndef _SHIM_LINUX_BITS_H
#define _SHIM_LINUX_BITS_H

#define BITS_PER_LONG (__SIZEOF_LONG__ * 8)
#define BIT(nr) (1UL << (nr))

#endif /* _SHIM_LINUX_BITS_H */
