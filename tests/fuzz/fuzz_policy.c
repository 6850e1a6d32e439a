/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_policy.c: libFuzzer target for the policy parser (`make fuzz`). Any input must
 * parse without crash or leak; a rejected input leaves a report-only policy without
 * rules; an accepted one dumps to text that parses back and dumps byte-identically.
 * The matcher is exercised with fixed paths and with each rule's own pattern text.
 * tests/unit/test_policy_corpus.c replays the seeds of `make fuzz` through this function.
 */
#include "glob.h"
#include "policy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dump(const struct policy *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		abort();
	if (policy_dump(p, f) < 0)
		abort();
	fclose(f);
	return buf;
}

static const char *const paths[] = {
	"/", "/dev/shm", "/dev/shm/a", "/dev/shm/PostgreSQL.1", "/tmp/a/b/c.log",
	"/run/user/1000", "/run/user/1000/systemd/x", "/tmp/alice-x",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy p, q;
	struct policy_errors e, e2;
	char *d1, *d2;
	size_t l1, l2;
	int r = policy_parse_buffer("fuzz", (const char *)data, size, &p, &e);

	if (r == -ENOMEM)
		abort();
	if (r < 0) {
		/* Rejected whole: report-only, no rules, and at least one error says why. */
		if (r != -EINVAL || !p.report_only || p.n_rules || e.n == 0)
			abort();
	} else if (e.n || p.report_only) {
		abort();
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		(void)policy_decide(&p, NULL, paths[i], "alice", 1000, POLICY_CLASS_ALL, 4096, i & 1,
				    NULL);
	for (size_t i = 0; i < p.n_rules; i++)
		(void)policy_match(&p, NULL, p.rules[i].pattern, "a*", 0, POLICY_CLASS_ALL, 0, false);

	d1 = dump(&p, &l1);
	if (policy_parse_buffer("dump", d1, l1, &q, &e2) != 0)
		abort();
	d2 = dump(&q, &l2);
	/* A rejected policy's dump carries a REPORT-ONLY comment the reparse cannot. */
	if (!p.report_only && (l1 != l2 || memcmp(d1, d2, l1) != 0))
		abort();
	if (q.n_rules != p.n_rules)
		abort();
	free(d1);
	free(d2);
	policy_errors_done(&e);
	policy_errors_done(&e2);
	policy_done(&p);
	policy_done(&q);
	return 0;
}
