/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pages.h"
#include "util.h"
#include "walk.h"

#include <assert.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef __NR_cachestat
#define __NR_cachestat 451 /* Linux 6.5; the same number on every architecture */
#endif

/* The window is what one scan step maps. It bounds the RSS a scan adds (resident pages
 * are mapped in only while their window is looked at) and sets the batch size of the
 * pagemap and kpagecgroup reads. A batch of small files is one window too. */
#define WINDOW_BYTES (2u << 20)
#define SPAN_BYTES (64u << 20) /* mapped at once (address space) for the windows of a file */
#define BATCH_MAX PAGES_BATCH_MAX /* <= 1 << SLOT_BITS */
#define BATCH_FILE_MAX (256u << 10) /* larger files are scanned on their own */
/* kpagecgroup reads merge PFN runs separated by at most this many unused entries. */
#define PFN_GAP 64
#define PM_PRESENT (1ULL << 63)
#define PM_PFN_MASK ((1ULL << 55) - 1)
/* The search for fallocated pages in one file: at most this many steps (cachestat calls
 * and UFFDIO_CONTINUEs that hit a hole), and ranges this small are probed page by page
 * rather than bisected further. */
#define SEARCH_STEPS 16384u
#define PROBE_PAGES 16u

struct cachestat_range_ {
	uint64_t off, len;
};
struct cachestat_ {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

struct slot {
	int fd;
	int error;
	size_t first, npages; /* pages of the batch region */
	uint64_t size, blocks;
	uint64_t seen; /* pages mincore saw resident */
	struct page_scan res;
};

struct pages_ctx {
	int pagemap_fd;
	int kpagecgroup_fd;
	int uffd;        /* userfaultfd, -1 when the kernel or a sandbox refuses it */
	bool uffd_minor; /* UFFDIO_CONTINUE on shmem (Linux 5.14) */
	bool no_cachestat;
	size_t page;
	size_t npages; /* per window */
	unsigned char *vec;
	uint64_t *pm;
	uint64_t *pfn;    /* PFNs of the resident pages of the window, in page order */
	uint64_t *cgbuf;  /* kpagecgroup read buffer */
	size_t cgbuf_len; /* entries */
	uint64_t deadline_ns;
	uint8_t *region;  /* the batch's window of address space, files side by side */
	size_t used;      /* pages of it in use */
	struct slot slots[BATCH_MAX];
	size_t n_slots;
};

/*
 * userfaultfd does two things here, both on our own private read-only mappings (a
 * MAP_PRIVATE mapping may be registered without write access to the file; nothing is
 * ever written):
 *  - the fault guard: a mapping registered for missing-page faults, with
 *    UFFD_FEATURE_SIGBUS, fails a fault on a hole (EFAULT from MADV_POPULATE_READ)
 *    instead of allocating a page for it, should a hole be punched between mincore and
 *    the populate;
 *  - UFFDIO_CONTINUE on a mapping registered for minor faults maps the page-cache folio
 *    that is there (shmem_get_folio with SGP_NOALLOC), and fails on a hole.
 * UFFD_USER_MODE_ONLY needs no privilege (vm.unprivileged_userfaultfd=0 allows it).
 * No thread ever waits on this descriptor: every fault in a registered range fails.
 */
static int uffd_open(bool *minor)
{
	static const uint64_t want[] = {UFFD_FEATURE_SIGBUS | UFFD_FEATURE_MINOR_SHMEM,
					UFFD_FEATURE_SIGBUS};

	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		struct uffdio_api api = {.api = UFFD_API, .features = want[i]};
		int fd = (int)syscall(SYS_userfaultfd,
				      O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

		if (fd < 0)
			return negative_errno();
		/* A refused handshake leaves the descriptor unusable: a fresh one per try. */
		if (ioctl(fd, UFFDIO_API, &api) == 0 && (api.features & want[i]) == want[i]) {
			*minor = api.features & UFFD_FEATURE_MINOR_SHMEM;
			return fd;
		}
		close(fd);
	}
	return -EOPNOTSUPP;
}

static bool uffd_register(struct pages_ctx *c, void *p, size_t len, uint64_t mode)
{
	struct uffdio_register reg = {.range = {.start = (uintptr_t)p, .len = len}, .mode = mode};

	return c->uffd >= 0 && ioctl(c->uffd, UFFDIO_REGISTER, &reg) == 0;
}

struct pages_ctx *pages_ctx_free(struct pages_ctx *c)
{
	if (!c)
		return NULL;
	pages_batch_clear(c);
	for (size_t i = 0; i < BATCH_MAX; i++)
		page_scan_done(&c->slots[i].res);
	safe_close(c->pagemap_fd);
	safe_close(c->kpagecgroup_fd);
	safe_close(c->uffd);
	free(c->vec);
	free(c->pm);
	free(c->pfn);
	free(c->cgbuf);
	free(c);
	return NULL;
}

int pages_ctx_new(struct pages_ctx **ret)
{
	struct pages_ctx *c = calloc(1, sizeof(*c));
	int r;

	assert(ret);

	if (!c)
		return -ENOMEM;
	c->pagemap_fd = c->kpagecgroup_fd = c->uffd = -1;
	for (size_t i = 0; i < BATCH_MAX; i++)
		c->slots[i].fd = -1;
	c->page = (size_t)sysconf(_SC_PAGESIZE);
	c->npages = WINDOW_BYTES / c->page;
	c->cgbuf_len = c->npages + PFN_GAP;
	c->vec = malloc(c->npages);
	c->pm = calloc(c->npages, sizeof(uint64_t));
	c->pfn = calloc(c->npages, sizeof(uint64_t));
	c->cgbuf = calloc(c->cgbuf_len, sizeof(uint64_t));
	if (!c->vec || !c->pm || !c->pfn || !c->cgbuf) {
		pages_ctx_free(c);
		return -ENOMEM;
	}
	c->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	c->kpagecgroup_fd = open("/proc/kpagecgroup", O_RDONLY | O_CLOEXEC);
	if (c->pagemap_fd < 0 || c->kpagecgroup_fd < 0) {
		r = negative_errno();
		pages_ctx_free(c);
		return r;
	}
	/* Without it: no fault guard (mincore alone decides what is mapped, as before Linux
	 * 5.14 had to) and fallocated pages are unknown (PAGES_UNKNOWN_UNLOCATED). */
	r = uffd_open(&c->uffd_minor);
	c->uffd = r >= 0 ? r : -1;
	*ret = c;
	return 0;
}

void pages_set_deadline(struct pages_ctx *c, uint64_t deadline_ns)
{
	assert(c);
	c->deadline_ns = deadline_ns;
}

void page_scan_done(struct page_scan *res)
{
	assert(res);
	free(res->charges);
	*res = (struct page_scan){0};
}

const char *pages_unknown_str(unsigned unknown, char *buf, size_t len)
{
	static const char *const names[] = {"swap", "unlocated", "beyond-eof"};
	size_t n = 0;

	assert(buf);

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (unknown & (1u << i)) {
			int w = snprintf(buf + n, len - n, "%s%s", n ? "," : "", names[i]);
			if (w < 0 || (size_t)w >= len - n)
				break;
			n += (size_t)w;
		}
	return buf;
}

static int charge_add(struct page_scan *res, uint64_t ino, uint64_t bytes)
{
	/* Few distinct cgroups per file: a linear search. */
	for (size_t i = 0; i < res->n_charges; i++)
		if (res->charges[i].ino == ino) {
			res->charges[i].bytes += bytes;
			return 0;
		}
	if (res->n_charges == res->cap_charges) {
		size_t nc = res->cap_charges ? res->cap_charges * 2 : 4;
		struct charge *v = reallocarray(res->charges, nc, sizeof(*v));
		if (!v)
			return -ENOMEM;
		res->charges = v;
		res->cap_charges = nc;
	}
	res->charges[res->n_charges++] = (struct charge){.ino = ino, .bytes = bytes};
	return 0;
}

static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0)
		return negative_errno();
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

