/* dytbench run: parse options, load suites, build the plan, open the store
 * and hand everything to the CPU (or CUDA) runner; then print the run id
 * and a one-screen summary. With no arguments it runs suites/quick.suite
 * into results/dytbench.db: the README's main job. The option values
 * become the plan filter and budget in run_args.c; a shard of a campaign
 * and a resumed run are worked out in run_campaign.c.
 *
 * Exit status: 0 complete; 1 some case failed verification or could not
 * run (the run still completes and stores the rest); 2 usage/input/DB
 * error; 128 + signal (130 Ctrl-C, 143 SIGTERM) when interrupted, the run
 * then stored as 'aborted' with its finished cases kept. */
#include "cli.h"
#include "counters.h"
#include "kernels.h"
#include "plan.h"
#include "run_args.h"
#include "run_campaign.h"
#include "runner.h"
#include "store.h"
#include "suite.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fputs("usage: dytbench run [options]\n\n"
          "Runs the cases of one or more suites (shape x norm x dtype x pass x variant x\n"
          "threads), verifying each against ref before timing it, and stores every sample.\n"
          "No options: the quick suite into " STORE_DEFAULT_PATH ". A run stopped by\n"
          "SIGINT or SIGTERM is stored as aborted, with the cases it finished.\n\n"
          "options:\n"
          " what to run:\n"
          "  --suite NAME|PATH[,...]  shipped suite (quick vision llm speech dna) or a file\n"
          "  --model SUBSTR           only sections whose name contains SUBSTR\n"
          "  --norm N[,N]             dyt, layernorm, rmsnorm (default: model's norm + dyt)\n"
          "  --dtype D[,D]            fp32, bf16 (default fp32)\n"
          "  --pass P[,P]             fwd, bwd (default both)\n"
          "  --variant V[,V]|all      kernel variants (default: best supported)\n"
          "  -t, --threads N[,N]      thread counts (default: all cores; at most the\n"
          "                           hardware threads, unless --oversubscribe)\n"
          "  --oversubscribe          allow more threads than hardware threads\n"
          "  --device cpu|cuda        where to run (default cpu)\n"
          "  --peer torch             also time PyTorch's own modules at the same CPU\n"
          "                           cases (framework variants torch-eager,\n"
          "                           torch-compile, liger; needs python3-torch). One\n"
          "                           this installation lacks is stored skipped, with\n"
          "                           why (docs/peers.md)\n"
          "  --peer-variant V[,V]     only these framework variants (each available)\n"
          "  --python PATH            the peer's Python (default " RUNNER_PEER_PYTHON ")\n"
          " how to measure:\n"
          "  --cache hot|cold         cold rotates buffer sets > 3x LLC (default hot)\n"
          "  --metric time|instructions  time, or instruction counts under valgrind\n"
          "  --max-noise F            stop when the 95% CI of the median is within F\n"
          "                           of it (relative half-width; default 0.01)\n"
          "  --min-samples N --max-samples N --min-time S --max-time S  per-case budget\n"
          "                           (defaults 10, 10000, 0.05 s, 2 s)\n"
          "  --quick                  short budgets: max-noise 0.02, max-time 0.5 s,\n"
          "                           min-time 0.02 s, warm-up 0.01 s\n"
          "  --rounds N               measure each case in N blocks spread over the run\n"
          "                           (rounds over all cases, shuffled order; the case's\n"
          "                           budget is shared; default 1). The regression gate\n"
          "                           treats blocks as replicates: use 10 for gating\n"
          "  --seed N                 input generator seed (default 1)\n"
          "  --llc-bytes SIZE         last-level cache size to assume (e.g. 32M)\n"
          "  --papi-events E[,E]      PAPI events (default " COUNTERS_DEFAULT_PAPI ")\n"
          "  --cupti-metrics M[,M]    CUPTI range-profiler metrics (--device cuda)\n"
          "  --inject-slowdown V:PCT  make variant V PCT% slower (real extra work) --\n"
          "                           only for validating the regression gate\n"
          " where and how to report:\n"
          "  --db PATH                results database (default " STORE_DEFAULT_PATH ")\n"
          "  --label TEXT             label of the run (compare/show accept it)\n"
          " campaigns (docs/cluster.md):\n"
          "  --shard I/N              run only shard I of N of the plan (1 <= I <= N): every\n"
          "                           shard plans the same cases and keeps its own, a\n"
          "                           disjoint share balanced by estimated cost\n"
          "  --shard slurm            I and N from the Slurm array task (SLURM_ARRAY_TASK_*)\n"
          "  --campaign ID            the campaign the shards share (default under --shard\n"
          "                           slurm: the array job id); stored with the run, with\n"
          "                           the campaign's whole plan\n"
          "  --resume RUN|auto        continue aborted run RUN of --db with the same options,\n"
          "                           measuring only the cases it has not stored; auto: the\n"
          "                           newest run of this shard measured on this host, else a\n"
          "                           new run (a requeued array task; complete: nothing to do)\n"
          "  -q, --quiet              no progress output\n"
          "  -h, --help               this help\n",
          f);
}

