/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy.c: the policy file's parser, checks, dump, matching and exemptions (policy.h).
 * The keyword table below is the one source of truth for the settings: the parser, the
 * defaults (written in the file syntax and parsed by the same code) and policy_dump()
 * all walk it, and a test checks each name against the man page and the shipped conf.
 */
#include "policy.h"
#include "fileio.h"
#include "glob.h"
#include "util.h"
#include "walk.h"

#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>

#ifndef STATEDIR
#define STATEDIR "/run/tmpfs-sweep"
#endif

#define MAX_LIST 64 /* Watch paths, exempt names */
#define KIB 1024ULL

enum kw_kind {
	KW_PATHS,
	KW_PATH,
	KW_PATH_NONE, /* a path, or "none": NULL */
	KW_BOOL,
	KW_DURATION,
	KW_NAMES,
	KW_ENUM,
	KW_COUNT,
};

static const char *const other_sessions_names[] = {"defer", "proceed", NULL};
static const char *const remove_as_names[] = {"user", "root", NULL};

struct keyword {
	const char *name;
	enum kw_kind kind;
	size_t off;
	const char *def;          /* the default, in the file syntax; NULL: an empty list */
	const char *const *names; /* KW_ENUM values, index = stored int */
	uint64_t min, max;        /* KW_COUNT; KW_DURATION in ms */
};

#define OFF(f) offsetof(struct policy, f)
static const struct keyword keywords[] = {
	{"Watch", KW_PATHS, OFF(watch), "/dev/shm /tmp /run/user/%U", NULL, 0, 0},
	{"StateDir", KW_PATH, OFF(state_dir), STATEDIR, NULL, 0, 0},
	{"AuditLog", KW_PATH, OFF(audit_log), "/var/log/tmpfs-sweep/audit.jsonl", NULL, 0, 0},
	{"MetricsFile", KW_PATH_NONE, OFF(metrics_file),
	 "/var/lib/prometheus/node-exporter/tmpfs-sweep.prom", NULL, 0, 0},
	{"Journal", KW_BOOL, OFF(journal), "yes", NULL, 0, 0},
	{"Timeout", KW_DURATION, OFF(timeout_ms), "5s", NULL, 1, 3600 * 1000},
	{"ExemptUsers", KW_NAMES, OFF(exempt_users), "root", NULL, 0, 0},
	{"ExemptGroups", KW_NAMES, OFF(exempt_groups), NULL, NULL, 0, 0},
	{"IncludeSystemUsers", KW_BOOL, OFF(include_system_users), "no", NULL, 0, 0},
	{"OtherSessions", KW_ENUM, OFF(other_sessions), "defer", other_sessions_names, 0, 0},
	{"RemoveAs", KW_ENUM, OFF(remove_as), "user", remove_as_names, 0, 0},
	{"MaxDepth", KW_COUNT, OFF(max_depth), "256", NULL, 1, WALK_MAX_DEPTH},
	{"MaxEntries", KW_COUNT, OFF(max_entries), "1000000", NULL, 1, 1000000000},
};

static const char *const action_names[] = {
	[POLICY_REPORT] = "report",
	[POLICY_KEEP] = "keep",
	[POLICY_REMOVE] = "remove",
	[POLICY_DEFER] = "defer",
	[POLICY_IGNORE] = "ignore",
};
#define N_ACTIONS 4 /* the ones a file may use */

static const char *const class_names[] = {"charged", "created", "owned"};
static const char *const type_names[] = {[POLICY_TYPE_FILE] = "file", [POLICY_TYPE_DIR] = "dir",
					 [POLICY_TYPE_ANY] = "any"};

/* Rule conditions: NAME=VALUE after the pattern. */
enum cond { COND_CLASS, COND_MIN_SIZE, COND_TYPE };
static const char *const cond_names[] = {
	[COND_CLASS] = "class",
	[COND_MIN_SIZE] = "min-size",
	[COND_TYPE] = "type",
};

static int cond_lookup(const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(cond_names); i++)
		if (n == strlen(cond_names[i]) && strncasecmp(s, cond_names[i], n) == 0)
			return (int)i;
	return -1;
}

const char *policy_keyword(size_t i)
{
	if (i < ARRAY_SIZE(keywords))
		return keywords[i].name;
	i -= ARRAY_SIZE(keywords);
	if (i < N_ACTIONS)
		return action_names[i];
	i -= N_ACTIONS;
	return i < ARRAY_SIZE(cond_names) ? cond_names[i] : NULL;
}

bool policy_setting_info(size_t i, struct policy_setting_info *ret)
{
	const struct keyword *k;

	if (i >= ARRAY_SIZE(keywords))
		return false;
	k = &keywords[i];
	*ret = (struct policy_setting_info){
		.name = k->name,
		.def = k->def,
		.min = k->min,
		.max = k->max,
		.duration = k->kind == KW_DURATION,
	};
	return true;
}

const char *policy_action_name(enum policy_action a)
{
	return (unsigned)a < ARRAY_SIZE(action_names) ? action_names[a] : "?";
}

const char *policy_class_name(unsigned class_bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(class_names); i++)
		if (class_bit == 1u << i)
			return class_names[i];
	return "?";
}

