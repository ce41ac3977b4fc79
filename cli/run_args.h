/* `dytbench run`'s options as the run uses them (run_args.c): what was
 * typed, kept until every option is read, then turned into the plan's
 * filter, the measuring budget, the framework peer's options and the
 * injected slowdown, each checked with a message naming the option.
 * Internal to cli/: cmd_run.c. */
#pragma once
#include "cli.h"
#include "plan.h"
#include "run_campaign.h"
#include "runner.h"

typedef struct {
    char *suites, *norms, *dtypes, *passes, *variants, *threads, *peer_variants;
    const char *db, *model, *inject, *device;
    int quick, oversubscribe;
    /* explicit budget options, applied after --quick */
    const char *max_noise, *min_samples, *max_samples, *min_time, *max_time;
    runner_identity id;            /* label; the interleave session's token and arm */
    int lockstep_in, lockstep_out; /* --lockstep IN,OUT; -1: none */
    char inject_variant[32];       /* --inject-slowdown, parsed */
    double inject_pct;
    run_campaign camp; /* --shard, --campaign, --resume */
    size_t *plan_only; /* set: stop once the plan is built, its size here */
} run_args;

/* Splits a comma list into up to max items (pointers into buf); messages
 * name who. */
int run_split(char *buf, const char **items, size_t max, size_t *n, const char *what,
              const char *who);
/* --norm, --dtype, --pass, --variant, --threads, --device, --model into f. */
int run_build_filter(cli_parser *p, run_args *a, plan_filter *f);
/* --peer, --peer-variant, --python: checked here, before any work. */
int run_build_peer(cli_parser *p, run_args *a, runner_opts *o);
/* --quick, then the explicit budget options, into o. */
int run_apply_budget(cli_parser *p, const run_args *a, runner_opts *o);
/* --inject-slowdown VARIANT:PCT into a's inject_variant and inject_pct. */
int run_parse_inject(cli_parser *p, run_args *a);
/* --papi-events names PAPI knows: a typo is a usage error found with the
 * other options, before the store is opened or a machine record written. */
int run_check_papi_events(cli_parser *p, const char *events);
