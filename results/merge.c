/* `dytbench merge`'s work in the store: copying the runs of one input
 * store into another, read through the store's read API and written
 * through its writers, all in one transaction.
 *
 * A run is the same run wherever it is copied: it is matched by uuid, so
 * merging an input twice adds nothing, and a run that the output already
 * has only takes what it lacks (the cases a resumed shard stored after an
 * earlier merge, its complete end). What hangs below a run is copied
 * table by table through run_tables[]: a new table of that kind is one
 * more entry and its copy function. Machines are deduplicated by
 * fingerprint (store_put_machine), campaign plans by name (a second plan
 * under one name refuses the input). */
#include "dyt_config.h"
#include "store_int.h"
#include <stdlib.h>
#include <string.h>

/* One input run being copied. */
typedef struct {
    store *in, *out;
    const store_run *run; /* as read from in */
    int64_t to;           /* its id in out */
    int is_new;           /* out did not have it before */
    size_t added;         /* rows of the tables below it copied so far */
    store_merge_stats *st;
} merge_run_ctx;

typedef int (*merge_copy_fn)(merge_run_ctx *m, dyt_err *e);

/* The bandwidth ceilings out's run lacks, by (level, threads, kind). */
static int copy_ceilings(merge_run_ctx *m, dyt_err *e)
{
    store_ceiling_list from, have = {0};
    int rc = store_load_ceilings(m->in, m->run->id, &from, e);
    if (rc != DYT_OK)
        return rc;
    rc = m->is_new ? DYT_OK : store_load_ceilings(m->out, m->to, &have, e);
    for (size_t i = 0; rc == DYT_OK && i < from.n; i++) {
        const store_ceiling *x = &from.v[i];
        int present = 0;
        for (size_t j = 0; j < have.n && !present; j++)
            present = have.v[j].threads == x->threads && !strcmp(have.v[j].kind, x->kind) &&
                      !strcmp(have.v[j].level, x->level);
        if (present)
            continue;
        rc = store_put_ceiling(m->out, m->to, x, e);
        m->added++;
    }
    store_ceiling_list_free(&from);
    store_ceiling_list_free(&have);
    return rc;
}

static int has_seq(const store_case_list *l, int seq)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].c.seq == seq)
            return 1;
    return 0;
}

/* The cases out's run lacks, by seq, each with every sample, its
 * statistics and its counters. */
static int copy_cases(merge_run_ctx *m, dyt_err *e)
{
    store_case_list from, have = {0};
    store_counter_list counters;
    int rc = store_load_cases(m->in, m->run->id, &from, e);
    if (rc != DYT_OK)
        return rc;
    rc = store_load_counters(m->in, m->run->id, &counters, e);
    if (rc == DYT_OK && !m->is_new)
        rc = store_load_cases(m->out, m->to, &have, e);
    for (size_t i = 0; rc == DYT_OK && i < from.n; i++) {
        const store_case_rec *c = &from.v[i];
        if (has_seq(&have, c->c.seq))
            continue;
        store_sample *smp = NULL;
        size_t ns = 0, nk = 0;
        rc = store_load_samples(m->in, c->id, STORE_SAMPLES_ALL, &smp, &ns, e);
        const store_counter *k = store_counters_of(&counters, c->id, &nk);
        if (rc == DYT_OK)
            rc = store_put_case(m->out, m->to, &c->c, smp, ns, c->has_stats ? &c->st : NULL, k, nk,
                                NULL, e);
        free(smp);
        m->added++;
        m->st->cases++;
    }
    store_case_list_free(&from);
    store_case_list_free(&have);
    store_counter_list_free(&counters);
    return rc;
}

/* Everything below a run, in the order it is copied. */
static const struct {
    const char *what;
    merge_copy_fn copy;
} run_tables[] = {
    {"bandwidth ceilings", copy_ceilings},
    {"cases, samples, statistics and counters", copy_cases},
};

/* The run as out first gets it: its machine (by fingerprint), its row. */
static int insert_run(merge_run_ctx *m, dyt_err *e)
{
    machine_info mi;
    int64_t machine_id;
    int rc = store_load_machine(m->in, m->run->machine_id, &mi, e);
    if (rc != DYT_OK)
        return rc;
    rc = store_put_machine(m->out, &mi, &machine_id, e);
    machine_free(&mi);
    if (rc == DYT_OK)
        rc = store_put_run_as_read(m->out, m->run, machine_id, &m->to, e);
    return rc;
}

