/* report/campaign.c: a campaign reported as one run (report campaign:ID,
 * --vs campaign:ID). Its shards' runs are read through the store's read
 * API and their cases put together, each case of the plan once: from a
 * complete run where one stored it, else from the newest run that did (a
 * shard run twice, or resumed elsewhere, stores a case twice). The row,
 * machine and ceilings shown are those of the first of those runs; every
 * case keeps its own statistics, measured against its own run's ceiling.
 * The campaign's plan, stored by every shard, names what no run stored:
 * the shards table lists each shard's runs and counts, the missing table
 * each case nobody measured. */
#include "report_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void rep_free_campaign(rep_campaign *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->cases && i < c->runs.n; i++)
        store_case_list_free(&c->cases[i]);
    for (size_t i = 0; c->counters && i < c->runs.n; i++)
        store_counter_list_free(&c->counters[i]);
    free(c->cases);
    free(c->counters);
    free(c->missing);
    store_campaign_free(&c->plan);
    store_run_list_free(&c->runs);
    free(c->name);
    free(c);
}

/* Run indexes of a campaign (ctx) in the order their cases are preferred:
 * complete runs first, newer before older. */
static int by_preference(const void *x, const void *y, void *ctx)
{
    const rep_campaign *c = ctx;
    const store_run *a = &c->runs.v[*(const size_t *)x];
    const store_run *b = &c->runs.v[*(const size_t *)y];
    int ca = !strcmp(a->status, "complete"), cb = !strcmp(b->status, "complete");
    if (ca != cb)
        return cb - ca;
    return (a->id < b->id) - (a->id > b->id);
}

static int by_seq(const void *x, const void *y)
{
    const rep_case *a = x, *b = y;
    return (a->c.seq > b->c.seq) - (a->c.seq < b->c.seq);
}

typedef struct {
    int64_t case_id;
    const store_counter *k;
} counter_ref;

static int by_case_id(const void *x, const void *y)
{
    const counter_ref *a = x, *b = y;
    return (a->case_id > b->case_id) - (a->case_id < b->case_id);
}

/* The chosen cases of every run into r->cases (by seq), their counters
 * into r->counter_values (by case id); *taken[seq] says which are in. */
static int gather(rep_campaign *c, const size_t *order, rep_run *r, char **taken, size_t *n_taken,
                  dyt_err *e)
{
    size_t total = 0, n_counters = 0;
    int max_seq = -1;
    for (size_t i = 0; i < c->runs.n; i++) {
        total += c->cases[i].n;
        n_counters += c->counters[i].n;
        for (size_t k = 0; k < c->cases[i].n; k++)
            max_seq = DYT_MAX(max_seq, c->cases[i].v[k].c.seq);
    }
    for (size_t i = 0; i < c->plan.n; i++)
        max_seq = DYT_MAX(max_seq, c->plan.v[i].seq);
    *n_taken = (size_t)(max_seq + 1);
    *taken = calloc(*n_taken + 1, 1);
    r->cases.v = malloc((total ? total : 1) * sizeof *r->cases.v);
    counter_ref *refs = malloc((n_counters ? n_counters : 1) * sizeof *refs);
    if (!*taken || !r->cases.v || !refs) {
        free(refs);
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    }
    size_t nk = 0;
    for (size_t j = 0; j < c->runs.n; j++) {
        size_t i = order[j];
        for (size_t k = 0; k < c->cases[i].n; k++) {
            const store_case_rec *x = &c->cases[i].v[k];
            if (x->c.seq < 0)
                continue;
            if ((*taken)[x->c.seq]) {
                c->n_repeated++;
                continue;
            }
            (*taken)[x->c.seq] = 1;
            r->cases.v[r->cases.n++] = *x;
            size_t n;
            const store_counter *kv = store_counters_of(&c->counters[i], x->id, &n);
            for (size_t q = 0; q < n; q++)
                refs[nk++] = (counter_ref){x->id, &kv[q]};
        }
    }
    qsort(r->cases.v, r->cases.n, sizeof *r->cases.v, by_seq);
    /* Case ids are unique within one store, so one sort serves lookups. */
    qsort(refs, nk, sizeof *refs, by_case_id);
    store_counter_list *l = &r->counter_values;
    l->v = malloc((nk ? nk : 1) * sizeof *l->v);
    l->case_id = malloc((nk ? nk : 1) * sizeof *l->case_id);
    if (!l->v || !l->case_id) {
        free(refs);
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    }
    for (size_t i = 0; i < nk; i++) {
        l->v[i] = *refs[i].k;
        l->case_id[i] = refs[i].case_id;
    }
    l->n = nk;
    free(refs);
    return DYT_OK;
}

