/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dirent64.h: the record getdents64(2) fills in (glibc has no declaration of it). */
#pragma once

#include <stdint.h>

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};
