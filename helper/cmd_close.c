/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tmpfs-sweep close ID [--dry-run] [--conf FILE]: what the PAM module runs at logout.
 * Takes the record's lock (so gc never sweeps it at the same time), sweeps the session
 * by policy (sweep.h) and removes the record, or keeps it as deferred for gc. Closes that
 * overlap in time share one walk of each mount (queue.h): one of them sweeps them all.
 */
#include "helper.h"
#include "queue.h"
#include "session.h"
#include "util.h"
#include "walk.h"

#include <getopt.h>

int cmd_close(int argc, char **argv)
{
	struct session_record rec = {0};
	struct sweep_ctx ctx;
	uint64_t started = now_ns(CLOCK_MONOTONIC);
	const char *conf = NULL, *id;
	bool dry_run = false;
	int c, r, lock, ret;

	c = sweep_args(argc, argv, "tmpfs-sweep close SESSION-ID [--dry-run] [--conf FILE]",
		       &dry_run, &conf);
	if (c >= 0)
		return c;
	if (optind != argc - 1)
		return fail(EXIT_USAGE, "close: exactly one SESSION-ID expected (see --help)");
	id = argv[optind];
	if (!record_id_valid(id))
		return fail(EXIT_USAGE, "close: '%s' is not a session id", id);
	if (!need_root())
		return fail(EXIT_NOPERM, "close: must be run as root");
	if (sweep_ctx_open(conf, &ctx) < 0)
		return fail(EXIT_FAIL, "close: out of memory");
	lock = record_lock(ctx.policy.state_dir, id);
	if (lock == -EBUSY) {
		ret = fail(EXIT_FAIL, "close: session %s is being swept by another process", id);
		goto out;
	}
	r = record_read(ctx.policy.state_dir, id, &rec);
	if (r < 0) {
		ret = fail(r == -ENOENT ? EXIT_NOTFOUND : EXIT_FAIL, "close: session %s: %s", id,
			   r == -ENOENT ? "no such record" : strerror(-r));
		if (lock >= 0)
			record_unlock(ctx.policy.state_dir, id, lock, r == -ENOENT);
		goto out;
	}
	if (lock < 0)
		warnx_("close: session %s: no lock (%s); going on", id, strerror(-lock));
	if (!dry_run && lock >= 0 && (rec.state == RECORD_OPEN || rec.state == RECORD_QUEUED)) {
		/* Closes that overlap share one walk (queue.h); the lock is its. A queued
		 * record is one the module queued: this close leads, or waits its turn. */
		ret = close_queued(&ctx, &rec, lock, started);
		lock = -1;
	} else
		ret = sweep_one(&ctx, &rec, "close", dry_run, false);
	if (lock >= 0)
		record_unlock(ctx.policy.state_dir, id, lock, !dry_run && ret != EXIT_FAIL);
	/* A close whose session another close swept has nothing of its own to count. */
	if (!dry_run && ctx.swept)
		sweep_ctx_metrics(&ctx, "close");
out:
	record_done(&rec);
	sweep_ctx_close(&ctx);
	return ret;
}
