/* `dytbench run` as a shard of a campaign and resumed after a kill, through
 * the built binary: the shards of a campaign together measure exactly the
 * unsharded plan (every case once, the same seq and shape), each storing
 * its campaign, shard and the whole plan; --shard slurm reads the array
 * task's environment and refuses to guess outside one; a run killed with
 * SIGKILL half-way is resumed into the same run -- complete, no case twice,
 * none missing, the cases it had kept as they were -- and a resume whose
 * plan or options differ is refused with the store unchanged; --resume
 * auto continues a requeued shard, starts afresh on another host, and
 * does nothing for a complete one.
 *
 * argv[1] is the dytbench binary (meson passes it). */
#include "cluster_test.h"

/* Each case of the store at db as "seq|model|token|norm|pass|rows|cols|variant|threads", by seq. */
static void case_keys(const char *db, char *out, size_t n)
{
    db_text(db,
            "SELECT seq || '|' || model || '|' || coalesce(token_label, '') || '|' || norm || '|'"
            " || pass || '|' || rows || '|' || cols || '|' || variant || '|' || threads"
            " FROM cases ORDER BY seq",
            out, n);
}

static void test_shards_cover_the_plan(void **state)
{
    (void)state;
    char whole[600];
    path_in(whole, sizeof whole, "whole.db");
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", whole, FAST, NULL);
    want_status(&r, 0);
    static char want[8192], got[16384], part[4096];
    case_keys(whole, want, sizeof want);
    assert_int_equal(db_int(whole, "SELECT count(*) FROM cases"), TINY_CASES);

    for (int n = 1; n <= 5; n++) {
        got[0] = '\0';
        size_t total = 0;
        for (int i = 1; i <= n; i++) {
            char db[600], name[64], spec[16], campaign[16];
            snprintf(name, sizeof name, "shard-%d-of-%d.db", i, n);
            path_in(db, sizeof db, name);
            snprintf(spec, sizeof spec, "%d/%d", i, n);
            snprintf(campaign, sizeof campaign, "t%d", n);
            dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", db, "--shard", spec, "--campaign",
                campaign, FAST, NULL);
            want_status(&r, 0);
            char row[256];
            db_text(db,
                    "SELECT campaign || ' ' || shard_index || ' ' || shard_count || ' ' ||"
                    " status FROM runs",
                    row, sizeof row);
            char expect[64];
            snprintf(expect, sizeof expect, "%s %d %d complete", campaign, i - 1, n);
            assert_string_equal(row, expect);
            /* The whole plan is in every shard's store, and this shard's
             * cases are the ones it assigns to it. */
            assert_int_equal(db_int(db, "SELECT n_cases FROM campaigns"), TINY_CASES);
            assert_int_equal(db_int(db, "SELECT count(*) FROM campaign_cases"), TINY_CASES);
            assert_int_equal(db_int(db, "SELECT count(*) FROM cases c JOIN campaign_cases p ON"
                                        " p.seq = c.seq AND p.shard_index = (SELECT shard_index"
                                        " FROM runs)"),
                             db_int(db, "SELECT count(*) FROM cases"));
            total += (size_t)db_int(db, "SELECT count(*) FROM cases");
            case_keys(db, part, sizeof part);
            if (part[0])
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", got[0] ? "\n" : "",
                         part);
        }
        assert_int_equal(total, TINY_CASES);
        /* Sorted by seq, the shards' cases are the whole plan's. */
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "%s/got.txt", tmpdir);
        write_file(cmd, got);
        char sorted[600];
        path_in(sorted, sizeof sorted, "sorted.txt");
        snprintf(cmd, sizeof cmd, "sort -t'|' -k1,1n '%s/got.txt' > '%s'", tmpdir, sorted);
        assert_int_equal(system(cmd), 0);
        static char s[8192];
        read_into(sorted, s, sizeof s);
        if (s[0] && s[strlen(s) - 1] == '\n')
            s[strlen(s) - 1] = '\0';
        assert_string_equal(s, want);
    }
}