/* Look up the cgroup of n PFNs (in any order, but usually in runs) and charge them. */
static int charge_pfns(struct pages_ctx *c, const uint64_t *pfn, size_t n, struct page_scan *res)
{
	uint64_t last_ino = UINT64_MAX, acc = 0;
	size_t i = 0;
	int r;

	while (i < n) {
		uint64_t lo = pfn[i], hi = pfn[i];
		size_t j = i + 1;

		/* Grow the run while the next PFN lies close above the current span. */
		while (j < n && pfn[j] >= lo && pfn[j] <= hi + PFN_GAP && pfn[j] - lo < c->cgbuf_len) {
			if (pfn[j] > hi)
				hi = pfn[j];
			j++;
		}
		r = pread_full(c->kpagecgroup_fd, c->cgbuf, (hi - lo + 1) * sizeof(uint64_t),
			       (off_t)(lo * sizeof(uint64_t)));
		if (r < 0)
			return r;
		for (size_t k = i; k < j; k++) {
			uint64_t ino = c->cgbuf[pfn[k] - lo];
			if (ino != last_ino) {
				if (acc && (r = charge_add(res, last_ino, acc)) < 0)
					return r;
				last_ino = ino;
				acc = 0;
			}
			acc += c->page;
		}
		i = j;
	}
	if (acc)
		return charge_add(res, last_ino, acc);
	return 0;
}

