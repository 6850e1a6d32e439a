/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_json.c: lib/json.c: the byte buffer, the object writer, RFC 3339 times, and
 * above all the string escaping: every output must parse as JSON whatever bytes a
 * file name holds, and the original bytes must be recoverable (\udcXX for bytes that
 * are not valid UTF-8). Checked three ways: exact expected outputs, a decoder here
 * that must give back the input for random byte strings, and python3's json module.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "json.h"
#include "util.h"

#include <inttypes.h>
#include <limits.h>
#include <time.h>

/* The escaped form of n bytes of s, in a buffer reused between calls. */
static const char *esc(const char *s, size_t n)
{
	static struct sbuf b;

	sbuf_reset(&b);
	json_add_string(&b, s, n);
	assert_false(b.oom);
	return sbuf_str(&b);
}

#define ESC(lit) esc(lit, sizeof(lit) - 1)

static void test_escape_ascii(void **state)
{
	assert_string_equal(ESC(""), "\"\"");
	assert_string_equal(ESC("abc"), "\"abc\"");
	assert_string_equal(ESC("/dev/shm/PostgreSQL.1234"), "\"/dev/shm/PostgreSQL.1234\"");
	assert_string_equal(ESC(" ~!#$%&'()*+,-./:;<=>?@[]^_`{|}"),
			    "\" ~!#$%&'()*+,-./:;<=>?@[]^_`{|}\"");
	assert_string_equal(ESC("a\"b"), "\"a\\\"b\"");
	assert_string_equal(ESC("\""), "\"\\\"\"");
	assert_string_equal(ESC("a\\b"), "\"a\\\\b\"");
	assert_string_equal(ESC("\\\\"), "\"\\\\\\\\\"");
	/* only n bytes are read */
	assert_string_equal(esc("abcdef", 3), "\"abc\"");
}

static void test_escape_controls(void **state)
{
	assert_string_equal(ESC("a\nb"), "\"a\\nb\"");
	assert_string_equal(ESC("\t"), "\"\\t\"");
	assert_string_equal(ESC("\r\n"), "\"\\r\\n\"");
	assert_string_equal(ESC("\x01"), "\"\\u0001\"");
	assert_string_equal(ESC("\b\f"), "\"\\u0008\\u000c\"");
	assert_string_equal(ESC("\x1b[31mred"), "\"\\u001b[31mred\"");
	assert_string_equal(ESC("\x1f"), "\"\\u001f\"");
	assert_string_equal(ESC("x\x7fy"), "\"x\\u007fy\"");
	/* embedded NUL, given an explicit length */
	assert_string_equal(esc("a\0b", 3), "\"a\\u0000b\"");
	assert_string_equal(esc("\0", 1), "\"\\u0000\"");
	/* every control character, one by one */
	for (unsigned c = 0; c < 0x20; c++) {
		char in = (char)c, want[16];
		if (c == '\n' || c == '\t' || c == '\r')
			continue;
		snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		assert_string_equal(esc(&in, 1), want);
	}
}

static void test_escape_unicode_specials(void **state)
{
	/* C1 controls U+0080..U+009F (C2 80..C2 9F): escaped; U+00A0 is not */
	assert_string_equal(ESC("\xc2\x80"), "\"\\u0080\"");
	assert_string_equal(ESC("\xc2\x85"), "\"\\u0085\"");
	assert_string_equal(ESC("\xc2\x9f"), "\"\\u009f\"");
	assert_string_equal(ESC("\xc2\xa0"), "\"\xc2\xa0\"");
	/* U+2028/U+2029 end lines in JavaScript and in many splitters */
	assert_string_equal(ESC("a\xe2\x80\xa8" "b"), "\"a\\u2028b\"");
	assert_string_equal(ESC("\xe2\x80\xa9"), "\"\\u2029\"");
	assert_string_equal(ESC("\xe2\x80\xa7"), "\"\xe2\x80\xa7\"");
	assert_string_equal(ESC("\xe2\x80\xaa"), "\"\xe2\x80\xaa\"");
}