static void test_slurm_environment(void **state)
{
    (void)state;
    char db[600];
    path_in(db, sizeof db, "slurm.db");
    char *task3[] = {"SLURM_ARRAY_TASK_ID=3",
                     "SLURM_ARRAY_TASK_MIN=1",
                     "SLURM_ARRAY_TASK_MAX=4",
                     "SLURM_ARRAY_TASK_COUNT=4",
                     "SLURM_ARRAY_JOB_ID=7741",
                     "SLURM_JOB_ID=7744",
                     NULL};
    dyt_run(&r, task3, "run", "--suite", suite_path, "--db", db, "--shard", "slurm", FAST, NULL);
    want_status(&r, 0);
    char row[128];
    db_text(db, "SELECT campaign || ' ' || shard_index || ' ' || shard_count FROM runs", row,
            sizeof row);
    assert_string_equal(row, "7741 2 4");
    /* A 0-based array with a step, and a campaign of the user's. */
    char *stepped[] = {"SLURM_ARRAY_TASK_ID=4",  "SLURM_ARRAY_TASK_MIN=0",
                       "SLURM_ARRAY_TASK_MAX=6", "SLURM_ARRAY_TASK_STEP=2",
                       "SLURM_ARRAY_JOB_ID=9",   NULL};
    dyt_run(&r, stepped, "run", "--suite", suite_path, "--db", db, "--shard", "slurm", "--campaign",
        "mine", FAST, NULL);
    want_status(&r, 0);
    db_text(db,
            "SELECT campaign || ' ' || shard_index || ' ' || shard_count FROM runs WHERE id = 2",
            row, sizeof row);
    assert_string_equal(row, "mine 2 4");

    /* Refused before anything is written: outside an array, in a job that
     * is not an array task, an array that is not one range, bad specs. */
    char fresh[600];
    path_in(fresh, sizeof fresh, "never.db");
    char *job[] = {"SLURM_JOB_ID=12", NULL};
    char *gaps[] = {"SLURM_ARRAY_TASK_ID=3",    "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=5",
                    "SLURM_ARRAY_TASK_COUNT=3", "SLURM_ARRAY_JOB_ID=5",   NULL};
    struct {
        char **env;
        const char *shard, *campaign, *why;
    } bad[] = {
        {NULL, "slurm", NULL, "not inside a Slurm array task"},
        {job, "slurm", NULL, "Slurm job 12 is not an array task"},
        {gaps, "slurm", NULL, "not one range"},
        {NULL, "0/3", "c", "is not I/N"},
        {NULL, "4/3", "c", "is not I/N"},
        {NULL, "3", "c", "is not I/N"},
        {NULL, "1/0", "c", "is not I/N"},
        {NULL, "x/y", "c", "is not I/N"},
        {NULL, "1/2", NULL, "name the campaign"},
        {NULL, "1/2", "no spaces", "is not a campaign id"},
    };
    for (size_t i = 0; i < DYT_ARRAY_LEN(bad); i++) {
        char *args[40] = {"run", "--suite", suite_path,          "--db",
                          fresh, "--shard", (char *)bad[i].shard};
        size_t n = 7;
        if (bad[i].campaign) {
            args[n++] = "--campaign";
            args[n++] = (char *)bad[i].campaign;
        }
        args[n++] = "-q";
        args[n] = NULL;
        dyt_run_args(&r, NULL, bad[i].env, args);
        want_status(&r, 2);
        if (!strstr(r.err, bad[i].why))
            fail_msg("--shard %s: stderr '%s' lacks '%s'", bad[i].shard, r.err, bad[i].why);
        assert_int_equal(access(fresh, F_OK), -1);
    }
}

/* Waits until the store at db has at least n cases, the child still
 * running; returns how many it has. */
static int64_t wait_cases(const char *db, pid_t pid, int64_t n)
{
    int64_t have = 0;
    for (int i = 0; i < 600 && have < n; i++) {
        usleep(50000);
        int st;
        assert_int_equal(waitpid(pid, &st, WNOHANG), 0); /* still running */
        if (access(db, F_OK) == 0)
            have = db_int(db, "SELECT count(*) FROM cases");
    }
    return have;
}

/* Slow enough to be killed half-way: 4 cases of >= 0.4 s. */
#define SLOW                                                                                       \
    "--model", "tiny-ln", "--pass", "fwd", "--threads", "1", "--min-time", "0.4", "--max-time",    \
        "0.5", "--max-samples", "1000000", "--llc-bytes", "1M", "-q"

