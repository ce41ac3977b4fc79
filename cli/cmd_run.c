/* dytbench run: parse options, load suites, build the plan, open the store
 * and hand everything to the CPU (or CUDA) runner; then print the run id
 * and a one-screen summary. With no arguments it runs suites/quick.suite
 * into results/dytbench.db: the README's main job. The options and their
 * values, which become the plan filter and budget, are run_args.c's; a
 * shard of a campaign and a resumed run are worked out in run_campaign.c.
 *
 * Exit status: 0 complete; 1 some case failed verification or could not
 * run (the run still completes and stores the rest); 2 usage/input/DB
 * error; 128 + signal (130 Ctrl-C, 143 SIGTERM) when interrupted, the run
 * then stored as 'aborted' with its finished cases kept. */
#include "cli.h"
#include "kernels.h"
#include "plan.h"
#include "run_args.h"
#include "run_campaign.h"
#include "runner.h"
#include "store.h"
#include "suite.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Two names of one suite file (quick,quick or quick,suites/quick.suite)
 * would plan every case of it twice. */
static int same_suite_twice(char paths[][1024], size_t n, const char *const *names, dyt_err *e)
{
    char real[PATH_MAX], other[PATH_MAX];
    if (!realpath(paths[n], real))
        return DYT_OK; /* parsing it reports why */
    for (size_t i = 0; i < n; i++)
        if (realpath(paths[i], other) && !strcmp(real, other))
            return dyt_errf(e, DYT_USAGE,
                            "--suite: '%s' and '%s' are the same file (its cases would run twice)",
                            names[i], names[n]);
    return DYT_OK;
}

/* Loads the suites, builds the plan and runs it; everything allocated here
 * is released here. */
static int run_plan(run_args *a, runner_opts *o, const plan_filter *f)
{
    const char *names[16];
    size_t n_names;
    char *suites_copy = strdup(a->suites);
    if (!suites_copy ||
        run_split(suites_copy, names, DYT_ARRAY_LEN(names), &n_names, "suites", "run")) {
        free(suites_copy);
        return DYT_USAGE;
    }
    suite sv[16];
    size_t ns = 0;
    dyt_err e = {{0}};
    int rc = DYT_OK;
    uint64_t h = DYT_HASH64_INIT;
    char paths[16][1024];
    for (size_t i = 0; i < n_names && rc == DYT_OK; i++) {
        rc = suite_resolve(names[i], paths[i], sizeof paths[i], &e);
        if (rc == DYT_OK)
            rc = same_suite_twice(paths, i, names, &e);
        if (rc == DYT_OK)
            rc = suite_parse_file(paths[i], 0, &sv[ns], &e);
        if (rc == DYT_OK) {
            h = dyt_hash64(&sv[ns].content_hash, sizeof sv[ns].content_hash, h);
            ns++;
        }
    }
    char hash[32];
    /* One suite: its own content hash; several: a hash of their hashes in
     * command-line order. */
    snprintf(hash, sizeof hash, "%016" PRIx64, ns == 1 ? sv[0].content_hash : h);
    plan p = {0};
    if (rc == DYT_OK && a->lockstep_in >= 0 &&
        ((a->device && !strcmp(a->device, "cuda")) || o->metric == METRIC_INSTRUCTIONS))
        rc = dyt_errf(&e, DYT_USAGE, "interleave (--lockstep) runs CPU timing runs only");
    if (rc == DYT_OK)
        rc = plan_build(sv, ns, f, &p, &e);
    if (rc == DYT_OK && o->peer.name) {
        plan with_peer;
        rc = runner_peer_plan(&p, &o->peer, &with_peer, &e);
        plan_free(&p);
        p = with_peer;
    }
    if (rc == DYT_OK && p.n_cases == 0)
        rc = dyt_errf(&e, DYT_USAGE, "no case matches the filters");
    if (rc != DYT_OK) {
        if (e.msg[0])
            rc = cli_fail(rc, "run: %s", e.msg);
        goto out;
    }
    if (a->plan_only) {
        *a->plan_only = p.n_cases;
        goto out;
    }

    if (!strcmp(a->db, STORE_DEFAULT_PATH) && mkdir("results", 0777) != 0 && errno != EEXIST) {
        rc = cli_fail(DYT_RESOURCE, "run: cannot create results/: %s", strerror(errno));
        goto out;
    }
    store *s;
    /* Resuming a run by its id needs the store that holds it: a mistyped
     * path is an error, not a new empty store. */
    int create = !a->camp.resume || !strcmp(a->camp.resume, "auto");
    if ((rc = store_open(a->db, create, &s, &e)) != DYT_OK) {
        rc = cli_fail(rc, "run: %s", e.msg);
        goto out;
    }
    int64_t run_id = 0;
    uint64_t t0 = dyt_now_ns();
    a->id.suites = a->suites;
    a->id.suite_hash = hash;
    a->id.command_line = cli_command_line();
    run_campaign_work w;
    if ((rc = run_campaign_prepare(&a->camp, &p, s, o, a->device, &a->id, &w, &e)) != DYT_OK) {
        rc = cli_fail(rc, "run: %s", e.msg);
        store_close(s);
        goto out;
    }
    if (!run_campaign_say(&w, &a->id, p.n_cases, a->db, o->quiet)) { /* nothing to do */
        run_campaign_work_free(&w);
        store_close(s);
        goto out;
    }
    runner_lockstep lockstep;
    runner_lockstep_init(&lockstep, a->lockstep_in, a->lockstep_out);
    rc = runner_run(f->device, &w.todo, o, &a->id, a->lockstep_in >= 0 ? &lockstep.stepper : NULL,
                    s, &run_id, &e);
    double secs = (double)(dyt_now_ns() - t0) / 1e9;
    int sig = runner_stop_signal();
    if (run_id > 0) {
        if (!o->quiet || sig) {
            printf("\n");
            cli_show_cases(s, run_id, 1, stdout);
        }
        printf("\nrun %lld %s: %zu planned case(s) in %.1f s -> %s (dytbench show %lld --db %s)\n",
               (long long)run_id,
               sig                              ? "aborted"
               : rc != DYT_OK && rc != DYT_FAIL ? "failed"
                                                : "complete",
               w.n_shard, secs, a->db, (long long)run_id, a->db);
    }
    run_campaign_work_free(&w);
    if (rc != DYT_OK && rc != DYT_FAIL)
        rc = cli_fail(rc, "run: %s", e.msg);
    else if (rc == DYT_FAIL && !sig)
        fprintf(stderr, "dytbench: run: some cases failed or were skipped (see above)\n");
    store_close(s);
    if (sig)
        rc = 128 + sig;
out:
    plan_free(&p);
    for (size_t i = 0; i < ns; i++)
        suite_free(&sv[i]);
    free(suites_copy);
    return rc;
}

