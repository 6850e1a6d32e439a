/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pam_tmpfs_sweep: the PAM session module. open_session writes the session record
 * (who, from where, when, which memory cgroup, which tmpfs mounts); close_session
 * runs `tmpfs-sweep close ID` with a deadline. It lives inside sshd: it never fails
 * a login or a logout because of its own trouble (PAM_SUCCESS or PAM_IGNORE), keeps
 * no changing globals, leaves no signal handler, fd or child behind, and does nothing
 * in a forked copy of the process that opened the session.
 */
#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "audit.h"
#include "cgroup.h"
#include "closeq.h"
#include "fileio.h"
#include "metrics.h"
#include "mounts.h"
#include "notify.h"
#include "policy.h"
#include "record.h"
#include "sha256.h"
#include "spawn.h"
#include "users.h"
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <inttypes.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>

#define DATA_KEY "pam_tmpfs_sweep:session"
#define HELPER_PATH LIBEXECDIR "/tmpfs-sweep"
#define DEFAULT_TIMEOUT_NS (5 * NSEC_PER_SEC)
#define MAX_TIMEOUT_S 3600
/* The most a logout waits for the metrics lock (held by a close writing the file). */
#define METRICS_WAIT_MS 200

struct options {
	const char *conf;
	uint64_t timeout_ns;
	bool create_cgroup;
	const char *cgroup_parent;
	bool debug;
	const char *helper;
	const char *services; /* service=: the comma list as given, or NULL: every service */
	bool services_bad;    /* service= given but unusable: the module does nothing */
};

/* What pam_set_data keeps between open and close (freed by pam_end). */
struct session_data {
	pid_t pid;
	char id[RECORD_ID_MAX];
};

#define debug_log(pamh, o, ...)                                                                    \
	do {                                                                                       \
		if ((o)->debug)                                                                    \
			pam_syslog(pamh, LOG_DEBUG, __VA_ARGS__);                                  \
	} while (0)

/* The one place an internal result becomes a PAM code: the module's own trouble
 * never fails a login, so every error is PAM_IGNORE. */
static int pam_code(int r)
{
	return r >= 0 ? PAM_SUCCESS : PAM_IGNORE;
}

/* service=NAME[,NAME...]: names of /etc/pam.d files, none empty, no '/'. */
static bool service_list_ok(const char *list)
{
	const char *s = list;

	for (;;) {
		size_t n = strcspn(s, ",");

		if (n == 0 || memchr(s, '/', n))
			return false;
		if (!s[n])
			return true;
		s += n + 1;
	}
}

/* Is the PAM service one of service=? Compared without case: Linux-PAM lowercases the
 * service name at pam_start, an admin may not. No service= at all: every service is. */
static bool service_wanted(pam_handle_t *pamh, const struct options *o)
{
	const void *item = NULL;
	const char *svc, *s;
	size_t len;

	if (o->services_bad)
		return false;
	if (!o->services)
		return true;
	if (pam_get_item(pamh, PAM_SERVICE, &item) != PAM_SUCCESS || !item)
		return false;
	svc = item;
	len = strlen(svc);
	for (s = o->services;;) {
		size_t n = strcspn(s, ",");

		if (n == len && strncasecmp(s, svc, n) == 0)
			return true;
		if (!s[n])
			return false;
		s += n + 1;
	}
}

/* An option given but not usable: said, and the option dropped (what came before stays). */
static void bad_option(pam_handle_t *pamh, const char *a, const char *why)
{
	pam_syslog(pamh, LOG_ERR, "bad option \"%s\" (%s), ignoring", a, why);
}

