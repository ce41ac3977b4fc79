/* Tests of the dytbench command line as a user meets it: the built binary
 * (path in argv[1], from meson) is spawned with argument lists and its exit
 * status, stdout and stderr are checked. Every command of the CLI's own
 * table (cli_commands, linked from the cli library) is walked: --help
 * exits 0 with the common footer and no build-machine path; an unknown
 * option and a missing value exit 2 with the common one-line message and
 * write nothing; short letters mean one thing everywhere. interleave and
 * calibrate start nothing on a bad option, nor run on a bad framework-peer
 * option. Also: --version, list, and a
 * malformed suite file rejected with file:line. */
#include "dyt_test.h"

#include "cli.h"
#include "dyt_config.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static dyt_result r; /* large: keep it off the stack */

/* A fresh empty folder under tmpdir. */
static void fresh_dir(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmpdir, name);
    assert_int_equal(mkdir(buf, 0700), 0);
}

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n == 0;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* stderr is exactly one line: nothing else ran and printed. */
static void assert_one_line(const char *text)
{
    const char *nl = strchr(text, '\n');
    if (!nl || nl[1] != '\0')
        fail_msg("want one line, got '%s'", text);
}

static void test_version(void **state)
{
    (void)state;
    dyt_run(&r, NULL, "--version", NULL);
    assert_int_equal(r.status, 0);
    assert_true(!strncmp(r.out, "dytbench ", 9));
    assert_non_null(strstr(r.out, "(git "));
}

static void footer(const cli_command *c, char *buf, size_t n)
{
    FILE *f = fmemopen(buf, n, "w");
    assert_non_null(f);
    cli_help_footer(f, c ? c->exit1 : "a verification failure or a regression");
    fclose(f);
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

static void test_help(void **state)
{
    (void)state;
    char want[1024];
    footer(NULL, want, sizeof want);
    dyt_run(&r, NULL, "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: dytbench"));
    assert_true(ends_with(r.out, want));
    for (size_t i = 0; i < cli_n_commands; i++) /* the table is what it lists */
        assert_non_null(strstr(r.out, cli_commands[i]->name));
    dyt_run(&r, NULL, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "usage: dytbench"));
}

/* Whether some line of a help is the entry of --name: "  --name ..." or
 * "  -x, --name ...". */
static int lists_option(const char *help, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = help; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, "  ", 2))
            continue;
        const char *e = l[2] == '-' && l[3] != '-' && !strncmp(l + 4, ", ", 2) ? l + 6 : l + 2;
        if (!strncmp(e, "--", 2) && !strncmp(e + 2, name, n) && strchr(" \n", e[2 + n]))
            return 1;
    }
    return 0;
}

/* --help (and -h): exit 0, the usage line, an "options:" section, the
 * common footer, and nothing of the machine it was built on. */
static void test_command_help(void **state)
{
    const cli_command *c = *state;
    char usage[64], want[1024];
    snprintf(usage, sizeof usage, "usage: dytbench %s", c->name);
    footer(c, want, sizeof want);
    char *args[] = {(char *)c->name, "--help", NULL};
    dyt_run_args(&r, NULL, NULL, args);
    if (r.status != 0)
        fail_msg("dytbench %s --help: exit %d, stderr '%s'", c->name, r.status, r.err);
    assert_string_equal(r.err, "");
    if (strncmp(r.out, usage, strlen(usage)))
        fail_msg("dytbench %s --help does not start with '%s'", c->name, usage);
    assert_non_null(strstr(r.out, "\noptions:\n"));
    assert_non_null(strstr(r.out, "  -h, --help"));
    if (!ends_with(r.out, want))
        fail_msg("dytbench %s --help does not end with the common footer:\n%s", c->name, r.out);
    if (strstr(r.out, DYT_SOURCE_ROOT))
        fail_msg("dytbench %s --help names the build's source folder %s", c->name, DYT_SOURCE_ROOT);
    for (const char *l = r.out; *l;) {
        size_t len = strcspn(l, "\n");
        if (len > 79)
            fail_msg("dytbench %s --help: a line of %zu columns: '%.*s'", c->name, len, (int)len,
                     l);
        l += len + (l[len] == '\n');
    }
    /* Every option of the table is listed, but those it hides. */
    for (const cli_option *o = c->options; o && (o->name || o->help); o++)
        if (o->name && lists_option(r.out, o->name) != (o->help && !o->refused))
            fail_msg("dytbench %s --help %s --%s", c->name, o->help ? "does not list" : "lists",
                     o->name);
    char *copy = strdup(r.out);
    args[1] = "-h";
    dyt_run_args(&r, NULL, NULL, args);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, copy);
    free(copy);
}

