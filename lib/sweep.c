/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sweep.h"
#include "cgroup.h"
#include "inuse.h"
#include "journal.h"
#include "mounts.h"
#include "remove.h"
#include "scan.h"
#include "util.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-login.h>

struct cand {
	char *path; /* for people and the audit log */
	size_t path_len;
	char *parent; /* relative to the mount root: "." or "a/b" */
	char *name;
	size_t mount; /* index into the session's mounts */
	dev_t dev, parent_dev;
	ino_t ino, parent_ino;
	mode_t type;
	uid_t uid;
	uint64_t btime_ns, size, charged;
	const char *class;
	enum policy_action action;
	const struct policy_rule *rule;
	const char *result;
	const char *detail;
	char error[96];
	bool pending; /* to be removed */
};

struct sweep {
	const struct sweep_params *p;
	const struct session_record *rec;
	struct sweep_result *res;
	uint64_t *inos; /* the session cgroup and its descendants, sorted; NULL: unknown */
	size_t n_inos;
	bool exempt;
	struct cand *c;
	size_t n, cap;
	size_t mount; /* the mount being walked */
	size_t root_len;
	char **audited; /* resume: escaped paths the audit log already has a line for */
	size_t n_audited;
	int error;
};

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Resuming an interrupted sweep: was this path's line written already? */
static bool already_audited(const struct sweep *s, const char *path, size_t len)
{
	_cleanup_free_ char *esc = NULL;

	if (!s->n_audited)
		return false;
	esc = journal_escaped_path(path, len);
	return esc && bsearch(&esc, s->audited, s->n_audited, sizeof(char *), cmp_strp);
}

/* Append to the session-close reason ("; "-separated, cut at the buffer's end). */
static void __attribute__((format(printf, 2, 3))) add_reason(struct sweep_result *res,
							      const char *fmt, ...)
{
	size_t n = strlen(res->reason);
	va_list ap;

	if (n && n + 2 < sizeof(res->reason)) {
		memcpy(res->reason + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(res->reason + n, sizeof(res->reason) - n, fmt, ap);
	va_end(ap);
}

static uint64_t ts_ns(const struct statx_timestamp *t)
{
	return t->tv_sec < 0 ? 0 : (uint64_t)t->tv_sec * NSEC_PER_SEC + t->tv_nsec;
}

static void cands_free(struct sweep *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->c[i].path);
		free(s->c[i].parent);
		free(s->c[i].name);
	}
	free(s->c);
}

static const char *rule_text(const struct policy_rule *r, char *buf, size_t len)
{
	if (!r)
		return "default";
	snprintf(buf, len, "line %u: %s %s", r->line, policy_action_name(r->action), r->pattern);
	return buf;
}

/* The safety gates: reasons a remove or defer decision must become a report. */
static const char *removal_veto(const struct sweep *s, const struct cand *c, unsigned mask,
				const struct statx *stx)
{
	if (c->uid != s->rec->uid)
		return "owner is not the session's user";
	if (s->exempt)
		return "exempt user";
	if (!(mask & POLICY_CLASS_CREATED) &&
	    !((mask & POLICY_CLASS_OWNED) && c->rule && (c->rule->class_mask & POLICY_CLASS_OWNED)))
		return "not created in this session";
	if (!S_ISDIR(stx->stx_mode) && stx->stx_nlink > 1)
		return "hard links";
	return NULL;
}

