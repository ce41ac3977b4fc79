/* The results store's writers: machines (deduplicated by fingerprint), runs
 * (opened 'running', closed complete/aborted/failed), bandwidth ceilings,
 * cases and A/A calibrations. A case, its raw samples, statistics and counters go in as one
 * transaction: a kill between two cases leaves every finished case whole
 * and no half-written one. Every value is bound, never spliced into SQL. */
#include "dyt_config.h"
#include "revision.h"
#include "store_int.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int bind_attr(sqlite3_stmt *st, const void *rows, size_t i)
{
    const machine_attr *a = (const machine_attr *)rows + i;
    int src = bind_text(st, 2, a->key);
    STORE_CHAIN(src, bind_text(st, 3, a->value));
    return src;
}

int store_put_machine(store *s, const machine_info *m, int64_t *machine_id, dyt_err *e)
{
    /* Same fingerprint, same machine: keep its id, but refresh what varies
     * from run to run without making it another machine (usable memory). */
    static const char sql[] =
        "INSERT INTO machines (fingerprint, hostname, cpu_model, packages, cores, pus,"
        " numa_nodes, l1d_bytes, l2_bytes, l3_bytes, llc_bytes, llc_note, mem_bytes,"
        " mem_usable_bytes, mem_note, os, kernel, is_vm, vm_vendor, isa, topology_xml,"
        " created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,"
        "?18,?19,?20,?21,?22)"
        " ON CONFLICT (fingerprint) DO UPDATE SET mem_usable_bytes = excluded.mem_usable_bytes,"
        " mem_note = excluded.mem_note"
        " RETURNING id";
    sqlite3_stmt *st;
    int rc = store_write_prepare(s, sql, &st, "storing the machine", e);
    if (rc != DYT_OK)
        return rc;
    char now[32];
    dyt_utc_iso(now, sizeof now);
    int src = SQLITE_OK;
    STORE_CHAIN(src, bind_text(st, 1, m->fingerprint));
    STORE_CHAIN(src, bind_text(st, 2, m->hostname));
    STORE_CHAIN(src, bind_text(st, 3, m->cpu_model));
    STORE_CHAIN(src, sqlite3_bind_int(st, 4, m->packages));
    STORE_CHAIN(src, sqlite3_bind_int(st, 5, m->cores));
    STORE_CHAIN(src, sqlite3_bind_int(st, 6, m->pus));
    STORE_CHAIN(src, sqlite3_bind_int(st, 7, m->numa_nodes));
    STORE_CHAIN(src, m->l1d_bytes ? bind_u64(st, 8, m->l1d_bytes) : sqlite3_bind_null(st, 8));
    STORE_CHAIN(src, m->l2_bytes ? bind_u64(st, 9, m->l2_bytes) : sqlite3_bind_null(st, 9));
    STORE_CHAIN(src, m->l3_bytes ? bind_u64(st, 10, m->l3_bytes) : sqlite3_bind_null(st, 10));
    STORE_CHAIN(src, bind_u64(st, 11, m->llc_bytes));
    STORE_CHAIN(src, bind_text(st, 12, m->llc_note[0] ? m->llc_note : NULL));
    STORE_CHAIN(src, m->mem_bytes ? bind_u64(st, 13, m->mem_bytes) : sqlite3_bind_null(st, 13));
    STORE_CHAIN(src, bind_u64(st, 14, m->mem_usable_bytes));
    STORE_CHAIN(src, bind_text(st, 15, m->mem_note[0] ? m->mem_note : NULL));
    STORE_CHAIN(src, bind_text(st, 16, m->os[0] ? m->os : NULL));
    STORE_CHAIN(src, bind_text(st, 17, m->kernel[0] ? m->kernel : NULL));
    STORE_CHAIN(src, sqlite3_bind_int(st, 18, m->is_vm != 0));
    STORE_CHAIN(src, bind_text(st, 19, m->vm_vendor[0] ? m->vm_vendor : NULL));
    STORE_CHAIN(src, bind_text(st, 20, m->isa));
    STORE_CHAIN(src, m->topology_xml ? sqlite3_bind_blob64(st, 21, m->topology_xml,
                                                           m->topology_xml_len, SQLITE_TRANSIENT)
                                     : sqlite3_bind_null(st, 21));
    STORE_CHAIN(src, bind_text(st, 22, now));
    if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        *machine_id = sqlite3_column_int64(st, 0);
        src = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    if (src != SQLITE_OK)
        return store_write_fail(s, st, "storing the machine", e);
    sqlite3_finalize(st);
    src = store_insert_rows(s->db,
                            "INSERT INTO machine_attrs (machine_id, key, value) VALUES (?1,?2,?3)"
                            " ON CONFLICT (machine_id, key) DO UPDATE SET value = excluded.value",
                            *machine_id, m->attrs, m->n_attrs, bind_attr);
    if (src != SQLITE_OK)
        return store_write_fail(s, NULL, "storing the machine's attributes", e);
    return store_write_commit(s, e);
}

