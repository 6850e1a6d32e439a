/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "queue.h"
#include "closeq.h"
#include "coalesce.h"
#include "helper.h"
#include "sweep.h"
#include "users.h"
#include "util.h"
#include "walk.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#define BATCH_MAX 4096         /* records one leader takes at most */
/* A leader waits for more closes while they keep coming, WINDOW_STEP_US at a time, for at
 * most WINDOW_MAX_NS and a quarter of the time left to its deadline: one more walk costs
 * far more than the wait (bench/storm.sh). Its first look comes WINDOW_FIRST_US after it
 * took the lock: a storm's closes come well within it (bench/storm.sh: the 200 began
 * within 15 ms, most within 1 ms of each other), and a lone close, by far the common
 * case, waits no longer than that (10 ms before: most of a small close, bench/pam.sh). */
#define WINDOW_FIRST_US 3000
#define WINDOW_STEP_US 10000
#define WINDOW_MAX_NS (1000 * NSEC_PER_MSEC)
#define WINDOW_QUIET 4u /* steps without a new close that end a storm's window */
/* A lone close skips even the first look when its mounts hold fewer entries than this:
 * walking them costs less than the wait (~1.5 us an entry here), and a storm that comes
 * meanwhile is the next leader's, in one walk. */
#define WINDOW_SMALL_TREE 2000
/* A waiting close blocks on the sweep lock; a timer interrupts it at its deadline, and
 * again every WAKE_NS after (a signal that came before the wait began is not lost). */
#define WAKE_NS (20 * NSEC_PER_MSEC)
#define GRACE_NS (2 * NSEC_PER_SEC) /* a leader on our record past our deadline: its own
				     * deadline for it is ours, so it is about to finish */

/* Sessions share a walk only under the same policy: its digest and its path. */
static void policy_key(const struct sweep_ctx *c, char *buf, size_t len)
{
	closeq_key(c->have_sha ? c->sha256 : NULL, c->conf, buf, len);
}

/* One record a leader sweeps. */
struct job {
	struct session_record rec;
	int lock;
	uint64_t started_ns;
	/* sweep_params_for's: p points at them */
	struct policy_scope scope;
	struct user_info ui;
	struct sweep_params p;
};

struct batch {
	struct sweep_ctx *c;
	struct job *v;
	size_t n;
	int qfd;
	const char *self; /* the leader's own record */
	int self_exit;    /* its exit code, once settled; -1 before */
};

static void job_done(size_t i, int r, struct sweep_result *res, void *userdata)
{
	struct batch *b = userdata;
	struct job *j = &b->v[i];
	int k = sweep_settle(b->c, &j->rec, &j->p, r, res);

	if (streq(j->rec.id, b->self))
		b->self_exit = k;

	/* Settled: the record is gone or deferred; then its close may go. */
	unlinkat(b->qfd, j->rec.id, 0);
	closeq_wake_own(b->qfd, j->rec.id); /* its close, waiting in the module: go */
	record_unlock(b->c->policy.state_dir, j->rec.id, j->lock, k != EXIT_FAIL);
	j->lock = -1;
}

/* Inodes in use on the record's mounts (statfs: the count tmpfs keeps), or UINT64_MAX
 * when a mount cannot tell (no inode limit, nr_inodes=0: it reports none). Only for the
 * window: a wrong count changes how long the leader waits, nothing else. */
static uint64_t entries_estimate(const struct session_record *rec)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < rec->n_mounts; i++) {
		struct statfs sfs;

		if (!rec->mounts[i].path || statfs(rec->mounts[i].path, &sfs) < 0 ||
		    sfs.f_files == 0 || sfs.f_ffree > sfs.f_files)
			return UINT64_MAX;
		sum += sfs.f_files - sfs.f_ffree;
	}
	return sum;
}

