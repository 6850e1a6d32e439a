/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pam_host: a small PAM application for the module's tests, playing the host (sshd)
 * in the ways THREATS.md 20-26 care about. It runs a PAM stack from a private
 * confdir (pam_start_confdir) and then the actions given on the command line, in
 * order, printing one `key=value` line per result:
 *
 *   pam_host CONFDIR SERVICE USER ACTION...      (USER "-": none; "": empty)
 *
 *   open | close | end           pam_open_session / pam_close_session / pam_end
 *   item:rhost=H | item:tty=T    pam_set_item
 *   user:NAME | user:-           change PAM_USER (or unset it)
 *   putenv:K=V                   pam_putenv (PAM environment)
 *   setenv:K=V                   the process environment (poison for the helper)
 *   fds:N                        open N fds without O_CLOEXEC
 *   run:CMD                      /bin/sh -c CMD as a child (inherits our cgroup), waited for
 *   fork-close                   fork; the child does close + end; the parent waits
 *   sigchld:reaper | sigchld:ign a SIGCHLD handler reaping with waitpid(-1), or SIG_IGN
 *   sigcheck                     sigchld_same=1 if SIGCHLD's action is what we set
 *   timed-close                  close, and close_ms=, close_cpu_us= (ours and the
 *                                helper's: user + system), close_at_us= (its end, realtime)
 *   wait:FIFO                    open FIFO's read end, print waiting=1, and sleep until a
 *                                writer has come and gone (bench/storm.sh's release)
 *   cycles:N                     N x (start, open, close, end): fds, RSS, zombies before/after
 *   cgroup                       our memory cgroup line of /proc/self/cgroup
 *   restart                      pam_end (if needed) and pam_start again: the pam data is gone
 *   conv:null | conv:print       the conversation: refuse everything (PAM_CONV_ERR), or (the
 *                                default) print each PAM_TEXT_INFO / PAM_ERROR_MSG as
 *                                info=TEXT / error=TEXT (newlines as \n, other controls and
 *                                '\' as \xNN) and take it; prompts are always refused
 */
#include "util.h"

#include <security/pam_appl.h>
#include <security/pam_modules.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t reaped;
static struct sigaction installed;

static bool conv_refuses;

/* What the module says to the user, as the user's terminal would get it, on one line. */
static void print_message(const char *key, const char *text)
{
	printf("%s=", key);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p < 0x20 || *p == 0x7f || *p == '\\')
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
	putchar('\n');
}

static int test_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *d)
{
	struct pam_response *r;

	if (conv_refuses || n <= 0)
		return PAM_CONV_ERR;
	for (int i = 0; i < n; i++)
		if (msg[i]->msg_style != PAM_TEXT_INFO && msg[i]->msg_style != PAM_ERROR_MSG)
			return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		print_message(msg[i]->msg_style == PAM_TEXT_INFO ? "info" : "error",
			      msg[i]->msg ? msg[i]->msg : "");
	*resp = r;
	return PAM_SUCCESS;
}

static const struct pam_conv conv = {test_conv, NULL};

static void reaper(int sig)
{
	int saved = errno, st;

	while (waitpid(-1, &st, WNOHANG) > 0)
		reaped++;
	errno = saved;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n - 1;
}

static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	const char *rest;
	char line[256];
	long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if ((rest = startswith(line, key)))
			v = atol(rest);
	if (f)
		fclose(f);
	return v;
}

