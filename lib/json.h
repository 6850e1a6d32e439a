/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json.h: a growable byte buffer and the JSON writer on top of it. Strings are
 * escaped so that every output line parses as JSON whatever bytes a name holds:
 * control characters, DEL, U+2028/U+2029 are \u-escaped; bytes that are not valid
 * UTF-8 become \udcXX (the "surrogateescape" convention, so the original bytes can
 * be recovered). Allocation failure is sticky: sbuf.oom, checked once at the end.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf {
	char *buf;
	size_t len, cap;
	bool oom;
	bool need_comma; /* JSON object writer state */
};

void sbuf_done(struct sbuf *b);
void sbuf_reset(struct sbuf *b);
void sbuf_add(struct sbuf *b, const void *p, size_t n);
/* v in decimal, without printf. */
void sbuf_add_u64(struct sbuf *b, uint64_t v);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminated contents, or NULL after an allocation failure. */
const char *sbuf_str(struct sbuf *b);

/* Length of the valid UTF-8 sequence at s (1-4, n > 0), its code point in *cp; 0 if it is not
 * one (overlong forms, surrogates and code points above U+10FFFF are not). */
size_t utf8_valid_len(const unsigned char *s, size_t n, uint32_t *cp);

/* Append s (n bytes) as a quoted, escaped JSON string. */
void json_add_string(struct sbuf *b, const char *s, size_t n);

/* Flat object writer: json_begin, then key/value pairs, then json_end. */
void json_begin(struct sbuf *b);
void json_end(struct sbuf *b);
void json_kv_str(struct sbuf *b, const char *key, const char *val); /* NULL -> null */
void json_kv_strn(struct sbuf *b, const char *key, const char *val, size_t n);
void json_kv_u64(struct sbuf *b, const char *key, uint64_t v);
void json_kv_i64(struct sbuf *b, const char *key, int64_t v);
void json_kv_bool(struct sbuf *b, const char *key, bool v);
/* A raw, already valid JSON value (array or nested object). */
void json_kv_raw(struct sbuf *b, const char *key, const char *raw);
/* Key only, for a caller that writes a nested value itself. */
void json_key(struct sbuf *b, const char *key);

/* Nanoseconds since the epoch as RFC 3339 UTC with ns, e.g. 2026-11-28T20:54:49.123456789Z. */
void sbuf_add_time_ns(struct sbuf *b, uint64_t ns);
