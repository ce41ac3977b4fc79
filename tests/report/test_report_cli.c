/* Tests of the `dytbench report` command as a user runs it (the built
 * binary is argv[1]): --help, the exit status 2 and message for a run that
 * does not exist and for an empty run, and a report of a run by label with
 * --vs into --out. */
/* cmocka.h needs these three first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fixture.h"
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *exe;

/* Runs `exe report ARGS` with --db; returns the exit status, output in out. */
static int run_report(const char *args, char *out, size_t n)
{
    char cmd[2048], log[400];
    snprintf(log, sizeof log, "%s/cli.log", tmp);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' report --db '%s' %s > '%s' 2>&1", tmp, exe, dbpath,
             args, log);
    int st = system(cmd);
    char *s = slurp(log);
    snprintf(out, n, "%s", s ? s : "");
    free(s);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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
    };
    return cmocka_run_group_tests_name("report-cli", tests, setup, teardown);
}
