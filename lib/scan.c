/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "scan.h"
#include "inuse.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sysmacros.h>

/*
 * What waits for the page batch: small files (their pages are in it) and, for callers
 * that asked for post-order, the leaving calls that came after them, so that each file
 * is still handed over before its directory's leaving call. Each entry holds a duplicate
 * of its parent directory's fd (one per directory, shared), so that a batch may outlive
 * the walk's own fds: batches span directories (tearing a batch's mappings down costs a
 * TLB flush, tens of microseconds in a VM, once per batch rather than once per
 * directory), and a walk cut short (a cap, STOP) still hands every queued file over
 * with a parent fd that is what it says.
 */
#define PENDING_MAX (2 * PAGES_BATCH_MAX)
#define DUP_CACHE 64 /* depths whose parent fd duplicate is remembered */
/*
 * How long a batch may hold its files open (and mapped) before it runs. In a sparse tree
 * (one small file among thousands of entries per directory) filling a batch takes
 * seconds, and a file held open that long is "in use" to a close probing it meanwhile
 * (it looks twice, 50 ms apart, so that a scanner's instant does not count), which then
 * keeps it: a scan, an explain, a gc or another policy's close walking the same mount
 * made closes keep files. In a dense tree a batch fills well within this.
 */
#define BATCH_HOLD_NS (10 * NSEC_PER_MSEC)

struct pending {
	int dirfd; /* ours: a duplicate of the parent's fd */
	int slot;  /* in the page batch; -1: a leaving call */
	unsigned depth;
	struct statx stx;
	char *name, *path;
	size_t name_cap, path_cap, path_len;
};

struct scan_state {
	struct pages_ctx *pc;
	struct page_scan ps;
	struct lease_view *leases;
	scan_want_fn want;
	scan_fn fn;
	void *userdata;
	bool post_order; /* the caller asked for the leaving calls */
	bool stopped;    /* fn said WALK_STOP */
	struct pending pend[PENDING_MAX];
	size_t n_pend;
	uint64_t held_since;	   /* CLOCK_MONOTONIC: the first queued file's enqueue */
	int dups[2 * PENDING_MAX]; /* every duplicate made since the last flush */
	size_t n_dups;
	struct {
		int orig, dup;
	} cache[DUP_CACHE]; /* by depth: the duplicate of that depth's entries' dirfd */
};

void lease_view_done(struct lease_view *v)
{
	assert(v);
	inuse_free(v->set);
	*v = (struct lease_view){0};
}

/* A lease taken after the view was read is not in it, and opening its file would break
 * it: a long walk (a large /tmp, explain over every mount) reads the view again once it is
 * older than LEASE_VIEW_AGE times what its last read took (at most ~4% of the walk's time
 * spent reading it), and never less than LEASE_VIEW_MIN_NS nor more than LEASE_VIEW_MAX_NS
 * apart. Left: a lease taken within that age, before the file's open (inherent to any
 * opener: the kernel starts the break even for an O_NONBLOCK open it then refuses). */
#define LEASE_VIEW_AGE 25
#define LEASE_VIEW_MIN_NS (10 * NSEC_PER_MSEC)
#define LEASE_VIEW_MAX_NS NSEC_PER_SEC

static bool is_leased(struct lease_view *v, const struct statx *stx)
{
	const char *why = NULL;
	uint64_t now = now_ns(CLOCK_MONOTONIC);

	if (v->loaded && now - v->read_at > MAX(LEASE_VIEW_MIN_NS,
						 MIN(LEASE_VIEW_MAX_NS, LEASE_VIEW_AGE * v->read_ns))) {
		inuse_free(TAKE_PTR(v->set));
		v->loaded = false;
	}
	if (!v->loaded) {
		v->error = inuse_snapshot_locks(v->devs, v->n_devs, &v->set);
		v->loaded = true;
		v->read_at = now_ns(CLOCK_MONOTONIC);
		v->read_ns = v->read_at - now;
	}
	if (v->error < 0)
		return true; /* cannot tell: do not risk breaking one */
	return inuse_lookup(v->set, makedev(stx->stx_dev_major, stx->stx_dev_minor), stx->stx_ino,
			    &why, NULL) &&
	       streq(why, "leased");
}

static int call(struct scan_state *s, const struct scan_entry *e)
{
	int ret;

	if (s->stopped)
		return WALK_STOP;
	ret = s->fn(e, s->userdata);
	if (ret == WALK_STOP)
		s->stopped = true;
	return ret;
}

