/* Shared plumbing of the SIMD norm templates (norm_fwd.h, norm_bwd.h):
 * storage modes, activation loads/stores, the row loop with head/body/tail,
 * and the threading glue (rows split over the pool, per-thread double
 * partials combined in thread order).
 *
 * Included after simd_avx512.h or simd_avx2.h, which define vf, VL and the
 * v_* operations. Everything is static: each ISA file gets its own copy. */
#pragma once
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#include "x86/x86.h"

/* Storage mode of the activations, a compile-time constant in every
 * instantiation: fp32, bf16 with software rounding, bf16 with the native
 * AVX512-BF16 conversion. */
enum { M_F32 = 0, M_BF16 = 1, M_BF16N = 2 };

/* Rows are reduced in chunks of this many elements: each chunk's partial
 * sums are fp32 lanes (few terms per lane), the chunks are combined in
 * double, and a LayerNorm chunk is re-read for its second pass while it is
 * in L1. A multiple of every VL. */
#define ROW_CHUNK 512

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

/* STEP(j, n) over [0, cols): a head of h elements (0 unless streaming),
 * full vectors (n == VL, a constant the step is specialised for), a tail. */
#define ROW_LOOP(cols, head, STEP)                                                                 \
    do {                                                                                           \
        size_t c_ = (cols), j_ = 0, h_ = (head) < c_ ? (head) : c_;                                \
        if (h_) {                                                                                  \
            STEP(0, h_);                                                                           \
            j_ = h_;                                                                               \
        }                                                                                          \
        for (; j_ + VL <= c_; j_ += VL)                                                            \
            STEP(j_, (size_t)VL);                                                                  \
        if (j_ < c_)                                                                               \
            STEP(j_, c_ - j_);                                                                     \
    } while (0)

/* One kernel call's context, shared by all threads. */
typedef struct {
    const norm_args *a;
    int nt;         /* streaming stores for the activation output */
    double **part;  /* backward: per-thread partials, [2 * cols + 1] each */
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
    size_t cols = a->cols, len = 2 * cols + 1;
    double **part = malloc((size_t)n * sizeof *part);
    if (!part)
        return -1;
    for (int t = 0; t < n; t++) {
        part[t] = kern_pool_scratch(ex ? ex->pool : NULL, t, len * sizeof(double));
        if (!part[t]) {
            free(part);
            return -1;
        }
    }
    kx_ctx c = {a, a->rows * a->cols * dtype_size(a->dtype) >= KX_NT_MIN_BYTES, part};
    kx_run(ex, fn, &c);
    if (want_g || want_b) {
        for (size_t j = 0; j < cols; j++) {
            double g = 0, b = 0;
            for (int t = 0; t < n; t++) {
                g += part[t][j];
                b += part[t][cols + j];
            }
            if (want_g)
                a->dgamma[j] = (float)g;
            if (want_b)
                a->dbeta[j] = (float)b;
        }
    }
    if (want_alpha) {
        double s = 0;
        for (int t = 0; t < n; t++)
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
        double *p_ = k_->part ? k_->part[i_] : NULL;                                               \
        if (p_)                                                                                    \
            memset(p_, 0, (2 * k_->a->cols + 1) * sizeof(double));                                 \
        rows_fn(k_, p_, b_, e_, mode);                                                             \
        if (k_->nt)                                                                                \
            v_sfence();                                                                            \
    }
