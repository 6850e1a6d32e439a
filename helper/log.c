/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c: the helper's one error reporter (helper.h): "tmpfs-sweep: MESSAGE" on stderr. */
#include "helper.h"
#include "util.h"

#include <stdarg.h>

static _printf_(1, 0) void vwarn(const char *fmt, va_list ap)
{
	fputs("tmpfs-sweep: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	return code;
}

void warnx_(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void warn_line(const char *line, void *userdata)
{
	warnx_("%s", line);
}
