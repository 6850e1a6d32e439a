/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "leftover.h"
#include "cgroup.h"
#include "fileio.h"
#include "procshm.h"
#include "scan.h"
#include "util.h"
#include "walk.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/shm.h>
#include <sys/stat.h>

#define RULE_REMOVE_SYSV "RemoveSysV yes"
/* The most processes of a session looked at: beyond, the report says incomplete. */
#define MAX_PIDS 65536

/* The processes in the session's cgroup and its descendants: those that outlived it. */
static int session_pids(const struct session_record *rec, pid_t **ret, size_t *ret_n)
{
	struct cg_root root = {.fd = -1};
	struct cgroup cg = {.fd = -1};
	struct cg_list l = {0};
	int r;

	*ret = NULL;
	*ret_n = 0;
	r = cg_root_open(NULL, &root);
	if (r < 0)
		return r;
	r = root.mode == rec->cg_mode ? cg_open_rel(&root, rec->cgroup, &cg) : -EMEDIUMTYPE;
	if (r >= 0 && cg.ino != rec->cgroup_ino)
		r = -ESTALE; /* another cgroup at that path now */
	if (r >= 0)
		r = cg_list_descendants(&root, &cg, &l);
	if (r >= 0)
		r = cg_list_pids(&root, &l, MAX_PIDS, ret, ret_n);
	cg_list_done(&l);
	cgroup_done(&cg);
	cg_root_close(&root);
	return r;
}

/* The bytes of o charged to the session's cgroups (0 without attribution). A segment is
 * attached read-only for the time of the look. */
static int charged_bytes(const struct leftover_params *p, const struct shm_obj *o,
			 uint64_t *ret)
{
	struct page_scan ps = {0};
	int r;

	*ret = 0;
	if (!p->pc || !p->inos)
		return 0;
	if (o->kind == SHM_SYSV) {
		void *m = shmat(o->shmid, NULL, SHM_RDONLY);

		if (m == (void *)-1)
			return negative_errno();
		r = pages_scan_mapping(p->pc, m, (size_t)o->size, &ps);
		shmdt(m);
	} else {
		_cleanup_close_ int fd = procshm_open(o);
		struct stat st;

		if (fd < 0)
			return fd;
		if (fstat(fd, &st) < 0)
			return negative_errno();
		r = pages_scan_fd(p->pc, fd, (uint64_t)st.st_size, &ps);
	}
	if (r >= 0)
		*ret = page_scan_charged_to(&ps, p->inos, p->n_inos);
	page_scan_done(&ps);
	return r < 0 ? r : 0;
}

static bool in_session(const struct leftover_params *p, int64_t t_s)
{
	uint64_t t = t_s > 0 ? (uint64_t)t_s * NSEC_PER_SEC : 0;

	/* ctime has seconds only: the session's start second counts. */
	return t && t + NSEC_PER_SEC > p->rec->start_ns && t <= p->end_ns;
}

/* Remove segment o if it is still the session's own and unattached: the same segment
 * (key, creator, creation time), created by the user, attached by nobody, not already
 * removed. 1 removed, 0 kept (*why says why), -errno. */
static int remove_segment(const struct leftover_params *p, const struct shm_obj *o,
			  const char **why)
{
	struct shmid_ds ds;

	if (shmctl(o->shmid, IPC_STAT, &ds) < 0) {
		*why = "gone or changed before its removal";
		return errno == EINVAL || errno == EIDRM ? 0 : negative_errno();
	}
	if ((unsigned)ds.shm_perm.__key != o->key || ds.shm_perm.cuid != p->rec->uid ||
	    (int64_t)ds.shm_ctime != o->ctime) {
		*why = "kept: changed before its removal";
		return 0;
	}
	if (ds.shm_perm.mode & SHM_DEST) {
		*why = "kept: already marked for removal";
		return 0;
	}
	if (ds.shm_nattch != 0) {
		*why = "kept: attached by a process";
		return 0;
	}
	if (shmctl(o->shmid, IPC_RMID, NULL) < 0)
		return negative_errno();
	return 1;
}