static void test_resume_after_sigkill(void **state)
{
    (void)state;
    char db[600];
    path_in(db, sizeof db, "killed.db");
    char *args[] = {"run", "--suite", suite_path, "--db", db, "--campaign", "k", SLOW, NULL};
    pid_t pid = dyt_start(NULL, NULL, args, NULL, NULL);
    int64_t before_kill = wait_cases(db, pid, 2);
    assert_true(before_kill >= 2);
    kill(pid, SIGKILL);
    assert_int_equal(wait_exit(pid), -SIGKILL);
    int64_t kept = db_int(db, "SELECT count(*) FROM cases");
    assert_true(kept >= 2 && kept < 4);
    static char before[8192], after[8192];
    db_text(db,
            "SELECT c.id || ' ' || c.seq || ' ' || s.median_ns || ' ' || (SELECT count(*) FROM"
            " samples WHERE case_id = c.id) FROM cases c JOIN stats s ON s.case_id = c.id"
            " ORDER BY c.seq",
            before, sizeof before);
    char uuid[64];
    db_text(db, "SELECT uuid FROM runs", uuid, sizeof uuid);
    static const char ceilings_sql[] =
        "SELECT level || ' ' || threads || ' ' || kind || ' ' || bytes || ' ' || gbps || ' ' ||"
        " coalesce(gbps_median, '-') FROM ceilings ORDER BY level, threads, kind";
    static char ceilings_before[2048], ceilings_after[2048];
    db_text(db, ceilings_sql, ceilings_before, sizeof ceilings_before);
    assert_true(ceilings_before[0]); /* measured before the first case */

    /* The first command to open the store marks the killed run aborted
     * (its writer is gone); from then on, a refused resume -- another
     * plan, other options, no such run -- changes nothing. */
    dyt_run(&r, NULL, "show", "1", "--db", db, NULL);
    want_status(&r, 0);
    char status[32];
    db_text(db, "SELECT status FROM runs", status, sizeof status);
    assert_string_equal(status, "aborted");
    long n0;
    char *b0 = slurp(db, &n0);
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", db, "--campaign", "k", "--resume", "1",
        SLOW, "--seed", "2", NULL);
    want_status(&r, 2);
    assert_non_null(strstr(r.err, "measuring options differ (seed: stored 1, now 2)"));
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", db, "--campaign", "k", "--resume", "1",
        SLOW, "--pages", "small", NULL);
    want_status(&r, 2);
    assert_non_null(strstr(r.err, "measuring options differ (pages: stored \"huge\", now \"small\")"));
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", db, "--campaign", "k", "--resume", "1",
        SLOW, "--pass", "fwd,bwd", NULL);
    want_status(&r, 2);
    assert_non_null(strstr(r.err, "its plan differs"));
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", db, "--resume", "1", SLOW, NULL);
    want_status(&r, 2);
    assert_non_null(strstr(r.err, "it is shard 1/1 of campaign 'k'"));
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", db, "--campaign", "k", "--resume", "9",
        SLOW, NULL);
    want_status(&r, 2);
    assert_non_null(strstr(r.err, "no run '9'"));
    /* A mistyped store path: refused, and no empty store made there. */
    char typo[640];
    snprintf(typo, sizeof typo, "%s.typo", db);
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", typo, "--campaign", "k", "--resume", "1",
        SLOW, NULL);
    want_status(&r, 2);
    assert_non_null(strstr(r.err, "no such database"));
    assert_int_equal(access(typo, F_OK), -1);
    assert_same_bytes(db, b0, n0);
    free(b0);

    /* A run stored before --pages existed (no "pages" in its settings) ran
     * on malloc's pages: resuming it on today's default is refused. */
    char old[640];
    snprintf(old, sizeof old, "%s.old.db", db);
    {
        long n;
        char *bytes = slurp(db, &n);
        FILE *f = fopen(old, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(bytes, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        free(bytes);
        db_exec(old, "UPDATE runs SET settings = json_remove(settings, '$.pages')");
    }
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", old, "--campaign", "k", "--resume", "1",
        SLOW, NULL);
    want_status(&r, 2);
    assert_non_null(strstr(r.err, "measuring options differ (pages: stored nothing, now \"huge\")"));
    unlink(old);

    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", db, "--campaign", "k", "--resume", "1",
        SLOW, NULL);
    want_status(&r, 0);
    /* One run, complete, every case once, none missing. */
    assert_int_equal(db_int(db, "SELECT count(*) FROM runs"), 1);
    char t[512];
    db_text(db, "SELECT status || '|' || uuid FROM runs", t, sizeof t);
    char want[128];
    snprintf(want, sizeof want, "complete|%s", uuid);
    assert_string_equal(t, want);
    db_text(db, "SELECT note FROM runs", t, sizeof t);
    assert_non_null(strstr(t, "resumed at "));
    assert_int_equal(db_int(db, "SELECT count(*) FROM cases"), 4);
    assert_int_equal(db_int(db, "SELECT count(DISTINCT seq) FROM cases"), 4);
    assert_int_equal(db_int(db, "SELECT min(seq) + max(seq) FROM cases"), 3);
    assert_int_equal(db_int(db,
                            "SELECT count(*) FROM cases c JOIN stats s ON s.case_id = c.id WHERE"
                            " s.n > 0 AND s.n = (SELECT count(*) FROM samples"
                            " WHERE case_id = c.id)"),
                     4);
    /* The resumed run kept the ceilings it measured first: the cases it
     * added are held against the same ones. */
    db_text(db, ceilings_sql, ceilings_after, sizeof ceilings_after);
    assert_string_equal(ceilings_before, ceilings_after);
    /* The cases stored before the kill are as they were. */
    db_text(db,
            "SELECT c.id || ' ' || c.seq || ' ' || s.median_ns || ' ' || (SELECT count(*) FROM"
            " samples WHERE case_id = c.id) FROM cases c JOIN stats s ON s.case_id = c.id"
            " ORDER BY c.seq",
            after, sizeof after);
    assert_memory_equal(before, after, strlen(before));
    /* Nothing left to resume. */
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", db, "--campaign", "k", "--resume", "1",
        SLOW, NULL);
    want_status(&r, 0);
    assert_non_null(strstr(r.out, "nothing to do"));
    assert_int_equal(db_int(db, "SELECT count(*) FROM cases"), 4);
}

