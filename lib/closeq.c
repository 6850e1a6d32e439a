/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "closeq.h"
#include "policy.h"
#include "record.h"
#include "util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SWEEP_LOCK "sweep" /* in STATEDIR/locks: not a record id, no record's lock */
#define WAKE_FIFO ".wake"  /* in STATEDIR/queue: not a record id, no entry */

void closeq_key(const char *sha256, const char *conf, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s", sha256 ? sha256 : "-", conf ? conf : POLICY_DEFAULT_PATH);
}

int closeq_open_dir(const char *statedir)
{
	return record_open_subdir(statedir, CLOSEQ_DIR);
}

int closeq_open_lock(const char *statedir)
{
	_cleanup_close_ int lfd = record_open_subdir(statedir, "locks");
	int fd;

	if (lfd < 0)
		return lfd;
	fd = openat(lfd, SWEEP_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	return fd < 0 ? negative_errno() : fd;
}

bool closeq_is_lock(const char *statedir, int fd)
{
	_cleanup_close_ int ours = closeq_open_lock(statedir);
	struct stat a, b;

	return ours >= 0 && fstat(fd, &a) == 0 && fstat(ours, &b) == 0 && S_ISREG(a.st_mode) &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int closeq_add(int qfd, const char *id, uint64_t started_ns, const char *key)
{
	_cleanup_close_ int fd = -1;
	char buf[CLOSEQ_ENTRY_MAX];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 " %s\n", started_ns, key);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -E2BIG;
	if (!record_id_valid(id))
		return -EINVAL;
	fd = openat(qfd, id, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		    0600);
	if (fd < 0)
		return negative_errno();
	if (write(fd, buf, (size_t)n) != n)
		return errno ? negative_errno() : -EIO;
	return 0;
}

int closeq_read(int qfd, const char *id, uint64_t *started_ns, char *key, size_t len)
{
	_cleanup_close_ int fd = openat(qfd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	char buf[CLOSEQ_ENTRY_MAX], *end;
	ssize_t n;

	if (fd < 0)
		return negative_errno();
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? negative_errno() : -EBADMSG;
	buf[n] = '\0';
	errno = 0;
	*started_ns = strtoull(buf, &end, 10);
	if (errno || end == buf || *end != ' ' || buf[n - 1] != '\n')
		return -EBADMSG;
	buf[n - 1] = '\0';
	snprintf(key, len, "%s", end + 1);
	return 0;
}

bool closeq_queued(int qfd, const char *id)
{
	return faccessat(qfd, id, F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

/* The read end of FIFO name in qfd, made when missing (mode: O_RDONLY, or O_RDWR for a
 * read end that is a write end too, see closeq_watch_own). */
static int watch(int qfd, const char *name, int mode)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (mkfifoat(qfd, name, 0600) < 0 && errno != EEXIST)
		return negative_errno();
	/* Non-blocking: the read end opens without a writer. */
	fd = openat(qfd, name, mode | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISFIFO(st.st_mode) || st.st_uid != geteuid())
		return -EPERM;
	return TAKE_FD(fd);
}

/* Open FIFO name's write end and close it, after writing a byte when nudge. Returns 0, or
 * -ENXIO when nobody has it open, -ENOENT when it is not there, ... */
static int wake(int qfd, const char *name, bool nudge)
{
	int fd = openat(qfd, name, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return negative_errno();
	if (nudge)
		(void)!write(fd, "", 1); /* EAGAIN: the pipe is full, so it is woken anyway */
	close(fd);
	return 0;
}

/* ".ID": not a record id, no entry */
static int own_name(const char *id, char *buf, size_t len)
{
	return record_id_valid(id) && snprintf(buf, len, ".%s", id) < (int)len ? 0 : -EINVAL;
}

int closeq_watch(int qfd)
{
	return watch(qfd, WAKE_FIFO, O_RDONLY);
}

void closeq_wake(int qfd)
{
	(void)wake(qfd, WAKE_FIFO, false); /* ENXIO: nobody waits; ENOENT: nobody ever did */
}

int closeq_watch_own(int qfd, const char *id)
{
	char name[RECORD_ID_MAX + 2];

	return own_name(id, name, sizeof(name)) < 0 ? -EINVAL : watch(qfd, name, O_RDWR);
}

void closeq_wake_own(int qfd, const char *id)
{
	char name[RECORD_ID_MAX + 2];

	/* Nobody has it open (ENXIO): its close died waiting (it opened it before its record
	 * was queued, and removes it when it goes): removed here, not left until gc. */
	if (own_name(id, name, sizeof(name)) == 0 && wake(qfd, name, true) == -ENXIO)
		(void)unlinkat(qfd, name, 0);
}

void closeq_unwatch_own(int qfd, const char *id)
{
	char name[RECORD_ID_MAX + 2];

	if (own_name(id, name, sizeof(name)) == 0)
		(void)unlinkat(qfd, name, 0);
}
