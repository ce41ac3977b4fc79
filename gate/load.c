/* Loading a run for the gate: resolving the run spec (id, "latest", label,
 * or "path.db:run" in another store), then every case of the run with the
 * values of the compared metric -- the raw samples not excluded by the
 * runner for time, or one counter value per element for a counter metric.
 * A case without a value keeps the reason, so the report can say why it
 * was not compared rather than dropping it. */
#include "gate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

/* "path.db:run": a ':' after which a run spec follows and before which an
 * existing file lies. Labels may contain ':' too, so a spec is only taken
 * as a path when the file exists. */
static int split_db_spec(const char *spec, char *path, size_t n, const char **run)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1] || (size_t)(colon - spec) >= n)
        return 0;
    memcpy(path, spec, (size_t)(colon - spec));
    path[colon - spec] = '\0';
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    *run = colon + 1;
    return 1;
}

static int load_header(sqlite3 *db, gate_run *r, dyt_err *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT r.label, r.git_rev, r.status, r.metric, r.started_at, "
                           "r.machine_id, m.fingerprint FROM runs r "
                           "JOIN machines m ON m.id = r.machine_id WHERE r.id = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return dyt_errf(e, DYT_USAGE, "%s: %s", r->db_path, sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, r->run_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return dyt_errf(e, DYT_USAGE, "%s: no run %lld", r->db_path, (long long)r->run_id);
    }
    copy_col(st, 0, r->label, sizeof r->label);
    copy_col(st, 1, r->git_rev, sizeof r->git_rev);
    copy_col(st, 2, r->status, sizeof r->status);
    copy_col(st, 3, r->metric, sizeof r->metric);
    copy_col(st, 4, r->started_at, sizeof r->started_at);
    r->machine_id = sqlite3_column_int64(st, 5);
    copy_col(st, 6, r->machine_fp, sizeof r->machine_fp);
    sqlite3_finalize(st);
    return DYT_OK;
}

static int load_cases(sqlite3 *db, gate_run *r, dyt_err *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, suite, model, norm, variant, dtype, pass, rows, cols, "
                           "threads, cache, device, status, error FROM cases WHERE run_id = ? "
                           "ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return dyt_errf(e, DYT_USAGE, "%s: %s", r->db_path, sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, r->run_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->n_cases == cap) {
            size_t nc = cap ? 2 * cap : 64;
            gate_case *v = realloc(r->cases, nc * sizeof *v);
            if (!v) {
                sqlite3_finalize(st);
                return dyt_errf(e, DYT_USAGE, "out of memory");
            }
            r->cases = v;
            cap = nc;
        }
        gate_case *c = &r->cases[r->n_cases++];
        memset(c, 0, sizeof *c);
        /* The case id is kept in the value slot until values are loaded. */
        c->n = (size_t)sqlite3_column_int64(st, 0);
        copy_col(st, 1, c->suite, sizeof c->suite);
        copy_col(st, 2, c->model, sizeof c->model);
        copy_col(st, 3, c->norm, sizeof c->norm);
        copy_col(st, 4, c->variant, sizeof c->variant);
        copy_col(st, 5, c->dtype, sizeof c->dtype);
        copy_col(st, 6, c->pass, sizeof c->pass);
        c->rows = sqlite3_column_int64(st, 7);
        c->cols = sqlite3_column_int64(st, 8);
        c->threads = sqlite3_column_int(st, 9);
        copy_col(st, 10, c->cache, sizeof c->cache);
        copy_col(st, 11, c->device, sizeof c->device);
        copy_col(st, 12, c->status, sizeof c->status);
        copy_col(st, 13, c->error, sizeof c->error);
        snprintf(c->key, sizeof c->key, "%s/%s/%s/%s/%s/%s/%lldx%lld/t%d/%s/%s", c->suite, c->model,
                 c->norm, c->variant, c->dtype, c->pass, (long long)c->rows, (long long)c->cols,
                 c->threads, c->cache, c->device);
        snprintf(c->cal_key, sizeof c->cal_key, "%s/%s/%s/%s/%s/%lld/%lld/%d/%s", c->model, c->norm,
                 c->variant, c->dtype, c->pass, (long long)c->rows, (long long)c->cols, c->threads,
                 c->cache);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return dyt_errf(e, DYT_USAGE, "%s: reading cases: %s", r->db_path, sqlite3_errmsg(db));
    return DYT_OK;
}

