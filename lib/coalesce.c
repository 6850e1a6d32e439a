/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "coalesce.h"
#include "inuse.h"
#include "remove.h"
#include "scan.h"
#include "util.h"

#include <assert.h>
#include <sys/stat.h>

struct member {
	struct sweep *s;
	const struct sweep_params *p;
	int err;      /* sweep_start's, or the first error of a walk */
	size_t mount; /* its index of the mount being walked; SIZE_MAX: not in this walk */
	uint64_t gen; /* the entry it was last handed (no entry twice) */
};

struct uid_ref {
	uid_t uid;
	size_t i;
};

struct cg_ref {
	uint64_t ino;
	size_t i;
};

/* One walk of one mount, and the members it is for. */
struct walk {
	struct member *v;
	size_t *who; /* the members in this walk */
	size_t n_who;
	struct uid_ref *by_uid; /* sorted by uid */
	size_t n_uid;
	struct cg_ref *by_cg; /* sorted by cgroup inode */
	size_t n_cg;
	uint64_t min_start;   /* the earliest session start of the walk's members */
	bool any_pending;     /* a member re-deciding a record's pending files */
	uint64_t gen;
	int error;
};

static int cmp_uid(const void *a, const void *b)
{
	const struct uid_ref *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid ? 1 : x->i < y->i ? -1 : x->i > y->i;
}

static int cmp_cg(const void *a, const void *b)
{
	const struct cg_ref *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino ? 1 : x->i < y->i ? -1 : x->i > y->i;
}

static uint64_t btime_of(const struct statx *stx)
{
	if (!(stx->stx_mask & STATX_BTIME) || stx->stx_btime.tv_sec < 0)
		return 0;
	return (uint64_t)stx->stx_btime.tv_sec * NSEC_PER_SEC + stx->stx_btime.tv_nsec;
}

