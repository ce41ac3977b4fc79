/* `dytbench merge`, `report campaign:ID` and `compare campaign:ID` through
 * the built binary: the shard stores of a campaign merged into one hold
 * as many cases as an unsharded run of the plan once every shard is in;
 * before that, the campaign's report names each missing case and the
 * shard that owed it; merging again adds nothing; a corrupt, foreign or
 * newer input, or OUT named as an input, is refused with exit 2 and OUT
 * left byte for byte as it was (or not created); compare pools a
 * campaign's shards as one side.
 *
 * argv[1] is the dytbench binary (meson passes it). */
#include "cluster_test.h"

static void shard_db(char *buf, size_t n, int i)
{
    char name[32];
    snprintf(name, sizeof name, "shard-%d.db", i);
    path_in(buf, n, name);
}

static void run_shard(int i, int n)
{
    char db[600], spec[16];
    shard_db(db, sizeof db, i);
    snprintf(spec, sizeof spec, "%d/%d", i, n);
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", db, "--shard", spec, "--campaign", "m4",
        FAST, NULL);
    want_status(&r, 0);
}

static void test_merge_then_report(void **state)
{
    (void)state;
    char whole[600], merged[600], s[4][600], out[600], md[700];
    path_in(whole, sizeof whole, "whole.db");
    path_in(merged, sizeof merged, "merged.db");
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", whole, FAST, NULL);
    want_status(&r, 0);
    for (int i = 1; i <= 3; i++) {
        run_shard(i, 4);
        shard_db(s[i - 1], sizeof s[i - 1], i);
    }
    shard_db(s[3], sizeof s[3], 4);
    dyt_run(&r, NULL, "merge", merged, s[0], s[1], s[2], NULL);
    want_status(&r, 0);
    assert_non_null(strstr(r.out, "merged 3 of 3 store(s)"));
    int64_t three = db_int(merged, "SELECT count(*) FROM cases");
    int64_t fourth = db_int(merged, "SELECT count(*) FROM campaign_cases WHERE shard_index = 3");
    assert_true(fourth > 0);
    assert_int_equal(three + fourth, TINY_CASES);

    /* Shard 4 never ran: the report names its cases. */
    path_in(out, sizeof out, "report-partial");
    dyt_run(&r, NULL, "report", "campaign:m4", "--db", merged, "--out", out, "--no-figures", NULL);
    want_status(&r, 0);
    assert_non_null(strstr(r.err, "campaign m4 is incomplete"));
    snprintf(md, sizeof md, "%s/report.md", out);
    static char text[262144];
    long len;
    char *b = slurp(md, &len);
    assert_non_null(b);
    assert_true((size_t)len < sizeof text);
    memcpy(text, b, (size_t)len + 1);
    text[len] = 0;
    free(b);
    assert_non_null(strstr(text, "## Planned cases no run stored"));
    assert_non_null(strstr(text, "| 4/4 |  |  | no run stored | 0 |"));
    static char missing[4096];
    db_text(merged,
            "SELECT '| ' || seq || ' | 4/4 | ' || model || coalesce('/' || nullif(token_label, ''),"
            " '') || ' | ' || norm || ' | ' FROM campaign_cases WHERE shard_index = 3 ORDER BY seq",
            missing, sizeof missing);
    for (char *line = strtok(missing, "\n"); line; line = strtok(NULL, "\n"))
        if (!strstr(text, line))
            fail_msg("the report does not list missing case '%s'", line);

    /* Shard 4 arrives: as many cases as the unsharded run, nothing missing. */
    run_shard(4, 4);
    dyt_run(&r, NULL, "merge", merged, s[0], s[1], s[2], s[3], NULL);
    want_status(&r, 0);
    assert_int_equal(db_int(merged, "SELECT count(*) FROM cases"),
                     db_int(whole, "SELECT count(*) FROM cases"));
    assert_int_equal(db_int(merged, "SELECT count(DISTINCT seq) FROM cases"), TINY_CASES);
    assert_int_equal(db_int(merged, "SELECT count(*) FROM provenance"), 4);
    dyt_run(&r, NULL, "merge", merged, s[0], s[1], s[2], s[3], NULL);
    want_status(&r, 0);
    assert_non_null(strstr(r.out, "1 run(s): 0 new, 0 updated, 0 case(s) copied"));
    assert_int_equal(db_int(merged, "SELECT count(*) FROM cases"), TINY_CASES);
    assert_int_equal(db_int(merged, "SELECT count(*) FROM provenance"), 4);
    path_in(out, sizeof out, "report-whole");
    dyt_run(&r, NULL, "report", "campaign:m4", "--db", merged, "--out", out, "--no-figures", NULL);
    want_status(&r, 0);
    assert_null(strstr(r.err, "incomplete"));
    snprintf(md, sizeof md, "%s/report.md", out);
    b = slurp(md, &len);
    assert_non_null(b);
    assert_null(strstr(b, "Planned cases no run stored"));
    assert_non_null(strstr(b, "12 of the plan's 12 cases are stored"));
    free(b);

    /* compare pools a campaign's shards as one side: all 12 cases (the
     * same samples on both sides: the same, exit 0). */
    dyt_run(&r, NULL, "compare", "campaign:m4", "campaign:m4", "--db", merged, NULL);
    want_status(&r, 0);
    assert_non_null(strstr(r.out, "12 compared"));
    char spec[700];
    snprintf(spec, sizeof spec, "%s:campaign:m4", merged);
    char whole_spec[700];
    snprintf(whole_spec, sizeof whole_spec, "%s:latest", whole);
    dyt_run(&r, NULL, "compare", whole_spec, spec, NULL);
    /* Two measurements of the same plan: the verdict is the machine's
     * business (exit 0 or 1), that all 12 cases pair up is ours. */
    if (r.status != 0 && r.status != 1)
        want_status(&r, 0);
    assert_non_null(strstr(r.out, "12 compared"));
    dyt_run(&r, NULL, "compare", "campaign:nope", "campaign:m4", "--db", merged, NULL);
    want_status(&r, 2);
    assert_non_null(strstr(r.err, "no run of campaign 'nope'"));
    dyt_run(&r, NULL, "report", "campaign:nope", "--db", merged, NULL);
    want_status(&r, 2);
    assert_non_null(strstr(r.err, "no run of campaign 'nope'"));
}