/* An unknown option: exit 2, one common line on stderr, nothing on
 * stdout, nothing written in the working folder (default store included)
 * and nothing started (which would print). */
static void test_command_unknown_option(void **state)
{
    const cli_command *c = *state;
    char dir[512], want[256];
    fresh_dir(dir, sizeof dir, c->name);
    snprintf(want, sizeof want, "dytbench: %s: unknown option '--bogus' (see dytbench %s --help)\n",
             c->name, c->name);
    char *args[] = {(char *)c->name, "--bogus", NULL};
    dyt_run_args(&r, dir, NULL, args);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
    assert_string_equal(r.out, "");
    assert_true(dir_is_empty(dir));

    /* The same after valid options, and for a short letter. */
    char *later[] = {(char *)c->name, "--db", "x.db", "-Z", NULL};
    if (!strcmp(c->name, "run") || !strcmp(c->name, "show") || !strcmp(c->name, "report")) {
        snprintf(want, sizeof want, "dytbench: %s: unknown option '-Z' (see dytbench %s --help)\n",
                 c->name, c->name);
        dyt_run_args(&r, dir, NULL, later);
        assert_int_equal(r.status, 2);
        assert_string_equal(r.err, want);
        assert_true(dir_is_empty(dir));
    }
    rmdir(dir);
}

/* The command's first option that takes a value, given none. */
static void test_command_missing_value(void **state)
{
    const cli_command *c = *state;
    const cli_option *o = c->options;
    while (o && (o->name || o->help) && (!o->name || o->kind == CLI_FLAG))
        o++;
    if (!o || !o->name)
        skip();
    char opt[64], want[256];
    snprintf(opt, sizeof opt, "--%s", o->name);
    snprintf(want, sizeof want,
             "dytbench: %s: option '%s' needs a value (see dytbench %s --help)\n", c->name, opt,
             c->name);
    char *args[] = {(char *)c->name, opt, NULL};
    dyt_run_args(&r, NULL, NULL, args);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, want);
}

/* A short letter is the same long option in every command that has it;
 * -h is the layer's --help, -V only the top level's --version. */
static void test_short_options(void **state)
{
    (void)state;
    const char *meaning[128] = {0};
    for (size_t i = 0; i < cli_n_commands; i++) {
        const cli_command *c = cli_commands[i];
        for (const cli_option *o = c->options; o && (o->name || o->help); o++) {
            if (!o->name)
                continue;
            if (!strcmp(o->name, "help"))
                fail_msg("%s lists --help itself (the option layer adds it)", c->name);
            int k = o->key;
            if (k <= 0 || k >= 128 || !isalnum(k))
                continue;
            if (k == 'h' || k == 'V')
                fail_msg("%s: -%c is reserved", c->name, k);
            if (meaning[k] && strcmp(meaning[k], o->name))
                fail_msg("-%c is --%s and --%s", k, meaning[k], o->name);
            meaning[k] = o->name;
        }
    }
    dyt_run(&r, NULL, "-V", NULL);
    assert_int_equal(r.status, 0);
    assert_true(!strncmp(r.out, "dytbench ", 9));
}

