/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup.h: the memory cgroup hierarchy, v2 (unified) or the v1 memory controller.
 * Resolves what an admin types (a /sys/fs/cgroup path, a cgroup path as
 * /proc/PID/cgroup shows it, or a pid) to a directory fd and the inode number
 * that /proc/kpagecgroup reports; reads usage and shmem; lists descendants;
 * creates per-session children. `prefix` lets tests point it at fixture trees.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum cg_mode {
	CG_NONE = 0,
	CG_V1 = 1, /* memory controller on a v1 hierarchy */
	CG_V2 = 2, /* memory controller on the unified hierarchy */
};

struct cg_root {
	enum cg_mode mode;
	char *mnt; /* where the memory hierarchy is mounted, e.g. /sys/fs/cgroup/memory */
	int fd;    /* O_DIRECTORY fd on mnt */
};

struct cgroup {
	char *rel;    /* path relative to the hierarchy root, "/" for the root, "/a/b" below */
	uint64_t ino; /* what /proc/kpagecgroup reports for pages charged here */
	int fd;       /* O_DIRECTORY fd */
};

struct cg_node {
	char *rel;
	uint64_t ino;
};

struct cg_list {
	struct cg_node *v;
	size_t n;
};

/* Find the memory hierarchy from mountinfo (NULL: /proc/self/mountinfo). Returns
 * -ENOMEDIUM when no hierarchy has the memory controller. */
int cg_root_open(const char *mountinfo, struct cg_root *ret);
void cg_root_close(struct cg_root *r);

/* The memory cgroup of pid (0: self) from /proc/PID/cgroup (or the file `proc_cgroup`
 * when not NULL, for tests). *ret is malloc'd, "/..." relative to the hierarchy. */
int cg_path_of_pid(const struct cg_root *r, pid_t pid, const char *proc_cgroup, char **ret);

/* spec: an absolute path under r->mnt, a cgroup path ("/remote.slice", also relative
 * without the leading "/"), or a decimal pid. -ENOENT if no such cgroup. */
int cg_resolve(const struct cg_root *r, const char *spec, struct cgroup *ret);
int cg_open_rel(const struct cg_root *r, const char *rel, struct cgroup *ret);
/* Only the inode (what kpagecgroup reports) of the cgroup at rel, a path the kernel gave
 * (/proc/PID/cgroup): one fstatat, no fd kept. cgroupfs holds no symlinks. */
int cg_ino_rel(const struct cg_root *r, const char *rel, uint64_t *ret);
/* The caller's own memory cgroup, the quick way (the PAM module at every login):
 * /proc/self/cgroup says which hierarchy holds memory, then the usual place of that
 * hierarchy (/sys/fs/cgroup/memory for v1; /sys/fs/cgroup, else /sys/fs/cgroup/unified,
 * for v2) and the cgroup's inode by one lstat: no fd, no mount table. -ENOENT: not at
 * the usual places (use cg_root_open); -ENOMEDIUM: no memory controller anywhere. */
int cg_self_quick(enum cg_mode *ret_mode, char **ret_rel, uint64_t *ret_ino);
void cgroup_done(struct cgroup *cg);

/* usage: v1 memory.usage_in_bytes, v2 memory.current; shmem: v1 total_shmem,
 * v2 shmem (both hierarchical). */
int cg_read_usage(const struct cg_root *r, const struct cgroup *cg, uint64_t *usage,
		  uint64_t *shmem);

/* cg itself and all its descendants, iteratively, without following symlinks. */
int cg_list_descendants(const struct cg_root *r, const struct cgroup *cg, struct cg_list *ret);
void cg_list_done(struct cg_list *l);
/* The processes in the cgroups of l (cgroup.procs of each), at most max: -E2BIG beyond,
 * with the first max in *ret. A cgroup removed meanwhile has none. */
int cg_list_pids(const struct cg_root *r, const struct cg_list *l, size_t max, pid_t **ret,
		 size_t *ret_n);
/* The node of l whose ino is `ino`, or NULL. l is sorted by ino by cg_list_descendants. */
const struct cg_node *cg_list_find(const struct cg_list *l, uint64_t ino);
/* The inodes of l in its order (sorted), as page_scan_charged_to takes them: *ret malloc'd
 * (l->n of them). */
int cg_list_inos(const struct cg_list *l, uint64_t **ret);
/* cg_list_descendants + cg_list_inos: the inodes pages charged to cg or below it carry. */
int cg_descendant_inos(const struct cg_root *r, const struct cgroup *cg, uint64_t **ret,
		       size_t *ret_n);
