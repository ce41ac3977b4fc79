/* Tests of the CLI's option layer (cli/options.c) in process: the shared
 * value parsers accept what the commands document and refuse the rest
 * (signs, spaces, suffixes on counts, overflow) with the common message;
 * a failed value stops the parse; forwarded options come out normalised
 * as --name=value for the command they belong to. */
#include "dyt_test.h"

#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[4096];
static int saved_fd = -1;
static FILE *capture;

/* stderr into err between capture_begin and capture_end. */
static void capture_begin(void)
{
    fflush(stderr);
    capture = tmpfile();
    assert_non_null(capture);
    saved_fd = dup(2);
    assert_true(saved_fd >= 0 && dup2(fileno(capture), 2) == 2);
}

static void capture_end(void)
{
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    rewind(capture);
    size_t n = fread(err, 1, sizeof err - 1, capture);
    err[n] = '\0';
    fclose(capture);
}

static cli_parser p;
static int refused_rc;

static void begin(void)
{
    static char *argv[] = {"test", NULL};
    cli_parse_begin(&p, &cli_cmd_run, "test", 1, argv);
}

/* Calls a value parser on a fresh parser, stderr into err; true if it
 * refused (DYT_USAGE). */
#define REFUSED(call)                                                                              \
    (begin(), capture_begin(), refused_rc = (call), capture_end(), refused_rc == DYT_USAGE)

static void test_count(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t want;
    } good[] = {{"1", 1}, {"10", 10}, {"007", 7}, {"100", 100}};
    for (size_t i = 0; i < DYT_ARRAY_LEN(good); i++) {
        uint64_t v = 0;
        begin();
        assert_int_equal(cli_count(&p, "--n", good[i].s, 1, 100, &v), DYT_OK);
        assert_int_equal(v, good[i].want);
        assert_int_equal(p.exit, CLI_GO);
    }
    static const char *const bad[] = {"",     "+1",  "-1", " 1",  "1 ",  "1K",
                                      "0x10", "1.0", "0",  "101", "1e2", "99999999999999999999999"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(bad); i++) {
        uint64_t v = 42;
        if (!REFUSED(cli_count(&p, "--n", bad[i], 1, 100, &v)))
            fail_msg("count '%s' accepted", bad[i]);
        assert_int_equal(v, 42);
        assert_int_equal(p.exit, DYT_USAGE);
        char want[160];
        snprintf(want, sizeof want, "dytbench: test: --n: '%s' is not a count in 1..100\n", bad[i]);
        assert_string_equal(err, want);
    }
    uint64_t v;
    assert_true(REFUSED(cli_count(&p, "--n", "0", 1, UINT64_MAX, &v)));
    assert_string_equal(err, "dytbench: test: --n: '0' is not a count of at least 1\n");
    begin();
    assert_int_equal(cli_count(&p, "--n", "18446744073709551615", 1, UINT64_MAX, &v), DYT_OK);
    assert_true(v == UINT64_MAX);
}

static void test_seed(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t want;
    } good[] = {{"0", 0},     {"1", 1},      {"010", 10},
                {"0x1f", 31}, {"0XfF", 255}, {"18446744073709551615", UINT64_MAX}};
    for (size_t i = 0; i < DYT_ARRAY_LEN(good); i++) {
        uint64_t v = 0;
        begin();
        assert_int_equal(cli_seed(&p, "--seed", good[i].s, &v), DYT_OK);
        assert_true(v == good[i].want);
    }
    static const char *const bad[] = {
        "", "-1", "+1", " 1", "0x", "1x", "0x10000000000000000", "18446744073709551616"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(bad); i++) {
        uint64_t v = 42;
        if (!REFUSED(cli_seed(&p, "--seed", bad[i], &v)))
            fail_msg("seed '%s' accepted", bad[i]);
        assert_int_equal(v, 42);
        assert_non_null(strstr(err, "is not a seed"));
    }
}

