/* The gate's paired mode on synthetic stored runs: blocks of two runs of
 * one `interleave` session (same lockstep token, same round) share a drift
 * of the whole machine (log-normal, sd 20% between blocks) and differ by
 * 1% noise. Paired, a 10% slowdown is a regression and an A/A is "same";
 * the same blocks unpaired (other sessions) cannot tell either; pooled
 * sessions add their pairs; runs without a token fall back to blocks; the
 * JSON report names the mode and the pairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "machine.h"
#include "stats.h"
#include "store.h"

#define BLOCKS 16
static char dir[256], db[320];

/* One run of one case (model "m") whose block b is scaled by drift[b]. */
static void add_run(store *s, int64_t mid, const char *label, const char *token,
                    const double *drift, double scale, uint64_t seed)
{
    char settings[128];
    snprintf(settings, sizeof settings, "{\"lockstep_token\":\"%s\",\"arm\":\"%s\"}", token,
             label);
    store_run_meta meta = {.machine_id = mid,
                           .label = label,
                           .command_line = "test",
                           .suites = "quick",
                           .suite_hash = "0",
                           .device = "cpu",
                           .metric = "time",
                           .settings_json = token ? settings : "{}"};
    int64_t run_id, case_id;
    dyt_err e = {{0}};
    assert_int_equal(store_begin_run(s, &meta, &run_id, &e), DYT_OK);
    store_case c = {.suite = "quick", .domain = "llm", .model = "m", .model_norm = "layernorm",
                    .token_label = "", .layers = 1, .norm = "dyt", .variant = "scalar",
                    .dtype = "fp32", .pass = "fwd", .rows = 8, .cols = 1024, .threads = 1,
                    .cache = "hot", .device = "cpu", .alpha = 0.5, .eps = 1e-5, .has_beta = 1,
                    .affine = 1, .status = "ok", .bytes = 8192, .batch = 1, .buffer_sets = 1,
                    .stop_reason = "noise"};
    enum { PER_BLOCK = 15 };
    store_sample smp[BLOCKS * PER_BLOCK];
    dyt_rng r;
    dyt_rng_seed(&r, seed);
    for (size_t i = 0; i < BLOCKS * PER_BLOCK; i++) {
        int b = (int)(i / PER_BLOCK);
        smp[i] = (store_sample){
            .ns = 1000.0 * scale * drift[b] * exp(dyt_rng_normal(&r, 0, 0.01)), .block = b};
    }
    store_stats st = {.n = BLOCKS * PER_BLOCK, .median_ns = 1000, .ci_low_ns = 990,
                      .ci_high_ns = 1010, .roofline_pct = -1, .gbps = 1};
    assert_int_equal(store_put_case(s, run_id, &c, smp, BLOCKS * PER_BLOCK, &st, NULL, 0,
                                    &case_id, &e),
                     DYT_OK);
    assert_int_equal(store_end_run(s, run_id, "complete", NULL, &e), DYT_OK);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dytbench-paired-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db, sizeof db, "%s/p.db", dir);
    store *s;
    dyt_err e = {{0}};
    if (store_open(db, 1, &s, &e) != DYT_OK)
        return -1;
    machine_info m;
    memset(&m, 0, sizeof m);
    snprintf(m.hostname, sizeof m.hostname, "paired-test");
    snprintf(m.fingerprint, sizeof m.fingerprint, "fp-paired");
    m.packages = m.cores = m.pus = m.numa_nodes = 1;
    int64_t mid;
    if (store_put_machine(s, &m, &mid, &e) != DYT_OK)
        return -1;
    dyt_rng r;
    dyt_rng_seed(&r, 42);
    double drift[3][BLOCKS];
    for (int k = 0; k < 3; k++)
        for (int b = 0; b < BLOCKS; b++)
            drift[k][b] = exp(dyt_rng_normal(&r, 0, 0.20));
    /* Session s1: base, an A/A twin, a 10% slower candidate. */
    add_run(s, mid, "base", "s1", drift[0], 1.0, 1);
    add_run(s, mid, "twin", "s1", drift[0], 1.0, 2);
    add_run(s, mid, "slow", "s1", drift[0], 1.10, 3);
    /* The same 10% slower candidate measured in another session (other
     * drifts): no pairs with base. */
    add_run(s, mid, "slow-other", "s2", drift[1], 1.10, 4);
    /* A second session of base and slow, for pooling. */
    add_run(s, mid, "base", "s3", drift[2], 1.0, 5);
    add_run(s, mid, "slow", "s3", drift[2], 1.10, 6);
    /* Not measured in lockstep. */
    add_run(s, mid, "plain", NULL, drift[1], 1.10, 7);
    store_close(s);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void compare(const char *bs, const char *cs, gate_report *r, gate_run *b, gate_run *c)
{
    store *s;
    dyt_err e = {{0}};
    assert_int_equal(store_open(db, 0, &s, &e), DYT_OK);
    assert_int_equal(gate_load_run(s, bs, "time", b, &e), DYT_OK);
    assert_int_equal(gate_load_run(s, cs, "time", c, &e), DYT_OK);
    gate_opts o;
    gate_opts_default(&o);
    assert_int_equal(gate_compare(b, c, &o, NULL, r, &e), DYT_OK);
    assert_int_equal(r->n_results, 1);
    store_close(s);
}