/* Take what is queued under our policy and sweep it, one walk per mount. Returns the exit
 * code of our own record's sweep, or -1 when it was not among them. small: our mounts are
 * small enough that a lone close does not wait for company (WINDOW_SMALL_TREE). */
static int lead(struct sweep_ctx *c, int qfd, const char *self, uint64_t deadline_ns,
		bool small)
{
	const char *statedir = c->policy.state_dir;
	struct batch b = {.c = c, .qfd = qfd, .self = self, .self_exit = -1};
	struct live_users live = {0};
	const struct live_users *had_live = c->live;
	_cleanup_free_ struct sweep_result *res = NULL;
	_cleanup_free_ struct sweep_params *ps = NULL;
	char key[CLOSEQ_ENTRY_MAX], ours[CLOSEQ_ENTRY_MAX];
	uint64_t now = now_ns(CLOCK_MONOTONIC), window_end;
	char **ids = NULL;
	size_t n = 0, fds = 0, max_fds = fd_budget();
	unsigned quiet = 0;
	int r;

	window_end = now + MIN(WINDOW_MAX_NS, deadline_ns > now ? (deadline_ns - now) / 4 : 0);
	r = record_list_at(qfd, &ids, &n);
	/* A storm (an sshd restart) brings its closes a few ms apart, at first more slowly
	 * (the machine busy starting them): while more keep coming, wait for them, until none
	 * came for WINDOW_QUIET steps. A lone close looks once, WINDOW_FIRST_US later; on
	 * small mounts (WINDOW_SMALL_TREE) not at all. */
	if (small && n == 1)
		window_end = 0;
	for (bool first = true; r == 0 && now_ns(CLOCK_MONOTONIC) < window_end; first = false) {
		char **more = NULL;
		size_t m = 0;

		usleep(first ? WINDOW_FIRST_US : WINDOW_STEP_US);
		if (record_list_at(qfd, &more, &m) < 0)
			break;
		record_ids_free(ids);
		ids = more;
		quiet = m > n ? 0 : quiet + 1;
		n = m;
		if (quiet >= (n > 1 ? WINDOW_QUIET : 1u))
			break;
	}
	if (r < 0 || n == 0)
		goto out;
	b.v = calloc(MIN(n, (size_t)BATCH_MAX), sizeof(*b.v));
	if (!b.v)
		goto out;
	policy_key(c, ours, sizeof(ours));
	for (size_t i = 0; i < n && b.n < BATCH_MAX; i++) {
		struct job *j = &b.v[b.n];
		uint64_t started;
		int lock;

		if (closeq_read(qfd, ids[i], &started, key, sizeof(key)) < 0 || !streq(key, ours))
			continue; /* being written, or another policy's: its own close leads */
		lock = record_lock(statedir, ids[i]);
		if (lock < 0)
			continue; /* its close giving up, or gc: theirs */
		*j = (struct job){.lock = lock, .started_ns = started};
		r = record_read(statedir, ids[i], &j->rec);
		if (r == -ENOENT || (r == 0 && j->rec.state != RECORD_QUEUED &&
				     j->rec.state != RECORD_CLOSING)) {
			/* Settled meanwhile (gc): the entry is stale. */
			unlinkat(qfd, ids[i], 0);
			record_done(&j->rec);
			record_unlock(statedir, ids[i], lock, r == -ENOENT);
			continue;
		}
		if (r < 0 || j->rec.state != RECORD_QUEUED) {
			/* Unreadable, or a sweep of it started and was killed (closing): its
			 * own close says so at its deadline, and gc finishes it. */
			record_done(&j->rec);
			record_unlock(statedir, ids[i], lock, false);
			continue;
		}
		if (b.n && fds + job_fds(&j->rec) > max_fds) {
			/* The open-file limit: the rest stay queued, for the next walk (their
			 * closes wake when this one is done, and one of them leads). */
			record_done(&j->rec);
			record_unlock(statedir, ids[i], lock, false);
			break;
		}
		fds += job_fds(&j->rec);
		b.n++;
	}
	if (b.n == 0)
		goto out;
	ps = calloc(b.n, sizeof(*ps));
	res = calloc(b.n, sizeof(*res));
	if (!ps || !res)
		goto unlock;
	/* OtherSessions defer asks of each member whether its user has another session: for
	 * a batch of several, the records read once, as gc does (each member reading every
	 * record made a storm of one user's closes quadratic). The members are queued: not
	 * open. A lone close asks the state dir, which stops at the first live session of the
	 * user; under a policy that never defers nothing is asked. Without memory for the
	 * snapshot, each asks the state dir. */
	if (b.n > 1 && policy_may_defer(&c->policy) && live_users_snapshot(statedir, &live) == 0)
		c->live = &live;
	for (size_t i = 0; i < b.n; i++) {
		struct job *j = &b.v[i];

		/* Each on its own clock: its close's start, its own Timeout; and none past ours
		 * (our own close's deadline: we may be killed at it). */
		if (sweep_params_for(c, &j->rec, "close", false, false, &j->scope, &j->ui,
				     &j->p) < 0) {
			/* No memory for its scope: it stays queued, and its own close gives it
			 * to gc at its deadline. Its place takes the last job (not set up yet). */
			policy_scope_done(&j->scope);
			record_unlock(statedir, j->rec.id, j->lock, false);
			record_done(&j->rec);
			*j = b.v[--b.n];
			b.v[b.n] = (struct job){.lock = -1};
			i--;
			continue;
		}
		if (j->started_ns && j->started_ns < j->p.started_ns)
			j->p.started_ns = j->started_ns;
		j->p.deadline_ns = MIN(j->p.started_ns + c->policy.timeout_ms * NSEC_PER_MSEC,
				       deadline_ns);
		ps[i] = j->p;
	}
	if (b.n && sweep_batch(ps, b.n, res, deadline_ns, job_done, &b) < 0) {
		/* Not even started: each stays queued (closing now: gc resumes it). */
		warnx_("close: a shared sweep of %zu sessions could not start: %s", b.n,
		       strerror(ENOMEM));
	}
unlock:
	c->live = had_live;
	live_users_done(&live);
	for (size_t i = 0; i < b.n; i++) {
		if (b.v[i].lock >= 0)
			record_unlock(statedir, b.v[i].rec.id, b.v[i].lock, false);
		record_done(&b.v[i].rec);
		policy_scope_done(&b.v[i].scope);
	}
out:
	free(b.v);
	record_ids_free(ids);
	return b.self_exit;
}