const char store_insert_run_sql[] =
    "INSERT INTO runs (machine_id, label, status, started_at, ended_at, command_line, git_rev,"
    " version, compiler, cflags, build_type, suites, suite_hash, device, metric, settings, host,"
    " pid, boot_id, note, uuid, lockstep_token, arm, campaign, shard_index, shard_count,"
    " plan_hash) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,"
    "?20,?21,?22,?23,?24,?25,?26,?27)";

int store_bind_run(sqlite3_stmt *st, const store_run *r, int64_t machine_id)
{
    const char *text[] = {r->label,        r->status,     r->started_at, r->ended_at,
                          r->command_line, r->git_rev,    r->version,    r->compiler,
                          r->cflags,       r->build_type, r->suites,     r->suite_hash,
                          r->device,       r->metric,     r->settings,   r->host};
    int src = sqlite3_bind_int64(st, 1, machine_id);
    for (size_t i = 0; i < DYT_ARRAY_LEN(text); i++)
        STORE_CHAIN(src, bind_text(st, (int)i + 2, text[i]));
    STORE_CHAIN(src, sqlite3_bind_int64(st, 18, r->pid));
    STORE_CHAIN(src, bind_text(st, 19, r->boot_id));
    STORE_CHAIN(src, bind_text(st, 20, r->note));
    STORE_CHAIN(src, bind_text(st, 21, r->uuid));
    STORE_CHAIN(src, bind_text(st, 22, r->lockstep_token));
    STORE_CHAIN(src, bind_text(st, 23, r->arm));
    STORE_CHAIN(src, bind_text(st, 24, r->campaign));
    STORE_CHAIN(src, r->shard_count > 0 ? sqlite3_bind_int(st, 25, r->shard_index)
                                        : sqlite3_bind_null(st, 25));
    STORE_CHAIN(src, r->shard_count > 0 ? sqlite3_bind_int(st, 26, r->shard_count)
                                        : sqlite3_bind_null(st, 26));
    STORE_CHAIN(src, bind_text(st, 27, r->plan_hash));
    return src;
}