static void parse_options(pam_handle_t *pamh, int argc, const char **argv, struct options *o)
{
	*o = (struct options){.timeout_ns = DEFAULT_TIMEOUT_NS};
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v;
		uint64_t t;

		if ((v = startswith(a, "conf="))) {
			if (v[0] == '/')
				o->conf = v;
			else
				bad_option(pamh, a, "not an absolute path");
		} else if ((v = startswith(a, "timeout="))) {
			if (parse_u64(v, &t) < 0 || t == 0 || t > MAX_TIMEOUT_S)
				bad_option(pamh, a, "1 to " STRINGIFY(MAX_TIMEOUT_S) " seconds");
			else
				o->timeout_ns = t * NSEC_PER_SEC;
		} else if (streq(a, "cgroup=inherit")) {
			o->create_cgroup = false;
		} else if (streq(a, "cgroup=create")) {
			o->create_cgroup = true;
		} else if ((v = startswith(a, "cgroup_parent="))) {
			if (v[0] == '/')
				o->cgroup_parent = v;
			else
				bad_option(pamh, a, "not a path from the hierarchy root");
		} else if ((v = startswith(a, "service="))) {
			o->services = v;
			if (!service_list_ok(o->services)) {
				o->services_bad = true;
				pam_syslog(pamh, LOG_ERR, "bad option \"%s\": the module does nothing", a);
			}
		} else if (streq(a, "debug")) {
			o->debug = true;
#ifdef TMPFS_SWEEP_TEST_HOOKS
		} else if ((v = startswith(a, "helper=")) && v[0] == '/') {
			o->helper = v;
#endif
		} else {
			pam_syslog(pamh, LOG_ERR, "unknown option \"%s\", ignoring", a);
		}
	}
}

static void free_data(pam_handle_t *pamh, void *data, int error_status)
{
	free(data);
}

static int get_item_dup(pam_handle_t *pamh, int item, char **ret)
{
	const void *v = NULL;

	*ret = NULL;
	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || !v || !*(const char *)v)
		return 0;
	*ret = strndup(v, 1024);
	return *ret ? 0 : -ENOMEM;
}

/* The session record's view of a cg_session (cgroup.h), and back. */
static void record_take_cgroup(struct session_record *rec, struct cg_session *s)
{
	free(rec->cgroup);
	free(rec->cgroup_orig);
	rec->cg_mode = s->mode;
	rec->cgroup = TAKE_PTR(s->rel);
	rec->cgroup_ino = s->ino;
	rec->cgroup_session = s->per_session;
	rec->cgroup_created = s->created;
	rec->cgroup_orig = TAKE_PTR(s->orig);
}

static struct cg_session record_cgroup(const struct session_record *rec)
{
	return (struct cg_session){
		.mode = rec->cg_mode, .rel = rec->cgroup, .ino = rec->cgroup_ino,
		.per_session = rec->cgroup_session, .created = rec->cgroup_created,
		.orig = rec->cgroup_orig,
	};
}

/* Find the session's memory cgroup, or make one (cgroup=create): lib/cgroup.c. */
static void setup_cgroup(pam_handle_t *pamh, const struct options *o, struct session_record *rec)
{
	struct cg_session_opts so = {
		.create = o->create_cgroup, .parent = o->cgroup_parent, .name = rec->id,
	};
	struct cg_session s = {0};
	struct cg_note note;

	if (cg_session_open(&so, &s, &note) < 0) {
		pam_syslog(pamh, LOG_WARNING, "session cgroup: %s", strerror(ENOMEM));
		return;
	}
	if (note.msg[0] && note.debug)
		debug_log(pamh, o, "%s", note.msg);
	else if (note.msg[0])
		pam_syslog(pamh, LOG_WARNING, "%s", note.msg);
	record_take_cgroup(rec, &s);
	if (rec->cgroup_created)
		debug_log(pamh, o, "session cgroup \"%s\" created", rec->cgroup);
	cg_session_done(&s);
}

/* Move the caller into the cgroup it made for the session, so that the user's
 * processes, forked after us, are charged there. On failure the session falls back to
 * the caller's own (shared) cgroup, and the record says so. */
static void enter_cgroup(pam_handle_t *pamh, const struct policy *pol, struct session_record *rec)
{
	_cleanup_free_ char *made = NULL;
	struct cg_session s = {0};
	int r;

	if (!rec->cgroup_created)
		return;
	made = strdup(rec->cgroup);
	s = record_cgroup(rec);
	rec->cgroup = rec->cgroup_orig = NULL;
	r = cg_session_enter(&s);
	record_take_cgroup(rec, &s);
	if (r < 0) {
		pam_syslog(pamh, LOG_WARNING, "cannot enter session cgroup \"%s\": %s",
			   made ? made : "?", strerror(-r));
		if (record_write(pol->state_dir, rec) < 0)
			pam_syslog(pamh, LOG_WARNING, "cannot update session record %s", rec->id);
	}
}

