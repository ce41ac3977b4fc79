/* run's options (run_args.h): the table, and the values turned into what
 * the run is made of -- the plan filter, the budget, the peer's options,
 * the injected slowdown, the lockstep pipes, the campaign. */
#include "run_args.h"
#include "counters.h"
#include "kernels.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    O_SUITE = CLI_KEY,
    O_MODEL,
    O_NORM,
    O_DTYPE,
    O_PASS,
    O_VARIANT,
    O_OVERSUB,
    O_DEVICE,
    O_PEER,
    O_PEER_VARIANT,
    O_PYTHON,
    O_CACHE,
    O_PAGES,
    O_METRIC,
    O_MAXNOISE,
    O_MINS,
    O_MAXS,
    O_MINT,
    O_MAXT,
    O_QUICK,
    O_ROUNDS,
    O_SEED,
    O_LLC,
    O_PAPI,
    O_CUPTI,
    O_INJECT,
    O_DB,
    O_LABEL,
    O_SHARD,
    O_CAMPAIGN,
    O_RESUME,
    O_LOCKSTEP,
    O_LOCKSTEP_TOKEN,
    O_ARM,
};

static const char *const caches[] = {"hot", "cold", NULL};
static const char *const metrics[] = {"time", "instructions", NULL};
static const char *const devices[] = {"cpu", "cuda", NULL};
static const char *const pages[] = {"huge", "small", NULL};

