/* report/query.c: loads one stored run for the report -- its run row, the
 * machine it ran on (record, extra attributes), its measured bandwidth
 * ceilings, every case with its statistics, and a summary of its counters
 * (available or, with the reason, unavailable). Read-only, every value
 * bound; strings are copied so the statements can be finalised at once. */
#include "report_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static double col_num(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, dyt_err *e)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return dyt_errf(e, DYT_USAGE, "report: reading the store: %s", sqlite3_errmsg(db));
    return DYT_OK;
}

static int step_done(sqlite3 *db, sqlite3_stmt *st, int rc, dyt_err *e)
{
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return dyt_errf(e, DYT_USAGE, "report: reading the store: %s", sqlite3_errmsg(db));
    return DYT_OK;
}

/* Grows *arr (element size sz) to hold one more; returns the new slot. */
static void *grow(void *arr_p, size_t *n, size_t sz)
{
    void **arr = arr_p;
    void *p = realloc(*arr, (*n + 1) * sz);
    if (!p)
        return NULL;
    *arr = p;
    memset((char *)p + *n * sz, 0, sz);
    return (char *)p + (*n)++ * sz;
}

static int add_kv(rep_run *r, const char *k, const char *v)
{
    rep_kv *kv = grow(&r->mach, &r->n_mach, sizeof *kv);
    if (!kv)
        return -1;
    kv->key = strdup(k);
    kv->value = strdup(v ? v : "");
    return kv->key && kv->value ? 0 : -1;
}

static void fmt_bytes_or(char *buf, size_t n, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        snprintf(buf, n, "not reported");
    else
        dyt_fmt_bytes(buf, n, sqlite3_column_double(st, i));
}

static int load_run_row(sqlite3 *db, int64_t id, rep_run *r, dyt_err *e)
{
    static const char *sql =
        "SELECT r.label, r.status, r.started_at, r.ended_at, r.command_line, r.git_rev,"
        " r.version, r.compiler, r.cflags, r.build_type, r.suites, r.device, r.metric,"
        " r.settings, r.note, m.hostname || ' (' || m.cpu_model || ')', m.hostname,"
        " m.cpu_model, m.packages, m.cores, m.pus, m.numa_nodes, m.l1d_bytes, m.l2_bytes,"
        " m.l3_bytes, m.llc_bytes, m.llc_note, m.mem_bytes, m.mem_usable_bytes, m.mem_note,"
        " m.os, m.kernel, m.is_vm, m.vm_vendor, m.isa, length(m.topology_xml), m.fingerprint"
        " FROM runs r JOIN machines m ON m.id = r.machine_id WHERE r.id = ?1";
    sqlite3_stmt *st;
    if (prep(db, sql, &st, e))
        return DYT_USAGE;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE)
            return dyt_errf(e, DYT_USAGE, "report: run %" PRId64 " does not exist in the store",
                            id);
        return dyt_errf(e, DYT_USAGE, "report: reading the store: %s", sqlite3_errmsg(db));
    }
    r->id = id;
    char **dst[] = {&r->label,   &r->status,   &r->started_at, &r->ended_at, &r->command_line,
                    &r->git_rev, &r->version,  &r->compiler,   &r->cflags,   &r->build_type,
                    &r->suites,  &r->device,   &r->metric,     &r->settings, &r->note,
                    &r->machine, &r->hostname, &r->cpu_model};
    for (size_t i = 0; i < DYT_ARRAY_LEN(dst); i++)
        *dst[i] = col_dup(st, (int)i);

    char buf[512], b1[32], b2[32], b3[32];
    int bad = 0;
    bad |= add_kv(r, "Host", r->hostname);
    bad |= add_kv(r, "CPU", r->cpu_model);
    snprintf(buf, sizeof buf, "%d package(s), %d cores, %d hardware threads, %d NUMA node(s)",
             sqlite3_column_int(st, 18), sqlite3_column_int(st, 19), sqlite3_column_int(st, 20),
             sqlite3_column_int(st, 21));
    bad |= add_kv(r, "Topology", buf);
    fmt_bytes_or(b1, sizeof b1, st, 22);
    fmt_bytes_or(b2, sizeof b2, st, 23);
    fmt_bytes_or(b3, sizeof b3, st, 24);
    snprintf(buf, sizeof buf, "L1d %s/core, L2 %s/core, L3 %s (as reported)", b1, b2, b3);
    bad |= add_kv(r, "Caches", buf);
    fmt_bytes_or(b1, sizeof b1, st, 25);
    const unsigned char *llc_note = sqlite3_column_text(st, 26);
    snprintf(buf, sizeof buf, "%s%s%s", b1, llc_note ? "; " : "",
             llc_note ? (const char *)llc_note : "");
    bad |= add_kv(r, "Last-level cache used", buf);
    fmt_bytes_or(b1, sizeof b1, st, 27);
    fmt_bytes_or(b2, sizeof b2, st, 28);
    const unsigned char *mem_note = sqlite3_column_text(st, 29);
    snprintf(buf, sizeof buf, "%s reported, %s usable%s%s", b1, b2, mem_note ? "; " : "",
             mem_note ? (const char *)mem_note : "");
    bad |= add_kv(r, "Memory", buf);
    snprintf(buf, sizeof buf, "%s, kernel %s",
             sqlite3_column_text(st, 30) ? (const char *)sqlite3_column_text(st, 30) : "unknown OS",
             sqlite3_column_text(st, 31) ? (const char *)sqlite3_column_text(st, 31) : "unknown");
    bad |= add_kv(r, "OS", buf);
    if (sqlite3_column_int(st, 32)) {
        const unsigned char *v = sqlite3_column_text(st, 33);
        snprintf(buf, sizeof buf, "yes (%s)", v ? (const char *)v : "vendor unknown");
    } else {
        snprintf(buf, sizeof buf, "no");
    }
    bad |= add_kv(r, "Virtual machine", buf);
    bad |= add_kv(r, "ISA",
                  sqlite3_column_text(st, 34) ? (const char *)sqlite3_column_text(st, 34)
                                              : "not recorded");
    if (sqlite3_column_type(st, 35) == SQLITE_NULL)
        snprintf(buf, sizeof buf, "not stored");
    else
        snprintf(buf, sizeof buf, "hwloc XML stored (%d bytes)", sqlite3_column_int(st, 35));
    bad |= add_kv(r, "Topology export", buf);
    bad |= add_kv(r, "Fingerprint", (const char *)sqlite3_column_text(st, 36));
    sqlite3_finalize(st);
    return bad ? dyt_errf(e, DYT_USAGE, "report: out of memory") : DYT_OK;
}

