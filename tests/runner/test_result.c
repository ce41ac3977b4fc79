/* The pieces both runners share (runners/runner_internal.h), on their own:
 * a measured case handed to the store in one call comes back whole (row,
 * samples with their blocks and flags, statistics over the samples not
 * excluded, counters with their reasons), a failed one without statistics
 * and with its reason, and a store error keeps nothing of it; the case
 * spec is the options' numbers; the inputs both runners time are the CPU
 * buffers' set 0, reproducible and seed-dependent, and fp16 storage rounds
 * them; the settings a real run stores carry every key with its JSON type. */
#include "runner_test.h"

#include <math.h>
#include <unistd.h>

#include "runners/cpu/cpu_internal.h"
#include "stats.h"

/* 3 shapes x 2 norms x 2 passes. */
static const char tiny_suite[] = "[tiny-ln]\n"
                                 "domain = llm\nnorm = layernorm\nhidden = 256\ntokens = 64 a, "
                                 "3 b\nlayers = 1\nsource = \"result test\"\n"
                                 "[tiny-rms]\n"
                                 "domain = dna\nnorm = rmsnorm\nhidden = 96\ntokens = 33\n"
                                 "layers = 2\nalpha = 0.8\nbeta = no\nsource = \"result test\"\n";

typedef struct {
    suite su;
    plan p;
    store *s;
    int64_t run_id;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    plan_suite(tiny_suite, 0, &fx->su, &fx->p);
    char db[512];
    snprintf(db, sizeof db, "%s/result.db", tmpdir);
    unlink(db);
    dyt_err e = {{0}};
    assert_int_equal(store_open(db, 1, &fx->s, &e), DYT_OK);
    machine_info m;
    machine_opts mo = {.llc_bytes_override = 1u << 20};
    assert_int_equal(machine_probe(&mo, &m, &e), DYT_OK);
    int64_t machine_id;
    assert_int_equal(store_put_machine(fx->s, &m, &machine_id, &e), DYT_OK);
    machine_free(&m);
    assert_int_equal(runner_begin_run(fx->s, &tiny_id, machine_id, "cpu", "time",
                                      json_pack("{s:s}", "cache", "hot"), &fx->run_id, &e),
                     DYT_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    store_close(fx->s);
    plan_free(&fx->p);
    suite_free(&fx->su);
    free(fx);
    return 0;
}

static const plan_case *find_case(const plan *p, norm_kind norm, pass_kind pass, size_t rows)
{
    for (size_t i = 0; i < p->n_cases; i++)
        if (p->cases[i].norm == norm && p->cases[i].pass == pass && p->cases[i].rows == rows)
            return &p->cases[i];
    fail_msg("no such case in the plan");
    return NULL;
}

/* Starts the result of the plan's case (norm, pass, rows) and appends
 * samples of block 0 to it. */
static void start_result(fixture *fx, norm_kind norm, pass_kind pass, size_t rows, int seq,
                         cache_kind cache, const char *device, const store_sample *smp, size_t n,
                         runner_case_result *r)
{
    runner_result_init(r, find_case(&fx->p, norm, pass, rows), seq, cache, device);
    assert_int_equal(runner_result_append(r, smp, n, 0), 0);
}

/* Hands r to the store (which must take it) and frees it; the case's id. */
static int64_t store_result(fixture *fx, runner_case_result *r)
{
    dyt_err e = {{0}};
    assert_int_equal(runner_result_store(fx->s, fx->run_id, r, &e), DYT_OK);
    runner_result_free(r);
    return q_int(store_db(fx->s), "SELECT max(id) FROM cases WHERE run_id = ?1", fx->run_id);
}

static void test_ok_case_round_trip(void **state)
{
    fixture *fx = *state;
    const plan_case *c = find_case(&fx->p, NORM_RMSNORM, PASS_BWD, 33);
    runner_case_result r;
    runner_result_init(&r, c, 7, CACHE_COLD, "cpu");
    assert_string_equal(r.row.status, "ok");
    assert_true(r.row.max_err < 0); /* not verified yet */
    assert_string_equal(r.row.cache, "cold");
    assert_string_equal(r.row.norm, "rmsnorm");
    assert_string_equal(r.row.model, "tiny-rms");
    assert_true(r.row.has_beta == 0 && r.row.affine == 1);
    assert_true(r.row.alpha == (float)0.8);
    assert_true(r.row.bytes == kern_min_bytes(NORM_RMSNORM, PASS_BWD, DTYPE_F32, 33, 96, 0, 1));
    assert_true(r.started_at[0] != '\0');
    r.row.max_err = 0.125;
    r.row.batch = 4;
    r.row.buffer_sets = 3;
    r.row.stop_reason = "noise";

    /* Two blocks; one sample of block 0 flagged and excluded. */
    store_sample b0[] = {{.ns = 100},
                         {.ns = 90},
                         {.ns = 5000, .flags = STORE_SAMPLE_CTXSW, .excluded = 1},
                         {.ns = 110}};
    store_sample b1[] = {{.ns = 95}, {.ns = 105, .flags = STORE_SAMPLE_CTXSW}, {.ns = 120}};
    assert_int_equal(runner_result_append(&r, b0, 4, 0), 0);
    assert_int_equal(runner_result_append(&r, b1, 3, 1), 0);
    assert_int_equal(r.n_samples, 7);
    r.counters[0] = (store_counter){
        .source = "rusage", .name = "minflt", .available = 1, .value = 12, .per_element = 0.5};
    r.counters[1] = (store_counter){
        .source = "papi", .name = "PAPI_TOT_INS", .unavailable_reason = "no PMU here (test)"};
    r.n_counters = 2;
    const runner_ceiling ceil = {.level = "l2", .gbps = 8.0, .dram_gbps = 2.0};
    assert_int_equal(runner_result_summarise(&r, &ceil), 0);
    assert_true(r.has_stats);
    assert_true(r.ended_at[0] != '\0');
    const double kept[] = {100, 90, 110, 95, 105, 120};
    double median = stats_median(kept, 6);
    assert_true(median == 102.5);
    assert_true(r.stats.median_ns == median);
    assert_int_equal(r.stats.n, 6);
    assert_int_equal(r.stats.n_excluded, 1);
    assert_true(r.stats.gbps == (double)r.row.bytes / median);
    assert_true(r.stats.roofline_pct == 100.0 * r.stats.gbps / 2.0); /* the dram figure */
    assert_string_equal(r.stats.ceiling_level, "l2");
    assert_true(r.stats.ceiling_pct == 100.0 * r.stats.gbps / 8.0);

    int64_t id = store_result(fx, &r);
    sqlite3 *d = store_db(fx->s);
    char txt[256];
    q_text(d,
           "SELECT status || ' ' || seq || ' ' || cache || ' ' || device || ' ' || "
           "stop_reason || ' ' || batch || ' ' || buffer_sets || ' ' || max_err || ' ' || "
           "coalesce(error, 'no error') FROM cases WHERE id = ?1",
           id, txt, sizeof txt);
    assert_string_equal(txt, "ok 7 cold cpu noise 4 3 0.125 no error");
    assert_int_equal(q_int(d, "SELECT started_at <= ended_at FROM cases WHERE id = ?1", id), 1);
    assert_int_equal(q_int(d, "SELECT count(*) FROM samples WHERE case_id = ?1", id), 7);
    assert_int_equal(q_int(d, "SELECT count(*) FROM samples WHERE case_id = ?1 AND block = 1", id),
                     3);
    assert_int_equal(q_int(d, "SELECT count(*) FROM samples WHERE case_id = ?1 AND excluded", id),
                     1);
    assert_int_equal(q_int(d, "SELECT count(*) FROM samples WHERE case_id = ?1 AND flags = 1", id),
                     2);
    assert_int_equal(q_int(d, "SELECT n * 1000 + n_excluded FROM stats WHERE case_id = ?1", id),
                     6001);
    assert_int_equal(q_int(d,
                           "SELECT median_ns = 102.5 AND roofline_pct > 0 AND gbps > 0 AND"
                           " ceiling_level = 'l2' AND abs(ceiling_pct * 4 - roofline_pct) < 1e-9"
                           " FROM stats WHERE case_id = ?1",
                           id),
                     1);
    q_text(d,
           "SELECT group_concat(source || ':' || name || ':' || coalesce(value, "
           "unavailable_reason), ',') FROM (SELECT * FROM counters WHERE case_id = ?1 "
           "ORDER BY source)",
           id, txt, sizeof txt);
    assert_string_equal(txt, "papi:PAPI_TOT_INS:no PMU here (test),rusage:minflt:12.0");
}

static void test_failed_case_keeps_reason(void **state)
{
    fixture *fx = *state;
    /* Samples taken before the failure stay unless the runner drops them
     * (the CUDA runner keeps a throttled case's). */
    store_sample smp[] = {{.ns = 10, .flags = STORE_SAMPLE_THROTTLED, .excluded = 1}};
    runner_case_result r;
    start_result(fx, NORM_DYT, PASS_FWD, 64, 2, CACHE_HOT, "cuda", smp, 1, &r);
    runner_result_fail(&r, "failed", "every sample was taken while the GPU was throttled");
    assert_true(runner_result_failed(&r));
    assert_false(r.has_stats);
    int64_t id = store_result(fx, &r);
    sqlite3 *d = store_db(fx->s);
    char txt[256];
    q_text(d, "SELECT status || ': ' || error FROM cases WHERE id = ?1", id, txt, sizeof txt);
    assert_string_equal(txt, "failed: every sample was taken while the GPU was throttled");
    assert_int_equal(q_int(d, "SELECT count(*) FROM stats WHERE case_id = ?1", id), 0);
    assert_int_equal(q_int(d, "SELECT count(*) FROM samples WHERE case_id = ?1", id), 1);
    q_text(d, "SELECT device FROM cases WHERE id = ?1", id, txt, sizeof txt);
    assert_string_equal(txt, "cuda");
}

static void test_store_error_keeps_nothing(void **state)
{
    fixture *fx = *state;
    store_sample smp[] = {{.ns = 1}, {.ns = 2}};
    runner_case_result r;
    start_result(fx, NORM_DYT, PASS_FWD, 3, 0, CACHE_HOT, "cpu", smp, 2, &r);
    assert_int_equal(runner_result_summarise(&r, NULL), 0);
    assert_true(r.stats.roofline_pct < 0); /* no ceiling: unknown */
    assert_true(r.stats.ceiling_pct < 0);
    assert_null(r.stats.ceiling_level);
    sqlite3 *d = store_db(fx->s);
    int64_t before = q_int(d, "SELECT count(*) FROM samples", 0);
    dyt_err e = {{0}};
    /* No such run: the store refuses, and nothing of the case is kept. */
    assert_int_not_equal(runner_result_store(fx->s, fx->run_id + 1000, &r, &e), DYT_OK);
    assert_true(e.msg[0] != '\0');
    assert_int_equal(q_int(d, "SELECT count(*) FROM samples", 0), before);
    runner_result_free(&r);
}

static void test_case_spec(void **state)
{
    (void)state;
    runner_opts o;
    quick_opts(&o);
    o.cache = CACHE_COLD;
    o.seed = 99;
    runner_case_spec sp;
    runner_case_spec_init(&sp, &o);
    assert_int_equal(sp.cache, CACHE_COLD);
    assert_true(sp.seed == 99);
    assert_true(sp.max_noise == o.max_noise);
    assert_int_equal(sp.min_samples, o.min_samples);
    assert_int_equal(sp.max_samples, o.max_samples);
    assert_true(sp.min_time_ns == o.min_time_s * 1e9);
    assert_true(sp.max_time_ns == o.max_time_s * 1e9);
    assert_true(sp.warmup_ns == o.warmup_s * 1e9);
}

static void test_inputs_shared(void **state)
{
    fixture *fx = *state;
    const plan_case *c = find_case(&fx->p, NORM_LAYERNORM, PASS_BWD, 64);
    size_t n = c->rows * c->cols;
    float *x = malloc(n * sizeof *x), *dy = malloc(n * sizeof *dy);
    float *g = malloc(c->cols * sizeof *g), *b = malloc(c->cols * sizeof *b);
    float *x2 = malloc(n * sizeof *x2), *dy2 = malloc(n * sizeof *dy2);
    assert_true(x && dy && g && b && x2 && dy2);
    dyt_err e = {{0}};
    assert_int_equal(runner_case_inputs(c, 5, x, g, b, dy, &e), DYT_OK);
    /* The CPU runner times exactly these values (set 0 of its buffers). */
    case_buffers cb;
    assert_int_equal(case_buffers_create(c, 5, 0, 1u << 30, DYT_PAGES_HUGE, &cb, &e), DYT_OK);
    assert_memory_equal(cb.sets[0].x, x, n * sizeof *x);
    assert_memory_equal(cb.sets[0].dy, dy, n * sizeof *dy);
    assert_memory_equal(cb.sets[0].gamma, g, c->cols * sizeof *g);
    assert_memory_equal(cb.sets[0].beta, b, c->cols * sizeof *b);
    case_buffers_free(&cb);
    /* Realistic, not constant: gamma about 1, beta about 0, x spread. */
    double gs = 0, bs = 0, xmin = INFINITY, xmax = -INFINITY;
    for (size_t j = 0; j < c->cols; j++)
        gs += g[j], bs += b[j];
    for (size_t i = 0; i < n; i++)
        xmin = fmin(xmin, x[i]), xmax = fmax(xmax, x[i]);
    assert_true(fabs(gs / (double)c->cols - 1) < 0.05);
    assert_true(fabs(bs / (double)c->cols) < 0.05);
    assert_true(xmax - xmin > 4);
    /* Reproducible from the seed, different for another seed. */
    assert_int_equal(runner_case_inputs(c, 5, x2, g, b, dy2, &e), DYT_OK);
    assert_memory_equal(x, x2, n * sizeof *x);
    assert_memory_equal(dy, dy2, n * sizeof *dy);
    assert_int_equal(runner_case_inputs(c, 6, x2, g, b, NULL, &e), DYT_OK);
    assert_memory_not_equal(x, x2, n * sizeof *x);
    free(x), free(dy), free(g), free(b), free(x2), free(dy2);
}

static void test_inputs_fp16(void **state)
{
    fixture *fx = *state;
    /* The same shape stored as fp16 and as fp32: the seed depends on the
     * dtype too, so compare what fp16 storage holds with its own rounding. */
    plan_case c = *find_case(&fx->p, NORM_DYT, PASS_FWD, 3);
    c.dtype = DTYPE_F16;
    size_t n = c.rows * c.cols;
    uint16_t *h = malloc(n * sizeof *h);
    float *g = malloc(c.cols * sizeof *g), *b = malloc(c.cols * sizeof *b);
    assert_true(h && g && b);
    dyt_err e = {{0}};
    assert_int_equal(runner_case_inputs(&c, 1, h, g, b, NULL, &e), DYT_OK);
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        float v = f16_to_f32(h[i]);
        assert_true(isfinite(v) && fabsf(v) < 200);
        assert_int_equal(f32_to_f16(v), h[i]); /* a value fp16 holds exactly */
        nonzero += v != 0;
    }
    assert_true(nonzero > n / 2);
    free(h), free(g), free(b);
}

