/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tmpfs-sweep explain CGROUP: which tmpfs files hold this memory cgroup's shmem.
 * Walks every tmpfs mount, attributes each file's resident pages, keeps those charged
 * to the cgroup or a descendant; then names what no path reaches: memfds and deleted
 * files held by processes, and SysV segments; and the tmpfs mounts of the other mount
 * namespaces its processes live in (mntns.h), or which of those it could not see. Largest
 * first, then how much of the cgroup's shmem that explains.
 */
#include "cgroup.h"
#include "fileio.h"
#include "format.h"
#include "helper.h"
#include "inuse.h"
#include "json.h"
#include "mntns.h"
#include "procshm.h"
#include "roots.h"
#include "scan.h"
#include "users.h"
#include "util.h"
#include "walkers.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sys/shm.h>
#include <sys/stat.h>

struct hit {
	char *name; /* path, or the description of a memfd / SysV segment */
	size_t name_len;
	const char *kind; /* "file", "memfd", "deleted", "sysv" */
	uint64_t size, charged, btime_ns;
	uid_t uid;
	uint64_t holder_ino;
	pid_t pid;
	char comm[17];
	uint64_t mntns;  /* a file of another mount namespace: it, */
	pid_t via;       /* and the process it was reached through */
};

struct explain {
	struct cg_root root;
	struct cgroup cg;
	struct cg_list desc;
	uint64_t *inos; /* sorted inodes of cg and its descendants */
	struct hit *hits;
	size_t n_hits, cap_hits;
	bool incomplete;
	int error;
	/* Pages of the objects looked at that no cgroup could be named for (pages.h): they
	 * may be this cgroup's, or not. */
	uint64_t unattributed;
	unsigned unattributed_why;
	struct ns_roots ns;  /* tmpfs mounts of the other mount namespaces of its processes */
	size_t cur_ns;       /* walking ns.v[cur_ns - 1]; 0: one of ours */
};

static void explain_done(struct explain *x)
{
	for (size_t i = 0; i < x->n_hits; i++)
		free(x->hits[i].name);
	free(x->hits);
	free(x->inos);
	ns_roots_done(&x->ns);
	cg_list_done(&x->desc);
	cgroup_done(&x->cg);
	cg_root_close(&x->root);
}

/* The descendant holding most of this file's charged pages. */
static uint64_t holder_of(const struct explain *x, const struct page_scan *ps)
{
	for (size_t i = 0; i < ps->n_charges; i++) /* charges are sorted largest first */
		if (cg_list_find(&x->desc, ps->charges[i].ino))
			return ps->charges[i].ino;
	return 0;
}

/* A new hit at the end, zeroed; NULL without memory. */
static struct hit *new_hit(struct explain *x)
{
	struct hit *h;

	if (x->n_hits == x->cap_hits) {
		size_t nc = x->cap_hits ? x->cap_hits * 2 : 32;
		h = reallocarray(x->hits, nc, sizeof(*h));
		if (!h)
			return NULL;
		x->hits = h;
		x->cap_hits = nc;
	}
	h = &x->hits[x->n_hits++];
	*h = (struct hit){0};
	return h;
}

static struct hit *add_hit(struct explain *x, const struct page_scan *ps, uint64_t charged)
{
	struct hit *h = new_hit(x);

	if (h)
		*h = (struct hit){.charged = charged, .holder_ino = holder_of(x, ps)};
	return h;
}

static int on_file(const struct scan_entry *e, void *userdata)
{
	struct explain *x = userdata;
	const struct statx *s = e->w->stx;
	uint64_t charged;
	struct hit *h;

	if (!e->pages)
		return WALK_CONTINUE;
	if (e->pages->changed)
		x->incomplete = true;
	x->unattributed += e->pages->unknown_bytes;
	x->unattributed_why |= e->pages->unknown;
	charged = page_scan_charged_to(e->pages, x->inos, x->desc.n);
	if (charged == 0)
		return WALK_CONTINUE;
	h = add_hit(x, e->pages, charged);
	if (!h || !(h->name = strndup(e->w->path, e->w->path_len))) {
		x->error = -ENOMEM;
		return WALK_STOP;
	}
	h->name_len = e->w->path_len;
	h->kind = "file";
	if (x->cur_ns) {
		h->mntns = x->ns.v[x->cur_ns - 1].ns;
		h->via = x->ns.v[x->cur_ns - 1].pid;
	}
	h->size = s->stx_size;
	h->uid = s->stx_uid;
	h->btime_ns = (s->stx_mask & STATX_BTIME) ? (uint64_t)s->stx_btime.tv_sec * NSEC_PER_SEC +
							    s->stx_btime.tv_nsec
						  : 0;
	return WALK_CONTINUE;
}

