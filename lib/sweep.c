/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sweep.h"
#include "cgroup.h"
#include "decide.h"
#include "dl.h"
#include "inuse.h"
#include "intents.h"
#include "leftover.h"
#include "mounts.h"
#include "remove.h"
#include "scan.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* The directories on the way to candidates (remove.h's parent table): siblings share one
 * entry and a full path is built only to write a line, so that what a sweep holds per file
 * is its name, not its path (32 KB paths x 8,000 files would be half a gigabyte). */
struct cand {
	char *name;
	size_t dir;   /* its directory: index into s->dirs, or REMOVE_ROOT (the mount's root) */
	size_t mount; /* index into the session's mounts */
	dev_t dev, parent_dev;
	ino_t ino, parent_ino;
	uint64_t seq; /* its intent in the journal */
	struct remove_handle handle; /* taken when it is to go (len 0: none) */
	struct decide_file f;
	struct decide_verdict v;
	struct decide_out out;
	bool quiet; /* decided again the same way as last time: no second line */
};

/* A file's identity, for "did this walk see it". */
struct ident {
	dev_t dev;
	ino_t ino;
	uint64_t btime;
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
	bool pc_later;        /* a shared walk's member: its own scanner is made for its
			       * leftovers only (sweep_share_pages) */
	dev_t devs[RECORD_MAX_MOUNTS];
	struct lease_view leases;
	struct cand *c;
	size_t n, cap;
	struct remove_dir *dirs;
	size_t n_dirs, cap_dirs;
	size_t *chain; /* the table entries of the last parent, root first */
	size_t chain_len, chain_cap;
	struct { /* the last parent looked up, for its siblings */
		bool valid;
		dev_t dev;
		ino_t ino;
		size_t len, dir;
	} last;
	uint64_t mem; /* bytes held for the candidates and the table (SWEEP_MAX_MEMORY) */
	bool mem_capped;
	size_t mount; /* the mount being walked */
	size_t root_len;
	struct audit_seen seen; /* resume: the lines the audit log already has */
	struct intents_writer *jw;
	struct ident *idents; /* resume: what this walk saw, sorted */
	size_t n_idents;
	char *path; /* a path being built for a line */
	size_t path_cap;
	char *dpath; /* a directory's path being built for the in-use probe */
	size_t dpath_cap;
	uint64_t lines; /* file lines of this session written, by this run or an earlier one */
	bool *seen_pending; /* rec->pending[i] was found by the walk */
	int root_fds[RECORD_MAX_MOUNTS];
	const char *walk_cap; /* the cap the last capped walk hit, or NULL */
	bool cut;        /* a shared walk stopped deciding for this session (its deadline) */
	bool checked;    /* sweep_check ran */
	bool removal_started; /* sweep_removal_start ran: a batch removes its files */
	size_t left_to_others; /* candidates left to a session before it in a batch (sweep_leave) */
	const struct inuse *shared_locks; /* sweep_check's: the batch's lock table */
	int shared_locks_err;             /* ... or why it could not be read (-errno) */
	bool use_shared_locks;
	int error;
};

