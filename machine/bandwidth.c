/* STREAM-like bandwidth ceiling (bandwidth.h): fp32 copy a[i] = b[i] and
 * scale a[i] = s * b[i] over two arrays of at least bytes_each, on the
 * kernel thread pool (same threads, same pinning as the kernels), each
 * thread its contiguous slice as kern_split_rows gives it.
 *
 * Bytes per pass = read b + write a = 2 * 4 * n, as STREAM counts, without
 * the write-allocate (read-for-ownership) traffic of plain stores. Stores
 * follow the kernels' own rule (kernels/x86/x86.h): non-temporal when the
 * output is at least KX_NT_MIN_BYTES, plain below. So the ceiling is what
 * loads and stores of the kind the kernels issue reach, and "% of copy" in
 * bench-kernels compares like with like. The widest vectors the CPU has are
 * used (AVX-512, AVX2, else SSE2), as the kernels do. Results are checked
 * after the timed passes, like STREAM's. */
#include "bandwidth.h"
#include "stats.h"
#include "x86/x86.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float *a;
    const float *b;
    size_t n; /* elements, a multiple of 16 */
    float s;  /* scale factor; 0 = copy */
    int nt;
    unsigned isa;
} bw_ctx;

/* Each thread gets whole 64-byte lines so streaming stores stay aligned. */
static void bw_slice(const bw_ctx *c, int index, int nthreads, size_t *b, size_t *e)
{
    kern_split_rows(c->n / 16, index, nthreads, b, e);
    *b *= 16;
    *e *= 16;
}

__attribute__((target("avx512f"))) static void bw_avx512(const bw_ctx *c, size_t b, size_t e)
{
    float *a = c->a;
    const float *src = c->b;
    const __m512 s = _mm512_set1_ps(c->s);
    if (c->s == 0 && c->nt)
        for (size_t i = b; i < e; i += 16)
            _mm512_stream_ps(a + i, _mm512_load_ps(src + i));
    else if (c->s == 0)
        for (size_t i = b; i < e; i += 16)
            _mm512_store_ps(a + i, _mm512_load_ps(src + i));
    else if (c->nt)
        for (size_t i = b; i < e; i += 16)
            _mm512_stream_ps(a + i, _mm512_mul_ps(s, _mm512_load_ps(src + i)));
    else
        for (size_t i = b; i < e; i += 16)
            _mm512_store_ps(a + i, _mm512_mul_ps(s, _mm512_load_ps(src + i)));
}

__attribute__((target("avx2"))) static void bw_avx2(const bw_ctx *c, size_t b, size_t e)
{
    float *a = c->a;
    const float *src = c->b;
    const __m256 s = _mm256_set1_ps(c->s);
    if (c->s == 0 && c->nt)
        for (size_t i = b; i < e; i += 8)
            _mm256_stream_ps(a + i, _mm256_load_ps(src + i));
    else if (c->s == 0)
        for (size_t i = b; i < e; i += 8)
            _mm256_store_ps(a + i, _mm256_load_ps(src + i));
    else if (c->nt)
        for (size_t i = b; i < e; i += 8)
            _mm256_stream_ps(a + i, _mm256_mul_ps(s, _mm256_load_ps(src + i)));
    else
        for (size_t i = b; i < e; i += 8)
            _mm256_store_ps(a + i, _mm256_mul_ps(s, _mm256_load_ps(src + i)));
}

static void bw_sse2(const bw_ctx *c, size_t b, size_t e)
{
    float *a = c->a;
    const float *src = c->b;
    const __m128 s = _mm_set1_ps(c->s == 0 ? 1.0f : c->s);
    for (size_t i = b; i < e; i += 4) {
        __m128 v = _mm_load_ps(src + i);
        if (c->s != 0)
            v = _mm_mul_ps(s, v);
        if (c->nt)
            _mm_stream_ps(a + i, v);
        else
            _mm_store_ps(a + i, v);
    }
}

