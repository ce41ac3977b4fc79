/* Fused CUDA backward kernels (variant `cuda`) for DyT, LayerNorm and
 * RMSNorm. One row pass computes dx (with the row reductions of
 * LayerNorm/RMSNorm) and accumulates the parameter gradients per thread;
 * the cross-row reductions are deterministic in two stages:
 *   1. every block writes one partial row per parameter (its row groups
 *      combined in shared memory in group order, or - one group per block
 *      - straight from registers / accumulated in place for very wide
 *      rows) and one dalpha partial;
 *   2. a combine kernel sums the P partials of each column in block order.
 * The grid (and so P) depends only on the shape and the device, so the
 * same inputs give bitwise the same dgamma/dbeta/dalpha on every run.
 *
 * Math (fp32): DyT t = tanh(alpha x), dx = alpha gamma dy (1 - t^2),
 * dgamma = sum dy t, dbeta = sum dy, dalpha = sum gamma dy (1 - t^2) x.
 * LayerNorm xhat = (x - mean) rstd, g = gamma dy, dx = rstd (g - mean(g) -
 * xhat mean(g xhat)), dgamma = sum dy xhat, dbeta = sum dy. RMSNorm xhat =
 * x rstd, dx = rstd (g - xhat mean(g xhat)), dgamma = sum dy xhat. */
#include "common.cuh"

#include <limits.h>

using namespace kcuda;

