/* Shared plumbing of the SIMD norm templates (norm_fwd.h, norm_bwd.h):
 * storage modes, activation loads/stores, the row loop with head/body/tail,
 * the reduction loop and its fp32 -> double folding, and the threading glue
 * (rows split over the pool, per-thread partials combined in thread order).
 *
 * Included after simd_avx512.h or simd_avx2.h, which define vf, VL and the
 * v_* operations. Everything is static: each ISA file gets its own copy. */
#pragma once
#include "common.h"
#include "kernels.h"
#include "x86/norm_stream.h"
#include "x86/x86.h"
#include <stdlib.h>
#include <string.h>

/* Storage mode of the activations, a compile-time constant in every
 * instantiation: fp32, bf16 with software rounding, bf16 with the native
 * AVX512-BF16 conversion. */
enum { M_F32 = 0, M_BF16 = 1, M_BF16N = 2 };

/* Software prefetch, only on the DRAM-resident (streaming-store) path.
 * The one-pass kernels (DyT) spend ~20 vector uops per 16 elements, so the
 * out-of-order window covers only ~1-2 KB of input and the demand misses
 * in flight cannot keep DRAM busy: each input is prefetched KX_PF_BYTES
 * ahead into L1, as is the statistics stream of KX_STREAM. On the 2-core
 * build VM (8192 x 4096 fp32, interleaved runs) this took DyT forward from
 * ~21 to ~34 GB/s at ~40 GB/s copy; 4096 and 8192 bytes measured alike,
 * 2048 less. */
#define KX_PF_BYTES 8192

/* A piece's prefetch offset meaning "none" (the cache-resident path). */
#define KX_NO_PF ((size_t)-1)

/* Prefetches the activation line KX_PF_BYTES ahead of element off. */
AI void pf_act(const void *base, size_t off, int mode)
{
    const char *p = (const char *)base + off * (mode == M_F32 ? 4 : 2);
    _mm_prefetch(p + KX_PF_BYTES, _MM_HINT_T0);
}

AI vf ld_act(const void *base, size_t off, size_t n, int mode)
{
    if (mode == M_F32)
        return v_ld_f32((const float *)base + off, n);
    return v_ld_bf16((const bf16_t *)base + off, n);
}

AI void st_act(void *base, size_t off, vf v, size_t n, int mode, int nt)
{
    if (mode == M_F32)
        v_st_f32((float *)base + off, v, n, nt);
    else
        v_st_bf16((bf16_t *)base + off, v, n, nt, mode == M_BF16N);
}

/* DyT's tanh: the fp32 one for fp32 storage, the cheaper one accurate to
 * a bf16 ulp (docs/tanh.md) when the result is stored as bf16. */
AI vf kx_tanh_of(vf x, int mode)
{
    return mode == M_F32 ? v_tanh(x) : v_tanh_bf16(x);
}

/* Zeroes lanes >= n (n == VL: no-op, folded away). */
AI vf v_keep(vf v, size_t n)
{
    if (n == VL)
        return v;
    float t[VL];
    memcpy(t, &v, sizeof v);
    for (size_t i = n; i < VL; i++)
        t[i] = 0.0f;
    memcpy(&v, t, sizeof v);
    return v;
}

/* The row's output begins at p (element off): how many elements to write
 * before p is aligned for full-vector streaming stores. *nt is cleared when
 * the pointer is not even element-aligned (then no streaming stores). */
AI size_t row_head(const void *base, size_t off, int mode, int *nt)
{
    if (!*nt)
        return 0;
    size_t esz = mode == M_F32 ? 4 : 2, align = VL * esz;
    uintptr_t u = (uintptr_t)base + off * esz;
    if (u % esz) {
        *nt = 0;
        return 0;
    }
    return ((align - u % align) % align) / esz;
}

/* Whether every row of an activation array at base, cols wide, starts
 * where full-vector streaming stores are aligned. */
AI int kx_rows_aligned(const void *base, size_t cols, int mode)
{
    const size_t esz = mode == M_F32 ? 4 : 2;
    return (uintptr_t)base % (VL * esz) == 0 && cols % VL == 0;
}

/* STEP(j, n) over columns [from, to): a head of h elements (0 unless
 * streaming), full vectors (n == VL, a constant the step is specialised
 * for), a tail. */
#define SPAN_LOOP(from, to, head, STEP)                                                            \
    do {                                                                                           \
        size_t c_ = (to), j_ = (from), h_ = (head) < c_ - j_ ? (head) : c_ - j_;                   \
        if (h_) {                                                                                  \
            STEP(j_, h_);                                                                          \
            j_ += h_;                                                                              \
        }                                                                                          \
        for (; j_ + VL <= c_; j_ += VL)                                                            \
            STEP(j_, (size_t)VL);                                                                  \
        if (j_ < c_)                                                                               \
            STEP(j_, c_ - j_);                                                                     \
    } while (0)
#define ROW_LOOP(cols, head, STEP) SPAN_LOOP(0, cols, head, STEP)

/* RED(j, n, k) over [0, cols): groups of four full vectors into the four
 * accumulator sets k = 0..3, then single full vectors and the masked tail
 * into set 0. The order is fixed by cols alone (determinism). */
#define RED_LOOP(cols, RED)                                                                        \
    do {                                                                                           \
        size_t c_ = (cols), j_ = 0;                                                                \
        for (; j_ + 4 * VL <= c_; j_ += 4 * VL) {                                                  \
            RED(j_, (size_t)VL, 0);                                                                \
            RED(j_ + VL, (size_t)VL, 1);                                                           \
            RED(j_ + 2 * VL, (size_t)VL, 2);                                                       \
            RED(j_ + 3 * VL, (size_t)VL, 3);                                                       \
        }                                                                                          \
        for (; j_ + VL <= c_; j_ += VL)                                                            \
            RED(j_, (size_t)VL, 0);                                                                \
        if (j_ < c_)                                                                               \
            RED(j_, c_ - j_, 0);                                                                   \
    } while (0)