static bool already_audited(const struct sweep *s, const char *path, size_t len)
{
	return s->seen.n && audit_seen_has(&s->seen, path, len);
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
	for (size_t i = 0; i < s->n; i++)
		free(s->c[i].name);
	free(s->c);
	for (size_t i = 0; i < s->n_dirs; i++)
		free((char *)s->dirs[i].name);
	free(s->dirs);
	free(s->chain);
	free(s->path);
	free(s->dpath);
	free(s->idents);
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

/* The watched root's path without trailing slashes, and its length. */
static const char *mount_path(const struct sweep *s, size_t m, size_t *len)
{
	const char *p = s->rec->mounts[m].path;
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		n--;
	*len = n;
	return p;
}

/* The full path of c, for a line (valid until the next call). */
static const char *cand_path(struct sweep *s, const struct cand *c, size_t *ret_len)
{
	size_t ml, nl = strlen(c->name), len, at;
	const char *mp = mount_path(s, c->mount, &ml);

	len = ml + 1 + nl;
	for (size_t d = c->dir; d != REMOVE_ROOT; d = s->dirs[d].up)
		len += strlen(s->dirs[d].name) + 1;
	if (s->path_cap < len + 1) {
		char *p = realloc(s->path, len + 1);

		if (!p)
			return NULL;
		s->path = p;
		s->path_cap = len + 1;
	}
	/* Laid from the end backwards. */
	at = len;
	s->path[at] = '\0';
	at -= nl;
	memcpy(s->path + at, c->name, nl);
	for (size_t d = c->dir; d != REMOVE_ROOT; d = s->dirs[d].up) {
		size_t dl = strlen(s->dirs[d].name);

		s->path[--at] = '/';
		at -= dl;
		memcpy(s->path + at, s->dirs[d].name, dl);
	}
	s->path[--at] = '/';
	memcpy(s->path, mp, ml);
	*ret_len = len;
	return s->path;
}

/* The path of directory d relative to the mount's root ("." for REMOVE_ROOT), for the
 * in-use probe (valid until the next call). */
static const char *dir_rel_path(struct sweep *s, size_t d)
{
	size_t len = 0, at;

	if (d == REMOVE_ROOT)
		return ".";
	for (size_t i = d; i != REMOVE_ROOT; i = s->dirs[i].up)
		len += strlen(s->dirs[i].name) + 1;
	if (s->dpath_cap < len) {
		char *p = realloc(s->dpath, len);

		if (!p)
			return NULL;
		s->dpath = p;
		s->dpath_cap = len;
	}
	at = len - 1;
	s->dpath[at] = '\0';
	for (size_t i = d; i != REMOVE_ROOT; i = s->dirs[i].up) {
		size_t dl = strlen(s->dirs[i].name);

		at -= dl;
		memcpy(s->dpath + at, s->dirs[i].name, dl);
		if (at)
			s->dpath[--at] = '/';
	}
	return s->dpath;
}

/* Count bytes against the memory budget: a cap, like MaxEntries. */
static bool over_budget(struct sweep *s, size_t add)
{
	uint64_t max = SWEEP_MAX_MEMORY;

#ifdef TMPFS_SWEEP_TEST_HOOKS
	/* TEST HOOK: TMPFS_SWEEP_TEST_MAX_MEMORY=bytes: a smaller budget. */
	if (getenv("TMPFS_SWEEP_TEST_MAX_MEMORY"))
		max = strtoull(getenv("TMPFS_SWEEP_TEST_MAX_MEMORY"), NULL, 10);
#endif
	s->mem += add;
	if (s->mem > max)
		s->mem_capped = true;
	return s->mem_capped;
}

/* The table entry of w's directory (REMOVE_ROOT for the mount's root), made with its
 * ancestors when missing. Entries are matched by name along the chain of the last
 * parent: the walk is depth first, so a directory's entries come together. */
static int dir_of(struct sweep *s, const struct walk_entry *w, dev_t pdev, ino_t pino,
		  size_t *ret)
{
	const char *rel = w->path + s->root_len + 1, *p, *end;
	size_t plen, nl = strlen(w->name), depth = 0;

	if (w->path_len < s->root_len + 1 + nl)
		return -EINVAL;
	plen = w->path_len - s->root_len - 1 - nl;
	plen = plen ? plen - 1 : 0; /* without the '/' before the name */
	if (plen == 0) {
		*ret = REMOVE_ROOT;
		return 0;
	}
	if (s->last.valid && s->last.dev == pdev && s->last.ino == pino && s->last.len == plen) {
		*ret = s->last.dir;
		return 0;
	}
	end = rel + plen;
	for (p = rel; p < end; depth++) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t cl = slash ? (size_t)(slash - p) : (size_t)(end - p);

		if (depth < s->chain_len) {
			const char *have = s->dirs[s->chain[depth]].name;

			if (strlen(have) == cl && memcmp(have, p, cl) == 0)
				goto next;
			s->chain_len = depth; /* diverged: the rest is new */
		}
		if (s->chain_len == s->chain_cap) {
			size_t nc = s->chain_cap ? s->chain_cap * 2 : 64;
			size_t *v = reallocarray(s->chain, nc, sizeof(*v));

			if (!v)
				return -ENOMEM;
			over_budget(s, (nc - s->chain_cap) * sizeof(*v));
			s->chain = v;
			s->chain_cap = nc;
		}
		if (s->n_dirs == s->cap_dirs) {
			size_t nc = s->cap_dirs ? s->cap_dirs * 2 : 64;
			struct remove_dir *v = reallocarray(s->dirs, nc, sizeof(*v));

			if (!v)
				return -ENOMEM;
			over_budget(s, (nc - s->cap_dirs) * sizeof(*v));
			s->dirs = v;
			s->cap_dirs = nc;
		}
		s->dirs[s->n_dirs] = (struct remove_dir){
			.up = depth ? s->chain[depth - 1] : REMOVE_ROOT,
			.name = strndup(p, cl),
		};
		if (!s->dirs[s->n_dirs].name)
			return -ENOMEM;
		over_budget(s, cl + 1);
		s->chain[s->chain_len++] = s->n_dirs++;
	next:
		p += cl + 1;
	}
	s->chain_len = depth;
	s->last.valid = true;
	s->last.dev = pdev;
	s->last.ino = pino;
	s->last.len = plen;
	s->last.dir = s->chain[depth - 1];
	*ret = s->last.dir;
	return 0;
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
	struct stat pst;
	struct cand *c;
	size_t dir;
	int r;

	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		c = reallocarray(s->c, nc, sizeof(*c));
		if (!c)
			return -ENOMEM;
		over_budget(s, (nc - s->cap) * sizeof(*c));
		s->c = c;
		s->cap = nc;
	}
	if (fstat(w->dirfd, &pst) < 0)
		return negative_errno();
	r = dir_of(s, w, pst.st_dev, pst.st_ino, &dir);
	if (r < 0)
		return r;
	c = &s->c[s->n];
	*c = (struct cand){
		.dir = dir,
		.mount = s->mount,
		.dev = makedev(w->stx->stx_dev_major, w->stx->stx_dev_minor),
		.ino = w->stx->stx_ino,
		.parent_dev = pst.st_dev,
		.parent_ino = pst.st_ino,
		.f = in->file,
		.v = in->verdict,
		.out = *out,
	};
	c->name = strdup(w->name);
	if (!c->name)
		return -ENOMEM;
	s->n++;
	over_budget(s, strlen(w->name) + 1);
	/* To tell later whether it still exists, whatever its name has become (intents.h). */
	if (pending(c))
		(void)remove_handle_get(w->dirfd, w->name, c->dev, c->ino, &c->handle);
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
	in.verdict.action = policy_decide(s->p->policy, s->p->scope, w->path, s->rec->user,
					  s->rec->uid, mask, in.file.size, S_ISDIR(in.file.type),
					  &in.verdict.rule);
	if (!decide(&in, &out))
		return WALK_CONTINUE;
	r = add_cand(s, e, &in, &out);
	if (r < 0) {
		s->error = r;
		return WALK_STOP;
	}
	return s->mem_capped ? WALK_STOP : WALK_CONTINUE;
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
	const struct inuse *table = NULL;
	bool read = false;
	int lr = 0;

	/* A batch's first look: the table the batch read once, just before its probes. */
	if (!again && s->use_shared_locks) {
		table = s->shared_locks;
		lr = s->shared_locks_err;
		read = true;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct cand *c = &s->c[i];
		struct inuse_id pid_, id = {.dev = c->dev, .ino = c->ino};
		enum inuse_reason why = INUSE_NONE;
		const char *parent;
		int r;

		if (!pending(c) || c->f.type != S_IFREG || (again && use[i].state == 0))
			continue;
		if (!read) {
			/* Read now, not at the walk: a lease taken since would be broken. */
			lr = lock_table(s, root_fds, &locks);
			table = locks;
			read = true;
		}
		if (!table) {
			use[i] = (struct use){.state = lr, .cannot = "/proc/locks"};
			continue;
		}
		pid_ = (struct inuse_id){.dev = c->parent_dev, .ino = c->parent_ino};
		parent = dir_rel_path(s, c->dir);
		r = parent ? inuse_probe_file(root_fds[c->mount], parent, c->name, &pid_, &id,
					      table, &why)
			   : -ENOMEM;
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
 * before the audit line still audits it (see intents.h). The journal stays open for the
 * remover's results. */
static int put_intents(struct sweep *s)
{
	struct intents_writer *w;
	uint64_t seq = 0;
	char rule[256];
	int r;

	if (!s->p->statedir)
		return 0;
	r = intents_begin(s->p->statedir, s->rec->id, &w);
	if (r < 0)
		return r;
	for (size_t m = 0; m < s->rec->n_mounts; m++) {
		size_t len;
		const char *mp = mount_path(s, m, &len);
		_cleanup_free_ char *path = strndup(mp, len);

		if (!path) {
			intents_close(w);
			return -ENOMEM;
		}
		intents_add_mount(w, m, s->rec->mounts[m].dev, path);
	}
	for (size_t d = 0; d < s->n_dirs; d++)
		intents_add_dir(w, d, s->dirs[d].up, s->dirs[d].name);
	for (size_t i = 0; i < s->n; i++) {
		struct cand *c = &s->c[i];

		if (!pending(c))
			continue;
		c->seq = seq++;
		intents_add(w, &(struct intent){
			.seq = c->seq, .mount = c->mount, .dir = c->dir, .dev = c->dev,
			.ino = c->ino, .size = c->f.size, .charged = c->f.charged,
			.btime_ns = c->f.btime_ns, .uid = c->f.uid,
			.class = policy_class_name(c->out.class),
			.action = policy_action_name(c->out.action),
			.rule = rule_text(c->v.rule, rule, sizeof(rule)), .name = c->name,
			.handle = c->handle,
		});
	}
	r = intents_commit(w);
	if (r < 0) {
		intents_close(w);
		return r;
	}
	s->jw = w;
	return 0;
}

struct batch {
	struct sweep *s;
	const size_t *idx; /* item -> candidate */
};

/* Candidate i's result into the journal as it arrives: a sweep killed now still knows it. */
static void intent_result(struct sweep *s, size_t i, const struct remove_result *r)
{
	const struct cand *c = &s->c[i];

#ifdef TMPFS_SWEEP_TEST_HOOKS
	{
		/* TEST HOOK: TMPFS_SWEEP_TEST_KILL_AT_RESULT=k: SIGKILL ourselves when the k-th
		 * answer (from 1) arrives, before it is journaled. */
		static unsigned long n;
		const char *at = getenv("TMPFS_SWEEP_TEST_KILL_AT_RESULT");

		if (at && ++n == strtoul(at, NULL, 10))
			raise(SIGKILL);
	}
#endif
	if (s->jw && intents_result(s->jw, c->seq, r) < 0)
		s->res->intents_lost = true;
}

static void on_result(size_t k, const struct remove_result *r, void *userdata)
{
	const struct batch *b = userdata;

	intent_result(b->s, b->idx[k], r);
}

static void say_abandoned(struct sweep *s)
{
	add_reason(s->res, "the remover did not end when killed (asleep in the kernel: on "
			   "a FUSE mount?) and was left behind");
}

void sweep_groups_memo_done(struct sweep_groups_memo *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->v);
	*m = (struct sweep_groups_memo){0};
}

