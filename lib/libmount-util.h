/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libmount-util.h: cleanup helpers for libmount objects (_cleanup_ with util.h). */
#pragma once

#include <errno.h>
#include <libmount.h>

static inline void mnt_unref_tablep(struct libmnt_table **t)
{
	mnt_unref_table(*t);
}

static inline void mnt_free_iterp(struct libmnt_iter **i)
{
	mnt_free_iter(*i);
}

/* mountinfo (NULL: /proc/self/mountinfo) parsed into *ret. */
static inline int mountinfo_load(const char *mountinfo, struct libmnt_table **ret)
{
	struct libmnt_table *tb = mnt_new_table();
	int r;

	if (!tb)
		return -ENOMEM;
	r = mnt_table_parse_file(tb, mountinfo ? mountinfo : "/proc/self/mountinfo");
	if (r < 0) {
		mnt_unref_table(tb);
		return r;
	}
	*ret = tb;
	return 0;
}
