/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `tmpfs-sweep close ID [--dry-run] [--conf FILE]`: what the module runs at logout.
 * Loads the session record, walks the recorded tmpfs mounts, classifies what the
 * session left (charged / created / owned) and writes the audit lines; then removes
 * the record. REPORT-ONLY until lib/policy and lib/remove land: nothing is removed.
 */
#include "helper.h"
#include "cgroup.h"
#include "fileio.h"
#include "json.h"
#include "mounts.h"
#include "record.h"
#include "scan.h"
#include "settings.h"
#include "util.h"

#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#define CLOSE_BUDGET_NS (4 * NSEC_PER_SEC) /* inside the module's default 5 s deadline */

struct close_ctx {
	const struct session_record *rec;
	uint64_t *inos; /* the session cgroup and its descendants, sorted; NULL: none */
	size_t n_inos;
	uint64_t now_ns;
	bool dry_run;
	int audit_fd; /* -1: stdout (dry run) */
	struct sbuf line;
	/* summary */
	uint64_t files, bytes, charged_bytes, errors;
	bool incomplete;
};

/*
 * AUDIT (interim): every audit line of `close` goes through here. The lead swaps this
 * one function for lib/audit (file + journald).
 */
static void audit_emit(struct close_ctx *c)
{
	sbuf_addc(&c->line, '\n');
	if (!sbuf_str(&c->line) ||
	    write_all(c->audit_fd >= 0 ? c->audit_fd : STDOUT_FILENO, c->line.buf, c->line.len) < 0)
		c->errors++;
	sbuf_reset(&c->line);
}

static void add_time(struct sbuf *b, const char *key, uint64_t ns)
{
	json_key(b, key);
	sbuf_addc(b, '"');
	sbuf_add_time_ns(b, ns);
	sbuf_addc(b, '"');
}

static uint64_t stx_ns(const struct statx_timestamp *t)
{
	return t->tv_sec < 0 ? 0 : (uint64_t)t->tv_sec * NSEC_PER_SEC + t->tv_nsec;
}

static int on_file(const struct scan_entry *e, void *userdata)
{
	struct close_ctx *c = userdata;
	const struct statx *stx = e->w->stx;
	const struct session_record *rec = c->rec;
	uint64_t charged = 0, btime = 0;
	const char *class;

	if (e->w->leaving || S_ISDIR(stx->stx_mode))
		return WALK_CONTINUE;
	if (e->pages && c->inos)
		charged = page_scan_charged_to(e->pages, c->inos, c->n_inos);
	if (stx->stx_mask & STATX_BTIME)
		btime = stx_ns(&stx->stx_btime);
	if (charged > 0)
		class = "charged";
	else if (stx->stx_uid == rec->uid && btime >= rec->start_ns && btime <= c->now_ns)
		class = "created";
	else
		return WALK_CONTINUE; /* owned only, or not the session's: not reported */

	c->files++;
	c->bytes += stx->stx_size;
	c->charged_bytes += charged;
	if (e->error)
		c->errors++;
	json_begin(&c->line);
	json_kv_str(&c->line, "event", "file");
	json_kv_str(&c->line, "session", rec->id);
	json_kv_strn(&c->line, "path", e->w->path, e->w->path_len);
	json_kv_u64(&c->line, "size", stx->stx_size);
	json_kv_u64(&c->line, "charged_bytes", charged);
	json_kv_u64(&c->line, "uid", stx->stx_uid);
	if (btime)
		add_time(&c->line, "btime", btime);
	else
		json_kv_str(&c->line, "btime", NULL);
	json_kv_str(&c->line, "class", class);
	json_kv_str(&c->line, "action", "report");
	json_kv_str(&c->line, "result", e->error ? "error" : "reported");
	json_kv_str(&c->line, "rule", NULL);
	json_end(&c->line);
	audit_emit(c);
	return WALK_CONTINUE;
}

static int on_walk(const struct walk_entry *w, void *userdata)
{
	struct scan_entry e = {.w = w};

	return on_file(&e, userdata);
}

/* The inodes that count as "this session" for attribution: only a cgroup that is the
 * session's own (and still the same directory as at open) and its descendants. */
static int session_inos(const struct session_record *rec, uint64_t **ret, size_t *ret_n)
{
	struct cg_root root = {.fd = -1};
	struct cgroup cg = {.fd = -1};
	struct cg_list l = {0};
	int r;

	*ret = NULL;
	*ret_n = 0;
	if (!rec->cgroup || !rec->cgroup_session || rec->cg_mode == CG_NONE)
		return 0;
	r = cg_root_open(NULL, &root);
	if (r < 0)
		return r;
	if (root.mode != rec->cg_mode) {
		r = -EMEDIUMTYPE;
		goto out;
	}
	r = cg_open_rel(&root, rec->cgroup, &cg);
	if (r < 0)
		goto out;
	if (cg.ino != rec->cgroup_ino) {
		r = -ESTALE;
		goto out;
	}
	r = cg_list_descendants(&root, &cg, &l);
	if (r < 0)
		goto out;
	*ret = calloc(l.n ? l.n : 1, sizeof(uint64_t));
	if (!*ret) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n; i++)
		(*ret)[i] = l.v[i].ino; /* already sorted by ino */
	*ret_n = l.n;
	r = 0;