static void done(gate_report *r, gate_run *b, gate_run *c)
{
    gate_report_free(r);
    gate_run_free(b);
    gate_run_free(c);
}

static void test_paired_detects_under_drift(void **state)
{
    (void)state;
    gate_report r;
    gate_run b, c;
    /* "base" is the latest run so labelled: session s3. */
    compare("1", "3", &r, &b, &c);
    const gate_result *g = &r.results[0];
    assert_int_equal(g->mode, GATE_MODE_PAIRED);
    assert_int_equal(g->n_pairs, BLOCKS);
    assert_int_equal(g->verdict, GATE_SLOWER);
    assert_true(g->regression);
    assert_true(g->ratio_lo > 1.05 && g->ratio_lo < 1.10 && g->ratio_hi > 1.10 &&
                g->ratio_hi < 1.15);
    /* 16 pairs all one way: the exact two-sided p is 2 / 2^16. */
    assert_true(fabs(g->p - 2.0 / 65536) < 1e-12);
    assert_int_equal(gate_exit_code(&r), DYT_FAIL);
    done(&r, &b, &c);
}

static void test_paired_aa_is_same(void **state)
{
    (void)state;
    gate_report r;
    gate_run b, c;
    compare("1", "twin", &r, &b, &c);
    const gate_result *g = &r.results[0];
    assert_int_equal(g->mode, GATE_MODE_PAIRED);
    assert_int_equal(g->verdict, GATE_SAME);
    assert_false(g->regression);
    assert_true(g->ratio_lo < 1 && 1 < g->ratio_hi && g->ratio_hi - g->ratio_lo < 0.03);
    assert_int_equal(gate_exit_code(&r), DYT_OK);
    done(&r, &b, &c);
}

static void test_unpaired_blocks_cannot_tell(void **state)
{
    (void)state;
    gate_report r;
    gate_run b, c;
    /* Same slowdown, other session: the 20% drift swamps it. */
    compare("1", "slow-other", &r, &b, &c);
    const gate_result *g = &r.results[0];
    assert_int_equal(g->mode, GATE_MODE_BLOCKS);
    assert_false(g->regression);
    assert_int_equal(g->verdict, GATE_INCONCLUSIVE);
    int warned = 0;
    for (size_t i = 0; i < r.n_warnings; i++)
        warned |= strstr(r.warnings[i], "not measured together in lockstep") != NULL;
    assert_true(warned);
    done(&r, &b, &c);
    /* A run without a token is never paired. */
    compare("1", "plain", &r, &b, &c);
    assert_int_equal(r.results[0].mode, GATE_MODE_BLOCKS);
    done(&r, &b, &c);
}

static void test_pooled_sessions_pair(void **state)
{
    (void)state;
    gate_report r;
    gate_run b, c;
    compare("all:base", "all:slow", &r, &b, &c);
    const gate_result *g = &r.results[0];
    assert_int_equal(b.n_runs, 2);
    assert_int_equal(g->mode, GATE_MODE_PAIRED);
    assert_int_equal(g->n_pairs, 2 * BLOCKS);
    assert_true(g->regression);
    /* JSON names the mode and the pairs. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    dyt_err e = {{0}};
    assert_int_equal(gate_write_json(f, &r, &e), DYT_OK);
    fclose(f);
    assert_non_null(strstr(buf, "\"mode\": \"paired\""));
    assert_non_null(strstr(buf, "\"n_pairs\": 32"));
    free(buf);
    done(&r, &b, &c);
    /* Base pooled over both sessions, candidate from one: only that
     * session's blocks pair, the rest are left out and said so. */
    compare("all:base", "3", &r, &b, &c);
    g = &r.results[0];
    assert_int_equal(g->mode, GATE_MODE_PAIRED);
    assert_int_equal(g->n_pairs, BLOCKS);
    assert_non_null(strstr(g->note, "16 block(s) without a partner left out"));
    done(&r, &b, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paired_detects_under_drift),
        cmocka_unit_test(test_paired_aa_is_same),
        cmocka_unit_test(test_unpaired_blocks_cannot_tell),
        cmocka_unit_test(test_pooled_sessions_pair),
    };
    return cmocka_run_group_tests_name("gate-paired", tests, setup, teardown);
}
