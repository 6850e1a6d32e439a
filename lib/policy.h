/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy.h: the policy file /etc/security/tmpfs-sweep.conf (tmpfs-sweep.conf(5)):
 * its parser, driven by one keyword table that also gives the defaults and the dump;
 * the safety checks on the file (regular, root-owned, not group/other-writable, in
 * root-owned directories that are not group/other-writable, at most 64 KiB); Match
 * blocks (sshd_config's: the rules and per-session settings after a Match line apply
 * to the sessions it matches) and a session's scope in them; rule matching (first
 * match wins, in file order, skipping blocks that do not match); who is exempt
 * (ExemptUsers, default root; system users 0 < uid < UID_MIN of login.defs;
 * ExemptGroups).
 *
 * A policy that failed to load or parse is never half-applied: it holds the defaults,
 * no rules, and report_only = true, so nothing is removed. An empty file is valid: the
 * defaults and no rules, so unmatched files are only reported (charged or created) or
 * ignored (owned), and nothing is removed.
 *
 * Usage:
 *	struct policy p;
 *	struct policy_errors errs;
 *	r = policy_load(path, &p, &errs);   // p and errs are always initialised
 *	... errs.v[i].line (0: the file as a whole), errs.v[i].msg ...
 *	policy_errors_done(&errs);
 *	struct policy_subject who = {.user = "alice", .uid = 1000, .gid = 1000,
 *				     .service = "sshd", .rhost = "192.0.2.7"};
 *	struct policy_scope scope;
 *	r = policy_scope_init(&p, &who, &scope);   // which Match blocks apply
 *	rule = policy_match(&p, &scope, path, user, uid, POLICY_CLASS_CREATED, size, false);
 *	policy_scope_done(&scope);
 *	policy_done(&p);
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define POLICY_MAX_FILE_SIZE (64 * 1024)
#define POLICY_MAX_LINE 4096
/* A rule's pattern: short enough that the rule, dumped with every condition spelled out
 * (policy_dump), still fits one line. */
#define POLICY_MAX_PATTERN (POLICY_MAX_LINE - 128)
#define POLICY_MAX_RULES 4096
#define POLICY_MAX_ERRORS 200
#define POLICY_MAX_BLOCKS 256
#define POLICY_DEFAULT_PATH SYSCONFDIR_POLICY "/security/tmpfs-sweep.conf"
#ifdef SYSCONFDIR
#define SYSCONFDIR_POLICY SYSCONFDIR
#else
#define SYSCONFDIR_POLICY "/etc"
#endif

enum policy_action {
	POLICY_REPORT,
	POLICY_KEEP,
	POLICY_REMOVE,
	POLICY_DEFER,
	POLICY_IGNORE, /* never written in a file: the default for an unmatched, only-owned file */
};

#define POLICY_CLASS_CHARGED (1u << 0)
#define POLICY_CLASS_CREATED (1u << 1)
#define POLICY_CLASS_OWNED (1u << 2)
/* A rule without class= applies to these: keep to every class, the other actions to
 * charged and created files (owned files only when a rule says class=owned). */
#define POLICY_CLASS_DEFAULT (POLICY_CLASS_CHARGED | POLICY_CLASS_CREATED)
#define POLICY_CLASS_ALL (POLICY_CLASS_CHARGED | POLICY_CLASS_CREATED | POLICY_CLASS_OWNED)

enum policy_type {
	POLICY_TYPE_FILE = 1, /* anything but a directory */
	POLICY_TYPE_DIR = 2,
	POLICY_TYPE_ANY = 3,
};

enum policy_other_sessions { POLICY_OTHER_DEFER, POLICY_OTHER_PROCEED };
enum policy_remove_as { POLICY_REMOVE_AS_USER, POLICY_REMOVE_AS_ROOT };

struct glob;

struct policy_rule {
	enum policy_action action;
	unsigned block;      /* 0: before any Match line; else policy.blocks[block - 1] */
	char *pattern;       /* as written */
	unsigned class_mask; /* POLICY_CLASS_*: the file's classes must intersect it */
	uint64_t min_size;   /* bytes; 0: no condition */
	enum policy_type type;
	unsigned line;       /* in the policy file, for the audit's "rule" field */
	struct glob *glob;   /* compiled pattern (private) */
};

struct policy_strv {
	char **v;
	size_t n;
};

/* A Match criterion: the session's user, one of the user's groups, the PAM service, the
 * remote host, the systemd unit (a `sweep` of a unit's cgroup) against a comma list of
 * patterns (`*`, `?`; `!` negates one). */