static void note(struct leftover_result *res, const struct audit_file *f)
{
	res->objects++;
	res->charged_bytes += f->charged_bytes;
	if (f->result == RESULT_REMOVED) {
		res->removed++;
		res->removed_bytes += f->size;
	}
	if (f->result == RESULT_ERROR)
		res->errors++;
}

/* One object: its class, whether it goes, its line. */
static int one(const struct leftover_params *p, const struct shm_obj *o,
	       struct leftover_result *res)
{
	const struct session_record *rec = p->rec;
	bool sysv = o->kind == SHM_SYSV;
	char detail[160], err[96] = "";
	const char *why = NULL;
	uint64_t charged = 0;
	int r;

	if (sysv && (!o->have_ipc || o->cuid != rec->uid))
		return 0; /* a segment another user made (a process of the session attached) */
	r = charged_bytes(p, o, &charged);
	if (r == -ENOMEM)
		return r;
	struct audit_file f = {
		.session = rec->id, .path = o->desc, .size = o->size, .charged_bytes = charged,
		.uid = sysv ? o->cuid : o->uid,
		.btime_ns = sysv && o->ctime > 0 ? (uint64_t)o->ctime * NSEC_PER_SEC : 0,
		.action = "report", .result = RESULT_REPORTED, .rule = "default",
		.detail = detail, .object = shm_kind_name(o->kind),
	};

	if (charged)
		f.class = "charged";
	else if (sysv && in_session(p, o->ctime))
		f.class = "created";
	else if (!sysv && o->uid == rec->uid && o->size)
		f.class = "owned";
	else
		return 0; /* not this session's */
	if (r < 0)
		snprintf(err, sizeof(err), "; charged bytes unknown: %s", strerror(-r));
	if (!sysv)
		snprintf(detail, sizeof(detail), "held by pid %d %s%s", (int)o->pid, o->comm, err);
	else
		snprintf(detail, sizeof(detail), "attached by %" PRIu64 "%s", o->nattch, err);

	if (sysv && p->remove_sysv) {
		f.action = "remove";
		f.rule = RULE_REMOVE_SYSV;
		f.result = RESULT_KEPT;
		if (p->no_removal)
			why = p->no_removal;
		else if (!p->inos)
			why = "no per-session cgroup";
		else if (!charged)
			why = "not charged to the session's cgroup";
		else if (!in_session(p, o->ctime))
			why = "created before the session";
		else if (o->nattch)
			why = "attached by a process";
		else {
			r = remove_segment(p, o, &why);
			if (r > 0) {
				f.result = RESULT_REMOVED;
				why = "IPC_RMID";
			} else if (r < 0) {
				f.result = RESULT_ERROR;
				snprintf(err, sizeof(err), "IPC_RMID: %s", strerror(-r));
				f.error = err;
				why = "not removed";
			}
		}
		snprintf(detail, sizeof(detail), "%s; attached by %" PRIu64, why, o->nattch);
	}
	note(res, &f);
	if (p->audit && audit_file(p->audit, &f) < 0)
		res->errors++;
	return 0;
}

int leftovers_sweep(const struct leftover_params *p, struct leftover_result *res)
{
	_cleanup_free_ pid_t *pids = NULL;
	struct shm_list l = {0};
	size_t n = 0;
	int r = 0;

	assert(p);
	assert(res);

	*res = (struct leftover_result){0};
	/* Without a cgroup of the session's own, no process is told to be the session's. */
	if (p->inos && p->rec->cgroup) {
		r = session_pids(p->rec, &pids, &n);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			res->incomplete = true;
	}
	r = procshm_list_pids(p->proc, pids, n, true, p->deadline_ns, &l);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		res->incomplete = true;
		return 0;
	}
	for (size_t i = 0; r == 0 && i < l.n; i++) {
		if (p->deadline_ns && now_ns(CLOCK_MONOTONIC) > p->deadline_ns) {
			res->incomplete = true;
			break;
		}
		r = one(p, &l.v[i], res);
	}
	shm_list_done(&l);
	return r;
}