const cli_option run_options[] = {
    {.help = "what to run:"},
    {"suite", O_SUITE, CLI_TEXT, "NAME|PATH[,...]",
     .help = "shipped suite (quick vision llm speech dna) or a file"},
    {"model", O_MODEL, CLI_TEXT, "SUBSTR", .help = "only sections whose name contains SUBSTR"},
    {"norm", O_NORM, CLI_TEXT, "N[,N]",
     .help = "dyt, layernorm, rmsnorm (default: model's norm + dyt)"},
    {"dtype", O_DTYPE, CLI_TEXT, "D[,D]", .help = "fp32, bf16 (default fp32)"},
    {"pass", O_PASS, CLI_TEXT, "P[,P]", .help = "fwd, bwd (default both)"},
    {"variant", O_VARIANT, CLI_TEXT, "V[,V]|all",
     .help = "kernel variants (default: best supported)"},
    {"threads", 't', CLI_TEXT, "N[,N]",
     .help = "thread counts (default: all cores; at most the hardware threads, unless "
             "--oversubscribe)"},
    {"oversubscribe", O_OVERSUB, CLI_FLAG, .help = "allow more threads than hardware threads"},
    {"device", O_DEVICE, CLI_CHOICE, .help = "where to run (default cpu)", .choices = devices},
    {"peer", O_PEER, CLI_TEXT, "torch",
     .help =
         "also time PyTorch's own modules at the same CPU cases (framework variants torch-eager, "
         "torch-compile, liger; needs python3-torch). One this installation lacks is stored "
         "skipped, with why (docs/peers.md)"},
    {"peer-variant", O_PEER_VARIANT, CLI_TEXT, "V[,V]",
     .help = "only these framework variants (each available)"},
    {"python", O_PYTHON, CLI_TEXT, "PATH",
     .help = "the peer's Python (default " RUNNER_PEER_PYTHON ")"},
    {.help = "how to measure:"},
    {"cache", O_CACHE, CLI_CHOICE, .help = "cold rotates buffer sets > 3x LLC (default hot)",
     .choices = caches},
    {"pages", O_PAGES, CLI_CHOICE,
     .help = "pages of buffers >= 2 MiB, the kernels' and the copy ceiling's alike: huge "
             "(transparent huge pages, advised; default) or small (4 KiB). With --peer the "
             "default is the pages PyTorch's allocator gets: small unless THP is 'always'",
     .choices = pages},
    {"metric", O_METRIC, CLI_CHOICE, .help = "time, or instruction counts under valgrind",
     .choices = metrics},
    {"max-noise", O_MAXNOISE, CLI_NUMBER, "F",
     .help =
         "stop when the 95% CI of the median is within F of it (relative half-width; default 0.01)",
     .lo = 0, .hi = 1},
    {"min-samples", O_MINS, CLI_COUNT, "N",
     .help = "per-case budget: at least N samples (default 10)", .min = 1, .max = 100000000},
    {"max-samples", O_MAXS, CLI_COUNT, "N",
     .help = "per-case budget: at most N samples (default 10000)", .min = 1, .max = 100000000},
    {"min-time", O_MINT, CLI_SECONDS, "S",
     .help = "per-case budget: at least S seconds (default 0.05)"},
    {"max-time", O_MAXT, CLI_SECONDS, "S",
     .help = "per-case budget: at most S seconds (default 2)"},
    {"quick", O_QUICK, CLI_FLAG,
     .help = "short budgets: max-noise 0.02, max-time 0.5 s, min-time 0.02 s, warm-up 0.01 s"},
    {"rounds", O_ROUNDS, CLI_COUNT, "N",
     .help = "measure each case in N blocks spread over the run (rounds over all cases, shuffled "
             "order; "
             "the case's budget is shared; default 1). The regression gate treats blocks as "
             "replicates: "
             "use 10 for gating",
     .min = 1, .max = 1000},
    {"seed", O_SEED, CLI_SEED, "N", .help = "input generator seed (default 1)"},
    {"llc-bytes", O_LLC, CLI_SIZE, "SIZE", .help = "last-level cache size to assume (e.g. 32M)"},
    {"papi-events", O_PAPI, CLI_TEXT, "E[,E]",
     .help = "PAPI events (default " COUNTERS_DEFAULT_PAPI ")"},
    {"cupti-metrics", O_CUPTI, CLI_TEXT, "M[,M]",
     .help = "CUPTI range-profiler metrics (--device cuda)"},
    {"inject-slowdown", O_INJECT, CLI_TEXT, "V:PCT",
     .help =
         "make variant V PCT% slower (real extra work) -- only for validating the regression gate"},
    {.help = "where and how to report:"},
    {"db", O_DB, CLI_TEXT, "PATH", .help = "results database (default " STORE_DEFAULT_PATH ")"},
    {"label", O_LABEL, CLI_TEXT, "TEXT", .help = "label of the run (compare/show accept it)"},
    {"quiet", 'q', CLI_FLAG, .help = "no progress output"},
    {.help = "campaigns (docs/cluster.md):"},
    {"shard", O_SHARD, CLI_TEXT, "I/N|slurm",
     .help =
         "run only shard I of N of the plan (1 <= I <= N): every shard plans the same cases and "
         "keeps its own, a disjoint share balanced by estimated cost; slurm: I and N from the "
         "Slurm "
         "array task (SLURM_ARRAY_TASK_*)"},
    {"campaign", O_CAMPAIGN, CLI_TEXT, "ID",
     .help =
         "the campaign the shards share (default under --shard slurm: the array job id); stored "
         "with the run, with the campaign's whole plan"},
    {"resume", O_RESUME, CLI_TEXT, "RUN|auto",
     .help =
         "continue aborted run RUN of --db with the same options, measuring only the cases it has "
         "not stored; auto: the newest run of this shard measured on this host, else a new run (a "
         "requeued array task; complete: nothing to do)"},
    /* Set by `dytbench interleave` for each arm it starts. */
    {"lockstep", O_LOCKSTEP, CLI_TEXT, .help = NULL},
    {"lockstep-token", O_LOCKSTEP_TOKEN, CLI_TEXT, .help = NULL},
    {"arm", O_ARM, CLI_TEXT, .help = NULL},
    {0},
};

