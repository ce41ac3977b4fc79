/* Backward passes of DyT, LayerNorm and RMSNorm on the vector layer.
 *
 *  - DyT (one pass, tanh recomputed from x): with g = dy * gamma and
 *    u = g * (1 - t^2): dx = alpha * u, dalpha += u * x, dgamma += dy * t,
 *    dbeta += dy.
 *  - LayerNorm (saved mean, rstd; xh = (x - mean) * rstd, g = dy [* gamma]):
 *    pass 1 sums g and g * xh over the row (four fp32 chains, double across
 *    ROW_CHUNK chunks); pass 2, from L1/L2, writes dx = rstd * (g - mean(g) -
 *    xh * mean(g * xh)) and adds dy * xh, dy to the column partials. At
 *    DRAM sizes the passes of consecutive row blocks overlap (KX_STREAM,
 *    or KX_STREAM_STRIPS with the column sums in registers).
 *  - RMSNorm: the same without the mean(g) term.
 * Column partials (dgamma, dbeta) are summed in fp32 over blocks of
 * KX_COL_BLOCK rows, each block then added to this thread's double partial
 * (kx_fold); dalpha is summed per row in fp32 and across rows in double.
 * A block's first row stores into the fp32 accumulators and a thread's
 * first block into its double partials, so no scratch is zeroed per call
 * (96 KiB at 4096 columns, a cost every small call paid).
 * Scratch layout: kx_part_bytes in norm_common.h. */
#pragma once
#include "x86/norm_common.h"

/* One DyT backward row: dx, and its dy * t (and dy) added into the fp32
 * column accumulators (init: the row starts a block); returns the row's
 * sum of u * x for dalpha. */
AI float dyt_bwd_row(const kx_ctx *k, size_t r, float *fg, float *fb, int mode, int beta, int init)
{
    const norm_args *a = k->a;
    const size_t base = r * a->cols;
    const vf al = v_set(a->alpha), one = v_set(1.0f);
    int nt = k->nt;
    size_t head = row_head(a->dx, base, mode, &nt);
    vf sa = v_zero();
#define STEP(j, n)                                                                                 \
    {                                                                                              \
        if (nt) {                                                                                  \
            pf_act(a->x, base + (j), mode);                                                        \
            pf_act(a->dy, base + (j), mode);                                                       \
        }                                                                                          \
        vf x_ = ld_act(a->x, base + (j), n, mode);                                                 \
        vf dy_ = ld_act(a->dy, base + (j), n, mode);                                               \
        vf t_ = kx_tanh_of(v_mul(al, x_), mode);                                                   \
        vf g_ = v_mul(dy_, v_ld_f32(a->gamma + (j), n));                                           \
        vf u_ = v_mul(g_, v_fnma(t_, t_, one));                                                    \
        st_act(a->dx, base + (j), v_mul(al, u_), n, mode, nt);                                     \
        sa = v_fma(u_, x_, sa);                                                                    \
        v_acc_f32(fg + (j), v_mul(dy_, t_), n, init);                                              \
        if (beta)                                                                                  \
            v_acc_f32(fb + (j), dy_, n, init);                                                     \
    }
    ROW_LOOP(a->cols, head, STEP);
#undef STEP
    return v_hsum(sa);
}

AI void dyt_bwd_rows_t(const kx_ctx *k, double *part, size_t r0, size_t r1, int mode, int beta)
{
    const size_t C = k->a->cols;
    double *pg = part, *pb = part + C;
    float *fg = kx_part_f32(part, C), *fb = fg + C;
    double dal = 0;
    for (size_t r = r0; r < r1; r++) {
        if ((r - r0) % KX_COL_BLOCK == 0)
            dal += dyt_bwd_row(k, r, fg, fb, mode, beta, 1);
        else
            dal += dyt_bwd_row(k, r, fg, fb, mode, beta, 0);
        if ((r - r0) % KX_COL_BLOCK == KX_COL_BLOCK - 1 || r + 1 == r1) {
            kx_fold(pg, fg, C, r - r0 < KX_COL_BLOCK);
            if (beta)
                kx_fold(pb, fb, C, r - r0 < KX_COL_BLOCK);
        }
    }
    part[2 * C] = dal;
}

AI void dyt_bwd_rows(const kx_ctx *k, double *part, size_t r0, size_t r1, int mode)
{
    if (k->a->has_beta && k->a->dbeta)
        dyt_bwd_rows_t(k, part, r0, r1, mode, 1);
    else
        dyt_bwd_rows_t(k, part, r0, r1, mode, 0);
}

/* Sums of g and g * xh over columns [col, col + n) of the row at element
 * offset base, for LayerNorm (centre = 1) and RMSNorm: four fp32 chains
 * each (RED_LOOP), added into *sg, *sgx in double. pf: prefetch the
 * streams ahead (DRAM path). */
