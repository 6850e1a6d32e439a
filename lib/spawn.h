/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spawn.h: run a program from inside a host process (sshd) with a deadline, without
 * touching the host's SIGCHLD handling. An intermediate child is made with
 * clone3(CLONE_PIDFD) and exit_signal 0: no SIGCHLD is sent, and a host's waitpid(-1)
 * (which only waits for "non-clone" children) can neither reap nor block on it. It
 * never execs (execve resets the exit signal to SIGCHLD); it forks the program, waits
 * for it and passes its status back through a pipe. The intermediate is waited for by
 * polling its pidfd and reaped with waitid(P_PIDFD, __WALL); past the deadline nothing is
 * waited for longer than SPAWN_GRACE_MS. Where clone3 is refused
 * (ENOSYS, e.g. a seccomp filter), fork() is used with SIGCHLD set to SIG_DFL for the
 * duration, as pam_exec does, and the host's disposition restored.
 *
 * Between fork and execve only async-signal-safe system calls run: new session,
 * fds 0-2 on /dev/null, every other fd closed (but the one passed on, as fd 3), signal
 * dispositions reset and the mask cleared, umask 077, rlimits reset, no_new_privs; the
 * environment is a fixed list built before the fork. Nothing here logs.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#define SPAWN_FORCE_FORK (1u << 0) /* tests: take the fork() fallback path */

/* How long a child killed at the deadline is given to end: one that does not (asleep in
 * the kernel for good, on a FUSE request that is never answered) is left unreaped, never
 * waited for, and the call returns -ETIMEDOUT all the same. */
#define SPAWN_GRACE_MS 200

struct spawn_opts {
	uint64_t timeout_ns;   /* 0: wait forever */
	unsigned flags;
	char *const *extra_env; /* appended to the fixed environment (NULL-terminated), or NULL */
	int pass_fd;		/* > 2: the program gets it as fd 3 (the only one past stderr) */
};

/* The fixed environment every spawned program gets (NULL-terminated). */
extern const char *const spawn_base_env[];

/* Run argv[0] (an absolute path) with argv. Returns the wait status (as waitpid
 * gives it, >= 0), -ETIMEDOUT when the deadline passed (the child's process group
 * was killed and the child reaped), or -errno if it could not be started. */
int spawn_run(char *const argv[], const struct spawn_opts *o);
