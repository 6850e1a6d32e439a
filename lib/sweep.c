/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sweep.h"
#include "cgroup.h"
#include "decide.h"
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
	struct decide_file f;
	struct decide_verdict v;
	struct decide_out out;
	bool quiet; /* decided again the same way as last time: no second line */
};

struct sweep {
	const struct sweep_params *p;
	const struct session_record *rec;
	struct sweep_result *res;
	struct decide_record drec; /* what decide() needs of the record */
	struct decide_mode mode;
	uint64_t *inos; /* the session cgroup and its descendants, sorted; NULL: unknown */
	size_t n_inos;
	struct pages_ctx *pc; /* NULL: no page attribution */
	dev_t devs[RECORD_MAX_MOUNTS];
	struct lease_view leases;
	struct cand *c;
	size_t n, cap;
	size_t mount; /* the mount being walked */
	size_t root_len;
	char **audited; /* resume: escaped paths the audit log already has a line for */
	size_t n_audited;
	bool *seen_pending; /* rec->pending[i] was found by the walk */
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

static void cands_done(struct sweep *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->c[i].path);
		free(s->c[i].parent);
		free(s->c[i].name);
	}
	free(s->c);
}

static bool pending(const struct cand *c)
{
	return c->out.result == RESULT_PENDING;
}

static bool any_pending(const struct sweep *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (pending(&s->c[i]))
			return true;
	return false;
}

static const char *rule_text(const struct policy_rule *r, char *buf, size_t len)
{
	if (!r)
		return "default";
	snprintf(buf, len, "line %u: %s %s", r->line, policy_action_name(r->action), r->pattern);
	return buf;
}

/* What decide() needs to know of a walked entry. */
static struct decide_file file_facts(const struct sweep *s, const struct scan_entry *e)
{
	const struct statx *stx = e->w->stx;
	uint64_t charged = e->pages && s->inos ? page_scan_charged_to(e->pages, s->inos, s->n_inos)
					       : 0;

	return (struct decide_file){
		.type = stx->stx_mode & S_IFMT,
		.uid = stx->stx_uid,
		.nlink = stx->stx_nlink,
		.size = stx->stx_size,
		.btime_ns = (stx->stx_mask & STATX_BTIME) ? ts_ns(&stx->stx_btime) : 0,
		.charged = charged,
		.charged_elsewhere =
			s->inos && e->pages && e->pages->resident_bytes > 0 && !charged,
	};
}

static int add_cand(struct sweep *s, const struct scan_entry *e, const struct decide_in *in,
		    const struct decide_out *out)
{
	const struct walk_entry *w = e->w;
	const char *rel = w->path + s->root_len + 1, *slash;
	struct stat pst;
	struct cand *c;

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
		.f = in->file,
		.v = in->verdict,
		.out = *out,
	};
	slash = strrchr(rel, '/');
	c->path = strndup(w->path, w->path_len);
	c->name = strdup(w->name);
	c->parent = slash ? strndup(rel, (size_t)(slash - rel)) : strdup(".");
	s->n++; /* counted now so that cands_done releases what was allocated */
	if (!c->path || !c->name || !c->parent)
		return -ENOMEM;
	return 0;
}

