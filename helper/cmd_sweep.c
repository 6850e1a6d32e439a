/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tmpfs-sweep sweep --cgroup CGROUP|--self [--user USER] [--since TIME] [--dry-run]
 * [--conf FILE]: what a finished service or batch job left on tmpfs, swept as a login's
 * leftovers are: a session record is made for the cgroup (its path and id, the unit its
 * last component names, the user and the window when known) and goes through the same
 * sweep (sweep.h: the same policy, with `Match Unit`, the same gates, the same audit with
 * "trigger":"unit" or "cgroup"). Files charged to the cgroup are class charged; those of
 * the user born in the window are class created. cgroup data alone never authorises a
 * removal, so without a user and a window nothing is removed, only audited.
 *
 * --self is the cgroup this process runs in: `ExecStopPost=` of a unit runs there, after
 * the unit's processes have gone. Under systemd the unit's user (its UID, else its User=,
 * else root) and its start (InactiveExitTimestamp) come from the service manager over
 * D-Bus, unless --user and --since say otherwise.
 */
#include "audit.h"
#include "cgroup.h"
#include "dl.h"
#include "format.h"
#include "helper.h"
#include "mounts.h"
#include "record.h"
#include "session.h"
#include "users.h"
#include "util.h"
#include "walk.h"

#include <getopt.h>
#include <time.h>

#define USAGE                                                                                      \
	"tmpfs-sweep sweep --cgroup CGROUP|--self [--user USER] [--since TIME] [--dry-run] "      \
	"[--conf FILE]"
#define NO_UID ((uid_t)-1) /* no file has it: nothing is the user's */

struct sweep_args {
	const char *cgroup;
	bool self;
	const char *user;
	const char *since;
	bool dry_run;
	const char *conf;
};

static int parse_args(int argc, char **argv, struct sweep_args *a)
{
	static const struct option opts[] = {
		{"cgroup", required_argument, NULL, 'c'}, {"self", no_argument, NULL, 'S'},
		{"user", required_argument, NULL, 'u'},   {"since", required_argument, NULL, 's'},
		{"dry-run", no_argument, NULL, 'n'},      {"conf", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},         {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:Su:s:nC:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'c':
			a->cgroup = optarg;
			break;
		case 'S':
			a->self = true;
			break;
		case 'u':
			a->user = optarg;
			break;
		case 's':
			a->since = optarg;
			break;
		case 'n':
			a->dry_run = true;
			break;
		case 'C':
			if (optarg[0] != '/')
				return fail(EXIT_USAGE, "sweep: --conf wants an absolute path");
			a->conf = optarg;
			break;
		case 'h':
			printf("Usage: %s\n", USAGE);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return fail(EXIT_USAGE, "sweep: unexpected argument '%s'", argv[optind]);
	if (!a->self == !a->cgroup)
		return fail(EXIT_USAGE, "sweep: one of --cgroup CGROUP and --self");
	return -1;
}

/* A systemd unit's name as the last component of its cgroup path (foo.service,
 * session-3.scope, ...), or NULL. */
static const char *unit_of(const char *rel)
{
	static const char *const suffixes[] = {".service", ".scope", ".socket", ".mount",
					       ".swap"};
	const char *last = strrchr(rel, '/');
	size_t n;

	last = last ? last + 1 : rel;
	n = strlen(last);
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t k = strlen(suffixes[i]);

		if (n > k && streq(last + n - k, suffixes[i]))
			return last;
	}
	return NULL;
}

/* What the service manager knows of a unit: the uid it runs as (its runtime UID, else
 * its User=, else root) and when it started (left the inactive state), in ns. */
static int unit_facts(const char *unit, bool want_uid, uid_t *uid, bool want_start,
		      uint64_t *start_ns)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	const struct dl_systemd *sd;
	sd_bus *bus = NULL;
	_cleanup_free_ char *path = NULL, *user = NULL;
	uint64_t usec = 0;
	uint32_t u = UINT32_MAX;
	int r;

	if (!dl_systemd_booted())
		return -ENOMEDIUM;
	r = dl_systemd(&sd);
	if (r < 0)
		return r;
	r = sd->bus_open_system(&bus);
	if (r < 0)
		return r;
	(void)sd->bus_set_method_call_timeout(bus, 5 * 1000 * 1000);
	r = sd->bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
	if (r >= 0 && want_start) {
		r = sd->bus_get_property_trivial(bus, "org.freedesktop.systemd1", path,
						"org.freedesktop.systemd1.Unit",
						"InactiveExitTimestamp", &err, 't', &usec);
		if (r >= 0 && usec == 0)
			r = -ENODATA; /* never started */
		if (r >= 0)
			*start_ns = usec * 1000;
	}
	if (r >= 0 && want_uid) {
		if (sd->bus_get_property_trivial(bus, "org.freedesktop.systemd1", path,
						"org.freedesktop.systemd1.Service", "UID", &err,
						'u', &u) < 0 ||
		    u == UINT32_MAX) {
			sd->bus_error_free(&err);
			r = sd->bus_get_property_string(bus, "org.freedesktop.systemd1", path,
						       "org.freedesktop.systemd1.Service", "User",
						       &err, &user);
		}
		if (r >= 0 && u != UINT32_MAX)
			*uid = u;
		else if (r >= 0 && (!user || !user[0]))
			*uid = 0; /* no User=: the system manager runs it as root */
		else if (r >= 0) {
			struct user_info ui;

			r = user_by_name(user, &ui);
			if (r >= 0)
				*uid = ui.uid;
		}
	}
	sd->bus_error_free(&err);
	sd->bus_flush_close_unref(bus);
	return r < 0 ? r : 0;
}

