/* `dytbench run`'s options (run_args.c): the table of them, and their
 * values turned into what the run is made of -- the plan's filter, the
 * measuring budget, the framework peer's options, the injected slowdown,
 * the interleave session, the place in a campaign -- each checked with a
 * message naming the option, before any work. Internal to cli/:
 * cmd_run.c. */
#pragma once
#include "cli.h"
#include "plan.h"
#include "run_campaign.h"
#include "runner.h"

extern const cli_option run_options[];

typedef struct {
    /* the lists as typed, copied (into copies): the filter and the peer's
     * options point into them */
    char *suites, *norms, *dtypes, *passes, *variants, *threads, *peer_variants;
    char *copies[8];
    size_t n_copies;
    const char *db, *device;
    runner_identity id;            /* label; the interleave session's token and arm */
    int lockstep_in, lockstep_out; /* --lockstep IN,OUT; -1: none */
    const char *inject;            /* --inject-slowdown, and parsed: */
    char inject_variant[32];
    double inject_pct;
    run_campaign camp; /* --shard, --campaign, --resume */
    size_t *plan_only; /* set: stop once the plan is built, its size here */
} run_args;

/* Parses run's command line with p (begun on cli_cmd_run) and checks
 * every option: a, o (defaults set) and f filled. CLI_GO, or the exit
 * code. run_args_free releases a either way. */
int run_args_parse(cli_parser *p, run_args *a, runner_opts *o, plan_filter *f);
void run_args_free(run_args *a);

/* Splits a comma list into up to max items (pointers into buf); messages
 * name who. */
int run_split(char *buf, const char **items, size_t max, size_t *n, const char *what,
              const char *who);
