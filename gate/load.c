/* Loading a side for the gate: resolving the side's spec (a comma list of
 * ids, "latest", labels, "all:LABEL", each optionally in another store as
 * "path.db:..."), then every case of each run with the values of the
 * compared metric -- the raw samples not excluded by the runner, each with
 * its block (round), for time, or one counter value per element for a
 * counter metric. The runs of a side are pooled by case key: a sample's
 * replicate is (run index in the side, block), so two runs of one block
 * each give two replicates. A case is missing for the side only when no
 * run has it ok; it keeps the reason, so the report can say why it was
 * not compared rather than dropping it. Each run also keeps the
 * `interleave` session it was measured in (runs.lockstep_token and
 * runs.arm, "" when NULL): compare pairs the blocks of two sides by
 * (token, block). */
#include "gate.h"

#include <limits.h>
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
                           "r.machine_id, m.fingerprint, r.lockstep_token, r.arm FROM runs r "
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
    copy_col(st, 7, r->lockstep_token, sizeof r->lockstep_token);
    copy_col(st, 8, r->arm, sizeof r->arm);
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
                           "SELECT ns, block FROM samples WHERE case_id = ? AND excluded = 0 "
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
            if (v)
                c->x = v;
            int64_t *w = v ? realloc(c->rep, nc * sizeof *w) : NULL;
            if (!w) {
                sqlite3_finalize(st);
                return dyt_errf(e, DYT_USAGE, "out of memory");
            }
            c->rep = w;
            cap = nc;
        }
        int64_t block = sqlite3_column_int64(st, 1);
        if (block < 0 || block > INT32_MAX) {
            sqlite3_finalize(st);
            return dyt_errf(e, DYT_USAGE, "case %lld: sample with block %lld out of range",
                            (long long)case_id, (long long)block);
        }
        c->rep[c->n] = block;
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

/* Loads run id of s (header and cases) into out, which is zeroed first. */
static int load_run_id(store *s, int64_t id, const char *metric, gate_run *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    out->run_id = id;
    snprintf(out->db_path, sizeof out->db_path, "%s", store_path(s));
    sqlite3 *db = store_db(s);
    int rc;
    if ((rc = load_header(db, out, e)) != DYT_OK || (rc = load_cases(db, out, e)) != DYT_OK)
        return rc;
    int is_time = !strcmp(metric, "time");
    if (is_time && strcmp(out->metric, "time") != 0)
        return dyt_errf(e, DYT_USAGE,
                        "run %lld (%s) measured %s, not time: compare it with --metric %s",
                        (long long)out->run_id, out->db_path, out->metric, out->metric);
    for (size_t i = 0; i < out->n_cases; i++) {
        gate_case *c = &out->cases[i];
        int64_t case_id = (int64_t)c->n;
        c->n = 0;
        if (strcmp(c->status, "ok") != 0) {
            snprintf(c->missing, sizeof c->missing, "case %s%s%s", c->status,
                     c->error[0] ? ": " : "", c->error);
            continue;
        }
        rc = is_time ? load_samples(db, c, case_id, e) : load_counter(db, c, case_id, metric, e);
        if (rc != DYT_OK)
            return rc;
    }
    return DYT_OK;
}

static int has_values(const gate_case *c)
{
    return c->n > 0 && !c->missing[0];
}

/* Moves the cases of one (the run_index-th run of the side) into side,
 * pooling them by key; one is left without cases. A case of side takes at
 * most one case of each run (a run that repeats a key keeps its repeats
 * apart, as compare's matching does). */