static int scan_shm_obj(struct pages_ctx *pc, const struct shm_obj *o, struct page_scan *ps)
{
	int r;

	if (o->open_path[0]) {
		_cleanup_close_ int fd = procshm_open(o);
		struct stat st;
		if (fd < 0)
			return fd;
		if (fstat(fd, &st) < 0)
			return negative_errno();
		return pages_scan_fd(pc, fd, (uint64_t)st.st_size, ps);
	}
	/* A SysV segment nobody has attached: attach it read-only just to look. */
	void *p = shmat(o->shmid, NULL, SHM_RDONLY);
	if (p == (void *)-1)
		return negative_errno();
	r = pages_scan_mapping(pc, p, (size_t)o->size, ps);
	shmdt(p);
	return r;
}

static int explain_processes(struct explain *x, struct pages_ctx *pc)
{
	struct shm_list l = {0};
	struct page_scan ps = {0};
	int r = procshm_list(NULL, &l);

	if (r < 0)
		return r;
	for (size_t i = 0; i < l.n; i++) {
		const struct shm_obj *o = &l.v[i];
		uint64_t charged;
		struct hit *h;

		if (scan_shm_obj(pc, o, &ps) < 0)
			continue;
		x->unattributed += ps.unknown_bytes;
		x->unattributed_why |= ps.unknown;
		charged = page_scan_charged_to(&ps, x->inos, x->desc.n);
		if (charged == 0)
			continue;
		h = add_hit(x, &ps, charged);
		if (!h || !(h->name = strdup(o->desc))) {
			r = -ENOMEM;
			break;
		}
		h->name_len = strlen(h->name);
		h->kind = shm_kind_name(o->kind);
		h->size = o->size;
		h->uid = o->uid;
		h->pid = o->pid;
		memcpy(h->comm, o->comm, sizeof(h->comm));
	}
	page_scan_done(&ps);
	shm_list_done(&l);
	return r;
}

/* The tmpfs mounts of the other mount namespaces of the cgroup's processes, found before
 * any walk (every walker walks the same), walked as ours are. */