AI void bwd_chunk_sums(const norm_args *a, size_t base, size_t col, size_t n, float mu, float rs,
                       int mode, int affine, int centre, int pf, double *sg, double *sgx)
{
    const vf vmu = v_set(mu), vrs = v_set(rs);
    const size_t off = base + col;
    vf s1[4] = {v_zero(), v_zero(), v_zero(), v_zero()};
    vf s2[4] = {v_zero(), v_zero(), v_zero(), v_zero()};
#define RED(j, nv, q)                                                                              \
    {                                                                                              \
        if (pf) {                                                                                  \
            pf_act(a->x, off + (j), mode);                                                         \
            pf_act(a->dy, off + (j), mode);                                                        \
        }                                                                                          \
        vf x_ = ld_act(a->x, off + (j), nv, mode);                                                 \
        vf xh_ = v_mul(centre ? v_sub(x_, vmu) : x_, vrs);                                         \
        vf g_ = ld_act(a->dy, off + (j), nv, mode);                                                \
        if (affine)                                                                                \
            g_ = v_mul(g_, v_ld_f32(a->gamma + col + (j), nv));                                    \
        s1[q] = v_add(s1[q], g_);                                                                  \
        s2[q] = v_fma(g_, xh_, s2[q]);                                                             \
    }
    RED_LOOP(n, RED);
#undef RED
    *sg += v_fold4(s1);
    *sgx += v_fold4(s2);
}

/* A row's backward coefficients: saved mean and rstd, mean(g), mean(g xh). */
typedef struct {
    float mu, rs, ma, mb;
} bwd_coef;

AI bwd_coef bwd_finish_row(const norm_args *a, size_t r, double sg, double sgx, int centre,
                           double inv_cols)
{
    return (bwd_coef){centre ? a->mean[r] : 0.0f, a->rstd[r],
                      centre ? (float)(sg * inv_cols) : 0.0f, (float)(sgx * inv_cols)};
}

/* dx over columns [c0, c1) of row r, and its dy * xh (and dy) added into
 * the fp32 column accumulators fg (fb; init: the row starts a block). */
AI void nrm_bwd_piece(const kx_ctx *k, size_t r, size_t c0, size_t c1, bwd_coef cf, size_t pfo,
                      float *fg, float *fb, int mode, int affine, int centre, int init)
{
    const norm_args *a = k->a;
    const size_t base = r * a->cols;
    const vf vmu = v_set(cf.mu), vrs = v_set(cf.rs), ma = v_set(cf.ma), mb = v_set(cf.mb);
    int nt = k->nt;
    size_t head = row_head(a->dx, base + c0, mode, &nt);
#define STEP(j, n)                                                                                 \
    {                                                                                              \
        if (pfo != KX_NO_PF) {                                                                     \
            pf_act(a->x, pfo + (j)-c0, mode);                                                      \
            pf_act(a->dy, pfo + (j)-c0, mode);                                                     \
        }                                                                                          \
        vf x_ = ld_act(a->x, base + (j), n, mode);                                                 \
        vf xh_ = v_mul(centre ? v_sub(x_, vmu) : x_, vrs);                                         \
        vf dy_ = ld_act(a->dy, base + (j), n, mode);                                               \
        vf g_ = affine ? v_mul(dy_, v_ld_f32(a->gamma + (j), n)) : dy_;                            \
        vf dx_ = v_mul(vrs, v_sub(g_, v_fma(xh_, mb, ma)));                                        \
        st_act(a->dx, base + (j), dx_, n, mode, nt);                                               \
        if (affine) {                                                                              \
            v_acc_f32(fg + (j), v_mul(dy_, xh_), n, init);                                         \
            if (centre)                                                                            \
                v_acc_f32(fb + (j), dy_, n, init);                                                 \
        }                                                                                          \
    }
    SPAN_LOOP(c0, c1, head, STEP);
#undef STEP
}

/* The width of a column strip (KX_STREAM_STRIPS) in vectors: its 2 x 4
 * column sums, the row's coefficients and the temporaries fit in the 32
 * AVX-512 registers. */
#define KX_STRIP_VECS 4

/* The DRAM path of fp32 AVX-512 backward (rows aligned for streaming
 * stores): dx over columns [c0, c1) (at most KX_STRIP_VECS vectors) of
 * rows [ob, oe) (coefficients cf[0 .. oe - ob)), the columns' dy * xh and
 * dy summed over those rows in registers (fp32, row order: the same sums,
 * bit for bit, as the fp32 block accumulators of nrm_bwd_piece) and added
 * into the double partials pg, pb (first: stored, the thread's first
 * block). Against KX_STREAM's row pieces this drops the accumulators'
 * load + add + store per element and row from L1: 64-72% -> 76-85% of copy
 * (docs/kernels.md). */