/* Parses (with p, begun on cli_cmd_run) and checks every option, then
 * runs; for a check on behalf of another command (interleave,
 * calibrate) it stops after the checks, or with plan_cases once the plan
 * is built (slurm submit). */
static int run_main(cli_parser *p, size_t *plan_cases)
{
    runner_opts o;
    runner_opts_default(&o);
    run_args a = {0};
    plan_filter f;
    int rc = run_args_parse(p, &a, &o, &f);
    if (rc == CLI_GO && p->on_behalf && !plan_cases) /* checked: nothing runs */
        rc = DYT_OK;
    a.plan_only = plan_cases;
    if (rc == CLI_GO && a.inject && !plan_cases) {
        kern_set_injected_slowdown(a.inject_variant, a.inject_pct / 100.0);
        fprintf(stderr,
                "dytbench: note: injecting a %.1f%% slowdown into variant %s "
                "(gate validation; these timings are not the kernel's own)\n",
                a.inject_pct, a.inject_variant);
    }
    if (rc == CLI_GO)
        rc = run_plan(&a, &o, &f);
    kern_set_injected_slowdown(NULL, 0);
    run_args_free(&a);
    return rc;
}

static int cmd_run(cli_parser *p)
{
    return run_main(p, NULL);
}

/* run_main on behalf of who. */
static int run_for(int argc, char **argv, const char *who, size_t *plan_cases)
{
    cli_parser p;
    cli_parse_begin(&p, &cli_cmd_run, who ? who : "run", argc, argv);
    int rc = run_main(&p, plan_cases);
    cli_parse_free(&p);
    return rc;
}

int cli_run_check(int argc, char **argv, const char *who)
{
    return run_for(argc, argv, who, NULL);
}

int cli_run_plan_size(int argc, char **argv, const char *who, size_t *n_cases)
{
    *n_cases = 0;
    return run_for(argc, argv, who, n_cases);
}

const cli_command cli_cmd_run = {
    .name = "run",
    .what = "run a suite and store every sample (default: the quick suite)",
    .entry = cmd_run,
    .options = run_options,
    .usage = "usage: dytbench run [options]\n\n"
             "Runs the cases of one or more suites (shape x norm x dtype x pass x variant x\n"
             "threads), verifying each against ref before timing it, and stores every sample.\n"
             "No options: the quick suite into " STORE_DEFAULT_PATH ". A run stopped by\n"
             "SIGINT or SIGTERM is stored as aborted, with the cases it finished.\n",
    .exit1 = "a case failed verification or could not run (the run stores the rest)",
};