static bool copy_str(char **dst, size_t *cap, const char *src, size_t len)
{
	if (len + 1 > *cap) {
		size_t nc = MAX(len + 1, (size_t)64);
		char *p = realloc(*dst, nc);
		if (!p)
			return false;
		*dst = p;
		*cap = nc;
	}
	memcpy(*dst, src, len);
	(*dst)[len] = '\0';
	return true;
}

static void cache_forget(struct scan_state *s, unsigned depth)
{
	if (depth < DUP_CACHE)
		s->cache[depth].dup = -1;
}

/* Hand every queued entry over, after the batch's attribution, in the order they came. */
static int flush(struct scan_state *s)
{
	if (s->n_pend == 0)
		return s->stopped ? WALK_STOP : WALK_CONTINUE;
	pages_batch_run(s->pc);
	for (size_t i = 0; i < s->n_pend; i++) {
		const struct pending *p = &s->pend[i];
		const struct walk_entry w = {.dirfd = p->dirfd, .name = p->name, .path = p->path,
					     .path_len = p->path_len, .stx = &p->stx,
					     .depth = p->depth, .leaving = p->slot < 0};
		struct scan_entry e = {.w = &w};

		if (p->slot >= 0)
			e.pages = pages_batch_result(s->pc, (size_t)p->slot, &e.error);
		call(s, &e);
	}
	pages_batch_clear(s->pc);
	for (size_t i = 0; i < s->n_dups; i++)
		close(s->dups[i]);
	for (size_t d = 0; d < DUP_CACHE; d++)
		s->cache[d].dup = -1;
	s->n_dups = 0;
	s->n_pend = 0;
	return s->stopped ? WALK_STOP : WALK_CONTINUE;
}

/* Fill the next queue entry for w (not counted yet): its parent fd duplicated, its
 * names copied. */
static int prepare(struct scan_state *s, const struct walk_entry *w)
{
	struct pending *p = &s->pend[s->n_pend];
	int d = -1;

	if (w->depth < DUP_CACHE && s->cache[w->depth].dup >= 0 &&
	    s->cache[w->depth].orig == w->dirfd)
		d = s->cache[w->depth].dup;
	else {
		/* One per entry queued, and a few for entries that could not be after all. */
		if (s->n_dups == ARRAY_SIZE(s->dups))
			return -EMFILE;
		d = fcntl(w->dirfd, F_DUPFD_CLOEXEC, 3);
		if (d < 0)
			return negative_errno();
		s->dups[s->n_dups++] = d;
		if (w->depth < DUP_CACHE) {
			s->cache[w->depth].orig = w->dirfd;
			s->cache[w->depth].dup = d;
		}
	}
	if (!copy_str(&p->name, &p->name_cap, w->name, strlen(w->name)) ||
	    !copy_str(&p->path, &p->path_cap, w->path, w->path_len))
		return -ENOMEM;
	p->dirfd = d;
	p->depth = w->depth;
	p->stx = *w->stx;
	p->path_len = w->path_len;
	p->slot = -1;
	return 0;
}

/* Queue a small file in the page batch. Returns a walk_ret when the batch took fd, or
 * -errno when it did not (fd is still the caller's). */
static int enqueue(struct scan_state *s, const struct walk_entry *w, int fd)
{
	int r;

	if (s->n_pend == PENDING_MAX && flush(s) == WALK_STOP)
		return -ECANCELED;
	for (;;) {
		r = prepare(s, w);
		if (r < 0)
			return r;
		r = pages_batch_add(s->pc, fd, w->stx->stx_size, w->stx->stx_blocks);
		if (r != -ENOSPC)
			break;
		if (flush(s) == WALK_STOP) /* the batch is full: run it, then again */
			return -ECANCELED;
	}
	if (r < 0)
		return r;
	if (s->n_pend == 0)
		s->held_since = now_ns(CLOCK_MONOTONIC);
	s->pend[s->n_pend++].slot = r;
	return WALK_CONTINUE;
}

/* A directory's leaving call: after the files queued before it. */
static int leave(struct scan_state *s, const struct scan_entry *e)
{
	int ret;

	if (!s->post_order)
		ret = WALK_CONTINUE;
	else if (s->n_pend == 0 || (s->n_pend == PENDING_MAX && flush(s) == WALK_STOP))
		ret = call(s, e);
	else if (prepare(s, e->w) < 0)
		ret = flush(s) == WALK_STOP ? WALK_STOP : call(s, e);
	else {
		s->n_pend++;
		ret = s->stopped ? WALK_STOP : WALK_CONTINUE;
	}
	/* The directory's own fd, its entries' dirfd, is closed after this. */
	cache_forget(s, e->w->depth + 1);
	return ret;
}