static int on_entry(const struct scan_entry *e, void *userdata)
{
	struct sweep *s = userdata;
	const struct walk_entry *w = e->w;
	struct decide_in in = {.rec = s->drec, .mode = s->mode};
	struct decide_out out;
	unsigned mask;
	int r;

	/* Directories are decided after their children (post-order), so that a batch removes
	 * the children first. */
	if (S_ISDIR(w->stx->stx_mode) != w->leaving)
		return WALK_CONTINUE;
	/* Gone, or another file now, since the walk listed it (another close removing its
	 * own file): nothing of ours to judge. */
	if (e->error == -ENOENT || e->error == -ESTALE)
		return WALK_CONTINUE;
	if (e->pages && e->pages->changed)
		s->res->incomplete = true;
	in.file = file_facts(s, e);
	mask = decide_class(&in.file, &in.rec);
	if (!mask)
		return WALK_CONTINUE;
	/* A deferred record that lists its undecided files: only those are decided again;
	 * every other file of the session had its final line. */
	if (s->rec->n_pending) {
		const struct record_pending *q = record_find_pending(
			s->rec, makedev(w->stx->stx_dev_major, w->stx->stx_dev_minor),
			w->stx->stx_ino);

		if (!q)
			return WALK_CONTINUE;
		s->seen_pending[q - s->rec->pending] = true;
	}
	if (already_audited(s, w->path, w->path_len))
		return WALK_CONTINUE;
	/* Most entries of a big tree are a user's older files that no rule asks about: they
	 * cost the policy's verdict and nothing more. */
	in.verdict.action = policy_decide(s->p->policy, w->path, s->rec->user, s->rec->uid, mask,
					  in.file.size, S_ISDIR(in.file.type), &in.verdict.rule);
	if (!decide(&in, &out))
		return WALK_CONTINUE;
	r = add_cand(s, e, &in, &out);
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
	r = cg_descendant_inos(&root, &cg, &s->inos, &s->n_inos);
out:
	cgroup_done(&cg);
	cg_root_close(&root);
	return r == -ENOMEM ? r : 0;
}

/* What the in-use check found for one candidate. */
struct use {
	int state;               /* 1 in use, 0 free, < 0 cannot tell (-errno) */
	enum inuse_reason why;   /* state 1 */
	pid_t pid;               /* a holder, 0 if none named */
	const char *cannot;      /* state < 0: what could not be read */
	struct inuse_id key;     /* what the /proc pass looks for: the inode, or a socket's */
	bool asked;              /* looked for by the /proc pass */
};

/* The /proc pass names holders: a quarter of the time left (or a second without a
 * deadline), so that naming never costs the removal its time. */
static uint64_t naming_deadline(uint64_t deadline_ns)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);

	if (!deadline_ns)
		return now + NSEC_PER_SEC;
	return deadline_ns > now ? now + (deadline_ns - now) / 4 : now;
}

static int lock_table(const struct sweep *s, const int *root_fds, struct inuse **ret)
{
	dev_t devs[RECORD_MAX_MOUNTS];
	size_t nd = 0;

	for (size_t i = 0; i < s->rec->n_mounts && nd < RECORD_MAX_MOUNTS; i++)
		if (root_fds[i] >= 0)
			devs[nd++] = s->rec->mounts[i].dev;
	return inuse_snapshot_locks_until(devs, nd, s->p->deadline_ns, ret);
}

/* Regular files: the lease probe, each file on its own. */
static void probe_files(struct sweep *s, const int *root_fds, struct use *use, bool again)
{
	struct inuse *locks = NULL;
	bool read = false;
	int lr = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct cand *c = &s->c[i];
		struct inuse_id pid_, id = {.dev = c->dev, .ino = c->ino};
		enum inuse_reason why = INUSE_NONE;
		int r;

		if (!pending(c) || c->f.type != S_IFREG || (again && use[i].state == 0))
			continue;
		if (!read) {
			/* Read now, not at the walk: a lease taken since would be broken. */
			lr = lock_table(s, root_fds, &locks);
			read = true;
		}
		if (!locks) {
			use[i] = (struct use){.state = lr, .cannot = "/proc/locks"};
			continue;
		}
		pid_ = (struct inuse_id){.dev = c->parent_dev, .ino = c->parent_ino};
		r = inuse_probe_file(root_fds[c->mount], c->parent, c->name, &pid_, &id, locks,
				     &why);
		/* Gone or another file now: the remover's own re-check skips it. */
		if (r == -ENOENT || r == -ESTALE)
			r = 0;
		use[i] = (struct use){.state = r, .why = why, .key = id,
				      .cannot = r < 0 ? "the lease probe" : NULL};
	}
	inuse_free(locks);
}

