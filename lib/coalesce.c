/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "coalesce.h"
#include "inuse.h"
#include "remove.h"
#include "scan.h"
#include "util.h"

#include <assert.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

struct member {
	struct sweep *s;
	const struct sweep_params *p;
	int err;      /* sweep_start's, or the first error of a walk */
	size_t mount; /* its index of the mount being walked; SIZE_MAX: not in this walk */
	uint64_t gen; /* the entry it was last handed (no entry twice) */
};

/* A member without a pending list, by its uid and view (sweep_same_view: the members
 * asked the same question of every entry), by its window's start. */
struct uid_ref {
	uid_t uid;
	size_t view;         /* the first member of the walk with the same uid and view */
	uint64_t start, end; /* its window */
	uint64_t max_end;    /* the latest end of its group up to it (windows containing a time) */
	size_t group_end;    /* the index past the last of its group */
	size_t i;
};

/* A member with a pending list, by each file of the list: only those files concern it. */
struct pend_ref {
	dev_t dev;
	ino_t ino;
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
	struct uid_ref *by_uid; /* sorted by uid, view, start */
	size_t n_uid;
	uid_t *uids; /* the uid of every member, sorted (want_pages) */
	size_t n_uids;
	struct pend_ref *by_pend; /* sorted by dev, ino */
	size_t n_pend;
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

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	if (x->view != y->view)
		return x->view < y->view ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int cmp_pend(const void *a, const void *b)
{
	const struct pend_ref *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int cmp_uid_t(const void *a, const void *b)
{
	const uid_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
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

static size_t pend_first(const struct walk *w, dev_t dev, ino_t ino)
{
	size_t lo = 0, hi = w->n_pend;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pend_ref *r = &w->by_pend[mid];

		if (r->dev < dev || (r->dev == dev && r->ino < ino))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
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

	return bsearch(&stx->stx_uid, w->uids, w->n_uids, sizeof(*w->uids), cmp_uid_t) || !b ||
	       b >= w->min_start;
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
 * members are not asked. A member re-deciding a record's pending list decides those files
 * only (sweep.c's on_entry): it is asked of them alone. Of the owner's other sessions,
 * those the file was not born in would class it `owned` only; when the policy gives an
 * owned file no line (asked once for each group of members that ask the same question),
 * they are not asked either, and those it was born in are found by their windows, not by
 * asking each. A file whose scan saw it change goes to all (each says `incomplete` as its
 * own walk would have). */
static int dispatch(const struct scan_entry *e, void *userdata)
{
	struct walk *w = userdata;
	const struct statx *stx = e->w->stx;
	dev_t dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	uint64_t now = now_ns(CLOCK_MONOTONIC), b;
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
	for (k = pend_first(w, dev, stx->stx_ino);
	     k < w->n_pend && w->by_pend[k].dev == dev && w->by_pend[k].ino == stx->stx_ino; k++)
		if (w->v[w->by_pend[k].i].p->rec->uid == stx->stx_uid)
			hand(w, w->by_pend[k].i, e, now);
	b = btime_of(stx);
	for (k = uid_first(w, stx->stx_uid); k < w->n_uid;) {
		const struct uid_ref *g = &w->by_uid[k];
		size_t end = g->group_end, lo = k, hi = end;

		if (g->uid != stx->stx_uid)
			break;
		if (!sweep_ignores_owned(w->v[g->i].s, e->w)) {
			for (; k < end; k++)
				hand(w, w->by_uid[k].i, e, now);
			continue;
		}
		/* Only those it was born in: the last whose window starts by b, and back
		 * while a window of the group may still reach b. */
		while (b && lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (w->by_uid[mid].start <= b)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (size_t j = lo; b && j-- > k && w->by_uid[j].max_end >= b;)
			if (w->by_uid[j].end >= b)
				hand(w, w->by_uid[j].i, e, now);
		k = end;
	}
	return WALK_CONTINUE;
}

/* Index the members of this walk. */
static int walk_index(struct walk *w)
{
	size_t nu = 0, nc = 0, np = 0;

	w->min_start = UINT64_MAX;
	for (size_t k = 0; k < w->n_who; k++) {
		const struct member *m = &w->v[w->who[k]];
		size_t n;

		(void)sweep_cgroups(m->s, &n);
		nc += n;
		np += m->p->rec->n_pending;
	}
	w->by_uid = calloc(w->n_who ? w->n_who : 1, sizeof(*w->by_uid));
	w->uids = calloc(w->n_who ? w->n_who : 1, sizeof(*w->uids));
	w->by_cg = calloc(nc ? nc : 1, sizeof(*w->by_cg));
	w->by_pend = calloc(np ? np : 1, sizeof(*w->by_pend));
	if (!w->by_uid || !w->uids || !w->by_cg || !w->by_pend)
		return -ENOMEM;
	nc = np = 0;
	for (size_t k = 0; k < w->n_who; k++) {
		const struct member *m = &w->v[w->who[k]];
		const struct session_record *rec = m->p->rec;
		const uint64_t *inos;
		size_t n, view = w->who[k];

		w->uids[k] = rec->uid;
		w->min_start = MIN(w->min_start, rec->start_ns);
		w->any_pending |= rec->n_pending > 0;
		inos = sweep_cgroups(m->s, &n);
		for (size_t j = 0; j < n; j++)
			w->by_cg[nc++] = (struct cg_ref){.ino = inos[j], .i = w->who[k]};
		for (size_t j = 0; j < rec->n_pending; j++)
			w->by_pend[np++] = (struct pend_ref){
				.dev = rec->pending[j].dev, .ino = rec->pending[j].ino, .i = w->who[k]};
		if (rec->n_pending)
			continue;
		/* Its view: that of an earlier member of the same uid that asks alike. */
		for (size_t j = 0; j < nu; j++)
			if (w->by_uid[j].view == w->by_uid[j].i && w->by_uid[j].uid == rec->uid &&
			    sweep_same_view(w->v[w->by_uid[j].i].s, m->s)) {
				view = w->by_uid[j].i;
				break;
			}
		w->by_uid[nu++] = (struct uid_ref){.uid = rec->uid, .view = view,
						   .start = rec->start_ns, .end = m->p->end_ns,
						   .i = w->who[k]};
	}
	qsort(w->by_uid, nu, sizeof(*w->by_uid), cmp_uid);
	qsort(w->uids, w->n_who, sizeof(*w->uids), cmp_uid_t);
	qsort(w->by_cg, nc, sizeof(*w->by_cg), cmp_cg);
	qsort(w->by_pend, np, sizeof(*w->by_pend), cmp_pend);
	for (size_t a = 0, b; a < nu; a = b) {
		uint64_t max_end = 0;

		for (b = a; b < nu && w->by_uid[b].uid == w->by_uid[a].uid &&
			    w->by_uid[b].view == w->by_uid[a].view;
		     b++) {
			max_end = MAX(max_end, w->by_uid[b].end);
			w->by_uid[b].max_end = max_end;
		}
		for (size_t j = a; j < b; j++)
			w->by_uid[j].group_end = b;
	}
	w->n_uid = nu;
	w->n_uids = w->n_who;
	w->n_cg = nc;
	w->n_pend = np;
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
	free(w.uids);
	free(w.by_cg);
	free(w.by_pend);
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
	struct sweep_groups_memo memo = {0};
	size_t ng = 0;

	if (!g || !groups)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct remove_creds creds;

		if (v[i].err < 0 || !sweep_removal_start(v[i].s, &memo, &creds, &groups[i]))
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
	sweep_groups_memo_done(&memo);
}

struct claim {
	dev_t dev;
	ino_t ino;
	size_t i; /* the member */
	bool removes;
};

static int cmp_claim(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* A file several members claim (sessions whose windows overlap, records of one session
 * copied): one after another, the first to remove it would have, and the later ones
 * would not have found it. So each member after the first that removes it leaves it
 * (sweep_leave): one line, one removal, under that session. Members are in the order
 * they are finished in (earliest deadline first; gc: the order of the record ids). */
static int claim_once(struct member *v, size_t n)
{
	_cleanup_free_ struct claim *c = NULL;
	_cleanup_free_ struct sweep_claim *sc = NULL;
	size_t total = 0, most = 0, k = 0;

	for (size_t i = 0; i < n; i++) {
		size_t m = v[i].err < 0 ? 0 : sweep_claims(v[i].s, NULL);

		total += m;
		most = MAX(most, m);
	}
	if (total == 0)
		return 0;
	c = calloc(total, sizeof(*c));
	sc = calloc(most, sizeof(*sc));
	if (!c || !sc)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t m = v[i].err < 0 ? 0 : sweep_claims(v[i].s, sc);

		for (size_t j = 0; j < m; j++)
			c[k++] = (struct claim){
				.dev = sc[j].dev, .ino = sc[j].ino, .i = i, .removes = sc[j].removes};
	}
	qsort(c, k, sizeof(*c), cmp_claim);
	for (size_t a = 0, b; a < k; a = b) {
		bool taken = false;

		for (b = a; b < k && c[b].dev == c[a].dev && c[b].ino == c[a].ino; b++) {
			if (taken && c[b].i != c[b - 1].i)
				(void)sweep_leave(v[c[b].i].s, c[b].dev, c[b].ino);
			else if (c[b].removes)
				taken = true;
		}
	}
	return 0;
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
	/* The members' params: their deadlines may move (below). */
	_cleanup_free_ struct sweep_params *own = NULL;
	struct pages_ctx *pc = NULL;
	struct locks locks = {0};
	int r = 0;

	assert(ps || n == 0);
	assert(res || n == 0);

	v = calloc(n ? n : 1, sizeof(*v));
	walked = calloc(n ? n * RECORD_MAX_MOUNTS : 1, sizeof(*walked));
	own = calloc(n ? n : 1, sizeof(*own));
	if (!v || !walked || !own)
		return -ENOMEM;
	memcpy(own, ps, n * sizeof(*own));
	for (size_t i = 0; i < n; i++)
		v[i] = (struct member){.p = &own[i]};
	/* Finished earliest deadline first; each member keeps its own params and result. */
	qsort(v, n, sizeof(*v), cmp_deadline);
	for (size_t i = 0; i < n; i++) {
		v[i].err = sweep_start(v[i].p, &res[v[i].p - own], &v[i].s);
		sweep_share_pages(v[i].s);
	}
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
	if (r == 0)
		r = claim_once(v, n);
	for (size_t i = 0; i < n; i += CHUNK) {
		size_t end = MIN(n, i + CHUNK);

		/* No deadline of the caller's (gc): what is left of a member's sweep, its
		 * check, removal and lines, gets its Timeout again from here, so that its
		 * part is not squeezed by the walk and the chunks before it. A close's
		 * members (deadline_ns: the close may be killed at it) keep theirs. */
		for (size_t k = i; !deadline_ns && k < end; k++) {
			size_t at = (size_t)(v[k].p - own);
			uint64_t now = now_ns(CLOCK_MONOTONIC);

			if (ps[at].deadline_ns > ps[at].started_ns)
				own[at].deadline_ns = MAX(own[at].deadline_ns,
							  now + ps[at].deadline_ns - ps[at].started_ns);
		}
		for (size_t k = i; k < end; k++)
			if (v[k].err == 0 && r == 0)
				check(v, n, k, &locks);
		if (r == 0)
			remove_chunk(v + i, end - i, deadline_ns);
		for (size_t k = i; k < end; k++) {
			size_t at = (size_t)(v[k].p - own);
			int e = sweep_finish(v[k].s, v[k].err < 0 ? v[k].err : r);

			if (done)
				done(at, e, &res[at], userdata);
		}
	}
	inuse_free(locks.set);
	return 0;
}
