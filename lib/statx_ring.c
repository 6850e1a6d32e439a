/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "statx_ring.h"
#include "util.h"

#include <assert.h>
#include <limits.h>
#include <sched.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#ifdef TMPFS_SWEEP_TEST_HOOKS
#include <stdlib.h>
#endif

struct statx_ring {
	int fd;
	bool held; /* the caller's thread is held on one CPU; its own mask is in mask */
	cpu_set_t mask;
	unsigned inflight; /* ops submitted and not yet reaped */
	unsigned sq_entries;
	void *ring; /* SQ and CQ rings (one mapping: IORING_FEAT_SINGLE_MMAP) */
	size_t ring_len;
	struct io_uring_sqe *sqes;
	size_t sqes_len;
	unsigned *sq_tail, *sq_mask, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
	/* What the kernel reads or writes while an op is in flight: owned here, so that an op
	 * abandoned at the deadline never writes into memory the caller has freed. */
	struct statx stx[STATX_RING_BATCH];
	char names[STATX_RING_BATCH][NAME_MAX + 1];
};

static int ring_setup(unsigned entries, struct io_uring_params *p)
{
	long fd = syscall(__NR_io_uring_setup, entries, p);

	return fd < 0 ? negative_errno() : (int)fd;
}

/* Does this kernel know IORING_OP_STATX? (5.6; the ring itself came in 5.1.) */
static bool has_statx_op(int fd)
{
	size_t len = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
	_cleanup_free_ struct io_uring_probe *probe = calloc(1, len);

	if (!probe || syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, probe, 256) < 0)
		return false;
	return probe->last_op >= IORING_OP_STATX &&
	       (probe->ops[IORING_OP_STATX].flags & IO_URING_OP_SUPPORTED);
}

static void reap(struct statx_ring *r, int *res);

/* Ops left in flight at a deadline: give them a little longer (a tmpfs statx takes
 * microseconds), so that their memory can be freed. */
#define DRAIN_NS (100 * 1000 * 1000ull)

static void drain(struct statx_ring *r)
{
	uint64_t until = now_ns(CLOCK_MONOTONIC) + DRAIN_NS;
	int res[STATX_RING_BATCH];

	while (r->inflight) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		struct __kernel_timespec ts = {.tv_nsec =
						   (long long)(until > now ? until - now : 0)};
		struct io_uring_getevents_arg arg = {.ts = (uintptr_t)&ts};
		long k = syscall(__NR_io_uring_enter, r->fd, 0, r->inflight,
				 IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));

		reap(r, res);
		if (k < 0 && errno != EINTR)
			break;
	}
}

void statx_ring_free(struct statx_ring *r)
{
	if (!r)
		return;
	if (r->inflight && r->ring)
		drain(r);
	if (r->held)
		(void)sched_setaffinity(0, sizeof(r->mask), &r->mask);
	if (r->ring)
		munmap(r->ring, r->ring_len);
	if (r->sqes)
		munmap(r->sqes, r->sqes_len);
	safe_close(r->fd);
	/* Ops abandoned at the deadline may still complete into r->stx: leave it be. */
	if (!r->inflight)
		free(r);
}

/* The caller sleeps while the io-wq workers stat, and they wake each other at least once a
 * batch: across CPUs each wake-up is an IPI, dear in a VM. Measured on 2 vCPUs (100,000
 * files, scan --json): both free to move, the ring cost as much CPU as one statx at a time,
 * and up to 1.5x; kept on one CPU, 0.7x. So for the life of the ring the calling thread
 * stays on the CPU it runs on, and the workers (made later) with it; statx_ring_free gives
 * the thread its own mask back. Not held (no harm done) if the masks cannot be set. */
static void hold_cpu(struct statx_ring *r)
{
	int cpu = sched_getcpu();
	cpu_set_t one;

	if (cpu < 0 || sched_getaffinity(0, sizeof(r->mask), &r->mask) < 0)
		return;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		return;
	r->held = true;
	(void)syscall(__NR_io_uring_register, r->fd, IORING_REGISTER_IOWQ_AFF, &one, sizeof(one));
}

