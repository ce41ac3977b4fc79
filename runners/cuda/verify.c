/* Verification of a GPU case before it is timed: the variant runs on the
 * case's first rows (rows x cols <= 2^20 elements) through
 * kern_cuda_run_host, the CPU `ref` (float64) on the same host inputs, and
 * every output is compared here (not through kernels/check.h, which the
 * CPU runner uses): error = |v - r| / (tol (1 + |r|)), pass when <= 1, and
 * the stored max_err is that ratio (err_tol 1, max_ulps not measured);
 * tol 1e-4 for fp32 storage,
 * 2^-7 for bf16 and 2^-9 for fp16 (a storage ulp and a half: fp32 math
 * against float64, and the eager variants' rounded intermediates).
 * Cross-row reductions get 1e-4 sqrt(rows), or the storage tol x
 * sqrt(rows) for 16-bit storage: the eager variants reduce products of
 * rounded intermediates, exactly as the framework code they copy does.
 * fp16 has no CPU ref: its inputs are widened (exactly) to fp32 and the
 * fp32 ref is the oracle. */
#include "cuda_internal.h"
#include "bf16.h"
#include "kern_cuda.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_MAX_ELEMS ((size_t)1 << 20)

static double ld(const void *p, dtype_kind d, size_t i)
{
    switch (d) {
    case DTYPE_F32: return ((const float *)p)[i];
    case DTYPE_BF16: return bf16_to_f32(((const bf16_t *)p)[i]);
    default: return f16_to_f32(((const uint16_t *)p)[i]);
    }
}

static double cmp(const void *v, dtype_kind dv, const void *r, dtype_kind dr, size_t n, double tol,
                  size_t *where)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double a = ld(v, dv, i), b = ld(r, dr, i);
        double err = fabs(a - b) / (tol * (1 + fabs(b)));
        if (!(err <= worst)) {
            worst = isnan(err) ? INFINITY : err;
            *where = i;
        }
    }
    return worst;
}

/* A float copy of n values of dtype d (fp16 -> fp32 widening is exact). */
static float *widen(const void *p, dtype_kind d, size_t n)
{
    float *f = malloc(n * sizeof *f);
    if (f)
        for (size_t i = 0; i < n; i++)
            f[i] = (float)ld(p, d, i);
    return f;
}

