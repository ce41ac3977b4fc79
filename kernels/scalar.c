/* The `scalar` variant: plain fp32 C, what a straightforward port of the
 * three norms would be, but numerically sound:
 *  - LayerNorm's mean and variance: a rough mean m0 first, then the
 *    corrected two-pass sums of d = x - m0 (exact for data near m0), so a
 *    row with mean 1e4 and unit spread keeps its digits; y is formed from
 *    (x - m0) - (mean - m0), never from a rounded 1e4 mean. No
 *    E[x^2] - E[x]^2.
 *  - tanh is computed here, without libm (the `libm` variant is the one
 *    that calls tanhf): an odd Taylor polynomial below 0.3, above it
 *    1 - 2/(e^{2|x|} + 1) with a Cody-Waite exp, and +-1 beyond 9.1 where
 *    tanh rounds to 1 in fp32. NaN in gives NaN out.
 *  - Cross-row reductions: fp32 partials per thread in row order, combined
 *    in thread order (portable.h), so results are deterministic.
 * Compiled for baseline x86-64 (no -m flags): this is the fallback every
 * machine runs. */
#include "dyt_rows.h"

#include <math.h>
#include <stdint.h>

/* e^y for y in [0, 18.2] (callers guarantee it): y = k ln2 + r, |r| <= ln2/2,
 * e^r by its degree-7 Taylor polynomial (truncation < 6e-9), 2^k by bits. */
static inline float scalar_exp_pos(float y)
{
    const float ln2_hi = 0.693145751953125f, ln2_lo = 1.42860682030941723212e-6f;
    float k = nearbyintf(y * 1.44269504088896341f);
    float r = (y - k * ln2_hi) - k * ln2_lo;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    uint32_t bits = (uint32_t)((int)k + 127) << 23;
    float s;
    memcpy(&s, &bits, 4);
    return p * s;
}

static inline float scalar_tanhf(float x)
{
    float a = fabsf(x);
    if (!(a < 9.1f))
        return isnan(x) ? x : copysignf(1.0f, x);
    if (a < 0.3f) {
        float x2 = x * x;
        float p = 21844.0f / 6081075;
        p = p * x2 - 1382.0f / 155925;
        p = p * x2 + 62.0f / 2835;
        p = p * x2 - 17.0f / 315;
        p = p * x2 + 2.0f / 15;
        p = p * x2 - 1.0f / 3;
        return x + x * x2 * p;
    }
    float t = 1.0f - 2.0f / (scalar_exp_pos(2.0f * a) + 1.0f);
    return copysignf(t, x);
}

DYT_ROWS_DEFINE(scalar, scalar_tanhf)

/* ---- LayerNorm ---------------------------------------------------------- */

static void ln_fwd_rows(const norm_args *a, size_t r0, size_t r1, void *part)
{
    (void)part;
    size_t C = a->cols;
    dtype_kind dt = a->dtype;
    const float *g = port_use_gamma(a, NORM_LAYERNORM) ? a->gamma : NULL;
    const float *b = port_use_beta(a, NORM_LAYERNORM) ? a->beta : NULL;
    for (size_t r = r0; r < r1; r++) {
        size_t o = r * C;
        /* Pass 1: a rough mean m0. Pass 2: sums of d = x - m0 (exact for x
         * near m0) and d^2; s1/C corrects m0 and s2 - s1^2/C is the
         * corrected two-pass sum of squares (Chan, Golub & LeVeque). */
        float m0 = 0, s1 = 0, s2 = 0;
        for (size_t j = 0; j < C; j++)
            m0 += port_ld(a->x, dt, o + j);
        m0 /= (float)C;
        for (size_t j = 0; j < C; j++) {
            float d = port_ld(a->x, dt, o + j) - m0;
            s1 += d;
            s2 += d * d;
        }
        float md = s1 / (float)C; /* mean - m0 */
        float v = s2 - s1 * md;
        if (!(v >= 0)) /* rounding; keeps NaN */
            v = v < 0 ? 0 : v;
        float rstd = 1.0f / sqrtf(v / (float)C + a->eps);
        if (a->mean)
            a->mean[r] = m0 + md;
        if (a->rstd)
            a->rstd[r] = rstd;
        for (size_t j = 0; j < C; j++) {
            float xh = ((port_ld(a->x, dt, o + j) - m0) - md) * rstd;
            port_st(a->y, dt, o + j, (g ? xh * g[j] : xh) + (b ? b[j] : 0.0f));
        }
    }
}

