/* Loading a side for the gate: resolving the side's spec (a comma list of
 * ids, "latest", labels, "all:LABEL", "campaign:ID", each optionally in
 * another store as "path.db:..."), then every case of each run with the values of the
 * compared metric -- the raw samples not excluded by the runner, each with
 * its block (round), for time, or one counter value per element for a
 * counter metric. The runs of a side are pooled by case key: a sample's
 * replicate is (run index in the side, block), so two runs of one block
 * each give two replicates. A case is missing for the side only when no
 * run has it ok; it keeps the reason, so the report can say why it was
 * not compared rather than dropping it. Each run also keeps the
 * `interleave` session it was measured in (runs.lockstep_token and
 * runs.arm, "" when NULL): compare pairs the blocks of two sides by
 * (token, block). Everything is read through the store's read API. */
#include "gate.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
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

static void load_header(const store_run *run, gate_run *r)
{
    copy_str(r->label, sizeof r->label, run->label);
    copy_str(r->git_rev, sizeof r->git_rev, run->git_rev);
    copy_str(r->status, sizeof r->status, run->status);
    copy_str(r->metric, sizeof r->metric, run->metric);
    copy_str(r->started_at, sizeof r->started_at, run->started_at);
    r->machine_id = run->machine_id;
    copy_str(r->machine_fp, sizeof r->machine_fp, run->machine_fingerprint);
    copy_str(r->lockstep_token, sizeof r->lockstep_token, run->lockstep_token);
    copy_str(r->arm, sizeof r->arm, run->arm);
    /* The page size moves DRAM-bound cases by several percent: compare
     * says when the sides differ in it. */
    json_t *s = run->settings ? json_loads(run->settings, 0, NULL) : NULL;
    copy_str(r->pages, sizeof r->pages, json_string_value(json_object_get(s, "pages")));
    json_decref(s);
}

static void load_case(const store_case_rec *rec, gate_case *c)
{
    const store_case *k = &rec->c;
    memset(c, 0, sizeof *c);
    copy_str(c->suite, sizeof c->suite, k->suite);
    copy_str(c->model, sizeof c->model, k->model);
    copy_str(c->norm, sizeof c->norm, k->norm);
    copy_str(c->variant, sizeof c->variant, k->variant);
    copy_str(c->dtype, sizeof c->dtype, k->dtype);
    copy_str(c->pass, sizeof c->pass, k->pass);
    c->rows = k->rows;
    c->cols = k->cols;
    c->threads = k->threads;
    copy_str(c->cache, sizeof c->cache, k->cache);
    copy_str(c->device, sizeof c->device, k->device);
    copy_str(c->status, sizeof c->status, k->status);
    copy_str(c->error, sizeof c->error, k->error);
    snprintf(c->key, sizeof c->key, "%s/%s/%s/%s/%s/%s/%lldx%lld/t%d/%s/%s", c->suite, c->model,
             c->norm, c->variant, c->dtype, c->pass, (long long)c->rows, (long long)c->cols,
             c->threads, c->cache, c->device);
    snprintf(c->cal_key, sizeof c->cal_key, "%s/%s/%s/%s/%s/%lld/%lld/%d/%s", c->model, c->norm,
             c->variant, c->dtype, c->pass, (long long)c->rows, (long long)c->cols, c->threads,
             c->cache);
}

/* The samples the runner kept, each with its block (round). */
static int load_samples(store *s, gate_case *c, int64_t case_id, dyt_err *e)
{
    store_sample *smp;
    size_t n;
    DYT_TRY(store_load_samples(s, case_id, STORE_SAMPLES_KEPT, &smp, &n, e));
    if (n == 0) {
        snprintf(c->missing, sizeof c->missing, "no samples stored");
        return DYT_OK;
    }
    c->x = malloc(n * sizeof *c->x);
    c->rep = malloc(n * sizeof *c->rep);
    int rc = c->x && c->rep ? DYT_OK : dyt_errf(e, DYT_RESOURCE, "out of memory");
    for (size_t i = 0; i < n && rc == DYT_OK; i++) {
        if (smp[i].block < 0)
            rc = dyt_errf(e, DYT_USAGE, "case %lld: sample with block %d out of range",
                          (long long)case_id, smp[i].block);
        c->x[i] = smp[i].ns;
        c->rep[i] = smp[i].block;
    }
    if (rc == DYT_OK)
        c->n = n;
    free(smp);
    return rc;
}

/* A deterministic source (callgrind, cachegrind) first, then by source. */
static int counter_rank(const store_counter *k)
{
    return !(strcmp(k->source, "callgrind") == 0 || strcmp(k->source, "cachegrind") == 0);
}

