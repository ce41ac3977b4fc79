/* The torch runner with the real peer (runners/torch/dytbench_torch.py) and
 * PyTorch: every torch-eager case of a tiny suite, forward and backward,
 * fp32 and bf16, is verified against ref before it is timed (fp32 must
 * pass; a bf16 case passes or is stored failed with the verifier's
 * reason), carries the formula it ran in its note, and the run's settings
 * carry the framework's version and threads; torch.compile and liger are
 * measured where this torch has them, else stored skipped with why. Then
 * `dytbench run --peer torch` from the command line.
 *
 * argv[1] is the dytbench binary. Skips (77) when /usr/bin/python3 cannot
 * import torch. */
#include "peer_test.h"

#include <sys/wait.h>
#include <unistd.h>

static char torch_version[64];

/* torch's version as /usr/bin/python3 sees it; 0 when it has none. */
static int find_torch(void)
{
    FILE *f =
        popen("/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null", "r");
    if (!f)
        return 0;
    int ok = fgets(torch_version, sizeof torch_version, f) != NULL;
    int code = exit_code(pclose(f));
    torch_version[strcspn(torch_version, "\n")] = 0;
    return ok && code == 0 && torch_version[0];
}

static int64_t count(sqlite3 *d, int64_t run, const char *where)
{
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM cases WHERE run_id = ?1 AND %s", where);
    return q_int(d, sql, run);
}

static void test_torch_cases(void **state)
{
    (void)state;
    suite su;
    dyt_err e = {{0}};
    parse_tiny(&su);
    plan_filter f = {
        .threads = {1}, .n_threads = 1, .dtypes = {DTYPE_F32, DTYPE_BF16}, .n_dtypes = 2};
    plan k, p;
    assert_int_equal(plan_build(&su, 1, &f, &k, &e), DYT_OK);
    runner_opts o;
    quick_opts(&o);
    o.peer.name = "torch";
    unsetenv("DYTBENCH_TORCH_PEER"); /* the shipped peer */
    assert_int_equal(runner_peer_plan(&k, &o.peer, &p, &e), DYT_OK);
    plan_free(&k);
    char db[512];
    snprintf(db, sizeof db, "%s/torch.db", tmpdir);
    store *s;
    assert_int_equal(store_open(db, 1, &s, &e), DYT_OK);
    int64_t run = 0;
    int rc = runner_run(DEVICE_CPU, &p, &o, &tiny_id, NULL, s, &run, &e);
    sqlite3 *d = store_db(s);
    char txt[8192];
    if (rc != DYT_OK && rc != DYT_FAIL)
        fail_msg("run: %s", e.msg);
    /* 3 shapes x 2 norms x 2 passes x 2 dtypes. */
    int64_t fp32_ok = count(d, run,
                            "variant = 'torch-eager' AND dtype = 'fp32' AND status = 'ok' AND"
                            " max_err >= 0 AND max_err <= 1e-5 AND (SELECT count(*) FROM samples"
                            " s WHERE s.case_id = cases.id) >= 8");
    if (fp32_ok != 12) {
        q_text(d,
               "SELECT group_concat(model || ' ' || norm || ' ' || pass || ': ' || error, '; ')"
               " FROM cases WHERE run_id = ?1 AND variant = 'torch-eager' AND"
               " status <> 'ok'",
               run, txt, sizeof txt);
        fail_msg("fp32 torch-eager: %lld of 12 ok: %s", (long long)fp32_ok, txt);
    }
    static const struct {
        const char *where;
        int64_t n;
    } want_cases[] = {
        /* bf16: verified, and either within the tolerance or failed so. */
        {"variant = 'torch-eager' AND dtype = 'bf16' AND (status = 'ok' OR"
         " (status = 'failed' AND error LIKE 'wrong result vs ref: %'))",
         12},
        /* The formula each case ran. */
        {"variant = 'torch-eager' AND norm = 'layernorm' AND note LIKE"
         " '%torch.nn.LayerNorm(256, eps=1e-05, elementwise_affine=True)%'",
         8},
        {"variant = 'torch-eager' AND norm = 'rmsnorm' AND (note LIKE"
         " '%RMSNorm as torch.nn.RMSNorm%' OR note LIKE '%RMSNorm as Hugging Face LLaMA formula%')",
         4},
        {"variant = 'torch-eager' AND norm = 'dyt' AND model = 'tiny-rms' AND note LIKE"
         " '%DyT as in the paper''s code: weight * tanh(alpha * x) (no bias), alpha=0.8%'",
         4},
        {"variant = 'torch-eager' AND pass = 'bwd' AND note LIKE"
         " '%torch.autograd.grad of sum(y*dy)%'",
         12},
        /* torch.compile: measured where torch has it, else skipped with why. */
        {"variant = 'torch-compile' AND (status <> 'skipped' OR error LIKE 'torch.compile%')", 24},
        {"variant = 'liger' AND status = 'skipped' AND error <> ''", 12},
    };
    for (size_t i = 0; i < DYT_ARRAY_LEN(want_cases); i++)
        if (count(d, run, want_cases[i].where) != want_cases[i].n)
            fail_msg("want %lld cases where %s", (long long)want_cases[i].n, want_cases[i].where);
    q_text(d, "SELECT settings FROM runs WHERE id = ?1", run, txt, sizeof txt);
    char want[128];
    snprintf(want, sizeof want, "\"torch\":\"%s\"", torch_version);
    assert_non_null(strstr(txt, want));
    assert_non_null(strstr(txt, "\"thread_cpus\":{\"1\":["));
    assert_non_null(strstr(txt, "\"device\":\"cpu\""));
    store_close(s);
    plan_free(&p);
    suite_free(&su);
}

static void test_torch_from_the_command_line(void **state)
{
    (void)state;
    char suite_path[512], db[512], cmd[2048];
    suite su;
    parse_tiny(&su);
    suite_free(&su);
    snprintf(suite_path, sizeof suite_path, "%s/tiny.suite", tmpdir);
    snprintf(db, sizeof db, "%s/cli.db", tmpdir);
    snprintf(cmd, sizeof cmd,
             "'%s' run --suite '%s' --peer torch --peer-variant torch-eager --pass fwd --quick"
             " -t 1 --rounds 2 --db '%s' -q > '%s/cli.out' 2>&1",
             dytbench_exe, suite_path, db, tmpdir);
    assert_int_equal(exit_code(system(cmd)), 0);
    store *s = open_store(db, 0);
    sqlite3 *d = store_db(s);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM cases WHERE variant = 'torch-eager' AND"
                           " status = 'ok'",
                           0),
                     6);
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases WHERE variant = 'torch-compile'", 0), 0);
    store_close(s);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DYTBENCH\n", argv[0]);
        return 2;
    }
    dytbench_exe = argv[1];
    if (!find_torch()) {
        printf("skip: /usr/bin/python3 cannot import torch (apt-get install python3-torch)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_cases),
        cmocka_unit_test(test_torch_from_the_command_line),
    };
    return run_in_tmpdir("/tmp/dytbench-torch", "torch", tests, DYT_ARRAY_LEN(tests), NULL, NULL);
}
