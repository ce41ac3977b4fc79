/* The `ref` variant: the oracle every other variant is checked against.
 * Plain C, every quantity in float64: tanh and sech^2 from libm's double
 * functions, row mean and variance by two passes (no E[x^2] - E[x]^2
 * cancellation), cross-row reductions in double partials. Results are
 * rounded once at the end: to fp32, or for bf16 storage straight from the
 * double to the nearest bf16 (ties to even) with no intermediate fp32
 * rounding, so the oracle itself is not double-rounded.
 *
 * Backward does not read the fp32 mean/rstd that forward saved: it
 * recomputes them from x in double (ref_row_stats), so the oracle answers
 * the exact problem end to end. The fast variants must read the fp32
 * statistics (the contract); what that costs them on rows whose mean is
 * large next to their spread is part of the bound they are held to
 * (check_model.c, docs/kernels.md). */
#include "ref.h"
#include "portable.h"

#include <math.h>

static double ld(const void *p, dtype_kind d, size_t i) { return port_ld(p, d, i); }

/* double -> bf16, round to nearest, ties to even, in one rounding. The fp32
 * rounding of v lands within one bf16 step of the answer; the neighbours
 * are compared exactly in double. */
static bf16_t ref_double_to_bf16(double v)
{
    float f = (float)v;
    bf16_t b = f32_to_bf16(f);
    if (isnan(v) || isinf(v) || (b & 0x7fffu) >= 0x7f80u)
        return b;
    bf16_t sign = (bf16_t)(signbit(v) ? 0x8000u : 0);
    double mag = fabs(v);
    unsigned m = b & 0x7fffu, best = m;
    double best_d = fabs(bf16_to_f32((bf16_t)m) - mag);
    for (int k = -1; k <= 1; k += 2) {
        if ((k < 0 && m == 0) || (k > 0 && m + 1 >= 0x7f80u))
            continue;
        unsigned c = m + (unsigned)k;
        double dd = fabs(bf16_to_f32((bf16_t)c) - mag);
        if (dd < best_d || (dd == best_d && (c & 1u) == 0)) {
            best = c;
            best_d = dd;
        }
    }
    return (bf16_t)(sign | best);
}

static void st(void *p, dtype_kind d, size_t i, double v)
{
    if (d == DTYPE_F32)
        ((float *)p)[i] = (float)v;
    else
        ((bf16_t *)p)[i] = ref_double_to_bf16(v);
}

static double gam(const norm_args *a, norm_kind n, size_t j)
{
    return port_use_gamma(a, n) ? a->gamma[j] : 1.0;
}

static double bet(const norm_args *a, norm_kind n, size_t j)
{
    return port_use_beta(a, n) ? a->beta[j] : 0.0;
}

/* d/du tanh(u) = sech^2(u), computed without the 1 - tanh^2 cancellation. */
static double sech2(double u)
{
    double c = cosh(u);
    return 1.0 / (c * c);
}

/* ---- DyT ---------------------------------------------------------------- */

static void dyt_fwd_rows(const norm_args *a, size_t r0, size_t r1, void *part)
{
    (void)part;
    size_t C = a->cols;
    double al = a->alpha;
    for (size_t r = r0; r < r1; r++)
        for (size_t j = 0; j < C; j++) {
            size_t i = r * C + j;
            st(a->y, a->dtype, i, gam(a, NORM_DYT, j) * tanh(al * ld(a->x, a->dtype, i)) +
                                      bet(a, NORM_DYT, j));
        }
}

/* partial: dgamma[C], dbeta[C], dalpha[1] */
static void dyt_bwd_rows(const norm_args *a, size_t r0, size_t r1, void *part)
{
    size_t C = a->cols;
    double *dg = part, *db = dg + C, *da = db + C;
    double al = a->alpha;
    for (size_t r = r0; r < r1; r++)
        for (size_t j = 0; j < C; j++) {
            size_t i = r * C + j;
            double x = ld(a->x, a->dtype, i), dy = ld(a->dy, a->dtype, i);
            double g = gam(a, NORM_DYT, j), u = al * x, t = tanh(u), s = sech2(u);
            st(a->dx, a->dtype, i, dy * g * al * s);
            dg[j] += dy * t;
            db[j] += dy;
            *da += dy * g * x * s;
        }
}

/* ---- row statistics --------------------------------------------------------- */

/* The row of x that starts at element o. */
static const void *row_x(const norm_args *a, size_t o)
{
    return (const char *)a->x + o * dtype_size(a->dtype);
}

