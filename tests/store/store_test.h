/* Helpers shared by the store tests (beside tests/dyt_test.h's): a
 * synthetic machine, run and case to write. */
#pragma once
#include "dyt_test.h"

#include "store.h"
#include "store_int.h"

/* A synthetic machine whose every field is known. */
static DYT_TEST_UNUSED void fake_machine(machine_info *m, const char *fp)
{
    memset(m, 0, sizeof *m);
    snprintf(m->hostname, sizeof m->hostname, "testhost");
    snprintf(m->cpu_model, sizeof m->cpu_model, "Test CPU 9000");
    m->packages = 1;
    m->cores = 4;
    m->pus = 8;
    m->numa_nodes = 1;
    m->l1d_bytes = 48 * 1024;
    m->l2_bytes = 2 << 20;
    m->l3_bytes = 300u << 20;
    m->llc_bytes = 128u << 20;
    snprintf(m->llc_note, sizeof m->llc_note, "clamped for the test");
    m->mem_bytes = 6ull << 30;
    m->mem_usable_bytes = 24ull << 30;
    snprintf(m->mem_note, sizeof m->mem_note, "meminfo wins");
    snprintf(m->os, sizeof m->os, "TestOS 1");
    snprintf(m->kernel, sizeof m->kernel, "Linux 6.1 x86_64");
    m->is_vm = 1;
    snprintf(m->vm_vendor, sizeof m->vm_vendor, "KVM");
    snprintf(m->isa, sizeof m->isa, "avx2 avx512");
    static char xml[] = "<?xml version=\"1.0\"?><topology/>";
    m->topology_xml = xml;
    m->topology_xml_len = sizeof xml - 1;
    snprintf(m->fingerprint, sizeof m->fingerprint, "%s", fp);
}

/* A case whose every field is set, most to other values than small_case's. */
static DYT_TEST_UNUSED store_case fake_case(int seq)
{
    store_case c = small_case("toy-7b");
    c.seq = seq;
    c.model_norm = "rmsnorm";
    c.token_label = "prefill";
    c.layers = 32;
    c.variant = "avx512";
    c.rows = 512;
    c.cols = 4096 + seq;
    c.threads = 2;
    c.cache = "cold";
    c.eps = 1e-6;
    c.max_err = 0.25;
    c.max_ulps = 3.5;
    c.err_output = "dx";
    c.err_tol = 1.5e-5;
    c.bytes = 16777216;
    c.batch = 4;
    c.buffer_sets = 8;
    c.warmup_ns = 1000000;
    c.wall_ns = 50000000;
    c.started_at = "2026-01-01T00:00:00Z";
    c.ended_at = "2026-01-01T00:00:01Z";
    return c;
}

static const store_run_meta fake_run_meta = {.label = "baseline",
                                             .command_line = "dytbench run --label baseline",
                                             .suites = "quick",
                                             .suite_hash = "abc123",
                                             .device = "cpu",
                                             .metric = "time",
                                             .settings_json = "{\"seed\":1}"};

/* fake_run_meta on the fake machine of fingerprint fp, written to s. */
static DYT_TEST_UNUSED store_run_meta fake_meta_on(store *s, const char *fp)
{
    machine_info m;
    fake_machine(&m, fp);
    store_run_meta meta = fake_run_meta;
    dyt_err e = {{0}};
    assert_int_equal(store_put_machine(s, &m, &meta.machine_id, &e), DYT_OK);
    return meta;
}

/* Writes one case with n samples, stats and two counters (one unavailable). */
static DYT_TEST_UNUSED int put_fake_case(store *s, int64_t run_id, int seq, int n, dyt_err *e)
{
    store_case c = fake_case(seq);
    store_sample smp[256];
    for (int i = 0; i < n && i < 256; i++)
        smp[i] = (store_sample){
            .ns = 1000.0 + i, .flags = i == 3 ? STORE_SAMPLE_CTXSW : 0, .excluded = i == 3};
    store_stats st = {.n = n,
                      .n_excluded = 1,
                      .median_ns = 1000.0 + n / 2.0,
                      .ci_low_ns = 1000.0,
                      .ci_high_ns = 1000.0 + n,
                      .mean_ns = 1001,
                      .stddev_ns = 2,
                      .min_ns = 1000,
                      .max_ns = 1000.0 + n - 1,
                      .mad_ns = 1.5,
                      .rel_ci_width = 0.01,
                      .gbps = 12.5,
                      .roofline_pct = 55.5,
                      .ceiling_level = "l2",
                      .ceiling_pct = 98.25};
    store_counter k[2] = {
        {.source = "rusage", .name = "minflt", .available = 1, .value = 42, .per_element = 0.5},
        {.source = "papi",
         .name = "PAPI_TOT_INS",
         .available = 0,
         .unavailable_reason = "PAPI perf_event component disabled: test"}};
    int64_t id;
    return store_put_case(s, run_id, &c, smp, (size_t)(n < 256 ? n : 256), &st, k, 2, &id, e);
}

/* A failed case: no samples, no stats, not verified (max_err, max_ulps,
 * err_tol < 0, no err_output), no
 * batch, buffer sets or token label, and a note. */
static DYT_TEST_UNUSED int put_failed_case(store *s, int64_t run_id, int seq, int64_t *case_id,
                                           dyt_err *e)
{
    store_case c = fake_case(seq);
    c.status = "failed";
    c.error = "max error 3.5 > tolerance";
    c.max_err = -1;
    c.max_ulps = -1;
    c.err_output = NULL;
    c.err_tol = -1;
    c.stop_reason = NULL;
    c.batch = 0;
    c.buffer_sets = 0;
    c.token_label = NULL;
    c.note = "measured through the framework's own op";
    return store_put_case(s, run_id, &c, NULL, 0, NULL, NULL, 0, case_id, e);
}