static int merge_run(gate_run *side, gate_run *one, size_t run_index, dyt_err *e)
{
    gate_run_ref *refs = realloc(side->runs, (side->n_runs + 1) * sizeof *refs);
    if (!refs)
        return dyt_errf(e, DYT_USAGE, "out of memory");
    side->runs = refs;
    gate_run_ref *ref = &refs[side->n_runs++];
    memset(ref, 0, sizeof *ref);
    ref->run_id = one->run_id;
    snprintf(ref->db_path, sizeof ref->db_path, "%s", one->db_path);
    snprintf(ref->label, sizeof ref->label, "%s", one->label);
    snprintf(ref->git_rev, sizeof ref->git_rev, "%s", one->git_rev);
    snprintf(ref->status, sizeof ref->status, "%s", one->status);
    snprintf(ref->started_at, sizeof ref->started_at, "%s", one->started_at);
    snprintf(ref->machine_fp, sizeof ref->machine_fp, "%s", one->machine_fp);
    snprintf(ref->lockstep_token, sizeof ref->lockstep_token, "%s", one->lockstep_token);
    snprintf(ref->arm, sizeof ref->arm, "%s", one->arm);
    /* The side's header is its last run's. */
    side->run_id = one->run_id;
    snprintf(side->db_path, sizeof side->db_path, "%s", one->db_path);
    snprintf(side->label, sizeof side->label, "%s", one->label);
    snprintf(side->git_rev, sizeof side->git_rev, "%s", one->git_rev);
    snprintf(side->status, sizeof side->status, "%s", one->status);
    snprintf(side->metric, sizeof side->metric, "%s", one->metric);
    snprintf(side->started_at, sizeof side->started_at, "%s", one->started_at);
    side->machine_id = one->machine_id;
    snprintf(side->machine_fp, sizeof side->machine_fp, "%s", one->machine_fp);
    snprintf(side->lockstep_token, sizeof side->lockstep_token, "%s", one->lockstep_token);
    snprintf(side->arm, sizeof side->arm, "%s", one->arm);

    size_t n_old = side->n_cases;
    gate_case *v = realloc(side->cases, (n_old + one->n_cases + 1) * sizeof *v);
    char *taken = calloc(n_old + 1, 1);
    if (v)
        side->cases = v;
    if (!v || !taken) {
        free(taken);
        return dyt_errf(e, DYT_USAGE, "out of memory");
    }
    int64_t tag = (int64_t)run_index << 32;
    for (size_t i = 0; i < one->n_cases; i++) {
        gate_case *c = &one->cases[i];
        for (size_t k = 0; c->rep && k < c->n; k++)
            c->rep[k] |= tag;
        /* Runs of one plan list their cases in the same order: try the
         * same position first. */
        gate_case *m = NULL;
        if (i < n_old && !taken[i] && !strcmp(side->cases[i].key, c->key)) {
            m = &side->cases[i];
            taken[i] = 1;
        }
        for (size_t j = 0; !m && j < n_old; j++)
            if (!taken[j] && !strcmp(side->cases[j].key, c->key)) {
                m = &side->cases[j];
                taken[j] = 1;
            }
        if (!m) {
            side->cases[side->n_cases++] = *c;
        } else if (has_values(c) && has_values(m)) {
            double *x = realloc(m->x, (m->n + c->n) * sizeof *x);
            if (x)
                m->x = x;
            int64_t *r = x && c->rep ? realloc(m->rep, (m->n + c->n) * sizeof *r) : NULL;
            if (!r) {
                free(taken);
                return dyt_errf(e, DYT_USAGE, "out of memory");
            }
            m->rep = r;
            memcpy(m->x + m->n, c->x, c->n * sizeof *x);
            memcpy(m->rep + m->n, c->rep, c->n * sizeof *r);
            m->n += c->n;
            free(c->x);
            free(c->rep);
        } else if (has_values(c)) {
            /* The earlier runs had no value for it: this one's replaces
             * their reason. */
            free(m->x);
            free(m->rep);
            *m = *c;
        } else {
            /* No value here: keep what the earlier runs had (values, or
             * the first reason). */
            free(c->x);
            free(c->rep);
        }
        c->x = NULL;
        c->rep = NULL;
    }
    free(taken);
    free(one->cases);
    one->cases = NULL;
    one->n_cases = 0;
    return DYT_OK;
}

/* An item of a spec: PATH.db:REST with PATH an existing file (REST may be
 * all:LABEL, whose label may hold ':'), or REST alone in the default store.
 * Labels may contain ':' too, so a prefix is only taken as a path when the
 * file exists. */
static int split_item(const char *item, char *path, size_t n, const char **rest)
{
    if (!strncmp(item, "all:", 4))
        return 0;
    for (const char *p = strstr(item, ":all:"); p; p = strstr(p + 1, ":all:")) {
        size_t len = (size_t)(p - item);
        if (len == 0 || len >= n)
            continue;
        memcpy(path, item, len);
        path[len] = '\0';
        struct stat sb;
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
            *rest = p + 1;
            return 1;
        }
    }
    return split_db_spec(item, path, n, rest);
}

/* The ids of the runs REST names in s: one for an id/label/latest, every
 * complete run with the label, oldest first, for all:LABEL. */