static int add_cand(struct sweep *s, const struct scan_entry *e, unsigned mask, uint64_t charged)
{
	const struct walk_entry *w = e->w;
	const char *rel = w->path + s->root_len + 1, *slash;
	const struct policy_rule *rule;
	enum policy_action action;
	struct stat pst;
	struct cand *c;

	/* Decided first: most entries of a big tree are a user's older files that no rule
	 * asks about, and cost nothing more than this. */
	action = policy_decide(s->p->policy, w->path, s->rec->user, s->rec->uid, mask,
			       w->stx->stx_size, S_ISDIR(w->stx->stx_mode), &rule);
	/* Only owned, and no rule asks about it (or a keep rule, which applies to every
	 * class, says leave it): not this session's business, no line. */
	if (action == POLICY_IGNORE || (mask == POLICY_CLASS_OWNED && action == POLICY_KEEP))
		return 1;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		c = reallocarray(s->c, nc, sizeof(*c));
		if (!c)
			return -ENOMEM;
		s->c = c;
		s->cap = nc;
	}
	if (fstat(w->dirfd, &pst) < 0)
		return negative_errno();
	c = &s->c[s->n];
	*c = (struct cand){
		.path_len = w->path_len,
		.mount = s->mount,
		.dev = makedev(w->stx->stx_dev_major, w->stx->stx_dev_minor),
		.ino = w->stx->stx_ino,
		.parent_dev = pst.st_dev,
		.parent_ino = pst.st_ino,
		.type = w->stx->stx_mode & S_IFMT,
		.uid = w->stx->stx_uid,
		.btime_ns = (w->stx->stx_mask & STATX_BTIME) ? ts_ns(&w->stx->stx_btime) : 0,
		.size = w->stx->stx_size,
		.charged = charged,
		.class = (mask & POLICY_CLASS_CHARGED)   ? "charged"
			 : (mask & POLICY_CLASS_CREATED) ? "created"
							 : "owned",
	};
	slash = strrchr(rel, '/');
	c->path = strndup(w->path, w->path_len);
	c->name = strdup(w->name);
	c->parent = slash ? strndup(rel, (size_t)(slash - rel)) : strdup(".");
	s->n++; /* counted now so that cands_free releases what was allocated */
	if (!c->path || !c->name || !c->parent)
		return -ENOMEM;

	c->action = action;
	c->rule = rule;
	if (c->action == POLICY_REMOVE || c->action == POLICY_DEFER) {
		const char *veto = removal_veto(s, c, mask, w->stx);
		if (veto) {
			c->action = POLICY_REPORT;
			c->detail = veto;
		}
	}
	if (c->action == POLICY_DEFER && s->p->final)
		c->action = POLICY_REMOVE;
	switch (c->action) {
	case POLICY_KEEP:
		c->result = "kept";
		break;
	case POLICY_DEFER:
		c->result = "deferred";
		c->detail = "deferred by rule until the user's last session ends";
		s->res->keep_record = true;
		break;
	case POLICY_REMOVE:
		if (s->p->dry_run) {
			c->result = "reported";
			c->detail = "dry run";
		} else if (s->p->other_sessions) {
			c->result = "deferred";
			c->detail = "another session of the user is alive";
			s->res->keep_record = true;
		} else
			c->pending = true;
		break;
	default:
		c->result = "reported";
		if (s->p->policy->report_only && !c->detail)
			c->detail = "report-only policy";
	}
	return 0;
}

static int on_entry(const struct scan_entry *e, void *userdata)
{
	struct sweep *s = userdata;
	const struct statx *stx = e->w->stx;
	const struct session_record *rec = s->rec;
	bool is_dir = S_ISDIR(stx->stx_mode), in_window;
	uint64_t charged = 0, btime;
	unsigned mask = 0;
	int r;

	/* Directories are decided after their children (post-order), so that a batch removes
	 * the children first. */
	if (is_dir != e->w->leaving)
		return WALK_CONTINUE;
	/* Gone, or another file now, since the walk listed it (another close removing its
	 * own file): nothing of ours to judge. */
	if (e->error == -ENOENT || e->error == -ESTALE)
		return WALK_CONTINUE;
	if (e->pages && s->inos)
		charged = page_scan_charged_to(e->pages, s->inos, s->n_inos);
	if (e->pages && e->pages->changed)
		s->res->incomplete = true;
	btime = (stx->stx_mask & STATX_BTIME) ? ts_ns(&stx->stx_btime) : 0;
	/* Birth time only: mtime and atime are the owner's to forge (touch -d). */
	in_window = btime && btime >= rec->start_ns && btime <= s->p->end_ns;
	if (stx->stx_uid != rec->uid && !charged)
		return WALK_CONTINUE;
	if (is_dir && (stx->stx_uid != rec->uid || !in_window))
		return WALK_CONTINUE; /* only directories the session made are worth a line */
	/* Born in the window but with its pages charged elsewhere only: another session of
	 * the same user (or a service of theirs) wrote it, not this one. */
	if (in_window && s->inos && e->pages && e->pages->resident_bytes > 0 && !charged)
		in_window = false;
	if (charged)
		mask |= POLICY_CLASS_CHARGED;
	if (stx->stx_uid == rec->uid)
		mask |= in_window ? POLICY_CLASS_CREATED : POLICY_CLASS_OWNED;
	if (already_audited(s, e->w->path, e->w->path_len))
		return WALK_CONTINUE;
	r = add_cand(s, e, mask, charged);
	if (r < 0) {
		s->error = r;
		return WALK_STOP;
	}
	return WALK_CONTINUE;
}

