/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * queue.h: closes that overlap in time share one walk (lib/coalesce.h). A close marks its
 * record queued (with its end time) and names it in STATEDIR/queue/ID (its start time and
 * its policy), lets go of the record's lock, and waits for STATEDIR/locks/sweep. Whoever
 * holds that lock leads: it takes every queued record of the same policy that it can
 * lock, sweeps them all with one walk per mount, and settles each (record removed or
 * deferred, queue entry gone) as it is finished. A close whose entry is gone is done; one
 * that gets the lock leads the next batch, whatever queued meanwhile. A close still queued
 * at its own deadline takes its record back, writes its session-close line (incomplete,
 * `timeout`), and leaves the record queued for gc, which sweeps it once its process is
 * gone: never lost, never swept twice (the record's lock), each file audited once.
 */
#pragma once

#include "record.h"
#include "session.h"

#include <stdint.h>

/* Close rec (read and locked by the caller, lock its fd; the lock is consumed) through the
 * queue. started_ns: CLOCK_MONOTONIC when this close began. Returns a helper exit code. */
int close_queued(struct sweep_ctx *c, struct session_record *rec, int lock, uint64_t started_ns);

/* gc swept rec: a queue entry of its is stale. */
void queue_forget(const struct sweep_ctx *c, const char *id);