AI void nrm_bwd_strip(const kx_ctx *k, const bwd_coef *cf, size_t ob, size_t oe, size_t c0,
                      size_t c1, size_t pfo, double *pg, double *pb, int first, int mode,
                      int affine, int centre)
{
    const norm_args *a = k->a;
    const size_t C = a->cols, w = c1 - c0;
    const int nt = k->nt;
    vf ag[KX_STRIP_VECS], ab[KX_STRIP_VECS];
    for (size_t r = ob; r < oe; r++) {
        const bwd_coef c = cf[r - ob];
        const vf vmu = v_set(c.mu), vrs = v_set(c.rs), ma = v_set(c.ma), mb = v_set(c.mb);
        const size_t base = r * C + c0;
        const size_t pr = pfo + (r - ob) * w;
        for (size_t v = 0; v < KX_STRIP_VECS; v++) {
            const size_t j = v * VL;
            if (j >= w)
                break;
            const size_t n = DYT_MIN((size_t)VL, w - j);
            if (pfo != KX_NO_PF) {
                pf_act(a->x, pr + j, mode);
                pf_act(a->dy, pr + j, mode);
            }
            vf x_ = ld_act(a->x, base + j, n, mode);
            vf xh_ = v_mul(centre ? v_sub(x_, vmu) : x_, vrs);
            vf dy_ = ld_act(a->dy, base + j, n, mode);
            vf g_ = affine ? v_mul(dy_, v_ld_f32(a->gamma + c0 + j, n)) : dy_;
            vf dx_ = v_mul(vrs, v_sub(g_, v_fma(xh_, mb, ma)));
            st_act(a->dx, base + j, dx_, n, mode, nt);
            if (affine) {
                vf p_ = v_mul(dy_, xh_);
                ag[v] = r == ob ? p_ : v_add(ag[v], p_);
                if (centre)
                    ab[v] = r == ob ? dy_ : v_add(ab[v], dy_);
            }
        }
    }
    if (affine)
        for (size_t v = 0; v < KX_STRIP_VECS && v * VL < w; v++) {
            const size_t n = DYT_MIN((size_t)VL, w - v * VL);
            v_acc_f64(pg + c0 + v * VL, ag[v], n, first);
            if (centre)
                v_acc_f64(pb + c0 + v * VL, ab[v], n, first);
        }
}

/* centre = 1: LayerNorm (mean saved, dbeta); 0: RMSNorm. The DRAM path
 * is KX_STREAM_STRIPS's where nrm_bwd_strip applies, else KX_STREAM's
 * (norm_stream.h), its column accumulators folded per block (RB <=
 * KX_COL_BLOCK rows), column piece by column piece. AVX2 keeps the pieces:
 * its 16 registers do not hold a strip's sums (the strips measured 0.84-0.96x
 * of the pieces), nor does bf16, bound by instructions (0.82x). */
/* KX_STREAM's hooks in nrm_bwd_rows_t (they name its locals). */
#define NRM_BWD_STATS(slot, row, col, n, pf)                                                       \
    {                                                                                              \
        if ((col) == 0)                                                                            \
            sg[slot] = sgx[slot] = 0;                                                              \
        bwd_chunk_sums(a, (row)*C, col, n, centre ? a->mean[row] : 0.0f, a->rstd[row], mode,       \
                       affine, centre, pf, &sg[slot], &sgx[slot]);                                 \
    }
#define NRM_BWD_FINISH(slot, row)                                                                  \
    cf[slot] = bwd_finish_row(a, row, sg[slot], sgx[slot], centre, inv_cols)
#define NRM_BWD_PIECE(slot, row, c0, c1, pfo)                                                      \
    {                                                                                              \
        if ((slot) % RB == 0) /* the block's first row */                                          \
            nrm_bwd_piece(k, row, c0, c1, cf[slot], pfo, fg, fb, mode, affine, centre, 1);         \
        else                                                                                       \
            nrm_bwd_piece(k, row, c0, c1, cf[slot], pfo, fg, fb, mode, affine, centre, 0);         \
    }
#define NRM_BWD_COLUMN_DONE(c0, c1)                                                                \
    if (affine) {                                                                                  \
        kx_fold(pg + (c0), fg + (c0), (c1) - (c0), first);                                         \
        if (centre)                                                                                \
            kx_fold(pb + (c0), fb + (c0), (c1) - (c0), first);                                     \
        first &= (c1) < C;                                                                         \
    }