static void test_unknown(void **state)
{
    (void)state;
    dyt_run(&r, NULL, "--bogus", NULL);
    assert_int_equal(r.status, 2);
    assert_true(!strncmp(r.err, "dytbench: ", 10));
    assert_non_null(strstr(r.err, "--bogus"));

    dyt_run(&r, NULL, "frobnicate", NULL);
    assert_int_equal(r.status, 2);
    assert_true(!strncmp(r.err, "dytbench: ", 10));
    assert_non_null(strstr(r.err, "frobnicate"));

    dyt_run(&r, NULL, "list", NULL);
    assert_int_equal(r.status, 2);
    dyt_run(&r, NULL, "list", "things", NULL);
    assert_int_equal(r.status, 2);
    dyt_run(&r, NULL, "list", "shapes", "--suite", NULL);
    assert_int_equal(r.status, 2);
    dyt_run(&r, NULL, "list", "shapes", "--suite", "no-such-suite", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown suite 'no-such-suite'"));
    dyt_run(&r, NULL, "list", "suites", "--db", "x.db", NULL);
    assert_int_equal(r.status, 2);
    dyt_run(&r, NULL, "list", "runs", "--db", "/nonexistent/dir/x.db", NULL);
    assert_int_equal(r.status, 2);
    assert_true(!strncmp(r.err, "dytbench: ", 10));
    dyt_run(&r, NULL, "list", "runs", "--limit", "+3", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "dytbench: list: --limit: '+3' is not a count of at least 1\n");
    dyt_run(&r, NULL, "show", "1", "2", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err,
                        "dytbench: show: unexpected argument '2' (see dytbench show --help)\n");
    dyt_run(&r, NULL, "run", "--quick=1", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(
        r.err, "dytbench: run: option '--quick' takes no value (see dytbench run --help)\n");
    /* A variant that does not exist stops bench-kernels before it measures. */
    dyt_run(&r, NULL, "bench-kernels", "--variant", "no-such-variant", NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "no variant named 'no-such-variant'"));
    dyt_run(&r, NULL, "run", "--max", "1", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "'--max' is ambiguous: --max-noise, --max-samples, --max-time"));
}

