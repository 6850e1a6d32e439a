/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pages.h: exact attribution of a tmpfs file's pages to memory cgroups.
 * Data ranges come from SEEK_DATA/SEEK_HOLE, residency from mincore(); only resident
 * pages are mapped in (MADV_POPULATE_READ under a userfaultfd guard, so that a hole
 * punched meanwhile fails instead of being allocated); PFNs come from /proc/self/pagemap
 * and the owning cgroup's inode from /proc/kpagecgroup, both read in batches. Pages that
 * fallocate(2) allocated and nobody wrote are neither resident to mincore nor data to
 * SEEK_DATA: when st_blocks says some pages were not seen, they are looked for in the
 * holes (cachestat(2) bisection) and mapped with UFFDIO_CONTINUE, which maps a page that
 * is there and fails on a hole, never allocating (pages.c says what that changes).
 * Pages in swap are never read back: they, and what cannot be looked for, are counted as
 * unknown with the reason. A file truncated under us ends the scan early with `changed`
 * set, never with SIGBUS. Small files are attributed in batches (pages_batch_*): mapped
 * side by side, one mincore, one pagemap read per batch. Needs CAP_SYS_ADMIN (PFNs).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct charge {
	uint64_t ino; /* memory cgroup inode as /proc/kpagecgroup reports it; 0 = root/none */
	uint64_t bytes;
};

/* Why a file has unknown_bytes (bits of page_scan.unknown): in swap (never read back to
 * look); fallocated and not looked for (no userfaultfd, or no cachestat and holes too
 * large to probe, or the search's cap); allocated past the end of the file (fallocate
 * --keep-size), where no mapping reaches. */
#define PAGES_UNKNOWN_SWAP (1u << 0)
#define PAGES_UNKNOWN_UNLOCATED (1u << 1)
#define PAGES_UNKNOWN_BEYOND_EOF (1u << 2)

struct page_scan {
	uint64_t resident_bytes;   /* attributed to some cgroup (sum of charges) */
	uint64_t fallocated_bytes; /* of those, fallocated and never written until the scan */
	uint64_t unknown_bytes;    /* allocated (st_blocks) but attributed to no cgroup */
	unsigned unknown;          /* PAGES_UNKNOWN_*: what unknown_bytes are */
	bool changed;              /* the file changed under the scan (shrank, holes punched) */
	struct charge *charges;    /* one per distinct cgroup, largest first after scan */
	size_t n_charges, cap_charges;
};

struct pages_ctx;

int pages_ctx_new(struct pages_ctx **ret);
struct pages_ctx *pages_ctx_free(struct pages_ctx *c);
/* CLOCK_MONOTONIC deadline (0: none) after which the search for fallocated pages stops
 * (they are then unknown, PAGES_UNKNOWN_UNLOCATED). */
void pages_set_deadline(struct pages_ctx *c, uint64_t deadline_ns);

/* Scan fd (a regular tmpfs file opened O_RDONLY) of `size` bytes. res is reset first;
 * its charges array is reused between calls (free with page_scan_done). */
int pages_scan_fd(struct pages_ctx *c, int fd, uint64_t size, struct page_scan *res);
/* The same when size and st_blocks are known already (from the walk's statx). */
int pages_scan_file(struct pages_ctx *c, int fd, uint64_t size, uint64_t blocks,
		    struct page_scan *res);
/* The same for memory already mapped by us (a SysV segment attached read-only);
 * addr page aligned. Only resident pages: there is no file to ask about the rest. */
int pages_scan_mapping(struct pages_ctx *c, void *addr, size_t len, struct page_scan *res);
void page_scan_done(struct page_scan *res);
/* "swap", "unlocated", "beyond-eof" joined by ',' into buf; "" for none. */
const char *pages_unknown_str(unsigned unknown, char *buf, size_t len);

/*
 * Batches of small files. pages_batch_add() maps the file into the batch at once and
 * keeps fd (closed by pages_batch_clear); it returns the slot (0, 1, ...) or -ENOSPC when
 * the batch is full (run and clear it, then add again), -E2BIG when the file is not for
 * a batch (pages_batchable), or another -errno. pages_batch_run() attributes every file
 * of the batch; pages_batch_result() then gives each slot's result (NULL with *error set
 * when its scan failed).
 */
#define PAGES_BATCH_MAX 64 /* files per batch (their fds stay open until cleared) */
bool pages_batchable(const struct pages_ctx *c, uint64_t size, uint64_t blocks);
int pages_batch_add(struct pages_ctx *c, int fd, uint64_t size, uint64_t blocks);
size_t pages_batch_len(const struct pages_ctx *c);
void pages_batch_run(struct pages_ctx *c);
const struct page_scan *pages_batch_result(struct pages_ctx *c, size_t slot, int *error);
void pages_batch_clear(struct pages_ctx *c);