int store_begin_run(store *s, const store_run_meta *m, int64_t *run_id, dyt_err *e)
{
    char now[32], host[256], boot[64], uuid[STORE_UUID_LEN + 1];
    if (m->shard_count < 0 ||
        (m->shard_count > 0 && (m->shard_index < 0 || m->shard_index >= m->shard_count)))
        return dyt_errf(e, DYT_USAGE, "%s: shard %d of %d: the index must be in 0..count-1",
                        s->path, m->shard_index, m->shard_count);
    if (store_uuid(uuid) != 0)
        return dyt_errf(e, DYT_USAGE, "%s: no random source for the run's uuid", s->path);
    sqlite3_stmt *st;
    int rc = store_write_prepare(s, store_insert_run_sql, &st, "starting the run", e);
    if (rc != DYT_OK)
        return rc;
    dyt_utc_iso(now, sizeof now);
    store_hostname(host, sizeof host);
    store_boot_id(boot, sizeof boot);
    const store_run r = {
        .label = nonempty(m->label),
        .status = "running",
        .started_at = now,
        .command_line = m->command_line ? m->command_line : "",
        .git_rev = DYT_GIT_REVISION,
        .version = DYT_VERSION,
        .compiler = DYT_COMPILER,
        .cflags = DYT_CFLAGS,
        .build_type = DYT_BUILD_TYPE,
        .suites = m->suites ? m->suites : "",
        .suite_hash = m->suite_hash ? m->suite_hash : "",
        .device = m->device ? m->device : "cpu",
        .metric = m->metric ? m->metric : "time",
        .settings = m->settings_json,
        .host = host,
        .pid = (int64_t)getpid(),
        .boot_id = boot[0] ? boot : NULL,
        .uuid = uuid,
        .lockstep_token = nonempty(m->lockstep_token),
        .arm = nonempty(m->arm),
        .campaign = nonempty(m->campaign),
        .shard_index = m->shard_index,
        .shard_count = m->shard_count,
        .plan_hash = nonempty(m->plan_hash),
    };
    int src = store_bind_run(st, &r, m->machine_id);
    STORE_CHAIN(src, step_done(st));
    if (src != SQLITE_OK)
        return store_write_fail(s, st, "starting the run", e);
    *run_id = sqlite3_last_insert_rowid(s->db);
    sqlite3_finalize(st);
    if (r.campaign && m->campaign_plan) {
        const store_campaign c = {.campaign = m->campaign,
                                  .plan_hash = m->plan_hash,
                                  .shard_count = m->shard_count,
                                  .v = (store_plan_case *)m->campaign_plan,
                                  .n = m->n_campaign_plan};
        if ((rc = store_insert_campaign(s, &c, e)) != DYT_OK) {
            store_write_abort(s);
            return rc;
        }
    }
    return store_write_commit(s, e);
}

/* The run's row as resuming sees it; DYT_USAGE, with why, when it cannot
 * be resumed on machine_id. */
static int check_resumable(store *s, int64_t run_id, int64_t machine_id, dyt_err *e)
{
    static const char sql[] =
        "SELECT r.status, r.machine_id, r.host, r.pid, m.fingerprint, m.hostname,"
        " (SELECT fingerprint FROM machines WHERE id = ?2) FROM runs r"
        " JOIN machines m ON m.id = r.machine_id WHERE r.id = ?1";
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    STORE_CHAIN(src, sqlite3_bind_int64(st, 1, run_id));
    STORE_CHAIN(src, sqlite3_bind_int64(st, 2, machine_id));
    if (src == SQLITE_OK && (src = sqlite3_step(st)) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return src == SQLITE_DONE ? dyt_errf(e, DYT_USAGE, "run %lld does not exist in %s",
                                             (long long)run_id, s->path)
                                  : dyt_errf(e, DYT_USAGE, "%s: reading run %lld: %s", s->path,
                                             (long long)run_id, sqlite3_errmsg(s->db));
    }
    if (src != SQLITE_ROW) {
        sqlite3_finalize(st);
        return dyt_errf(e, DYT_USAGE, "%s: reading run %lld: %s", s->path, (long long)run_id,
                        sqlite3_errmsg(s->db));
    }
    const char *status = (const char *)sqlite3_column_text(st, 0);
    const char *host = (const char *)sqlite3_column_text(st, 2);
    const char *fp = (const char *)sqlite3_column_text(st, 4);
    const char *mhost = (const char *)sqlite3_column_text(st, 5);
    const char *here = (const char *)sqlite3_column_text(st, 6);
    int rc = DYT_OK;
    if (status && !strcmp(status, "complete"))
        rc = dyt_errf(e, DYT_USAGE, "run %lld is complete: nothing to resume", (long long)run_id);
    else if (status && !strcmp(status, "running"))
        rc = dyt_errf(e, DYT_USAGE,
                      "run %lld is still running (pid %lld on %s), or its host died without "
                      "ending it; it cannot be resumed while it may be writing",
                      (long long)run_id, (long long)sqlite3_column_int64(st, 3), host ? host : "?");
    else if (sqlite3_column_int64(st, 1) != machine_id)
        rc = dyt_errf(e, DYT_USAGE,
                      "run %lld was measured on machine %s (%s), this is machine %s: a run "
                      "continues on the machine it began on (start a new run here)",
                      (long long)run_id, fp ? fp : "?", mhost ? mhost : "?", here ? here : "?");
    sqlite3_finalize(st);
    return rc;
}

