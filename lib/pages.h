/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pages.h: exact attribution of a tmpfs file's resident pages to memory cgroups.
 * Data ranges come from SEEK_DATA/SEEK_HOLE, residency from mincore(); only
 * resident pages are mapped in (MADV_POPULATE_READ, never a fault on a hole, so
 * scanning allocates nothing); PFNs come from /proc/self/pagemap and the owning
 * cgroup's inode from /proc/kpagecgroup, both read in batches. Pages that are in
 * swap are counted as unknown. A file truncated under us ends the scan early with
 * `changed` set, never with SIGBUS. Needs CAP_SYS_ADMIN (PFNs).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct charge {
	uint64_t ino; /* memory cgroup inode as /proc/kpagecgroup reports it; 0 = root/none */
	uint64_t bytes;
};

struct page_scan {
	uint64_t resident_bytes; /* attributed to some cgroup (sum of charges) */
	uint64_t unknown_bytes;  /* in swap, or vanished between mincore and lookup */
	bool changed;            /* the file shrank or the mapping failed mid-scan */
	struct charge *charges;  /* one per distinct cgroup, largest first after scan */
	size_t n_charges, cap_charges;
};

struct pages_ctx;

int pages_ctx_new(struct pages_ctx **ret);
struct pages_ctx *pages_ctx_free(struct pages_ctx *c);

/* Scan fd (a regular tmpfs file opened O_RDONLY) of `size` bytes. res is reset first;
 * its charges array is reused between calls (free with page_scan_done). */
int pages_scan_fd(struct pages_ctx *c, int fd, uint64_t size, struct page_scan *res);
/* The same for memory already mapped by us (a SysV segment attached read-only);
 * addr page aligned. */
int pages_scan_mapping(struct pages_ctx *c, void *addr, size_t len, struct page_scan *res);
void page_scan_done(struct page_scan *res);