/* The inodes of l in its order (sorted), as page_scan_charged_to takes them: *ret malloc'd
 * (l->n of them). */
int cg_list_inos(const struct cg_list *l, uint64_t **ret);
/* cg_list_descendants + cg_list_inos: the inodes pages charged to cg or below it carry. */
int cg_descendant_inos(const struct cg_root *r, const struct cgroup *cg, uint64_t **ret,
		       size_t *ret_n);

/* Make parent_rel/name (mode 0755) and return it opened; -EEXIST is not an error. */
int cg_create(const struct cg_root *r, const char *parent_rel, const char *name,
	      struct cgroup *ret);
/* Move pid into cg (cgroup.procs). */
int cg_attach(const struct cgroup *cg, pid_t pid);
/* rmdir cg if it has no process left; -EBUSY otherwise. */
int cg_remove_if_empty(const struct cg_root *r, const char *rel);

/* ---- Per-session cgroups (the module's cgroup=create; DESIGN.md): found or made at
 * open_session, entered once the record is written, left before the helper runs, removed
 * once empty; by gc when a process of the session outlived the close (cg_left_*). */

struct cg_session {
	enum cg_mode mode; /* CG_NONE: no memory cgroup known */
	char *rel;         /* the session's cgroup, relative to the hierarchy root */
	uint64_t ino;      /* as /proc/kpagecgroup reports it */
	bool per_session;  /* a logind session scope, or one made here */
	bool created;      /* made by cg_session_open */
	char *orig;        /* created: the caller's own cgroup, to go back to */
};

struct cg_session_opts {
	bool create;         /* cgroup=create */
	const char *parent;  /* cgroup_parent= (v2), or NULL */
	const char *name;    /* the name of a cgroup made for the session (the record id) */
};

/* What a caller may want to say about cg_session_*: lib/ never logs. "" when nothing. */
struct cg_note {
	bool debug; /* only worth a debug line (no memory controller at all) */
	char msg[320];
};

/* A logind session scope's name (session-N.scope). */
bool cg_is_session_scope(const char *rel);
/* A systemd unit's cgroup (*.slice, *.scope, *.service): never made or removed in. */
bool cg_is_systemd_unit(const char *rel);

/* The cgroup of a new session: the caller's own; with o->create and the caller not in a
 * per-session one already, a child made for it (v1: below the caller's cgroup in a
 * "tmpfs-sweep" child; v2: below o->parent, never in a systemd unit), not yet entered.
 * A cgroup that cannot be made falls back to the caller's own (a note says why). Returns
 * 0 (s->mode CG_NONE when there is no memory cgroup to be had), or -ENOMEM. */
int cg_session_open(const struct cg_session_opts *o, struct cg_session *s, struct cg_note *note);
/* Move the caller into the cgroup made for it. On failure the cgroup is removed again and
 * s falls back to the caller's own cgroup: -errno (then s has changed). 0 also when there
 * is nothing to enter. */
int cg_session_enter(struct cg_session *s);
/* Move the caller back to where it came from (move), and/or rmdir the cgroup made for the
 * session if it is empty (remove). Returns 0, or the first -errno; -EBUSY: a process is
 * still in it (cg_left_note it for gc). */
int cg_session_leave(const struct cg_session *s, bool move, bool remove);
void cg_session_done(struct cg_session *s);

/* A cgroup made for a session that could not be removed at close (a process outlived the
 * session in it): noted as StateDir/cgroups/ID (the record id; the record itself is gone),
 * so that gc removes it once it is empty. The note says mode, inode and path, so that gc
 * removes only that cgroup, the one made, never another one created at that path since. */
int cg_left_note(const char *statedir, const char *id, enum cg_mode mode, const char *rel,
		 uint64_t ino);
/* The ids noted, sorted (strv, NULL-terminated); -ENOENT when there is no such dir. */
int cg_left_list(const char *statedir, char ***ret, size_t *ret_n);
/* gc: remove the noted cgroup of id if it is still the one made and empty, then the note.
 * 1 removed, 2 gone already or not the one made (another inode or hierarchy: left alone),
 * both dropping the note; 0 still in use (note kept); -errno. dry_run: removes nothing,
 * says what would happen. *ret_rel: the cgroup's path (malloc'd) for the caller to say. */
int cg_left_reap(const char *statedir, const char *id, bool dry_run, char **ret_rel);
