/* End-to-end tests of the CPU runner into a temporary DB: a tiny suite
 * (written by the test) runs to completion with every case sampled and
 * summarised and the bandwidth ceilings stored (dram, and the cache level
 * each hot case fits in, which the case is held against); a deliberately wrong kernel
 * is caught by verification and stored as failed, untimed, while the rest
 * of the run completes; cold cache rotates several buffer sets; and a
 * `dytbench run` child sent SIGTERM mid-run exits 143 leaving the run
 * 'aborted' with its finished cases intact.
 *
 * argv[1] is the dytbench binary (meson passes it). */
#include "runner_test.h" /* cmocka's headers first */

#include "bandwidth.h"

#include <math.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static const char tiny_suite[] =
    "[tiny-ln]\n"
    "domain = llm\nnorm = layernorm\nhidden = 256\ntokens = 64 a, 3 b\nlayers = 1\n"
    "source = \"runner test\"\n"
    "[tiny-rms]\n"
    "domain = dna\nnorm = rmsnorm\nhidden = 96\ntokens = 33\nlayers = 2\nalpha = 0.8\n"
    "beta = no\nsource = \"runner test\"\n";

typedef struct {
    suite su;
    plan p;
} fixture;

static void load_plan(fixture *fx)
{
    plan_suite(tiny_suite, 0, &fx->su, &fx->p);
    /* 3 shapes x 2 norms x 2 passes */
    assert_int_equal(fx->p.n_cases, 12);
}

static void free_plan(fixture *fx)
{
    plan_free(&fx->p);
    suite_free(&fx->su);
}

/* Every ok case of the run is held against the ceiling of the level its
 * bytes fit in on this machine (hot; cold: dram), stored for its thread
 * count, with its % of it and of dram; every ceiling says how it was
 * measured. Returns how many distinct levels the cases used. */
static int check_case_ceilings(store *s, int64_t run_id, cache_kind cache)
{
    dyt_err e = {{0}};
    machine_info m;
    machine_opts mo = {.llc_bytes_override = 1u << 20}; /* as quick_opts */
    assert_int_equal(machine_probe(&mo, &m, &e), DYT_OK);
    store_case_list cl;
    store_ceiling_list bl;
    assert_int_equal(store_load_cases(s, run_id, &cl, &e), DYT_OK);
    assert_int_equal(store_load_ceilings(s, run_id, &bl, &e), DYT_OK);
    int used[BW_LEVELS] = {0};
    for (size_t i = 0; i < bl.n; i++)
        assert_true(bl.v[i].method && strstr(bl.v[i].method, "STREAM") && bl.v[i].gbps > 0);
    for (size_t i = 0; i < cl.n; i++) {
        const store_case_rec *x = &cl.v[i];
        if (strcmp(x->c.status, "ok"))
            continue;
        bw_caches caches;
        bandwidth_caches(&m, x->c.threads, &caches);
        bw_level want = cache == CACHE_COLD ? BW_DRAM : bandwidth_level_of(&caches, x->c.bytes);
        used[want] = 1;
        assert_non_null(x->st.ceiling_level);
        assert_string_equal(x->st.ceiling_level, bandwidth_level_name(want));
        /* The best of copy and scale at that level and thread count, and at dram. */
        double at[2] = {0, 0};
        for (size_t k = 0; k < bl.n; k++) {
            const store_ceiling *c = &bl.v[k];
            if (c->threads != x->c.threads)
                continue;
            if (!strcmp(c->level, x->st.ceiling_level) && c->gbps > at[0])
                at[0] = c->gbps;
            if (!strcmp(c->level, "dram") && c->gbps > at[1])
                at[1] = c->gbps;
            if (!strcmp(c->level, x->st.ceiling_level))
                assert_true(c->bytes >= x->c.bytes || want == BW_DRAM); /* measured at its size */
        }
        assert_true(at[0] > 0 && at[1] > 0);
        assert_true(fabs(x->st.ceiling_pct - 100 * x->st.gbps / at[0]) <= 1e-9 * x->st.ceiling_pct);
        assert_true(fabs(x->st.roofline_pct - 100 * x->st.gbps / at[1]) <=
                    1e-9 * x->st.roofline_pct);
    }
    store_case_list_free(&cl);
    store_ceiling_list_free(&bl);
    machine_free(&m);
    int n = 0;
    for (int l = 0; l < BW_LEVELS; l++)
        n += used[l];
    return n;
}

