/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spawn_probe: a stand-in for the helper in spawn and PAM tests. What it does comes
 * from its own file name (tests copy it under several names):
 *   *stall*  sleeps (and forks a grandchild that sleeps too) until killed, or 10 s at
 *            most: a broken deadline then shows as a measured failure of the test that
 *            waits for it, not as a hang, and leaves no process behind
 *   *true*   exits 0 at once
 *   *exit*   exits with the number in argv[1]
 *   else     dumps what it inherited: argv, environment, open fds, umask, no_new_privs,
 *            blocked/ignored signals, session id, rlimits. Output goes to argv[1], or
 *            when called as the helper (`PROBE close ID --conf FILE`) to probe.out next to
 *            FILE (or next to itself without --conf). As the helper, the mode comes from
 *            a file probe.mode next to FILE when there is one (the module runs it under
 *            the helper's name).
 */
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <sys/resource.h>

extern char **environ;

static void status_line(FILE *out, const char *key)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (startswith(line, key))
			fprintf(out, "status:%s", line);
	fclose(f);
}

int main(int argc, char **argv)
{
	char self[4096], outpath[4200];
	const char *base;
	FILE *out;
	DIR *d;
	struct dirent *de;
	struct rlimit rl;

	snprintf(self, sizeof(self), "%s", argv[0]);
	base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (argc > 1 && !streq(argv[1], "close")) {
		snprintf(outpath, sizeof(outpath), "%s", argv[1]);
	} else if (argc > 4 && streq(argv[3], "--conf")) {
		/* as the module's helper: the test leaves probe.mode next to the policy */
		char conf[4096], mode[64] = "";
		FILE *m;

		snprintf(conf, sizeof(conf), "%s", argv[4]);
		snprintf(outpath, sizeof(outpath), "%s/probe.out", dirname(conf));
		snprintf(conf, sizeof(conf), "%s", argv[4]);
		snprintf(self, sizeof(self), "%s/probe.mode", dirname(conf));
		m = fopen(self, "re");
		if (m && fgets(mode, sizeof(mode), m))
			mode[strcspn(mode, "\n")] = 0;
		if (m)
			fclose(m);
		if (mode[0])
			base = strdup(mode);
	} else {
		snprintf(outpath, sizeof(outpath), "%s/probe.out", dirname(self));
	}
	if (strstr(base, "stall")) {
		if (fork() == 0) {
			alarm(10);
			for (;;)
				pause();
		}
		alarm(10);
		for (;;)
			pause();
	}
	if (strstr(base, "true"))
		return 0;
	if (strstr(base, "exit"))
		return argc > 1 ? atoi(argv[1]) : 0;

	out = fopen(outpath, "ae");
	if (!out)
		return 3;
	for (int i = 0; i < argc; i++)
		fprintf(out, "argv=%s\n", argv[i]);
	for (char **e = environ; *e; e++)
		fprintf(out, "env=%s\n", *e);
	d = opendir("/proc/self/fd");
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d) ||
		    atoi(de->d_name) == fileno(out))
			continue;
		char link[4096] = "", p[300];
		snprintf(p, sizeof(p), "/proc/self/fd/%s", de->d_name);
		ssize_t n = readlink(p, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = 0;
		fprintf(out, "fd=%s %s\n", de->d_name, link);
	}
	if (d)
		closedir(d);
	status_line(out, "Umask:");
	status_line(out, "NoNewPrivs:");
	status_line(out, "SigBlk:");
	status_line(out, "SigIgn:");
	fprintf(out, "sid=%d\n", (int)getsid(0));
	fprintf(out, "pgid_is_sid=%d\n", getpgid(0) == getsid(0));
	getrlimit(RLIMIT_CORE, &rl);
	fprintf(out, "rlimit_core=%llu\n", (unsigned long long)rl.rlim_cur);
	getrlimit(RLIMIT_NOFILE, &rl);
	fprintf(out, "rlimit_nofile=%llu\n", (unsigned long long)rl.rlim_cur);
	getrlimit(RLIMIT_FSIZE, &rl);
	fprintf(out, "rlimit_fsize=%s\n", rl.rlim_cur == RLIM_INFINITY ? "unlimited" : "limited");
	fprintf(out, "end\n");
	fclose(out);
	return 0;
}
