/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tmpfs-sweep gc [--dry-run] [--conf FILE]: sweep the sessions whose close never ran or
 * was deferred. A record from another boot is dropped without a sweep (its files died with
 * that boot; what has their names now is this boot's). A record is swept when the process
 * that opened it is gone (pid and start time, so a reused pid does not keep it alive); or,
 * deferred, when the user has no other session left (or, with OtherSessions proceed, when
 * all it leaves undecided is files that were in use: every run, quietly while they are).
 * Each record is locked while it is swept, so close and gc never sweep one twice. Then
 * the empty session cgroups the module made (cgroup=create) for sessions whose record is
 * gone, that a process of the session still held at their close, are removed.
 */
#include "cgroup.h"
#include "coalesce.h"
#include "helper.h"
#include "intents.h"
#include "queue.h"
#include "session.h"
#include "sweep.h"
#include "users.h"
#include "util.h"
#include "walk.h"

#include <getopt.h>

/* Every file rec leaves undecided was in use (none deferred by a rule or for another
 * session, and the walk saw them all). */
static bool pending_in_use_only(const struct session_record *rec)
{
	if (!rec->n_pending)
		return false;
	for (size_t i = 0; i < rec->n_pending; i++)
		if (rec->pending[i].why != RECORD_PENDING_INUSE)
			return false;
	return true;
}

#define OTHER_BOOT_REASON "from another boot: dropped, not swept (a tmpfs does not outlive a boot)"

/* A session cgroup that a process of the session still held when the record went: removed
 * once empty, and only if it is still the cgroup the module made (cgroup.h). */
static int reap_cgroup(const char *statedir, const char *id, bool dry_run)
{
	_cleanup_free_ char *rel = NULL;
	int r = cg_left_reap(statedir, id, dry_run, &rel);

	if (r == 1)
		printf("%s empty session cgroup %s of %s\n", dry_run ? "would remove" : "removed",
		       rel, id);
	else if (r == 2 && rel)
		printf("%s note of session cgroup %s of %s: gone, or not the one made\n",
		       dry_run ? "would drop" : "dropped", rel, id);
	else if (r < 0)
		warnx_("gc: session cgroup of %s: %s", id, strerror(-r));
	return r;
}

/* The session cgroups noted by closes whose record is gone. */
static void reap_left_cgroups(const char *statedir, bool dry_run)
{
	char **ids = NULL;
	size_t n = 0;

	if (cg_left_list(statedir, &ids, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct session_record rec = {0};
		int lock = record_lock(statedir, ids[i]);

		if (lock < 0)
			continue; /* a close or another gc has the session */
		/* Its record still there: the session is not over; gc of it comes first. */
		if (record_read(statedir, ids[i], &rec) == -ENOENT)
			(void)reap_cgroup(statedir, ids[i], dry_run);
		record_done(&rec);
		record_unlock(statedir, ids[i], lock, !dry_run);
	}
	record_ids_free(ids);
}

/* Why to sweep rec now, or NULL to leave it. *final: no session of the user is left.
 * *drop: rec is from another boot, to be dropped without a sweep (gc_drop). */
static const char *gc_reason(struct sweep_ctx *c, const struct session_record *rec, bool *final,
			     bool *drop)
{
	char boot[RECORD_BOOT_ID_LEN + 1];
	int r;

	*final = *drop = false;
	/* Its files died with that boot. Whatever now has their names (and, tmpfs device
	 * numbers being handed out alike at each boot, their device) is this boot's: a live
	 * session's, maybe. Nothing to sweep, nothing to claim. */
	if (proc_boot_id(boot) == 0 && !streq(boot, rec->boot_id)) {
		*drop = true;
		return OTHER_BOOT_REASON;
	}
	/* "Cannot tell" (< 0) leaves the record as "yes" does, for a later run. */
	if (rec->state == RECORD_DEFERRED) {
		r = live_users_other(c->live, rec);
		if (r == 0) {
			*final = true;
			return "deferred, and the user's last session has ended";
		}
		/* Files kept only because they were in use wait for nobody's logout unless the
		 * policy defers to other sessions. */
		if (c->policy.other_sessions == POLICY_OTHER_PROCEED && pending_in_use_only(rec))
			return "files in use at its close are decided again";
		if (r < 0)
			warnx_("gc: session %s: cannot tell whether %s has another session (%s): "
			       "left for a later run", rec->id, rec->user, strerror(-r));
		return NULL;
	}
	r = record_is_alive(rec);
	if (r < 0)
		warnx_("gc: session %s: cannot tell whether its process %d is alive (%s): left "
		       "for a later run", rec->id, (int)rec->pid, strerror(-r));
	if (r != 0)
		return NULL;
	if (rec->state == RECORD_QUEUED)
		return "its close was queued and not swept in time";
	return rec->state == RECORD_CLOSING ? "close was interrupted" : "the session's process is gone";
}

/* Drop a record of another boot: its session-close line says so, its journal goes too.
 * Its cgroup is left alone: a cgroup of that name now is this boot's. */
static int gc_drop(struct sweep_ctx *c, const struct session_record *rec, bool dry_run)
{
	const char *statedir = c->policy.state_dir;
	struct audit_summary sum = {
		.session = rec->id, .user = rec->user, .uid = rec->uid,
		.policy_sha256 = c->have_sha ? c->sha256 : NULL, .time_ns = now_ns(CLOCK_REALTIME),
		.trigger = "gc", .reason = OTHER_BOOT_REASON,
	};
	int r;

	printf("%s %s (%s, uid %u): %s\n", dry_run ? "would drop" : "dropping", rec->id, rec->user,
	       (unsigned)rec->uid, OTHER_BOOT_REASON);
	if (dry_run)
		return EXIT_OK;
	if (c->audit)
		(void)audit_session_close(c->audit, &sum);
	(void)intents_remove(statedir, rec->id);
	r = record_remove(statedir, rec->id);
	if (r < 0) {
		warnx_("gc: session %s: record: %s", rec->id, strerror(-r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* The cgroup the module made for a session gc has swept: removed when empty, else noted
 * for a later run (cg_left_reap). */
static void remove_session_cgroup(const char *statedir, const struct session_record *rec)
{
	if (!rec->cgroup_created || !rec->cgroup)
		return;
	if (cg_left_note(statedir, rec->id, rec->cg_mode, rec->cgroup, rec->cgroup_ino) < 0)
		return;
	reap_cgroup(statedir, rec->id, false);
}

/*
 * The records a run sweeps share one walk per mount (lib/coalesce.h), as closes that
 * overlap do: 600 deferred records of one user, due at once when the last session ends,
 * cost one walk of the tree, not 600. Each keeps its own params (uid, window, cgroup,
 * classes, final, deadline), checks, removal, lines and session-close line; a file
 * several of them claim is removed and audited once, by the first (coalesce.c). A record
 * whose earlier sweep was interrupted (closing: a gc killed half-way through a batch
 * leaves all its records so) is resumed in the batch too, its journal replayed after the
 * shared walk as after its own.
 *
 * Each member holds its lock and one descriptor per mount until it is finished: a batch
 * takes as many as half the open-file limit allows (raised to its hard limit first); the
 * rest go to the next batch of the same run. Nothing is left for a later run by this cap.
 */
#define GC_BATCH_MAX 4096

struct gc_job {
	struct session_record rec;
	int lock;
	bool final;
	struct policy_scope scope;
	struct user_info ui;
	struct sweep_params p;
};

struct gc_batch {
	struct sweep_ctx *c;
	bool dry_run;
	struct gc_job *v;
	size_t n;
	size_t fds;     /* what its members hold (estimate: lock + mounts + one) */
	size_t max_fds; /* the budget */
	size_t *at;     /* a member's job */
	int ret;
};


/* A member is finished: what becomes of its record, as after sweep_one. */
static void gc_job_done(size_t i, int r, struct sweep_result *res, void *userdata)
{
	struct gc_batch *b = userdata;
	struct gc_job *j = &b->v[b->at[i]];
	const char *statedir = b->c->policy.state_dir;
	int k = sweep_settle(b->c, &j->rec, &j->p, r, res);

	if (k != EXIT_OK && b->ret == EXIT_OK)
		b->ret = k;
	if (!b->dry_run && k != EXIT_FAIL && j->rec.state != RECORD_DEFERRED)
		remove_session_cgroup(statedir, &j->rec);
	if (!b->dry_run)
		queue_forget(b->c, j->rec.id);
	record_unlock(statedir, j->rec.id, j->lock, !b->dry_run);
	j->lock = -1;
}

/* Sweep the batch's records with one walk per mount, and empty it. */
static void gc_batch_run(struct gc_batch *b)
{
	const char *statedir = b->c->policy.state_dir;
	_cleanup_free_ struct sweep_result *res = calloc(b->n ? b->n : 1, sizeof(*res));
	_cleanup_free_ struct sweep_params *ps = calloc(b->n ? b->n : 1, sizeof(*ps));
	_cleanup_free_ size_t *at = calloc(b->n ? b->n : 1, sizeof(*at));
	size_t n = 0;

	b->at = at;
	for (size_t i = 0; res && ps && at && i < b->n; i++) {
		struct gc_job *j = &b->v[i];

		if (sweep_params_for(b->c, &j->rec, "gc", b->dry_run, j->final, &j->scope, &j->ui,
				     &j->p) < 0) {
			/* No memory for its scope: left as it was, for a later run. */
			record_unlock(statedir, j->rec.id, j->lock, false);
			j->lock = -1;
			if (b->ret == EXIT_OK)
				b->ret = EXIT_FAIL;
			continue;
		}
		at[n] = i;
		ps[n++] = j->p;
	}
	if (!res || !ps || !at || sweep_batch(ps, n, res, 0, gc_job_done, b) < 0) {
		/* Not started: each stays as it is (closing now: a later run resumes it). */
		warnx_("gc: a shared sweep of %zu sessions could not start: %s", b->n,
		       strerror(ENOMEM));
		if (b->ret == EXIT_OK)
			b->ret = EXIT_FAIL;
	}
	for (size_t i = 0; i < b->n; i++) {
		struct gc_job *j = &b->v[i];

		if (j->lock >= 0)
			record_unlock(statedir, j->rec.id, j->lock, false);
		/* Made by sweep_params_for, even when it failed. */
		if (res && ps && at)
			policy_scope_done(&j->scope);
		record_done(&j->rec);
	}
	b->at = NULL;
	b->n = 0;
	b->fds = 0;
}

int cmd_gc(int argc, char **argv)
{
	struct sweep_ctx ctx;
	const char *conf = NULL;
	bool dry_run = false;
	struct live_users live = {0};
	struct gc_batch batch = {0};
	char **ids = NULL;
	size_t n = 0;
	int c, r, ret = EXIT_OK;

	c = sweep_args(argc, argv, "tmpfs-sweep gc [--dry-run] [--conf FILE]", &dry_run, &conf);
	if (c >= 0)
		return c;
	if (optind != argc)
		return fail(EXIT_USAGE, "gc: unexpected argument '%s'", argv[optind]);
	if (!need_root())
		return fail(EXIT_NOPERM, "gc: must be run as root");
	if (sweep_ctx_open(conf, &ctx) < 0)
		return fail(EXIT_FAIL, "gc: out of memory");
	r = record_list(ctx.policy.state_dir, &ids, &n);
	if (r == -ENOENT)
		goto out; /* no state dir: nothing was ever recorded */
	if (r < 0) {
		ret = fail(EXIT_FAIL, "gc: %s: %s", ctx.policy.state_dir, strerror(-r));
		goto out;
	}
	/* One pass over the records answers "another session?" for all of them. */
	r = live_users_snapshot(ctx.policy.state_dir, &live);
	if (r < 0) {
		ret = fail(EXIT_FAIL, "gc: out of memory");
		goto out;
	}
	ctx.live = &live;
	batch = (struct gc_batch){
		.c = &ctx, .dry_run = dry_run, .max_fds = fd_budget(), .ret = EXIT_OK,
		/* No memory for it: each record on its own, as before there were batches. */
		.v = calloc(MIN(n, (size_t)GC_BATCH_MAX) ? MIN(n, (size_t)GC_BATCH_MAX) : 1,
			    sizeof(*batch.v)),
	};
	for (size_t i = 0; i < n; i++) {
		struct session_record rec = {0};
		const char *why;
		bool final, other_boot;
		int lock = record_lock(ctx.policy.state_dir, ids[i]), k;

		if (lock < 0)
			continue; /* busy: a close or another gc has it */
		k = record_read(ctx.policy.state_dir, ids[i], &rec);
		if (k < 0) {
			/* Unreadable: written before a crash cut it short (records are not
			 * fsynced), or damaged. Of an earlier boot, it can only be dropped;
			 * of this one, it is left for someone to look at. */
			bool drop = k == -EBADMSG &&
				    record_before_boot(ctx.policy.state_dir, ids[i]) == 1;

			if (drop) {
				printf("%s %s: unreadable record from an earlier boot\n",
				       dry_run ? "would drop" : "dropping", ids[i]);
				if (!dry_run && record_remove(ctx.policy.state_dir, ids[i]) < 0)
					drop = false;
			}
			record_unlock(ctx.policy.state_dir, ids[i], lock, drop && !dry_run);
			continue;
		}
		why = gc_reason(&ctx, &rec, &final, &other_boot);
		if (other_boot) {
			k = gc_drop(&ctx, &rec, dry_run);
			if (k != EXIT_OK && ret == EXIT_OK)
				ret = k;
		} else if (why) {
			printf("%s %s (%s, uid %u): %s\n", dry_run ? "would sweep" : "sweeping", rec.id,
			       rec.user, (unsigned)rec.uid, why);
			if (batch.v) {
				/* With the others: its lock and record are the batch's now. */
				if (batch.n == GC_BATCH_MAX ||
				    (batch.n && batch.fds + job_fds(&rec) > batch.max_fds))
					gc_batch_run(&batch);
				batch.fds += job_fds(&rec);
				batch.v[batch.n++] = (struct gc_job){
					.rec = rec, .lock = lock, .final = final};
				continue;
			}
			k = sweep_one(&ctx, &rec, "gc", dry_run, final);
			if (k != EXIT_OK && ret == EXIT_OK)
				ret = k;
			if (!dry_run && k != EXIT_FAIL && rec.state != RECORD_DEFERRED)
				remove_session_cgroup(ctx.policy.state_dir, &rec);
			if (!dry_run)
				queue_forget(&ctx, rec.id);
		}
		record_unlock(ctx.policy.state_dir, ids[i], lock, why && !dry_run);
		record_done(&rec);
	}
	if (batch.n)
		gc_batch_run(&batch);
	if (batch.ret != EXIT_OK && ret == EXIT_OK)
		ret = batch.ret;
	reap_left_cgroups(ctx.policy.state_dir, dry_run);
out:
	if (!dry_run)
		sweep_ctx_metrics(&ctx, "gc");
	free(batch.v);
	record_ids_free(ids);
	live_users_done(&live);
	ctx.live = NULL;
	sweep_ctx_close(&ctx);
	fflush(stdout);
	return ret;
}
