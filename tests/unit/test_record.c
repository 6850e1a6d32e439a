/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The session record: round trip with hostile strings, the strict parser (unknown and
 * repeated keys, forged lines, bad numbers, size), atomic write/read/remove/list/find in
 * a private state dir, refusal of a symlinked or group-writable state dir, and the
 * /proc/PID/stat start time with a hostile comm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "record.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/prctl.h>

static char dir[256], statedir[300];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/tsw-record.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(statedir, sizeof(statedir), "%s/state", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void fill(struct session_record *r, pid_t pid, uint64_t start)
{
	char id[RECORD_ID_MAX];

	memset(r, 0, sizeof(*r));
	assert_int_equal(record_make_id(pid, start, id, sizeof(id)), 0);
	r->id = strdup(id);
	r->uid = 1234;
	r->user = strdup("alice");
	r->service = strdup("sshd");
	r->rhost = strdup("evil\nstate=deferred\nuid=0 \\x41 =");
	r->tty = strdup("ssh");
	r->start_ns = start;
	assert_int_equal(proc_boot_id(r->boot_id), 0);
	r->cg_mode = CG_V1;
	r->cgroup = strdup("/user.slice/tmpfs-sweep/x y");
	r->cgroup_ino = 4242;
	r->cgroup_created = true;
	r->cgroup_session = true;
	r->cgroup_orig = strdup("/user.slice");
	r->pid = pid;
	r->pid_start = 777;
	assert_int_equal(record_add_mount(r, 31, makedev(0, 45), "/dev/shm"), 0);
	assert_int_equal(record_add_mount(r, 32, makedev(0, 46), "/run/user/1234 with\nnl"), 0);
	r->state = RECORD_OPEN;
}

static void test_roundtrip(void **state)
{
	struct session_record a, b = {0};
	char *buf;
	size_t len;

	fill(&a, 4321, 1700000000123456789ULL);
	assert_int_equal(record_format(&a, &buf, &len), 0);
	/* the hostile rhost stays on its one line */
	int lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, 20);
	assert_null(strstr(buf, "\nstate=deferred\nuid"));
	assert_int_equal(record_parse(buf, len, &b), 0);
	assert_string_equal(b.id, "4321-1700000000123456789");
	assert_int_equal(b.uid, 1234);
	assert_string_equal(b.rhost, a.rhost);
	assert_string_equal(b.cgroup, a.cgroup);
	assert_string_equal(b.boot_id, a.boot_id);
	assert_int_equal(b.state, RECORD_OPEN);
	assert_int_equal(b.cgroup_ino, 4242);
	assert_true(b.cgroup_created);
	assert_true(b.cgroup_session);
	assert_int_equal(b.pid, 4321);
	assert_int_equal(b.pid_start, 777);
	assert_int_equal(b.n_mounts, 2);
	assert_int_equal(b.mounts[1].mnt_id, 32);
	assert_int_equal(b.mounts[1].dev, makedev(0, 46));
	assert_string_equal(b.mounts[1].path, "/run/user/1234 with\nnl");
	free(buf);
	record_done(&a);
	record_done(&b);
}

/* The files a deferred record leaves for gc: sorted, round-tripped, found by identity;
 * a malformed entry or too many fail the whole record. */
