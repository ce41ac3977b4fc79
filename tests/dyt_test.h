/* What the cmocka tests share: cmocka's headers in the order it needs
 * them, the main of a test program, a scratch directory, whole files,
 * one-value queries of a database and small synthetic store content.
 * Everything here is static: each test program gets its own copy. */
#pragma once
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "machine.h"
#include "store.h"

#define DYT_TEST_UNUSED __attribute__((unused))

/* ---- Run notes ---------------------------------------------------------- */

/* Cuts from a run's note the part a loaded machine may add to any run
 * (its bandwidth ceilings moved during the run: runners/cpu/ceilings.c),
 * with the "; " before it, so tests can compare the rest exactly. */
static DYT_TEST_UNUSED void note_without_drift(char *txt)
{
    char *at = strstr(txt, "bandwidth ceilings moved during the run");
    if (!at)
        return;
    if (at - txt >= 2 && !strncmp(at - 2, "; ", 2))
        at -= 2;
    *at = '\0';
}

/* ---- A scratch directory ------------------------------------------------ */

static char tmpdir[256];

/* prefix: e.g. "/tmp/dytbench-runner"; exits when it cannot be made. */
static DYT_TEST_UNUSED void make_tmpdir(const char *prefix)
{
    snprintf(tmpdir, sizeof tmpdir, "%s-XXXXXX", prefix);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static DYT_TEST_UNUSED void rm_tmpdir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* Runs the group of n tests in a fresh scratch directory (prefix: e.g.
 * "/tmp/dytbench-runner"), removed when every test passed and kept for a
 * look otherwise. */
static DYT_TEST_UNUSED int run_in_tmpdir(const char *prefix, const char *name,
                                         const struct CMUnitTest *tests, size_t n,
                                         CMFixtureFunction setup, CMFixtureFunction teardown)
{
    make_tmpdir(prefix);
    int rc = _cmocka_run_group_tests(name, tests, n, setup, teardown);
    if (rc == 0)
        rm_tmpdir();
    else
        fprintf(stderr, "kept %s\n", tmpdir);
    return rc;
}

/* tmpdir/name into buf, with no file of that name left there. */
static DYT_TEST_UNUSED void tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmpdir, name);
    unlink(buf);
}

/* ---- The main of a test program -----------------------------------------
 *
 *     DYT_TEST_MAIN("store-read", setup, teardown, cmocka_unit_test(test_a), ...)
 *
 * runs the tests as one group named for the test log, with the group's
 * setup and teardown (or NULL); DYT_TEST_MAIN_IN_TMPDIR runs them in a
 * fresh scratch directory, tmpdir (/tmp/dytbench-<group>-XXXXXX). */

/* argv[1]: the dytbench binary where meson passes it, else NULL. */
static DYT_TEST_UNUSED const char *dytbench_exe;

/* Skips the calling test when no dytbench binary was given. */
static DYT_TEST_UNUSED void need_dytbench(void)
{
    if (!dytbench_exe)
        skip();
}

/* prefix: NULL, or that of the scratch directory (run_in_tmpdir). */
static DYT_TEST_UNUSED int run_group(const char *name, const char *prefix,
                                     const struct CMUnitTest *tests, size_t n,
                                     CMFixtureFunction setup, CMFixtureFunction teardown)
{
    if (prefix)
        return run_in_tmpdir(prefix, name, tests, n, setup, teardown);
    return _cmocka_run_group_tests(name, tests, n, setup, teardown);
}

#define DYT_TEST_MAIN_(group, prefix, setup, teardown, ...)                                        \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        dytbench_exe = argc > 1 ? argv[1] : NULL;                                                  \
        const struct CMUnitTest tests[] = {__VA_ARGS__};                                           \
        return run_group(group, prefix, tests, DYT_ARRAY_LEN(tests), setup, teardown);             \
    }
#define DYT_TEST_MAIN(group, setup, teardown, ...)                                                 \
    DYT_TEST_MAIN_(group, NULL, setup, teardown, __VA_ARGS__)
#define DYT_TEST_MAIN_IN_TMPDIR(group, setup, teardown, ...)                                       \
    DYT_TEST_MAIN_(group, "/tmp/dytbench-" group, setup, teardown, __VA_ARGS__)

/* ---- Files -------------------------------------------------------------- */

