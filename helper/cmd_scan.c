/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tmpfs-sweep scan: list the files on tmpfs mounts with owner, birth time and the
 * memory cgroups their resident pages are charged to. One JSON object per line with
 * --json, for scripts; a table otherwise.
 */
#include "cgroup.h"
#include "fileio.h"
#include "format.h"
#include "helper.h"
#include "inuse.h"
#include "json.h"
#include "roots.h"
#include "scan.h"
#include "users.h"
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <time.h>

struct scan_cmd {
	bool json;
	bool have_uid;
	uid_t uid;
	uint64_t since_ns;
	struct cg_root root;
	bool have_root;
	struct cg_list all;     /* every memory cgroup, for ino -> path; loaded when needed */
	bool all_loaded;
	uint64_t *filter_inos; /* --cgroup: it and its descendants, sorted */
	size_t n_filter;
	struct sbuf out;
	struct scan_json jc;
	uint64_t files, resident;
	uint64_t changed; /* files that changed while their pages were scanned */
	int error;
};

static const char *cg_name(uint64_t ino, void *userdata)
{
	struct scan_cmd *s = userdata;
	const struct cg_node *n;

	if (!s->have_root)
		return NULL;
	if (!s->all_loaded) {
		struct cgroup top = {.fd = -1};
		s->all_loaded = true;
		if (cg_open_rel(&s->root, "/", &top) == 0) {
			cg_list_descendants(&s->root, &top, &s->all);
			cgroup_done(&top);
		}
	}
	n = cg_list_find(&s->all, ino);
	return n ? n->rel : NULL;
}

static void emit_json(struct scan_cmd *s, const struct scan_entry *e, uint64_t charged)
{
	scan_json_line(&s->out, &s->jc, e, s->n_filter ? &charged : NULL, cg_name, s);
	if (sbuf_str(&s->out))
		fwrite(s->out.buf, 1, s->out.len, stdout);
	else
		s->error = -ENOMEM;
}

static void emit_human(struct scan_cmd *s, const struct scan_entry *e)
{
	const struct statx *x = e->w->stx;
	char s1[32], s2[32], t[32], u[USER_NAME_MAX + 1];
	const char *cg = "-";

	if (e->pages && e->pages->n_charges) {
		cg = cg_name(e->pages->charges[0].ino, s);
		if (!cg)
			cg = "?";
	}
	printf("%9s %9s  %-10s %-19s  ",
	       fmt_size(s1, sizeof(s1), e->pages ? e->pages->resident_bytes : 0),
	       fmt_size(s2, sizeof(s2), x->stx_size), fmt_user(u, sizeof(u), x->stx_uid),
	       fmt_time(t, sizeof(t), (x->stx_mask & STATX_BTIME) ? statx_ts_ns(&x->stx_btime) : 0));
	print_name_pad(stdout, cg, 24); /* a cgroup's name is anyone's with a delegated tree */
	putchar(' ');
	print_name(stdout, e->w->path, e->w->path_len);
	if (!S_ISREG(x->stx_mode))
		printf("  [%s]", scan_type_name(x->stx_mode));
	if (e->pages && e->pages->n_charges > 1)
		printf("  (+%zu more cgroups)", e->pages->n_charges - 1);
	putchar('\n');
}

static int on_entry(const struct scan_entry *e, void *userdata)
{
	struct scan_cmd *s = userdata;
	const struct statx *x = e->w->stx;
	uint64_t charged = 0;

	if (e->w->leaving || S_ISDIR(x->stx_mode))
		return WALK_CONTINUE;
	if (s->have_uid && x->stx_uid != s->uid)
		return WALK_CONTINUE;
	if (s->since_ns && (!(x->stx_mask & STATX_BTIME) || statx_ts_ns(&x->stx_btime) < s->since_ns))
		return WALK_CONTINUE;
	/* Its pages were counted while it shrank or grew: the answer is not whole. */
	if (e->pages && e->pages->changed)
		s->changed++;
	if (s->n_filter) {
		if (!e->pages)
			return WALK_CONTINUE;
		charged = page_scan_charged_to(e->pages, s->filter_inos, s->n_filter);
		if (!charged)
			return WALK_CONTINUE;
	}
	s->files++;
	if (e->pages)
		s->resident += e->pages->resident_bytes;
	if (s->json)
		emit_json(s, e, charged);
	else
		emit_human(s, e);
	return s->error ? WALK_STOP : WALK_CONTINUE;
}

