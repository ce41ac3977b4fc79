/* Helpers of the campaign tests (tests/cluster), beside tests/dyt_test.h's:
 * the built dytbench spawned with arguments and an environment of the
 * test's choosing (no Slurm variable leaks in from a test run inside a
 * job), a tiny suite, and one-value queries on a store by its path. */
#pragma once
#include "dyt_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

/* 3 shapes x 2 norms x 2 passes = 12 cases, each a few milliseconds. */
static const char tiny_suite[] =
    "[tiny-ln]\n"
    "domain = llm\nnorm = layernorm\nhidden = 256\ntokens = 64 a, 3 b\nlayers = 1\n"
    "[tiny-rms]\n"
    "domain = dna\nnorm = rmsnorm\nhidden = 96\ntokens = 33\nlayers = 2\nalpha = 0.8\n"
    "beta = no\n";
enum { TINY_CASES = 12 };

typedef struct {
    int status; /* exit code; 128 + signal when killed */
    char out[65536];
    char err[16384];
} result;

static result r; /* large: off the stack */

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

static DYT_TEST_UNUSED void read_into(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(buf, 1, n - 1, f) : 0;
    buf[got] = '\0';
    if (f)
        fclose(f);
}

/* The environment of a child: ours without SLURM_*, plus extra ("K=V",
 * NULL-terminated; NULL: none). */
static char **child_env(char *const *extra, char **buf, size_t cap)
{
    size_t n = 0;
    for (char **e = environ; *e && n + 1 < cap; e++)
        if (strncmp(*e, "SLURM_", 6))
            buf[n++] = *e;
    for (; extra && *extra && n + 1 < cap; extra++)
        buf[n++] = *extra;
    buf[n] = NULL;
    return buf;
}

/* Starts exe with args (after argv[0], NULL-terminated) and extra
 * environment; stdout and stderr to the files out and err (NULL: /dev/null). */
static pid_t start(char *const *extra, char *const *args, const char *out, const char *err)
{
    char *argv[64], *envbuf[512];
    int argc = 0;
    argv[argc++] = (char *)dytbench_exe;
    for (; *args && argc < 63; args++)
        argv[argc++] = *args;
    argv[argc] = NULL;
    char **env = child_env(extra, envbuf, 512);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(127);
        execve(dytbench_exe, argv, env);
        _exit(127);
    }
    return pid;
}

/* Runs exe to its end into r. */
static DYT_TEST_UNUSED void run_env(result *res, char *const *extra, char *const *args)
{
    char out[600], err[600];
    path_in(out, sizeof out, "child.out");
    path_in(err, sizeof err, "child.err");
    res->status = wait_exit(start(extra, args, out, err));
    read_into(out, res->out, sizeof res->out);
    read_into(err, res->err, sizeof res->err);
}

/* dyt(&r, NULL, "run", "--quick", NULL): the environment list, then the
 * arguments. */
static DYT_TEST_UNUSED void dyt(result *res, char *const *extra, ...)
{
    char *args[64];
    size_t n = 0;
    va_list ap;
    va_start(ap, extra);
    for (char *a; (a = va_arg(ap, char *)) && n < 63;)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    run_env(res, extra, args);
}

/* Fails with the child's output when its exit code is not want. */
static DYT_TEST_UNUSED void want_status(const result *res, int want)
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
