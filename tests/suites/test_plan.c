/* Tests of the plan: the cartesian product, its defaults and filters, and
 * the usage errors for variants that do not exist or cannot run. Which
 * variants the registry holds depends on what has been built; tests that
 * need a particular variant skip (and say so) when it is absent. Run twice
 * by meson: once as is, once with DYTBENCH_ISA_MASK=0 (no SIMD at all). */
#include "dyt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* 3 shapes: ln has 2 token counts, rms 1. */
static const char text[] = "[ln]\ndomain=vision\nnorm=layernorm\nhidden=64\n"
                           "tokens=8 train, 2 infer\nlayers=3\n"
                           "[rms]\ndomain=llm\nnorm=rmsnorm\nhidden=128\ntokens=4\nlayers=5\n"
                           "alpha=0.8\nbeta=no\n";

static suite s;

static int setup(void **state)
{
    (void)state;
    dyt_err e;
    if (suite_parse_string("t.suite", text, 0, &s, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    suite_free(&s);
    return 0;
}

/* Does a default CPU plan have a variant for every combination it needs? */
static int defaults_available(const norm_kind *norms, size_t nn)
{
    for (size_t i = 0; i < nn; i++)
        for (int p = 0; p < PASS_COUNT; p++)
            if (!kern_best(norms[i], (pass_kind)p, DTYPE_F32))
                return 0;
    return 1;
}

static void test_errors_independent_of_registry(void **state)
{
    (void)state;
    plan p;
    dyt_err e;
    plan_filter f = {0};

    assert_int_equal(plan_build(&s, 0, &f, &p, &e), DYT_USAGE);
    assert_int_equal(p.n_cases, 0);

    f.variants[0] = "no-such-variant";
    f.n_variants = 1;
    assert_int_equal(plan_build(&s, 1, &f, &p, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "unknown variant 'no-such-variant'"));
    assert_null(p.cases);

    plan_filter g = {0};
    g.model_filter = "nothing-matches";
    assert_int_equal(plan_build(&s, 1, &g, &p, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "no section matches 'nothing-matches'"));

    plan_filter h = {0};
    h.threads[0] = 0;
    h.n_threads = 1;
    assert_int_equal(plan_build(&s, 1, &h, &p, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "threads must be positive"));

    assert_true(plan_default_threads() >= 1);
}

static void test_unsupported_reason(void **state)
{
    (void)state;
    char why[256];
    kern_entry k = {.name = "x", .isa = ISA_NONE};
    assert_int_equal(kern_unsupported_reason(&k, why, sizeof why), 0);
    assert_string_equal(why, "");
    k.isa = ISA_AVX2;
    if (!(kern_cpu_flags() & ISA_AVX2)) {
        assert_int_equal(kern_unsupported_reason(&k, why, sizeof why), 1);
        assert_non_null(strstr(why, "needs AVX2+FMA"));
    } else {
        assert_int_equal(kern_unsupported_reason(&k, why, sizeof why), 0);
    }
    k.isa = ISA_CUDA;
    if (!(kern_cpu_flags() & ISA_CUDA)) {
        assert_int_equal(kern_unsupported_reason(&k, why, sizeof why), 1);
        assert_non_null(strstr(why, "CUDA"));
    }
}

static void test_default_product(void **state)
{
    (void)state;
    norm_kind need[] = {NORM_LAYERNORM, NORM_RMSNORM, NORM_DYT};
    if (!defaults_available(need, 3))
        skip();
    plan p;
    dyt_err e;
    plan_filter f = {0};
    if (plan_build(&s, 1, &f, &p, &e))
        fail_msg("%s", e.msg);
    /* 3 shapes x (own norm, dyt) x fp32 x (fwd, bwd) x best x 1 thread count */
    assert_int_equal(p.n_cases, 3 * 2 * 2);
    const plan_case *c = &p.cases[0];
    assert_string_equal(c->suite_name, "t");
    assert_int_equal(c->rows, 8);
    assert_int_equal(c->cols, 64);
    assert_string_equal(c->token_label, "train");
    assert_int_equal(c->norm, NORM_LAYERNORM); /* the model's norm first */
    assert_int_equal(c->pass, PASS_FWD);
    assert_int_equal(c->dtype, DTYPE_F32);
    assert_int_equal(c->threads, plan_default_threads());
    assert_int_equal(p.cases[1].pass, PASS_BWD);
    assert_int_equal(p.cases[2].norm, NORM_DYT);
    assert_int_equal(p.cases[4].rows, 2);
    assert_int_equal(p.cases[8].rows, 4);
    assert_int_equal(p.cases[8].norm, NORM_RMSNORM);
    assert_true(p.cases[8].model->alpha == 0.8);
    for (size_t i = 0; i < p.n_cases; i++) {
        assert_ptr_equal(p.cases[i].variant,
                         kern_best(p.cases[i].norm, p.cases[i].pass, DTYPE_F32));
        assert_int_equal(p.cases[i].variant->device, DEVICE_CPU);
        /* With every SIMD bit masked the best variant is the portable one. */
        if (!(kern_cpu_flags() & kern_isa_bits(KERN_ISA_CPU)))
            assert_int_equal(p.cases[i].variant->isa & kern_isa_bits(KERN_ISA_CPU), 0);
    }
    plan_free(&p);
    assert_null(p.cases);
}

static void test_filters(void **state)
{
    (void)state;
    if (!kern_best(NORM_DYT, PASS_FWD, DTYPE_F32))
        skip();
    plan p;
    dyt_err e;
    plan_filter f = {0};
    f.norms[0] = NORM_DYT;
    f.norms[1] = NORM_DYT; /* repeats are ignored */
    f.n_norms = 2;
    f.passes[0] = PASS_FWD;
    f.n_passes = 1;
    f.threads[0] = 1;
    f.threads[1] = 2;
    f.n_threads = 2;
    f.model_filter = "ln";
    if (plan_build(&s, 1, &f, &p, &e))
        fail_msg("%s", e.msg);
    /* [ln] only: 2 shapes x dyt x fwd x 2 thread counts */
    assert_int_equal(p.n_cases, 2 * 2);
    assert_int_equal(p.cases[0].threads, 1);
    assert_int_equal(p.cases[1].threads, 2);
    for (size_t i = 0; i < p.n_cases; i++) {
        assert_string_equal(p.cases[i].model->name, "ln");
        assert_int_equal(p.cases[i].norm, NORM_DYT);
        assert_int_equal(p.cases[i].pass, PASS_FWD);
    }
    plan_free(&p);
}

/* "all" plans every supported CPU variant except ref, per combination. */
static void test_all_variants(void **state)
{
    (void)state;
    size_t count, expect = 0;
    const kern_entry *r = kern_registry(&count);
    for (size_t i = 0; i < count; i++)
        if (r[i].norm == NORM_DYT && r[i].pass == PASS_FWD && r[i].dtype == DTYPE_F32 &&
            r[i].device == DEVICE_CPU && strcmp(r[i].name, "ref") && kern_supported(&r[i]))
            expect++;
    if (!expect)
        skip();
    plan p;
    dyt_err e;
    plan_filter f = {0};
    f.norms[0] = NORM_DYT;
    f.n_norms = 1;
    f.passes[0] = PASS_FWD;
    f.n_passes = 1;
    f.variants[0] = "all";
    f.n_variants = 1;
    f.threads[0] = 1;
    f.n_threads = 1;
    if (plan_build(&s, 1, &f, &p, &e))
        fail_msg("%s", e.msg);
    assert_int_equal(p.n_cases, 3 * expect);
    for (size_t i = 0; i < p.n_cases; i++) {
        assert_string_not_equal(p.cases[i].variant->name, "ref");
        assert_true(kern_supported(p.cases[i].variant));
    }
    plan_free(&p);
}

/* A named variant this machine cannot run is a usage error naming the ISA;
 * with DYTBENCH_ISA_MASK=0 every SIMD variant is such a variant. */
static void test_named_unsupported(void **state)
{
    (void)state;
    size_t count;
    const kern_entry *r = kern_registry(&count);
    const kern_entry *bad = NULL;
    for (size_t i = 0; i < count && !bad; i++)
        if (r[i].device == DEVICE_CPU && !kern_supported(&r[i]))
            bad = &r[i];
    if (!bad)
        skip();
    plan p;
    dyt_err e;
    plan_filter f = {0};
    f.norms[0] = bad->norm;
    f.n_norms = 1;
    f.dtypes[0] = bad->dtype;
    f.n_dtypes = 1;
    f.variants[0] = bad->name;
    f.n_variants = 1;
    assert_int_equal(plan_build(&s, 1, &f, &p, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, bad->name));
    assert_non_null(strstr(e.msg, "needs "));
    assert_int_equal(p.n_cases, 0);
}

/* Device cuda plans only CUDA variants, or refuses, before anything else,
 * with the registry's reason why the device cannot be used. */
static void test_cuda_device(void **state)
{
    (void)state;
    plan p;
    dyt_err e;
    plan_filter f = {0};
    f.device = DEVICE_CUDA;
    f.norms[0] = NORM_DYT;
    f.n_norms = 1;
    int rc = plan_build(&s, 1, &f, &p, &e);
    char why[256];
    if (!kern_device_usable(DEVICE_CUDA, why, sizeof why)) {
        assert_int_equal(rc, DYT_USAGE);
        assert_string_equal(e.msg, why);
        assert_true(strstr(e.msg, "CUDA") || strstr(e.msg, "GPU"));
        assert_false(kern_cpu_flags() & ISA_CUDA);
        /* Naming a variant does not change the answer. */
        f.variants[0] = "no-such-variant";
        f.n_variants = 1;
        assert_int_equal(plan_build(&s, 1, &f, &p, &e), DYT_USAGE);
        assert_string_equal(e.msg, why);
        return;
    }
    if (rc)
        fail_msg("%s", e.msg);
    for (size_t i = 0; i < p.n_cases; i++) {
        assert_int_equal(p.cases[i].variant->device, DEVICE_CUDA);
        assert_int_equal(p.cases[i].threads, 1);
    }
    plan_free(&p);
}

DYT_TEST_MAIN("plan", setup, teardown, cmocka_unit_test(test_errors_independent_of_registry),
              cmocka_unit_test(test_unsupported_reason), cmocka_unit_test(test_default_product),
              cmocka_unit_test(test_filters), cmocka_unit_test(test_all_variants),
              cmocka_unit_test(test_named_unsupported), cmocka_unit_test(test_cuda_device))