static int load_samples(sqlite3 *db, gate_case *c, int64_t case_id, dyt_err *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT ns FROM samples WHERE case_id = ? AND excluded = 0 "
                           "ORDER BY idx",
                           -1, &st, NULL) != SQLITE_OK)
        return dyt_errf(e, DYT_USAGE, "%s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, case_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (c->n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            double *v = realloc(c->x, nc * sizeof *v);
            if (!v) {
                sqlite3_finalize(st);
                return dyt_errf(e, DYT_USAGE, "out of memory");
            }
            c->x = v;
            cap = nc;
        }
        c->x[c->n++] = sqlite3_column_double(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return dyt_errf(e, DYT_USAGE, "reading samples: %s", sqlite3_errmsg(db));
    if (c->n == 0)
        snprintf(c->missing, sizeof c->missing, "no samples stored");
    return DYT_OK;
}

/* "instructions" matches the callgrind/cachegrind count and PAPI's
 * PAPI_TOT_INS; any other name is matched exactly. A deterministic source
 * (callgrind, cachegrind) is preferred when a case has both. */
static int load_counter(sqlite3 *db, gate_case *c, int64_t case_id, const char *metric, dyt_err *e)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT source, per_element, value, unavailable_reason FROM counters "
                           "WHERE case_id = ?1 AND (name = ?2 OR (?2 = 'instructions' AND "
                           "name = 'PAPI_TOT_INS')) "
                           "ORDER BY source IN ('callgrind','cachegrind') DESC, source",
                           -1, &st, NULL) != SQLITE_OK)
        return dyt_errf(e, DYT_USAGE, "%s", sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, case_id);
    sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
    int rc, found = 0;
    char why[160] = "";
    while (!found && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 2) == SQLITE_NULL) {
            if (!why[0])
                snprintf(
                    why, sizeof why, "%s %s unavailable: %s", sqlite3_column_text(st, 0), metric,
                    sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "?");
            continue;
        }
        double v = sqlite3_column_type(st, 1) == SQLITE_NULL ? sqlite3_column_double(st, 2)
                                                             : sqlite3_column_double(st, 1);
        c->x = malloc(sizeof *c->x);
        if (!c->x) {
            sqlite3_finalize(st);
            return dyt_errf(e, DYT_USAGE, "out of memory");
        }
        c->x[0] = v;
        c->n = 1;
        copy_col(st, 0, c->source, sizeof c->source);
        found = 1;
    }
    sqlite3_finalize(st);
    if (!found)
        snprintf(c->missing, sizeof c->missing, "%s", why[0] ? why : "counter not stored");
    return DYT_OK;
}

static int load_from(store *s, const char *spec, const char *metric, gate_run *out, dyt_err *e)
{
    int rc = store_resolve_run(s, spec, &out->run_id, e);
    if (rc != DYT_OK)
        return DYT_USAGE;
    snprintf(out->db_path, sizeof out->db_path, "%s", store_path(s));
    sqlite3 *db = store_db(s);
    if ((rc = load_header(db, out, e)) != DYT_OK || (rc = load_cases(db, out, e)) != DYT_OK)
        return rc;
    int is_time = !strcmp(metric, "time");
    if (is_time && strcmp(out->metric, "time") != 0)
        return dyt_errf(e, DYT_USAGE,
                        "run %lld (%s) measured %s, not time: compare it with --metric %s",
                        (long long)out->run_id, out->db_path, out->metric, out->metric);
    for (size_t i = 0; i < out->n_cases; i++) {
        gate_case *c = &out->cases[i];
        int64_t id = (int64_t)c->n;
        c->n = 0;
        if (strcmp(c->status, "ok") != 0) {
            snprintf(c->missing, sizeof c->missing, "case %s%s%s", c->status,
                     c->error[0] ? ": " : "", c->error);
            continue;
        }
        rc = is_time ? load_samples(db, c, id, e) : load_counter(db, c, id, metric, e);
        if (rc != DYT_OK)
            return rc;
    }
    return DYT_OK;
}

int gate_load_run(store *default_db, const char *spec, const char *metric, gate_run *out,
                  dyt_err *e)
{
    memset(out, 0, sizeof *out);
    char path[512];
    const char *run_spec;
    int rc;
    if (split_db_spec(spec, path, sizeof path, &run_spec)) {
        store *s2;
        if (store_open(path, 0, &s2, e) != DYT_OK)
            return DYT_USAGE;
        rc = load_from(s2, run_spec, metric, out, e);
        store_close(s2);
    } else {
        if (!default_db)
            return dyt_errf(e, DYT_USAGE, "no store to resolve run '%s' in", spec);
        rc = load_from(default_db, spec, metric, out, e);
    }
    if (rc != DYT_OK)
        gate_run_free(out);
    return rc;
}

void gate_run_free(gate_run *r)
{
    for (size_t i = 0; i < r->n_cases; i++)
        free(r->cases[i].x);
    free(r->cases);
    memset(r, 0, sizeof *r);
}