struct parser {
	struct policy *p;
	struct policy_errors *errs;
	unsigned lineno;
	unsigned seen[ARRAY_SIZE(keywords)];
	unsigned first_rule;
	size_t n_errors;
	bool oom;
	bool defaults_done; /* the keywords the text did not set hold their defaults */
};

static void add_error(struct policy_errors *errs, bool *oom, unsigned line, char *msg)
{
	struct policy_error *v;

	if (!msg) {
		*oom = true;
		return;
	}
	v = reallocarray(errs->v, errs->n + 1, sizeof(*v));
	if (!v) {
		free(msg);
		*oom = true;
		return;
	}
	errs->v = v;
	errs->v[errs->n++] = (struct policy_error){.line = line, .msg = msg};
}

static _printf_(2, 3) void perr(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	ps->n_errors++;
	if (!ps->errs || ps->errs->n >= POLICY_MAX_ERRORS)
		return;
	if (ps->errs->n == POLICY_MAX_ERRORS - 1) {
		add_error(ps->errs, &ps->oom, ps->lineno, strdup("too many errors; stopping"));
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	add_error(ps->errs, &ps->oom, ps->lineno, msg);
}

static void strv_done(struct policy_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (struct policy_strv){0};
}

static void watch_globs_done(struct policy *p)
{
	if (p->watch_globs)
		for (size_t i = 0; i < p->watch.n; i++)
			glob_done(&p->watch_globs[i]);
	free(p->watch_globs);
	p->watch_globs = NULL;
}

static void rules_done(struct policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		free(p->rules[i].pattern);
		glob_done(p->rules[i].glob);
		free(p->rules[i].glob);
	}
	free(p->rules);
	p->rules = NULL;
	p->n_rules = 0;
}

void policy_done(struct policy *p)
{
	if (!p)
		return;
	watch_globs_done(p);
	strv_done(&p->watch);
	strv_done(&p->exempt_users);
	strv_done(&p->exempt_groups);
	free(p->state_dir);
	free(p->audit_log);
	free(p->metrics_file);
	rules_done(p);
	free(p->raw);
	*p = (struct policy){0};
}

void policy_errors_done(struct policy_errors *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->v[i].msg);
	free(errs->v);
	free(errs->file);
	*errs = (struct policy_errors){0};
}

size_t policy_errors_say(const struct policy_errors *errs, const char *name, size_t max,
			 void (*say)(const char *line, void *userdata), void *userdata)
{
	const char *file = errs->file ? errs->file : name;
	size_t i;

	for (i = 0; i < errs->n && i < max; i++) {
		_cleanup_free_ char *line = NULL;
		int n = errs->v[i].line
				? asprintf(&line, "%s:%u: %s", file, errs->v[i].line, errs->v[i].msg)
				: asprintf(&line, "%s: %s", file, errs->v[i].msg);

		say(n < 0 ? errs->v[i].msg : line, userdata);
	}
	return errs->n - i;
}

