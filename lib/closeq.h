/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * closeq.h: the close queue's on-disk parts, shared by the module and the helper
 * (helper/queue.h says how closes use them). STATEDIR/queue/ID names a queued close:
 * "STARTED_NS KEY\n", STARTED_NS when the close began (CLOCK_MONOTONIC), KEY its policy
 * (digest and path): sessions share a walk only under the same policy.
 * STATEDIR/locks/sweep is held exclusively by whoever sweeps the queue.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLOSEQ_DIR "queue"     /* in STATEDIR */
#define CLOSEQ_ENTRY_MAX 8192 /* bytes of one entry */
/* The module starts a helper to lead with the sweep lock already held: the lock's
 * descriptor is the helper's fd 3, and this variable says so ("3"). */
#define CLOSEQ_LEAD_FD_ENV "TMPFS_SWEEP_LEAD_FD"
#define CLOSEQ_LEAD_FD 3

/* The key of a policy: sha256 of its text (NULL: no file read) and its path (NULL: the
 * default path). */
void closeq_key(const char *sha256, const char *conf, char *buf, size_t len);

/* STATEDIR/queue (made when missing), STATEDIR/locks/sweep (opened for flock). */
int closeq_open_dir(const char *statedir);
int closeq_open_lock(const char *statedir);
/* Is fd the sweep lock of statedir? */
bool closeq_is_lock(const char *statedir, int fd);

int closeq_add(int qfd, const char *id, uint64_t started_ns, const char *key);
int closeq_read(int qfd, const char *id, uint64_t *started_ns, char *key, size_t len);
/* Is id queued? (true when it cannot tell) */
bool closeq_queued(int qfd, const char *id);
/* A close waiting in the module (no signals in the host, so no blocking flock with a
 * timer) polls the read end of STATEDIR/queue/.wake, a FIFO: whoever leaves the sweep
 * lock (the helper; the module after a helper killed holding it) opens and closes its
 * write end (closeq_wake), and every read end opened before then reports POLLHUP, once
 * (open a new one to wait again). One wake for all waiting closes, no per-user limit
 * (inotify instances are), nothing written. */
int closeq_watch(int qfd);
void closeq_wake(int qfd);
/* The same for one close: STATEDIR/queue/.ID, woken by whoever settles ID, so that each
 * waiting close goes as soon as its own session is done, not when the whole batch is.
 * Here the waiter holds both ends (O_RDWR) and the settler writes a byte: the waiter is
 * woken once, by the byte (POLLIN, for good), however the settler's open, write and close
 * interleave with its wake-up; a read end alone is woken by the writer's open as well, and
 * sleeps again if it runs before the close. The waiting close removes its FIFO when it
 * goes; when it died, the wake finds nobody there (ENXIO) and removes it. */
int closeq_watch_own(int qfd, const char *id);
void closeq_wake_own(int qfd, const char *id);
void closeq_unwatch_own(int qfd, const char *id);
