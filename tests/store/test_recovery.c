/* Interrupted writes. A process killed in the middle of a transaction on
 * a rollback-journal file leaves a hot journal beside it, which SQLite
 * rolls back only on a read-write connection: the store's read-only
 * validation used to call such a file corrupt forever. A dytbench store
 * (or an empty file whose first commit was cut short) is now rolled back
 * and opened; a foreign file with a hot journal keeps both its bytes and
 * its journal. A creation killed before its store was linked leaves no
 * store and its temporary file is removed by the next creation. argv[1]
 * is the dytbench binary. */
#include "store_test.h"
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>


/* Child: opens path in rollback-journal mode, runs sql in one transaction
 * with a cache so small that pages are spilled into the file before the
 * commit, then dies with SIGKILL before committing. The parent checks the
 * result is a hot journal over a file that holds some of the new pages. */
static void kill_mid_transaction(const char *path, const char *sql)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sqlite3 *d;
        if (sqlite3_open(path, &d) != SQLITE_OK ||
            sqlite3_exec(d,
                         "PRAGMA journal_mode = DELETE; PRAGMA cache_size = 1;"
                         " PRAGMA cache_spill = 1; BEGIN",
                         NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(d, sql, NULL, NULL, NULL) != SQLITE_OK)
            _exit(3);
        kill(getpid(), SIGKILL);
        _exit(4);
    }
    assert_int_equal(wait_exit(pid), -SIGKILL);
    char j[600];
    snprintf(j, sizeof j, "%s-journal", path);
    long len;
    free(slurp(j, &len));
    assert_true(len > 0); /* a hot journal */
    free(slurp(path, &len));
    assert_true(len > 0); /* pages spilled into the file */
}

/* A transaction big enough to spill: many rows of 1 KiB. */
#define BIG_INSERT(table)                                                                          \
    "CREATE TABLE " table "(x BLOB);"                                                              \
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"               \
    " INSERT INTO " table " SELECT randomblob(1024) FROM n;"

static int cli_exit(const char *args)
{
    need_dytbench();
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>&1", dytbench_exe, args);
    return exit_code(system(cmd));
}

/* The first commit of a new store (the schema, in place in an empty file)
 * killed after pages reached the file: opened, rolled back to empty, set
 * up; the CLI reads it. */
static void test_kill_during_first_commit(void **state)
{
    (void)state;
    char db[512];
    tmp_path(db, sizeof db, "first.db");
    FILE *f = fopen(db, "w");
    assert_non_null(f);
    fclose(f);
    char sql[64 * 1024];
    snprintf(sql, sizeof sql, "%s" BIG_INSERT("filler"), store_schema_sql);
    kill_mid_transaction(db, sql);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "list runs --db '%s'", db);
    assert_int_equal(cli_exit(cmd), DYT_USAGE); /* reading: an empty file */
    store *s;
    dyt_err e = {{0}};
    if (store_open(db, 1, &s, &e) != DYT_OK)
        print_error("%s\n", e.msg);
    assert_non_null(s);
    char t[64];
    q_text(store_db(s), "PRAGMA integrity_check", 0, t, sizeof t);
    assert_string_equal(t, "ok");
    assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM sqlite_schema WHERE name = 'filler'",
                           0),
                     0);
    assert_int_equal(q_int(store_db(s), "PRAGMA user_version", 0), STORE_SCHEMA_VERSION);
    store_close(s);
    assert_int_equal(cli_exit(cmd), DYT_OK);
}

/* A store of an older build (rollback journal) killed mid-write: the
 * transaction is rolled back, what was committed before is kept. */
