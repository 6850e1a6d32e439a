/* SPDX-License-Identifier: GPL-2.0-or-later */
/* roots.h: the tmpfs mounts a command walks: the ones named (each must be a tmpfs
 * mount point) or every tmpfs mount of the system, each device once. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct root {
	int fd;
	char *path;
	dev_t dev;
};

struct roots {
	struct root *v;
	size_t n;
};

/* names NULL/n=0: all tmpfs mounts (those that cannot be opened as a root are skipped).
 * Otherwise each name must be a tmpfs mount point: on the first that is not, returns
 * -EMEDIUMTYPE (or the error) with *bad set to it. */
int roots_open(char **names, size_t n, struct roots *ret, const char **bad);
void roots_close(struct roots *r);
