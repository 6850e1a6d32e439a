/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper.h: the helper's subcommands (main.c dispatches) and its error reporter (log.c).
 * Exit codes (documented in tmpfs-sweep(8)):
 */
#pragma once

#include <stdbool.h>
#include <unistd.h>

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,    /* the operation failed (or check-config found errors) */
	EXIT_USAGE = 2,   /* bad command line */
	EXIT_NOPERM = 3,  /* needs root */
	EXIT_NOTFOUND = 4,/* no such cgroup, session or mount */
	EXIT_NOMEMCG = 5, /* no memory controller */
	EXIT_NOTTMPFS = 6,/* a path given is not a tmpfs mount point */
	EXIT_INCOMPLETE = 7, /* finished, but a cap (time, depth, entries) cut it short */
};

/* "tmpfs-sweep: " + message + "\n" on stderr (log.c). Returns `code` for `return fail(...)`. */
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "tmpfs-sweep: LINE" on stderr: policy_errors_say's say() for the helper. */
void warn_line(const char *line, void *userdata);

static inline bool need_root(void)
{
	return geteuid() == 0;
}

int cmd_explain(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_close(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_dump_config(int argc, char **argv);
