/* The gate's paired mode on synthetic stored runs: blocks of two runs of
 * one `interleave` session (same lockstep token, same round) share a drift
 * of the whole machine (log-normal, sd 20% between blocks) and differ by
 * 1% noise. Paired, a 10% slowdown is a regression and an A/A is "same";
 * the same blocks unpaired (other sessions) cannot tell either; pooled
 * sessions add their pairs; runs without a token, or of other sessions, or
 * two arms of one session pooled on a side fall back to blocks; too few
 * pairs are inconclusive; every format names the mode and the pairs. */
#include "dyt_test.h"

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
static char db[320];

/* One run of one case (model "m") whose block b is scaled by drift[b]. */
static void add_run_n(store *s, int64_t mid, const char *label, const char *token,
                      const double *drift, double scale, uint64_t seed, int n_blocks)
{
    store_run_meta meta = small_run_meta(mid, label, "time");
    meta.lockstep_token = token;
    meta.arm = token ? label : NULL;
    int64_t run_id, case_id;
    dyt_err e = {{0}};
    assert_int_equal(store_begin_run(s, &meta, &run_id, &e), DYT_OK);
    store_case c = small_case("m");
    enum { PER_BLOCK = 15 };
    store_sample smp[BLOCKS * PER_BLOCK];
    const size_t n = (size_t)n_blocks * PER_BLOCK;
    dyt_rng r;
    dyt_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int b = (int)(i / PER_BLOCK);
        smp[i] = (store_sample){
            .ns = 1000.0 * scale * drift[b] * exp(dyt_rng_normal(&r, 0, 0.01)), .block = b};
    }
    store_stats st = {.n = n, .median_ns = 1000, .ci_low_ns = 990,
                      .ci_high_ns = 1010, .roofline_pct = -1, .gbps = 1};
    assert_int_equal(store_put_case(s, run_id, &c, smp, n, &st, NULL, 0, &case_id, &e), DYT_OK);
    assert_int_equal(store_end_run(s, run_id, "complete", NULL, &e), DYT_OK);
}

static void add_run(store *s, int64_t mid, const char *label, const char *token,
                    const double *drift, double scale, uint64_t seed)
{
    add_run_n(s, mid, label, token, drift, scale, seed, BLOCKS);
}

static int setup(void **state)
{
    (void)state;
    snprintf(db, sizeof db, "%s/p.db", tmpdir);
    store *s;
    dyt_err e = {{0}};
    if (store_open(db, 1, &s, &e) != DYT_OK)
        return -1;
    machine_info m;
    small_machine(&m, "paired-test", "fp-paired");
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
    /* Runs 8, 9: the very samples of runs 1 and 3 (same drifts, same
     * seeds) under two other tokens, as if measured in two sessions. */
    add_run(s, mid, "base-u", "u1", drift[0], 1.0, 1);
    add_run(s, mid, "slow-u", "u2", drift[0], 1.10, 3);
    /* Runs 10, 11: a session of 4 rounds only. */
    add_run_n(s, mid, "few-base", "s6", drift[1], 1.0, 8, 4);
    add_run_n(s, mid, "few-slow", "s6", drift[1], 1.10, 9, 4);
    store_close(s);
    return 0;
}

/* Both sides loaded and compared; one case each side. */
typedef struct {
    gate_report r;
    gate_run b, c;
} comparison;

/* Compares the runs bs and cs into x; its one result. */
static const gate_result *compare(comparison *x, const char *bs, const char *cs)
{
    store *s = open_store(db, 0);
    dyt_err e = {{0}};
    assert_int_equal(gate_load_run(s, bs, "time", &x->b, &e), DYT_OK);
    assert_int_equal(gate_load_run(s, cs, "time", &x->c, &e), DYT_OK);
    gate_opts o;
    gate_opts_default(&o);
    assert_int_equal(gate_compare(&x->b, &x->c, &o, NULL, &x->r, &e), DYT_OK);
    assert_int_equal(x->r.n_results, 1);
    store_close(s);
    return &x->r.results[0];
}

static void done(comparison *x)
{
    gate_report_free(&x->r);
    gate_run_free(&x->b);
    gate_run_free(&x->c);
}

/* The report of r in one format, as a string (caller frees). */
static char *render(const gate_report *r, int fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    dyt_err e = {{0}};
    int rc = fmt == 0   ? gate_write_text(f, r)
             : fmt == 1 ? gate_write_md(f, r)
             : fmt == 2 ? gate_write_json(f, r, &e)
                        : gate_write_junit(f, r);
    assert_int_equal(rc, DYT_OK);
    fclose(f);
    return buf;
}

