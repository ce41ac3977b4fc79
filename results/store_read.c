/* The results store's read API: a run, the runs matching a filter, a
 * machine, a run's cases (statistics joined), a case's samples, a run's
 * counters and bandwidth ceilings, a machine's calibrations. Each loader is
 * one bound SELECT whose rows become plain structs (store.h); their strings
 * are copied into a store_text owned by what is returned, so the statement
 * is finalised before the caller sees anything. Reads only: nothing here
 * writes, and none of it needs the file to be writable. */
#include "store_int.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Strings of a loaded object: chunks of copies, freed together. */
struct store_text {
    struct store_text *next;
    size_t used, cap;
    char buf[];
};

static void text_free(store_text *t)
{
    while (t) {
        store_text *next = t->next;
        free(t);
        t = next;
    }
}

/* A NUL-terminated copy of the n bytes at s in *t; NULL when out of memory. */
static const char *text_copy(store_text **t, const char *s, size_t n)
{
    if (!*t || (*t)->cap - (*t)->used < n + 1) {
        size_t cap = n + 1 > 4096 ? n + 1 : 4096;
        store_text *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = *t;
        c->used = 0;
        c->cap = cap;
        *t = c;
    }
    char *p = (*t)->buf + (*t)->used;
    memcpy(p, s, n);
    p[n] = 0;
    (*t)->used += n + 1;
    return p;
}

/* The row being read: its statement, where its strings go, and whether a
 * copy failed. Columns are read in SELECT order through next. */
typedef struct {
    sqlite3_stmt *st;
    store_text **text;
    int next;
    int oom;
} row;

static const char *col_text(row *r)
{
    int i = r->next++;
    const unsigned char *v = sqlite3_column_text(r->st, i);
    if (!v)
        return NULL;
    const char *c = text_copy(r->text, (const char *)v, (size_t)sqlite3_column_bytes(r->st, i));
    r->oom |= !c;
    return c;
}

static double col_real(row *r)
{
    int i = r->next++;
    return sqlite3_column_type(r->st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(r->st, i);
}

static int64_t col_int(row *r)
{
    return sqlite3_column_int64(r->st, r->next++);
}

static int prepare(store *s, const char *sql, const char *what, sqlite3_stmt **st, dyt_err *e)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return dyt_errf(e, DYT_USAGE, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    return DYT_OK;
}

typedef void (*fill_fn)(row *r, void *item);

/* Steps the bound statement st to its end, one item of `size` bytes per
 * row filled by fill, into *v (grown, *n items), strings into *text.
 * Finalises st; on failure frees what it gathered. */
static int collect(store *s, sqlite3_stmt *st, const char *what, size_t size, fill_fn fill,
                   void **v, size_t *n, store_text **text, dyt_err *e)
{
    size_t cap = 0;
    row r = {.st = st, .text = text};
    int rc;
    *v = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            void *p = realloc(*v, nc * size);
            if (!p) {
                r.oom = 1;
                break;
            }
            *v = p;
            cap = nc;
        }
        void *item = (char *)*v + *n * size;
        memset(item, 0, size);
        r.next = 0;
        fill(&r, item);
        (*n)++;
        if (r.oom)
            break;
    }
    int ret = DYT_OK;
    if (r.oom)
        ret = dyt_errf(e, DYT_USAGE, "%s: %s: out of memory", s->path, what);
    else if (rc != SQLITE_DONE)
        ret = dyt_errf(e, DYT_USAGE, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    if (ret != DYT_OK) {
        free(*v);
        *v = NULL;
        *n = 0;
        text_free(*text);
        *text = NULL;
    }
    return ret;
}

/* collect() over the rows of sql, its ?1 bound to id. */
static int collect_by_id(store *s, const char *sql, int64_t id, const char *what, size_t size,
                         fill_fn fill, void **v, size_t *n, store_text **text, dyt_err *e)
{
    sqlite3_stmt *st;
    if (prepare(s, sql, what, &st, e) != DYT_OK)
        return DYT_USAGE;
    sqlite3_bind_int64(st, 1, id);
    return collect(s, st, what, size, fill, v, n, text, e);
}

/* Every loaded list owns its items and their strings. */
static void free_list(void *v, store_text *text)
{
    free(v);
    text_free(text);
}

/* Runs ------------------------------------------------------------------- */

/* The newest `limit` runs (all when ?5 is -1) that match ?1..?4 (NULL:
 * any), oldest first. Columns in store_run's order. */