static int resolve_ids(store *s, const char *rest, int64_t **ids, size_t *n, dyt_err *e)
{
    *ids = NULL;
    *n = 0;
    if (strncmp(rest, "all:", 4) != 0) {
        int64_t id;
        if (store_resolve_run(s, rest, &id, e) != DYT_OK)
            return DYT_USAGE;
        if (!(*ids = malloc(sizeof **ids)))
            return dyt_errf(e, DYT_USAGE, "out of memory");
        (*ids)[0] = id;
        *n = 1;
        return DYT_OK;
    }
    const char *label = rest + 4;
    if (!*label)
        return dyt_errf(e, DYT_USAGE, "'all:' needs a label (all:LABEL)");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(store_db(s),
                           "SELECT id FROM runs WHERE label = ? AND status = 'complete' "
                           "ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return dyt_errf(e, DYT_USAGE, "%s: %s", store_path(s), sqlite3_errmsg(store_db(s)));
    sqlite3_bind_text(st, 1, label, -1, SQLITE_STATIC);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            int64_t *v = realloc(*ids, nc * sizeof *v);
            if (!v) {
                sqlite3_finalize(st);
                return dyt_errf(e, DYT_USAGE, "out of memory");
            }
            *ids = v;
            cap = nc;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return dyt_errf(e, DYT_USAGE, "%s: %s", store_path(s), sqlite3_errmsg(store_db(s)));
    if (*n == 0)
        return dyt_errf(e, DYT_USAGE, "no complete run labelled '%s' in %s (spec '%s')", label,
                        store_path(s), rest);
    return DYT_OK;
}

/* Loads the runs of one item into side. */
static int load_item(store *default_db, const char *item, const char *metric, gate_run *side,
                     dyt_err *e)
{
    char path[512];
    const char *rest = item;
    store *s = default_db, *own = NULL;
    if (split_item(item, path, sizeof path, &rest)) {
        if (store_open(path, 0, &own, e) != DYT_OK)
            return DYT_USAGE;
        s = own;
    } else if (!default_db) {
        return dyt_errf(e, DYT_USAGE, "no store to resolve run '%s' in", item);
    }
    int64_t *ids = NULL;
    size_t n = 0;
    int rc = resolve_ids(s, rest, &ids, &n, e);
    char real[PATH_MAX];
    const char *where = realpath(store_path(s), real) ? real : store_path(s);
    for (size_t i = 0; i < n && rc == DYT_OK; i++) {
        for (size_t k = 0; k < side->n_runs; k++)
            if (side->runs[k].run_id == ids[i] && !strcmp(side->runs[k].db_path, where)) {
                rc = dyt_errf(e, DYT_USAGE,
                              "run %lld of %s is named twice ('%s'): its blocks would count "
                              "twice",
                              (long long)ids[i], store_path(s), item);
                break;
            }
        if (rc != DYT_OK)
            break;
        if (strcmp(metric, "time") != 0 && side->n_runs + (n - i) > 1) {
            rc = dyt_errf(e, DYT_USAGE,
                          "--metric %s takes one run per side ('%s' names more): counts are "
                          "exact, pooling runs adds nothing",
                          metric, item);
            break;
        }
        gate_run one;
        rc = load_run_id(s, ids[i], metric, &one, e);
        if (rc == DYT_OK) {
            /* The resolved path, so that one store named two ways is seen
             * as one (the duplicate check above). */
            size_t len = strlen(where);
            if (len < sizeof one.db_path)
                memcpy(one.db_path, where, len + 1);
            rc = merge_run(side, &one, side->n_runs, e);
        }
        gate_run_free(&one);
    }
    free(ids);
    if (own)
        store_close(own);
    return rc;
}

int gate_load_run(store *default_db, const char *spec, const char *metric, gate_run *out,
                  dyt_err *e)
{
    memset(out, 0, sizeof *out);
    char *copy = strdup(spec);
    if (!copy)
        return dyt_errf(e, DYT_USAGE, "out of memory");
    int rc = DYT_OK;
    /* strsep, not strtok: an empty item ("1,,2", "1,") is an error, not
     * skipped. */
    char *cur = copy;
    for (char *item = strsep(&cur, ","); item && rc == DYT_OK; item = strsep(&cur, ",")) {
        if (!*item)
            rc = dyt_errf(e, DYT_USAGE, "empty run in the list '%s'", spec);
        else
            rc = load_item(default_db, item, metric, out, e);
    }
    free(copy);
    if (rc == DYT_OK && out->n_runs == 0)
        rc = dyt_errf(e, DYT_USAGE, "no run given");
    if (rc != DYT_OK)
        gate_run_free(out);
    return rc;
}

int gate_spec_needs_default(const char *spec)
{
    char *copy = strdup(spec);
    if (!copy)
        return 1;
    int need = 0;
    char *cur = copy, path[512];
    for (char *item = strsep(&cur, ","); item && !need; item = strsep(&cur, ",")) {
        const char *rest;
        need = !*item || !split_item(item, path, sizeof path, &rest);
    }
    free(copy);
    return need;
}

void gate_run_free(gate_run *r)
{
    for (size_t i = 0; i < r->n_cases; i++) {
        free(r->cases[i].x);
        free(r->cases[i].rep);
    }
    free(r->cases);
    free(r->runs);
    memset(r, 0, sizeof *r);
}
