/* Host-side tests of the CUDA stage in every build, run on machines
 * without a GPU: the CUPTI metric list parser and the answer when the GPU
 * cannot be used (no toolkit: "built without CUDA"; toolkit but no GPU:
 * "no usable GPU was found: <CUDA's reason>"), asked through the registry
 * and the runner as every caller does. The backend's internals are in
 * test_cuda_internal.c (CUDA builds). */
#include "dyt_test.h"

#include <math.h>
#include <string.h>

#include "cuda_metrics.h"
#include "dyt_config.h"
#include "kernels.h"
#include "runner.h"

static void test_metrics_default(void **st)
{
    (void)st;
    cupti_metric_list l;
    dyt_err e = {{0}};
    assert_int_equal(cupti_metrics_parse(NULL, &l, &e), DYT_OK);
    assert_int_equal(l.n, 6);
    assert_string_equal(l.names[0], "gpu__time_duration.sum");
    assert_string_equal(l.names[5], "lts__t_sector_hit_rate.pct");
    cupti_metrics_free(&l);
    assert_int_equal(cupti_metrics_parse("default", &l, &e), DYT_OK);
    assert_int_equal(l.n, 6);
    cupti_metrics_free(&l);
    assert_int_equal(cupti_metrics_parse("none", &l, &e), DYT_OK);
    assert_int_equal(l.n, 0);
}

static void test_metrics_list(void **st)
{
    (void)st;
    cupti_metric_list l;
    dyt_err e = {{0}};
    assert_int_equal(
        cupti_metrics_parse(" dram__bytes_read.sum , sm__cycles_elapsed.avg,dram__bytes_read.sum",
                            &l, &e),
        DYT_OK);
    assert_int_equal(l.n, 2); /* trimmed, duplicate dropped */
    assert_string_equal(l.names[0], "dram__bytes_read.sum");
    assert_string_equal(l.names[1], "sm__cycles_elapsed.avg");
    char base[64];
    cupti_metric_base(l.names[0], base, sizeof base);
    assert_string_equal(base, "dram__bytes_read");
    cupti_metrics_free(&l);
}

static void test_metrics_bad(void **st)
{
    (void)st;
    static const char *bad[] = {"DRAM__bytes.sum", "dram_bytes.sum", "dram__bytes..sum",
                                "dram__bytes.sum.", "__bytes.sum", "dram__", "a,,", ",",
                                "dram__bytes;rm"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cupti_metric_list l;
        dyt_err e = {{0}};
        assert_int_equal(cupti_metrics_parse(bad[i], &l, &e), DYT_USAGE);
        assert_non_null(strstr(e.msg, "--cupti-metrics"));
        assert_int_equal(l.n, 0);
    }
    /* More than the maximum. */
    char big[4096] = "";
    for (int i = 0; i < CUPTI_MAX_METRICS + 1; i++) {
        char one[64];
        snprintf(one, sizeof one, "%sa__m%d.sum", i ? "," : "", i);
        strcat(big, one);
    }
    cupti_metric_list l;
    dyt_err e = {{0}};
    assert_int_equal(cupti_metrics_parse(big, &l, &e), DYT_USAGE);
}

/* The runner refuses plainly and stores nothing when it cannot run, with
 * the registry's reason, and ISA_CUDA is not claimed. */
static void test_runner_refuses(void **st)
{
    (void)st;
    char why[256];
    if (kern_device_usable(DEVICE_CUDA, why, sizeof why))
        skip(); /* a GPU is here: the refusal path cannot be taken */
    assert_int_equal(kern_backend_usable(ISA_CUDA, NULL, 0), 0);
    plan p = {0};
    runner_opts o;
    runner_opts_default(&o);
    int64_t run_id = 42;
    dyt_err e = {{0}};
    runner_identity id = {.suites = "quick"};
    int rc = runner_run(DEVICE_CUDA, &p, &o, &id, NULL, NULL, &run_id, &e);
    assert_int_equal(rc, DYT_USAGE);
    assert_int_equal(run_id, 0);
    assert_int_equal(kern_cpu_flags() & ISA_CUDA, 0);
    if (DYT_HAVE_CUDA) {
        assert_non_null(strstr(e.msg, "no usable GPU was found: "));
        /* CUDA's own reason follows, never an empty one. */
        assert_true(strlen(e.msg) > strlen("no usable GPU was found: "));
        assert_string_equal(why, e.msg);
    } else {
        assert_string_equal(e.msg, "built without CUDA (rebuild with -Dcuda=enabled)");
        assert_string_equal(why, e.msg);
    }
}

DYT_TEST_MAIN("cuda-host", NULL, NULL, cmocka_unit_test(test_metrics_default),
              cmocka_unit_test(test_metrics_list), cmocka_unit_test(test_metrics_bad),
              cmocka_unit_test(test_runner_refuses))