static int load_attrs(sqlite3 *db, rep_run *r, dyt_err *e)
{
    sqlite3_stmt *st;
    if (prep(db,
             "SELECT a.key, a.value FROM machine_attrs a JOIN runs r ON r.machine_id = a.machine_id"
             " WHERE r.id = ?1 ORDER BY a.key",
             &st, e))
        return DYT_USAGE;
    sqlite3_bind_int64(st, 1, r->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rep_kv *kv = grow(&r->attrs, &r->n_attrs, sizeof *kv);
        if (!kv)
            break;
        kv->key = col_dup(st, 0);
        kv->value = col_dup(st, 1);
    }
    return step_done(db, st, rc, e);
}

static int load_roofs(sqlite3 *db, rep_run *r, dyt_err *e)
{
    sqlite3_stmt *st;
    if (prep(db,
             "SELECT threads, kind, bytes, gbps, gbps_median FROM rooflines WHERE run_id = ?1"
             " ORDER BY threads, kind",
             &st, e))
        return DYT_USAGE;
    sqlite3_bind_int64(st, 1, r->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rep_roof *x = grow(&r->roofs, &r->n_roofs, sizeof *x);
        if (!x)
            break;
        x->threads = sqlite3_column_int(st, 0);
        x->kind = col_dup(st, 1);
        x->bytes = sqlite3_column_int64(st, 2);
        x->gbps = sqlite3_column_double(st, 3);
        x->gbps_median = col_num(st, 4);
    }
    return step_done(db, st, rc, e);
}

static int load_cases(sqlite3 *db, rep_run *r, dyt_err *e)
{
    static const char *sql =
        "SELECT c.id, c.seq, c.layers, c.threads, c.suite, c.domain, c.model, c.model_norm,"
        " c.token_label, c.norm, c.variant, c.dtype, c.pass, c.cache, c.device, c.status,"
        " c.error, c.rows, c.cols, c.max_err, s.n, s.median_ns, s.ci_low_ns, s.ci_high_ns,"
        " s.gbps, s.roofline_pct"
        " FROM cases c LEFT JOIN stats s ON s.case_id = c.id WHERE c.run_id = ?1 ORDER BY c.seq";
    sqlite3_stmt *st;
    if (prep(db, sql, &st, e))
        return DYT_USAGE;
    sqlite3_bind_int64(st, 1, r->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rep_case *c = grow(&r->cases, &r->n_cases, sizeof *c);
        if (!c)
            break;
        c->id = sqlite3_column_int64(st, 0);
        c->seq = sqlite3_column_int(st, 1);
        c->layers = sqlite3_column_int(st, 2);
        c->threads = sqlite3_column_int(st, 3);
        char **s[] = {&c->suite,  &c->domain,  &c->model, &c->model_norm, &c->token_label,
                      &c->norm,   &c->variant, &c->dtype, &c->pass,       &c->cache,
                      &c->device, &c->status,  &c->error};
        for (size_t i = 0; i < DYT_ARRAY_LEN(s); i++)
            *s[i] = col_dup(st, 4 + (int)i);
        c->rows = sqlite3_column_int64(st, 17);
        c->cols = sqlite3_column_int64(st, 18);
        c->max_err = col_num(st, 19);
        c->has_stats = sqlite3_column_type(st, 20) != SQLITE_NULL;
        c->n = sqlite3_column_int(st, 20);
        c->median_ns = col_num(st, 21);
        c->ci_low_ns = col_num(st, 22);
        c->ci_high_ns = col_num(st, 23);
        c->gbps = col_num(st, 24);
        c->roofline_pct = col_num(st, 25);
        if (c->roofline_pct < 0) /* the store's "unknown" */
            c->roofline_pct = NAN;
    }
    return step_done(db, st, rc, e);
}