/* The planned cases no run stored, and whether the campaign is whole. */
static int find_missing(rep_campaign *c, const char *taken, size_t n_taken, dyt_err *e)
{
    c->missing = malloc((c->plan.n ? c->plan.n : 1) * sizeof *c->missing);
    if (!c->missing)
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    for (size_t i = 0; i < c->plan.n; i++) {
        int seq = c->plan.v[i].seq;
        if (seq < 0 || (size_t)seq >= n_taken || !taken[seq])
            c->missing[c->n_missing++] = &c->plan.v[i];
    }
    c->complete = c->have_plan && c->n_missing == 0;
    for (size_t i = 0; i < c->runs.n; i++)
        c->complete &= !strcmp(c->runs.v[i].status, "complete");
    for (size_t i = 0; i < c->runs.n; i++) {
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = !strcmp(c->runs.v[k].machine_fingerprint, c->runs.v[i].machine_fingerprint);
        c->n_machines += !seen;
    }
    return DYT_OK;
}

int rep_load_campaign(store *s, const char *name, rep_run *r, dyt_err *e)
{
    memset(r, 0, sizeof *r);
    rep_campaign *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strdup(name))) {
        free(c);
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    }
    r->campaign = c;
    const store_run_filter f = {.campaign = name};
    int rc = store_find_runs(s, &f, &c->runs, e);
    if (rc == DYT_OK && c->runs.n == 0)
        rc = dyt_errf(e, DYT_USAGE, "report: no run of campaign '%s' in %s", name, store_path(s));
    if (rc == DYT_OK)
        rc = store_load_campaign(s, name, &c->plan, &c->have_plan, e);
    size_t *order = NULL;
    if (rc == DYT_OK) {
        c->cases = calloc(c->runs.n, sizeof *c->cases);
        c->counters = calloc(c->runs.n, sizeof *c->counters);
        order = malloc(c->runs.n * sizeof *order);
        if (!c->cases || !c->counters || !order)
            rc = dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    }
    for (size_t i = 0; rc == DYT_OK && i < c->runs.n; i++) {
        order[i] = i;
        if ((rc = store_load_cases(s, c->runs.v[i].id, &c->cases[i], e)) == DYT_OK)
            rc = store_load_counters(s, c->runs.v[i].id, &c->counters[i], e);
    }
    char *taken = NULL;
    size_t n_taken = 0;
    if (rc == DYT_OK) {
        qsort_r(order, c->runs.n, sizeof *order, by_preference, c);
        rc = gather(c, order, r, &taken, &n_taken, e);
    }
    if (rc == DYT_OK)
        rc = find_missing(c, taken, n_taken, e);
    if (rc == DYT_OK) {
        /* The first preferred run stands for the campaign; its strings are
         * the list's, so the copy owns none. */
        r->run = c->runs.v[order[0]];
        r->run.text = NULL;
        r->run.status = c->complete ? "complete" : "incomplete";
        r->run.n_cases = r->cases.n;
        if ((rc = store_load_machine(s, r->run.machine_id, &r->machine, e)) == DYT_OK &&
            (rc = store_load_ceilings(s, r->run.id, &r->ceilings, e)) == DYT_OK)
            rc = rep_finish_run(r, e);
    }
    free(taken);
    free(order);
    if (rc != DYT_OK)
        rep_free_run(r);
    return rc;
}

