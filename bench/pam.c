/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/pam: open+close cycles through pam_start_confdir for several PAM services,
 * interleaved round by round so that machine noise hits all of them alike. Prints the
 * median open and open+close time of each, and the ratios of the first service
 * (the module) against the anchors:
 *
 *   pam CONFDIR USER CYCLES SERVICE ANCHOR_PERMIT ANCHOR_EXEC
 */
#include <security/pam_appl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int null_conv(int n, const struct pam_message **m, struct pam_response **r, void *d)
{
	return PAM_CONV_ERR;
}

static const struct pam_conv conv = {null_conv, NULL};

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	const char *confdir, *user, *svc[3];
	double *open_us[3], *total_us[3], med_open[3], med_total[3];
	int n;

	if (argc != 7) {
		fprintf(stderr, "usage: pam CONFDIR USER CYCLES SERVICE PERMIT_SERVICE EXEC_SERVICE\n");
		return 2;
	}
	confdir = argv[1];
	user = argv[2];
	n = atoi(argv[3]);
	for (int s = 0; s < 3; s++) {
		svc[s] = argv[4 + s];
		open_us[s] = calloc((size_t)n, sizeof(double));
		total_us[s] = calloc((size_t)n, sizeof(double));
		if (!open_us[s] || !total_us[s] || n < 1)
			return 1;
	}
	for (int i = 0; i < n; i++) {
		for (int s = 0; s < 3; s++) {
			pam_handle_t *h = NULL;
			double t0, t1, t2;
			int ro, rc;

			if (pam_start_confdir(svc[s], user, &conv, confdir, &h) != PAM_SUCCESS)
				return 1;
			t0 = now_us();
			ro = pam_open_session(h, 0);
			t1 = now_us();
			rc = pam_close_session(h, 0);
			t2 = now_us();
			pam_end(h, PAM_SUCCESS);
			if (ro != PAM_SUCCESS || rc != PAM_SUCCESS) {
				fprintf(stderr, "%s: open %d close %d\n", svc[s], ro, rc);
				return 1;
			}
			open_us[s][i] = t1 - t0;
			total_us[s][i] = t2 - t0;
		}
	}
	for (int s = 0; s < 3; s++) {
		med_open[s] = median(open_us[s], n);
		med_total[s] = median(total_us[s], n);
		printf("%-16s open median %8.1f us   open+close median %8.1f us\n", svc[s],
		       med_open[s], med_total[s]);
	}
	printf("open overhead over %s: %.3f ms (goal <= 0.200)\n", svc[1],
	       (med_open[0] - med_open[1]) / 1000);
	printf("open+close ratio to %s: %.2f (goal <= 1.50)\n", svc[2], med_total[0] / med_total[2]);
	return 0;
}