static void test_pending(void **state)
{
	struct record_pending v[] = {
		{makedev(0, 46), 9, RECORD_PENDING_INUSE},
		{makedev(0, 45), 12, RECORD_PENDING_DEFERRED},
		{makedev(0, 45), 7, RECORD_PENDING_INUSE},
	};
	struct session_record a, b = {0};
	struct record_pending *many;
	char *buf;
	size_t len;

	fill(&a, 4321, 1700000000123456789ULL);
	a.state = RECORD_DEFERRED;
	a.end_ns = 1700000000999;
	assert_int_equal(record_set_pending(&a, v, 3), 0);
	assert_int_equal(a.pending[0].ino, 7); /* sorted by (dev, ino) */
	assert_int_equal(record_format(&a, &buf, &len), 0);
	assert_non_null(strstr(buf, "\npending=u 0:45 7\npending=d 0:45 12\npending=u 0:46 9\n"));
	assert_int_equal(record_parse(buf, len, &b), 0);
	assert_int_equal(b.n_pending, 3);
	assert_non_null(record_find_pending(&b, makedev(0, 46), 9));
	assert_int_equal(record_find_pending(&b, makedev(0, 45), 12)->why, RECORD_PENDING_DEFERRED);
	assert_null(record_find_pending(&b, makedev(0, 46), 12));
	free(buf);
	record_done(&b);
	/* none: the key is absent, and every file is decided again */
	assert_int_equal(record_set_pending(&a, NULL, 0), 0);
	assert_int_equal(record_format(&a, &buf, &len), 0);
	assert_null(strstr(buf, "pending="));
	free(buf);
	/* more than can be listed: refused, none kept */
	many = calloc(RECORD_MAX_PENDING + 1, sizeof(*many));
	assert_non_null(many);
	for (size_t i = 0; i <= RECORD_MAX_PENDING; i++)
		many[i] = (struct record_pending){makedev(0, 45), i + 1, RECORD_PENDING_INUSE};
	assert_int_equal(record_set_pending(&a, many, RECORD_MAX_PENDING + 1), -E2BIG);
	assert_int_equal(a.n_pending, 0);
	assert_int_equal(record_set_pending(&a, many, RECORD_MAX_PENDING), 0);
	assert_int_equal(record_format(&a, &buf, &len), 0);
	assert_true(len <= RECORD_MAX_SIZE);
	assert_int_equal(record_parse(buf, len, &b), 0);
	assert_int_equal(b.n_pending, RECORD_MAX_PENDING);
	free(buf);
	free(many);
	record_done(&b);
	record_done(&a);
}

static int parse_str(const char *s)
{
	struct session_record r = {0};
	int ret = record_parse(s, strlen(s), &r);
	record_done(&r);
	return ret;
}

#define BASE "version=1\nid=12-34\nuid=5\nuser=u\nstart_ns=34\npid=12\npid_start=9\n"

static void test_strict(void **state)
{
	assert_int_equal(parse_str(BASE "state=open\n"), 0);
	assert_int_equal(parse_str(BASE "state=open\nuid=0\n"), -EBADMSG);     /* duplicate */
	assert_int_equal(parse_str(BASE "state=open\nbogus=1\n"), -EBADMSG);   /* unknown */
	assert_int_equal(parse_str(BASE "state=open\n\n"), -EBADMSG);          /* empty line */
	assert_int_equal(parse_str(BASE "state=open"), -EBADMSG);              /* no final \n */
	assert_int_equal(parse_str(BASE "state=gone\n"), -EBADMSG);
	assert_int_equal(parse_str(BASE), -EBADMSG);                           /* missing key */
	assert_int_equal(parse_str("version=2\nid=12-34\n"), -EPROTONOSUPPORT);
	assert_int_equal(parse_str(BASE "state=open\ncgroup_ino=-1\n"), -EBADMSG);
	assert_int_equal(parse_str(BASE "state=open\ncgroup_ino=99999999999999999999\n"),
			 -EBADMSG);
	assert_int_equal(parse_str(BASE "state=open\nrhost=a\\x0ab\n"), 0);
	assert_int_equal(parse_str(BASE "state=open\nrhost=a\\x00b\n"), -EBADMSG);
	assert_int_equal(parse_str(BASE "state=open\nrhost=a\\q\n"), -EBADMSG);
	assert_int_equal(parse_str(BASE "state=open\nmount=1 0:45 relative\n"), -EBADMSG);
	assert_int_equal(parse_str(BASE "state=open\nmount=1 045 /x\n"), -EBADMSG);
	assert_int_equal(parse_str(BASE "state=open\nmount=1 0:45 /x\nmount=2 0:46 /y\n"), 0);
	assert_int_equal(parse_str(BASE "state=open\ncgroup_created=1\n"), -EBADMSG);
	/* the id decides the file name: nothing but digits-digits */
	assert_int_equal(parse_str("version=1\nid=../x\nuid=5\nuser=u\nstart_ns=34\npid=12\n"
				   "pid_start=9\nstate=open\n"),
			 -EBADMSG);
	char nul[] = BASE "state=open\nrhost=a\0b\n";
	struct session_record r = {0};
	assert_int_equal(record_parse(nul, sizeof(nul) - 1, &r), -EBADMSG);
	/* oversize */
	size_t big = RECORD_MAX_SIZE + 10;
	char *b = malloc(big + 1);
	memset(b, 'a', big);
	memcpy(b, BASE, strlen(BASE));
	b[big - 1] = '\n';
	b[big] = 0;
	assert_int_equal(parse_str(b), -E2BIG);
	free(b);

	assert_true(record_id_valid("1-2"));
	assert_false(record_id_valid("01-2"));
	assert_false(record_id_valid("1-"));
	assert_false(record_id_valid("-2"));
	assert_false(record_id_valid("1-2-3"));
	assert_false(record_id_valid("1-2/"));
	assert_false(record_id_valid(".1-2.tmp"));
	/* pending entries: a kind, MAJ:MIN, an inode, nothing else */
	assert_int_equal(parse_str(BASE "state=deferred\npending=u 0:45 7\npending=d 0:45 8\n"), 0);
	assert_int_equal(parse_str(BASE "state=deferred\npending=x 0:45 7\n"), -EBADMSG);
	assert_int_equal(parse_str(BASE "state=deferred\npending=u 0:45\n"), -EBADMSG);
	assert_int_equal(parse_str(BASE "state=deferred\npending=u 0:45 7 junk\n"), -EBADMSG);
	assert_int_equal(parse_str(BASE "state=deferred\npending=u -1:45 7\n"), -EBADMSG);
	assert_int_equal(parse_str(BASE "state=deferred\npending=u 0:45 -7\n"), -EBADMSG);
	assert_int_equal(parse_str(BASE "state=deferred\npending=u  0:45 7\n"), -EBADMSG);
}

