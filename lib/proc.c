/* SPDX-License-Identifier: GPL-2.0-or-later */
/* proc.c: a pid's start time and the boot id, from /proc (proc.h). */
#include "proc.h"
#include "fileio.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>

int proc_pid_starttime(pid_t pid, uint64_t *ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	const char *p;
	ssize_t n;

	assert(ret);

	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/stat");
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = read_oneshot_file_at(AT_FDCWD, path, 4096, &buf);
	if (n < 0)
		return (int)n;
	/* comm may hold spaces and ')': fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EBADMSG;
	p++;
	/* p is at " S ppid ..."; field 3 is the state, we want field 22. */
	for (int field = 2; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EBADMSG;
		p++;
	}
	errno = 0;
	char *end;
	unsigned long long v = strtoull(p, &end, 10);
	if (errno || end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EBADMSG;
	*ret = v;
	return 0;
}

int proc_boot_id(char buf[PROC_BOOT_ID_LEN + 1])
{
	_cleanup_free_ char *s = NULL;
	ssize_t n = read_oneshot_file_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", 64, &s);

	assert(buf);

	if (n < 0)
		return (int)n;
	if (n < PROC_BOOT_ID_LEN)
		return -EBADMSG;
	memcpy(buf, s, PROC_BOOT_ID_LEN);
	buf[PROC_BOOT_ID_LEN] = '\0';
	return 0;
}