/* Move the caller back where it came from (move), and/or rmdir the cgroup made for the
 * session if empty (remove). A cgroup a process of the session still holds is noted in
 * the state dir, and gc removes it once it is empty. */
static void restore_cgroup(pam_handle_t *pamh, const struct policy *pol,
			   const struct session_record *rec, bool move, bool remove)
{
	struct cg_session s = record_cgroup(rec);
	int r;

	if (!rec->cgroup_created || !rec->cgroup)
		return;
	if (move) {
		r = cg_session_leave(&s, true, false);
		if (r < 0)
			pam_syslog(pamh, LOG_WARNING, "cannot move back to cgroup \"%s\": %s",
				   rec->cgroup_orig, strerror(-r));
	}
	if (remove) {
		r = cg_session_leave(&s, false, true);
		if (r == -EBUSY) {
			r = cg_left_note(pol->state_dir, rec->id, rec->cg_mode, rec->cgroup,
					 rec->cgroup_ino);
			if (r < 0)
				pam_syslog(pamh, LOG_WARNING, "session cgroup \"%s\" still in use, and "
					   "cannot note it for gc: %s", rec->cgroup, strerror(-r));
		} else if (r < 0)
			pam_syslog(pamh, LOG_NOTICE, "session cgroup \"%s\" not removed: %s",
				   rec->cgroup, strerror(-r));
	}
}

/* Each Watch path that is a tmpfs mount point (as the helper will check it again), by
 * its own mount id and device: no mount table is read, and libmount is not loaded. The
 * paths skipped are said in skipped[] ("; "-separated, for the session-open line). */
static void find_mounts(pam_handle_t *pamh, const struct options *o, const struct policy *pol,
			struct session_record *rec, char *skipped, size_t size)
{
	char **paths = NULL;
	int n = policy_watch_paths(pol, rec->user, rec->uid, &paths);
	size_t len = 0;

	skipped[0] = '\0';
	for (int i = 0; i < n; i++) {
		_cleanup_close_ int fd = -1;
		uint64_t mnt_id;
		dev_t dev;
		int r = mounts_open_root_id(paths[i], &fd, &mnt_id, &dev);

		if (r < 0) {
			debug_log(pamh, o, "watched \"%s\" is not a tmpfs mount point (%s), ignoring",
				  paths[i], strerror(-r));
			if (len < size)
				len += (size_t)snprintf(skipped + len, size - len,
							"%swatched %s is not a tmpfs mount point "
							"(%s): skipped", len ? "; " : "",
							paths[i], strerror(-r));
			continue;
		}
		if (record_add_mount(rec, (int)mnt_id, dev, paths[i]) < 0)
			break;
	}
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/* The audit sink of the policy; a failure to open the file is said, journald goes on. */
static struct audit *open_audit(pam_handle_t *pamh, const struct policy *pol)
{
	struct audit *a = NULL;
	int r = audit_open(pol->audit_log, pol->journal, &a);