/* pw's groups from memo when they are the same user's, else looked up (and kept there). */
static int user_groups_memo(const struct user_info *pw, struct sweep_groups_memo *memo,
			    gid_t **groups)
{
	int ng;

	if (memo && memo->n && memo->uid == pw->uid && memo->gid == pw->gid &&
	    streq(memo->name, pw->name)) {
		*groups = malloc(memo->n * sizeof(gid_t));
		if (!*groups)
			return -ENOMEM;
		memcpy(*groups, memo->v, memo->n * sizeof(gid_t));
		return (int)memo->n;
	}
	ng = user_groups(pw->name, pw->gid, groups);
	if (memo && ng > 0) {
		sweep_groups_memo_done(memo);
		memo->name = strdup(pw->name);
		memo->v = malloc((size_t)ng * sizeof(gid_t));
		if (memo->name && memo->v) {
			memcpy(memo->v, *groups, (size_t)ng * sizeof(gid_t));
			memo->uid = pw->uid;
			memo->gid = pw->gid;
			memo->n = (size_t)ng;
		} else {
			sweep_groups_memo_done(memo);
		}
	}
	return ng;
}

/* The credentials the remover takes for this session; false: there are none (the user is
 * gone), and every pending file says so. */
static bool removal_creds(struct sweep *s, struct sweep_groups_memo *memo,
			  struct remove_creds *creds, gid_t **groups)
{
	const struct user_info *pw = s->p->user;
	int remove_as = s->p->scope ? s->p->scope->remove_as : s->p->policy->remove_as;
	int ng;

	*creds = (struct remove_creds){.as_root = remove_as == POLICY_REMOVE_AS_ROOT};
	*groups = NULL;
	if (creds->as_root)
		return true;
	if (!pw || pw->uid != s->rec->uid || !streq(pw->name, s->rec->user)) {
		for (size_t i = 0; i < s->n; i++)
			decide_not_removed(&s->c[i].out, STOP_NO_USER);
		return false;
	}
	creds->uid = pw->uid;
	creds->gid = pw->gid;
	ng = user_groups_memo(pw, memo, groups);
	if (ng > 0) {
		creds->groups = *groups;
		creds->ngroups = (size_t)ng;
	}
	return true;
}

/* The pending candidates of mount m as the remover's items (NULL items: count only);
 * idx[k] is the candidate of items[k]. */
static size_t removal_items(const struct sweep *s, size_t m, struct remove_item *items,
			    size_t *idx)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct cand *c = &s->c[i];

		if (!pending(c) || c->mount != m)
			continue;
		if (items) {
			items[n] = (struct remove_item){
				.parent = c->dir, .name = c->name,
				.parent_dev = c->parent_dev, .parent_ino = c->parent_ino,
				.dev = c->dev, .ino = c->ino, .type = c->f.type, .uid = c->f.uid,
				.btime_ns = c->f.btime_ns,
				.handle = c->handle.len ? &c->handle : NULL,
			};
			idx[n] = i;
		}
		n++;
	}
	return n;
}

