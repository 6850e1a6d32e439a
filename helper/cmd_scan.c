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
#include "walkers.h"

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio_ext.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

/*
 * --jobs N: N walkers (walkers.h). Each writes its own lines; stdout's buffer is written
 * out under a lock they share and only after whole lines, so lines never mix, whatever
 * stdout is. Each walker's figures come back through the shared page too.
 */
#define OUT_BUF (1 << 17)   /* stdout's buffer */
#define OUT_FLUSH (1 << 16) /* pending bytes written out (whole lines) from this on */

struct scan_shared {
	pthread_mutex_t out_lock; /* robust: a walker killed holding it does not hang the rest */
	struct {
		uint64_t files, resident, changed;
		bool incomplete, done;
		int error;
	} job[WALKERS_MAX];
};

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
	FILE *line;             /* a human line is printed here first, then written whole */
	char *line_buf;
	size_t line_len;
	struct scan_shared *shared; /* --jobs > 1 */
	struct walkers w;
	bool lost;                  /* a walker ended without its figures */
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

static void out_lock(struct scan_cmd *s)
{
	if (s->shared && pthread_mutex_lock(&s->shared->out_lock) == EOWNERDEAD)
		pthread_mutex_consistent(&s->shared->out_lock); /* what it wrote was whole lines */
}

static void out_unlock(struct scan_cmd *s)
{
	if (s->shared)
		pthread_mutex_unlock(&s->shared->out_lock);
}

/* What stdout holds (whole lines), written out with no other walker writing. */
static void out_flush(struct scan_cmd *s)
{
	out_lock(s);
	if (fflush(stdout) != 0 && !s->error)
		s->error = -errno;
	out_unlock(s);
}

/* One whole line into stdout's buffer, which is written out before it would pass OUT_FLUSH:
 * stdio never writes on its own (OUT_BUF holds OUT_FLUSH and the line), so never half a
 * line. A line longer than OUT_FLUSH goes out at once, under the lock. */
static void out_line(struct scan_cmd *s, const char *buf, size_t len)
{
	if (__fpending(stdout) + len > OUT_FLUSH)
		out_flush(s);
	if (len <= OUT_FLUSH) {
		fwrite(buf, 1, len, stdout);
		return;
	}
	out_lock(s);
	if ((fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) && !s->error)
		s->error = -errno;
	out_unlock(s);
}

static void emit_json(struct scan_cmd *s, const struct scan_entry *e, uint64_t charged)
{
	scan_json_line(&s->out, &s->jc, e, s->n_filter ? &charged : NULL, cg_name, s);
	if (sbuf_str(&s->out))
		out_line(s, s->out.buf, s->out.len);
	else
		s->error = -ENOMEM;
}

static void print_human(FILE *f, struct scan_cmd *s, const struct scan_entry *e)
{
	const struct statx *x = e->w->stx;
	char s1[32], s2[32], t[32], u[USER_NAME_MAX + 1];
	const char *cg = "-";

	if (e->pages && e->pages->n_charges) {
		cg = cg_name(e->pages->charges[0].ino, s);
		if (!cg)
			cg = "?";
	}
	fprintf(f, "%9s %9s  %-10s %-19s  ",
	       fmt_size(s1, sizeof(s1), e->pages ? e->pages->resident_bytes : 0),
	       fmt_size(s2, sizeof(s2), x->stx_size), fmt_user(u, sizeof(u), x->stx_uid),
	       fmt_time(t, sizeof(t), (x->stx_mask & STATX_BTIME) ? statx_ts_ns(&x->stx_btime) : 0));
	print_name_pad(f, cg, 24); /* a cgroup's name is anyone's with a delegated tree */
	fputc(' ', f);
	print_name(f, e->w->path, e->w->path_len);
	if (!S_ISREG(x->stx_mode))
		fprintf(f, "  [%s]", scan_type_name(x->stx_mode));
	if (e->pages && e->pages->n_charges > 1)
		fprintf(f, "  (+%zu more cgroups)", e->pages->n_charges - 1);
	fputc('\n', f);
}

/* A table line, printed into s->line, then written as one line. */
static void emit_human(struct scan_cmd *s, const struct scan_entry *e)
{
	off_t len;

	if (!s->line) {
		s->line = open_memstream(&s->line_buf, &s->line_len);
		if (!s->line) {
			s->error = -ENOMEM;
			return;
		}
	}
	rewind(s->line);
	print_human(s->line, s, e);
	if (fflush(s->line) != 0 || (len = ftello(s->line)) < 0) {
		s->error = -ENOMEM;
		return;
	}
	out_line(s, s->line_buf, (size_t)len);
}

/* A walker's end: its figures where the first finds them. */
static _Noreturn void end_walker(struct scan_cmd *s, unsigned share, bool incomplete)
{
	out_flush(s);
	s->shared->job[share].files = s->files;
	s->shared->job[share].resident = s->resident;
	s->shared->job[share].changed = s->changed;
	s->shared->job[share].incomplete = incomplete;
	s->shared->job[share].error = s->error;
	__atomic_store_n(&s->shared->job[share].done, true, __ATOMIC_RELEASE);
	_exit(EXIT_OK);
}

/* The first walker, done with its share: the others' figures added to its own. Returns
 * whether one was cut short (or ended without its figures: killed). */