/* An arm that records being started: a script that creates a file. */
static void write_marker_exe(char *exe_path, size_t n, char *marker, size_t m)
{
    snprintf(exe_path, n, "%s/arm.sh", tmpdir);
    snprintf(marker, m, "%s/arm-started", tmpdir);
    FILE *f = fopen(exe_path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\ntouch '%s'\nexit 2\n", marker);
    fclose(f);
    assert_int_equal(chmod(exe_path, 0700), 0);
}

/* A bad option: exit 2, stderr one line starting with want, and neither
 * path (if given) created. */
typedef struct {
    const char *opt, *value, *want;
} refusal;

static void expect_refused(char *const *args, const char *want, const char *absent,
                           const char *absent2)
{
    dyt_run_args(&r, NULL, NULL, args);
    assert_int_equal(r.status, 2);
    if (strncmp(r.err, want, strlen(want)))
        fail_msg("%s %s: stderr '%s', want '%s...'", args[0], args[1], r.err, want);
    assert_one_line(r.err);
    assert_false(absent && exists(absent));
    assert_false(absent2 && exists(absent2));
}

/* interleave checks all its options, the run options for every arm and
 * the options of an arm of this binary, before any arm starts. */
static void test_interleave_starts_nothing(void **state)
{
    (void)state;
    char arm_exe[512], marker[512], a[600], b[600], db[512];
    write_marker_exe(arm_exe, sizeof arm_exe, marker, sizeof marker);
    snprintf(a, sizeof a, "A=%s", arm_exe);
    snprintf(b, sizeof b, "B=%s", arm_exe);
    snprintf(db, sizeof db, "%s/il.db", tmpdir);
    static const refusal bad[] = {
        {"--bogus", NULL, "dytbench: interleave: unknown option '--bogus'"},
        {"--threads", "x", "dytbench: interleave: --threads: 'x' is not a count in 1..4096"},
        {"--max-time", "-1", "dytbench: interleave: --max-time: '-1' is not a time in seconds"},
        {"--rounds", "1", "dytbench: interleave: --rounds: '1' is not a count in 2..1000"},
        {"--label", "x", "dytbench: interleave: --label is set by interleave for each arm"},
        {"--metric", "instructions", "dytbench: interleave: only time is measured in lockstep"},
    };
    for (size_t i = 0; i < DYT_ARRAY_LEN(bad); i++) {
        char *args[] = {"interleave",
                        "--arm",
                        a,
                        "--arm",
                        b,
                        "--db",
                        db,
                        "--pass",
                        "fwd",
                        (char *)bad[i].opt,
                        (char *)bad[i].value,
                        NULL};
        expect_refused(args, bad[i].want, marker, db);
    }
    /* An arm of this binary: its own options are checked here too. */
    char *self_arm[] = {
        "interleave", "--arm", "A=self --inject-slowdown avx512", "--arm", b, "--db", db, NULL};
    expect_refused(self_arm, "dytbench: interleave: arm A: --inject-slowdown: want", marker, db);
    /* The arms need a name first: the bad option is named all the same. */
    dyt_run(&r, NULL, "interleave", "--bogus", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--bogus"));
    assert_null(strstr(r.err, "at least two"));
    /* Valid options reach the arms (which here only record it). */
    char *good[] = {"interleave", "--arm", a, "--arm", b, "--db", db, "--pass", "fwd", NULL};
    dyt_run_args(&r, NULL, NULL, good);
    assert_int_equal(r.status, 2);
    assert_true(exists(marker));
    unlink(marker);
    unlink(arm_exe);
}

/* calibrate checks its options, interleave's and run's before the first
 * A/A session: one line, no store. */
static void test_calibrate_starts_nothing(void **state)
{
    (void)state;
    char db[512];
    snprintf(db, sizeof db, "%s/cal.db", tmpdir);
    static const refusal bad[] = {
        {"--bogus", NULL, "dytbench: calibrate: unknown option '--bogus'"},
        {"--max-time", "abc", "dytbench: calibrate: --max-time: 'abc' is not a time"},
        {"--rounds", "1", "dytbench: calibrate: --rounds: '1' is not a count in 2..1000"},
        {"--pairs", "0", "dytbench: calibrate: --pairs: '0' is not a count in 1..50"},
        {"--arm", "x=self", "dytbench: calibrate: --arm: the arms are set by calibrate"},
        {"--device", "cuda", "dytbench: calibrate: CPU runs only"},
    };
    for (size_t i = 0; i < DYT_ARRAY_LEN(bad); i++) {
        char *args[] = {"calibrate", "--db", db, (char *)bad[i].opt, (char *)bad[i].value, NULL};
        expect_refused(args, bad[i].want, db, NULL);
    }
}

/* run checks its framework-peer options before it starts anything: one
 * line, no store. */
static void test_run_peer_refused(void **state)
{
    (void)state;
    char db[512];
    snprintf(db, sizeof db, "%s/peer.db", tmpdir);
    static const refusal alone[] = {
        {"--peer", "tf", "dytbench: run: --peer: 'tf' is not torch"},
        {"--peer-variant", "torch-eager", "dytbench: run: --peer-variant needs --peer torch"},
        {"--python", "/usr/bin/python3", "dytbench: run: --python needs --peer torch"},
    };
    for (size_t i = 0; i < DYT_ARRAY_LEN(alone); i++) {
        char *args[] = {"run", "--db", db, (char *)alone[i].opt, (char *)alone[i].value, NULL};
        expect_refused(args, alone[i].want, db, NULL);
    }
    static const refusal with_peer[] = {
        {"--peer-variant", "eager",
         "dytbench: run: --peer-variant: 'eager' is not torch-eager, torch-compile or liger"},
        {"--python", "/nonexistent/python3",
         "dytbench: run: --peer torch needs Python 3 with PyTorch: /nonexistent/python3: No "
         "such file or directory (install them: apt-get install python3 python3-torch"},
        {"--device", "cuda", "dytbench: run: --peer torch measures CPU cases: not with --device"},
        {"--metric", "instructions", "dytbench: run: --peer torch times its cases"},
    };
    for (size_t i = 0; i < DYT_ARRAY_LEN(with_peer); i++) {
        char *args[] = {"run",           "--db", db, "--peer", "torch", (char *)with_peer[i].opt,
                        (char *)with_peer[i].value, NULL};
        expect_refused(args, with_peer[i].want, db, NULL);
    }
}

static void test_list(void **state)
{
    (void)state;
    dyt_run(&r, NULL, "list", "shapes", "--suite", "llm", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "llama-7b-attn"));
    assert_non_null(strstr(r.out, "llama-70b-ffn-final"));
    assert_non_null(strstr(r.out, "rmsnorm"));
    assert_non_null(strstr(r.out, "4096"));

    dyt_run(&r, NULL, "list", "shapes", "--suite", "quick,dna", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "# quick"));
    assert_non_null(strstr(r.out, "# dna"));
    assert_non_null(strstr(r.out, "1048576 seq-1m"));
}

