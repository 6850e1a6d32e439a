/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "roots.h"
#include "mounts.h"
#include "util.h"

#include <sys/stat.h>

void roots_close(struct roots *r)
{
	for (size_t i = 0; i < r->n; i++) {
		safe_close(r->v[i].fd);
		free(r->v[i].path);
	}
	free(r->v);
	*r = (struct roots){0};
}

static int roots_add(struct roots *r, const char *path, bool strict)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	struct root *v;
	int k = mounts_open_root(path, &fd);

	if (k < 0)
		return strict ? k : 0;
	if (fstat(fd, &st) < 0)
		return strict ? negative_errno() : 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].dev == st.st_dev)
			return 0; /* the same tmpfs mounted twice: walk it once */
	v = reallocarray(r->v, r->n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->v = v;
	v[r->n] = (struct root){.fd = fd, .path = strdup(path), .dev = st.st_dev};
	if (!v[r->n].path)
		return -ENOMEM;
	TAKE_FD(fd);
	r->n++;
	return 0;
}

int roots_open(char **names, size_t n, struct roots *ret, const char **bad)
{
	struct roots r = {0};
	int k = 0;

	if (n > 0) {
		for (size_t i = 0; i < n && k == 0; i++) {
			k = roots_add(&r, names[i], true);
			if (k < 0 && bad)
				*bad = names[i];
		}
	} else {
		struct mount_list ml = {0};
		k = mounts_load_tmpfs(NULL, &ml);
		for (size_t i = 0; k == 0 && i < ml.n; i++)
			k = roots_add(&r, ml.v[i].path, false);
		mount_list_done(&ml);
	}
	if (k < 0) {
		roots_close(&r);
		return k;
	}
	*ret = r;
	return 0;
}