/* Where the run came from: its history in the input when it is new here,
 * then this copy. */
static int record_provenance(merge_run_ctx *m, const char *source_file, const char *now, dyt_err *e)
{
    int rc = DYT_OK;
    if (m->is_new) {
        store_provenance_list earlier;
        int rc = store_load_provenance(m->in, m->run->id, &earlier, e);
        if (rc != DYT_OK)
            return rc;
        rc = store_put_provenance(m->out, m->to, earlier.v, earlier.n, e);
        store_provenance_list_free(&earlier);
    }
    const store_provenance p = {.source_file = source_file,
                                .source_run_id = m->run->id,
                                .merged_at = now,
                                .dytbench_version = DYT_VERSION};
    return rc == DYT_OK ? store_put_provenance(m->out, m->to, &p, 1, e) : rc;
}

static int merge_one_run(store *out, store *in, const store_run *r, const char *source_file,
                         const char *now, store_merge_stats *st, dyt_err *e)
{
    if (!r->uuid || !r->uuid[0])
        return dyt_errf(e, DYT_USAGE, "%s: run %lld has no uuid", store_path(in), (long long)r->id);
    store_run_list have;
    const store_run_filter f = {.uuid = r->uuid};
    int rc = store_find_runs(out, &f, &have, e);
    if (rc != DYT_OK)
        return rc;
    merge_run_ctx m = {.in = in, .out = out, .run = r, .is_new = have.n == 0, .st = st};
    int end_behind = 0;
    if (!m.is_new) {
        m.to = have.v[0].id;
        end_behind = strcmp(have.v[0].status, "complete") && !strcmp(r->status, "complete");
    }
    store_run_list_free(&have);
    rc = m.is_new ? insert_run(&m, e) : DYT_OK;
    for (size_t i = 0; rc == DYT_OK && i < DYT_ARRAY_LEN(run_tables); i++)
        if ((rc = run_tables[i].copy(&m, e)) != DYT_OK) {
            char why[sizeof e->msg];
            snprintf(why, sizeof why, "%s", e->msg);
            rc = dyt_errf(e, DYT_USAGE, "run %lld (%s): copying its %s: %s", (long long)r->id,
                          r->uuid, run_tables[i].what, why);
        }
    if (rc == DYT_OK && end_behind)
        rc = store_put_run_end_as_read(out, m.to, r, e);
    if (rc == DYT_OK && (m.is_new || m.added || end_behind))
        rc = record_provenance(&m, source_file, now, e);
    st->runs_new += m.is_new;
    st->runs_updated += !m.is_new && (m.added || end_behind);
    return rc;
}

/* Every campaign plan of in that out lacks; one out has with another plan
 * refuses the input. */
static int merge_campaigns(store *out, store *in, store_merge_stats *st, dyt_err *e)
{
    store_name_list names;
    int rc = store_list_campaigns(in, &names, e);
    if (rc != DYT_OK)
        return rc;
    rc = DYT_OK;
    for (size_t i = 0; rc == DYT_OK && i < names.n; i++) {
        store_campaign c, have;
        int found = 0, known = 0;
        rc = store_load_campaign(in, names.v[i], &c, &found, e);
        if (rc == DYT_OK)
            rc = store_load_campaign(out, names.v[i], &have, &known, e);
        store_campaign_free(&have);
        if (rc == DYT_OK && found)
            rc = store_put_campaign(out, &c, e);
        st->campaigns_new += rc == DYT_OK && found && !known;
        store_campaign_free(&c);
    }
    store_name_list_free(&names);
    return rc;
}

int store_merge(store *out, store *in, const char *source_file, store_merge_stats *st, dyt_err *e)
{
    memset(st, 0, sizeof *st);
    char now[32];
    dyt_utc_iso(now, sizeof now);
    store_run_list runs;
    int rc = store_find_runs(in, NULL, &runs, e);
    if (rc != DYT_OK)
        return rc;
    rc = store_txn_begin(out, e);
    if (rc == DYT_OK)
        rc = merge_campaigns(out, in, st, e);
    for (size_t i = 0; rc == DYT_OK && i < runs.n; i++)
        rc = merge_one_run(out, in, &runs.v[i], source_file, now, st, e);
    st->runs = runs.n;
    store_run_list_free(&runs);
    if (rc == DYT_OK)
        return store_txn_commit(out, e);
    store_txn_rollback(out);
    return rc;
}