static void removal_results(struct sweep *s, const size_t *idx, const struct remove_result *res,
			    size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct cand *c = &s->c[idx[k]];

		decide_after_remove(&c->out, c->f.type, &res[k]);
	}
}

static void remove_pending(struct sweep *s, const int *root_fds)
{
	struct remove_creds creds;
	_cleanup_free_ gid_t *groups = NULL;
	bool abandoned = false;

	if (!removal_creds(s, NULL, &creds, &groups))
		return;
	for (size_t m = 0; m < s->rec->n_mounts; m++) {
		_cleanup_free_ struct remove_item *items = NULL;
		_cleanup_free_ struct remove_result *results = NULL;
		_cleanup_free_ size_t *idx = NULL;
		struct batch bc = {.s = s, .idx = NULL};
		struct remove_batch b;
		size_t n = removal_items(s, m, NULL, NULL);

		if (n == 0 || root_fds[m] < 0)
			continue;
		items = calloc(n, sizeof(*items));
		results = calloc(n, sizeof(*results));
		idx = calloc(n, sizeof(*idx));
		if (!items || !results || !idx) {
			s->error = -ENOMEM;
			return;
		}
		n = removal_items(s, m, items, idx);
		bc.idx = idx;
		b = (struct remove_batch){
			.root_fd = root_fds[m], .dirs = s->dirs, .n_dirs = s->n_dirs,
			.items = items, .n = n, .creds = &creds, .deadline_ns = s->p->deadline_ns,
			.on_result = on_result, .userdata = &bc,
		};
		remove_batch(&b, results);
		abandoned |= b.abandoned;
		removal_results(s, idx, results, n);
	}
	if (abandoned)
		say_abandoned(s);
}

/* Before removing, say what is about to go (put_intents), then remove it. */
/* Say what is about to go; false: it cannot be said, and nothing goes. */
static bool write_intents(struct sweep *s)
{
	if (put_intents(s) < 0) {
		/* Without the journal a crash could lose a removal's line. */
		for (size_t i = 0; i < s->n; i++)
			decide_not_removed(&s->c[i].out, STOP_NO_JOURNAL);
		return false;
	}
#ifdef TMPFS_SWEEP_TEST_HOOKS
	/* TEST HOOK: TMPFS_SWEEP_TEST_KILL_AT_INTENTS: SIGKILL ourselves once the intents are
	 * journaled, before anything is removed. */
	if (getenv("TMPFS_SWEEP_TEST_KILL_AT_INTENTS"))
		raise(SIGKILL);
#endif
	return true;
}

static void remove_with_intents(struct sweep *s, const int *root_fds)
{
	if (!write_intents(s))
		return;
	remove_pending(s, root_fds);
	if (s->res->intents_lost)
		add_reason(s->res, "some results could not be journaled");
}

/* One file line, within AUDIT_MAX_FILE_LINES a session; beyond, only counted. */
static void write_line(struct sweep *s, const struct audit_file *f)
{
	if (s->lines >= AUDIT_MAX_FILE_LINES) {
		s->res->unlisted++;
		return;
	}
	s->lines++;
	if (s->p->audit && audit_file(s->p->audit, f) < 0)
		s->res->errors++;
}

static void count(struct sweep_result *res, enum file_result r, uint64_t size, uint64_t charged)
{
	res->files++;
	res->bytes += size;
	res->charged_bytes += charged;
	if (r < RESULT_PENDING)
		res->by_result[r]++;
	switch (r) {
	case RESULT_REMOVED:
		res->removed++;
		res->removed_bytes += size;
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
	if (file_result_keeps_record(r))
		res->keep_record = true;
}

/* A file of the user's still there after the sweep: counted, and the first few kept for the
 * user's next login (notify.h). */
static void note_left(struct sweep *s, const struct cand *c)
{
	struct sweep_result *res = s->res;
	struct sweep_left *l = &res->left_v[res->n_left_v];
	const char *path;
	size_t len;

	res->left++;
	res->left_bytes += c->f.size;
	if (res->n_left_v == ARRAY_SIZE(res->left_v))
		return;
	path = cand_path(s, c, &len);
	if (!path)
		return;
	res->n_left_v++;
	if (len < sizeof(l->path)) {
		memcpy(l->path, path, len + 1);
	} else {
		memcpy(l->path, path, sizeof(l->path) - 4);
		memcpy(l->path + sizeof(l->path) - 4, "...", 4);
	}
	l->result = c->out.result;
	snprintf(l->detail, sizeof(l->detail), "%s", c->out.detail);
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

		/* Still there, said to the user at the next login; only the user's own files
		 * are named to the user (no other name leaks). A file gc decided the same way
		 * again (quiet: no second line) is still there too. */
		if (c->out.result != RESULT_REMOVED && c->f.uid == s->rec->uid)
			note_left(s, c);
		if (c->quiet)
			continue;
		struct audit_file f = {
			.session = s->rec->id, .size = c->f.size, .charged_bytes = c->f.charged,
			.uid = c->f.uid, .btime_ns = c->f.btime_ns,
			.class = policy_class_name(c->out.class),
			.action = policy_action_name(c->out.action), .result = c->out.result,
			.rule = rule_text(c->v.rule, rbuf, sizeof(rbuf)),
			.detail = c->out.detail[0] ? c->out.detail : NULL,
		};

		count(res, c->out.result, c->f.size, c->f.charged);
#ifdef TMPFS_SWEEP_TEST_HOOKS
		if (s->p->kill_after >= 0 && (long)res->files - 1 >= s->p->kill_after)
			raise(SIGKILL); /* crash-safety tests: die before this file's line */
#endif
		f.path = cand_path(s, c, &f.path_len);
		if (!f.path) {
			res->errors++;
			continue;
		}
		write_line(s, &f);
	}
}

static void set_detail(struct decide_out *o, enum file_result r, const char *detail)
{
	o->result = r;
	snprintf(o->detail, sizeof(o->detail), "%s", detail);
}

static int cmp_ident(const void *a, const void *b)
{
	const struct ident *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->btime < y->btime ? -1 : x->btime > y->btime;
}

