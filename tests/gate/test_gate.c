/* Tests of the regression gate on synthetic runs written through the store
 * API into a temporary database: every verdict (faster, slower, same,
 * inconclusive for too few samples and for too much noise, slower but
 * under the threshold), unmatched cases listed on both sides, the exit
 * codes of `dytbench compare` (0 pass, 1 regression, 2 bad input), each
 * output format (JSON parsed with jansson, JUnit's required elements and
 * attributes, Markdown's order), the exact instruction-count metric and
 * which stored counter it takes, a run
 * in a second store (path.db:run), and the A/A calibration with the
 * warning it makes compare print. Replicate mode: runs whose samples carry
 * blocks with a per-block random factor (time-correlated noise), compared
 * on block medians (A/A same, a 20% shift a regression, 2 vs 2 blocks
 * inconclusive, one block on a side falling back to sample mode with the
 * warning), sides pooled from several runs (all:LABEL, comma lists, in a
 * second store), bad specs, and the false-alarm and detection rates of
 * both modes on simulated block-correlated noise. argv[1] is the
 * dytbench binary. */
#include "dyt_test.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gate.h"
#include "machine.h"
#include "stats.h"
#include "store.h"

static char db[300], db2[300];

typedef struct {
    const char *model;
    int64_t rows;
    size_t n;
    double median, sigma; /* log-normal: median * exp(N(0, sigma)) */
    const char *status;   /* NULL: ok */
    double counter;       /* > 0: an instructions counter instead of samples */
    int blocks;           /* > 1: sample i is in block i % blocks */
    double block_sigma;   /* each block's samples scaled by exp(N(0, block_sigma)) */
} syn_case;

static int64_t put_machine(store *s, const char *fp)
{
    machine_info m;
    small_machine(&m, "gate-test", fp);
    snprintf(m.cpu_model, sizeof m.cpu_model, "synthetic");
    m.llc_bytes = 1 << 20;
    m.mem_usable_bytes = 1 << 30;
    int64_t id;
    dyt_err e = {{0}};
    if (store_put_machine(s, &m, &id, &e) != DYT_OK)
        fail_msg("store_put_machine: %s", e.msg);
    return id;
}

static int64_t add_run_ex(store *s, int64_t machine_id, const char *label, const char *metric,
                          const syn_case *cases, size_t n_cases, uint64_t seed,
                          const char *end_status)
{
    store_run_meta meta = small_run_meta(machine_id, label, metric);
    int64_t run_id;
    dyt_err e = {{0}};
    if (store_begin_run(s, &meta, &run_id, &e) != DYT_OK)
        fail_msg("store_begin_run: %s", e.msg);
    dyt_rng r;
    dyt_rng_seed(&r, seed);
    for (size_t k = 0; k < n_cases; k++) {
        const syn_case *sc = &cases[k];
        store_case c = small_case(sc->model);
        c.seq = (int)k;
        c.rows = sc->rows;
        c.status = sc->status ? sc->status : "ok";
        c.error = sc->status ? "synthetic failure" : NULL;
        store_sample smp[512];
        double x[512];
        store_counter kc[1];
        size_t nk = 0, n = sc->status || sc->counter > 0 ? 0 : sc->n;
        int nbl = sc->blocks > 1 ? sc->blocks : 1;
        double factor[64];
        assert_true(nbl <= 64);
        for (int k = 0; k < nbl; k++)
            factor[k] = sc->block_sigma > 0 ? exp(dyt_rng_normal(&r, 0, sc->block_sigma)) : 1;
        for (size_t i = 0; i < n; i++) {
            int blk = (int)(i % (size_t)nbl);
            x[i] = sc->median * factor[blk] * exp(dyt_rng_normal(&r, 0, sc->sigma));
            smp[i] = (store_sample){.ns = x[i], .block = blk};
        }
        store_stats st, *stp = NULL;
        if (n) {
            stats_summary su;
            stats_describe(x, n, 0.95, &su);
            st = (store_stats){.n = (int)n,
                               .median_ns = su.median,
                               .ci_low_ns = su.ci_low,
                               .ci_high_ns = su.ci_high,
                               .mean_ns = su.mean,
                               .stddev_ns = su.stddev,
                               .min_ns = su.min,
                               .max_ns = su.max,
                               .mad_ns = su.mad,
                               .rel_ci_width = su.rel_ci_width,
                               .gbps = 1,
                               .roofline_pct = -1};
            stp = &st;
        }
        if (sc->counter > 0) {
            kc[0] = (store_counter){.source = "callgrind",
                                    .name = "instructions",
                                    .available = 1,
                                    .value = sc->counter * 1024 * sc->rows,
                                    .per_element = sc->counter};
            nk = 1;
        }
        int64_t case_id;
        if (store_put_case(s, run_id, &c, smp, n, stp, kc, nk, &case_id, &e) != DYT_OK)
            fail_msg("store_put_case: %s", e.msg);
    }
    if (store_end_run(s, run_id, end_status, NULL, &e) != DYT_OK)
        fail_msg("store_end_run: %s", e.msg);
    return run_id;
}

static int64_t add_run(store *s, int64_t machine_id, const char *label, const char *metric,
                       const syn_case *cases, size_t n_cases, uint64_t seed)
{
    return add_run_ex(s, machine_id, label, metric, cases, n_cases, seed, "complete");
}