int store_resume_run(store *s, int64_t run_id, int64_t machine_id, const char *note, dyt_err *e)
{
    sqlite3_stmt *st;
    int rc = store_write_prepare(s,
                                 "UPDATE runs SET status = 'running', ended_at = NULL, note = ?2,"
                                 " host = ?3, pid = ?4, boot_id = ?5 WHERE id = ?1",
                                 &st, "resuming the run", e);
    if (rc != DYT_OK)
        return rc;
    if ((rc = check_resumable(s, run_id, machine_id, e)) != DYT_OK) {
        sqlite3_finalize(st);
        store_write_abort(s);
        return rc;
    }
    char host[256], boot[64];
    store_hostname(host, sizeof host);
    store_boot_id(boot, sizeof boot);
    int src = sqlite3_bind_int64(st, 1, run_id);
    STORE_CHAIN(src, bind_text(st, 2, note));
    STORE_CHAIN(src, bind_text(st, 3, host));
    STORE_CHAIN(src, sqlite3_bind_int64(st, 4, (sqlite3_int64)getpid()));
    STORE_CHAIN(src, bind_text(st, 5, boot[0] ? boot : NULL));
    return store_write_finish(s, st, src, "resuming the run", e);
}

int store_end_run(store *s, int64_t run_id, const char *status, const char *note, dyt_err *e)
{
    sqlite3_stmt *st;
    int rc = store_write_prepare(s,
                                 /* A resumed run keeps what its note said
                                  * ("resumed at ..."): the end's note is added. */
                                 "UPDATE runs SET status = ?2, ended_at = ?3,"
                                 " note = CASE WHEN ?4 IS NULL THEN note"
                                 " WHEN note IS NULL OR note = '' THEN ?4"
                                 " ELSE note || '; ' || ?4 END WHERE id = ?1",
                                 &st, "ending the run", e);
    if (rc != DYT_OK)
        return rc;
    char now[32];
    dyt_utc_iso(now, sizeof now);
    int src = sqlite3_bind_int64(st, 1, run_id);
    STORE_CHAIN(src, bind_text(st, 2, status));
    STORE_CHAIN(src, bind_text(st, 3, now));
    STORE_CHAIN(src, bind_text(st, 4, note));
    STORE_CHAIN(src, step_done(st));
    if (src != SQLITE_OK)
        return store_write_fail(s, st, "ending the run", e);
    if (sqlite3_changes(s->db) != 1) {
        sqlite3_finalize(st);
        store_write_abort(s);
        return dyt_errf(e, DYT_USAGE, "no run %lld in %s", (long long)run_id, s->path);
    }
    sqlite3_finalize(st);
    return store_write_commit(s, e);
}

