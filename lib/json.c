/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "json.h"
#include "util.h"

#include <inttypes.h>
#include <time.h>

void sbuf_done(struct sbuf *b)
{
	free(b->buf);
	*b = (struct sbuf){0};
}

void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	b->need_comma = false;
	if (b->buf)
		b->buf[0] = '\0';
}

static bool sbuf_grow(struct sbuf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return false;
	if (extra > SIZE_MAX / 2 - b->len - 1) {
		b->oom = true;
		return false;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(b->buf, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->buf = p;
	b->cap = cap;
	return true;
}

void sbuf_add(struct sbuf *b, const void *p, size_t n)
{
	if (!sbuf_grow(b, n))
		return;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void sbuf_adds(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_addc(struct sbuf *b, char c)
{
	sbuf_add(b, &c, 1);
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	/* Formatted once into the room there is (most pieces are short), twice only
	 * when that was too small. */
	if (!sbuf_grow(b, 63))
		return;
	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(b->buf + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n >= room) {
		if (!sbuf_grow(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void sbuf_add_u64(struct sbuf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do
		tmp[--i] = (char)('0' + v % 10);
	while (v /= 10);
	sbuf_add(b, tmp + i, sizeof(tmp) - i);
}

const char *sbuf_str(struct sbuf *b)
{
	if (b->oom)
		return NULL;
	if (!b->buf && !sbuf_grow(b, 0))
		return NULL;
	if (!b->len)
		b->buf[0] = '\0';
	return b->buf;
}

size_t utf8_valid_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

void json_add_string(struct sbuf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	sbuf_addc(b, '"');
	while (i < n) {
		uint32_t cp;
		size_t l = utf8_valid_len(s + i, n - i, &cp);
		size_t run = i;

		/* Copy the longest run of plain bytes in one go. */
		while (run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\')
			run++;
		if (run > i) {
			sbuf_add(b, s + i, run - i);
			i = run;
			continue;
		}
		if (l == 0) {
			sbuf_printf(b, "\\udc%02x", s[i]);
			i++;
			continue;
		}
		switch (cp) {
		case '"':
			sbuf_adds(b, "\\\"");
			break;
		case '\\':
			sbuf_adds(b, "\\\\");
			break;
		case '\n':
			sbuf_adds(b, "\\n");
			break;
		case '\t':
			sbuf_adds(b, "\\t");
			break;
		case '\r':
			sbuf_adds(b, "\\r");
			break;
		default:
			if (cp < 0x20 || cp == 0x7f || cp == 0x2028 || cp == 0x2029 ||
			    (cp >= 0x80 && cp < 0xa0))
				sbuf_printf(b, "\\u%04x", cp);
			else
				sbuf_add(b, s + i, l);
		}
		i += l;
	}
	sbuf_addc(b, '"');
}

void json_begin(struct sbuf *b)
{
	sbuf_addc(b, '{');
	b->need_comma = false;
}

void json_end(struct sbuf *b)
{
	sbuf_addc(b, '}');
	b->need_comma = true;
}

void json_key(struct sbuf *b, const char *key)
{
	if (b->need_comma)
		sbuf_addc(b, ',');
	json_add_string(b, key, strlen(key));
	sbuf_addc(b, ':');
	b->need_comma = true;
}

void json_kv_strn(struct sbuf *b, const char *key, const char *val, size_t n)
{
	json_key(b, key);
	if (val)
		json_add_string(b, val, n);
	else
		sbuf_adds(b, "null");
}

void json_kv_str(struct sbuf *b, const char *key, const char *val)
{
	json_kv_strn(b, key, val, val ? strlen(val) : 0);
}

void json_kv_u64(struct sbuf *b, const char *key, uint64_t v)
{
	json_key(b, key);
	sbuf_add_u64(b, v);
}

void json_kv_i64(struct sbuf *b, const char *key, int64_t v)
{
	json_key(b, key);
	sbuf_printf(b, "%" PRId64, v);
}

void json_kv_bool(struct sbuf *b, const char *key, bool v)
{
	json_key(b, key);
	sbuf_adds(b, v ? "true" : "false");
}

void json_kv_raw(struct sbuf *b, const char *key, const char *raw)
{
	json_key(b, key);
	sbuf_adds(b, raw);
}

void sbuf_add_time_ns(struct sbuf *b, uint64_t ns)
{
	time_t sec = (time_t)(ns / NSEC_PER_SEC);
	struct tm tm;
	char tmp[32];

	if (!gmtime_r(&sec, &tm) || !strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm)) {
		sbuf_printf(b, "@%" PRIu64, ns);
		return;
	}
	sbuf_printf(b, "%s.%09" PRIu64 "Z", tmp, (uint64_t)(ns % NSEC_PER_SEC));
}
