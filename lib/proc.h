/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * proc.h: what /proc says about a process and about this boot, the facts a session
 * record pins its process and its boot by: a pid's start time (a recycled pid has
 * another) and the kernel's boot id.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#define PROC_BOOT_ID_LEN 36 /* as /proc/sys/kernel/random/boot_id, without the newline */

/* Field 22 of /proc/PID/stat (0: self), in clock ticks since boot. */
int proc_pid_starttime(pid_t pid, uint64_t *ret);
/* /proc/sys/kernel/random/boot_id without the newline. */
int proc_boot_id(char buf[PROC_BOOT_ID_LEN + 1]);