/* Directories (a task's cwd or root) and UNIX sockets (bound by a live socket). */
static void check_tasks(struct sweep *s, struct use *use, bool dirs, bool socks)
{
	struct inuse_tasks *t = NULL;
	struct inuse_socks *k = NULL;
	int tr, kr = -EAGAIN;

	tr = inuse_tasks_snapshot(-1, s->p->deadline_ns, &t);
	if (socks)
		kr = inuse_socks_snapshot(tr == 0 ? t : NULL, s->p->deadline_ns, &k);
	for (size_t i = 0; i < s->n; i++) {
		const struct cand *c = &s->c[i];
		struct use *u = &use[i];

		if (!pending(c))
			continue;
		if (c->f.type == S_IFDIR && dirs) {
			if (tr < 0)
				*u = (struct use){.state = tr, .cannot = "the tasks' cwd and root"};
			else if (inuse_tasks_lookup(t, c->dev, c->ino, &u->why, &u->pid))
				u->state = 1;
			else if (!inuse_tasks_complete(t))
				*u = (struct use){.state = -ETIME,
						  .cannot = "every task's cwd and root in time"};
		} else if (c->f.type == S_IFSOCK && socks) {
			struct inuse_id sock;

			if (kr < 0)
				*u = (struct use){.state = kr, .cannot = "the UNIX socket table"};
			else if (inuse_socks_lookup(k, c->dev, c->ino, &sock))
				*u = (struct use){.state = 1, .why = INUSE_BOUND, .key = sock};
			else if (tr < 0 || !inuse_socks_complete(k))
				*u = (struct use){.state = -ETIME,
						  .cannot = "the UNIX sockets of every network "
							    "namespace in time"};
		}
	}
	inuse_socks_free(k);
	inuse_tasks_free(t);
}

/* The /proc pass: whether anything has a FIFO (or any other file no probe can ask) open,
 * and who holds what the probes found in use. false: it did not finish in time. */
static bool check_holders(struct sweep *s, struct use *use)
{
	_cleanup_free_ struct inuse_id *want = calloc(s->n ? s->n : 1, sizeof(*want));
	struct inuse_opts o = {.first_uid = s->rec->uid,
			       .deadline_ns = naming_deadline(s->p->deadline_ns)};
	struct inuse *u = NULL;
	size_t n = 0;
	int r;

	bool complete;

	if (!want)
		return false;
	for (size_t i = 0; i < s->n; i++) {
		const struct cand *c = &s->c[i];
		struct use *x = &use[i];

		if (!pending(c))
			continue;
		if (x->state == 1 && x->why != INUSE_CWD && x->why != INUSE_ROOT)
			x->asked = true;
		else if (x->state == 0 && c->f.type != S_IFREG && c->f.type != S_IFDIR &&
			 c->f.type != S_IFSOCK && c->f.type != S_IFLNK) {
			x->key = (struct inuse_id){.dev = c->dev, .ino = c->ino};
			x->asked = true;
		}
		if (x->asked)
			want[n++] = x->key;
	}
	if (n == 0)
		return true;
	o.want = want;
	o.n_want = n;
	r = inuse_snapshot(&o, &u);
	complete = r == 0 && inuse_complete(u);
	for (size_t i = 0; i < s->n; i++) {
		struct use *x = &use[i];
		const char *why;
		pid_t pid;
		bool found;

		if (!x->asked)
			continue;
		found = r == 0 && inuse_lookup(u, x->key.dev, x->key.ino, &why, &pid);
		if (found && x->state == 1) {
			x->pid = pid;
			if (x->why == INUSE_OPEN) /* the probe only knows "some open file" */
				x->why = streq(why, "mapped")   ? INUSE_MAPPED
					 : streq(why, "locked") ? INUSE_LOCKED
					 : streq(why, "leased") ? INUSE_LEASED
								: INUSE_OPEN;
		} else if (x->state != 1) { /* a FIFO or another type: only this pass can tell */
			if (found)
				*x = (struct use){.state = 1, .why = INUSE_OPEN, .pid = pid};
			else if (!complete)
				*x = (struct use){.state = r < 0 ? r : -ETIME,
						  .cannot = "every process's open files in time"};
		}
	}
	inuse_free(u);
	return complete;
}

