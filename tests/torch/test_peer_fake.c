/* The torch runner end to end with a stand-in peer (fake_peer.py, plain
 * Python, no PyTorch): peer cases are measured in the run's loop and
 * stored as ordinary cases (samples in every block, statistics, the
 * kernels' byte model, the peer's note and rusage counters, PAPI
 * unavailable with why); framework variants it lacks are stored skipped
 * and do not fail the run; and every way a peer can go wrong ends in a
 * stored, explained failure of its cases (wrong outputs, inputs that are
 * not dytbench's, outputs never written, a crash, a broken line) while
 * the kernels' cases complete; a signal mid-case aborts the run without
 * storing the half-measured case -- or, before the run (no PyTorch, another
 * protocol, a named variant it lacks), in a usage error with nothing
 * stored.
 *
 * argv[1] is fake_peer.py (meson passes it). Skips (77) without
 * /usr/bin/python3. */
#include "peer_test.h"

#include <signal.h>
#include <unistd.h>

static const char *fake_peer;
static const char python[] = "/usr/bin/python3";

typedef struct {
    suite su;
    plan p;
    store *s;
    sqlite3 *d;
    int64_t run_id;
    int rc;
    dyt_err e;
} fixture;

/* The tiny suite's forward cases at one thread (fp32, and bf16 when bf16)
 * with the framework variants (variant: only that one), opts' budget
 * (NULL: quick_opts) and the fake peer in mode, into a fresh store named
 * after the mode; then runs them. */
static void run_fake_with(fixture *fx, const char *mode, int bf16, const runner_opts *opts,
                          const char *variant)
{
    memset(fx, 0, sizeof *fx);
    parse_tiny(&fx->su);
    plan_filter f = {.passes = {PASS_FWD},
                     .n_passes = 1,
                     .threads = {1},
                     .n_threads = 1,
                     .dtypes = {DTYPE_F32, DTYPE_BF16},
                     .n_dtypes = bf16 ? 2 : 1};
    plan k;
    assert_int_equal(plan_build(&fx->su, 1, &f, &k, &fx->e), DYT_OK);
    runner_opts o;
    if (opts)
        o = *opts;
    else
        quick_opts(&o);
    o.peer = (runner_peer_opts){.name = "torch", .python = python};
    if (variant) {
        o.peer.variants[0] = variant;
        o.peer.n_variants = 1;
    }
    assert_int_equal(runner_peer_plan(&k, &o.peer, &fx->p, &fx->e), DYT_OK);
    plan_free(&k);
    setenv("DYTBENCH_TORCH_PEER", fake_peer, 1);
    setenv("FAKE_PEER_MODE", mode, 1);
    char db[512];
    snprintf(db, sizeof db, "%s/%s-%d-%s.db", tmpdir, mode, bf16, variant ? variant : "all");
    unlink(db);
    assert_int_equal(store_open(db, 1, &fx->s, &fx->e), DYT_OK);
    fx->d = store_db(fx->s);
    fx->rc = runner_run(DEVICE_CPU, &fx->p, &o, &tiny_id, NULL, fx->s, &fx->run_id, &fx->e);
}

static void run_fake(fixture *fx, const char *mode, int bf16, const runner_opts *opts)
{
    run_fake_with(fx, mode, bf16, opts, NULL);
}

static void done(fixture *fx)
{
    store_close(fx->s);
    plan_free(&fx->p);
    suite_free(&fx->su);
}

static int64_t count(fixture *fx, const char *where)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM cases WHERE run_id = ?1 AND %s", where);
    return q_int(fx->d, sql, fx->run_id);
}