enum policy_criterion_kind {
	POLICY_MATCH_USER,
	POLICY_MATCH_GROUP,
	POLICY_MATCH_SERVICE,
	POLICY_MATCH_RHOST,
	POLICY_MATCH_UNIT,
	_POLICY_MATCH_MAX,
};

struct policy_criterion {
	enum policy_criterion_kind kind;
	char *patterns; /* the list as written */
};

/* A Match line and the per-session settings after it (those of the keyword table that
 * may appear in a block: ExemptUsers, OtherSessions, RemoveAs, NotifyUser). */
struct policy_block {
	unsigned line;
	struct policy_criterion *crit; /* all must hold; none: `Match all` */
	size_t n_crit;
	unsigned set;                  /* the settings the block sets: bit i, keyword i */
	struct policy_strv exempt_users;
	int other_sessions;
	int remove_as;
	bool notify_user;
};

struct policy {
	/* Settings (see the keyword table in policy.c for defaults). The per-session ones
	 * (exempt_users, other_sessions, remove_as, notify_user) are the values outside any
	 * Match block: a session's own are in its policy_scope. */
	struct policy_strv watch;  /* absolute paths, may hold %u/%U: see policy_watch_paths() */
	char *state_dir;
	char *audit_log;
	char *metrics_file;        /* NULL: none (no Prometheus metrics) */
	bool journal;
	uint64_t timeout_ms;
	struct policy_strv exempt_users;
	struct policy_strv exempt_groups;
	bool include_system_users;
	int other_sessions;        /* enum policy_other_sessions */
	int remove_as;             /* enum policy_remove_as */
	bool notify_user;          /* tell the user at the next login what was left */
	bool remove_sysv;          /* IPC_RMID the session's own unattached SysV segments */
	uint64_t max_depth;
	uint64_t max_entries;

	struct policy_rule *rules;
	size_t n_rules;
	struct policy_block *blocks;
	size_t n_blocks;

	/* true after any load or parse error: policy_decide() never says remove or defer. */
	bool report_only;
	/* The bytes read from the file (NUL-terminated; NULL if it could not be read). */
	char *raw;
	size_t raw_len;

	struct glob *watch_globs; /* private: compiled watch paths */
};

struct policy_error {
	unsigned line; /* 0: about the file as a whole (owner, mode, size, open) */
	char *msg;
};

struct policy_errors {
	char *file; /* name used in messages */
	struct policy_error *v;
	size_t n;
};

/* Fill p with the defaults, no rules, report_only false. Returns 0 or -ENOMEM. */
int policy_defaults(struct policy *p);
void policy_done(struct policy *p);
void policy_errors_done(struct policy_errors *errs);
/* The errors of errs, at most max of them, one call of say() each with one line: "FILE:LINE:
 * MESSAGE", or "FILE: MESSAGE" about the file as a whole (name is FILE when errs has none).
 * The one format of the helper (stderr) and the module (syslog), as pam_faillock's
 * config_log. Returns how many were left unsaid. */
size_t policy_errors_say(const struct policy_errors *errs, const char *name, size_t max,
			 void (*say)(const char *line, void *userdata), void *userdata);

/* Parse len bytes (NUL bytes are errors, no terminator needed). p and errs (may be NULL)
 * are initialised here. Returns 0, or -EINVAL after collecting every error (then p holds
 * the defaults, no rules and report_only), or -ENOMEM. */
int policy_parse_buffer(const char *name, const char *buf, size_t len, struct policy *p,
			struct policy_errors *errs);

/* Open path (O_NOFOLLOW; its directories resolved and checked one by one from "/"), check
 * the file and every parent as described above, read and parse it. Returns 0, or a negative
 * errno of the first problem (-ELOOP symlink, -EPERM unsafe owner/mode, -EFBIG too big,
 * -EINVAL syntax, -ENOENT ...), with every problem in errs and p report-only. */
int policy_load(const char *path, struct policy *p, struct policy_errors *errs);

/* Print the policy in the file syntax, defaults included; the output parses back to a
 * policy that dumps byte-identically. */
int policy_dump(const struct policy *p, FILE *f);

/* The words of the language straight from the parser's tables: the settings, then the
 * actions a rule may use, then the rule conditions, then "Match" and its criteria (User,
 * Group, Service, RHost, Unit, all). NULL past the last. */
const char *policy_keyword(size_t i);
/* Is i (as above) a Match word: "Match" or one of its criteria? */
bool policy_keyword_is_match(size_t i);

struct policy_setting_info {
	const char *name;
	const char *def;   /* the default, in the file syntax; NULL: none (an empty list) */
	uint64_t min, max; /* a number's range (a duration's in ms); 0, 0: not a number */
	bool duration;
	bool per_session;  /* may be set in a Match block */
};
/* The i-th setting of the keyword table: false past the last. */
bool policy_setting_info(size_t i, struct policy_setting_info *ret);
const char *policy_action_name(enum policy_action a);
/* "charged", "created" or "owned" for one POLICY_CLASS_* bit ("?" for anything else). */
const char *policy_class_name(unsigned class_bit);