/* The in-use check's word for c, through decide.h. */
static void settle_use(struct cand *c, const struct use *u, bool named_in_time)
{
	char comm[17] = "";
	struct decide_use du = {
		.in_use = u->state, .why = u->why, .pid = u->pid, .comm = comm,
		.named_in_time = named_in_time || u->pid > 0, .cannot = u->cannot,
	};

	if (u->pid > 0)
		inuse_comm(u->pid, comm);
	decide_after_inuse(&c->out, &du);
}

/* A file in use is never removed: it stays pending, and gc decides it again. Regular
 * files are asked one by one (the lease probe); directories and UNIX sockets against
 * one table each; FIFOs and the names of holders by one bounded /proc pass. Whatever
 * cannot be told in time is kept the same way. A regular file is looked at twice, 50 ms
 * apart, so that only a use that lasts counts: a scanner (another close, an explain) or a
 * backup holds a file open for an instant, and that alone should not keep it. */
static void check_in_use(struct sweep *s, const int *root_fds)
{
	_cleanup_free_ struct use *use = calloc(s->n, sizeof(*use));
	bool regular = false, busy = false, dirs = false, socks = false, named;

	if (!use) {
		s->error = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct cand *c = &s->c[i];

		regular |= pending(c) && c->f.type == S_IFREG;
		dirs |= pending(c) && c->f.type == S_IFDIR;
		socks |= pending(c) && c->f.type == S_IFSOCK;
	}
	if (regular) {
		probe_files(s, root_fds, use, false);
		for (size_t i = 0; i < s->n; i++)
			busy |= pending(&s->c[i]) && s->c[i].f.type == S_IFREG && use[i].state == 1;
		if (busy) {
			usleep(50 * 1000);
			probe_files(s, root_fds, use, true);
		}
	}
	if (dirs || socks)
		check_tasks(s, use, dirs, socks);
	named = check_holders(s, use);
	for (size_t i = 0; i < s->n; i++) {
		struct cand *c = &s->c[i];

		if (pending(c) && use[i].state != 0)
			settle_use(c, &use[i], named);
	}
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
		if (!pending(c))
			continue;
		e[n] = (struct journal_entry){
			.dev = c->dev, .ino = c->ino, .size = c->f.size, .charged = c->f.charged,
			.btime_ns = c->f.btime_ns, .uid = c->f.uid, .path = c->path,
			.path_len = c->path_len, .class = (char *)policy_class_name(c->out.class),
			.action = (char *)policy_action_name(c->out.action),
			.rule = (char *)rule_text(c->v.rule, rules[n], sizeof(rules[n])),
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
				decide_not_removed(&s->c[i].out, STOP_NO_USER);
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
			n += pending(&s->c[i]) && s->c[i].mount == m;
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
			if (!pending(c) || c->mount != m)
				continue;
			items[n] = (struct remove_item){
				.parent = c->parent, .name = c->name,
				.parent_dev = c->parent_dev, .parent_ino = c->parent_ino,
				.dev = c->dev, .ino = c->ino, .type = c->f.type, .uid = c->f.uid,
				.btime_ns = c->f.btime_ns,
			};
			idx[n++] = i;
		}
		remove_batch(root_fds[m], items, n, &creds, s->p->deadline_ns, results);
		for (size_t k = 0; k < n; k++) {
			struct cand *c = &s->c[idx[k]];
			decide_after_remove(&c->out, c->f.type, &results[k]);
		}
	}
}

/* Before removing, say what is about to go (journal_intents), then remove it. */
static void remove_with_intents(struct sweep *s, const int *root_fds)
{
	if (journal_intents(s) < 0) {
		/* Without the journal a crash could lose a removal's line. */
		for (size_t i = 0; i < s->n; i++)
			decide_not_removed(&s->c[i].out, STOP_NO_JOURNAL);
		return;
	}
	remove_pending(s, root_fds);
}

