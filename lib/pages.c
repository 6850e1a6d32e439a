/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pages.h"
#include "util.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* The window is what one scan step maps. It bounds the RSS a scan adds (resident pages
 * are mapped in only while their window is looked at) and sets the batch size of the
 * pagemap and kpagecgroup reads. */
#define WINDOW_BYTES (2u << 20)
/* kpagecgroup reads merge PFN runs separated by at most this many unused entries. */
#define PFN_GAP 64
#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_PFN_MASK ((1ULL << 55) - 1)

struct pages_ctx {
	int pagemap_fd;
	int kpagecgroup_fd;
	size_t page;
	size_t npages; /* per window */
	unsigned char *vec;
	uint64_t *pm;
	uint64_t *pfn;    /* PFNs of the resident pages of the window, in page order */
	uint64_t *cgbuf;  /* kpagecgroup read buffer */
	size_t cgbuf_len; /* entries */
};

struct pages_ctx *pages_ctx_free(struct pages_ctx *c)
{
	if (!c)
		return NULL;
	safe_close(c->pagemap_fd);
	safe_close(c->kpagecgroup_fd);
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

	if (!c)
		return -ENOMEM;
	c->pagemap_fd = c->kpagecgroup_fd = -1;
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
	*ret = c;
	return 0;
}

void page_scan_done(struct page_scan *res)
{
	free(res->charges);
	*res = (struct page_scan){0};
}

static int charge_add(struct page_scan *res, uint64_t ino, uint64_t bytes)
{
	/* Few distinct cgroups per file: a linear search that starts at the last hit. */
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

/* Attribute the resident pages of [p, p+len), a mapping of ours, len <= WINDOW_BYTES. */
static int scan_mapped(struct pages_ctx *c, uint8_t *p, size_t len, struct page_scan *res)
{
	size_t np = (len + c->page - 1) / c->page, nres = 0, npfn = 0;

	if (mincore(p, len, c->vec) < 0)
		return negative_errno();
	/* Map in only the runs mincore saw resident: a fault on a hole would allocate. */
	for (size_t i = 0; i < np;) {
		size_t j;
		if (!(c->vec[i] & 1)) {
			i++;
			continue;
		}
		for (j = i; j < np && (c->vec[j] & 1); j++)
			;
		nres += j - i;
		if (madvise(p + i * c->page, (j - i) * c->page, MADV_POPULATE_READ) < 0) {
			/* EFAULT: the file shrank under us (a read would have been SIGBUS). */
			if (errno == EFAULT || errno == EINVAL)
				res->changed = true;
			else if (errno != EINTR && errno != EAGAIN && errno != ENOMEM)
				return negative_errno();
		}
		i = j;
	}
	if (nres == 0)
		return 0;
	int r = pread_full(c->pagemap_fd, c->pm, np * sizeof(uint64_t),
			   (off_t)((uintptr_t)p / c->page * sizeof(uint64_t)));
	if (r < 0)
		return r;
	for (size_t i = 0; i < np; i++) {
		if (!(c->vec[i] & 1))
			continue;
		if ((c->pm[i] & PM_PRESENT) && (c->pm[i] & PM_PFN_MASK))
			c->pfn[npfn++] = c->pm[i] & PM_PFN_MASK;
		else
			res->unknown_bytes += c->page; /* swapped or gone since mincore */
	}
	return charge_pfns(c, c->pfn, npfn, res);
}

/* One window of the file: [off, off+len), len <= WINDOW_BYTES, off page aligned. */
static int scan_window(struct pages_ctx *c, int fd, uint64_t off, size_t len,
		       struct page_scan *res)
{
	uint8_t *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
	int r;

	if (p == MAP_FAILED)
		return negative_errno();
	r = scan_mapped(c, p, len, res);
	munmap(p, len);
	return r;
}

static int cmp_charge_desc(const void *a, const void *b)
{
	const struct charge *x = a, *y = b;
	return x->bytes > y->bytes ? -1 : x->bytes < y->bytes;
}

static void scan_reset(struct page_scan *res)
{
	res->resident_bytes = res->unknown_bytes = 0;
	res->changed = false;
	res->n_charges = 0;
}

static void scan_finish(struct page_scan *res)
{
	for (size_t i = 0; i < res->n_charges; i++)
		res->resident_bytes += res->charges[i].bytes;
	if (res->n_charges > 1) /* charges may be NULL when there are none */
		qsort(res->charges, res->n_charges, sizeof(*res->charges), cmp_charge_desc);
}

/* [start, end) of the file, start page aligned, window by window. */
static int scan_range(struct pages_ctx *c, int fd, uint64_t start, uint64_t end,
		      struct page_scan *res)
{
	for (uint64_t w = start; w < end;) {
		size_t len = (size_t)MIN((uint64_t)WINDOW_BYTES, end - w);
		int r = scan_window(c, fd, w, len, res);
		if (r < 0)
			return r;
		w += len;
	}
	return 0;
}

int pages_scan_fd(struct pages_ctx *c, int fd, uint64_t size, struct page_scan *res)
{
	uint64_t off = 0, pagemask = c->page - 1;
	struct stat st;
	int r = 0;

	scan_reset(res);
	/* A file with a block for every page has no hole: one range, no lseek. SEEK_HOLE
	 * walks the file's whole page cache (5% of attributing a resident 1 GiB file).
	 * mincore() still decides what is mapped in, so a hole punched since fstat is
	 * never faulted either. */
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_blocks * 512 >= ((size + pagemask) & ~pagemask)) {
		r = scan_range(c, fd, 0, size, res);
		if (r < 0)
			return r;
		scan_finish(res);
		return 0;
	}
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
		r = scan_range(c, fd, (uint64_t)data & ~pagemask, (uint64_t)hole, res);
		if (r < 0)
			return r;
		if ((uint64_t)hole <= off) /* no progress: the file changed under us */
			break;
		off = (uint64_t)hole;
	}
	scan_finish(res);
	return r;
}

int pages_scan_mapping(struct pages_ctx *c, void *addr, size_t len, struct page_scan *res)
{
	int r = 0;

	scan_reset(res);
	for (size_t off = 0; off < len && r == 0; off += WINDOW_BYTES)
		r = scan_mapped(c, (uint8_t *)addr + off, MIN((size_t)WINDOW_BYTES, len - off), res);
	scan_finish(res);
	return r;
}
