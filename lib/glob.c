/* SPDX-License-Identifier: GPL-2.0-or-later */
/* glob.c: compile and match the policy's path patterns (see glob.h). */
#include "glob.h"
#include "users.h"
#include "util.h"

#include <assert.h>
#include <inttypes.h>

enum {
	GLOB_TOK_LIT,
	GLOB_TOK_STAR,
	GLOB_TOK_ANY,
	GLOB_TOK_USER,
	GLOB_TOK_UID,
};

void glob_done(struct glob *g)
{
	if (!g)
		return;
	free(g->text);
	free(g->lits);
	free(g->toks);
	free(g->comps);
	*g = (struct glob){0};
}

bool glob_user_ok(const char *user)
{
	return user_name_valid(user); /* the project's one rule: never '/', ".", ".." */
}

static void add_tok(struct glob *g, uint8_t kind)
{
	g->toks[g->n_toks++] = (struct glob_tok){.kind = kind};
	g->comps[g->n_comps].n++;
}

static void add_lit(struct glob *g, size_t *lits_len, char c)
{
	struct glob_comp *comp = &g->comps[g->n_comps];
	struct glob_tok *last = comp->n ? &g->toks[g->n_toks - 1] : NULL;

	g->lits[*lits_len] = c;
	if (last && last->kind == GLOB_TOK_LIT && last->off + last->len == *lits_len) {
		last->len++;
	} else {
		add_tok(g, GLOB_TOK_LIT);
		g->toks[g->n_toks - 1].off = (uint32_t)*lits_len;
		g->toks[g->n_toks - 1].len = 1;
	}
	(*lits_len)++;
}

/* One component [s, s+n) into g->comps[g->n_comps]. */
static int compile_comp(struct glob *g, const char *s, size_t n, size_t *lits_len,
			const char **err)
{
	struct glob_comp *comp = &g->comps[g->n_comps];

	*comp = (struct glob_comp){.first = (uint32_t)g->n_toks};
	if (n == 0)
		return *err = "empty path component ('//' or a trailing '/')", -EINVAL;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return *err = "'.' and '..' components are not allowed", -EINVAL;
	if (n == 2 && s[0] == '*' && s[1] == '*') {
		comp->globstar = comp->wild = true;
		g->stars += 2;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '*':
			if (i + 1 < n && s[i + 1] == '*')
				return *err = "'**' must be a whole path component", -EINVAL;
			g->stars++;
			comp->wild = true;
			add_tok(g, GLOB_TOK_STAR);
			break;
		case '?':
			comp->wild = true;
			add_tok(g, GLOB_TOK_ANY);
			break;
		case '%':
			if (i + 1 >= n)
				return *err = "'%' must be followed by u, U or %", -EINVAL;
			i++;
			if (s[i] == 'u') {
				comp->var = g->uses_user = true;
				add_tok(g, GLOB_TOK_USER);
			} else if (s[i] == 'U') {
				comp->var = g->uses_uid = true;
				add_tok(g, GLOB_TOK_UID);
			} else if (s[i] == '%') {
				add_lit(g, lits_len, '%');
			} else {
				return *err = "'%' must be followed by u, U or %", -EINVAL;
			}
			break;
		default:
			add_lit(g, lits_len, s[i]);
		}
	}
	return 0;
}

