/* The `eager` CUDA variants: the launch sequence unfused framework code
 * produces, one kernel per tensor operation with every intermediate in
 * memory, so the paper's eager-versus-compiled contrast can be reproduced
 * and explained by bytes moved and launches.
 *
 * RMSNorm forward is the Hugging Face LLaMA module:
 *   h = x.to(float32); v = h.pow(2).mean(-1); h = h * rsqrt(v + eps);
 *   y = weight * h.to(x.dtype)
 * as cast, square, row mean, add eps, rsqrt, broadcast multiply, cast back,
 * weight multiply (a fp32 input skips the two no-op casts, as PyTorch
 * does). DyT forward is alpha*x, tanh, gamma*t+beta: three element-wise
 * kernels with intermediates in the storage dtype (PyTorch on bf16
 * tensors). The backward passes are the kernels autograd runs for these
 * graphs (forward intermediates that autograd would have saved are
 * recomputed from x, as activation checkpointing does); the tensors that
 * feed the parameter-gradient reductions are kept in fp32, and the column
 * reductions are two-stage and deterministic like the fused kernels'. */
#include "common.cuh"

using namespace kcuda;

namespace {

enum map_op { M_SCALE, M_TANH, M_CAST, M_SQUARE, M_ADDS, M_RSQRT, M_CUBE };
enum bcast { BC_NONE, BC_ROW, BC_COL };

__device__ __forceinline__ size_t gtid() { return (size_t)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ size_t gstride() { return (size_t)gridDim.x * blockDim.x; }

template <typename Ti, typename To>
__global__ void ew_map(const Ti *__restrict__ in, To *__restrict__ out, size_t n, int op, float p)
{
    for (size_t i = gtid(); i < n; i += gstride()) {
        float v = to_f(in[i]);
        switch (op) {
        case M_SCALE: v *= p; break;
        case M_TANH: v = tanh_fast(v); break;
        case M_SQUARE: v *= v; break;
        case M_ADDS: v += p; break;
        case M_RSQRT: v = rsqrtf(v); break;
        case M_CUBE: v = v * v * v; break;
        default: break;
        }
        out[i] = from_f<To>(v);
    }
}

/* out = p * a * b, b indexed per element, per row or per column. */
template <typename Ta, typename Tb, typename To>
__global__ void ew_mul(const Ta *a, const Tb *b, To *out, /* may alias: in-place steps */
                       size_t n, size_t cols, int bc, float p)
{
    for (size_t i = gtid(); i < n; i += gstride()) {
        size_t j = bc == BC_NONE ? i : bc == BC_ROW ? i / cols : i % cols;
        out[i] = from_f<To>(p * to_f(a[i]) * to_f(b[j]));
    }
}

template <typename To>
__global__ void ew_add(const float *__restrict__ a, const float *__restrict__ b, To *__restrict__ out,
                       size_t n)
{
    for (size_t i = gtid(); i < n; i += gstride())
        out[i] = from_f<To>(a[i] + b[i]);
}

/* out[i] = p * v[i / cols]: autograd's expand of a row statistic. */
__global__ void ew_expand(const float *__restrict__ v, float *__restrict__ out, size_t n,
                          size_t cols, float p)
{
    for (size_t i = gtid(); i < n; i += gstride())
        out[i] = p * v[i / cols];
}

template <typename T>
__global__ void ew_affine(const T *__restrict__ t, const float *__restrict__ gamma,
                          const float *__restrict__ beta, T *__restrict__ y, size_t n, size_t cols)
{
    for (size_t i = gtid(); i < n; i += gstride())
        y[i] = from_f<T>(gamma[i % cols] * to_f(t[i]) + (beta ? beta[i % cols] : 0.f));
}

/* tanh backward: out = dt * (1 - t^2) (fp32, it feeds dalpha). */
template <typename T>
__global__ void ew_tanh_bwd(const T *__restrict__ dt, const T *__restrict__ t,
                            float *__restrict__ out, size_t n)
{
    for (size_t i = gtid(); i < n; i += gstride()) {
        float th = to_f(t[i]);
        out[i] = to_f(dt[i]) * (1.f - th * th);
    }
}

/* out[r] = p * sum of row r: a block per row, fixed tree. */
template <typename Ti>
__global__ void __launch_bounds__(256) row_sum(const Ti *__restrict__ in, float *__restrict__ out,
                                               size_t cols, float p)
{
    __shared__ float w[8];
    const Ti *row = in + (size_t)blockIdx.x * cols;
    float s = 0.f;
    for (size_t j = threadIdx.x; j < cols; j += blockDim.x)
        s += to_f(row[j]);
    s = warp_sum(s);
    if ((threadIdx.x & 31) == 0)
        w[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        float t = 0.f;
        for (int k = 0; k < (int)(blockDim.x >> 5); k++)
            t += w[k];
        out[blockIdx.x] = p * t;
    }
}

/* Column sums, stage 1: chunk c of rows -> part[c][col]. */
template <typename Ti>
__global__ void col_partial(const Ti *__restrict__ in, size_t rows, size_t cols, size_t chunk,
                            float *__restrict__ part)
{
    size_t col = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= cols)
        return;
    size_t r0 = (size_t)blockIdx.y * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
    float s = 0.f;
    for (size_t r = r0; r < r1; r++)
        s += to_f(in[r * cols + col]);
    part[(size_t)blockIdx.y * cols + col] = s;
}

__global__ void col_combine(const float *__restrict__ part, unsigned P, size_t cols,
                            float *__restrict__ out)
{
    size_t col = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= cols)
        return;
    float s = 0.f;
    for (unsigned b = 0; b < P; b++)
        s += part[(size_t)b * cols + col];
    out[col] = s;
}

