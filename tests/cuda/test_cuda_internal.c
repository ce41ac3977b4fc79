/* Host-side tests of the CUDA backend's internals, built only with CUDA
 * and run on machines without a GPU: the registry entries, the
 * launch-configuration rule, the throttle rule and the fp16 conversion. */
#include "dyt_test.h"

#include <math.h>
#include <string.h>

#include "cuda_internal.h"
#include "kern_cuda.h"
#include "kernels.h"

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
    if (!kern_device_usable(DEVICE_CUDA, NULL, 0))
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

DYT_TEST_MAIN("cuda-internal", NULL, NULL, cmocka_unit_test(test_registry_entries),
              cmocka_unit_test(test_launch_config), cmocka_unit_test(test_throttle_rule),
              cmocka_unit_test(test_fp16_conversion))