/* Why gc decides a file with this result again (enum record_pending_why), or 0: final. */
static char pending_why(enum file_result r)
{
	if (!file_result_keeps_record(r))
		return 0;
	return r == RESULT_SKIPPED_IN_USE ? RECORD_PENDING_INUSE : RECORD_PENDING_DEFERRED;
}

/* What stays undecided for gc, and what need not be said again. A directory the remover
 * found not empty while files are pending is pending with them (it goes once they have).
 * Re-deciding a record that lists its undecided files (walk whole): a file decided the
 * same way again gets no second line; one the walk no longer finds is counted. */
static int finish_pending(struct sweep *s, bool walk_cut)
{
	const struct session_record *rec = s->rec;
	struct sweep_result *res = s->res;
	size_t n = 0, gone = 0;
	bool any = false;

	for (size_t i = 0; i < s->n; i++)
		any |= pending_why(s->c[i].out.result) != 0;
	for (size_t i = 0; any && i < s->n; i++)
		decide_waits_for_contents(&s->c[i].out);
	if (rec->n_pending && walk_cut) {
		/* Nothing was decided: the list stays as it was (the session-close line says
		 * the run was incomplete). */
		res->keep_record = true;
		res->pending = malloc(rec->n_pending * sizeof(*res->pending));
		if (!res->pending)
			return -ENOMEM;
		memcpy(res->pending, rec->pending, rec->n_pending * sizeof(*res->pending));
		res->n_pending = rec->n_pending;
		return 0;
	}
	res->keep_record |= any;
	if (walk_cut)
		return 0; /* not every file was seen: no list, gc decides every file again */
	res->pending = calloc(s->n ? s->n : 1, sizeof(*res->pending));
	if (!res->pending)
		return -ENOMEM;
	res->quiet = rec->n_pending > 0;
	for (size_t i = 0; i < s->n; i++) {
		struct cand *c = &s->c[i];
		const struct record_pending *was = record_find_pending(rec, c->dev, c->ino);
		char why = pending_why(c->out.result);

		if (why)
			res->pending[n++] = (struct record_pending){
				.dev = c->dev, .ino = c->ino, .why = why};
		c->quiet = was && why == was->why;
		res->quiet &= c->quiet;
	}
	res->n_pending = n;
	if (n == 0)
		res->quiet = false; /* the record is done: its session-close says so */
	for (size_t i = 0; i < rec->n_pending; i++)
		gone += !s->seen_pending[i];
	if (gone) {
		res->quiet = false;
		/* Gone, most likely; or moved where the walk does not look (a private
		 * directory): then it is not removed either, only no longer followed. */
		add_reason(res, "%zu pending file%s not found again (gone, or out of the walk's "
			   "reach)", gone, gone == 1 ? "" : "s");
	}
	return 0;
}


