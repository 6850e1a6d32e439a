/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `tmpfs-sweep sessions [--json] [--conf FILE]`: the open and deferred session records. */
#include "helper.h"
#include "json.h"
#include "record.h"
#include "policy.h"
#include "util.h"

#include <getopt.h>

static void add_time(struct sbuf *b, const char *key, uint64_t ns)
{
	json_key(b, key);
	sbuf_addc(b, '"');
	sbuf_add_time_ns(b, ns);
	sbuf_addc(b, '"');
}

/* Returns 0, 1 for --help, or -EINVAL for a usage error. */
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
		case 'h':
			return 1;
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

/* Only StateDir is needed here; a rejected policy leaves the default one. */
static int load(const char *conf, struct policy *pol)
{
	struct policy_errors errs = {0};
	int r = policy_load(conf ? conf : POLICY_DEFAULT_PATH, pol, &errs);

	policy_errors_done(&errs);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		warnx_("policy %s not used (%s): default StateDir %s",
		       conf ? conf : POLICY_DEFAULT_PATH, strerror(-r), pol->state_dir);
	return 0;
}

int cmd_sessions(int argc, char **argv)
{
	struct policy set = {0};
	const char *conf = NULL;
	char **ids = NULL;
	bool json = false;
	size_t n = 0;
	int r;

	r = parse_common(argc, argv, &json, NULL, &conf, NULL);
	if (r > 0)
		return printf("Usage: tmpfs-sweep sessions [--json] [--conf FILE]\n"), EXIT_OK;
	if (r < 0)
		return fail(EXIT_USAGE, "usage: sessions [--json] [--conf FILE]");
	if (!need_root())
		return fail(EXIT_NOPERM, "sessions: needs root");
	if (load(conf, &set) < 0)
		return fail(EXIT_FAIL, "out of memory");
	r = record_list(set.state_dir, &ids, &n);
	if (r == -ENOENT) {
		policy_done(&set);
		return EXIT_OK; /* no state dir yet: no sessions */
	}
	if (r < 0) {
		r = fail(EXIT_FAIL, "sessions: %s: %s", set.state_dir, strerror(-r));
		policy_done(&set);
		return r;
	}
	if (!json)
		printf("%-28s %-12s %7s %-8s %-15s %-8s %s\n", "SESSION", "USER", "UID", "SERVICE",
		       "RHOST", "STATE", "CGROUP");
	for (size_t i = 0; i < n; i++) {
		struct session_record rec = {0};
		struct sbuf b = {0};

		if (record_read(set.state_dir, ids[i], &rec) < 0) {
			warnx_("sessions: record %s unreadable", ids[i]);
			continue;
		}
		if (json) {
			json_begin(&b);
			json_kv_str(&b, "session", rec.id);
			json_kv_str(&b, "user", rec.user);
			json_kv_u64(&b, "uid", rec.uid);
			json_kv_str(&b, "service", rec.service);
			json_kv_str(&b, "rhost", rec.rhost);
			json_kv_str(&b, "tty", rec.tty);
			json_kv_str(&b, "state", record_state_to_string(rec.state));
			add_time(&b, "start", rec.start_ns);
			json_kv_str(&b, "cgroup", rec.cgroup);
			json_kv_u64(&b, "pid", (uint64_t)rec.pid);
			json_key(&b, "mounts");
			sbuf_addc(&b, '[');
			for (size_t k = 0; k < rec.n_mounts; k++) {
				if (k)
					sbuf_addc(&b, ',');
				json_add_string(&b, rec.mounts[k].path, strlen(rec.mounts[k].path));
			}
			sbuf_addc(&b, ']');
			json_end(&b);
			if (sbuf_str(&b))
				puts(b.buf);
		} else {
			/* user-controlled strings through the JSON escaper: no terminal tricks */
			struct sbuf rh = {0};
			json_add_string(&rh, rec.rhost ? rec.rhost : "-",
					strlen(rec.rhost ? rec.rhost : "-"));
			printf("%-28s %-12s %7u %-8s %-15s %-8s %s\n", rec.id, rec.user,
			       (unsigned)rec.uid, rec.service ? rec.service : "-",
			       sbuf_str(&rh) ? rh.buf : "?", record_state_to_string(rec.state),
			       rec.cgroup ? rec.cgroup : "-");
			sbuf_done(&rh);
		}
		sbuf_done(&b);
		record_done(&rec);
	}
	record_ids_free(ids);
	policy_done(&set);
	return EXIT_OK;
}
