/* Fault test: `dytbench run` (argv[1]) killed with SIGKILL at random
 * points of a run, again and again into one store -- while it creates the
 * store, measures, commits a case, marks stale runs -- until 10 kills have
 * landed in the middle of a run (at most 40 tries). After every kill,
 * before anything else opens it, the store passes PRAGMA integrity_check;
 * every case that was committed before the kill is still there and whole
 * (its samples, its statistics); once opened, the killed run reads
 * 'aborted'. Then a run into the same store completes cleanly with every
 * case. The kill times are drawn from a fixed seed over the length of a
 * clean run, so the test is repeatable and its length bounded (~30 s).
 * Then 20 kills around the moment a run creates its store. */
#include "runner_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>


#define KILLS 10
#define MAX_TRIES 40
/* Six cases (six token counts, DyT forward), each a few tenths of a
 * second at most. */
static const char suite_text[] = "[k]\ndomain = llm\nnorm = rmsnorm\nhidden = 256\n"
                                 "tokens = 4, 8, 16, 32, 64, 128\nlayers = 1\n";
#define N_CASES 6

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static pid_t start_run(const char *suite, const char *db)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execl(dytbench_exe, dytbench_exe, "run", "--suite", suite, "--db", db, "--norm", "dyt",
              "--pass", "fwd", "--threads", "1", "--min-time", "0.02", "--max-time", "0.08",
              "--llc-bytes", "1M", "-q", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* A read-only look at the raw file (no store_open: it would mark the run
 * aborted): integrity, committed cases, and whether the latest run is
 * still 'running'. -1 cases when there is no store yet. */
typedef struct {
    int64_t cases, whole, running;
    char integrity[64];
} look;

static void look_at(const char *db, look *l)
{
    l->cases = l->whole = -1;
    l->running = 0;
    l->integrity[0] = '\0';
    sqlite3 *d;
    if (access(db, F_OK) != 0 || sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return;
    sqlite3_busy_timeout(d, 5000);
    l->cases = q_int(d, "SELECT count(*) FROM cases", 0);
    l->whole = q_int(d,
                         "SELECT count(*) FROM cases c JOIN stats s ON s.case_id = c.id"
                         " WHERE s.n > 0 AND s.n = (SELECT count(*) FROM samples"
                         " WHERE case_id = c.id)",
                         0);
    l->running = q_int(d, "SELECT count(*) FROM runs WHERE status = 'running'", 0);
    q_text(d, "PRAGMA integrity_check", 0, l->integrity, sizeof l->integrity);
    sqlite3_close(d);
}

static void test_sigkill_at_random_points(void **state)
{
    (void)state;
    need_dytbench();
    char suite[512], db[512];
    snprintf(suite, sizeof suite, "%s/kill.suite", tmpdir);
    write_file(suite, suite_text);
    snprintf(db, sizeof db, "%s/kill.db", tmpdir);

    /* How long a clean run takes here (into a scratch store). */
    char scratch[512];
    snprintf(scratch, sizeof scratch, "%s/clean.db", tmpdir);
    double t0 = now_s();
    pid_t pid = start_run(suite, scratch);
    assert_int_equal(wait_exit(pid), 0);
    double clean = now_s() - t0;

    dyt_rng rng;
    dyt_rng_seed(&rng, 20240613);
    int landed = 0, tries = 0, early = 0, late = 0;
    int64_t committed_before = 0;
    for (; landed < KILLS && tries < MAX_TRIES; tries++) {
        /* Up to the end of a clean run; a fifth of the kills in its first
         * 50 ms, where the store is created and opened. */
        double delay = dyt_rng_uniform(&rng) < 0.2 ? 0.05 * dyt_rng_uniform(&rng)
                                                   : clean * dyt_rng_uniform(&rng);
        pid = start_run(suite, db);
        usleep((useconds_t)(delay * 1e6));
        look before;
        look_at(db, &before); /* what was committed; more may follow before the kill */
        kill(pid, SIGKILL);
        int code = wait_exit(pid);
        if (code != -SIGKILL) { /* it finished first */
            assert_int_equal(code, 0);
            late++;
            continue;
        }
        look after;
        look_at(db, &after);
        if (after.cases < 0) { /* killed before the store existed */
            early++;
            continue;
        }
        if (strcmp(after.integrity, "ok"))
            fail_msg("kill %d after %.3f s: integrity_check says '%s'", tries, delay,
                     after.integrity);
        assert_true(after.cases >= before.cases);
        assert_true(after.cases >= committed_before);
        assert_int_equal(after.whole, after.cases); /* no partial case */
        committed_before = after.cases;
        /* Opening marks the killed run aborted; none is left 'running'. */
        store *s;
        dyt_err e = {{0}};
        if (store_open(db, 0, &s, &e) != DYT_OK)
            fail_msg("kill %d after %.3f s: %s", tries, delay, e.msg);
        sqlite3 *d = store_db(s);
        assert_int_equal(q_int(d, "SELECT count(*) FROM runs WHERE status = 'running'", 0), 0);
        assert_int_equal(q_int(d, "SELECT count(*) FROM cases", 0), after.cases);
        landed += after.running > 0;
        store_close(s);
    }
    print_message("%d kills in %d tries landed mid-run (%d before the store existed, %d after "
                  "the run ended); a clean run takes %.2f s\n",
                  landed, tries, early, late, clean);
    assert_true(landed >= KILLS);

    /* The store takes a clean run with every case. */
    pid = start_run(suite, db);
    assert_int_equal(wait_exit(pid), 0);
    store *s = open_store(db, 0);
    sqlite3 *d = store_db(s);
    char t[64];
    q_text(d, "SELECT status FROM runs ORDER BY id DESC LIMIT 1", 0, t, sizeof t);
    assert_string_equal(t, "complete");
    assert_int_equal(q_int(d,
                               "SELECT count(*) FROM cases WHERE run_id ="
                               " (SELECT max(id) FROM runs) AND status = 'ok'",
                               0),
                     N_CASES);
    assert_true(q_int(d, "SELECT count(*) FROM runs WHERE status = 'aborted'", 0) >= KILLS);
    q_text(d, "PRAGMA integrity_check", 0, t, sizeof t);
    assert_string_equal(t, "ok");
    store_close(s);
}

/* Kills around the moment a run creates its store, each on a fresh path:
 * afterwards there is no store at that path or a complete one (opens,
 * passes integrity_check, holds the schema) -- never a half-made file
 * that every later open refuses -- and the next creation of each leaves
 * no temporary file behind. */
static void test_sigkill_during_creation(void **state)
{
    (void)state;
    need_dytbench();
    char suite[512], db[512];
    snprintf(suite, sizeof suite, "%s/create.suite", tmpdir);
    write_file(suite, suite_text);
    /* When the store appears in a run started now. */
    snprintf(db, sizeof db, "%s/appear.db", tmpdir);
    double t0 = now_s(), appear = 0;
    pid_t pid = start_run(suite, db);
    while (access(db, F_OK) != 0 && now_s() - t0 < 30)
        usleep(500);
    appear = now_s() - t0;
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    dyt_rng rng;
    dyt_rng_seed(&rng, 1306);
    int none = 0, whole = 0;
    for (int k = 0; k < 2 * KILLS; k++) {
        snprintf(db, sizeof db, "%s/create-%d.db", tmpdir, k);
        pid = start_run(suite, db);
        usleep((useconds_t)(appear * (0.6 + 0.8 * dyt_rng_uniform(&rng)) * 1e6));
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (access(db, F_OK) != 0) {
            none++;
            continue;
        }
        store *s;
        dyt_err e = {{0}};
        if (store_open(db, 0, &s, &e) != DYT_OK)
            fail_msg("kill %d: a store that cannot be opened: %s", k, e.msg);
        char t[64];
        q_text(store_db(s), "PRAGMA integrity_check", 0, t, sizeof t);
        assert_string_equal(t, "ok");
        assert_int_equal(q_int(store_db(s), "PRAGMA user_version", 0), STORE_SCHEMA_VERSION);
        store_close(s);
        whole++;
    }
    print_message("%d kills around creation (the store appears %.0f ms into a run): %d left no "
                  "store, %d a whole one, none a half-made one\n",
                  2 * KILLS, 1e3 * appear, none, whole);
    /* The next creation of each store removes what its killed creator
     * left (a temporary .NAME.new-PID-N): none is left in the folder. */
    for (int k = 0; k < 2 * KILLS; k++) {
        snprintf(db, sizeof db, "%s/create-%d.db", tmpdir, k);
        store_close(open_store(db, 1));
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep '\\.new-'", tmpdir);
    assert_int_not_equal(system(cmd), 0);
}

DYT_TEST_MAIN_IN_TMPDIR("runner-kill", NULL, NULL, cmocka_unit_test(test_sigkill_at_random_points),
                        cmocka_unit_test(test_sigkill_during_creation))
