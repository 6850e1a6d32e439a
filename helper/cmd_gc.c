/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tmpfs-sweep gc [--dry-run] [--conf FILE]: sweep the sessions whose close never ran or
 * was deferred. A record is swept when it is from another boot; when the process that
 * opened it is gone (pid and start time, so a reused pid does not keep it alive); or,
 * deferred, when the user has no other session left (or, with OtherSessions proceed, when
 * all it leaves undecided is files that were in use: every run, quietly while they are).
 * Each record is locked while it is swept, so close and gc never sweep one twice.
 */
#include "cgroup.h"
#include "helper.h"
#include "session.h"
#include "sweep.h"
#include "util.h"

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

/* Why to sweep rec now, or NULL to leave it. *final: no session of the user is left. */
static const char *gc_reason(struct sweep_ctx *c, const struct session_record *rec, bool *final)
{
	char boot[RECORD_BOOT_ID_LEN + 1];
	int r;

	*final = false;
	if (proc_boot_id(boot) == 0 && !streq(boot, rec->boot_id)) {
		*final = true;
		return "from another boot";
	}
	/* "Cannot tell" (< 0) leaves the record as "yes" does, for a later run. */
	if (rec->state == RECORD_DEFERRED) {
		r = user_has_other_sessions(c->policy.state_dir, rec);
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
	return rec->state == RECORD_CLOSING ? "close was interrupted" : "the session's process is gone";
}

static void remove_session_cgroup(const struct session_record *rec)
{
	struct cg_root root = {.fd = -1};

	if (!rec->cgroup_created || !rec->cgroup || cg_root_open(NULL, &root) < 0)
		return;
	if (root.mode == rec->cg_mode)
		(void)cg_remove_if_empty(&root, rec->cgroup);
	cg_root_close(&root);
}

int cmd_gc(int argc, char **argv)
{
	struct sweep_ctx ctx;
	const char *conf = NULL;
	bool dry_run = false;
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
	for (size_t i = 0; i < n; i++) {
		struct session_record rec = {0};
		const char *why;
		bool final;
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
		why = gc_reason(&ctx, &rec, &final);
		if (why) {
			printf("%s %s (%s, uid %u): %s\n", dry_run ? "would sweep" : "sweeping", rec.id,
			       rec.user, (unsigned)rec.uid, why);
			k = sweep_one(&ctx, &rec, "gc", dry_run, final);
			if (k != EXIT_OK && ret == EXIT_OK)
				ret = k;
			if (!dry_run && k != EXIT_FAIL && rec.state != RECORD_DEFERRED)
				remove_session_cgroup(&rec);
		}
		record_unlock(ctx.policy.state_dir, ids[i], lock, why && !dry_run);
		record_done(&rec);
	}
out:
	if (!dry_run)
		sweep_ctx_metrics(&ctx, "gc");
	record_ids_free(ids);
	sweep_ctx_close(&ctx);
	fflush(stdout);
	return ret;
}