/* Decimal digits only; -EINVAL without digits or with junk, -ERANGE on overflow. */
static int parse_number(const char *s, uint64_t *ret, const char **end)
{
	uint64_t v = 0;
	const char *q = s;

	if (*q < '0' || *q > '9')
		return -EINVAL;
	for (; *q >= '0' && *q <= '9'; q++) {
		if (v > (UINT64_MAX - (uint64_t)(*q - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*q - '0');
	}
	*ret = v;
	if (end)
		*end = q;
	else if (*q)
		return -EINVAL;
	return 0;
}

static int parse_size(const char *s, uint64_t *ret)
{
	const char *end;
	uint64_t v, mult = 1;
	int r = parse_number(s, &v, &end);

	if (r < 0)
		return r;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': mult = KIB; break;
		case 'm': case 'M': mult = KIB * KIB; break;
		case 'g': case 'G': mult = KIB * KIB * KIB; break;
		default: return -EINVAL;
		}
		if (end[1])
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*ret = v * mult;
	return 0;
}

static int parse_duration_ms(const char *s, uint64_t *ret)
{
	const char *end;
	uint64_t v, mult = 1000;
	int r = parse_number(s, &v, &end);

	if (r < 0)
		return r;
	if (strcasecmp(end, "ms") == 0)
		mult = 1;
	else if (*end && strcasecmp(end, "s") != 0)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*ret = v * mult;
	return 0;
}

/* User and group names as the PAM module accepts a user (pam_tmpfs_sweep.c): letters,
 * digits and . _ - @ $, not starting with '-', not "." or "..", at most 256 bytes, so that
 * every user the module sweeps (alice@corp.example from a directory service too) can be
 * named here. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 256 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-' || c == '@' || c == '$'))
			return false;
	}
	return !streq(s, ".") && !streq(s, "..");
}

static int set_paths(struct parser *ps, const struct keyword *k, char **args, size_t n)
{
	struct policy *p = ps->p;
	struct policy_strv v = {0};
	struct glob *globs;
	bool bad = false;

	if (n > MAX_LIST)
		return perr(ps, "'%s' takes at most %d paths", k->name, MAX_LIST), -EINVAL;
	globs = calloc(n, sizeof(*globs));
	v.v = calloc(n, sizeof(char *));
	if (!globs || !v.v) {
		free(globs);
		free(v.v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const char *err;
		int r = glob_compile(args[i], &globs[v.n], &err);

		if (r == -ENOMEM)
			goto oom;
		if (r < 0) {
			perr(ps, "%s: bad path '%s': %s", k->name, args[i], err);
			bad = true;
			continue;
		}
		if (globs[v.n].wild || globs[v.n].n_comps == 0) {
			perr(ps, "%s: '%s': %s", k->name, args[i],
			     globs[v.n].wild ? "wildcards are not allowed in watched paths"
					     : "'/' cannot be watched, name tmpfs mounts");
			glob_done(&globs[v.n]);
			bad = true;
			continue;
		}
		for (size_t j = 0; j < v.n; j++)
			if (streq(v.v[j], args[i])) {
				perr(ps, "%s: '%s' is listed twice", k->name, args[i]);
				bad = true;
			}
		v.v[v.n] = strdup(args[i]);
		if (!v.v[v.n]) {
			glob_done(&globs[v.n]);
			goto oom;
		}
		v.n++;
	}
	if (bad) {
		for (size_t i = 0; i < v.n; i++)
			glob_done(&globs[i]);
		free(globs);
		strv_done(&v);
		return -EINVAL;
	}
	watch_globs_done(p);
	strv_done(&p->watch);
	p->watch = v;
	p->watch_globs = globs;
	return 0;
oom:
	for (size_t i = 0; i < v.n; i++)
		glob_done(&globs[i]);
	free(globs);
	strv_done(&v);
	return -ENOMEM;
}

static int set_names(struct parser *ps, const struct keyword *k, char **args, size_t n)
{
	struct policy_strv *dst = (struct policy_strv *)((char *)ps->p + k->off);
	struct policy_strv v = {0};

	if (n > MAX_LIST)
		return perr(ps, "'%s' takes at most %d names", k->name, MAX_LIST), -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!name_ok(args[i]))
			return perr(ps, "%s: bad name '%.64s'", k->name, args[i]), -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (streq(args[i], args[j]))
				return perr(ps, "%s: '%s' is listed twice", k->name, args[i]),
				       -EINVAL;
	}
	v.v = calloc(n ? n : 1, sizeof(char *));
	if (!v.v)
		return -ENOMEM;
	for (; v.n < n; v.n++) {
		v.v[v.n] = strdup(args[v.n]);
		if (!v.v[v.n]) {
			strv_done(&v);
			return -ENOMEM;
		}
	}
	strv_done(dst);
	*dst = v;
	return 0;
}

static int set_value(struct parser *ps, const struct keyword *k, char **args, size_t n)
{
	void *field = (char *)ps->p + k->off;
	const char *err = NULL;
	uint64_t v;
	int r;

	if (n == 0)
		return perr(ps, "'%s' needs a value", k->name), -EINVAL;
	if (k->kind == KW_PATHS)
		return set_paths(ps, k, args, n);
	if (k->kind == KW_NAMES)
		return set_names(ps, k, args, n);
	if (n > 1)
		return perr(ps, "'%s' takes one value; extra argument '%.64s'", k->name, args[1]),
		       -EINVAL;

	switch (k->kind) {
	case KW_PATH_NONE:
		if (strcasecmp(args[0], "none") == 0) {
			free(*(char **)field);
			*(char **)field = NULL;
			return 0;
		}
		/* fall through */
	case KW_PATH: {
		struct glob g;
		char *s;

		r = glob_compile(args[0], &g, &err);
		if (r == -ENOMEM)
			return r;
		if (r == 0) {
			if (g.wild || strchr(args[0], '%'))
				err = "wildcards and '%' escapes are not allowed here";
			else if (g.n_comps == 0)
				err = "'/' is not allowed here";
			glob_done(&g);
		}
		if (err)
			return perr(ps, "%s: bad path '%s': %s", k->name, args[0], err), -EINVAL;
		s = strdup(args[0]);
		if (!s)
			return -ENOMEM;
		free(*(char **)field);
		*(char **)field = s;
		return 0;
	}
	case KW_BOOL:
		if (strcasecmp(args[0], "yes") == 0)
			*(bool *)field = true;
		else if (strcasecmp(args[0], "no") == 0)
			*(bool *)field = false;
		else
			return perr(ps, "%s: expected yes or no, got '%.64s'", k->name, args[0]),
			       -EINVAL;
		return 0;
	case KW_ENUM:
		for (int i = 0; k->names[i]; i++)
			if (strcasecmp(args[0], k->names[i]) == 0) {
				*(int *)field = i;
				return 0;
			}
		return perr(ps, "%s: expected %s or %s, got '%.64s'", k->name, k->names[0],
			    k->names[1], args[0]),
		       -EINVAL;
	case KW_DURATION:
	case KW_COUNT:
		r = k->kind == KW_DURATION ? parse_duration_ms(args[0], &v)
					   : parse_number(args[0], &v, NULL);
		if (r == -ERANGE)
			return perr(ps, "%s: number too large: '%.64s'", k->name, args[0]), -EINVAL;
		if (r < 0)
			return perr(ps, "%s: bad %s '%.64s'", k->name,
				    k->kind == KW_DURATION ? "duration (N, Ns or Nms)" : "number",
				    args[0]),
			       -EINVAL;
		if (v < k->min || v > k->max) {
			if (k->kind == KW_DURATION)
				return perr(ps, "%s: out of range: '%.64s' (1ms to %" PRIu64 "s)",
					    k->name, args[0], k->max / 1000),
				       -EINVAL;
			return perr(ps, "%s: out of range: '%.64s' (%" PRIu64 " to %" PRIu64 ")",
				    k->name, args[0], k->min, k->max),
			       -EINVAL;
		}
		*(uint64_t *)field = v;
		return 0;
	default:
		return -EINVAL;
	}
}

