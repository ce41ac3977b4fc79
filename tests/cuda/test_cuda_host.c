/* Host-side tests of the CUDA stage, run on machines without a GPU: the
 * CUPTI metric list parser, the runner's answer when it cannot run
 * (no toolkit: "built without CUDA"; toolkit but no GPU: "no usable GPU
 * was found: <CUDA's reason>"), and with CUDA the launch-configuration
 * rule, the registry entries, the throttle rule and the fp16 conversion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "cuda_metrics.h"
#include "dyt_config.h"
#include "kernels.h"
#include "runner.h"
#if DYT_HAVE_CUDA
#include "cuda_internal.h"
#include "kern_cuda.h"
#endif

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

/* The runner refuses plainly and stores nothing when it cannot run. */
static void test_runner_refuses(void **st)
{
    (void)st;
#if DYT_HAVE_CUDA
    if (cuda_device_usable())
        skip(); /* a GPU is here: the refusal path cannot be taken */
#endif
    plan p = {0};
    runner_opts o;
    runner_opts_default(&o);
    int64_t run_id = 42;
    dyt_err e = {{0}};
    runner_identity id = {.suites = "quick"};
    int rc = runner_cuda_run(&p, &o, &id, NULL, &run_id, &e);
    assert_int_equal(rc, DYT_USAGE);
    assert_int_equal(run_id, 0);
#if DYT_HAVE_CUDA
    assert_non_null(strstr(e.msg, "no usable GPU was found: "));
    /* CUDA's own reason follows, never an empty one. */
    assert_true(strlen(e.msg) > strlen("no usable GPU was found: "));
    assert_string_not_equal(cuda_unusable_reason(), "");
    /* And ISA_CUDA is not claimed. */
    assert_int_equal(kern_cpu_flags() & ISA_CUDA, 0);
#else
    assert_non_null(strstr(e.msg, "built without CUDA"));
#endif
}

#if DYT_HAVE_CUDA
static void test_registry_entries(void **st)
{
    (void)st;
    size_t n;
    const kern_entry *r = kern_registry(&n);
    int fused[NORM_COUNT][PASS_COUNT][DTYPE_COUNT] = {{{0}}};
    int eager[NORM_COUNT][PASS_COUNT][DTYPE_COUNT] = {{{0}}};
    for (size_t i = 0; i < n; i++) {
        if (r[i].device != DEVICE_CUDA)
            continue;
        assert_true(r[i].isa & ISA_CUDA);
        assert_non_null(r[i].fn);
        assert_non_null(r[i].note);
        if (!strcmp(r[i].name, "cuda"))
            fused[r[i].norm][r[i].pass][r[i].dtype]++;
        else if (!strcmp(r[i].name, "eager"))
            eager[r[i].norm][r[i].pass][r[i].dtype]++;
        else
            fail_msg("unexpected CUDA variant %s", r[i].name);
    }
    for (int a = 0; a < NORM_COUNT; a++)
        for (int b = 0; b < PASS_COUNT; b++)
            for (int c = 0; c < DTYPE_COUNT; c++) {
                assert_int_equal(fused[a][b][c], 1);
                assert_int_equal(eager[a][b][c], a == NORM_LAYERNORM ? 0 : 1);
            }
    const kern_entry *e = kern_find(NORM_RMSNORM, PASS_BWD, DTYPE_BF16, "eager");
    assert_non_null(e);
    assert_int_equal(e->device, DEVICE_CUDA);
    /* Without a GPU the entries exist but are not supported. */
    if (!cuda_device_usable())
        assert_false(kern_supported(e));
}