/* partial: dgamma[C], dbeta[C] */
static void ln_bwd_rows(const norm_args *a, size_t r0, size_t r1, void *part)
{
    size_t C = a->cols;
    dtype_kind dt = a->dtype;
    float *dg = part, *db = dg + C;
    const float *g = port_use_gamma(a, NORM_LAYERNORM) ? a->gamma : NULL;
    for (size_t r = r0; r < r1; r++) {
        size_t o = r * C;
        float mean = a->mean[r], rstd = a->rstd[r], m1 = 0, m2 = 0;
        for (size_t j = 0; j < C; j++) {
            float xh = (port_ld(a->x, dt, o + j) - mean) * rstd;
            float dxh = port_ld(a->dy, dt, o + j) * (g ? g[j] : 1.0f);
            m1 += dxh;
            m2 += dxh * xh;
        }
        m1 /= (float)C;
        m2 /= (float)C;
        for (size_t j = 0; j < C; j++) {
            float xh = (port_ld(a->x, dt, o + j) - mean) * rstd;
            float dy = port_ld(a->dy, dt, o + j), dxh = dy * (g ? g[j] : 1.0f);
            port_st(a->dx, dt, o + j, rstd * (dxh - m1 - xh * m2));
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
    dtype_kind dt = a->dtype;
    const float *g = port_use_gamma(a, NORM_RMSNORM) ? a->gamma : NULL;
    for (size_t r = r0; r < r1; r++) {
        size_t o = r * C;
        float ss = 0;
        for (size_t j = 0; j < C; j++) {
            float x = port_ld(a->x, dt, o + j);
            ss += x * x;
        }
        float rstd = 1.0f / sqrtf(ss / (float)C + a->eps);
        if (a->rstd)
            a->rstd[r] = rstd;
        for (size_t j = 0; j < C; j++) {
            float xh = port_ld(a->x, dt, o + j) * rstd;
            port_st(a->y, dt, o + j, g ? xh * g[j] : xh);
        }
    }
}

/* partial: dgamma[C] */
static void rms_bwd_rows(const norm_args *a, size_t r0, size_t r1, void *part)
{
    size_t C = a->cols;
    dtype_kind dt = a->dtype;
    float *dg = part;
    const float *g = port_use_gamma(a, NORM_RMSNORM) ? a->gamma : NULL;
    for (size_t r = r0; r < r1; r++) {
        size_t o = r * C;
        float rstd = a->rstd[r], m2 = 0;
        for (size_t j = 0; j < C; j++) {
            float xh = port_ld(a->x, dt, o + j) * rstd;
            m2 += port_ld(a->dy, dt, o + j) * (g ? g[j] : 1.0f) * xh;
        }
        m2 /= (float)C;
        for (size_t j = 0; j < C; j++) {
            float xh = port_ld(a->x, dt, o + j) * rstd, dy = port_ld(a->dy, dt, o + j);
            port_st(a->dx, dt, o + j, rstd * (dy * (g ? g[j] : 1.0f) - xh * m2));
            dg[j] += dy * xh;
        }
    }
}

static int scalar_ln_fwd(const norm_args *a, const kern_exec *ex)
{
    return port_forward(a, ex, NORM_LAYERNORM, ln_fwd_rows);
}

static int scalar_ln_bwd(const norm_args *a, const kern_exec *ex)
{
    if (port_check_args(a, NORM_LAYERNORM, PASS_BWD))
        return -1;
    size_t C = a->cols, bytes = 2 * C * sizeof(float);
    int n = port_run(a, ex, ln_bwd_rows, bytes);
    if (n < 0)
        return -1;
    if (a->affine) {
        port_combine_f32(port_pool(ex), n, bytes, 0, C, a->dgamma);
        port_combine_f32(port_pool(ex), n, bytes, C, C, a->dbeta);
    }
    return 0;
}

static int scalar_rms_fwd(const norm_args *a, const kern_exec *ex)
{
    return port_forward(a, ex, NORM_RMSNORM, rms_fwd_rows);
}

static int scalar_rms_bwd(const norm_args *a, const kern_exec *ex)
{
    if (port_check_args(a, NORM_RMSNORM, PASS_BWD))
        return -1;
    size_t C = a->cols, bytes = C * sizeof(float);
    int n = port_run(a, ex, rms_bwd_rows, bytes);
    if (n < 0)
        return -1;
    if (a->affine)
        port_combine_f32(port_pool(ex), n, bytes, 0, C, a->dgamma);
    return 0;
}

#define SC(norm, pass, dt, fn, note) {"scalar", norm, pass, dt, DEVICE_CPU, ISA_NONE, fn, note}
#define SC2(norm, pass, fn, what)                                                                  \
    SC(norm, pass, DTYPE_F32, fn, "plain C fp32, " what),                                          \
        SC(norm, pass, DTYPE_BF16, fn, "plain C fp32 math, bf16 storage, " what)

static const kern_entry scalar_variants[] = {
    SC2(NORM_DYT, PASS_FWD, scalar_dyt_fwd, "tanh by polynomial / exp in C (no libm)"),
    SC2(NORM_DYT, PASS_BWD, scalar_dyt_bwd, "tanh in C, fp32 row-order partials"),
    SC2(NORM_LAYERNORM, PASS_FWD, scalar_ln_fwd, "corrected two-pass mean/variance"),
    SC2(NORM_LAYERNORM, PASS_BWD, scalar_ln_bwd, "fp32 row-order partials"),
    SC2(NORM_RMSNORM, PASS_FWD, scalar_rms_fwd, "fp32 sum of squares"),
    SC2(NORM_RMSNORM, PASS_BWD, scalar_rms_bwd, "fp32 row-order partials"),
};
const kern_backend kern_backend_scalar = KERN_BACKEND_OF("scalar", scalar_variants);