/* ---- host side ---------------------------------------------------------- */

struct launcher {
    cudaStream_t st;
    unsigned blocks(size_t n) const
    {
        size_t b = (n + 255) / 256, cap = (size_t)(kcuda_sm_count() > 0 ? kcuda_sm_count() : 1) * 16;
        return (unsigned)(b < cap ? b : cap);
    }
    template <typename Ti, typename To> void map(const Ti *in, To *out, size_t n, int op, float p)
    {
        ew_map<Ti, To><<<blocks(n), 256, 0, st>>>(in, out, n, op, p);
    }
    template <typename Ta, typename Tb, typename To>
    void mul(const Ta *a, const Tb *b, To *out, size_t n, size_t cols, int bc, float p = 1.f)
    {
        ew_mul<Ta, Tb, To><<<blocks(n), 256, 0, st>>>(a, b, out, n, cols, bc, p);
    }
    template <typename Ti> void rsum(const Ti *in, float *out, size_t rows, size_t cols, float p)
    {
        row_sum<Ti><<<(unsigned)rows, 256, 0, st>>>(in, out, cols, p);
    }
    /* Deterministic column sums into out (cols floats); false if no
     * workspace. */
    template <typename Ti> bool csum(const Ti *in, size_t rows, size_t cols, float *out)
    {
        size_t chunk = 64, P = (rows + chunk - 1) / chunk;
        float *part = (float *)kcuda_workspace(KCUDA_WS_PARTIAL, P * cols * sizeof(float));
        if (!part)
            return false;
        dim3 g((unsigned)((cols + 255) / 256), (unsigned)P);
        col_partial<Ti><<<g, 256, 0, st>>>(in, rows, cols, chunk, part);
        col_combine<<<(unsigned)((cols + 255) / 256), 256, 0, st>>>(part, (unsigned)P, cols, out);
        return true;
    }
};

/* Workspace of one eager call: up to three fp32 activations-sized buffers,
 * up to three storage-dtype ones and a few row vectors. */
struct eager_ws {
    float *f[3];
    void *t[3];
    float *rv[4];
};

bool get_ws(eager_ws *w, size_t n, size_t rows, size_t tsize, int nf, int nt)
{
    size_t fb = n * sizeof(float), tb = (n * tsize + 255) / 256 * 256;
    for (int i = 0; i < 3; i++)
        w->f[i] = nullptr, w->t[i] = nullptr;
    for (int i = 0; i < nf; i++)
        if (!(w->f[i] = (float *)kcuda_workspace(KCUDA_WS_EAGER0 + i, fb)))
            return false;
    char *tt = (char *)kcuda_workspace(KCUDA_WS_EAGER3, (size_t)nt * tb + 4 * rows * sizeof(float) + 256);
    if (!tt)
        return false;
    for (int i = 0; i < nt; i++)
        w->t[i] = tt + (size_t)i * tb;
    float *rv = (float *)(tt + (size_t)nt * tb);
    for (int i = 0; i < 4; i++)
        w->rv[i] = rv + (size_t)i * rows;
    return true;
}

