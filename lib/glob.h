/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * glob.h: the policy's absolute path patterns. `*` and `?` match within one path
 * component, a `**` component matches any number of components (a trailing `**`
 * at least one, so `/dev/shm/` + `**` never matches `/dev/shm`), `%u` is the session's
 * user name, `%U` its uid, `%%` a literal `%`. Everything else is literal; `*`
 * also matches names that start with a dot. The user name substituted for `%u` is
 * always matched literally, so a name holding `*`, `?` or `/` never widens a pattern
 * (a name with `/`, an empty name, `.` and `..` make such a pattern match nothing).
 * Matching is the greedy single-backtrack algorithm, at the component level for
 * `**` and within a component for `*`: O(pattern * path), never exponential.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GLOB_MAX_STARS 64

struct glob_tok {
	uint8_t kind; /* GLOB_TOK_* (glob.c) */
	uint32_t off, len; /* GLOB_TOK_LIT: bytes lits[off .. off+len) */
};

struct glob_comp {
	uint32_t first, n; /* tokens toks[first .. first+n) */
	bool globstar;     /* the component is `**` */
	bool wild;         /* holds `*` or `?` */
	bool var;          /* holds %u or %U */
};

struct glob {
	char *text; /* as written */
	char *lits; /* decoded literal bytes */
	struct glob_tok *toks;
	struct glob_comp *comps;
	size_t n_toks, n_comps;
	unsigned stars;
	bool wild, uses_user, uses_uid;
};

/* A path split into components once, matched against many globs. */
struct glob_path {
	const char *s;
	uint32_t (*c)[2]; /* offset, length of each component */
	size_t n;
};

/* Compile an absolute pattern. On -EINVAL *err names the problem (static text). */
int glob_compile(const char *text, struct glob *g, const char **err);
void glob_done(struct glob *g);

/* Split an absolute path ("/" has no components; empty components are skipped). */
int glob_path_split(const char *path, struct glob_path *gp);
void glob_path_done(struct glob_path *gp);

/* Does the pattern match the whole path for this user? */
bool glob_match(const struct glob *g, const struct glob_path *gp, const char *user, uid_t uid);

/* Could `pattern` match the path `tmpl` (a glob without wildcards, whose %u/%U stand for
 * any user) for some user? Conservative: true whenever it cannot rule a match out. */
bool glob_may_match(const struct glob *pattern, const struct glob *tmpl);

/* Expand a glob without wildcards into a path for this user. -EINVAL if it holds
 * wildcards or needs %u and the user name is not usable; -ENOMEM. */
int glob_expand(const struct glob *g, const char *user, uid_t uid, char **ret);

/* A user name that may stand for %u: one by the name rule of users.h (never '/', "." or
 * ".."). */
bool glob_user_ok(const char *user);