/* Our record is no longer queued: how did its close end? */
static int outcome(const struct sweep_ctx *c, const char *id)
{
	struct session_record rec = {0};
	int r = record_read(c->policy.state_dir, id, &rec), ret;

	ret = r == -ENOENT ? EXIT_OK
	      : r < 0	   ? EXIT_FAIL
	      : rec.state == RECORD_DEFERRED ? EXIT_OK
					     : EXIT_INCOMPLETE;
	record_done(&rec);
	return ret;
}

/* Out of time and nobody took it: our session-close line says so, and gc finishes it. */
static int give_up(struct sweep_ctx *c, int qfd, const char *id, uint64_t started_ns)
{
	struct session_record rec = {0};
	int lock = record_lock(c->policy.state_dir, id), r, ret;

	if (lock < 0)
		return -EBUSY; /* a leader has it now */
	r = record_read(c->policy.state_dir, id, &rec);
	if (r < 0 || (rec.state != RECORD_QUEUED && rec.state != RECORD_CLOSING)) {
		/* Settled (or unreadable: gc says so). */
		unlinkat(qfd, id, 0);
		ret = r == -ENOENT || (r == 0 && rec.state == RECORD_DEFERRED) ? EXIT_OK
									      : EXIT_INCOMPLETE;
	} else {
		/* Queued and never reached, or its sweep started and was killed (closing):
		 * gc finishes it (and resumes the interrupted sweep) once we are gone. */
		struct audit_summary sum = {
			.session = rec.id, .user = rec.user, .uid = rec.uid, .incomplete = true,
			.duration_ms = (now_ns(CLOCK_MONOTONIC) - started_ns) / NSEC_PER_MSEC,
			.policy_sha256 = c->have_sha ? c->sha256 : NULL,
			.time_ns = now_ns(CLOCK_REALTIME), .trigger = "close",
			.reason = rec.state == RECORD_QUEUED
					  ? "timeout: queued for a shared sweep that did not reach "
					    "it in time; left for gc"
					  : "timeout: the shared sweep of it was interrupted; left "
					    "for gc",
		};

		unlinkat(qfd, id, 0);
		if (c->audit && audit_session_close(c->audit, &sum) < 0)
			warnx_("close: session %s: cannot write its session-close line", id);
		c->metrics.add.incomplete++;
		c->metrics.add.timeouts++;
		c->swept = true;
		ret = EXIT_INCOMPLETE;
	}
	record_unlock(c->policy.state_dir, id, lock, false);
	record_done(&rec);
	return ret;
}

