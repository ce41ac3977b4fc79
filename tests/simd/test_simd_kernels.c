/* The avx2 / avx512 / avx512bf16 kernels' own edge logic, beyond what the
 * kernels suite's harness covers: every width 1..70 and 4097 (heads, masked
 * tails), rows 1..3, output pointers at every element offset within a vector
 * (the streaming-store head), guard zones around every output that must
 * stay untouched, outputs large enough (>= KX_NT_MIN_BYTES) to take the
 * streaming-store path (and backward's column strips), NaN rows, backward column sums over several fp32
 * row blocks, and bitwise-deterministic reductions.
 * Correctness is judged by the one harness (kernels/check.h) against ref. */
#include "dyt_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels.h"
#include "x86/x86.h"

static const char *const variants[] = {"avx2", "avx512", "avx512bf16"};

#define GUARD 64
static const uint16_t SENTINEL = 0x7bad;

/* A buffer of n elements of esz bytes at element offset off from a
 * 64-byte boundary, with GUARD elements of sentinel on both sides. */
typedef struct {
    unsigned char *raw;
    void *p;
    size_t bytes, esz, n;
} guarded;

static void g_alloc(guarded *g, size_t n, size_t esz, size_t off)
{
    g->esz = esz, g->n = n;
    g->bytes = (n + 2 * GUARD + 64) * esz;
    g->raw = aligned_alloc(64, (g->bytes + 63) / 64 * 64);
    assert_non_null(g->raw);
    for (size_t i = 0; i < g->bytes / 2; i++)
        memcpy(g->raw + 2 * i, &SENTINEL, 2);
    g->p = g->raw + (GUARD + off) * esz;
}

static void g_check(const guarded *g, const char *what)
{
    const unsigned char *lo = g->raw, *hi = (unsigned char *)g->p + g->n * g->esz;
    const unsigned char *end = g->raw + g->bytes / 2 * 2;
    for (const unsigned char *q = lo; q < (const unsigned char *)g->p; q += 2)
        if (memcmp(q, &SENTINEL, 2))
            fail_msg("%s: written before the start", what);
    for (const unsigned char *q = hi; q + 2 <= end; q += 2)
        if (((size_t)(q - g->raw)) % 2 == 0 && memcmp(q, &SENTINEL, 2))
            fail_msg("%s: written past the end (byte %zu)", what, (size_t)(q - hi));
}

static float rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) & 0xffffff) / 4194304.0f - 2.0f;
}

static void fill(void *p, size_t n, dtype_kind d, uint64_t *s, float scale, float shift)
{
    for (size_t i = 0; i < n; i++) {
        float v = rnd(s) * scale + shift;
        if (d == DTYPE_F32)
            ((float *)p)[i] = v;
        else
            ((bf16_t *)p)[i] = f32_to_bf16(v);
    }
}

/* Runs variant e on rows x cols with the output (y or dx) at element
 * offset off, checks guards and, through the harness, the values. */
static void run_case(const kern_entry *e, size_t rows, size_t cols, size_t off, kern_pool *pool,
                     float shift)
{
    dtype_kind d = e->dtype;
    size_t esz = dtype_size(d), n = rows * cols;
    uint64_t seed = rows * 1000003u + cols * 31u + off;
    guarded x, dy, out, st1, st2, dg, db;
    g_alloc(&x, n, esz, (off + 1) % 16);
    g_alloc(&dy, n, esz, (off + 5) % 16);
    g_alloc(&out, n, esz, off);
    g_alloc(&st1, rows, 4, 3);
    g_alloc(&st2, rows, 4, 1);
    g_alloc(&dg, cols, 4, 2);
    g_alloc(&db, cols, 4, 0);
    fill(x.p, n, d, &seed, 1.0f, shift);
    fill(dy.p, n, d, &seed, 1.0f, 0.0f);
    float *gamma = malloc(cols * 4), *beta = malloc(cols * 4), dalpha[3] = {7, 7, 7};
    assert_non_null(gamma);
    assert_non_null(beta);
    for (size_t j = 0; j < cols; j++)
        gamma[j] = 1.0f + 0.25f * rnd(&seed), beta[j] = 0.25f * rnd(&seed);

    /* 1. the values, against ref, through the harness */
    kern_check_inputs in = {e->norm, e->pass, d, rows, cols, -0.75f, 1e-5f, 1, 1,
                            x.p, dy.p, gamma, beta, NULL, NULL};
    kern_check_result r;
    dyt_err err = {{0}};
    assert_int_equal(kern_check_variant(e, &in, pool, &r, &err), DYT_OK);
    if (r.skipped || !r.pass)
        fail_msg("%s %s %s %s %zux%zu off %zu: %s %s err %.3g tol %.3g", e->name,
                 norm_name(e->norm), pass_name(e->pass), dtype_name(d), rows, cols, off,
                 r.skipped ? "skipped:" : "failed:", r.skipped ? r.reason : r.output, r.worst,
                 r.tol);

    /* 2. nothing written outside the outputs */
    norm_args a = {0};
    a.rows = rows, a.cols = cols, a.dtype = d, a.alpha = -0.75f, a.eps = 1e-5f;
    a.has_beta = 1, a.affine = 1, a.x = x.p, a.gamma = gamma, a.beta = beta;
    a.mean = e->norm == NORM_LAYERNORM ? st1.p : NULL;
    a.rstd = e->norm != NORM_DYT ? st2.p : NULL;
    if (e->pass == PASS_FWD) {
        a.y = out.p;
    } else {
        for (size_t i = 0; i < rows; i++)
            ((float *)st1.p)[i] = 0.1f, ((float *)st2.p)[i] = 1.5f;
        a.dy = dy.p, a.dx = out.p, a.dgamma = dg.p;
        a.dbeta = e->norm != NORM_RMSNORM ? db.p : NULL;
        a.dalpha = e->norm == NORM_DYT ? &dalpha[1] : NULL;
    }
    kern_exec ex = {pool, NULL};
    assert_int_equal(e->fn(&a, &ex), 0);
    g_check(&out, "output");
    g_check(&st1, "mean");
    g_check(&st2, "rstd");
    g_check(&dg, "dgamma");
    g_check(&db, "dbeta");
    assert_true(dalpha[0] == 7 && dalpha[2] == 7);
    free(x.raw), free(dy.raw), free(out.raw), free(st1.raw), free(st2.raw), free(dg.raw),
        free(db.raw);
    free(gamma), free(beta);
}