/* A real run's settings: every key the CPU runner records, with its JSON
 * type, and the identity (the session's token and arm among it) in the
 * run's row, not in the settings. */
static void test_run_settings(void **state)
{
    fixture *fx = *state;
    runner_opts o;
    quick_opts(&o);
    plan one = fx->p;
    one.n_cases = 1;
    runner_identity id = tiny_id;
    id.label = "settings";
    id.lockstep_token = "00112233aabbccdd";
    id.arm = "base";
    int64_t run_id = 0;
    dyt_err e = {{0}};
    assert_int_equal(runner_cpu_run(&one, &o, &id, NULL, fx->s, &run_id, &e), DYT_OK);
    sqlite3 *d = store_db(fx->s);
    static const struct {
        const char *key, *type;
    } keys[] = {
        {"cache", "text"},
        {"clock", "text"},
        {"ctxsw_samples", "text"},
        {"pages", "text"},
        {"thp_defrag", "text"},
        {"thp_enabled", "text"},
        {"llc_bytes", "integer"},
        {"llc_bytes_override", "integer"},
        {"llc_note", "text"},
        {"max_noise", "real"},
        {"max_samples", "integer"},
        {"max_time_s", "real"},
        {"metric", "text"},
        {"min_samples", "integer"},
        {"min_time_s", "real"},
        {"papi_events", "text"},
        {"pin_error", "text"},
        {"pin_failures", "integer"},
        {"rounds", "integer"},
        {"sample_target_ns", "integer"},
        {"seed", "integer"},
        {"threads", "array"},
        {"timer_granularity_ns", "real"},
        {"timer_overhead_ns", "real"},
        {"warmup_s", "real"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char sql[200], txt[32];
        snprintf(sql, sizeof sql, "SELECT json_type(settings, '$.%s') FROM runs WHERE id = ?1",
                 keys[i].key);
        q_text(d, sql, run_id, txt, sizeof txt);
        if (strcmp(txt, keys[i].type) != 0)
            fail_msg("settings key %s: type '%s', want %s", keys[i].key, txt, keys[i].type);
    }
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM runs r, json_each(r.settings) "
                           "WHERE r.id = ?1",
                           run_id),
                     (int64_t)(sizeof keys / sizeof keys[0]));
    char txt[256];
    q_text(d,
           "SELECT label || ' ' || suites || ' ' || suite_hash || ' ' || command_line || "
           "' ' || lockstep_token || ' ' || arm || ' ' || "
           "json_extract(settings, '$.max_noise')"
           " FROM runs WHERE id = ?1",
           run_id, txt, sizeof txt);
    assert_string_equal(txt, "settings tiny 0123 test 00112233aabbccdd base 0.05");
}

