/* Helpers shared by the store tests (beside tests/dyt_test.h's): a
 * synthetic machine, run and case to write. */
#pragma once
#include "dyt_test.h"

#include <math.h>

#include "store.h"
#include "store_int.h"

/* A synthetic machine whose every field is known. */
static DYT_TEST_UNUSED void fake_machine(machine_info *m, const char *fp)
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

/* A case whose every field is set, most to other values than small_case's. */
static DYT_TEST_UNUSED store_case fake_case(int seq)
{
    store_case c = small_case("toy-7b");
    c.seq = seq;
    c.model_norm = "rmsnorm";
    c.token_label = "prefill";
    c.layers = 32;
    c.variant = "avx512";
    c.rows = 512;
    c.cols = 4096 + seq;
    c.threads = 2;
    c.cache = "cold";
    c.eps = 1e-6;
    c.max_err = 0.25;
    c.max_ulps = 3.5;
    c.err_output = "dx";
    c.err_tol = 1.5e-5;
    c.bytes = 16777216;
    c.batch = 4;
    c.buffer_sets = 8;
    c.warmup_ns = 1000000;
    c.wall_ns = 50000000;
    c.started_at = "2026-01-01T00:00:00Z";
    c.ended_at = "2026-01-01T00:00:01Z";
    return c;
}

static const store_run_meta fake_run_meta = {.label = "baseline",
                                             .command_line = "dytbench run --label baseline",
                                             .suites = "quick",
                                             .suite_hash = "abc123",
                                             .device = "cpu",
                                             .metric = "time",
                                             .settings_json = "{\"seed\":1}"};

/* fake_run_meta on the fake machine of fingerprint fp, written to s. */
static DYT_TEST_UNUSED store_run_meta fake_meta_on(store *s, const char *fp)
{
    machine_info m;
    fake_machine(&m, fp);
    store_run_meta meta = fake_run_meta;
    dyt_err e = {{0}};
    assert_int_equal(store_put_machine(s, &m, &meta.machine_id, &e), DYT_OK);
    return meta;
}

/* Writes one case with n samples, stats and two counters (one unavailable). */
static DYT_TEST_UNUSED int put_fake_case(store *s, int64_t run_id, int seq, int n, dyt_err *e)
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
static DYT_TEST_UNUSED int put_failed_case(store *s, int64_t run_id, int seq, int64_t *case_id,
                                           dyt_err *e)
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

/* Older databases (test_migrate.c, test_merge.c) and whole-store dumps. */

/* Every row of table, all of `cols`, as text (quote() keeps NULL apart
 * from '' and 1 apart from 1.0). */
static DYT_TEST_UNUSED char *dump_table(sqlite3 *d, const char *table, const char *cols)
{
    char sql[4096];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(group_concat(r, char(10)), '') FROM (SELECT %s AS r FROM %s"
             " ORDER BY 1)",
             cols, table);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(d, sql, -1, &st, NULL) != SQLITE_OK) {
        print_error("%s: %s\n", sql, sqlite3_errmsg(d));
        fail();
    }
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    assert_non_null(out);
    return out;
}

/* "quote(a) || '|' || quote(b) ..." over the columns table has now. */
static DYT_TEST_UNUSED void quoted_columns(sqlite3 *d, const char *table, char *buf, size_t n)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT group_concat('quote(' || name || ')', ' || ''|'' || ') FROM"
             " pragma_table_info('%s')",
             table);
    q_text(d, sql, 0, buf, n);
}

/* A database at schema version `version` as an older build made it: the
 * v1 schema, then the migrations up to `version`. */
static DYT_TEST_UNUSED sqlite3 *old_db(const char *path, int version)
{
    sqlite3 *d;
    assert_int_equal(sqlite3_open(path, &d), SQLITE_OK);
    exec_ok(d, store_schema_v1_sql);
    exec_ok(d, "INSERT INTO meta VALUES ('application', 'dytbench'); PRAGMA user_version = 1;");
    dyt_err e = {{0}};
    if (store_migrate_to(d, path, version, &e) != DYT_OK) {
        print_error("%s\n", e.msg);
        fail();
    }
    assert_int_equal(q_int(d, "PRAGMA user_version", 0), version);
    return d;
}

/* Rows of every kind an older build wrote, including the `interleave`
 * session in the settings JSON: runs 1 and 2 are the two arms of session
 * s-1234, run 3 was not in lockstep (empty strings, as the runner wrote),
 * run 4 has settings that are not JSON, run 5 none. */
