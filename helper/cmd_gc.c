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
#include "helper.h"
#include "intents.h"
#include "queue.h"
#include "session.h"
#include "sweep.h"
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

int cmd_gc(int argc, char **argv)
{
	struct sweep_ctx ctx;
	const char *conf = NULL;
	bool dry_run = false;
	struct live_users live = {0};
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
	reap_left_cgroups(ctx.policy.state_dir, dry_run);
out:
	if (!dry_run)
		sweep_ctx_metrics(&ctx, "gc");
	record_ids_free(ids);
	live_users_done(&live);
	ctx.live = NULL;
	sweep_ctx_close(&ctx);
	fflush(stdout);
	return ret;
}
