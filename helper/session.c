/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "session.h"
#include "helper.h"
#include "notify.h"
#include "sweep.h"
#include "users.h"
#include "walk.h"
#include "util.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

int sweep_args(int argc, char **argv, const char *usage, bool *dry_run, const char **conf)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, 'n'},
		{"conf", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "nc:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'n':
			*dry_run = true;
			break;
		case 'c':
			if (optarg[0] != '/')
				return fail(EXIT_USAGE, "%s: --conf wants an absolute path", argv[0]);
			*conf = optarg;
			break;
		case 'h':
			printf("Usage: %s\n", usage);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	return -1;
}

int sweep_ctx_open(const char *conf, struct sweep_ctx *c)
{
	struct policy_errors errs = {0};
	const char *path = conf ? conf : POLICY_DEFAULT_PATH;
	int r;

	*c = (struct sweep_ctx){.conf = conf, .kill_after = -1};
	r = policy_load(path, &c->policy, &errs);
	if (r == -ENOMEM) {
		policy_errors_done(&errs);
		return r;
	}
	policy_errors_say(&errs, path, SIZE_MAX, warn_line, NULL);
	if (c->policy.report_only)
		snprintf(c->reason, sizeof(c->reason), "report-only: %s policy %s",
			 r == -ENOENT ? "no" : "bad", path);
	policy_errors_done(&errs);
	if (c->policy.raw) {
		sha256_hex(c->policy.raw, c->policy.raw_len, c->sha256);
		c->have_sha = true;
	}
	r = audit_open(c->policy.audit_log, c->policy.journal, &c->audit);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		warnx_("audit log %s: %s (journal only)", c->policy.audit_log, strerror(-r));
#ifdef TMPFS_SWEEP_TEST_HOOKS
	{
		const char *k = getenv("TMPFS_SWEEP_TEST_KILL_AFTER");
		if (k)
			c->kill_after = atol(k);
	}
#endif
	return 0;
}

void sweep_ctx_close(struct sweep_ctx *c)
{
	audit_close(c->audit);
	c->audit = NULL;
	policy_done(&c->policy);
}

/* What the user is told at the next login (notify.h): the files this sweep left, or, when
 * it left none, no longer what an earlier sweep of the same session said. */
static void notify_user(struct sweep_ctx *c, const struct session_record *rec,
			const struct sweep_result *res)
{
	struct notify_summary s = {.end_ns = now_ns(CLOCK_REALTIME), .files = res->left,
				   .bytes = res->left_bytes};
	int r;

	if (res->left == 0) {
		r = notify_clear(c->policy.state_dir, rec->uid, rec->id);
		if (r < 0)
			warnx_("session %s: notify summary: %s", rec->id, strerror(-r));
		return;
	}
	snprintf(s.session, sizeof(s.session), "%s", rec->id);
	snprintf(s.user, sizeof(s.user), "%s", rec->user);
	if (rec->unit)
		snprintf(s.what, sizeof(s.what), "unit %s", rec->unit);
	else if (rec->service && rec->rhost)
		snprintf(s.what, sizeof(s.what), "%s from %s", rec->service, rec->rhost);
	else if (rec->service)
		snprintf(s.what, sizeof(s.what), "%s", rec->service);
	for (size_t i = 0; i < res->n_left_v && i < NOTIFY_MAX_PATHS; i++) {
		snprintf(s.v[i].path, sizeof(s.v[i].path), "%s", res->left_v[i].path);
		snprintf(s.v[i].detail, sizeof(s.v[i].detail), "%s", res->left_v[i].detail);
		s.v[i].result = res->left_v[i].result;
		s.n++;
	}
	r = notify_write(c->policy.state_dir, rec->uid, &s);
	if (r < 0)
		warnx_("session %s: notify summary: %s", rec->id, strerror(-r));
}

/* ---- Prometheus metrics (metrics.h): one sweep's figures, added up until the run ends */