int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{"mount", required_argument, NULL, 'm'}, {"user", required_argument, NULL, 'u'},
		{"since", required_argument, NULL, 's'}, {"cgroup", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},        {"help", no_argument, NULL, 'h'},
		{},
	};
	struct scan_cmd s = {.root.fd = -1};
	_cleanup_free_ char **mounts = NULL;
	const char *cgroup_arg = NULL, *bad = NULL;
	struct pages_ctx *pc = NULL;
	struct roots roots = {0};
	struct lease_view leases = {0};
	size_t n_mounts = 0;
	bool incomplete = false;
	int c, r, ret = EXIT_FAIL;

	mounts = calloc((size_t)argc, sizeof(char *));
	if (!mounts)
		return fail(EXIT_FAIL, "scan: out of memory");
	while ((c = getopt_long(argc, argv, "m:u:s:c:jh", opts, NULL)) >= 0) {
		switch (c) {
		case 'm':
			mounts[n_mounts++] = optarg;
			break;
		case 'u': {
			struct user_info ui;

			if (parse_user_arg(optarg, &ui) < 0)
				return fail(EXIT_NOTFOUND, "scan: no such user '%s'", optarg);
			s.uid = ui.uid;
			s.have_uid = true;
			break;
		}
		case 's':
			if (parse_time_arg(optarg, &s.since_ns) < 0)
				return fail(EXIT_USAGE, "scan: --since wants seconds since the epoch or "
							"YYYY-MM-DD[ HH:MM[:SS]], not '%s'", optarg);
			break;
		case 'c':
			cgroup_arg = optarg;
			break;
		case 'j':
			s.json = true;
			break;
		case 'h':
			printf("Usage: tmpfs-sweep scan [--mount M]... [--user U] [--since T] "
			       "[--cgroup CG] [--json]\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return fail(EXIT_USAGE, "scan: unexpected argument '%s'", argv[optind]);
	if (!need_root())
		return fail(EXIT_NOPERM, "scan: must be run as root (page attribution reads "
					 "/proc/kpagecgroup)");
	/* A large buffer: one write per 64 KiB of JSON lines rather than per 4 KiB. glibc
	 * ignores the size unless it is given the buffer too. */
	if (s.json) {
		static char outbuf[1 << 16];
		setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	}
	r = cg_root_open(NULL, &s.root);
	s.have_root = r == 0;
	if (cgroup_arg) {
		struct cgroup cg = {.fd = -1};
		if (!s.have_root)
			return fail(EXIT_NOMEMCG, "scan: no memory controller is mounted");
		r = cg_resolve(&s.root, cgroup_arg, &cg);
		if (r < 0) {
			cg_root_close(&s.root);
			return fail(r == -ENOMEDIUM ? EXIT_NOMEMCG : EXIT_NOTFOUND,
				    "scan: %s: no such memory cgroup", cgroup_arg);
		}
		r = cg_descendant_inos(&s.root, &cg, &s.filter_inos, &s.n_filter);
		cgroup_done(&cg);
		if (r < 0) {
			cg_root_close(&s.root);
			return fail(EXIT_FAIL, "scan: %s: cannot list its descendants", cgroup_arg);
		}
	}
	r = roots_open(mounts, n_mounts, &roots, &bad);
	if (r < 0) {
		ret = bad ? fail(r == -ENOENT ? EXIT_NOTFOUND : EXIT_NOTTMPFS,
				 "scan: %s: not a tmpfs mount point%s%s", bad,
				 r == -ELOOP ? " (a symlink)" : r == -ENOENT ? " (no such path)" : "",
				 r == -EPERM ? " (refusing /)" : "")
			  : fail(EXIT_FAIL, "scan: tmpfs mounts: %s", strerror(-r));
		goto out;
	}
	if ((r = pages_ctx_new(&pc)) < 0) {
		ret = fail(EXIT_FAIL, "scan: page attribution: %s", strerror(-r));
		goto out;
	}
	if (!s.json)
		printf("%9s %9s  %-10s %-19s  %-24s %s\n", "RESIDENT", "SIZE", "OWNER", "BORN",
		       "CGROUP", "PATH");
	for (size_t i = 0; i < roots.n && !s.error; i++) {
		struct walk_stats st;
		r = scan_mount(pc, roots.v[i].fd, roots.v[i].path, NULL, &leases, NULL, on_entry, &s, &st);
		if (r < 0 || st.incomplete) {
			incomplete = true;
			warnx_("scan: %s: incomplete (%s)", roots.v[i].path,
			       r < 0 ? strerror(-r) : st.incomplete_reason);
		}
	}
	if (s.changed) {
		incomplete = true;
		warnx_("scan: %" PRIu64 " file%s changed while scanned: incomplete", s.changed,
		       s.changed == 1 ? "" : "s");
	}
	if (!s.json) {
		char b[32];
		printf("%" PRIu64 " files, %s resident\n", s.files, fmt_size(b, sizeof(b), s.resident));
	}
	if (fflush(stdout) != 0 || s.error)
		ret = fail(EXIT_FAIL, "scan: output: %s", strerror(s.error ? -s.error : errno));
	else
		ret = incomplete ? EXIT_INCOMPLETE : EXIT_OK;
out:
	sbuf_done(&s.out);
	free(s.filter_inos);
	cg_list_done(&s.all);
	lease_view_done(&leases);
	roots_close(&roots);
	pages_ctx_free(pc);
	if (s.have_root)
		cg_root_close(&s.root);
	return ret;
}
