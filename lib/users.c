/* SPDX-License-Identifier: GPL-2.0-or-later */
/* users.c: the user and group name rule and the reentrant NSS lookups (users.h). */
#include "users.h"
#include "json.h"
#include "util.h"

#include <assert.h>
#include <grp.h>
#include <pwd.h>

#define NSS_BUF_SMALL 2048    /* an entry fits: no heap touched at every login */
#define NSS_BUF_MAX (1u << 20) /* a group of many members: grown up to this */

bool user_name_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (!s)
		return false;
	n = strnlen(s, USER_NAME_MAX + 1);
	if (n == 0 || n > USER_NAME_MAX || s[0] == '-' || streq(s, ".") || streq(s, ".."))
		return false;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_valid_len(p + i, n - i, &cp);

		if (l == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == '/' ||
		    cp == ':' || cp == '"')
			return false;
		i += l;
	}
	return true;
}

/* getpwnam_r / getpwuid_r with a buffer on the stack, grown on the heap on ERANGE. */
static int pw_lookup(const char *name, uid_t uid, struct user_info *ret)
{
	char small[NSS_BUF_SMALL];
	_cleanup_free_ char *big = NULL;
	char *buf = small;
	size_t size = sizeof(small);

	for (;;) {
		struct passwd pw, *res = NULL;
		int r = name ? getpwnam_r(name, &pw, buf, size, &res)
			     : getpwuid_r(uid, &pw, buf, size, &res);

		if (r == ERANGE && size < NSS_BUF_MAX) {
			size *= 4;
			free(big);
			buf = big = malloc(size);
			if (!big)
				return -ENOMEM;
			continue;
		}
		if (r)
			return -r;
		if (!res)
			return -ENOENT;
		if (!user_name_valid(pw.pw_name))
			return -EBADMSG;
		ret->uid = pw.pw_uid;
		ret->gid = pw.pw_gid;
		memcpy(ret->name, pw.pw_name, strlen(pw.pw_name) + 1);
		return 0;
	}
}

int user_by_name(const char *name, struct user_info *ret)
{
	assert(ret);

	if (!user_name_valid(name))
		return -EINVAL;
	return pw_lookup(name, 0, ret);
}

int user_by_uid(uid_t uid, struct user_info *ret)
{
	assert(ret);

	return pw_lookup(NULL, uid, ret);
}

int user_groups(const char *user, gid_t gid, gid_t **ret)
{
	int n = 32;

	assert(user);
	assert(ret);

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
		n = want > n ? want : n * 2;
	}
	return -E2BIG;
}

/* getgrnam_r / getgrgid_r the same way; *gid and name (size bytes) as asked. */
static int gr_lookup(const char *name, gid_t gid, gid_t *ret_gid, char *ret_name, size_t size)
{
	char small[NSS_BUF_SMALL];
	_cleanup_free_ char *big = NULL;
	char *buf = small;
	size_t cap = sizeof(small);

	for (;;) {
		struct group gr, *res = NULL;
		int r = name ? getgrnam_r(name, &gr, buf, cap, &res)
			     : getgrgid_r(gid, &gr, buf, cap, &res);

		if (r == ERANGE && cap < NSS_BUF_MAX) {
			cap *= 4;
			free(big);
			buf = big = malloc(cap);
			if (!big)
				return -ENOMEM;
			continue;
		}
		if (r)
			return -r;
		if (!res)
			return -ENOENT;
		if (ret_gid)
			*ret_gid = gr.gr_gid;
		if (ret_name) {
			if (!user_name_valid(gr.gr_name) || strlen(gr.gr_name) >= size)
				return -EBADMSG;
			memcpy(ret_name, gr.gr_name, strlen(gr.gr_name) + 1);
		}
		return 0;
	}
}

int group_by_name(const char *name, gid_t *ret)
{
	assert(ret);

	if (!user_name_valid(name))
		return -EINVAL;
	return gr_lookup(name, 0, ret, NULL, 0);
}

int group_name(gid_t gid, char *buf, size_t size)
{
	assert(buf);

	return gr_lookup(NULL, gid, NULL, buf, size);
}