out:
	cg_list_free(&l);
	cgroup_done(&cg);
	cg_root_close(&root);
	return r;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int parse_common(int argc, char **argv, bool *json, bool *dry_run, const char **conf,
			const char **id)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"dry-run", no_argument, NULL, 'n'},
		{"conf", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'j':
			if (!json)
				return -EINVAL;
			*json = true;
			break;
		case 'n':
			if (!dry_run)
				return -EINVAL;
			*dry_run = true;
			break;
		case 'c':
			if (optarg[0] != '/')
				return -EINVAL;
			*conf = optarg;
			break;
		default:
			return -EINVAL;
		}
	}
	if (id) {
		if (optind != argc - 1)
			return -EINVAL;
		*id = argv[optind];
	} else if (optind != argc) {
		return -EINVAL;
	}
	return 0;
}

static int load(const char *conf, struct sweep_settings *set)
{
	int r = settings_load(conf, set);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		warnx_("policy %s not used (%s): defaults, report only",
		       conf ? conf : SETTINGS_DEFAULT_CONF,
		       r == -EPERM ? "not root-owned, writable by group/other, or a symlink"
				   : strerror(-r));
	return 0;
}

int cmd_close(int argc, char **argv)
{
	struct sweep_settings set = {0};
	struct session_record rec = {0};
	struct close_ctx c = {.audit_fd = -1};
	struct pages_ctx *pc = NULL;
	const char *conf = NULL, *id = NULL;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	int r, ret = EXIT_FAIL;

	if (parse_common(argc, argv, NULL, &c.dry_run, &conf, &id) < 0)
		return fail(EXIT_USAGE, "usage: close SESSION-ID [--dry-run] [--conf FILE]");
	if (!record_id_valid(id))
		return fail(EXIT_USAGE, "close: '%s' is not a session id", id);
	if (!need_root())
		return fail(EXIT_NOPERM, "close: needs root");
	if (load(conf, &set) < 0)
		return fail(EXIT_FAIL, "out of memory");
	r = record_read(set.statedir, id, &rec);
	if (r == -ENOENT) {
		ret = fail(EXIT_NOTFOUND, "close: no session %s in %s", id, set.statedir);
		goto out;
	}
	if (r < 0) {
		ret = fail(EXIT_FAIL, "close: session record %s: %s", id, strerror(-r));
		goto out;
	}
	if (!c.dry_run) {
		rec.state = RECORD_CLOSING;
		(void)record_write(set.statedir, &rec);
		c.audit_fd = settings_open_audit_log(set.auditlog);
		if (c.audit_fd < 0)
			warnx_("audit log %s: %s", set.auditlog, strerror(-c.audit_fd));
	}
	c.rec = &rec;
	c.now_ns = clock_ns(CLOCK_REALTIME);
	r = session_inos(&rec, &c.inos, &c.n_inos);
	if (r < 0)
		warnx_("session cgroup %s: %s; no charged class", rec.cgroup, strerror(-r));
	r = pages_ctx_new(&pc);
	if (r < 0) {
		ret = fail(EXIT_FAIL, "close: %s", strerror(-r));
		goto out;
	}

	for (size_t i = 0; i < rec.n_mounts; i++) {
		const struct record_mount *m = &rec.mounts[i];
		struct walk_opts wo = {.deadline_ns = t0 + CLOSE_BUDGET_NS};
		struct walk_stats st = {0};
		_cleanup_close_ int fd = -1;
		struct stat sb;

		r = mounts_open_root(m->path, &fd);
		if (r >= 0 && fstat(fd, &sb) < 0)
			r = negative_errno();
		if (r >= 0 && sb.st_dev != m->dev)
			r = -ESTALE; /* another mount there now: not the session's */
		if (r < 0) {
			warnx_("close: watched %s skipped: %s", m->path, strerror(-r));
			continue;
		}
		/* Without a cgroup of the session's own there is nothing to attribute pages
		 * to: the plain walk (owner and birth time) is enough. */
		if (c.inos)
			r = scan_mount(pc, fd, m->path, &wo, on_file, &c, &st);
		else
			r = walk_tree(fd, m->path, &wo, on_walk, &c, &st);
		if (r < 0) {
			warnx_("close: %s: %s", m->path, strerror(-r));
			c.errors++;
		}
		c.errors += st.errors;
		if (st.incomplete)
			c.incomplete = true;
	}

	json_begin(&c.line);
	json_kv_str(&c.line, "event", "session-close");
	json_kv_str(&c.line, "session", rec.id);
	json_kv_str(&c.line, "user", rec.user);
	json_kv_u64(&c.line, "uid", rec.uid);
	json_kv_u64(&c.line, "files", c.files);
	json_kv_u64(&c.line, "bytes", c.bytes);
	json_kv_u64(&c.line, "charged_bytes", c.charged_bytes);
	json_kv_u64(&c.line, "removed", 0);
	json_kv_u64(&c.line, "removed_bytes", 0);
	json_kv_u64(&c.line, "kept", 0);
	json_kv_u64(&c.line, "deferred", 0);
	json_kv_u64(&c.line, "errors", c.errors);
	json_kv_bool(&c.line, "incomplete", c.incomplete);
	json_kv_u64(&c.line, "duration_ms", (clock_ns(CLOCK_MONOTONIC) - t0) / NSEC_PER_MSEC);
	json_kv_str(&c.line, "policy_sha256", NULL);
	add_time(&c.line, "time", clock_ns(CLOCK_REALTIME));
	json_end(&c.line);
	audit_emit(&c);

	if (!c.dry_run) {
		r = record_remove(set.statedir, rec.id);
		if (r < 0)
			warnx_("close: removing record %s: %s", rec.id, strerror(-r));
	}
	ret = c.incomplete ? EXIT_INCOMPLETE : EXIT_OK;
out:
	pages_ctx_free(pc);
	free(c.inos);
	sbuf_free(&c.line);
	safe_close(c.audit_fd);
	record_done(&rec);
	settings_done(&set);
	return ret;
}