	if (r < 0)
		pam_syslog(pamh, LOG_WARNING, "cannot write audit log \"%s\": %s", pol->audit_log,
			   strerror(-r));
	return a;
}

static void audit_open_line(pam_handle_t *pamh, const struct policy *pol,
			    const struct session_record *rec, const char *reason)
{
	struct audit *a = open_audit(pamh, pol);
	struct audit_session ev = {
		.session = rec->id, .user = rec->user, .uid = rec->uid, .service = rec->service,
		.rhost = rec->rhost, .tty = rec->tty, .cgroup = rec->cgroup,
		.time_ns = rec->start_ns, .reason = reason && reason[0] ? reason : NULL,
	};

	if (a && audit_session_open(a, &ev) < 0)
		pam_syslog(pamh, LOG_WARNING, "cannot write audit log \"%s\"", pol->audit_log);
	audit_close(a);
}

/* The helper could not count this close (metrics.h): an incomplete one, maybe a timeout. */
static void metrics_close_failed(pam_handle_t *pamh, const struct policy *pol, bool timeout)
{
	struct metrics_update u = {
		.add = {.incomplete = 1, .timeouts = timeout},
		.last_close_ns = now_ns(CLOCK_REALTIME),
	};
	int r;

	if (!pol->metrics_file)
		return;
	r = metrics_update(pol->metrics_file, &u, METRICS_WAIT_MS);
	if (r < 0 && r != -ENOENT)
		pam_syslog(pamh, LOG_WARNING, "cannot update metrics \"%s\": %s", pol->metrics_file,
			   strerror(-r));
}

/* The session-close line when the helper could not write it: it never ran, or it was
 * killed at the deadline (its record stays for gc, which will finish the sweep). */
static void audit_close_failed(pam_handle_t *pamh, const struct policy *pol,
			       const struct session_record *rec, const char *reason, bool timeout,
			       uint64_t duration_ns)
{
	struct audit *a = open_audit(pamh, pol);
	struct audit_summary ev = {
		.session = rec->id, .user = rec->user, .uid = rec->uid, .incomplete = true,
		.duration_ms = duration_ns / NSEC_PER_MSEC, .time_ns = now_ns(CLOCK_REALTIME),
		.trigger = "close", .reason = reason,
	};

	if (a && audit_session_close(a, &ev) < 0)
		pam_syslog(pamh, LOG_WARNING, "cannot write audit log \"%s\"", pol->audit_log);
	audit_close(a);
	metrics_close_failed(pamh, pol, timeout);
}

/* policy_errors_say's say() for the module. */
static void say_policy_error(const char *line, void *userdata)
{
	pam_syslog(userdata, LOG_ERR, "%s", line);
}

/* The policy as the helper will see it. A bad one is said here too (the helper then
 * runs report-only); the module itself only needs Watch, StateDir, AuditLog, Journal and
 * NotifyUser, and keeps the defaults of a rejected file. Every session is recorded,
 * exempt users' too: who is exempt is the helper's question, at close. */
static int load_policy(pam_handle_t *pamh, const struct options *o, struct policy *pol)
{
	struct policy_errors errs = {0};
	const char *path = o->conf ? o->conf : POLICY_DEFAULT_PATH;
	int r = policy_load(path, pol, &errs);

	if (r == -ENOMEM) {
		policy_errors_done(&errs);
		return r;
	}
	if (r < 0) {
		/* The first problem only: this runs at every login; check-config says them all. */
		size_t more = policy_errors_say(&errs, path, 1, say_policy_error, pamh);

		pam_syslog(pamh, LOG_ERR, "policy \"%s\" not used, report only%s%s%s", path,
			   errs.n ? "" : ": ", errs.n ? "" : strerror(-r),
			   more ? " (more problems: tmpfs-sweep check-config)" : "");
	}
	policy_errors_done(&errs);
	return 0;
}

/* NotifyUser: what the user's last sweep left (notify.h), once, as a PAM_TEXT_INFO like
 * "Last login". At almost every login there is no summary: one failed open(2). Nothing
 * here can fail the login; the summary goes only once the conversation took the message. */
static void tell_user(pam_handle_t *pamh, int flags, const struct options *o,
		      const struct policy *pol, const struct session_record *rec, gid_t gid)
{
	struct policy_subject who = {
		.user = rec->user, .uid = rec->uid, .gid = gid, .have_gid = true,
		.service = rec->service, .rhost = rec->rhost,
	};
	struct notify_summary s;
	struct policy_scope scope;
	char msg[2048];
	bool tell;
	int r;

	if ((flags & PAM_SILENT) || (!pol->notify_user && pol->n_blocks == 0))
		return;
	r = notify_read(pol->state_dir, rec->uid, &s);
	if (r == -ENOENT)
		return;
	if (r < 0 || !streq(s.user, rec->user)) {
		/* Unreadable, or left for another user who had this uid: no one's to tell. */
		debug_log(pamh, o, "notify summary of uid %u dropped: %s", (unsigned)rec->uid,
			  r < 0 ? strerror(-r) : "another user's");
		if (r != -EPERM)
			(void)notify_clear(pol->state_dir, rec->uid, NULL);
		return;
	}
	if (policy_scope_init(pol, &who, &scope) < 0)
		return;
	tell = scope.notify_user;
	policy_scope_done(&scope);
	if (!tell)
		return;
	notify_message(&s, msg, sizeof(msg));
	r = pam_info(pamh, "%s", msg);
	debug_log(pamh, o, "told \"%s\" what session %s left: %s", rec->user, s.session,
		  pam_strerror(pamh, r));
	if (r == PAM_SUCCESS)
		(void)notify_clear(pol->state_dir, rec->uid, s.session);
}

static int open_session(pam_handle_t *pamh, int flags, const struct options *o)
{
	struct policy pol = {0};
	struct session_record rec = {0};
	struct user_info ui;
	struct session_data *data = NULL;
	const char *user = NULL;
	char id[RECORD_ID_MAX], skipped[512];
	int r;

	if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS ||
	    !user_name_valid(user)) {
		pam_syslog(pamh, LOG_NOTICE, "no usable PAM_USER, nothing recorded");
		return -EINVAL;
	}
	r = user_by_name(user, &ui);
	if (r < 0) {
		pam_syslog(pamh, LOG_NOTICE, "user \"%s\" %s, nothing recorded", user,
			   r == -ENOENT ? "unknown" : "not usable");
		return r;
	}
	/* As NSS spells it (sssd may fold its case): the helper checks it by uid. */
	rec.uid = ui.uid;
	rec.user = strdup(ui.name);
	if (!rec.user)
		return -ENOMEM;
	r = load_policy(pamh, o, &pol);
	if (r < 0)
		goto out;
	rec.pid = getpid();
	/* The creation window starts on the coarse clock: tmpfs stamps a new file's birth
	 * time from it, and it lags the fine clock by up to a tick, so a file made just
	 * after open could otherwise be "born before" the session. The id uses the fine
	 * clock, unique even for one process opening sessions in a loop. */
	rec.start_ns = now_ns(CLOCK_REALTIME_COARSE);
	r = proc_pid_starttime(0, &rec.pid_start);
	if (r >= 0)
		r = record_make_id(rec.pid, now_ns(CLOCK_REALTIME), id, sizeof(id));
	if (r >= 0 && !(rec.id = strdup(id)))
		r = -ENOMEM;
	if (r < 0)
		goto out;
	if (get_item_dup(pamh, PAM_SERVICE, &rec.service) < 0 ||
	    get_item_dup(pamh, PAM_RHOST, &rec.rhost) < 0 ||
	    get_item_dup(pamh, PAM_TTY, &rec.tty) < 0) {
		r = -ENOMEM;
		goto out;
	}
	if (proc_boot_id(rec.boot_id) < 0)
		rec.boot_id[0] = '\0';

