/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * statx_ring.h: many statx(2) calls in one system call, through a minimal io_uring made with
 * raw system calls (no liburing: one shared library less to map at every exec of the
 * helper). The walk stats the names of one getdents64 buffer at once: the kernel runs the
 * statx ops on its io-wq workers, and the per-call entry/exit cost (high under PTI and
 * paravirtualisation) is paid once per batch instead of once per name. Where system calls
 * are cheap the hand-off to the workers costs more than it saves: the walk measures both
 * ways on its first batches and keeps the cheaper (walk.c).
 * Unavailable (old kernel, kernel.io_uring_disabled, seccomp, no STATX op): statx_ring_new
 * fails and the caller stats one name at a time, with exactly the same results.
 */
#pragma once

#include <stdint.h>
#include <sys/stat.h>
#include <fcntl.h>

#define STATX_RING_BATCH 64u /* most names in one batch */

struct statx_ring;

/* A ring for batches of up to STATX_RING_BATCH names, or -errno (-ENOSYS, -EPERM, -EINVAL,
 * -EOPNOTSUPP when the kernel has no IORING_OP_STATX, ...) when there is none. Until
 * statx_ring_free, the calling thread is held on the CPU it runs on, with the ring's kernel
 * workers (wake-ups across CPUs cost more than the batches save, statx_ring.c); a child
 * forked meanwhile inherits that mask. */
int statx_ring_new(struct statx_ring **ret);

/* Releases the ring. Ops a batch left in flight at its deadline get 0.1 s more; any still
 * out then may yet write into the ring's memory, which is deliberately not freed (33 KiB,
 * once). */
void statx_ring_free(struct statx_ring *r);

/* statx(dirfd, names[i], flags, mask) for i < n (n <= STATX_RING_BATCH): res[i] = 0 and
 * statx_ring_result(r, i) filled, or res[i] = -errno as statx would have failed. The names
 * are copied; the results live in the ring until its next run. Waits no later than
 * deadline_ns (CLOCK_MONOTONIC; 0: no deadline). Returns 0; -ETIME at the deadline (the
 * results are void and the ring is unusable); another -errno if the ring failed before any
 * op was submitted (nothing was done: the caller may stat the names itself). */
int statx_ring_run(struct statx_ring *r, int dirfd, const char *const *names, unsigned n, int flags,
		   unsigned mask, int *res, uint64_t deadline_ns);
const struct statx *statx_ring_result(const struct statx_ring *r, unsigned i);
