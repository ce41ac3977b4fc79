/* Forward passes of DyT, LayerNorm and RMSNorm, written once against the
 * vector layer (simd_*.h) and instantiated per ISA and storage mode.
 *
 *  - DyT: one fused pass, y = gamma * tanh(alpha * x) [+ beta].
 *  - LayerNorm: a shifted two-pass (ln_row_stats): the row's sum (from
 *    memory), then the sums of d = x - m and d^2 with m the fp32 mean
 *    (from L1/L2), corrected for the rounding of m. No E[x^2] - E[x]^2
 *    cancellation: a row with mean 1e4 and unit spread keeps full
 *    precision. Sums use four fp32 chains folded into double per
 *    ROW_CHUNK (norm_common.h). The mean is applied as
 *    a hi + lo pair so y = (x - mean) is not limited by fp32 rounding of a
 *    large mean. The output pass re-reads the row from L1/L2.
 *  - RMSNorm: sum of squares (four fp32 chains, double across chunks),
 *    then y = x * rstd [* gamma].
 * Statistics (mean, rstd) are fp32 as kernels.h says. */
#pragma once
#include <math.h>
#include "x86/norm_common.h"

AI void dyt_fwd_rows_t(const kx_ctx *k, size_t r0, size_t r1, int mode, int beta)
{
    const norm_args *a = k->a;
    const size_t C = a->cols;
    const vf al = v_set(a->alpha);
    for (size_t r = r0; r < r1; r++) {
        size_t base = r * C;
        int nt = k->nt;
        size_t head = row_head(a->y, base, mode, &nt);
#define STEP(j, n)                                                                                 \
    {                                                                                              \
        if (nt)                                                                                    \
            pf_act(a->x, base + (j), mode);                                                        \
        vf t_ = v_tanh(v_mul(al, ld_act(a->x, base + (j), n, mode)));                              \
        vf g_ = v_ld_f32(a->gamma + (j), n);                                                       \
        vf o_ = beta ? v_fma(g_, t_, v_ld_f32(a->beta + (j), n)) : v_mul(g_, t_);                  \
        st_act(a->y, base + (j), o_, n, mode, nt);                                                 \
    }
        ROW_LOOP(C, head, STEP);
#undef STEP
    }
}

AI void dyt_fwd_rows(const kx_ctx *k, double *part, size_t r0, size_t r1, int mode)
{
    (void)part;
    if (k->a->has_beta && k->a->beta)
        dyt_fwd_rows_t(k, r0, r1, mode, 1);
    else
        dyt_fwd_rows_t(k, r0, r1, mode, 0);
}

/* Sum of one row: RED_LOOP's four fp32 chains, folded into a double
 * every ROW_CHUNK elements. */
AI double row_sum(const void *x, size_t base, size_t C, int mode)
{
    double sum = 0;
    for (size_t c0 = 0; c0 < C; c0 += ROW_CHUNK) {
        size_t cn = C - c0 < ROW_CHUNK ? C - c0 : ROW_CHUNK;
        vf s[4] = {v_zero(), v_zero(), v_zero(), v_zero()};
#define RED(j, n, q) s[q] = v_add(s[q], ld_act(x, base + c0 + (j), n, mode))
        RED_LOOP(cn, RED);
#undef RED
        sum += v_fold4(s);
    }
    return sum;
}

/* Mean and M2 = sum (x - mean)^2 of one row, stably: a shifted two-pass.
 * Pass 1 (from memory) gives the mean m rounded to fp32; pass 2 (the row
 * is now in L1/L2) sums d = x - m and d^2, and the corrected two-pass
 * formulas mean = m + S1/C, M2 = S2 - S1^2/C remove the error of m. With
 * the shift, d is of the size of the spread, not of the mean, so a row
 * with mean 1e4 and unit spread keeps full precision. */
AI void ln_row_stats(const void *x, size_t base, size_t C, int mode, double *mean_out,
                     double *m2_out)
{
    const float m = (float)(row_sum(x, base, C, mode) / (double)C);
    const vf mv = v_set(m);
    double t1 = 0, t2 = 0;
    for (size_t c0 = 0; c0 < C; c0 += ROW_CHUNK) {
        size_t cn = C - c0 < ROW_CHUNK ? C - c0 : ROW_CHUNK;
        vf s1[4] = {v_zero(), v_zero(), v_zero(), v_zero()};
        vf s2[4] = {v_zero(), v_zero(), v_zero(), v_zero()};
#define RED(j, n, q)                                                                               \
    {                                                                                              \
        vf d_ = v_sub(ld_act(x, base + c0 + (j), n, mode), mv);                                    \
        if ((n) != VL)                                                                             \
            d_ = v_keep(d_, n);                                                                    \
        s1[q] = v_add(s1[q], d_);                                                                  \
        s2[q] = v_fma(d_, d_, s2[q]);                                                              \
    }
        RED_LOOP(cn, RED);
#undef RED
        t1 += v_fold4(s1);
        t2 += v_fold4(s2);
    }
    const double nb = (double)C;
    const double m2 = t2 - t1 * t1 / nb;
    *mean_out = (double)m + t1 / nb;
    *m2_out = m2 < 0 ? 0 : m2; /* NaN stays NaN */
}