static int explain_namespaces(struct explain *x, const struct roots *roots)
{
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_free_ dev_t *devs = NULL;
	size_t n = 0;
	int r = cg_list_pids(&x->root, &x->desc, 1 << 16, &pids, &n);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		x->incomplete = true; /* some processes not looked at */
	devs = calloc(roots->n + 1, sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	for (size_t i = 0; i < roots->n; i++)
		devs[i] = roots->v[i].dev;
	return mntns_tmpfs_roots(NULL, pids, n, devs, roots->n, &x->ns);
}

/* This walker's share of every tmpfs mount, ours then the other namespaces'. */
static void explain_walk(struct explain *x, struct pages_ctx *pc, const struct roots *roots,
			 const struct walkers *w)
{
	struct lease_view leases = {0};
	struct walk_opts wo = {.flags = WALK_ENTER_PRIVATE, .share = w->share, .shares = w->shares};
	struct walk_stats st;
	int r;

	for (size_t i = 0; i < roots->n && x->error == 0; i++) {
		r = scan_mount(pc, roots->v[i].fd, roots->v[i].path, &wo, &leases, NULL, on_file, x,
			       &st);
		if (r < 0 || st.incomplete)
			x->incomplete = true;
	}
	for (size_t i = 0; i < x->ns.n && x->error == 0; i++) {
		x->cur_ns = i + 1;
		r = scan_mount(pc, x->ns.v[i].fd, x->ns.v[i].path, &wo, &leases, NULL, on_file, x,
			       &st);
		if (r < 0 || st.incomplete)
			x->incomplete = true;
	}
	x->cur_ns = 0;
	lease_view_done(&leases);
}

/* What a walker sends back to the first: a record per file it found charged, then its
 * figures (an END record: a walker's pipe without one is a walker lost). */
enum { BACK_HIT = 1, BACK_END = 2 };
struct back_rec {
	uint32_t type;
	uint32_t uid;
	uint64_t size, charged, btime_ns, holder_ino, mntns, name_len; /* a hit, its name next */
	int64_t via;
	uint64_t unattributed; /* the end */
	uint32_t unattributed_why;
	uint32_t incomplete;
	int32_t error;
};

/* A walker's end: its hits and figures to the first, through its pipe. */
static _Noreturn void explain_walker_end(struct explain *x, int fd)
{
	struct sbuf b = {0};
	int r = 0;

	for (size_t i = 0; i < x->n_hits && r == 0; i++) {
		const struct hit *h = &x->hits[i];
		struct back_rec rec = {.type = BACK_HIT, .uid = h->uid, .size = h->size,
				       .charged = h->charged, .btime_ns = h->btime_ns,
				       .holder_ino = h->holder_ino, .mntns = h->mntns,
				       .name_len = h->name_len, .via = h->via};
		sbuf_add(&b, (const char *)&rec, sizeof(rec));
		sbuf_add(&b, h->name, h->name_len);
		if (!sbuf_str(&b))
			r = -ENOMEM;
		else if (b.len >= 1 << 16) {
			r = write_all(fd, b.buf, b.len);
			sbuf_reset(&b);
		}
	}
	struct back_rec end = {.type = BACK_END, .unattributed = x->unattributed,
			       .unattributed_why = x->unattributed_why,
			       .incomplete = x->incomplete, .error = r < 0 ? r : x->error};
	sbuf_add(&b, (const char *)&end, sizeof(end));
	if (sbuf_str(&b))
		write_all(fd, b.buf, b.len);
	_exit(0);
}

/* n bytes from fd: 0, or -EPIPE when it ended first, or -errno. */
static int read_exact(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t k = read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		if (k == 0)
			return -EPIPE;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* The first: walker k's hits and figures added to its own. -EPIPE: it ended without
 * its END (killed), -errno, or 0. */
static int explain_take(struct explain *x, int fd)
{
	struct back_rec rec;
	int r;

	while ((r = read_exact(fd, &rec, sizeof(rec))) == 0 && rec.type == BACK_HIT) {
		struct hit *h;

		if (rec.name_len > (1u << 24))
			return -EBADMSG;
		if (!(h = new_hit(x)))
			return -ENOMEM;
		*h = (struct hit){.kind = "file", .size = rec.size, .charged = rec.charged,
				  .btime_ns = rec.btime_ns, .uid = rec.uid,
				  .holder_ino = rec.holder_ino, .mntns = rec.mntns,
				  .via = (pid_t)rec.via, .name_len = rec.name_len};
		h->name = malloc(rec.name_len + 1);
		if (!h->name)
			return -ENOMEM; /* explain_done frees the others: this one's name is NULL */
		if ((r = read_exact(fd, h->name, rec.name_len)) < 0)
			return r;
		h->name[rec.name_len] = '\0';
	}
	if (r < 0)
		return r;
	if (rec.type != BACK_END)
		return -EBADMSG;
	x->unattributed += rec.unattributed;
	x->unattributed_why |= rec.unattributed_why;
	x->incomplete |= rec.incomplete != 0;
	if (rec.error && !x->error)
		x->error = rec.error;
	return 0;
}

/* Walkers 1..: forked (each with its own pages and roots, the namespaces' too), and in the
 * first, once its share is walked, their hits taken in. Returns 0 or -errno (the first). */
static int explain_walkers(struct explain *x, struct walkers *w, unsigned jobs,
			   struct pages_ctx **pc, struct roots *roots)
{
	int r = walkers_start(w, jobs, true);

	if (r < 0 || w->share == 0)
		return r;
	r = walkers_own_pages(pc);
	for (size_t i = 0; i < roots->n && r == 0; i++)
		r = walkers_own_dir(&roots->v[i].fd);
	for (size_t i = 0; i < x->ns.n && r == 0; i++)
		r = walkers_own_dir(&x->ns.v[i].fd);
	if (r < 0) {
		x->error = r;
		explain_walker_end(x, w->back[0]);
	}
	return 0;
}

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	return x->charged > y->charged ? -1 : x->charged < y->charged;
}

static const char *holder_rel(const struct explain *x, uint64_t ino)
{
	const struct cg_node *n = cg_list_find(&x->desc, ino);
	return n ? n->rel : "?";
}

/* For people: the holder relative to the cgroup explained ("." for itself). */
static const char *holder_below(const struct explain *x, uint64_t ino)
{
	const char *rel = holder_rel(x, ino), *below;

	if (streq(rel, x->cg.rel))
		return ".";
	if (streq(x->cg.rel, "/"))
		return rel + 1;
	if ((below = startswith(rel, x->cg.rel)) && below[0] == '/')
		return below + 1;
	return rel;
}

static void print_json(struct explain *x, uint64_t usage, uint64_t shmem, uint64_t explained,
		       size_t top)
{
	struct sbuf b = {0};

	json_begin(&b);
	json_kv_str(&b, "cgroup", x->cg.rel);
	json_kv_str(&b, "hierarchy", x->root.mode == CG_V2 ? "v2" : "v1");
	json_kv_str(&b, "mount", x->root.mnt);
	json_kv_u64(&b, "usage", usage);
	json_kv_u64(&b, "shmem", shmem);
	json_key(&b, "files");
	sbuf_addc(&b, '[');
	for (size_t i = 0; i < x->n_hits && (!top || i < top); i++) {
		const struct hit *h = &x->hits[i];
		if (i)
			sbuf_addc(&b, ',');
		json_begin(&b);
		json_kv_strn(&b, "path", h->name, h->name_len);
		json_kv_str(&b, "kind", h->kind);
		json_kv_u64(&b, "size", h->size);
		json_kv_u64(&b, "charged_bytes", h->charged);
		json_kv_u64(&b, "uid", h->uid);
		if (h->btime_ns) {
			json_key(&b, "btime");
			sbuf_addc(&b, '"');
			sbuf_add_time_ns(&b, h->btime_ns);
			sbuf_addc(&b, '"');
		}
		json_kv_str(&b, "cgroup", holder_rel(x, h->holder_ino));
		if (h->pid) {
			json_kv_i64(&b, "pid", h->pid);
			json_kv_str(&b, "comm", h->comm);
		}
		if (h->mntns) {
			json_kv_u64(&b, "mount_ns", h->mntns);
			json_kv_i64(&b, "seen_through_pid", h->via);
		}
		json_end(&b);
	}
	sbuf_addc(&b, ']');
	b.need_comma = true;
	json_key(&b, "unseen_mount_namespaces");
	sbuf_addc(&b, '[');
	for (size_t i = 0; i < x->ns.n_unseen; i++) {
		if (i)
			sbuf_addc(&b, ',');
		json_begin(&b);
		json_kv_u64(&b, "mount_ns", x->ns.unseen[i].ns);
		json_kv_i64(&b, "pid", x->ns.unseen[i].pid);
		json_kv_str(&b, "why", x->ns.unseen[i].why);
		json_end(&b);
	}
	sbuf_addc(&b, ']');
	b.need_comma = true;
	json_kv_u64(&b, "explained_bytes", explained);
	json_kv_u64(&b, "unexplained_bytes", shmem > explained ? shmem - explained : 0);
	json_kv_u64(&b, "unattributed_bytes", x->unattributed);
	if (x->unattributed_why) {
		char why[64];
		json_kv_str(&b, "unattributed",
			    pages_unknown_str(x->unattributed_why, why, sizeof(why)));
	}
	json_kv_bool(&b, "incomplete", x->incomplete);
	json_end(&b);
	if (sbuf_str(&b))
		printf("%s\n", sbuf_str(&b));
	sbuf_done(&b);
}

static void print_human(struct explain *x, uint64_t usage, uint64_t shmem, uint64_t explained,
			size_t top)
{
	char s1[32], s2[32], s3[32], t[32], u[USER_NAME_MAX + 1];

	/* cgroup and process names are anyone's to choose (a delegated subtree, PR_SET_NAME):
	 * escaped like file names, never raw to the terminal. */
	fputs("cgroup ", stdout);
	print_name_pad(stdout, x->cg.rel, 0);
	printf(" (%s, %s", x->root.mode == CG_V2 ? "v2" : "v1", x->root.mnt);
	print_name_pad(stdout, streq(x->cg.rel, "/") ? "" : x->cg.rel, 0);
	fputs(")\n", stdout);
	printf("usage %s, shmem %s\n\n", fmt_size(s1, sizeof(s1), usage),
	       fmt_size(s2, sizeof(s2), shmem));
	if (x->n_hits)
		printf("%9s %9s  %-10s %-19s  %-16s %s\n", "CHARGED", "SIZE", "OWNER", "BORN",
		       "CGROUP", "PATH");
	for (size_t i = 0; i < x->n_hits && (!top || i < top); i++) {
		const struct hit *h = &x->hits[i];
		printf("%9s %9s  %-10s %-19s  ", fmt_size(s1, sizeof(s1), h->charged),
		       fmt_size(s2, sizeof(s2), h->size), fmt_user(u, sizeof(u), h->uid),
		       fmt_time(t, sizeof(t), h->btime_ns));
		print_name_pad(stdout, holder_below(x, h->holder_ino), 16);
		putchar(' ');
		print_name(stdout, h->name, h->name_len);
		if (h->pid) {
			printf("  [%s, held by pid %d ", h->kind, (int)h->pid);
			print_name_pad(stdout, h->comm, 0);
			putchar(']');
		} else if (!streq(h->kind, "file"))
			printf("  [%s]", h->kind);
		if (h->mntns)
			printf("  [mount namespace %" PRIu64 ", seen through pid %d]", h->mntns,
			       (int)h->via);
		putchar('\n');
	}
	if (top && x->n_hits > top)
		printf("... and %zu more\n", x->n_hits - top);
	printf("\nexplained %s of %s shmem (%.1f%%)%s\n", fmt_size(s1, sizeof(s1), explained),
	       fmt_size(s3, sizeof(s3), shmem),
	       shmem ? 100.0 * (double)explained / (double)shmem : 100.0,
	       x->incomplete ? ", incomplete" : "");
	for (size_t i = 0; i < x->ns.n_unseen; i++) {
		printf("mount namespace %" PRIu64 " (pid %d) not looked at whole: ",
		       x->ns.unseen[i].ns, (int)x->ns.unseen[i].pid);
		print_name(stdout, x->ns.unseen[i].why, strlen(x->ns.unseen[i].why));
		putchar('\n');
	}
	if (x->unattributed) {
		char why[64];
		printf("%s in the files and segments looked at is attributed to no cgroup (%s)\n",
		       fmt_size(s1, sizeof(s1), x->unattributed),
		       pages_unknown_str(x->unattributed_why, why, sizeof(why)));
	}
}

int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"top", required_argument, NULL, 't'},
		{"jobs", required_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct explain x = {.root.fd = -1, .cg.fd = -1};
	struct pages_ctx *pc = NULL;
	struct roots roots = {0};
	struct walkers w = {.shares = 1};
	unsigned jobs = walkers_default();
	bool json = false;
	uint64_t top = 0, usage = 0, shmem = 0, explained = 0;
	int c, r, ret = EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "jt:h", opts, NULL)) >= 0) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 't':
			if (parse_u64(optarg, &top) < 0)
				return fail(EXIT_USAGE, "explain: --top wants a number, not '%s'", optarg);
			break;
		case 'J':
			if (walkers_parse(optarg, &jobs) < 0)
				return fail(EXIT_USAGE, "explain: --jobs wants 1 to %d, not '%s'",
					    WALKERS_MAX, optarg);
			break;
		case 'h':
			printf("Usage: tmpfs-sweep explain CGROUP [--json] [--top N] [--jobs N]\n"
			       "CGROUP: a path under the memory hierarchy (/sys/fs/cgroup/...), a cgroup\n"
			       "path as /proc/PID/cgroup shows it (/user.slice), or a pid.\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return fail(EXIT_USAGE, "explain: exactly one CGROUP expected (see --help)");
	if (!need_root())
		return fail(EXIT_NOPERM, "explain: must be run as root (page attribution reads "
					 "/proc/kpagecgroup)");
	r = cg_root_open(NULL, &x.root);
	if (r == -ENOMEDIUM)
		return fail(EXIT_NOMEMCG, "explain: no memory controller is mounted");
	if (r < 0)
		return fail(EXIT_FAIL, "explain: cgroup hierarchy: %s", strerror(-r));
	r = cg_resolve(&x.root, argv[optind], &x.cg);
	if (r < 0) {
		if (r == -ENOMEDIUM)
			ret = fail(EXIT_NOMEMCG, "explain: %s: no memory controller in that hierarchy "
						 "(the memory controller is at %s)",
				   argv[optind], x.root.mnt);
		else if (r == -ENOENT || r == -ESRCH || r == -EINVAL || r == -ENOTDIR)
			ret = fail(EXIT_NOTFOUND, "explain: %s: no such cgroup", argv[optind]);
		else
			ret = fail(EXIT_FAIL, "explain: %s: %s", argv[optind], strerror(-r));
		goto out;
	}
	if ((r = cg_read_usage(&x.root, &x.cg, &usage, &shmem)) < 0 ||
	    (r = cg_list_descendants(&x.root, &x.cg, &x.desc)) < 0) {
		ret = fail(EXIT_FAIL, "explain: %s: %s", x.cg.rel, strerror(-r));
		goto out;
	}
	if (cg_list_inos(&x.desc, &x.inos) < 0) {
		ret = fail(EXIT_FAIL, "explain: out of memory");
		goto out;
	}
	if ((r = pages_ctx_new(&pc)) < 0) {
		ret = fail(EXIT_FAIL, "explain: page attribution: %s", strerror(-r));
		goto out;
	}
	if ((r = roots_open(NULL, 0, &roots, NULL)) < 0) {
		ret = fail(EXIT_FAIL, "explain: tmpfs mounts: %s", strerror(-r));
		goto out;
	}
	if ((r = explain_namespaces(&x, &roots)) < 0) {
		ret = fail(EXIT_FAIL, "explain: mount namespaces: %s", strerror(-r));
		goto out;
	}
	if (jobs > 1 && (r = explain_walkers(&x, &w, jobs, &pc, &roots)) < 0) {
		ret = fail(EXIT_FAIL, "explain: %s", strerror(-r));
		goto out;
	}
	explain_walk(&x, pc, &roots, &w);
	if (w.share > 0)
		explain_walker_end(&x, w.back[0]);
	for (unsigned k = 1; k < w.shares; k++) {
		int status;

		r = explain_take(&x, w.back[k]);
		w.back[k] = safe_close(w.back[k]);
		walkers_wait(&w, k, &status);
		if (r < 0) {
			walkers_say_lost("explain", k, status);
			ret = EXIT_FAIL;
			goto out;
		}
	}
	if (x.error == 0)
		x.error = explain_processes(&x, pc);
	if (x.error < 0) {
		ret = fail(EXIT_FAIL, "explain: %s", strerror(-x.error));
		goto out;
	}
	if (x.n_hits)
		qsort(x.hits, x.n_hits, sizeof(*x.hits), cmp_hit);
	for (size_t i = 0; i < x.n_hits; i++)
		explained += x.hits[i].charged;
	if (json)
		print_json(&x, usage, shmem, explained, (size_t)top);
	else
		print_human(&x, usage, shmem, explained, (size_t)top);
	ret = x.incomplete ? EXIT_INCOMPLETE : EXIT_OK;
out:
	walkers_done(&w);
	roots_close(&roots);
	pages_ctx_free(pc);
	explain_done(&x);
	return ret;
}