int store_put_ceiling(store *s, int64_t run_id, const store_ceiling *c, dyt_err *e)
{
    sqlite3_stmt *st;
    int rc = store_write_prepare(
        s,
        "INSERT OR REPLACE INTO ceilings (run_id, level, threads, kind, bytes, gbps,"
        " gbps_median, method) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
        &st, "storing the bandwidth ceiling", e);
    if (rc != DYT_OK)
        return rc;
    int src = sqlite3_bind_int64(st, 1, run_id);
    STORE_CHAIN(src, bind_text(st, 2, c->level));
    STORE_CHAIN(src, sqlite3_bind_int(st, 3, c->threads));
    STORE_CHAIN(src, bind_text(st, 4, c->kind));
    STORE_CHAIN(src, bind_u64(st, 5, c->bytes));
    STORE_CHAIN(src, sqlite3_bind_double(st, 6, c->gbps));
    STORE_CHAIN(src, bind_opt_double(st, 7, c->gbps_median));
    STORE_CHAIN(src, bind_text(st, 8, c->method));
    return store_write_finish(s, st, src, "storing the bandwidth ceiling", e);
}

static const char case_sql[] =
    "INSERT INTO cases (run_id, seq, suite, domain, model, model_norm, token_label, layers,"
    " norm, variant, dtype, pass, rows, cols, threads, cache, device, alpha, has_beta,"
    " affine, eps, status, error, max_err, bytes, batch, buffer_sets, stop_reason,"
    " warmup_ns, wall_ns, started_at, ended_at, note, max_ulps, err_output, err_tol)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,"
    "?23,?24,?25,?26,?27,?28,?29,?30,?31,?32,?33,?34,?35,?36)";

static int bind_case(sqlite3_stmt *st, const void *rows, size_t i)
{
    const store_case *c = (const store_case *)rows + i;
    int src = sqlite3_bind_int(st, 2, c->seq);
    STORE_CHAIN(src, bind_text(st, 3, c->suite));
    STORE_CHAIN(src, bind_text(st, 4, c->domain));
    STORE_CHAIN(src, bind_text(st, 5, c->model));
    STORE_CHAIN(src, bind_text(st, 6, c->model_norm));
    STORE_CHAIN(src, bind_text(st, 7, c->token_label));
    STORE_CHAIN(src, sqlite3_bind_int(st, 8, c->layers));
    STORE_CHAIN(src, bind_text(st, 9, c->norm));
    STORE_CHAIN(src, bind_text(st, 10, c->variant));
    STORE_CHAIN(src, bind_text(st, 11, c->dtype));
    STORE_CHAIN(src, bind_text(st, 12, c->pass));
    STORE_CHAIN(src, sqlite3_bind_int64(st, 13, c->rows));
    STORE_CHAIN(src, sqlite3_bind_int64(st, 14, c->cols));
    STORE_CHAIN(src, sqlite3_bind_int(st, 15, c->threads));
    STORE_CHAIN(src, bind_text(st, 16, c->cache));
    STORE_CHAIN(src, bind_text(st, 17, c->device ? c->device : "cpu"));
    STORE_CHAIN(src, sqlite3_bind_double(st, 18, c->alpha));
    STORE_CHAIN(src, sqlite3_bind_int(st, 19, c->has_beta));
    STORE_CHAIN(src, sqlite3_bind_int(st, 20, c->affine));
    STORE_CHAIN(src, sqlite3_bind_double(st, 21, c->eps));
    STORE_CHAIN(src, bind_text(st, 22, c->status));
    STORE_CHAIN(src, bind_text(st, 23, c->error));
    STORE_CHAIN(src, bind_opt_double(st, 24, c->max_err));
    STORE_CHAIN(src, bind_u64(st, 25, c->bytes));
    STORE_CHAIN(src, c->batch > 0 ? sqlite3_bind_int(st, 26, c->batch) : sqlite3_bind_null(st, 26));
    STORE_CHAIN(src, c->buffer_sets > 0 ? sqlite3_bind_int(st, 27, c->buffer_sets)
                                        : sqlite3_bind_null(st, 27));
    STORE_CHAIN(src, bind_text(st, 28, c->stop_reason));
    STORE_CHAIN(src, bind_u64(st, 29, c->warmup_ns));
    STORE_CHAIN(src, bind_u64(st, 30, c->wall_ns));
    STORE_CHAIN(src, bind_text(st, 31, c->started_at));
    STORE_CHAIN(src, bind_text(st, 32, c->ended_at));
    STORE_CHAIN(src, bind_text(st, 33, c->note));
    STORE_CHAIN(src, bind_opt_double(st, 34, c->max_ulps));
    STORE_CHAIN(src, bind_text(st, 35, c->err_output));
    STORE_CHAIN(src, bind_opt_double(st, 36, c->err_tol));
    return src;
}