int run_split(char *buf, const char **items, size_t max, size_t *n, const char *what,
              const char *who)
{
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == max)
            return cli_usage_error("%s: too many %s (at most %zu)", who, what, max);
        items[(*n)++] = t;
    }
    if (*n == 0)
        return cli_usage_error("%s: empty %s list", who, what);
    return DYT_OK;
}

/* --norm, --dtype, --pass, --variant, --threads, --device, --model into f. */
static int build_filter(cli_parser *p, run_args *a, plan_filter *f)
{
    const char *items[16];
    size_t n;
    memset(f, 0, sizeof *f);
    if (a->norms) {
        if (run_split(a->norms, items, NORM_COUNT, &n, "norms", p->who))
            return DYT_USAGE;
        for (size_t i = 0; i < n; i++)
            if (norm_from_name(items[i], &f->norms[f->n_norms++]) != 0)
                return cli_error(p, "--norm: unknown norm '%s' (dyt, layernorm, rmsnorm)",
                                 items[i]);
    }
    if (a->dtypes) {
        if (run_split(a->dtypes, items, DTYPE_COUNT, &n, "dtypes", p->who))
            return DYT_USAGE;
        for (size_t i = 0; i < n; i++)
            if (dtype_from_name(items[i], &f->dtypes[f->n_dtypes++]) != 0)
                return cli_error(p, "--dtype: unknown dtype '%s' (fp32, bf16)", items[i]);
    }
    if (a->passes) {
        if (run_split(a->passes, items, PASS_COUNT, &n, "passes", p->who))
            return DYT_USAGE;
        for (size_t i = 0; i < n; i++)
            if (pass_from_name(items[i], &f->passes[f->n_passes++]) != 0)
                return cli_error(p, "--pass: unknown pass '%s' (fwd, bwd)", items[i]);
    }
    if (a->variants) {
        if (run_split(a->variants, f->variants, DYT_ARRAY_LEN(f->variants), &f->n_variants,
                      "variants", p->who))
            return DYT_USAGE;
    }
    if (a->threads) {
        if (run_split(a->threads, items, DYT_ARRAY_LEN(f->threads), &n, "thread counts", p->who))
            return DYT_USAGE;
        for (size_t i = 0; i < n; i++) {
            uint64_t t = 0;
            if (cli_count(p, "--threads", items[i], 1, 4096, &t) ||
                cli_threads_fit(p, "--threads", t, cli_given(p, O_OVERSUB)))
                return DYT_USAGE;
            f->threads[f->n_threads++] = (int)t;
        }
    }
    f->device = a->device && !strcmp(a->device, "cuda") ? DEVICE_CUDA : DEVICE_CPU;
    if (f->device == DEVICE_CUDA && cli_given(p, O_PAGES))
        return cli_error(p, "--pages sets the pages of CPU buffers: not with --device cuda");
    f->model_filter = cli_text(p, O_MODEL, NULL);
    return DYT_OK;
}

/* --peer, --peer-variant, --python: checked here, before any work. */
static int build_peer(cli_parser *p, run_args *a, runner_opts *o)
{
    /* PyTorch's CPU allocator gets huge pages only where THP is 'always'
     * (it asks for none before 2.1), so a run beside it takes the same
     * pages unless --pages says otherwise (each peer case then notes it). */
    if (o->peer.name && !cli_given(p, O_PAGES))
        o->small_pages = !runner_peer_huge_pages();
    if (!o->peer.name) {
        if (a->peer_variants || o->peer.python)
            return cli_error(p, "%s needs --peer torch",
                             a->peer_variants ? "--peer-variant" : "--python");
        return DYT_OK;
    }
    if (a->device && strcmp(a->device, "cpu"))
        return cli_error(p, "--peer %s measures CPU cases: not with --device %s", o->peer.name,
                         a->device);
    if (o->metric != METRIC_TIME)
        return cli_error(p, "--peer %s times its cases: not with --metric instructions",
                         o->peer.name);
    if (a->peer_variants) {
        if (run_split(a->peer_variants, o->peer.variants, DYT_ARRAY_LEN(o->peer.variants),
                      &o->peer.n_variants, "framework variants", p->who))
            return DYT_USAGE;
        for (size_t i = 0; i < o->peer.n_variants; i++) {
            int k;
            if (cli_choice(p, "--peer-variant", o->peer.variants[i], runner_peer_variants(), &k))
                return DYT_USAGE;
        }
    }
    const char *py = o->peer.python ? o->peer.python : RUNNER_PEER_PYTHON;
    if (access(py, X_OK) != 0)
        return cli_error(p,
                         "--peer %s needs Python 3 with PyTorch: %s: %s (install them: apt-get "
                         "install python3 python3-torch; or give --python PATH)",
                         o->peer.name, py, strerror(errno));
    return DYT_OK;
}