/* A ceiling that moved by more than CEILING_DRIFT between the start and
 * the end of a run is named in the run's note; one within it is not. */
static void test_ceiling_drift_note(void **state)
{
    (void)state;
    char note[512] = "1 case(s) failed verification or could not run";
    assert_false(cpu_ceiling_drift(note, sizeof note, "dram", 2, 60.0, 65.0));
    assert_false(cpu_ceiling_drift(note, sizeof note, "l2", 1, 0.0, 65.0));
    assert_true(cpu_ceiling_drift(note, sizeof note, "dram", 2, 115.6, 58.6));
    assert_true(cpu_ceiling_drift(note, sizeof note, "llc", 1, 100.0, 120.0));
    assert_string_equal(note, "1 case(s) failed verification or could not run; bandwidth "
                              "ceilings moved during the run, so % of ceiling is uncertain "
                              "there: dram at 2 thread(s) 115.6 -> 58.6 GB/s (-49%), llc at 1 "
                              "thread(s) 100.0 -> 120.0 GB/s (+20%)");
    char empty[256] = "";
    assert_true(cpu_ceiling_drift(empty, sizeof empty, "dram", 1, 50.0, 40.0));
    assert_non_null(strstr(empty, "bandwidth ceilings moved") == empty ? empty : NULL);
}

DYT_TEST_MAIN_IN_TMPDIR("runner-result", setup, teardown, cmocka_unit_test(test_ok_case_round_trip),
                        cmocka_unit_test(test_ceiling_drift_note),
                        cmocka_unit_test(test_failed_case_keeps_reason),
                        cmocka_unit_test(test_store_error_keeps_nothing),
                        cmocka_unit_test(test_case_spec), cmocka_unit_test(test_inputs_shared),
                        cmocka_unit_test(test_inputs_fp16), cmocka_unit_test(test_run_settings))