static DYT_TEST_UNUSED void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Writes the n bytes at b as the file at path. */
static DYT_TEST_UNUSED void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* The whole content of a file, NUL-terminated (for byte-identity checks);
 * NULL and *len = -1 if it cannot be read. len may be NULL. */
static DYT_TEST_UNUSED char *slurp(const char *path, long *len)
{
    char *t = NULL;
    size_t n = 0;
    dyt_err e = {{0}};
    if (len)
        *len = -1;
    if (dyt_read_file(path, &t, &n, &e) != DYT_OK)
        return NULL;
    if (len)
        *len = (long)n;
    return t;
}

/* The file at path still holds the n0 bytes at b0 (b0, n0: what slurp
 * gave before; n0 -1: the file did not exist and must not now). */
static DYT_TEST_UNUSED void assert_same_bytes(const char *path, const char *b0, long n0)
{
    long n1;
    char *b1 = slurp(path, &n1);
    assert_int_equal(n0, n1);
    if (n0 > 0)
        assert_memory_equal(b0, b1, (size_t)n0);
    free(b1);
}

/* The whole content of a file that must be readable (else the test fails). */
static DYT_TEST_UNUSED char *read_text(const char *path)
{
    char *t = slurp(path, NULL);
    if (!t)
        fail_msg("cannot read %s", path);
    return t;
}

static DYT_TEST_UNUSED int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* ---- Child processes ------------------------------------------------------ */

/* A wait status (of waitpid, system, pclose) as one number: the exit code
 * of a child that exited, or minus the signal that ended it. */
static DYT_TEST_UNUSED int exit_code(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? -WTERMSIG(st) : -128;
}

/* Waits for child pid to end: its exit_code. */
static DYT_TEST_UNUSED int wait_exit(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return exit_code(st);
}

/* ---- The dytbench binary, run as a user would ------------------------------ */

/* What a run of it did: its exit_code, its stdout and stderr (truncated). */
typedef struct {
    int status;
    char out[65536];
    char err[16384];
} dyt_result;

/* The file at path into buf, up to n - 1 bytes ("" if it cannot be read). */
static DYT_TEST_UNUSED void read_into(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(buf, 1, n - 1, f) : 0;
    buf[got] = '\0';
    if (f)
        fclose(f);
}

/* Starts dytbench_exe with args (after argv[0], NULL-terminated) in folder
 * cwd (NULL: here), in this process's environment without SLURM_* (a test
 * run inside a Slurm job must not leak into it) plus extra ("K=V",
 * NULL-terminated; NULL: none); stdout and stderr into the files out and
 * err (NULL: /dev/null). */
static DYT_TEST_UNUSED pid_t dyt_start(const char *cwd, char *const *extra, char *const *args,
                                       const char *out, const char *err)
{
    char *argv[64], *env[512];
    size_t argc = 0, n = 0;
    argv[argc++] = (char *)dytbench_exe;
    for (; *args && argc < 63; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;
    for (char **e = environ; *e && n + 1 < DYT_ARRAY_LEN(env); e++)
        if (strncmp(*e, "SLURM_", 6))
            env[n++] = *e;
    for (; extra && *extra && n + 1 < DYT_ARRAY_LEN(env); extra++)
        env[n++] = *extra;
    env[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0 || (cwd && chdir(cwd) != 0))
            _exit(127);
        execve(dytbench_exe, argv, env);
        _exit(127);
    }
    return pid;
}

/* dyt_start to its end into r, the output through files in tmpdir (a
 * large stdout cannot block the child). */
static DYT_TEST_UNUSED void dyt_run_args(dyt_result *r, const char *cwd, char *const *extra,
                                         char *const *args)
{
    char out[600], err[600];
    snprintf(out, sizeof out, "%s/child.out", tmpdir);
    snprintf(err, sizeof err, "%s/child.err", tmpdir);
    r->status = wait_exit(dyt_start(cwd, extra, args, out, err));
    read_into(out, r->out, sizeof r->out);
    read_into(err, r->err, sizeof r->err);
}

/* dyt_run(&r, extra, "list", "runs", NULL): dyt_run_args here, with the
 * arguments listed. */
static DYT_TEST_UNUSED void dyt_run(dyt_result *r, char *const *extra, ...)
{
    char *args[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, extra);
    for (char *a; (a = va_arg(ap, char *)) && n < 63;)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    dyt_run_args(r, NULL, extra, args);
}

/* ---- One-value queries -------------------------------------------------- */

