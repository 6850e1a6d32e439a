/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mounts.c: the tmpfs mounts of the system through libmount (mounts.h), loaded when first
 * needed (dl.h); the watched-root checks are in mountpoint.c, which the PAM module and a
 * close use without libmount. */
#include "mounts.h"
#include "dl.h"
#include "util.h"

#include <assert.h>

/* mountinfo (NULL: /proc/self/mountinfo) parsed into *ret. */
static int mountinfo_load(const struct dl_mount *m, const char *mountinfo,
			  struct libmnt_table **ret)
{
	struct libmnt_table *tb = m->new_table();
	int r;

	if (!tb)
		return -ENOMEM;
	r = m->table_parse_file(tb, mountinfo ? mountinfo : "/proc/self/mountinfo");
	if (r < 0) {
		m->unref_table(tb);
		return r;
	}
	*ret = tb;
	return 0;
}

void mount_list_done(struct mount_list *l)
{
	assert(l);
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].options);
	}
	free(l->v);
	*l = (struct mount_list){0};
}

/* The tmpfs mounts of TB into *ret. */
static int tmpfs_of(const struct dl_mount *m, struct libmnt_table *tb, struct libmnt_iter *it,
		    struct mount_list *ret)
{
	struct libmnt_fs *fs;
	struct mount_list l = {0};

	while (m->table_next_fs(tb, it, &fs) == 0) {
		const char *target = m->fs_get_target(fs);
		const char *type = m->fs_get_fstype(fs);
		struct tmpfs_mount *slot = NULL;

		if (!target || !type)
			continue;
		/* A later mount on the same point, of any type, hides the earlier one. */
		for (size_t i = 0; i < l.n; i++)
			if (streq(l.v[i].path, target)) {
				slot = &l.v[i];
				free(slot->path);
				free(slot->options);
				break;
			}
		if (!streq(type, "tmpfs")) {
			if (slot) /* hidden: drop it */
				*slot = l.v[--l.n];
			continue;
		}
		if (!slot) {
			struct tmpfs_mount *v = reallocarray(l.v, l.n + 1, sizeof(*v));
			if (!v) {
				mount_list_done(&l);
				return -ENOMEM;
			}
			l.v = v;
			slot = &l.v[l.n++];
		}
		slot->mnt_id = m->fs_get_id(fs);
		slot->dev = m->fs_get_devno(fs);
		slot->path = strdup(target);
		slot->options = m->fs_strdup_options(fs);
		if (!slot->path) {
			mount_list_done(&l);
			return -ENOMEM;
		}
	}
	*ret = l;
	return 0;
}

int mounts_load_tmpfs(const char *mountinfo, struct mount_list *ret)
{
	const struct dl_mount *m;
	struct libmnt_table *tb = NULL;
	struct libmnt_iter *it;
	int r;

	assert(ret);

	r = dl_mount(&m);
	if (r < 0)
		return r;
	r = mountinfo_load(m, mountinfo, &tb);
	if (r < 0)
		return r;
	it = m->new_iter(MNT_ITER_FORWARD);
	r = it ? tmpfs_of(m, tb, it, ret) : -ENOMEM;
	m->free_iter(it);
	m->unref_table(tb);
	return r;
}

const struct tmpfs_mount *mounts_find_path(const struct mount_list *l, const char *path)
{
	assert(l);
	assert(path);
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->v[i].path, path))
			return &l->v[i];
	return NULL;
}

const struct tmpfs_mount *mounts_find_dev(const struct mount_list *l, dev_t dev)
{
	assert(l);
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].dev == dev)
			return &l->v[i];
	return NULL;
}