static void test_files(void **state)
{
	struct session_record a, b = {0};
	char **ids = NULL, *id = NULL, path[600];
	size_t n = 99;
	struct stat st;

	/* no state dir yet: nothing to list, nothing found */
	assert_int_equal(record_list(statedir, &ids, &n), -ENOENT);
	fill(&a, 4321, 1700000000000000001ULL);
	assert_int_equal(record_write(statedir, &a), 0);
	snprintf(path, sizeof(path), "%s/sessions/%s", statedir, a.id);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/sessions", statedir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(record_read(statedir, a.id, &b), 0);
	assert_string_equal(b.user, "alice");
	record_done(&b);
	/* rewrite with a new state replaces it */
	a.state = RECORD_DEFERRED;
	assert_int_equal(record_write(statedir, &a), 0);
	assert_int_equal(record_read(statedir, a.id, &b), 0);
	assert_int_equal(b.state, RECORD_DEFERRED);
	record_done(&b);
	record_done(&a);

	fill(&a, 4321, 1700000000000000009ULL);
	assert_int_equal(record_write(statedir, &a), 0);
	record_done(&a);
	fill(&a, 99, 1700000000000000005ULL);
	a.pid_start = 555;
	assert_int_equal(record_write(statedir, &a), 0);
	record_done(&a);

	assert_int_equal(record_list(statedir, &ids, &n), 0);
	assert_int_equal(n, 3);
	{
		/* new records are linked in whole, rewrites renamed over: no temp names */
		DIR *d = opendir(path);
		struct dirent *de;
		int entries = 0;

		assert_non_null(d);
		while ((de = readdir(d)))
			if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
				entries++;
		closedir(d);
		assert_int_equal(entries, 3);
	}
	assert_string_equal(ids[0], "4321-1700000000000000001");
	assert_null(ids[3]);
	record_ids_free(ids);

	assert_int_equal(record_find_by_pid(statedir, 99, 555, &id), 0);
	assert_string_equal(id, "99-1700000000000000005");
	free(id);
	assert_int_equal(record_find_by_pid(statedir, 99, 556, &id), -ENOENT);
	assert_int_equal(record_find_by_pid(statedir, 9, 0, &id), -ENOENT);
	/* pid 4321 has two records: without a start time the newest wins */
	assert_int_equal(record_find_by_pid(statedir, 4321, 0, &id), 0);
	assert_string_equal(id, "4321-1700000000000000009");
	free(id);

	assert_int_equal(record_remove(statedir, "99-1700000000000000005"), 0);
	assert_int_equal(record_remove(statedir, "99-1700000000000000005"), -ENOENT);
	assert_int_equal(record_read(statedir, "99-1700000000000000005", &b), -ENOENT);
	assert_int_equal(record_read(statedir, "../../etc/passwd", &b), -EINVAL);
	assert_int_equal(record_remove(statedir, "../x"), -EINVAL);

	/* a record someone made group-readable, or a symlink in its place: refused */
	snprintf(path, sizeof(path), "%s/sessions/4321-1700000000000000009", statedir);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(record_read(statedir, "4321-1700000000000000009", &b), -EPERM);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("4321-1700000000000000001", path), 0);
	assert_int_equal(record_read(statedir, "4321-1700000000000000009", &b), -ELOOP);
}

