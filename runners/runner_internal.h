/* What the CPU and CUDA runners share (the files in runners/): how every case of a
 * run is measured (fixed from runner_opts before the first case), the
 * case's argument template and inputs, the adaptive sampler, the measured
 * case as a result that
 * is handed to the store in one call, the run's row (settings JSON, begin,
 * end), the runner's side of stepping, and SIGINT/SIGTERM. Not part of the
 * runner's contract (runners/runner.h); tests of the runner stage include
 * it to check the pieces on their own. */
#pragma once
#include "common.h"
#include "counters.h"
#include "kernels.h"
#include "plan.h"
#include "runner.h"
#include "stats.h"
#include "store.h"

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* ---- run_row.c: how cases are measured, the run's row --------------------- */

/* What every case of a run is measured with. Measuring code reads this, not
 * runner_opts; the times are in ns as doubles so a block's share of them is
 * computed exactly as from the options. */
typedef struct {
    cache_kind cache;
    uint64_t seed;                   /* input generator */
    double max_noise;                /* relative half-width of the median's 95% CI */
    size_t min_samples, max_samples; /* per case, shared by its blocks */
    double min_time_ns, max_time_ns; /* per case, shared by its blocks */
    double warmup_ns;
    dyt_pages pages; /* of buffers >= 2 MiB: the operands and the copy ceiling's */
} runner_case_spec;
void runner_case_spec_init(runner_case_spec *cs, const runner_opts *o);

/* The settings every run records (cache, metric, seed, the sampling
 * budget), as a JSON object to which the runner adds its own keys. */
json_t *runner_settings_json(const runner_opts *o, const char *metric);
/* The machine record a run stores: the probe (with --llc-bytes, 0: hwloc's
 * LLC) and which counters can be read on it. */
int runner_probe_machine(uint64_t llc_bytes_override, machine_info *m, dyt_err *e);
/* The options the CPU runner adds to the settings: rounds (1 unless
 * timing with --rounds), llc_bytes_override, papi_events. */
void runner_cpu_option_keys(const runner_opts *o, const char *metric, json_t *j);
/* Creates the run's row from id and the settings (consumed: decref'd), or
 * with id->resume_run reopens that run (store_resume_run: on machine_id
 * only), its settings left as first stored. */
int runner_begin_run(store *s, const runner_identity *id, int64_t machine_id, const char *device,
                     const char *metric, json_t *settings, int64_t *run_id, dyt_err *e);
/* Ends the run: 'aborted' when a signal stopped it, 'failed' with e's
 * message when rc is an error, else 'complete' with note (NULL: none).
 * Returns the run's outcome: rc, the store's error, or DYT_FAIL when cases
 * failed (failed != 0) or a signal stopped it. */
int runner_end_run(store *s, int64_t run_id, int rc, int failed, const char *note, dyt_err *e);

/* ---- inputs.c: arguments and inputs of a case ----------------------------- */

/* The norm_args template of a case (shape, dtype, alpha, eps, flags). */
void runner_case_args(const plan_case *c, norm_args *a);
/* The case's inputs from the seed, the same on every device: activations
 * N(mu_c, 1) with per-channel offsets and rare outliers into x (rows x cols,
 * storage dtype), gamma N(1, 0.1) and beta N(0, 0.1) (cols floats), and for
 * backward dy (as x without the offsets; NULL for forward). */
int runner_case_inputs(const plan_case *c, uint64_t seed, void *x, float *gamma, float *beta,
                       void *dy, dyt_err *e);
/* IEEE half <-> float (round to nearest even): fp16 storage. */
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);

/* ---- sampling.c: the adaptive sampler ------------------------------------ */

/* One sample: returns the time of one call in ns (batch total / batch) and
 * sets *flags (STORE_SAMPLE_*); a negative return aborts sampling with an
 * error (e.g. the kernel refused the call; the callback may say why in the
 * dyt_err given to sampler_run). */
typedef double (*sampler_sample_fn)(void *ctx, int *flags);
/* A clock for the budget (ns); NULL means dyt_now_ns. Tests pass a fake
 * clock that advances by the synthetic samples' durations. */
typedef uint64_t (*sampler_clock_fn)(void *ctx);

typedef struct {
    double max_noise; /* relative half-width of the median's 95% CI */
    size_t min_samples, max_samples;
    uint64_t min_time_ns, max_time_ns;
    sampler_sample_fn sample;
    sampler_clock_fn clock;
    void *ctx;
    volatile sig_atomic_t *stop; /* nonzero: stop now ("interrupted"); may be NULL */
    /* Samples with any of these flags are stored excluded: left out of
     * the statistics and the stopping rule (the CUDA runner's throttled
     * samples). 0: every sample counts (the CPU runner: see sampling.c). */
    int exclude_flags;
} sampler_spec;

typedef struct {
    store_sample *samples; /* malloc'd, n entries */
    size_t n;
    const char *stop_reason; /* "noise" | "max_time" | "max_samples" | "interrupted" */
    uint64_t elapsed_ns;
    stats_summary st; /* over the samples not excluded */
    size_t n_excluded;
} sampler_result;

/* Takes samples until the stopping rule holds: (CI of the median of the
 * samples not excluded within max_noise AND at least min_samples of them
 * AND elapsed >= min_time) OR elapsed >= max_time OR n >= max_samples (all
 * samples). Returns DYT_OK (also when interrupted: see stop_reason),
 * DYT_FAIL when a sample failed (message in e). */