namespace {

enum { B_DYT = 0, B_LN = 1, B_RMS = 2 };

template <typename T, int VEC, int NORM>
__global__ void __launch_bounds__(KCUDA_MAX_THREADS_BWD)
    row_bwd(const T *__restrict__ x, const T *__restrict__ dy, const float *__restrict__ gamma,
            const float *__restrict__ mean, const float *__restrict__ rstd, T *__restrict__ dx,
            float *__restrict__ part0, float *__restrict__ part1, float *__restrict__ dal_part,
            size_t rows, int cols, int group, int per_thread, int cached, float alpha)
{
    extern __shared__ float comb[];
    __shared__ float2 red[2][32];
    __shared__ float dal[32];
    int buf = 0;
    const int gpb = blockDim.x / group, g = threadIdx.x / group, lane = threadIdx.x % group;
    const int nvec = cols / VEC;
    const float inv_n = 1.0f / (float)cols;
    float *p0 = part0 ? part0 + (size_t)blockIdx.x * cols : nullptr;
    float *p1 = part1 ? part1 + (size_t)blockIdx.x * cols : nullptr;
    float a0[KCUDA_NV_BWD][VEC], a1[KCUDA_NV_BWD][VEC], dal_acc = 0.f;
#pragma unroll
    for (int k = 0; k < KCUDA_NV_BWD; k++)
#pragma unroll
        for (int e = 0; e < VEC; e++)
            a0[k][e] = a1[k][e] = 0.f;
    if (!cached) /* one group per block (launch.c): this thread owns its columns */
        for (int idx = lane; idx < nvec; idx += group)
            for (int e = 0; e < VEC; e++) {
                if (p0)
                    p0[idx * VEC + e] = 0.f;
                if (p1)
                    p1[idx * VEC + e] = 0.f;
            }

    size_t per_iter = (size_t)gridDim.x * gpb;
    size_t iters = (rows + per_iter - 1) / per_iter;
    for (size_t it = 0; it < iters; it++) {
        size_t row = (it * gridDim.x + blockIdx.x) * gpb + g;
        bool valid = row < rows;
        size_t off = (valid ? row : 0) * (size_t)cols;
        const T *xr = x + off, *dyr = dy + off;
        T *dxr = dx + off;
        float m = NORM == B_LN && valid ? mean[row] : 0.f;
        float r = NORM != B_DYT && valid ? rstd[row] : 0.f;
        float xv[KCUDA_NV_BWD][VEC], dv[KCUDA_NV_BWD][VEC];
        float s1 = 0.f, s2 = 0.f;
        if (cached) {
#pragma unroll
            for (int k = 0; k < KCUDA_NV_BWD; k++) {
                int idx = lane + k * group;
                if (valid && k < per_thread && idx < nvec) {
                    load_vec<T, VEC>(xr, idx, xv[k]);
                    load_vec<T, VEC>(dyr, idx, dv[k]);
                } else {
#pragma unroll
                    for (int e = 0; e < VEC; e++)
                        xv[k][e] = dv[k][e] = 0.f;
                }
            }
        }
        /* Row reductions (LayerNorm, RMSNorm): s1 = sum g, s2 = sum g xhat. */
        if (NORM != B_DYT) {
            if (cached) {
#pragma unroll
                for (int k = 0; k < KCUDA_NV_BWD; k++) {
                    int idx = lane + k * group;
                    if (!(valid && k < per_thread && idx < nvec))
                        continue;
                    float gm[VEC];
                    if (gamma)
                        load_param<VEC>(gamma, idx, gm);
#pragma unroll
                    for (int e = 0; e < VEC; e++) {
                        float gg = gamma ? dv[k][e] * gm[e] : dv[k][e];
                        s1 += gg;
                        s2 += gg * (xv[k][e] - m) * r;
                    }
                }
            } else if (valid) {
                for (int idx = lane; idx < nvec; idx += group) {
                    float w[VEC], d[VEC], gm[VEC];
                    load_vec<T, VEC>(xr, idx, w);
                    load_vec<T, VEC>(dyr, idx, d);
                    if (gamma)
                        load_param<VEC>(gamma, idx, gm);
#pragma unroll
                    for (int e = 0; e < VEC; e++) {
                        float gg = gamma ? d[e] * gm[e] : d[e];
                        s1 += gg;
                        s2 += gg * (w[e] - m) * r;
                    }
                }
            }
            float2 t = group_sum2(make_float2(s1, s2), group, red, &buf);
            s1 = NORM == B_LN ? t.x * inv_n : 0.f;
            s2 = t.y * inv_n;
        }
        if (!valid)
            continue;
        /* dx and the parameter-gradient accumulators, per vector. */
        auto step = [&](int idx, const float(&w)[VEC], const float(&d)[VEC], float(&c0)[VEC],
                        float(&c1)[VEC]) {
            float gm[VEC], o[VEC];
            if (gamma)
                load_param<VEC>(gamma, idx, gm);
#pragma unroll
            for (int e = 0; e < VEC; e++) {
                if (NORM == B_DYT) {
                    float th = tanh_fast(alpha * w[e]);
                    float dd = d[e] * gm[e] * (1.f - th * th);
                    o[e] = alpha * dd;
                    c0[e] += d[e] * th;
                    c1[e] += d[e];
                    dal_acc += dd * w[e];
                } else {
                    float xh = (w[e] - m) * r;
                    float gg = gamma ? d[e] * gm[e] : d[e];
                    o[e] = r * (gg - s1 - xh * s2);
                    c0[e] += d[e] * xh;
                    c1[e] += d[e];
                }
            }
            store_vec<T, VEC>(dxr, idx, o);
        };
        if (cached) {
#pragma unroll
            for (int k = 0; k < KCUDA_NV_BWD; k++) {
                int idx = lane + k * group;
                if (k < per_thread && idx < nvec)
                    step(idx, xv[k], dv[k], a0[k], a1[k]);
            }
        } else {
            for (int idx = lane; idx < nvec; idx += group) {
                float w[VEC], d[VEC], c0[VEC], c1[VEC];
                load_vec<T, VEC>(xr, idx, w);
                load_vec<T, VEC>(dyr, idx, d);
#pragma unroll
                for (int e = 0; e < VEC; e++)
                    c0[e] = c1[e] = 0.f;
                step(idx, w, d, c0, c1);
#pragma unroll
                for (int e = 0; e < VEC; e++) {
                    if (p0)
                        p0[idx * VEC + e] += c0[e];
                    if (p1)
                        p1[idx * VEC + e] += c1[e];
                }
            }
        }
    }

    /* Stage 1 output: this block's partial rows. */
    if (cached && gpb > 1) {
        for (int gi = 0; gi < gpb; gi++) { /* fixed group order */
            if (g == gi) {
#pragma unroll
                for (int k = 0; k < KCUDA_NV_BWD; k++) {
                    int idx = lane + k * group;
                    if (!(k < per_thread && idx < nvec))
                        continue;
#pragma unroll
                    for (int e = 0; e < VEC; e++) {
                        int col = idx * VEC + e;
                        if (p0)
                            comb[col] = gi == 0 ? a0[k][e] : comb[col] + a0[k][e];
                        if (p1) {
                            float *c = comb + (p0 ? cols : 0);
                            c[col] = gi == 0 ? a1[k][e] : c[col] + a1[k][e];
                        }
                    }
                }
            }
            __syncthreads();
        }
        for (int i = threadIdx.x; i < cols; i += blockDim.x) {
            if (p0)
                p0[i] = comb[i];
            if (p1)
                p1[i] = comb[(p0 ? cols : 0) + i];
        }
    } else if (cached) {
#pragma unroll
        for (int k = 0; k < KCUDA_NV_BWD; k++) {
            int idx = lane + k * group;
            if (!(k < per_thread && idx < nvec))
                continue;
#pragma unroll
            for (int e = 0; e < VEC; e++) {
                if (p0)
                    p0[idx * VEC + e] = a0[k][e];
                if (p1)
                    p1[idx * VEC + e] = a1[k][e];
            }
        }
    }
    if (NORM == B_DYT && dal_part) {
        float v = warp_sum(dal_acc);
        if ((threadIdx.x & 31) == 0)
            dal[threadIdx.x >> 5] = v;
        __syncthreads();
        if (threadIdx.x == 0) {
            float s = 0.f;
            for (int w = 0; w < (int)(blockDim.x >> 5); w++)
                s += dal[w];
            dal_part[blockIdx.x] = s;
        }
    }
}

} // namespace

/* Stage 2: column sums of P partial rows in block order (also used by the
 * eager variants' column reductions). */