enum {
    O_SUITE = 256,
    O_NORM,
    O_DTYPE,
    O_PASS,
    O_VARIANT,
    O_CACHE,
    O_LABEL,
    O_DB,
    O_QUICK,
    O_SEED,
    O_MAXNOISE,
    O_MINS,
    O_MAXS,
    O_MINT,
    O_MAXT,
    O_LLC,
    O_PAPI,
    O_CUPTI,
    O_METRIC,
    O_DEVICE,
    O_MODEL,
    O_INJECT,
    O_ROUNDS,
    O_LOCKSTEP,
    O_LOCKSTEP_TOKEN,
    O_ARM,
    O_OVERSUB,
    O_PEER,
    O_PEER_VARIANT,
    O_PYTHON,
    O_SHARD,
    O_CAMPAIGN,
    O_RESUME,
};

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
    if ((rc = store_open(a->db, 1, &s, &e)) != DYT_OK) {
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
               sig                             ? "aborted"
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

static const struct option run_options[] = {
    {"suite", required_argument, NULL, O_SUITE},
    {"norm", required_argument, NULL, O_NORM},
    {"dtype", required_argument, NULL, O_DTYPE},
    {"pass", required_argument, NULL, O_PASS},
    {"variant", required_argument, NULL, O_VARIANT},
    {"threads", required_argument, NULL, 't'},
    {"cache", required_argument, NULL, O_CACHE},
    {"label", required_argument, NULL, O_LABEL},
    {"db", required_argument, NULL, O_DB},
    {"quick", no_argument, NULL, O_QUICK},
    {"seed", required_argument, NULL, O_SEED},
    {"max-noise", required_argument, NULL, O_MAXNOISE},
    {"min-samples", required_argument, NULL, O_MINS},
    {"max-samples", required_argument, NULL, O_MAXS},
    {"min-time", required_argument, NULL, O_MINT},
    {"max-time", required_argument, NULL, O_MAXT},
    {"llc-bytes", required_argument, NULL, O_LLC},
    {"papi-events", required_argument, NULL, O_PAPI},
    {"cupti-metrics", required_argument, NULL, O_CUPTI},
    {"metric", required_argument, NULL, O_METRIC},
    {"device", required_argument, NULL, O_DEVICE},
    {"model", required_argument, NULL, O_MODEL},
    {"inject-slowdown", required_argument, NULL, O_INJECT},
    {"rounds", required_argument, NULL, O_ROUNDS},
    {"oversubscribe", no_argument, NULL, O_OVERSUB},
    /* Hidden: set by `dytbench interleave` for each arm it starts. */
    {"lockstep", required_argument, NULL, O_LOCKSTEP},
    {"lockstep-token", required_argument, NULL, O_LOCKSTEP_TOKEN},
    {"arm", required_argument, NULL, O_ARM},
    {"peer", required_argument, NULL, O_PEER},
    {"peer-variant", required_argument, NULL, O_PEER_VARIANT},
    {"python", required_argument, NULL, O_PYTHON},
    {"shard", required_argument, NULL, O_SHARD},
    {"campaign", required_argument, NULL, O_CAMPAIGN},
    {"resume", required_argument, NULL, O_RESUME},
    {"quiet", no_argument, NULL, 'q'},
    {0, 0, 0, 0},
};

/* Parses and checks every option, then runs; with who (a check on behalf
 * of that command: interleave, calibrate) it stops after the checks, or
 * with plan_cases once the plan is built (slurm submit). */
static int run_main(int argc, char **argv, const char *who, size_t *plan_cases)
{
    runner_opts o;
    runner_opts_default(&o);
    run_args a = {
        .db = STORE_DEFAULT_PATH, .device = "cpu", .lockstep_in = -1, .lockstep_out = -1};
    plan_filter f;
    int oom = 0;
    int rc = DYT_OK;
    cli_parser p;
    cli_parse_begin(&p, &cli_cmd_run, who, argc, argv);
    static const char *const caches[] = {"hot", "cold", NULL};
    static const char *const metrics[] = {"time", "instructions", NULL};
    static const char *const devices[] = {"cpu", "cuda", NULL};
    uint64_t u;
    int ch, k;
    /* A repeated list option: the last one wins. */
#define OWN(dst) (free(dst), oom |= !(dst = strdup(optarg)))
    while (rc == DYT_OK && (ch = cli_next(&p)) != -1) {
        switch (ch) {
        case O_SUITE:
            OWN(a.suites);
            break;
        case O_NORM:
            OWN(a.norms);
            break;
        case O_DTYPE:
            OWN(a.dtypes);
            break;
        case O_PASS:
            OWN(a.passes);
            break;
        case O_VARIANT:
            OWN(a.variants);
            break;
        case 't':
            OWN(a.threads);
            break;
        case O_CACHE:
            if (cli_choice(&p, NULL, optarg, caches, &k) == DYT_OK)
                o.cache = k ? CACHE_COLD : CACHE_HOT;
            break;
        case O_LABEL:
            a.id.label = optarg;
            break;
        case O_DB:
            a.db = optarg;
            break;
        case O_QUICK:
            a.quick = 1;
            break;
        case O_OVERSUB:
            a.oversubscribe = 1;
            break;
        case O_SEED:
            cli_seed(&p, NULL, optarg, &o.seed);
            break;
        case O_MAXNOISE:
            a.max_noise = optarg;
            break;
        case O_LOCKSTEP: {
            int in = -1, out = -1, used = 0;
            if (sscanf(optarg, "%d,%d%n", &in, &out, &used) != 2 || optarg[used] || in < 0 ||
                out < 0 || fcntl(in, F_GETFD) < 0 || fcntl(out, F_GETFD) < 0)
                rc = cli_usage_error("run: --lockstep: '%s' is not two open descriptors IN,OUT "
                                     "(set by dytbench interleave)",
                                     optarg);
            a.lockstep_in = in;
            a.lockstep_out = out;
            break;
        }
        case O_LOCKSTEP_TOKEN:
            a.id.lockstep_token = optarg;
            break;
        case O_ARM:
            a.id.arm = optarg;
            break;
        case O_ROUNDS:
            if (cli_count(&p, NULL, optarg, 1, 1000, &u) == DYT_OK)
                o.rounds = (int)u;
            break;
        case O_MINS:
            a.min_samples = optarg;
            break;
        case O_MAXS:
            a.max_samples = optarg;
            break;
        case O_MINT:
            a.min_time = optarg;
            break;
        case O_MAXT:
            a.max_time = optarg;
            break;
        case O_LLC:
            cli_size(&p, NULL, optarg, &o.llc_bytes_override);
            break;
        case O_CUPTI:
            o.cupti_metrics = optarg;
            break;
        case O_PAPI:
            o.papi_events = optarg;
            break;
        case O_METRIC:
            if (cli_choice(&p, NULL, optarg, metrics, &k) == DYT_OK)
                o.metric = k ? METRIC_INSTRUCTIONS : METRIC_TIME;
            break;
        case O_DEVICE:
            if (cli_choice(&p, NULL, optarg, devices, &k) == DYT_OK)
                a.device = devices[k];
            break;
        case O_MODEL:
            a.model = optarg;
            break;
        case O_PEER:
            if (cli_choice(&p, NULL, optarg, runner_peer_names(), &k) == DYT_OK)
                o.peer.name = runner_peer_names()[k];
            break;
        case O_PEER_VARIANT:
            OWN(a.peer_variants);
            break;
        case O_PYTHON:
            o.peer.python = optarg;
            break;
        case O_INJECT:
            a.inject = optarg;
            break;
        case O_SHARD:
            run_campaign_shard(&p, optarg, &a.camp);
            break;
        case O_CAMPAIGN:
            run_campaign_name(&p, optarg, &a.camp);
            break;
        case O_RESUME:
            a.camp.resume = optarg;
            break;
        case 'q':
            o.quiet = 1;
            break;
        }
    }
#undef OWN
    if (rc == DYT_OK)
        rc = cli_parse_end(&p, INT_MAX);
    if (rc == CLI_GO && p.n_operands > 0)
        rc = cli_error(&p, "unexpected argument '%s' (suites go after --suite)", p.operands[0]);
    if (rc == CLI_GO && (oom || (!a.suites && !(a.suites = strdup("quick")))))
        rc = cli_oom(&p);
    if (rc == CLI_GO &&
        (run_apply_budget(&p, &a, &o) || (a.inject && run_parse_inject(&p, &a)) ||
         run_build_filter(&p, &a, &f) || run_build_peer(&p, &a, &o) ||
         run_check_papi_events(&p, o.papi_events) || run_campaign_check(&p, &a.camp)))
        rc = DYT_USAGE;
    if (rc == CLI_GO && a.camp.resume && a.lockstep_in >= 0)
        rc = cli_error(&p, "--resume: an interleave arm is not resumed (run the session again)");
    if (rc == CLI_GO && who && !plan_cases) /* checked for another command: nothing runs */
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
    free(a.suites);
    free(a.norms);
    free(a.dtypes);
    free(a.passes);
    free(a.variants);
    free(a.threads);
    free(a.peer_variants);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    return run_main(argc, argv, NULL, NULL);
}

int cli_run_check(int argc, char **argv, const char *who)
{
    return run_main(argc, argv, who ? who : "run", NULL);
}

int cli_run_plan_size(int argc, char **argv, const char *who, size_t *n_cases)
{
    *n_cases = 0;
    return run_main(argc, argv, who ? who : "run", n_cases);
}

const cli_command cli_cmd_run = {
    .name = "run",
    .what = "run a suite and store every sample (default: the quick suite)",
    .entry = cmd_run,
    .shortopts = "qt:",
    .longopts = run_options,
    .help = usage,
    .exit1 = "a case failed verification or could not run (the run stores the rest)",
};
