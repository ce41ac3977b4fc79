/* Runners execute a plan and hand what they measure to the store. The CPU
 * runner (runners/cpu/) and the CUDA runner (runners/cuda/) take the same
 * measurement options and run identity; `dytbench run` picks one by
 * --device. Each case is measured first, into a result, and then stored in
 * one call (runners/runner_internal.h). */
#pragma once
#include "common.h"
#include "kernels.h"
#include "plan.h"
#include "store.h"

typedef enum { CACHE_HOT = 0, CACHE_COLD } cache_kind;
typedef enum { METRIC_TIME = 0, METRIC_INSTRUCTIONS } metric_kind;

/* A framework peer measured beside the kernels (`run --peer torch`): a
 * program in another process, here PyTorch's (runners/torch/), that times
 * the framework's own modules at the plan's cases under the framework
 * variants (torch-eager, torch-compile, liger). */
#define RUNNER_PEER_PYTHON "/usr/bin/python3"
#define RUNNER_PEER_MAX_VARIANTS 8
typedef struct {
    const char *name;   /* "torch"; NULL: no peer */
    const char *python; /* its interpreter; NULL: RUNNER_PEER_PYTHON */
    /* The framework variants to plan; none: every one (those this
     * installation lacks are stored skipped, with why). Named ones must be
     * available: a usage error before the run otherwise. */
    const char *variants[RUNNER_PEER_MAX_VARIANTS];
    size_t n_variants;
} runner_peer_opts;

/* How to measure (stored as the run's settings) and how much to print. */
typedef struct {
    cache_kind cache;
    metric_kind metric;
    double max_noise;         /* relative CI half-width target, default 0.01 */
    size_t min_samples;       /* default 10 */
    size_t max_samples;       /* default 10000 */
    double min_time_s;        /* per case, default 0.05 */
    double max_time_s;        /* per case, default 2.0 */
    double warmup_s;          /* default 0.02 */
    uint64_t seed;            /* default 1 */
    int rounds;               /* blocks per case, spread over the run (default 1) */
    uint64_t llc_bytes_override;
    int small_pages;          /* 4 KiB pages for buffers >= 2 MiB (default huge) */
    const char *papi_events;  /* comma list; NULL = default set */
    const char *cupti_metrics;
    int quiet;
    int progress;             /* progress line (on a terminal) */
    runner_peer_opts peer;
} runner_opts;

void runner_opts_default(runner_opts *o);

/* What a run is, as its runs row records it; nothing here changes a
 * measurement. Strings are borrowed for the call; NULL means none. */
typedef struct {
    const char *label;
    const char *suites;         /* as given: "quick" or "llm,vision" */
    const char *suite_hash;
    const char *command_line;
    const char *lockstep_token; /* the `interleave` session it is an arm of */
    const char *arm;            /* this arm's name in the session */
    const char *plan_hash;      /* the unsharded plan's (plan_hash) */
    const char *campaign;       /* the campaign of shards (run --campaign) */
    int shard_index, shard_count; /* its shard, 0-based; shard_count 0: not sharded */
    const store_plan_case *campaign_plan; /* the campaign's whole plan, stored with the run */
    size_t n_campaign_plan;
    /* > 0: continue this aborted run (run --resume) instead of starting
     * one; the plan then holds only the cases it still lacks, and the run
     * is reopened with resume_note. */
    int64_t resume_run;
    const char *resume_note;
} runner_identity;

/* Stepping (`dytbench interleave`): the runner asks before each step and
 * reports it finished. The steps of a CPU run are its set-up (machine
 * probe, pools, bandwidth ceiling), each block of each case (the whole
 * case with one round) and, with rounds, the final storing, which is
 * waited for but never reported done. No stepper (NULL): free running. */
typedef struct runner_stepper runner_stepper;
struct runner_stepper {
    /* 0: go; -1: no step will come (the coordinator is gone), and the run
     * stops as if it got SIGTERM. */
    int (*wait)(runner_stepper *self);
    void (*done)(runner_stepper *self);
};

