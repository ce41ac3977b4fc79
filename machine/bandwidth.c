/* STREAM-like bandwidth ceilings (bandwidth.h): fp32 copy a[i] = b[i] and
 * scale a[i] = s * b[i] over two arrays making up a given working set, on
 * the kernel thread pool (same threads, same pinning as the kernels), each
 * thread its contiguous slice as kern_split_rows gives it. A working set a
 * cache level holds stays there: each pass is one pool dispatch, like one
 * kernel call of a hot case, and a sample repeats passes until it is long
 * enough to time.
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

const char *bandwidth_level_name(bw_level l)
{
    static const char *const names[BW_LEVELS] = {"l1", "l2", "llc", "dram"};
    return l < BW_LEVELS ? names[l] : "?";
}

void bandwidth_caches(const machine_info *m, int threads, bw_caches *out)
{
    uint64_t cores = m->cores > 0 ? (uint64_t)m->cores : 1;
    uint64_t t = threads < 1 ? 1 : (uint64_t)threads > cores ? cores : (uint64_t)threads;
    uint64_t v[BW_LEVELS] = {m->l1d_bytes * t, m->l2_bytes * t, m->llc_bytes * t / cores,
                             UINT64_MAX};
    uint64_t below = 0;
    for (int l = 0; l < BW_LEVELS; l++) {
        /* A level no bigger than the one before it holds nothing new. */
        out->bytes[l] = v[l] > below ? v[l] : 0;
        if (out->bytes[l])
            below = out->bytes[l];
    }
}

bw_level bandwidth_level_of(const bw_caches *c, uint64_t bytes)
{
    for (int l = 0; l < BW_DRAM; l++)
        if (c->bytes[l] && bytes <= c->bytes[l])
            return (bw_level)l;
    return BW_DRAM;
}

/* Nanoseconds that `passes` passes (one dispatch each) take. */
static double time_passes(kern_pool *pool, bw_ctx *c, int passes)
{
    uint64_t t0 = dyt_now_ns();
    for (int k = 0; k < passes; k++)
        bw_run(pool, bw_task, c);
    return (double)(dyt_now_ns() - t0);
}

int bandwidth_measure(kern_pool *pool, const bandwidth_spec *sp, bandwidth_result *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    int reps = sp->reps;
    if (reps < 1)
        return dyt_errf(e, DYT_USAGE, "bandwidth: reps must be >= 1, got %d", reps);
    int threads = pool ? kern_pool_threads(pool) : 1;
    /* Whole 64-byte lines, at least 1 KiB per thread and array. */
    size_t n = (size_t)((sp->working_set / 2 + 63) / 64 * 16);
    n = DYT_MAX(n, (size_t)256 * (size_t)threads);
    float *a = dyt_alloc_pages(n * sizeof *a, sp->pages), *b = dyt_alloc_pages(n * sizeof *b, sp->pages);
    double *copy = malloc((size_t)reps * sizeof *copy), *scale = malloc((size_t)reps * sizeof *scale);
    int rc = DYT_OK;
    if (!a || !b || !copy || !scale) {
        rc = dyt_errf(e, DYT_USAGE, "bandwidth: cannot allocate 2 x %llu bytes",
                      (unsigned long long)(n * sizeof *a));
        goto out;
    }
    bw_ctx c = {a, b, n, 0.0f, n * sizeof *a >= KX_NT_MIN_BYTES, kern_cpu_flags()};
    bw_run(pool, bw_init_task, &c);
    out->pages = sp->pages;
    if (n * sizeof *a >= DYT_HUGE_PAGE) {
        /* What the pages are is part of what the ceiling measured. */
        int64_t ha = dyt_pages_granted(a, n * sizeof *a), hb = dyt_pages_granted(b, n * sizeof *b);
        out->paged_bytes = 2 * n * sizeof *a;
        out->huge_bytes = ha < 0 || hb < 0 ? -1 : ha + hb;
    }
    const double bytes = 2.0 * (double)n * sizeof *a;
    /* Warm-up (page faults, frequency, the caches, the pool's workers
     * awake), growing the passes per sample until one lasts min_sample_ns,
     * as the runner sizes a case's batch. */
    int passes = 1;
    for (int tries = 0; tries < 32; tries++) {
        double ns = time_passes(pool, &c, passes);
        if (ns >= (double)sp->min_sample_ns && tries > 0)
            break;
        double f = ns > 0 ? 1.2 * (double)sp->min_sample_ns / ns : 16.0;
        passes = (int)DYT_MIN(ceil(passes * DYT_MIN(DYT_MAX(f, 1.0), 16.0)), (double)(1 << 20));
    }
    for (int r = 0; r < reps; r++) {
        c.s = 0.0f;
        copy[r] = bytes * passes / time_passes(pool, &c, passes);
        if (r == 0 && bw_verify(&c, 1.0f)) {
            rc = dyt_errf(e, DYT_FAIL, "bandwidth: copy produced wrong values");
            goto out;
        }
        c.s = 3.0f;
        scale[r] = bytes * passes / time_passes(pool, &c, passes);
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
    out->threads = threads;
    out->reps = reps;
    out->passes = passes;
    out->nt = c.nt;
    out->isa = c.isa & ISA_AVX512 ? "avx512" : c.isa & ISA_AVX2 ? "avx2" : "sse2";
out:
    dyt_free(a);
    dyt_free(b);
    free(copy);
    free(scale);
    return rc;
}

void bandwidth_pages(const bandwidth_result *r, char *buf, size_t n)
{
    dyt_pages_text(r->pages, r->paged_bytes, r->huge_bytes, buf, n);
}

void bandwidth_describe(const bandwidth_result *r, int scale, char *buf, size_t n)
{
    char arr[32], pages[64];
    dyt_fmt_bytes(arr, sizeof arr, (double)r->bytes_per_pass / 2);
    bandwidth_pages(r, pages, sizeof pages);
    snprintf(buf, n,
             "STREAM %s over 2 fp32 arrays of %s, %s %s stores, %d thread(s), %d pass(es) per "
             "sample, best and median of %d, %s",
             scale ? "scale a[i] = 3 b[i]" : "copy a[i] = b[i]", arr, r->isa,
             r->nt ? "streaming" : "plain", r->threads, r->passes, r->reps, pages);
}