static void on_alarm(int sig)
{
	(void)sig; /* only to interrupt flock() */
}

/* flock(FD, OP) blocking until it is granted or UNTIL (CLOCK_MONOTONIC ns) passes: 0,
 * -ETIMEDOUT, or -errno. */
static int flock_until(int fd, int op, uint64_t until)
{
	struct sigaction sa = {.sa_handler = on_alarm}, old; /* no SA_RESTART */
	struct itimerval it = {.it_interval = {.tv_usec = WAKE_NS / 1000}}, off = {0};
	int r = 0;

	for (;;) {
		uint64_t now = now_ns(CLOCK_MONOTONIC), left;

		if (flock(fd, op | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK)
			return negative_errno();
		if (now >= until)
			return -ETIMEDOUT;
		left = until - now;
		it.it_value.tv_sec = (time_t)(left / NSEC_PER_SEC);
		it.it_value.tv_usec = (suseconds_t)MAX((left % NSEC_PER_SEC) / 1000, 1u);
		if (sigaction(SIGALRM, &sa, &old) < 0)
			return negative_errno();
		if (setitimer(ITIMER_REAL, &it, NULL) < 0) {
			r = negative_errno();
			sigaction(SIGALRM, &old, NULL);
			return r;
		}
		r = flock(fd, op) < 0 ? negative_errno() : 0;
		setitimer(ITIMER_REAL, &off, NULL);
		sigaction(SIGALRM, &old, NULL);
		if (r != -EINTR)
			return r;
	}
	return 0;
}

/* The sweep lock the module took for the helper it started to lead (closeq.h), or -1. */
static int inherited_lock(const struct sweep_ctx *c)
{
	const char *e = getenv(CLOSEQ_LEAD_FD_ENV);

	if (!e || !streq(e, "3") || fcntl(CLOSEQ_LEAD_FD, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return closeq_is_lock(c->policy.state_dir, CLOSEQ_LEAD_FD) ? CLOSEQ_LEAD_FD : -1;
}

/* Our record in the queue: marked queued (end_ns: when it closed) and named in it. A record
 * the module queued already keeps its entry, and its start: its deadline is the module's. */
static int enqueue(struct sweep_ctx *c, int qfd, struct session_record *rec,
		   uint64_t *started_ns)
{
	char key[CLOSEQ_ENTRY_MAX], had[CLOSEQ_ENTRY_MAX];
	uint64_t started;
	int r;

	policy_key(c, key, sizeof(key));
	if (rec->state == RECORD_QUEUED &&
	    closeq_read(qfd, rec->id, &started, had, sizeof(had)) == 0) {
		*started_ns = MIN(*started_ns, started);
		if (streq(had, key))
			return 0;
	}
	if (rec->state != RECORD_QUEUED) {
		rec->state = RECORD_QUEUED;
		rec->end_ns = now_ns(CLOCK_REALTIME); /* what it claims: born up to its close */
		r = record_write(c->policy.state_dir, rec);
		if (r < 0)
			return r;
	}
	return closeq_add(qfd, rec->id, *started_ns, key);
}

int close_queued(struct sweep_ctx *c, struct session_record *rec, int lock, uint64_t started_ns)
{
	const char *statedir = c->policy.state_dir;
	_cleanup_close_ int qfd = closeq_open_dir(statedir), sfd = inherited_lock(c);
	uint64_t deadline;
	bool late = false;
	int r, own = -1;

	r = qfd < 0 ? qfd : enqueue(c, qfd, rec, &started_ns);
	deadline = started_ns + c->policy.timeout_ms * NSEC_PER_MSEC;
	if (r == 0 && sfd < 0)
		sfd = closeq_open_lock(statedir);
	if (r < 0 || sfd < 0) {
		/* No queue: on its own, as before there was one. */
		if (qfd >= 0)
			unlinkat(qfd, rec->id, 0);
		r = sweep_one(c, rec, "close", false, false);
		record_unlock(statedir, rec->id, lock, r != EXIT_FAIL);
		return r;
	}
	record_unlock(statedir, rec->id, lock, false);
	/* The sweep lock: a leader holds it exclusively while it sweeps; waiting closes block
	 * on it shared, so that all of them wake at once when the leader is done (most find
	 * their record settled and go). One still queued blocks on it exclusively and leads
	 * what is left. Nothing polls: hundreds of waiting closes take no CPU from the walk. */
	for (bool want_lead = true;;) {
		uint64_t until = deadline + (late ? GRACE_NS : 0);

		if (!closeq_queued(qfd, rec->id))
			return own >= 0 ? own : outcome(c, rec->id);
		if (!late && flock_until(sfd, LOCK_EX, want_lead ? 0 : deadline) == 0) {
			if (!closeq_queued(qfd, rec->id)) { /* the leader before us took it */
				flock(sfd, LOCK_UN);
				continue;
			}
			r = lead(c, qfd, rec->id, deadline,
				 entries_estimate(rec) < WINDOW_SMALL_TREE);
			if (r >= 0)
				own = r; /* swept it ourselves: its exit code is known */
			flock(sfd, LOCK_UN);
			closeq_wake(qfd); /* closes waiting in the module: look again */
			want_lead = true;
			continue;
		}
		if (!late && now_ns(CLOCK_MONOTONIC) >= deadline) {
			r = give_up(c, qfd, rec->id, started_ns);
			if (r >= 0)
				return r;
			late = true; /* a leader is on it: wait for it, a little */
			continue;
		}
		if (late && now_ns(CLOCK_MONOTONIC) >= until)
			return EXIT_INCOMPLETE;
		/* A leader is sweeping: wait for it to be done. */
		r = flock_until(sfd, LOCK_SH, until);
		if (r == 0)
			flock(sfd, LOCK_UN);
		else if (r != -ETIMEDOUT)
			usleep(WAKE_NS / 1000); /* flock itself failing: do not spin */
		want_lead = false; /* still queued after it: block to lead, not just try */
	}
}

void queue_forget(const struct sweep_ctx *c, const char *id)
{
	char path[PATH_MAX];

	/* Not made when missing: most state dirs never had a queue entry gc would see. The
	 * entry, and the wake FIFO of a close that died waiting in the module. */
	if (record_id_valid(id) && snprintf(path, sizeof(path), "%s/" CLOSEQ_DIR "/%s",
					    c->policy.state_dir, id) < (int)sizeof(path)) {
		(void)unlink(path);
		if (snprintf(path, sizeof(path), "%s/" CLOSEQ_DIR "/.%s", c->policy.state_dir,
			     id) < (int)sizeof(path))
			(void)unlink(path);
	}
}