int glob_compile(const char *text, struct glob *out, const char **err)
{
	_cleanup_(glob_done) struct glob g = {0};
	size_t len = strlen(text), lits_len = 0;
	const char *p;
	int r;

	assert(out);

	*err = NULL;
	if (text[0] != '/')
		return *err = "path must be absolute (start with '/')", -EINVAL;
	if (len > UINT32_MAX / 2)
		return *err = "path too long", -EINVAL;
	g.text = strdup(text);
	g.lits = malloc(len + 1);
	g.toks = calloc(len + 2, sizeof(*g.toks));
	g.comps = calloc(len + 2, sizeof(*g.comps));
	if (!g.text || !g.lits || !g.toks || !g.comps)
		return -ENOMEM;
	p = text + 1;
	while (len > 1) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		r = compile_comp(&g, p, n, &lits_len, err);
		if (r < 0)
			return r;
		g.wild |= g.comps[g.n_comps].wild;
		g.n_comps++;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (g.stars > GLOB_MAX_STARS)
		return *err = "more than 64 '*' in one pattern", -EINVAL;
	/* A trailing `**` must match at least one component: `a/` `**` becomes `a/` `*` `/` `**`. */
	if (g.n_comps && g.comps[g.n_comps - 1].globstar) {
		struct glob_comp *c = &g.comps[g.n_comps - 1];

		*c = (struct glob_comp){.first = (uint32_t)g.n_toks, .n = 1, .wild = true};
		g.toks[g.n_toks++] = (struct glob_tok){.kind = GLOB_TOK_STAR};
		g.comps[g.n_comps++] = (struct glob_comp){.first = (uint32_t)g.n_toks,
							  .globstar = true, .wild = true};
	}
	*out = g;
	g = (struct glob){0};
	return 0;
}

