/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Weak placeholders so the helper links while subcommands land one by one. A real
 * definition in its own file overrides each. */
#include "helper.h"

#define STUB(name)                                                                                 \
	__attribute__((weak)) int name(int argc, char **argv)                                      \
	{                                                                                          \
		(void)argc;                                                                        \
		return fail(EXIT_FAIL, "%s: not implemented yet", argv[0]);                        \
	}

STUB(cmd_explain)
STUB(cmd_scan)
STUB(cmd_close)
STUB(cmd_gc)
STUB(cmd_sessions)
STUB(cmd_check_config)
STUB(cmd_dump_config)
