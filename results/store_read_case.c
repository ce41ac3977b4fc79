/* The results store's read API below a run: its cases with their
 * statistics joined, a case's samples, the run's counters and bandwidth
 * ceilings (per cache level) -- each one bound SELECT read through rows.c into the structs
 * the writers take (store.h). */
#include "store_int.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Cases and samples ------------------------------------------------------ */

static void fill_case(store_row *r, void *item)
{
    store_case_rec *x = item;
    store_case *c = &x->c;
    x->id = store_col_int(r);
    x->run_id = store_col_int(r);
    c->seq = (int)store_col_int(r);
    c->suite = store_col_text(r);
    c->domain = store_col_text(r);
    c->model = store_col_text(r);
    c->model_norm = store_col_text(r);
    c->token_label = store_col_text(r);
    c->layers = (int)store_col_int(r);
    c->norm = store_col_text(r);
    c->variant = store_col_text(r);
    c->dtype = store_col_text(r);
    c->pass = store_col_text(r);
    c->rows = store_col_int(r);
    c->cols = store_col_int(r);
    c->threads = (int)store_col_int(r);
    c->cache = store_col_text(r);
    c->device = store_col_text(r);
    c->alpha = store_col_real(r);
    c->eps = store_col_real(r);
    c->has_beta = (int)store_col_int(r);
    c->affine = (int)store_col_int(r);
    c->status = store_col_text(r);
    c->error = store_col_text(r);
    c->max_err = store_col_real(r);
    c->bytes = (uint64_t)store_col_int(r);
    c->batch = (int)store_col_int(r);
    c->buffer_sets = (int)store_col_int(r);
    c->stop_reason = store_col_text(r);
    c->warmup_ns = (uint64_t)store_col_int(r);
    c->wall_ns = (uint64_t)store_col_int(r);
    c->started_at = store_col_text(r);
    c->ended_at = store_col_text(r);
    c->note = store_col_text(r);
    c->max_ulps = store_col_real(r);
    c->err_output = store_col_text(r);
    c->err_tol = store_col_real(r);
    store_stats *t = &x->st;
    x->has_stats = (int)store_col_int(r);
    t->n = (int)store_col_int(r);
    t->n_excluded = (int)store_col_int(r);
    double *real[] = {&t->median_ns,    &t->ci_low_ns, &t->ci_high_ns,  &t->mean_ns,
                      &t->stddev_ns,    &t->min_ns,    &t->max_ns,      &t->mad_ns,
                      &t->rel_ci_width, &t->gbps,      &t->roofline_pct};
    for (size_t i = 0; i < DYT_ARRAY_LEN(real); i++)
        *real[i] = store_col_real(r);
    t->ceiling_level = store_col_text(r);
    t->ceiling_pct = store_col_real(r);
}

int store_load_cases(store *s, int64_t run_id, store_case_list *out, dyt_err *e)
{
    static const char sql[] =
        "SELECT c.id, c.run_id, c.seq, c.suite, c.domain, c.model, c.model_norm, c.token_label,"
        " c.layers, c.norm, c.variant, c.dtype, c.pass, c.rows, c.cols, c.threads, c.cache,"
        " c.device, c.alpha, c.eps, c.has_beta, c.affine, c.status, c.error, c.max_err, c.bytes,"
        " c.batch, c.buffer_sets, c.stop_reason, c.warmup_ns, c.wall_ns, c.started_at,"
        " c.ended_at, c.note, c.max_ulps, c.err_output, c.err_tol, s.case_id IS NOT NULL, s.n,"
        " s.n_excluded, s.median_ns, s.ci_low_ns, s.ci_high_ns, s.mean_ns, s.stddev_ns, s.min_ns,"
        " s.max_ns, s.mad_ns, s.rel_ci_width, s.gbps, s.roofline_pct, s.ceiling_level,"
        " s.ceiling_pct"
        " FROM cases c LEFT JOIN stats s ON s.case_id = c.id WHERE c.run_id = ?1 ORDER BY c.seq";
    memset(out, 0, sizeof *out);
    void *v = NULL;
    int rc = store_collect_by_id(s, sql, run_id, "reading cases", sizeof *out->v, fill_case, &v,
                                 &out->n, &out->text, e);
    out->v = v;
    return rc;
}

void store_case_list_free(store_case_list *l)
{
    store_list_free(l->v, l->text);
    memset(l, 0, sizeof *l);
}

static void fill_sample(store_row *r, void *item)
{
    store_sample *x = item;
    x->ns = store_col_real(r);
    x->flags = (int)store_col_int(r);
    x->excluded = (int)store_col_int(r);
    int64_t block = store_col_int(r);
    x->block = block >= 0 && block <= INT_MAX ? (int)block : -1; /* -1: not a round */
}