static const char samples_sql[] = "INSERT INTO samples (case_id, idx, ns, flags, excluded, block)"
                                  " VALUES (?1,?2,?3,?4,?5,?6)";

static int bind_sample(sqlite3_stmt *st, const void *rows, size_t i)
{
    const store_sample *x = (const store_sample *)rows + i;
    int src = sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
    STORE_CHAIN(src, sqlite3_bind_double(st, 3, x->ns));
    STORE_CHAIN(src, sqlite3_bind_int(st, 4, x->flags));
    STORE_CHAIN(src, sqlite3_bind_int(st, 5, x->excluded != 0));
    STORE_CHAIN(src, sqlite3_bind_int(st, 6, x->block));
    return src;
}

static const char stats_sql[] =
    "INSERT INTO stats (case_id, n, n_excluded, median_ns, ci_low_ns, ci_high_ns, mean_ns,"
    " stddev_ns, min_ns, max_ns, mad_ns, rel_ci_width, gbps, roofline_pct, ceiling_level,"
    " ceiling_pct) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)";

static int bind_stats(sqlite3_stmt *st, const void *rows, size_t i)
{
    const store_stats *t = (const store_stats *)rows + i;
    int src = SQLITE_OK;
    STORE_CHAIN(src, sqlite3_bind_int(st, 2, t->n));
    STORE_CHAIN(src, sqlite3_bind_int(st, 3, t->n_excluded));
    STORE_CHAIN(src, sqlite3_bind_double(st, 4, t->median_ns));
    STORE_CHAIN(src, sqlite3_bind_double(st, 5, t->ci_low_ns));
    STORE_CHAIN(src, sqlite3_bind_double(st, 6, t->ci_high_ns));
    STORE_CHAIN(src, sqlite3_bind_double(st, 7, t->mean_ns));
    STORE_CHAIN(src, sqlite3_bind_double(st, 8, t->stddev_ns));
    STORE_CHAIN(src, sqlite3_bind_double(st, 9, t->min_ns));
    STORE_CHAIN(src, sqlite3_bind_double(st, 10, t->max_ns));
    STORE_CHAIN(src, sqlite3_bind_double(st, 11, t->mad_ns));
    STORE_CHAIN(src, sqlite3_bind_double(st, 12, t->rel_ci_width));
    STORE_CHAIN(src, sqlite3_bind_double(st, 13, t->gbps));
    STORE_CHAIN(src, bind_opt_double(st, 14, t->roofline_pct));
    STORE_CHAIN(src, bind_text(st, 15, t->ceiling_level));
    STORE_CHAIN(src, bind_opt_double(st, 16, t->ceiling_pct));
    return src;
}

static const char counters_sql[] =
    "INSERT INTO counters (case_id, source, name, value, per_element, unavailable_reason)"
    " VALUES (?1,?2,?3,?4,?5,?6)";

static int bind_counter(sqlite3_stmt *st, const void *rows, size_t i)
{
    const store_counter *k = (const store_counter *)rows + i;
    int src = bind_text(st, 2, k->source);
    STORE_CHAIN(src, bind_text(st, 3, k->name));
    if (k->available) {
        STORE_CHAIN(src, sqlite3_bind_double(st, 4, k->value));
        STORE_CHAIN(src, sqlite3_bind_double(st, 5, k->per_element));
        STORE_CHAIN(src, sqlite3_bind_null(st, 6));
    } else {
        /* Unavailable is NULL with a reason, never a zero (the table's
         * CHECK enforces it too). */
        STORE_CHAIN(src, sqlite3_bind_null(st, 4));
        STORE_CHAIN(src, sqlite3_bind_null(st, 5));
        STORE_CHAIN(src, bind_text(st, 6,
                                   k->unavailable_reason && k->unavailable_reason[0]
                                       ? k->unavailable_reason
                                       : "unavailable (no reason given)"));
    }
    return src;
}

