/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sweep.h: what `close` and `gc` do to one recorded session. Walk the recorded mounts,
 * classify each entry (charged / created / owned), ask the policy, apply the safety
 * gates that no policy can lift (the session's uid, created in the session unless a
 * rule names `owned`, nlink 1, not in use, not an exempt user), remove in one batch
 * with the user's credentials, and audit every file and the session. cgroup data alone
 * never authorises a removal: it only raises a file's class.
 */
#pragma once

#include "audit.h"
#include "policy.h"
#include "record.h"

#include <stdbool.h>
#include <stdint.h>

struct sweep_params {
	const struct session_record *rec;
	const struct policy *policy;
	struct audit *audit;
	const char *trigger;   /* "close" or "gc" */
	bool dry_run;          /* decide and audit, remove nothing */
	bool other_sessions;   /* another session of the user is alive (OtherSessions defer) */
	bool final;            /* no session of the user is left: `defer` rules now remove */
	uint64_t end_ns;       /* CLOCK_REALTIME end of the creation window */
	uint64_t deadline_ns;  /* CLOCK_MONOTONIC, 0: none */
	const char *reason;    /* said in the session-close line (e.g. "report-only: bad policy") */
	const char *policy_sha256; /* hex of the policy file's bytes, or NULL */
	uint64_t started_ns;   /* CLOCK_MONOTONIC at the start, for duration_ms */
	long kill_after;       /* test hook: SIGKILL ourselves before file line N (0: right
				* after the removals), or -1 */
	const char *statedir;  /* for the journal (journal.h); NULL: no journal */
	bool resume;           /* an earlier sweep of this record was interrupted */
};

struct sweep_result {
	uint64_t files, bytes, charged_bytes, removed, removed_bytes, kept, deferred, errors;
	bool incomplete;
	bool keep_record; /* something was deferred: keep the record (state deferred) for gc */
	char reason[512];
};

int sweep_session(const struct sweep_params *p, struct sweep_result *res);

/* Is the process that opened rec still the same live process (pid + start time), on this
 * boot? */
bool record_is_alive(const struct session_record *rec);

/* Does the user of rec have another live session: another live record of the same uid in
 * statedir or, under logind, another session that is not closing? */
bool user_has_other_sessions(const char *statedir, const struct session_record *rec);