	setup_cgroup(pamh, o, &rec);
	find_mounts(pamh, o, &pol, &rec, skipped, sizeof(skipped));

	r = record_write(pol.state_dir, &rec);
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot write session record in \"%s\": %s", pol.state_dir,
			   strerror(-r));
		restore_cgroup(pamh, &pol, &rec, false, true); /* not entered: just remove it */
		goto out;
	}
	data = calloc(1, sizeof(*data));
	if (!data) {
		r = -ENOMEM;
	} else {
		data->pid = rec.pid;
		snprintf(data->id, sizeof(data->id), "%s", rec.id);
		if (pam_set_data(pamh, DATA_KEY, data, free_data) != PAM_SUCCESS) {
			free(data);
			r = -ENOMEM;
		}
	}
	/* Without the pam data, close finds the record by our pid: not fatal. */
	if (r < 0)
		pam_syslog(pamh, LOG_WARNING, "pam_set_data failed, close will look up by pid");
	audit_open_line(pamh, &pol, &rec, skipped);
	tell_user(pamh, flags, o, &pol, &rec, ui.gid);
	enter_cgroup(pamh, &pol, &rec);
	debug_log(pamh, o, "session %s recorded for \"%s\"", rec.id, rec.user);
	r = 0;
out:
	record_done(&rec);
	policy_done(&pol);
	return r;
}

