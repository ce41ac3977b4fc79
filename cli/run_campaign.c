/* run --shard / --campaign / --resume (run_campaign.h): a run as one shard
 * of a campaign, and a run continued after it was aborted or preempted.
 *
 * "The same run" on resume means what the run measures and how: the
 * unsharded plan (its hash: suites, sections, shapes, norms, dtypes,
 * passes, variants, threads), the suites' content, device, metric, the
 * measuring options stored in its settings, its label, campaign and shard.
 * Anything else would make one run of two different measurements, so a
 * resume whose invocation differs is refused, naming the first
 * difference. The machine is checked by the runner once it has probed it:
 * a run continues on the machine it began on. */
#include "run_campaign.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int run_campaign_shard(cli_parser *p, const char *spec, run_campaign *c)
{
    if (!strcmp(spec, "slurm")) {
        c->from_slurm = 1;
        return DYT_OK;
    }
    unsigned i = 0, n = 0;
    int used = 0;
    if (sscanf(spec, "%u/%u%n", &i, &n, &used) != 2 || spec[used] || !strchr("123456789", *spec) ||
        n < 1 || n > 100000 || i < 1 || i > n)
        return cli_error(p, "--shard: '%s' is not I/N with 1 <= I <= N <= 100000, or 'slurm'",
                         spec);
    c->from_slurm = 0;
    c->shard_index = (int)i - 1;
    c->shard_count = (int)n;
    return DYT_OK;
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return 0;
    for (; *s; s++)
        if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') &&
            !strchr("._-", *s))
            return 0;
    return 1;
}

int run_campaign_name(cli_parser *p, const char *name, run_campaign *c)
{
    if (!valid_name(name))
        return cli_error(p,
                         "--campaign: '%s' is not a campaign id (1 to 63 letters, digits, '.', "
                         "'_' or '-')",
                         name);
    c->campaign = name;
    return DYT_OK;
}

/* The environment variable name as a number >= 0; -1 when unset, -2 when
 * not a number. */
static long long env_number(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    return *end || errno || x < 0 ? -2 : x;
}

/* I and N of an array task: SLURM_ARRAY_TASK_ID within MIN..MAX (step
 * STEP), N from SLURM_ARRAY_TASK_COUNT when Slurm sets it. */
static int from_slurm(cli_parser *p, run_campaign *c)
{
    long long id = env_number("SLURM_ARRAY_TASK_ID");
    long long lo = env_number("SLURM_ARRAY_TASK_MIN"), hi = env_number("SLURM_ARRAY_TASK_MAX");
    long long step = env_number("SLURM_ARRAY_TASK_STEP"),
              count = env_number("SLURM_ARRAY_TASK_COUNT");
    long long job = env_number("SLURM_ARRAY_JOB_ID");
    if (id == -1) {
        const char *j = getenv("SLURM_JOB_ID");
        if (j && *j)
            return cli_error(p,
                             "--shard slurm: Slurm job %s is not an array task "
                             "(SLURM_ARRAY_TASK_ID is not set): submit it with sbatch --array=1-N, "
                             "or use dytbench slurm submit",
                             j);
        return cli_error(p, "--shard slurm: not inside a Slurm array task (SLURM_ARRAY_TASK_ID is "
                            "not set); outside Slurm give the shard as --shard I/N");
    }
    if (step == -1)
        step = 1;
    if (id < 0 || lo < 0 || hi < 0 || step < 1 || job < 0 || count == -2 || lo > hi || id < lo ||
        id > hi)
        return cli_error(p, "--shard slurm: the array task's environment is not usable "
                            "(SLURM_ARRAY_TASK_ID, _MIN, _MAX, _STEP, SLURM_ARRAY_JOB_ID)");
    long long n = (hi - lo) / step + 1;
    if ((id - lo) % step || (count >= 0 && count != n) || n > 100000)
        return cli_error(p,
                         "--shard slurm: the array's indices are not one range (%lld tasks in "
                         "%lld-%lld step %lld): submit it as --array=1-N",
                         count, lo, hi, step);
    c->shard_index = (int)((id - lo) / step);
    c->shard_count = (int)n;
    snprintf(c->slurm_campaign, sizeof c->slurm_campaign, "%lld", job);
    return DYT_OK;
}

int run_campaign_check(cli_parser *p, run_campaign *c)
{
    if (c->from_slurm && from_slurm(p, c) != DYT_OK)
        return DYT_USAGE;
    if (c->from_slurm && !c->campaign)
        c->campaign = c->slurm_campaign;
    if (c->shard_count > 0 && !c->campaign)
        return cli_error(p, "--shard %d/%d: name the campaign its shards share with --campaign ID",
                         c->shard_index + 1, c->shard_count);
    if (c->campaign && c->shard_count == 0)
        c->shard_count = 1; /* a campaign of one shard */
    if (c->resume && !*c->resume)
        return cli_error(p, "--resume: empty run (an id, a label, 'latest' or 'auto')");
    return DYT_OK;
}

