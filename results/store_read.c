/* The results store's read API, runs and machines: the runs matching a
 * filter, one run, a run spec resolved to an id, a machine with its
 * attributes, a machine's calibrations. Each loader is one bound SELECT
 * read through rows.c; the cases and what hangs below them are in
 * store_read_case.c. Reads only: nothing here writes, and none of it needs
 * the file to be writable. */
#include "store_int.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Runs ------------------------------------------------------------------- */

/* The newest `limit` runs (all when ?5 is -1) that match ?1..?4 and ?6
 * (NULL: any), oldest first. Columns in store_run's order. */
static const char run_sql[] =
    "SELECT * FROM (SELECT r.id, r.machine_id, r.pid, r.uuid, r.label, r.status, r.started_at,"
    " r.ended_at, r.command_line, r.git_rev, r.version, r.compiler, r.cflags, r.build_type,"
    " r.suites, r.suite_hash, r.device, r.metric, r.settings, r.host, r.boot_id, r.note,"
    " r.lockstep_token, r.arm, r.campaign, r.shard_index, r.shard_count, r.plan_hash,"
    " m.fingerprint, (SELECT count(*) FROM cases c WHERE c.run_id = r.id)"
    " FROM runs r JOIN machines m ON m.id = r.machine_id"
    " WHERE (?1 IS NULL OR r.id = ?1) AND (?2 IS NULL OR r.label = ?2)"
    " AND (?3 IS NULL OR r.status = ?3) AND (?4 IS NULL OR r.campaign = ?4)"
    " AND (?6 IS NULL OR r.uuid = ?6)"
    " ORDER BY r.id DESC LIMIT ?5) ORDER BY 1";

static void fill_run(store_row *r, void *item)
{
    store_run *x = item;
    x->id = store_col_int(r);
    x->machine_id = store_col_int(r);
    x->pid = store_col_int(r);
    const char **text[] = {&x->uuid,       &x->label,        &x->status,     &x->started_at,
                           &x->ended_at,   &x->command_line, &x->git_rev,    &x->version,
                           &x->compiler,   &x->cflags,       &x->build_type, &x->suites,
                           &x->suite_hash, &x->device,       &x->metric,     &x->settings,
                           &x->host,       &x->boot_id,      &x->note,       &x->lockstep_token,
                           &x->arm,        &x->campaign};
    for (size_t i = 0; i < DYT_ARRAY_LEN(text); i++)
        *text[i] = store_col_text(r);
    x->shard_index = (int)store_col_int(r);
    x->shard_count = (int)store_col_int(r);
    x->plan_hash = store_col_text(r);
    x->machine_fingerprint = store_col_text(r);
    x->n_cases = (size_t)store_col_int(r);
}

int store_find_runs(store *s, const store_run_filter *f, store_run_list *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    static const store_run_filter any = {0};
    if (!f)
        f = &any;
    sqlite3_stmt *st;
    DYT_TRY(store_prepare(s, run_sql, "reading runs", &st, e));
    int rc = f->id > 0 ? sqlite3_bind_int64(st, 1, f->id) : sqlite3_bind_null(st, 1);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 2, f->label);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 3, f->status);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 4, f->campaign);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, f->newest > 0 ? (sqlite3_int64)f->newest : -1);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 6, f->uuid);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return store_sqlite_err(e, s->db, "%s: reading runs: %s", s->path, sqlite3_errmsg(s->db));
    }
    void *v = NULL;
    rc = store_collect(s, st, "reading runs", sizeof *out->v, fill_run, &v, &out->n, &out->text, e);
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
    store_text_free(r->text);
    memset(r, 0, sizeof *r);
}

void store_run_list_free(store_run_list *l)
{
    store_list_free(l->v, l->text);
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
                                : store_sqlite_err(e, s->db, "%s: %s", s->path, sqlite3_errmsg(s->db));
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
    DYT_TRY(store_prepare(s, sql, "reading the machine", &st, e));
    sqlite3_bind_int64(st, 1, machine_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = rc == SQLITE_DONE
                 ? dyt_errf(e, DYT_USAGE, "%s: no machine %lld", s->path, (long long)machine_id)
                 : store_sqlite_err(e, s->db, "%s: reading the machine: %s", s->path,
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
            rc = dyt_errf(e, DYT_RESOURCE, "%s: reading the machine: out of memory", s->path);
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
    DYT_TRY(store_prepare(s, "SELECT key, value FROM machine_attrs WHERE machine_id = ?1 ORDER BY key",
                          "reading the machine's attributes", &st, e));
    sqlite3_bind_int64(st, 1, machine_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (m->n_attrs == cap) {
            size_t nc = cap ? 2 * cap : 8;
            machine_attr *a = realloc(m->attrs, nc * sizeof *a);
            if (!a) {
                sqlite3_finalize(st);
                return dyt_errf(e, DYT_RESOURCE, "%s: reading the machine: out of memory", s->path);
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
        return store_sqlite_err(e, s->db, "%s: reading the machine's attributes: %s", s->path,
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

/* Calibrations ----------------------------------------------------------- */

static void fill_calibration(store_row *r, void *item)
{
    store_calibration *x = item;
    x->case_key = store_col_text(r);
    x->run_a = store_col_int(r);
    x->run_b = store_col_int(r);
    x->noise_rel = store_col_real(r);
    x->min_detectable_rel = store_col_real(r);
    x->threshold = store_col_real(r);
    x->alpha = store_col_real(r);
    x->created_at = store_col_text(r);
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
    DYT_TRY(store_prepare(s, sql, "reading calibrations", &st, e));
    sqlite3_bind_text(st, 1, fingerprint ? fingerprint : "", -1, SQLITE_TRANSIENT);
    void *v = NULL;
    int rc = store_collect(s, st, "reading calibrations", sizeof *out->v, fill_calibration, &v,
                           &out->n, &out->text, e);
    out->v = v;
    return rc;
}

void store_calibration_list_free(store_calibration_list *l)
{
    store_list_free(l->v, l->text);
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
