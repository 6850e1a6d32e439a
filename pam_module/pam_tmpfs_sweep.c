/* SPDX-License-Identifier: GPL-2.0-or-later */
/* placeholder until the module lands */
#define PAM_SM_SESSION
#include <security/pam_modules.h>
#include "util.h"

_public_ int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}

_public_ int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}
