/* SPDX-License-Identifier: GPL-2.0-or-later */
/* format.h: how the helper shows things to people: sizes, times, user names, and
 * file names with control characters and invalid UTF-8 made visible (never raw). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* "100.0M", "4.0K", "512B" into buf (>= 16 bytes). */
const char *fmt_size(char *buf, size_t len, uint64_t bytes);
/* "2026-11-28 21:30:01" local time, into buf (>= 32 bytes); "-" for 0. */
const char *fmt_time(char *buf, size_t len, uint64_t ns);
/* The user name of uid, or the number. Cached per call site is not needed: NSS caches. */
const char *fmt_user(char *buf, size_t len, uid_t uid);
/* Print a name with anything not printable escaped as \xNN (like `ls -b`). */
void print_name(FILE *f, const char *s, size_t n);
struct user_info;
/* A user given as a name or a uid. A uid without a passwd entry is fine: the name is then
 * "" and the gid (gid_t)-1. -ENOENT: no such user name; -EINVAL: not a name (users.h). */
int parse_user_arg(const char *arg, struct user_info *ret);
/* The same for any other string a user may choose (a process name, a cgroup path) of a
 * NUL-terminated s, padded with spaces to width columns as %-*s would. */
void print_name_pad(FILE *f, const char *s, int width);
/* Parse a size "10M", "4096", "1G" (binary units). */
int parse_size(const char *s, uint64_t *ret);
/* Parse --since: seconds since the epoch, "@SECS", or "YYYY-MM-DD[ HH:MM[:SS]]" local. */
int parse_time_arg(const char *s, uint64_t *ret_ns);