static const char run_sql[] =
    "SELECT * FROM (SELECT r.id, r.machine_id, r.pid, r.uuid, r.label, r.status, r.started_at,"
    " r.ended_at, r.command_line, r.git_rev, r.version, r.compiler, r.cflags, r.build_type,"
    " r.suites, r.suite_hash, r.device, r.metric, r.settings, r.host, r.boot_id, r.note,"
    " r.lockstep_token, r.arm, r.campaign, r.shard_index, r.shard_count, m.fingerprint,"
    " (SELECT count(*) FROM cases c WHERE c.run_id = r.id)"
    " FROM runs r JOIN machines m ON m.id = r.machine_id"
    " WHERE (?1 IS NULL OR r.id = ?1) AND (?2 IS NULL OR r.label = ?2)"
    " AND (?3 IS NULL OR r.status = ?3) AND (?4 IS NULL OR r.campaign = ?4)"
    " ORDER BY r.id DESC LIMIT ?5) ORDER BY 1";

static void fill_run(row *r, void *item)
{
    store_run *x = item;
    x->id = col_int(r);
    x->machine_id = col_int(r);
    x->pid = col_int(r);
    const char **text[] = {&x->uuid,       &x->label,        &x->status,     &x->started_at,
                           &x->ended_at,   &x->command_line, &x->git_rev,    &x->version,
                           &x->compiler,   &x->cflags,       &x->build_type, &x->suites,
                           &x->suite_hash, &x->device,       &x->metric,     &x->settings,
                           &x->host,       &x->boot_id,      &x->note,       &x->lockstep_token,
                           &x->arm,        &x->campaign};
    for (size_t i = 0; i < DYT_ARRAY_LEN(text); i++)
        *text[i] = col_text(r);
    x->shard_index = (int)col_int(r);
    x->shard_count = (int)col_int(r);
    x->machine_fingerprint = col_text(r);
    x->n_cases = (size_t)col_int(r);
}

static int bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

int store_find_runs(store *s, const store_run_filter *f, store_run_list *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    static const store_run_filter any = {0};
    if (!f)
        f = &any;
    sqlite3_stmt *st;
    if (prepare(s, run_sql, "reading runs", &st, e) != DYT_OK)
        return DYT_USAGE;
    int rc = f->id > 0 ? sqlite3_bind_int64(st, 1, f->id) : sqlite3_bind_null(st, 1);
    if (rc == SQLITE_OK)
        rc = bind_opt_text(st, 2, f->label);
    if (rc == SQLITE_OK)
        rc = bind_opt_text(st, 3, f->status);
    if (rc == SQLITE_OK)
        rc = bind_opt_text(st, 4, f->campaign);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, f->newest > 0 ? (sqlite3_int64)f->newest : -1);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return dyt_errf(e, DYT_USAGE, "%s: reading runs: %s", s->path, sqlite3_errmsg(s->db));
    }
    void *v = NULL;
    rc = collect(s, st, "reading runs", sizeof *out->v, fill_run, &v, &out->n, &out->text, e);
    out->v = v;
    return rc;
}

int store_load_run(store *s, int64_t run_id, store_run *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    const store_run_filter f = {.id = run_id};
    store_run_list l;
    int rc = store_find_runs(s, &f, &l, e);
    if (rc != DYT_OK)
        return rc;
    if (run_id <= 0 || l.n != 1) {
        store_run_list_free(&l);
        return dyt_errf(e, DYT_USAGE, "run %lld does not exist in %s", (long long)run_id, s->path);
    }
    *out = l.v[0];
    out->text = l.text;
    free(l.v);
    return DYT_OK;
}

void store_run_free(store_run *r)
{
    text_free(r->text);
    memset(r, 0, sizeof *r);
}

void store_run_list_free(store_run_list *l)
{
    free_list(l->v, l->text);
    memset(l, 0, sizeof *l);
}

int store_resolve_run(store *s, const char *spec, int64_t *run_id, dyt_err *e)
{
    if (!spec || !spec[0])
        return dyt_errf(e, DYT_USAGE, "no run given (an id, a label or 'latest')");
    sqlite3_stmt *st = NULL;
    const char *sql;
    char *end;
    errno = 0;
    long long num = strtoll(spec, &end, 10);
    int numeric = *end == 0 && errno == 0 && num > 0;
    if (!strcmp(spec, "latest"))
        sql = "SELECT max(id) FROM runs HAVING count(*) > 0";
    else if (numeric)
        /* A label that looks like a number still resolves, after the id. */
        sql = "SELECT id FROM runs WHERE id = ?1"
              " UNION ALL SELECT max(id) FROM runs WHERE label = ?2 HAVING count(*) > 0"
              " LIMIT 1";
    else
        sql = "SELECT max(id) FROM runs WHERE label = ?2 HAVING count(*) > 0";
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && numeric)
        rc = sqlite3_bind_int64(st, 1, num);
    if (rc == SQLITE_OK && strcmp(spec, "latest") != 0)
        rc = sqlite3_bind_text(st, 2, spec, -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *run_id = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
            return DYT_OK;
        }
    }
    int ret = rc == SQLITE_DONE ? dyt_errf(e, DYT_USAGE, "no run '%s' in %s", spec, s->path)
                                : dyt_errf(e, DYT_USAGE, "%s: %s", s->path, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return ret;
}