/* The record of the sweep: the cgroup as the session's, the user and window as known, the
 * Watch paths that are tmpfs mount points. */
static int make_record(const struct sweep_ctx *ctx, const struct cgroup *cg, enum cg_mode mode,
		       const char *unit, const struct user_info *ui, uint64_t start_ns,
		       struct session_record *rec)
{
	char id[RECORD_ID_MAX], **paths = NULL;
	int n, r;

	r = record_make_id(getpid(), now_ns(CLOCK_REALTIME), id, sizeof(id));
	if (r < 0)
		return r;
	*rec = (struct session_record){
		.uid = ui ? ui->uid : NO_UID,
		.start_ns = start_ns,
		.cg_mode = mode,
		.cgroup_ino = cg->ino,
		.cgroup_session = true, /* the unit's or job's own: "charged" means it */
		.pid = getpid(),
	};
	if (proc_boot_id(rec->boot_id) < 0)
		rec->boot_id[0] = '\0';
	r = proc_pid_starttime(0, &rec->pid_start);
	if (r < 0)
		return r;
	rec->id = strdup(id);
	rec->cgroup = strdup(cg->rel);
	if (!rec->id || !rec->cgroup || (ui && ui->name[0] && !(rec->user = strdup(ui->name))) ||
	    (unit && !(rec->unit = strdup(unit))))
		return -ENOMEM;
	n = policy_watch_paths(&ctx->policy, rec->user, rec->uid, &paths);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		_cleanup_close_ int fd = -1;
		uint64_t mnt_id;
		dev_t dev;

		if (mounts_open_root_id(paths[i], &fd, &mnt_id, &dev) >= 0)
			(void)record_add_mount(rec, (int)mnt_id, dev, paths[i]);
		free(paths[i]);
	}
	free(paths);
	return 0;
}

static int resolve_cgroup(const struct sweep_args *a, struct cg_root *root, struct cgroup *cg)
{
	_cleanup_free_ char *rel = NULL;
	int r;

	r = cg_root_open(NULL, root);
	if (r < 0)
		return r;
	if (a->cgroup)
		return cg_resolve(root, a->cgroup, cg);
	r = cg_path_of_pid(root, 0, NULL, &rel);
	if (r < 0)
		return r;
	/* A unit with Delegate= runs its control processes (ExecStopPost=) in .control. */
	if (streq(rel + strlen(rel) - MIN(strlen(rel), 9), "/.control"))
		rel[strlen(rel) - 9] = '\0';
	return cg_open_rel(root, rel[0] ? rel : "/", cg);
}

