/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sha256.h: SHA-256 (FIPS 180-4), small and dependency-free. Used to name the exact
 * policy text a run applied (the audit log's policy_sha256), not for security.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_HEX_SIZE 65 /* 64 hex digits + NUL */

struct sha256_ctx {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	uint8_t buf[64];
	size_t n; /* bytes pending in buf */
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *p, size_t n);
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_DIGEST_SIZE]);

/* One-shot digest of p as 64 lowercase hex digits. */
void sha256_hex(const void *p, size_t n, char out[SHA256_HEX_SIZE]);