/* Runs SQL that must succeed. */
static DYT_TEST_UNUSED void exec_ok(sqlite3 *d, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(d, sql, NULL, NULL, &err) != SQLITE_OK) {
        print_error("%s: %s\n", sql, err);
        fail();
    }
}

/* The first row of a query with up to one integer parameter, or NULL when
 * it has none (finalize the statement). */
static DYT_TEST_UNUSED sqlite3_stmt *q_row(sqlite3 *db, const char *sql, int64_t arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        print_error("prepare %s: %s\n", sql, sqlite3_errmsg(db));
        fail();
    }
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, arg);
    if (sqlite3_step(st) == SQLITE_ROW)
        return st;
    sqlite3_finalize(st);
    return NULL;
}

/* The first column as an integer; -999 when there is no row. */
static DYT_TEST_UNUSED int64_t q_int(sqlite3 *db, const char *sql, int64_t arg)
{
    sqlite3_stmt *st = q_row(db, sql, arg);
    int64_t v = st ? sqlite3_column_int64(st, 0) : -999;
    sqlite3_finalize(st);
    return v;
}

/* The first column as a double; -999 when there is no row. */
static DYT_TEST_UNUSED double q_double(sqlite3 *db, const char *sql, int64_t arg)
{
    sqlite3_stmt *st = q_row(db, sql, arg);
    double v = st ? sqlite3_column_double(st, 0) : -999;
    sqlite3_finalize(st);
    return v;
}

/* The first column as text: "(null)" for NULL, "(none)" for no row. */
static DYT_TEST_UNUSED void q_text(sqlite3 *db, const char *sql, int64_t arg, char *out, size_t n)
{
    sqlite3_stmt *st = q_row(db, sql, arg);
    const unsigned char *t = st ? sqlite3_column_text(st, 0) : NULL;
    snprintf(out, n, "%s", !st ? "(none)" : t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
}

/* ---- Small synthetic store content --------------------------------------- */

/* The store at path, which must open (create: made if absent). */
static DYT_TEST_UNUSED store *open_store(const char *path, int create)
{
    store *s;
    dyt_err e = {{0}};
    if (store_open(path, create, &s, &e) != DYT_OK)
        fail_msg("store_open %s: %s", path, e.msg);
    return s;
}

/* A new store at tmpdir/name (store_path gives its path). */
static DYT_TEST_UNUSED store *open_new(const char *name)
{
    char path[512];
    tmp_path(path, sizeof path, name);
    return open_store(path, 1);
}

/* A machine with only what the store needs: one of everything. */
static DYT_TEST_UNUSED void small_machine(machine_info *m, const char *hostname,
                                          const char *fingerprint)
{
    memset(m, 0, sizeof *m);
    snprintf(m->hostname, sizeof m->hostname, "%s", hostname);
    snprintf(m->fingerprint, sizeof m->fingerprint, "%s", fingerprint);
    m->packages = m->cores = m->pus = m->numa_nodes = 1;
}

/* The metadata of a run of the quick suite on the CPU, on machine mid,
 * measuring metric ("time", "instructions"). */
static DYT_TEST_UNUSED store_run_meta small_run_meta(int64_t mid, const char *label,
                                                     const char *metric)
{
    return (store_run_meta){.machine_id = mid,
                            .label = label,
                            .command_line = "test",
                            .suites = "quick",
                            .suite_hash = "0",
                            .device = "cpu",
                            .metric = metric,
                            .settings_json = "{}"};
}

/* A verified, measured case of a small shape (DyT forward, fp32, scalar,
 * hot cache, one thread, 8 x 1024); tests set what they vary. */
static DYT_TEST_UNUSED store_case small_case(const char *model)
{
    return (store_case){.suite = "quick",
                        .domain = "llm",
                        .model = model,
                        .model_norm = "layernorm",
                        .token_label = "",
                        .layers = 1,
                        .norm = "dyt",
                        .variant = "scalar",
                        .dtype = "fp32",
                        .pass = "fwd",
                        .rows = 8,
                        .cols = 1024,
                        .threads = 1,
                        .cache = "hot",
                        .device = "cpu",
                        .alpha = 0.5,
                        .eps = 1e-5,
                        .has_beta = 1,
                        .affine = 1,
                        .status = "ok",
                        .max_err = 0,
                        .bytes = 8192,
                        .batch = 1,
                        .buffer_sets = 1,
                        .stop_reason = "noise"};
}
