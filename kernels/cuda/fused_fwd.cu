/* Fused CUDA forward kernels (variant `cuda`): DyT as one element-wise pass
 * (y = gamma * tanh(alpha * x) + beta), LayerNorm and RMSNorm as one row
 * pass each (x read once into registers, reductions in fp32, statistics
 * saved for backward). Storage fp32 / bf16 / fp16, math fp32. Launch
 * geometry comes from kcuda_pick_config (launch.c): a warp per row for
 * small rows, a block-level row group for large ones, 16-byte accesses when
 * every base address and the row pitch allow, KCUDA_NV vectors in flight. */
#include "common.cuh"

#include <limits.h>

using namespace kcuda;

namespace {

template <typename T, int VEC>
__global__ void __launch_bounds__(256) dyt_fwd_ew(const T *__restrict__ x,
                                                  const float *__restrict__ gamma,
                                                  const float *__restrict__ beta, T *__restrict__ y,
                                                  float alpha, size_t nvec, size_t cvec)
{
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t base = (size_t)blockIdx.x * blockDim.x + threadIdx.x; base < nvec;
         base += stride * KCUDA_NV) {
        float v[KCUDA_NV][VEC];
#pragma unroll
        for (int k = 0; k < KCUDA_NV; k++) /* all loads first: NV in flight */
            if (base + k * stride < nvec)
                load_vec<T, VEC>(x, base + k * stride, v[k]);
#pragma unroll
        for (int k = 0; k < KCUDA_NV; k++) {
            size_t i = base + k * stride;
            if (i >= nvec)
                break;
            float g[VEC], b[VEC];
            load_param<VEC>(gamma, i % cvec, g);
            if (beta)
                load_param<VEC>(beta, i % cvec, b);
#pragma unroll
            for (int e = 0; e < VEC; e++)
                v[k][e] = g[e] * tanh_fast(alpha * v[k][e]) + (beta ? b[e] : 0.0f);
            store_vec<T, VEC>(y, i, v[k]);
        }
    }
}

enum { ROW_LN = 1, ROW_RMS = 2 };

/* y = (x - mean) * rstd [* gamma] [+ beta] for one vector of a row. */
template <typename T, int VEC>
__device__ __forceinline__ void emit_row(T *yr, int idx, const float (&x)[VEC], float mean,
                                         float rstd, const float *gamma, const float *beta)
{
    float w[VEC], gm[VEC], bt[VEC];
    if (gamma)
        load_param<VEC>(gamma, idx, gm);
    if (beta)
        load_param<VEC>(beta, idx, bt);
#pragma unroll
    for (int e = 0; e < VEC; e++) {
        float h = (x[e] - mean) * rstd;
        w[e] = (gamma ? h * gm[e] : h) + (beta ? bt[e] : 0.f);
    }
    store_vec<T, VEC>(yr, idx, w);
}

/* One row per group; uniform trip count so every thread meets the
 * group reductions' barriers. */
template <typename T, int VEC, int NORM>
__global__ void __launch_bounds__(KCUDA_MAX_THREADS) row_fwd(const T *__restrict__ x,
                                                const float *__restrict__ gamma,
                                                const float *__restrict__ beta,
                                                T *__restrict__ y, float *__restrict__ mean_out,
                                                float *__restrict__ rstd_out, size_t rows,
                                                int cols, int group, int per_thread, int cached,
                                                float eps)
{
    __shared__ float2 red[2][32];
    int buf = 0;
    const int gpb = blockDim.x / group, g = threadIdx.x / group, lane = threadIdx.x % group;
    const int nvec = cols / VEC;
    const float inv_n = 1.0f / (float)cols;
    size_t per_iter = (size_t)gridDim.x * gpb;
    size_t iters = (rows + per_iter - 1) / per_iter;
    for (size_t it = 0; it < iters; it++) {
        size_t row = (it * gridDim.x + blockIdx.x) * gpb + g;
        bool valid = row < rows;
        const T *xr = x + (valid ? row : 0) * (size_t)cols;
        T *yr = y + (valid ? row : 0) * (size_t)cols;
        float v[KCUDA_NV][VEC];
        float s = 0.f;
        if (cached) {
#pragma unroll
            for (int k = 0; k < KCUDA_NV; k++) {
                int idx = lane + k * group;
                if (valid && k < per_thread && idx < nvec)
                    load_vec<T, VEC>(xr, idx, v[k]);
                else
#pragma unroll
                    for (int e = 0; e < VEC; e++)
                        v[k][e] = 0.f;
            }
#pragma unroll
            for (int k = 0; k < KCUDA_NV; k++)
#pragma unroll
                for (int e = 0; e < VEC; e++)
                    s += NORM == ROW_LN ? v[k][e] : v[k][e] * v[k][e];
        } else if (valid) {
            for (int idx = lane; idx < nvec; idx += group) {
                float w[VEC];
                load_vec<T, VEC>(xr, idx, w);
#pragma unroll
                for (int e = 0; e < VEC; e++)
                    s += NORM == ROW_LN ? w[e] : w[e] * w[e];
            }
        }
        float mean = 0.f, rstd;
        if (NORM == ROW_LN) {
            mean = group_sum2(make_float2(s, 0.f), group, red, &buf).x * inv_n;
            /* Second pass on the centred values: no cancellation for rows
             * with a large mean (LLM outlier channels). */
            float q = 0.f;
            if (cached) {
#pragma unroll
                for (int k = 0; k < KCUDA_NV; k++)
#pragma unroll
                    for (int e = 0; e < VEC; e++) {
                        int idx = lane + k * group;
                        float d = v[k][e] - mean;
                        if (valid && k < per_thread && idx < nvec)
                            q += d * d;
                    }
            } else if (valid) {
                for (int idx = lane; idx < nvec; idx += group) {
                    float w[VEC];
                    load_vec<T, VEC>(xr, idx, w);
#pragma unroll
                    for (int e = 0; e < VEC; e++)
                        q += (w[e] - mean) * (w[e] - mean);
                }
            }
            float var = group_sum2(make_float2(q, 0.f), group, red, &buf).x * inv_n;
            rstd = rsqrtf(var + eps);
        } else {
            rstd = rsqrtf(group_sum2(make_float2(s, 0.f), group, red, &buf).x * inv_n + eps);
        }
        if (!valid)
            continue;
        if (lane == 0) {
            if (mean_out && NORM == ROW_LN)
                mean_out[row] = mean;
            if (rstd_out)
                rstd_out[row] = rstd;
        }
        if (cached) {
#pragma unroll
            for (int k = 0; k < KCUDA_NV; k++) {
                int idx = lane + k * group;
                if (k < per_thread && idx < nvec)
                    emit_row<T, VEC>(yr, idx, v[k], mean, rstd, gamma, beta);
            }
        } else {
            for (int idx = lane; idx < nvec; idx += group) {
                float w[VEC];
                load_vec<T, VEC>(xr, idx, w);
                emit_row<T, VEC>(yr, idx, w, mean, rstd, gamma, beta);
            }
        }
    }
}