static int read_pagemap(struct pages_ctx *c, const uint8_t *p, size_t np)
{
	return pread_full(c->pagemap_fd, c->pm, np * sizeof(uint64_t),
			  (off_t)((uintptr_t)p / c->page * sizeof(uint64_t)));
}

/* Charge the pages [from, to) of c->pm that are present (and, with vec, that mincore saw
 * resident). Returns how many were charged, or -errno. */
static int64_t charge_present(struct pages_ctx *c, size_t from, size_t to,
			      const unsigned char *vec, struct page_scan *res)
{
	size_t npfn = 0;
	int r;

	for (size_t i = from; i < to; i++) {
		if (vec && !(vec[i] & 1))
			continue;
		if ((c->pm[i] & PM_PRESENT) && (c->pm[i] & PM_PFN_MASK))
			c->pfn[npfn++] = c->pm[i] & PM_PFN_MASK;
		/* else: resident to mincore, gone since (truncated, swapped): unknown */
	}
	r = charge_pfns(c, c->pfn, npfn, res);
	return r < 0 ? r : (int64_t)npfn;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The present pages of every file of the batch at once: their PFNs sorted, each with its
 * slot in the low bits (BATCH_MAX <= 1 << SLOT_BITS), so that the kpagecgroup reads cover
 * the batch in a few runs rather than a few per file. */
#define SLOT_BITS 6
static int charge_batch(struct pages_ctx *c)
{
	size_t n = 0, i = 0;
	int r;

	for (size_t k = 0; k < c->n_slots; k++) {
		const struct slot *s = &c->slots[k];
		for (size_t pg = s->first; pg < s->first + s->npages; pg++)
			if ((c->vec[pg] & 1) && (c->pm[pg] & PM_PRESENT) &&
			    (c->pm[pg] & PM_PFN_MASK))
				c->pfn[n++] = (c->pm[pg] & PM_PFN_MASK) << SLOT_BITS | k;
	}
	qsort(c->pfn, n, sizeof(*c->pfn), cmp_u64);
	while (i < n) {
		uint64_t lo = c->pfn[i] >> SLOT_BITS, hi = lo;
		size_t j = i + 1;

		while (j < n && (c->pfn[j] >> SLOT_BITS) <= hi + PFN_GAP &&
		       (c->pfn[j] >> SLOT_BITS) - lo < c->cgbuf_len)
			hi = c->pfn[j++] >> SLOT_BITS;
		r = pread_full(c->kpagecgroup_fd, c->cgbuf, (hi - lo + 1) * sizeof(uint64_t),
			       (off_t)(lo * sizeof(uint64_t)));
		if (r < 0)
			return r;
		for (; i < j; i++) {
			struct slot *s = &c->slots[c->pfn[i] & ((1u << SLOT_BITS) - 1)];
			r = charge_add(&s->res, c->cgbuf[(c->pfn[i] >> SLOT_BITS) - lo], c->page);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Map in the runs of [from, to) that mincore saw resident (c->vec), p the start of the
 * mapping. A fault on a hole would allocate: under the guard it fails instead. */
static int populate_resident(struct pages_ctx *c, uint8_t *p, size_t from, size_t to,
			     struct page_scan *res)
{
	for (size_t i = from; i < to;) {
		size_t j;
		if (!(c->vec[i] & 1)) {
			i++;
			continue;
		}
		for (j = i; j < to && (c->vec[j] & 1); j++)
			;
		if (madvise(p + i * c->page, (j - i) * c->page, MADV_POPULATE_READ) < 0) {
			/* EFAULT: the file shrank under us (a read would have been SIGBUS), or a
			 * hole was punched since mincore (the guard's SIGBUS). */
			if (errno == EFAULT || errno == EINVAL)
				res->changed = true;
			else if (errno != EINTR && errno != EAGAIN && errno != ENOMEM)
				return negative_errno();
		}
		i = j;
	}
	return 0;
}

/* Attribute the resident pages of [p, p+len), a mapping of ours, len <= WINDOW_BYTES;
 * *seen counts the pages mincore saw resident. With drop, the window's pages are unmapped
 * again afterwards (a private file mapping: nothing but our page tables changes). */
static int scan_mapped(struct pages_ctx *c, uint8_t *p, size_t len, struct page_scan *res,
		       uint64_t *seen, bool drop)
{
	size_t np = (len + c->page - 1) / c->page, nres = 0;
	int64_t n;
	int r;

	if (mincore(p, len, c->vec) < 0)
		return negative_errno();
	for (size_t i = 0; i < np; i++)
		nres += c->vec[i] & 1;
	if (nres == 0)
		return 0;
	*seen += nres;
	r = populate_resident(c, p, 0, np, res);
	if (r == 0)
		r = read_pagemap(c, p, np);
	n = r < 0 ? r : charge_present(c, 0, np, c->vec, res);
	if (drop)
		madvise(p, np * c->page, MADV_DONTNEED);
	return n < 0 ? (int)n : 0;
}

static uint8_t *map_file(struct pages_ctx *c, int fd, uint64_t off, size_t len)
{
	/* Private and read-only: a read fault maps the page-cache page itself (no copy is
	 * made without a write), and userfaultfd accepts it without write access. */
	return mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, (off_t)off);
}

/* [start, end) of the file, start page aligned: mapped SPAN_BYTES at a time (address
 * space only) and registered for the guard once per span, looked at a window at a time,
 * each window's pages unmapped again before the next, so that the scan's RSS stays one
 * window. Without the guard (no userfaultfd) mincore alone decides what is populated,
 * as it always did. */
static int scan_range(struct pages_ctx *c, int fd, uint64_t start, uint64_t end,
		      struct page_scan *res, uint64_t *seen)
{
	for (uint64_t s0 = start; s0 < end;) {
		size_t len = (size_t)MIN((uint64_t)SPAN_BYTES, end - s0);
		size_t maplen = (len + c->page - 1) & ~(c->page - 1);
		uint8_t *p = map_file(c, fd, s0, len);
		int r = 0;

		if (p == MAP_FAILED)
			return negative_errno();
		uffd_register(c, p, maplen, UFFDIO_REGISTER_MODE_MISSING);
		for (size_t w = 0; w < len && r == 0; w += WINDOW_BYTES)
			r = scan_mapped(c, p + w, MIN((size_t)WINDOW_BYTES, len - w), res, seen,
					true);
		munmap(p, maplen);
		if (r < 0)
			return r;
		s0 += len;
	}
	return 0;
}

/* Phase one: the pages mincore sees resident, in the data ranges of the file. */
static int scan_data(struct pages_ctx *c, int fd, uint64_t size, uint64_t blocks,
		     struct page_scan *res, uint64_t *seen)
{
	uint64_t off = 0, pagemask = c->page - 1;
	int r;

	/* A file with a block for every page has no hole: one range, no lseek. SEEK_HOLE
	 * walks the file's whole page cache (5% of attributing a resident 1 GiB file).
	 * mincore() still decides what is mapped in, so a hole punched since the statx is
	 * never faulted either. */
	if (blocks * 512 >= ((size + pagemask) & ~pagemask))
		return scan_range(c, fd, 0, size, res, seen);
	while (off < size) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO)
				break; /* no data past off (or the file shrank) */
			return negative_errno();
		}
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			if (errno != ENXIO)
				return negative_errno();
			res->changed = true;
			break;
		}
		if ((uint64_t)hole > size)
			hole = (off_t)size;
		r = scan_range(c, fd, (uint64_t)data & ~pagemask, (uint64_t)hole, res, seen);
		if (r < 0)
			return r;
		if ((uint64_t)hole <= off) /* no progress: the file changed under us */
			break;
		off = (uint64_t)hole;
	}
	return 0;
}

