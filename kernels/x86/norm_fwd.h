/* Forward passes of DyT, LayerNorm and RMSNorm, written once against the
 * vector layer (simd_*.h) and instantiated per ISA and storage mode.
 *
 *  - DyT: one fused pass, y = gamma * tanh(alpha * x) [+ beta].
 *  - LayerNorm: per chunk of columns a shifted two-pass (ln_chunk_moments):
 *    the chunk's sum, then the sums of d = x - m and d^2 with m its fp32
 *    mean (from L1), corrected for the rounding of m; the chunks' moments
 *    are added in double (kx_add_chunk). No E[x^2] - E[x]^2 cancellation:
 *    a row with mean 1e4 and unit spread keeps full precision. The mean is
 *    applied as a hi + lo pair so y = (x - mean) is not limited by fp32
 *    rounding of a large mean. The output pass re-reads the row from L1/L2.
 *  - RMSNorm: sum of squares per chunk, in double across chunks, then
 *    y = x * rstd [* gamma].
 * Sums use four fp32 chains (RED_LOOP). At DRAM sizes LayerNorm (fp32) and
 * RMSNorm go through the blocked row pipeline (KX_STREAM, norm_stream.h).
 * Statistics (mean, rstd) are fp32 as kernels.h says. */
#pragma once
#include "x86/norm_common.h"
#include <math.h>

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
        vf t_ = kx_tanh_of(v_mul(al, ld_act(a->x, base + (j), n, mode)), mode);                    \
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

/* Moments of columns [off, off + n) (n <= ROW_CHUNK) added into acc,
 * stably: a shifted two-pass over the chunk. Pass 1 gives the chunk's
 * mean m rounded to fp32; pass 2 (the chunk is now in L1) sums d = x - m
 * and d^2, and the corrected two-pass formulas mean = m + S1/n,
 * M2 = S2 - S1^2/n remove the error of m. With the shift, d is of the size
 * of the spread, not of the mean, so a row with mean 1e4 and unit spread
 * keeps full precision. pf: prefetch the stream ahead (DRAM path). */
AI void ln_chunk_moments(const void *x, size_t off, size_t n, int mode, int pf, kx_moments *acc)
{
    vf s[4] = {v_zero(), v_zero(), v_zero(), v_zero()};
#define RED(j, nv, q)                                                                              \
    {                                                                                              \
        if (pf)                                                                                    \
            pf_act(x, off + (j), mode);                                                            \
        s[q] = v_add(s[q], ld_act(x, off + (j), nv, mode));                                        \
    }
    RED_LOOP(n, RED);
#undef RED
    const double nb = (double)n;
    const double inv = n == ROW_CHUNK      ? 1.0 / ROW_CHUNK
                       : n == STREAM_CHUNK ? 1.0 / STREAM_CHUNK
                                           : 1.0 / nb;
    const float m = (float)(v_fold4(s) * inv);
    const vf mv = v_set(m);
    vf s1[4] = {v_zero(), v_zero(), v_zero(), v_zero()};
    vf s2[4] = {v_zero(), v_zero(), v_zero(), v_zero()};
#define RED(j, nv, q)                                                                              \
    {                                                                                              \
        vf d_ = v_sub(ld_act(x, off + (j), nv, mode), mv);                                         \
        if ((nv) != VL)                                                                            \
            d_ = v_keep(d_, nv);                                                                   \
        s1[q] = v_add(s1[q], d_);                                                                  \
        s2[q] = v_fma(d_, d_, s2[q]);                                                              \
    }
    RED_LOOP(n, RED);
#undef RED
    const double t1 = v_fold4(s1), t2 = v_fold4(s2);
    kx_add_chunk(acc, nb, (double)m + t1 * inv, t2 - t1 * t1 * inv);
}

/* What a row's LayerNorm output needs: its mean as a hi + lo pair (so
 * x - mean is not limited by the fp32 rounding of a large mean) and rstd;
 * mean and rstd are saved as the contract says. */
