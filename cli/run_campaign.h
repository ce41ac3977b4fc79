/* `dytbench run`'s place in a campaign and its resumption (run_campaign.c):
 * --shard I/N or --shard slurm, --campaign ID, --resume RUN|auto. Parsed
 * and checked with the other options of run, before any work; once the
 * plan is built and the store is open, they decide what the runner
 * measures (the shard's cases, less those a resumed run already stored)
 * and what the run records (campaign, shard, plan hash, the campaign's
 * whole plan). Internal to cli/: cmd_run.c and cmd_slurm.c use it. */
#pragma once
#include "cli.h"
#include "plan.h"
#include "runner.h"
#include "store.h"

typedef struct {
    int shard_index, shard_count; /* 0-based; shard_count 0: not sharded */
    int from_slurm;               /* --shard slurm: taken from the array task */
    const char *campaign;         /* NULL: none */
    char slurm_campaign[64];      /* the array job's id, the default campaign */
    const char *resume;           /* NULL, "auto" or a run (id, label, latest) */
} run_campaign;

/* --shard SPEC: "I/N" (1 <= I <= N) or "slurm". */
int run_campaign_shard(cli_parser *p, const char *spec, run_campaign *c);
/* --campaign ID: letters, digits, '.', '_', '-'; at most 63. */
int run_campaign_name(cli_parser *p, const char *name, run_campaign *c);
/* After every option: I and N of --shard slurm from the environment (a
 * clear error outside an array task), the default campaign, and the
 * combinations (a shard needs a campaign; --campaign alone is shard 1/1). */
int run_campaign_check(cli_parser *p, run_campaign *c);

/* What one run of a campaign measures, once the plan exists. */
typedef struct {
    plan todo;                      /* the cases to measure, seq kept */
    size_t n_shard;                 /* cases of the shard (todo + those stored) */
    store_plan_case *campaign_plan; /* every case of the plan with its shard */
    char plan_hash[17];
    char note[256];       /* the resumed run's note */
    int64_t resumed;      /* the run continued, 0 if a new one */
    int complete_already; /* --resume auto found the shard complete */
    int64_t complete_run; /* ... as this run */
} run_campaign_work;

/* Fills w and the campaign, shard, plan and resume fields of id (whose
 * label, suites and suite hash are set) from full, the unsharded plan.
 * With --resume: the run to continue must be this invocation's run --
 * same plan, suites' content, device, metric, measuring options, label,
 * campaign and shard -- and not complete; `auto` continues the newest
 * aborted run of this shard on this host, or starts a new one. DYT_USAGE
 * with the reason. */
int run_campaign_prepare(const run_campaign *c, const plan *full, store *s, const runner_opts *o,
                         const char *device, runner_identity *id, run_campaign_work *w, dyt_err *e);
/* Says what the run is about to do (the shard's share of the plan's
 * n_plan cases, the cases a resumed run still lacks; nothing when quiet)
 * and returns 1, or says why there is nothing to do -- the shard is
 * complete, or has no case -- and returns 0. */
int run_campaign_say(const run_campaign_work *w, const runner_identity *id, size_t n_plan,
                     const char *db, int quiet);
void run_campaign_work_free(run_campaign_work *w);
