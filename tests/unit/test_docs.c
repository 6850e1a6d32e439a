/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The documentation held to the code's own tables: every word of the policy language
 * (policy_keyword(): the parser's keyword, action and condition tables) is in
 * tmpfs-sweep.conf(5) and conf/tmpfs-sweep.conf; every setting's default and range as the
 * keyword table has them is what the man page says, and the default is what the shipped
 * conf shows; the walk caps in tmpfs-sweep(8) LIMITS are walk.h's and the policy's; its
 * AUDIT section lists the results of decide.h's name table, those the audit writes.
 * (tests/integration/docs_cli.sh holds the command line to --help and tmpfs-sweep(8);
 * tests/integration/pam_man.sh the module options to pam_tmpfs_sweep(8).)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "audit.h"
#include "decide.h"
#include "policy.h"
#include "sweep.h"
#include "util.h"
#include "walk.h"

#include <ctype.h>
#include <inttypes.h>
#include <regex.h>

static char *slurp_top(const char *rel)
{
	const char *top = getenv("TOP");
	char path[4096];
	FILE *f;
	char *buf = calloc(1, (1 << 20) + 1);

	snprintf(path, sizeof(path), "%s/%s", top ? top : ".", rel);
	f = fopen(path, "re");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	assert_non_null(buf);
	if (fread(buf, 1, 1 << 20, f) == 0 && ferror(f))
		fail_msg("%s: read error", path);
	fclose(f);
	return buf;
}

/* Does text match pre + word + post (extended regexes; a '-' of word may be roff's '\-')? */
static bool has_word(const char *text, const char *pre, const char *word, const char *post)
{
	char re[256], w[128] = "";
	regex_t rx;
	bool ok;

	for (const char *c = word; *c; c++)
		strcat(w, *c == '-' ? "\\\\?-" : (char[]){*c, 0});
	snprintf(re, sizeof(re), "%s%s%s", pre, w, post);
	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB | REG_NEWLINE), 0);
	ok = regexec(&rx, text, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

/* The text of one roff line as it reads: font macros (.B, .BR, .IR, ...) dropped, their
 * arguments joined (the alternating ones without spaces), escapes resolved. */
static void roff_line(const char *line, size_t len, char *out, size_t size)
{
	char buf[1024];
	size_t n = 0, i = 0;
	bool alternating = false, args = false;

	if (len && line[0] == '.') {
		size_t m = 1;

		while (m < len && line[m] != ' ')
			m++;
		alternating = m == 3 && strchr("BIR", line[1]) && strchr("BIR", line[2]);
		args = alternating || (m == 2 && strchr("BI", line[1]));
		if (!args) /* .TP, .SH, .br, ...: no text here */
			len = 0;
		i = m;
	}
	while (i < len && n + 1 < sizeof(buf)) {
		if (args && line[i] == ' ') {
			while (i < len && line[i] == ' ')
				i++;
			if (!alternating && n && i < len)
				buf[n++] = ' ';
			continue;
		}
		if (args && line[i] == '"') {
			for (i++; i < len && line[i] != '"' && n + 1 < sizeof(buf); i++)
				buf[n++] = line[i];
			i++;
			continue;
		}
		buf[n++] = line[i++];
	}
	buf[n] = '\0';
	/* Escapes: \- \e \(dq \fB \fI \fR \fP */
	n = 0;
	for (const char *s = buf, *rest; *s && n + 1 < size; s++) {
		if (s[0] == '\\' && s[1] == '-') {
			out[n++] = '-';
			s++;
		} else if (s[0] == '\\' && s[1] == 'e') {
			out[n++] = '\\';
			s++;
		} else if (s[0] == '\\' && s[1] == 'f' && s[2]) {
			s += 2;
		} else if ((rest = startswith(s, "\\(dq"))) {
			out[n++] = '"';
			s = rest - 1; /* the loop steps past the last */
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
}

/* The text from the first line matching re (extended; when tagged, only a line right
 * after .TP: a tagged paragraph's tag) up to the next line matching end, as it reads, on
 * one line; NULL when there is no such line. */
static char *roff_section(const char *roff, const char *re, const char *end, bool tagged)
{
	regex_t rx, rend;
	char *out = calloc(1, 1 << 16), line[1200];
	size_t n = 0;
	bool in = false, after_tp = false;

	assert_non_null(out);
	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regcomp(&rend, end, REG_EXTENDED | REG_NOSUB), 0);
	for (const char *p = roff; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char raw[1200];

		snprintf(raw, sizeof(raw), "%.*s", (int)MIN(len, sizeof(raw) - 1), p);
		p += len + (nl != NULL);
		if (!in) {
			in = (!tagged || after_tp) && regexec(&rx, raw, 0, NULL, 0) == 0;
			after_tp = streq(raw, ".TP");
			if (!in)
				continue;
		} else if (regexec(&rend, raw, 0, NULL, 0) == 0) {
			break;
		}
		roff_line(raw, strlen(raw), line, sizeof(line));
		if (!line[0])
			continue;
		n += (size_t)snprintf(out + n, (1 << 16) - n, "%s%s", n ? " " : "", line);
	}
	regfree(&rx);
	regfree(&rend);
	if (!in) {
		free(out);
		return NULL;
	}
	return out;
}

/* The tagged paragraph of a setting in tmpfs-sweep.conf(5). */
static char *setting_paragraph(const char *man, const char *name)
{
	char re[128];

	snprintf(re, sizeof(re), "^\\.B[IR]? \"?%s( |\"|$)", name);
	return roff_section(man, re, "^\\.(TP|SH|SS|PP)", true);
}

static void fmt_duration(char *buf, size_t len, uint64_t ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 "s", ms / 1000);
	else
		snprintf(buf, len, "%" PRIu64 "ms", ms);
}

/* 10000000 -> "10,000,000", as the man pages write numbers in running text. */
static void fmt_grouped(char *buf, size_t len, uint64_t v)
{
	char digits[32];
	size_t n, k = 0;

	snprintf(digits, sizeof(digits), "%" PRIu64, v);
	n = strlen(digits);
	for (size_t i = 0; i < n && k + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = digits[i];
	}
	buf[k] = '\0';
}

static void expect_in(const char *what, const char *text, const char *needle)
{
	if (!text || !strstr(text, needle))
		fail_msg("%s: '%s' not found in: %s", what, needle, text ? text : "(nothing)");
}

static void test_keywords_documented(void **state)
{
	_cleanup_free_ char *man = slurp_top("man/tmpfs-sweep.conf.5");
	_cleanup_free_ char *conf = slurp_top("conf/tmpfs-sweep.conf");
	const char *k;
	size_t n = 0;

	for (; (k = policy_keyword(n)); n++) {
		struct policy_setting_info info;
		bool setting = policy_setting_info(n, &info), action = false, cond;
		bool match = policy_keyword_is_match(n);

		for (enum policy_action a = POLICY_REPORT; a <= POLICY_DEFER; a++)
			action = action || streq(k, policy_action_name(a));
		cond = !setting && !action && !match;
		/* man: a tagged paragraph `.B keep`, `.BI "Watch " path`, `.BR class= ...`,
		 * `.BI "User " patterns`, `.B Match`;
		 * conf: the setting or rule as a line (maybe commented out), or named in
		 * a comment, conditions as `class=`. */
		bool in_man = has_word(man, "^\\.B[IR]? \"?", k, cond ? "=" : "( |\"|$)");
		bool in_conf = cond ? has_word(conf, "[ #]", k, "=")
				    : has_word(conf, "^#? ?", k, " ") ||
					      has_word(conf, "[ (]", k, "[ ,)]");

		if (!in_man || !in_conf)
			print_error("keyword %s: man %d, conf %d\n", k, in_man, in_conf);
		assert_true(in_man);
		assert_true(in_conf);
	}
	/* 13 settings, 4 actions, 3 conditions, Match and 6 criteria today: the walk saw all
	 * four tables. */
	assert_true(n >= 27);
	print_message("# %zu keywords documented\n", n);
}

static void test_settings_documented(void **state)
{
	_cleanup_free_ char *man = slurp_top("man/tmpfs-sweep.conf.5");
	_cleanup_free_ char *conf = slurp_top("conf/tmpfs-sweep.conf");
	struct policy_setting_info s;
	size_t i;

	for (i = 0; policy_setting_info(i, &s); i++) {
		_cleanup_free_ char *para = setting_paragraph(man, s.name);
		char want[256], lo[32], hi[32];

		/* The default, as the table has it. */
		snprintf(want, sizeof(want), "Default: %s", s.def ? s.def : "none");
		expect_in(s.name, para, want);
		assert_true(strchr(".;, ", strstr(para, want)[strlen(want)]) &&
			    strstr(para, want)[strlen(want)]);
		/* The shipped conf shows the defaults (a list without one commented out). */
		if (s.def)
			snprintf(want, sizeof(want), "\n%s %s\n", s.name, s.def);
		else
			snprintf(want, sizeof(want), "\n#%s ", s.name);
		expect_in("conf/tmpfs-sweep.conf", conf, want);
		/* A number's range. */
		if (!s.max)
			continue;
		if (s.duration) {
			fmt_duration(lo, sizeof(lo), s.min);
			fmt_duration(hi, sizeof(hi), s.max);
		} else {
			snprintf(lo, sizeof(lo), "%" PRIu64, s.min);
			snprintf(hi, sizeof(hi), "%" PRIu64, s.max);
		}
		snprintf(want, sizeof(want), "%s to %s", lo, hi);
		expect_in(s.name, para, want);
	}
	assert_true(i >= 12);
}

static const char *setting_default(const char *name)
{
	struct policy_setting_info s;

	for (size_t i = 0; policy_setting_info(i, &s); i++)
		if (streq(s.name, name))
			return s.def;
	fail_msg("no setting %s", name);
	return NULL;
}

/* tmpfs-sweep(8) LIMITS: explain and scan walk with walk.h's defaults, close and gc with
 * the policy's MaxDepth (at most WALK_MAX_DEPTH) and MaxEntries. */
static void test_limits_documented(void **state)
{
	_cleanup_free_ char *man = slurp_top("man/tmpfs-sweep.8");
	_cleanup_free_ char *limits = roff_section(man, "^\\.SH LIMITS", "^\\.SH", false);
	char want[128], n[32];

	snprintf(want, sizeof(want), "depth %u", WALK_DEFAULT_MAX_DEPTH);
	expect_in("LIMITS", limits, want);
	fmt_grouped(n, sizeof(n), WALK_DEFAULT_MAX_ENTRIES);
	snprintf(want, sizeof(want), "%s entries", n);
	expect_in("LIMITS", limits, want);
	snprintf(want, sizeof(want), "MaxDepth (default %s, at most %u)",
		 setting_default("MaxDepth"), WALK_MAX_DEPTH);
	expect_in("LIMITS", limits, want);
	fmt_grouped(n, sizeof(n), strtoull(setting_default("MaxEntries"), NULL, 10));
	snprintf(want, sizeof(want), "MaxEntries (default %s)", n);
	expect_in("LIMITS", limits, want);
	/* What one session's files may cost: sweep.h's budget, audit.h's caps. */
	snprintf(want, sizeof(want), "within %u MiB", SWEEP_MAX_MEMORY >> 20);
	expect_in("LIMITS", limits, want);
	snprintf(want, sizeof(want), "more than %d bytes as its first %d and last %d bytes",
		 AUDIT_PATH_MAX, AUDIT_PATH_HEAD, AUDIT_PATH_TAIL);
	expect_in("LIMITS", limits, want);
	fmt_grouped(n, sizeof(n), AUDIT_MAX_FILE_LINES);
	snprintf(want, sizeof(want), "at most %s file lines", n);
	expect_in("LIMITS", limits, want);
}

/* tmpfs-sweep(8) AUDIT: the file lines' results are decide.h's (all but the internal
 * "pending"), in the table's order. */
static void test_results_documented(void **state)
{
	_cleanup_free_ char *man = slurp_top("man/tmpfs-sweep.8");
	_cleanup_free_ char *audit = roff_section(man, "^\\.SH AUDIT", "^\\.SH", false);
	char want[256] = "result (";

	for (enum file_result r = 0; r < _RESULT_MAX; r++) {
		if (r == RESULT_PENDING)
			continue;
		if (r)
			strcat(want, ", ");
		strcat(want, file_result_name(r));
	}
	strcat(want, ")");
	expect_in("AUDIT", audit, want);
	assert_null(strstr(audit, "pending"));
}

/* The helpers above read roff as a reader does. */
static void test_roff_reading(void **state)
{
	char out[256];
	char n[32];

	static const char *const t[][2] = {
		{".BR \"/dev/shm /tmp\" .", "/dev/shm /tmp."},
		{".BI \"Timeout \" n\\fR[\\fBs\\fR]", "Timeout n[s]"},
		{".B tmpfs\\-sweep gc", "tmpfs-sweep gc"},
		{".RB ( incomplete )", "(incomplete)"},
		{"Default: 256.", "Default: 256."},
		{".TP", ""},
		{".SH LIMITS", ""},
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		roff_line(t[i][0], strlen(t[i][0]), out, sizeof(out));
		assert_string_equal(out, t[i][1]);
	}
	fmt_grouped(n, sizeof(n), 1000000);
	assert_string_equal(n, "1,000,000");
	fmt_grouped(n, sizeof(n), 256);
	assert_string_equal(n, "256");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roff_reading),
		cmocka_unit_test(test_keywords_documented),
		cmocka_unit_test(test_settings_documented),
		cmocka_unit_test(test_limits_documented),
		cmocka_unit_test(test_results_documented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