static int parse_class(struct parser *ps, const char *val, unsigned *mask)
{
	const char *s = val;

	*mask = 0;
	for (;;) {
		size_t n = strcspn(s, ",");
		unsigned bit = 0;

		for (size_t i = 0; i < ARRAY_SIZE(class_names); i++)
			if (n == strlen(class_names[i]) && strncasecmp(s, class_names[i], n) == 0)
				bit = 1u << i;
		if (!bit)
			return perr(ps, "unknown class '%.*s' (charged, created or owned)",
				    (int)MIN(n, 64), s),
			       -EINVAL;
		if (*mask & bit)
			return perr(ps, "class '%.*s' listed twice", (int)n, s), -EINVAL;
		*mask |= bit;
		if (!s[n])
			return 0;
		s += n + 1;
	}
}

static int parse_rule(struct parser *ps, enum policy_action a, char **args, size_t n)
{
	struct policy *p = ps->p;
	/* Keeping is always safe, so keep applies to every class unless told otherwise. */
	struct policy_rule rule = {.action = a,
				   .class_mask = a == POLICY_KEEP ? POLICY_CLASS_ALL
								  : POLICY_CLASS_DEFAULT,
				   .type = POLICY_TYPE_ANY, .line = ps->lineno};
	bool seen_class = false, seen_size = false, seen_type = false, bad = false;
	const char *err;
	struct policy_rule *v;
	int r;

	if (n < 2)
		return perr(ps, "'%s' needs a pattern", action_names[a]), -EINVAL;
	if (p->n_rules >= POLICY_MAX_RULES)
		return perr(ps, "too many rules (at most %d)", POLICY_MAX_RULES), -EINVAL;
	for (size_t i = 2; i < n; i++) {
		char *eq = strchr(args[i], '=');
		const char *val;
		size_t klen;
		int cond;

		if (!eq) {
			perr(ps, "expected a condition (class=, min-size=, type=), got '%.64s'",
			     args[i]);
			bad = true;
			continue;
		}
		klen = (size_t)(eq - args[i]);
		val = eq + 1;
		cond = cond_lookup(args[i], klen);
		if (cond == COND_CLASS) {
			if (seen_class) {
				perr(ps, "duplicate condition 'class'");
				bad = true;
			}
			seen_class = true;
			if (parse_class(ps, val, &rule.class_mask) < 0)
				bad = true;
		} else if (cond == COND_MIN_SIZE) {
			if (seen_size) {
				perr(ps, "duplicate condition 'min-size'");
				bad = true;
			}
			seen_size = true;
			r = parse_size(val, &rule.min_size);
			if (r < 0) {
				perr(ps, r == -ERANGE ? "min-size: size too large: '%.64s'"
						      : "min-size: bad size '%.64s' (N, NK, NM or NG)",
				     val);
				bad = true;
			}
		} else if (cond == COND_TYPE) {
			if (seen_type) {
				perr(ps, "duplicate condition 'type'");
				bad = true;
			}
			seen_type = true;
			if (strcasecmp(val, "file") == 0)
				rule.type = POLICY_TYPE_FILE;
			else if (strcasecmp(val, "dir") == 0)
				rule.type = POLICY_TYPE_DIR;
			else if (strcasecmp(val, "any") == 0)
				rule.type = POLICY_TYPE_ANY;
			else {
				perr(ps, "type: expected file, dir or any, got '%.64s'", val);
				bad = true;
			}
		} else {
			perr(ps, "unknown condition '%.*s' (class=, min-size=, type=)",
			     (int)MIN(klen, 64), args[i]);
			bad = true;
		}
	}

	rule.glob = calloc(1, sizeof(*rule.glob));
	if (!rule.glob)
		return -ENOMEM;
	r = glob_compile(args[1], rule.glob, &err);
	if (r == -ENOMEM) {
		free(rule.glob);
		return r;
	}
	if (r < 0) {
		perr(ps, "bad pattern '%.256s': %s", args[1], err);
		free(rule.glob);
		return -EINVAL;
	}
	/* A rule that may remove must never be able to name a watched root itself. */
	if (a == POLICY_REMOVE || a == POLICY_DEFER)
		for (size_t i = 0; i < p->watch.n; i++)
			if (glob_may_match(rule.glob, &p->watch_globs[i])) {
				perr(ps, "pattern '%.256s' can match the watched root '%s' itself",
				     args[1], p->watch.v[i]);
				bad = true;
				break;
			}
	if (bad) {
		glob_done(rule.glob);
		free(rule.glob);
		return -EINVAL;
	}
	rule.pattern = strdup(args[1]);
	v = reallocarray(p->rules, p->n_rules + 1, sizeof(*v));
	if (!rule.pattern || !v) {
		free(rule.pattern);
		glob_done(rule.glob);
		free(rule.glob);
		if (v)
			p->rules = v;
		return -ENOMEM;
	}
	p->rules = v;
	p->rules[p->n_rules++] = rule;
	return 0;
}

/* Split in place at blanks; a word starting with '#' ends the line. */
static size_t tokenize(char *s, char **args, size_t max)
{
	size_t n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#' || n == max)
			return n;
		args[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		if (*s)
			*s++ = '\0';
	}
}

