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
#include "json.h"
#include "users.h"
#include "util.h"
#include "walk.h"

#include <assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>

#ifndef STATEDIR
#define STATEDIR "/run/tmpfs-sweep"
#endif

#define MAX_LIST 64 /* Watch paths, exempt names, the patterns of a Match criterion */
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
	size_t off;               /* in struct policy */
	int boff;                 /* in struct policy_block: a per-session setting, which a
				   * Match block may set; -1: the whole file's only */
	const char *def;          /* the default, in the file syntax; NULL: an empty list */
	const char *const *names; /* KW_ENUM values, index = stored int */
	uint64_t min, max;        /* KW_COUNT; KW_DURATION in ms */
};

#define OFF(f) offsetof(struct policy, f)
#define BOFF(f) (int)offsetof(struct policy_block, f)
static const struct keyword keywords[] = {
	{"Watch", KW_PATHS, OFF(watch), -1, "/dev/shm /tmp /run/user/%U", NULL, 0, 0},
	{"StateDir", KW_PATH, OFF(state_dir), -1, STATEDIR, NULL, 0, 0},
	{"AuditLog", KW_PATH, OFF(audit_log), -1, "/var/log/tmpfs-sweep/audit.jsonl", NULL, 0, 0},
	{"MetricsFile", KW_PATH_NONE, OFF(metrics_file), -1,
	 "/var/lib/prometheus/node-exporter/tmpfs-sweep.prom", NULL, 0, 0},
	{"Journal", KW_BOOL, OFF(journal), -1, "yes", NULL, 0, 0},
	{"Timeout", KW_DURATION, OFF(timeout_ms), -1, "5s", NULL, 1, 3600 * 1000},
	{"ExemptUsers", KW_NAMES, OFF(exempt_users), BOFF(exempt_users), "root", NULL, 0, 0},
	{"ExemptGroups", KW_NAMES, OFF(exempt_groups), -1, NULL, NULL, 0, 0},
	{"IncludeSystemUsers", KW_BOOL, OFF(include_system_users), -1, "no", NULL, 0, 0},
	{"OtherSessions", KW_ENUM, OFF(other_sessions), BOFF(other_sessions), "defer",
	 other_sessions_names, 0, 0},
	{"RemoveAs", KW_ENUM, OFF(remove_as), BOFF(remove_as), "user", remove_as_names, 0, 0},
	{"NotifyUser", KW_BOOL, OFF(notify_user), BOFF(notify_user), "yes", NULL, 0, 0},
	{"RemoveSysV", KW_BOOL, OFF(remove_sysv), -1, "no", NULL, 0, 0},
	{"MaxDepth", KW_COUNT, OFF(max_depth), -1, "256", NULL, 1, WALK_MAX_DEPTH},
	{"MaxEntries", KW_COUNT, OFF(max_entries), -1, "10000000", NULL, 1, 1000000000},
};
_Static_assert(ARRAY_SIZE(keywords) <= 32, "policy_block.set has a bit per keyword");

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

/* Rule conditions: NAME=VALUE after the pattern, each at most once, each parsed into the
 * rule by its own function (0, or -EINVAL once it has said why). */
struct parser;
static int cond_class(struct parser *ps, const char *val, struct policy_rule *rule);
static int cond_min_size(struct parser *ps, const char *val, struct policy_rule *rule);
static int cond_type(struct parser *ps, const char *val, struct policy_rule *rule);
static const struct cond {
	const char *name;
	int (*parse)(struct parser *ps, const char *val, struct policy_rule *rule);
} conds[] = {
	{"class", cond_class},
	{"min-size", cond_min_size},
	{"type", cond_type},
};

/* Match criteria: the words after Match, and `all`. */
static const char *const criterion_names[] = {
	[POLICY_MATCH_USER] = "User",
	[POLICY_MATCH_GROUP] = "Group",
	[POLICY_MATCH_SERVICE] = "Service",
	[POLICY_MATCH_RHOST] = "RHost",
	[POLICY_MATCH_UNIT] = "Unit",
};
_Static_assert(ARRAY_SIZE(criterion_names) == _POLICY_MATCH_MAX, "a name for each criterion");
static const char *const match_words[] = {"Match", "User", "Group", "Service", "RHost", "Unit",
					  "all"};