/* Calls fn(entry, pool) for every variant under test this CPU supports,
 * with a pool of `threads` threads (1: none, the caller's thread); skips
 * when there is none. */
static void for_each_variant(void (*fn)(const kern_entry *, void *), int threads)
{
    kern_pool *pool = NULL;
    if (threads > 1) {
        pool = kern_pool_create(threads, NULL, NULL);
        assert_non_null(pool);
    }
    size_t count, ran = 0;
    const kern_entry *reg = kern_registry(&count);
    for (size_t i = 0; i < count; i++)
        for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++)
            if (!strcmp(reg[i].name, variants[v]) && kern_supported(&reg[i])) {
                fn(&reg[i], pool);
                ran++;
            }
    kern_pool_destroy(pool);
    if (!ran)
        skip();
}

static void widths(const kern_entry *e, void *arg)
{
    kern_pool *pool = arg;
    for (size_t cols = 1; cols <= 70; cols++)
        run_case(e, 1 + cols % 3, cols, cols % 17, pool, 0.0f);
    run_case(e, 3, 4097, 7, pool, 0.0f);
    run_case(e, 2, 1000, 0, pool, 1e4f); /* large mean: stable variance */
    run_case(e, 2, 2500, 5, pool, 1e4f); /* ... over several ROW_CHUNKs, masked tail */
}

/* Outputs >= KX_NT_MIN_BYTES take the streaming-store path (with heads at
 * odd offsets) and, for LayerNorm and RMSNorm, the blocked row pipeline
 * (KX_STREAM): every kernel, at a width with a masked tail in the last
 * column chunk and a row count that leaves each thread a partial last
 * block; LayerNorm forward on rows with a large mean (its statistics in
 * merged chunks must stay stable). */
static void streaming(const kern_entry *e, void *arg)
{
    size_t cols = 4099, rows = KX_NT_MIN_BYTES / (cols * dtype_size(e->dtype)) + 2;
    float shift = e->norm == NORM_LAYERNORM && e->pass == PASS_FWD ? 1e4f : 0.0f;
    run_case(e, rows, cols, 3, arg, shift);
}

/* fp32 LayerNorm/RMSNorm backward with every row aligned for streaming
 * stores takes the column strips (KX_STREAM_STRIPS, AVX-512; AVX2 the
 * pieces): a width whose last strip is partial (4096 + 16), rows that
 * leave each thread a partial last block, and fewer rows than threads
 * (one row past KX_NT_MIN_BYTES: one-row blocks, an idle thread). */
static void streaming_strips(const kern_entry *e, void *arg)
{
    if (e->pass != PASS_BWD || e->norm == NORM_DYT || e->dtype != DTYPE_F32)
        return;
    /* offset 15: x, and so the harness's outputs, 64-byte aligned (the
     * values checked on the strips); offset 0: the guards around an
     * aligned output */
    size_t cols = 4096 + 16, rows = KX_NT_MIN_BYTES / (cols * 4) + 3;
    run_case(e, rows, cols, 15, arg, 0.0f);
    run_case(e, rows, cols, 0, arg, 0.0f);
    size_t wide = (KX_NT_MIN_BYTES / 8 + 15) / 16 * 16 + 16;
    run_case(e, 2, wide, 15, arg, 0.0f);
}

/* Backward column sums (dgamma, dbeta) go through fp32 blocks of
 * KX_COL_BLOCK rows folded into double: rows spanning several blocks and a
 * partial one, on 1 and 3 threads (so every thread ends mid-block). */
static void column_blocks(const kern_entry *e, void *arg)
{
    if (e->pass != PASS_BWD)
        return;
    run_case(e, 3 * KX_COL_BLOCK + 5, 67, 1, arg, 0.0f);
    run_case(e, KX_COL_BLOCK + 1, 4097, 0, arg, 0.0f);
}