/* Keyword i to its default, a known-good value. */
static int set_default(struct parser *ps, size_t i)
{
	const struct keyword *k = &keywords[i];
	char buf[256], *args[16];
	size_t n;

	if (!k->def)
		return 0;
	snprintf(buf, sizeof(buf), "%s", k->def);
	n = tokenize(buf, args, ARRAY_SIZE(args));
	return set_value(ps, k, args, n);
}

/* The defaults of the keywords the text did not set, once: before the first rule (rules
 * are checked against Watch) or at the end. A default the text replaces is never made. */
static int fill_defaults(struct parser *ps)
{
	if (ps->defaults_done)
		return 0;
	ps->defaults_done = true;
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		int r = ps->seen[i] ? 0 : set_default(ps, i);

		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_line(struct parser *ps, const char *s, size_t len)
{
	/* Lines are short: split on the stack, the heap only for a long one. */
	char small_line[256], *small_args[32];
	_cleanup_free_ char *big_line = NULL;
	_cleanup_free_ char **big_args = NULL;
	char *line = small_line, **args = small_args;
	size_t n, max_args = ARRAY_SIZE(small_args);

	if (len > POLICY_MAX_LINE)
		return perr(ps, "line longer than %d bytes", POLICY_MAX_LINE), 0;
	if (memchr(s, '\0', len))
		return perr(ps, "NUL byte in line"), 0;
	if (memchr(s, '\r', len))
		return perr(ps, "carriage return in line (CRLF line endings?)"), 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return perr(ps, "control character 0x%02x in line", (unsigned char)s[i]),
			       0;
	if (len >= sizeof(small_line) && !(line = big_line = malloc(len + 1)))
		return -ENOMEM;
	if (len / 2 + 1 > max_args) {
		max_args = len / 2 + 1; /* words are at least a byte and a blank apart */
		if (!(args = big_args = malloc(max_args * sizeof(char *))))
			return -ENOMEM;
	}
	memcpy(line, s, len);
	line[len] = '\0';
	n = tokenize(line, args, max_args);
	if (n == 0)
		return 0;

	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		if (strcasecmp(args[0], keywords[i].name) != 0)
			continue;
		if (ps->first_rule)
			return perr(ps, "setting '%s' after the first rule (line %u): settings "
					"come before rules",
				    keywords[i].name, ps->first_rule),
			       0;
		if (ps->seen[i]) {
			perr(ps, "duplicate setting '%s' (first on line %u)", keywords[i].name,
			     ps->seen[i]);
			return 0;
		}
		ps->seen[i] = ps->lineno;
		return set_value(ps, &keywords[i], args + 1, n - 1) == -ENOMEM ? -ENOMEM : 0;
	}
	for (int a = 0; a < N_ACTIONS; a++) {
		if (strcasecmp(args[0], action_names[a]) != 0)
			continue;
		if (!ps->first_rule) {
			ps->first_rule = ps->lineno;
			if (fill_defaults(ps) == -ENOMEM)
				return -ENOMEM;
		}
		return parse_rule(ps, (enum policy_action)a, args, n) == -ENOMEM ? -ENOMEM : 0;
	}
	return perr(ps, "unknown keyword '%.64s'", args[0]), 0;
}

int policy_defaults(struct policy *p)
{
	struct parser ps = {.p = p};
	int r;

	*p = (struct policy){0};
	r = fill_defaults(&ps);
	if (r < 0)
		policy_done(p);
	return r;
}

static int parse_into(const char *buf, size_t len, struct policy *p, struct policy_errors *errs)
{
	struct parser ps = {.p = p, .errs = errs};
	size_t pos = 0;
	int r;

	while (pos < len && ps.n_errors < POLICY_MAX_ERRORS) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		ps.lineno++;
		r = parse_line(&ps, buf + pos, n);
		if (r < 0)
			return r;
		pos += n + (nl ? 1 : 0);
	}
	if (ps.oom || fill_defaults(&ps) == -ENOMEM)
		return -ENOMEM;
	return ps.n_errors ? -EINVAL : 0;
}

static int keep_raw(struct policy *p, const char *buf, size_t len)
{
	p->raw = malloc(len + 1);
	if (!p->raw)
		return -ENOMEM;
	memcpy(p->raw, buf, len);
	p->raw[len] = '\0';
	p->raw_len = len;
	return 0;
}

/* After any error: the defaults, no rules, report-only; the raw bytes stay. */
static int make_report_only(struct policy *p)
{
	char *raw = TAKE_PTR(p->raw);
	size_t raw_len = p->raw_len;
	int r;

	policy_done(p);
	r = policy_defaults(p);
	p->raw = raw;
	p->raw_len = raw_len;
	p->report_only = true;
	return r;
}

int policy_parse_buffer(const char *name, const char *buf, size_t len, struct policy *p,
			struct policy_errors *errs)
{
	struct policy_errors local = {0};
	int r, q;

	if (!errs)
		errs = &local;
	*errs = (struct policy_errors){.file = strdup(name ? name : "-")};
	*p = (struct policy){0};
	r = errs->file ? 0 : -ENOMEM;
	if (r == 0)
		r = keep_raw(p, buf, len);
	if (r == 0)
		r = parse_into(buf, len, p, errs);
	if (r < 0) {
		q = make_report_only(p);
		if (q < 0)
			r = q;
	}
	policy_errors_done(&local);
	return r;
}