static int load_counters(sqlite3 *db, rep_run *r, dyt_err *e)
{
    static const char *sql =
        "SELECT k.source, k.name, count(k.value), count(*) - count(k.value),"
        " count(DISTINCT k.unavailable_reason), min(k.unavailable_reason), avg(k.per_element)"
        " FROM counters k JOIN cases c ON c.id = k.case_id WHERE c.run_id = ?1"
        " GROUP BY k.source, k.name ORDER BY k.source, k.name";
    sqlite3_stmt *st;
    if (prep(db, sql, &st, e))
        return DYT_USAGE;
    sqlite3_bind_int64(st, 1, r->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rep_counter *k = grow(&r->counters, &r->n_counters, sizeof *k);
        if (!k)
            break;
        k->source = col_dup(st, 0);
        k->name = col_dup(st, 1);
        k->n_avail = sqlite3_column_int(st, 2);
        k->n_unavail = sqlite3_column_int(st, 3);
        k->n_reasons = sqlite3_column_int(st, 4);
        k->reason = col_dup(st, 5);
        k->per_element = col_num(st, 6);
    }
    return step_done(db, st, rc, e);
}

int rep_load_run(sqlite3 *db, int64_t run_id, rep_run *r, dyt_err *e)
{
    memset(r, 0, sizeof *r);
    int rc = load_run_row(db, run_id, r, e);
    if (!rc)
        rc = load_attrs(db, r, e);
    if (!rc)
        rc = load_roofs(db, r, e);
    if (!rc)
        rc = load_cases(db, r, e);
    if (!rc)
        rc = load_counters(db, r, e);
    if (rc)
        rep_free_run(r);
    return rc;
}

void rep_free_run(rep_run *r)
{
    char **s[] = {&r->label,   &r->status,   &r->started_at, &r->ended_at, &r->command_line,
                  &r->git_rev, &r->version,  &r->compiler,   &r->cflags,   &r->build_type,
                  &r->suites,  &r->device,   &r->metric,     &r->settings, &r->note,
                  &r->machine, &r->hostname, &r->cpu_model};
    for (size_t i = 0; i < DYT_ARRAY_LEN(s); i++)
        free(*s[i]);
    for (size_t i = 0; i < r->n_mach; i++) {
        free(r->mach[i].key);
        free(r->mach[i].value);
    }
    for (size_t i = 0; i < r->n_attrs; i++) {
        free(r->attrs[i].key);
        free(r->attrs[i].value);
    }
    for (size_t i = 0; i < r->n_roofs; i++)
        free(r->roofs[i].kind);
    for (size_t i = 0; i < r->n_cases; i++) {
        rep_case *c = &r->cases[i];
        char *s2[] = {c->suite,  c->domain,  c->model, c->model_norm, c->token_label,
                      c->norm,   c->variant, c->dtype, c->pass,       c->cache,
                      c->device, c->status,  c->error};
        for (size_t j = 0; j < DYT_ARRAY_LEN(s2); j++)
            free(s2[j]);
    }
    for (size_t i = 0; i < r->n_counters; i++) {
        free(r->counters[i].source);
        free(r->counters[i].name);
        free(r->counters[i].reason);
    }
    free(r->mach);
    free(r->attrs);
    free(r->roofs);
    free(r->cases);
    free(r->counters);
    memset(r, 0, sizeof *r);
}

int rep_load_samples(sqlite3 *db, int64_t case_id, double **x, size_t *n, dyt_err *e)
{
    *x = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (prep(db, "SELECT ns FROM samples WHERE case_id = ?1 AND excluded = 0 ORDER BY idx", &st, e))
        return DYT_USAGE;
    sqlite3_bind_int64(st, 1, case_id);
    int rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            double *p = realloc(*x, cap * sizeof *p);
            if (!p) {
                sqlite3_finalize(st);
                free(*x);
                *x = NULL;
                *n = 0;
                return dyt_errf(e, DYT_USAGE, "report: out of memory reading samples");
            }
            *x = p;
        }
        (*x)[(*n)++] = sqlite3_column_double(st, 0);
    }
    return step_done(db, st, rc, e);
}

void rep_run_name(const rep_run *r, char *buf, size_t n)
{
    if (r->label && *r->label)
        snprintf(buf, n, "#%" PRId64 " %s", r->id, r->label);
    else
        snprintf(buf, n, "#%" PRId64, r->id);
}