struct replay {
	struct sweep *s;
	const int *root_fds;
};

/* Resuming: an intent of the interrupted run that this walk did not see and that has no
 * line yet. It was removed when its result says so or its handle finds no inode; it was
 * not when the inode still exists (moved out of the walk's reach, into a private
 * directory say): "the walk did not see it" alone never means removed. */
static int replay_one(const struct intent *e, void *userdata)
{
	const struct replay *rp = userdata;
	struct sweep *s = rp->s;
	struct ident key = {e->dev, e->ino, e->btime_ns};
	struct decide_out o = {.result = RESULT_PENDING};
	int gone = -ENODATA;

	if ((s->n_idents && bsearch(&key, s->idents, s->n_idents, sizeof(key), cmp_ident)) ||
	    already_audited(s, e->path, e->path_len))
		return 0;
	if (e->has_result && e->result.status == REMOVE_REMOVED)
		set_detail(&o, RESULT_REMOVED, "removed by an interrupted sweep");
	else {
		if (e->mount < s->rec->n_mounts && e->mount < RECORD_MAX_MOUNTS &&
		    rp->root_fds[e->mount] >= 0 && s->rec->mounts[e->mount].dev == e->dev)
			gone = remove_inode_gone(rp->root_fds[e->mount], &e->handle);
		if (gone == 1)
			set_detail(&o, RESULT_REMOVED,
				   "removed by an interrupted sweep (its inode is gone)");
		else if (gone == 0 && e->has_result)
			decide_after_remove(&o, 0, &e->result);
		else if (gone == 0)
			set_detail(&o, RESULT_SKIPPED_CHANGED,
				   "not removed by the interrupted sweep: it still exists, out of "
				   "the walk's reach");
		else {
			o.result = RESULT_ERROR;
			snprintf(o.detail, sizeof(o.detail),
				 "cannot tell whether the interrupted sweep removed it (%s)",
				 strerror(-gone));
		}
	}
	count(s->res, o.result, e->size, e->charged);
	write_line(s, &(struct audit_file){
		.session = s->rec->id, .path = e->path, .path_len = e->path_len,
		.size = e->size, .charged_bytes = e->charged, .uid = e->uid,
		.btime_ns = e->btime_ns, .class = e->class, .action = e->action,
		.result = o.result, .rule = e->rule, .detail = o.detail[0] ? o.detail : NULL,
	});
	return 0;
}