static _printf_(4, 5) void ferr(struct policy_errors *errs, int *first, int err, const char *fmt,
				...)
{
	va_list ap;
	char *msg;
	bool oom = false;

	if (*first == 0)
		*first = err;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	add_error(errs, &oom, 0, msg);
}

static void check_owner_mode(struct policy_errors *errs, int *first, const struct stat *st,
			     const char *what, const char *name)
{
	if (st->st_uid != 0)
		ferr(errs, first, -EPERM, "%s%s is owned by uid %u, not by root", what, name,
		     (unsigned)st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		ferr(errs, first, -EPERM, "%s%s is writable by group or others (mode %04o)", what,
		     name, (unsigned)(st->st_mode & 07777));
}

/* Check dir and each of its ancestors from "/", one lstat each, as written: 1 if one of
 * them is a symlink (the caller then checks the resolved path), 0 if all are directories
 * (problems are added to errs), or -errno if one cannot be looked up. No fd is kept: a
 * directory that passes can be changed only by root, so the path opened right after
 * reaches what was checked. dir is written to (and restored). */
static int check_dirs(char *dir, struct policy_errors *errs, int *first)
{
	size_t len = strlen(dir);

	for (size_t i = 0; i <= len; i++) {
		struct stat st;
		char c = dir[i];
		const char *name = i == 0 ? "/" : dir;

		if ((c != '/' && c != '\0') || (i > 0 && dir[i - 1] == '/'))
			continue;
		if (i > 0)
			dir[i] = '\0';
		if (lstat(name, &st) < 0) {
			int r = negative_errno();

			ferr(errs, first, r, "directory %s: %s", name, strerror(-r));
			dir[i] = c;
			return r;
		}
		if (S_ISLNK(st.st_mode)) {
			dir[i] = c;
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			ferr(errs, first, -ENOTDIR, "directory %s: %s", name, strerror(ENOTDIR));
			dir[i] = c;
			return -ENOTDIR;
		}
		check_owner_mode(errs, first, &st, "directory ", name);
		dir[i] = c;
	}
	return 0;
}

/* Open path for reading after checking its directory and every ancestor (check_dirs);
 * a directory reached through a symlink is checked as its real path. The file itself
 * must not be a symlink. */
static int open_checked(const char *path, struct policy_errors *errs, int *first)
{
	_cleanup_free_ char *dir = NULL, *real = NULL, *full = NULL;
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	int r = 1, fd;

	dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return -ENOMEM;
	if (dir[0] == '/' || (slash == path && !*dir))
		r = check_dirs(*dir ? dir : (char[]){"/"}, errs, first);
	if (r < 0)
		return r;
	if (r > 0) {
		/* Relative, or a symlink on the way: check where it really is. */
		real = realpath(*dir ? dir : "/", NULL);
		if (!real) {
			r = negative_errno();
			ferr(errs, first, r, "cannot resolve its directory: %s", strerror(-r));
			return r;
		}
		r = check_dirs(real, errs, first);
		if (r > 0) { /* realpath holds no symlink: it changed under us */
			r = -ELOOP;
			ferr(errs, first, r, "its directory changed while it was checked");
		}
		if (r < 0)
			return r;
		if (asprintf(&full, "%s/%s", streq(real, "/") ? "" : real, base) < 0)
			return -ENOMEM;
		path = full;
	}
	fd = open_read_at(AT_FDCWD, path);
	if (fd == -ELOOP)
		ferr(errs, first, fd, "is a symbolic link: not used");
	else if (fd < 0)
		ferr(errs, first, fd, "cannot open: %s", strerror(-fd));
	return fd;
}

int policy_load(const char *path, struct policy *p, struct policy_errors *errs)
{
	struct policy_errors local = {0};
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len;
	ssize_t n;
	bool parsed = false;
	int first = 0, r;

	if (!errs)
		errs = &local;
	*errs = (struct policy_errors){.file = strdup(path)};
	*p = (struct policy){0}; /* parse_into or make_report_only gives the defaults */
	if (!errs->file)
		goto fail_nomem;
	p->report_only = true; /* until every check has passed */

	fd = open_checked(path, errs, &first);
	if (fd == -ENOMEM)
		goto fail_nomem;
	if (fd < 0)
		goto done;
	if (fstat(fd, &st) < 0) {
		r = negative_errno();
		ferr(errs, &first, r, "cannot stat: %s", strerror(-r));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		ferr(errs, &first, -EINVAL, "is not a regular file");
		goto done;
	}
	check_owner_mode(errs, &first, &st, "file", "");
	if (st.st_size > POLICY_MAX_FILE_SIZE) {
		ferr(errs, &first, -EFBIG, "is larger than %d bytes (%lld)", POLICY_MAX_FILE_SIZE,
		     (long long)st.st_size);
		goto done;
	}
	n = read_regular_fd(fd, &st, POLICY_MAX_FILE_SIZE, &buf);
	if (n == -ENOMEM)
		goto fail_nomem;
	if (n == -EFBIG) {
		ferr(errs, &first, -EFBIG, "is larger than %d bytes", POLICY_MAX_FILE_SIZE);
		goto done;
	}
	if (n < 0) {
		ferr(errs, &first, (int)n, "cannot read: %s", strerror((int)-n));
		goto done;
	}
	len = (size_t)n;
	if (keep_raw(p, buf, len) < 0)
		goto fail_nomem;
	r = parse_into(buf, len, p, errs);
	if (r == -ENOMEM)
		goto fail_nomem;
	if (r < 0 && first == 0)
		first = r;
	parsed = true;
done:
	/* Used only if read and parsed (which also gave the defaults) without a problem. */
	if (parsed && first == 0 && errs->n == 0) {
		p->report_only = false;
		policy_errors_done(&local);
		return 0;
	}
	r = make_report_only(p);
	policy_errors_done(&local);
	return r < 0 ? r : (first ? first : -EINVAL);
fail_nomem:
	make_report_only(p);
	policy_errors_done(&local);
	return -ENOMEM;
}

static void dump_size(FILE *f, uint64_t v)
{
	static const char suffix[] = "GMK";
	uint64_t unit = KIB * KIB * KIB;

	for (int i = 0; i < 3; i++, unit /= KIB)
		if (v % unit == 0) {
			fprintf(f, "%" PRIu64 "%c", v / unit, suffix[i]);
			return;
		}
	fprintf(f, "%" PRIu64, v);
}

static void dump_strv(FILE *f, const char *name, const struct policy_strv *s)
{
	if (s->n == 0) {
		fprintf(f, "#%s (none)\n", name);
		return;
	}
	fputs(name, f);
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, " %s", s->v[i]);
	fputc('\n', f);
}