static void bw_task(int index, int nthreads, void *ctx)
{
    const bw_ctx *c = ctx;
    size_t b, e;
    bw_slice(c, index, nthreads, &b, &e);
    if (c->isa & ISA_AVX512)
        bw_avx512(c, b, e);
    else if (c->isa & ISA_AVX2)
        bw_avx2(c, b, e);
    else
        bw_sse2(c, b, e);
    if (c->nt)
        _mm_sfence();
}

/* First touch by the threads that will use each slice. */
static void bw_init_task(int index, int nthreads, void *ctx)
{
    const bw_ctx *c = ctx;
    size_t b, e;
    bw_slice(c, index, nthreads, &b, &e);
    float *src = (float *)c->b;
    for (size_t i = b; i < e; i++) {
        src[i] = (float)(i % 1024) * 0.25f + 1.0f;
        c->a[i] = 0.0f;
    }
}

static void bw_run(kern_pool *pool, kern_task_fn fn, bw_ctx *c)
{
    if (pool)
        kern_pool_run(pool, fn, c);
    else
        fn(0, 1, c);
}

/* Every 4097th element (and the last) of a must be s * b (s = 1: copy). */
static int bw_verify(const bw_ctx *c, float s)
{
    for (size_t i = 0; i < c->n; i += 4097)
        if (c->a[i] != s * c->b[i])
            return -1;
    return c->a[c->n - 1] == s * c->b[c->n - 1] ? 0 : -1;
}

int bandwidth_measure(kern_pool *pool, uint64_t bytes_each, int reps, bandwidth_result *out,
                      dyt_err *e)
{
    memset(out, 0, sizeof *out);
    if (reps < 1)
        return dyt_errf(e, DYT_USAGE, "bandwidth: reps must be >= 1, got %d", reps);
    if (bytes_each < 64 * 1024)
        bytes_each = 64 * 1024;
    size_t n = (size_t)((bytes_each + 63) / 64 * 16); /* whole lines */
    float *a = dyt_alloc(n * sizeof *a), *b = dyt_alloc(n * sizeof *b);
    double *copy = malloc((size_t)reps * sizeof *copy), *scale = malloc((size_t)reps * sizeof *scale);
    int rc = DYT_OK;
    if (!a || !b || !copy || !scale) {
        rc = dyt_errf(e, DYT_USAGE, "bandwidth: cannot allocate 2 x %llu bytes",
                      (unsigned long long)(n * sizeof *a));
        goto out;
    }
    bw_ctx c = {a, b, n, 0.0f, n * sizeof *a >= KX_NT_MIN_BYTES, kern_cpu_flags()};
    bw_run(pool, bw_init_task, &c);
    const double bytes = 2.0 * (double)n * sizeof *a;
    bw_run(pool, bw_task, &c); /* warm-up: page faults, frequency */
    for (int r = 0; r < reps; r++) {
        c.s = 0.0f;
        uint64_t t0 = dyt_now_ns();
        bw_run(pool, bw_task, &c);
        uint64_t t1 = dyt_now_ns();
        copy[r] = bytes / (double)(t1 - t0);
        if (r == 0 && bw_verify(&c, 1.0f)) {
            rc = dyt_errf(e, DYT_FAIL, "bandwidth: copy produced wrong values");
            goto out;
        }
        c.s = 3.0f;
        t0 = dyt_now_ns();
        bw_run(pool, bw_task, &c);
        t1 = dyt_now_ns();
        scale[r] = bytes / (double)(t1 - t0);
        if (r == 0 && bw_verify(&c, 3.0f)) {
            rc = dyt_errf(e, DYT_FAIL, "bandwidth: scale produced wrong values");
            goto out;
        }
    }
    for (int r = 0; r < reps; r++) {
        out->copy_gbps_best = fmax(out->copy_gbps_best, copy[r]);
        out->scale_gbps_best = fmax(out->scale_gbps_best, scale[r]);
    }
    out->copy_gbps_median = stats_median(copy, (size_t)reps);
    out->scale_gbps_median = stats_median(scale, (size_t)reps);
    out->bytes_per_pass = (uint64_t)bytes;
    out->threads = pool ? kern_pool_threads(pool) : 1;
    out->reps = reps;
out:
    dyt_free(a);
    dyt_free(b);
    free(copy);
    free(scale);
    return rc;
}
