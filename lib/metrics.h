/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.h: the Prometheus text file that node_exporter's textfile collector exports
 * (the policy's MetricsFile). The counters live in the file itself: an update takes a
 * lock next to it (FILE.lock), reads the counters back, adds its own, writes FILE.tmp and
 * renames it over FILE, so concurrent closes lose nothing and a scrape always sees a
 * whole file. The directory must exist (it is not made: no node_exporter, no metrics),
 * be root's and not writable by group or other; nothing in it is followed if a symlink.
 */
#pragma once

#include "decide.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default MetricsFile: Debian's textfile collector directory. */
#define METRICS_DEFAULT_PATH "/var/lib/prometheus/node-exporter/tmpfs-sweep.prom"
/* The most an update waits for the lock before giving up (-EBUSY) by default. */
#define METRICS_LOCK_WAIT_MS 2000
/* The results a file line can have: enum file_result up to RESULT_PENDING (never audited). */
#define METRICS_N_RESULTS RESULT_PENDING
/* A metrics file larger than this is not read back (counters start again at 0). */
#define METRICS_MAX_SIZE (64 * 1024)

struct metrics {
	/* counters */
	uint64_t sessions_closed;          /* sweeps that finished a session's record */
	uint64_t files[METRICS_N_RESULTS]; /* file lines, by enum file_result */
	uint64_t removed_bytes;
	uint64_t incomplete; /* session sweeps that said incomplete */
	uint64_t timeouts;   /* ... because time ran out (Timeout, timeout=) */
	/* What sessions left besides files (leftover.h): objects reported, the bytes of them
	 * charged to the session's cgroup, the objects removed (RemoveSysV yes). */
	uint64_t objects, objects_charged_bytes, objects_removed;
	/* gauges */
	uint64_t pending_sessions;          /* records waiting for gc */
	uint64_t last_close_ns, last_gc_ns; /* CLOCK_REALTIME; 0: never */
};

/* What one update changes: counters are added; a gauge is set only when its have_ flag
 * (or a nonzero time) says so, else the file's value is kept. */
struct metrics_update {
	struct metrics add;
	bool have_pending;
	uint64_t pending_sessions;
	uint64_t last_close_ns, last_gc_ns;
};

/* Apply u to the file at path (wait_ms: the most to wait for the lock; 0: the default).
 * -ENOENT: the directory does not exist (metrics are off in effect, not an error to say);
 * -EPERM: the directory or a file is not root's or is writable by others; -EBUSY: the
 * lock stayed taken. */
int metrics_update(const char *path, const struct metrics_update *u, unsigned wait_ms);

/* The text file for m (HELP and TYPE lines, every series); the reverse, which reads our
 * own series and ignores every other line. For tests and metrics_update. */
struct sbuf;
int metrics_format(struct sbuf *b, const struct metrics *m);
void metrics_parse(const char *buf, size_t len, struct metrics *m);