/* --quick, then the explicit budget options, into o. */
static int apply_budget(cli_parser *p, runner_opts *o)
{
    if (cli_given(p, O_QUICK)) {
        o->max_noise = 0.02;
        o->max_time_s = 0.5;
        o->min_time_s = 0.02;
        o->warmup_s = 0.01;
    }
    o->max_noise = cli_real(p, O_MAXNOISE, o->max_noise);
    o->min_samples = (size_t)cli_uint(p, O_MINS, o->min_samples);
    o->max_samples = (size_t)cli_uint(p, O_MAXS, o->max_samples);
    o->min_time_s = cli_real(p, O_MINT, o->min_time_s);
    o->max_time_s = cli_real(p, O_MAXT, o->max_time_s);
    if (o->min_samples > o->max_samples)
        return cli_error(p, "--min-samples %zu exceeds --max-samples %zu", o->min_samples,
                         o->max_samples);
    if (o->min_time_s > o->max_time_s)
        return cli_error(p, "--min-time %g s exceeds --max-time %g s", o->min_time_s,
                         o->max_time_s);
    return DYT_OK;
}

/* --inject-slowdown VARIANT:PCT into a's inject_variant and inject_pct. */
static int parse_inject(cli_parser *p, run_args *a)
{
    const char *colon = strrchr(a->inject, ':');
    if (!colon || colon == a->inject || (size_t)(colon - a->inject) >= sizeof a->inject_variant ||
        dyt_parse_double(colon + 1, &a->inject_pct) || a->inject_pct <= 0 || a->inject_pct > 1000)
        return cli_error(p, "--inject-slowdown: want VARIANT:PCT (e.g. avx512:10), got '%s'",
                         a->inject);
    snprintf(a->inject_variant, sizeof a->inject_variant, "%.*s", (int)(colon - a->inject),
             a->inject);
    return DYT_OK;
}

/* --papi-events names PAPI knows: a typo is a usage error found with the
 * other options, before the store is opened or a machine record written. */
static int check_papi_events(cli_parser *p, const char *events)
{
    if (!events)
        return DYT_OK;
    counters_session *cs;
    dyt_err e = {{0}};
    if (counters_open(events, &cs, &e) != DYT_OK)
        return cli_error(p, "%s", e.msg);
    counters_close(cs);
    return DYT_OK;
}

/* --lockstep IN,OUT: two open descriptors (set by interleave). */
static void lockstep_fds(cli_parser *p, const char *spec, run_args *a)
{
    int in = -1, out = -1, used = 0;
    if (sscanf(spec, "%d,%d%n", &in, &out, &used) != 2 || spec[used] || in < 0 || out < 0 ||
        fcntl(in, F_GETFD) < 0 || fcntl(out, F_GETFD) < 0)
        p->exit = cli_usage_error("run: --lockstep: '%s' is not two open descriptors IN,OUT "
                                  "(set by dytbench interleave)",
                                  spec);
    a->lockstep_in = in;
    a->lockstep_out = out;
}

/* A copy of the text of list option key (a repeated one: the last; dflt
 * when not given) into *dst, kept in a->copies; 0 when out of memory. */