/* At logout only what may be the session's is worth its page scan: the user's files,
 * and files born during the session (another uid writing from inside it). Other users'
 * older files (a database's shared memory, gigabytes) are left to `explain`. */
static bool worth_scanning(const struct statx *stx, void *userdata)
{
	const struct sweep *s = userdata;
	uint64_t btime = (stx->stx_mask & STATX_BTIME) ? ts_ns(&stx->stx_btime) : 0;

	return stx->stx_uid == s->rec->uid || !btime || btime >= s->rec->start_ns;
}

static int load_cgroup(struct sweep *s)
{
	struct cg_root root = {.fd = -1};
	struct cgroup cg = {.fd = -1};
	struct cg_list l = {0};
	int r;

	if (s->rec->cg_mode == CG_NONE || !s->rec->cgroup || !s->rec->cgroup_session)
		return 0; /* no per-session cgroup: "charged" would not mean this session */
	r = cg_root_open(NULL, &root);
	if (r < 0)
		return 0;
	r = cg_open_rel(&root, s->rec->cgroup, &cg);
	if (r < 0 || cg.ino != s->rec->cgroup_ino) {
		/* Gone (or replaced): the kernel now reports its pages under an ancestor. */
		add_reason(s->res, "session cgroup gone: attributed by uid and creation time only");
		goto out;
	}
	r = cg_list_descendants(&root, &cg, &l);
	if (r < 0)
		goto out;
	s->inos = malloc(l.n * sizeof(*s->inos));
	if (!s->inos) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n; i++)
		s->inos[i] = l.v[i].ino;
	s->n_inos = l.n;
	r = 0;
out:
	cg_list_free(&l);
	cgroup_done(&cg);
	cg_root_close(&root);
	return r == -ENOMEM ? r : 0;
}

static struct inuse *snapshot_devs(const struct sweep *s, const int *root_fds)
{
	dev_t devs[RECORD_MAX_MOUNTS];
	struct inuse *u = NULL;
	size_t nd = 0;

	for (size_t i = 0; i < s->rec->n_mounts && nd < RECORD_MAX_MOUNTS; i++)
		if (root_fds[i] >= 0)
			devs[nd++] = s->rec->mounts[i].dev;
	return inuse_snapshot(devs, nd, &u) < 0 ? NULL : u;
}

/* A file in use is never removed. A hit is looked at twice, 50 ms apart, so that only
 * a use that lasts counts: a scanner (another close, an explain) or a backup holds a
 * file open for an instant, and that instant alone should not keep a file forever. */
static void check_in_use(struct sweep *s, const int *root_fds)
{
	struct inuse *u = snapshot_devs(s, root_fds), *again = NULL;
	bool any = false;

	for (size_t i = 0; u && i < s->n; i++)
		if (s->c[i].pending && inuse_lookup(u, s->c[i].dev, s->c[i].ino, NULL, NULL))
			any = true;
	if (any) {
		usleep(50 * 1000);
		again = snapshot_devs(s, root_fds);
	}
	for (size_t i = 0; i < s->n; i++) {
		struct cand *c = &s->c[i];
		const char *why;
		pid_t pid;

		if (!c->pending)
			continue;
		if (!u || (any && !again)) {
			/* Cannot tell what is in use: remove nothing. */
			c->pending = false;
			c->result = "skipped-in-use";
			c->detail = "cannot read /proc to tell";
			continue;
		}
		if (!inuse_lookup(u, c->dev, c->ino, &why, &pid) ||
		    !inuse_lookup(again, c->dev, c->ino, &why, &pid))
			continue;
		c->pending = false;
		c->result = "skipped-in-use";
		if (pid > 0)
			snprintf(c->error, sizeof(c->error), "%s by pid %d", why, (int)pid);
		else
			snprintf(c->error, sizeof(c->error), "%s", why);
		c->detail = c->error;
	}
	inuse_free(again);
	inuse_free(u);
}