int sampler_run(const sampler_spec *sp, sampler_result *r, dyt_err *e);
void sampler_result_free(sampler_result *r);
/* The stopping rule's numbers for block `blocks` of a case: the case's
 * budget (samples, times) split evenly between its blocks, its noise
 * target for each; stop is runner_stop_flag. The caller sets sample, clock
 * and ctx. */
void sampler_block_spec(const runner_case_spec *sp, int blocks, sampler_spec *ss);

/* n calls back to back: their total ns; < 0 if a call failed. */
typedef double (*sampler_calls_fn)(void *ctx, size_t n);
/* Time-based warm-up that doubles as batch sizing: grows the batch until
 * one batch lasts at least target_ns, and keeps calling until warmup_ns
 * has passed (or runner_stop_flag is set). Returns the batch, 0 if a call
 * failed; *spent is the time it took. */
size_t sampler_warm_up(sampler_calls_fn calls, void *ctx, uint64_t warmup_ns, uint64_t target_ns,
                       uint64_t *spent);

/* Timer characteristics of the host clock, measured once per run. */
typedef struct {
    double granularity_ns; /* smallest nonzero step between two readings */
    double overhead_ns;    /* cost of one reading */
} timer_info;
void timer_measure(timer_info *t);
/* The shortest a sample may be: max(20 us, 100 x granularity, 100 x overhead). */
uint64_t timer_sample_target_ns(const timer_info *t);

/* ---- result.c: a measured case, handed to the store ----------------------- */

/* PAPI events and rusage of a CPU case; CUPTI's metrics fit too. */
#define RUNNER_MAX_COUNTERS (2 * COUNTERS_MAX)

/* Everything measuring one case produced: its row (description, status,
 * how it was measured), the raw samples, the statistics and the counters.
 * The row's strings point into the plan or to static text; its times and
 * error are kept here and joined to it when it is stored. */
typedef struct {
    store_case row;
    char started_at[32], ended_at[32];
    char error[sizeof(dyt_err)]; /* why, when row.status is not "ok" */
    char err_output[8];          /* the output verification's error was in */
    char note[512];              /* the row's note when set ("": row.note as it is) */
    int unavailable;             /* skipped because this machine lacks it: not a failure */
    store_sample *samples;       /* malloc'd */
    size_t n_samples, cap_samples;
    store_stats stats;
    int has_stats;
    store_counter counters[RUNNER_MAX_COUNTERS];
    size_t n_counters;
} runner_case_result;

/* Starts the result of case c (seq: its index in the plan): the row's
 * description, status "ok", not verified yet, started now. */
void runner_result_init(runner_case_result *r, const plan_case *c, int seq, cache_kind cache,
                        const char *device);
/* What verification measured (before timing): the error of the deciding
 * output over its scale, that output's name and bound (same
 * normalisation), and the worst error in ulps over every output (< 0:
 * unknown). */
void runner_result_accuracy(runner_case_result *r, double err, const char *output, double tol,
                            double ulps);
/* Appends n samples, each tagged with block. -1 when out of memory. */
int runner_result_append(runner_case_result *r, const store_sample *s, size_t n, int block);
/* The case ends without statistics: status "failed" or "skipped", why.
 * Samples and counters already in r stay (the caller drops them if they
 * mean nothing). */
void runner_result_fail(runner_case_result *r, const char *status, const char *why);
/* The bandwidth ceilings a case is held against: the one of the level its
 * bytes fit in (hot; cold cases: dram) and the dram one, at its threads. */
typedef struct {
    const char *level; /* "l1" | "l2" | "llc" | "dram"; NULL: none measured */
    double gbps;       /* that level's ceiling; <= 0: unknown */
    double dram_gbps;  /* the dram ceiling; <= 0: unknown */
} runner_ceiling;

/* Skipped because what the case needs is not here (a framework feature
 * this installation lacks): stored as skipped with why, and not counted as
 * a failed case. */
void runner_result_unavailable(runner_case_result *r, const char *why);
/* The statistics over the samples not excluded, GB/s from the row's bytes
 * and its % of each ceiling (NULL or <= 0: unknown); the case ends. -1
 * when out of memory (nothing changed). */
int runner_result_summarise(runner_case_result *r, const runner_ceiling *ceiling);
/* The case ends now as it is (counters only: the instruction metric). */
void runner_result_end(runner_case_result *r);
/* Writes the case and everything below it in one transaction. */
int runner_result_store(store *s, int64_t run_id, const runner_case_result *r, dyt_err *e);
/* Whether the case is stored as failed or skipped (unavailable ones too). */
int runner_result_failed(const runner_case_result *r);
void runner_result_free(runner_case_result *r);

/* ---- stepper.c: the runner's side of stepping ----------------------------- */

/* Waits for the next step (0). -1 when none will come: the run then stops
 * as if it got SIGTERM (runner_stop_flag). No-ops without a stepper. */
int runner_step_wait(runner_stepper *st);
void runner_step_done(runner_stepper *st);

/* ---- signals.c ------------------------------------------------------------ */

/* Installs SIGINT/SIGTERM handlers that set runner_stop_flag (the first
 * signal; a second one kills the process as usual) and restores the
 * previous handlers on uninstall. Measuring code polls the flag. */
extern volatile sig_atomic_t runner_stop_flag;
void runner_signals_install(void);
void runner_signals_uninstall(void);