static void metrics_note(struct sweep_ctx *c, const char *trigger, const struct sweep_result *res)
{
	struct metrics *a = &c->metrics.add;

	c->swept = true;
	/* A session's sweep finishes when its record goes; a deferred or timed-out one is
	 * counted when gc finishes it. A `sweep` of an ended cgroup is no login: its files
	 * count, it does not. */
	if (!res->keep_record && (streq(trigger, "close") || streq(trigger, "gc")))
		a->sessions_closed++;
	for (size_t i = 0; i < METRICS_N_RESULTS; i++)
		a->files[i] += res->by_result[i];
	a->removed_bytes += res->removed_bytes;
	a->incomplete += res->incomplete;
	a->timeouts += res->timed_out;
	if (res->objects_seen) { /* on a session's first sweep only: counted once */
		a->objects += res->objects;
		a->objects_charged_bytes += res->objects_charged_bytes;
		a->objects_removed += res->objects_removed;
	}
}

/* Records gc has to finish: deferred ones, and those whose opening process is gone. */
static uint64_t pending_sessions(const char *statedir)
{
	char **ids = NULL;
	size_t n = 0;
	uint64_t pending = 0;

	if (record_list(statedir, &ids, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct session_record rec = {0};

		if (record_read(statedir, ids[i], &rec) < 0)
			continue;
		if (rec.state == RECORD_DEFERRED || !record_is_alive(&rec))
			pending++;
		record_done(&rec);
	}
	record_ids_free(ids);
	return pending;
}

void sweep_ctx_metrics(struct sweep_ctx *c, const char *trigger)
{
	struct metrics_update *u = &c->metrics;
	int r;

	if (!c->policy.metrics_file)
		return;
	u->have_pending = true;
	u->pending_sessions = pending_sessions(c->policy.state_dir);
	if (streq(trigger, "gc"))
		u->last_gc_ns = now_ns(CLOCK_REALTIME);
	else if (c->swept && streq(trigger, "close"))
		u->last_close_ns = now_ns(CLOCK_REALTIME);
	r = metrics_update(c->policy.metrics_file, u, 0);
	if (r < 0 && r != -ENOENT)
		warnx_("metrics %s: %s", c->policy.metrics_file, strerror(-r));
	*u = (struct metrics_update){0};
	c->swept = false;
}

int sweep_params_for(struct sweep_ctx *c, struct session_record *rec, const char *trigger,
		     bool dry_run, bool final, struct policy_scope *scope, struct user_info *ui,
		     struct sweep_params *p)
{
	const char *statedir = c->policy.state_dir;
	bool have_user = rec->user && user_by_uid(rec->uid, ui) == 0 && streq(ui->name, rec->user);
	/* A sweep of a cgroup whose user is not known removes nothing: no record to keep. */
	bool persist = !dry_run && rec->user;
	struct policy_subject who = {
		.user = rec->user, .uid = rec->uid, .gid = have_user ? ui->gid : 0,
		.have_gid = have_user, .service = rec->service, .rhost = rec->rhost,
		.unit = rec->unit,
	};
	int r;

	*p = (struct sweep_params){
		.rec = rec,
		.policy = &c->policy,
		.scope = scope,
		.user = have_user ? ui : NULL,
		.audit = c->audit,
		.trigger = trigger,
		.dry_run = dry_run,
		.final = final,
		/* A deferred or queued session claims only what was born before its own
		 * close. */
		.end_ns = rec->end_ns ? rec->end_ns : now_ns(CLOCK_REALTIME),
		.started_ns = now_ns(CLOCK_MONOTONIC),
		.reason = c->reason[0] ? c->reason : NULL,
		.policy_sha256 = c->have_sha ? c->sha256 : NULL,
		.kill_after = c->kill_after,
		.statedir = persist ? statedir : NULL,
		/* CLOSING: a sweep of it started and did not finish (killed, or out of time) */
		.resume = rec->state == RECORD_CLOSING,
		/* A window end is recorded at the first sweep (closing) for good; a queued
		 * close's when queued, before its first sweep. */
		.again = rec->end_ns != 0 && rec->state != RECORD_QUEUED,
	};
	p->deadline_ns = p->started_ns + c->policy.timeout_ms * NSEC_PER_MSEC;
	if (policy_scope_init(&c->policy, &who, scope) < 0) {
		warnx_("session %s: out of memory", rec->id);
		return -ENOMEM;
	}
	if (scope->other_sessions == POLICY_OTHER_DEFER && !final) {
		r = c->live ? live_users_other(c->live, rec) : user_has_other_sessions(statedir, rec);
		if (r < 0)
			warnx_("session %s: cannot tell whether %s has another session (%s): "
			       "deferring", rec->id, rec->user, strerror(-r));
		p->other_sessions = r < 0 ? TRI_CANNOT_TELL : r > 0 ? TRI_YES : TRI_NO;
	}
	if (persist && rec->state != RECORD_CLOSING) {
		rec->state = RECORD_CLOSING;
		/* The window ends here for good: a sweep of it resumed later (killed, out of
		 * time) claims nothing born after this close or this gc's first sight of the
		 * orphan, whatever a live session of the user writes meanwhile. */
		rec->end_ns = p->end_ns;
		r = record_write(statedir, rec);
		if (r < 0)
			warnx_("session %s: cannot mark it closing: %s", rec->id, strerror(-r));
	}
	return 0;
}

int sweep_settle(struct sweep_ctx *c, struct session_record *rec, const struct sweep_params *p,
		 int r, struct sweep_result *res)
{
	const char *statedir = c->policy.state_dir;
	bool persist = !p->dry_run && rec->user;

	if (r >= 0 && persist && p->scope && p->scope->notify_user)
		notify_user(c, rec, res);
	if (r < 0) {
		warnx_("session %s: %s", rec->id, strerror(-r));
		if (!p->dry_run) {
			c->metrics.add.incomplete++; /* its session-close line says incomplete */
			c->swept = true;
		}
		return EXIT_FAIL;
	}
	if (!p->dry_run)
		metrics_note(c, p->trigger, res);
	if (!persist) {
		free(res->pending);
		res->pending = NULL;
		return res->incomplete ? EXIT_INCOMPLETE : EXIT_OK;
	}
	if (res->keep_closing) {
		/* Left as it is (closing), with its journal, for a later gc to resume. */
		free(res->pending);
		res->pending = NULL;
		return EXIT_INCOMPLETE;
	}
	if (res->keep_record) {
		rec->state = RECORD_DEFERRED;
		rec->end_ns = p->end_ns;
		/* Too many to list: none listed, and gc decides every file again. */
		if (record_set_pending(rec, res->pending, res->n_pending) == -ENOMEM)
			(void)record_set_pending(rec, NULL, 0);
		r = record_write(statedir, rec);
	} else
		r = record_remove(statedir, rec->id);
	free(res->pending);
	res->pending = NULL;
	if (r < 0)
		warnx_("session %s: record: %s", rec->id, strerror(-r));
	return res->incomplete ? EXIT_INCOMPLETE : EXIT_OK;
}

int sweep_one(struct sweep_ctx *c, struct session_record *rec, const char *trigger, bool dry_run,
	      bool final)
{
	struct sweep_result res;
	struct sweep_params p;
	struct policy_scope scope;
	struct user_info ui;
	int r;

	if (sweep_params_for(c, rec, trigger, dry_run, final, &scope, &ui, &p) < 0) {
		policy_scope_done(&scope);
		return EXIT_FAIL;
	}
	r = sweep_settle(c, rec, &p, sweep_session(&p, &res), &res);
	policy_scope_done(&scope);
	return r;
}

#define FDS_RESERVED 64

size_t fd_budget(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 512;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = {rl.rlim_max, rl.rlim_max};

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 20))
		rl.rlim_cur = 1u << 20;
	return rl.rlim_cur > 2 * FDS_RESERVED ? (rl.rlim_cur - FDS_RESERVED) / 2 : FDS_RESERVED;
}

size_t job_fds(const struct session_record *rec)
{
	return 2 + MIN(rec->n_mounts, (size_t)RECORD_MAX_MOUNTS);
}