void ref_row_stats(norm_kind n, const void *x, dtype_kind d, size_t cols, double eps, double *mean,
                   double *rstd)
{
    double s = 0, v = 0;
    if (n == NORM_RMSNORM) {
        for (size_t j = 0; j < cols; j++) {
            double t = ld(x, d, j);
            v += t * t;
        }
        *mean = 0;
        *rstd = 1.0 / sqrt(v / (double)cols + eps);
        return;
    }
    for (size_t j = 0; j < cols; j++)
        s += ld(x, d, j);
    double m = s / (double)cols;
    for (size_t j = 0; j < cols; j++) {
        double t = ld(x, d, j) - m;
        v += t * t;
    }
    *mean = m;
    *rstd = 1.0 / sqrt(v / (double)cols + eps);
}

/* ---- LayerNorm ------------------------------------------------------------ */

static void ln_fwd_rows(const norm_args *a, size_t r0, size_t r1, void *part)
{
    (void)part;
    size_t C = a->cols;
    for (size_t r = r0; r < r1; r++) {
        size_t o = r * C;
        double mean, rstd;
        ref_row_stats(NORM_LAYERNORM, row_x(a, o), a->dtype, C, a->eps, &mean, &rstd);
        if (a->mean)
            a->mean[r] = (float)mean;
        if (a->rstd)
            a->rstd[r] = (float)rstd;
        for (size_t j = 0; j < C; j++) {
            double xh = (ld(a->x, a->dtype, o + j) - mean) * rstd;
            st(a->y, a->dtype, o + j,
               xh * gam(a, NORM_LAYERNORM, j) + bet(a, NORM_LAYERNORM, j));
        }
    }
}

/* partial: dgamma[C], dbeta[C] */
static void ln_bwd_rows(const norm_args *a, size_t r0, size_t r1, void *part)
{
    size_t C = a->cols;
    double *dg = part, *db = dg + C;
    for (size_t r = r0; r < r1; r++) {
        size_t o = r * C;
        double mean, rstd, m1 = 0, m2 = 0;
        ref_row_stats(NORM_LAYERNORM, row_x(a, o), a->dtype, C, a->eps, &mean, &rstd);
        for (size_t j = 0; j < C; j++) {
            double xh = (ld(a->x, a->dtype, o + j) - mean) * rstd;
            double dxh = ld(a->dy, a->dtype, o + j) * gam(a, NORM_LAYERNORM, j);
            m1 += dxh;
            m2 += dxh * xh;
        }
        m1 /= (double)C;
        m2 /= (double)C;
        for (size_t j = 0; j < C; j++) {
            double xh = (ld(a->x, a->dtype, o + j) - mean) * rstd;
            double dy = ld(a->dy, a->dtype, o + j), dxh = dy * gam(a, NORM_LAYERNORM, j);
            st(a->dx, a->dtype, o + j, rstd * (dxh - m1 - xh * m2));
            dg[j] += dy * xh;
            db[j] += dy;
        }
    }
}

/* ---- RMSNorm -------------------------------------------------------------- */

static void rms_fwd_rows(const norm_args *a, size_t r0, size_t r1, void *part)
{
    (void)part;
    size_t C = a->cols;
    for (size_t r = r0; r < r1; r++) {
        size_t o = r * C;
        double mean, rstd;
        ref_row_stats(NORM_RMSNORM, row_x(a, o), a->dtype, C, a->eps, &mean, &rstd);
        if (a->rstd)
            a->rstd[r] = (float)rstd;
        for (size_t j = 0; j < C; j++)
            st(a->y, a->dtype, o + j,
               ld(a->x, a->dtype, o + j) * rstd * gam(a, NORM_RMSNORM, j));
    }
}

/* partial: dgamma[C] */
static void rms_bwd_rows(const norm_args *a, size_t r0, size_t r1, void *part)
{
    size_t C = a->cols;
    double *dg = part;
    for (size_t r = r0; r < r1; r++) {
        size_t o = r * C;
        double mean, rstd, m2 = 0;
        ref_row_stats(NORM_RMSNORM, row_x(a, o), a->dtype, C, a->eps, &mean, &rstd);
        for (size_t j = 0; j < C; j++) {
            double xh = ld(a->x, a->dtype, o + j) * rstd;
            m2 += ld(a->dy, a->dtype, o + j) * gam(a, NORM_RMSNORM, j) * xh;
        }
        m2 /= (double)C;
        for (size_t j = 0; j < C; j++) {
            double xh = ld(a->x, a->dtype, o + j) * rstd;
            double dy = ld(a->dy, a->dtype, o + j);
            st(a->dx, a->dtype, o + j, rstd * (dy * gam(a, NORM_RMSNORM, j) - xh * m2));
            dg[j] += dy * xh;
        }
    }
}

