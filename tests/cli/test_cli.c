/* Tests of the dytbench command line as a user meets it: the built binary
 * (path in argv[1], from meson) is spawned with argument lists and its exit
 * status, stdout and stderr are checked: --version, --help everywhere,
 * unknown options and commands (exit 2, `dytbench:` message), `list`, and a
 * malformed suite file rejected with file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *exe;

typedef struct {
    int status;      /* exit code, or -1 if killed */
    char out[65536]; /* stdout (truncated) */
    char err[8192];  /* stderr (truncated) */
} result;

/* Reads a whole file (the captured output) into buf. */
static void slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(buf, 1, n - 1, f) : 0;
    buf[got] = '\0';
    if (f)
        fclose(f);
}

/* Runs exe with the NULL-terminated arguments after argv[0]; output goes
 * through temporary files so a large stdout cannot block the child. */
static void run(result *r, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)exe;
    va_list ap;
    va_start(ap, r);
    for (char *a; (a = va_arg(ap, char *)) && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;

    char outp[] = "/tmp/dyt-cli-out-XXXXXX", errp[] = "/tmp/dyt-cli-err-XXXXXX";
    int fo = mkstemp(outp), fe = mkstemp(errp);
    assert_true(fo >= 0 && fe >= 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fo, 1);
    posix_spawn_file_actions_adddup2(&fa, fe, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fo);
    close(fe);
    if (rc != 0)
        fail_msg("cannot spawn %s", exe);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    slurp(outp, r->out, sizeof r->out);
    slurp(errp, r->err, sizeof r->err);
    unlink(outp);
    unlink(errp);
}

static result r; /* large: keep it off the stack */

static void test_version(void **state)
{
    (void)state;
    run(&r, "--version", NULL);
    assert_int_equal(r.status, 0);
    assert_true(!strncmp(r.out, "dytbench ", 9));
    assert_non_null(strstr(r.out, "(git "));
}

static void test_help(void **state)
{
    (void)state;
    run(&r, "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: dytbench"));
    run(&r, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "usage: dytbench"));
}

/* Every subcommand answers --help with exit 0. A subcommand whose stage has
 * not landed yet says so and exits 2; that is reported as a skip, not a
 * pass. */
static void test_subcommand_help(void **state)
{
    const char *cmd = *state;
    run(&r, cmd, "--help", NULL);
    if (r.status == 2 && strstr(r.err, "has not landed yet")) {
        print_message("'%s' has not landed yet\n", cmd);
        skip();
    }
    if (r.status != 0)
        fail_msg("dytbench %s --help: exit %d, stderr '%s'", cmd, r.status, r.err);
    assert_true(strlen(r.out) > 20);
}

static void test_unknown(void **state)
{
    (void)state;
    run(&r, "--bogus", NULL);
    assert_int_equal(r.status, 2);
    assert_true(!strncmp(r.err, "dytbench: ", 10));
    assert_non_null(strstr(r.err, "--bogus"));

    run(&r, "frobnicate", NULL);
    assert_int_equal(r.status, 2);
    assert_true(!strncmp(r.err, "dytbench: ", 10));
    assert_non_null(strstr(r.err, "frobnicate"));

    run(&r, "list", "--bogus", NULL);
    assert_int_equal(r.status, 2);
    assert_true(!strncmp(r.err, "dytbench: ", 10));

    run(&r, "list", NULL);
    assert_int_equal(r.status, 2);
    run(&r, "list", "things", NULL);
    assert_int_equal(r.status, 2);
    run(&r, "list", "shapes", "--suite", NULL);
    assert_int_equal(r.status, 2);
    run(&r, "list", "shapes", "--suite", "no-such-suite", NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown suite 'no-such-suite'"));
    run(&r, "list", "suites", "--db", "x.db", NULL);
    assert_int_equal(r.status, 2);
    run(&r, "list", "runs", "--db", "/nonexistent/dir/x.db", NULL);
    assert_int_equal(r.status, 2);
    assert_true(!strncmp(r.err, "dytbench: ", 10));
}

static void test_list(void **state)
{
    (void)state;
    run(&r, "list", "shapes", "--suite", "llm", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "llama-7b-attn"));
    assert_non_null(strstr(r.out, "llama-70b-ffn-final"));
    assert_non_null(strstr(r.out, "rmsnorm"));
    assert_non_null(strstr(r.out, "4096"));

    run(&r, "list", "shapes", "--suite", "quick,dna", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "# quick"));
    assert_non_null(strstr(r.out, "# dna"));
    assert_non_null(strstr(r.out, "1048576 seq-1m"));
}

static void test_list_suites_and_kernels(void **state)
{
    (void)state;
    static const char *const names[] = {"quick", "vision", "llm", "speech", "dna"};
    run(&r, "list", "suites", NULL);
    assert_int_equal(r.status, 0);
    for (size_t i = 0; i < 5; i++) {
        char line[32];
        snprintf(line, sizeof line, "\n%s ", names[i]);
        if (!strstr(r.out, line))
            fail_msg("list suites lacks '%s'", names[i]);
    }
    run(&r, "list", "kernels", NULL);
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
    run(&r, "list", "shapes", "--suite", path, NULL);
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
    exe = argv[1];
    static const char *const cmds[] = {"list",       "run",       "show",    "report",
                                       "compare",    "calibrate", "machine", "verify",
                                       "bench-kernels", "interleave"};
    struct CMUnitTest tests[32];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_version);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_help);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        static char names[16][48];
        snprintf(names[i], sizeof names[i], "help_%s", cmds[i]);
        tests[n++] =
            (struct CMUnitTest){names[i], test_subcommand_help, NULL, NULL, (void *)cmds[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_unknown);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_list);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_list_suites_and_kernels);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_malformed_suite);
    return _cmocka_run_group_tests("cli", tests, n, NULL, NULL);
}
