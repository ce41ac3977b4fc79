/* Verification of a case before it is timed: the variant and `ref` run on
 * the same inputs and every output is compared. Huge shapes are verified on
 * their first VERIFY_MAX_ELEMS elements' worth of rows (a row sample: the
 * kernels treat rows independently, and the backward reductions are then
 * checked over the sampled rows).
 *
 * Interim comparison until kernels/check.h (the verification harness)
 * lands: error normalised as |v - r| / (tol * (1 + |r|)), pass when <= 1;
 * tol 1e-4 for fp32 storage, 2^-7 for bf16 (one bf16 ulp: fp32 math in
 * the variant and float64 in ref may round to neighbouring bf16 values);
 * cross-row reductions get tol * sqrt(rows) for their summation order. */
#include "cpu_internal.h"
#include "bf16.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_MAX_ELEMS ((size_t)1 << 22)

static double load(const void *p, dtype_kind d, size_t i)
{
    return d == DTYPE_F32 ? ((const float *)p)[i] : bf16_to_f32(((const bf16_t *)p)[i]);
}

static double cmp(const void *v, const void *r, dtype_kind d, size_t n, double tol, size_t *where)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double a = load(v, d, i), b = load(r, d, i);
        double err = fabs(a - b) / (tol * (1 + fabs(b)));
        if (!(err <= worst)) { /* also catches NaN */
            worst = isnan(err) ? INFINITY : err;
            *where = i;
        }
    }
    return worst;
}

int case_verify(const plan_case *c, const norm_args *a, const kern_exec *ex, double *max_err,
                dyt_err *e)
{
    const kern_entry *ref = kern_find(c->norm, c->pass, c->dtype, "ref");
    if (!ref)
        return dyt_errf(e, DYT_FAIL, "no ref variant for %s %s %s", norm_name(c->norm),
                        pass_name(c->pass), dtype_name(c->dtype));
    size_t rows = c->rows;
    if (rows * c->cols > VERIFY_MAX_ELEMS)
        rows = DYT_MAX((size_t)1, VERIFY_MAX_ELEMS / c->cols);
    size_t act = rows * c->cols * dtype_size(c->dtype), vec = c->cols * sizeof(float);
    size_t rowb = rows * sizeof(float);

    /* Outputs of both runs in fresh buffers, so the timed sets are not
     * touched and a variant that writes nothing cannot pass on ref's data. */
    norm_args va = *a, ra = *a;
    va.rows = ra.rows = rows;
    void *bufs[12] = {0};
    size_t nb = 0;
#define NEWBUF(sz) (bufs[nb] = dyt_alloc(sz), bufs[nb] ? memset(bufs[nb], 0xA5, sz) : NULL, bufs[nb++])
    int oom = 0;
    if (c->pass == PASS_FWD) {
        va.y = NEWBUF(act), ra.y = NEWBUF(act);
        va.mean = NEWBUF(rowb), ra.mean = NEWBUF(rowb);
        va.rstd = NEWBUF(rowb), ra.rstd = NEWBUF(rowb);
        oom = !va.y || !ra.y || !va.mean || !ra.mean || !va.rstd || !ra.rstd;
    } else {
        va.dx = NEWBUF(act), ra.dx = NEWBUF(act);
        va.dgamma = NEWBUF(vec), ra.dgamma = NEWBUF(vec);
        va.dbeta = NEWBUF(vec), ra.dbeta = NEWBUF(vec);
        va.dalpha = NEWBUF(4), ra.dalpha = NEWBUF(4);
        oom = !va.dx || !ra.dx || !va.dgamma || !ra.dgamma || !va.dbeta || !ra.dbeta ||
              !va.dalpha || !ra.dalpha;
    }
#undef NEWBUF
    int rc = DYT_OK;
    if (oom) {
        rc = dyt_errf(e, DYT_FAIL, "out of memory for verification buffers");
        goto out;
    }
    kern_exec none = {0};
    if (ref->fn(&ra, &none) != 0) {
        rc = dyt_errf(e, DYT_FAIL, "ref refused %zu x %zu", rows, c->cols);
        goto out;
    }
    if (kern_call(c->variant, &va, ex) != 0) {
        rc = dyt_errf(e, DYT_USAGE, "variant %s refused the shape %zu x %zu", c->variant->name,
                      rows, c->cols);
        goto out;
    }
    double tol = c->dtype == DTYPE_F32 ? 1e-4 : 1.0 / 128;
    double rtol = 1e-4 * sqrt((double)rows); /* fp32 reductions over rows */
    size_t at = 0;
    double worst = 0, w;
    const char *what = "";
#define CHECK(name, v, r, d, n, t)                                                             \
    do {                                                                                       \
        size_t i_ = 0;                                                                         \
        w = cmp(v, r, d, n, t, &i_);                                                           \
        if (!(w <= worst))                                                                     \
            worst = w, at = i_, what = name;                                                   \
    } while (0)
    if (c->pass == PASS_FWD) {
        CHECK("y", va.y, ra.y, c->dtype, rows * c->cols, tol);
        if (c->norm != NORM_DYT)
            CHECK("rstd", va.rstd, ra.rstd, DTYPE_F32, rows, 1e-4);
        if (c->norm == NORM_LAYERNORM)
            CHECK("mean", va.mean, ra.mean, DTYPE_F32, rows, 1e-4);
    } else {
        CHECK("dx", va.dx, ra.dx, c->dtype, rows * c->cols, tol);
        if (a->affine)
            CHECK("dgamma", va.dgamma, ra.dgamma, DTYPE_F32, c->cols, rtol);
        if ((c->norm == NORM_DYT && a->has_beta) || (c->norm == NORM_LAYERNORM && a->affine))
            CHECK("dbeta", va.dbeta, ra.dbeta, DTYPE_F32, c->cols, rtol);
        if (c->norm == NORM_DYT)
            CHECK("dalpha", va.dalpha, ra.dalpha, DTYPE_F32, 1, rtol * sqrt((double)c->cols));
    }
#undef CHECK
    *max_err = isfinite(worst) ? worst : 1e300;
    if (!(worst <= 1.0))
        rc = dyt_errf(e, DYT_FAIL, "wrong result vs ref: %s[%zu] error %.3g x tolerance (%zu x %zu)",
                      what, at, worst, rows, c->cols);
out:
    for (size_t i = 0; i < nb; i++)
        dyt_free(bufs[i]);
    return rc;
}