int store_load_samples(store *s, int64_t case_id, int which, store_sample **out, size_t *n,
                       dyt_err *e)
{
    static const char all[] =
        "SELECT ns, flags, excluded, block FROM samples WHERE case_id = ?1 ORDER BY idx";
    static const char kept[] = "SELECT ns, flags, excluded, block FROM samples WHERE case_id = ?1"
                               " AND excluded = 0 ORDER BY idx";
    store_text *none = NULL; /* samples have no strings */
    void *v = NULL;
    int rc = store_collect_by_id(s, which == STORE_SAMPLES_ALL ? all : kept, case_id,
                                 "reading samples", sizeof **out, fill_sample, &v, n, &none, e);
    *out = v;
    return rc;
}

/* Counters --------------------------------------------------------------- */

typedef struct {
    int64_t case_id;
    store_counter k;
} counter_row;

static void fill_counter(store_row *r, void *item)
{
    counter_row *x = item;
    x->case_id = store_col_int(r);
    x->k.source = store_col_text(r);
    x->k.name = store_col_text(r);
    x->k.available = (int)store_col_int(r);
    x->k.value = store_col_real(r);
    x->k.per_element = store_col_real(r);
    x->k.unavailable_reason = store_col_text(r);
}

int store_load_counters(store *s, int64_t run_id, store_counter_list *out, dyt_err *e)
{
    static const char sql[] =
        "SELECT k.case_id, k.source, k.name, k.value IS NOT NULL, k.value, k.per_element,"
        " k.unavailable_reason FROM counters k JOIN cases c ON c.id = k.case_id"
        " WHERE c.run_id = ?1 ORDER BY k.case_id, k.source, k.name";
    memset(out, 0, sizeof *out);
    void *v = NULL;
    size_t n;
    int rc = store_collect_by_id(s, sql, run_id, "reading counters", sizeof(counter_row),
                                 fill_counter, &v, &n, &out->text, e);
    if (rc != DYT_OK)
        return rc;
    /* Apart: store_put_case takes the counters of a case as one array. */
    const counter_row *rows = v;
    out->v = malloc((n ? n : 1) * sizeof *out->v);
    out->case_id = malloc((n ? n : 1) * sizeof *out->case_id);
    if (!out->v || !out->case_id) {
        free(v);
        store_counter_list_free(out);
        return dyt_errf(e, DYT_RESOURCE, "%s: reading counters: out of memory", s->path);
    }
    for (size_t i = 0; i < n; i++) {
        out->v[i] = rows[i].k;
        out->case_id[i] = rows[i].case_id;
    }
    out->n = n;
    free(v);
    return DYT_OK;
}

void store_counter_list_free(store_counter_list *l)
{
    free(l->case_id);
    store_list_free(l->v, l->text);
    memset(l, 0, sizeof *l);
}

const store_counter *store_counters_of(const store_counter_list *l, int64_t case_id, size_t *n)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) { /* first entry with case_id >= the one asked */
        size_t mid = lo + (hi - lo) / 2;
        if (l->case_id[mid] < case_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < l->n && l->case_id[end] == case_id)
        end++;
    *n = end - lo;
    return *n ? &l->v[lo] : NULL;
}

/* Ceilings --------------------------------------------------------------- */

static void fill_ceiling(store_row *r, void *item)
{
    store_ceiling *x = item;
    x->level = store_col_text(r);
    x->threads = (int)store_col_int(r);
    x->kind = store_col_text(r);
    x->bytes = (uint64_t)store_col_int(r);
    x->gbps = store_col_real(r);
    x->gbps_median = store_col_real(r);
    x->method = store_col_text(r);
}

int store_load_ceilings(store *s, int64_t run_id, store_ceiling_list *out, dyt_err *e)
{
    /* Levels from the nearest cache out, not alphabetically. */
    static const char sql[] =
        "SELECT level, threads, kind, bytes, gbps, gbps_median, method FROM ceilings"
        " WHERE run_id = ?1 ORDER BY threads, CASE level WHEN 'l1' THEN 0 WHEN 'l2' THEN 1"
        " WHEN 'llc' THEN 2 ELSE 3 END, kind";
    memset(out, 0, sizeof *out);
    void *v = NULL;
    int rc = store_collect_by_id(s, sql, run_id, "reading bandwidth ceilings", sizeof *out->v,
                                 fill_ceiling, &v, &out->n, &out->text, e);
    out->v = v;
    return rc;
}

void store_ceiling_list_free(store_ceiling_list *l)
{
    store_list_free(l->v, l->text);
    memset(l, 0, sizeof *l);
}