/* Who a sweep is for, as Match criteria see it. NULL strings: not known (a criterion on
 * it does not hold, as sshd_config's). */
struct policy_subject {
	const char *user;
	uid_t uid;
	gid_t gid;         /* the primary group: for Group criteria and ExemptGroups */
	bool have_gid;
	const char *service; /* PAM_SERVICE (Linux-PAM lowercases it at pam_start) */
	const char *rhost;
	const char *unit;    /* a systemd unit, for `sweep` of its cgroup */
};

/* Which Match blocks apply to one session, and the per-session settings in effect: for
 * each, the first matching block that sets it, else the value outside any block. */
struct policy_scope {
	bool *active;      /* active[i]: blocks[i] applies */
	size_t n;
	const struct policy_strv *exempt_users;
	int other_sessions;
	int remove_as;
	bool notify_user;
	/* Why a criterion could not be told (the groups of the user could not be listed):
	 * NULL, or a reason, and then no block with that criterion applies; a sweep in such
	 * a scope is report-only. */
	const char *unknown;
	char unknown_buf[160];
};

/* Can any session get OtherSessions defer: outside the blocks, or from a Match block? */
bool policy_may_defer(const struct policy *p);

/* The scope of subject in p (group names are looked up only when a Group criterion needs
 * them). Returns 0 or -ENOMEM; *ret is initialised either way. */
int policy_scope_init(const struct policy *p, const struct policy_subject *subject,
		      struct policy_scope *ret);
void policy_scope_done(struct policy_scope *s);

/* Does one criterion's pattern list hold for the value (NULL: no value, never holds)?
 * sshd_config's rule: a negated pattern that matches makes it false, else any pattern
 * that matches makes it true. Service and RHost compare without case. */
bool policy_criterion_holds(enum policy_criterion_kind kind, const char *patterns,
			    const char *value);

/* The first rule whose pattern, class, size and type conditions all hold, in a block that
 * applies (scope NULL: only the rules outside any Match block and after `Match all`), or
 * NULL. class_mask holds the file's POLICY_CLASS_* bits. A watched root itself never
 * matches. */
const struct policy_rule *policy_match(const struct policy *p, const struct policy_scope *scope,
				       const char *path, const char *user, uid_t uid,
				       unsigned class_mask, uint64_t size, bool is_dir);

/* The action to take: the first matching rule's, or for no match REPORT when charged or
 * created and IGNORE otherwise; REMOVE and DEFER become REPORT when p->report_only.
 * *rule (optional) is set to the matching rule or NULL. */
enum policy_action policy_decide(const struct policy *p, const struct policy_scope *scope,
				 const char *path, const char *user, uid_t uid,
				 unsigned class_mask, uint64_t size, bool is_dir,
				 const struct policy_rule **rule);

/* The Watch paths with %u/%U expanded for this session, as a NULL-terminated array
 * (free each and the array). A path that needs %u is left out when the user name is not
 * usable (empty, '/', '.', ".."). Returns the number of paths or -ENOMEM. */
int policy_watch_paths(const struct policy *p, const char *user, uid_t uid, char ***ret);

/* UID_MIN from a login.defs file (NULL: /etc/login.defs); 1000 when the file or the key
 * is missing. Returns 0, or -EINVAL for a malformed UID_MIN value (*ret is then 1000). */
int policy_uid_min(const char *login_defs, uid_t *ret);

/* Why this user is exempt from removal, or NULL: named in the scope's ExemptUsers (scope
 * NULL: the list outside any block), a system user (0 < uid < uid_min) unless
 * IncludeSystemUsers, a member (groups[]) of an ExemptGroups group; no user name at all.
 * A group name that cannot be looked up because of an NSS error makes the user exempt
 * (fail safe). root is exempt only as ExemptUsers names it (the default does). */
const char *policy_user_exempt(const struct policy *p, const struct policy_scope *scope,
			       const char *user, uid_t uid, const gid_t *groups, size_t n_groups,
			       uid_t uid_min);

/* The same, looking up only what the policy needs: UID_MIN unless IncludeSystemUsers, the
 * user's groups (getgrouplist with gid, the primary group) only if ExemptGroups names any,
 * so a sweep pays for no NSS group walk it does not need. Groups that cannot be listed
 * make the user exempt (fail safe). */
const char *policy_exempt(const struct policy *p, const struct policy_scope *scope,
			  const char *user, uid_t uid, gid_t gid);
