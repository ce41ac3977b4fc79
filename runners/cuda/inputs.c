/* Inputs of a GPU case: generated on the host from the run's seed (the
 * same distributions as the CPU runner, see runners/cpu/buffers.c),
 * converted to the storage dtype, copied to the device once; outputs are
 * allocated and written once so nothing is first-touched in a sample. For
 * backward the forward statistics come from the fused `cuda` forward. */
#include "cuda_internal.h"
#include "bf16.h"
#include "kern_cuda.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

uint16_t f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u); /* NaN */
    if (a >= 0x477ff000u)                  /* rounds to >= 65520: inf */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) { /* subnormal half (or zero) */
        if (a < 0x33000000u)
            return (uint16_t)sign;
        uint32_t m = (a & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(a >> 23); /* 14..24 */
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u)))
            r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = a - 0x38000000u; /* rebias 127 -> 15 */
    uint32_t low = r & 0x1fffu;
    r >>= 13;
    if (low > 0x1000u || (low == 0x1000u && (r & 1u)))
        r++;
    return (uint16_t)(sign | r);
}

float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, u;
    if (e == 0) {
        float f = ldexpf((float)m, -24);
        return sign ? -f : f;
    }
    if (e == 31)
        u = sign | 0x7f800000u | (m << 13);
    else
        u = sign | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void gpu_case_args_init(const plan_case *c, norm_args *a)
{
    memset(a, 0, sizeof *a);
    a->rows = c->rows;
    a->cols = c->cols;
    a->dtype = c->dtype;
    a->alpha = (float)c->model->alpha;
    a->eps = (float)c->model->eps;
    a->has_beta = c->model->beta;
    a->affine = c->norm == NORM_DYT ? 1 : c->model->affine;
}

static void put(void *base, dtype_kind d, size_t i, float v)
{
    if (d == DTYPE_F32)
        ((float *)base)[i] = v;
    else if (d == DTYPE_BF16)
        ((bf16_t *)base)[i] = f32_to_bf16(v);
    else
        ((uint16_t *)base)[i] = f32_to_f16(v);
}

#define NTAB 65536

void gpu_buffers_free(gpu_case_buffers *b)
{
    for (size_t i = 0; i < b->n_dev; i++)
        cudaFree(b->dev_allocs[i]);
    free(b->host_x);
    free(b->host_dy);
    free(b->host_gamma);
    free(b->host_beta);
    free(b->host_mean);
    free(b->host_rstd);
    memset(b, 0, sizeof *b);
}

static void *dev_alloc(gpu_case_buffers *b, size_t bytes, const void *init, cudaError_t *ce)
{
    void *p = NULL;
    if (*ce != cudaSuccess)
        return NULL;
    if ((*ce = cudaMalloc(&p, bytes)) != cudaSuccess)
        return NULL;
    b->dev_allocs[b->n_dev++] = p;
    *ce = init ? cudaMemcpy(p, init, bytes, cudaMemcpyHostToDevice) : cudaMemset(p, 0, bytes);
    return p;
}