static void audit_all(struct sweep *s)
{
	struct sweep_result *res = s->res;
	char rbuf[256];

	for (size_t i = 0; i < s->n; i++) {
		const struct cand *c = &s->c[i];
		if (c->quiet)
			continue;
		struct audit_file f = {
			.session = s->rec->id, .path = c->path, .path_len = c->path_len,
			.size = c->f.size, .charged_bytes = c->f.charged, .uid = c->f.uid,
			.btime_ns = c->f.btime_ns, .class = policy_class_name(c->out.class),
			.action = policy_action_name(c->out.action), .result = c->out.result,
			.rule = rule_text(c->v.rule, rbuf, sizeof(rbuf)),
			.detail = c->out.detail[0] ? c->out.detail : NULL,
		};
		res->files++;
		res->bytes += c->f.size;
		res->charged_bytes += c->f.charged;
		if (c->out.result < RESULT_PENDING)
			res->by_result[c->out.result]++;
		switch (c->out.result) {
		case RESULT_REMOVED:
			res->removed++;
			res->removed_bytes += c->f.size;
			break;
		case RESULT_KEPT:
			res->kept++;
			break;
		case RESULT_DEFERRED:
			res->deferred++;
			break;
		case RESULT_ERROR:
			res->errors++;
			break;
		default:
			break;
		}
		if (file_result_keeps_record(c->out.result))
			res->keep_record = true;
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
			.result = RESULT_REMOVED, .rule = e->rule,
			.detail = "removed by an interrupted sweep",
		};
		s->res->files++;
		s->res->bytes += e->size;
		s->res->charged_bytes += e->charged;
		s->res->by_result[RESULT_REMOVED]++;
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

/* What the sweep knows before the walk: who is exempt, what an interrupted run audited,
 * the session's cgroups, the page scanner, the watched devices. */
static int sweep_prepare(struct sweep *s)
{
	const struct sweep_params *p = s->p;
	const struct session_record *rec = s->rec;
	const struct passwd *pw = getpwuid(rec->uid);
	int r;

	s->drec = (struct decide_record){
		.uid = rec->uid,
		.exempt = !pw || policy_exempt(p->policy, rec->user, rec->uid, pw->pw_gid),
		.start_ns = rec->start_ns,
		.end_ns = p->end_ns,
	};
	s->mode = (struct decide_mode){
		.dry_run = p->dry_run,
		.report_only = p->policy->report_only,
		.final = p->final,
		.other_sessions = p->other_sessions,
	};
	if (p->resume &&
	    audit_log_paths(p->policy->audit_log, rec->id, &s->audited, &s->n_audited) < 0)
		s->n_audited = 0;
	r = load_cgroup(s);
	if (r < 0)
		return r;
	r = pages_ctx_new(&s->pc);
	if (r < 0) {
		/* No page attribution (no CAP_SYS_ADMIN, /proc/kpagecgroup hidden by a
		 * sandbox): uid and birth time still classify, and say so. */
		add_reason(s->res, "no page attribution (%s): by uid and birth time only",
			   strerror(-r));
		s->pc = NULL;
	}
	for (size_t i = 0; i < rec->n_mounts && i < RECORD_MAX_MOUNTS; i++)
		s->devs[i] = rec->mounts[i].dev;
	s->leases.devs = s->devs;
	s->leases.n_devs = MIN(rec->n_mounts, (size_t)RECORD_MAX_MOUNTS);
	return 0;
}

/* Walk every recorded mount that is still the one the session saw, deciding each entry
 * (on_entry). *cap: the cap the last capped walk hit, or NULL. */
static int walk_mounts(struct sweep *s, int *root_fds, const char **cap)
{
	const struct session_record *rec = s->rec;

	*cap = NULL;
	for (size_t m = 0; m < rec->n_mounts && m < RECORD_MAX_MOUNTS; m++) {
		const struct record_mount *rm = &rec->mounts[m];
		struct walk_opts wo = {
			.max_depth = (unsigned)s->p->policy->max_depth, /* <= WALK_MAX_DEPTH */
			.max_entries = s->p->policy->max_entries,
			.deadline_ns = s->p->deadline_ns,
			.flags = WALK_POST_ORDER,
		};
		struct walk_stats st;
		struct stat rst;
		int r;

		/* The mount must still be the one the session saw (same device). */
		r = mounts_open_root(rm->path, &root_fds[m]);
		if (r < 0) {
			add_reason(s->res, "watched %s not usable: %s", rm->path, strerror(-r));
			continue;
		}
		if (fstat(root_fds[m], &rst) < 0 || rst.st_dev != rm->dev) {
			add_reason(s->res, "watched %s is another mount now", rm->path);
			root_fds[m] = safe_close(root_fds[m]);
			continue;
		}
		s->mount = m;
		s->root_len = strlen(rm->path);
		while (s->root_len > 1 && rm->path[s->root_len - 1] == '/')
			s->root_len--;
		r = scan_mount(s->pc, root_fds[m], rm->path, &wo, &s->leases, worth_scanning,
			       on_entry, s, &st);
		if (s->error < 0)
			return s->error;
		if (r < 0 || st.incomplete) {
			s->res->incomplete = true;
			*cap = r < 0 ? "walk error" : st.incomplete_reason;
		}
	}
	return 0;
}

/* On a cap, remove nothing more: every file is decided again knowing it, so that what was
 * found is reported; a session that ran out of time stays recorded for gc. */
static void settle_capped(struct sweep *s, const char *cap)
{
	s->mode.cap = cap;
	for (size_t i = 0; i < s->n; i++) {
		struct cand *c = &s->c[i];
		struct decide_in in = {
			.file = c->f, .rec = s->drec, .verdict = c->v, .mode = s->mode,
		};

		(void)decide(&in, &c->out);
	}
	if (streq(cap, "time"))
		s->res->keep_record = s->res->timed_out = true;
	/* Deciding a record's pending files again: a cut walk decides none of them. */
	for (size_t i = 0; s->rec->n_pending && i < s->n; i++)
		s->c[i].quiet = true;
	add_reason(s->res, "incomplete: %s", cap);
}

/* The session-close line, with the caller's reason (e.g. a bad policy) first. */
static void audit_summary(const struct sweep *s, int r)
{
	const struct sweep_params *p = s->p;
	struct sweep_result *res = s->res;
	char both[sizeof(res->reason) + 128];
	struct audit_summary sum = {
		.session = s->rec->id, .user = s->rec->user, .uid = s->rec->uid,
		.files = res->files, .bytes = res->bytes, .charged_bytes = res->charged_bytes,
		.removed = res->removed, .removed_bytes = res->removed_bytes, .kept = res->kept,
		.deferred = res->deferred, .errors = res->errors + (r < 0),
		.incomplete = res->incomplete || r < 0,
		.duration_ms = (now_ns(CLOCK_MONOTONIC) - p->started_ns) / NSEC_PER_MSEC,
		.policy_sha256 = p->policy_sha256, .time_ns = now_ns(CLOCK_REALTIME),
		.trigger = p->trigger,
		.reason = p->reason ? p->reason : res->reason[0] ? res->reason : NULL,
	};

	if (!p->audit)
		return;
	if (res->quiet && r == 0)
		return; /* pending files decided again the same way, nothing else: nothing to say */
	if (p->reason && res->reason[0]) {
		snprintf(both, sizeof(both), "%s; %s", p->reason, res->reason);
		sum.reason = both;
	}
	audit_session_close(p->audit, &sum);
}

int sweep_session(const struct sweep_params *p, struct sweep_result *res)
{
	struct sweep s = {.p = p, .rec = p->rec, .res = res};
	int root_fds[RECORD_MAX_MOUNTS];
	const char *cap = NULL;
	int r;

	*res = (struct sweep_result){0};
	for (size_t i = 0; i < RECORD_MAX_MOUNTS; i++)
		root_fds[i] = -1;
	r = sweep_prepare(&s);
	if (r < 0)
		goto out;
	if (p->rec->n_pending) {
		s.seen_pending = calloc(p->rec->n_pending, sizeof(*s.seen_pending));
		if (!s.seen_pending) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = walk_mounts(&s, root_fds, &cap);
	if (r < 0)
		goto out;
#ifdef TMPFS_SWEEP_TEST_HOOKS
	test_pause();
#endif
	if (cap)
		settle_capped(&s, cap);
	if (any_pending(&s))
		check_in_use(&s, root_fds);
	if (any_pending(&s))
		remove_with_intents(&s, root_fds);
	if (s.error < 0) {
		r = s.error;
		goto out;
	}
	r = finish_pending(&s, cap != NULL);
	if (r < 0)
		goto out;
	audit_all(&s);
	if (p->resume)
		audit_interrupted(&s);
	if (p->statedir && !p->dry_run)
		journal_remove(p->statedir, p->rec->id);
	r = 0;
out:
	if (res->keep_record && p->other_sessions == TRI_YES)
		add_reason(res, "deferred: another session of the user");
	else if (res->keep_record && p->other_sessions == TRI_CANNOT_TELL)
		add_reason(res, "deferred: cannot tell whether another session of the user is "
				"alive");
	audit_summary(&s, r);
	for (size_t i = 0; i < RECORD_MAX_MOUNTS; i++)
		safe_close(root_fds[i]);
	pages_ctx_free(s.pc);
	lease_view_done(&s.leases);
	free(s.inos);
	free(s.seen_pending);
	strv_free(s.audited);
	cands_done(&s);
	if (r < 0) {
		free(res->pending);
		res->pending = NULL;
		res->n_pending = 0;
	}
	return r;
}

int record_is_alive(const struct session_record *rec)
{
	char boot[RECORD_BOOT_ID_LEN + 1];
	uint64_t start;
	int r;

	/* Boot id unreadable: the pid and its start time still tell. */
	if (proc_boot_id(boot) == 0 && !streq(boot, rec->boot_id))
		return 0;
	if (rec->pid <= 0)
		return 0;
	if (kill(rec->pid, 0) < 0 && errno == ESRCH)
		return 0;
	r = proc_pid_starttime(rec->pid, &start);
	if (r < 0) {
		/* Exited since the kill(), or /proc does not show it (hidden, not mounted):
		 * only the first is an answer. */
		if (kill(rec->pid, 0) < 0 && errno == ESRCH)
			return 0;
		return r;
	}
	return start == rec->pid_start;
}

/* Another session of the user under logind, not ours and not closing: 1, 0, or -errno
 * when logind cannot say. Without logind: 0. */
static int logind_other_sessions(const struct session_record *rec)
{
	_cleanup_free_ char **sessions = NULL;
	_cleanup_free_ char *ours = NULL;
	int n, other = 0;

	if (sd_booted() <= 0)
		return 0;
	/* Our own session is the one of the process that opened it, and is closing now. */
	if (rec->pid > 0)
		sd_pid_get_session(rec->pid, &ours);
	n = sd_uid_get_sessions(rec->uid, 0, &sessions);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *state = NULL;
		int r;

		if (other <= 0 && !streq_ptr(sessions[i], ours)) {
			r = sd_session_get_state(sessions[i], &state);
			if (r >= 0 && !streq(state, "closing"))
				other = 1;
			else if (r < 0 && r != -ENXIO && r != -ENOENT)
				other = r; /* not gone, and no answer */
		}
		free(sessions[i]);
	}
	return other;
}

/* A record that cannot be read may be anyone's: it counts as a live session of the user
 * unless it is from an earlier boot or the process named in its id is gone. */
static int unreadable_record_alive(const char *statedir, const char *id, int err)
{
	long pid = strtol(id, NULL, 10);

	if (record_before_boot(statedir, id) == 1)
		return 0;
	if (pid > 0 && pid <= INT32_MAX && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 0;
	return err;
}

int user_has_other_sessions(const char *statedir, const struct session_record *rec)
{
	char **ids = NULL;
	size_t n = 0;
	int r, other;

	other = logind_other_sessions(rec);
	if (other > 0)
		return 1;
	r = record_list(statedir, &ids, &n);
	if (r == -ENOENT)
		return other; /* no state dir: no records */
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && other <= 0; i++) {
		struct session_record o = {0};
		int alive;

		if (streq(ids[i], rec->id))
			continue;
		r = record_read(statedir, ids[i], &o);
		if (r == -ENOENT)
			continue; /* removed since the listing: closed */
		if (r < 0)
			alive = unreadable_record_alive(statedir, ids[i], r);
		else if (o.uid != rec->uid || o.state == RECORD_DEFERRED)
			alive = 0;
		else
			alive = record_is_alive(&o);
		if (alive > 0 || (alive < 0 && other == 0))
			other = alive;
		record_done(&o);
	}
	record_ids_free(ids);
	return other;
}