static DYT_TEST_UNUSED void fill_old(sqlite3 *d, int version)
{
    exec_ok(
        d,
        "INSERT INTO machines (id, fingerprint, hostname, cpu_model, packages, cores, pus,"
        " numa_nodes, llc_bytes, mem_usable_bytes, is_vm, isa, created_at) VALUES (1, 'fp1',"
        " 'oldhost', 'Old CPU', 1, 2, 2, 1, 33554432, 1000, 0, 'avx2', '2025-01-01T00:00:00Z');");
    static const char *const settings[] = {
        "'{\"seed\":1,\"lockstep_token\":\"s-1234\",\"arm\":\"A\"}'",
        "'{\"seed\":1,\"lockstep_token\":\"s-1234\",\"arm\":\"B\"}'",
        "'{\"seed\":1,\"lockstep_token\":\"\",\"arm\":\"\"}'", "'not json'", "NULL"};
    for (int r = 0; r < 5; r++) {
        char sql[2048], roofline[256];
        /* The run's bandwidth ceiling: a roofline before version 5, the
         * dram ceiling since. */
        snprintf(roofline, sizeof roofline,
                 version >= 5 ? "INSERT INTO ceilings VALUES (%d, 'dram', 1, 'copy', 4096, 20.5,"
                                " NULL, 'STREAM copy');"
                              : "INSERT INTO rooflines VALUES (%d, 1, 'copy', 4096, 20.5, NULL);",
                 r + 1);
        snprintf(sql, sizeof sql,
                 "INSERT INTO runs (id, machine_id, label, status, started_at, ended_at,"
                 " command_line, git_rev, version, suites, suite_hash, settings, host, pid)"
                 " VALUES (%d, 1, 'old%d', 'complete', '2025-01-01T00:00:00Z',"
                 " '2025-01-01T00:01:00Z', 'dytbench run', 'abc', '0.0.1', 'quick', 'h', %s,"
                 " 'oldhost', 1);"
                 "%s"
                 "INSERT INTO cases (id, run_id, seq, suite, domain, model, model_norm, layers,"
                 " norm, variant, dtype, pass, rows, cols, threads, cache, alpha, has_beta,"
                 " affine, eps, status, max_err, bytes, batch, stop_reason) VALUES (%d, %d, 0,"
                 " 'quick', 'llm', 'm', 'layernorm', 1, 'dyt', 'scalar', 'fp32', 'fwd', 8, 64,"
                 " 1, 'hot', 0.5, 1, 1, 1e-5, 'ok', 0.1, 4096, 3, 'noise'),"
                 " (%d, %d, 1, 'quick', 'llm', 'm', 'layernorm', 1, 'layernorm', 'scalar',"
                 " 'fp32', 'fwd', 8, 64, 1, 'hot', NULL, NULL, NULL, NULL, 'failed', NULL, 4096,"
                 " NULL, NULL);"
                 "INSERT INTO stats (case_id, n, n_excluded, median_ns, ci_low_ns, ci_high_ns,"
                 " gbps, roofline_pct) VALUES (%d, 2, 1, 100.0, 99.0, 101.0, 40.96, %s);"
                 "INSERT INTO counters VALUES (%d, 'rusage', 'nivcsw', 3, 0.001, NULL),"
                 " (%d, 'papi', 'PAPI_TOT_INS', NULL, NULL, 'no PMU');",
                 r + 1, r + 1, settings[r], roofline, 2 * r + 1, r + 1, 2 * r + 2, r + 1, 2 * r + 1,
                 r % 2 ? "NULL" : "87.5", 2 * r + 1, 2 * r + 1);
        exec_ok(d, sql);
        if (r == 4) { /* a GPU run's ceiling */
            snprintf(sql, sizeof sql,
                     version >= 5 ? "INSERT INTO ceilings VALUES (%d, 'dram', 1, 'd2d_copy',"
                                    " 536870912, 3900.5, 3850.0, 'cudaMemcpyAsync')"
                                  : "INSERT INTO rooflines VALUES (%d, 1, 'd2d_copy', 536870912,"
                                    " 3900.5, 3850.0)",
                     r + 1);
            exec_ok(d, sql);
        }
        snprintf(sql, sizeof sql,
                 version >= 3 ? "INSERT INTO samples VALUES (%d, 0, 100.0, 0, 0, 0),"
                                " (%d, 1, 110.0, 1, 1, 1), (%d, 2, 99.5, 0, 0, 1)"
                              : "INSERT INTO samples VALUES (%d, 0, 100.0, 0, 0),"
                                " (%d, 1, 110.0, 1, 1), (%d, 2, 99.5, 0, 0)",
                 2 * r + 1, 2 * r + 1, 2 * r + 1);
        exec_ok(d, sql);
    }
    if (version >= 4) /* a v4 build wrote the run's identity and session as columns */
        exec_ok(d, "UPDATE runs SET uuid = printf('00000000-0000-4000-8000-%012d', id),"
                   " lockstep_token = nullif(json_extract(settings, '$.lockstep_token'), ''),"
                   " arm = nullif(json_extract(settings, '$.arm'), '') WHERE json_valid(settings);"
                   "UPDATE runs SET uuid = printf('00000000-0000-4000-8000-%012d', id)"
                   " WHERE uuid IS NULL;");
    if (version >= 2)
        exec_ok(d, "INSERT INTO machine_attrs VALUES (1, 'gpu', 'none');"
                   "INSERT INTO calibrations (machine_id, run_a, run_b, case_key, noise_rel,"
                   " min_detectable_rel, threshold, alpha, created_at) VALUES (1, 1, 2, 'k',"
                   " 0.01, 0.06, 0.05, 0.01, '2025-01-02T00:00:00Z');");
}


