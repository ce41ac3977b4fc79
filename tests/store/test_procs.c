/* The store across processes. A writer killed with SIGKILL in the middle
 * of a run leaves a DB that passes PRAGMA integrity_check, whose finished
 * cases are whole, and whose run is marked 'aborted' by the next open. Two
 * processes that create and write one DB at the same time both succeed,
 * every case of both runs stored; so do 8 writers started together on a
 * path that does not exist yet, trial after trial. */
#include "store_test.h"
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

/* Child: a run writing cases forever, reporting each committed seq on fd. */
static void writer_forever(const char *db, int fd)
{
    store *s;
    dyt_err e = {{0}};
    machine_info m;
    fake_machine(&m, "abcd");
    int64_t mid, run;
    if (store_open(db, 1, &s, &e) || store_put_machine(s, &m, &mid, &e))
        goto fail;
    store_run_meta meta = fake_run_meta;
    meta.machine_id = mid;
    if (store_begin_run(s, &meta, &run, &e))
        goto fail;
    for (int i = 0;; i++) {
        if (put_fake_case(s, run, i, 200, &e))
            goto fail;
        if (write(fd, &i, sizeof i) != sizeof i)
            _exit(3);
    }
fail:
    fprintf(stderr, "writer: %s\n", e.msg);
    _exit(1);
}

static void test_sigkill_mid_run(void **state)
{
    (void)state;
    char db[512];
    tmp_path(db, sizeof db, "killed.db");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        writer_forever(db, fds[1]);
    }
    close(fds[1]);
    int seq = -1, last = -1;
    /* Let it commit a few cases, then kill it while it writes more. */
    while (last < 6 && read(fds[0], &seq, sizeof seq) == sizeof seq)
        last = seq;
    assert_int_equal(last, 6);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(wait_exit(pid), -SIGKILL); /* reaped: its pid is gone */
    while (read(fds[0], &seq, sizeof seq) == sizeof seq)
        last = seq; /* commits reported just before the kill */
    close(fds[0]);

    /* Before any store_open: the file is intact and the run still says
     * 'running' (nobody has looked yet). */
    sqlite3 *d;
    assert_int_equal(sqlite3_open_v2(db, &d, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    char t[256];
    q_text(d, "PRAGMA integrity_check", 0, t, sizeof t);
    assert_string_equal(t, "ok");
    q_text(d, "SELECT status FROM runs", 0, t, sizeof t);
    assert_string_equal(t, "running");
    sqlite3_close(d);

    store *s = open_store(db, 0);
    d = store_db(s);
    q_text(d, "SELECT status || '|' || (ended_at IS NOT NULL) FROM runs", 0, t, sizeof t);
    assert_string_equal(t, "aborted|1");
    q_text(d, "SELECT note FROM runs", 0, t, sizeof t);
    assert_non_null(strstr(t, "ended without closing"));
    /* Every case reported committed is there, each whole; at most one
     * more (committed after the last report) and no partial one. */
    int64_t n = q_int(d, "SELECT count(*) FROM cases", 0);
    assert_true(n >= last + 1 && n <= last + 2);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM cases c WHERE (SELECT count(*) FROM samples"
                           " WHERE case_id = c.id) = 200 AND EXISTS (SELECT 1 FROM stats"
                           " WHERE case_id = c.id) AND (SELECT count(*) FROM counters WHERE"
                           " case_id = c.id) = 2",
                           0),
                     n);
    assert_int_equal(q_int(d, "SELECT max(seq) + 1 FROM cases", 0), n);
    store_close(s);
}

#define N_CASES 150

/* Child: waits for the go byte, then creates/opens the DB and writes a
 * whole run of n_cases cases (from seq first) of n_samples samples. Exit 0
 * only if every call succeeded; a writer that hangs is killed by its
 * alarm and counts as a failure. */
static void writer_run(const char *db, int go_fd, const char *label, int first, int n_cases,
                       int n_samples)
{
    alarm(25);
    char c;
    if (read(go_fd, &c, 1) != 1)
        _exit(4);
    store *s;
    dyt_err e = {{0}};
    machine_info m;
    fake_machine(&m, "5555");
    int64_t mid, run;
    if (store_open(db, 1, &s, &e) || store_put_machine(s, &m, &mid, &e))
        goto fail;
    store_run_meta meta = fake_run_meta;
    meta.machine_id = mid;
    meta.label = label;
    if (store_begin_run(s, &meta, &run, &e))
        goto fail;
    for (int i = first; i < first + n_cases; i++)
        if (put_fake_case(s, run, i, n_samples, &e))
            goto fail;
    if (store_end_run(s, run, "complete", NULL, &e))
        goto fail;
    store_close(s);
    _exit(0);
fail:
    fprintf(stderr, "writer %s: %s\n", label, e.msg);
    _exit(1);
}