/* The helper is root's: a regular file, not a symlink, owned by root, not writable
 * by group or other. Anything else is not run. */
static int helper_usable(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) || !(st.st_mode & 0100))
		return -EPERM;
	return 0;
}

/* How long a close waiting in the module sleeps at most before it looks again. Every
 * holder of the sweep lock wakes the waiting closes when it lets go: the helper when it
 * is done, the module after a helper it gave the lock could not (close_session). Looking
 * again is for a holder that died without a word (a host killed between taking the lock
 * and starting the helper, a helper that took the lock itself killed), and rare: in a
 * mass logout each look wakes every waiting close (~0.8 ms of CPU each on the 2-CPU test
 * machine, bench/storm). */
#define QUEUE_LOOK_MS 2000

enum join {
	JOIN_NO,   /* not queued here: the helper runs, and queues itself */
	JOIN_LEAD, /* queued, and nobody sweeping: the helper runs to lead (*lead_fd) */
	JOIN_DONE, /* swept by another close's helper, or given up at the deadline */
};

/* Out of time, still queued: unless a leader has the record now (it writes the session's
 * line), ours says so, and gc finishes it once we are gone (as the helper's own close
 * does, helper/queue.c). false: a leader has it. */
static bool give_up(pam_handle_t *pamh, const struct policy *pol, int qfd,
		    const struct session_record *rec, uint64_t t0)
{
	struct session_record now = {0};
	int lock = record_lock(pol->state_dir, rec->id), r;

	if (lock == -EBUSY)
		return false;
	r = lock < 0 ? lock : record_read(pol->state_dir, rec->id, &now);
	unlinkat(qfd, rec->id, 0);
	if (r == 0 && (now.state == RECORD_QUEUED || now.state == RECORD_CLOSING)) {
		pam_syslog(pamh, LOG_ERR, "session %s still queued for a shared sweep at the "
			   "deadline; record kept for gc", rec->id);
		audit_close_failed(pamh, pol, rec,
				   now.state == RECORD_QUEUED
					   ? "timeout: queued for a shared sweep that did not "
					     "reach it in time; left for gc"
					   : "timeout: the shared sweep of it was interrupted; "
					     "left for gc",
				   true, now_ns(CLOCK_MONOTONIC) - t0);
	}
	if (lock >= 0)
		record_unlock(pol->state_dir, rec->id, lock, r == -ENOENT);
	record_done(&now);
	return true;
}

/* The sweep lock we took for our helper let go, and the closes waiting in the module
 * woken: a helper killed at the deadline, or one that ended before it led (an error),
 * could not wake them. Unlocked, not only closed: a killed helper may not be gone yet
 * (spawn_run waits for it a moment only), and while it holds its copy of the descriptor
 * a close alone would not let the lock go. (A helper that led woke them already; the
 * second wake finds only closes still queued.) */
static void release_lead(const struct policy *pol, int *lead_fd)
{
	_cleanup_close_ int qfd = closeq_open_dir(pol->state_dir);

	(void)flock(*lead_fd, LOCK_UN);
	*lead_fd = safe_close(*lead_fd);
	if (qfd >= 0)
		closeq_wake(qfd);
}

/* Closes that overlap share one walk (helper/queue.h), and a close that finds a sweep on
 * joins it from here, without starting a helper: a mass logout starts one helper, not one
 * per session. Our record is queued (as the helper would queue it) and then: when nobody
 * holds the sweep lock, we take it for the helper we start (*lead_fd, its fd 3), so that
 * the closes coming while it starts find it held; when someone does, we wait (no signals
 * in the host: poll on the wake FIFO, closeq.h) until our entry is gone, or the lock is
 * free again with our entry still there (we lead then), or the deadline. */