static int cond_lookup(const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(conds); i++)
		if (n == strlen(conds[i].name) && strncasecmp(s, conds[i].name, n) == 0)
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
	if (i < ARRAY_SIZE(conds))
		return conds[i].name;
	i -= ARRAY_SIZE(conds);
	return i < ARRAY_SIZE(match_words) ? match_words[i] : NULL;
}

bool policy_keyword_is_match(size_t i)
{
	return i >= ARRAY_SIZE(keywords) + N_ACTIONS + ARRAY_SIZE(conds) &&
	       policy_keyword(i) != NULL;
}

bool policy_setting_info(size_t i, struct policy_setting_info *ret)
{
	const struct keyword *k;

	assert(ret);

	if (i >= ARRAY_SIZE(keywords))
		return false;
	k = &keywords[i];
	*ret = (struct policy_setting_info){
		.name = k->name,
		.def = k->def,
		.min = k->min,
		.max = k->max,
		.duration = k->kind == KW_DURATION,
		.per_session = k->boff >= 0,
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
	unsigned first_rule;  /* the line of the first rule, 0: none yet */
	unsigned first_match; /* the line of the first Match, 0: none yet */
	/* In a Match block (p->blocks[p->n_blocks - 1]): the lines of its settings, and of
	 * its first rule (0: none yet). */
	unsigned block_seen[ARRAY_SIZE(keywords)];
	unsigned block_rule;
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

static void blocks_done(struct policy *p)
{
	for (size_t i = 0; i < p->n_blocks; i++) {
		struct policy_block *b = &p->blocks[i];

		for (size_t c = 0; c < b->n_crit; c++)
			free(b->crit[c].patterns);
		free(b->crit);
		strv_done(&b->exempt_users);
	}
	free(p->blocks);
	p->blocks = NULL;
	p->n_blocks = 0;
}

void policy_done(struct policy *p)
{
	if (!p)
		return;
	watch_globs_done(p);
	blocks_done(p);
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
	const char *file;
	size_t i;

	assert(errs);
	assert(say);

	file = errs->file ? errs->file : name;
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

/* User and group names by the project's one rule (users.h: alice@corp.example and
 * CORP\alice from directory services too), or `none` alone: the empty list. */
static int set_names(struct parser *ps, const struct keyword *k, void *field, char **args,
		     size_t n)
{
	struct policy_strv *dst = field;
	struct policy_strv v = {0};

	if (n > MAX_LIST)
		return perr(ps, "'%s' takes at most %d names", k->name, MAX_LIST), -EINVAL;
	if (n == 1 && strcasecmp(args[0], "none") == 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(args[i], "none") == 0)
			return perr(ps, "%s: 'none' stands alone (the empty list)", k->name),
			       -EINVAL;
		if (!user_name_valid(args[i]))
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

/* Keyword k's value into field (in the policy, or in a Match block). */
static int set_value(struct parser *ps, const struct keyword *k, void *field, char **args,
		     size_t n)
{
	const char *err = NULL;
	uint64_t v;
	int r;

	if (n == 0)
		return perr(ps, "'%s' needs a value", k->name), -EINVAL;
	if (k->kind == KW_PATHS)
		return set_paths(ps, k, args, n);
	if (k->kind == KW_NAMES)
		return set_names(ps, k, field, args, n);
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

static int cond_class(struct parser *ps, const char *val, struct policy_rule *rule)
{
	return parse_class(ps, val, &rule->class_mask);
}

static int cond_min_size(struct parser *ps, const char *val, struct policy_rule *rule)
{
	int r = parse_size(val, &rule->min_size);

	if (r < 0)
		perr(ps, r == -ERANGE ? "min-size: size too large: '%.64s'"
				      : "min-size: bad size '%.64s' (N, NK, NM or NG)",
		     val);
	return r < 0 ? -EINVAL : 0;
}

static int cond_type(struct parser *ps, const char *val, struct policy_rule *rule)
{
	for (size_t t = 0; t < ARRAY_SIZE(type_names); t++)
		if (type_names[t] && strcasecmp(val, type_names[t]) == 0) {
			rule->type = (enum policy_type)t;
			return 0;
		}
	perr(ps, "type: expected file, dir or any, got '%.64s'", val);
	return -EINVAL;
}

static int parse_rule(struct parser *ps, enum policy_action a, char **args, size_t n)
{
	struct policy *p = ps->p;
	/* Keeping is always safe, so keep applies to every class unless told otherwise. */
	struct policy_rule rule = {.action = a,
				   .class_mask = a == POLICY_KEEP ? POLICY_CLASS_ALL
								  : POLICY_CLASS_DEFAULT,
				   .type = POLICY_TYPE_ANY, .line = ps->lineno,
				   .block = (unsigned)ps->p->n_blocks};
	unsigned seen = 0; /* a bit per conds[] entry */
	bool bad = false;
	const char *err;
	struct policy_rule *v;
	int r;

	if (n < 2)
		return perr(ps, "'%s' needs a pattern", action_names[a]), -EINVAL;
	if (p->n_rules >= POLICY_MAX_RULES)
		return perr(ps, "too many rules (at most %d)", POLICY_MAX_RULES), -EINVAL;
	for (size_t i = 2; i < n; i++) {
		const char *eq = strchr(args[i], '=');
		size_t klen;
		int c;

		if (!eq) {
			perr(ps, "expected a condition (class=, min-size=, type=), got '%.64s'",
			     args[i]);
			bad = true;
			continue;
		}
		klen = (size_t)(eq - args[i]);
		c = cond_lookup(args[i], klen);
		if (c < 0) {
			perr(ps, "unknown condition '%.*s' (class=, min-size=, type=)",
			     (int)MIN(klen, 64), args[i]);
			bad = true;
			continue;
		}
		if (seen & (1u << c)) {
			perr(ps, "duplicate condition '%s'", conds[c].name);
			bad = true;
		}
		seen |= 1u << c;
		if (conds[c].parse(ps, eq + 1, &rule) < 0)
			bad = true;
	}

	if (strlen(args[1]) > POLICY_MAX_PATTERN)
		return perr(ps, "pattern longer than %d bytes", POLICY_MAX_PATTERN), -EINVAL;
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
	return set_value(ps, k, (char *)ps->p + k->off, args, n);
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

/* A Match criterion's comma list: no empty pattern, at most MAX_LIST, text that can be
 * matched (valid UTF-8, no control character), and at least one pattern not negated: a
 * list of negations alone matches no one in sshd_config, which surprises everyone. */
static int check_patterns(struct parser *ps, const char *what, const char *list)
{
	const char *s = list;
	bool positive = false;
	size_t n = 0;

	for (;;) {
		size_t len = strcspn(s, ","), plen = len;
		const char *pat = s;

		if (plen && *pat == '!')
			pat++, plen--;
		else if (plen)
			positive = true;
		if (plen == 0)
			return perr(ps, "Match %s: empty pattern in '%.64s'", what, list), -EINVAL;
		if (++n > MAX_LIST)
			return perr(ps, "Match %s: at most %d patterns", what, MAX_LIST), -EINVAL;
		for (size_t i = 0; i < plen;) {
			uint32_t cp;
			size_t l = utf8_valid_len((const unsigned char *)pat + i, plen - i, &cp);

			if (l == 0 || (cp >= 0x80 && cp < 0xa0))
				return perr(ps, "Match %s: '%.64s' is not valid UTF-8 text", what,
					    list),
				       -EINVAL;
			i += l;
		}
		if (!s[len])
			break;
		s += len + 1;
	}
	if (!positive)
		return perr(ps, "Match %s %.64s: negated patterns alone match no one (as in "
				"sshd_config); write '*,%.64s'",
			    what, list, list),
		       -EINVAL;
	return 0;
}

/* Match all | Match CRITERION PATTERNS [CRITERION PATTERNS...]: a new block. It is added
 * even when the line is bad, so that the lines after it are read in a block (and any
 * error rejects the file whole anyway). */
static int parse_match(struct parser *ps, char **args, size_t n)
{
	struct policy *p = ps->p;
	struct policy_block *v, b = {.line = ps->lineno};
	unsigned seen = 0;
	int r = 0;

	if (p->n_blocks >= POLICY_MAX_BLOCKS)
		return perr(ps, "too many Match blocks (at most %d)", POLICY_MAX_BLOCKS), 0;
	if (!ps->first_match)
		ps->first_match = ps->lineno;
	if (fill_defaults(ps) == -ENOMEM) /* the rules in it are checked against Watch */
		return -ENOMEM;
	if (n == 1)
		r = (perr(ps, "'Match' needs criteria (User, Group, Service, RHost, Unit) or "
			      "'all'"),
		     -EINVAL);
	else if (n == 2 && strcasecmp(args[1], "all") == 0)
		n = 1;
	b.crit = calloc(n / 2 + 1, sizeof(*b.crit));
	if (!b.crit)
		return -ENOMEM;
	for (size_t i = 1; i < n && r == 0; i += 2) {
		int kind = -1;

		for (int k = 0; k < _POLICY_MATCH_MAX; k++)
			if (strcasecmp(args[i], criterion_names[k]) == 0)
				kind = k;
		if (strcasecmp(args[i], "all") == 0)
			r = (perr(ps, "Match: 'all' stands alone"), -EINVAL);
		else if (kind < 0)
			r = (perr(ps, "Match: unknown criterion '%.64s' (User, Group, Service, "
				      "RHost, Unit or all)",
				  args[i]),
			     -EINVAL);
		else if (seen & (1u << kind))
			r = (perr(ps, "Match: criterion '%s' given twice", criterion_names[kind]),
			     -EINVAL);
		else if (i + 1 == n)
			r = (perr(ps, "Match %s: needs a pattern list", criterion_names[kind]),
			     -EINVAL);
		else
			r = check_patterns(ps, criterion_names[kind], args[i + 1]);
		if (r < 0)
			break;
		seen |= 1u << kind;
		b.crit[b.n_crit].kind = (enum policy_criterion_kind)kind;
		b.crit[b.n_crit].patterns = strdup(args[i + 1]);
		if (!b.crit[b.n_crit++].patterns) {
			r = -ENOMEM;
			break;
		}
	}
	v = reallocarray(p->blocks, p->n_blocks + 1, sizeof(*v));
	if (!v) {
		for (size_t c = 0; c < b.n_crit; c++)
			free(b.crit[c].patterns);
		free(b.crit);
		return -ENOMEM;
	}
	p->blocks = v;
	p->blocks[p->n_blocks++] = b;
	memset(ps->block_seen, 0, sizeof(ps->block_seen));
	ps->block_rule = 0;
	return r == -ENOMEM ? r : 0;
}

/* Setting i in the current Match block: only the per-session ones, before its rules. */
static int set_in_block(struct parser *ps, size_t i, char **args, size_t n)
{
	const struct keyword *k = &keywords[i];
	struct policy_block *b = &ps->p->blocks[ps->p->n_blocks - 1];
	char allowed[128] = "";
	int r;

	if (k->boff < 0) {
		for (size_t j = 0; j < ARRAY_SIZE(keywords); j++)
			if (keywords[j].boff >= 0)
				snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed),
					 "%s%s", allowed[0] ? ", " : "", keywords[j].name);
		return perr(ps, "'%s' is not allowed in a Match block (line %u): only %s are",
			    k->name, b->line, allowed),
		       0;
	}
	if (ps->block_rule)
		return perr(ps, "setting '%s' after a rule of its Match block (line %u): settings "
				"come before rules",
			    k->name, ps->block_rule),
		       0;
	if (ps->block_seen[i])
		return perr(ps, "duplicate setting '%s' in a Match block (first on line %u)",
			    k->name, ps->block_seen[i]),
		       0;
	ps->block_seen[i] = ps->lineno;
	r = set_value(ps, k, (char *)b + k->boff, args + 1, n - 1);
	if (r == 0)
		b->set |= 1u << i;
	return r == -ENOMEM ? r : 0;
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

	if (strcasecmp(args[0], "Match") == 0)
		return parse_match(ps, args, n);
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++) {
		if (strcasecmp(args[0], keywords[i].name) != 0)
			continue;
		if (ps->p->n_blocks)
			return set_in_block(ps, i, args, n);
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
		return set_value(ps, &keywords[i], (char *)ps->p + keywords[i].off, args + 1,
				 n - 1) == -ENOMEM
			       ? -ENOMEM
			       : 0;
	}
	for (int a = 0; a < N_ACTIONS; a++) {
		if (strcasecmp(args[0], action_names[a]) != 0)
			continue;
		if (!ps->first_rule) {
			ps->first_rule = ps->lineno;
			if (fill_defaults(ps) == -ENOMEM)
				return -ENOMEM;
		}
		if (ps->p->n_blocks && !ps->block_rule)
			ps->block_rule = ps->lineno;
		return parse_rule(ps, (enum policy_action)a, args, n) == -ENOMEM ? -ENOMEM : 0;
	}
	return perr(ps, "unknown keyword '%.64s'", args[0]), 0;
}

int policy_defaults(struct policy *p)
{
	struct parser ps = {.p = p};
	int r;

	assert(p);

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

	assert(buf || len == 0);
	assert(p);

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

	assert(path);
	assert(p);

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
	fputs(name, f);
	if (s->n == 0)
		fputs(" none", f);
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, " %s", s->v[i]);
	fputc('\n', f);
}

/* Keyword k's value at field. */
static void dump_setting(FILE *f, const struct keyword *k, const void *field)
{
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

static void dump_rule(FILE *f, const struct policy_rule *r)
{
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

/* Block b (1-based; 0: outside any block): its Match line and settings, then its rules. */
static void dump_block(FILE *f, const struct policy *p, unsigned b)
{
	if (b) {
		const struct policy_block *blk = &p->blocks[b - 1];

		fputs("\nMatch", f);
		if (blk->n_crit == 0)
			fputs(" all", f);
		for (size_t c = 0; c < blk->n_crit; c++)
			fprintf(f, " %s %s", criterion_names[blk->crit[c].kind],
				blk->crit[c].patterns);
		fputc('\n', f);
		for (size_t i = 0; i < ARRAY_SIZE(keywords); i++)
			if (blk->set & (1u << i))
				dump_setting(f, &keywords[i], (const char *)blk + keywords[i].boff);
	}
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].block == b)
			dump_rule(f, &p->rules[i]);
}

int policy_dump(const struct policy *p, FILE *f)
{
	assert(p);
	assert(f);

	fputs("# tmpfs-sweep.conf(5): the effective policy, defaults included\n", f);
	if (p->report_only)
		fputs("# REPORT-ONLY: the policy file was rejected, nothing will be removed\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++)
		dump_setting(f, &keywords[i], (const char *)p + keywords[i].off);
	fputs("\n# ACTION PATTERN CONDITIONS (first match wins, in this order, in the blocks\n"
	      "# that match the session; unmatched files are reported when charged or created)\n",
	      f);
	for (unsigned b = 0; b <= p->n_blocks; b++)
		dump_block(f, p, b);
	return ferror(f) ? -EIO : 0;
}

/* '*' (any bytes) and '?' (one byte), everything else literal (a '\' in CORP\alice too):
 * sshd_config's patterns. Greedy with one backtrack point: linear in practice. */
static bool wild_match(const char *pat, size_t pn, const char *s, bool fold)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0, sn = strlen(s);

	while (si < sn) {
		if (pi < pn && pat[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pn && (pat[pi] == '?' || pat[pi] == s[si] ||
				       (fold && tolower((unsigned char)pat[pi]) ==
							tolower((unsigned char)s[si])))) {
			pi++;
			si++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < pn && pat[pi] == '*')
		pi++;
	return pi == pn;
}

/* sshd's match_pattern_list(): -1 a negated pattern matches, 1 a pattern matches, 0 none. */
static int list_match(enum policy_criterion_kind kind, const char *list, const char *value)
{
	bool fold = kind == POLICY_MATCH_SERVICE || kind == POLICY_MATCH_RHOST;
	int got = 0;

	for (const char *s = list;;) {
		size_t len = strcspn(s, ",");
		bool neg = *s == '!';

		if (wild_match(s + neg, len - neg, value, fold)) {
			if (neg)
				return -1;
			got = 1;
		}
		if (!s[len])
			return got;
		s += len + 1;
	}
}

bool policy_criterion_holds(enum policy_criterion_kind kind, const char *patterns,
			    const char *value)
{
	assert(patterns);

	return value && list_match(kind, patterns, value) == 1;
}

/* The names of the subject's groups, looked up once. */
struct group_names {
	char **v;
	size_t n;
	bool loaded;
	int err;
};

static void group_names_done(struct group_names *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i]);
	free(g->v);
}

static int group_names_load(struct group_names *g, const struct policy_subject *who)
{
	_cleanup_free_ gid_t *gids = NULL;
	int n;

	g->loaded = true;
	if (!who->user || !who->have_gid)
		return 0; /* no user: no groups, a Group criterion does not hold */
	n = user_groups(who->user, who->gid, &gids);
	if (n < 0)
		return g->err = n;
	g->v = calloc((size_t)n + 1, sizeof(char *));
	if (!g->v)
		return g->err = -ENOMEM;
	for (int i = 0; i < n; i++) {
		char name[USER_NAME_MAX + 1];
		int r = group_name(gids[i], name, sizeof(name));

		if (r == -ENOENT || r == -EBADMSG)
			continue; /* a gid without a usable name: no pattern names it */
		if (r < 0)
			return g->err = r;
		g->v[g->n] = strdup(name);
		if (!g->v[g->n])
			return g->err = -ENOMEM;
		g->n++;
	}
	return 0;
}

/* sshd's Group: false when any group matches a negated pattern, else true when one
 * matches a pattern. */
static bool groups_match(const struct group_names *g, const char *patterns)
{
	bool found = false;

	for (size_t i = 0; i < g->n; i++) {
		int m = list_match(POLICY_MATCH_GROUP, patterns, g->v[i]);

		if (m < 0)
			return false;
		found = found || m > 0;
	}
	return found;
}

static const char *subject_value(const struct policy_subject *who,
				 enum policy_criterion_kind kind)
{
	switch (kind) {
	case POLICY_MATCH_USER:
		return who->user;
	case POLICY_MATCH_SERVICE:
		return who->service;
	case POLICY_MATCH_RHOST:
		return who->rhost;
	case POLICY_MATCH_UNIT:
		return who->unit;
	default:
		return NULL;
	}
}

/* Does block b hold for who? -errno when a group lookup failed. */
static int block_holds(const struct policy_block *b, const struct policy_subject *who,
		       struct group_names *groups)
{
	for (size_t c = 0; c < b->n_crit; c++) {
		const struct policy_criterion *cr = &b->crit[c];

		if (cr->kind == POLICY_MATCH_GROUP) {
			if (!groups->loaded)
				(void)group_names_load(groups, who);
			if (groups->err)
				return groups->err;
			if (!groups_match(groups, cr->patterns))
				return 0;
		} else if (!policy_criterion_holds(cr->kind, cr->patterns,
						   subject_value(who, cr->kind))) {
			return 0;
		}
	}
	return 1;
}

bool policy_may_defer(const struct policy *p)
{
	assert(p);

	if (p->other_sessions == POLICY_OTHER_DEFER)
		return true;
	for (size_t i = 0; i < p->n_blocks; i++)
		for (size_t k = 0; k < ARRAY_SIZE(keywords); k++)
			if ((p->blocks[i].set & (1u << k)) && keywords[k].off == OFF(other_sessions) &&
			    p->blocks[i].other_sessions == POLICY_OTHER_DEFER)
				return true;
	return false;
}

int policy_scope_init(const struct policy *p, const struct policy_subject *who,
		      struct policy_scope *ret)
{
	struct group_names groups = {0};
	unsigned taken = 0; /* the settings a matching block gave already */

	assert(p);
	assert(who);
	assert(ret);

	*ret = (struct policy_scope){
		.exempt_users = &p->exempt_users,
		.other_sessions = p->other_sessions,
		.remove_as = p->remove_as,
		.notify_user = p->notify_user,
	};
	if (!p->n_blocks)
		return 0;
	ret->active = calloc(p->n_blocks, sizeof(bool));
	if (!ret->active)
		return -ENOMEM;
	ret->n = p->n_blocks;
	for (size_t i = 0; i < p->n_blocks; i++) {
		const struct policy_block *b = &p->blocks[i];
		int r = block_holds(b, who, &groups);
		unsigned give;

		if (r == -ENOMEM) {
			group_names_done(&groups);
			policy_scope_done(ret);
			return r;
		}
		if (r < 0 && !ret->unknown) {
			snprintf(ret->unknown_buf, sizeof(ret->unknown_buf),
				 "cannot list the groups of %s for Match Group (line %u): %s",
				 who->user, b->line, strerror(-r));
			ret->unknown = ret->unknown_buf;
		}
		ret->active[i] = r > 0;
		if (r <= 0)
			continue;
		give = b->set & ~taken;
		taken |= b->set;
		for (size_t k = 0; k < ARRAY_SIZE(keywords); k++) {
			const void *v = (const char *)b + (keywords[k].boff < 0 ? 0 : keywords[k].boff);

			if (!(give & (1u << k)))
				continue;
			if (keywords[k].off == OFF(exempt_users))
				ret->exempt_users = v;
			else if (keywords[k].off == OFF(other_sessions))
				ret->other_sessions = *(const int *)v;
			else if (keywords[k].off == OFF(remove_as))
				ret->remove_as = *(const int *)v;
			else if (keywords[k].off == OFF(notify_user))
				ret->notify_user = *(const bool *)v;
		}
	}
	group_names_done(&groups);
	return 0;
}

void policy_scope_done(struct policy_scope *s)
{
	if (!s)
		return;
	free(s->active);
	*s = (struct policy_scope){0};
}

/* Rules outside any block, and in `Match all` blocks, apply to every session. */
static bool block_applies(const struct policy *p, const struct policy_scope *scope, unsigned b)
{
	return b == 0 || p->blocks[b - 1].n_crit == 0 ||
	       (scope && b - 1 < scope->n && scope->active[b - 1]);
}

static bool rule_may_apply(const struct policy *p, const struct policy_scope *scope,
			   const struct policy_rule *r, unsigned class_mask, uint64_t size,
			   bool is_dir)
{
	return (r->class_mask & class_mask) && size >= r->min_size &&
	       (r->type & (is_dir ? POLICY_TYPE_DIR : POLICY_TYPE_FILE)) &&
	       block_applies(p, scope, r->block);
}

const struct policy_rule *policy_match(const struct policy *p, const struct policy_scope *scope,
				       const char *path, const char *user, uid_t uid,
				       unsigned class_mask, uint64_t size, bool is_dir)
{
	const struct policy_rule *found = NULL;
	struct glob_path gp;
	size_t i;

	assert(p);
	assert(path);

	/* Most entries of a tree can match no rule by class, size or type alone (a user's
	 * older files, class owned): no need to split the path or match a glob. */
	for (i = 0; i < p->n_rules; i++)
		if (rule_may_apply(p, scope, &p->rules[i], class_mask, size, is_dir))
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

		if (!rule_may_apply(p, scope, r, class_mask, size, is_dir))
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

enum policy_action policy_decide(const struct policy *p, const struct policy_scope *scope,
				 const char *path, const char *user, uid_t uid,
				 unsigned class_mask, uint64_t size, bool is_dir,
				 const struct policy_rule **rule)
{
	const struct policy_rule *r;
	enum policy_action a;

	assert(p);

	r = policy_match(p, scope, path, user, uid, class_mask, size, is_dir);
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
	char **v;
	size_t n = 0;

	assert(p);
	assert(ret);

	v = calloc(p->watch.n + 1, sizeof(char *));
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

	assert(ret);

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

/* 1: user is a member, 0: not, -errno: cannot tell. */
static int in_group(const char *name, const gid_t *groups, size_t n_groups)
{
	gid_t gid;
	int r = group_by_name(name, &gid);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_groups; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

const char *policy_user_exempt(const struct policy *p, const struct policy_scope *scope,
			       const char *user, uid_t uid, const gid_t *groups, size_t n_groups,
			       uid_t uid_min)
{
	const struct policy_strv *names;

	assert(p);
	assert(groups || n_groups == 0);

	names = scope ? scope->exempt_users : &p->exempt_users;
	if (!user)
		return "no user name";
	for (size_t i = 0; i < names->n; i++)
		if (streq(names->v[i], user))
			return "named in ExemptUsers";
	if (!p->include_system_users && uid > 0 && uid < uid_min)
		return "a system user (uid below UID_MIN)";
	for (size_t i = 0; i < p->exempt_groups.n; i++) {
		int r = in_group(p->exempt_groups.v[i], groups, n_groups);

		if (r > 0)
			return "a member of an ExemptGroups group";
		if (r < 0)
			return "cannot tell whether a member of an ExemptGroups group";
	}
	return NULL;
}

const char *policy_exempt(const struct policy *p, const struct policy_scope *scope,
			  const char *user, uid_t uid, gid_t gid)
{
	_cleanup_free_ gid_t *groups = NULL;
	uid_t uid_min = 1000;
	int n = 0;

	assert(p);

	if (!user)
		return "no user name";
	if (!p->include_system_users && uid > 0)
		(void)policy_uid_min(NULL, &uid_min);
	if (p->exempt_groups.n > 0) {
		n = user_groups(user, gid, &groups);
		if (n < 0)
			return "cannot list the user's groups for ExemptGroups";
	}
	return policy_user_exempt(p, scope, user, uid, groups, (size_t)n, uid_min);
}