/* Every row of every table of d, table by table, as text: two stores with
 * equal dumps hold the same data. */
static DYT_TEST_UNUSED char *dump_all(sqlite3 *d)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(d,
                                        "SELECT name FROM sqlite_schema WHERE type = 'table'"
                                        " ORDER BY name",
                                        -1, &st, NULL),
                     SQLITE_OK);
    size_t len = 0;
    char *all = calloc(1, 1);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        char cols[2048];
        quoted_columns(d, name, cols, sizeof cols);
        char *rows = dump_table(d, name, cols);
        size_t add = strlen(name) + strlen(rows) + 3;
        all = realloc(all, len + add + 1);
        assert_non_null(all);
        len += (size_t)snprintf(all + len, add + 1, "%s:\n%s\n", name, rows);
        free(rows);
    }
    sqlite3_finalize(st);
    return all;
}

/* Field-by-field comparisons of what the read API gives, and a store
 * with one run written by the writers (test_read.c, test_merge.c). */
/* Strings equal, NULL only to NULL. */
static DYT_TEST_UNUSED void str_eq(const char *a, const char *b)
{
    if (!a || !b) {
        if (a != b)
            print_error("'%s' != '%s'\n", a ? a : "(null)", b ? b : "(null)");
        assert_true(a == b);
        return;
    }
    assert_string_equal(a, b);
}

/* Doubles equal, NAN only to NAN. */
static DYT_TEST_UNUSED void num_eq(double a, double b)
{
    if (isnan(a) || isnan(b)) {
        assert_true(isnan(a) && isnan(b));
        return;
    }
    assert_true(a == b);
}

static DYT_TEST_UNUSED void stats_eq(const store_stats *a, const store_stats *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->n_excluded, b->n_excluded);
    const double va[] = {a->median_ns,    a->ci_low_ns, a->ci_high_ns,  a->mean_ns,
                         a->stddev_ns,    a->min_ns,    a->max_ns,      a->mad_ns,
                         a->rel_ci_width, a->gbps,      a->roofline_pct};
    const double vb[] = {b->median_ns,    b->ci_low_ns, b->ci_high_ns,  b->mean_ns,
                         b->stddev_ns,    b->min_ns,    b->max_ns,      b->mad_ns,
                         b->rel_ci_width, b->gbps,      b->roofline_pct};
    for (size_t i = 0; i < DYT_ARRAY_LEN(va); i++)
        num_eq(va[i], vb[i]);
    str_eq(a->ceiling_level, b->ceiling_level);
    num_eq(a->ceiling_pct, b->ceiling_pct);
}

/* Every column of two cases (not their ids). */
static DYT_TEST_UNUSED void case_eq(const store_case *a, const store_case *b)
{
    assert_int_equal(a->seq, b->seq);
    const char *sa[] = {a->suite,    a->domain,  a->model,     a->model_norm,  a->token_label,
                        a->norm,     a->variant, a->dtype,     a->pass,        a->cache,
                        a->device,   a->status,  a->error,     a->stop_reason, a->started_at,
                        a->ended_at, a->note,    a->err_output};
    const char *sb[] = {b->suite,    b->domain,  b->model,     b->model_norm,  b->token_label,
                        b->norm,     b->variant, b->dtype,     b->pass,        b->cache,
                        b->device,   b->status,  b->error,     b->stop_reason, b->started_at,
                        b->ended_at, b->note,    b->err_output};
    for (size_t i = 0; i < DYT_ARRAY_LEN(sa); i++)
        str_eq(sa[i], sb[i]);
    assert_int_equal(a->layers, b->layers);
    assert_int_equal(a->rows, b->rows);
    assert_int_equal(a->cols, b->cols);
    assert_int_equal(a->threads, b->threads);
    num_eq(a->alpha, b->alpha);
    num_eq(a->eps, b->eps);
    assert_int_equal(a->has_beta, b->has_beta);
    assert_int_equal(a->affine, b->affine);
    num_eq(a->max_err, b->max_err);
    num_eq(a->max_ulps, b->max_ulps);
    num_eq(a->err_tol, b->err_tol);
    assert_int_equal(a->bytes, b->bytes);
    assert_int_equal(a->batch, b->batch);
    assert_int_equal(a->buffer_sets, b->buffer_sets);
    assert_int_equal(a->warmup_ns, b->warmup_ns);
    assert_int_equal(a->wall_ns, b->wall_ns);
}