/* Base and candidate of the main scenario; model names say the verdict. */
static const syn_case base_cases[] = {
    {"same", 8, 60, 1000, 0.01, NULL, 0, 0, 0},
    {"regression", 8, 60, 1000, 0.01, NULL, 0, 0, 0},
    {"faster", 8, 60, 1000, 0.01, NULL, 0, 0, 0},
    {"few", 8, 3, 1000, 0.01, NULL, 0, 0, 0},
    {"noisy", 8, 8, 1000, 0.40, NULL, 0, 0, 0},
    {"small-shift", 8, 200, 1000, 0.002, NULL, 0, 0, 0},
    {"failed", 8, 60, 1000, 0.01, NULL, 0, 0, 0},
    {"only-base", 8, 60, 1000, 0.01, NULL, 0, 0, 0},
};
static const syn_case cand_cases[] = {
    {"same", 8, 60, 1000, 0.01, NULL, 0, 0, 0},
    {"regression", 8, 60, 1200, 0.01, NULL, 0, 0, 0},
    {"faster", 8, 60, 800, 0.01, NULL, 0, 0, 0},
    {"few", 8, 3, 1300, 0.01, NULL, 0, 0, 0},
    {"noisy", 8, 8, 1000, 0.40, NULL, 0, 0, 0},
    {"small-shift", 8, 200, 1020, 0.002, NULL, 0, 0, 0},
    {"failed", 8, 60, 1000, 0.01, "failed", 0, 0, 0},
    {"only-cand", 8, 60, 1000, 0.01, NULL, 0, 0, 0},
};
static const syn_case clean_cases[] = {
    {"same", 8, 60, 1000, 0.01, NULL, 0, 0, 0},
    {"faster", 8, 60, 800, 0.01, NULL, 0, 0, 0},
};
static const syn_case instr_base[] = {
    {"i-same", 8, 0, 0, 0, NULL, 12.5, 0, 0},
    {"i-regression", 8, 0, 0, 0, NULL, 10.0, 0, 0},
    {"i-small", 8, 0, 0, 0, NULL, 10.0, 0, 0},
    {"i-faster", 8, 0, 0, 0, NULL, 10.0, 0, 0},
};
static const syn_case instr_cand[] = {
    {"i-same", 8, 0, 0, 0, NULL, 12.5, 0, 0},
    {"i-regression", 8, 0, 0, 0, NULL, 11.0, 0, 0},
    {"i-small", 8, 0, 0, 0, NULL, 10.2, 0, 0},
    {"i-faster", 8, 0, 0, 0, NULL, 9.5, 0, 0},
};

/* Replicate mode: 10 blocks per side with a 2% per-block factor. */
static const syn_case rb_base[] = {
    {"aa", 8, 200, 1000, 0.01, NULL, 0, 10, 0.02},
    {"shift20", 8, 200, 1000, 0.01, NULL, 0, 10, 0.02},
    {"two", 8, 40, 1000, 0.01, NULL, 0, 2, 0.02},
    {"mixed", 8, 100, 1000, 0.01, NULL, 0, 10, 0.02},
};
static const syn_case rb_cand[] = {
    {"aa", 8, 200, 1000, 0.01, NULL, 0, 10, 0.02},
    {"shift20", 8, 200, 1200, 0.01, NULL, 0, 10, 0.02},
    {"two", 8, 40, 1300, 0.01, NULL, 0, 2, 0.02},
    {"mixed", 8, 100, 1000, 0.01, NULL, 0, 1, 0.02},
};
/* Runs of one block each, pooled into sides; the block factor is the
 * run's. */
static const syn_case pool_a[] = {
    {"aa", 8, 20, 1000, 0.01, NULL, 0, 1, 0.02},
    {"shift", 8, 20, 1000, 0.01, NULL, 0, 1, 0.02},
};
static const syn_case pool_b[] = {
    {"aa", 8, 20, 1000, 0.01, NULL, 0, 1, 0.02},
    {"shift", 8, 20, 1200, 0.01, NULL, 0, 1, 0.02},
};
static int64_t pool_a_ids[2], pool_a_aborted;
/* clean's cases, every one failed: matched, never compared. */
static const syn_case all_failed[] = {
    {"same", 8, 60, 1000, 0.01, "failed", 0, 0, 0},
    {"faster", 8, 60, 800, 0.01, "failed", 0, 0, 0},
};