int gpu_buffers_create(const plan_case *c, uint64_t seed, gpu_case_buffers *b, dyt_err *e)
{
    memset(b, 0, sizeof *b);
    gpu_case_args_init(c, &b->dev);
    size_t rows = c->rows, cols = c->cols, n = rows * cols, es = dtype_size(c->dtype);
    float *tab = malloc(NTAB * sizeof *tab), *mu = malloc(cols * sizeof *mu);
    b->host_x = malloc(n * es);
    b->host_gamma = malloc(cols * sizeof(float));
    b->host_beta = malloc(cols * sizeof(float));
    if (c->pass == PASS_BWD)
        b->host_dy = malloc(n * es);
    if (!tab || !mu || !b->host_x || !b->host_gamma || !b->host_beta ||
        (c->pass == PASS_BWD && !b->host_dy)) {
        free(tab);
        free(mu);
        gpu_buffers_free(b);
        return dyt_errf(e, DYT_FAIL, "out of host memory for %zu x %zu inputs", rows, cols);
    }
    dyt_rng r;
    dyt_rng_seed(&r, seed);
    for (size_t i = 0; i < NTAB; i++)
        tab[i] = (float)dyt_rng_normal(&r, 0, 1);
    for (size_t j = 0; j < cols; j++) {
        mu[j] = (float)dyt_rng_normal(&r, 0, 0.5);
        if (dyt_rng_u64(&r) % 256 == 0)
            mu[j] *= 8.0f;
        b->host_gamma[j] = (float)dyt_rng_normal(&r, 1, 0.1);
        b->host_beta[j] = (float)dyt_rng_normal(&r, 0, 0.1);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t u = dyt_rng_u64(&r);
        float v = tab[u & (NTAB - 1)];
        if (((u >> 16) & 1023) == 0)
            v *= 10.0f;
        put(b->host_x, c->dtype, i, mu[i % cols] + v);
        if (b->host_dy)
            put(b->host_dy, c->dtype, i, tab[(u >> 32) & (NTAB - 1)]);
    }
    free(tab);
    free(mu);

    cudaError_t ce = cudaSuccess;
    norm_args *a = &b->dev;
    size_t act = n * es, vec = cols * sizeof(float), rowb = rows * sizeof(float);
    a->x = dev_alloc(b, act, b->host_x, &ce);
    a->gamma = dev_alloc(b, vec, b->host_gamma, &ce);
    a->beta = dev_alloc(b, vec, b->host_beta, &ce);
    a->mean = dev_alloc(b, rowb, NULL, &ce);
    a->rstd = dev_alloc(b, rowb, NULL, &ce);
    if (c->pass == PASS_FWD) {
        a->y = dev_alloc(b, act, NULL, &ce);
    } else {
        a->dy = dev_alloc(b, act, b->host_dy, &ce);
        a->dx = dev_alloc(b, act, NULL, &ce);
        a->dgamma = dev_alloc(b, vec, NULL, &ce);
        a->dbeta = dev_alloc(b, vec, NULL, &ce);
        a->dalpha = dev_alloc(b, sizeof(float), NULL, &ce);
    }
    if (ce != cudaSuccess) {
        gpu_buffers_free(b);
        return dyt_errf(e, DYT_FAIL, "device buffers for %zu x %zu %s: %s", rows, cols,
                        dtype_name(c->dtype), cudaGetErrorString(ce));
    }
    if (c->pass == PASS_BWD && c->norm != NORM_DYT) {
        /* The statistics backward consumes, from the fused forward into a
         * scratch y. */
        const kern_entry *f = kern_find(c->norm, PASS_FWD, c->dtype, "cuda");
        norm_args fa = *a;
        fa.y = dev_alloc(b, act, NULL, &ce);
        kern_exec ex = {0};
        if (!f || ce != cudaSuccess || f->fn(&fa, &ex) != 0 ||
            (ce = cudaDeviceSynchronize()) != cudaSuccess) {
            gpu_buffers_free(b);
            return dyt_errf(e, DYT_FAIL, "computing the forward statistics: %s",
                            ce != cudaSuccess ? cudaGetErrorString(ce) : "cuda forward refused");
        }
        b->host_mean = malloc(rowb);
        b->host_rstd = malloc(rowb);
        if (!b->host_mean || !b->host_rstd ||
            cudaMemcpy(b->host_mean, a->mean, rowb, cudaMemcpyDeviceToHost) != cudaSuccess ||
            cudaMemcpy(b->host_rstd, a->rstd, rowb, cudaMemcpyDeviceToHost) != cudaSuccess) {
            gpu_buffers_free(b);
            return dyt_errf(e, DYT_FAIL, "copying the forward statistics back");
        }
    }
    return DYT_OK;
}