int cmd_sweep(int argc, char **argv)
{
	struct sweep_args a = {0};
	struct sweep_ctx ctx;
	struct cg_root root = {.fd = -1};
	struct cgroup cg = {.fd = -1};
	struct session_record rec = {0};
	struct user_info ui = {0};
	bool have_user = false;
	const char *unit, *trigger;
	uint64_t start_ns = 0;
	struct timespec res;
	int r, lock = -1, ret;

	r = parse_args(argc, argv, &a);
	if (r >= 0)
		return r;
	if (a.user) {
		r = parse_user_arg(a.user, &ui);
		if (r < 0)
			return fail(EXIT_NOTFOUND, "sweep: no such user '%s'", a.user);
		have_user = true;
	}
	if (a.since && parse_time_arg(a.since, &start_ns) < 0)
		return fail(EXIT_USAGE, "sweep: --since wants seconds since the epoch or "
					"YYYY-MM-DD[ HH:MM[:SS]], not '%s'", a.since);
	if (!need_root())
		return fail(EXIT_NOPERM, "sweep: must be run as root");
	r = resolve_cgroup(&a, &root, &cg);
	if (r < 0) {
		ret = fail(r == -ENOMEDIUM ? EXIT_NOMEMCG : r == -ENOENT ? EXIT_NOTFOUND : EXIT_FAIL,
			   "sweep: cgroup %s: %s", a.cgroup ? a.cgroup : "of this process",
			   r == -ENOMEDIUM ? "no memory controller" : strerror(-r));
		cg_root_close(&root);
		return ret;
	}
	unit = unit_of(cg.rel);
	trigger = unit ? "unit" : "cgroup";
	if (unit && (!have_user || !a.since)) {
		uid_t uid = NO_UID;

		r = unit_facts(unit, !have_user, &uid, !a.since, &start_ns);
		if (r < 0 && r != -ENOMEDIUM)
			warnx_("sweep: unit %s: what systemd knows of it: %s", unit, strerror(-r));
		if (!have_user && uid != NO_UID) {
			r = user_by_uid(uid, &ui);
			if (r < 0)
				ui = (struct user_info){.uid = uid, .gid = (gid_t)-1};
			have_user = true;
		}
		/* tmpfs stamps a birth from the coarse clock, which lags by up to its tick. */
		if (!a.since && start_ns && clock_getres(CLOCK_REALTIME_COARSE, &res) == 0)
			start_ns -= MIN(start_ns, (uint64_t)res.tv_sec * NSEC_PER_SEC +
							  (uint64_t)res.tv_nsec);
	}
	if (sweep_ctx_open(a.conf, &ctx) < 0) {
		cgroup_done(&cg);
		cg_root_close(&root);
		return fail(EXIT_FAIL, "sweep: out of memory");
	}
	/* No window known: an empty one, so nothing is "created" in it. */
	r = make_record(&ctx, &cg, root.mode, unit, have_user ? &ui : NULL,
			start_ns ? start_ns : now_ns(CLOCK_REALTIME), &rec);
	if (r < 0) {
		ret = fail(EXIT_FAIL, "sweep: %s", strerror(-r));
		goto out;
	}
	if (!have_user)
		warnx_("sweep: %s: no user known (--user): files are only reported", cg.rel);
	if (!start_ns)
		warnx_("sweep: %s: no start known (--since): no file counts as created in it",
		       cg.rel);
	if (!a.dry_run)
		lock = record_lock(ctx.policy.state_dir, rec.id);
	{
		struct audit_session ev = {
			.session = rec.id, .user = rec.user, .uid = rec.uid, .cgroup = rec.cgroup,
			.time_ns = rec.start_ns, .trigger = trigger, .unit = rec.unit,
		};

		if (ctx.audit && audit_session_open(ctx.audit, &ev) < 0)
			warnx_("sweep: cannot write audit log %s", ctx.policy.audit_log);
	}
	ret = sweep_one(&ctx, &rec, trigger, a.dry_run, true);
	if (lock >= 0)
		record_unlock(ctx.policy.state_dir, rec.id, lock, ret != EXIT_FAIL);
	if (!a.dry_run)
		sweep_ctx_metrics(&ctx, trigger);
out:
	record_done(&rec);
	sweep_ctx_close(&ctx);
	cgroup_done(&cg);
	cg_root_close(&root);
	return ret;
}