static int same_text(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

/* Why run r is not this invocation's run (DYT_USAGE), or DYT_OK. */
static int check_same(const store_run *r, const runner_identity *id, const runner_opts *o,
                      const char *device, const char *hash, dyt_err *e)
{
    const char *metric = o->metric == METRIC_INSTRUCTIONS ? "instructions" : "time";
    char why[400] = "";
    if (!r->plan_hash)
        snprintf(why, sizeof why, "it was stored without a plan hash (an older dytbench)");
    else if (strcmp(r->plan_hash, hash))
        snprintf(why, sizeof why,
                 "its plan differs (plan %s, this one %s: other suites, "
                 "filters, variants or threads)",
                 r->plan_hash, hash);
    else if (!same_text(r->suite_hash, id->suite_hash))
        snprintf(why, sizeof why, "its suites' content differs (hash %s, now %s)",
                 r->suite_hash ? r->suite_hash : "?", id->suite_hash ? id->suite_hash : "?");
    else if (!same_text(r->device, device) || !same_text(r->metric, metric))
        snprintf(why, sizeof why, "it ran on %s measuring %s, this is %s measuring %s",
                 r->device ? r->device : "?", r->metric ? r->metric : "?", device, metric);
    else if (!same_text(r->label, id->label))
        snprintf(why, sizeof why, "its label is '%s', this one '%s'", r->label ? r->label : "",
                 id->label ? id->label : "");
    else if (!same_text(r->campaign, id->campaign) || r->shard_index != id->shard_index ||
             r->shard_count != id->shard_count)
        snprintf(why, sizeof why, "it is shard %d/%d of campaign '%s', this is %d/%d of '%s'",
                 r->shard_index + 1, r->shard_count, r->campaign ? r->campaign : "",
                 id->shard_index + 1, id->shard_count, id->campaign ? id->campaign : "");
    else {
        char d[300];
        if (runner_settings_differ(o, metric, r->settings, d, sizeof d) != 0)
            snprintf(why, sizeof why, "its measuring options differ (%s)", d);
    }
    if (!why[0])
        return DYT_OK;
    return dyt_errf(e, DYT_USAGE, "--resume: run %" PRId64 " is not this run: %s; it was: %s",
                    r->id, why, r->command_line ? r->command_line : "?");
}

/* The run --resume names: a spec, or for auto the newest run of this
 * shard and plan (*run 0: none, start one). */
static int find_run(const char *spec, store *s, const runner_identity *id, const char *hash,
                    int64_t *run, dyt_err *e)
{
    *run = 0;
    if (strcmp(spec, "auto"))
        return store_resolve_run(s, spec, run, e);
    const store_run_filter f = {.campaign = id->campaign};
    store_run_list l;
    int rc = store_find_runs(s, &f, &l, e);
    if (rc != DYT_OK)
        return rc;
    for (size_t i = l.n; i-- > 0 && !*run;) {
        const store_run *r = &l.v[i];
        if (same_text(r->campaign, id->campaign) && r->shard_index == id->shard_index &&
            r->shard_count == id->shard_count && same_text(r->plan_hash, hash))
            *run = r->id;
    }
    store_run_list_free(&l);
    return DYT_OK;
}

/* The cases of shard that run has not stored yet, into todo. */
static int left_to_do(store *s, int64_t run, const plan *shard, plan *todo, dyt_err *e)
{
    store_case_list have;
    int rc = store_load_cases(s, run, &have, e);
    if (rc != DYT_OK)
        return rc;
    todo->cases = malloc((shard->n_cases ? shard->n_cases : 1) * sizeof *todo->cases);
    if (!todo->cases) {
        store_case_list_free(&have);
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
    }
    for (size_t i = 0; i < shard->n_cases; i++) {
        int stored = 0;
        for (size_t k = 0; k < have.n && !stored; k++)
            stored = have.v[k].c.seq == shard->cases[i].seq;
        if (!stored)
            todo->cases[todo->n_cases++] = shard->cases[i];
    }
    store_case_list_free(&have);
    return DYT_OK;
}

/* Decides what --resume continues: w->resumed (0: a new run), or the
 * shard complete already. */
static int resume(const run_campaign *c, store *s, const runner_opts *o, const char *device,
                  const runner_identity *id, run_campaign_work *w, dyt_err *e)
{
    int64_t run;
    int rc = find_run(c->resume, s, id, w->plan_hash, &run, e);
    if (rc != DYT_OK)
        return rc;
    int automatic = !strcmp(c->resume, "auto");
    if (!run) {
        fprintf(stderr,
                "dytbench: run: --resume auto: no earlier run of this shard in %s: "
                "starting one\n",
                store_path(s));
        return DYT_OK;
    }
    store_run r;
    rc = store_load_run(s, run, &r, e);
    if (rc != DYT_OK)
        return rc;
    char host[256];
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    rc = check_same(&r, id, o, device, w->plan_hash, e);
    if (rc == DYT_OK && !strcmp(r.status, "complete")) {
        w->complete_already = 1;
        w->complete_run = run;
    } else if (rc == DYT_OK && automatic &&
               (!strcmp(r.status, "running") || !same_text(r.host, host))) {
        /* Its writer is elsewhere (a requeued task on another node): its
         * cases cannot join a run measured here. */
        fprintf(stderr,
                "dytbench: run: --resume auto: run %" PRId64 " of this shard is %s on host %s, "
                "this is %s: starting a new run of the shard\n",
                run, r.status, r.host ? r.host : "?", host);
    } else if (rc == DYT_OK && !strcmp(r.status, "running")) {
        rc = dyt_errf(e, DYT_USAGE,
                      "--resume: run %" PRId64 " is still running (pid %" PRId64 " on %s), or its "
                      "host died without ending it",
                      run, r.pid, r.host ? r.host : "?");
    } else if (rc == DYT_OK) {
        w->resumed = run;
    }
    store_run_free(&r);
    return rc;
}

int run_campaign_prepare(const run_campaign *c, const plan *full, store *s, const runner_opts *o,
                         const char *device, runner_identity *id, run_campaign_work *w, dyt_err *e)
{
    memset(w, 0, sizeof *w);
    plan_hash(full, w->plan_hash);
    int count = c->shard_count > 0 ? c->shard_count : 1;
    int index = c->shard_count > 0 ? c->shard_index : 0;
    int rc = plan_shard(full, index, count, &w->todo, e);
    if (rc != DYT_OK)
        return rc;
    w->n_shard = w->todo.n_cases;
    id->plan_hash = w->plan_hash;
    id->campaign = c->campaign;
    id->shard_index = c->shard_count > 0 ? c->shard_index : 0;
    id->shard_count = c->shard_count;
    if (c->campaign) {
        int *shard_of = malloc((full->n_cases ? full->n_cases : 1) * sizeof *shard_of);
        w->campaign_plan = calloc(full->n_cases ? full->n_cases : 1, sizeof *w->campaign_plan);
        if (!shard_of || !w->campaign_plan)
            rc = dyt_errf(e, DYT_RESOURCE, "out of memory");
        if (rc == DYT_OK)
            rc = plan_shard_assign(full, count, shard_of, e);
        for (size_t i = 0; rc == DYT_OK && i < full->n_cases; i++) {
            const plan_case *k = &full->cases[i];
            w->campaign_plan[i] = (store_plan_case){
                .seq = k->seq,
                .shard_index = shard_of[i],
                .suite = k->suite_name,
                .model = k->model->name,
                .token_label = k->token_label,
                .norm = norm_name(k->norm),
                .variant = k->variant->name,
                .dtype = dtype_name(k->dtype),
                .pass = pass_name(k->pass),
                .rows = (int64_t)k->rows,
                .cols = (int64_t)k->cols,
                .threads = k->threads,
            };
        }
        free(shard_of);
        id->campaign_plan = w->campaign_plan;
        id->n_campaign_plan = full->n_cases;
    }
    if (rc == DYT_OK && c->resume)
        rc = resume(c, s, o, device, id, w, e);
    if (rc == DYT_OK && w->resumed) {
        plan shard = w->todo;
        memset(&w->todo, 0, sizeof w->todo);
        rc = left_to_do(s, w->resumed, &shard, &w->todo, e);
        plan_free(&shard);
        char now[32];
        dyt_utc_iso(now, sizeof now);
        snprintf(w->note, sizeof w->note, "resumed at %s with %zu of %zu case(s) stored", now,
                 w->n_shard - w->todo.n_cases, w->n_shard);
        id->resume_run = w->resumed;
        id->resume_note = w->note;
    }
    if (rc != DYT_OK)
        run_campaign_work_free(w);
    return rc;
}

int run_campaign_say(const run_campaign_work *w, const runner_identity *id, size_t n_plan,
                     const char *db, int quiet)
{
    if (w->complete_already) {
        printf("shard %d/%d of campaign %s is complete as run %" PRId64 " in %s: nothing to do\n",
               id->shard_index + 1, id->shard_count, id->campaign, w->complete_run, db);
        return 0;
    }
    if (w->todo.n_cases == 0 && !w->resumed) {
        printf("shard %d/%d of campaign %s has no cases (the plan has %zu): nothing to run\n",
               id->shard_index + 1, id->shard_count, id->campaign, n_plan);
        return 0;
    }
    if (id->shard_count > 0 && !quiet)
        fprintf(stderr,
                "dytbench: run: shard %d/%d of campaign %s: %zu of the plan's %zu case(s)\n",
                id->shard_index + 1, id->shard_count, id->campaign, w->n_shard, n_plan);
    if (w->resumed)
        fprintf(stderr,
                "dytbench: run: resuming run %" PRId64 ": %zu of its %zu case(s) left to measure\n",
                w->resumed, w->todo.n_cases, w->n_shard);
    return 1;
}

void run_campaign_work_free(run_campaign_work *w)
{
    plan_free(&w->todo);
    free(w->campaign_plan);
    memset(w, 0, sizeof *w);
}
