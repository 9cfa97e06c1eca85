/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit-test shim: a seqcount, for one thread. The counter still moves as
 * the kernel's does, so a test can see that a publish bumped it.
 */
#ifndef _SHIM_LINUX_SEQLOCK_H
#define _SHIM_LINUX_SEQLOCK_H

typedef struct {
	unsigned int sequence;
} seqcount_t;

static inline void seqcount_init(seqcount_t *s)
{
	s->sequence = 0;
}

static inline unsigned int read_seqcount_begin(const seqcount_t *s)
{
	return s->sequence;
}

static inline int read_seqcount_retry(const seqcount_t *s, unsigned int start)
{
	return s->sequence != start;
}

static inline void write_seqcount_begin(seqcount_t *s)
{
	s->sequence++;
}

static inline void write_seqcount_end(seqcount_t *s)
{
	s->sequence++;
}

#endif /* _SHIM_LINUX_SEQLOCK_H */
