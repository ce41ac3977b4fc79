/* Every supported CPU variant against ref on fresh random shapes: cols 1,
 * 3, 4097, 8191, unaligned rows, rows with mean 1e4 and unit spread, alpha
 * negative and zero; at 1, 2 and 3 threads (results within tolerance of
 * ref, hence of each other). Plus a check that the harness catches a
 * wrong variant. */
#include "dyt_test.h"

#include "check.h"

#include <math.h>
#include <string.h>

static const kern_check_random_spec shapes[] = {
    /* rows, cols, mean, spread, alpha, seed, misalign */
    {7, 1, 0, 1, 0.5f, 11, 0},
    {5, 3, 0, 1, 0.5f, 12, 1},
    {3, 4097, 0, 1, 0.8f, 13, 1},
    {2, 8191, 0, 2, 1.5f, 14, 0},
    {37, 96, 0, 1, -0.7f, 15, 1},
    {9, 40, 0.5, 1, 0.0f, 16, 0},
    {4, 1000, 1e4, 1, 0.5f, 17, 0},
    {3, 4097, -1e4, 1, 0.01f, 18, 1},
    {300, 33, 0, 3, 2.0f, 19, 0},
};

/* The known genuine inaccuracy (docs/kernels.md): oneDNN's LayerNorm forms
 * y from an fp32 mean, so on rows with |mean| >> spread it is off by about
 * u*|mean|*rstd*|gamma| (u = 2^-24). The harness must report it as a
 * failure, and it must stay within that figure (far from the catastrophic
 * E[x^2]-E[x]^2 failure). */
static int fp32_mean_rounding_variant(const kern_entry *v)
{
    return !strcmp(v->name, "onednn") && v->norm == NORM_LAYERNORM && v->pass == PASS_FWD;
}

static void run_all(int threads)
{
    kern_pool *pool = threads > 1 ? kern_pool_create(threads, NULL, NULL) : NULL;
    if (threads > 1)
        assert_non_null(pool);
    size_t n, checked = 0;
    const kern_entry *reg = kern_registry(&n);
    for (size_t i = 0; i < n; i++) {
        const kern_entry *v = &reg[i];
        if (v->device != DEVICE_CPU || !kern_supported(v))
            continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            kern_check_result r;
            dyt_err e = {{0}};
            if (kern_check_random(v, &shapes[s], pool, &r, &e))
                fail_msg("%s", e.msg);
            if (r.skipped)
                fail_msg("%s %s %s %s refused %zux%zu: %s", v->name, norm_name(v->norm),
                         pass_name(v->pass), dtype_name(v->dtype), shapes[s].rows, shapes[s].cols,
                         r.reason);
            if (fp32_mean_rounding_variant(v) && fabs(shapes[s].mean) > 100) {
                /* gamma ~ N(1, 0.25) stays below 2.5 here; rstd ~ 1/spread */
                double bound = 8 * 0x1p-24 * fabs(shapes[s].mean) / shapes[s].spread * 2.5;
                /* in bf16 the rows' spread is lost to rounding (1e4 +- 1 is not
                 * representable), so only fp32 rows must show it */
                if (r.pass && v->dtype == DTYPE_F32)
                    fail_msg("%s %s: mean %g: the fp32-mean error %.3g passed", v->name,
                             dtype_name(v->dtype), shapes[s].mean, r.worst);
                if (!(r.worst <= bound + r.tol))
                    fail_msg("%s %s: mean %g error %.3g beyond the fp32-mean bound %.3g", v->name,
                             dtype_name(v->dtype), shapes[s].mean, r.worst, bound);
                checked++;
                continue;
            }
            if (!r.pass)
                fail_msg("%s %s %s %s %zux%zu mean %g alpha %g misalign %d threads %d: %s error "
                         "%.3g > tolerance %.3g",
                         v->name, norm_name(v->norm), pass_name(v->pass), dtype_name(v->dtype),
                         shapes[s].rows, shapes[s].cols, shapes[s].mean, shapes[s].alpha,
                         shapes[s].misalign, threads, r.output, r.worst, r.tol);
            checked++;
        }
    }
    assert_true(checked > 0);
    kern_pool_destroy(pool);
}

static void test_random_1(void **state) { (void)state; run_all(1); }
static void test_random_2(void **state) { (void)state; run_all(2); }
static void test_random_3(void **state) { (void)state; run_all(3); }

/* A deliberately wrong "variant": ref's LayerNorm forward, with one y
 * element nudged by 2e-4 (5e-5 x max|y|). The harness must fail it and name y. */
static int wrong_ln_fwd(const norm_args *a, const kern_exec *ex)
{
    const kern_entry *ref = kern_find(NORM_LAYERNORM, PASS_FWD, DTYPE_F32, "ref");
    int rc = ref->fn(a, ex);
    ((float *)a->y)[a->rows * a->cols / 2] += 2e-4f;
    return rc;
}

/* The textbook one-pass variance E[x^2] - E[x]^2 in fp32: must fail the
 * mean-1e4 rows. */
static int naive_ln_fwd(const norm_args *a, const kern_exec *ex)
{
    (void)ex;
    const float *x = a->x;
    float *y = a->y;
    for (size_t r = 0; r < a->rows; r++) {
        float s = 0, ss = 0;
        for (size_t j = 0; j < a->cols; j++) {
            s += x[r * a->cols + j];
            ss += x[r * a->cols + j] * x[r * a->cols + j];
        }
        float m = s / a->cols, var = ss / a->cols - m * m;
        float rs = 1.0f / sqrtf((var > 0 ? var : 0) + a->eps);
        a->mean[r] = m;
        a->rstd[r] = rs;
        for (size_t j = 0; j < a->cols; j++)
            y[r * a->cols + j] = (x[r * a->cols + j] - m) * rs * a->gamma[j] + a->beta[j];
    }
    return 0;
}

static void test_harness_catches_errors(void **state)
{
    (void)state;
    kern_entry bad = {"wrong", NORM_LAYERNORM, PASS_FWD, DTYPE_F32, DEVICE_CPU, 0, wrong_ln_fwd, ""};
    kern_check_random_spec s = {8, 64, 0, 1, 0.5f, 5, 0};
    kern_check_result r;
    dyt_err e;
    assert_int_equal(kern_check_random(&bad, &s, NULL, &r, &e), DYT_OK);
    assert_false(r.pass);
    assert_string_equal(r.output, "y");

    kern_entry naive = {"naive", NORM_LAYERNORM, PASS_FWD, DTYPE_F32, DEVICE_CPU, 0, naive_ln_fwd, ""};
    s = (kern_check_random_spec){4, 64, 0, 1, 0.5f, 6, 0};
    assert_int_equal(kern_check_random(&naive, &s, NULL, &r, &e), DYT_OK);
    assert_true(r.pass); /* fine on centred data... */
    s.mean = 1e4;
    assert_int_equal(kern_check_random(&naive, &s, NULL, &r, &e), DYT_OK);
    assert_false(r.pass); /* ...and caught on mean-1e4 rows */
}

DYT_TEST_MAIN("test_kernels_random", NULL, NULL, cmocka_unit_test(test_random_1),
              cmocka_unit_test(test_random_2), cmocka_unit_test(test_random_3),
              cmocka_unit_test(test_harness_catches_errors))
