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
#include "util.h"

#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
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
	time_t last_sec; /* the last second formatted, and its text, for put_time() */
	char last_sec_str[24];
	uint64_t files, resident;
	uint64_t changed; /* files that changed while their pages were scanned */
	int error;
};

static const char *type_name(mode_t m)
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

static const char *cg_name(struct scan_cmd *s, uint64_t ino)
{
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

static uint64_t ts_ns(const struct statx_timestamp *t)
{
	return (uint64_t)t->tv_sec * NSEC_PER_SEC + t->tv_nsec;
}

/*
 * The JSON lines of a scan are most of its cost over a large tree (100,000 files: printf
 * and strftime took two thirds of the time). The fixed fields of a line are written into
 * a stack buffer and added to the line at once: keys are literals that need no escaping,
 * numbers and times are formatted by hand, and the date part of a timestamp once per
 * distinct second (the files of a tree are mostly born within a few seconds). Only names
 * (path, cgroup) go through the escaping writer. The output is byte-identical to
 * json_kv_u64/json_kv_str/sbuf_add_time_ns.
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
static char *put_time(struct scan_cmd *s, char *p, uint64_t ns)
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

static void emit_json(struct scan_cmd *s, const struct scan_entry *e, uint64_t charged)
{
	const struct statx *x = e->w->stx;
	struct sbuf *b = &s->out;
	char fixed[FIXED_MAX], *p = fixed;
	const char *type = type_name(x->stx_mode);

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
		p = put_time(s, p, ts_ns(&x->stx_btime));
	else
		p = LIT(p, "null");
	p = put_time(s, LIT(p, ",\"ctime\":"), ts_ns(&x->stx_ctime));
	if (e->pages) {
		p = put_u64(LIT(p, ",\"resident_bytes\":"), e->pages->resident_bytes);
		p = put_u64(LIT(p, ",\"unknown_bytes\":"), e->pages->unknown_bytes);
		if (s->n_filter)
			p = put_u64(LIT(p, ",\"charged_bytes\":"), charged);
		p = LIT(p, ",\"charges\":[");
	}
	sbuf_add(b, fixed, (size_t)(p - fixed));
	if (e->pages) {
		for (size_t i = 0; i < e->pages->n_charges; i++) {
			if (i)
				sbuf_addc(b, ',');
			json_begin(b);
			json_kv_str(b, "cgroup", cg_name(s, e->pages->charges[i].ino));
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
	if (sbuf_str(b))
		fwrite(b->buf, 1, b->len, stdout);
	else
		s->error = -ENOMEM;
}

static void emit_human(struct scan_cmd *s, const struct scan_entry *e)
{
	const struct statx *x = e->w->stx;
	char s1[32], s2[32], t[32], u[64];
	const char *cg = "-";

	if (e->pages && e->pages->n_charges) {
		cg = cg_name(s, e->pages->charges[0].ino);
		if (!cg)
			cg = "?";
	}
	printf("%9s %9s  %-10s %-19s  ",
	       fmt_size(s1, sizeof(s1), e->pages ? e->pages->resident_bytes : 0),
	       fmt_size(s2, sizeof(s2), x->stx_size), fmt_user(u, sizeof(u), x->stx_uid),
	       fmt_time(t, sizeof(t), (x->stx_mask & STATX_BTIME) ? ts_ns(&x->stx_btime) : 0));
	print_name_pad(stdout, cg, 24); /* a cgroup's name is anyone's with a delegated tree */
	putchar(' ');
	print_name(stdout, e->w->path, e->w->path_len);
	if (!S_ISREG(x->stx_mode))
		printf("  [%s]", type_name(x->stx_mode));
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
	if (s->since_ns && (!(x->stx_mask & STATX_BTIME) || ts_ns(&x->stx_btime) < s->since_ns))
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

static int parse_user(const char *arg, uid_t *ret)
{
	struct passwd *pw;
	uint64_t v;

	if (parse_u64(arg, &v) == 0 && v < UINT32_MAX) {
		*ret = (uid_t)v;
		return 0;
	}
	pw = getpwnam(arg);
	if (!pw)
		return -ENOENT;
	*ret = pw->pw_uid;
	return 0;
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
		case 'u':
			if (parse_user(optarg, &s.uid) < 0)
				return fail(EXIT_NOTFOUND, "scan: no such user '%s'", optarg);
			s.have_uid = true;
			break;
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
	sbuf_free(&s.out);
	free(s.filter_inos);
	cg_list_free(&s.all);
	lease_view_done(&leases);
	roots_close(&roots);
	pages_ctx_free(pc);
	if (s.have_root)
		cg_root_close(&s.root);
	return ret;
}
