/* Helpers of the campaign tests (tests/cluster), beside tests/dyt_test.h's
 * (which spawns the built dytbench, dyt_run): a tiny suite, small budgets,
 * the exit status wanted, and one-value queries on a store by its path. */
#pragma once
#include "dyt_test.h"

#include <signal.h>
#include <sys/stat.h>

/* 3 shapes x 2 norms x 2 passes = 12 cases, each a few milliseconds. */
static const char tiny_suite[] =
    "[tiny-ln]\n"
    "domain = llm\nnorm = layernorm\nhidden = 256\ntokens = 64 a, 3 b\nlayers = 1\n"
    "[tiny-rms]\n"
    "domain = dna\nnorm = rmsnorm\nhidden = 96\ntokens = 33\nlayers = 2\nalpha = 0.8\n"
    "beta = no\n";
enum { TINY_CASES = 12 };

static dyt_result r; /* large: off the stack */

static DYT_TEST_UNUSED void path_in(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmpdir, name);
}

/* Small budgets: every case in a few milliseconds. */
#define FAST                                                                                       \
    "--threads", "1", "--min-time", "0.001", "--max-time", "0.01", "--min-samples", "3",           \
        "--llc-bytes", "1M", "-q"

/* tmpdir/tiny.suite, written by setup (the tests' group setup). */
static char suite_path[600];

static DYT_TEST_UNUSED int setup(void **state)
{
    (void)state;
    path_in(suite_path, sizeof suite_path, "tiny.suite");
    write_file(suite_path, tiny_suite);
    return 0;
}

/* Fails with the child's output when its exit code is not want. */
static DYT_TEST_UNUSED void want_status(const dyt_result *res, int want)
{
    if (res->status != want)
        fail_msg("exit %d, want %d\nstdout: %s\nstderr: %s", res->status, want, res->out, res->err);
}

/* One integer from a query on the store at db (read-only); -1: no row. */
/* sql prepared on the store at db, opened read-only (*d: close it). */
static sqlite3_stmt *db_query(const char *db, const char *sql, sqlite3 **d)
{
    assert_int_equal(sqlite3_open_v2(db, d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(*d, 5000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(*d, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(*d));
    return st;
}

static DYT_TEST_UNUSED int64_t db_int(const char *db, const char *sql)
{
    sqlite3 *d;
    sqlite3_stmt *st = db_query(db, sql, &d);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(d);
    return v;
}

/* Runs sql on the store at db, read-write (a test's change behind the
 * tool's back). */
static DYT_TEST_UNUSED void db_exec(const char *db, const char *sql)
{
    sqlite3 *d;
    assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
    if (sqlite3_exec(d, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(d));
    sqlite3_close(d);
}

/* The first column of every row, joined by '\n' (NULL reads "NULL"). */
static DYT_TEST_UNUSED void db_text(const char *db, const char *sql, char *out, size_t n)
{
    sqlite3 *d;
    sqlite3_stmt *st = db_query(db, sql, &d);
    size_t len = 0;
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW && len < n) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        len += (size_t)snprintf(out + len, n - len, "%s%s", len ? "\n" : "",
                                t ? (const char *)t : "NULL");
    }
    sqlite3_finalize(st);
    sqlite3_close(d);
}