static void test_two_writers(void **state)
{
    (void)state;
    char db[512];
    tmp_path(db, sizeof db, "shared.db");
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t p[2];
    const char *labels[2] = {"writer-a", "writer-b"};
    for (int i = 0; i < 2; i++) {
        p[i] = fork();
        assert_true(p[i] >= 0);
        if (p[i] == 0) {
            close(go[1]);
            writer_run(db, go[0], labels[i], 0, N_CASES, 40);
        }
    }
    close(go[0]);
    /* Both start at once, on a file that does not exist yet. */
    assert_int_equal(write(go[1], "gg", 2), 2);
    close(go[1]);
    for (int i = 0; i < 2; i++)
        assert_int_equal(wait_exit(p[i]), 0);
    store *s = open_store(db, 0);
    sqlite3 *d = store_db(s);
    char t[64];
    q_text(d, "PRAGMA integrity_check", 0, t, sizeof t);
    assert_string_equal(t, "ok");
    assert_int_equal(q_int(d, "SELECT count(*) FROM machines", 0), 1);
    assert_int_equal(q_int(d, "SELECT count(*) FROM runs WHERE status = 'complete'", 0), 2);
    assert_int_equal(q_int(d, "SELECT count(DISTINCT label) FROM runs", 0), 2);
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases", 0), 2 * N_CASES);
    assert_int_equal(q_int(d,
                           "SELECT min(n) FROM (SELECT count(*) AS n FROM cases GROUP BY"
                           " run_id)",
                           0),
                     N_CASES);
    assert_int_equal(q_int(d, "SELECT count(*) FROM samples", 0), 2 * N_CASES * 40);
    store_close(s);
}

static void write_empty(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
}

#define CREATE_WRITERS 8
#define CREATE_TRIALS 20

/* Writers started together on a fresh path (or an empty file, which is
 * set up in place): every one gets through, every trial, and the store
 * holds all their runs. */
static void creation_trials(int empty_file)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int failed_trials = 0, failed_writers = 0;
    for (int trial = 0; trial < CREATE_TRIALS; trial++) {
        char name[64], db[512];
        snprintf(name, sizeof name, "%s-%d.db", empty_file ? "empty" : "fresh", trial);
        tmp_path(db, sizeof db, name);
        if (empty_file)
            write_empty(db);
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t p[CREATE_WRITERS];
        for (int i = 0; i < CREATE_WRITERS; i++) {
            p[i] = fork();
            assert_true(p[i] >= 0);
            if (p[i] == 0) {
                char label[32];
                snprintf(label, sizeof label, "creator-%d", i);
                close(go[1]);
                writer_run(db, go[0], label, i, 1, 10);
            }
        }
        close(go[0]);
        char bytes[CREATE_WRITERS];
        memset(bytes, 'g', sizeof bytes);
        assert_int_equal(write(go[1], bytes, sizeof bytes), (ssize_t)sizeof bytes);
        close(go[1]);
        int bad = 0;
        for (int i = 0; i < CREATE_WRITERS; i++)
            bad += wait_exit(p[i]) != 0;
        failed_writers += bad;
        failed_trials += bad > 0;
        if (bad)
            continue;
        store *s = open_store(db, 0);
        assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM runs WHERE status = 'complete'",
                               0),
                         CREATE_WRITERS);
        assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM cases", 0), CREATE_WRITERS);
        store_close(s);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("concurrent creation (%s): %d writers x %d trials: %d trial(s) failed, %d of "
                  "%d writers failed (%.1f s)\n",
                  empty_file ? "empty file" : "fresh path", CREATE_WRITERS, CREATE_TRIALS,
                  failed_trials, failed_writers,
                  CREATE_WRITERS * CREATE_TRIALS,
                  (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    assert_int_equal(failed_writers, 0);
}

/* On a fresh path and on an empty file. */
static void test_concurrent_creation(void **state)
{
    (void)state;
    creation_trials(0);
    creation_trials(1);
}

DYT_TEST_MAIN_IN_TMPDIR("store-procs", NULL, NULL, cmocka_unit_test(test_sigkill_mid_run),
                        cmocka_unit_test(test_two_writers),
                        cmocka_unit_test(test_concurrent_creation))