static int on_entry(const struct walk_entry *w, void *userdata)
{
	struct scan_state *s = userdata;
	struct scan_entry e = {.w = w};
	int fd, r;

	if (s->n_pend && now_ns(CLOCK_MONOTONIC) - s->held_since >= BATCH_HOLD_NS &&
	    flush(s) == WALK_STOP)
		return WALK_STOP;
	if (w->leaving)
		return leave(s, &e);
	if (!s->pc || !S_ISREG(w->stx->stx_mode) || w->stx->stx_blocks == 0 ||
	    (s->want && !s->want(w->stx, s->userdata)))
		return call(s, &e);
	if (s->leases && is_leased(s->leases, w->stx)) {
		e.error = -EWOULDBLOCK;
		return call(s, &e);
	}
	fd = walk_open_file(w->dirfd, w->name, w->stx);
	if (fd < 0) {
		e.error = fd;
		return call(s, &e);
	}
	if (pages_batchable(s->pc, w->stx->stx_size, w->stx->stx_blocks)) {
		r = enqueue(s, w, fd);
		if (r >= 0)
			return r;
		if (r == -ECANCELED) {
			close(fd);
			return WALK_STOP;
		}
		/* No fd or memory to queue it, or mapping it failed: on its own. */
	}
	e.error = pages_scan_file(s->pc, fd, w->stx->stx_size, w->stx->stx_blocks, &s->ps);
	if (e.error == 0)
		e.pages = &s->ps;
	close(fd);
	return call(s, &e);
}

int scan_mount(struct pages_ctx *pc, int root_fd, const char *root_path, const struct walk_opts *o,
	       struct lease_view *leases, scan_want_fn want, scan_fn fn, void *userdata,
	       struct walk_stats *st)
{
	struct scan_state s = {
		.pc = pc, .leases = leases, .want = want, .fn = fn, .userdata = userdata,
		.post_order = o && (o->flags & WALK_POST_ORDER),
	};
	/* Post-order always: leaving a directory flushes the batch of its files. */
	struct walk_opts wo = o ? *o : (struct walk_opts){0};
	int r;

	wo.flags |= WALK_POST_ORDER;
	if (pc)
		pages_set_deadline(pc, wo.deadline_ns);
	for (size_t d = 0; d < DUP_CACHE; d++)
		s.cache[d].dup = -1;
	r = walk_tree(root_fd, root_path, &wo, on_entry, &s, st);
	flush(&s); /* what is still queued: its parent fds are ours */
	if (pc)
		pages_batch_clear(pc);
	for (size_t i = 0; i < ARRAY_SIZE(s.pend); i++) {
		free(s.pend[i].name);
		free(s.pend[i].path);
	}
	page_scan_done(&s.ps);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t page_scan_charged_to(const struct page_scan *s, const uint64_t *inos, size_t n)
{
	uint64_t sum = 0;

	assert(s);
	assert(inos || !n);

	for (size_t i = 0; i < s->n_charges; i++)
		if (bsearch(&s->charges[i].ino, inos, n, sizeof(*inos), cmp_u64))
			sum += s->charges[i].bytes;
	return sum;
}

const char *scan_type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "file";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "symlink";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	case S_IFCHR: return "chardev";
	case S_IFBLK: return "blockdev";
	}
	return "unknown";
}

/*
 * The JSON lines of a scan are most of its cost over a large tree (100,000 files: printf
 * and strftime took two thirds of the time). The fixed fields of a line are written into
 * a stack buffer and added to the line at once: keys are literals that need no escaping,
 * numbers and times are formatted by hand, and the date part of a timestamp once per
 * distinct second (the files of a tree are mostly born within a few seconds). Only names
 * (path, cgroup) go through the escaping writer. The output is byte-identical to
 * json_kv_u64/json_kv_str/sbuf_add_time_ns (tests/unit/test_scan_json.c).
 */
#define FIXED_MAX 512 /* > the longest fixed part: ~150 bytes of keys, 6 numbers, 2 times */

