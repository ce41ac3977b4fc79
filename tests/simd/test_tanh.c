/* The vectorized tanh of the x86 kernels (kernels/x86/x86.h) and their bf16
 * rounding: tanh against double tanh on a dense sample of all fp32 bit
 * patterns plus the specials (+-0, denormals, +-inf, NaN, saturation at
 * +-9..+-20, tiny inputs), within the bound docs/tanh.md states (measured
 * exhaustively by tools/tanh_error.c); the bf16 kernels' tanh on every bf16
 * input within a bf16 ulp; the bf16 stores bit-identical to
 * f32_to_bf16 (bf16.h) on every high half with the rounding-critical low
 * halves, NaN and denormals included. Each test skips when the CPU lacks its
 * ISA. */
#include "dyt_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels.h"
#include "x86/x86.h"

/* docs/tanh.md: maximum error over all 2^32 inputs: avx512 (table-driven)
 * 1.107 ulp, avx2 (exp + quotient) 1.328 ulp. */
#define TANH_BOUND_AVX512 1.11
#define TANH_BOUND_AVX2 1.33

typedef void (*tanh_fn)(const float *, float *, size_t);
typedef void (*bf16_fn)(const float *, bf16_t *, size_t);

/* In ulps of the fp32 binade of the exact value. */
static double ulp_err(float got, double exact)
{
    return fabs((double)got - exact) / check_ulp(exact, 0);
}

/* Worst error of fn over x[0..n) (both signs of each), NaN -> NaN checked;
 * *checked (NULL: not counted) grows by the values compared. */
static double sweep_err(tanh_fn fn, float *x, float *y, size_t n, float *worst_x, size_t *checked)
{
    double worst = 0;
    fn(x, y, n);
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) {
            if (!isnan(y[i]))
                fail_msg("tanh(NaN 0x%08x) = %g, want NaN", (unsigned)f32_bits(x[i]), (double)y[i]);
            continue;
        }
        double e = ulp_err(y[i], tanh((double)x[i]));
        if (e > worst)
            worst = e, *worst_x = x[i];
        if (checked)
            ++*checked;
    }
    return worst;
}