/* A refused merge: exit 2, the reason naming the input, OUT unchanged. */
static void refused(const char *out, const char *in, const char *why)
{
    long n0;
    char *b0 = slurp(out, &n0);
    dyt_run(&r, NULL, "merge", out, in, NULL);
    want_status(&r, 2);
    if (!strstr(r.err, why))
        fail_msg("merge %s: stderr '%s' lacks '%s'", in, r.err, why);
    assert_same_bytes(out, b0, n0);
    free(b0);
}

static void test_merge_refusals(void **state)
{
    (void)state;
    char out[600], in[600], bad[600], absent[600];
    path_in(out, sizeof out, "out-refusals.db");
    path_in(in, sizeof in, "good-input.db");
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", in, "--model", "tiny-rms", FAST, NULL);
    want_status(&r, 0);
    dyt_run(&r, NULL, "merge", out, in, NULL);
    want_status(&r, 0);

    path_in(bad, sizeof bad, "text.db");
    write_bytes(bad, "[suite]\nnorm = dyt\n", 19);
    refused(out, bad, "not an SQLite file");
    path_in(bad, sizeof bad, "foreign.db");
    sqlite3 *d;
    assert_int_equal(sqlite3_open(bad, &d), SQLITE_OK);
    assert_int_equal(sqlite3_exec(d, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(d);
    refused(out, bad, "not a dytbench one");
    /* A newer schema, and a store with garbage over its middle. */
    long len;
    char *b = slurp(in, &len);
    path_in(bad, sizeof bad, "newer.db");
    write_bytes(bad, b, (size_t)len);
    assert_int_equal(sqlite3_open(bad, &d), SQLITE_OK);
    assert_int_equal(sqlite3_exec(d, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(d);
    refused(out, bad, "newer dytbench");
    for (long i = len / 2; i < len / 2 + 4096 && i < len; i++)
        b[i] = (char)(i * 13);
    path_in(bad, sizeof bad, "scribbled.db");
    write_bytes(bad, b, (size_t)len);
    free(b);
    refused(out, bad, "corrupt");
    refused(out, out, "is OUT itself");

    /* Nothing good to merge: OUT is not created. */
    path_in(absent, sizeof absent, "never-created.db");
    dyt_run(&r, NULL, "merge", absent, bad, NULL);
    want_status(&r, 2);
    assert_non_null(strstr(r.err, "was not touched"));
    assert_int_equal(access(absent, F_OK), -1);
    /* A good input beside a bad one is still merged; the exit says one
     * was refused. */
    char in2[600];
    path_in(in2, sizeof in2, "good-input-2.db");
    dyt_run(&r, NULL, "run", "--suite", suite_path, "--db", in2, "--model", "tiny-rms", FAST, NULL);
    want_status(&r, 0);
    dyt_run(&r, NULL, "merge", out, bad, in2, NULL);
    want_status(&r, 2);
    assert_int_equal(db_int(out, "SELECT count(*) FROM runs"), 2);
    dyt_run(&r, NULL, "merge", out, NULL);
    want_status(&r, 2);
    assert_non_null(strstr(r.err, "at least one IN.db"));
}

DYT_TEST_MAIN_IN_TMPDIR("campaign-merge", setup, NULL, cmocka_unit_test(test_merge_then_report),
                        cmocka_unit_test(test_merge_refusals))
