/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * users.h: user and group names, and the passwd/group lookups, for the whole project.
 *
 * One rule decides what can be a user or group name, wherever a name comes in: PAM_USER at
 * open_session, ExemptUsers/ExemptGroups in the policy, the user of a session record, the
 * user field of an audit line, `scan --user`. It accepts what useradd and directory
 * services make (alice, alice@corp.example from sssd, CORP\alice from winbind, host$,
 * josé, "domain users" as a group) and refuses only what cannot be a name or a safe log
 * field: empty or longer than USER_NAME_MAX bytes, not valid UTF-8, a control character
 * (C0, DEL, C1), '/' (not a file name: %u in a path), ':' (the passwd field separator),
 * '"' (no directory service has it; a quoting log reader trips on it), "." or "..", a
 * leading '-' (an option to any command it reaches).
 *
 * The lookups are reentrant (getpwnam_r and friends, the buffer on the stack unless an
 * entry is larger), safe in the PAM module inside sshd, and return 0 or -errno: -ENOENT
 * for no such entry, -EBADMSG for an entry whose name fails the rule.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define USER_NAME_MAX 256 /* bytes, without the NUL */

/* Can s be a user or group name (the rule above)? */
bool user_name_valid(const char *s);

struct user_info {
	uid_t uid;
	gid_t gid;                      /* primary group */
	char name[USER_NAME_MAX + 1];   /* as NSS spells it (sssd may change its case) */
};

/* The passwd entry of name, or of uid. */
int user_by_name(const char *name, struct user_info *ret);
int user_by_uid(uid_t uid, struct user_info *ret);

/* The groups of user (gid, the primary one, included) from getgrouplist(). Returns the
 * count and a malloc'd array, or -errno. */
int user_groups(const char *user, gid_t gid, gid_t **ret);

/* The gid of a group name. */
int group_by_name(const char *name, gid_t *ret);
/* The name of a gid into buf (at least USER_NAME_MAX + 1 bytes). */
int group_name(gid_t gid, char *buf, size_t size);