/* The first index of by_uid with this uid (n_uid: none). */
static size_t uid_first(const struct walk *w, uid_t uid)
{
	size_t lo = 0, hi = w->n_uid;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->by_uid[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->n_uid && w->by_uid[lo].uid == uid ? lo : w->n_uid;
}

static size_t cg_first(const struct walk *w, uint64_t ino)
{
	size_t lo = 0, hi = w->n_cg;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->by_cg[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Does any member want this file's pages (sweep_wants_pages of any, without asking each)? */
static bool want_pages(const struct statx *stx, void *userdata)
{
	const struct walk *w = userdata;
	uint64_t b = btime_of(stx);

	return uid_first(w, stx->stx_uid) < w->n_uid || !b || b >= w->min_start;
}

static void hand(struct walk *w, size_t i, const struct scan_entry *e, uint64_t now)
{
	struct member *m = &w->v[i];

	if (m->gen == w->gen)
		return;
	m->gen = w->gen;
	(void)sweep_entry(m->s, m->mount, e, now);
}

/* Hand the entry to each member it may concern. decide_class() gives a file nothing for a
 * session whose uid is not the owner's and to whose cgroup no page of it is charged: such
 * members are not asked. Of the owner's sessions, those the file was not born in would
 * class it `owned` only; when the policy gives an owned file no line (asked once for
 * every member that asks it the same question), they are not asked either. A file whose
 * scan saw it change goes to all (each says `incomplete` as its own walk would have). */
static int dispatch(const struct scan_entry *e, void *userdata)
{
	struct walk *w = userdata;
	const struct statx *stx = e->w->stx;
	uint64_t now = now_ns(CLOCK_MONOTONIC), b;
	const struct sweep *asked = NULL;
	bool ignored = false;
	size_t k;

	w->gen++;
	if (e->pages && e->pages->changed) {
		for (k = 0; k < w->n_who; k++)
			hand(w, w->who[k], e, now);
		return WALK_CONTINUE;
	}
	for (size_t c = 0; e->pages && c < e->pages->n_charges; c++)
		for (k = cg_first(w, e->pages->charges[c].ino);
		     k < w->n_cg && w->by_cg[k].ino == e->pages->charges[c].ino; k++)
			hand(w, w->by_cg[k].i, e, now);
	k = uid_first(w, stx->stx_uid);
	if (k == w->n_uid)
		return WALK_CONTINUE;
	b = btime_of(stx);
	for (; k < w->n_uid && w->by_uid[k].uid == stx->stx_uid; k++) {
		struct member *m = &w->v[w->by_uid[k].i];
		const struct sweep_params *p = m->p;
		bool born = b && b >= p->rec->start_ns && b <= p->end_ns;

		if (m->gen == w->gen)
			continue;
		if (!born && !p->rec->n_pending) {
			if (!asked || !sweep_same_view(asked, m->s)) {
				asked = m->s;
				ignored = sweep_ignores_owned(m->s, e->w);
			}
			if (ignored)
				continue;
		}
		hand(w, w->by_uid[k].i, e, now);
	}
	return WALK_CONTINUE;
}

/* Index the members of this walk. */
static int walk_index(struct walk *w)
{
	size_t nu = 0, nc = 0;

	w->min_start = UINT64_MAX;
	for (size_t k = 0; k < w->n_who; k++) {
		size_t n;

		(void)sweep_cgroups(w->v[w->who[k]].s, &n);
		nc += n;
	}
	w->by_uid = calloc(w->n_who ? w->n_who : 1, sizeof(*w->by_uid));
	w->by_cg = calloc(nc ? nc : 1, sizeof(*w->by_cg));
	if (!w->by_uid || !w->by_cg)
		return -ENOMEM;
	nc = 0;
	for (size_t k = 0; k < w->n_who; k++) {
		const struct member *m = &w->v[w->who[k]];
		const uint64_t *inos;
		size_t n;

		w->by_uid[nu++] = (struct uid_ref){.uid = m->p->rec->uid, .i = w->who[k]};
		w->min_start = MIN(w->min_start, m->p->rec->start_ns);
		w->any_pending |= m->p->rec->n_pending > 0;
		inos = sweep_cgroups(m->s, &n);
		for (size_t j = 0; j < n; j++)
			w->by_cg[nc++] = (struct cg_ref){.ino = inos[j], .i = w->who[k]};
	}
	qsort(w->by_uid, nu, sizeof(*w->by_uid), cmp_uid);
	qsort(w->by_cg, nc, sizeof(*w->by_cg), cmp_cg);
	w->n_uid = nu;
	w->n_cg = nc;
	return 0;
}

/* A mount to walk: the first member's recorded mount mi, and every member that recorded
 * the same path and whose open of it is the same directory. */
static int walk_one(struct member *v, size_t n, size_t first, size_t mi, uint64_t deadline_ns,
		    struct pages_ctx *pc, bool *done)
{
	const struct record_mount *rm = &v[first].p->rec->mounts[mi];
	const struct policy *pol = v[first].p->policy;
	_cleanup_free_ size_t *who = calloc(n, sizeof(*who));
	struct walk w = {.v = v, .who = who};
	struct walk_opts wo = {
		.max_depth = (unsigned)pol->max_depth, /* <= WALK_MAX_DEPTH */
		.max_entries = pol->max_entries,
		.flags = WALK_POST_ORDER,
	};
	struct lease_view leases = {0};
	struct walk_stats st;
	struct stat root, o;
	int fd = -1, r;

	if (!who)
		return -ENOMEM;
	/* Every member's own open of the same path: its own checks, its own reasons. */
	for (size_t i = first; i < n; i++) {
		const struct session_record *rec = v[i].p->rec;

		v[i].mount = SIZE_MAX;
		if (v[i].err < 0)
			continue;
		for (size_t m = 0; m < rec->n_mounts && m < RECORD_MAX_MOUNTS; m++) {
			int f;

			if (done[i * RECORD_MAX_MOUNTS + m] || !streq(rec->mounts[m].path, rm->path))
				continue;
			done[i * RECORD_MAX_MOUNTS + m] = true;
			f = sweep_open_mount(v[i].s, m);
			if (f < 0 || fstat(f, &o) < 0)
				break;
			if (fd < 0) {
				fd = f;
				root = o;
			} else if (o.st_dev != root.st_dev || o.st_ino != root.st_ino) {
				/* Not the directory the walk reads (remounted in between): its
				 * own walk, later. */
				done[i * RECORD_MAX_MOUNTS + m] = false;
				break;
			}
			v[i].mount = m;
			v[i].gen = 0; /* w.gen counts this walk's entries from 1 */
			who[w.n_who++] = i;
			wo.deadline_ns = MAX(wo.deadline_ns, v[i].p->deadline_ns);
			break;
		}
	}
	if (fd < 0 || w.n_who == 0)
		return 0;
	if (deadline_ns && (!wo.deadline_ns || deadline_ns < wo.deadline_ns))
		wo.deadline_ns = deadline_ns;
	r = walk_index(&w);
	if (r < 0)
		goto out;
	leases.devs = &root.st_dev;
	leases.n_devs = 1;
	r = scan_mount(pc, fd, rm->path, &wo, &leases, want_pages, dispatch, &w, &st);
	for (size_t k = 0; k < w.n_who; k++) {
		struct member *m = &v[who[k]];

		sweep_walked(m->s, r, &st);
		if (sweep_error(m->s) < 0 && m->err == 0)
			m->err = sweep_error(m->s);
	}
	r = 0;
out:
	lease_view_done(&leases);
	free(w.by_uid);
	free(w.by_cg);
	return r;
}

/* The lock table the in-use probes look leases up in, read once for the members still to
 * check (an RCU grace period each read, 10 to 100 ms: once per session was the storm's
 * largest cost), and again once it is LOCKS_MAX_AGE_NS old. */
#define LOCKS_MAX_AGE_NS (NSEC_PER_SEC / 2)

struct locks {
	struct inuse *set;
	int err;
	uint64_t read_ns; /* 0: not read */
	dev_t devs[RECORD_MAX_MOUNTS * 4]; /* what the table holds locks of */
	size_t nd;
};

static bool covers(const struct locks *l, const dev_t *devs, size_t nd)
{
	for (size_t k = 0; k < nd; k++) {
		bool found = false;

		for (size_t j = 0; j < l->nd && !found; j++)
			found = l->devs[j] == devs[k];
		if (!found)
			return false;
	}
	return true;
}

static void check(struct member *v, size_t n, size_t i, struct locks *l)
{
	dev_t devs[RECORD_MAX_MOUNTS];
	size_t nd = 0;

	if (!sweep_wants_locks(v[i].s, devs, &nd)) {
		sweep_check(v[i].s, NULL, 0, false);
		return;
	}
	if (!l->read_ns || l->err < 0 || now_ns(CLOCK_MONOTONIC) - l->read_ns > LOCKS_MAX_AGE_NS ||
	    !covers(l, devs, nd)) {
		/* Its devices, and those of the members still to check, as far as they go. */
		memcpy(l->devs, devs, nd * sizeof(*devs));
		l->nd = nd;
		for (size_t k = i + 1; k < n; k++) {
			dev_t more[RECORD_MAX_MOUNTS];
			size_t nm = 0;

			if (v[k].err < 0 || !sweep_wants_locks(v[k].s, more, &nm))
				continue;
			for (size_t j = 0; j < nm && l->nd < ARRAY_SIZE(l->devs); j++)
				if (!covers(l, &more[j], 1))
					l->devs[l->nd++] = more[j];
		}
		inuse_free(l->set);
		l->set = NULL;
		l->err = inuse_snapshot_locks_until(l->devs, l->nd, v[i].p->deadline_ns, &l->set);
		l->read_ns = now_ns(CLOCK_MONOTONIC);
	}
	sweep_check(v[i].s, l->set, l->err, true);
}

/*
 * Removal: one remover (a forked child with the user's credentials, remove.h) per user and
 * mount for a chunk of sessions, rather than one per session: under load each child costs
 * a scheduling round trip, tens of milliseconds, and a storm has hundreds of sessions. A
 * chunk's sessions are checked for use together, then removed together, so that the time
 * between a file's check and its removal stays short.
 */
#define CHUNK 64

struct group {
	int fd; /* the root fd of the first member's mount */
	struct remove_creds creds;
	struct stat root;
	struct remove_item *items;
	struct remove_result *results;
	struct remove_dir *dirs; /* the members' tables, one after another */
	size_t n_dirs;
	struct owner {
		struct member *m;
		size_t idx; /* the member's own index of the item */
	} *owners;
	size_t n, cap;
	uint64_t deadline_ns;
};

static bool same_creds(const struct remove_creds *a, const struct remove_creds *b)
{
	if (a->as_root || b->as_root)
		return a->as_root == b->as_root;
	return a->uid == b->uid && a->gid == b->gid && a->ngroups == b->ngroups &&
	       (!a->ngroups || !memcmp(a->groups, b->groups, a->ngroups * sizeof(*a->groups)));
}

static int group_add(struct group *g, struct member *m, size_t mi)
{
	size_t nd, k = sweep_removal_items(m->s, mi, NULL, NULL);
	_cleanup_free_ size_t *idx = calloc(k ? k : 1, sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	if (g->n + k > g->cap) {
		size_t nc = MAX(g->cap * 2, g->n + k);
		struct remove_item *it = reallocarray(g->items, nc, sizeof(*it));

		if (!it)
			return -ENOMEM;
		g->items = it;
		struct owner *o = reallocarray(g->owners, nc, sizeof(*o));
		if (!o)
			return -ENOMEM;
		g->owners = o;
		g->cap = nc;
	}
	/* The member's table of directories after the others': its items' parents move by
	 * as much. */
	const struct remove_dir *md = sweep_removal_dirs(m->s, &nd);
	struct remove_dir *d = reallocarray(g->dirs, g->n_dirs + nd ? g->n_dirs + nd : 1,
					    sizeof(*d));

	if (!d)
		return -ENOMEM;
	g->dirs = d;
	for (size_t j = 0; j < nd; j++)
		d[g->n_dirs + j] = (struct remove_dir){
			.up = md[j].up == REMOVE_ROOT ? REMOVE_ROOT : md[j].up + g->n_dirs,
			.name = md[j].name,
		};
	k = sweep_removal_items(m->s, mi, g->items + g->n, idx);
	for (size_t j = 0; j < k; j++) {
		struct remove_item *it = &g->items[g->n + j];

		if (it->parent != REMOVE_ROOT)
			it->parent += g->n_dirs;
		g->owners[g->n + j] = (struct owner){.m = m, .idx = idx[j]};
	}
	g->n_dirs += nd;
	g->n += k;
	if (m->p->deadline_ns > g->deadline_ns)
		g->deadline_ns = m->p->deadline_ns;
	return 0;
}

/* Each answer into its session's journal as it arrives. */
static void on_answer(size_t k, const struct remove_result *r, void *userdata)
{
	const struct group *g = userdata;

	sweep_removal_answer(g->owners[k].m->s, g->owners[k].idx, r);
}

static void group_run(struct group *g, uint64_t deadline_ns)
{
	_cleanup_free_ size_t *idx = calloc(g->n ? g->n : 1, sizeof(*idx));
	uint64_t d = g->deadline_ns;

	g->results = calloc(g->n ? g->n : 1, sizeof(*g->results));
	if (!idx || !g->results)
		return; /* the files stay pending: sweep_finish says error */
	if (deadline_ns && (!d || deadline_ns < d))
		d = deadline_ns;
	struct remove_batch b = {
		.root_fd = g->fd, .dirs = g->dirs, .n_dirs = g->n_dirs, .items = g->items,
		.n = g->n, .creds = &g->creds, .deadline_ns = d, .on_result = on_answer,
		.userdata = g,
	};

	remove_batch(&b, g->results);
	/* Each member's results, in runs of its own items. */
	for (size_t k = 0; k < g->n;) {
		struct member *m = g->owners[k].m;
		size_t j = k, c = 0;

		for (; j < g->n && g->owners[j].m == m; j++)
			idx[c++] = g->owners[j].idx;
		sweep_removal_results(m->s, idx, g->results + k, c);
		if (b.abandoned)
			sweep_removal_abandoned(m->s);
		k = j;
	}
}

static void remove_chunk(struct member *v, size_t n, uint64_t deadline_ns)
{
	struct group *g = calloc(n * RECORD_MAX_MOUNTS, sizeof(*g));
	gid_t **groups = calloc(n ? n : 1, sizeof(*groups));
	size_t ng = 0;

	if (!g || !groups)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct remove_creds creds;

		if (v[i].err < 0 || !sweep_removal_start(v[i].s, &creds, &groups[i]))
			continue;
		for (size_t mi = 0; mi < sweep_n_mounts(v[i].s); mi++) {
			int fd = sweep_root_fd(v[i].s, mi);
			struct stat st;
			size_t k;

			if (fd < 0 || !sweep_removal_items(v[i].s, mi, NULL, NULL) ||
			    fstat(fd, &st) < 0)
				continue;
			for (k = 0; k < ng; k++)
				if (same_creds(&g[k].creds, &creds) && g[k].root.st_dev == st.st_dev &&
				    g[k].root.st_ino == st.st_ino)
					break;
			if (k == ng)
				g[ng++] = (struct group){.fd = fd, .creds = creds, .root = st};
			if (group_add(&g[k], &v[i], mi) < 0)
				continue; /* its files stay pending: sweep_finish says error */
		}
	}
	for (size_t k = 0; k < ng; k++)
		group_run(&g[k], deadline_ns);
out:
	for (size_t k = 0; g && k < ng; k++) {
		free(g[k].items);
		free(g[k].results);
		free(g[k].owners);
		free(g[k].dirs);
	}
	for (size_t i = 0; groups && i < n; i++)
		free(groups[i]);
	free(groups);
	free(g);
}

static int cmp_deadline(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	uint64_t dx = x->p->deadline_ns ? x->p->deadline_ns : UINT64_MAX;
	uint64_t dy = y->p->deadline_ns ? y->p->deadline_ns : UINT64_MAX;

	return dx < dy ? -1 : dx > dy ? 1 : x->p < y->p ? -1 : x->p > y->p;
}

int sweep_batch(const struct sweep_params *ps, size_t n, struct sweep_result *res,
		uint64_t deadline_ns, sweep_done_fn done, void *userdata)
{
	_cleanup_free_ struct member *v = NULL;
	_cleanup_free_ bool *walked = NULL;
	struct pages_ctx *pc = NULL;
	struct locks locks = {0};
	int r = 0;

	assert(ps || n == 0);
	assert(res || n == 0);

	v = calloc(n ? n : 1, sizeof(*v));
	walked = calloc(n ? n * RECORD_MAX_MOUNTS : 1, sizeof(*walked));
	if (!v || !walked)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct member){.p = &ps[i]};
	/* Finished earliest deadline first; each member keeps its own params and result. */
	qsort(v, n, sizeof(*v), cmp_deadline);
	for (size_t i = 0; i < n; i++)
		v[i].err = sweep_start(v[i].p, &res[v[i].p - ps], &v[i].s);
	/* No page scanner: each member's own start said so in its reason. */
	if (pages_ctx_new(&pc) < 0)
		pc = NULL;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct session_record *rec = v[i].p->rec;

		for (size_t m = 0; m < rec->n_mounts && m < RECORD_MAX_MOUNTS && r == 0; m++)
			if (v[i].err == 0 && !walked[i * RECORD_MAX_MOUNTS + m])
				r = walk_one(v, n, i, m, deadline_ns, pc, walked);
	}
	pages_ctx_free(pc);
	for (size_t i = 0; i < n; i += CHUNK) {
		size_t end = MIN(n, i + CHUNK);

		for (size_t k = i; k < end; k++)
			if (v[k].err == 0 && r == 0)
				check(v, n, k, &locks);
		if (r == 0)
			remove_chunk(v + i, end - i, deadline_ns);
		for (size_t k = i; k < end; k++) {
			size_t at = (size_t)(v[k].p - ps);
			int e = sweep_finish(v[k].s, v[k].err < 0 ? v[k].err : r);

			if (done)
				done(at, e, &res[at], userdata);
		}
	}
	inuse_free(locks.set);
	return 0;
}