int store_put_case(store *s, int64_t run_id, const store_case *c, const store_sample *samples,
                   size_t n_samples, const store_stats *st, const store_counter *counters,
                   size_t n_counters, int64_t *case_id, dyt_err *e)
{
    sqlite3_stmt *none; /* the INSERTs below prepare their own */
    int rc = store_write_prepare(s, NULL, &none, "storing the case", e);
    if (rc != DYT_OK)
        return rc;
    const char *what = "storing the case";
    int src = store_insert_rows(s->db, case_sql, run_id, c, 1, bind_case);
    int64_t id = sqlite3_last_insert_rowid(s->db);
    if (src == SQLITE_OK && (what = "storing its samples"))
        src = store_insert_rows(s->db, samples_sql, id, samples, samples ? n_samples : 0,
                                bind_sample);
    if (src == SQLITE_OK && st && (what = "storing its statistics"))
        src = store_insert_rows(s->db, stats_sql, id, st, 1, bind_stats);
    if (src == SQLITE_OK && (what = "storing its counters"))
        src = store_insert_rows(s->db, counters_sql, id, counters, counters ? n_counters : 0,
                                bind_counter);
    if (src != SQLITE_OK) {
        rc = store_sqlite_err(e, s->db, "%s: %s (%s %s %s %s %lldx%lld): %s", s->path, what,
                              c->model ? c->model : "?", c->norm ? c->norm : "?",
                              c->dtype ? c->dtype : "?", c->pass ? c->pass : "?",
                              (long long)c->rows, (long long)c->cols, sqlite3_errmsg(s->db));
        store_write_abort(s);
        return rc;
    }
    if ((rc = store_write_commit(s, e)) != DYT_OK)
        return rc;
    if (case_id)
        *case_id = id;
    return DYT_OK;
}

/* The rows of one calibration and the time they were made. */
typedef struct {
    const store_calibration *rows;
    const char *created_at;
} calibration_rows;

static int bind_calibration(sqlite3_stmt *st, const void *rows, size_t i)
{
    const calibration_rows *c = rows;
    const store_calibration *r = &c->rows[i];
    int src = sqlite3_bind_int64(st, 2, r->run_a);
    STORE_CHAIN(src, sqlite3_bind_int64(st, 3, r->run_b));
    STORE_CHAIN(src, bind_text(st, 4, r->case_key));
    STORE_CHAIN(src, sqlite3_bind_double(st, 5, r->noise_rel));
    STORE_CHAIN(src, sqlite3_bind_double(st, 6, r->min_detectable_rel));
    STORE_CHAIN(src, sqlite3_bind_double(st, 7, r->threshold));
    STORE_CHAIN(src, sqlite3_bind_double(st, 8, r->alpha));
    STORE_CHAIN(src, bind_text(st, 9, c->created_at));
    return src;
}

int store_put_calibrations(store *s, int64_t machine_id, const store_calibration *rows, size_t n,
                           dyt_err *e)
{
    sqlite3_stmt *none; /* insert_rows prepares its own */
    int rc = store_write_prepare(s, NULL, &none, "storing the calibration", e);
    if (rc != DYT_OK)
        return rc;
    char now[32];
    dyt_utc_iso(now, sizeof now);
    const calibration_rows c = {rows, now};
    int src = store_insert_rows(s->db,
                                "INSERT INTO calibrations (machine_id, run_a, run_b, case_key,"
                                " noise_rel, min_detectable_rel, threshold, alpha, created_at)"
                                " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                                machine_id, &c, n, bind_calibration);
    if (src != SQLITE_OK)
        return store_write_fail(s, NULL, "storing the calibration", e);
    return store_write_commit(s, e);
}