static void test_small_run_completes(void **state)
{
    (void)state;
    fixture fx;
    load_plan(&fx);
    store *s = open_new("ok.db");
    dyt_err e = {{0}};
    runner_opts o;
    quick_opts(&o);
    int64_t run_id = 0;
    int rc = runner_cpu_run(&fx.p, &o, &tiny_id, NULL, s, &run_id, &e);
    if (rc != DYT_OK)
        print_error("runner: %s\n", e.msg);
    assert_int_equal(rc, DYT_OK);
    assert_true(run_id > 0);
    assert_int_equal(runner_stop_signal(), 0);
    sqlite3 *d = store_db(s);
    char txt[256];
    q_text(d, "SELECT status FROM runs WHERE id = ?1", run_id, txt, sizeof txt);
    assert_string_equal(txt, "complete");
    q_text(d, "SELECT settings FROM runs WHERE id = ?1", run_id, txt, sizeof txt);
    assert_non_null(strstr(txt, "\"max_noise\""));
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases WHERE run_id = ?1", run_id), 12);
    assert_int_equal(
        q_int(d, "SELECT count(*) FROM cases WHERE run_id = ?1 AND status = 'ok'", run_id), 12);
    /* Every case: samples, a stats row consistent with them, a stop reason,
     * a verification error below tolerance, and rusage counters. */
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM cases c WHERE run_id = ?1 AND"
                           " (SELECT count(*) FROM samples WHERE case_id = c.id) >= 8",
                           run_id),
                     12);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM cases c JOIN stats s ON s.case_id = c.id"
                           " WHERE run_id = ?1 AND s.median_ns > 0 AND s.ci_low_ns <= s.median_ns"
                           " AND s.median_ns <= s.ci_high_ns AND s.gbps > 0"
                           " AND s.n = (SELECT count(*) FROM samples WHERE case_id = c.id)",
                           run_id),
                     12);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM cases WHERE run_id = ?1 AND stop_reason IN"
                           " ('noise','max_time','max_samples') AND batch >= 1"
                           " AND max_err >= 0 AND max_err <= 1",
                           run_id),
                     12);
    /* ... and the accuracy the check measured: within the bound it names. */
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM cases WHERE run_id = ?1 AND max_ulps >= 0"
                           " AND err_tol > 0 AND max_err <= err_tol AND err_output IN"
                           " ('y','mean','rstd','dx','dgamma','dbeta','dalpha')",
                           run_id),
                     12);
    assert_int_equal(q_int(d,
                           "SELECT count(DISTINCT case_id) FROM counters k JOIN cases c"
                           " ON c.id = k.case_id WHERE run_id = ?1 AND source = 'rusage'",
                           run_id),
                     12);
    /* A median that is not one of the samples' span is impossible. */
    assert_int_equal(
        q_int(d,
              "SELECT count(*) FROM cases c JOIN stats s ON s.case_id = c.id"
              " WHERE run_id = ?1 AND (s.median_ns < s.min_ns OR s.median_ns > s.max_ns)",
              run_id),
        0);
    /* The dram ceiling at the plan's one thread count, and % of it. */
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM ceilings WHERE run_id = ?1 AND threads = 1"
                           " AND level = 'dram' AND kind IN ('copy','scale') AND gbps > 0",
                           run_id),
                     2);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM v_results WHERE run_id = ?1"
                           " AND roofline_pct > 0 AND ceiling_pct > 0",
                           run_id),
                     12);
    /* Hot: the tiny shapes sit in the caches, not in dram. */
    assert_true(check_case_ceilings(s, run_id, CACHE_HOT) >= 1);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM v_results WHERE run_id = ?1 AND"
                           " ceiling_level <> 'dram'",
                           run_id),
                     12);
    store_close(s);
    free_plan(&fx);
}

/* A kernel that gets every output wrong by a little: verification must
 * catch it, and the case must not be timed. */
static int wrong_fwd(const norm_args *a, const kern_exec *ex)
{
    const kern_entry *good = kern_best(NORM_DYT, PASS_FWD, a->dtype);
    int rc = good->fn(a, ex);
    float *y = a->y;
    for (size_t i = 0; i < a->rows * a->cols; i += 7)
        y[i] *= 1.01f;
    return rc;
}

static void test_failed_case_is_stored_untimed(void **state)
{
    (void)state;
    fixture fx;
    load_plan(&fx);
    static kern_entry wrong = {"wrong",    NORM_DYT, PASS_FWD,  DTYPE_F32,
                               DEVICE_CPU, 0,        wrong_fwd, "deliberately wrong (test)"};
    size_t victim = fx.p.n_cases;
    for (size_t i = 0; i < fx.p.n_cases; i++)
        if (fx.p.cases[i].norm == NORM_DYT && fx.p.cases[i].pass == PASS_FWD &&
            fx.p.cases[i].dtype == DTYPE_F32) {
            victim = i;
            break;
        }
    assert_true(victim < fx.p.n_cases);
    fx.p.cases[victim].variant = &wrong;

    store *s = open_new("fail.db");
    dyt_err e = {{0}};
    runner_opts o;
    quick_opts(&o);
    int64_t run_id = 0;
    assert_int_equal(runner_cpu_run(&fx.p, &o, &tiny_id, NULL, s, &run_id, &e), DYT_FAIL);
    sqlite3 *d = store_db(s);
    char txt[512];
    q_text(d, "SELECT status FROM runs WHERE id = ?1", run_id, txt, sizeof txt);
    assert_string_equal(txt, "complete"); /* the run still completes */
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases WHERE run_id = ?1", run_id), 12);
    assert_int_equal(
        q_int(d, "SELECT count(*) FROM cases WHERE run_id = ?1 AND status = 'ok'", run_id), 11);
    q_text(d,
           "SELECT error FROM cases WHERE run_id = ?1 AND status = 'failed' AND variant = 'wrong'",
           run_id, txt, sizeof txt);
    assert_non_null(strstr(txt, "wrong result"));
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM samples k JOIN cases c ON c.id = k.case_id"
                           " WHERE run_id = ?1 AND c.status = 'failed'",
                           run_id),
                     0);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM stats k JOIN cases c ON c.id = k.case_id"
                           " WHERE run_id = ?1 AND c.status = 'failed'",
                           run_id),
                     0);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM cases WHERE run_id = ?1 AND"
                           " status = 'failed' AND max_err > err_tol AND err_tol > 0 AND"
                           " max_ulps > 0 AND err_output IS NOT NULL",
                           run_id),
                     1);
    store_close(s);
    free_plan(&fx);
}