/* Before removing, say what is about to go, so that a sweep killed after the unlink and
 * before the audit line still audits it (see journal.h). */
static int journal_intents(struct sweep *s)
{
	_cleanup_free_ struct journal_entry *e = NULL;
	_cleanup_free_ char(*rules)[256] = NULL;
	size_t n = 0;

	if (!s->p->statedir)
		return 0;
	e = calloc(s->n, sizeof(*e));
	rules = calloc(s->n, sizeof(*rules));
	if (!e || !rules)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		const struct cand *c = &s->c[i];
		if (!c->pending)
			continue;
		e[n] = (struct journal_entry){
			.dev = c->dev, .ino = c->ino, .size = c->size, .charged = c->charged,
			.btime_ns = c->btime_ns, .uid = c->uid, .path = c->path,
			.path_len = c->path_len, .class = (char *)c->class,
			.action = (char *)policy_action_name(c->action),
			.rule = (char *)rule_text(c->rule, rules[n], sizeof(rules[n])),
		};
		n++;
	}
	return journal_append(s->p->statedir, s->rec->id, e, n);
}

static void remove_pending(struct sweep *s, const int *root_fds)
{
	const struct passwd *pw = getpwuid(s->rec->uid);
	struct remove_creds creds = {.as_root = s->p->policy->remove_as == POLICY_REMOVE_AS_ROOT};
	_cleanup_free_ gid_t *groups = NULL;
	int ng;

	if (!creds.as_root) {
		if (!pw || !streq(pw->pw_name, s->rec->user)) {
			for (size_t i = 0; i < s->n; i++)
				if (s->c[i].pending) {
					s->c[i].pending = false;
					s->c[i].result = "error";
					s->c[i].detail = "the session's user no longer exists";
				}
			return;
		}
		creds.uid = pw->pw_uid;
		creds.gid = pw->pw_gid;
		ng = policy_user_groups(pw->pw_name, pw->pw_gid, &groups);
		if (ng > 0) {
			creds.groups = groups;
			creds.ngroups = (size_t)ng;
		}
	}
	for (size_t m = 0; m < s->rec->n_mounts; m++) {
		_cleanup_free_ struct remove_item *items = NULL;
		_cleanup_free_ struct remove_result *results = NULL;
		_cleanup_free_ size_t *idx = NULL;
		size_t n = 0;

		for (size_t i = 0; i < s->n; i++)
			n += s->c[i].pending && s->c[i].mount == m;
		if (n == 0 || root_fds[m] < 0)
			continue;
		items = calloc(n, sizeof(*items));
		results = calloc(n, sizeof(*results));
		idx = calloc(n, sizeof(*idx));
		if (!items || !results || !idx) {
			s->error = -ENOMEM;
			return;
		}
		n = 0;
		for (size_t i = 0; i < s->n; i++) {
			const struct cand *c = &s->c[i];
			if (!c->pending || c->mount != m)
				continue;
			items[n] = (struct remove_item){
				.parent = c->parent, .name = c->name,
				.parent_dev = c->parent_dev, .parent_ino = c->parent_ino,
				.dev = c->dev, .ino = c->ino, .type = c->type, .uid = c->uid,
				.btime_ns = c->btime_ns,
			};
			idx[n++] = i;
		}
		remove_batch(root_fds[m], items, n, &creds, s->p->deadline_ns, results);
		for (size_t k = 0; k < n; k++) {
			struct cand *c = &s->c[idx[k]];
			c->pending = false;
			switch (results[k].status) {
			case REMOVE_REMOVED:
				c->result = "removed";
				break;
			case REMOVE_SKIPPED_CHANGED:
				c->result = "skipped-changed";
				snprintf(c->error, sizeof(c->error), "re-check failed: %s",
					 remove_check_str(results[k].check));
				c->detail = c->error;
				break;
			default:
				/* Exchanged after the re-check (RENAME_EXCHANGE): the kernel
				 * refused the unlink because the entry is no longer of its type. */
				if (results[k].check == REMOVE_CHECK_UNLINK &&
				    (results[k].err == ENOTDIR || results[k].err == EISDIR)) {
					c->result = "skipped-changed";
					c->detail = "changed type just before the unlink";
					break;
				}
				if (c->type == S_IFDIR && results[k].err == ENOTEMPTY) {
					c->result = "kept";
					c->detail = "directory not empty";
					break;
				}
				c->result = "error";
				snprintf(c->error, sizeof(c->error), "%s: %s",
					 remove_check_str(results[k].check),
					 results[k].err ? strerror(results[k].err) : "no answer");
				c->detail = c->error;
			}
		}
	}
}