static void test_size(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t want;
    } good[] = {
        {"4096", 4096}, {"64K", 65536}, {"64k", 65536}, {"32M", 32u << 20}, {"1G", 1u << 30}};
    for (size_t i = 0; i < DYT_ARRAY_LEN(good); i++) {
        uint64_t v = 0;
        begin();
        assert_int_equal(cli_size(&p, "--llc-bytes", good[i].s, &v), DYT_OK);
        assert_true(v == good[i].want);
    }
    /* " -5" went through strtoull's space skipping and negation before. */
    static const char *const bad[] = {"",   "0",  "-5",  " -5", " 5",
                                      "+5", "5T", "5MB", "K",   "99999999999999999999G"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(bad); i++) {
        uint64_t v = 42;
        if (!REFUSED(cli_size(&p, "--llc-bytes", bad[i], &v)))
            fail_msg("size '%s' accepted as %llu", bad[i], (unsigned long long)v);
        assert_non_null(strstr(err, "is not a size"));
    }
}

static void test_reals(void **state)
{
    (void)state;
    double v;
    begin();
    assert_int_equal(cli_seconds(&p, "--max-time", "0", &v), DYT_OK);
    assert_true(v == 0);
    assert_int_equal(cli_seconds(&p, "--max-time", "0.25", &v), DYT_OK);
    assert_true(v == 0.25);
    assert_int_equal(cli_seconds(&p, "--max-time", "86400", &v), DYT_OK);
    static const char *const bad_secs[] = {"", "-1", "86401", "nan", "inf", " 1", "1s", "1e999"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(bad_secs); i++) {
        if (!REFUSED(cli_seconds(&p, "--max-time", bad_secs[i], &v)))
            fail_msg("seconds '%s' accepted", bad_secs[i]);
    }
    begin();
    assert_int_equal(cli_percent(&p, "--threshold", "5", &v), DYT_OK);
    assert_true(v > 0.0499 && v < 0.0501);
    assert_int_equal(cli_percent(&p, "--threshold", "0.5%", &v), DYT_OK);
    assert_true(v > 0.00499 && v < 0.00501);
    static const char *const bad_pct[] = {"", "%", "abc", "-1", "1000", " 5%"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(bad_pct); i++) {
        if (!REFUSED(cli_percent(&p, "--threshold", bad_pct[i], &v)))
            fail_msg("percentage '%s' accepted", bad_pct[i]);
    }
    begin();
    assert_int_equal(cli_between(&p, "--alpha", "0.01", 0, 0.5, &v), DYT_OK);
    assert_true(v == 0.01);
    static const char *const bad_alpha[] = {"0", "0.5", "-0.1", "x"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(bad_alpha); i++) {
        if (!REFUSED(cli_between(&p, "--alpha", bad_alpha[i], 0, 0.5, &v)))
            fail_msg("alpha '%s' accepted", bad_alpha[i]);
        char want[128];
        snprintf(want, sizeof want, "dytbench: test: --alpha: '%s' is not a number in (0, 0.5)\n",
                 bad_alpha[i]);
        assert_string_equal(err, want);
    }
}

static void test_choice_and_echo(void **state)
{
    (void)state;
    static const char *const two[] = {"hot", "cold", NULL};
    static const char *const three[] = {"text", "md", "json", NULL};
    int k = -1;
    begin();
    assert_int_equal(cli_choice(&p, "--cache", "cold", two, &k), DYT_OK);
    assert_int_equal(k, 1);
    capture_begin();
    assert_int_equal(cli_choice(&p, "--cache", "warm", two, &k), DYT_USAGE);
    capture_end();
    assert_string_equal(err, "dytbench: test: --cache: 'warm' is not hot or cold\n");
    assert_true(REFUSED(cli_choice(&p, "--format", "xml", three, &k)));
    assert_string_equal(err, "dytbench: test: --format: 'xml' is not text, md or json\n");
    /* What the user typed is echoed safely: no terminal escape reaches it. */
    assert_true(REFUSED(cli_choice(&p, "--cache", "a\x1b[2Jb", two, &k)));
    assert_null(strchr(err, '\x1b'));
    assert_non_null(strstr(err, "'a\\x1b[2Jb'"));
}

