/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tmpfs-sweep: command line dispatch, --help, --version. */
#include "helper.h"
#include "util.h"

static const char usage_text[] =
	"Usage: tmpfs-sweep COMMAND [OPTIONS]\n"
	"\n"
	"Find the files a login session left on tmpfs, attribute their memory to cgroups\n"
	"exactly, and report, keep or remove them by policy.\n"
	"\n"
	"Commands:\n"
	"  explain CGROUP [--json] [--top N] [--jobs N]\n"
	"                                      which tmpfs files (and memfds, SysV segments)\n"
	"                                      hold this memory cgroup's shmem\n"
	"  scan [--mount M]... [--user U] [--since T] [--cgroup CG] [--json] [--jobs N]\n"
	"                                      list tmpfs files with their owner, birth time\n"
	"                                      and the cgroups their pages are charged to\n"
	"                                      (N walkers, default one per CPU up to 4)\n"
	"  close SESSION-ID [--dry-run] [--conf FILE]\n"
	"                                      sweep one recorded session (run by the module)\n"
	"  gc [--dry-run] [--conf FILE]        sweep orphaned, interrupted and deferred sessions\n"
	"  sweep --cgroup CGROUP|--self [--user USER] [--since TIME] [--dry-run] [--conf FILE]\n"
	"                                      sweep what an ended service or job left (files\n"
	"                                      charged to its cgroup), as close does a login's\n"
	"  sessions [--json] [--conf FILE]     list open and deferred session records\n"
	"  check-config [FILE]                 check a policy file, print FILE:LINE: errors\n"
	"  dump-config [FILE]                  print the effective policy\n"
	"\n"
	"Options: -h, --help   this text;  -V, --version   the version\n"
	"Exit status: 0 ok, 1 failure, 2 usage, 3 not root, 4 not found, 5 no memory\n"
	"controller, 6 not a tmpfs mount point, 7 incomplete (a limit cut the work short).\n"
	"See tmpfs-sweep(8) and tmpfs-sweep.conf(5).\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{"explain", cmd_explain},
	{"scan", cmd_scan},
	{"close", cmd_close},
	{"gc", cmd_gc},
	{"sweep", cmd_sweep},
	{"sessions", cmd_sessions},
	{"check-config", cmd_check_config},
	{"dump-config", cmd_dump_config},
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return fputs(usage_text, stderr), EXIT_USAGE;
	if (streq(argv[1], "-h") || streq(argv[1], "--help") || streq(argv[1], "help"))
		return fputs(usage_text, stdout), EXIT_OK;
	if (streq(argv[1], "-V") || streq(argv[1], "--version"))
		return printf("tmpfs-sweep %s\n", VERSION), EXIT_OK;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (streq(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	return fail(EXIT_USAGE, "unknown command '%s' (see --help)", argv[1]);
}