/* The interrupted run's journal, replayed before this run writes its own over it. */
static int replay_interrupted(struct sweep *s, const int *root_fds)
{
	struct replay rp = {.s = s, .root_fds = root_fds};

	if (!s->p->statedir)
		return 0;
	s->idents = calloc(s->n ? s->n : 1, sizeof(*s->idents));
	if (!s->idents)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		s->idents[i] = (struct ident){s->c[i].dev, s->c[i].ino, s->c[i].f.btime_ns};
	s->n_idents = s->n;
	qsort(s->idents, s->n_idents, sizeof(*s->idents), cmp_ident);
	return intents_replay(s->p->statedir, s->rec->id, replay_one, &rp);
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
	const struct user_info *pw = p->user;
	int r;

	s->drec = (struct decide_record){
		.uid = rec->uid,
		.start_ns = rec->start_ns,
		.end_ns = p->end_ns,
	};
	if (!pw || pw->uid != rec->uid || !streq(pw->name, rec->user))
		s->drec.exempt_why = "the session's user no longer exists";
	else
		s->drec.exempt_why = policy_exempt(p->policy, p->scope, rec->user, rec->uid,
						   pw->gid);
	s->drec.exempt = s->drec.exempt_why != NULL;
	s->mode = (struct decide_mode){
		.dry_run = p->dry_run,
		.report_only = p->policy->report_only || (p->scope && p->scope->unknown),
		.final = p->final,
		.other_sessions = p->other_sessions,
	};
	if (p->scope && p->scope->unknown)
		add_reason(s->res, "report-only: %s", p->scope->unknown);
	if (p->resume) {
		r = audit_log_seen(p->policy->audit_log, rec->id, &s->seen);
		if (r == -ENOMEM)
			return r;
		/* Unreadable (not only missing): every line counts as unwritten, and a file
		 * may get a second one; better than none. */
		if (r < 0 && r != -ENOENT)
			add_reason(s->res, "the audit log could not be read to resume (%s): lines "
					   "may repeat", strerror(-r));
		s->lines = s->seen.n;
	}
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

/* Open recorded mount m, if it is still the one the session saw (same device); else say
 * why in the session's reason. Returns the root fd (the sweep's) or -errno. */
static int open_mount(struct sweep *s, size_t m)
{
	const struct record_mount *rm = &s->rec->mounts[m];
	struct stat rst;
	int r;

	s->root_fds[m] = safe_close(s->root_fds[m]);
	r = mounts_open_root(rm->path, &s->root_fds[m]);
	if (r < 0) {
		add_reason(s->res, "watched %s not usable: %s", rm->path, strerror(-r));
		return r;
	}
	if (fstat(s->root_fds[m], &rst) < 0 || rst.st_dev != rm->dev) {
		add_reason(s->res, "watched %s is another mount now", rm->path);
		s->root_fds[m] = safe_close(s->root_fds[m]);
		return -ESTALE;
	}
	return s->root_fds[m];
}

static void set_mount(struct sweep *s, size_t m)
{
	const struct record_mount *rm = &s->rec->mounts[m];

	s->mount = m;
	s->root_len = strlen(rm->path);
	while (s->root_len > 1 && rm->path[s->root_len - 1] == '/')
		s->root_len--;
	s->chain_len = 0;
	s->last.valid = false;
}

/* A walk of mount m ended (r: scan_mount's return). */
static void walked(struct sweep *s, int r, const struct walk_stats *st)
{
	if (s->mem_capped) {
		/* What the sweep may hold is spent: nothing more is walked. */
		s->res->incomplete = true;
		s->walk_cap = "memory";
	} else if (r < 0 || st->incomplete) {
		s->res->incomplete = true;
		s->walk_cap = r < 0 ? "walk error" : st->incomplete_reason;
	}
}

/* Walk every recorded mount that is still the one the session saw, deciding each entry
 * (on_entry). */
static int walk_mounts(struct sweep *s)
{
	const struct session_record *rec = s->rec;

	for (size_t m = 0; m < rec->n_mounts && m < RECORD_MAX_MOUNTS; m++) {
		struct walk_opts wo = {
			.max_depth = (unsigned)s->p->policy->max_depth, /* <= WALK_MAX_DEPTH */
			.max_entries = s->p->policy->max_entries,
			.deadline_ns = s->p->deadline_ns, .flags = WALK_POST_ORDER,
		};
		struct walk_stats st;
		int r;

		if (open_mount(s, m) < 0)
			continue;
		set_mount(s, m);
		r = scan_mount(s->pc, s->root_fds[m], rec->mounts[m].path, &wo, &s->leases,
			       worth_scanning, on_entry, s, &st);
		if (s->error < 0)
			return s->error;
		walked(s, r, &st);
		if (s->mem_capped)
			break; /* what the sweep may hold is spent: nothing more is walked */
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

/* What the session leaves besides files (leftover.h): audited on its first sweep only (a
 * deferred or resumed record had its lines). */
static int sweep_leftovers(struct sweep *s)
{
	const struct sweep_params *p = s->p;
	struct sweep_result *res = s->res;
	struct leftover_result lr;
	struct leftover_params lp = {
		.rec = s->rec, .audit = p->audit, .pc = s->pc, .inos = s->inos,
		.n_inos = s->n_inos, .end_ns = p->end_ns, .deadline_ns = p->deadline_ns,
		.remove_sysv = p->policy->remove_sysv,
		.no_removal = p->dry_run ? "dry run" : p->policy->report_only ? "report-only"
						     : s->drec.exempt ? "exempt user" : NULL,
	};
	int r;

	if (p->again || p->resume)
		return 0;
	if (!s->pc && s->pc_later) {
		r = pages_ctx_new(&s->pc);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			add_reason(res, "no page attribution for shared memory besides files (%s)",
				   strerror(-r));
			s->pc = NULL;
		}
		lp.pc = s->pc;
	}
	r = leftovers_sweep(&lp, &lr);
	if (r < 0)
		return r;
	res->objects_seen = true;
	res->objects = lr.objects;
	res->objects_charged_bytes = lr.charged_bytes;
	res->objects_removed = lr.removed;
	res->errors += lr.errors;
	if (lr.incomplete)
		add_reason(res, "shared memory besides files: not all looked at");
	return 0;
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
		.unlisted = res->unlisted,
		.objects_seen = res->objects_seen, .objects = res->objects,
		.objects_charged_bytes = res->objects_charged_bytes,
		.objects_removed = res->objects_removed,
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

/* Everything before the walk (sweep.h: the phases). */
int sweep_start(const struct sweep_params *p, struct sweep_result *res, struct sweep **ret)
{
	struct sweep *s;
	int r;

	assert(p);
	assert(res);
	assert(ret);

	s = calloc(1, sizeof(*s));
	*res = (struct sweep_result){0};
	*ret = s;
	if (!s)
		return -ENOMEM;
	*s = (struct sweep){.p = p, .rec = p->rec, .res = res};
	for (size_t i = 0; i < RECORD_MAX_MOUNTS; i++)
		s->root_fds[i] = -1;
	r = sweep_prepare(s);
	if (r < 0)
		return r;
	if (p->rec->n_pending) {
		s->seen_pending = calloc(p->rec->n_pending, sizeof(*s->seen_pending));
		if (!s->seen_pending)
			return -ENOMEM;
	}
	return 0;
}

void sweep_check(struct sweep *s, const struct inuse *locks, int locks_err, bool shared)
{
	if (!s || s->checked || s->error < 0)
		return;
	s->checked = true;
#ifdef TMPFS_SWEEP_TEST_HOOKS
	test_pause();
#endif
	if (s->walk_cap)
		settle_capped(s, s->walk_cap);
	s->shared_locks = locks;
	s->shared_locks_err = locks_err;
	s->use_shared_locks = shared;
	if (any_pending(s))
		check_in_use(s, s->root_fds);
	s->use_shared_locks = false;
	s->shared_locks = NULL;
	if (s->p->resume && !s->p->dry_run && s->error >= 0) {
		/* What the interrupted run did, before this run's journal replaces its. */
		int r = replay_interrupted(s, s->root_fds);

		if (r == -ENOMEM)
			s->error = r;
		else if (r == -EPROTO || r == -EBADMSG) {
			/* Of another version (written before an upgrade), or damaged: no later
			 * run will read it either, and keeping the record for one kept it
			 * closing for ever. What the walk found now was decided now, every gate
			 * and the in-use check again, and the remover checks each file again;
			 * what the interrupted sweep removed without a line cannot be told. */
			s->res->incomplete = true;
			add_reason(s->res, "the interrupted sweep's journal cannot be read (%s): "
					   "files it removed without a line cannot be audited; "
					   "the files found now were decided again, and the journal "
					   "is dropped", r == -EPROTO ? "another version" : "damaged");
		} else if (r < 0 && r != -ENOENT) {
			for (size_t i = 0; i < s->n; i++)
				decide_not_removed(&s->c[i].out, STOP_OLD_JOURNAL);
			s->res->keep_closing = true;
			add_reason(s->res, "the interrupted sweep's journal cannot be read (%s): "
					   "nothing removed, record kept", strerror(-r));
		}
	}
}

bool sweep_removal_start(struct sweep *s, struct sweep_groups_memo *memo,
			 struct remove_creds *creds, gid_t **groups)
{
	assert(creds);
	assert(groups);

	*groups = NULL;
	if (!s || s->error < 0 || s->removal_started || !any_pending(s))
		return false;
	s->removal_started = true;
	if (!write_intents(s))
		return false;
	return removal_creds(s, memo, creds, groups);
}

size_t sweep_removal_items(const struct sweep *s, size_t m, struct remove_item *items,
			   size_t *idx)
{
	assert(s);
	assert(!items || idx);

	if (m >= s->rec->n_mounts || m >= RECORD_MAX_MOUNTS || s->root_fds[m] < 0)
		return 0;
	return removal_items(s, m, items, idx);
}

void sweep_removal_results(struct sweep *s, const size_t *idx, const struct remove_result *res,
			   size_t n)
{
	assert(s);
	assert(n == 0 || (idx && res));

	removal_results(s, idx, res, n);
}

const struct remove_dir *sweep_removal_dirs(const struct sweep *s, size_t *n)
{
	assert(s);
	assert(n);

	*n = s->n_dirs;
	return s->dirs;
}

void sweep_removal_answer(struct sweep *s, size_t i, const struct remove_result *r)
{
	assert(s);
	assert(r);

	intent_result(s, i, r);
}

void sweep_removal_abandoned(struct sweep *s)
{
	assert(s);

	say_abandoned(s);
}

int sweep_root_fd(const struct sweep *s, size_t m)
{
	assert(s);

	return m < s->rec->n_mounts && m < RECORD_MAX_MOUNTS ? s->root_fds[m] : -EBADF;
}

size_t sweep_n_mounts(const struct sweep *s)
{
	assert(s);

	return MIN(s->rec->n_mounts, (size_t)RECORD_MAX_MOUNTS);
}

bool sweep_wants_locks(const struct sweep *s, dev_t *devs, size_t *n)
{
	bool want = false;

	assert(s);
	assert(devs);
	assert(n);

	for (size_t i = 0; i < s->n && !want; i++)
		want = pending(&s->c[i]) && s->c[i].f.type == S_IFREG;
	for (size_t m = 0; want && m < s->rec->n_mounts && m < RECORD_MAX_MOUNTS; m++)
		if (s->root_fds[m] >= 0)
			devs[(*n)++] = s->rec->mounts[m].dev;
	return want;
}

/* Everything after the walk: in-use check, removal, audit, the session-close line; frees
 * s. r: what went wrong before (< 0), or 0. */
int sweep_finish(struct sweep *s, int r)
{
	const struct sweep_params *p;
	struct sweep_result *res;

	if (!s)
		return r < 0 ? r : -ENOMEM;
	p = s->p;
	res = s->res;
	if (r < 0)
		goto out;
	if (!s->checked)
		sweep_check(s, NULL, 0, false);
	if (any_pending(s) && !s->removal_started)
		remove_with_intents(s, s->root_fds);
	for (size_t i = 0; s->removal_started && i < s->n; i++) {
		/* A batch's remover never got to it (no memory to hand it over): not removed. */
		const struct remove_result none = {
			.status = REMOVE_ERROR, .check = REMOVE_CHECK_NOT_RUN, .err = ENOMEM};

		decide_after_remove(&s->c[i].out, s->c[i].f.type, &none);
	}
	if (s->removal_started && res->intents_lost)
		add_reason(res, "some results could not be journaled");
	if (s->error < 0) {
		r = s->error;
		goto out;
	}
	r = finish_pending(s, s->walk_cap != NULL);
	if (r < 0)
		goto out;
	if (s->left_to_others) {
		/* Its walk after theirs would not have found them: their lines are theirs. */
		res->quiet = false;
		add_reason(res, "%zu file%s left to a session swept before it in the same batch, "
			   "which decides and audits %s", s->left_to_others,
			   s->left_to_others == 1 ? "" : "s", s->left_to_others == 1 ? "it" : "them");
	}
	audit_all(s);
	if (res->unlisted)
		add_reason(res, "%" PRIu64 " file lines not written (at most %d a session)",
			   res->unlisted, AUDIT_MAX_FILE_LINES);
	r = sweep_leftovers(s);
	if (r < 0)
		goto out;
	if (p->statedir && !p->dry_run && !res->keep_closing)
		intents_remove(p->statedir, p->rec->id);
	r = 0;
out:
	if (res->keep_record && p->other_sessions == TRI_YES)
		add_reason(res, "deferred: another session of the user");
	else if (res->keep_record && p->other_sessions == TRI_CANNOT_TELL)
		add_reason(res, "deferred: cannot tell whether another session of the user is "
				"alive");
	audit_summary(s, r);
	for (size_t i = 0; i < RECORD_MAX_MOUNTS; i++)
		safe_close(s->root_fds[i]);
	pages_ctx_free(s->pc);
	lease_view_done(&s->leases);
	free(s->inos);
	audit_seen_done(&s->seen);
	intents_close(s->jw);
	free(s->seen_pending);
	cands_done(s);
	free(s);
	if (r < 0) {
		free(res->pending);
		res->pending = NULL;
		res->n_pending = 0;
	}
	return r;
}

int sweep_session(const struct sweep_params *p, struct sweep_result *res)
{
	struct sweep *s;
	int r = sweep_start(p, res, &s);

	assert(p);
	assert(res);

	if (r == 0)
		r = walk_mounts(s);
	return sweep_finish(s, r);
}

/* ---- The hooks of a shared walk (sweep.h, lib/coalesce.c) */

void sweep_share_pages(struct sweep *s)
{
	if (!s || !s->pc)
		return;
	pages_ctx_free(s->pc);
	s->pc = NULL;
	s->pc_later = true;
}

size_t sweep_claims(const struct sweep *s, struct sweep_claim *v)
{
	if (!s || s->error < 0 || s->checked)
		return 0;
	for (size_t i = 0; v && i < s->n; i++)
		v[i] = (struct sweep_claim){
			.dev = s->c[i].dev, .ino = s->c[i].ino, .removes = pending(&s->c[i])};
	return s->n;
}

size_t sweep_leave(struct sweep *s, dev_t dev, ino_t ino)
{
	size_t k = 0, left;

	if (!s || s->checked)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->c[i].dev == dev && s->c[i].ino == ino) {
			free(s->c[i].name);
			continue;
		}
		s->c[k++] = s->c[i];
	}
	left = s->n - k;
	s->n = k;
	s->left_to_others += left;
	return left;
}

int sweep_open_mount(struct sweep *s, size_t m)
{
	assert(s);

	if (m >= s->rec->n_mounts || m >= RECORD_MAX_MOUNTS)
		return -EINVAL;
	return open_mount(s, m);
}

bool sweep_wants_pages(const struct sweep *s, const struct statx *stx)
{
	assert(s);
	assert(stx);

	return worth_scanning(stx, (void *)s);
}

bool sweep_ignores_owned(const struct sweep *s, const struct walk_entry *w)
{
	const struct statx *stx;
	enum policy_action a;

	assert(s);
	assert(w);

	stx = w->stx;
	if (S_ISDIR(stx->stx_mode))
		return true; /* a directory the session did not make: decide_class says 0 */
	a = policy_decide(s->p->policy, s->p->scope, w->path, s->rec->user, s->rec->uid,
			  POLICY_CLASS_OWNED, stx->stx_size, false, NULL);
	return a == POLICY_IGNORE || a == POLICY_KEEP;
}

/* Two scopes that decide alike: the same Match blocks apply (on_entry's verdict), the same
 * criterion could not be told. */
static bool same_scope(const struct policy_scope *a, const struct policy_scope *b)
{
	if (!a || !b)
		return a == b;
	if (a->n != b->n || !streq_ptr(a->unknown, b->unknown))
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->active[i] != b->active[i])
			return false;
	return true;
}