int policy_dump(const struct policy *p, FILE *f)
{
	fputs("# tmpfs-sweep.conf(5): the effective policy, defaults included\n", f);
	if (p->report_only)
		fputs("# REPORT-ONLY: the policy file was rejected, nothing will be removed\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		const struct keyword *k = &keywords[i];
		const void *field = (const char *)p + k->off;
		uint64_t v;

		switch (k->kind) {
		case KW_PATHS:
		case KW_NAMES:
			dump_strv(f, k->name, field);
			break;
		case KW_PATH:
		case KW_PATH_NONE:
			fprintf(f, "%s %s\n", k->name,
				*(char *const *)field ? *(char *const *)field : "none");
			break;
		case KW_BOOL:
			fprintf(f, "%s %s\n", k->name, *(const bool *)field ? "yes" : "no");
			break;
		case KW_ENUM:
			fprintf(f, "%s %s\n", k->name, k->names[*(const int *)field]);
			break;
		case KW_DURATION:
			v = *(const uint64_t *)field;
			if (v % 1000 == 0)
				fprintf(f, "%s %" PRIu64 "s\n", k->name, v / 1000);
			else
				fprintf(f, "%s %" PRIu64 "ms\n", k->name, v);
			break;
		case KW_COUNT:
			fprintf(f, "%s %" PRIu64 "\n", k->name, *(const uint64_t *)field);
			break;
		}
	}
	fputs("\n# ACTION PATTERN CONDITIONS (first match wins; unmatched files are reported\n"
	      "# when charged or created)\n",
	      f);
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];
		const char *sep = "";

		fprintf(f, "%s %s class=", action_names[r->action], r->pattern);
		for (size_t c = 0; c < ARRAY_SIZE(class_names); c++)
			if (r->class_mask & (1u << c)) {
				fprintf(f, "%s%s", sep, class_names[c]);
				sep = ",";
			}
		if (r->min_size) {
			fputs(" min-size=", f);
			dump_size(f, r->min_size);
		}
		if (r->type != POLICY_TYPE_ANY)
			fprintf(f, " type=%s", type_names[r->type]);
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

static bool rule_may_apply(const struct policy_rule *r, unsigned class_mask, uint64_t size,
			   bool is_dir)
{
	return (r->class_mask & class_mask) && size >= r->min_size &&
	       (r->type & (is_dir ? POLICY_TYPE_DIR : POLICY_TYPE_FILE));
}

const struct policy_rule *policy_match(const struct policy *p, const char *path,
				       const char *user, uid_t uid, unsigned class_mask,
				       uint64_t size, bool is_dir)
{
	const struct policy_rule *found = NULL;
	struct glob_path gp;
	size_t i;

	/* Most entries of a tree can match no rule by class, size or type alone (a user's
	 * older files, class owned): no need to split the path or match a glob. */
	for (i = 0; i < p->n_rules; i++)
		if (rule_may_apply(&p->rules[i], class_mask, size, is_dir))
			break;
	if (i == p->n_rules)
		return NULL;
	if (glob_path_split(path, &gp) < 0)
		return NULL;
	for (size_t w = 0; w < p->watch.n; w++)
		if (glob_match(&p->watch_globs[w], &gp, user, uid))
			goto out;
	for (; i < p->n_rules; i++) { /* from the first rule that may apply */
		const struct policy_rule *r = &p->rules[i];

		if (!rule_may_apply(r, class_mask, size, is_dir))
			continue;
		if (glob_match(r->glob, &gp, user, uid)) {
			found = r;
			break;
		}
	}
out:
	glob_path_done(&gp);
	return found;
}