static void audit_all(struct sweep *s)
{
	struct sweep_result *res = s->res;
	char rbuf[256];

	for (size_t i = 0; i < s->n; i++) {
		const struct cand *c = &s->c[i];
		struct audit_file f = {
			.session = s->rec->id, .path = c->path, .path_len = c->path_len,
			.size = c->size, .charged_bytes = c->charged, .uid = c->uid,
			.btime_ns = c->btime_ns, .class = c->class,
			.action = policy_action_name(c->action),
			.result = c->result, .rule = rule_text(c->rule, rbuf, sizeof(rbuf)),
			.detail = c->detail,
		};
		res->files++;
		res->bytes += c->size;
		res->charged_bytes += c->charged;
		if (streq(c->result, "removed")) {
			res->removed++;
			res->removed_bytes += c->size;
		} else if (streq(c->result, "kept"))
			res->kept++;
		else if (streq(c->result, "deferred"))
			res->deferred++;
		else if (streq(c->result, "error"))
			res->errors++;
#ifdef TMPFS_SWEEP_TEST_HOOKS
		if (s->p->kill_after >= 0 && (long)res->files - 1 >= s->p->kill_after)
			raise(SIGKILL); /* crash-safety tests: die before this file's line */
#endif
		if (s->p->audit && audit_file(s->p->audit, &f) < 0)
			res->errors++;
	}
}

/* Resuming: intents of the interrupted run whose file is gone and that have no line yet
 * were removed by it; audit them now, once. */
static void audit_interrupted(struct sweep *s)
{
	struct journal j = {0};

	if (!s->p->statedir || journal_read(s->p->statedir, s->rec->id, &j) < 0)
		return;
	for (size_t i = 0; i < j.n; i++) {
		const struct journal_entry *e = &j.v[i];
		bool seen = false;
		for (size_t k = 0; k < s->n && !seen; k++)
			seen = s->c[k].dev == e->dev && s->c[k].ino == e->ino;
		if (seen || already_audited(s, e->path, e->path_len))
			continue;
		struct audit_file f = {
			.session = s->rec->id, .path = e->path, .path_len = e->path_len,
			.size = e->size, .charged_bytes = e->charged, .uid = e->uid,
			.btime_ns = e->btime_ns, .class = e->class, .action = e->action,
			.result = "removed", .rule = e->rule,
			.detail = "removed by an interrupted sweep",
		};
		s->res->files++;
		s->res->bytes += e->size;
		s->res->charged_bytes += e->charged;
		s->res->removed++;
		s->res->removed_bytes += e->size;
		if (s->p->audit && audit_file(s->p->audit, &f) < 0)
			s->res->errors++;
	}
	journal_free(&j);
}

#ifdef TMPFS_SWEEP_TEST_HOOKS
/* TEST HOOK (tests/integration/threat_races.sh): between the walk and the removal, when
 * TMPFS_SWEEP_TEST_PAUSE_FILE names a file, create it and wait (at most 10 s) until the
 * test removes it, so that a test can change the tree at exactly that point. */