static void test_list_suites_and_kernels(void **state)
{
    (void)state;
    static const char *const names[] = {"quick", "vision", "llm", "speech", "dna"};
    dyt_run(&r, NULL, "list", "suites", NULL);
    assert_int_equal(r.status, 0);
    for (size_t i = 0; i < 5; i++) {
        char line[32];
        snprintf(line, sizeof line, "\n%s ", names[i]);
        if (!strstr(r.out, line))
            fail_msg("list suites lacks '%s'", names[i]);
    }
    dyt_run(&r, NULL, "list", "kernels", NULL);
    assert_int_equal(r.status, 0);
}

static void test_malformed_suite(void **state)
{
    (void)state;
    char path[] = "/tmp/dyt-cli-XXXXXX.suite";
    int fd = mkstemps(path, 6);
    assert_true(fd >= 0);
    static const char text[] = "# my suite\n[m]\ndomain = llm\nnorm = rmsnorm\nhidden = 0\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    dyt_run(&r, NULL, "list", "shapes", "--suite", path, NULL);
    unlink(path);
    assert_int_equal(r.status, 2);
    char want[128];
    snprintf(want, sizeof want, "dytbench: %s:5: hidden must be a positive integer", path);
    if (strncmp(r.err, want, strlen(want)))
        fail_msg("stderr '%s', want prefix '%s'", r.err, want);
    assert_null(strstr(r.out, "# "));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH-TO-dytbench\n", argv[0]);
        return 2;
    }
    /* Absolute: some runs happen in another working folder. */
    static char exe_path[4096];
    if (!realpath(argv[1], exe_path)) {
        perror(argv[1]);
        return 1;
    }
    dytbench_exe = exe_path;
    enum { PER_COMMAND = 3 };
    struct CMUnitTest tests[16 + PER_COMMAND * 16];
    static char names[PER_COMMAND * 16][64];
    size_t n = 0, k = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_version);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_help);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_short_options);
    static const struct {
        const char *what;
        CMUnitTestFunction fn;
    } per_command[PER_COMMAND] = {
        {"help", test_command_help},
        {"unknown_option", test_command_unknown_option},
        {"missing_value", test_command_missing_value},
    };
    for (size_t i = 0; i < cli_n_commands && i < 16; i++)
        for (size_t j = 0; j < PER_COMMAND; j++, k++) {
            snprintf(names[k], sizeof names[k], "%s_%s", per_command[j].what,
                     cli_commands[i]->name);
            tests[n++] = (struct CMUnitTest){names[k], per_command[j].fn, NULL, NULL,
                                             (void *)cli_commands[i]};
        }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_unknown);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_interleave_starts_nothing);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_calibrate_starts_nothing);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_run_peer_refused);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_list);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_list_suites_and_kernels);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_malformed_suite);
    return run_in_tmpdir("/tmp/dytbench-cli", "cli", tests, n, NULL, NULL);
}