int statx_ring_new(struct statx_ring **ret)
{
	struct io_uring_params p = {
	    /* One thread submits and reaps (6.1+): completions wait for our io_uring_enter
	     * instead of interrupting us. */
	    .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	};
	struct statx_ring *r;
	unsigned *sq_array;
	char *ring;
	int fd;

	assert(ret);
#ifdef TMPFS_SWEEP_TEST_HOOKS
	/* TEST HOOK: TMPFS_SWEEP_TEST_NO_URING=1: as if io_uring were disabled (sysctl). */
	if (getenv("TMPFS_SWEEP_TEST_NO_URING"))
		return -EPERM;
#endif
	fd = ring_setup(STATX_RING_BATCH, &p);
	if (fd == -EINVAL) {
		p = (struct io_uring_params){0};
		fd = ring_setup(STATX_RING_BATCH, &p);
	}
	if (fd < 0)
		return fd;
	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		return -ENOMEM;
	}
	r->fd = fd;
	/* The deadline needs IORING_ENTER_EXT_ARG (5.11); one mapping for both rings (5.4). */
	if (!(p.features & IORING_FEAT_EXT_ARG) || !(p.features & IORING_FEAT_SINGLE_MMAP) ||
	    !has_statx_op(fd) || p.sq_entries < STATX_RING_BATCH) {
		statx_ring_free(r);
		return -EOPNOTSUPP;
	}
	r->sq_entries = p.sq_entries;
	r->ring_len = MAX(p.sq_off.array + p.sq_entries * sizeof(unsigned),
			  p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe));
	ring = mmap(NULL, r->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		    IORING_OFF_SQ_RING);
	if (ring == MAP_FAILED) {
		r->ring = NULL;
		statx_ring_free(r);
		return -ENOMEM;
	}
	r->ring = ring;
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
		       IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED) {
		r->sqes = NULL;
		statx_ring_free(r);
		return -ENOMEM;
	}
	r->sq_tail = (unsigned *)(ring + p.sq_off.tail);
	r->sq_mask = (unsigned *)(ring + p.sq_off.ring_mask);
	r->cq_head = (unsigned *)(ring + p.cq_off.head);
	r->cq_tail = (unsigned *)(ring + p.cq_off.tail);
	r->cq_mask = (unsigned *)(ring + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(ring + p.cq_off.cqes);
	sq_array = (unsigned *)(ring + p.sq_off.array);
	for (unsigned i = 0; i < p.sq_entries; i++)
		sq_array[i] = i; /* SQE i always sits in slot i */
	hold_cpu(r);
	*ret = r;
	return 0;
}

const struct statx *statx_ring_result(const struct statx_ring *r, unsigned i)
{
	assert(i < STATX_RING_BATCH);
	return &r->stx[i];
}

/* Reap what has completed; the CQ holds 2 * sq_entries, more than can be in flight. */
static void reap(struct statx_ring *r, int *res)
{
	unsigned head = *r->cq_head, tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);

	for (; head != tail; head++) {
		const struct io_uring_cqe *c = &r->cqes[head & *r->cq_mask];
		if (c->user_data < STATX_RING_BATCH)
			res[c->user_data] = c->res;
		r->inflight--;
	}
	__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
}

int statx_ring_run(struct statx_ring *r, int dirfd, const char *const *names, unsigned n, int flags,
		   unsigned mask, int *res, uint64_t deadline_ns)
{
	unsigned tail, submitted = 0;

	assert(r);
	assert(n <= STATX_RING_BATCH);
	assert(!r->inflight);
	tail = *r->sq_tail;
	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *q = &r->sqes[(tail + i) & *r->sq_mask];
		size_t len = strnlen(names[i], NAME_MAX + 1);

		if (len > NAME_MAX) /* getdents64 never returns one */
			return -ENAMETOOLONG;
		memcpy(r->names[i], names[i], len + 1);
		*q = (struct io_uring_sqe){
		    .opcode = IORING_OP_STATX,
		    .fd = dirfd,
		    .addr = (uintptr_t)r->names[i],
		    .len = mask,
		    .off = (uintptr_t)&r->stx[i],
		    .statx_flags = (unsigned)flags,
		    .user_data = i,
		};
		res[i] = -EINPROGRESS;
	}
	__atomic_store_n(r->sq_tail, tail + n, __ATOMIC_RELEASE);

	while (submitted < n || r->inflight) {
		struct io_uring_getevents_arg arg = {0};
		struct __kernel_timespec ts;
		unsigned want = r->inflight + (n - submitted);
		long k;

		if (deadline_ns) {
			uint64_t now = now_ns(CLOCK_MONOTONIC);
			uint64_t left = deadline_ns > now ? deadline_ns - now : 0;
			ts = (struct __kernel_timespec){.tv_sec = (long long)(left / 1000000000u),
							.tv_nsec = (long long)(left % 1000000000u)};
			arg.ts = (uintptr_t)&ts;
		}
		k = syscall(__NR_io_uring_enter, r->fd, n - submitted, want,
			    IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
		if (k > 0) {
			submitted += (unsigned)k;
			r->inflight += (unsigned)k;
		}
		reap(r, res);
		if (k >= 0 || errno == EINTR)
			continue;
		if (errno == ETIME)
			return -ETIME;
		if (!submitted) {
			/* Nothing reached the kernel: take the SQEs back, the caller stats alone.
			 */
			__atomic_store_n(r->sq_tail, tail, __ATOMIC_RELEASE);
			return negative_errno();
		}
		/* Some ops are out and the ring fails: wait for them no more than the deadline
		 * allows, as ETIME would. */
		return -ETIME;
	}
	return 0;
}