static enum join close_join(pam_handle_t *pamh, const struct options *o,
			    const struct policy *pol, struct session_record *rec, uint64_t t0,
			    int *lead_fd)
{
	const char *statedir = pol->state_dir;
	_cleanup_close_ int qfd = closeq_open_dir(statedir), sfd = -1, own = -1;
	char key[CLOSEQ_ENTRY_MAX], sha[SHA256_HEX_SIZE];
	struct session_record now = {0};
	uint64_t hard = t0 + o->timeout_ns,
		 soft = t0 + MIN(o->timeout_ns, pol->timeout_ms * NSEC_PER_MSEC);
	enum join ret = JOIN_NO;
	bool late = false;
	int lock, r;

	*lead_fd = -1;
	sfd = qfd < 0 ? -1 : closeq_open_lock(statedir);
	lock = sfd < 0 ? -1 : record_lock(statedir, rec->id);
	if (lock < 0)
		return JOIN_NO;
	r = record_read(statedir, rec->id, &now);
	if (r < 0 || now.state != RECORD_OPEN) {
		record_done(&now);
		record_unlock(statedir, rec->id, lock, false);
		return JOIN_NO;
	}
	if (pol->raw)
		sha256_hex(pol->raw, pol->raw_len, sha);
	closeq_key(pol->raw ? sha : NULL, o->conf, key, sizeof(key));
	/* Our own wake first: whoever settles our record opens it (not missed, nor the
	 * batch's end waited for). Without it, the batch's end (or a look now and then). */
	own = closeq_watch_own(qfd, rec->id);
	now.state = RECORD_QUEUED;
	now.end_ns = now_ns(CLOCK_REALTIME); /* what it claims: born up to its close */
	r = record_write(statedir, &now);
	if (r == 0)
		r = closeq_add(qfd, rec->id, t0, key);
	record_done(&now);
	record_unlock(statedir, rec->id, lock, false);

	while (r == 0) {
		/* The sweep lock's wake: opened before we look, so none is lost. */
		_cleanup_close_ int wfd = closeq_watch(qfd);
		struct pollfd p[2] = {{.fd = own, .events = POLLIN}, {.fd = wfd, .events = POLLIN}};
		uint64_t t = now_ns(CLOCK_MONOTONIC), until = late ? hard : soft;
		int ms;

		if (!closeq_queued(qfd, rec->id)) {
			debug_log(pamh, o, "session %s swept with others", rec->id);
			ret = JOIN_DONE;
			break;
		}
		if (!late && flock(sfd, LOCK_EX | LOCK_NB) == 0) {
			*lead_fd = TAKE_FD(sfd);
			ret = JOIN_LEAD;
			break;
		}
		if (t >= until) {
			if (late || give_up(pamh, pol, qfd, rec, t0)) {
				ret = JOIN_DONE;
				break;
			}
			late = true; /* a leader is on it: its own deadline for it is ours */
			continue;
		}
		ms = (int)MIN((until - t + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC,
			      (uint64_t)QUEUE_LOOK_MS);
		/* Without either FIFO: look every 20 ms. */
		if (poll(p, 2, own < 0 && wfd < 0 ? MIN(ms, 20) : ms) < 0 && errno != EINTR) {
			ret = JOIN_DONE; /* cannot wait: the record stays queued, for gc */
			break;
		}
		/* Our wake reports once it came, for good: not to be polled again. */
		if (own >= 0 && p[0].revents)
			own = safe_close(own);
	}
	/* r < 0: not queued; the helper queues it (a queued record: the module's) */
	closeq_unwatch_own(qfd, rec->id);
	return ret;
}

static int close_session(pam_handle_t *pamh, const struct options *o)
{
	struct policy pol = {0};
	struct session_record rec = {0};
	const struct session_data *data = NULL;
	_cleanup_free_ char *found = NULL;
	const char *helper = o->helper ? o->helper : HELPER_PATH;
	const char *id = NULL;
	uint64_t my_start = 0, t0;
	int r;

	if (proc_pid_starttime(0, &my_start) < 0)
		return -ESRCH;
	if (pam_get_data(pamh, DATA_KEY, (const void **)&data) == PAM_SUCCESS && data) {
		/* A forked child calling pam_end/close: the session is not its to close. */
		if (data->pid != getpid())
			return -ECHILD;
		id = data->id;
	} else {
		data = NULL;
	}
	r = load_policy(pamh, o, &pol);
	if (r < 0)
		goto out;
	if (!data) {
		r = record_find_by_pid(pol.state_dir, getpid(), my_start, &found);
		if (r < 0) {
			debug_log(pamh, o, "no session record for pid %d", (int)getpid());
			goto out;
		}
		id = found;
	}
	r = record_read(pol.state_dir, id, &rec);
	if (r == -ENOENT) {
		debug_log(pamh, o, "session %s already closed", id);
		goto out;
	}
	if (r < 0) {
		pam_syslog(pamh, LOG_WARNING, "session record %s unreadable: %s", id, strerror(-r));
		goto out;
	}
	if (rec.pid != getpid() || rec.pid_start != my_start) {
		r = -ECHILD;
		goto out;
	}

	/* Back to where we came from before the helper runs: it is not charged to the
	 * session, and the session cgroup keeps only what the user left. */
	restore_cgroup(pamh, &pol, &rec, true, false);

	t0 = now_ns(CLOCK_MONOTONIC);
	r = helper_usable(helper);
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "helper \"%s\" not run: %s", helper,
			   r == -EPERM ? "not a root-owned regular file writable only by root"
				       : strerror(-r));
		audit_close_failed(pamh, &pol, &rec, "helper-unusable", false, 0);
	} else {
		char *argv[] = {(char *)helper, (char *)"close", rec.id, NULL, NULL, NULL};
		char *lead_env[] = {(char *)CLOSEQ_LEAD_FD_ENV "=3", NULL};
		struct spawn_opts so = {.timeout_ns = o->timeout_ns};
		_cleanup_close_ int lead_fd = -1;
		enum join j = close_join(pamh, o, &pol, &rec, t0, &lead_fd);
		uint64_t spent = now_ns(CLOCK_MONOTONIC) - t0;

		if (o->conf) {
			argv[3] = (char *)"--conf";
			argv[4] = (char *)o->conf;
		}
		if (j == JOIN_LEAD) {
			so.pass_fd = lead_fd;
			so.extra_env = lead_env;
		}
		/* What is left of the deadline (a millisecond at least: the helper then gives
		 * the record to gc at once). */
		so.timeout_ns = MAX(o->timeout_ns > spent ? o->timeout_ns - spent : 0, NSEC_PER_MSEC);
		r = j == JOIN_DONE ? 0 : spawn_run(argv, &so);
		if (j == JOIN_LEAD)
			release_lead(&pol, &lead_fd);
		if (r == -ETIMEDOUT) {
			pam_syslog(pamh, LOG_ERR, "helper for session %s killed at the %" PRIu64
				   " s deadline; record kept for gc", rec.id,
				   (uint64_t)(o->timeout_ns / NSEC_PER_SEC));
			audit_close_failed(pamh, &pol, &rec, "timeout", true,
					   now_ns(CLOCK_MONOTONIC) - t0);
		} else if (r < 0) {
			pam_syslog(pamh, LOG_ERR, "cannot run helper \"%s\": %s", helper, strerror(-r));
			audit_close_failed(pamh, &pol, &rec, "error", false,
					   now_ns(CLOCK_MONOTONIC) - t0);
		} else if (!WIFEXITED(r) || (WEXITSTATUS(r) != 0 && WEXITSTATUS(r) != 7)) {
			pam_syslog(pamh, LOG_WARNING, "helper for session %s failed (status %d)",
				   rec.id, WIFEXITED(r) ? WEXITSTATUS(r) : 128 + WTERMSIG(r));
		} else {
			debug_log(pamh, o, "session %s closed", rec.id);
		}
	}
	restore_cgroup(pamh, &pol, &rec, false, true);
	r = 0;
out:
	record_done(&rec);
	policy_done(&pol);
	return r;
}

_public_ int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct options o;

	parse_options(pamh, argc, argv, &o);
	if (!service_wanted(pamh, &o)) {
		debug_log(pamh, &o, "service not in \"service=%s\", nothing recorded", o.services);
		return PAM_IGNORE;
	}
	return pam_code(open_session(pamh, flags, &o));
}

_public_ int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct options o;

	parse_options(pamh, argc, argv, &o);
	if (!service_wanted(pamh, &o))
		return PAM_IGNORE;
	return pam_code(close_session(pamh, &o));
}
