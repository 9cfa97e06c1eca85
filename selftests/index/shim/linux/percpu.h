/* SPDX-License-Identifier: GPL-2.0 */
/* Unit-test shim: one CPU, so a per-CPU variable is a plain one. */
#ifndef _SHIM_LINUX_PERCPU_H
#define _SHIM_LINUX_PERCPU_H

#define DECLARE_PER_CPU(type, name) extern __typeof__(type) name
#define DEFINE_PER_CPU(type, name) __typeof__(type) name
#define this_cpu_inc(pcp) ((void)((pcp)++))
#define this_cpu_dec(pcp) ((void)((pcp)--))
#define this_cpu_add(pcp, n) ((void)((pcp) += (n)))

#endif /* _SHIM_LINUX_PERCPU_H */