rep_table *rep_table_shards(const rep_run *r)
{
    const rep_campaign *c = r->campaign;
    const char *head[] = {"Shard", "Run", "Host", "Status", "Cases stored", "Planned", "Ended"};
    char title[200];
    snprintf(title, sizeof title, "Campaign %s: its shards", c->name);
    rep_table *t = rep_table_new("shards", title, 7, head, "rrllrrl");
    if (!t)
        return NULL;
    int shards = c->have_plan ? c->plan.shard_count : 0;
    for (size_t i = 0; i < c->runs.n; i++)
        shards = DYT_MAX(shards, c->runs.v[i].shard_count);
    for (int k = 0; k < shards; k++) {
        size_t planned = 0, runs = 0;
        for (size_t i = 0; i < c->plan.n; i++)
            planned += c->plan.v[i].shard_index == k;
        for (size_t i = 0; i < c->runs.n; i++) {
            const store_run *x = &c->runs.v[i];
            if (x->shard_index != k)
                continue;
            size_t row = rep_table_add_row(t);
            rep_table_set(t, row, 0, "%d/%d", k + 1, shards);
            rep_table_set(t, row, 1, "%" PRId64, x->id);
            rep_table_set(t, row, 2, "%s", x->host ? x->host : "?");
            rep_table_set(t, row, 3, "%s", x->status);
            rep_table_set(t, row, 4, "%zu", c->cases[i].n);
            if (c->have_plan)
                rep_table_set(t, row, 5, "%zu", planned);
            rep_table_set(t, row, 6, "%s", x->ended_at ? x->ended_at : "not ended");
            runs++;
        }
        if (runs == 0) {
            size_t row = rep_table_add_row(t);
            rep_table_set(t, row, 0, "%d/%d", k + 1, shards);
            rep_table_set(t, row, 3, "%s", planned ? "no run stored" : "no cases planned");
            rep_table_set(t, row, 4, "0");
            if (c->have_plan)
                rep_table_set(t, row, 5, "%zu", planned);
        }
    }
    if (!c->have_plan)
        rep_table_note(t, "This store has no plan of the campaign (its runs were stored without "
                          "one): shards that stored nothing, and their cases, cannot be named.");
    else
        rep_table_note(t,
                       "%zu of the plan's %zu cases are stored%s; %zu run(s) on %zu machine(s)%s.",
                       r->cases.n, c->plan.n, c->n_missing ? " (the others are listed below)" : "",
                       c->runs.n, c->n_machines,
                       c->n_repeated ? ", some cases stored twice: the complete or newer run's "
                                       "measurement is reported"
                                     : "");
    return rep_table_done(t);
}

rep_table *rep_table_missing(const rep_run *r)
{
    const rep_campaign *c = r->campaign;
    const char *head[] = {"Seq",   "Shard", "Model", "Norm",   "Variant",
                          "dtype", "Pass",  "Rows",  "Hidden", "Threads"};
    rep_table *t = rep_table_new("missing", "Planned cases no run stored", 10, head, "rrlllllrrr");
    if (!t)
        return NULL;
    for (size_t i = 0; i < c->n_missing; i++) {
        const store_plan_case *k = c->missing[i];
        size_t row = rep_table_add_row(t);
        int tl = k->token_label && *k->token_label;
        rep_table_set(t, row, 0, "%d", k->seq);
        rep_table_set(t, row, 1, "%d/%d", k->shard_index + 1, c->plan.shard_count);
        rep_table_set(t, row, 2, "%s%s%s", k->model, tl ? "/" : "", tl ? k->token_label : "");
        rep_table_set(t, row, 3, "%s", k->norm);
        rep_table_set(t, row, 4, "%s", k->variant);
        rep_table_set(t, row, 5, "%s", k->dtype);
        rep_table_set(t, row, 6, "%s", k->pass);
        rep_table_set(t, row, 7, "%" PRId64, k->rows);
        rep_table_set(t, row, 8, "%" PRId64, k->cols);
        rep_table_set(t, row, 9, "%d", k->threads);
    }
    rep_table_note(t, "Their shards were cancelled, failed or preempted before storing them "
                      "(see the shards table); run them with run --shard I/N --resume auto and "
                      "merge again.");
    return rep_table_done(t);
}