static void test_paired_detects_under_drift(void **state)
{
    (void)state;
    comparison x;
    /* "base" is the latest run so labelled: session s3. */
    const gate_result *g = compare(&x, "1", "3");
    assert_int_equal(g->mode, GATE_MODE_PAIRED);
    assert_int_equal(g->n_pairs, BLOCKS);
    assert_int_equal(g->verdict, GATE_SLOWER);
    assert_true(g->regression);
    assert_true(g->ratio_lo > 1.05 && g->ratio_lo < 1.10 && g->ratio_hi > 1.10 &&
                g->ratio_hi < 1.15);
    /* 16 pairs all one way: the exact two-sided p is 2 / 2^16. */
    assert_true(fabs(g->p - 2.0 / 65536) < 1e-12);
    assert_int_equal(gate_exit_code(&x.r), DYT_FAIL);
    done(&x);
}

static void test_paired_aa_is_same(void **state)
{
    (void)state;
    comparison x;
    const gate_result *g = compare(&x, "1", "twin");
    assert_int_equal(g->mode, GATE_MODE_PAIRED);
    assert_int_equal(g->verdict, GATE_SAME);
    assert_false(g->regression);
    assert_true(g->ratio_lo < 1 && 1 < g->ratio_hi && g->ratio_hi - g->ratio_lo < 0.03);
    assert_int_equal(gate_exit_code(&x.r), DYT_OK);
    done(&x);
}

static void test_unpaired_blocks_cannot_tell(void **state)
{
    (void)state;
    comparison x;
    /* Same slowdown, other session: the 20% drift swamps it. */
    const gate_result *g = compare(&x, "1", "slow-other");
    assert_int_equal(g->mode, GATE_MODE_BLOCKS);
    assert_false(g->regression);
    assert_int_equal(g->verdict, GATE_INCONCLUSIVE);
    int warned = 0;
    for (size_t i = 0; i < x.r.n_warnings; i++)
        warned |= strstr(x.r.warnings[i], "not measured together in lockstep") != NULL;
    assert_true(warned);
    done(&x);
    /* A run without a token is never paired. */
    compare(&x, "1", "plain");
    assert_int_equal(x.r.results[0].mode, GATE_MODE_BLOCKS);
    done(&x);
}

static void test_pooled_sessions_pair(void **state)
{
    (void)state;
    comparison x;
    const gate_result *g = compare(&x, "all:base", "all:slow");
    assert_int_equal(x.b.n_runs, 2);
    assert_int_equal(g->mode, GATE_MODE_PAIRED);
    assert_int_equal(g->n_pairs, 2 * BLOCKS);
    assert_true(g->regression);
    /* JSON names the mode and the pairs. */
    char *buf = render(&x.r, 2);
    assert_non_null(strstr(buf, "\"mode\": \"paired\""));
    assert_non_null(strstr(buf, "\"n_pairs\": 32"));
    free(buf);
    done(&x);
    /* Base pooled over both sessions, candidate from one: only that
     * session's blocks pair, the rest are left out and said so. */
    g = compare(&x, "all:base", "3");
    assert_int_equal(g->mode, GATE_MODE_PAIRED);
    assert_int_equal(g->n_pairs, BLOCKS);
    assert_non_null(strstr(g->note, "16 block(s) without a partner left out"));
    done(&x);
}

/* The same samples as runs 1 and 3, but under two tokens: no pairs, so
 * replicate mode on unpaired blocks, which the common drift swamps. */
static void test_same_data_unpaired(void **state)
{
    (void)state;
    comparison x;
    const gate_result *g = compare(&x, "base-u", "slow-u");
    assert_int_equal(g->mode, GATE_MODE_BLOCKS);
    assert_int_equal(g->n_pairs, 0);
    assert_int_equal(g->verdict, GATE_INCONCLUSIVE);
    assert_false(g->regression);
    assert_true(g->ratio_lo < 1.05 && g->ratio_hi > 1.10);
    assert_non_null(strstr(g->note, "measured in lockstep but not together: 0 block pair(s)"));
    assert_int_equal(x.r.n_mode[GATE_MODE_BLOCKS], 1);
    assert_int_equal(x.r.n_mode[GATE_MODE_PAIRED], 0);
    double width_unpaired = g->ratio_hi - g->ratio_lo;
    done(&x);
    /* Paired, the same numbers give the 10%: only the pairing differs. */
    compare(&x, "1", "3");
    assert_int_equal(x.r.results[0].mode, GATE_MODE_PAIRED);
    assert_true(x.r.results[0].regression);
    assert_true(fabs(x.r.results[0].ratio - 1.10) < 0.01);
    /* ... and an interval several times narrower. */
    assert_true(x.r.results[0].ratio_hi - x.r.results[0].ratio_lo < width_unpaired / 4);
    done(&x);
}