static void test_peer_cases_are_ordinary_cases(void **state)
{
    (void)state;
    fixture fx;
    run_fake(&fx, "ok", 1, NULL);
    if (fx.rc != DYT_OK)
        fail_msg("run: %s", fx.e.msg);
    /* 3 shapes x 2 norms x 2 dtypes: kernels, torch-eager, torch-compile,
     * and liger for the 6 DyT ones. */
    assert_int_equal(count(&fx, "1"), 12 * 3 + 6);
    assert_int_equal(count(&fx, "variant = 'torch-eager' AND status = 'ok' AND max_err >= 0"
                                " AND max_err < 0.02 AND note LIKE 'fake %' AND batch >= 1"
                                " AND stop_reason IS NOT NULL AND buffer_sets = 1"),
                     12);
    /* Unavailable variants: skipped, with the peer's reason, and not
     * failures of the run. */
    assert_int_equal(
        count(&fx,
              "variant = 'torch-compile' AND status = 'skipped' AND error = 'fake: no compile'"),
        12);
    assert_int_equal(
        count(&fx, "variant = 'liger' AND status = 'skipped' AND error = 'fake: no liger'"), 6);
    char txt[4096];
    q_text(fx.d, "SELECT status || ': ' || note FROM runs WHERE id = ?1", fx.run_id, txt,
           sizeof txt);
    note_without_drift(txt);
    assert_string_equal(txt, "complete: 18 case(s) skipped: unavailable here");
    /* Samples and statistics like a kernel's, the same byte model. */
    assert_int_equal(count(&fx, "variant = 'torch-eager' AND (SELECT count(*) FROM samples s"
                                " WHERE s.case_id = cases.id) >= 8"),
                     12);
    assert_int_equal(count(&fx, "variant = 'torch-eager' AND id IN (SELECT case_id FROM stats"
                                " WHERE median_ns > 0 AND gbps > 0)"),
                     12);
    assert_int_equal(count(&fx, "variant = 'torch-eager' AND bytes = (SELECT k.bytes FROM cases k"
                                " WHERE k.run_id = cases.run_id AND k.seq = cases.seq - 1)"),
                     12);
    /* Counters: the peer's rusage, PAPI unavailable with why. */
    assert_int_equal(q_int(fx.d,
                           "SELECT count(*) FROM counters k JOIN cases c ON c.id = k.case_id"
                           " WHERE c.run_id = ?1 AND c.variant = 'torch-eager' AND"
                           " k.source = 'rusage' AND k.name = 'nvcsw' AND k.value = 2",
                           fx.run_id),
                     12);
    assert_int_equal(q_int(fx.d,
                           "SELECT count(*) FROM counters k JOIN cases c ON c.id = k.case_id"
                           " WHERE c.run_id = ?1 AND c.variant = 'torch-eager' AND"
                           " k.source = 'papi' AND k.value IS NULL AND"
                           " k.unavailable_reason LIKE 'timed in the torch peer%'",
                           fx.run_id),
                     q_int(fx.d,
                           "SELECT count(*) FROM counters k JOIN cases c ON c.id = k.case_id"
                           " WHERE c.run_id = ?1 AND c.variant = 'torch-eager' AND"
                           " k.source = 'papi'",
                           fx.run_id));
    /* The run's settings say who measured what. */
    q_text(fx.d, "SELECT settings FROM runs WHERE id = ?1", fx.run_id, txt, sizeof txt);
    assert_non_null(strstr(txt, "\"peer\":{"));
    assert_non_null(strstr(txt, "\"torch\":\"0.0+fake\""));
    assert_non_null(strstr(txt, "\"torch-compile\":\"unavailable: fake: no compile\""));
    assert_non_null(strstr(txt, "\"variants\":[\"torch-eager\",\"torch-compile\",\"liger\"]"));
    done(&fx);
}

