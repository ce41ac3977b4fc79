/* Rounds and lockstep: `run --rounds R` measures every case in R blocks
 * whose samples carry their block; moving a case's buffers between blocks
 * keeps their values and changes their addresses; `dytbench interleave`
 * runs its arms in lockstep (every step of every arm is handed out by the
 * coordinator, counted), stores one session token in every arm's run, and
 * refuses bad input with exit 2.
 *
 * argv[1] is the dytbench binary (meson passes it). */
#include "runner_test.h"

#include <sys/wait.h>
#include <unistd.h>

#include "runners/cpu/cpu_internal.h"

/* 2 shapes x 2 norms (model's + dyt), forward only: 4 cases. */
static const char tiny_suite[] = "[tiny-ln]\n"
                                 "domain = llm\nnorm = layernorm\nhidden = 256\ntokens = 64 a, "
                                 "3 b\nlayers = 1\nsource = \"rounds test\"\n";

static void load_plan(suite *su, plan *p, int pass_fwd_only)
{
    plan_suite(tiny_suite, pass_fwd_only, su, p);
}

static void test_rounds_tag_blocks(void **state)
{
    (void)state;
    suite su;
    plan p;
    load_plan(&su, &p, 0);
    store *s = open_new("rounds.db");
    dyt_err e = {{0}};
    runner_opts o;
    runner_opts_default(&o);
    o.max_noise = 0.05;
    o.min_time_s = 0.003;
    o.max_time_s = 0.03;
    o.warmup_s = 0.003;
    o.min_samples = 9;
    o.quiet = 1;
    o.progress = 0;
    o.llc_bytes_override = 1u << 20;
    o.rounds = 3;
    int64_t run_id = 0;
    assert_int_equal(runner_cpu_run(&p, &o, &tiny_id, NULL, s, &run_id, &e), DYT_OK);
    sqlite3 *d = store_db(s);
    int64_t n_cases = (int64_t)p.n_cases;
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases WHERE status = 'ok'", 0), n_cases);
    /* Every case has samples in exactly blocks 0, 1 and 2, at least
     * min_samples / rounds = 3 in each. */
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM (SELECT case_id FROM samples GROUP BY case_id"
                           " HAVING count(DISTINCT block) = 3 AND min(block) = 0"
                           " AND max(block) = 2)",
                           0),
                     n_cases);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM (SELECT case_id, block FROM samples"
                           " GROUP BY case_id, block HAVING count(*) < 3)",
                           0),
                     0);
    /* The statistics cover every block's samples. */
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM cases c JOIN stats t ON t.case_id = c.id"
                           " WHERE t.n = (SELECT count(*) FROM samples WHERE case_id = c.id)",
                           0),
                     n_cases);
    assert_int_equal(q_int(d, "SELECT json_extract(settings, '$.rounds') FROM runs", 0), 3);
    /* Cases are stored in plan order whatever order the rounds took. */
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases WHERE seq <> id - 1", 0), 0);
    store_close(s);
    plan_free(&p);
    suite_free(&su);
}

static void test_relocate_keeps_values(void **state)
{
    (void)state;
    suite su;
    plan p;
    load_plan(&su, &p, 0);
    for (size_t i = 0; i < p.n_cases; i++) {
        const plan_case *c = &p.cases[i];
        case_buffers b;
        dyt_err e = {{0}};
        assert_int_equal(case_buffers_create(c, 7, 0, 1u << 30, DYT_PAGES_HUGE, &b, &e), DYT_OK);
        size_t act = c->rows * c->cols * dtype_size(c->dtype);
        void *x0 = malloc(act);
        assert_non_null(x0);
        memcpy(x0, b.sets[0].x, act);
        const void *old_x = b.sets[0].x;
        float g0 = b.sets[0].gamma[c->cols - 1];
        assert_int_equal(case_buffers_relocate(c, &b, &e), DYT_OK);
        assert_int_equal(b.n_sets, 1);
        assert_memory_equal(b.sets[0].x, x0, act);
        assert_true(b.sets[0].gamma[c->cols - 1] == g0);
        /* Still the same shape, now in other memory (the old block was
         * freed after the new one was allocated, so it cannot be reused). */
        assert_true(b.sets[0].rows == c->rows && b.sets[0].cols == c->cols);
        assert_ptr_not_equal(b.sets[0].x, old_x);
        if (c->pass == PASS_BWD)
            assert_non_null(b.sets[0].dy);
        free(x0);
        case_buffers_free(&b);
    }
    plan_free(&p);
    suite_free(&su);
}

/* Runs dytbench with args (NULL-terminated); returns the exit code and
 * the stderr text in err. */
static int run_cli(char *err, size_t n, const char *const *args)
{
    char errpath[512];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", tmpdir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(errpath, "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(127);
        execv(dytbench_exe, (char *const *)args);
        _exit(127);
    }
    int code = wait_exit(pid);
    FILE *f = fopen(errpath, "r");
    size_t got = f ? fread(err, 1, n - 1, f) : 0;
    err[got] = '\0';
    if (f)
        fclose(f);
    return code;
}

