/* Internal interface between the files of the CPU runner (runners/cpu/):
 * the buffer sets, verification, the pools and one case's measurement,
 * the instruction metric's case, the progress line. What it shares with
 * the CUDA runner (the adaptive sampler among it) is in
 * runners/runner_internal.h.
 * Not part of the runner's public contract (runners/runner.h); tests of
 * the runner stage include it to drive the sampler with synthetic sample
 * streams and to check the buffers. */
#pragma once
#include "bandwidth.h"
#include "common.h"
#include "counters.h"
#include "kernels.h"
#include "plan.h"
#include "runner.h"
#include "runner_internal.h"
#include "stats.h"
#include "store.h"
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* ---- buffers.c: inputs and buffer sets ----------------------------------- */

typedef struct {
    norm_args *sets; /* n_sets argument structs, each with its own buffers */
    size_t n_sets;
    size_t set_bytes; /* bytes allocated per set */
    void **allocs;    /* every allocation, for freeing */
    size_t n_allocs;
} case_buffers;

/* Allocates and fills the case's buffers: set 0 from the seeded generator
 * (runner_case_inputs; for backward the saved statistics come from a
 * forward `ref` call), then copies of it until the sets together exceed
 * min_total_bytes (cold cache; 0 = one set). max_total_bytes bounds the
 * total. Outputs are written once so no page fault lands in a sample. */
int case_buffers_create(const plan_case *c, uint64_t seed, uint64_t min_total_bytes,
                        uint64_t max_total_bytes, case_buffers *b, dyt_err *e);
/* The same, running ref's forward (saved statistics) on pool. */
int case_buffers_create_pool(const plan_case *c, uint64_t seed, uint64_t min_total_bytes,
                             uint64_t max_total_bytes, kern_pool *pool, case_buffers *b,
                             dyt_err *e);
/* Moves b's inputs into freshly allocated buffers (same values, new pages)
 * and frees the old ones: what a rebuild would give, at the cost of a copy. */
int case_buffers_relocate(const plan_case *c, case_buffers *b, dyt_err *e);
void case_buffers_free(case_buffers *b);

/* ---- verify.c ------------------------------------------------------------ */

/* Verifies the variant of c on a's inputs against `ref` (the real shape, or
 * its first rows for huge shapes). Returns DYT_OK (passed, *max_err set),
 * DYT_FAIL (wrong results: message in e) or DYT_USAGE (the variant refused
 * the call: message in e). */
int case_verify(const plan_case *c, const norm_args *a, const kern_exec *ex, double *max_err,
                dyt_err *e);

/* ---- case.c: pools, bandwidth ceilings, one case ------------------------- */

typedef struct {
    int threads;
    kern_pool *pool;
    bandwidth_result bw; /* valid when have_bw */
    int have_bw;
    int bw_reused;       /* bw is the one a resumed run stored before */
    double ceiling_gbps; /* max(copy, scale) best; <= 0 unknown */
} cpu_pool_entry;
typedef struct {
    cpu_pool_entry *v;
    size_t n;
} cpu_pools;

/* One pool per distinct thread count of the plan; on_start pins. */
int cpu_pools_create(const plan *p, kern_thread_init_fn on_start, void *user, cpu_pools *out,
                     dyt_err *e);
void cpu_pools_destroy(cpu_pools *ps);

typedef struct progress progress;
/* What every case of a run is measured with, set by the runner before the
 * first case. */
typedef struct {
    runner_case_spec spec;
    uint64_t llc_bytes, mem_usable;
    uint64_t sample_target_ns;
    uint64_t *kept_bytes; /* buffers kept between blocks, all cases (NULL: none kept) */
    counters_session *counters;
    progress *progress;
} cpu_case_env;

/* The bandwidth ceiling of every pool that has none yet (STREAM copy and
 * scale, reps passes over arrays of 4 x LLC); a pool where it cannot be
 * measured keeps an unknown ceiling, with a warning. */
void cpu_measure_ceilings(cpu_pools *ps, const cpu_case_env *env, int reps);

/* One case, measured in blocks: begin (inputs and verification), one
 * cpu_case_block per round (one block without --rounds), finish
 * (statistics over every block). A case that fails on the way is done at
 * once (status failed or skipped, no samples); later calls do nothing.
 * When done, res is what the runner stores. The state owns its result and
 * its buffers. With several blocks the buffers are kept between blocks
 * (and moved to fresh memory before the next) while the run's budget for
 * kept buffers allows, else rebuilt for each block, and freed after the
 * last one; cpu_case_free frees whatever is left. */
typedef struct {
    const plan_case *c;
    runner_case_result res;
    kern_pool *pool;
    double ceiling_gbps;
    case_buffers b;
    int have_b;
    uint64_t kept;     /* bytes of b counted in *env->kept_bytes */
    uint64_t visit_t0; /* start of the current begin or block */
    int done;
} cpu_case_state;
void cpu_case_begin(const cpu_case_env *env, cpu_pools *ps, const plan_case *c, int seq,
                    cpu_case_state *cs);
/* Block `block` of `blocks`: a warm-up, then samples within 1/blocks of the
 * case's budget (the noise target applies to the block); after the last
 * one, a counted batch. An interruption (runner_stop_flag) leaves the case
 * unfinished: the runner abandons it. */
void cpu_case_block(const cpu_case_env *env, cpu_case_state *cs, int block, int blocks);
void cpu_case_finish(cpu_case_state *cs);
void cpu_case_free(cpu_case_state *cs);

/* The harness's own cost on an empty kernel: per call inside a batch, the
 * median "time" of a batch-of-one sample (what the timed region adds), and
 * the wall time per sample of the whole sampling loop with batch 1. */
void cpu_harness_overhead(size_t n_samples, double *per_call_ns, double *timed_ns,
                          double *per_sample_ns);

/* ---- instructions.c ------------------------------------------------------ */

/* The instruction metric's case: counters from one callgrind child, no
 * samples; done at once (failed when no count could be had). */
void cpu_case_instructions(const runner_case_spec *spec, progress *pr, const plan_case *c, int seq,
                           cpu_case_state *cs);

/* ---- progress.c ---------------------------------------------------------- */

struct progress {
    int tty, quiet;
    size_t total;
    uint64_t t0;
    size_t last_len;
};
void progress_init(progress *p, size_t total, int quiet, int want_tty);
/* Case k (1-based) is starting. */
void progress_case(progress *p, size_t k, const plan_case *c);
/* A message line (failed case, roofline...); clears the progress line. */
void progress_log(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_done(progress *p);
