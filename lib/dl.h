/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dl.h: libsystemd and libmount, loaded on first use (dlopen), as systemd loads its own
 * optional libraries. The helper runs once per logout: linked in, the two libraries and
 * the eight they pull in cost every close ~4 ms of CPU in the dynamic loader (a mass logout
 * of 200 sessions: most of its time). A close on a host without systemd loads neither;
 * scan and explain load libmount, a logind host's close and `sweep --unit` libsystemd. */
#pragma once

#include <libmount.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

struct dl_systemd {
	typeof(sd_pid_get_session) *pid_get_session;
	typeof(sd_uid_get_sessions) *uid_get_sessions;
	typeof(sd_session_get_state) *session_get_state;
	typeof(sd_bus_open_system) *bus_open_system;
	typeof(sd_bus_set_method_call_timeout) *bus_set_method_call_timeout;
	typeof(sd_bus_path_encode) *bus_path_encode;
	typeof(sd_bus_get_property_trivial) *bus_get_property_trivial;
	typeof(sd_bus_get_property_string) *bus_get_property_string;
	typeof(sd_bus_error_free) *bus_error_free;
	typeof(sd_bus_flush_close_unref) *bus_flush_close_unref;
};

struct dl_mount {
	typeof(mnt_new_table) *new_table;
	typeof(mnt_unref_table) *unref_table;
	typeof(mnt_table_parse_file) *table_parse_file;
	typeof(mnt_new_iter) *new_iter;
	typeof(mnt_free_iter) *free_iter;
	typeof(mnt_table_next_fs) *table_next_fs;
	typeof(mnt_fs_get_target) *fs_get_target;
	typeof(mnt_fs_get_fstype) *fs_get_fstype;
	typeof(mnt_fs_get_id) *fs_get_id;
	typeof(mnt_fs_get_devno) *fs_get_devno;
	typeof(mnt_fs_strdup_options) *fs_strdup_options;
};

/* Whether systemd is the service manager (sd_booted(3)'s test), without libsystemd. */
bool dl_systemd_booted(void);

/* The library's functions, loaded on the first call; 0, or -errno (-ENOENT: the library
 * or one of its functions is missing; the failure is kept, not retried). */
int dl_systemd(const struct dl_systemd **ret);
int dl_mount(const struct dl_mount **ret);