/*
 * Phase two: pages fallocate(2) allocated and nobody wrote. Such a folio is in the page
 * cache, charged to the cgroup that fallocated it, but not uptodate: mincore says it is
 * not resident and SEEK_DATA calls it a hole. It is found in the holes SEEK_DATA reports
 * (where a page in swap never is: swap entries are data to SEEK_DATA), by bisection with
 * cachestat(2), which counts every folio of a range whether uptodate or not, in
 * O(log size) calls per run of such pages, so that a sparse 2^62-byte file costs what its
 * few pages cost. A range that is all folios (or small) is mapped with UFFDIO_CONTINUE:
 * it maps a folio that is there and fails on a hole, never allocating; then pagemap and
 * kpagecgroup name the cgroup as for any page.
 *
 * What that changes, all of it invisible to the file's users: the kernel hands such a
 * folio out the way it would on a read fault, zero-filled and marked uptodate, so
 * afterwards the page reads as zeros (as it did), SEEK_DATA calls it data and mincore
 * resident, st_blocks and every cgroup's usage are unchanged (the folio was allocated
 * and charged already), and a fallocate(2) still running on that range that fails with
 * ENOSPC keeps it rather than freeing it. Such a folio swapped out in the moment between
 * the check (cachestat's nr_evicted right before) and the UFFDIO_CONTINUE would be read
 * back: the race mincore and MADV_POPULATE_READ have for resident pages.
 *
 * Without cachestat (Linux < 6.5, e.g. Debian 12's 6.1) the holes are probed page by
 * page with UFFDIO_CONTINUE, which is cheap when the holes are all fallocated (a file
 * fallocated whole, PostgreSQL's segments) and costs one step per page of a true hole;
 * the search stops at SEARCH_STEPS or the deadline, and what it did not find is counted
 * as unknown (PAGES_UNKNOWN_UNLOCATED), never guessed. There the check is the hole's
 * SEEK_DATA, so the swap race's moment is the probe of that hole.
 */