static DYT_TEST_UNUSED void counters_eq(const store_counter *a, size_t na, const store_counter *b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        str_eq(a[i].source, b[i].source);
        str_eq(a[i].name, b[i].name);
        assert_int_equal(a[i].available, b[i].available);
        num_eq(a[i].value, b[i].value);
        num_eq(a[i].per_element, b[i].per_element);
        str_eq(a[i].unavailable_reason, b[i].unavailable_reason);
    }
}

/* A run of two cases: one ok (10 samples, sample 3 excluded, stats, two
 * counters), one failed (no samples, no stats, not verified, a note). */
static DYT_TEST_UNUSED int64_t write_run(store *s, int64_t *mid, const store_run_meta *meta_in)
{
    dyt_err e = {{0}};
    machine_info m;
    fake_machine(&m, "feedc0de");
    machine_attr attrs[2] = {{"gpu", "none"}, {"counters.papi", "unavailable: test"}};
    m.attrs = attrs;
    m.n_attrs = 2;
    assert_int_equal(store_put_machine(s, &m, mid, &e), DYT_OK);
    store_run_meta meta = *meta_in;
    meta.machine_id = *mid;
    int64_t run;
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    const store_ceiling ceilings[] = {
        {"dram", 2, "copy", 1 << 30, 20.5, 19.0, "STREAM copy, test"},
        {"l2", 1, "scale", 1 << 19, 111.5, -1, NULL},
        {"l1", 2, "copy", 1 << 14, 250.25, 240.0, "in l1"},
    };
    for (size_t i = 0; i < DYT_ARRAY_LEN(ceilings); i++)
        assert_int_equal(store_put_ceiling(s, run, &ceilings[i], &e), DYT_OK);
    assert_int_equal(put_fake_case(s, run, 0, 10, &e), DYT_OK);
    assert_int_equal(put_failed_case(s, run, 1, NULL, &e), DYT_OK);
    return run;
}


/* open_new, its path into path. */
static DYT_TEST_UNUSED store *open_new_at(const char *name, char *path, size_t n)
{
    store *s = open_new(name);
    snprintf(path, n, "%s", store_path(s));
    return s;
}

/* The cases of run a of store sa and of run b of sb are the same, field
 * for field, with the same samples, statistics and counters. */
static DYT_TEST_UNUSED void same_cases(store *sa, int64_t a, store *sb, int64_t b)
{
    dyt_err e = {{0}};
    store_case_list ca, cb;
    store_counter_list ka, kb;
    assert_int_equal(store_load_cases(sa, a, &ca, &e), DYT_OK);
    assert_int_equal(store_load_cases(sb, b, &cb, &e), DYT_OK);
    assert_int_equal(store_load_counters(sa, a, &ka, &e), DYT_OK);
    assert_int_equal(store_load_counters(sb, b, &kb, &e), DYT_OK);
    assert_int_equal(ca.n, cb.n);
    for (size_t i = 0; i < ca.n; i++) {
        case_eq(&ca.v[i].c, &cb.v[i].c);
        assert_int_equal(ca.v[i].has_stats, cb.v[i].has_stats);
        stats_eq(&ca.v[i].st, &cb.v[i].st);
        store_sample *xa, *xb;
        size_t na, nb, nka, nkb;
        assert_int_equal(store_load_samples(sa, ca.v[i].id, STORE_SAMPLES_ALL, &xa, &na, &e),
                         DYT_OK);
        assert_int_equal(store_load_samples(sb, cb.v[i].id, STORE_SAMPLES_ALL, &xb, &nb, &e),
                         DYT_OK);
        assert_int_equal(na, nb);
        if (na)
            assert_memory_equal(xa, xb, na * sizeof *xa);
        free(xa);
        free(xb);
        const store_counter *ya = store_counters_of(&ka, ca.v[i].id, &nka);
        const store_counter *yb = store_counters_of(&kb, cb.v[i].id, &nkb);
        counters_eq(ya, nka, yb, nkb);
    }
    store_case_list_free(&ca);
    store_case_list_free(&cb);
    store_counter_list_free(&ka);
    store_counter_list_free(&kb);
}