cudaStream_t stream_of(const kern_exec *ex) { return ex ? (cudaStream_t)ex->cuda_stream : 0; }

template <typename T> int dyt_fwd(const norm_args *a, const kern_exec *ex)
{
    size_t n = a->rows * a->cols;
    eager_ws w;
    if (!a->gamma || !get_ws(&w, n, a->rows, sizeof(T), 0, 2))
        return 1;
    launcher L{stream_of(ex)};
    T *ax = (T *)w.t[0], *t = (T *)w.t[1];
    L.map((const T *)a->x, ax, n, M_SCALE, a->alpha);
    L.map(ax, t, n, M_TANH, 0.f);
    ew_affine<T><<<L.blocks(n), 256, 0, L.st>>>(t, a->gamma, a->has_beta ? a->beta : nullptr,
                                                 (T *)a->y, n, a->cols);
    return KCUDA_LAUNCH_OK() ? 0 : 1;
}

template <typename T> int dyt_bwd(const norm_args *a, const kern_exec *ex)
{
    size_t n = a->rows * a->cols, rows = a->rows, cols = a->cols;
    eager_ws w;
    if (!a->gamma || !a->dgamma || !a->dalpha || !get_ws(&w, n, rows, sizeof(T), 2, 2))
        return 1;
    launcher L{stream_of(ex)};
    const T *x = (const T *)a->x, *dy = (const T *)a->dy;
    T *ax = (T *)w.t[0], *t = (T *)w.t[1], *dt = (T *)w.t[0];
    float *prod = w.f[0], *da = w.f[1];
    L.map(x, ax, n, M_SCALE, a->alpha);          /* recomputed: a = alpha x */
    L.map(ax, t, n, M_TANH, 0.f);                /* t = tanh(a) */
    if (a->has_beta && a->dbeta && !L.csum(dy, rows, cols, a->dbeta)) /* dbeta = sum dy */
        return 1;
    L.mul(dy, t, prod, n, cols, BC_NONE);        /* dy * t */
    if (!L.csum(prod, rows, cols, a->dgamma))    /* dgamma */
        return 1;
    L.mul(dy, a->gamma, dt, n, cols, BC_COL);    /* dt = dy * gamma */
    ew_tanh_bwd<T><<<L.blocks(n), 256, 0, L.st>>>(dt, t, da, n); /* da = dt (1 - t^2) */
    L.map(da, (T *)a->dx, n, M_SCALE, a->alpha); /* dx = alpha da */
    L.mul(da, x, prod, n, cols, BC_NONE);        /* da * x */
    L.rsum(prod, w.rv[0], rows, cols, 1.f);      /* ... summed: rows, then all */
    L.rsum(w.rv[0], a->dalpha, 1, rows, 1.f);
    return KCUDA_LAUNCH_OK() ? 0 : 1;
}

template <typename T> int rms_fwd(const norm_args *a, const kern_exec *ex)
{
    size_t n = a->rows * a->cols, rows = a->rows, cols = a->cols;
    constexpr bool f32 = sizeof(T) == 4;
    eager_ws w;
    if ((a->affine && !a->gamma) || !get_ws(&w, n, rows, sizeof(T), 2, 1))
        return 1;
    launcher L{stream_of(ex)};
    const float *hf = (const float *)a->x;
    if (!f32) {
        L.map((const T *)a->x, w.f[0], n, M_CAST, 0.f); /* x.to(float32) */
        hf = w.f[0];
    }
    float *r = a->rstd ? a->rstd : w.rv[2];
    L.map(hf, w.f[1], n, M_SQUARE, 0.f);               /* pow(2) */
    L.rsum(w.f[1], w.rv[0], rows, cols, 1.0f / (float)cols); /* mean(-1) */
    L.map(w.rv[0], w.rv[1], rows, M_ADDS, a->eps);     /* + eps */
    L.map(w.rv[1], r, rows, M_RSQRT, 0.f);             /* rsqrt */
    L.mul(hf, r, w.f[1], n, cols, BC_ROW);             /* h * rsqrt(...) */
    if (!a->affine) {
        L.map(w.f[1], (T *)a->y, n, M_CAST, 0.f);      /* .to(dtype) */
        return KCUDA_LAUNCH_OK() ? 0 : 1;
    }
    const T *h2 = (const T *)w.f[1];
    if (!f32) {
        L.map(w.f[1], (T *)w.t[0], n, M_CAST, 0.f);    /* .to(dtype) */
        h2 = (const T *)w.t[0];
    }
    L.mul(h2, a->gamma, (T *)a->y, n, cols, BC_COL);   /* weight * h */
    return KCUDA_LAUNCH_OK() ? 0 : 1;
}

