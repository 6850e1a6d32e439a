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
#include "fileio.h"
#include "metrics.h"
#include "mounts.h"
#include "policy.h"
#include "record.h"
#include "spawn.h"
#include "util.h"

#include <ctype.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <pwd.h>
#include <strings.h>
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

static void parse_options(pam_handle_t *pamh, int argc, const char **argv, struct options *o)
{
	*o = (struct options){.timeout_ns = DEFAULT_TIMEOUT_NS};
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v;
		uint64_t t;

		if ((v = startswith(a, "conf=")) && v[0] == '/') {
			o->conf = v;
		} else if ((v = startswith(a, "timeout="))) {
			if (parse_u64(v, &t) < 0 || t == 0 || t > MAX_TIMEOUT_S)
				pam_syslog(pamh, LOG_ERR, "bad option \"%s\", using timeout=5", a);
			else
				o->timeout_ns = t * NSEC_PER_SEC;
		} else if (streq(a, "cgroup=inherit")) {
			o->create_cgroup = false;
		} else if (streq(a, "cgroup=create")) {
			o->create_cgroup = true;
		} else if ((v = startswith(a, "cgroup_parent=")) && v[0] == '/') {
			o->cgroup_parent = v;
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

/* Letters, digits and . _ - @ $, not starting with '-', at most 256 bytes: what
 * useradd and directory services produce, and nothing a path or a log can trip on. */
static bool user_name_sane(const char *u)
{
	size_t n = 0;

	if (!u || !u[0] || u[0] == '-' || streq(u, ".") || streq(u, ".."))
		return false;
	for (const char *p = u; *p; p++, n++) {
		unsigned char c = (unsigned char)*p;
		if (n >= 256 || !(isalnum(c) || c == '.' || c == '_' || c == '-' || c == '@' ||
				   c == '$'))
			return false;
	}
	return true;
}

static int lookup_user(const char *user, uid_t *ret, gid_t *ret_gid)
{
	struct passwd pw, *res = NULL;
	char small[2048]; /* a passwd entry fits: no heap pages touched at every login */
	_cleanup_free_ char *big = NULL;
	char *buf = small;
	size_t size = sizeof(small);
	int r;

	for (;;) {
		r = getpwnam_r(user, &pw, buf, size, &res);
		if (r == ERANGE && size < (1 << 20)) {
			size *= 4;
			free(big);
			buf = big = malloc(size);
			if (!big)
				return -ENOMEM;
			continue;
		}
		if (r)
			return -r;
		if (!res)
			return -ENOENT;
		*ret = pw.pw_uid;
		*ret_gid = pw.pw_gid;
		return 0;
	}
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

/* A logind session scope, or a cgroup this module made. */
static bool cgroup_is_per_session(const char *rel)
{
	const char *last = strrchr(rel, '/');

	last = last ? last + 1 : rel;
	if (fnmatch("session-*.scope", last, 0) == 0)
		return true;
	return false;
}

static bool is_systemd_unit_dir(const char *rel)
{
	const char *last = strrchr(rel, '/');
	size_t n;

	last = last ? last + 1 : rel;
	n = strlen(last);
	return (n > 6 && streq(last + n - 6, ".slice")) || (n > 6 && streq(last + n - 6, ".scope")) ||
	       (n > 8 && streq(last + n - 8, ".service"));
}

/* Find the session's memory cgroup, or make one (cgroup=create) and move the
 * caller into it so that the user's processes, forked after us, are charged there. */
static void setup_cgroup(pam_handle_t *pamh, const struct options *o, struct session_record *rec)
{
	struct cg_root root = {.fd = -1};
	struct cgroup cg = {.fd = -1};
	_cleanup_free_ char *rel = NULL, *parent = NULL;
	enum cg_mode mode;
	int r;

	if (!o->create_cgroup) {
		/* The common case, at every login: the caller's cgroup the quick way. */
		r = cg_self_quick(&mode, &rel, &rec->cgroup_ino);
		if (r == 0) {
			rec->cg_mode = mode;
			rec->cgroup_session = cgroup_is_per_session(rel);
			rec->cgroup = TAKE_PTR(rel);
			return;
		}
		if (r == -ENOMEDIUM) {
			debug_log(pamh, o, "no memory cgroup hierarchy");
			return;
		}
		if (r != -ENOENT) {
			pam_syslog(pamh, LOG_WARNING, "cannot read own memory cgroup: %s",
				   strerror(-r));
			return;
		}
	}
	r = cg_root_open(NULL, &root);
	if (r < 0) {
		debug_log(pamh, o, "no memory cgroup hierarchy: %s", strerror(-r));
		return;
	}
	r = cg_path_of_pid(&root, 0, NULL, &rel);
	if (r < 0) {
		pam_syslog(pamh, LOG_WARNING, "cannot read own memory cgroup: %s", strerror(-r));
		goto out;
	}
	rec->cg_mode = root.mode;
	if (!o->create_cgroup || cgroup_is_per_session(rel)) {
		r = cg_ino_rel(&root, rel, &rec->cgroup_ino);
		if (r < 0) {
			pam_syslog(pamh, LOG_WARNING, "cannot open cgroup %s: %s", rel,
				   strerror(-r));
			goto out;
		}
		rec->cgroup_session = cgroup_is_per_session(rel);
		rec->cgroup = TAKE_PTR(rel);
		goto out;
	}

	if (root.mode == CG_V1) {
		struct cgroup p = {.fd = -1};

		r = cg_create(&root, rel, "tmpfs-sweep", &p);
		if (r >= 0) {
			parent = TAKE_PTR(p.rel);
			cgroup_done(&p);
		}
	} else if (!o->cgroup_parent) {
		r = -ENOTDIR;
		pam_syslog(pamh, LOG_WARNING, "cgroup=create on cgroup v2 needs cgroup_parent=");
	} else if (is_systemd_unit_dir(o->cgroup_parent)) {
		r = -EPERM;
		pam_syslog(pamh, LOG_WARNING, "cgroup_parent=%s is a systemd unit, not used",
			   o->cgroup_parent);
	} else {
		parent = strdup(o->cgroup_parent);
		r = parent ? 0 : -ENOMEM;
	}
	/* Made now, entered only once the record is written (enter_cgroup): what open
	 * writes itself is not the session's to be charged for. */
	if (r >= 0)
		r = cg_create(&root, parent, rec->id, &cg);
	if (r < 0) {
		struct cgroup cur = {.fd = -1};

		/* Fall back to the caller's own cgroup, shared by other sessions. */
		pam_syslog(pamh, LOG_WARNING, "cannot create a session cgroup below %s: %s",
			   parent ? parent : rel, strerror(-r));
		if (cg_open_rel(&root, rel, &cur) >= 0) {
			rec->cgroup_ino = cur.ino;
			rec->cgroup = TAKE_PTR(rel);
			cgroup_done(&cur);
		}
		goto out;
	}
	rec->cgroup_created = true;
	rec->cgroup_session = true;
	rec->cgroup_ino = cg.ino;
	rec->cgroup = TAKE_PTR(cg.rel);
	rec->cgroup_orig = TAKE_PTR(rel);
	debug_log(pamh, o, "session cgroup %s created", rec->cgroup);
out:
	cgroup_done(&cg);
	cg_root_close(&root);
}

/* Move the caller into the cgroup it made for the session, so that the user's
 * processes, forked after us, are charged there. On failure the session falls back to
 * the caller's own (shared) cgroup, and the record says so. */
static void enter_cgroup(pam_handle_t *pamh, const struct policy *pol, struct session_record *rec)
{
	struct cg_root root = {.fd = -1};
	struct cgroup cg = {.fd = -1};
	int r;

	if (!rec->cgroup_created)
		return;
	r = cg_root_open(NULL, &root);
	if (r >= 0)
		r = cg_open_rel(&root, rec->cgroup, &cg);
	if (r >= 0)
		r = cg_attach(&cg, getpid());
	if (r < 0) {
		pam_syslog(pamh, LOG_WARNING, "cannot enter session cgroup %s: %s", rec->cgroup,
			   strerror(-r));
		if (root.fd >= 0)
			(void)cg_remove_if_empty(&root, rec->cgroup);
		free(rec->cgroup);
		rec->cgroup = TAKE_PTR(rec->cgroup_orig);
		rec->cgroup_created = rec->cgroup_session = false;
		rec->cgroup_ino = 0;
		cgroup_done(&cg);
		if (rec->cgroup && cg_open_rel(&root, rec->cgroup, &cg) >= 0)
			rec->cgroup_ino = cg.ino;
		if (record_write(pol->state_dir, rec) < 0)
			pam_syslog(pamh, LOG_WARNING, "cannot update session record %s", rec->id);
	}
	cgroup_done(&cg);
	cg_root_close(&root);
}

/* Move the caller back where it came from; remove_only: just rmdir if empty. */
static void restore_cgroup(pam_handle_t *pamh, const struct session_record *rec, bool move,
			   bool remove)
{
	struct cg_root root = {.fd = -1};
	struct cgroup orig = {.fd = -1};
	int r;

	if (!rec->cgroup_created || !rec->cgroup)
		return;
	if (cg_root_open(NULL, &root) < 0 || root.mode != rec->cg_mode)
		goto out;
	if (move) {
		r = cg_open_rel(&root, rec->cgroup_orig ? rec->cgroup_orig : "/", &orig);
		if (r >= 0)
			r = cg_attach(&orig, getpid());
		if (r < 0)
			pam_syslog(pamh, LOG_WARNING, "cannot move back to cgroup %s: %s",
				   rec->cgroup_orig, strerror(-r));
	}
	if (remove) {
		r = cg_remove_if_empty(&root, rec->cgroup);
		if (r < 0 && r != -ENOENT)
			pam_syslog(pamh, LOG_NOTICE, "session cgroup %s not removed: %s",
				   rec->cgroup, strerror(-r));
	}
out:
	cgroup_done(&orig);
	cg_root_close(&root);
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
			debug_log(pamh, o, "watched %s is not a tmpfs mount point (%s), skipped",
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
		pam_syslog(pamh, LOG_WARNING, "cannot write audit log %s: %s", pol->audit_log,
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
		pam_syslog(pamh, LOG_WARNING, "cannot write audit log %s", pol->audit_log);
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
		pam_syslog(pamh, LOG_WARNING, "cannot update metrics %s: %s", pol->metrics_file,
			   strerror(-r));
}

/* The session-close line when the helper could not write it: it never ran, or it was
 * killed at the deadline (its record stays for gc, which will finish the sweep). */
static void audit_close_failed(pam_handle_t *pamh, const struct policy *pol,
			       const struct session_record *rec, const char *reason,
			       uint64_t duration_ns)
{
	struct audit *a = open_audit(pamh, pol);
	struct audit_summary ev = {
		.session = rec->id, .user = rec->user, .uid = rec->uid, .incomplete = true,
		.duration_ms = duration_ns / NSEC_PER_MSEC, .time_ns = now_ns(CLOCK_REALTIME),
		.trigger = "close", .reason = reason,
	};

	if (a && audit_session_close(a, &ev) < 0)
		pam_syslog(pamh, LOG_WARNING, "cannot write audit log %s", pol->audit_log);
	audit_close(a);
	metrics_close_failed(pamh, pol, streq(reason, "timeout"));
}

/* policy_errors_say's say() for the module. */
static void say_policy_error(const char *line, void *userdata)
{
	pam_syslog(userdata, LOG_ERR, "%s", line);
}

/* The policy as the helper will see it. A bad one is said here too (the helper then
 * runs report-only); the module itself only needs Watch, StateDir, AuditLog and who is
 * exempt, and keeps the defaults of a rejected file. */
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

static int open_session(pam_handle_t *pamh, const struct options *o)
{
	struct policy pol = {0};
	struct session_record rec = {0};
	gid_t gid = 0;
	struct session_data *data = NULL;
	const char *user = NULL;
	char id[RECORD_ID_MAX], skipped[512];
	int r;

	if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS ||
	    !user_name_sane(user)) {
		pam_syslog(pamh, LOG_NOTICE, "no usable PAM_USER, nothing recorded");
		return -EINVAL;
	}
	rec.user = strdup(user);
	if (!rec.user)
		return -ENOMEM;
	r = lookup_user(rec.user, &rec.uid, &gid);
	if (r < 0) {
		pam_syslog(pamh, LOG_NOTICE, "user %s unknown, nothing recorded", rec.user);
		goto out;
	}
	r = load_policy(pamh, o, &pol);
	if (r < 0)
		goto out;
	if (policy_exempt(&pol, rec.user, rec.uid, gid)) {
		debug_log(pamh, o, "user %s exempt", rec.user);
		r = -ECANCELED;
		goto out;
	}

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
		pam_syslog(pamh, LOG_ERR, "cannot write session record in %s: %s", pol.state_dir,
			   strerror(-r));
		restore_cgroup(pamh, &rec, false, true); /* not entered yet: just remove it */
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
	enter_cgroup(pamh, &pol, &rec);
	debug_log(pamh, o, "session %s recorded for %s", rec.id, rec.user);
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
	restore_cgroup(pamh, &rec, true, false);

	t0 = now_ns(CLOCK_MONOTONIC);
	r = helper_usable(helper);
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "helper %s not run: %s", helper,
			   r == -EPERM ? "not a root-owned regular file writable only by root"
				       : strerror(-r));
		audit_close_failed(pamh, &pol, &rec, "helper-unusable", 0);
	} else {
		char *argv[] = {(char *)helper, (char *)"close", rec.id, NULL, NULL, NULL};
		struct spawn_opts so = {.timeout_ns = o->timeout_ns};

		if (o->conf) {
			argv[3] = (char *)"--conf";
			argv[4] = (char *)o->conf;
		}
		r = spawn_run(argv, &so);
		if (r == -ETIMEDOUT) {
			pam_syslog(pamh, LOG_ERR, "helper for session %s killed at the %" PRIu64
				   " s deadline; record kept for gc", rec.id,
				   (uint64_t)(o->timeout_ns / NSEC_PER_SEC));
			audit_close_failed(pamh, &pol, &rec, "timeout", now_ns(CLOCK_MONOTONIC) - t0);
		} else if (r < 0) {
			pam_syslog(pamh, LOG_ERR, "cannot run helper %s: %s", helper, strerror(-r));
			audit_close_failed(pamh, &pol, &rec, "error", now_ns(CLOCK_MONOTONIC) - t0);
		} else if (!WIFEXITED(r) || (WEXITSTATUS(r) != 0 && WEXITSTATUS(r) != 7)) {
			pam_syslog(pamh, LOG_WARNING, "helper for session %s failed (status %d)",
				   rec.id, WIFEXITED(r) ? WEXITSTATUS(r) : 128 + WTERMSIG(r));
		} else {
			debug_log(pamh, o, "session %s closed", rec.id);
		}
	}
	restore_cgroup(pamh, &rec, false, true);
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
		debug_log(pamh, &o, "service not in service=%s, nothing recorded", o.services);
		return PAM_IGNORE;
	}
	return pam_code(open_session(pamh, &o));
}

_public_ int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct options o;

	parse_options(pamh, argc, argv, &o);
	if (!service_wanted(pamh, &o))
		return PAM_IGNORE;
	return pam_code(close_session(pamh, &o));
}