struct search {
	int fd;
	uint64_t want;  /* pages still unaccounted */
	unsigned steps; /* cachestat calls and UFFDIO_CONTINUEs that found a hole */
	bool capped;    /* stopped before every hole was searched */
	bool changed;
};

static bool search_step(struct pages_ctx *c, struct search *s)
{
	if (++s->steps > SEARCH_STEPS ||
	    (c->deadline_ns && (s->steps & 63) == 0 && now_ns(CLOCK_MONOTONIC) > c->deadline_ns))
		s->capped = true;
	return !s->capped;
}

static int cachestat_(int fd, uint64_t off, uint64_t len, struct cachestat_ *cs)
{
	struct cachestat_range_ range = {.off = off, .len = len};

	if (syscall(__NR_cachestat, fd, &range, cs, 0) < 0)
		return negative_errno();
	return 0;
}

/* UFFDIO_CONTINUE the pages [a, b) of a hole and charge what it mapped. */
static int continue_range(struct pages_ctx *c, struct search *s, uint64_t a, uint64_t b,
			  struct page_scan *res)
{
	for (uint64_t w = a; w < b && s->want > 0 && !s->capped && !s->changed;) {
		size_t np = (size_t)MIN((uint64_t)c->npages, b - w), len = np * c->page, i = 0;
		uint8_t *p = map_file(c, s->fd, w * c->page, len);
		int64_t n;
		int r;

		if (p == MAP_FAILED)
			return negative_errno();
		if (!uffd_register(c, p, len,
				   UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR)) {
			munmap(p, len);
			s->capped = true; /* cannot look: unlocated */
			return 0;
		}
		while (i < np) {
			struct uffdio_continue uc = {
				.range = {.start = (uintptr_t)(p + i * c->page),
					  .len = (np - i) * c->page},
				.mode = UFFDIO_CONTINUE_MODE_DONTWAKE,
			};
			int e;

			if (ioctl(c->uffd, UFFDIO_CONTINUE, &uc) == 0)
				break;
			e = errno;
			if (uc.mapped > 0) { /* part of it: go on after what was mapped */
				i += (size_t)uc.mapped / c->page;
				continue;
			}
			if (e == EINVAL) { /* past the end of the file now: it shrank */
				s->changed = true;
				break;
			}
			if (e != EFAULT && e != EEXIST && e != EAGAIN && e != EIO) {
				munmap(p, len);
				return -e;
			}
			/* EFAULT: a hole; EEXIST: mapped already; EIO: a poisoned page; EAGAIN:
			 * the mm is changing (counted as a step, so never a loop). */
			if (!search_step(c, s))
				break;
			if (e != EAGAIN)
				i++;
		}
		r = read_pagemap(c, p, np);
		n = r < 0 ? r : charge_present(c, 0, np, NULL, res);
		munmap(p, len);
		if (n < 0)
			return (int)n;
		res->fallocated_bytes += (uint64_t)n * c->page;
		s->want -= MIN(s->want, (uint64_t)n);
		w += np;
	}
	return 0;
}

