/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libmount-util.h: cleanup helpers for libmount objects (_cleanup_ with util.h). */
#pragma once

#include <libmount.h>

static inline void mnt_unref_tablep(struct libmnt_table **t)
{
	mnt_unref_table(*t);
}

static inline void mnt_free_iterp(struct libmnt_iter **i)
{
	mnt_free_iter(*i);
}
