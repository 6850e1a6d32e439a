/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "dl.h"
#include "util.h"

#include <assert.h>
#include <dlfcn.h>
#include <stddef.h>
#include <sys/stat.h>

struct dl_sym {
	const char *name;
	size_t off; /* of its pointer in the library's table */
};

#define SYM(type, field, name) {name, offsetof(struct type, field)}

static const struct dl_sym systemd_syms[] = {
	SYM(dl_systemd, pid_get_session, "sd_pid_get_session"),
	SYM(dl_systemd, uid_get_sessions, "sd_uid_get_sessions"),
	SYM(dl_systemd, session_get_state, "sd_session_get_state"),
	SYM(dl_systemd, bus_open_system, "sd_bus_open_system"),
	SYM(dl_systemd, bus_set_method_call_timeout, "sd_bus_set_method_call_timeout"),
	SYM(dl_systemd, bus_path_encode, "sd_bus_path_encode"),
	SYM(dl_systemd, bus_get_property_trivial, "sd_bus_get_property_trivial"),
	SYM(dl_systemd, bus_get_property_string, "sd_bus_get_property_string"),
	SYM(dl_systemd, bus_error_free, "sd_bus_error_free"),
	SYM(dl_systemd, bus_flush_close_unref, "sd_bus_flush_close_unref"),
};

static const struct dl_sym mount_syms[] = {
	SYM(dl_mount, new_table, "mnt_new_table"),
	SYM(dl_mount, unref_table, "mnt_unref_table"),
	SYM(dl_mount, table_parse_file, "mnt_table_parse_file"),
	SYM(dl_mount, new_iter, "mnt_new_iter"),
	SYM(dl_mount, free_iter, "mnt_free_iter"),
	SYM(dl_mount, table_next_fs, "mnt_table_next_fs"),
	SYM(dl_mount, fs_get_target, "mnt_fs_get_target"),
	SYM(dl_mount, fs_get_fstype, "mnt_fs_get_fstype"),
	SYM(dl_mount, fs_get_id, "mnt_fs_get_id"),
	SYM(dl_mount, fs_get_devno, "mnt_fs_get_devno"),
	SYM(dl_mount, fs_strdup_options, "mnt_fs_strdup_options"),
};

/* Load SONAME into TABLE (a struct of N function pointers) once; *state remembers the
 * outcome: 0 not tried, 1 loaded, -errno failed. The handle is never closed. */
static int load(const char *soname, const struct dl_sym *syms, size_t n, void *table,
		int *state)
{
	void *h;

	if (*state)
		return *state < 0 ? *state : 0;
	h = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!h)
		return *state = -ENOENT;
	for (size_t i = 0; i < n; i++) {
		void *f = dlsym(h, syms[i].name);

		if (!f) {
			dlclose(h);
			return *state = -ENOENT;
		}
		memcpy((char *)table + syms[i].off, &f, sizeof(f));
	}
	*state = 1;
	return 0;
}

bool dl_systemd_booted(void)
{
	struct stat st;

	return lstat("/run/systemd/system/", &st) == 0 && S_ISDIR(st.st_mode);
}

int dl_systemd(const struct dl_systemd **ret)
{
	static struct dl_systemd t;
	static int state;
	int r;

	assert(ret);
	r = load("libsystemd.so.0", systemd_syms, ARRAY_SIZE(systemd_syms), &t, &state);
	*ret = r < 0 ? NULL : &t;
	return r;
}

int dl_mount(const struct dl_mount **ret)
{
	static struct dl_mount t;
	static int state;
	int r;

	assert(ret);
	r = load("libmount.so.1", mount_syms, ARRAY_SIZE(mount_syms), &t, &state);
	*ret = r < 0 ? NULL : &t;
	return r;
}