static void test_interleave_lockstep(void **state)
{
    (void)state;
    need_dytbench();
    char suite_path[512], db[512], err[8192];
    write_suite(tiny_suite, suite_path, sizeof suite_path);
    tmp_path(db, sizeof db, "il.db");
    const char *const args[] = {dytbench_exe,   "interleave", "--arm",         "A=self",
                                "--arm",        "B=self --seed 1",
                                "--suite",      suite_path,   "--pass",        "fwd",
                                "--threads",    "1",          "--rounds",      "3",
                                "--db",         db,           "--llc-bytes",   "1M",
                                "--max-time",   "0.03",       "--min-time",    "0.003",
                                "--max-noise",  "0.05",       NULL};
    int rc = run_cli(err, sizeof err, args);
    if (rc != 0)
        print_error("%s", err);
    assert_int_equal(rc, 0);
    /* 4 forward cases x 3 rounds = 12 block steps, plus the set-up step,
     * each handed out and acknowledged; the storing step ends at exit. */
    assert_non_null(strstr(err, "arm A: 13 steps, exit 0"));
    assert_non_null(strstr(err, "arm B: 13 steps, exit 0"));
    sqlite3 *d;
    assert_int_equal(sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(q_int(d, "SELECT count(*) FROM runs WHERE status = 'complete'", 0), 2);
    /* One session token (16 hex digits) in both runs, one arm name each. */
    assert_int_equal(q_int(d, "SELECT count(DISTINCT lockstep_token) FROM runs", 0), 1);
    assert_int_equal(q_int(d, "SELECT length(lockstep_token) FROM runs LIMIT 1", 0), 16);
    assert_int_equal(
        q_int(d, "SELECT count(*) FROM runs WHERE label = arm AND label IN ('A', 'B')", 0), 2);
    /* The session lives in its columns only, not in the settings too. */
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM runs WHERE settings LIKE '%lockstep%'"
                           " OR settings LIKE '%\"arm\"%'",
                           0),
                     0);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM (SELECT case_id FROM samples GROUP BY case_id"
                           " HAVING count(DISTINCT block) = 3)",
                           0),
                     8);
    sqlite3_close(d);
}

/* calibrate runs its A/A pairs as interleave sessions and stores a
 * calibration per case. */
static void test_calibrate_uses_sessions(void **state)
{
    (void)state;
    need_dytbench();
    char suite_path[512], db[512], err[8192];
    write_suite(tiny_suite, suite_path, sizeof suite_path);
    tmp_path(db, sizeof db, "cal.db");
    const char *const args[] = {dytbench_exe, "calibrate", "--pairs",    "1",     "--suite",
                                suite_path,   "--pass",    "fwd",        "--threads", "1",
                                "--rounds",   "8",         "--db",       db,      "--llc-bytes",
                                "1M",         "--max-time", "0.02",      "--min-time", "0.002",
                                NULL};
    int rc = run_cli(err, sizeof err, args);
    if (rc != 0)
        print_error("%s", err);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(err, "arm calib-A: 33 steps, exit 0"));
    sqlite3 *d;
    assert_int_equal(sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(q_int(d,
                           "SELECT count(DISTINCT lockstep_token) FROM runs"
                           " WHERE label IN ('calib-A', 'calib-B')",
                           0),
                     1);
    assert_int_equal(q_int(d, "SELECT count(*) FROM calibrations WHERE noise_rel >= 0", 0), 4);
    sqlite3_close(d);
}

static void test_interleave_bad_input(void **state)
{
    (void)state;
    need_dytbench();
    char err[8192], db[512];
    tmp_path(db, sizeof db, "bad.db");
    const char *const one_arm[] = {dytbench_exe, "interleave", "--arm", "A=self", "--db", db, NULL};
    assert_int_equal(run_cli(err, sizeof err, one_arm), 2);
    assert_non_null(strstr(err, "at least two --arm"));
    const char *const no_eq[] = {dytbench_exe, "interleave", "--arm", "A", "--arm", "B=self", NULL};
    assert_int_equal(run_cli(err, sizeof err, no_eq), 2);
    assert_non_null(strstr(err, "NAME=EXE"));
    const char *const label[] = {dytbench_exe, "interleave", "--arm", "A=self", "--arm", "B=self",
                                 "--label", "x", NULL};
    assert_int_equal(run_cli(err, sizeof err, label), 2);
    const char *const same[] = {dytbench_exe, "interleave", "--arm", "A=self", "--arm", "A=self",
                                NULL};
    assert_int_equal(run_cli(err, sizeof err, same), 2);
    assert_non_null(strstr(err, "two arms named 'A'"));
    const char *const instr[] = {dytbench_exe, "interleave", "--arm", "A=self", "--arm", "B=self",
                                 "--metric", "instructions", NULL};
    assert_int_equal(run_cli(err, sizeof err, instr), 2);
    /* An option run does not know: refused by name before any arm starts. */
    const char *const bogus[] = {dytbench_exe, "interleave", "--arm", "A=self", "--arm", "B=self",
                                 "--db", db, "--bogus", NULL};
    assert_int_equal(run_cli(err, sizeof err, bogus), 2);
    assert_non_null(strstr(err, "unknown option '--bogus'"));
    assert_null(strstr(err, "arm A:"));
    /* An arm whose binary does not exist: exit 2, named. */
    const char *const missing[] = {dytbench_exe, "interleave", "--arm", "A=/nonexistent/dytbench",
                                   "--arm", "B=self", "--db", db, "--model", "no-such-model",
                                   NULL};
    assert_int_equal(run_cli(err, sizeof err, missing), 2);
    assert_non_null(strstr(err, "arm A: cannot run /nonexistent/dytbench"));
    /* The hidden run option refuses descriptors that are not open. */
    const char *const fds[] = {dytbench_exe, "run", "--lockstep", "900,901", "--db", db, NULL};
    assert_int_equal(run_cli(err, sizeof err, fds), 2);
    assert_non_null(strstr(err, "--lockstep"));
}

DYT_TEST_MAIN_IN_TMPDIR("runner-rounds", NULL, NULL, cmocka_unit_test(test_rounds_tag_blocks),
                        cmocka_unit_test(test_relocate_keeps_values),
                        cmocka_unit_test(test_interleave_lockstep),
                        cmocka_unit_test(test_interleave_bad_input),
                        cmocka_unit_test(test_calibrate_uses_sessions))