int gpu_case_verify(const plan_case *c, const gpu_case_buffers *b, runner_case_result *res,
                    dyt_err *e)
{
    dtype_kind od = c->dtype; /* the oracle's dtype */
    const kern_entry *ref = kern_find(c->norm, c->pass, c->dtype, "ref");
    if (!ref && c->dtype == DTYPE_F16) {
        ref = kern_find(c->norm, c->pass, DTYPE_F32, "ref");
        od = DTYPE_F32;
    }
    if (!ref)
        return dyt_errf(e, DYT_FAIL, "no ref variant for %s %s %s", norm_name(c->norm),
                        pass_name(c->pass), dtype_name(c->dtype));
    size_t rows = c->rows;
    if (rows * c->cols > VERIFY_MAX_ELEMS)
        rows = DYT_MAX((size_t)1, VERIFY_MAX_ELEMS / c->cols);
    size_t n = rows * c->cols, es = dtype_size(c->dtype), oes = dtype_size(od);
    size_t vec = c->cols * sizeof(float), rowb = rows * sizeof(float);

    norm_args va, ra;
    runner_case_args(c, &va);
    va.rows = rows;
    va.x = b->host_x;
    va.dy = b->host_dy;
    va.gamma = b->host_gamma;
    va.beta = b->host_beta;
    ra = va;
    ra.dtype = od;
    void *bufs[16] = {0};
    size_t nb = 0;
    int oom = 0;
#define NEWBUF(sz) (bufs[nb] = calloc(1, (sz)), oom |= !bufs[nb], bufs[nb++])
    if (od != c->dtype) {
        ra.x = bufs[nb++] = widen(b->host_x, c->dtype, n);
        oom |= !ra.x;
        if (b->host_dy) {
            ra.dy = bufs[nb++] = widen(b->host_dy, c->dtype, n);
            oom |= !ra.dy;
        }
    }
    if (c->pass == PASS_FWD) {
        va.y = NEWBUF(n * es), ra.y = NEWBUF(n * oes);
        va.mean = NEWBUF(rowb), ra.mean = NEWBUF(rowb);
        va.rstd = NEWBUF(rowb), ra.rstd = NEWBUF(rowb);
    } else {
        /* Both consume the statistics the fused forward saved. */
        va.mean = ra.mean = b->host_mean;
        va.rstd = ra.rstd = b->host_rstd;
        va.dx = NEWBUF(n * es), ra.dx = NEWBUF(n * oes);
        va.dgamma = NEWBUF(vec), ra.dgamma = NEWBUF(vec);
        va.dbeta = NEWBUF(vec), ra.dbeta = NEWBUF(vec);
        va.dalpha = NEWBUF(4), ra.dalpha = NEWBUF(4);
    }
#undef NEWBUF
    int rc = DYT_OK;
    char msg[512];
    if (oom) {
        rc = dyt_errf(e, DYT_FAIL, "out of memory for verification buffers");
        goto out;
    }
    kern_exec none = {0};
    if (ref->fn(&ra, &none) != 0) {
        rc = dyt_errf(e, DYT_FAIL, "ref refused %zu x %zu", rows, c->cols);
        goto out;
    }
    if (kern_cuda_run_host(c->variant, &va, msg, sizeof msg) != 0) {
        rc = dyt_errf(e, DYT_USAGE, "%s", msg);
        goto out;
    }
    double tol = c->dtype == DTYPE_F32 ? 1e-4 : c->dtype == DTYPE_BF16 ? 1.0 / 128 : 1.0 / 512;
    double rtol = (c->dtype == DTYPE_F32 ? 1e-4 : tol) * sqrt((double)rows);
    double worst = 0, w;
    size_t at = 0;
    const char *what = "";
#define CHECK(name, v, dv, r, dr, cnt, t)                                                      \
    do {                                                                                       \
        size_t i_ = 0;                                                                         \
        w = cmp(v, dv, r, dr, cnt, t, &i_);                                                    \
        if (!(w <= worst))                                                                     \
            worst = w, at = i_, what = name;                                                   \
    } while (0)
    if (c->pass == PASS_FWD) {
        CHECK("y", va.y, c->dtype, ra.y, od, n, tol);
        if (c->norm != NORM_DYT)
            CHECK("rstd", va.rstd, DTYPE_F32, ra.rstd, DTYPE_F32, rows, 1e-4);
        if (c->norm == NORM_LAYERNORM)
            CHECK("mean", va.mean, DTYPE_F32, ra.mean, DTYPE_F32, rows, 1e-4);
    } else {
        CHECK("dx", va.dx, c->dtype, ra.dx, od, n, tol);
        if (va.affine)
            CHECK("dgamma", va.dgamma, DTYPE_F32, ra.dgamma, DTYPE_F32, c->cols, rtol);
        if ((c->norm == NORM_DYT && va.has_beta) || (c->norm == NORM_LAYERNORM && va.affine))
            CHECK("dbeta", va.dbeta, DTYPE_F32, ra.dbeta, DTYPE_F32, c->cols, rtol);
        if (c->norm == NORM_DYT)
            CHECK("dalpha", va.dalpha, DTYPE_F32, ra.dalpha, DTYPE_F32, 1,
                  rtol * sqrt((double)c->cols));
    }
#undef CHECK
    /* max_err is the ratio to the tolerance, so the bound is 1; no ulps here. */
    runner_result_accuracy(res, worst, what, 1.0, -1);
    if (!(worst <= 1.0))
        rc = dyt_errf(e, DYT_FAIL, "wrong result vs ref: %s[%zu] error %.3g x tolerance (%zu x %zu)",
                      what, at, worst, rows, c->cols);
out:
    for (size_t i = 0; i < nb; i++)
        free(bufs[i]);
    return rc;
}