AI void ln_fwd_rows_t(const kx_ctx *k, size_t r0, size_t r1, int mode, int affine)
{
    const norm_args *a = k->a;
    const size_t C = a->cols;
    for (size_t r = r0; r < r1; r++) {
        size_t base = r * C;
        double mean, m2;
        ln_row_stats(a->x, base, C, mode, &mean, &m2);
        float rs = (float)(1.0 / sqrt(m2 / (double)C + (double)a->eps));
        float mh = (float)mean, ml = (float)(mean - (double)mh);
        if (a->mean)
            a->mean[r] = mh;
        if (a->rstd)
            a->rstd[r] = rs;
        const vf vmh = v_set(mh), vml = v_set(ml), vrs = v_set(rs);
        int nt = k->nt;
        size_t head = row_head(a->y, base, mode, &nt);
#define STEP(j, n)                                                                                 \
    {                                                                                              \
        if (nt)                                                                                    \
            pf_row(a->x, base + C + (j), mode);                                                    \
        vf xh_ = v_mul(v_sub(v_sub(ld_act(a->x, base + (j), n, mode), vmh), vml), vrs);            \
        vf o_ = affine ? v_fma(xh_, v_ld_f32(a->gamma + (j), n), v_ld_f32(a->beta + (j), n)) : xh_; \
        st_act(a->y, base + (j), o_, n, mode, nt);                                                 \
    }
        ROW_LOOP(C, head, STEP);
#undef STEP
    }
}

AI void ln_fwd_rows(const kx_ctx *k, double *part, size_t r0, size_t r1, int mode)
{
    (void)part;
    if (k->a->affine)
        ln_fwd_rows_t(k, r0, r1, mode, 1);
    else
        ln_fwd_rows_t(k, r0, r1, mode, 0);
}

AI double row_sumsq(const void *x, size_t base, size_t C, int mode)
{
    double ss = 0;
    for (size_t c0 = 0; c0 < C; c0 += ROW_CHUNK) {
        size_t cn = C - c0 < ROW_CHUNK ? C - c0 : ROW_CHUNK;
        vf s[4] = {v_zero(), v_zero(), v_zero(), v_zero()};
#define RED(j, n, q)                                                                               \
    {                                                                                              \
        vf x_ = ld_act(x, base + c0 + (j), n, mode);                                               \
        s[q] = v_fma(x_, x_, s[q]);                                                                \
    }
        RED_LOOP(cn, RED);
#undef RED
        ss += v_fold4(s);
    }
    return ss;
}

AI void rms_fwd_rows_t(const kx_ctx *k, size_t r0, size_t r1, int mode, int affine)
{
    const norm_args *a = k->a;
    const size_t C = a->cols;
    for (size_t r = r0; r < r1; r++) {
        size_t base = r * C;
        double ss = row_sumsq(a->x, base, C, mode);
        float rs = (float)(1.0 / sqrt(ss / (double)C + (double)a->eps));
        if (a->rstd)
            a->rstd[r] = rs;
        const vf vrs = v_set(rs);
        int nt = k->nt;
        size_t head = row_head(a->y, base, mode, &nt);
#define STEP(j, n)                                                                                 \
    {                                                                                              \
        if (nt)                                                                                    \
            pf_row(a->x, base + C + (j), mode);                                                    \
        vf xh_ = v_mul(ld_act(a->x, base + (j), n, mode), vrs);                                    \
        vf o_ = affine ? v_mul(xh_, v_ld_f32(a->gamma + (j), n)) : xh_;                            \
        st_act(a->y, base + (j), o_, n, mode, nt);                                                 \
    }
        ROW_LOOP(C, head, STEP);
#undef STEP
    }
}

AI void rms_fwd_rows(const kx_ctx *k, double *part, size_t r0, size_t r1, int mode)
{
    (void)part;
    if (k->a->affine && k->a->gamma)
        rms_fwd_rows_t(k, r0, r1, mode, 1);
    else
        rms_fwd_rows_t(k, r0, r1, mode, 0);
}