/* The hole [a, b) (pages): find its folios by bisection, or probe it without cachestat. */
static int search_hole(struct pages_ctx *c, struct search *s, uint64_t a, uint64_t b,
		       struct page_scan *res)
{
	struct {
		uint64_t a, b;
	} stack[2 * 64 + 2];
	size_t n = 0;
	int r;

	stack[n].a = a, stack[n++].b = b;
	while (n > 0 && s->want > 0 && !s->capped && !s->changed) {
		struct cachestat_ cs;
		uint64_t x = stack[n - 1].a, y = stack[n - 1].b, mid;

		n--;
		if (c->no_cachestat) {
			r = continue_range(c, s, x, y, res);
			if (r < 0)
				return r;
			continue;
		}
		if (!search_step(c, s))
			break;
		r = cachestat_(s->fd, x * c->page, (y - x) * c->page, &cs);
		if (r < 0) {
			if (r == -ENOSYS)
				c->no_cachestat = true;
			r = continue_range(c, s, x, y, res); /* probe it instead */
			if (r < 0)
				return r;
			continue;
		}
		if (cs.nr_cache == 0)
			continue;
		/* Never a range with a page in swap (swapped out since SEEK_DATA): split it
		 * down to that page, which is left alone. */
		if (cs.nr_evicted == 0 && (cs.nr_cache >= y - x || y - x <= PROBE_PAGES)) {
			r = continue_range(c, s, x, y, res);
			if (r < 0)
				return r;
			continue;
		}
		if (y - x == 1)
			continue;
		mid = x + (y - x) / 2;
		stack[n].a = mid, stack[n++].b = y; /* the lower half first */
		stack[n].a = x, stack[n++].b = mid;
	}
	return 0;
}

/* Every hole of [0, size) that SEEK_DATA reports, until s->want pages are found. */
static int search_holes(struct pages_ctx *c, struct search *s, uint64_t size,
			struct page_scan *res)
{
	uint64_t npg = (size + c->page - 1) / c->page, off = 0;
	int r;

	while (off < npg && s->want > 0 && !s->capped && !s->changed) {
		off_t data = lseek(s->fd, (off_t)(off * c->page), SEEK_DATA), hole;
		uint64_t dpg;

		if (data < 0 && errno != ENXIO)
			return negative_errno();
		dpg = data < 0 ? npg : MIN(npg, (uint64_t)data / c->page);
		if (dpg > off && (r = search_hole(c, s, off, dpg, res)) < 0)
			return r;
		if (dpg >= npg)
			break;
		hole = lseek(s->fd, data, SEEK_HOLE);
		if (hole < 0) {
			if (errno != ENXIO)
				return negative_errno();
			s->changed = true;
			break;
		}
		if (((uint64_t)hole + c->page - 1) / c->page <= off) {
			s->changed = true; /* no progress: the file changed under us */
			break;
		}
		off = ((uint64_t)hole + c->page - 1) / c->page;
	}
	return 0;
}

static uint64_t charged_sum(const struct page_scan *res)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < res->n_charges; i++)
		sum += res->charges[i].bytes;
	return sum;
}

/* After phase one: if st_blocks says there are pages it did not see, phase two; then
 * what is still not attributed is unknown, with the reason. A file whose pages were all
 * seen (nearly every file) costs nothing here. */
static int scan_rest(struct pages_ctx *c, int fd, uint64_t size, uint64_t blocks,
		     uint64_t seen, struct page_scan *res)
{
	uint64_t alloc = blocks * 512 / c->page, npg = (size + c->page - 1) / c->page;
	uint64_t beyond = 0, charged;
	struct search s = {.fd = fd};
	int r = 0;

	if (alloc > seen) {
		s.want = alloc - seen;
		/* Pages allocated past the end (fallocate --keep-size) can never be mapped. */
		if (!c->no_cachestat) {
			struct cachestat_ cs;
			r = cachestat_(fd, npg * c->page, 0, &cs);
			if (r == 0)
				beyond = MIN(cs.nr_cache + cs.nr_evicted, s.want);
			else if (r == -ENOSYS)
				c->no_cachestat = true;
			s.want -= beyond;
			r = 0;
		}
		if (s.want > 0 && !c->uffd_minor)
			s.capped = true;
		else if (s.want > 0)
			r = search_holes(c, &s, size, res);
		if (s.changed)
			res->changed = true;
	}
	charged = charged_sum(res);
	if (alloc * c->page > charged && !s.capped) {
		/* Everything was looked for, yet pages are missing: in swap, unless the file
		 * lost them meanwhile (truncated, holes punched). */
		struct stat st;
		if (fstat(fd, &st) == 0 && (uint64_t)st.st_blocks < blocks) {
			res->changed = true;
			alloc = MIN(alloc, (uint64_t)st.st_blocks * 512 / c->page);
		}
	}
	if (alloc * c->page > charged) {
		uint64_t unknown = alloc * c->page - charged;
		res->unknown_bytes = unknown;
		if (beyond)
			res->unknown |= PAGES_UNKNOWN_BEYOND_EOF;
		if (s.capped)
			res->unknown |= PAGES_UNKNOWN_UNLOCATED;
		else if (unknown > beyond * c->page)
			res->unknown |= PAGES_UNKNOWN_SWAP;
	}
	return r;
}