static char *put_lit(char *p, const char *lit, size_t n)
{
	memcpy(p, lit, n);
	return p + n;
}
#define LIT(p, lit) put_lit(p, lit, sizeof(lit) - 1)

static char *put_u64(char *p, uint64_t v)
{
	char d[20];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return put_lit(p, d + i, sizeof(d) - i);
}

/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" in quotes, as sbuf_add_time_ns writes it. */
static char *put_time(struct scan_json *s, char *p, uint64_t ns)
{
	time_t sec = (time_t)(ns / NSEC_PER_SEC);
	uint32_t frac = (uint32_t)(ns % NSEC_PER_SEC);
	size_t n;

	if (sec != s->last_sec || !s->last_sec_str[0]) {
		struct tm tm;
		if (!gmtime_r(&sec, &tm) ||
		    !strftime(s->last_sec_str, sizeof(s->last_sec_str), "%Y-%m-%dT%H:%M:%S", &tm))
			s->last_sec_str[0] = '\0';
		s->last_sec = sec;
	}
	*p++ = '"';
	n = strlen(s->last_sec_str);
	if (n == 0) /* out of gmtime's range: sbuf_add_time_ns's fallback */
		return LIT(put_u64(LIT(p, "@"), ns), "\"");
	p = put_lit(p, s->last_sec_str, n);
	*p++ = '.';
	for (int i = 8; i >= 0; i--, frac /= 10)
		p[i] = (char)('0' + frac % 10);
	return LIT(p + 9, "Z\"");
}

void scan_json_line(struct sbuf *b, struct scan_json *c, const struct scan_entry *e,
		    const uint64_t *charged, const char *(*cg_name)(uint64_t ino, void *userdata),
		    void *userdata)
{
	const struct statx *x;
	char fixed[FIXED_MAX], *p = fixed;
	const char *type;

	assert(b);
	assert(c);
	assert(e && e->w && e->w->stx);
	assert(cg_name);

	x = e->w->stx;
	type = scan_type_name(x->stx_mode);
	sbuf_reset(b);
	json_begin(b);
	json_kv_strn(b, "path", e->w->path, e->w->path_len);
	p = LIT(p, ",\"type\":\"");
	p = put_lit(p, type, strlen(type));
	p = put_u64(LIT(p, "\",\"size\":"), x->stx_size);
	p = put_u64(LIT(p, ",\"allocated\":"), x->stx_blocks * 512);
	p = put_u64(LIT(p, ",\"uid\":"), x->stx_uid);
	p = put_u64(LIT(p, ",\"nlink\":"), x->stx_nlink);
	p = LIT(p, ",\"btime\":");
	if (x->stx_mask & STATX_BTIME)
		p = put_time(c, p, statx_ts_ns(&x->stx_btime));
	else
		p = LIT(p, "null");
	p = put_time(c, LIT(p, ",\"ctime\":"), statx_ts_ns(&x->stx_ctime));
	if (e->pages) {
		p = put_u64(LIT(p, ",\"resident_bytes\":"), e->pages->resident_bytes);
		p = put_u64(LIT(p, ",\"unknown_bytes\":"), e->pages->unknown_bytes);
		if (charged)
			p = put_u64(LIT(p, ",\"charged_bytes\":"), *charged);
		p = LIT(p, ",\"charges\":[");
	}
	sbuf_add(b, fixed, (size_t)(p - fixed));
	if (e->pages) {
		for (size_t i = 0; i < e->pages->n_charges; i++) {
			if (i)
				sbuf_addc(b, ',');
			json_begin(b);
			json_kv_str(b, "cgroup", cg_name(e->pages->charges[i].ino, userdata));
			p = put_u64(LIT(fixed, ",\"ino\":"), e->pages->charges[i].ino);
			p = put_u64(LIT(p, ",\"bytes\":"), e->pages->charges[i].bytes);
			sbuf_add(b, fixed, (size_t)(p - fixed));
			json_end(b);
		}
		sbuf_addc(b, ']');
		if (e->pages->fallocated_bytes)
			json_kv_u64(b, "fallocated_bytes", e->pages->fallocated_bytes);
		if (e->pages->unknown) {
			char why[64];
			json_kv_str(b, "unknown",
				    pages_unknown_str(e->pages->unknown, why, sizeof(why)));
		}
		if (e->pages->changed)
			json_kv_bool(b, "changed", true);
	}
	if (e->error)
		json_kv_str(b, "error", strerror(-e->error));
	json_end(b);
	sbuf_addc(b, '\n');
}