static void check_tanh(tanh_fn fn, double bound)
{
    enum { N = 1 << 16 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    double worst = 0;
    float worst_x = 0;
    size_t checked = 0;
    /* 2^32 / 4093 ~ 1M patterns, both signs, every binade */
    for (uint64_t u = 0; u < (1ull << 32);) {
        size_t n = 0;
        for (; n < N && u < (1ull << 32); u += 4093)
            x[n++] = f32_from_bits((uint32_t)u);
        float wx = 0;
        double e = sweep_err(fn, x, y, n, &wx, &checked);
        if (e > worst)
            worst = e, worst_x = wx;
    }
    if (worst > bound)
        fail_msg("tanh error %.3f ulp at x = %.9g exceeds the documented %.2f", worst,
                 (double)worst_x, bound);
    assert_true(checked > 1000000);

    /* The risky places, densely: every pattern within 256 ulps of each
     * interval start of the avx512 table (2^k (1 + m/4), k = -5..3), of the
     * avx2 branch point 0.7, and of the avx512 clamp 9.1, both signs. */
    size_t n0 = 0;
    for (int k = -5; k <= 3; k++) {
        for (int m = 0; m < 4; m++) {
            float b = ldexpf(1.0f + (float)m / 4.0f, k);
            if (b > 9.1f)
                continue;
            for (int d = -256; d <= 256 && n0 + 2 <= N; d++) {
                x[n0++] = f32_from_bits(f32_bits(b) + (uint32_t)d);
                x[n0] = -x[n0 - 1], n0++;
            }
        }
    }
    const float extra[] = {0.7f, 9.1f};
    for (int i = 0; i < 2; i++) {
        for (int d = -256; d <= 256 && n0 + 2 <= N; d++) {
            x[n0++] = f32_from_bits(f32_bits(extra[i]) + (uint32_t)d);
            x[n0] = -x[n0 - 1], n0++;
        }
    }
    assert_true(n0 > 30000 && n0 <= N);
    worst = sweep_err(fn, x, y, n0, &worst_x, NULL);
    if (worst > bound)
        fail_msg("tanh error %.3f ulp at x = %.9g (near an interval edge) exceeds %.2f", worst,
                 (double)worst_x, bound);

    /* specials: exact answers */
    const float in[] = {0.0f, -0.0f, INFINITY, -INFINITY, 9.0f, -9.0f, 9.1f, -9.1f, 10.0f, -12.5f,
                        20.0f, -20.0f, 1e30f, -1e30f, 1e-8f, -1e-8f, 0x1p-149f, -0x1p-149f,
                        0x1.fffffcp-127f, 3e-39f, 1e-20f};
    size_t n = sizeof in / sizeof in[0];
    float out[sizeof in / sizeof in[0]];
    fn(in, out, n);
    for (size_t i = 0; i < n; i++) {
        float want = (float)tanh((double)in[i]); /* correctly rounded at these points */
        if (out[i] != want || !!signbit(out[i]) != !!signbit(want))
            fail_msg("tanh(%a) = %a, want %a", (double)in[i], (double)out[i], (double)want);
    }
    /* saturation: every input in [9.02, 20] gives exactly +-1 */
    for (float v = 9.02f; v <= 20.0f; v += 0.01f) {
        float p[2] = {v, -v}, q[2];
        fn(p, q, 2);
        assert_true(q[0] == 1.0f && q[1] == -1.0f);
    }
    /* NaN in, NaN out, from any lane position and any payload */
    float nx[19], ny[19];
    for (int i = 0; i < 19; i++)
        nx[i] = i % 3 ? 0.5f * (float)i : f32_from_bits(0x7fc00000u + (uint32_t)i);
    nx[18] = -NAN;
    fn(nx, ny, 19);
    for (int i = 0; i < 19; i++)
        assert_true(isnan(nx[i]) ? isnan(ny[i]) : fabsf(ny[i] - tanhf(nx[i])) < 1e-6f);
    free(x);
    free(y);
}

static void test_tanh_avx512(void **state)
{
    (void)state;
    if (!(kern_cpu_flags() & ISA_AVX512))
        skip();
    check_tanh(kx_tanh_avx512, TANH_BOUND_AVX512);
}

static void test_tanh_avx2(void **state)
{
    (void)state;
    if (!(kern_cpu_flags() & ISA_AVX2))
        skip();
    check_tanh(kx_tanh_avx2, TANH_BOUND_AVX2);
}

/* The bf16 kernels' tanh, rounded to bf16 as they store it, against double
 * tanh in ulps of the exact value's bf16 binade: every bf16 input (all
 * 65536 patterns: denormals, +-inf, NaN) times alphas the kernels meet
 * (the product alpha * x is what they pass). Measured maximum: docs/tanh.md. */
#define TANH_BF16_BOUND 1.0

static void test_tanh_bf16_avx512(void **state)
{
    (void)state;
    if (!(kern_cpu_flags() & ISA_AVX512))
        skip();
    static const float alphas[] = {1.0f, 0.5f, -1.7f, 3.1f, 1e-3f};
    enum { N = 65536 };
    float *x = malloc(2 * N * sizeof *x), *y = x + N;
    assert_non_null(x);
    size_t over_half = 0;
    double worst = 0;
    float worst_x = 0;
    for (size_t k = 0; k < sizeof alphas / sizeof alphas[0]; k++) {
        for (uint32_t h = 0; h < N; h++)
            x[h] = alphas[k] * bf16_to_f32((bf16_t)h);
        kx_tanh_bf16_avx512(x, y, N - 5); /* and a tail */
        kx_tanh_bf16_avx512(x + N - 5, y + N - 5, 5);
        for (uint32_t h = 0; h < N; h++) {
            float t = bf16_to_f32(f32_to_bf16(y[h]));
            if (isnan(x[h])) {
                if (!isnan(t))
                    fail_msg("tanh_bf16(NaN 0x%08x) = %g", (unsigned)f32_bits(x[h]), (double)t);
                continue;
            }
            if (isinf(x[h]) && t != copysignf(1.0f, x[h]))
                fail_msg("tanh_bf16(%g) = %.9g, want +-1", (double)x[h], (double)t);
            if (x[h] == 0 && f32_bits(t) != f32_bits(x[h]))
                fail_msg("tanh_bf16(%g) = %g: sign of zero lost", (double)x[h], (double)t);
            double exact = tanh((double)x[h]);
            double e = fabs((double)t - exact) / check_ulp(exact, 1);
            over_half += e > 0.5;
            if (e > worst)
                worst = e, worst_x = x[h];
        }
    }
    print_message("tanh_bf16: max %.3f bf16 ulp at x = %.9g, %zu of %zu results not correctly "
                  "rounded\n",
                  worst, (double)worst_x, over_half, sizeof alphas / sizeof alphas[0] * (size_t)N);
    if (worst > TANH_BF16_BOUND)
        fail_msg("tanh_bf16 error %.3f bf16 ulp at x = %.9g exceeds %.1f", worst, (double)worst_x,
                 TANH_BF16_BOUND);
    free(x);
}

/* Every bf16 high half with low halves at and around the rounding points
 * (0x7fff/0x8000/0x8001 decide ties), so every exponent, denormals, inf
 * and NaN (quiet and signalling) meet each rounding case. Odd lengths
 * exercise the tails. */
static void check_bf16(bf16_fn fn)
{
    static const uint32_t lows[] = {0x0000, 0x0001, 0x3fff, 0x7fff, 0x8000, 0x8001, 0xc000, 0xffff};
    enum { L = sizeof lows / sizeof lows[0], N = 65536 * L };
    float *x = malloc(N * sizeof *x);
    bf16_t *y = malloc((N + 1) * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (uint32_t h = 0; h < 65536; h++)
        for (int l = 0; l < L; l++)
            x[h * L + l] = f32_from_bits(h << 16 | lows[l]);
    y[N] = 0x5a5a;
    fn(x, y, N - 3); /* a tail */
    fn(x + N - 3, y + N - 3, 3);
    for (size_t i = 0; i < N; i++) {
        bf16_t want = f32_to_bf16(x[i]);
        if (y[i] != want)
            fail_msg("bf16(0x%08x) = 0x%04x, want 0x%04x", (unsigned)f32_bits(x[i]), y[i], want);
    }
    assert_int_equal(y[N], 0x5a5a); /* nothing written past the end */
    free(x);
    free(y);
}

static void test_bf16_avx512(void **state)
{
    (void)state;
    if (!(kern_cpu_flags() & ISA_AVX512))
        skip();
    check_bf16(kx_bf16_avx512);
}

static void test_bf16_avx512bf16(void **state)
{
    (void)state;
    if ((kern_cpu_flags() & (ISA_AVX512 | ISA_AVX512BF16)) != (ISA_AVX512 | ISA_AVX512BF16))
        skip();
    check_bf16(kx_bf16_avx512bf16);
}

static void test_bf16_avx2(void **state)
{
    (void)state;
    if (!(kern_cpu_flags() & ISA_AVX2))
        skip();
    check_bf16(kx_bf16_avx2);
}

DYT_TEST_MAIN("test_tanh", NULL, NULL, cmocka_unit_test(test_tanh_avx512),
              cmocka_unit_test(test_tanh_avx2), cmocka_unit_test(test_tanh_bf16_avx512),
              cmocka_unit_test(test_bf16_avx512),
              cmocka_unit_test(test_bf16_avx512bf16), cmocka_unit_test(test_bf16_avx2))