/* Children of ours that are zombies. */
static int count_zombies(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char p[300], buf[512];
		FILE *f;
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/stat", de->d_name);
		f = fopen(p, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			char *q = strrchr(buf, ')');
			char state;
			int ppid;
			if (q && sscanf(q + 2, "%c %d", &state, &ppid) == 2 && ppid == getpid() &&
			    state == 'Z')
				n++;
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

static const char *code(int r)
{
	static char buf[32];

	if (r == PAM_SUCCESS)
		return "success";
	/* libpam turns a stack in which every module ignored into PAM_PERM_DENIED; the
	 * module itself never returns that (it only has PAM_SUCCESS and PAM_IGNORE). */
	if (r == PAM_IGNORE || r == PAM_PERM_DENIED)
		return "ignore";
	snprintf(buf, sizeof(buf), "error-%d", r);
	return buf;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU time (user + system) of this process and its waited-for descendants, in us. */
static long cpu_us(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return (self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
		kids.ru_stime.tv_sec) * 1000000L +
	       self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
	       kids.ru_stime.tv_usec;
}

int main(int argc, char **argv)
{
	const char *confdir, *service, *user;
	pam_handle_t *pamh = NULL;
	int r;

	if (argc < 4) {
		fprintf(stderr, "usage: pam_host CONFDIR SERVICE USER ACTION...\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	confdir = argv[1];
	service = argv[2];
	user = strcmp(argv[3], "-") ? argv[3] : NULL;
	r = pam_start_confdir(service, user, &conv, confdir, &pamh);
	printf("start=%d\n", r);
	if (r != PAM_SUCCESS)
		return 1;

	for (int i = 4; i < argc; i++) {
		const char *a = argv[i], *v;

		if (!strcmp(a, "open")) {
			printf("open=%s\n", code(pam_open_session(pamh, 0)));
		} else if (!strcmp(a, "close")) {
			printf("close=%s\n", code(pam_close_session(pamh, 0)));
		} else if (!strcmp(a, "timed-close")) {
			double t0 = now_ms();
			long c0 = cpu_us();
			r = pam_close_session(pamh, 0);
			printf("close=%s\nclose_ms=%.0f\nclose_cpu_us=%ld\nclose_at_us=%.0f\n", code(r),
			       now_ms() - t0, cpu_us() - c0, real_ms() * 1e3);
		} else if ((v = startswith(a, "wait:"))) {
			struct pollfd p = {.events = POLLIN};

			p.fd = open(v, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			if (p.fd < 0)
				return 1;
			printf("waiting=1\n");
			while (poll(&p, 1, 600 * 1000) < 0 && errno == EINTR)
				;
			close(p.fd);
		} else if (!strcmp(a, "end")) {
			printf("end=%d\n", pam_end(pamh, PAM_SUCCESS));
			pamh = NULL;
		} else if ((v = startswith(a, "item:rhost="))) {
			pam_set_item(pamh, PAM_RHOST, v);
		} else if ((v = startswith(a, "item:tty="))) {
			pam_set_item(pamh, PAM_TTY, v);
		} else if ((v = startswith(a, "user:"))) {
			pam_set_item(pamh, PAM_USER, strcmp(v, "-") ? v : NULL);
		} else if ((v = startswith(a, "putenv:"))) {
			pam_putenv(pamh, v);
		} else if ((v = startswith(a, "setenv:"))) {
			putenv(strdup(v));
		} else if ((v = startswith(a, "fds:"))) {
			for (int k = atoi(v); k > 0; k--)
				if (open("/dev/null", O_RDONLY) < 0)
					return 1;
			printf("fds=%d\n", count_fds());
		} else if ((v = startswith(a, "run:"))) {
			pid_t p = fork();
			int st;
			if (p == 0) {
				execl("/bin/sh", "sh", "-c", v, (char *)NULL);
				_exit(127);
			}
			while (waitpid(p, &st, 0) < 0 && errno == EINTR)
				;
			printf("run=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		} else if (!strcmp(a, "fork-close")) {
			pid_t p = fork();
			int st;
			if (p == 0) {
				int c = pam_close_session(pamh, 0);
				pam_end(pamh, PAM_SUCCESS);
				_exit(c == PAM_SUCCESS ? 10 : !strcmp(code(c), "ignore") ? 11 : 12);
			}
			waitpid(p, &st, 0);
			printf("child_close=%s\n", WEXITSTATUS(st) == 10 ? "success"
						   : WEXITSTATUS(st) == 11 ? "ignore" : "other");
		} else if (!strcmp(a, "sigchld:reaper")) {
			installed = (struct sigaction){.sa_handler = reaper, .sa_flags = SA_RESTART};
			sigemptyset(&installed.sa_mask);
			sigaction(SIGCHLD, &installed, NULL);
			sigaction(SIGCHLD, NULL, &installed); /* as the kernel reports it */
		} else if (!strcmp(a, "sigchld:ign")) {
			installed = (struct sigaction){.sa_handler = SIG_IGN};
			sigemptyset(&installed.sa_mask);
			sigaction(SIGCHLD, &installed, NULL);
			sigaction(SIGCHLD, NULL, &installed);
		} else if (!strcmp(a, "sigcheck")) {
			struct sigaction now;
			sigaction(SIGCHLD, NULL, &now);
			printf("sigchld_same=%d\nreaped=%d\n",
			       now.sa_handler == installed.sa_handler &&
				       now.sa_flags == installed.sa_flags,
			       (int)reaped);
		} else if (!strcmp(a, "conv:null") || !strcmp(a, "conv:print")) {
			conv_refuses = !strcmp(a, "conv:null");
		} else if (!strcmp(a, "restart")) {
			if (pamh)
				pam_end(pamh, PAM_SUCCESS);
			pamh = NULL;
			r = pam_start_confdir(service, user, &conv, confdir, &pamh);
			printf("start=%d\n", r);
			if (r != PAM_SUCCESS)
				return 1;
		} else if (!strcmp(a, "cgroup")) {
			FILE *f = fopen("/proc/self/cgroup", "re");
			char line[4096];
			while (f && fgets(line, sizeof(line), f))
				if (strstr(line, ":memory:"))
					printf("cgroup=%s", strstr(line, ":memory:") + 8);
			if (f)
				fclose(f);
		} else if ((v = startswith(a, "cycles:"))) {
			int n = atoi(v), fds0 = count_fds(), opens = 0, closes = 0;
			long rss100 = 0;
			if (pamh)
				pam_end(pamh, PAM_SUCCESS);
			pamh = NULL;
			for (int k = 0; k < n; k++) {
				pam_handle_t *h = NULL;
				if (pam_start_confdir(service, user, &conv, confdir, &h) != PAM_SUCCESS)
					return 1;
				opens += pam_open_session(h, 0) == PAM_SUCCESS;
				closes += pam_close_session(h, 0) == PAM_SUCCESS;
				pam_end(h, PAM_SUCCESS);
				if (k == 99)
					rss100 = status_kb("VmRSS:");
			}
			printf("cycles=%d\nopens_ok=%d\ncloses_ok=%d\nfds_before=%d\nfds_after=%d\n"
			       "rss_kb_100=%ld\nrss_kb_end=%ld\nzombies=%d\n",
			       n, opens, closes, fds0, count_fds(), rss100, status_kb("VmRSS:"),
			       count_zombies());
		} else {
			fprintf(stderr, "pam_host: unknown action %s\n", a);
			return 2;
		}
	}
	if (pamh)
		pam_end(pamh, PAM_SUCCESS);
	return 0;
}