#define NRM_BWD_STRIP(slot0, ob, oe, c0, c1, pfo)                                                  \
    {                                                                                              \
        if ((c1) - (c0) == KX_STRIP_VECS * VL) /* a full strip: its loops unrolled */             \
            nrm_bwd_strip(k, cf + (slot0), ob, oe, c0, (c0) + KX_STRIP_VECS * VL, pfo, pg, pb,     \
                          first, mode, affine, centre);                                            \
        else                                                                                       \
            nrm_bwd_strip(k, cf + (slot0), ob, oe, c0, c1, pfo, pg, pb, first, mode, affine,       \
                          centre);                                                                 \
        first &= (c1) < C;                                                                         \
    }

AI void nrm_bwd_rows_t(const kx_ctx *k, double *part, size_t r0, size_t r1, int mode, int affine,
                       int centre)
{
    const norm_args *a = k->a;
    const size_t C = a->cols;
    const double inv_cols = 1.0 / (double)C;
    double *pg = part, *pb = part + C;
    float *fg = kx_part_f32(part, C), *fb = fg + C;
    if (k->nt) {
        const size_t RB = kx_block_rows(C, mode == M_F32 ? 4 : 2);
        double sg[2 * KX_BLOCK_MAX], sgx[2 * KX_BLOCK_MAX];
        bwd_coef cf[2 * KX_BLOCK_MAX];
        int first = 1; /* the first block's folds initialise the partials */
        if (VL == 16 && mode == M_F32 && kx_rows_aligned(a->dx, C, mode)) {
            KX_STREAM_STRIPS(r0, r1, C, RB, KX_STRIP_VECS * VL, NRM_BWD_STATS, NRM_BWD_FINISH,
                             NRM_BWD_STRIP);
            return;
        }
        KX_STREAM(r0, r1, C, RB, NRM_BWD_STATS, NRM_BWD_FINISH, NRM_BWD_PIECE, NRM_BWD_COLUMN_DONE);
        return;
    }
    for (size_t r = r0; r < r1; r++) {
        const size_t base = r * C;
        const float mu = centre ? a->mean[r] : 0.0f, rs = a->rstd[r];
        double sg = 0, sgx = 0;
        for (size_t c0 = 0; c0 < C; c0 += ROW_CHUNK)
            bwd_chunk_sums(a, base, c0, DYT_MIN((size_t)ROW_CHUNK, C - c0), mu, rs, mode, affine,
                           centre, 0, &sg, &sgx);
        const bwd_coef cf = bwd_finish_row(a, r, sg, sgx, centre, inv_cols);
        if ((r - r0) % KX_COL_BLOCK == 0)
            nrm_bwd_piece(k, r, 0, C, cf, KX_NO_PF, fg, fb, mode, affine, centre, 1);
        else
            nrm_bwd_piece(k, r, 0, C, cf, KX_NO_PF, fg, fb, mode, affine, centre, 0);
        if (affine && ((r - r0) % KX_COL_BLOCK == KX_COL_BLOCK - 1 || r + 1 == r1)) {
            kx_fold(pg, fg, C, r - r0 < KX_COL_BLOCK);
            if (centre)
                kx_fold(pb, fb, C, r - r0 < KX_COL_BLOCK);
        }
    }
}

AI void ln_bwd_rows(const kx_ctx *k, double *part, size_t r0, size_t r1, int mode)
{
    if (k->a->affine)
        nrm_bwd_rows_t(k, part, r0, r1, mode, 1, 1);
    else
        nrm_bwd_rows_t(k, part, r0, r1, mode, 0, 1);
}

AI void rms_bwd_rows(const kx_ctx *k, double *part, size_t r0, size_t r1, int mode)
{
    if (k->a->affine && k->a->gamma)
        nrm_bwd_rows_t(k, part, r0, r1, mode, 1, 0);
    else
        nrm_bwd_rows_t(k, part, r0, r1, mode, 0, 0);
}

/* Entry points: the caller-side part of a backward call (which reductions
 * exist), shared by every ISA/mode instantiation. */
static int kx_dyt_bwd(const norm_args *a, const kern_exec *ex, kern_task_fn fn)
{
    int beta = a->has_beta && a->dbeta;
    return kx_backward(a, ex, fn, a->dgamma != NULL, beta, a->dalpha != NULL);
}

static int kx_ln_bwd(const norm_args *a, const kern_exec *ex, kern_task_fn fn)
{
    if (!a->mean || !a->rstd)
        return -1;
    int aff = a->affine && a->dgamma && a->dbeta;
    return kx_backward(a, ex, fn, aff, aff, 0);
}

static int kx_rms_bwd(const norm_args *a, const kern_exec *ex, kern_task_fn fn)
{
    if (!a->rstd)
        return -1;
    int aff = a->affine && a->gamma && a->dgamma;
    return kx_backward(a, ex, fn, aff, 0, 0);
}
