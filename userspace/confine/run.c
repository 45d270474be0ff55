// SPDX-License-Identifier: GPL-2.0-only
/*
 * run.c - the run pipeline shared by mosctl and mosd (run.h).
 */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

int mos_run_prepare(struct mos_run *r, const struct mos_policy *p, const struct mos_run_args *a,
		    struct mos_err *e)
{
	char prefix[64];
	int err;

	memset(r, 0, sizeof(*r));
	err = mos_plan_build(p, a->backend, &r->plan, e);
	if (err < 0)
		return err;
	r->planned = true;
	if (!report_weak_ok(&r->plan.rep, a->allow_degraded, a->where)) {
		e->msg[0] = '\0';
		return -ECANCELED;
	}
	if (a->verbose) {
		snprintf(prefix, sizeof(prefix), "%s: ", a->progname);
		report_print(&r->plan.rep, stderr, prefix);
	}
	sandbox_config_from_plan(&r->sc, p, &r->plan, a->argv, a->allow_degraded, a->progname);
	return 0;
}

bool mos_run_supervised(const struct mos_run *r)
{
	return r->planned && r->plan.sel.files == MOS_MECH_SUPERVISOR;
}

int mos_run_exec(struct mos_run *r)
{
	fflush(NULL);
	return sandbox_run(&r->sc);
}

void mos_run_free(struct mos_run *r)
{
	if (r->planned)
		mos_plan_free(&r->plan);
	r->planned = false;
}
