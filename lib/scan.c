/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "scan.h"
#include "inuse.h"
#include "util.h"

#include <sys/sysmacros.h>

struct scan_state {
	struct pages_ctx *pc;
	struct page_scan ps;
	struct lease_view *leases;
	scan_want_fn want;
	scan_fn fn;
	void *userdata;
};

void lease_view_done(struct lease_view *v)
{
	inuse_free(v->set);
	*v = (struct lease_view){0};
}

static bool is_leased(struct lease_view *v, const struct statx *stx)
{
	const char *why = NULL;

	if (!v->loaded) {
		v->error = inuse_snapshot_locks(v->devs, v->n_devs, &v->set);
		v->loaded = true;
	}
	if (v->error < 0)
		return true; /* cannot tell: do not risk breaking one */
	return inuse_lookup(v->set, makedev(stx->stx_dev_major, stx->stx_dev_minor), stx->stx_ino,
			    &why, NULL) &&
	       streq(why, "leased");
}

static int on_entry(const struct walk_entry *w, void *userdata)
{
	struct scan_state *s = userdata;
	struct scan_entry e = {.w = w};

	if (s->pc && !w->leaving && S_ISREG(w->stx->stx_mode) && w->stx->stx_blocks > 0 &&
	    (!s->want || s->want(w->stx, s->userdata))) {
		int fd;

		if (s->leases && is_leased(s->leases, w->stx)) {
			e.error = -EWOULDBLOCK;
			return s->fn(&e, s->userdata);
		}
		fd = walk_open_file(w->dirfd, w->name, w->stx);
		if (fd < 0)
			e.error = fd;
		else {
			e.error = pages_scan_fd(s->pc, fd, w->stx->stx_size, &s->ps);
			if (e.error == 0)
				e.pages = &s->ps;
			close(fd);
		}
	}
	return s->fn(&e, s->userdata);
}

int scan_mount(struct pages_ctx *pc, int root_fd, const char *root_path, const struct walk_opts *o,
	       struct lease_view *leases, scan_want_fn want, scan_fn fn, void *userdata,
	       struct walk_stats *st)
{
	struct scan_state s = {
		.pc = pc, .leases = leases, .want = want, .fn = fn, .userdata = userdata,
	};
	int r = walk_tree(root_fd, root_path, o, on_entry, &s, st);

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

	for (size_t i = 0; i < s->n_charges; i++)
		if (bsearch(&s->charges[i].ino, inos, n, sizeof(*inos), cmp_u64))
			sum += s->charges[i].bytes;
	return sum;
}