static void test_escape_valid_utf8_kept(void **state)
{
	assert_string_equal(ESC("caf\xc3\xa9"), "\"caf\xc3\xa9\"");           /* U+00E9 */
	assert_string_equal(ESC("\xe2\x82\xac"), "\"\xe2\x82\xac\"");         /* U+20AC */
	assert_string_equal(ESC("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\""); /* U+1F600 */
	assert_string_equal(ESC("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
	assert_string_equal(ESC("\xef\xbf\xbd"), "\"\xef\xbf\xbd\"");         /* U+FFFD */
	assert_string_equal(ESC("\xed\x9f\xbf"), "\"\xed\x9f\xbf\"");         /* U+D7FF */
	assert_string_equal(ESC("\xee\x80\x80"), "\"\xee\x80\x80\"");         /* U+E000 */
	assert_string_equal(ESC("\xdf\xbf"), "\"\xdf\xbf\"");                 /* U+07FF */
	assert_string_equal(ESC("\xe0\xa0\x80"), "\"\xe0\xa0\x80\"");         /* U+0800 */
	assert_string_equal(ESC("\xf0\x90\x80\x80"), "\"\xf0\x90\x80\x80\""); /* U+10000 */
	assert_string_equal(ESC("\xe6\x97\xa5\xe6\x9c\xac/\"x\""),
			    "\"\xe6\x97\xa5\xe6\x9c\xac/\\\"x\\\"\"");
}

static void test_escape_invalid_utf8(void **state)
{
	/* lone continuation bytes */
	assert_string_equal(ESC("\x80"), "\"\\udc80\"");
	assert_string_equal(ESC("a\xbf" "b"), "\"a\\udcbfb\"");
	/* truncated sequences: at the end, and followed by ASCII or another lead byte */
	assert_string_equal(ESC("\xe2\x82"), "\"\\udce2\\udc82\"");
	assert_string_equal(ESC("\xe2\x82" "A"), "\"\\udce2\\udc82A\"");
	assert_string_equal(ESC("\xf0\x9f\x98"), "\"\\udcf0\\udc9f\\udc98\"");
	assert_string_equal(ESC("\xc3"), "\"\\udcc3\"");
	assert_string_equal(ESC("\xc3\xc3\xa9"), "\"\\udcc3\xc3\xa9\"");
	assert_string_equal(ESC("\xf0\x9f\x98\""), "\"\\udcf0\\udc9f\\udc98\\\"\"");
	/* overlong encodings */
	assert_string_equal(ESC("\xc0\xaf"), "\"\\udcc0\\udcaf\"");
	assert_string_equal(ESC("\xc1\xbf"), "\"\\udcc1\\udcbf\"");
	assert_string_equal(ESC("\xc0\x80"), "\"\\udcc0\\udc80\""); /* "modified UTF-8" NUL */
	assert_string_equal(ESC("\xe0\x80\xaf"), "\"\\udce0\\udc80\\udcaf\"");
	assert_string_equal(ESC("\xe0\x9f\xbf"), "\"\\udce0\\udc9f\\udcbf\"");
	assert_string_equal(ESC("\xf0\x80\x80\xaf"), "\"\\udcf0\\udc80\\udc80\\udcaf\"");
	assert_string_equal(ESC("\xf0\x8f\xbf\xbf"), "\"\\udcf0\\udc8f\\udcbf\\udcbf\"");
	/* UTF-16 surrogates encoded in UTF-8 */
	assert_string_equal(ESC("\xed\xa0\x80"), "\"\\udced\\udca0\\udc80\"");
	assert_string_equal(ESC("\xed\xbf\xbf"), "\"\\udced\\udcbf\\udcbf\"");
	assert_string_equal(ESC("\xed\xb2\x80"), "\"\\udced\\udcb2\\udc80\"");
	/* above U+10FFFF */
	assert_string_equal(ESC("\xf4\x90\x80\x80"), "\"\\udcf4\\udc90\\udc80\\udc80\"");
	assert_string_equal(ESC("\xf5\x80\x80\x80"), "\"\\udcf5\\udc80\\udc80\\udc80\"");
	/* bytes that never start anything */
	assert_string_equal(ESC("\xff"), "\"\\udcff\"");
	assert_string_equal(ESC("\xfe\xfe"), "\"\\udcfe\\udcfe\"");
	assert_string_equal(ESC("\xf8\x88\x80\x80\x80"),
			    "\"\\udcf8\\udc88\\udc80\\udc80\\udc80\"");
	/* Latin-1 names, the common real case */
	assert_string_equal(ESC("caf\xe9.txt"), "\"caf\\udce9.txt\"");
}

static void test_escape_long_names(void **state)
{
	char name[255], want[255 * 6 + 3];

	memset(name, 'x', sizeof(name));
	memcpy(want + 1, name, sizeof(name));
	want[0] = '"';
	want[256] = '"';
	want[257] = '\0';
	assert_string_equal(esc(name, sizeof(name)), want);

	/* 255 bytes that each need 6 characters */
	memset(name, 0xff, sizeof(name));
	want[0] = '"';
	for (size_t i = 0; i < sizeof(name); i++)
		memcpy(want + 1 + 6 * i, "\\udcff", 6);
	want[1 + 6 * 255] = '"';
	want[2 + 6 * 255] = '\0';
	assert_string_equal(esc(name, sizeof(name)), want);

	/* 255 bytes mixing everything: a newline at the very end */
	memset(name, 'y', sizeof(name));
	name[254] = '\n';
	assert_int_equal(strlen(esc(name, sizeof(name))), 1 + 254 + 2 + 1);
}

/* A JSON string decoder for what json_add_string writes: \udcXX gives back byte XX,
 * other escapes their code point in UTF-8. Returns the decoded length. */
static size_t unescape(const char *j, unsigned char *out)
{
	size_t n = 0;

	assert_int_equal(*j, '"');
	for (j++; *j != '"'; j++) {
		assert_true(*j != '\0');
		/* nothing raw below 0x20, no DEL */
		assert_true((unsigned char)*j >= 0x20 && *j != 0x7f);
		if (*j != '\\') {
			out[n++] = (unsigned char)*j;
			continue;
		}
		j++;
		switch (*j) {
		case '"': out[n++] = '"'; break;
		case '\\': out[n++] = '\\'; break;
		case '/': out[n++] = '/'; break;
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case 'r': out[n++] = '\r'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'u': {
			char hex[5] = {j[1], j[2], j[3], j[4], 0};
			unsigned cp = (unsigned)strtoul(hex, NULL, 16);
			j += 4;
			if (cp >= 0xdc80 && cp <= 0xdcff) {
				out[n++] = (unsigned char)(cp & 0xff);
			} else if (cp < 0x80) {
				out[n++] = (unsigned char)cp;
			} else if (cp < 0x800) {
				out[n++] = (unsigned char)(0xc0 | (cp >> 6));
				out[n++] = (unsigned char)(0x80 | (cp & 0x3f));
			} else {
				assert_false(cp >= 0xd800 && cp <= 0xdfff); /* no other surrogate */
				out[n++] = (unsigned char)(0xe0 | (cp >> 12));
				out[n++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
				out[n++] = (unsigned char)(0x80 | (cp & 0x3f));
			}
			break;
		}
		default:
			fail_msg("bad escape \\%c", *j);
		}
	}
	assert_int_equal(j[1], '\0');
	return n;
}

static void test_escape_reversible_random(void **state)
{
	/* Bytes drawn from a pool rich in trouble: ASCII, controls, quote, backslash,
	 * lead and continuation bytes, the pieces of U+2028 and of surrogates. */
	static const unsigned char pool[] = {
		'a', 'Z', '0', '/', '.', ' ', '"', '\\', '\n', '\t', '\r', 0, 0x1b, 0x7f,
		0x80, 0x85, 0x9f, 0xa0, 0xa8, 0xa9, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xdf, 0xe0,
		0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x90, 0x8f, 0x9f, 0xa0,
	};
	unsigned char in[64], out[64 * 4];
	unsigned seed = 12345;

	for (int round = 0; round < 20000; round++) {
		size_t n;
		seed = seed * 1103515245u + 12345u;
		n = (seed >> 16) % sizeof(in);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = (seed >> 20) & 1 ? pool[(seed >> 8) % sizeof(pool)]
						 : (unsigned char)(seed >> 12);
		}
		const char *j = esc((const char *)in, n);
		size_t m = unescape(j, out);
		if (m != n || memcmp(in, out, n) != 0) {
			print_message("round %d: escaping is not reversible: %s\n", round, j);
			fail();
		}
	}
}

static void test_python_parses(void **state)
{
	static const struct {
		const char *s;
		size_t n;
	} samples[] = {
#define S(x) {x, sizeof(x) - 1}
		S("plain"), S("new\nline"), S("quote\"back\\slash"), S("esc\x1b[0m"),
		S("del\x7f"), S("c1\xc2\x85next"), S("ls\xe2\x80\xa8ps\xe2\x80\xa9"),
		S("caf\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), S("lone\x80"), S("trunc\xe2\x82"),
		S("over\xc0\xaf"), S("surr\xed\xa0\x80"), S("big\xf4\x90\x80\x80"),
		S("nul\0byte"), S("latin1\xe9"), S("\xff\xfe"), S(""),
#undef S
	};
	char tmpl[] = "/tmp/tsw-unit-json.XXXXXX", cmd[512];
	struct sbuf b = {0};
	FILE *f, *p;
	int fd;
	size_t i = 0;

	if (system("python3 -c 'import json' >/dev/null 2>&1") != 0) {
		print_message("# no python3: not checked\n");
		return;
	}
	for (size_t k = 0; k < ARRAY_SIZE(samples); k++) {
		json_begin(&b);
		json_kv_strn(&b, "path", samples[k].s, samples[k].n);
		json_kv_u64(&b, "k", k);
		json_end(&b);
		sbuf_addc(&b, '\n');
	}
	assert_non_null(sbuf_str(&b));
	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(sbuf_str(&b), f);
	assert_int_equal(fclose(f), 0);
	sbuf_done(&b);

	/* strict UTF-8 decode of the whole file, splitlines() (which also splits on
	 * U+2028, U+0085...) must give exactly one object per sample, and the original
	 * bytes come back with surrogateescape. */
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys\n"
		 "for l in open(sys.argv[1],\"rb\").read().decode(\"utf-8\").splitlines():\n"
		 " o=json.loads(l); print(o[\"k\"], o[\"path\"].encode(\"utf-8\",\"surrogateescape\").hex())'"
		 " %s 2>&1",
		 tmpl);
	/* all output first, then clean up, then judge: a failing assert leaves nothing */
	{
		char got[8192];
		size_t gl = 0;
		int rc;
		p = popen(cmd, "r");
		assert_non_null(p);
		gl = fread(got, 1, sizeof(got) - 1, p);
		got[gl] = '\0';
		rc = pclose(p);
		unlink(tmpl);
		if (rc != 0)
			fail_msg("python3 rejected the output: %s", got);
		for (char *l = got, *nl; *l; l = nl) {
			char want[512];
			size_t w;
			nl = strchr(l, '\n');
			assert_non_null(nl);
			*nl++ = '\0';
			assert_true(i < ARRAY_SIZE(samples));
			w = (size_t)snprintf(want, sizeof(want), "%zu ", i);
			for (size_t k = 0; k < samples[i].n; k++)
				w += (size_t)snprintf(want + w, sizeof(want) - w, "%02x",
						      (unsigned char)samples[i].s[k]);
			assert_string_equal(l, want);
			i++;
		}
	}
	assert_int_equal(i, ARRAY_SIZE(samples));
}

static void test_sbuf_basics(void **state)
{
	struct sbuf b = {0};

	/* an untouched buffer reads as "" */
	assert_string_equal(sbuf_str(&b), "");
	assert_int_equal(b.len, 0);
	sbuf_adds(&b, "abc");
	sbuf_addc(&b, '-');
	sbuf_add(&b, "x\0y", 3);
	assert_int_equal(b.len, 7);
	assert_memory_equal(sbuf_str(&b), "abc-x\0y", 8);
	sbuf_printf(&b, "[%d|%s|%05.1f]", -42, "s", 3.25);
	assert_int_equal(b.len, 7 + strlen("[-42|s|003.2]"));
	assert_string_equal(sbuf_str(&b) + 7, "[-42|s|003.2]");
	sbuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(sbuf_str(&b), "");
	assert_false(b.need_comma);
	sbuf_printf(&b, "%s", "");
	assert_string_equal(sbuf_str(&b), "");
	sbuf_done(&b);
	assert_null(b.buf);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);

	/* after an allocation failure everything is ignored and the result is NULL */
	b.oom = true;
	sbuf_adds(&b, "lost");
	sbuf_printf(&b, "%d", 1);
	assert_int_equal(b.len, 0);
	assert_null(sbuf_str(&b));
	sbuf_done(&b);
	assert_false(b.oom);
}

static void test_sbuf_growth(void **state)
{
	struct sbuf b = {0};
	const char *s;
	char big[5000];

	for (int i = 0; i < 100000; i++)
		sbuf_printf(&b, "%05d,", i);
	assert_false(b.oom);
	assert_int_equal(b.len, 600000);
	assert_true(b.cap > b.len);
	s = sbuf_str(&b);
	assert_int_equal(strlen(s), 600000);
	for (int i = 0; i < 100000; i += 997) {
		char want[8];
		snprintf(want, sizeof(want), "%05d,", i);
		assert_memory_equal(s + 6 * i, want, 6);
	}
	assert_memory_equal(s + 6 * 99999, "99999,", 7);

	/* growth in the middle of a printf and of an escaped string */
	sbuf_reset(&b);
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sbuf_adds(&b, "<");
	sbuf_printf(&b, "%s", big);
	sbuf_adds(&b, ">");
	assert_int_equal(b.len, sizeof(big) + 1);
	assert_int_equal(sbuf_str(&b)[0], '<');
	assert_int_equal(sbuf_str(&b)[b.len - 1], '>');
	assert_int_equal(sbuf_str(&b)[b.len - 2], 'q');
	sbuf_reset(&b);
	for (int i = 0; i < 1000; i++)
		json_add_string(&b, "\xff\n", 2);
	assert_int_equal(b.len, 1000 * (2 + 6 + 2));
	assert_memory_equal(sbuf_str(&b) + 10 * 999, "\"\\udcff\\n\"", 10);
	sbuf_done(&b);
}

static void test_object_writer(void **state)
{
	struct sbuf b = {0};

	json_begin(&b);
	json_kv_str(&b, "a", "x");
	json_kv_u64(&b, "n", UINT64_MAX);
	json_kv_i64(&b, "i", INT64_MIN);
	json_kv_i64(&b, "j", 7);
	json_kv_bool(&b, "t", true);
	json_kv_bool(&b, "f", false);
	json_kv_str(&b, "z", NULL);
	json_kv_strn(&b, "s", "a\0b", 3);
	json_kv_strn(&b, "cut", "abcdef", 2);
	json_kv_str(&b, "we\"ird\nkey", "v");
	json_key(&b, "nested");
	json_begin(&b);
	json_kv_u64(&b, "k", 1);
	json_kv_str(&b, "e", "");
	json_end(&b);
	json_key(&b, "empty");
	json_begin(&b);
	json_end(&b);
	json_kv_raw(&b, "arr", "[1,2]");
	json_kv_u64(&b, "after", 2);
	json_end(&b);
	assert_string_equal(sbuf_str(&b),
			    "{\"a\":\"x\",\"n\":18446744073709551615,\"i\":-9223372036854775808,"
			    "\"j\":7,\"t\":true,\"f\":false,\"z\":null,\"s\":\"a\\u0000b\","
			    "\"cut\":\"ab\",\"we\\\"ird\\nkey\":\"v\",\"nested\":{\"k\":1,\"e\":\"\"},"
			    "\"empty\":{},\"arr\":[1,2],\"after\":2}");

	/* a second object in the same buffer starts without a comma */
	sbuf_addc(&b, '\n');
	json_begin(&b);
	json_kv_u64(&b, "second", 0);
	json_end(&b);
	assert_non_null(strstr(sbuf_str(&b), "}\n{\"second\":0}"));

	/* reset between lines */
	sbuf_reset(&b);
	json_begin(&b);
	json_end(&b);
	assert_string_equal(sbuf_str(&b), "{}");
	sbuf_reset(&b);
	json_begin(&b);
	json_kv_u64(&b, "only", 0);
	json_end(&b);
	assert_string_equal(sbuf_str(&b), "{\"only\":0}");
	sbuf_done(&b);
}

static void test_time_ns(void **state)
{
	static const struct {
		uint64_t ns;
		const char *want;
	} cases[] = {
		{0, "1970-01-01T00:00:00.000000000Z"},
		{1, "1970-01-01T00:00:00.000000001Z"},
		{1764363289123456789ULL, "2025-11-28T20:54:49.123456789Z"},
		{951782400000000001ULL, "2000-02-29T00:00:00.000000001Z"},
		{4102444799999999999ULL, "2099-12-31T23:59:59.999999999Z"},
		{1700000000000000000ULL, "2023-11-14T22:13:20.000000000Z"},
	};
	struct sbuf b = {0};
	char *tz = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	/* UTC whatever the local zone is */
	setenv("TZ", "America/St_Johns", 1);
	tzset();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		sbuf_reset(&b);
		sbuf_add_time_ns(&b, cases[i].ns);
		assert_string_equal(sbuf_str(&b), cases[i].want);
	}
	/* appends, does not replace */
	sbuf_reset(&b);
	sbuf_adds(&b, "t=");
	sbuf_add_time_ns(&b, 1);
	assert_string_equal(sbuf_str(&b), "t=1970-01-01T00:00:00.000000001Z");
	sbuf_done(&b);
	if (tz)
		setenv("TZ", tz, 1);
	else
		unsetenv("TZ");
	free(tz);
	tzset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_ascii),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_unicode_specials),
		cmocka_unit_test(test_escape_valid_utf8_kept),
		cmocka_unit_test(test_escape_invalid_utf8),
		cmocka_unit_test(test_escape_long_names),
		cmocka_unit_test(test_escape_reversible_random),
		cmocka_unit_test(test_python_parses),
		cmocka_unit_test(test_sbuf_basics),
		cmocka_unit_test(test_sbuf_growth),
		cmocka_unit_test(test_object_writer),
		cmocka_unit_test(test_time_ns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