/* A requeued array task runs the same command again: it continues its
 * run, or starts a new one when the earlier run is another host's. */
static void test_resume_auto(void **state)
{
    (void)state;
    char db[600];
    path_in(db, sizeof db, "auto.db");
    char *task[] = {"SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=2",
                    "SLURM_ARRAY_JOB_ID=500", NULL};
    char *args[] = {"run",   "--suite",  suite_path, "--db", db,  "--shard",
                    "slurm", "--resume", "auto",     SLOW,   NULL};
    pid_t pid = dyt_start(NULL, task, args, NULL, NULL);
    assert_true(wait_cases(db, pid, 1) >= 1);
    kill(pid, SIGKILL);
    wait_exit(pid);
    dyt_run_args(&r, NULL, task, args);
    want_status(&r, 0);
    assert_int_equal(db_int(db, "SELECT count(*) FROM runs"), 1);
    assert_int_equal(db_int(db, "SELECT count(*) FROM runs WHERE status = 'complete'"
                                " AND campaign = '500' AND shard_index = 1"),
                     1);
    int64_t n = db_int(db, "SELECT count(*) FROM cases");
    assert_true(n > 0);
    assert_int_equal(db_int(db, "SELECT count(DISTINCT seq) FROM cases"), n);
    /* Complete: nothing to do. */
    dyt_run_args(&r, NULL, task, args);
    want_status(&r, 0);
    assert_non_null(strstr(r.out, "nothing to do"));
    /* The earlier run was another host's (a task requeued to another
     * node): a new run of the shard. */
    db_exec(db, "UPDATE runs SET status = 'aborted', host = 'node-elsewhere'");
    dyt_run_args(&r, NULL, task, args);
    want_status(&r, 0);
    assert_non_null(strstr(r.err, "starting a new run of the shard"));
    assert_int_equal(db_int(db, "SELECT count(*) FROM runs"), 2);
    assert_int_equal(db_int(db, "SELECT count(*) FROM cases WHERE run_id = 2"), n);
}

DYT_TEST_MAIN_IN_TMPDIR("campaign-run", setup, NULL, cmocka_unit_test(test_shards_cover_the_plan),
                        cmocka_unit_test(test_slurm_environment),
                        cmocka_unit_test(test_resume_after_sigkill),
                        cmocka_unit_test(test_resume_auto))