/* A value is read by its option's kind as it is met: a bad one stops the
 * parse there -- cli_next returns -1 and cli_parse_end the exit code,
 * though options remain -- and a good one is kept for the accessors. */
static void test_stop_after_error(void **state)
{
    (void)state;
    char *argv[] = {"compare", "--alpha", "2", "--bogus", "a", "b", NULL};
    const cli_command *c = cli_find_command("compare");
    assert_non_null(c);
    cli_parse_begin(&p, c, "test", 6, argv);
    capture_begin();
    int c1 = cli_next(&p);
    capture_end();
    assert_int_equal(c1, -1);
    assert_int_equal(cli_parse_end(&p, 2), DYT_USAGE);
    assert_string_equal(err, "dytbench: test: --alpha: '2' is not a number in (0, 0.5)\n");

    char *good[] = {"compare", "--alpha=0.05", "-o", "r.txt", "--noise-floor",
                    "--seed",  "0x10",         "a",  "b",     NULL};
    cli_parse_begin(&p, c, NULL, 9, good);
    assert_int_equal(cli_parse_end(&p, 2), CLI_GO);
    assert_int_equal(p.n_operands, 2);
    assert_string_equal(p.operands[0], "a");
    assert_true(cli_given(&p, 'o') == 1 && !strcmp(cli_text(&p, 'o', NULL), "r.txt"));
    assert_null(cli_text(&p, CLI_KEY + 999, NULL));
    assert_true(cli_uint(&p, CLI_KEY + 999, 7) == 7);
}

/* interleave owns --arm; run's options (long, abbreviated, short,
 * clustered) are forwarded as --name[=value]. */
static void test_forwarding(void **state)
{
    (void)state;
    char *argv[] = {"interleave", "--arm",   "A=self",  "-qt4",         "--pass",
                    "fwd",        "--thr=2", "--quick", "--arm=B=self", NULL};
    cli_parse_begin(&p, &cli_cmd_interleave, NULL, 9, argv);
    int arms = 0;
    for (int c; (c = cli_next(&p)) != -1;)
        arms += !strncmp(p.opt, "--arm", 6);
    assert_int_equal(cli_parse_end(&p, 0), CLI_GO);
    assert_int_equal(arms, 2);
    static const char *const want[] = {"--quiet", "--threads=4", "--pass=fwd", "--threads=2",
                                       "--quick"};
    assert_int_equal(p.n_forwarded, (int)DYT_ARRAY_LEN(want));
    for (size_t i = 0; i < DYT_ARRAY_LEN(want); i++)
        assert_string_equal(p.forwarded[i], want[i]);
    assert_null(p.forwarded[p.n_forwarded]);
    cli_parse_free(&p);
}

/* calibrate forwards interleave's options and run's; a prefix shared by
 * options of different tables is ambiguous, not the first one's. */
static void test_forwarding_two_levels(void **state)
{
    (void)state;
    char *argv[] = {"calibrate", "--pairs", "3", "--shuffle", "7", "--quick", NULL};
    cli_parse_begin(&p, &cli_cmd_calibrate, NULL, 6, argv);
    int own = 0;
    for (int c; (c = cli_next(&p)) != -1;)
        own++;
    assert_int_equal(cli_parse_end(&p, 0), CLI_GO);
    assert_int_equal(own, 1);
    assert_int_equal(p.n_forwarded, 2);
    assert_string_equal(p.forwarded[0], "--shuffle-seed=7");
    assert_string_equal(p.forwarded[1], "--quick");
    cli_parse_free(&p);

    char *pa[] = {"calibrate", "--pa", "3", NULL};
    cli_parse_begin(&p, &cli_cmd_calibrate, NULL, 3, pa);
    capture_begin();
    int c = cli_next(&p);
    capture_end();
    assert_int_equal(c, -1);
    assert_int_equal(cli_parse_end(&p, 0), DYT_USAGE);
    assert_non_null(strstr(err, "option '--pa' is ambiguous: --pairs, --pass"));
    cli_parse_free(&p);
}