static int cmp_charge_desc(const void *a, const void *b)
{
	const struct charge *x = a, *y = b;
	return x->bytes > y->bytes ? -1 : x->bytes < y->bytes;
}

static void scan_reset(struct page_scan *res)
{
	res->resident_bytes = res->fallocated_bytes = res->unknown_bytes = 0;
	res->unknown = 0;
	res->changed = false;
	res->n_charges = 0;
}

static void scan_finish(struct page_scan *res)
{
	res->resident_bytes = charged_sum(res);
	if (res->n_charges > 1) /* charges may be NULL when there are none */
		qsort(res->charges, res->n_charges, sizeof(*res->charges), cmp_charge_desc);
}

int pages_scan_file(struct pages_ctx *c, int fd, uint64_t size, uint64_t blocks,
		    struct page_scan *res)
{
	uint64_t seen = 0;
	int r;

	assert(c);
	assert(fd >= 0);
	assert(res);

	scan_reset(res);
	r = scan_data(c, fd, size, blocks, res, &seen);
	if (r == 0)
		r = scan_rest(c, fd, size, blocks, seen, res);
	scan_finish(res);
	return r;
}

int pages_scan_fd(struct pages_ctx *c, int fd, uint64_t size, struct page_scan *res)
{
	struct stat st;

	assert(c);
	assert(fd >= 0);
	assert(res);

	if (fstat(fd, &st) < 0)
		return negative_errno();
	return pages_scan_file(c, fd, size, (uint64_t)st.st_blocks, res);
}

int pages_scan_mapping(struct pages_ctx *c, void *addr, size_t len, struct page_scan *res)
{
	uint64_t seen = 0;
	int r = 0;

	assert(c);
	assert(addr);
	assert(res);

	scan_reset(res);
	/* No guard: the mapping is the caller's, and a SysV segment's cannot take one. */
	for (size_t off = 0; off < len && r == 0; off += WINDOW_BYTES)
		r = scan_mapped(c, (uint8_t *)addr + off, MIN((size_t)WINDOW_BYTES, len - off), res,
				&seen, false);
	scan_finish(res);
	/* Resident to mincore but not mapped: swapped out or gone since. */
	if (seen * c->page > res->resident_bytes) {
		res->unknown_bytes = seen * c->page - res->resident_bytes;
		res->unknown = PAGES_UNKNOWN_SWAP;
	}
	return r;
}

/*
 * Batches. For each batch a free window of address space is found (an anonymous
 * PROT_NONE mapping made and unmapped at once), and each small file is mapped into the
 * next part of it with MAP_FIXED_NOREPLACE, which never replaces a mapping: should
 * anything else be mapped there meanwhile, the batch just ends early. A batch costs one
 * mincore, one guard registration, one populate per run of resident pages (runs cross
 * file boundaries), one pagemap read and the kpagecgroup reads for all of its files,
 * then one munmap (one TLB flush) and one close_range. Per file that leaves the open and
 * the mmap. Files with pages phase one did not see go on to phase two on their own
 * afterwards, as any file.
 */
bool pages_batchable(const struct pages_ctx *c, uint64_t size, uint64_t blocks)
{
	uint64_t pagemask = c->page - 1;

	assert(c);

	return size > 0 && size <= BATCH_FILE_MAX &&
	       blocks * 512 >= ((size + pagemask) & ~pagemask); /* no hole: no lseek */
}

size_t pages_batch_len(const struct pages_ctx *c)
{
	assert(c);
	return c->n_slots;
}

