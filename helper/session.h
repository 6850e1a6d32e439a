/* SPDX-License-Identifier: GPL-2.0-or-later */
/* session.h: what `close` and `gc` share: the policy as loaded (report-only when it is
 * bad, and why), the audit sink, and sweeping one record (its lock: record.h). */
#pragma once

#include "audit.h"
#include "metrics.h"
#include "policy.h"
#include "record.h"
#include "sha256.h"
#include "sweep.h"

#include <stdbool.h>

struct sweep_ctx {
	struct policy policy;
	char sha256[SHA256_HEX_SIZE];
	bool have_sha;
	char reason[160]; /* why the policy is report-only, or "" */
	struct audit *audit;
	const char *conf;
	long kill_after; /* test hook, -1 */
	struct metrics_update metrics; /* what the sweeps of this run add (sweep_ctx_metrics) */
	bool swept;                    /* sweep_one swept something (not a dry run) */
	/* gc: the live records, read once for the whole run (NULL: ask the state dir) */
	const struct live_users *live;
};

/* The options close and gc share: [--dry-run] [--conf FILE] [--help] (usage: the line
 * --help prints). Returns -1 to go on (optind at the first operand), or an exit code. */
int sweep_args(int argc, char **argv, const char *usage, bool *dry_run, const char **conf);

/* What the open-file limit lets one shared sweep hold: the soft limit raised to the hard
 * one, half of it (less a reserve); and what one record holds in it (its lock, its mounts'
 * roots, one more). Closes and gc stop taking records at the budget; the rest wait for
 * the next walk. */
size_t fd_budget(void);
size_t job_fds(const struct session_record *rec);

/* Load the policy (conf NULL: the default path) and open the audit sink. Problems are
 * said on stderr; a bad policy makes the run report-only. Returns 0 or -ENOMEM. */
int sweep_ctx_open(const char *conf, struct sweep_ctx *c);
void sweep_ctx_close(struct sweep_ctx *c);

/* Write the Prometheus counters (the policy's MetricsFile) with what this run's sweeps
 * added, the records now waiting for gc, and the time of this close or gc (trigger). After
 * every close, gc or sweep that is not a dry run; a problem is said on stderr, except a
 * missing directory (no node_exporter here). */
void sweep_ctx_metrics(struct sweep_ctx *c, const char *trigger);

/* sweep_one's two halves, for sweeps that share a walk (coalesce.h): the parameters for
 * rec (now, its deadline from the policy's Timeout, whether another session of the user
 * is alive; rec marked closing unless a dry run; scope and ui are the caller's, live as long
 * as p, and scope is released with policy_scope_done even on -ENOMEM, which leaves rec as it
 * was), and what becomes of rec once swept (r, res: sweep_session's): removed, or kept as
 * deferred with its pending files. */
struct sweep_params;
struct sweep_result;
struct user_info;
int sweep_params_for(struct sweep_ctx *c, struct session_record *rec, const char *trigger,
		     bool dry_run, bool final, struct policy_scope *scope, struct user_info *ui,
		     struct sweep_params *p);
int sweep_settle(struct sweep_ctx *c, struct session_record *rec, const struct sweep_params *p,
		 int r, struct sweep_result *res);

/* Sweep one record (the lock is held by the caller) and then remove it, or keep it as
 * deferred. Returns a helper exit code. */
int sweep_one(struct sweep_ctx *c, struct session_record *rec, const char *trigger, bool dry_run,
	      bool final);
