/* Helpers shared by the runner tests: a scratch directory, a suite written
 * there and planned at one thread, budgets small enough for a test, the
 * run identity of in-process runs, and one-value queries. */
#pragma once
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "runner.h"
#include "store.h"
#include "suite.h"

static char tmpdir[256];

/* What every in-process run of these tests stores as its identity. */
static const runner_identity tiny_id = {
    .suites = "tiny", .suite_hash = "0123", .command_line = "test"};

/* prefix: e.g. "/tmp/dytbench-runner"; exits when it cannot be made. */
static __attribute__((unused)) void make_tmpdir(const char *prefix)
{
    snprintf(tmpdir, sizeof tmpdir, "%s-XXXXXX", prefix);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static __attribute__((unused)) void rm_tmpdir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* Runs the group of n tests in a fresh scratch directory (prefix: e.g.
 * "/tmp/dytbench-runner"), removed when every test passed. */
static __attribute__((unused)) int run_in_tmpdir(const char *prefix, const char *name,
                                                 const struct CMUnitTest *tests, size_t n,
                                                 CMFixtureFunction setup,
                                                 CMFixtureFunction teardown)
{
    make_tmpdir(prefix);
    int rc = _cmocka_run_group_tests(name, tests, n, setup, teardown);
    if (rc == 0)
        rm_tmpdir();
    return rc;
}

static __attribute__((unused)) void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* One integer from a query with up to one integer parameter; -1 when there
 * is no row. */
static __attribute__((unused)) int64_t query_int(sqlite3 *db, const char *sql, int64_t arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        print_error("prepare %s: %s\n", sql, sqlite3_errmsg(db));
        fail();
    }
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, arg);
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Text of the first column ("" for NULL or no row). */
static __attribute__((unused)) void query_text(sqlite3 *db, const char *sql, int64_t arg, char *out,
                                               size_t n)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, arg);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/* Writes text as tmpdir/tiny.suite and plans it at one thread, forward
 * only when fwd_only. */
static __attribute__((unused)) void plan_suite(const char *text, int fwd_only, suite *su, plan *p)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tiny.suite", tmpdir);
    write_file(path, text);
    dyt_err e = {{0}};
    assert_int_equal(suite_parse_file(path, 0, su, &e), DYT_OK);
    plan_filter f;
    memset(&f, 0, sizeof f);
    f.threads[0] = 1;
    f.n_threads = 1;
    if (fwd_only) {
        f.passes[0] = PASS_FWD;
        f.n_passes = 1;
    }
    assert_int_equal(plan_build(su, 1, &f, p, &e), DYT_OK);
}

/* Budgets a tiny case meets in milliseconds; quiet. */
static __attribute__((unused)) void quick_opts(runner_opts *o)
{
    runner_opts_default(o);
    o->max_noise = 0.05;
    o->min_time_s = 0.002;
    o->max_time_s = 0.05;
    o->warmup_s = 0.002;
    o->min_samples = 8;
    o->quiet = 1;
    o->progress = 0;
    o->llc_bytes_override = 1u << 20; /* keeps the bandwidth buffers small */
}