static int copy_list(const cli_parser *p, int key, const char *dflt, run_args *a, char **dst)
{
    const char *v = cli_text(p, key, dflt);
    if (!v)
        return 1;
    if (a->n_copies == DYT_ARRAY_LEN(a->copies) || !(*dst = strdup(v)))
        return 0;
    a->copies[a->n_copies++] = *dst;
    return 1;
}

int run_args_parse(cli_parser *p, run_args *a, runner_opts *o, plan_filter *f)
{
    a->lockstep_in = a->lockstep_out = -1;
    for (int c, k; (c = cli_next(p)) != -1;) {
        switch (c) {
        case O_LOCKSTEP:
            lockstep_fds(p, optarg, a);
            break;
        case O_PEER:
            if (cli_choice(p, NULL, optarg, runner_peer_names(), &k) == DYT_OK)
                o->peer.name = runner_peer_names()[k];
            break;
        case O_SHARD:
            run_campaign_shard(p, optarg, &a->camp);
            break;
        case O_CAMPAIGN:
            run_campaign_name(p, optarg, &a->camp);
            break;
        }
    }
    int rc = cli_parse_end(p, INT_MAX);
    if (rc != CLI_GO)
        return rc;
    if (p->n_operands > 0)
        return cli_error(p, "unexpected argument '%s' (suites go after --suite)", p->operands[0]);
    if (!copy_list(p, O_SUITE, "quick", a, &a->suites) ||
        !copy_list(p, O_NORM, NULL, a, &a->norms) || !copy_list(p, O_DTYPE, NULL, a, &a->dtypes) ||
        !copy_list(p, O_PASS, NULL, a, &a->passes) ||
        !copy_list(p, O_VARIANT, NULL, a, &a->variants) ||
        !copy_list(p, 't', NULL, a, &a->threads) ||
        !copy_list(p, O_PEER_VARIANT, NULL, a, &a->peer_variants))
        return cli_oom(p);
    a->db = cli_text(p, O_DB, STORE_DEFAULT_PATH);
    a->device = devices[cli_index(p, O_DEVICE, 0)];
    a->inject = cli_text(p, O_INJECT, NULL);
    a->id.label = cli_text(p, O_LABEL, NULL);
    a->id.lockstep_token = cli_text(p, O_LOCKSTEP_TOKEN, NULL);
    a->id.arm = cli_text(p, O_ARM, NULL);
    a->camp.resume = cli_text(p, O_RESUME, NULL);
    o->cache = cli_index(p, O_CACHE, 0) ? CACHE_COLD : CACHE_HOT;
    o->small_pages = cli_index(p, O_PAGES, 0) == 1;
    o->metric = cli_index(p, O_METRIC, 0) ? METRIC_INSTRUCTIONS : METRIC_TIME;
    o->seed = cli_uint(p, O_SEED, o->seed);
    o->rounds = (int)cli_uint(p, O_ROUNDS, (uint64_t)o->rounds);
    o->llc_bytes_override = cli_uint(p, O_LLC, o->llc_bytes_override);
    o->papi_events = cli_text(p, O_PAPI, o->papi_events);
    o->cupti_metrics = cli_text(p, O_CUPTI, o->cupti_metrics);
    o->peer.python = cli_text(p, O_PYTHON, o->peer.python);
    o->quiet = cli_given(p, 'q') > 0;
    if (apply_budget(p, o) || (a->inject && parse_inject(p, a)) || build_filter(p, a, f) ||
        build_peer(p, a, o) || check_papi_events(p, o->papi_events) ||
        run_campaign_check(p, &a->camp))
        return DYT_USAGE;
    if (a->camp.resume && a->lockstep_in >= 0)
        return cli_error(p, "--resume: an interleave arm is not resumed (run the session again)");
    return CLI_GO;
}

void run_args_free(run_args *a)
{
    for (size_t i = 0; i < a->n_copies; i++)
        free(a->copies[i]);
    a->n_copies = 0;
}
