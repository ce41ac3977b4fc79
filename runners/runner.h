/* Runners execute a plan and store what they measure. The CPU runner
 * (runners/cpu/) and the CUDA runner (runners/cuda/) share these options and
 * the store; `dytbench run` picks one by --device. */
#pragma once
#include "common.h"
#include "kernels.h"
#include "plan.h"
#include "store.h"

typedef enum { CACHE_HOT = 0, CACHE_COLD } cache_kind;
typedef enum { METRIC_TIME = 0, METRIC_INSTRUCTIONS } metric_kind;

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
    int lockstep_in, lockstep_out; /* `interleave` arm: step pipes, -1 = none */
    const char *lockstep_token;    /* the interleave session, stored with the run */
    const char *arm;               /* this arm's name in the session */
    uint64_t llc_bytes_override;
    const char *label;
    const char *papi_events;  /* comma list; NULL = default set */
    const char *cupti_metrics;
    int quiet;
    int progress;             /* progress line (on a terminal) */
} runner_opts;

void runner_opts_default(runner_opts *o);

/* Runs every case of p, storing into s under a new run. Returns DYT_OK when
 * the run completed (individual failed cases are stored as failed, and make
 * the return DYT_FAIL), DYT_USAGE on bad setup. *run_id is set as soon as the
 * run exists. SIGINT/SIGTERM end the run as 'aborted'.
 *
 * runner_run runs p on the runner of device (the list in runners/run.c);
 * a device this build has no runner for is a DYT_USAGE error saying why
 * ("built without CUDA ..."). runner_cuda_run exists in CUDA builds only. */
int runner_run(device_kind device, const plan *p, const runner_opts *o, store *s,
               const char *suites_desc, const char *suite_hash, const char *command_line,
               int64_t *run_id, dyt_err *e);
int runner_cpu_run(const plan *p, const runner_opts *o, store *s, const char *suites_desc,
                   const char *suite_hash, const char *command_line, int64_t *run_id, dyt_err *e);
int runner_cuda_run(const plan *p, const runner_opts *o, store *s, const char *suites_desc,
                    const char *suite_hash, const char *command_line, int64_t *run_id, dyt_err *e);

/* Lockstep steps (runners/cpu/lockstep.c): wait for the coordinator's go
 * (0; -1 when it is gone, which stops the run) and report a step done. No-ops
 * without --lockstep. */
int runner_lockstep_wait(const runner_opts *o);
void runner_lockstep_done(const runner_opts *o);

/* The signal (SIGINT or SIGTERM) that ended the last run early, or 0. The
 * CLI exits 128 + it (130 / 143), as a shell reports a killed command. */
int runner_stop_signal(void);

/* Instruction-count metric (run --metric instructions): measures one case's
 * kernel region under valgrind (runners/cpu/instructions.c) and fills
 * counters (source callgrind/cachegrind, per element). Returns the count. */
size_t runner_cpu_instructions_case(const plan_case *c, const runner_opts *o,
                                    store_counter *out, size_t max, dyt_err *e);
/* The child side of it: `dytbench __instr-case ARGS` (hidden subcommand,
 * cli/cmd_internal.c), run under callgrind by the function above. Returns
 * the exit code. */
int runner_cpu_instructions_child(int argc, char **argv);
