// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench/attribute.c: page attribution alone, without process start-up or the walk.
 * Opens FILE once and calls pages_scan_fd() on it ROUNDS times, printing each round's
 * wall time so that bench/attribute.sh takes the median. Root (reads PFNs).
 *
 * Output: "bytes N", "resident N", "charges N", then "round WALL_NS CPU_NS" per round
 * (CPU time, user + system, is steadier than wall time on a busy machine).
 */
#include "pages.h"
#include "util.h"
#include "walk.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/resource.h>
#include <sys/stat.h>

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * NSEC_PER_SEC +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

int main(int argc, char **argv)
{
	_cleanup_close_ int fd = -1;
	struct pages_ctx *pc = NULL;
	struct page_scan ps = {0};
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 5;
	struct stat st;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE [ROUNDS]\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC | O_NOATIME);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "attribute: %s: %m\n", argv[1]);
		return 1;
	}
	r = pages_ctx_new(&pc);
	if (r < 0) {
		fprintf(stderr, "attribute: pages_ctx_new: %s\n", strerror(-r));
		return 1;
	}
	for (unsigned i = 0; i < rounds; i++) {
		uint64_t c0 = cpu_ns(), t0 = now_ns(CLOCK_MONOTONIC);
		r = pages_scan_fd(pc, fd, (uint64_t)st.st_size, &ps);
		uint64_t t1 = now_ns(CLOCK_MONOTONIC), c1 = cpu_ns();
		if (r < 0) {
			fprintf(stderr, "attribute: pages_scan_fd: %s\n", strerror(-r));
			break;
		}
		if (i == 0)
			printf("bytes %" PRIu64 "\nresident %" PRIu64 "\ncharges %zu\n",
			       (uint64_t)st.st_size, ps.resident_bytes, ps.n_charges);
		printf("round %" PRIu64 " %" PRIu64 "\n", t1 - t0, c1 - c0);
	}
	page_scan_done(&ps);
	pages_ctx_free(pc);
	return r < 0;
}