uintptr_t addr_or(const norm_args *a)
{
    return (uintptr_t)a->x | (uintptr_t)a->y | (uintptr_t)a->gamma | (uintptr_t)a->beta;
}

template <typename T, int VEC>
int launch_dyt(const norm_args *a, cudaStream_t st, const kcuda_ew_cfg &c)
{
    size_t n = a->rows * a->cols;
    dyt_fwd_ew<T, VEC><<<c.blocks, c.threads, 0, st>>>(
        (const T *)a->x, a->gamma, a->has_beta ? a->beta : nullptr, (T *)a->y, a->alpha,
        n / VEC, a->cols / VEC);
    return KCUDA_LAUNCH_OK() ? 0 : 1;
}

template <typename T> int dyt_fwd_t(const norm_args *a, cudaStream_t st)
{
    kcuda_ew_cfg c;
    if (!a->gamma || kcuda_pick_ew_config(a->rows * a->cols, a->cols, sizeof(T), addr_or(a),
                                          kcuda_sm_count(), &c) != 0)
        return 1;
    return c.vec == 1 ? launch_dyt<T, 1>(a, st, c) : launch_dyt<T, 16 / sizeof(T)>(a, st, c);
}

template <typename T, int VEC, int NORM>
int launch_row(const norm_args *a, cudaStream_t st, const kcuda_cfg &c)
{
    const float *gamma = a->affine ? a->gamma : nullptr;
    const float *beta = NORM == ROW_LN && a->affine ? a->beta : nullptr;
    row_fwd<T, VEC, NORM><<<c.blocks, c.threads, 0, st>>>(
        (const T *)a->x, gamma, beta, (T *)a->y, a->mean, a->rstd, a->rows, (int)a->cols,
        c.group, c.per_thread, c.cached, a->eps);
    return KCUDA_LAUNCH_OK() ? 0 : 1;
}

template <typename T, int NORM> int row_fwd_t(const norm_args *a, cudaStream_t st)
{
    kcuda_cfg c;
    if (a->cols > INT_MAX / 2 ||
        kcuda_pick_config(a->rows, a->cols, sizeof(T), addr_or(a), kcuda_sm_count(), PASS_FWD, 0,
                          0, &c) != 0)
        return 1;
    return c.vec == 1 ? launch_row<T, 1, NORM>(a, st, c)
                      : launch_row<T, 16 / sizeof(T), NORM>(a, st, c);
}

template <int NORM> int row_fwd_dispatch(const norm_args *a, const kern_exec *ex)
{
    cudaStream_t st = ex ? (cudaStream_t)ex->cuda_stream : 0;
    switch (a->dtype) {
    case DTYPE_F32: return row_fwd_t<float, NORM>(a, st);
    case DTYPE_BF16: return row_fwd_t<__nv_bfloat16, NORM>(a, st);
    case DTYPE_F16: return row_fwd_t<__half, NORM>(a, st);
    default: return 1;
    }
}

} // namespace

extern "C" int kcuda_dyt_fwd(const norm_args *a, const kern_exec *ex)
{
    cudaStream_t st = ex ? (cudaStream_t)ex->cuda_stream : 0;
    switch (a->dtype) {
    case DTYPE_F32: return dyt_fwd_t<float>(a, st);
    case DTYPE_BF16: return dyt_fwd_t<__nv_bfloat16>(a, st);
    case DTYPE_F16: return dyt_fwd_t<__half>(a, st);
    default: return 1;
    }
}

extern "C" int kcuda_layernorm_fwd(const norm_args *a, const kern_exec *ex)
{
    return row_fwd_dispatch<ROW_LN>(a, ex);
}

extern "C" int kcuda_rmsnorm_fwd(const norm_args *a, const kern_exec *ex)
{
    return row_fwd_dispatch<ROW_RMS>(a, ex);
}
