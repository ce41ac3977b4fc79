/* Internal to kernels/: what the portable variants (ref, scalar, libm,
 * onednn's wrappers) share. Argument validation, element load/store for the
 * storage dtype, and the row-parallel driver that gives every variant the
 * same deterministic reduction scheme:
 *
 *   rows are split with kern_split_rows over the pool's n threads; thread i
 *   accumulates its rows, in row order, into a zeroed partial buffer in its
 *   own pool scratch; after the run the caller adds the partials in thread
 *   index order 0..n-1. Same inputs + same n => bitwise the same sums.
 *
 * Scratch is obtained for every thread *before* any work starts, so an
 * out-of-memory refusal never leaves outputs half written. */
#pragma once
#include "bf16.h"
#include "kernels.h"

#include <string.h>

/* Nonzero when a call cannot be made (NULL required pointer, cols == 0,
 * a dtype CPU kernels do not store). Outputs are untouched then. */
static inline int port_check_args(const norm_args *a, norm_kind n, pass_kind p)
{
    if (!a || a->cols == 0 || (a->dtype != DTYPE_F32 && a->dtype != DTYPE_BF16) || !a->x)
        return -1;
    if (p == PASS_FWD) {
        if (!a->y)
            return -1;
        if (n == NORM_DYT && !a->gamma)
            return -1;
        return 0;
    }
    if (!a->dy || !a->dx)
        return -1;
    if (n == NORM_DYT && !a->gamma)
        return -1;
    if ((n == NORM_LAYERNORM && (!a->mean || !a->rstd)) || (n == NORM_RMSNORM && !a->rstd))
        return -1;
    return 0;
}

/* Parameters as the kernels use them: gamma is 1 and beta 0 when absent. */
static inline int port_use_gamma(const norm_args *a, norm_kind n)
{
    return a->gamma && (n == NORM_DYT || a->affine);
}
static inline int port_use_beta(const norm_args *a, norm_kind n)
{
    return a->beta && (n == NORM_DYT ? a->has_beta : n == NORM_LAYERNORM && a->affine);
}

static inline float port_ld(const void *p, dtype_kind d, size_t i)
{
    return d == DTYPE_F32 ? ((const float *)p)[i] : bf16_to_f32(((const bf16_t *)p)[i]);
}

static inline void port_st(void *p, dtype_kind d, size_t i, float v)
{
    if (d == DTYPE_F32)
        ((float *)p)[i] = v;
    else
        ((bf16_t *)p)[i] = f32_to_bf16(v);
}

/* Processes rows [r0, r1) of a; partial (partial_bytes, zeroed) or NULL. */
typedef void (*port_rows_fn)(const norm_args *a, size_t r0, size_t r1, void *partial);

typedef struct {
    const norm_args *a;
    port_rows_fn fn;
    kern_pool *pool;
    size_t partial_bytes;
} port_job;

static inline void port_task(int index, int n, void *ctx)
{
    const port_job *j = ctx;
    size_t r0, r1;
    kern_split_rows(j->a->rows, index, n, &r0, &r1);
    void *part = NULL;
    if (j->partial_bytes) {
        /* Already allocated at this size by port_run: no allocation here. */
        part = kern_pool_scratch(j->pool, index, j->partial_bytes);
        memset(part, 0, j->partial_bytes);
    }
    if (r1 > r0)
        j->fn(j->a, r0, r1, part);
}

/* Runs fn over all rows on ex's pool. Returns the thread count (>= 1), or
 * -1 when scratch could not be had (nothing was run). The partial of thread
 * i is then kern_pool_scratch(port_pool(ex), i, partial_bytes). */
static inline kern_pool *port_pool(const kern_exec *ex)
{
    return ex ? ex->pool : NULL;
}

static inline int port_run(const norm_args *a, const kern_exec *ex, port_rows_fn fn,
                           size_t partial_bytes)
{
    kern_pool *pool = port_pool(ex);
    int n = kern_pool_threads(pool);
    if (partial_bytes)
        for (int i = 0; i < n; i++)
            if (!kern_pool_scratch(pool, i, partial_bytes))
                return -1;
    port_job j = {a, fn, pool, partial_bytes};
    kern_pool_run(pool, port_task, &j);
    return n;
}

/* A forward entry point: checks a's arguments for norm n, then runs fn
 * over every row. 0, or -1 with nothing run. */
static inline int port_forward(const norm_args *a, const kern_exec *ex, norm_kind n,
                               port_rows_fn fn)
{
    if (port_check_args(a, n, PASS_FWD))
        return -1;
    return port_run(a, ex, fn, 0) < 0 ? -1 : 0;
}

/* Adds the n fp32 partials (elements off..off+len of each thread's scratch
 * of `bytes`) in thread order into out (NULL: dropped). */
static inline void port_combine_f32(kern_pool *pool, int n, size_t bytes, size_t off, size_t len,
                                    float *out)
{
    if (!out)
        return;
    for (size_t j = 0; j < len; j++) {
        float s = 0;
        for (int t = 0; t < n; t++)
            s += ((const float *)kern_pool_scratch(pool, t, bytes))[off + j];
        out[j] = s;
    }
}