/* The loader keeps each run's token and arm. */
static void test_tokens_loaded(void **state)
{
    (void)state;
    comparison x;
    compare(&x, "all:base", "plain");
    assert_int_equal(x.b.n_runs, 2);
    assert_string_equal(x.b.runs[0].lockstep_token, "s1");
    assert_string_equal(x.b.runs[0].arm, "base");
    assert_string_equal(x.b.runs[1].lockstep_token, "s3");
    assert_string_equal(x.b.lockstep_token, "s3");
    assert_string_equal(x.c.runs[0].lockstep_token, "");
    assert_string_equal(x.c.runs[0].arm, "");
    assert_int_equal(x.r.results[0].mode, GATE_MODE_BLOCKS);
    assert_int_equal(x.r.results[0].n_pairs, 0);
    done(&x);
}

/* Two arms of one session pooled on one side: keys repeat, no one-to-one
 * pairing exists, so the case falls back to unpaired blocks and says why. */
static void test_duplicate_keys_unpaired(void **state)
{
    (void)state;
    comparison x;
    const gate_result *g = compare(&x, "1,2", "3");
    assert_int_equal(g->mode, GATE_MODE_BLOCKS);
    assert_int_equal(g->n_blocks_base, 2 * BLOCKS);
    assert_non_null(strstr(g->note, "two blocks of one session and round"));
    done(&x);
}

/* 4 pairs cannot reach p < 0.01 (2/2^4 = 0.125): inconclusive, with how
 * many would be needed (8: 2/2^8 < 0.01 <= 2/2^7). */
static void test_too_few_pairs(void **state)
{
    (void)state;
    comparison x;
    const gate_result *g = compare(&x, "few-base", "few-slow");
    assert_int_equal(g->mode, GATE_MODE_PAIRED);
    assert_int_equal(g->n_pairs, 4);
    assert_int_equal(g->verdict, GATE_INCONCLUSIVE);
    assert_false(g->regression);
    assert_true(isnan(g->p) && isnan(g->ratio_lo));
    assert_non_null(strstr(g->note, "too few pairs (4; at alpha 0.01 at least 8 are needed)"));
    done(&x);
}

/* Every format names the mode per case and the modes of the report. */
static void test_formats_carry_mode(void **state)
{
    (void)state;
    comparison x;
    compare(&x, "1", "3");
    char *t = render(&x.r, 0), *m = render(&x.r, 1), *j = render(&x.r, 2), *u = render(&x.r, 3);
    assert_non_null(strstr(t, "paired 16"));
    assert_non_null(strstr(t, "modes: paired 1\n"));
    assert_non_null(strstr(m, "| paired 16 |"));
    assert_non_null(strstr(m, "modes: paired 1"));
    assert_non_null(strstr(j, "\"mode\": \"paired\""));
    assert_non_null(strstr(j, "\"n_pairs\": 16"));
    assert_non_null(strstr(j, "\"paired\": 1"));
    assert_non_null(strstr(j, "\"lockstep_token\": \"s1\""));
    assert_non_null(strstr(u, "<property name=\"modes\" value=\"paired 1\"/>"));
    assert_non_null(strstr(u, "mode paired 16"));
    assert_non_null(strstr(u, "<failure type=\"regression\""));
    free(t);
    free(m);
    free(j);
    free(u);
    done(&x);
    /* Mixed report line: an unpaired comparison says blocks. */
    compare(&x, "1", "plain");
    t = render(&x.r, 0);
    assert_non_null(strstr(t, "modes: blocks 1\n"));
    free(t);
    done(&x);
}

DYT_TEST_MAIN_IN_TMPDIR(
    "gate-paired", setup, NULL, cmocka_unit_test(test_paired_detects_under_drift),
    cmocka_unit_test(test_paired_aa_is_same), cmocka_unit_test(test_unpaired_blocks_cannot_tell),
    cmocka_unit_test(test_pooled_sessions_pair), cmocka_unit_test(test_same_data_unpaired),
    cmocka_unit_test(test_tokens_loaded), cmocka_unit_test(test_duplicate_keys_unpaired),
    cmocka_unit_test(test_too_few_pairs), cmocka_unit_test(test_formats_carry_mode))