bool sweep_same_view(const struct sweep *a, const struct sweep *b)
{
	assert(a);
	assert(b);

	return a->p->policy == b->p->policy && a->rec->uid == b->rec->uid &&
	       streq(a->rec->user, b->rec->user) && same_scope(a->p->scope, b->p->scope);
}

const uint64_t *sweep_cgroups(const struct sweep *s, size_t *n)
{
	assert(s);
	assert(n);

	*n = s->n_inos;
	return s->inos;
}

int sweep_entry(struct sweep *s, size_t m, const struct scan_entry *e, uint64_t now_ns)
{
	struct scan_entry mine;

	assert(s);
	assert(e);

	mine = *e;
	if (s->cut || s->error < 0 || s->mem_capped)
		return WALK_CONTINUE;
	if (s->p->deadline_ns && now_ns > s->p->deadline_ns) {
		/* Its own time is up: it is told no more entries, as its own walk would have
		 * stopped. */
		s->cut = true;
		s->res->incomplete = true;
		s->walk_cap = "time";
		return WALK_CONTINUE;
	}
	/* Exactly what its own walk would have shown it: pages only where it would have
	 * asked for them. */
	if (e->pages && !worth_scanning(e->w->stx, s)) {
		mine.pages = NULL;
		mine.error = 0;
	}
	if (s->mount != m || !s->root_len)
		set_mount(s, m);
	return on_entry(&mine, s);
}

