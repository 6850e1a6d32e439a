/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * coalesce.h: sweeping several sessions with one walk per watched mount. A mass logout
 * (a network blip, an sshd restart) closes hundreds of sessions at once; each walking the
 * whole tmpfs on its own costs sessions x tree size. Here every distinct mount the batch's
 * records name is walked once (with one page scan per file), and each entry is handed to
 * the sessions it may concern: those of its owner's uid, and those its pages are charged
 * to. Each session then decides, checks for use, removes, and audits exactly as
 * sweep_session would have alone (sweep.h's phases), on its own deadline, with its own
 * session-close line. What the batch saves is the walk and the page scans, not a check.
 */
#pragma once

#include "sweep.h"

#include <stddef.h>
#include <stdint.h>

/* Called once per session when its sweep is finished (its lines written): r and res are
 * what sweep_session would have returned for it. */
typedef void (*sweep_done_fn)(size_t i, int r, struct sweep_result *res, void *userdata);

/* Sweep the n sessions of ps[] (one policy object for all), res[i] for each. Sessions
 * are finished in order of their deadline. deadline_ns (CLOCK_MONOTONIC, 0: none) bounds
 * the shared walks as a whole (the caller's own time); each session is also cut at its
 * own p->deadline_ns. Without a caller's deadline (gc), the sessions of each chunk get
 * their Timeout (p->deadline_ns - p->started_ns) again when the chunk's checks begin: a
 * member's own part is not squeezed by the walk and the chunks before it. A file that
 * several sessions would remove is removed and audited by the first only (sweep_leave).
 * Returns 0, or -ENOMEM when the batch could not be set up (then no session was touched
 * and done was never called). */
int sweep_batch(const struct sweep_params *ps, size_t n, struct sweep_result *res,
		uint64_t deadline_ns, sweep_done_fn done, void *userdata);