static void test_kill_mid_write_of_a_store(void **state)
{
    (void)state;
    char db[512];
    tmp_path(db, sizeof db, "legacy.db");
    store *s;
    dyt_err e = {{0}};
    assert_int_equal(store_open(db, 1, &s, &e), DYT_OK);
    machine_info m;
    fake_machine(&m, "beef");
    int64_t mid, run;
    assert_int_equal(store_put_machine(s, &m, &mid, &e), DYT_OK);
    store_run_meta meta = fake_run_meta;
    meta.machine_id = mid;
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    assert_int_equal(put_fake_case(s, run, 0, 50, &e), DYT_OK);
    assert_int_equal(store_end_run(s, run, "complete", NULL, &e), DYT_OK);
    exec_ok(store_db(s), "PRAGMA journal_mode = DELETE");
    store_close(s);
    kill_mid_transaction(db, BIG_INSERT("filler") "DELETE FROM samples;");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "show 1 --db '%s'", db);
    assert_int_equal(cli_exit(cmd), DYT_OK);
    assert_int_equal(store_open(db, 0, &s, &e), DYT_OK);
    char t[64];
    q_text(store_db(s), "PRAGMA integrity_check", 0, t, sizeof t);
    assert_string_equal(t, "ok");
    assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM samples", 0), 50);
    assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM sqlite_schema WHERE name = 'filler'",
                           0),
                     0);
    store_close(s);
}

/* A foreign database with a hot journal: refused, the file and its journal
 * byte-for-byte as they were. */
static void test_foreign_hot_journal_untouched(void **state)
{
    (void)state;
    char db[512], j[600];
    tmp_path(db, sizeof db, "foreign-hot.db");
    snprintf(j, sizeof j, "%s-journal", db);
    sqlite3 *d;
    assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
    exec_ok(d, "PRAGMA journal_mode = DELETE; CREATE TABLE theirs(a); INSERT INTO theirs VALUES (1)");
    sqlite3_close(d);
    kill_mid_transaction(db, BIG_INSERT("filler"));
    long len_db, len_j, len_db2, len_j2;
    char *b_db = slurp(db, &len_db), *b_j = slurp(j, &len_j);
    for (int create = 0; create < 2; create++) {
        store *s = NULL;
        dyt_err e = {{0}};
        assert_int_equal(store_open(db, create, &s, &e), DYT_USAGE);
        assert_null(s);
        assert_non_null(strstr(e.msg, "not a dytbench database"));
    }
    char *b_db2 = slurp(db, &len_db2), *b_j2 = slurp(j, &len_j2);
    assert_int_equal(len_db, len_db2);
    assert_int_equal(len_j, len_j2);
    assert_memory_equal(b_db, b_db2, (size_t)len_db);
    assert_memory_equal(b_j, b_j2, (size_t)len_j);
    free(b_db);
    free(b_j);
    free(b_db2);
    free(b_j2);
}

static int count_temporaries(const char *base)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, ".%s.new-", base);
    DIR *d = opendir(tmpdir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += !strncmp(de->d_name, prefix, strlen(prefix)) && !strstr(de->d_name, "-journal") &&
             !strstr(de->d_name, "-wal") && !strstr(de->d_name, "-shm");
    closedir(d);
    return n;
}

/* A creator killed before it linked its store leaves only its temporary
 * file, no store; the next creation removes it. */
static void test_killed_creation_leaves_no_store(void **state)
{
    (void)state;
    char db[512], stale[600];
    tmp_path(db, sizeof db, "killed-create.db");
    /* What a creator with a pid that no longer exists left behind. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    snprintf(stale, sizeof stale, "%s/.killed-create.db.new-%ld-0", tmpdir, (long)pid);
    kill_mid_transaction(stale, store_schema_sql);
    assert_int_equal(count_temporaries("killed-create.db"), 1);
    assert_false(file_exists(db));
    store_close(open_store(db, 1));
    assert_int_equal(count_temporaries("killed-create.db"), 0);
    char j[700];
    snprintf(j, sizeof j, "%s-journal", stale);
    assert_false(file_exists(j));
    /* Killed between the link and the unlink: the temporary name is a
     * second link to the store, removed by the next open that may write. */
    assert_int_equal(link(db, stale), 0);
    store_close(open_store(db, 0));
    assert_false(file_exists(stale));
    assert_true(file_exists(db));
}

DYT_TEST_MAIN_IN_TMPDIR("store-recovery", NULL, NULL, cmocka_unit_test(test_kill_during_first_commit),
                        cmocka_unit_test(test_kill_mid_write_of_a_store),
                        cmocka_unit_test(test_foreign_hot_journal_untouched),
                        cmocka_unit_test(test_killed_creation_leaves_no_store))