/* ((s0 + s1) + (s2 + s3)) summed across lanes, in double. */
AI double v_fold4(const vf s[4])
{
    return (double)v_hsum(v_add(v_add(s[0], s[1]), v_add(s[2], s[3])));
}

/* The backward scratch of one thread: double partials [dgamma: cols]
 * [dbeta: cols][dalpha: 1], padded to 64 bytes, then the fp32 block
 * accumulators [dgamma: cols][dbeta: cols], padded likewise. */
AI size_t kx_part_doubles(size_t cols)
{
    return (2 * cols + 1 + 7) & ~(size_t)7;
}
AI size_t kx_part_bytes(size_t cols)
{
    return kx_part_doubles(cols) * sizeof(double) + ((2 * cols + 15) & ~(size_t)15) * sizeof(float);
}
AI float *kx_part_f32(double *part, size_t cols)
{
    return (float *)(part + kx_part_doubles(cols));
}

/* Adds the fp32 block accumulators f[0..cols) into d[0..cols) (init: d
 * takes their values; the first block of a thread's rows). */
AI void kx_fold(double *d, const float *f, size_t cols, int init)
{
    size_t j = 0;
    for (; j + VL <= cols; j += VL)
        v_acc_f64(d + j, v_ld_f32(f + j, VL), VL, init);
    if (j < cols)
        v_acc_f64(d + j, v_ld_f32(f + j, cols - j), cols - j, init);
}

/* acc[j, j + n) += v, in fp32 (a block accumulator; init: = v, the first
 * row of a block). */
AI void v_acc_f32(float *acc, vf v, size_t n, int init)
{
    v_st_f32(acc, init ? v : v_add(v_ld_f32(acc, n), v), n, 0);
}

/* One kernel call's context, shared by all threads. */
typedef struct {
    const norm_args *a;
    int nt;        /* streaming stores for the activation output */
    double **part; /* backward: per-thread scratch, kx_part_bytes(cols) each */
} kx_ctx;

static int kx_nthreads(const kern_exec *ex)
{
    return ex && ex->pool ? kern_pool_threads(ex->pool) : 1;
}

static void kx_run(const kern_exec *ex, kern_task_fn fn, kx_ctx *c)
{
    if (ex && ex->pool)
        kern_pool_run(ex->pool, fn, c);
    else
        fn(0, 1, c);
}

static int kx_forward(const norm_args *a, const kern_exec *ex, kern_task_fn fn)
{
    if (a->rows == 0 || a->cols == 0)
        return -1;
    kx_ctx c = {a, a->rows * a->cols * dtype_size(a->dtype) >= KX_NT_MIN_BYTES, NULL};
    kx_run(ex, fn, &c);
    return 0;
}

/* Backward: every thread accumulates its rows' column sums (dgamma, dbeta)
 * and dalpha into its own double partials; the caller then adds the
 * partials in thread order, so a given thread count always gives bitwise
 * the same result. */
static int kx_backward(const norm_args *a, const kern_exec *ex, kern_task_fn fn, int want_g,
                       int want_b, int want_alpha)
{
    if (a->rows == 0 || a->cols == 0)
        return -1;
    int n = kx_nthreads(ex);
    size_t cols = a->cols;
    double **part = malloc((size_t)n * sizeof *part);
    if (!part)
        return -1;
    for (int t = 0; t < n; t++) {
        part[t] = kern_pool_scratch(ex ? ex->pool : NULL, t, kx_part_bytes(cols));
        if (!part[t]) {
            free(part);
            return -1;
        }
    }
    kx_ctx c = {a, a->rows * a->cols * dtype_size(a->dtype) >= KX_NT_MIN_BYTES, part};
    kx_run(ex, fn, &c);
    /* The partials added in thread order into thread 0's, column loops the
     * compiler vectorizes (a scalar loop over threads per column cost ~2 us
     * of a 1 x 4096 call); only the partials the kernel wrote are read
     * (threads t >= rows have none: kern_split_rows gives rows to the first
     * threads). */
    const int used = (int)DYT_MIN(a->rows, (size_t)n);
    double *g0 = part[0], *b0 = part[0] + cols;
    for (int t = 1; t < used; t++) {
        const double *gt = part[t], *bt = part[t] + cols;
        if (want_g)
            for (size_t j = 0; j < cols; j++)
                g0[j] += gt[j];
        if (want_b)
            for (size_t j = 0; j < cols; j++)
                b0[j] += bt[j];
    }
    if (want_g)
        for (size_t j = 0; j < cols; j++)
            a->dgamma[j] = (float)g0[j];
    if (want_b)
        for (size_t j = 0; j < cols; j++)
            a->dbeta[j] = (float)b0[j];
    if (want_alpha) {
        double s = part[0][2 * cols];
        for (int t = 1; t < used; t++)
            s += part[t][2 * cols];
        *a->dalpha = (float)s;
    }
    free(part);
    return 0;
}

/* Defines the pool task `name` running rows_fn(ctx, partial, begin, end,
 * mode) over this thread's rows. */
#define KX_TASK(name, rows_fn, mode)                                                               \
    static void name(int i_, int n_, void *c_)                                                     \
    {                                                                                              \
        kx_ctx *k_ = c_;                                                                           \
        size_t b_, e_;                                                                             \
        kern_split_rows(k_->a->rows, i_, n_, &b_, &e_);                                            \
        rows_fn(k_, k_->part ? k_->part[i_] : NULL, b_, e_, mode);                                 \
        if (k_->nt)                                                                                \
            v_sfence();                                                                            \
    }