static void test_pause(void)
{
	const char *f = getenv("TMPFS_SWEEP_TEST_PAUSE_FILE");
	int fd;

	if (!f || f[0] != '/')
		return;
	fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	close(fd);
	for (int i = 0; i < 1000 && access(f, F_OK) == 0; i++)
		usleep(10000);
}
#endif

int sweep_session(const struct sweep_params *p, struct sweep_result *res)
{
	const struct session_record *rec = p->rec;
	struct sweep s = {.p = p, .rec = rec, .res = res};
	int root_fds[RECORD_MAX_MOUNTS];
	struct pages_ctx *pc = NULL;
	struct lease_view leases = {0};
	dev_t devs[RECORD_MAX_MOUNTS];
	const char *cap_reason = NULL;
	struct audit_summary sum;
	int r;

	*res = (struct sweep_result){0};
	for (size_t i = 0; i < RECORD_MAX_MOUNTS; i++)
		root_fds[i] = -1;
	{
		const struct passwd *pw = getpwuid(rec->uid);
		s.exempt = !pw || policy_exempt(p->policy, rec->user, rec->uid, pw->pw_gid);
	}
	if (p->resume && audit_log_paths(p->policy->audit_log, rec->id, &s.audited, &s.n_audited) < 0)
		s.n_audited = 0;
	r = load_cgroup(&s);
	if (r < 0)
		goto out;
	r = pages_ctx_new(&pc);
	if (r < 0) {
		/* No page attribution (no CAP_SYS_ADMIN, /proc/kpagecgroup hidden by a
		 * sandbox): uid and birth time still classify, and say so. */
		add_reason(res, "no page attribution (%s): by uid and birth time only",
			   strerror(-r));
		pc = NULL;
	}
	for (size_t i = 0; i < rec->n_mounts && i < RECORD_MAX_MOUNTS; i++)
		devs[i] = rec->mounts[i].dev;
	leases.devs = devs;
	leases.n_devs = MIN(rec->n_mounts, (size_t)RECORD_MAX_MOUNTS);

	for (size_t m = 0; m < rec->n_mounts && m < RECORD_MAX_MOUNTS; m++) {
		const struct record_mount *rm = &rec->mounts[m];
		struct walk_opts wo = {
			.max_depth = (unsigned)MIN(p->policy->max_depth, 1024),
			.max_entries = p->policy->max_entries,
			.deadline_ns = p->deadline_ns,
			.flags = WALK_POST_ORDER,
		};
		struct walk_stats st;
		struct stat rst;

		/* The mount must still be the one the session saw (same device). */
		r = mounts_open_root(rm->path, &root_fds[m]);
		if (r < 0) {
			add_reason(res, "watched %s not usable: %s", rm->path, strerror(-r));
			continue;
		}
		if (fstat(root_fds[m], &rst) < 0 || rst.st_dev != rm->dev) {
			add_reason(res, "watched %s is another mount now", rm->path);
			root_fds[m] = safe_close(root_fds[m]);
			continue;
		}
		s.mount = m;
		s.root_len = strlen(rm->path);
		while (s.root_len > 1 && rm->path[s.root_len - 1] == '/')
			s.root_len--;
		r = scan_mount(pc, root_fds[m], rm->path, &wo, &leases, worth_scanning, on_entry, &s, &st);
		if (s.error < 0) {
			r = s.error;
			goto out;
		}
		if (r < 0 || st.incomplete) {
			res->incomplete = true;
			cap_reason = r < 0 ? "walk error" : st.incomplete_reason;
		}
	}

#ifdef TMPFS_SWEEP_TEST_HOOKS
	test_pause();
#endif
	/* On a cap, remove nothing more: what was found is reported, and a session that ran
	 * out of time stays recorded for gc. */
	if (cap_reason) {
		for (size_t i = 0; i < s.n; i++)
			if (s.c[i].pending) {
				s.c[i].pending = false;
				s.c[i].result = "reported";
				s.c[i].detail = "incomplete walk: nothing removed";
			}
		if (streq(cap_reason, "time"))
			res->keep_record = true;
		add_reason(res, "incomplete: %s", cap_reason);
	}
	for (size_t i = 0; i < s.n; i++)
		if (s.c[i].pending) {
			check_in_use(&s, root_fds);
			break;
		}
	for (size_t i = 0; i < s.n; i++)
		if (s.c[i].pending) {
			if (journal_intents(&s) < 0) {
				/* Without the journal a crash could lose a removal's line. */
				for (size_t k = 0; k < s.n; k++)
					if (s.c[k].pending) {
						s.c[k].pending = false;
						s.c[k].result = "reported";
						s.c[k].detail = "cannot write the sweep journal";
					}
				break;
			}
			remove_pending(&s, root_fds);
			break;
		}
	if (s.error < 0) {
		r = s.error;
		goto out;
	}
	audit_all(&s);
	if (p->resume)
		audit_interrupted(&s);
	if (p->statedir && !p->dry_run)
		journal_remove(p->statedir, rec->id);
	r = 0;
out:
	if (res->keep_record && p->other_sessions)
		add_reason(res, "deferred: another session of the user");
	sum = (struct audit_summary){
		.session = rec->id, .user = rec->user, .uid = rec->uid,
		.files = res->files, .bytes = res->bytes, .charged_bytes = res->charged_bytes,
		.removed = res->removed, .removed_bytes = res->removed_bytes, .kept = res->kept,
		.deferred = res->deferred, .errors = res->errors + (r < 0),
		.incomplete = res->incomplete || r < 0,
		.duration_ms = (now_monotonic_ns() - p->started_ns) / NSEC_PER_MSEC,
		.policy_sha256 = p->policy_sha256, .time_ns = now_realtime_ns(),
		.trigger = p->trigger,
		.reason = p->reason ? p->reason : res->reason[0] ? res->reason : NULL,
	};
	if (p->reason && res->reason[0]) {
		/* Both: the caller's (e.g. a bad policy) first. */
		char both[sizeof(res->reason) + 128];
		snprintf(both, sizeof(both), "%s; %s", p->reason, res->reason);
		sum.reason = both;
		if (p->audit)
			audit_session_close(p->audit, &sum);
	} else if (p->audit)
		audit_session_close(p->audit, &sum);
	for (size_t i = 0; i < RECORD_MAX_MOUNTS; i++)
		safe_close(root_fds[i]);
	pages_ctx_free(pc);
	lease_view_done(&leases);
	free(s.inos);
	strv_free(s.audited);
	cands_free(&s);
	return r;
}

