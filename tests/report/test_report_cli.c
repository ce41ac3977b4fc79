/* Tests of the `dytbench report` command as a user runs it (the built
 * binary is argv[1]): --help, the exit status 2 and message for a run that
 * does not exist and for an empty run, a report of a run by label with
 * --vs into --out, the interleave session of a run in `show` and the
 * report, and `show`'s ceilings and its flags for cases above theirs. */
#include "dyt_test.h"

#include "fixture.h"
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *exe;

/* Runs `exe COMMAND ARGS` with --db; returns the exit status, output in out. */
static int run_cmd(const char *command, const char *args, char *out, size_t n)
{
    char cmd[2048], log[400];
    snprintf(log, sizeof log, "%s/cli.log", tmp);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s --db '%s' %s > '%s' 2>&1", tmp, exe, command,
             dbpath, args, log);
    int st = system(cmd);
    char *s = slurp(log, NULL);
    snprintf(out, n, "%s", s ? s : "");
    free(s);
    return exit_code(st);
}

static int run_report(const char *args, char *out, size_t n)
{
    return run_cmd("report", args, out, n);
}

static void test_help(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(run_report("--help", out, sizeof out), 0);
    assert_non_null(strstr(out, "usage: dytbench report [RUN|latest] [--vs RUN ...]"));
    assert_int_equal(run_report("--bogus", out, sizeof out), 2);
}

static void test_errors(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(run_report("12345", out, sizeof out), 2);
    assert_non_null(strstr(out, "dytbench: report: "));
    assert_non_null(strstr(out, "12345"));
    assert_int_equal(run_report("empty --out empty-out", out, sizeof out), 2);
    assert_non_null(strstr(out, "has no cases"));
    assert_int_equal(run_report("1 --vs nosuchlabel", out, sizeof out), 2);
    assert_non_null(strstr(out, "nosuchlabel"));
}

static void test_report_by_label(void **state)
{
    (void)state;
    char out[4096], dir[600];
    assert_int_equal(
        run_report("aborted-run --vs other --out by-label --no-figures", out, sizeof out), 0);
    assert_non_null(strstr(out, "was aborted"));
    snprintf(dir, sizeof dir, "%s/by-label", tmp);
    const char *files[] = {"report.md", "tables.tex", "results.csv", "index.html"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(files); i++)
        assert_true(fsize(dir, files[i]) > 0);
    /* default folder: results/report-<id> under the working directory */
    assert_int_equal(run_report("latest --no-figures", out, sizeof out),
                     2); /* latest is the empty run */
    assert_int_equal(run_report("1 --no-figures", out, sizeof out), 0);
    snprintf(dir, sizeof dir, "%s/results/report-1", tmp);
    assert_true(fsize(dir, "report.md") > 0);
}

/* A run measured by `interleave` shows its session (runs.lockstep_token,
 * runs.arm) in `show` and in the report's machine table; one that was not
 * shows none. */
static void test_session_shown(void **state)
{
    (void)state;
    char out[16384], sql[200], dir[600];
    snprintf(sql, sizeof sql,
             "UPDATE runs SET lockstep_token = '00ff00ff00ff00ff', arm = 'base' WHERE id = %d",
             FIX_RUN_OTHER);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(run_cmd("show", "other", out, sizeof out), 0);
    assert_non_null(strstr(out, "\n  session   interleave 00ff00ff00ff00ff, arm base\n"));
    assert_int_equal(run_cmd("show", "1", out, sizeof out), 0);
    assert_null(strstr(out, "session"));
    assert_int_equal(run_report("other --out session --no-figures", out, sizeof out), 0);
    snprintf(dir, sizeof dir, "%s/session", tmp);
    char *md = slurp2(dir, "report.md");
    assert_non_null(md);
    assert_non_null(strstr(md, "| Interleave session | 00ff00ff00ff00ff (arm base) |"));
    free(md);
    assert_int_equal(run_report("1 --out no-session --no-figures", out, sizeof out), 0);
    snprintf(dir, sizeof dir, "%s/no-session", tmp);
    md = slurp2(dir, "report.md");
    assert_non_null(md);
    assert_null(strstr(md, "Interleave session"));
    free(md);
    snprintf(sql, sizeof sql, "UPDATE runs SET lockstep_token = NULL, arm = NULL WHERE id = %d",
             FIX_RUN_OTHER);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* Fails, showing out, when it lacks needle. */
static void expect_in(const char *out, const char *needle)
{
    if (!strstr(out, needle)) {
        fprintf(stderr, "%s\n--- lacks ---\n%s\n", out, needle);
        fail();
    }
}

/* `show` prints each case's ceiling (level, %, % of dram) and flags the
 * cases above 105% of theirs, in the table and listed below it; its header
 * has every ceiling with how it was measured. */
static void test_show_ceilings(void **state)
{
    (void)state;
    char out[65536];
    assert_int_equal(run_cmd("show", "1", out, sizeof out), 0);
    expect_in(out, "  ceiling   1 thread(s) l2   copy         48.0 GB/s best, 46.8 median, at 1.0"
                   " MiB (STREAM copy, fixture)\n");
    expect_in(out, "  ceiling   1 thread(s) dram scale        57.0 GB/s best, median not stored,"
                   " at 512.0 MiB (how: not stored)\n");
    expect_in(out, " ceil   %ceil   %dram     ulps ");
    expect_in(out, " l2    110.1!    88.1 "); /* vit-b16 inference, DyT fwd fp32 */
    expect_in(out, "\n! 2 case(s) above 105% of their ceiling");
    expect_in(out, "(vit-b16 dyt fwd fp32 avx512 197x768, 1210368 bytes): 110.1% of its l2"
                   " ceiling\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_report_cli PATH-TO-DYTBENCH\n");
        return 2;
    }
    static char abs_exe[4096];
    if (!realpath(argv[1], abs_exe)) {
        fprintf(stderr, "test_report_cli: %s: not found\n", argv[1]);
        return 2;
    }
    exe = abs_exe; /* the tests run it from the temporary folder */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_report_by_label),
        cmocka_unit_test(test_show_ceilings),
        cmocka_unit_test(test_session_shown),
    };
    return cmocka_run_group_tests_name("report-cli", tests, setup, teardown);
}
