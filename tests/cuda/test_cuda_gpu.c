/* GPU tests of the CUDA variants: every DEVICE_CUDA entry against the CPU
 * ref through the runner's own path (device inputs, fused forward
 * statistics, gpu_case_verify), on shapes that take every launch path
 * (warp rows, block rows, 16-byte and scalar accesses, rows too wide for
 * registers, a single row); and the backward reductions bitwise
 * deterministic across calls. Without a usable GPU the test exits 77
 * (meson: skipped) and prints CUDA's reason. */
#include "cuda_internal.h"
#include "dyt_config.h"
#include "kern_cuda.h"
#include "suite.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const size_t shapes[][2] = {
    {7, 96}, {33, 768}, {64, 4096}, {5, 1001}, {3, 20000}, {1, 8192}, {300, 512},
};

static int check_entry(const kern_entry *k, int *fails)
{
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int beta = 0; beta < 2; beta++) {
            suite_model m;
            memset(&m, 0, sizeof m);
            snprintf(m.name, sizeof m.name, "test");
            m.domain = DOMAIN_LLM;
            m.norm = k->norm == NORM_DYT ? NORM_LAYERNORM : k->norm;
            m.hidden = shapes[s][1];
            m.alpha = 0.5;
            m.beta = beta;
            m.affine = beta; /* both with and without parameters */
            m.eps = 1e-5;
            plan_case c = {.model = &m, .suite_name = "test", .rows = shapes[s][0],
                           .cols = shapes[s][1], .token_label = "", .norm = k->norm,
                           .dtype = k->dtype, .pass = k->pass, .variant = k, .threads = 1};
            gpu_case_buffers b;
            dyt_err e = {{0}};
            runner_case_result res;
            memset(&res, 0, sizeof res);
            int rc = gpu_buffers_create(&c, 7 + s, &b, &e);
            if (rc == DYT_OK)
                rc = gpu_case_verify(&c, &b, &res, &e);
            gpu_buffers_free(&b);
            if (rc != DYT_OK) {
                printf("FAIL %s %s %s %s %zux%zu beta/affine=%d: %s\n", k->name,
                       norm_name(k->norm), pass_name(k->pass), dtype_name(k->dtype), c.rows,
                       c.cols, beta, e.msg);
                (*fails)++;
            }
        }
    }
    return 0;
}

/* dgamma of the fused backward, twice: bitwise equal. */
static int check_determinism(norm_kind nk, int *fails)
{
    const kern_entry *k = kern_find(nk, PASS_BWD, DTYPE_BF16, "cuda");
    size_t rows = 4096, cols = 4096;
    suite_model m;
    memset(&m, 0, sizeof m);
    m.norm = nk == NORM_DYT ? NORM_LAYERNORM : nk;
    m.alpha = 0.5, m.beta = 1, m.affine = 1, m.eps = 1e-5;
    plan_case c = {.model = &m, .suite_name = "t", .rows = rows, .cols = cols, .token_label = "",
                   .norm = nk, .dtype = DTYPE_BF16, .pass = PASS_BWD, .variant = k, .threads = 1};
    gpu_case_buffers b;
    dyt_err e = {{0}};
    if (!k || gpu_buffers_create(&c, 3, &b, &e) != DYT_OK) {
        printf("FAIL determinism setup %s: %s\n", norm_name(nk), e.msg);
        (*fails)++;
        return 0;
    }
    float *g[2] = {malloc(cols * 4), malloc(cols * 4)};
    float dal[2] = {0, 0};
    for (int rep = 0; rep < 2; rep++) {
        kern_exec ex = {0};
        if (!g[rep] || k->fn(&b.dev, &ex) != 0 || cudaDeviceSynchronize() != cudaSuccess ||
            cudaMemcpy(g[rep], b.dev.dgamma, cols * 4, cudaMemcpyDeviceToHost) != cudaSuccess ||
            cudaMemcpy(&dal[rep], b.dev.dalpha, 4, cudaMemcpyDeviceToHost) != cudaSuccess) {
            printf("FAIL determinism run %s\n", norm_name(nk));
            (*fails)++;
            break;
        }
    }
    if (g[0] && g[1] && (memcmp(g[0], g[1], cols * 4) || (nk == NORM_DYT && dal[0] != dal[1]))) {
        printf("FAIL %s backward reductions differ between two calls\n", norm_name(nk));
        (*fails)++;
    }
    free(g[0]);
    free(g[1]);
    gpu_buffers_free(&b);
    return 0;
}

int main(void)
{
    if (!cuda_device_usable()) {
        printf("SKIP: no usable GPU was found: %s\n", cuda_unusable_reason());
        return 77;
    }
    size_t n;
    const kern_entry *r = kern_registry(&n);
    int fails = 0, checked = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].device == DEVICE_CUDA) {
            check_entry(&r[i], &fails);
            checked++;
        }
    for (int nk = 0; nk < NORM_COUNT; nk++)
        check_determinism((norm_kind)nk, &fails);
    kcuda_workspace_release();
    printf("%d CUDA entries checked, %d failure(s)\n", checked, fails);
    return fails ? 1 : 0;
}