typedef struct {
    float mh, ml, rs;
} ln_coef;

AI ln_coef ln_finish_row(const norm_args *a, size_t r, const kx_moments *m, double inv_cols)
{
    double mean, m2;
    kx_moments_of(m, inv_cols, &mean, &m2);
    ln_coef c;
    c.rs = (float)(1.0 / sqrt(m2 * inv_cols + (double)a->eps));
    c.mh = (float)mean;
    c.ml = (float)(mean - (double)c.mh);
    if (a->mean)
        a->mean[r] = c.mh;
    if (a->rstd)
        a->rstd[r] = c.rs;
    return c;
}

/* y over columns [c0, c1) of row r. */
AI void ln_fwd_piece(const kx_ctx *k, size_t r, size_t c0, size_t c1, ln_coef cf, size_t pfo,
                     int mode, int affine)
{
    const norm_args *a = k->a;
    const size_t base = r * a->cols;
    const vf vmh = v_set(cf.mh), vml = v_set(cf.ml), vrs = v_set(cf.rs);
    int nt = k->nt;
    size_t head = row_head(a->y, base + c0, mode, &nt);
#define STEP(j, n)                                                                                 \
    {                                                                                              \
        if (pfo != KX_NO_PF)                                                                       \
            pf_act(a->x, pfo + (j)-c0, mode);                                                      \
        vf xh_ = v_mul(v_sub(v_sub(ld_act(a->x, base + (j), n, mode), vmh), vml), vrs);            \
        vf o_ =                                                                                    \
            affine ? v_fma(xh_, v_ld_f32(a->gamma + (j), n), v_ld_f32(a->beta + (j), n)) : xh_;    \
        st_act(a->y, base + (j), o_, n, mode, nt);                                                 \
    }
    SPAN_LOOP(c0, c1, head, STEP);
#undef STEP
}

/* KX_STREAM's hooks in ln_fwd_rows_t (they name its locals). */
#define LN_FWD_STATS(slot, row, col, n, pf)                                                        \
    {                                                                                              \
        if ((col) == 0)                                                                            \
            mom[slot] = (kx_moments){0, 0, 0, 0, 0};                                               \
        ln_chunk_moments(a->x, (row)*C + (col), n, mode, pf, &mom[slot]);                          \
    }
#define LN_FWD_FINISH(slot, row) cf[slot] = ln_finish_row(a, row, &mom[slot], inv_cols)
#define LN_FWD_PIECE(slot, row, c0, c1, pfo)                                                       \
    ln_fwd_piece(k, row, c0, c1, cf[slot], pfo, mode, affine)