bool record_is_alive(const struct session_record *rec)
{
	char boot[RECORD_BOOT_ID_LEN + 1];
	uint64_t start;

	if (read_boot_id(boot) == 0 && !streq(boot, rec->boot_id))
		return false;
	if (rec->pid <= 0 || (kill(rec->pid, 0) < 0 && errno == ESRCH))
		return false;
	if (proc_pid_starttime(rec->pid, &start) < 0)
		return false;
	return start == rec->pid_start;
}

static bool logind_other_sessions(const struct session_record *rec)
{
	_cleanup_free_ char **sessions = NULL;
	_cleanup_free_ char *ours = NULL;
	bool other = false;
	int n;

	if (sd_booted() <= 0)
		return false;
	/* Our own session is the one of the process that opened it, and is closing now. */
	if (rec->pid > 0)
		sd_pid_get_session(rec->pid, &ours);
	n = sd_uid_get_sessions(rec->uid, 0, &sessions);
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *state = NULL;
		if (!other && !streq_ptr(sessions[i], ours) &&
		    sd_session_get_state(sessions[i], &state) >= 0 && !streq(state, "closing"))
			other = true;
		free(sessions[i]);
	}
	return other;
}

bool user_has_other_sessions(const char *statedir, const struct session_record *rec)
{
	char **ids = NULL;
	size_t n = 0;
	bool other = false;

	if (logind_other_sessions(rec))
		return true;
	if (record_list(statedir, &ids, &n) < 0)
		return false;
	for (size_t i = 0; i < n && !other; i++) {
		struct session_record o = {0};
		if (streq(ids[i], rec->id) || record_read(statedir, ids[i], &o) < 0)
			continue;
		other = o.uid == rec->uid && o.state != RECORD_DEFERRED && record_is_alive(&o);
		record_done(&o);
	}
	record_ids_free(ids);
	return other;
}
