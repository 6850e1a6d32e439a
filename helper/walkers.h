/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * walkers.h: `scan` and `explain` walk with several processes (--jobs N). The first
 * forks the others once its mounts are open; each walks its share of every mount (by the
 * names of the root's entries: walk_opts.share) with its own page attribution and its own
 * open description of each root. Processes, not threads: attribution maps files into the
 * walker's address space, and threads would wait on one mmap lock (bench/README.md).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct pages_ctx;

#define WALKERS_MAX 16
#define WALKERS_DEFAULT 4 /* the default: one per CPU the command may run on, at most this */

struct walkers {
	bool started;           /* by walkers_start: the rest is set */
	unsigned share, shares; /* this process's share (0: the first), of how many */
	pid_t pid[WALKERS_MAX]; /* the first's: the others' (pid[0] unused) */
	int back[WALKERS_MAX];  /* the first's: each other's pipe back (read end); a walker's:
				 * back[0], its write end; -1 where there is none */
};

unsigned walkers_default(void);

/* "N" of --jobs N: 1 to WALKERS_MAX. */
int walkers_parse(const char *arg, unsigned *ret);

/* Fork walkers 1..jobs-1, each with a pipe back to the first when `back`. They wait until
 * all are forked and are told how many shares there are: fewer than asked when a fork
 * failed (pids.max), so the shares still cover the tree. Returns 0 in the first and in
 * each walker (w->share tells which; no fork at all: one share), -errno when the pipe that
 * starts them could not be made. Walkers that write to stdout need it flushed before
 * (each would write what it held). A walker dies with the first (PR_SET_PDEATHSIG). */
int walkers_start(struct walkers *w, unsigned jobs, bool back);

/* In a walker other than the first: a page attribution of its own (the inherited one
 * reads the first's page tables through /proc/self/pagemap), replacing *pc. */
int walkers_own_pages(struct pages_ctx **pc);

/* In a walker other than the first: *fd, a directory, replaced by an open description of
 * its own (an inherited one shares the directory's read position with the first). */
int walkers_own_dir(int *fd);

/* The first: wait for walker k to end; its wait status in *status. */
void walkers_wait(struct walkers *w, unsigned k, int *status);

/* "CMD: walker k ended before its share was walked (signal N)" on stderr: walker k ended
 * (wait status `status`) without handing its share over. */
void walkers_say_lost(const char *cmd, unsigned k, int status);

/* Close what walkers_start left open in this process (the first: the pipes back). Zero
 * or {.shares = 1} before: nothing. */
void walkers_done(struct walkers *w);