/* A command's table, as help.c and the parse read it. */
enum { T_MODE = CLI_KEY, T_SECRET, T_LONG };
static const char *const modes[] = {"fast", "slow", NULL};
static const cli_option t_options[] = {
    {.help = "group:"},
    {"mode", T_MODE, CLI_CHOICE, .help = "how to go", .choices = modes},
    {"output", 'o', CLI_TEXT, "FILE", .help = "where to write"},
    {"secret", T_SECRET, CLI_TEXT, .help = NULL},
    {"label", 0, CLI_TEXT, .refused = " is set by test"},
    {"a-rather-long-option-name", T_LONG, CLI_COUNT, "N",
     .help = "a help long enough that it has to be wrapped onto a second line, words kept whole",
     .min = 1, .max = 9},
    {0},
};
static const cli_command t_cmd = {
    .name = "t",
    .what = "a test",
    .options = t_options,
    .usage = "usage: dytbench t [options]\n",
    .notes = "Notes.\n",
};

/* --help from the table: headings as they stand, the help column after
 * the longest entry that fits, a longer entry with its help below it,
 * words wrapped within 79 columns, a choice's choices as its value, what
 * is hidden or refused left out, -h/--help and the notes last. */
static void test_help_from_table(void **state)
{
    (void)state;
    char buf[2048];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_non_null(f);
    cli_help(f, &t_cmd);
    fclose(f);
    assert_string_equal(buf,
                        "usage: dytbench t [options]\n"
                        "\n"
                        "options:\n"
                        " group:\n"
                        "  --mode fast|slow   how to go\n"
                        "  -o, --output FILE  where to write\n"
                        "  --a-rather-long-option-name N\n"
                        "                     a help long enough that it has to be wrapped onto "
                        "a second\n"
                        "                     line, words kept whole\n"
                        "  -h, --help         this help\n"
                        "\n"
                        "Notes.\n");
}

/* Values are kept by kind for the accessors (the last one given), hidden
 * options parse as any other, a refused one stops the parse with its
 * message. */
static void test_values_kept(void **state)
{
    (void)state;
    char *argv[] = {"t", "--mode", "slow", "-o", "a", "--secret=s", "--a-rather=3", "-ob", NULL};
    cli_parse_begin(&p, &t_cmd, NULL, 8, argv);
    assert_int_equal(cli_parse_end(&p, 0), CLI_GO);
    assert_int_equal(cli_index(&p, T_MODE, -1), 1);
    assert_int_equal(cli_given(&p, 'o'), 2);
    assert_string_equal(cli_text(&p, 'o', NULL), "b");
    assert_string_equal(cli_text(&p, T_SECRET, NULL), "s");
    assert_true(cli_uint(&p, T_LONG, 0) == 3);
    assert_int_equal(cli_given(&p, T_MODE + 99), 0);

    char *refused[] = {"t", "--mode", "fast", "--label", "x", "--bogus", NULL};
    cli_parse_begin(&p, &t_cmd, NULL, 6, refused);
    capture_begin();
    int rc = cli_parse_end(&p, 0);
    capture_end();
    assert_int_equal(rc, DYT_USAGE);
    assert_string_equal(err, "dytbench: t: --label is set by test\n");
}

DYT_TEST_MAIN("cli-options", NULL, NULL, cmocka_unit_test(test_help_from_table),
              cmocka_unit_test(test_values_kept), cmocka_unit_test(test_count),
              cmocka_unit_test(test_seed), cmocka_unit_test(test_size),
              cmocka_unit_test(test_reals), cmocka_unit_test(test_choice_and_echo),
              cmocka_unit_test(test_stop_after_error), cmocka_unit_test(test_forwarding),
              cmocka_unit_test(test_forwarding_two_levels))
