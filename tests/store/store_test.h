/* Helpers shared by the store tests: a scratch directory, one-value
 * queries, file hashing, and a synthetic machine/case to write. */
#pragma once
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_int.h"

static char tmpdir[256];

static __attribute__((unused)) void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dyt-store-test-XXXXXX");
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

static __attribute__((unused)) void tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tmpdir, name);
    unlink(buf);
}

/* Runs SQL that must succeed. */
static __attribute__((unused)) void exec_ok(sqlite3 *d, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(d, sql, NULL, NULL, &err) != SQLITE_OK) {
        print_error("%s: %s\n", sql, err);
        fail();
    }
}

/* One integer from a query with up to one integer parameter. */
static __attribute__((unused)) int64_t q_int(sqlite3 *db, const char *sql, int64_t arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        print_error("prepare %s: %s\n", sql, sqlite3_errmsg(db));
        fail();
    }
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, arg);
    int64_t v = -999;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static __attribute__((unused)) double q_double(sqlite3 *db, const char *sql, int64_t arg)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, arg);
    double v = -999;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Text of the first column ("(null)" for NULL, "(none)" for no row). */
static __attribute__((unused)) void q_text(sqlite3 *db, const char *sql, int64_t arg, char *out,
                                           size_t n)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, arg);
    snprintf(out, n, "(none)");
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, n, "%s", t ? (const char *)t : "(null)");
    }
    sqlite3_finalize(st);
}

/* The whole content of a file (for byte-identity checks); *len = -1 if
 * the file does not exist. */
static __attribute__((unused)) char *slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    *len = -1;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)*len + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    return b;
}

static __attribute__((unused)) int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* A synthetic machine whose every field is known. */
static __attribute__((unused)) void fake_machine(machine_info *m, const char *fp)
{
    memset(m, 0, sizeof *m);
    snprintf(m->hostname, sizeof m->hostname, "testhost");
    snprintf(m->cpu_model, sizeof m->cpu_model, "Test CPU 9000");
    m->packages = 1;
    m->cores = 4;
    m->pus = 8;
    m->numa_nodes = 1;
    m->l1d_bytes = 48 * 1024;
    m->l2_bytes = 2 << 20;
    m->l3_bytes = 300u << 20;
    m->llc_bytes = 128u << 20;
    snprintf(m->llc_note, sizeof m->llc_note, "clamped for the test");
    m->mem_bytes = 6ull << 30;
    m->mem_usable_bytes = 24ull << 30;
    snprintf(m->mem_note, sizeof m->mem_note, "meminfo wins");
    snprintf(m->os, sizeof m->os, "TestOS 1");
    snprintf(m->kernel, sizeof m->kernel, "Linux 6.1 x86_64");
    m->is_vm = 1;
    snprintf(m->vm_vendor, sizeof m->vm_vendor, "KVM");
    snprintf(m->isa, sizeof m->isa, "avx2 avx512");
    static char xml[] = "<?xml version=\"1.0\"?><topology/>";
    m->topology_xml = xml;
    m->topology_xml_len = sizeof xml - 1;
    snprintf(m->fingerprint, sizeof m->fingerprint, "%s", fp);
}

static __attribute__((unused)) store_case fake_case(int seq)
{
    return (store_case){.seq = seq,
                        .suite = "quick",
                        .domain = "llm",
                        .model = "toy-7b",
                        .model_norm = "rmsnorm",
                        .token_label = "prefill",
                        .layers = 32,
                        .norm = "dyt",
                        .variant = "avx512",
                        .dtype = "fp32",
                        .pass = "fwd",
                        .rows = 512,
                        .cols = 4096 + seq,
                        .threads = 2,
                        .cache = "cold",
                        .device = "cpu",
                        .alpha = 0.5,
                        .eps = 1e-6,
                        .has_beta = 1,
                        .affine = 1,
                        .status = "ok",
                        .error = NULL,
                        .max_err = 0.25,
                        .max_ulps = 3.5,
                        .err_output = "dx",
                        .err_tol = 1.5e-5,
                        .bytes = 16777216,
                        .batch = 4,
                        .buffer_sets = 8,
                        .stop_reason = "noise",
                        .warmup_ns = 1000000,
                        .wall_ns = 50000000,
                        .started_at = "2026-01-01T00:00:00Z",
                        .ended_at = "2026-01-01T00:00:01Z"};
}

static const store_run_meta fake_run_meta = {.label = "baseline",
                                             .command_line = "dytbench run --label baseline",
                                             .suites = "quick",
                                             .suite_hash = "abc123",
                                             .device = "cpu",
                                             .metric = "time",
                                             .settings_json = "{\"seed\":1}"};

/* Writes one case with n samples, stats and two counters (one unavailable). */
static __attribute__((unused)) int put_fake_case(store *s, int64_t run_id, int seq, int n,
                                                 dyt_err *e)
{
    store_case c = fake_case(seq);
    store_sample smp[256];
    for (int i = 0; i < n && i < 256; i++)
        smp[i] = (store_sample){
            .ns = 1000.0 + i, .flags = i == 3 ? STORE_SAMPLE_CTXSW : 0, .excluded = i == 3};
    store_stats st = {.n = n,
                      .n_excluded = 1,
                      .median_ns = 1000.0 + n / 2.0,
                      .ci_low_ns = 1000.0,
                      .ci_high_ns = 1000.0 + n,
                      .mean_ns = 1001,
                      .stddev_ns = 2,
                      .min_ns = 1000,
                      .max_ns = 1000.0 + n - 1,
                      .mad_ns = 1.5,
                      .rel_ci_width = 0.01,
                      .gbps = 12.5,
                      .roofline_pct = 55.5,
                      .ceiling_level = "l2",
                      .ceiling_pct = 98.25};
    store_counter k[2] = {
        {.source = "rusage", .name = "minflt", .available = 1, .value = 42, .per_element = 0.5},
        {.source = "papi",
         .name = "PAPI_TOT_INS",
         .available = 0,
         .unavailable_reason = "PAPI perf_event component disabled: test"}};
    int64_t id;
    return store_put_case(s, run_id, &c, smp, (size_t)(n < 256 ? n : 256), &st, k, 2, &id, e);
}

/* A failed case: no samples, no stats, not verified (max_err, max_ulps,
 * err_tol < 0, no err_output), no
 * batch, buffer sets or token label, and a note. */
static __attribute__((unused)) int put_failed_case(store *s, int64_t run_id, int seq,
                                                   int64_t *case_id, dyt_err *e)
{
    store_case c = fake_case(seq);
    c.status = "failed";
    c.error = "max error 3.5 > tolerance";
    c.max_err = -1;
    c.max_ulps = -1;
    c.err_output = NULL;
    c.err_tol = -1;
    c.stop_reason = NULL;
    c.batch = 0;
    c.buffer_sets = 0;
    c.token_label = NULL;
    c.note = "measured through the framework's own op";
    return store_put_case(s, run_id, &c, NULL, 0, NULL, NULL, 0, case_id, e);
}
