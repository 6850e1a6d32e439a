/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sweep.h: what `close` and `gc` do to one recorded session: the orchestration. Walk the
 * recorded mounts, gather each entry's facts (owner, birth time, links, the bytes charged
 * to the session's cgroup), ask the policy, and let decide.h decide it (the class, the
 * gates no policy can lift, the run's mode); then check what is to go for use, write the
 * intents, remove in one batch with the user's credentials, and audit every file and the
 * session. cgroup data alone never authorises a removal: it only raises a file's class.
 * A file in use, deferred, or that could not be told in time stays pending: the record is
 * kept with the list of those files, and gc decides them again (and only them), each with
 * one final line.
 */
#pragma once

#include "audit.h"
#include "decide.h"
#include "policy.h"
#include "record.h"
#include "users.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sweep_params {
	const struct session_record *rec;
	const struct policy *policy;
	const struct policy_scope *scope; /* the session's Match blocks and per-session
					   * settings (NULL: those outside any block) */
	const struct user_info *user; /* the passwd entry of rec->uid now (NULL: none) */
	struct audit *audit;
	const char *trigger;   /* "close", "gc", "unit" or "cgroup" */
	bool dry_run;          /* decide and audit, remove nothing */
	enum tristate other_sessions; /* OtherSessions defer: another session of the user is
				       * alive (CANNOT_TELL: as if it were) */
	bool final;            /* no session of the user is left: `defer` rules now remove */
	uint64_t end_ns;       /* CLOCK_REALTIME end of the creation window */
	uint64_t deadline_ns;  /* CLOCK_MONOTONIC, 0: none */
	const char *reason;    /* said in the session-close line (e.g. "report-only: bad policy") */
	const char *policy_sha256; /* hex of the policy file's bytes, or NULL */
	uint64_t started_ns;   /* CLOCK_MONOTONIC at the start, for duration_ms */
	long kill_after;       /* test hook: SIGKILL ourselves before file line N (0: right
				* after the removals), or -1 */
	const char *statedir;  /* for the journal (intents.h); NULL: no journal */
	bool resume;           /* an earlier sweep of this record was interrupted */
	bool again;            /* the session was swept before (gc deciding a deferred record
				* again): what it left besides files was reported then */
};

/* What a sweep may hold for its candidates (their names, the table of their directories,
 * their facts): a cap like MaxEntries. Beyond it the walk stops, nothing is removed and
 * the session-close line says "incomplete: memory". Some 200,000 candidates fit. */
#define SWEEP_MAX_MEMORY (64u << 20)
/* A file of the session user's that the sweep left where it was (any result but removed),
 * for the user's next login. */
struct sweep_left {
	char path[256]; /* cut short (ending in "...") when longer */
	enum file_result result;
	char detail[192];
};

struct sweep_result {
	uint64_t files, bytes, charged_bytes, removed, removed_bytes, kept, deferred, errors;
	uint64_t unlisted; /* files beyond AUDIT_MAX_FILE_LINES: counted, no line */
	uint64_t by_result[RESULT_PENDING]; /* file lines by result (enum file_result) */
	uint64_t left, left_bytes;   /* the user's files with a line still there, their size */
	struct sweep_left left_v[3]; /* the first of them */
	size_t n_left_v;
	bool incomplete;
	bool timed_out;   /* the policy's Timeout cut the walk short */
	bool keep_record; /* something is undecided (deferred, in use, out of time): keep the
			   * record (state deferred) for gc */
	bool keep_closing; /* resuming, the interrupted run's journal could not be read: keep
			    * the record as it is (closing) and the journal, for a later run */
	bool intents_lost; /* a result could not be journaled */
	/* keep_record: the files gc decides again (malloc'd; the caller frees). None with
	 * keep_record: every file of the session (the walk did not see them all). */
	struct record_pending *pending;
	size_t n_pending;
	bool quiet; /* the record's pending files decided again the same way: no line written */
	/* What the session left besides files (leftover.h), on its first sweep: */
	bool objects_seen;
	uint64_t objects, objects_charged_bytes, objects_removed;
	char reason[512];
};

int sweep_session(const struct sweep_params *p, struct sweep_result *res);

/*
 * The phases of sweep_session, for sweeps that share one walk per mount (coalesce.h):
 * sweep_start, then for each recorded mount m that sweep_open_mount opens, every entry of
 * one walk of it through sweep_entry and its end through sweep_walked; then sweep_finish.
 * A session sees exactly the entries, facts and caps its own walk would have given it.
 */
struct sweep;
struct scan_entry;
struct statx;
struct walk_entry;
struct walk_stats;

/* Returns 0 or -errno; *ret is to be handed to sweep_finish either way. */
int sweep_start(const struct sweep_params *p, struct sweep_result *res, struct sweep **ret);
/* Settle a capped walk's files and check what is to go for use (sweep_finish does it
 * when it has not been done). shared: probe regular files against locks (a lock table a
 * batch read once for all its sessions, just before their checks; NULL with locks_err
 * when it could not be read) rather than a table of its own. */
struct inuse;
void sweep_check(struct sweep *s, const struct inuse *locks, int locks_err, bool shared);
/* Will sweep_check probe regular files? Then the devices of its mounts are added to
 * devs[*n] (room for RECORD_MAX_MOUNTS more). Call it after the walks. */
bool sweep_wants_locks(const struct sweep *s, dev_t *devs, size_t *n);
/* Removal shared by the sessions of one user (a batch): sweep_removal_start writes the
 * session's intents and gives the remover's credentials (*groups: the caller frees; memo,
 * or NULL: the groups of the user before, below);
 * false: nothing to remove (or nothing can be: said in each file's line). Then, per mount
 * m, the pending files as the remover's items (items NULL: count only; idx[k] is the
 * session's own index for items[k]), and the remover's results back. sweep_finish then
 * removes nothing more itself. */
