/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_config.c: `check-config [FILE]` (like `sshd -t`, `visudo -c`): every problem of the
 * policy file as FILE:LINE: message (FILE: message for the file's owner, mode, size),
 * exit 1 if any; and `dump-config [FILE]`: the effective policy in the file syntax,
 * defaults included.
 */
#include "helper.h"
#include "policy.h"
#include "util.h"

/* check-config's lines are FILE:LINE: MESSAGE as they are, like sshd -t's. */
static void print_line(const char *line, void *userdata)
{
	fprintf(stderr, "%s\n", line);
}

static void print_errors(const struct policy_errors *errs, const char *file)
{
	policy_errors_say(errs, file, SIZE_MAX, print_line, NULL);
}

/* [--help] [FILE]: the file, or NULL with *ret the exit code (--help, a usage error). */
static const char *parse_args(int argc, char **argv, int *ret)
{
	const char *file = NULL;

	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "-h") || streq(argv[i], "--help")) {
			printf("Usage: tmpfs-sweep %s [FILE]\n"
			       "FILE: the policy file (default %s).\n",
			       argv[0], POLICY_DEFAULT_PATH);
			*ret = EXIT_OK;
			return NULL;
		} else if (streq(argv[i], "--") && i + 1 == argc - 1 && !file) {
			file = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			*ret = fail(EXIT_USAGE, "%s: unknown option '%s'", argv[0], argv[i]);
			return NULL;
		} else if (!file) {
			file = argv[i];
		} else {
			*ret = fail(EXIT_USAGE, "%s: one FILE at most", argv[0]);
			return NULL;
		}
	}
	return file ? file : POLICY_DEFAULT_PATH;
}

int cmd_check_config(int argc, char **argv)
{
	struct policy_errors errs;
	struct policy p;
	int r;
	const char *file = parse_args(argc, argv, &r);

	if (!file)
		return r;
	r = policy_load(file, &p, &errs);
	print_errors(&errs, file);
	policy_errors_done(&errs);
	policy_done(&p);
	if (r == -ENOMEM)
		return fail(EXIT_FAIL, "out of memory");
	if (r < 0)
		return EXIT_FAIL;
	printf("%s: OK\n", file);
	return EXIT_OK;
}

int cmd_dump_config(int argc, char **argv)
{
	struct policy_errors errs;
	struct policy p;
	int r;
	const char *file = parse_args(argc, argv, &r);

	if (!file)
		return r;
	r = policy_load(file, &p, &errs);
	print_errors(&errs, file);
	policy_errors_done(&errs);
	if (r == -ENOMEM) {
		policy_done(&p);
		return fail(EXIT_FAIL, "out of memory");
	}
	/* A rejected file still has an effective policy: the defaults, report-only. */
	if (policy_dump(&p, stdout) < 0 || fflush(stdout) != 0)
		r = -EIO;
	policy_done(&p);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