/* Whether counter k measures metric: "instructions" matches the
 * callgrind/cachegrind count and PAPI's PAPI_TOT_INS; any other name
 * matches exactly. */
static int counter_is(const store_counter *k, const char *metric)
{
    return !strcmp(k->name, metric) ||
           (!strcmp(metric, "instructions") && !strcmp(k->name, "PAPI_TOT_INS"));
}

/* The value per element of metric among the case's counters k[0..n): the
 * preferred available one, else the reason of the preferred unavailable
 * one. */
static int load_counter(gate_case *c, const store_counter *k, size_t n, const char *metric,
                        dyt_err *e)
{
    const store_counter *best = NULL, *why = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!counter_is(&k[i], metric))
            continue;
        const store_counter **slot = k[i].available ? &best : &why;
        if (!*slot || counter_rank(&k[i]) < counter_rank(*slot) ||
            (counter_rank(&k[i]) == counter_rank(*slot) &&
             strcmp(k[i].source, (*slot)->source) < 0))
            *slot = &k[i];
    }
    if (!best) {
        if (why)
            snprintf(c->missing, sizeof c->missing, "%s %s unavailable: %s", why->source, metric,
                     why->unavailable_reason ? why->unavailable_reason : "?");
        else
            snprintf(c->missing, sizeof c->missing, "counter not stored");
        return DYT_OK;
    }
    if (!(c->x = malloc(sizeof *c->x)))
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
    c->x[0] = isnan(best->per_element) ? best->value : best->per_element;
    c->n = 1;
    copy_str(c->source, sizeof c->source, best->source);
    return DYT_OK;
}

/* A counter metric must be one the run stores for some case (available or
 * not): a name no case has is a typo (--metric instrucitons), an input
 * error, not a run of cases "not compared". */
static int check_counter_known(const store_counter_list *k, const char *metric, const gate_run *r,
                               dyt_err *e)
{
    char names[400] = "";
    size_t len = 0;
    for (size_t i = 0; i < k->n; i++) {
        if (counter_is(&k->v[i], metric))
            return DYT_OK;
        char one[80];
        snprintf(one, sizeof one, "%s%s", len ? ", " : "", k->v[i].name);
        if (!strstr(names, k->v[i].name) && len + strlen(one) + 4 < sizeof names)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s", one);
    }
    return dyt_errf(e, DYT_USAGE,
                    "--metric %s: no case of run %lld (%s) has a counter of that name (it stores: "
                    "%s; or use --metric time)",
                    metric, (long long)r->run_id, r->db_path, names[0] ? names : "none");
}

/* Loads run id of s (header and cases with their values of metric) into
 * out, which is zeroed first. */
