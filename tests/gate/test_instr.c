/* Tests of the instruction-count metric (runners/cpu/instructions.c): a
 * case measured twice under callgrind gives identical counts (the point of
 * the metric), the counts are plausible and available, a cold case counts
 * one call, and the child refuses bad arguments. This test binary is its
 * own callgrind child: the metric re-executes /proc/self/exe with
 * "__instr-case", which main() below hands to the child function, exactly
 * as the dytbench binary's hidden subcommand does. */
#include "dyt_test.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include "dyt_config.h"
#include "runner.h"
#include "suite.h"

static suite_model model;

static plan_case make_case(norm_kind norm, pass_kind pass, size_t rows, size_t cols)
{
    memset(&model, 0, sizeof model);
    snprintf(model.name, sizeof model.name, "test-model");
    model.norm = norm == NORM_DYT ? NORM_LAYERNORM : norm;
    model.hidden = cols;
    model.alpha = 0.5;
    model.beta = 1;
    model.affine = 1;
    model.eps = 1e-5;
    plan_case c = {.model = &model,
                   .suite_name = "test",
                   .rows = rows,
                   .cols = cols,
                   .token_label = "",
                   .norm = norm,
                   .dtype = DTYPE_F32,
                   .pass = pass,
                   .threads = 1};
    /* valgrind does not emulate AVX-512: the best variant it can run. */
    c.variant = kern_find(norm, pass, DTYPE_F32, "avx2");
    if (!c.variant || !kern_supported(c.variant))
        c.variant = kern_find(norm, pass, DTYPE_F32, "scalar");
    return c;
}

static int have_valgrind(void)
{
    return DYT_HAVE_VALGRIND &&
           (access("/usr/bin/valgrind", X_OK) == 0 || access("/usr/local/bin/valgrind", X_OK) == 0);
}

static void test_identical_counts(void **state)
{
    (void)state;
    if (!have_valgrind())
        skip();
    norm_kind norms[] = {NORM_DYT, NORM_LAYERNORM};
    for (size_t k = 0; k < 2; k++) {
        plan_case c = make_case(norms[k], PASS_FWD, 16, 512);
        assert_non_null(c.variant);
        store_counter a[8], b[8];
        dyt_err e = {{0}};
        size_t na = runner_cpu_instructions_case(&c, 1, CACHE_HOT, DYT_PAGES_HUGE, a, 8, &e);
        if (na == 0)
            fail_msg("first measurement failed: %s", e.msg);
        size_t nb = runner_cpu_instructions_case(&c, 1, CACHE_HOT, DYT_PAGES_HUGE, b, 8, &e);
        if (nb == 0)
            fail_msg("second measurement failed: %s", e.msg);
        assert_int_equal(na, 5);
        assert_int_equal(nb, 5);
        for (size_t i = 0; i < na; i++) {
            assert_string_equal(a[i].source, "callgrind");
            assert_string_equal(a[i].name, b[i].name);
            assert_true(a[i].available && b[i].available);
            /* Identical, not merely close. */
            assert_true(a[i].value == b[i].value);
            assert_true(a[i].per_element == b[i].per_element);
        }
        assert_string_equal(a[0].name, "instructions");
        print_message("%s %s: %.3f instructions/element, %.4f L1D misses/element\n",
                      norm_name(c.norm), c.variant->name, a[0].per_element, a[3].per_element);
        /* A norm does some work per element, and not absurdly much. */
        assert_true(a[0].per_element > 0.2 && a[0].per_element < 5000);
        assert_true(fabs(a[0].value - a[0].per_element * 16 * 512) < 1e-6 * a[0].value);
    }
}

static void test_cold_and_bigger(void **state)
{
    (void)state;
    if (!have_valgrind())
        skip();
    plan_case c = make_case(NORM_DYT, PASS_FWD, 16, 512);
    store_counter hot[8], cold[8], big[8];
    dyt_err e = {{0}};
    assert_int_equal(runner_cpu_instructions_case(&c, 1, CACHE_HOT, DYT_PAGES_HUGE, hot, 8, &e), 5);
    assert_int_equal(runner_cpu_instructions_case(&c, 1, CACHE_COLD, DYT_PAGES_HUGE, cold, 8, &e), 5);
    /* A cold call misses in L1 at least once per cache line of x it reads
     * (64 B = 16 fp32); a hot 32 KiB set mostly fits. */
    assert_true(cold[3].per_element >= 1.0 / 16);
    assert_true(cold[3].per_element > hot[3].per_element);
    /* Instructions per element barely depend on the cache state. */
    assert_true(fabs(cold[0].per_element / hot[0].per_element - 1) < 0.05);
    /* Per element, four times the rows is about the same work. */
    plan_case c4 = make_case(NORM_DYT, PASS_FWD, 64, 512);
    assert_int_equal(runner_cpu_instructions_case(&c4, 1, CACHE_HOT, DYT_PAGES_HUGE, big, 8, &e), 5);
    assert_true(fabs(big[0].per_element / hot[0].per_element - 1) < 0.10);
    assert_true(big[0].value > 3 * hot[0].value);
}

static void test_avx512_unavailable(void **state)
{
    (void)state;
    if (!have_valgrind())
        skip();
    plan_case c = make_case(NORM_DYT, PASS_FWD, 16, 512);
    c.variant = kern_find(NORM_DYT, PASS_FWD, DTYPE_F32, "avx512");
    if (!c.variant || !kern_supported(c.variant))
        skip(); /* this CPU has no AVX-512 either */
    store_counter k[8];
    dyt_err e = {{0}};
    size_t n = runner_cpu_instructions_case(&c, 1, CACHE_HOT, DYT_PAGES_HUGE, k, 8, &e);
    /* Stored as unavailable with the reason, never as a zero. */
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_false(k[i].available);
        assert_non_null(strstr(k[i].unavailable_reason, "valgrind"));
    }
}

static void test_child_bad_args(void **state)
{
    (void)state;
    char *bad[] = {"__instr-case", "16", "512", "dyt"};
    assert_int_equal(runner_cpu_instructions_child(4, bad), DYT_USAGE);
    char *bad2[] = {"__instr-case", "16",   "x", "dyt", "fwd", "fp32", "scalar", "1",
                    "0.5",          "1e-5", "1", "1",   "1",   "hot"};
    assert_int_equal(runner_cpu_instructions_child(14, bad2), DYT_USAGE);
    char *bad3[] = {"__instr-case", "16",   "512", "dyt", "fwd", "fp32", "no-such-variant", "1",
                    "0.5",          "1e-5", "1",   "1",   "1",   "hot"};
    assert_int_equal(runner_cpu_instructions_child(14, bad3), DYT_USAGE);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "__instr-case"))
        return runner_cpu_instructions_child(argc - 1, argv + 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_counts),
        cmocka_unit_test(test_cold_and_bigger),
        cmocka_unit_test(test_avx512_unavailable),
        cmocka_unit_test(test_child_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
