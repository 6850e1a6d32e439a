/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * procshm.h: shared memory that no path in a mount reaches, so that `explain` can name
 * what else holds a cgroup's shmem: memfds and deleted tmpfs files still open or mapped
 * by a process (/proc/PID/fd, /proc/PID/maps), and SysV segments (/proc/sysvipc/shm).
 * Each object is listed once (by device and inode, or shmid), with one holder.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum shm_kind {
	SHM_MEMFD,   /* memfd_create() */
	SHM_DELETED, /* an unlinked tmpfs file still open or mapped */
	SHM_SYSV,    /* a System V shared memory segment */
	SHM_ANON,    /* mmap(MAP_SHARED|MAP_ANONYMOUS), or of /dev/zero: maps says
		      * "/dev/zero (deleted)", but no file was ever deleted */
};

struct shm_obj {
	enum shm_kind kind;
	/* "/memfd:name (deleted)", "/dev/shm/x (deleted)", "anonymous shared memory ino=N",
	 * "SYSV key=0x0000abcd id=N" (a SysV segment is named so whether attached or not) */
	char *desc;
	dev_t dev;       /* 0 for SysV segments not mapped by anyone */
	ino_t ino;
	uint64_t size;
	uid_t uid;
	pid_t pid;       /* one process holding it; 0 if none (SysV, unattached) */
	char comm[17];
	int shmid;       /* SysV only, else -1 */
	char open_path[512]; /* /proc/PID/fd/N or /proc/PID/map_files/A-B; "" = attach by shmid */
	/* SysV only, from /proc/sysvipc/shm (have_ipc: found there): */
	bool have_ipc;
	unsigned key;
	uid_t cuid;          /* the creator's uid (uid is the owner's, which IPC_SET changes) */
	uint64_t nattch;
	int64_t ctime;       /* creation, or the last IPC_SET (seconds) */
};

struct shm_list {
	struct shm_obj *v;
	size_t n;
};

/* Scan /proc (or `proc` for tests) once. Processes that vanish meanwhile are skipped. Each
 * object is looked at through its magic link pinned with O_PATH, never opened. */
int procshm_list(const char *proc, struct shm_list *ret);
/* Only the objects the processes pids[0..n) hold (memfds, deleted files, anonymous shared
 * memory, SysV segments they have attached), and, with sysv, every SysV segment.
 * deadline_ns (CLOCK_MONOTONIC, 0: none) bounds the time: -ETIME past it. */
int procshm_list_pids(const char *proc, const pid_t *pids, size_t n, bool sysv,
		      uint64_t deadline_ns, struct shm_list *ret);
/* A read-only fd of o (not SysV-by-shmid): its magic link pinned with O_PATH, checked to
 * be o still (a regular shmem file, its dev/ino, nlink 0 unless SysV), then that object
 * reopened through /proc/self/fd. Whatever the process put behind the fd number since
 * (a FIFO, a device) is never opened: -ESTALE. */
int procshm_open(const struct shm_obj *o);
void shm_list_done(struct shm_list *l);
const char *shm_kind_name(enum shm_kind k);