static void test_cold_cache_rotates_sets(void **state)
{
    (void)state;
    fixture fx;
    load_plan(&fx);
    store *s = open_new("cold.db");
    dyt_err e = {{0}};
    runner_opts o;
    quick_opts(&o);
    o.cache = CACHE_COLD;
    int64_t run_id = 0;
    assert_int_equal(runner_cpu_run(&fx.p, &o, &tiny_id, NULL, s, &run_id, &e), DYT_OK);
    sqlite3 *d = store_db(s);
    /* 1 MiB LLC: 3 MiB of sets; the largest case (64 x 256 fp32, bwd) is
     * ~200 KiB a set, so every case rotates at least 10 sets. */
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM cases WHERE run_id = ?1 AND cache = 'cold'"
                           " AND buffer_sets >= 10 AND status = 'ok'",
                           run_id),
                     12);
    /* Cold: every case against dram, the only ceiling measured. */
    assert_int_equal(check_case_ceilings(s, run_id, CACHE_COLD), 1);
    assert_int_equal(
        q_int(d, "SELECT count(DISTINCT level) FROM ceilings WHERE run_id = ?1", run_id), 1);
    store_close(s);
    free_plan(&fx);
}

static void test_sigterm_aborts_and_keeps_cases(void **state)
{
    (void)state;
    need_dytbench();
    char suite_path[512], db[512];
    write_suite(tiny_suite, suite_path, sizeof suite_path);
    tmp_path(db, sizeof db, "term.db");
    /* Each case takes >= 0.4 s (min-time; max-samples out of the way), so
     * the run lasts ~5 s. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(dytbench_exe, dytbench_exe, "run", "--suite", suite_path, "--db", db, "--threads",
              "1", "--min-time", "0.4", "--max-time", "0.5", "--max-samples", "1000000",
              "--llc-bytes", "1M", "-q", (char *)NULL);
        _exit(127);
    }
    /* Wait until at least two cases are committed, then SIGTERM. */
    int64_t n = 0;
    int status, exited = 0;
    for (int i = 0; i < 600 && n < 2 && !exited; i++) {
        usleep(50000);
        exited = waitpid(pid, &status, WNOHANG) == pid;
        sqlite3 *d;
        if (access(db, F_OK) == 0 &&
            sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
            sqlite3_busy_timeout(d, 1000);
            sqlite3_stmt *st;
            if (sqlite3_prepare_v2(d, "SELECT count(*) FROM cases", -1, &st, NULL) == SQLITE_OK) {
                if (sqlite3_step(st) == SQLITE_ROW)
                    n = sqlite3_column_int64(st, 0);
                sqlite3_finalize(st);
            }
            sqlite3_close(d);
        }
    }
    assert_false(exited); /* the child must still be running */
    assert_true(n >= 2);
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 128 + SIGTERM);

    store *s = open_store(db, 0);
    sqlite3 *d = store_db(s);
    char txt[256];
    q_text(d, "SELECT status FROM runs ORDER BY id DESC LIMIT 1", 0, txt, sizeof txt);
    assert_string_equal(txt, "aborted");
    int64_t kept = q_int(d, "SELECT count(*) FROM cases", 0);
    assert_true(kept >= 2 && kept < 12);
    /* Finished cases are whole: each has its samples and statistics. */
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM cases c JOIN stats s ON s.case_id = c.id"
                           " WHERE s.n = (SELECT count(*) FROM samples WHERE case_id = c.id)"
                           " AND s.n > 0",
                           0),
                     kept);
    q_text(d, "PRAGMA integrity_check", 0, txt, sizeof txt);
    assert_string_equal(txt, "ok");
    store_close(s);
}

DYT_TEST_MAIN_IN_TMPDIR("runner-e2e", NULL, NULL, cmocka_unit_test(test_small_run_completes),
                        cmocka_unit_test(test_failed_case_is_stored_untimed),
                        cmocka_unit_test(test_cold_cache_rotates_sets),
                        cmocka_unit_test(test_sigterm_aborts_and_keeps_cases))
