/* Store safety: files that are not dytbench databases, are corrupt, or
 * come from a newer dytbench are refused with DYT_USAGE and a message naming the file, and stay
 * byte-for-byte as they were (no -wal/-shm/-journal left either). The CLI
 * exits 2 on such a file. argv[1] is the dytbench binary. */
#include "store_test.h"
#include <fcntl.h>
#include <sys/wait.h>

/* Opens path (create as given) expecting a refusal: DYT_USAGE, a message
 * naming the file and containing `why`, the bytes unchanged, no side files
 * left behind, and (with create, as the CLI opens) `dytbench machine
 * --store --db path` exiting 2. */
static void expect_refused(const char *path, int create, const char *why)
{
    long len0;
    char *b0 = slurp(path, &len0);
    store *s = (store *)0x1;
    dyt_err e = {{0}};
    int rc = store_open(path, create, &s, &e);
    if (rc != DYT_USAGE)
        print_error("%s: store_open returned %d (%s)\n", path, rc, e.msg);
    assert_int_equal(rc, DYT_USAGE);
    assert_null(s);
    assert_non_null(strstr(e.msg, path));
    if (!strstr(e.msg, why))
        print_error("message '%s' lacks '%s'\n", e.msg, why);
    assert_non_null(strstr(e.msg, why));
    assert_same_bytes(path, b0, len0);
    static const char *const side[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 3; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s%s", path, side[i]);
        if (file_exists(p))
            print_error("side file left: %s\n", p);
        assert_false(file_exists(p));
    }
    if (dytbench_exe && create) { /* machine --store opens with create */
        char cmd[1600];
        snprintf(cmd, sizeof cmd, "'%s' machine --store --db '%s' >/dev/null 2>&1", dytbench_exe,
                 path);
        assert_int_equal(exit_code(system(cmd)), DYT_USAGE);
        assert_same_bytes(path, b0, len0);
    }
    free(b0);
}

static void test_refuse_random_bytes(void **state)
{
    (void)state;
    char p[512];
    tmp_path(p, sizeof p, "random.db");
    unsigned char buf[8192];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    write_bytes(p, buf, sizeof buf);
    expect_refused(p, 1, "not an SQLite file");
    expect_refused(p, 0, "not an SQLite file");
    /* A text file, e.g. a suite passed as --db by mistake. */
    tmp_path(p, sizeof p, "text.db");
    const char txt[] = "[llama]\nnorm = rmsnorm\n";
    write_bytes(p, txt, sizeof txt - 1);
    expect_refused(p, 1, "not an SQLite file");
}

/* tmpdir/name made by SQLite itself with sql run in it; p gets its path. */
static void foreign_db(char *p, size_t n, const char *name, const char *sql)
{
    tmp_path(p, n, name);
    sqlite3 *d;
    assert_int_equal(sqlite3_open(p, &d), SQLITE_OK);
    exec_ok(d, sql);
    sqlite3_close(d);
}

static void test_refuse_foreign_sqlite(void **state)
{
    (void)state;
    char p[512];
    foreign_db(p, sizeof p, "foreign.db",
               "CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT);"
               "INSERT INTO moz_places (url) VALUES ('https://example.org');");
    expect_refused(p, 1, "not a dytbench one");
    /* A meta table naming another application. */
    foreign_db(p, sizeof p, "other-app.db",
               "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
               "INSERT INTO meta VALUES ('application', 'otherbench');");
    expect_refused(p, 1, "not a dytbench one");
    /* A foreign DB in WAL mode (its last close checkpointed it). */
    foreign_db(p, sizeof p, "foreign-wal.db",
               "PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    expect_refused(p, 0, "not a dytbench one");
}

static void test_refuse_corrupt(void **state)
{
    (void)state;
    /* A real dytbench DB of many pages, cut in half. */
    char good[512], p[512];
    store *s = open_new("good.db");
    snprintf(good, sizeof good, "%s", store_path(s));
    dyt_err e = {{0}};
    store_run_meta meta = fake_meta_on(s, "c0ffee");
    int64_t run;
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(put_fake_case(s, run, i, 100, &e), DYT_OK);
    store_close(s);
    char side[600];
    snprintf(side, sizeof side, "%s-wal", good);
    assert_false(file_exists(side)); /* checkpointed at close: the file is whole */
    long len;
    char *b = slurp(good, &len);
    assert_true(len > 64 * 1024);
    tmp_path(p, sizeof p, "truncated.db");
    write_bytes(p, b, (size_t)len / 2);
    expect_refused(p, 1, "corrupt");
    /* The same file with garbage written over a middle page. */
    tmp_path(p, sizeof p, "scribbled.db");
    for (long i = len / 2; i < len / 2 + 8192; i++)
        b[i] = (char)(i * 7);
    write_bytes(p, b, (size_t)len);
    expect_refused(p, 1, "corrupt");
    /* Just the 16-byte SQLite magic and nothing of a database. */
    tmp_path(p, sizeof p, "header-only.db");
    write_bytes(p, "SQLite format 3\0garbage", 23);
    expect_refused(p, 1, "corrupt");
    free(b);
}

static void test_refuse_newer_and_absent(void **state)
{
    (void)state;
    char p[512];
    tmp_path(p, sizeof p, "newer.db");
    store *s = open_store(p, 1);
    dyt_err e = {{0}};
    store_close(s);
    sqlite3 *d;
    assert_int_equal(sqlite3_open(p, &d), SQLITE_OK);
    exec_ok(d, "PRAGMA user_version = 99");
    sqlite3_close(d);
    expect_refused(p, 1, "newer dytbench");
    /* Without create, an absent file is an error and is not created; an
     * empty file is refused too. */
    tmp_path(p, sizeof p, "absent.db");
    assert_int_equal(store_open(p, 0, &s, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "no such database"));
    assert_false(file_exists(p));
    tmp_path(p, sizeof p, "empty.db");
    write_bytes(p, "", 0);
    expect_refused(p, 0, "empty file");
    /* With create, an empty file becomes a database. */
    assert_int_equal(store_open(p, 1, &s, &e), DYT_OK);
    store_close(s);
}

DYT_TEST_MAIN_IN_TMPDIR("store-safety", NULL, NULL, cmocka_unit_test(test_refuse_random_bytes),
                        cmocka_unit_test(test_refuse_foreign_sqlite),
                        cmocka_unit_test(test_refuse_corrupt),
                        cmocka_unit_test(test_refuse_newer_and_absent))