int glob_path_split(const char *path, struct glob_path *gp)
{
	size_t n = 0, i = 0;

	assert(path);
	assert(gp);

	*gp = (struct glob_path){.s = path};
	if (path[0] != '/')
		return -EINVAL;
	for (const char *p = path; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			n++;
	gp->c = calloc(n ? n : 1, sizeof(*gp->c));
	if (!gp->c)
		return -ENOMEM;
	for (const char *p = path; *p;) {
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if ((size_t)(p - path) > UINT32_MAX || len > UINT32_MAX) {
			glob_path_done(gp);
			return -E2BIG;
		}
		gp->c[i][0] = (uint32_t)(p - path);
		gp->c[i][1] = (uint32_t)len;
		i++;
		p += len;
	}
	gp->n = i;
	return 0;
}

void glob_path_done(struct glob_path *gp)
{
	assert(gp);
	free(gp->c);
	gp->c = NULL;
	gp->n = 0;
}

struct vars {
	const char *user;
	size_t user_len;
	char uid[24];
	size_t uid_len;
	bool as_star; /* %u/%U stand for any string (glob_may_match) */
};

/* Tokens of one component against s[0..n): greedy, backtracking only to the last `*`. */
static bool comp_match(const struct glob *g, const struct glob_comp *c, const char *s, size_t n,
		       const struct vars *v)
{
	const struct glob_tok *t = g->toks + c->first;
	size_t ti = 0, si = 0, star_ti = SIZE_MAX, star_si = 0;

	while (ti < c->n || si < n) {
		if (ti < c->n) {
			const char *lit = NULL;
			size_t len = 0;
			uint8_t kind = t[ti].kind;

			if (v->as_star && (kind == GLOB_TOK_USER || kind == GLOB_TOK_UID))
				kind = GLOB_TOK_STAR;
			switch (kind) {
			case GLOB_TOK_STAR:
				star_ti = ti++;
				star_si = si;
				continue;
			case GLOB_TOK_ANY:
				if (si < n) {
					ti++, si++;
					continue;
				}
				break;
			case GLOB_TOK_LIT:
				lit = g->lits + t[ti].off, len = t[ti].len;
				break;
			case GLOB_TOK_USER:
				lit = v->user, len = v->user_len;
				break;
			case GLOB_TOK_UID:
				lit = v->uid, len = v->uid_len;
				break;
			}
			if (lit && len <= n - si && memcmp(s + si, lit, len) == 0) {
				ti++, si += len;
				continue;
			}
		}
		if (star_ti == SIZE_MAX || star_si >= n)
			return false;
		si = ++star_si;
		ti = star_ti + 1;
	}
	return true;
}

typedef bool (*comp_pred)(const void *ctx, size_t pi, size_t si);

/* Components of g against n_s subject components: the same greedy algorithm, `**` as star. */
static bool comps_match(const struct glob *g, size_t n_s, comp_pred pred, const void *ctx)
{
	size_t pi = 0, si = 0, star_pi = SIZE_MAX, star_si = 0;

	while (pi < g->n_comps || si < n_s) {
		if (pi < g->n_comps) {
			if (g->comps[pi].globstar) {
				star_pi = pi++;
				star_si = si;
				continue;
			}
			if (si < n_s && pred(ctx, pi, si)) {
				pi++, si++;
				continue;
			}
		}
		if (star_pi == SIZE_MAX || star_si >= n_s)
			return false;
		si = ++star_si;
		pi = star_pi + 1;
	}
	return true;
}

struct match_ctx {
	const struct glob *g;
	const struct glob_path *gp;
	struct vars v;
};

static bool path_pred(const void *ctx, size_t pi, size_t si)
{
	const struct match_ctx *m = ctx;

	return comp_match(m->g, &m->g->comps[pi], m->gp->s + m->gp->c[si][0], m->gp->c[si][1],
			  &m->v);
}

/* Only what the glob uses: a sweep matches every entry of a tree, and printing the uid
 * for each one was a measurable share of it (bench/close). */
static void vars_init(struct vars *v, const struct glob *g, const char *user, uid_t uid)
{
	*v = (struct vars){.user = user ? user : ""};
	if (g->uses_user && user)
		v->user_len = strlen(user);
	if (g->uses_uid)
		v->uid_len = (size_t)snprintf(v->uid, sizeof(v->uid), "%" PRIu32, (uint32_t)uid);
}

bool glob_match(const struct glob *g, const struct glob_path *gp, const char *user, uid_t uid)
{
	struct match_ctx m = {.g = g, .gp = gp};

	assert(g);
	assert(gp);

	if (g->uses_user && !glob_user_ok(user))
		return false;
	vars_init(&m.v, g, user, uid);
	return comps_match(g, gp->n, path_pred, &m);
}

struct may_ctx {
	const struct glob *pat, *tmpl;
};

static bool may_pred(const void *ctx, size_t pi, size_t si)
{
	const struct may_ctx *m = ctx;
	const struct glob_comp *p = &m->pat->comps[pi], *w = &m->tmpl->comps[si];
	struct vars any = {.as_star = true};
	const struct glob_tok *lit;

	if (!w->var) {
		if (w->n != 1 || m->tmpl->toks[w->first].kind != GLOB_TOK_LIT)
			return true; /* not a plain template component: assume the worst */
		lit = &m->tmpl->toks[w->first];
		return comp_match(m->pat, p, m->tmpl->lits + lit->off, lit->len, &any);
	}
	if (p->wild || p->var || p->n != 1)
		return true;
	lit = &m->pat->toks[p->first];
	return comp_match(m->tmpl, w, m->pat->lits + lit->off, lit->len, &any);
}

bool glob_may_match(const struct glob *pattern, const struct glob *tmpl)
{
	struct may_ctx m = {.pat = pattern, .tmpl = tmpl};

	assert(pattern);
	assert(tmpl);

	return comps_match(pattern, tmpl->n_comps, may_pred, &m);
}

int glob_expand(const struct glob *g, const char *user, uid_t uid, char **ret)
{
	struct vars v;
	size_t cap = 2;
	char *buf, *p;

	assert(g);
	assert(ret);

	if (g->wild || (g->uses_user && !glob_user_ok(user)))
		return -EINVAL;
	vars_init(&v, g, user, uid);
	for (size_t i = 0; i < g->n_toks; i++)
		cap += g->toks[i].len + v.user_len + v.uid_len;
	cap += g->n_comps;
	buf = p = malloc(cap);
	if (!buf)
		return -ENOMEM;
	if (g->n_comps == 0)
		*p++ = '/';
	for (size_t i = 0; i < g->n_comps; i++) {
		const struct glob_comp *c = &g->comps[i];

		*p++ = '/';
		for (size_t k = c->first; k < c->first + c->n; k++) {
			const struct glob_tok *t = &g->toks[k];

			if (t->kind == GLOB_TOK_LIT)
				memcpy(p, g->lits + t->off, t->len), p += t->len;
			else if (t->kind == GLOB_TOK_USER)
				memcpy(p, v.user, v.user_len), p += v.user_len;
			else
				memcpy(p, v.uid, v.uid_len), p += v.uid_len;
		}
	}
	*p = '\0';
	*ret = buf;
	return 0;
}