static void test_launch_config(void **st)
{
    (void)st;
    kcuda_cfg c;
    /* LLaMA-7B training shape, bf16, aligned: 16-byte vectors of 8, a
     * block-level row of 256 threads with 2 vectors each. */
    assert_int_equal(kcuda_pick_config(8192, 4096, 2, 0x1000, 132, PASS_FWD, 0, 0, &c), 0);
    assert_int_equal(c.vec, 8);
    assert_int_equal(c.group, 256);
    assert_int_equal(c.per_thread, 2);
    assert_true(c.cached);
    assert_int_equal(c.groups_per_block, 1);
    assert_int_equal(c.blocks, 8192);
    /* Small hidden size: a warp per row, 8 rows per 256-thread block. */
    assert_int_equal(kcuda_pick_config(1000, 768, 2, 0, 132, PASS_FWD, 0, 0, &c), 0);
    assert_int_equal(c.group, 32);
    assert_int_equal(c.groups_per_block, 8);
    assert_int_equal(c.threads, 256);
    assert_int_equal(c.per_thread, 3); /* 96 vectors over 32 lanes */
    assert_int_equal(c.blocks, 125);
    /* A misaligned base address or a row pitch that is not a multiple of
     * 16 bytes falls back to scalar accesses. */
    assert_int_equal(kcuda_pick_config(4, 4096, 2, 0x1002, 132, PASS_FWD, 0, 0, &c), 0);
    assert_int_equal(c.vec, 1);
    assert_int_equal(kcuda_pick_config(4, 1001, 4, 0, 132, PASS_FWD, 0, 0, &c), 0);
    assert_int_equal(c.vec, 1);
    assert_int_equal(c.group * c.per_thread >= 1001, 1);
    /* Very wide rows: the group is capped and the row is re-read. */
    assert_int_equal(kcuda_pick_config(4, 1 << 16, 2, 0, 132, PASS_FWD, 0, 0, &c), 0);
    assert_int_equal(c.group, KCUDA_MAX_THREADS);
    assert_false(c.cached);
    /* Backward: about one block per SM, groups combined in shared memory
     * when it fits, one group per block when it does not. */
    assert_int_equal(kcuda_pick_config(8192, 4096, 2, 0, 132, PASS_BWD, 2, 48 << 10, &c), 0);
    assert_int_equal(c.group, 256);
    assert_int_equal(c.groups_per_block, 2);
    assert_int_equal(c.threads, 512);
    assert_int_equal(c.smem, 2 * 4096 * 4);
    assert_int_equal(c.blocks, 132);
    assert_int_equal(kcuda_pick_config(8192, 4096, 2, 0, 132, PASS_BWD, 2, 16 << 10, &c), 0);
    assert_int_equal(c.groups_per_block, 1);
    assert_int_equal(c.smem, 0);
    assert_int_equal(c.blocks, 264);
    /* Fewer rows than the grid would cover: one block per row group. */
    assert_int_equal(kcuda_pick_config(10, 512, 4, 0, 132, PASS_BWD, 1, 48 << 10, &c), 0);
    assert_int_equal(c.group, 64);
    assert_int_equal(c.blocks, 2);
    /* Empty shapes are refused. */
    assert_int_equal(kcuda_pick_config(0, 4096, 2, 0, 132, PASS_FWD, 0, 0, &c), -1);
    assert_int_equal(kcuda_pick_config(8, 0, 2, 0, 132, PASS_FWD, 0, 0, &c), -1);

    kcuda_ew_cfg w;
    assert_int_equal(kcuda_pick_ew_config(8192 * 4096, 4096, 2, 0, 132, &w), 0);
    assert_int_equal(w.vec, 8);
    assert_int_equal(w.blocks, 132 * 8); /* capped: grid-stride beyond */
    assert_int_equal(kcuda_pick_ew_config(100, 10, 4, 0, 132, &w), 0);
    assert_int_equal(w.vec, 1);
    assert_int_equal(w.blocks, 1);
}

static void test_throttle_rule(void **st)
{
    (void)st;
    assert_false(gpu_sample_throttled(1980, 1980, 0, GPU_THROTTLE_THRESHOLD));
    assert_false(gpu_sample_throttled(1500, 1980, 0x4, GPU_THROTTLE_THRESHOLD)); /* power cap */
    assert_true(gpu_sample_throttled(1400, 1980, 0, GPU_THROTTLE_THRESHOLD));
    assert_true(gpu_sample_throttled(1980, 1980, 0x40, GPU_THROTTLE_THRESHOLD)); /* HW thermal */
    assert_true(gpu_sample_throttled(1980, 1980, 0x8, GPU_THROTTLE_THRESHOLD));  /* HW slowdown */
    assert_false(gpu_sample_throttled(100, 0, 0, GPU_THROTTLE_THRESHOLD)); /* max unknown */
}

static void test_fp16_conversion(void **st)
{
    (void)st;
    assert_int_equal(f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(f32_to_f16(65520.0f), 0x7c00); /* rounds to inf */
    assert_int_equal(f32_to_f16(5.9604645e-8f), 0x0001); /* smallest subnormal */
    assert_int_equal(f32_to_f16(1.0f + 1.0f / 2048), 0x3c00); /* tie to even */
    assert_int_equal(f32_to_f16(1.0f + 3.0f / 2048), 0x3c02);
    assert_true(isnan(f16_to_f32(f32_to_f16(NAN))));
    /* Every finite half survives the round trip. */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00)
            continue;
        assert_int_equal(f32_to_f16(f16_to_f32((uint16_t)h)), h);
    }
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_default),
        cmocka_unit_test(test_metrics_list),
        cmocka_unit_test(test_metrics_bad),
        cmocka_unit_test(test_runner_refuses),
#if DYT_HAVE_CUDA
        cmocka_unit_test(test_registry_entries),
        cmocka_unit_test(test_launch_config),
        cmocka_unit_test(test_throttle_rule),
        cmocka_unit_test(test_fp16_conversion),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