static void test_peer_cases_in_rounds_and_cold(void **state)
{
    (void)state;
    runner_opts o;
    quick_opts(&o);
    o.rounds = 3;
    o.cache = CACHE_COLD;
    o.llc_bytes_override = 256 << 10; /* several buffer sets for 64 x 256 */
    fixture fx;
    run_fake(&fx, "ok", 0, &o);
    if (fx.rc != DYT_OK)
        fail_msg("run: %s", fx.e.msg);
    assert_int_equal(count(&fx, "variant = 'torch-eager' AND status = 'ok'"), 6);
    /* Every block of every peer case has samples. */
    assert_int_equal(q_int(fx.d,
                           "SELECT count(*) FROM (SELECT DISTINCT c.id, s.block FROM samples s"
                           " JOIN cases c ON c.id = s.case_id WHERE c.run_id = ?1 AND"
                           " c.variant = 'torch-eager')",
                           fx.run_id),
                     6 * 3);
    /* The cold rule's set count, the same as the kernel's case. */
    assert_int_equal(count(&fx,
                           "variant = 'torch-eager' AND model = 'tiny-ln' AND rows = 64 AND"
                           " buffer_sets > 1 AND buffer_sets = (SELECT k.buffer_sets FROM"
                           " cases k WHERE k.run_id = cases.run_id AND k.seq = cases.seq - 1)"),
                     2);
    done(&fx);
}

/* mode makes every torch-eager case fail with an error like `like`; the
 * kernels' cases complete. */
static void expect_failed(const char *mode, const char *like)
{
    fixture fx;
    run_fake(&fx, mode, 1, NULL);
    assert_int_equal(fx.rc, DYT_FAIL);
    char where[512];
    snprintf(where, sizeof where,
             "variant = 'torch-eager' AND status = 'failed' AND error LIKE '%s'", like);
    if (count(&fx, where) != 12) {
        char txt[1024];
        q_text(fx.d, "SELECT error FROM cases WHERE run_id = ?1 AND variant = 'torch-eager'",
               fx.run_id, txt, sizeof txt);
        fail_msg("%s: want errors like '%s', got '%s'", mode, like, txt);
    }
    /* Failed cases are not timed. */
    assert_int_equal(q_int(fx.d,
                           "SELECT count(*) FROM samples s JOIN cases c ON c.id = s.case_id"
                           " WHERE c.run_id = ?1 AND c.variant = 'torch-eager'",
                           fx.run_id),
                     0);
    assert_int_equal(count(&fx, "variant NOT LIKE 'torch-%' AND variant <> 'liger' AND"
                                " status = 'ok'"),
                     12);
    char txt[256];
    q_text(fx.d, "SELECT status FROM runs WHERE id = ?1", fx.run_id, txt, sizeof txt);
    assert_string_equal(txt, "complete");
    done(&fx);
}

static void test_peer_failures_are_stored(void **state)
{
    (void)state;
    expect_failed("wrong", "wrong result vs ref: y[0] = %");
    expect_failed("silent", "wrong result vs ref: y[%");
    expect_failed("echo", "the torch peer''s inputs are not dytbench''s: x[0] differs%");
    /* A crash in the first case's warm-up: that case and every later one
     * fail with the peer's exit and last words. */
    expect_failed("crash", "the torch peer exited (exit status 7): fake peer: crashing on purpose");
    expect_failed("garbage", "the torch peer''s reply is not the protocol''s: %");
}

/* SIGTERM while dytbench waits for the peer's answer, in the first peer
 * case's warm-up and (no warm-up beyond sizing the batch: 2 to 4
 * requests) in its samples: the run is aborted and the half-measured case
 * is not stored; the kernels' case before it is. */