enum policy_action policy_decide(const struct policy *p, const char *path, const char *user,
				 uid_t uid, unsigned class_mask, uint64_t size, bool is_dir,
				 const struct policy_rule **rule)
{
	const struct policy_rule *r = policy_match(p, path, user, uid, class_mask, size, is_dir);
	enum policy_action a;

	if (rule)
		*rule = r;
	if (r)
		a = r->action;
	else
		a = class_mask & POLICY_CLASS_DEFAULT ? POLICY_REPORT : POLICY_IGNORE;
	if (p->report_only && (a == POLICY_REMOVE || a == POLICY_DEFER))
		a = POLICY_REPORT;
	return a;
}

int policy_watch_paths(const struct policy *p, const char *user, uid_t uid, char ***ret)
{
	char **v = calloc(p->watch.n + 1, sizeof(char *));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < p->watch.n; i++) {
		int r = glob_expand(&p->watch_globs[i], user, uid, &v[n]);

		if (r == -EINVAL)
			continue;
		if (r < 0) {
			while (n)
				free(v[--n]);
			free(v);
			return r;
		}
		n++;
	}
	*ret = v;
	return (int)n;
}

/* One login.defs line: 1 and *ret if it sets UID_MIN, 0 if not, -EINVAL if malformed. */
static int uid_min_line(char *line, uid_t *ret)
{
	const char *rest;
	char *args[3];
	uint64_t v;

	line += strspn(line, " \t");
	rest = startswith(line, "UID_MIN");
	if (!rest || (rest[0] != ' ' && rest[0] != '\t'))
		return 0;
	if (tokenize(line, args, ARRAY_SIZE(args)) < 2)
		return 0;
	if (parse_number(args[1], &v, NULL) < 0 || v > UINT32_MAX - 1)
		return -EINVAL;
	*ret = (uid_t)v;
	return 1;
}

int policy_uid_min(const char *login_defs, uid_t *ret)
{
	_cleanup_close_ int fd = -1;
	char buf[4096]; /* read in pieces, up to the UID_MIN line: no heap, no whole file */
	size_t len = 0;
	bool skip = false; /* in a line longer than buf: dropped up to its end */

	*ret = 1000;
	fd = open_read_at(AT_FDCWD, login_defs ? login_defs : "/etc/login.defs");
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	for (;;) {
		ssize_t n = read_retry(fd, buf + len, sizeof(buf) - 1 - len);
		char *line = buf;

		if (n < 0)
			return (int)n;
		len += (size_t)n;
		buf[len] = '\0';
		for (;;) {
			char *nl = memchr(line, '\n', (size_t)(buf + len - line));
			int r;

			if (!nl && n > 0)
				break; /* a partial line: read on */
			if (nl)
				*nl = '\0';
			r = skip ? 0 : uid_min_line(line, ret);
			skip = false;
			if (r != 0)
				return r < 0 ? r : 0;
			if (!nl)
				return 0; /* end of file */
			line = nl + 1;
		}
		len = (size_t)(buf + len - line);
		if (len == sizeof(buf) - 1) {
			skip = true;
			len = 0;
		} else
			memmove(buf, line, len);
	}
}

int policy_user_groups(const char *user, gid_t gid, gid_t **ret)
{
	int n = 32;

	for (int tries = 0; tries < 8; tries++) {
		gid_t *v = calloc((size_t)n, sizeof(gid_t));
		int want = n;

		if (!v)
			return -ENOMEM;
		if (getgrouplist(user, gid, v, &want) >= 0) {
			*ret = v;
			return want;
		}
		free(v);
		if (want <= n)
			n *= 2;
		else
			n = want;
	}
	return -E2BIG;
}

/* 1: user is a member, 0: not, -errno: cannot tell. */
static int in_group(const char *name, const gid_t *groups, size_t n_groups)
{
	size_t cap = 4096;

	for (;;) {
		_cleanup_free_ char *buf = malloc(cap);
		struct group gr, *res = NULL;
		int r;

		if (!buf)
			return -ENOMEM;
		r = getgrnam_r(name, &gr, buf, cap, &res);
		if (r == ERANGE && cap < (1u << 20)) {
			cap *= 4;
			continue;
		}
		if (r != 0)
			return -r;
		if (!res)
			return 0;
		for (size_t i = 0; i < n_groups; i++)
			if (groups[i] == res->gr_gid)
				return 1;
		return 0;
	}
}

bool policy_user_exempt(const struct policy *p, const char *user, uid_t uid, const gid_t *groups,
			size_t n_groups, uid_t uid_min)
{
	if (uid == 0 || !user)
		return true;
	if (!p->include_system_users && uid < uid_min)
		return true;
	for (size_t i = 0; i < p->exempt_users.n; i++)
		if (streq(p->exempt_users.v[i], user))
			return true;
	for (size_t i = 0; i < p->exempt_groups.n; i++)
		if (in_group(p->exempt_groups.v[i], groups, n_groups) != 0)
			return true;
	return false;
}

bool policy_exempt(const struct policy *p, const char *user, uid_t uid, gid_t gid)
{
	_cleanup_free_ gid_t *groups = NULL;
	uid_t uid_min = 1000;
	int n = 0;

	if (uid == 0 || !user)
		return true;
	if (!p->include_system_users)
		(void)policy_uid_min(NULL, &uid_min);
	if (p->exempt_groups.n > 0) {
		n = policy_user_groups(user, gid, &groups);
		if (n < 0)
			return true;
	}
	return policy_user_exempt(p, user, uid, groups, (size_t)n, uid_min);
}