static void test_column_blocks(void **state)
{
    (void)state;
    for_each_variant(column_blocks, 1);
    for_each_variant(column_blocks, 3);
}

/* Same inputs, same thread count: bitwise the same gradients. */
static void determinism(const kern_entry *e, void *arg)
{
    (void)arg;
    if (e->pass != PASS_BWD)
        return;
    size_t rows = 301, cols = 77, n = rows * cols, esz = dtype_size(e->dtype);
    uint64_t seed = 99;
    void *x = malloc(n * esz), *dy = malloc(n * esz), *dx = malloc(n * esz);
    float *g = malloc(cols * 4), *b = malloc(cols * 4), *st = malloc(rows * 8);
    float *out[2][2];
    float dal[2];
    assert_true(x && dy && dx && g && b && st);
    fill(x, n, e->dtype, &seed, 1.0f, 0.0f);
    fill(dy, n, e->dtype, &seed, 1.0f, 0.0f);
    for (size_t j = 0; j < cols; j++)
        g[j] = 1.0f + 0.1f * rnd(&seed), b[j] = 0.1f * rnd(&seed);
    for (size_t i = 0; i < 2 * rows; i++)
        st[i] = 0.5f + 0.1f * rnd(&seed);
    kern_pool *pool = kern_pool_create(2, NULL, NULL);
    assert_non_null(pool);
    kern_exec ex = {pool, NULL};
    for (int k = 0; k < 2; k++) {
        out[k][0] = malloc(cols * 4), out[k][1] = malloc(cols * 4);
        assert_true(out[k][0] && out[k][1]);
        norm_args a = {rows, cols, e->dtype, 0.6f, 1e-5f, 1, 1, x, g, b, NULL, st, st + rows,
                       dy, dx, out[k][0], out[k][1], &dal[k]};
        if (e->norm == NORM_RMSNORM)
            a.dbeta = NULL, memset(out[k][1], 0, cols * 4);
        assert_int_equal(e->fn(&a, &ex), 0);
    }
    assert_memory_equal(out[0][0], out[1][0], cols * 4);
    assert_memory_equal(out[0][1], out[1][1], cols * 4);
    if (e->norm == NORM_DYT)
        assert_memory_equal(&dal[0], &dal[1], 4);
    kern_pool_destroy(pool);
    for (int k = 0; k < 2; k++)
        free(out[k][0]), free(out[k][1]);
    free(x), free(dy), free(dx), free(g), free(b), free(st);
}

/* A NaN in a row: DyT gives NaN at that element only; LayerNorm and
 * RMSNorm give NaN across the row (its statistics are NaN); other rows
 * stay finite. */
static void nan_rows(const kern_entry *e, void *arg)
{
    (void)arg;
    if (e->pass != PASS_FWD)
        return;
    size_t rows = 2, cols = 37, n = rows * cols, esz = dtype_size(e->dtype);
    uint64_t seed = 5;
    void *x = malloc(n * esz), *y = malloc(n * esz);
    float *g = malloc(cols * 4), *b = malloc(cols * 4), st[4];
    assert_true(x && y && g && b);
    fill(x, n, e->dtype, &seed, 1.0f, 0.0f);
    for (size_t j = 0; j < cols; j++)
        g[j] = 1.0f, b[j] = 0.0f;
    if (e->dtype == DTYPE_F32)
        ((float *)x)[5] = NAN;
    else
        ((bf16_t *)x)[5] = 0x7fc0;
    norm_args a = {rows, cols, e->dtype, 0.5f, 1e-5f, 1, 1, x, g, b, y, st, st + 2,
                   NULL, NULL, NULL, NULL, NULL};
    kern_exec ex = {NULL, NULL};
    assert_int_equal(e->fn(&a, &ex), 0);
    for (size_t i = 0; i < n; i++) {
        float v = e->dtype == DTYPE_F32 ? ((float *)y)[i] : bf16_to_f32(((bf16_t *)y)[i]);
        int want_nan = e->norm == NORM_DYT ? i == 5 : i < cols;
        if ((isnan(v) != 0) != want_nan)
            fail_msg("%s %s %s: y[%zu] = %g", e->name, norm_name(e->norm), dtype_name(e->dtype), i,
                     (double)v);
    }
    free(x), free(y), free(g), free(b);
}

/* A check of every variant under test, on a pool of threads threads. */
typedef struct {
    void (*check)(const kern_entry *, void *);
    int threads;
} variant_check;

static const variant_check checks[] = {
    {widths, 1}, {widths, 2}, {streaming, 2}, {streaming_strips, 1}, {streaming_strips, 3},
    {determinism, 1}, {nan_rows, 1},
};

static void test_variant_checks(void **state)
{
    (void)state;
    for (size_t i = 0; i < DYT_ARRAY_LEN(checks); i++)
        for_each_variant(checks[i].check, checks[i].threads);
}

DYT_TEST_MAIN("test_simd_kernels", NULL, NULL, cmocka_unit_test(test_variant_checks),
              cmocka_unit_test(test_column_blocks))
