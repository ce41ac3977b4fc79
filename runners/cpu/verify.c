/* Verification of a case before it is timed, through the one verification
 * harness (kernels/check.h): the variant and `ref` run on the case's own
 * inputs (set 0 of its buffers: the realistic activations, and for backward
 * the statistics saved by ref's forward) and every output is compared with
 * check.c's tolerances. Huge shapes are verified on a row sample, their
 * first CASE_VERIFY_MAX_ELEMS elements' worth of rows: rows are independent in
 * every kernel, and the backward reductions are then checked over the
 * sampled rows. The case keeps what the check measured: the error of the
 * deciding output over that output's scale, its name and bound, and the
 * worst error in ulps over every output (check.h). */
#include "check.h"
#include "cpu_internal.h"

#include <string.h>

void case_verify_inputs(const plan_case *c, const norm_args *a, kern_check_inputs *in)
{
    *in = (kern_check_inputs){
        .norm = c->norm,
        .pass = c->pass,
        .dtype = c->dtype,
        .rows = kern_check_sample_rows(c->rows, c->cols, CASE_VERIFY_MAX_ELEMS),
        .cols = c->cols,
        .alpha = a->alpha,
        .eps = a->eps,
        .has_beta = a->has_beta,
        .affine = a->affine,
        .x = a->x,
        .dy = c->pass == PASS_BWD ? a->dy : NULL,
        .gamma = a->gamma,
        .beta = a->beta,
        .mean = c->pass == PASS_BWD ? a->mean : NULL,
        .rstd = c->pass == PASS_BWD ? a->rstd : NULL,
    };
}

int case_verify_verdict(const plan_case *c, const kern_check_inputs *in, const kern_check_result *r,
                        runner_case_result *res, dyt_err *e)
{
    if (r->skipped)
        return dyt_errf(e, DYT_USAGE, "not verified (%s)", r->reason);
    runner_result_accuracy(res, r->worst, r->output, r->tol, r->max_ulps);
    if (r->pass)
        return DYT_OK;
    for (size_t i = 0; i < r->n_outputs; i++) {
        const kern_check_output *o = &r->outputs[i];
        if (strcmp(o->name, r->output) == 0)
            return dyt_errf(e, DYT_FAIL,
                            "wrong result vs ref: %s[%zu] = %.9g, ref %.9g: error %.3g > "
                            "tolerance %.3g (%zu of %zu rows checked)",
                            o->name, o->index, o->v, o->r, o->err, o->tol, in->rows, c->rows);
    }
    return dyt_errf(e, DYT_FAIL, "wrong result vs ref: %s error %.3g > tolerance %.3g", r->output,
                    r->worst, r->tol);
}

int case_verify(const plan_case *c, const norm_args *a, const kern_exec *ex,
                runner_case_result *res, dyt_err *e)
{
    kern_check_inputs in;
    case_verify_inputs(c, a, &in);
    kern_check_result r;
    dyt_err ce = {{0}};
    if (kern_check_variant(c->variant, &in, ex->pool, &r, &ce) != DYT_OK)
        return dyt_errf(e, DYT_FAIL, "verification could not run: %s", ce.msg);
    return case_verify_verdict(c, &in, &r, res, e);
}