/* The stepper of `run --lockstep IN,OUT` (runners/stepper.c): one byte
 * read from IN ('g') before each step, one byte written to OUT ('s') after
 * it. */
typedef struct {
    runner_stepper stepper; /* first: &l->stepper is the stepper */
    int in, out;
} runner_lockstep;
void runner_lockstep_init(runner_lockstep *l, int in, int out);

/* Runs every case of p, storing into s under a new run described by id.
 * Returns DYT_OK when the run completed (individual failed cases are
 * stored as failed, and make the return DYT_FAIL), DYT_USAGE on bad setup.
 * *run_id is set as soon as the run exists. SIGINT/SIGTERM end the run as
 * 'aborted'. */
int runner_cpu_run(const plan *p, const runner_opts *o, const runner_identity *id,
                   runner_stepper *step, store *s, int64_t *run_id, dyt_err *e);
/* runner_run runs p on the runner of device (the list in runners/run.c);
 * a device this build has no runner for is a DYT_USAGE error saying why
 * ("built without CUDA ..."), and so is a stepper for a runner that cannot
 * step. runner_cuda_run exists in CUDA builds only. */
int runner_run(device_kind device, const plan *p, const runner_opts *o, const runner_identity *id,
               runner_stepper *step, store *s, int64_t *run_id, dyt_err *e);
int runner_cuda_run(const plan *p, const runner_opts *o, const runner_identity *id, store *s,
                    int64_t *run_id, dyt_err *e);

/* Whether a stored run's settings (JSON) were made with the measuring
 * options o: cache, metric, seed, noise target and budgets, and the CPU
 * runner's rounds, LLC override and PAPI events where the run stored
 * them (run --resume). 0 when they match, else -1 with the first
 * difference in why ("seed: stored 1, now 2"). */
int runner_settings_differ(const runner_opts *o, const char *metric, const char *stored,
                           char *why, size_t n);

/* Framework peers (runners/torch/). The framework variants, NULL-terminated
 * ("torch-eager", "torch-compile", "liger"), and the peers ("torch"). */
const char *const *runner_peer_variants(void);
const char *const *runner_peer_names(void);
/* Whether PyTorch's CPU allocator gets huge pages here, as assumed from
 * the THP mode (not read back from the peer): only where THP is 'always',
 * since torch advises none unless THP_MEM_ALLOC_ENABLE=1 (torch >= 2.1). */
int runner_peer_huge_pages(void);
/* p with the peer's cases added (o->peer): after the cases of each shape,
 * norm, dtype and pass, one per framework variant that has the norm (liger:
 * DyT only) and thread count of those cases. *out is a new plan; a named
 * variant unknown or with no case is DYT_USAGE. */
int runner_peer_plan(const plan *p, const runner_peer_opts *po, plan *out, dyt_err *e);
/* Whether c is one of the peer's cases (its variant is a framework one). */
int runner_peer_case(const plan_case *c);
/* The CPU runner with the peer measuring its cases (runner_run calls it
 * when o->peer.name is set): the peer starts in the run's first step and
 * one that cannot start (no Python, no torch, a named variant missing)
 * is a DYT_USAGE error with nothing stored. */
int runner_torch_run(const plan *p, const runner_opts *o, const runner_identity *id,
                     runner_stepper *step, store *s, int64_t *run_id, dyt_err *e);

/* The signal (SIGINT or SIGTERM) that ended the last run early, or 0. The
 * CLI exits 128 + it (130 / 143), as a shell reports a killed command. */
int runner_stop_signal(void);

/* Instruction-count metric (run --metric instructions): measures one case's
 * kernel region on the inputs of seed under valgrind
 * (runners/cpu/instructions.c) and fills counters (source
 * callgrind/cachegrind, per element). Returns the count. */
size_t runner_cpu_instructions_case(const plan_case *c, uint64_t seed, cache_kind cache, dyt_pages pages,
                                    store_counter *out, size_t max, dyt_err *e);
/* The child side of it: `dytbench __instr-case ARGS` (hidden subcommand,
 * cli/cmd_internal.c), run under callgrind by the function above. Returns
 * the exit code. */
int runner_cpu_instructions_child(int argc, char **argv);