__global__ void kcuda_combine_cols(const float *__restrict__ part, int P, int cols,
                                   float *__restrict__ out)
{
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= cols)
        return;
    float s = 0.f;
    for (int b = 0; b < P; b++)
        s += part[(size_t)b * cols + col];
    out[col] = s;
}

/* Stage 2 of a scalar: one warp, strided partial sums then a fixed
 * butterfly. */
__global__ void kcuda_combine_scalar(const float *__restrict__ part, int P, float *__restrict__ out)
{
    float s = 0.f;
    for (int b = threadIdx.x; b < P; b += 32)
        s += part[b];
    s = warp_sum(s);
    if (threadIdx.x == 0)
        *out = s;
}

namespace {

template <typename T, int VEC, int NORM>
int launch_bwd(const norm_args *a, cudaStream_t st, const kcuda_cfg &c, bool want0, bool want1)
{
    int np = (want0 ? 1 : 0) + (want1 ? 1 : 0);
    unsigned P = c.blocks;
    size_t cols = a->cols;
    size_t bytes = ((size_t)np * P * cols + P) * sizeof(float);
    float *ws = (float *)kcuda_workspace(KCUDA_WS_PARTIAL, bytes);
    if (!ws)
        return 1;
    float *part0 = want0 ? ws : nullptr;
    float *part1 = want1 ? ws + (want0 ? (size_t)P * cols : 0) : nullptr;
    float *dal = NORM == B_DYT ? ws + (size_t)np * P * cols : nullptr;
    auto kern = row_bwd<T, VEC, NORM>;
    if (c.smem > 48 * 1024 &&
        cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)c.smem) !=
            cudaSuccess)
        return 1;
    const float *gamma = NORM == B_DYT || a->affine ? a->gamma : nullptr;
    kern<<<P, c.threads, c.smem, st>>>((const T *)a->x, (const T *)a->dy, gamma, a->mean, a->rstd,
                                       (T *)a->dx, part0, part1, dal, a->rows, (int)cols, c.group,
                                       c.per_thread, c.cached, a->alpha);
    unsigned cb = (unsigned)((cols + 255) / 256);
    if (want0)
        kcuda_combine_cols<<<cb, 256, 0, st>>>(part0, (int)P, (int)cols, a->dgamma);
    if (want1)
        kcuda_combine_cols<<<cb, 256, 0, st>>>(part1, (int)P, (int)cols, a->dbeta);
    if (NORM == B_DYT)
        kcuda_combine_scalar<<<1, 32, 0, st>>>(dal, (int)P, a->dalpha);
    return KCUDA_LAUNCH_OK() ? 0 : 1;
}

template <typename T, int NORM> int bwd_t(const norm_args *a, cudaStream_t st)
{
    bool want0, want1;
    if (NORM == B_DYT) {
        if (!a->gamma || !a->dgamma || !a->dalpha)
            return 1;
        want0 = true;
        want1 = a->has_beta && a->dbeta;
    } else {
        if (!a->rstd || (NORM == B_LN && !a->mean) || (a->affine && !a->gamma))
            return 1;
        want0 = a->affine && a->dgamma;
        want1 = NORM == B_LN && a->affine && a->dbeta;
    }
    uintptr_t addr = (uintptr_t)a->x | (uintptr_t)a->dy | (uintptr_t)a->dx |
                     (uintptr_t)(NORM == B_DYT || a->affine ? a->gamma : nullptr);
    kcuda_cfg c;
    if (a->cols > INT_MAX / 2 ||
        kcuda_pick_config(a->rows, a->cols, sizeof(T), addr, kcuda_sm_count(), PASS_BWD,
                          (want0 ? 1 : 0) + (want1 ? 1 : 0), kcuda_smem_optin(), &c) != 0)
        return 1;
    return c.vec == 1 ? launch_bwd<T, 1, NORM>(a, st, c, want0, want1)
                      : launch_bwd<T, 16 / sizeof(T), NORM>(a, st, c, want0, want1);
}

template <int NORM> int bwd_dispatch(const norm_args *a, const kern_exec *ex)
{
    cudaStream_t st = ex ? (cudaStream_t)ex->cuda_stream : 0;
    switch (a->dtype) {
    case DTYPE_F32: return bwd_t<float, NORM>(a, st);
    case DTYPE_BF16: return bwd_t<__nv_bfloat16, NORM>(a, st);
    case DTYPE_F16: return bwd_t<__half, NORM>(a, st);
    default: return 1;
    }
}

} // namespace

extern "C" int kcuda_dyt_bwd(const norm_args *a, const kern_exec *ex)
{
    return bwd_dispatch<B_DYT>(a, ex);
}
extern "C" int kcuda_layernorm_bwd(const norm_args *a, const kern_exec *ex)
{
    return bwd_dispatch<B_LN>(a, ex);
}
extern "C" int kcuda_rmsnorm_bwd(const norm_args *a, const kern_exec *ex)
{
    return bwd_dispatch<B_RMS>(a, ex);
}