AI void ln_fwd_rows_t(const kx_ctx *k, size_t r0, size_t r1, int mode, int affine)
{
    const norm_args *a = k->a;
    const size_t C = a->cols;
    const double inv_cols = 1.0 / (double)C;
    /* bf16 is bound by instructions at DRAM sizes (~0.6 cycles per element
     * against the ~0.37 of 90% of copy on the build VM): there the
     * streaming path's shorter chunks cost more than its overlap gains,
     * so bf16 keeps the row path, its first pass prefetched. */
    if (k->nt && mode == M_F32) {
        const size_t RB = kx_block_rows(C, 4);
        kx_moments mom[2 * KX_BLOCK_MAX];
        ln_coef cf[2 * KX_BLOCK_MAX];
        KX_STREAM(r0, r1, C, RB, LN_FWD_STATS, LN_FWD_FINISH, LN_FWD_PIECE, KX_NO_COLUMN_DONE);
        return;
    }
    for (size_t r = r0; r < r1; r++) {
        kx_moments m = {0, 0, 0, 0, 0};
        for (size_t c0 = 0; c0 < C; c0 += ROW_CHUNK)
            ln_chunk_moments(a->x, r * C + c0, DYT_MIN((size_t)ROW_CHUNK, C - c0), mode, k->nt, &m);
        ln_fwd_piece(k, r, 0, C, ln_finish_row(a, r, &m, inv_cols), KX_NO_PF, mode, affine);
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

/* Sum of squares of columns [off, off + n), in double from four fp32
 * chains. */
AI double chunk_sumsq(const void *x, size_t off, size_t n, int mode, int pf)
{
    vf s[4] = {v_zero(), v_zero(), v_zero(), v_zero()};
#define RED(j, nv, q)                                                                              \
    {                                                                                              \
        if (pf)                                                                                    \
            pf_act(x, off + (j), mode);                                                            \
        vf x_ = ld_act(x, off + (j), nv, mode);                                                    \
        s[q] = v_fma(x_, x_, s[q]);                                                                \
    }
    RED_LOOP(n, RED);
#undef RED
    return v_fold4(s);
}

AI float rms_finish_row(const norm_args *a, size_t r, double ss, double inv_cols)
{
    float rs = (float)(1.0 / sqrt(ss * inv_cols + (double)a->eps));
    if (a->rstd)
        a->rstd[r] = rs;
    return rs;
}

AI void rms_fwd_piece(const kx_ctx *k, size_t r, size_t c0, size_t c1, float rs, size_t pfo,
                      int mode, int affine)
{
    const norm_args *a = k->a;
    const size_t base = r * a->cols;
    const vf vrs = v_set(rs);
    int nt = k->nt;
    size_t head = row_head(a->y, base + c0, mode, &nt);
#define STEP(j, n)                                                                                 \
    {                                                                                              \
        if (pfo != KX_NO_PF)                                                                       \
            pf_act(a->x, pfo + (j)-c0, mode);                                                      \
        vf xh_ = v_mul(ld_act(a->x, base + (j), n, mode), vrs);                                    \
        vf o_ = affine ? v_mul(xh_, v_ld_f32(a->gamma + (j), n)) : xh_;                            \
        st_act(a->y, base + (j), o_, n, mode, nt);                                                 \
    }
    SPAN_LOOP(c0, c1, head, STEP);
#undef STEP
}

/* KX_STREAM's hooks in rms_fwd_rows_t (they name its locals). */
#define RMS_FWD_STATS(slot, row, col, n, pf)                                                       \
    ss[slot] = ((col) == 0 ? 0.0 : ss[slot]) + chunk_sumsq(a->x, (row)*C + (col), n, mode, pf)
#define RMS_FWD_FINISH(slot, row) rs[slot] = rms_finish_row(a, row, ss[slot], inv_cols)
#define RMS_FWD_PIECE(slot, row, c0, c1, pfo)                                                      \
    rms_fwd_piece(k, row, c0, c1, rs[slot], pfo, mode, affine)

AI void rms_fwd_rows_t(const kx_ctx *k, size_t r0, size_t r1, int mode, int affine)
{
    const norm_args *a = k->a;
    const size_t C = a->cols;
    const double inv_cols = 1.0 / (double)C;
    if (k->nt) {
        const size_t RB = kx_block_rows(C, mode == M_F32 ? 4 : 2);
        double ss[2 * KX_BLOCK_MAX];
        float rs[2 * KX_BLOCK_MAX];
        KX_STREAM(r0, r1, C, RB, RMS_FWD_STATS, RMS_FWD_FINISH, RMS_FWD_PIECE, KX_NO_COLUMN_DONE);
        return;
    }
    for (size_t r = r0; r < r1; r++) {
        double ss = 0;
        for (size_t c0 = 0; c0 < C; c0 += ROW_CHUNK)
            ss += chunk_sumsq(a->x, r * C + c0, DYT_MIN((size_t)ROW_CHUNK, C - c0), mode, 0);
        rms_fwd_piece(k, r, 0, C, rms_finish_row(a, r, ss, inv_cols), KX_NO_PF, mode, affine);
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