/* Machines --------------------------------------------------------------- */

static void copy_text(char *dst, size_t n, sqlite3_stmt *st, int i)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    snprintf(dst, n, "%s", v ? (const char *)v : "");
}

static int load_machine_row(store *s, int64_t machine_id, machine_info *m, dyt_err *e)
{
    static const char sql[] =
        "SELECT fingerprint, hostname, cpu_model, llc_note, mem_note, os, kernel, vm_vendor, isa,"
        " packages, cores, pus, numa_nodes, l1d_bytes, l2_bytes, l3_bytes, llc_bytes, mem_bytes,"
        " mem_usable_bytes, is_vm, topology_xml FROM machines WHERE id = ?1";
    sqlite3_stmt *st;
    if (prepare(s, sql, "reading the machine", &st, e) != DYT_OK)
        return DYT_USAGE;
    sqlite3_bind_int64(st, 1, machine_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = rc == SQLITE_DONE
                 ? dyt_errf(e, DYT_USAGE, "%s: no machine %lld", s->path, (long long)machine_id)
                 : dyt_errf(e, DYT_USAGE, "%s: reading the machine: %s", s->path,
                            sqlite3_errmsg(s->db));
        sqlite3_finalize(st);
        return rc;
    }
    struct {
        char *dst;
        size_t n;
    } text[] = {{m->fingerprint, sizeof m->fingerprint},
                {m->hostname, sizeof m->hostname},
                {m->cpu_model, sizeof m->cpu_model},
                {m->llc_note, sizeof m->llc_note},
                {m->mem_note, sizeof m->mem_note},
                {m->os, sizeof m->os},
                {m->kernel, sizeof m->kernel},
                {m->vm_vendor, sizeof m->vm_vendor},
                {m->isa, sizeof m->isa}};
    int i = 0;
    for (size_t k = 0; k < DYT_ARRAY_LEN(text); k++)
        copy_text(text[k].dst, text[k].n, st, i++);
    m->packages = sqlite3_column_int(st, i++);
    m->cores = sqlite3_column_int(st, i++);
    m->pus = sqlite3_column_int(st, i++);
    m->numa_nodes = sqlite3_column_int(st, i++);
    uint64_t *bytes[] = {&m->l1d_bytes, &m->l2_bytes,  &m->l3_bytes,
                         &m->llc_bytes, &m->mem_bytes, &m->mem_usable_bytes};
    for (size_t k = 0; k < DYT_ARRAY_LEN(bytes); k++)
        *bytes[k] = (uint64_t)sqlite3_column_int64(st, i++);
    m->is_vm = sqlite3_column_int(st, i++);
    rc = DYT_OK;
    if (sqlite3_column_type(st, i) != SQLITE_NULL) {
        size_t len = (size_t)sqlite3_column_bytes(st, i);
        const void *blob = sqlite3_column_blob(st, i);
        if (!(m->topology_xml = malloc(len + 1)))
            rc = dyt_errf(e, DYT_USAGE, "%s: reading the machine: out of memory", s->path);
        else {
            if (len)
                memcpy(m->topology_xml, blob, len);
            m->topology_xml[len] = 0;
            m->topology_xml_len = len;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int load_machine_attrs(store *s, int64_t machine_id, machine_info *m, dyt_err *e)
{
    sqlite3_stmt *st;
    if (prepare(s, "SELECT key, value FROM machine_attrs WHERE machine_id = ?1 ORDER BY key",
                "reading the machine's attributes", &st, e) != DYT_OK)
        return DYT_USAGE;
    sqlite3_bind_int64(st, 1, machine_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (m->n_attrs == cap) {
            size_t nc = cap ? 2 * cap : 8;
            machine_attr *a = realloc(m->attrs, nc * sizeof *a);
            if (!a) {
                sqlite3_finalize(st);
                return dyt_errf(e, DYT_USAGE, "%s: reading the machine: out of memory", s->path);
            }
            m->attrs = a;
            cap = nc;
        }
        machine_attr *a = &m->attrs[m->n_attrs++];
        copy_text(a->key, sizeof a->key, st, 0);
        copy_text(a->value, sizeof a->value, st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return dyt_errf(e, DYT_USAGE, "%s: reading the machine's attributes: %s", s->path,
                        sqlite3_errmsg(s->db));
    return DYT_OK;
}

int store_load_machine(store *s, int64_t machine_id, machine_info *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    int rc = load_machine_row(s, machine_id, out, e);
    if (rc == DYT_OK)
        rc = load_machine_attrs(s, machine_id, out, e);
    if (rc != DYT_OK)
        machine_free(out);
    return rc;
}

/* Cases and samples ------------------------------------------------------ */

static void fill_case(row *r, void *item)
{
    store_case_rec *x = item;
    store_case *c = &x->c;
    x->id = col_int(r);
    x->run_id = col_int(r);
    c->seq = (int)col_int(r);
    c->suite = col_text(r);
    c->domain = col_text(r);
    c->model = col_text(r);
    c->model_norm = col_text(r);
    c->token_label = col_text(r);
    c->layers = (int)col_int(r);
    c->norm = col_text(r);
    c->variant = col_text(r);
    c->dtype = col_text(r);
    c->pass = col_text(r);
    c->rows = col_int(r);
    c->cols = col_int(r);
    c->threads = (int)col_int(r);
    c->cache = col_text(r);
    c->device = col_text(r);
    c->alpha = col_real(r);
    c->eps = col_real(r);
    c->has_beta = (int)col_int(r);
    c->affine = (int)col_int(r);
    c->status = col_text(r);
    c->error = col_text(r);
    c->max_err = col_real(r);
    c->bytes = (uint64_t)col_int(r);
    c->batch = (int)col_int(r);
    c->buffer_sets = (int)col_int(r);
    c->stop_reason = col_text(r);
    c->warmup_ns = (uint64_t)col_int(r);
    c->wall_ns = (uint64_t)col_int(r);
    c->started_at = col_text(r);
    c->ended_at = col_text(r);
    c->note = col_text(r);
    store_stats *t = &x->st;
    x->has_stats = (int)col_int(r);
    t->n = (int)col_int(r);
    t->n_excluded = (int)col_int(r);
    double *real[] = {&t->median_ns,    &t->ci_low_ns, &t->ci_high_ns,  &t->mean_ns,
                      &t->stddev_ns,    &t->min_ns,    &t->max_ns,      &t->mad_ns,
                      &t->rel_ci_width, &t->gbps,      &t->roofline_pct};
    for (size_t i = 0; i < DYT_ARRAY_LEN(real); i++)
        *real[i] = col_real(r);
}

int store_load_cases(store *s, int64_t run_id, store_case_list *out, dyt_err *e)
{
    static const char sql[] =
        "SELECT c.id, c.run_id, c.seq, c.suite, c.domain, c.model, c.model_norm, c.token_label,"
        " c.layers, c.norm, c.variant, c.dtype, c.pass, c.rows, c.cols, c.threads, c.cache,"
        " c.device, c.alpha, c.eps, c.has_beta, c.affine, c.status, c.error, c.max_err, c.bytes,"
        " c.batch, c.buffer_sets, c.stop_reason, c.warmup_ns, c.wall_ns, c.started_at,"
        " c.ended_at, c.note, s.case_id IS NOT NULL, s.n, s.n_excluded, s.median_ns,"
        " s.ci_low_ns, s.ci_high_ns, s.mean_ns, s.stddev_ns, s.min_ns, s.max_ns, s.mad_ns,"
        " s.rel_ci_width, s.gbps, s.roofline_pct"
        " FROM cases c LEFT JOIN stats s ON s.case_id = c.id WHERE c.run_id = ?1 ORDER BY c.seq";
    memset(out, 0, sizeof *out);
    void *v = NULL;
    int rc = collect_by_id(s, sql, run_id, "reading cases", sizeof *out->v, fill_case, &v, &out->n,
                           &out->text, e);
    out->v = v;
    return rc;
}

void store_case_list_free(store_case_list *l)
{
    free_list(l->v, l->text);
    memset(l, 0, sizeof *l);
}

static void fill_sample(row *r, void *item)
{
    store_sample *x = item;
    x->ns = col_real(r);
    x->flags = (int)col_int(r);
    x->excluded = (int)col_int(r);
    int64_t block = col_int(r);
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
    int rc = collect_by_id(s, which == STORE_SAMPLES_ALL ? all : kept, case_id, "reading samples",
                           sizeof **out, fill_sample, &v, n, &none, e);
    *out = v;
    return rc;
}

/* Counters --------------------------------------------------------------- */

typedef struct {
    int64_t case_id;
    store_counter k;
} counter_row;

static void fill_counter(row *r, void *item)
{
    counter_row *x = item;
    x->case_id = col_int(r);
    x->k.source = col_text(r);
    x->k.name = col_text(r);
    x->k.available = (int)col_int(r);
    x->k.value = col_real(r);
    x->k.per_element = col_real(r);
    x->k.unavailable_reason = col_text(r);
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
    int rc = collect_by_id(s, sql, run_id, "reading counters", sizeof(counter_row), fill_counter,
                           &v, &n, &out->text, e);
    if (rc != DYT_OK)
        return rc;
    /* Apart: store_put_case takes the counters of a case as one array. */
    const counter_row *rows = v;
    out->v = malloc((n ? n : 1) * sizeof *out->v);
    out->case_id = malloc((n ? n : 1) * sizeof *out->case_id);
    if (!out->v || !out->case_id) {
        free(v);
        store_counter_list_free(out);
        return dyt_errf(e, DYT_USAGE, "%s: reading counters: out of memory", s->path);
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
    free_list(l->v, l->text);
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

/* Rooflines -------------------------------------------------------------- */

static void fill_roofline(row *r, void *item)
{
    store_roofline *x = item;
    x->threads = (int)col_int(r);
    x->kind = col_text(r);
    x->bytes = (uint64_t)col_int(r);
    x->gbps = col_real(r);
    x->gbps_median = col_real(r);
}

int store_load_rooflines(store *s, int64_t run_id, store_roofline_list *out, dyt_err *e)
{
    static const char sql[] = "SELECT threads, kind, bytes, gbps, gbps_median FROM rooflines"
                              " WHERE run_id = ?1 ORDER BY threads, kind";
    memset(out, 0, sizeof *out);
    void *v = NULL;
    int rc = collect_by_id(s, sql, run_id, "reading bandwidth ceilings", sizeof *out->v,
                           fill_roofline, &v, &out->n, &out->text, e);
    out->v = v;
    return rc;
}

void store_roofline_list_free(store_roofline_list *l)
{
    free_list(l->v, l->text);
    memset(l, 0, sizeof *l);
}

/* Calibrations ----------------------------------------------------------- */

static void fill_calibration(row *r, void *item)
{
    store_calibration *x = item;
    x->case_key = col_text(r);
    x->run_a = col_int(r);
    x->run_b = col_int(r);
    x->noise_rel = col_real(r);
    x->min_detectable_rel = col_real(r);
    x->threshold = col_real(r);
    x->alpha = col_real(r);
    x->created_at = col_text(r);
}

int store_load_calibrations(store *s, const char *fingerprint, store_calibration_list *out,
                            dyt_err *e)
{
    /* By fingerprint, so that the machine ids of another store do not
     * matter; the latest row (highest id) of each key. */
    static const char sql[] =
        "SELECT k.case_key, k.run_a, k.run_b, k.noise_rel, k.min_detectable_rel, k.threshold,"
        " k.alpha, k.created_at FROM calibrations k JOIN machines m ON m.id = k.machine_id"
        " WHERE m.fingerprint = ?1 AND k.id = (SELECT max(j.id) FROM calibrations j"
        " WHERE j.machine_id = k.machine_id AND j.case_key = k.case_key)"
        " ORDER BY k.case_key";
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    if (prepare(s, sql, "reading calibrations", &st, e) != DYT_OK)
        return DYT_USAGE;
    sqlite3_bind_text(st, 1, fingerprint ? fingerprint : "", -1, SQLITE_TRANSIENT);
    void *v = NULL;
    int rc = collect(s, st, "reading calibrations", sizeof *out->v, fill_calibration, &v, &out->n,
                     &out->text, e);
    out->v = v;
    return rc;
}

void store_calibration_list_free(store_calibration_list *l)
{
    free_list(l->v, l->text);
    memset(l, 0, sizeof *l);
}

static int cmp_calibration_key(const void *key, const void *item)
{
    const store_calibration *c = item;
    return strcmp(key, c->case_key ? c->case_key : "");
}

const store_calibration *store_calibration_find(const store_calibration_list *l,
                                                const char *case_key)
{
    /* The list is sorted by SQLite's BINARY collation, strcmp's order. */
    return l->n ? bsearch(case_key, l->v, l->n, sizeof *l->v, cmp_calibration_key) : NULL;
}