template <typename T> int rms_bwd(const norm_args *a, const kern_exec *ex)
{
    size_t n = a->rows * a->cols, rows = a->rows, cols = a->cols;
    constexpr bool f32 = sizeof(T) == 4;
    eager_ws w;
    if (!a->rstd || (a->affine && (!a->gamma || !a->dgamma)) ||
        !get_ws(&w, n, rows, sizeof(T), 3, 2))
        return 1;
    launcher L{stream_of(ex)};
    const T *dy = (const T *)a->dy;
    const float *r = a->rstd;
    const float *hf = (const float *)a->x;
    if (!f32) {
        L.map((const T *)a->x, w.f[0], n, M_CAST, 0.f);     /* hf = x.to(float32) */
        hf = w.f[0];
    }
    float *B = w.f[1], *C = w.f[2];
    const T *dh2 = dy; /* without weight, d(h.to(dtype)) is dy itself */
    if (a->affine) {
        L.mul(hf, r, B, n, cols, BC_ROW);                    /* h1 (recomputed) */
        const T *h2 = (const T *)B;
        if (!f32) {
            L.map(B, (T *)w.t[0], n, M_CAST, 0.f);           /* h2 = h1.to(dtype) */
            h2 = (const T *)w.t[0];
        }
        L.mul(dy, h2, C, n, cols, BC_NONE);                  /* dy * h2 */
        if (!L.csum(C, rows, cols, a->dgamma))               /* dweight */
            return 1;
        L.mul(dy, a->gamma, (T *)w.t[1], n, cols, BC_COL);   /* dh2 = dy * weight */
        dh2 = (const T *)w.t[1];
    }
    const float *dh1 = (const float *)dh2;
    if (!f32) {
        L.map(dh2, B, n, M_CAST, 0.f);                       /* dh1 = dh2.to(float32) */
        dh1 = B;
    }
    L.mul(dh1, r, C, n, cols, BC_ROW);                       /* dhf_a = dh1 * r */
    L.mul(dh1, hf, B, n, cols, BC_NONE);                     /* dh1 * hf */
    L.rsum(B, w.rv[0], rows, cols, 1.f);                     /* dr = sum(-1) */
    L.map(r, w.rv[1], rows, M_CUBE, 0.f);                    /* r^3 */
    L.mul(w.rv[0], w.rv[1], w.rv[2], rows, 1, BC_NONE, -0.5f); /* rsqrt backward */
    ew_expand<<<L.blocks(n), 256, 0, L.st>>>(w.rv[2], B, n, cols, 1.0f / (float)cols); /* mean bwd */
    L.mul(hf, B, B, n, cols, BC_NONE, 2.f);                  /* pow backward */
    ew_add<T><<<L.blocks(n), 256, 0, L.st>>>(C, B, (T *)a->dx, n); /* sum, .to(dtype) */
    return KCUDA_LAUNCH_OK() ? 0 : 1;
}

} // namespace

#define EAGER_DISPATCH(fn)                                                                     \
    switch (a->dtype) {                                                                        \
    case DTYPE_F32: return fn<float>(a, ex);                                                   \
    case DTYPE_BF16: return fn<__nv_bfloat16>(a, ex);                                          \
    case DTYPE_F16: return fn<__half>(a, ex);                                                  \
    default: return 1;                                                                         \
    }

extern "C" int kcuda_eager_dyt_fwd(const norm_args *a, const kern_exec *ex) { EAGER_DISPATCH(dyt_fwd) }
extern "C" int kcuda_eager_dyt_bwd(const norm_args *a, const kern_exec *ex) { EAGER_DISPATCH(dyt_bwd) }
extern "C" int kcuda_eager_rmsnorm_fwd(const norm_args *a, const kern_exec *ex)
{
    EAGER_DISPATCH(rms_fwd)
}
extern "C" int kcuda_eager_rmsnorm_bwd(const norm_args *a, const kern_exec *ex)
{
    EAGER_DISPATCH(rms_bwd)
}
