/* Forward passes of DyT, LayerNorm and RMSNorm, written once against the
 * vector layer (simd_*.h) and instantiated per ISA and storage mode.
 *
 *  - DyT: one fused pass, y = gamma * tanh(alpha * x) [+ beta].
 *  - LayerNorm: per ROW_CHUNK chunk, a sum (from memory) then the corrected
 *    two-pass sums of (x - m_c) and (x - m_c)^2 (from L1); chunks merged with
 *    Chan's formula in double. No E[x^2] - E[x]^2 cancellation: a row with
 *    mean 1e4 and unit spread keeps full precision. The mean is applied as
 *    a hi + lo pair so y = (x - mean) is not limited by fp32 rounding of a
 *    large mean. The output pass re-reads the row from L1/L2.
 *  - RMSNorm: sum of squares per chunk (fp32 lanes, double across chunks),
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

/* Mean and M2 = sum (x - mean)^2 of one row, stably (see the file note). */
AI void ln_row_stats(const void *x, size_t base, size_t C, int mode, double *mean_out,
                     double *m2_out)
{
    double cnt = 0, mean = 0, m2 = 0;
    for (size_t c0 = 0; c0 < C; c0 += ROW_CHUNK) {
        size_t cn = C - c0 < ROW_CHUNK ? C - c0 : ROW_CHUNK;
        vf s = v_zero();
#define STEP(j, n) s = v_add(s, ld_act(x, base + c0 + (j), n, mode));
        ROW_LOOP(cn, 0, STEP);
#undef STEP
        const float mc = v_hsum(s) / (float)cn;
        const vf mv = v_set(mc);
        vf s1 = v_zero(), s2 = v_zero();
#define STEP(j, n)                                                                                 \
    {                                                                                              \
        vf d_ = v_keep(v_sub(ld_act(x, base + c0 + (j), n, mode), mv), n);                         \
        s1 = v_add(s1, d_);                                                                        \
        s2 = v_fma(d_, d_, s2);                                                                    \
    }
        ROW_LOOP(cn, 0, STEP);
#undef STEP
        /* corrected two-pass: the residual sum fixes the rounding of mc */
        double r1 = v_hsum(s1), nb = (double)cn;
        double mb = (double)mc + r1 / nb, m2b = (double)v_hsum(s2) - r1 * r1 / nb;
        if (cnt == 0) {
            mean = mb, m2 = m2b, cnt = nb;
        } else {
            double tot = cnt + nb, delta = mb - mean;
            mean += delta * nb / tot;
            m2 += m2b + delta * delta * cnt * nb / tot;
            cnt = tot;
        }
    }
    *mean_out = mean;
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
        vf s = v_zero();
#define STEP(j, n)                                                                                 \
    {                                                                                              \
        vf x_ = ld_act(x, base + c0 + (j), n, mode);                                               \
        s = v_fma(x_, x_, s);                                                                      \
    }
        ROW_LOOP(cn, 0, STEP);
#undef STEP
        ss += v_hsum(s);
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
