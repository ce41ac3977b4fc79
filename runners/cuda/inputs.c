/* Inputs of a GPU case: generated on the host from the run's seed in the
 * storage dtype by runner_case_inputs (runners/inputs.c: the values the
 * CPU runner times for the same seed and shape), copied to the device
 * once; outputs are allocated and written once so nothing is first-touched
 * in a sample. For backward the forward statistics come from the fused
 * `cuda` forward. */
#include "cuda_internal.h"
#include "kern_cuda.h"

#include <cuda_runtime_api.h>
#include <stdlib.h>
#include <string.h>

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
    runner_case_args(c, &b->dev);
    size_t rows = c->rows, cols = c->cols, n = rows * cols, es = dtype_size(c->dtype);
    b->host_x = malloc(n * es);
    b->host_gamma = malloc(cols * sizeof(float));
    b->host_beta = malloc(cols * sizeof(float));
    if (c->pass == PASS_BWD)
        b->host_dy = malloc(n * es);
    if (!b->host_x || !b->host_gamma || !b->host_beta || (c->pass == PASS_BWD && !b->host_dy)) {
        gpu_buffers_free(b);
        return dyt_errf(e, DYT_FAIL, "out of host memory for %zu x %zu inputs", rows, cols);
    }
    if (runner_case_inputs(c, seed, b->host_x, b->host_gamma, b->host_beta, b->host_dy, e) !=
        DYT_OK) {
        gpu_buffers_free(b);
        return DYT_FAIL;
    }

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