static int load_run_id(store *s, int64_t id, const char *metric, gate_run *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    out->run_id = id;
    snprintf(out->db_path, sizeof out->db_path, "%s", store_path(s));
    store_run run;
    DYT_TRY(store_load_run(s, id, &run, e));
    load_header(&run, out);
    store_run_free(&run);
    int is_time = !strcmp(metric, "time");
    if (is_time && strcmp(out->metric, "time") != 0)
        return dyt_errf(e, DYT_USAGE,
                        "run %lld (%s) measured %s, not time: compare it with --metric %s",
                        (long long)out->run_id, out->db_path, out->metric, out->metric);
    store_case_list cases;
    store_counter_list counters = {0};
    int rc;
    if ((rc = store_load_cases(s, id, &cases, e)) != DYT_OK ||
        (!is_time && (rc = store_load_counters(s, id, &counters, e)) != DYT_OK) ||
        (!is_time && (rc = check_counter_known(&counters, metric, out, e)) != DYT_OK)) {
        store_case_list_free(&cases);
        store_counter_list_free(&counters);
        return rc;
    }
    if (cases.n && !(out->cases = calloc(cases.n, sizeof *out->cases)))
        rc = dyt_errf(e, DYT_RESOURCE, "out of memory");
    for (size_t i = 0; i < cases.n && rc == DYT_OK; i++) {
        gate_case *c = &out->cases[out->n_cases++];
        load_case(&cases.v[i], c);
        if (strcmp(c->status, "ok") != 0) {
            snprintf(c->missing, sizeof c->missing, "case %s%s%s", c->status,
                     c->error[0] ? ": " : "", c->error);
            continue;
        }
        size_t nk = 0;
        const store_counter *k = is_time ? NULL : store_counters_of(&counters, cases.v[i].id, &nk);
        rc = is_time ? load_samples(s, c, cases.v[i].id, e) : load_counter(c, k, nk, metric, e);
    }
    store_case_list_free(&cases);
    store_counter_list_free(&counters);
    return rc;
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
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
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
    snprintf(ref->pages, sizeof ref->pages, "%s", one->pages);
    /* The side's header is its last run's: all of one but its cases. */
    gate_run head = *one;
    head.cases = side->cases;
    head.n_cases = side->n_cases;
    head.runs = side->runs;
    head.n_runs = side->n_runs;
    *side = head;

    size_t n_old = side->n_cases;
    gate_case *v = realloc(side->cases, (n_old + one->n_cases + 1) * sizeof *v);
    char *taken = calloc(n_old + 1, 1);
    if (v)
        side->cases = v;
    if (!v || !taken) {
        free(taken);
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
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
                return dyt_errf(e, DYT_RESOURCE, "out of memory");
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
    /* all:LABEL and campaign:ID: what follows the prefix may hold ':'. */
    static const char *const prefixes[] = {":all:", ":campaign:"};
    for (size_t k = 0; k < DYT_ARRAY_LEN(prefixes); k++) {
        if (!strncmp(item, prefixes[k] + 1, strlen(prefixes[k] + 1)))
            return 0;
        for (const char *p = strstr(item, prefixes[k]); p; p = strstr(p + 1, prefixes[k])) {
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
    }
    return split_db_spec(item, path, n, rest);
}

/* The ids of the runs REST names in s: one for an id/label/latest, every
 * complete run with the label, oldest first, for all:LABEL, every run of
 * the campaign (its shards, each with its own cases) for campaign:ID. */
static int resolve_ids(store *s, const char *rest, int64_t **ids, size_t *n, dyt_err *e)
{
    *ids = NULL;
    *n = 0;
    int campaign = !strncmp(rest, "campaign:", 9);
    if (strncmp(rest, "all:", 4) != 0 && !campaign) {
        int64_t id;
        DYT_TRY(store_resolve_run(s, rest, &id, e));
        if (!(*ids = malloc(sizeof **ids)))
            return dyt_errf(e, DYT_RESOURCE, "out of memory");
        (*ids)[0] = id;
        *n = 1;
        return DYT_OK;
    }
    const char *label = rest + (campaign ? 9 : 4);
    if (!*label)
        return dyt_errf(e, DYT_USAGE, campaign ? "'campaign:' needs a campaign id (campaign:ID)"
                                               : "'all:' needs a label (all:LABEL)");
    const store_run_filter f = campaign ? (store_run_filter){.campaign = label}
                                        : (store_run_filter){.label = label, .status = "complete"};
    store_run_list runs;
    DYT_TRY(store_find_runs(s, &f, &runs, e));
    if (runs.n && !(*ids = malloc(runs.n * sizeof **ids))) {
        store_run_list_free(&runs);
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
    }
    for (size_t i = 0; i < runs.n; i++)
        (*ids)[i] = runs.v[i].id;
    *n = runs.n;
    store_run_list_free(&runs);
    if (*n == 0 && campaign)
        return dyt_errf(e, DYT_USAGE, "no run of campaign '%s' in %s", label, store_path(s));
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
        DYT_TRY(store_open(path, 0, &own, e));
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

/* Whether the part of item before its run (before ":all:" or the last
 * ':') names a store file in the documented form, PATH.db (or .sqlite,
 * .sqlite3): such an item whose file does not exist is a missing file, not
 * a label of the default store. */
static int names_missing_store(const char *item, char *path, size_t n)
{
    const char *all = strstr(item, ":all:"), *colon = all ? all : strrchr(item, ':');
    if (!colon || colon == item || (size_t)(colon - item) >= n)
        return 0;
    snprintf(path, n, "%.*s", (int)(colon - item), item);
    size_t len = strlen(path);
    static const char *const exts[] = {".db", ".sqlite", ".sqlite3"};
    int store_like = 0;
    for (size_t i = 0; i < DYT_ARRAY_LEN(exts); i++)
        store_like |= len > strlen(exts[i]) && !strcmp(path + len - strlen(exts[i]), exts[i]);
    struct stat sb;
    return store_like && stat(path, &sb) != 0;
}

int gate_spec_check(const char *spec, dyt_err *e)
{
    char *copy = strdup(spec);
    if (!copy)
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
    int rc = DYT_OK;
    char *cur = copy, path[512];
    for (char *item = strsep(&cur, ","); item && rc == DYT_OK; item = strsep(&cur, ","))
        if (names_missing_store(item, path, sizeof path))
            rc = dyt_errf(e, DYT_USAGE, "%s: no such store file (in '%s')", path, item);
    free(copy);
    return rc;
}

int gate_load_run(store *default_db, const char *spec, const char *metric, gate_run *out,
                  dyt_err *e)
{
    memset(out, 0, sizeof *out);
    DYT_TRY(gate_spec_check(spec, e));
    char *copy = strdup(spec);
    if (!copy)
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
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