static int setup(void **state)
{
    (void)state;
    if (!dytbench_exe) {
        fprintf(stderr, "usage: test_gate DYTBENCH\n");
        return -1;
    }
    snprintf(db, sizeof db, "%s/t.db", tmpdir);
    snprintf(db2, sizeof db2, "%s/other.db", tmpdir);
    store *s;
    dyt_err e = {{0}};
    if (store_open(db, 1, &s, &e) != DYT_OK) {
        fprintf(stderr, "store_open: %s\n", e.msg);
        return -1;
    }
    int64_t m = put_machine(s, "fp-gate-test");
    add_run(s, m, "base", "time", base_cases, DYT_ARRAY_LEN(base_cases), 11);         /* run 1 */
    add_run(s, m, "cand", "time", cand_cases, DYT_ARRAY_LEN(cand_cases), 12);         /* run 2 */
    add_run(s, m, "clean", "time", clean_cases, DYT_ARRAY_LEN(clean_cases), 13);      /* run 3 */
    add_run(s, m, "ibase", "instructions", instr_base, DYT_ARRAY_LEN(instr_base), 1); /* 4 */
    add_run(s, m, "icand", "instructions", instr_cand, DYT_ARRAY_LEN(instr_cand), 1); /* 5 */
    add_run(s, m, "rb-base", "time", rb_base, DYT_ARRAY_LEN(rb_base), 21);
    add_run(s, m, "rb-cand", "time", rb_cand, DYT_ARRAY_LEN(rb_cand), 22);
    pool_a_ids[0] = add_run(s, m, "pool-a", "time", pool_a, 2, 31);
    add_run(s, m, "pool-b", "time", pool_b, 2, 32);
    pool_a_ids[1] = add_run(s, m, "pool-a", "time", pool_a, 2, 33);
    add_run(s, m, "pool-b", "time", pool_b, 2, 34);
    pool_a_aborted = add_run_ex(s, m, "pool-a", "time", pool_a, 2, 35, "aborted");
    for (uint64_t i = 0; i < 6; i++) {
        add_run(s, m, "pa6", "time", pool_a, 2, 40 + 2 * i);
        add_run(s, m, "pb6", "time", pool_b, 2, 41 + 2 * i);
    }
    int64_t m2 = put_machine(s, "fp-other-machine");
    add_run(s, m2, "pool-a-other", "time", pool_a, 2, 36);
    add_run(s, m, "all-failed", "time", all_failed, DYT_ARRAY_LEN(all_failed), 37);
    /* Runs that say which pages they were measured on (--pages). */
    add_run(s, m, "pages-huge", "time", pool_a, 2, 38);
    add_run(s, m, "pages-small", "time", pool_b, 2, 39);
    if (sqlite3_exec(store_db(s),
                     "UPDATE runs SET settings = json_set(coalesce(settings, '{}'), '$.pages', "
                     "substr(label, 7)) WHERE label LIKE 'pages-%'",
                     NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    store_close(s);
    if (store_open(db2, 1, &s, &e) != DYT_OK)
        return -1;
    m = put_machine(s, "fp-gate-test");
    add_run(s, m, "ext", "time", cand_cases, DYT_ARRAY_LEN(cand_cases), 12);
    for (uint64_t i = 0; i < 6; i++)
        add_run(s, m, "ext-b", "time", pool_b, 2, 50 + i);
    store_close(s);
    return 0;
}

static const gate_result *find(const gate_report *r, const char *model)
{
    for (size_t i = 0; i < r->n_results; i++)
        if (!strcmp(r->results[i].base->model, model))
            return &r->results[i];
    fail_msg("no result for %s", model);
    return NULL;
}

static void test_verdicts(void **state)
{
    (void)state;
    store *s = open_store(db, 0);
    dyt_err e = {{0}};
    gate_run b, c;
    assert_int_equal(gate_load_run(s, "base", "time", &b, &e), DYT_OK);
    assert_int_equal(gate_load_run(s, "cand", "time", &c, &e), DYT_OK);
    gate_opts o;
    gate_opts_default(&o);
    gate_report r;
    assert_int_equal(gate_compare(&b, &c, &o, s, &r, &e), DYT_OK);
    assert_int_equal(r.n_results, 7);
    const gate_result *g = find(&r, "same");
    assert_int_equal(g->verdict, GATE_SAME);
    assert_false(g->regression);
    g = find(&r, "regression");
    assert_int_equal(g->verdict, GATE_SLOWER);
    assert_true(g->regression);
    assert_true(g->p < o.alpha);
    assert_true(g->ratio_lo > 1.05 && g->ratio_lo < 1.2 && g->ratio_hi > 1.2);
    g = find(&r, "faster");
    assert_int_equal(g->verdict, GATE_FASTER);
    assert_false(g->regression);
    g = find(&r, "few");
    assert_int_equal(g->verdict, GATE_INCONCLUSIVE);
    assert_false(g->regression);
    assert_true(isinf(g->min_detectable));
    assert_non_null(strstr(g->note, "too few samples"));
    g = find(&r, "noisy");
    assert_int_equal(g->verdict, GATE_INCONCLUSIVE);
    assert_true(g->min_detectable > o.threshold && isfinite(g->min_detectable));
    assert_non_null(strstr(g->note, "too noisy"));
    g = find(&r, "small-shift");
    assert_int_equal(g->verdict, GATE_SLOWER);
    assert_false(g->regression); /* +2% is real but under the 5% threshold */
    g = find(&r, "failed");
    assert_int_equal(g->verdict, GATE_INCONCLUSIVE);
    assert_non_null(strstr(g->note, "failed"));
    assert_int_equal(r.n_only_base, 1);
    assert_string_equal(r.only_base[0]->model, "only-base");
    assert_int_equal(r.n_only_cand, 1);
    assert_string_equal(r.only_cand[0]->model, "only-cand");
    assert_int_equal(r.n_regressions, 1);
    assert_int_equal(gate_exit_code(&r), DYT_FAIL);
    /* A higher threshold lets the 20% slowdown through. */
    gate_report_free(&r);
    o.threshold = 0.25;
    assert_int_equal(gate_compare(&b, &c, &o, s, &r, &e), DYT_OK);
    assert_int_equal(gate_exit_code(&r), DYT_OK);
    assert_int_equal(find(&r, "regression")->verdict, GATE_SLOWER);
    gate_report_free(&r);
    gate_run_free(&b);
    gate_run_free(&c);
    store_close(s);
}

static void test_values_exact(void **state)
{
    (void)state;
    gate_opts o;
    gate_opts_default(&o);
    gate_result g;
    gate_compare_values(100, 100, &o, &g);
    assert_int_equal(g.verdict, GATE_SAME);
    gate_compare_values(100, 100.5, &o, &g);
    assert_int_equal(g.verdict, GATE_SLOWER);
    assert_false(g.regression);
    gate_compare_values(100, 106, &o, &g);
    assert_true(g.regression);
    gate_compare_values(100, 90, &o, &g);
    assert_int_equal(g.verdict, GATE_FASTER);
}

/* Runs dytbench with args (a shell fragment), stdout into out (if not
 * NULL); returns the exit code. */
static int run_cli(const char *args, const char *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2> '%s/stderr'", dytbench_exe, args,
             out ? out : "/dev/null", tmpdir);
    return exit_code(system(cmd));
}

static void test_exit_codes(void **state)
{
    (void)state;
    char a[1024];
    snprintf(a, sizeof a, "compare base cand --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 1);
    snprintf(a, sizeof a, "compare base clean --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 0);
    snprintf(a, sizeof a, "compare base cand --threshold 30%% --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 0);
    snprintf(a, sizeof a, "compare 1 2 --db '%s'", db); /* ids work like labels */
    assert_int_equal(run_cli(a, NULL), 1);
    snprintf(a, sizeof a, "compare base no-such-label --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 2);
    snprintf(a, sizeof a, "compare base cand --threshold abc --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 2);
    snprintf(a, sizeof a, "compare base cand --alpha 0 --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 2);
    snprintf(a, sizeof a, "compare base cand --format xml --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 2);
    snprintf(a, sizeof a, "compare base --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 2);
    snprintf(a, sizeof a, "compare base cand --db '%s/missing.db'", tmpdir);
    assert_int_equal(run_cli(a, NULL), 2);
    /* An instruction-count run has no timings. */
    snprintf(a, sizeof a, "compare ibase icand --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 2);
    assert_int_equal(run_cli("compare --help", NULL), 0);
    /* A run in a second store. */
    snprintf(a, sizeof a, "compare base '%s:ext' --db '%s'", db2, db);
    assert_int_equal(run_cli(a, NULL), 1);
    snprintf(a, sizeof a, "compare '%s:1' '%s:ext'", db, db2);
    assert_int_equal(run_cli(a, NULL), 1);
}

/* A gate that compared nothing does not pass: two runs without a case in
 * common, cases matched but none with a value on both sides, and a counter
 * name no case has (a typo) all exit 2, saying why; the report still says
 * what it saw, and the JUnit report carries an error. */
static void test_compared_nothing(void **state)
{
    (void)state;
    /* Each: arguments (the store appended), the file of stdout (NULL:
     * discarded), and what stdout (or, without one, stderr) must say. */
    static const struct {
        const char *args, *out, *says[2];
    } cases[] = {
        /* no case in common */
        {"compare base pool-a", "nothing.txt", {"0 compared", "gate: NOTHING COMPARED"}},
        {"compare base pool-a", NULL, {"no case was compared", "no case in common"}},
        /* matched, all failed */
        {"compare clean all-failed", NULL, {"2 matched case(s), none with a value", NULL}},
        {"compare clean all-failed --format junit", "nothing.xml",
         {"errors=\"1\"", "<error type=\"nothing compared\""}},
        {"compare clean all-failed --format json", "nothing.json",
         {"\"gate\": \"nothing compared\"", "\"exit_code\": 2"}},
        /* a counter name no case has: an input error before comparing */
        {"compare ibase icand --metric instrucitons", NULL,
         {"--metric instrucitons: no case of run 4", "it stores: instructions"}},
        {"compare base cand --metric instrucitons", NULL, {"no case of run 1", NULL}},
    };
    for (size_t i = 0; i < DYT_ARRAY_LEN(cases); i++) {
        char a[1024], out[400];
        snprintf(a, sizeof a, "%s --db '%s'", cases[i].args, db);
        snprintf(out, sizeof out, "%s/%s", tmpdir, cases[i].out ? cases[i].out : "stdout");
        assert_int_equal(run_cli(a, out), 2);
        if (!cases[i].out)
            snprintf(out, sizeof out, "%s/stderr", tmpdir);
        char *t = read_text(out);
        for (int k = 0; k < 2; k++)
            if (cases[i].says[k] && !strstr(t, cases[i].says[k]))
                fail_msg("%s: output lacks '%s':\n%s", cases[i].args, cases[i].says[k], t);
        assert_null(strstr(t, "gate: pass"));
        free(t);
    }
    /* PATH.db:RUN with a file that does not exist says so, with or
     * without a default store. */
    for (int absent = 0; absent < 2; absent++) {
        char a[1024], err[400];
        snprintf(a, sizeof a, "compare '%s/missing.db:1' 2 --db '%s%s'", tmpdir,
                 absent ? tmpdir : db, absent ? "/absent.db" : "");
        assert_int_equal(run_cli(a, NULL), 2);
        snprintf(err, sizeof err, "%s/stderr", tmpdir);
        char *t = read_text(err);
        assert_non_null(strstr(t, "missing.db: no such store file"));
        free(t);
    }
}

/* Which counter a counter metric takes: callgrind's exact count over
 * PAPI's when a case has both, PAPI_TOT_INS for "instructions" otherwise;
 * an unavailable one gives its reason, an absent one says so. */
static void test_counter_choice(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/counters.db", tmpdir);
    store *s = open_store(path, 1);
    dyt_err e = {{0}};
    int64_t m = put_machine(s, "fp-counters");
    store_run_meta meta = small_run_meta(m, "k", "instructions");
    int64_t run;
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    const store_counter both[] = {
        {.source = "papi", .name = "PAPI_TOT_INS", .available = 1, .value = 50, .per_element = 5},
        {.source = "callgrind",
         .name = "instructions",
         .available = 1,
         .value = 30,
         .per_element = 3},
        {.source = "rusage", .name = "minflt", .available = 1, .value = 1, .per_element = 0.1}};
    const store_counter papi_only[] = {
        {.source = "papi", .name = "PAPI_TOT_INS", .available = 1, .value = 70, .per_element = 7}};
    const store_counter unavailable[] = {
        {.source = "papi", .name = "PAPI_TOT_INS", .available = 0, .unavailable_reason = "no PMU"}};
    const struct {
        const store_counter *k;
        size_t n;
    } per_case[] = {{both, 3}, {papi_only, 1}, {unavailable, 1}, {NULL, 0}};
    for (size_t i = 0; i < DYT_ARRAY_LEN(per_case); i++) {
        store_case c = small_case("m");
        c.seq = (int)i;
        c.cols = 64 << i;
        c.max_err = -1;
        c.bytes = 4096;
        assert_int_equal(
            store_put_case(s, run, &c, NULL, 0, NULL, per_case[i].k, per_case[i].n, NULL, &e),
            DYT_OK);
    }
    assert_int_equal(store_end_run(s, run, "complete", NULL, &e), DYT_OK);
    gate_run r;
    assert_int_equal(gate_load_run(s, "k", "instructions", &r, &e), DYT_OK);
    assert_int_equal(r.n_cases, 4);
    assert_int_equal(r.cases[0].n, 1);
    assert_true(r.cases[0].x[0] == 3);
    assert_string_equal(r.cases[0].source, "callgrind");
    assert_int_equal(r.cases[1].n, 1);
    assert_true(r.cases[1].x[0] == 7);
    assert_string_equal(r.cases[1].source, "papi");
    assert_int_equal(r.cases[2].n, 0);
    assert_string_equal(r.cases[2].missing, "papi instructions unavailable: no PMU");
    assert_int_equal(r.cases[3].n, 0);
    assert_string_equal(r.cases[3].missing, "counter not stored");
    gate_run_free(&r);
    /* Any other counter by its exact name. */
    assert_int_equal(gate_load_run(s, "k", "minflt", &r, &e), DYT_OK);
    assert_true(r.cases[0].n == 1 && r.cases[0].x[0] == 0.1);
    assert_string_equal(r.cases[1].missing, "counter not stored");
    gate_run_free(&r);
    store_close(s);
}

static void test_instructions_metric(void **state)
{
    (void)state;
    char a[1024], out[400];
    snprintf(out, sizeof out, "%s/i.json", tmpdir);
    snprintf(a, sizeof a, "compare ibase icand --metric instructions --format json --db '%s'", db);
    assert_int_equal(run_cli(a, out), 1);
    json_error_t je;
    json_t *j = json_load_file(out, 0, &je);
    assert_non_null(j);
    json_t *cases = json_object_get(j, "cases");
    assert_int_equal(json_array_size(cases), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *c = json_array_get(cases, i);
        const char *model = json_string_value(json_object_get(c, "model"));
        const char *v = json_string_value(json_object_get(c, "verdict"));
        int reg = json_is_true(json_object_get(c, "regression"));
        assert_true(json_is_null(json_object_get(c, "p"))); /* exact: no p-value */
        if (!strcmp(model, "i-same"))
            assert_true(!strcmp(v, "same") && !reg);
        else if (!strcmp(model, "i-regression"))
            assert_true(!strcmp(v, "slower") && reg);
        else if (!strcmp(model, "i-small"))
            assert_true(!strcmp(v, "slower") && !reg);
        else
            assert_true(!strcmp(v, "faster") && !reg);
    }
    json_decref(j);
    snprintf(a, sizeof a, "compare ibase icand --metric instructions --threshold 15 --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 0);
}

static void test_json(void **state)
{
    (void)state;
    char a[1024], out[400];
    snprintf(out, sizeof out, "%s/r.json", tmpdir);
    snprintf(a, sizeof a, "compare base cand --format json --db '%s'", db);
    assert_int_equal(run_cli(a, out), 1);
    json_error_t je;
    json_t *j = json_load_file(out, 0, &je);
    if (!j)
        fail_msg("JSON does not parse: %s (line %d)", je.text, je.line);
    assert_string_equal(json_string_value(json_object_get(j, "gate")), "fail");
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 1);
    json_t *sum = json_object_get(j, "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "regressions")), 1);
    assert_int_equal(json_integer_value(json_object_get(sum, "compared")), 7);
    assert_int_equal(json_array_size(json_object_get(j, "only_base")), 1);
    assert_int_equal(json_array_size(json_object_get(j, "only_candidate")), 1);
    json_t *cases = json_object_get(j, "cases");
    int seen = 0;
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        if (strcmp(json_string_value(json_object_get(c, "model")), "regression"))
            continue;
        seen = 1;
        assert_true(json_is_true(json_object_get(c, "regression")));
        double lo = json_real_value(json_object_get(c, "ratio_low"));
        assert_true(lo > 1.05);
        assert_true(json_real_value(json_object_get(c, "p")) < 0.01);
        assert_int_equal(json_integer_value(json_object_get(c, "rows")), 8);
    }
    assert_true(seen);
    json_decref(j);
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The value of attribute name in the first element starting at tag. */
static int has_attr(const char *tag, const char *name)
{
    const char *end = strchr(tag, '>');
    char pat[64];
    snprintf(pat, sizeof pat, " %s=\"", name);
    const char *p = strstr(tag, pat);
    return p && end && p < end;
}

static void test_junit(void **state)
{
    (void)state;
    char a[1024], out[400];
    snprintf(out, sizeof out, "%s/r.xml", tmpdir);
    snprintf(a, sizeof a, "compare base cand --format junit --db '%s'", db);
    assert_int_equal(run_cli(a, out), 1);
    char *x = read_text(out);
    assert_true(!strncmp(x, "<?xml version=\"1.0\"", 19));
    const char *ts = strstr(x, "<testsuites");
    assert_non_null(ts);
    assert_true(has_attr(ts, "name") && has_attr(ts, "tests") && has_attr(ts, "failures") &&
                has_attr(ts, "errors"));
    const char *t1 = strstr(x, "<testsuite ");
    assert_non_null(t1);
    assert_true(has_attr(t1, "name") && has_attr(t1, "tests") && has_attr(t1, "failures") &&
                has_attr(t1, "errors"));
    assert_non_null(strstr(t1, "tests=\"9\"")); /* 7 compared + 2 unmatched */
    assert_non_null(strstr(t1, "failures=\"1\""));
    size_t n_tc = 0;
    for (const char *tc = strstr(x, "<testcase"); tc; tc = strstr(tc + 1, "<testcase")) {
        assert_true(has_attr(tc, "name") && has_attr(tc, "classname") && has_attr(tc, "time"));
        n_tc++;
    }
    assert_int_equal(n_tc, 9);
    assert_int_equal(count(x, "<failure"), 1);
    assert_int_equal(count(x, "</testcase>"), 9);
    assert_int_equal(count(x, "</testsuite>"), 1);
    assert_int_equal(count(x, "</testsuites>"), 1);
    /* The failure sits inside the regression's testcase. */
    const char *f = strstr(x, "<failure");
    const char *owner = x, *tc;
    for (tc = strstr(x, "<testcase"); tc && tc < f; tc = strstr(tc + 1, "<testcase"))
        owner = tc;
    assert_non_null(strstr(owner, "/regression/"));
    assert_true(strstr(owner, "/regression/") < f);
    free(x);
}

static void test_md(void **state)
{
    (void)state;
    char a[1024], out[400];
    snprintf(out, sizeof out, "%s/r.md", tmpdir);
    snprintf(a, sizeof a, "compare base cand --format md --db '%s'", db);
    assert_int_equal(run_cli(a, out), 1);
    char *m = read_text(out);
    const char *reg = strstr(m, "### Regressions (1)");
    const char *imp = strstr(m, "### Improvements (1)");
    const char *det = strstr(m, "<details>");
    const char *end = strstr(m, "</details>");
    assert_true(reg && imp && det && end);
    assert_true(reg < imp && imp < det && det < end);
    /* The regression row is under Regressions, the faster one under
     * Improvements, the same one in the collapsed rest. */
    const char *r1 = strstr(m, "/regression/");
    const char *f1 = strstr(m, "/faster/");
    const char *s1 = strstr(m, "/same/");
    assert_true(r1 && reg < r1 && r1 < imp);
    assert_true(f1 && imp < f1 && f1 < det);
    assert_true(s1 && det < s1 && s1 < end);
    assert_non_null(strstr(m, "only in base"));
    assert_non_null(strstr(m, "only in candidate"));
    free(m);
    /* Text lists the regression first too, and the unmatched cases. */
    snprintf(out, sizeof out, "%s/r.txt", tmpdir);
    snprintf(a, sizeof a, "compare base cand --db '%s'", db);
    assert_int_equal(run_cli(a, out), 1);
    char *t = read_text(out);
    assert_true(strstr(t, "REGRESSION") < strstr(t, "faster"));
    assert_non_null(strstr(t, "only in base"));
    assert_non_null(strstr(t, "gate: FAIL"));
    free(t);
}

static void test_calibration_warning(void **state)
{
    (void)state;
    store *s = open_store(db, 0);
    dyt_err e = {{0}};
    /* Calibrate with two A/A pairs of the "noisy" kind of machine. */
    static const syn_case aa[] = {
        {"same", 8, 30, 1000, 0.08, NULL, 0, 0, 0},
        {"regression", 8, 30, 1000, 0.08, NULL, 0, 0, 0},
        {"small-shift", 8, 30, 1000, 0.08, NULL, 0, 0, 0},
    };
    int64_t m = put_machine(s, "fp-gate-test");
    int64_t ra[2], rb[2];
    ra[0] = add_run(s, m, "calib-A", "time", aa, 3, 101);
    rb[0] = add_run(s, m, "calib-B", "time", aa, 3, 102);
    ra[1] = add_run(s, m, "calib-A", "time", aa, 3, 103);
    rb[1] = add_run(s, m, "calib-B", "time", aa, 3, 104);
    gate_opts o;
    gate_opts_default(&o);
    char path[400];
    snprintf(path, sizeof path, "%s/cal.txt", tmpdir);
    FILE *f = fopen(path, "w");
    assert_int_equal(gate_calibrate_store(s, ra, rb, 2, &o, f, &e), DYT_OK);
    fclose(f);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(store_db(s),
                                        "SELECT count(*), min(noise_rel), "
                                        "min(min_detectable_rel - noise_rel - threshold) "
                                        "FROM calibrations",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 3);
    /* 8% log-normal noise with 30 samples: the A/A intervals reach a few
     * percent from 1. */
    assert_true(sqlite3_column_double(st, 1) > 0.01);
    assert_true(fabs(sqlite3_column_double(st, 2)) < 1e-12);
    sqlite3_finalize(st);
    store_close(s);
    /* compare now warns that 1% is finer than this machine resolves. */
    char a[1024];
    snprintf(a, sizeof a, "compare base cand --threshold 1 --format json --db '%s'", db);
    run_cli(a, NULL);
    char err[300];
    snprintf(err, sizeof err, "%s/stderr", tmpdir);
    char *t = read_text(err);
    assert_non_null(strstr(t, "below what this machine can resolve"));
    free(t);
    /* ... and not at 50%. */
    snprintf(a, sizeof a, "compare base cand --threshold 50 --format json --db '%s'", db);
    run_cli(a, NULL);
    t = read_text(err);
    assert_null(strstr(t, "below what this machine can resolve"));
    free(t);

    /* --noise-floor: at 1% the +2% shift is a regression, unless the
     * case's calibrated A/A noise (several %) must be cleared too; the
     * +20% one stays a regression either way. */
    char out[400];
    snprintf(out, sizeof out, "%s/nf.json", tmpdir);
    for (int nf = 0; nf < 2; nf++) {
        snprintf(a, sizeof a, "compare base cand --threshold 1 --format json %s --db '%s'",
                 nf ? "--noise-floor" : "", db);
        assert_int_equal(run_cli(a, out), 1);
        json_error_t je;
        json_t *j = json_load_file(out, 0, &je);
        assert_non_null(j);
        json_t *cases = json_object_get(j, "cases");
        for (size_t i = 0; i < json_array_size(cases); i++) {
            json_t *c = json_array_get(cases, i);
            const char *model = json_string_value(json_object_get(c, "model"));
            int reg = json_is_true(json_object_get(c, "regression"));
            if (!strcmp(model, "small-shift")) {
                assert_int_equal(reg, !nf);
                assert_true(json_real_value(json_object_get(c, "calibrated_noise")) > 0.01);
                if (nf)
                    assert_non_null(
                        strstr(json_string_value(json_object_get(c, "note")), "A/A noise"));
            } else if (!strcmp(model, "regression")) {
                assert_true(reg);
            }
        }
        json_decref(j);
    }
    /* calibrate --from reuses stored pairs. */
    snprintf(a, sizeof a, "calibrate --from calib-A:calib-B --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 0);
    snprintf(a, sizeof a, "calibrate --from calib-A --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 2);
    snprintf(a, sizeof a, "calibrate --label x --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 2);
}

static void test_replicate_mode(void **state)
{
    (void)state;
    store *s = open_store(db, 0);
    dyt_err e = {{0}};
    gate_run b, c;
    assert_int_equal(gate_load_run(s, "rb-base", "time", &b, &e), DYT_OK);
    assert_int_equal(gate_load_run(s, "rb-cand", "time", &c, &e), DYT_OK);
    gate_opts o;
    gate_opts_default(&o);
    gate_report r;
    assert_int_equal(gate_compare(&b, &c, &o, NULL, &r, &e), DYT_OK);
    const gate_result *g = find(&r, "aa");
    assert_int_equal(g->mode, GATE_MODE_BLOCKS);
    assert_int_equal(g->n_blocks_base, 10);
    assert_int_equal(g->n_blocks_cand, 10);
    assert_int_equal(g->verdict, GATE_SAME);
    assert_false(g->regression);
    assert_true(g->ratio_lo < 1 && 1 < g->ratio_hi);
    g = find(&r, "shift20");
    assert_int_equal(g->mode, GATE_MODE_BLOCKS);
    assert_int_equal(g->verdict, GATE_SLOWER);
    assert_true(g->regression);
    /* 10 vs 10 blocks all one way: the exact two-sided p is 2 / C(20, 10). */
    assert_true(fabs(g->p - 2.0 / 184756) < 1e-12);
    assert_true(g->ratio_lo > 1.1 && g->ratio_lo < 1.2 && g->ratio_hi > 1.2 && g->ratio_hi < 1.3);
    g = find(&r, "two");
    assert_int_equal(g->mode, GATE_MODE_BLOCKS);
    assert_int_equal(g->verdict, GATE_INCONCLUSIVE);
    assert_false(g->regression);
    assert_non_null(strstr(g->note, "too few blocks (2 vs 2"));
    assert_non_null(strstr(g->note, "run --rounds"));
    assert_true(g->ratio > 1.2); /* the estimate is still given */
    g = find(&r, "mixed");
    assert_int_equal(g->mode, GATE_MODE_SAMPLES);
    assert_int_equal(g->n_blocks_base, 10);
    assert_int_equal(g->n_blocks_cand, 1);
    assert_non_null(strstr(g->note, "sample mode (blocks 10 vs 1)"));
    size_t n_warn = 0;
    for (size_t i = 0; i < r.n_warnings; i++)
        n_warn += strstr(r.warnings[i], "one block per side") != NULL;
    assert_int_equal(n_warn, 1);
    assert_int_equal(r.n_regressions, 1);
    assert_int_equal(gate_exit_code(&r), DYT_FAIL);
    gate_report_free(&r);
    /* The old runs (block 0 everywhere) are compared in sample mode. */
    gate_run ob, oc;
    assert_int_equal(gate_load_run(s, "base", "time", &ob, &e), DYT_OK);
    assert_int_equal(gate_load_run(s, "clean", "time", &oc, &e), DYT_OK);
    assert_int_equal(gate_compare(&ob, &oc, &o, NULL, &r, &e), DYT_OK);
    for (size_t i = 0; i < r.n_results; i++)
        assert_int_equal(r.results[i].mode, GATE_MODE_SAMPLES);
    n_warn = 0;
    for (size_t i = 0; i < r.n_warnings; i++)
        n_warn += strstr(r.warnings[i], "one block per side") != NULL;
    assert_int_equal(n_warn, 1);
    gate_report_free(&r);
    gate_run_free(&ob);
    gate_run_free(&oc);
    gate_run_free(&b);
    gate_run_free(&c);
    store_close(s);

    /* The CLI: exit 1, the mode in every format. */
    char a[1024], out[400];
    snprintf(out, sizeof out, "%s/rb.json", tmpdir);
    snprintf(a, sizeof a, "compare rb-base rb-cand --format json --db '%s'", db);
    assert_int_equal(run_cli(a, out), 1);
    json_error_t je;
    json_t *j = json_load_file(out, 0, &je);
    assert_non_null(j);
    json_t *cases = json_object_get(j, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *x = json_array_get(cases, i);
        const char *model = json_string_value(json_object_get(x, "model"));
        const char *mode = json_string_value(json_object_get(x, "mode"));
        assert_string_equal(mode, strcmp(model, "mixed") ? "blocks" : "samples");
        if (!strcmp(model, "shift20"))
            assert_int_equal(json_integer_value(json_object_get(x, "n_blocks_candidate")), 10);
    }
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "base"), "run_ids")), 1);
    json_decref(j);
    snprintf(out, sizeof out, "%s/rb.txt", tmpdir);
    snprintf(a, sizeof a, "compare rb-base rb-cand --db '%s'", db);
    assert_int_equal(run_cli(a, out), 1);
    char *t = read_text(out);
    assert_non_null(strstr(t, "blocks 10:10"));
    assert_non_null(strstr(t, "samples 10:1"));
    assert_non_null(strstr(t, "warning: one block per side"));
    free(t);
    snprintf(out, sizeof out, "%s/rb.md", tmpdir);
    snprintf(a, sizeof a, "compare rb-base rb-cand --format md --db '%s'", db);
    assert_int_equal(run_cli(a, out), 1);
    t = read_text(out);
    assert_non_null(strstr(t, "| blocks 10:10 |"));
    free(t);
    snprintf(out, sizeof out, "%s/rb.xml", tmpdir);
    snprintf(a, sizeof a, "compare rb-base rb-cand --format junit --db '%s'", db);
    assert_int_equal(run_cli(a, out), 1);
    t = read_text(out);
    assert_non_null(strstr(t, "<property name=\"base_runs\" value=\"6\"/>"));
    assert_non_null(strstr(t, "mode blocks 10:10"));
    free(t);
    /* calibrate compares as compare does: the A/A case's noise is that of
     * its block-median interval (a few %), stored for its key. */
    snprintf(a, sizeof a, "calibrate --from rb-base:rb-cand --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 0);
    assert_int_equal(store_open(db, 0, &s, &e), DYT_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(store_db(s),
                                        "SELECT noise_rel FROM calibrations WHERE case_key = "
                                        "'aa/dyt/scalar/fp32/fwd/8/1024/1/hot' "
                                        "ORDER BY id DESC LIMIT 1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    double nz = sqlite3_column_double(st, 0);
    assert_true(nz > 0.005 && nz < 0.06);
    sqlite3_finalize(st);
    store_close(s);
}

static void test_pooling(void **state)
{
    (void)state;
    store *s = open_store(db, 0);
    dyt_err e = {{0}};
    gate_opts o;
    gate_opts_default(&o);
    gate_run b, c;
    gate_report r;
    /* all:LABEL: the complete runs, oldest first; two runs of one block
     * each are two replicates. */
    assert_int_equal(gate_load_run(s, "all:pool-a", "time", &b, &e), DYT_OK);
    assert_int_equal(b.n_runs, 2);
    assert_true(b.runs[0].run_id == pool_a_ids[0] && b.runs[1].run_id == pool_a_ids[1]);
    assert_int_equal(b.run_id, pool_a_ids[1]);
    assert_int_equal(b.n_cases, 2);
    assert_int_equal(b.cases[0].n, 40);
    char list[64];
    snprintf(list, sizeof list, "pool-b,%lld", (long long)pool_a_aborted);
    assert_int_equal(gate_load_run(s, "all:pool-b", "time", &c, &e), DYT_OK);
    assert_int_equal(gate_compare(&b, &c, &o, NULL, &r, &e), DYT_OK);
    const gate_result *g = find(&r, "shift");
    assert_int_equal(g->mode, GATE_MODE_BLOCKS);
    assert_int_equal(g->n_blocks_base, 2);
    assert_int_equal(g->n_blocks_cand, 2);
    assert_int_equal(g->verdict, GATE_INCONCLUSIVE);
    assert_non_null(strstr(g->note, "too few blocks (2 vs 2"));
    gate_report_free(&r);
    gate_run_free(&c);
    /* A comma list: explicit runs, aborted ones included (with a warning). */
    snprintf(list, sizeof list, "%lld,%lld,%lld", (long long)pool_a_ids[0],
             (long long)pool_a_ids[1], (long long)pool_a_aborted);
    assert_int_equal(gate_load_run(s, list, "time", &c, &e), DYT_OK);
    assert_int_equal(c.n_runs, 3);
    assert_int_equal(gate_compare(&b, &c, &o, NULL, &r, &e), DYT_OK);
    assert_int_equal(find(&r, "aa")->n_blocks_cand, 3);
    int seen = 0;
    for (size_t i = 0; i < r.n_warnings; i++)
        seen |= strstr(r.warnings[i], "is aborted, not complete") != NULL;
    assert_true(seen);
    gate_report_free(&r);
    gate_run_free(&c);
    /* Runs of one side from another machine: a warning. */
    assert_int_equal(gate_load_run(s, "all:pool-b,pool-a-other", "time", &c, &e), DYT_OK);
    assert_int_equal(gate_compare(&b, &c, &o, NULL, &r, &e), DYT_OK);
    seen = 0;
    for (size_t i = 0; i < r.n_warnings; i++)
        seen |= strstr(r.warnings[i], "candidate runs come from different machines") != NULL;
    assert_true(seen);
    gate_report_free(&r);
    gate_run_free(&c);
    gate_run_free(&b);
    /* Sides measured on different pages, or one that does not say: a
     * warning naming both; the same pages: none. */
    static const struct {
        const char *base, *cand, *want;
    } pages[] = {
        {"pages-huge", "pages-small", "different pages (base: huge pages, candidate: small pages"},
        {"pool-a", "pages-small", "(base: pages not recorded, candidate: small pages"},
        {"pages-small", "pages-small", NULL},
    };
    for (size_t k = 0; k < DYT_ARRAY_LEN(pages); k++) {
        assert_int_equal(gate_load_run(s, pages[k].base, "time", &b, &e), DYT_OK);
        assert_int_equal(gate_load_run(s, pages[k].cand, "time", &c, &e), DYT_OK);
        assert_int_equal(gate_compare(&b, &c, &o, NULL, &r, &e), DYT_OK);
        seen = 0;
        for (size_t i = 0; i < r.n_warnings; i++)
            seen |= strstr(r.warnings[i], pages[k].want ? pages[k].want : "different pages") != NULL;
        if (seen != (pages[k].want != NULL))
            fail_msg("%s vs %s: a pages warning %s", pages[k].base, pages[k].cand,
                     seen ? "where none belongs" : "missing");
        gate_report_free(&r);
        gate_run_free(&c);
        gate_run_free(&b);
    }
    /* Six runs per side: the 20% shift is a regression, the A/A case is
     * not. */
    assert_int_equal(gate_load_run(s, "all:pa6", "time", &b, &e), DYT_OK);
    assert_int_equal(gate_load_run(s, "all:pb6", "time", &c, &e), DYT_OK);
    assert_int_equal(gate_compare(&b, &c, &o, NULL, &r, &e), DYT_OK);
    g = find(&r, "shift");
    assert_int_equal(g->n_blocks_base, 6);
    assert_int_equal(g->verdict, GATE_SLOWER);
    assert_true(g->regression);
    assert_false(find(&r, "aa")->regression);
    assert_int_equal(r.n_regressions, 1);
    gate_report_free(&r);
    gate_run_free(&c);
    gate_run_free(&b);

    /* Bad specs name the item. */
    static const char *const bad[][2] = {
        {"all:nosuchlabel", "nosuchlabel"}, {"1,nosuch", "nosuch"},    {"1,", "empty run"},
        {"all:", "needs a label"},          {"1,base", "named twice"},
    };
    for (size_t i = 0; i < DYT_ARRAY_LEN(bad); i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(gate_load_run(s, bad[i][0], "time", &b, &e), DYT_USAGE);
        if (!strstr(e.msg, bad[i][1]))
            fail_msg("spec '%s': message '%s' does not say '%s'", bad[i][0], e.msg, bad[i][1]);
        assert_int_equal(b.n_runs, 0);
    }
    memset(&e, 0, sizeof e);
    assert_int_equal(gate_load_run(s, "ibase,icand", "instructions", &b, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "one run per side"));
    store_close(s);

    /* The CLI: pooled sides, another store's all:LABEL, bad specs. */
    char a[1024], out[400];
    snprintf(a, sizeof a, "compare all:pa6 all:pb6 --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 1);
    snprintf(out, sizeof out, "%s/pool.json", tmpdir);
    snprintf(a, sizeof a, "compare all:pa6 '%s:all:ext-b' --format json --db '%s'", db2, db);
    assert_int_equal(run_cli(a, out), 1);
    json_error_t je;
    json_t *j = json_load_file(out, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "candidate"), "run_ids")),
                     6);
    json_decref(j);
    snprintf(a, sizeof a, "compare '%s:all:pa6' '%s:all:ext-b'", db, db2); /* no default store */
    assert_int_equal(run_cli(a, NULL), 1);
    snprintf(a, sizeof a, "compare all:nosuchlabel rb-cand --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 2);
    char err[300];
    snprintf(err, sizeof err, "%s/stderr", tmpdir);
    char *t = read_text(err);
    assert_non_null(strstr(t, "all:nosuchlabel"));
    free(t);
    snprintf(a, sizeof a, "compare rb-base 1,nosuch --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 2);
    t = read_text(err);
    assert_non_null(strstr(t, "nosuch"));
    free(t);
    snprintf(a, sizeof a, "compare ibase ibase,icand --metric instructions --db '%s'", db);
    assert_int_equal(run_cli(a, NULL), 2);
}

/* Why blocks: on noise correlated in time (each block of a run scaled by
 * its own random factor), sample mode takes the samples of a run for
 * independent draws and raises false alarms; block medians do not. Both
 * modes on the same 200 simulated A/A pairs, 10 blocks of 20 samples per
 * side, block factor sd 10%, sample noise 1%; then detection of a 20%
 * slowdown with block factor sd 5%. */
static void test_block_noise_rates(void **state)
{
    (void)state;
    dyt_rng r;
    dyt_rng_seed(&r, 77);
    gate_opts o;
    gate_opts_default(&o);
    enum { NB = 10, PER = 20, N = NB * PER, TRIALS = 200 };
    double a[N], b[N];
    int64_t ra[N], rb[N];
    int fa_blocks = 0, fa_samples = 0, hits = 0;
    for (int t = 0; t < 2 * TRIALS; t++) {
        int detect = t >= TRIALS;
        double bs = detect ? 0.05 : 0.10, shift = detect ? 1.2 : 1.0;
        for (int side = 0; side < 2; side++) {
            double *x = side ? b : a;
            int64_t *id = side ? rb : ra;
            for (int k = 0; k < NB; k++) {
                double f = exp(dyt_rng_normal(&r, 0, bs)) * (side ? shift : 1.0);
                for (int i = 0; i < PER; i++) {
                    x[k * PER + i] = 1000 * f * exp(dyt_rng_normal(&r, 0, 0.01));
                    id[k * PER + i] = k;
                }
            }
        }
        gate_result g;
        memset(&g, 0, sizeof g);
        gate_compare_blocks(a, ra, N, b, rb, N, &o, &g);
        assert_int_equal(g.mode, GATE_MODE_BLOCKS);
        if (detect) {
            hits += g.regression;
            continue;
        }
        fa_blocks += g.regression;
        gate_compare_samples(a, N, b, N, &o, &g);
        fa_samples += g.regression;
    }
    print_message("A/A false alarms: blocks %d/%d, samples %d/%d; +20%% detected %d/%d\n",
                  fa_blocks, TRIALS, fa_samples, TRIALS, hits, TRIALS);
    /* Blocks: at most alpha/2 = 0.5% expected (sd ~1 in 200). */
    assert_true(fa_blocks <= 4);
    assert_true(fa_samples > 5 * (fa_blocks + 1));
    assert_true(hits >= TRIALS * 95 / 100);
}

DYT_TEST_MAIN_IN_TMPDIR("gate-compare", setup, NULL, cmocka_unit_test(test_verdicts),
                        cmocka_unit_test(test_values_exact), cmocka_unit_test(test_exit_codes),
                        cmocka_unit_test(test_compared_nothing),
                        cmocka_unit_test(test_counter_choice),
                        cmocka_unit_test(test_instructions_metric), cmocka_unit_test(test_json),
                        cmocka_unit_test(test_junit), cmocka_unit_test(test_md),
                        cmocka_unit_test(test_calibration_warning),
                        cmocka_unit_test(test_replicate_mode), cmocka_unit_test(test_pooling),
                        cmocka_unit_test(test_block_noise_rates))