/* ---- entry points ------------------------------------------------------------ */

/* Adds the n partials (doubles, stride len) in thread order and stores the
 * first `len` sums as fp32 into out (NULL: dropped). */
static void combine(kern_pool *pool, int n, size_t bytes, size_t off, size_t len, float *out)
{
    if (!out)
        return;
    for (size_t j = 0; j < len; j++) {
        double s = 0;
        for (int t = 0; t < n; t++)
            s += ((const double *)kern_pool_scratch(pool, t, bytes))[off + j];
        out[j] = (float)s;
    }
}

static int ref_dyt_fwd(const norm_args *a, const kern_exec *ex)
{
    if (port_check_args(a, NORM_DYT, PASS_FWD))
        return -1;
    return port_run(a, ex, dyt_fwd_rows, 0) < 0 ? -1 : 0;
}

static int ref_dyt_bwd(const norm_args *a, const kern_exec *ex)
{
    if (port_check_args(a, NORM_DYT, PASS_BWD))
        return -1;
    size_t C = a->cols, bytes = (2 * C + 1) * sizeof(double);
    int n = port_run(a, ex, dyt_bwd_rows, bytes);
    if (n < 0)
        return -1;
    kern_pool *pool = port_pool(ex);
    combine(pool, n, bytes, 0, C, a->dgamma);
    if (a->has_beta)
        combine(pool, n, bytes, C, C, a->dbeta);
    combine(pool, n, bytes, 2 * C, 1, a->dalpha);
    return 0;
}

static int ref_ln_fwd(const norm_args *a, const kern_exec *ex)
{
    if (port_check_args(a, NORM_LAYERNORM, PASS_FWD))
        return -1;
    return port_run(a, ex, ln_fwd_rows, 0) < 0 ? -1 : 0;
}

static int ref_ln_bwd(const norm_args *a, const kern_exec *ex)
{
    if (port_check_args(a, NORM_LAYERNORM, PASS_BWD))
        return -1;
    size_t C = a->cols, bytes = 2 * C * sizeof(double);
    int n = port_run(a, ex, ln_bwd_rows, bytes);
    if (n < 0)
        return -1;
    if (a->affine) {
        combine(port_pool(ex), n, bytes, 0, C, a->dgamma);
        combine(port_pool(ex), n, bytes, C, C, a->dbeta);
    }
    return 0;
}

static int ref_rms_fwd(const norm_args *a, const kern_exec *ex)
{
    if (port_check_args(a, NORM_RMSNORM, PASS_FWD))
        return -1;
    return port_run(a, ex, rms_fwd_rows, 0) < 0 ? -1 : 0;
}

static int ref_rms_bwd(const norm_args *a, const kern_exec *ex)
{
    if (port_check_args(a, NORM_RMSNORM, PASS_BWD))
        return -1;
    size_t C = a->cols, bytes = C * sizeof(double);
    int n = port_run(a, ex, rms_bwd_rows, bytes);
    if (n < 0)
        return -1;
    if (a->affine)
        combine(port_pool(ex), n, bytes, 0, C, a->dgamma);
    return 0;
}

#define REF(norm, pass, dt, fn, note)                                                              \
    {"ref", norm, pass, dt, DEVICE_CPU, ISA_NONE, fn, note}
#define REF2(norm, pass, fn, what)                                                                 \
    REF(norm, pass, DTYPE_F32, fn, "oracle: plain C, float64 math, " what),                        \
        REF(norm, pass, DTYPE_BF16, fn, "oracle: plain C, float64 math, bf16 RNE once, " what)

static const kern_entry ref_variants[] = {
    REF2(NORM_DYT, PASS_FWD, ref_dyt_fwd, "tanh from libm (double)"),
    REF2(NORM_DYT, PASS_BWD, ref_dyt_bwd, "sech^2 via cosh, double partials"),
    REF2(NORM_LAYERNORM, PASS_FWD, ref_ln_fwd, "two-pass mean/variance"),
    REF2(NORM_LAYERNORM, PASS_BWD, ref_ln_bwd, "double partials"),
    REF2(NORM_RMSNORM, PASS_FWD, ref_rms_fwd, "sum of squares in double"),
    REF2(NORM_RMSNORM, PASS_BWD, ref_rms_bwd, "double partials"),
};
const kern_backend kern_backend_ref = KERN_BACKEND_OF("ref", ref_variants);