void sweep_walked(struct sweep *s, int r, const struct walk_stats *st)
{
	assert(s);

	if (!s->cut)
		walked(s, r, st);
}

int sweep_error(const struct sweep *s)
{
	assert(s);

	return s->error;
}

int record_is_alive(const struct session_record *rec)
{
	char boot[RECORD_BOOT_ID_LEN + 1];
	uint64_t start;
	int r;

	assert(rec);

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
	const struct dl_systemd *sd;
	int n, other = 0;

	if (!dl_systemd_booted())
		return 0;
	n = dl_systemd(&sd);
	if (n < 0)
		return n; /* systemd without its library: logind cannot say */
	/* Our own session is the one of the process that opened it, and is closing now. */
	if (rec->pid > 0)
		sd->pid_get_session(rec->pid, &ours);
	n = sd->uid_get_sessions(rec->uid, 0, &sessions);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *state = NULL;
		int r;

		if (other <= 0 && !streq_ptr(sessions[i], ours)) {
			r = sd->session_get_state(sessions[i], &state);
			if (r >= 0 && !streq(state, "closing"))
				other = 1;
			else if (r < 0 && r != -ENXIO && r != -ENOENT)
				other = r; /* not gone, and no answer */
		}
		free(sessions[i]);
	}
	return other;
}

/* Only a session whose close has not begun is open to its user's other sessions: a
 * deferred one is over, and a queued or closing one is logging out (as logind's
 * "closing"), so closes of one user that overlap (a mass logout, swept in one batch) do
 * not defer each other's files. */
static bool record_counts_open(const struct session_record *rec)
{
	return rec->state == RECORD_OPEN;
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

	assert(rec);

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
		else if (o.uid != rec->uid || !record_counts_open(&o))
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

int live_users_snapshot(const char *statedir, struct live_users *ret)
{
	char **ids = NULL;
	size_t n = 0;
	int r;

	assert(ret);

	*ret = (struct live_users){0};
	r = record_list(statedir, &ids, &n);
	if (r == -ENOENT)
		return 0; /* no state dir: no records */
	if (r < 0) {
		ret->err = r;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct session_record o = {0};
		struct live_record e = {0};
		int alive;

		r = record_read(statedir, ids[i], &o);
		if (r == -ENOENT)
			continue; /* removed since the listing: closed */
		if (r < 0) {
			alive = unreadable_record_alive(statedir, ids[i], r);
			e.anyone = true;
		} else {
			alive = record_counts_open(&o) ? record_is_alive(&o) : 0;
			e.uid = o.uid;
		}
		record_done(&o);
		if (alive == 0)
			continue;
		if (ret->n % 64 == 0) {
			struct live_record *v = reallocarray(ret->v, ret->n + 64, sizeof(*v));

			if (!v) {
				record_ids_free(ids);
				live_users_done(ret);
				return -ENOMEM;
			}
			ret->v = v;
		}
		snprintf(e.id, sizeof(e.id), "%s", ids[i]);
		e.alive = alive;
		ret->v[ret->n++] = e;
	}
	record_ids_free(ids);
	return 0;
}

int live_users_other(const struct live_users *l, const struct session_record *rec)
{
	int other;

	assert(l);
	assert(rec);

	other = logind_other_sessions(rec);
	if (other > 0)
		return 1;
	if (l->err < 0)
		return l->err;
	for (size_t i = 0; i < l->n && other <= 0; i++) {
		const struct live_record *e = &l->v[i];

		if (streq(e->id, rec->id) || (!e->anyone && e->uid != rec->uid))
			continue;
		if (e->alive > 0 || other == 0)
			other = e->alive;
	}
	return other;
}

void live_users_done(struct live_users *l)
{
	assert(l);

	free(l->v);
	*l = (struct live_users){0};
}
