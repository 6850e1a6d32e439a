/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * leftover.h: what a session leaves besides files. Shared memory that no path reaches:
 * memfds, deleted tmpfs files and anonymous shared memory still held by a process of the
 * session's cgroup that outlived the logout, and the System V segments its user created
 * (procshm.h). Each is audited at close like a file (its object kind, class, charged
 * bytes), with totals for the session-close line. With RemoveSysV, a segment that is the
 * session's own (its user created it during the session, it is charged to the session's
 * cgroup, nobody has it attached) is removed with IPC_RMID, every condition checked again
 * right before. Objects a process holds are only reported: the process ends them.
 */
#pragma once

#include "audit.h"
#include "pages.h"
#include "record.h"

#include <stdbool.h>
#include <stdint.h>

struct leftover_params {
	const struct session_record *rec;
	struct audit *audit;      /* NULL: count only */
	struct pages_ctx *pc;     /* NULL: no page attribution */
	const uint64_t *inos;     /* the session's cgroup and its descendants, sorted; NULL:
				   * no per-session cgroup (then no process is the session's,
				   * and nothing is removed) */
	size_t n_inos;
	uint64_t end_ns;          /* CLOCK_REALTIME end of the session */
	uint64_t deadline_ns;     /* CLOCK_MONOTONIC, 0: none */
	bool remove_sysv;         /* the policy's RemoveSysV */
	const char *no_removal;   /* why nothing may be removed in this run ("dry run",
				   * "report-only", "exempt user"), or NULL */
	const char *proc;         /* NULL: /proc (tests) */
};

struct leftover_result {
	uint64_t objects, charged_bytes, removed, removed_bytes, errors;
	bool incomplete; /* out of time, or the session's processes could not be listed */
};

/* Find, audit and (RemoveSysV) remove what the session of p->rec left besides files.
 * Returns 0, or -ENOMEM. */
int leftovers_sweep(const struct leftover_params *p, struct leftover_result *res);