int pages_batch_add(struct pages_ctx *c, int fd, uint64_t size, uint64_t blocks)
{
	size_t np = (size_t)((size + c->page - 1) / c->page), len = np * c->page;
	uint8_t *at;
	struct slot *s;

	assert(c);
	assert(fd >= 0);
	void *p;

	if (!pages_batchable(c, size, blocks))
		return -E2BIG;
	if (c->n_slots == BATCH_MAX || c->used + np > c->npages)
		return -ENOSPC;
	if (c->n_slots == 0) {
		p = mmap(NULL, c->npages * c->page, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return negative_errno();
		munmap(p, c->npages * c->page);
		c->region = p;
		c->used = 0;
	}
	at = c->region + c->used * c->page;
	p = mmap(at, len, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
	if (p != at) {
		int r = p == MAP_FAILED ? negative_errno() : -EEXIST;
		if (p != MAP_FAILED) /* before Linux 4.17 the flag was only a hint */
			munmap(p, len);
		if (r == -EEXIST) /* the window was taken meanwhile: end the batch here */
			return c->n_slots ? -ENOSPC : -EBUSY;
		return r;
	}
	s = &c->slots[c->n_slots];
	s->fd = fd;
	s->error = 0;
	s->first = c->used;
	s->npages = np;
	s->size = size;
	s->blocks = blocks;
	s->seen = 0;
	c->used += np;
	return (int)c->n_slots++;
}

void pages_batch_run(struct pages_ctx *c)
{
	uint8_t *p = c->region;
	size_t np = c->used, nres = 0;
	int r = 0;

	assert(c);

	if (c->n_slots == 0)
		return;
	for (size_t i = 0; i < c->n_slots; i++)
		scan_reset(&c->slots[i].res);
	if (mincore(p, np * c->page, c->vec) < 0)
		r = negative_errno();
	for (size_t i = 0; r == 0 && i < c->n_slots; i++) {
		struct slot *s = &c->slots[i];
		for (size_t k = s->first; k < s->first + s->npages; k++)
			s->seen += c->vec[k] & 1;
		nres += s->seen;
	}
	if (r == 0 && nres > 0) {
		struct page_scan any = {0};
		uffd_register(c, p, np * c->page, UFFDIO_REGISTER_MODE_MISSING);
		r = populate_resident(c, p, 0, np, &any);
		/* A run failed part way: again file by file, to tell which one changed (the
		 * pages populated already are cheap the second time). */
		for (size_t i = 0; r == 0 && any.changed && i < c->n_slots; i++) {
			struct slot *s = &c->slots[i];
			if (s->seen)
				r = populate_resident(c, p, s->first, s->first + s->npages,
						      &s->res);
		}
		if (r == 0)
			r = read_pagemap(c, p, np);
		if (r == 0)
			r = charge_batch(c);
	}
	/* Phase two and the unknown, file by file (it reuses the window buffers). */
	for (size_t i = 0; i < c->n_slots; i++) {
		struct slot *s = &c->slots[i];
		if (r < 0)
			s->error = r;
		if (!s->error)
			s->error = scan_rest(c, s->fd, s->size, s->blocks, s->seen, &s->res);
		scan_finish(&s->res);
	}
}

const struct page_scan *pages_batch_result(struct pages_ctx *c, size_t slot, int *error)
{
	struct slot *s = &c->slots[slot];

	assert(c);

	*error = s->error;
	return s->error ? NULL : &s->res;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return x < y ? -1 : x > y;
}

/* The batch's fds, usually consecutive numbers: a run of them that are all ours is
 * closed with one close_range. */
static void close_slots(struct pages_ctx *c)
{
	int fds[BATCH_MAX];
	size_t n = 0;

	for (size_t i = 0; i < c->n_slots; i++)
		if (c->slots[i].fd >= 0)
			fds[n++] = TAKE_FD(c->slots[i].fd);
	qsort(fds, n, sizeof(*fds), cmp_int);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && fds[j] == fds[j - 1] + 1; j++)
			;
		if (j - i == 1 || close_range((unsigned)fds[i], (unsigned)fds[j - 1], 0) < 0)
			for (size_t k = i; k < j; k++)
				close(fds[k]);
	}
}

void pages_batch_clear(struct pages_ctx *c)
{
	assert(c);
	if (c->n_slots && c->used)
		munmap(c->region, c->used * c->page);
	close_slots(c);
	c->n_slots = 0;
	c->used = 0;
}