static void test_statedir_checks(void **state)
{
	char link[600], gw[600];
	struct session_record a;

	fill(&a, 4321, 1700000000000000001ULL);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(statedir, link), 0);
	assert_int_equal(record_write(link, &a), -ELOOP);
	snprintf(gw, sizeof(gw), "%s/gw", dir);
	assert_int_equal(mkdir(gw, 0700), 0);
	assert_int_equal(chmod(gw, 0770), 0);
	assert_int_equal(record_write(gw, &a), -EPERM);
	assert_int_equal(record_write("relative/dir", &a), -EINVAL);
	record_done(&a);
}

static void test_starttime(void **state)
{
	uint64_t a, b;
	char self[64];

	/* a comm with spaces and ')' must not shift the fields */
	assert_int_equal(prctl(PR_SET_NAME, "a) b ) c", 0, 0, 0), 0);
	assert_int_equal(proc_pid_starttime(0, &a), 0);
	assert_int_equal(proc_pid_starttime(getpid(), &b), 0);
	assert_true(a > 0);
	assert_int_equal(a, b);
	snprintf(self, sizeof(self), "/proc/%d/stat", getpid());
	FILE *f = fopen(self, "re");
	char line[1024];
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	/* field 22 counted from after the last ')' is field 20 of the tail */
	char *p = strrchr(line, ')') + 2;
	for (int i = 3; i < 22; i++)
		p = strchr(p, ' ') + 1;
	assert_int_equal(strtoull(p, NULL, 10), a);
	assert_int_equal(proc_pid_starttime(999999999, &a), -ENOENT);
}

/* One close or gc at a time per record: a second lock is refused while the first is held
 * (also from another open file description), taken once it is released; unlink_it removes
 * the lock file, and a malformed id never reaches the directory. */
static void test_lock(void **state)
{
	char id[RECORD_ID_MAX], path[PATH_MAX];
	struct session_record r;
	int a, b;

	fill(&r, 4242, 1700000000000000000ULL);
	assert_int_equal(record_write(statedir, &r), 0);
	snprintf(id, sizeof(id), "%s", r.id);
	record_done(&r);
	snprintf(path, sizeof(path), "%s/locks/%s", statedir, id);

	a = record_lock(statedir, id);
	assert_true(a >= 0);
	assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(record_lock(statedir, id), -EBUSY);
	record_unlock(statedir, id, a, false);
	assert_int_equal(access(path, F_OK), 0);
	b = record_lock(statedir, id);
	assert_true(b >= 0);
	record_unlock(statedir, id, b, true);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);

	assert_int_equal(record_lock(statedir, "../x"), -EINVAL);
	assert_int_equal(record_lock(statedir, ""), -EINVAL);
	assert_int_equal(record_lock("relative", id), -EINVAL);
	assert_int_equal(record_remove(statedir, id), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_statedir_checks),
		cmocka_unit_test(test_starttime),
		cmocka_unit_test(test_lock),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
