/* The bandwidth ceilings of machine/bandwidth.h: which cache level a
 * working set fits in at a thread count (from a machine record written
 * here, with the levels a record may lack or get wrong), and a measurement
 * at a cache-sized working set -- its bytes counted as STREAM does, its
 * method described. No speed is asserted. */
#include "dyt_test.h"

#include "bandwidth.h"

#define KIB 1024ull
#define MIB (1024ull * 1024ull)

static machine_info record(uint64_t l1, uint64_t l2, uint64_t llc, int cores)
{
    machine_info m;
    memset(&m, 0, sizeof m);
    m.l1d_bytes = l1;
    m.l2_bytes = l2;
    m.llc_bytes = llc;
    m.cores = cores;
    return m;
}

static void test_levels_per_thread_count(void **state)
{
    (void)state;
    machine_info m = record(48 * KIB, 1 * MIB, 32 * MIB, 2);
    bw_caches c;
    bandwidth_caches(&m, 1, &c);
    /* one thread: its core's L1 and L2, half the LLC */
    assert_int_equal(c.bytes[BW_L1], 48 * KIB);
    assert_int_equal(c.bytes[BW_L2], 1 * MIB);
    assert_int_equal(c.bytes[BW_LLC], 16 * MIB);
    assert_int_equal(c.bytes[BW_DRAM], UINT64_MAX);
    assert_int_equal(bandwidth_level_of(&c, 48 * KIB), BW_L1); /* a full level still fits */
    assert_int_equal(bandwidth_level_of(&c, 48 * KIB + 1), BW_L2);
    assert_int_equal(bandwidth_level_of(&c, 16 * MIB), BW_LLC);
    assert_int_equal(bandwidth_level_of(&c, 16 * MIB + 1), BW_DRAM);
    bandwidth_caches(&m, 2, &c);
    assert_int_equal(c.bytes[BW_L1], 96 * KIB);
    assert_int_equal(c.bytes[BW_L2], 2 * MIB);
    assert_int_equal(c.bytes[BW_LLC], 32 * MIB);
    assert_int_equal(bandwidth_level_of(&c, 20 * MIB), BW_LLC);
    /* more threads than cores share them: no more cache than all cores have */
    bw_caches c8;
    bandwidth_caches(&m, 8, &c8);
    assert_memory_equal(&c, &c8, sizeof c);
    assert_string_equal(bandwidth_level_name(BW_L1), "l1");
    assert_string_equal(bandwidth_level_name(BW_LLC), "llc");
    assert_string_equal(bandwidth_level_name(BW_DRAM), "dram");
}

static void test_levels_a_record_lacks(void **state)
{
    (void)state;
    bw_caches c;
    /* unknown L2: the working set goes from L1 to the LLC */
    machine_info m = record(32 * KIB, 0, 8 * MIB, 4);
    bandwidth_caches(&m, 4, &c);
    assert_int_equal(c.bytes[BW_L2], 0);
    assert_int_equal(bandwidth_level_of(&c, 200 * KIB), BW_LLC);
    /* one thread of 64 cores: its LLC share (512 KiB) is below its L2 */
    m = record(48 * KIB, 2 * MIB, 32 * MIB, 64);
    bandwidth_caches(&m, 1, &c);
    assert_int_equal(c.bytes[BW_LLC], 0);
    assert_int_equal(bandwidth_level_of(&c, 3 * MIB), BW_DRAM);
    /* a record with no caches at all: everything is dram */
    m = record(0, 0, 0, 2);
    bandwidth_caches(&m, 2, &c);
    assert_int_equal(bandwidth_level_of(&c, 1), BW_DRAM);
}

static void test_measure_in_cache(void **state)
{
    (void)state;
    kern_pool *pool = kern_pool_create(2, NULL, NULL);
    assert_non_null(pool);
    bandwidth_spec sp = {.working_set = 32 * KIB, .reps = 3, .min_sample_ns = 20000};
    bandwidth_result r;
    dyt_err e = {{0}};
    assert_int_equal(bandwidth_measure(pool, &sp, &r, &e), DYT_OK);
    /* two arrays of 16 KiB, read + written once per pass */
    assert_int_equal(r.bytes_per_pass, 32 * KIB);
    assert_int_equal(r.threads, 2);
    assert_int_equal(r.reps, 3);
    assert_false(r.nt);         /* plain stores below the kernels' streaming threshold */
    assert_true(r.passes >= 1); /* as many as fill 20 us: depends on the machine's speed */
    assert_true(r.copy_gbps_best >= r.copy_gbps_median && r.copy_gbps_median > 0);
    assert_true(r.scale_gbps_best >= r.scale_gbps_median && r.scale_gbps_median > 0);
    char how[200];
    bandwidth_describe(&r, 0, how, sizeof how);
    assert_non_null(strstr(how, "copy a[i] = b[i] over 2 fp32 arrays of 16.0 KiB"));
    assert_non_null(strstr(how, "plain stores, 2 thread(s)"));
    bandwidth_describe(&r, 1, how, sizeof how);
    assert_non_null(strstr(how, "scale"));
    /* the smallest working set is 1 KiB per thread and array */
    sp = (bandwidth_spec){.working_set = 64, .reps = 1};
    assert_int_equal(bandwidth_measure(pool, &sp, &r, &e), DYT_OK);
    assert_int_equal(r.bytes_per_pass, 4 * KIB);
    assert_int_equal(r.passes, 1); /* min_sample_ns 0: one pass a sample */
    sp.reps = 0;
    assert_int_equal(bandwidth_measure(pool, &sp, &r, &e), DYT_USAGE);
    kern_pool_destroy(pool);
}

DYT_TEST_MAIN("bandwidth", NULL, NULL, cmocka_unit_test(test_levels_per_thread_count),
              cmocka_unit_test(test_levels_a_record_lacks), cmocka_unit_test(test_measure_in_cache))
