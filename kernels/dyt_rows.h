/* Internal to kernels/: the fp32 DyT row loops shared by the `scalar` and
 * `libm` variants, which differ only in the tanh they call. Each file
 * instantiates them with DYT_ROWS_DEFINE(prefix, tanh_fn) so the tanh is
 * inlined (scalar) or a plain libm call (libm). Partials are fp32, summed
 * in row order: what a straightforward port does. */
#pragma once
#include "portable.h"

#define DYT_ROWS_DEFINE(P, TANH)                                                                   \
    static void P##_dyt_fwd_rows(const norm_args *a, size_t r0, size_t r1, void *part)             \
    {                                                                                              \
        (void)part;                                                                                \
        size_t C = a->cols;                                                                        \
        float al = a->alpha;                                                                       \
        const float *g = a->gamma, *b = port_use_beta(a, NORM_DYT) ? a->beta : NULL;               \
        for (size_t r = r0; r < r1; r++)                                                           \
            for (size_t j = 0; j < C; j++) {                                                       \
                size_t i = r * C + j;                                                              \
                float t = TANH(al * port_ld(a->x, a->dtype, i));                                   \
                port_st(a->y, a->dtype, i, b ? g[j] * t + b[j] : g[j] * t);                        \
            }                                                                                      \
    }                                                                                              \
    /* partial: dgamma[C], dbeta[C], dalpha[1], fp32 */                                            \
    static void P##_dyt_bwd_rows(const norm_args *a, size_t r0, size_t r1, void *part)             \
    {                                                                                              \
        size_t C = a->cols;                                                                        \
        float *dg = part, *db = dg + C, *da = db + C, al = a->alpha, sa = 0;                       \
        const float *g = a->gamma;                                                                 \
        for (size_t r = r0; r < r1; r++)                                                           \
            for (size_t j = 0; j < C; j++) {                                                       \
                size_t i = r * C + j;                                                              \
                float x = port_ld(a->x, a->dtype, i), dy = port_ld(a->dy, a->dtype, i);            \
                float t = TANH(al * x), s = 1.0f - t * t, dyg = dy * g[j];                         \
                port_st(a->dx, a->dtype, i, dyg * al * s);                                         \
                dg[j] += dy * t;                                                                   \
                db[j] += dy;                                                                       \
                sa += dyg * x * s;                                                                 \
            }                                                                                      \
        *da = sa;                                                                                  \
    }                                                                                              \
    static int P##_dyt_fwd(const norm_args *a, const kern_exec *ex)                                \
    {                                                                                              \
        return port_forward(a, ex, NORM_DYT, P##_dyt_fwd_rows);                                    \
    }                                                                                              \
    static int P##_dyt_bwd(const norm_args *a, const kern_exec *ex)                                \
    {                                                                                              \
        if (port_check_args(a, NORM_DYT, PASS_BWD))                                                \
            return -1;                                                                             \
        size_t C = a->cols, bytes = (2 * C + 1) * sizeof(float);                                   \
        int n = port_run(a, ex, P##_dyt_bwd_rows, bytes);                                          \
        if (n < 0)                                                                                 \
            return -1;                                                                             \
        port_combine_f32(port_pool(ex), n, bytes, 0, C, a->dgamma);                                \
        if (a->has_beta)                                                                           \
            port_combine_f32(port_pool(ex), n, bytes, C, C, a->dbeta);                             \
        port_combine_f32(port_pool(ex), n, bytes, 2 * C, 1, a->dalpha);                            \
        return 0;                                                                                  \
    }
