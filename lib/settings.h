/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * settings.h: INTERIM. The few policy settings the module and `close` need before
 * lib/policy lands: Watch, StateDir, AuditLog, ExemptUsers, IncludeSystemUsers. Reads
 * only those keywords of the policy file (the rest is skipped), after the ownership
 * checks (root-owned, not group/other-writable, not a symlink, at most 1 MiB). When
 * lib/policy is merged this file goes: its callers are settings_load(),
 * settings_user_exempt(), settings_expand() and settings_open_audit_log().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SETTINGS_DEFAULT_CONF SYSCONFDIR "/security/tmpfs-sweep.conf"
#define SETTINGS_DEFAULT_AUDITLOG "/var/log/tmpfs-sweep/audit.jsonl"
#define SETTINGS_MAX_WATCH 32

struct sweep_settings {
	char *statedir;
	char *auditlog;
	char *watch[SETTINGS_MAX_WATCH]; /* patterns with %u / %U */
	size_t n_watch;
	char *exempt_users[32];
	size_t n_exempt;
	bool include_system_users;
};

/* path NULL: the default file. A missing file gives the defaults and returns 0; an
 * unsafe or malformed file gives the defaults and returns -EPERM / -EBADMSG (the
 * caller logs it; report-only either way at this stage). */
int settings_load(const char *path, struct sweep_settings *ret);
void settings_done(struct sweep_settings *s);

/* root, the ExemptUsers, and system users (uid < UID_MIN of /etc/login.defs) unless
 * IncludeSystemUsers. */
bool settings_user_exempt(const struct sweep_settings *s, const char *user, uid_t uid);

/* pattern with %u -> user, %U -> uid, %% -> %. */
int settings_expand(const char *pattern, const char *user, uid_t uid, char **ret);

/* Append-open the audit log: parent dir made root 0700 when missing, file root 0600,
 * O_APPEND|O_NOFOLLOW|O_CLOEXEC. Returns the fd. */
int settings_open_audit_log(const char *path);