static bool wait_walkers(struct scan_cmd *s, unsigned shares)
{
	bool incomplete = false, pipe_gone = false;

	for (unsigned k = 1; k < shares; k++) {
		const typeof(s->shared->job[0]) *j = &s->shared->job[k];
		int status;

		walkers_wait(&s->w, k, &status);
		if (!__atomic_load_n(&j->done, __ATOMIC_ACQUIRE)) {
			if (WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE)
				pipe_gone = true; /* the reader went away: as one walker ends then */
			else {
				walkers_say_lost("scan", k, status);
				incomplete = s->lost = true;
			}
			continue;
		}
		s->files += j->files;
		s->resident += j->resident;
		s->changed += j->changed;
		incomplete |= j->incomplete;
		if (j->error && !s->error)
			s->error = j->error;
	}
	if (pipe_gone) {
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
		s->lost = true;
	}
	return incomplete;
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

/* Walk every root (this walker's share of each), printing as on_entry says. Returns
 * whether a walk was cut short. */
static bool scan_roots(struct scan_cmd *s, struct pages_ctx *pc, const struct roots *roots,
		       unsigned share, unsigned shares)
{
	struct lease_view leases = {0};
	struct walk_opts wo = {.share = share, .shares = shares};
	bool incomplete = false;

	for (size_t i = 0; i < roots->n && !s->error; i++) {
		struct walk_stats st;
		int r = scan_mount(pc, roots->v[i].fd, roots->v[i].path, &wo, &leases, NULL,
				   on_entry, s, &st);
		if (r < 0 || st.incomplete) {
			incomplete = true;
			warnx_("scan: %s: incomplete (%s)", roots->v[i].path,
			       r < 0 ? strerror(-r) : st.incomplete_reason);
		}
	}
	lease_view_done(&leases);
	return incomplete;
}

/* The lock and the figures' page, then the walkers; in a walker, its own page attribution
 * and roots. Returns 0 in the first and in each walker (s->w.share says which). */
static int start_walkers(struct scan_cmd *s, struct pages_ctx **pc, struct roots *roots,
			 unsigned jobs)
{
	pthread_mutexattr_t a;
	int r;

	s->shared = mmap(NULL, sizeof(*s->shared), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->shared == MAP_FAILED) {
		s->shared = NULL;
		return negative_errno();
	}
	if (pthread_mutexattr_init(&a) || pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) ||
	    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) ||
	    pthread_mutex_init(&s->shared->out_lock, &a))
		return -EINVAL;
	pthread_mutexattr_destroy(&a);
	if (fflush(stdout) != 0) /* what is buffered would be written by every walker */
		return negative_errno();
	if ((r = walkers_start(&s->w, jobs, false)) < 0 || s->w.share == 0)
		return r;
	r = walkers_own_pages(pc);
	for (size_t i = 0; i < roots->n && r == 0; i++)
		r = walkers_own_dir(&roots->v[i].fd);
	if (r < 0) {
		warnx_("scan: walker %u: %s", s->w.share, strerror(-r));
		s->error = r;
		end_walker(s, s->w.share, true);
	}
	return 0;
}

int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{"mount", required_argument, NULL, 'm'}, {"user", required_argument, NULL, 'u'},
		{"since", required_argument, NULL, 's'}, {"cgroup", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},        {"help", no_argument, NULL, 'h'},
		{"jobs", required_argument, NULL, 'J'},
		{},
	};
	struct scan_cmd s = {.root.fd = -1, .w.shares = 1};
	_cleanup_free_ char **mounts = NULL;
	const char *cgroup_arg = NULL, *bad = NULL;
	struct pages_ctx *pc = NULL;
	struct roots roots = {0};
	size_t n_mounts = 0;
	unsigned jobs = walkers_default();
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
		case 'J':
			if (walkers_parse(optarg, &jobs) < 0)
				return fail(EXIT_USAGE, "scan: --jobs wants 1 to %d, not '%s'",
					    WALKERS_MAX, optarg);
			break;
		case 'h':
			printf("Usage: tmpfs-sweep scan [--mount M]... [--user U] [--since T] "
			       "[--cgroup CG] [--json] [--jobs N]\n");
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
	/* A large buffer: one write per 64 KiB of lines rather than per 4 KiB, and room for
	 * out_line's whole lines (on a terminal, written line by line as before). glibc
	 * ignores the size unless it is given the buffer too. */
	static char outbuf[OUT_BUF];
	setvbuf(stdout, outbuf, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, sizeof(outbuf));
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
	if (jobs > 1 && (r = start_walkers(&s, &pc, &roots, jobs)) < 0) {
		ret = fail(EXIT_FAIL, "scan: %s", strerror(-r));
		goto out;
	}
	incomplete = scan_roots(&s, pc, &roots, s.w.share, s.w.shares);
	if (s.w.share > 0) /* a walker: its figures to the first, which reports them */
		end_walker(&s, s.w.share, incomplete);
	if (s.w.shares > 1)
		incomplete |= wait_walkers(&s, s.w.shares);
	if (s.changed) {
		incomplete = true;
		warnx_("scan: %" PRIu64 " file%s changed while scanned: incomplete", s.changed,
		       s.changed == 1 ? "" : "s");
	}
	if (!s.json) {
		char b[32];
		printf("%" PRIu64 " files, %s resident\n", s.files, fmt_size(b, sizeof(b), s.resident));
	}
	if (fflush(stdout) != 0 && !s.error)
		s.error = -errno;
	if (s.lost)
		ret = EXIT_FAIL; /* said by wait_walkers */
	else if (s.error)
		ret = fail(EXIT_FAIL, "scan: %s", strerror(-s.error));
	else
		ret = incomplete ? EXIT_INCOMPLETE : EXIT_OK;
out:
	sbuf_done(&s.out);
	if (s.line)
		fclose(s.line);
	free(s.line_buf);
	free(s.filter_inos);
	cg_list_done(&s.all);
	roots_close(&roots);
	pages_ctx_free(pc);
	if (s.have_root)
		cg_root_close(&s.root);
	return ret;
}