struct remove_creds;
struct remove_item;
struct remove_result;
/* The remover's groups of the last user looked up, for the next session of the same user
 * in one batch (a storm: one getgrouplist, not one per session; through nss-systemd each
 * costs ~80 system calls). Zeroed by the caller, freed by sweep_groups_memo_done. */
struct sweep_groups_memo {
	uid_t uid;
	gid_t gid;
	char *name;
	gid_t *v;
	size_t n; /* 0: nothing kept */
};
void sweep_groups_memo_done(struct sweep_groups_memo *m);
bool sweep_removal_start(struct sweep *s, struct sweep_groups_memo *memo,
			 struct remove_creds *creds, gid_t **groups);
size_t sweep_removal_items(const struct sweep *s, size_t m, struct remove_item *items,
			   size_t *idx);
void sweep_removal_results(struct sweep *s, const size_t *idx, const struct remove_result *res,
			   size_t n);
/* The session's table of directories, which items' parent indexes (remove.h); each answer
 * of the remover for the session's item i, into its journal as it arrives; the remover
 * was left behind (said in the session-close line). */
struct remove_dir;
const struct remove_dir *sweep_removal_dirs(const struct sweep *s, size_t *n);
void sweep_removal_answer(struct sweep *s, size_t i, const struct remove_result *r);
void sweep_removal_abandoned(struct sweep *s);
/* The root fd of the session's mount m (-1: not open), and how many mounts it has. */
int sweep_root_fd(const struct sweep *s, size_t m);
size_t sweep_n_mounts(const struct sweep *s);
/* The in-use check, removal, the audit lines and the session-close line; frees s. r < 0:
 * an error before (said in the session-close line). Returns sweep_session's value. */
int sweep_finish(struct sweep *s, int r);
/* The session is a member of a shared walk, which scans pages with its own scanner: the
 * session's (made by sweep_start, to say in its reason when there is none) is put away
 * until its leftovers want one. Saves a batch three descriptors a session. */
void sweep_share_pages(struct sweep *s);
/* One file for several sessions of a batch (after the walks, before sweep_check): a
 * sweep of them one after another would have let the first that removes it do so and
 * audit it, and the later ones never find it. sweep_claims gives the session's candidates
 * (v NULL: count only): identity, and whether it is to remove it. sweep_leave drops the
 * session's candidate (dev, ino), as its own walk after the other session's removal would
 * not have found it; the session-close line says how many. Returns how many it dropped. */
struct sweep_claim {
	dev_t dev;
	ino_t ino;
	bool removes;
};
size_t sweep_claims(const struct sweep *s, struct sweep_claim *v);
size_t sweep_leave(struct sweep *s, dev_t dev, ino_t ino);
/* Open the session's recorded mount m if it is still the mount the session saw (else the
 * reason is the session's). Returns its root fd (the sweep's) or -errno. */
int sweep_open_mount(struct sweep *s, size_t m);
/* Is this entry worth its page scan for this session? */
bool sweep_wants_pages(const struct sweep *s, const struct statx *stx);
/* Would this session give the entry no line if its only class were `owned`? */
bool sweep_ignores_owned(const struct sweep *s, const struct walk_entry *w);
/* Do a and b ask the policy the same question of every entry (policy, uid, user)? */
bool sweep_same_view(const struct sweep *a, const struct sweep *b);
/* The session cgroup and its descendants, sorted (n 0: unknown). */
const uint64_t *sweep_cgroups(const struct sweep *s, size_t *n);
/* Decide one entry of mount m for this session (on its own deadline: past it, the session
 * is told nothing more and is `incomplete: time`). Returns a walk_ret for this session. */
int sweep_entry(struct sweep *s, size_t m, const struct scan_entry *e, uint64_t now_ns);
void sweep_walked(struct sweep *s, int r, const struct walk_stats *st);
int sweep_error(const struct sweep *s);

/* Is the process that opened rec still the same live process (pid + start time), on this
 * boot? 1 yes, 0 no, -errno when it cannot tell (then it is to be taken as alive). */
int record_is_alive(const struct session_record *rec);

/* Does the user of rec have another live session: another live record of the same uid in
 * statedir whose close has not begun (state open: not queued, closing or deferred) or,
 * under logind, another session that is not closing? 1 yes, 0 no, -errno when
 * it cannot tell (state dir or a record unreadable, logind or /proc not answering): then
 * it is to be taken as yes. */
int user_has_other_sessions(const char *statedir, const struct session_record *rec);

/* The same question asked of many records (gc): the records of statedir read once, the
 * live ones (or those that cannot be told) kept, so that each answer costs no record read
 * (every record reading every other record made gc quadratic in deferred records). A
 * session opened after the snapshot is not seen: as with user_has_other_sessions, whose
 * answer is as old as its return. */
struct live_record {
	char id[RECORD_ID_MAX];
	uid_t uid;
	bool anyone; /* unreadable: it may be anyone's */
	int alive;   /* 1, or -errno: cannot tell */
};
struct live_users {
	struct live_record *v;
	size_t n;
	int err; /* the state dir could not be listed: every answer is this */
};
int live_users_snapshot(const char *statedir, struct live_users *ret);
/* As user_has_other_sessions(statedir, rec), from the snapshot (and logind, asked now). */
int live_users_other(const struct live_users *l, const struct session_record *rec);
void live_users_done(struct live_users *l);