static void test_signal_mid_peer_case(void **state)
{
    (void)state;
    static const struct {
        const char *at;
        double warmup_s;
    } when[] = {{"2", 0.05}, {"8", 0}};
    for (size_t i = 0; i < DYT_ARRAY_LEN(when); i++) {
        runner_opts o;
        quick_opts(&o);
        o.warmup_s = when[i].warmup_s;
        setenv("FAKE_PEER_TERM_AT", when[i].at, 1);
        fixture fx;
        run_fake(&fx, "term", 0, &o);
        assert_int_equal(fx.rc, DYT_FAIL);
        assert_int_equal(runner_stop_signal(), SIGTERM);
        char txt[256];
        q_text(fx.d, "SELECT status FROM runs WHERE id = ?1", fx.run_id, txt, sizeof txt);
        assert_string_equal(txt, "aborted");
        assert_int_equal(count(&fx, "variant = 'torch-eager'"), 0);
        assert_int_equal(count(&fx, "status = 'ok'"), 1);
        done(&fx);
    }
    unsetenv("FAKE_PEER_TERM_AT");
}

static void test_unavailable_is_not_a_failure(void **state)
{
    (void)state;
    fixture fx;
    run_fake(&fx, "skip", 0, NULL);
    assert_int_equal(fx.rc, DYT_OK);
    assert_int_equal(count(&fx, "variant = 'torch-eager' AND status = 'skipped' AND"
                                " error = 'fake: torch-eager switched off'"),
                     6);
    done(&fx);
}

/* The peer cannot run: a usage error before anything is stored. */
static void expect_refused(const char *mode, const char *variant, const char *want)
{
    fixture fx;
    run_fake_with(&fx, mode, 0, NULL, variant);
    assert_int_equal(fx.rc, DYT_USAGE);
    if (!strstr(fx.e.msg, want))
        fail_msg("%s: '%s' lacks '%s'", mode, fx.e.msg, want);
    assert_int_equal(fx.run_id, 0);
    assert_int_equal(q_int(fx.d, "SELECT count(*) FROM runs", 0), 0);
    assert_int_equal(q_int(fx.d, "SELECT count(*) FROM machines", 0), 0);
    done(&fx);
}

static void test_peer_that_cannot_run(void **state)
{
    (void)state;
    expect_refused("notorch", NULL,
                   "--peer torch: the torch peer exited (exit status 2): dytbench-torch: PyTorch "
                   "is not importable by the fake peer: install python3-torch");
    expect_refused("protocol", NULL, "speaks protocol 99, this dytbench 1");
    expect_refused("ok", "torch-compile",
                   "--peer-variant torch-compile: unavailable here: fake: "
                   "no compile");
    unsetenv("DYTBENCH_TORCH_PEER");
    setenv("DYTBENCH_TORCH_PEER", "/nonexistent/peer.py", 1);
    fixture fx;
    memset(&fx, 0, sizeof fx);
    runner_opts o;
    quick_opts(&o);
    o.peer = (runner_peer_opts){.name = "torch", .python = "/nonexistent/python3"};
    plan none = {0};
    char db[512];
    snprintf(db, sizeof db, "%s/nopython.db", tmpdir);
    assert_int_equal(store_open(db, 1, &fx.s, &fx.e), DYT_OK);
    assert_int_equal(runner_run(DEVICE_CPU, &none, &o, &tiny_id, NULL, fx.s, &fx.run_id, &fx.e),
                     DYT_USAGE);
    assert_non_null(strstr(fx.e.msg, "/nonexistent/python3: No such file or directory (install "
                                     "them: apt-get install python3 python3-torch"));
    store_close(fx.s);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s fake_peer.py\n", argv[0]);
        return 2;
    }
    fake_peer = argv[1];
    if (access(python, X_OK) != 0) {
        printf("skip: %s is missing (apt-get install python3)\n", python);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_cases_are_ordinary_cases),
        cmocka_unit_test(test_peer_cases_in_rounds_and_cold),
        cmocka_unit_test(test_peer_failures_are_stored),
        cmocka_unit_test(test_signal_mid_peer_case),
        cmocka_unit_test(test_unavailable_is_not_a_failure),
        cmocka_unit_test(test_peer_that_cannot_run),
    };
    return run_in_tmpdir("/tmp/dytbench-peer-fake", "peer-fake", tests, DYT_ARRAY_LEN(tests), NULL,
                         NULL);
}
