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
#include "check.h"
#include "common.h"
#include "counters.h"
#include "kernels.h"
#include "machine.h"
#include "plan.h"
#include "runner.h"
#include "runner_internal.h"
#include "stats.h"
#include "store.h"
#include <jansson.h>
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
    /* Buffers of >= DYT_HUGE_PAGE bytes get pages (the run's --pages):
     * their bytes, and how many of those the kernel put on huge pages
     * (-1: it could not tell). */
    dyt_pages pages;
    uint64_t paged_bytes;
    int64_t huge_bytes;
} case_buffers;

/* Allocates and fills the case's buffers: set 0 from the seeded generator
 * (runner_case_inputs; for backward the saved statistics come from a
 * forward `ref` call), then copies of it until the sets together exceed
 * min_total_bytes (cold cache; 0 = one set). max_total_bytes bounds the
 * total. Outputs are written once so no page fault lands in a sample. */
int case_buffers_create(const plan_case *c, uint64_t seed, uint64_t min_total_bytes,
                        uint64_t max_total_bytes, dyt_pages pages, case_buffers *b, dyt_err *e);
/* The same, running ref's forward (saved statistics) on pool. */
int case_buffers_create_pool(const plan_case *c, uint64_t seed, uint64_t min_total_bytes,
                             uint64_t max_total_bytes, dyt_pages pages, kern_pool *pool,
                             case_buffers *b, dyt_err *e);
/* The bytes of one set of c (what alloc_set allocates), and how many sets
 * a case with min_total_bytes of cold-cache buffers gets within
 * max_total_bytes: the one rule for the CPU runner and the torch peer. */
uint64_t case_buffers_set_bytes(const plan_case *c);
size_t case_buffers_count(uint64_t set_bytes, uint64_t min_total_bytes, uint64_t max_total_bytes);
/* Moves b's inputs into freshly allocated buffers (same values, new pages)
 * and frees the old ones: what a rebuild would give, at the cost of a copy. */
int case_buffers_relocate(const plan_case *c, case_buffers *b, dyt_err *e);
void case_buffers_free(case_buffers *b);
/* Into note (when empty), where the pages granted to b differ from those
 * asked: "pages: huge asked, huge pages 61% of 402.0 MiB granted", so a
 * case measured on other pages than the run asked for says so. */
void case_buffers_pages_note(const case_buffers *b, char *note, size_t n);

/* ---- verify.c ------------------------------------------------------------ */

/* Verifies the variant of c on a's inputs against `ref` (the real shape, or
 * its first rows for huge shapes), recording what it measured in res
 * (runner_result_accuracy). Returns DYT_OK (passed), DYT_FAIL (wrong
 * results: message in e) or DYT_USAGE (the variant refused the call:
 * message in e). */
int case_verify(const plan_case *c, const norm_args *a, const kern_exec *ex,
                runner_case_result *res, dyt_err *e);
/* Its pieces, for outputs computed elsewhere (kern_check_given): the check's
 * inputs from a's (rows: the sample below), and the verdict of a check as
 * case_verify returns it, with what it measured recorded in res. */
#define CASE_VERIFY_MAX_ELEMS ((size_t)1 << 20)
void case_verify_inputs(const plan_case *c, const norm_args *a, kern_check_inputs *in);
int case_verify_verdict(const plan_case *c, const kern_check_inputs *in, const kern_check_result *r,
                        runner_case_result *res, dyt_err *e);

/* ---- ceilings.c: pools and their bandwidth ceilings ----------------------- */

typedef struct {
    int threads;
    kern_pool *pool;
    bw_caches caches;               /* what each level holds at these threads */
    uint64_t want[BW_LEVELS];       /* working set to measure a level at; 0: not needed */
    bandwidth_result bw[BW_LEVELS]; /* valid where have_bw */
    int have_bw[BW_LEVELS];
    int bw_reused[BW_LEVELS];       /* bw is what a resumed run stored before */
    double ceiling_gbps[BW_LEVELS]; /* max(copy, scale) best; <= 0 unknown */
} cpu_pool_entry;
typedef struct {
    cpu_pool_entry *v;
    size_t n;
} cpu_pools;

/* One pool per distinct thread count of the plan; on_start pins. */
int cpu_pools_create(const plan *p, kern_thread_init_fn on_start, void *user, cpu_pools *out,
                     dyt_err *e);
void cpu_pools_destroy(cpu_pools *ps);
/* The pool of that thread count; NULL if the plan has none. */
cpu_pool_entry *cpu_pool_for(cpu_pools *ps, int threads);
/* The ceilings a case of `bytes` is held against on pe (NULL: none): hot,
 * the level its bytes fit in; cold, dram; and dram beside it. */
void cpu_case_ceiling(const cpu_pool_entry *pe, uint64_t bytes, cache_kind cache,
                      runner_ceiling *out);

typedef struct progress progress;
typedef struct cpu_case_ext cpu_case_ext;
/* What every case of a run is measured with, set by the runner before the
 * first case. */
typedef struct {
    runner_case_spec spec;
    uint64_t llc_bytes, mem_usable;
    uint64_t sample_target_ns;
    uint64_t *kept_bytes; /* buffers kept between blocks, all cases (NULL: none kept) */
    counters_session *counters;
    progress *progress;
    cpu_case_ext *ext; /* who measures the cases it owns; NULL: none */
} cpu_case_env;

/* The bandwidth ceilings of every pool it has not yet (STREAM copy and scale, reps
 * samples): dram over arrays of 4 x LLC each, and each cache level that a
 * hot case of the plan at that thread count fits in (m's caches), at the
 * largest working set of those cases. A ceiling that cannot be measured
 * stays unknown, with a warning. */
void cpu_measure_ceilings(cpu_pools *ps, const plan *p, const machine_info *m,
                          const cpu_case_env *env, int reps);
/* A resumed run's ceilings, as it stored them (store_load_ceilings), into
 * the pools: its cases added now are held against the ceilings of those it
 * has. A level and thread count without both copy and scale stays to be
 * measured. */
void cpu_reuse_ceilings(cpu_pools *ps, const store_ceiling_list *l);
/* The ceilings measured again after the cases (the same working sets and
 * reps): a shared machine's bandwidth can move by far more than noise
 * within a run (this VM's 2-thread DRAM copy went 60 <-> 115 GB/s between
 * minutes), and a case's % of its ceiling is only as good as the ceiling.
 * Each level that moved by more than CEILING_DRIFT is named in note
 * (appended), so the run says where its percentages are uncertain. */
#define CEILING_DRIFT 0.10
void cpu_recheck_ceilings(const cpu_pools *ps, const cpu_case_env *env, int reps, char *note,
                          size_t n);
/* Appends to note one level's move ("dram at 2 thread(s) 115.6 -> 58.6
 * GB/s (-49%)") when |now / was - 1| > CEILING_DRIFT, with the sentence's
 * head before the first; returns whether it did. */
int cpu_ceiling_drift(char *note, size_t n, const char *level, int threads, double was,
                      double now);

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
    runner_ceiling ceiling; /* what the case is held against */
    case_buffers b;
    int have_b;
    uint64_t kept;     /* bytes of b counted in *env->kept_bytes */
    uint64_t visit_t0; /* start of the current begin or block */
    int done;
    int ext;       /* measured by env->ext */
    int ext_state; /* env->ext's own, per case */
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
/* The timing of one block, for cpu_case_block and other measurers: the
 * warm-up through calls (which sizes *batch, the batch sample reads from
 * ctx), then samples on the block's share of the budget (target_ns: the
 * shortest sample), appended to cs's result with the stop reason.
 * FAILED: a call or sample failed (why in e, unless the caller keeps it);
 * STOPPED: interrupted, the case is abandoned. */
typedef enum { CPU_BLOCK_OK, CPU_BLOCK_STOPPED, CPU_BLOCK_FAILED, CPU_BLOCK_OOM } cpu_block_outcome;
cpu_block_outcome cpu_block_measure(const cpu_case_env *env, cpu_case_state *cs, uint64_t target_ns,
                                    sampler_calls_fn calls, sampler_sample_fn sample, void *ctx,
                                    size_t *batch, int block, int blocks, dyt_err *e);
/* How many buffer sets c gets under the run's cache rule (1 when hot). */
size_t cpu_case_sets(const cpu_case_env *env, const plan_case *c);
/* The case ends unmeasured (status failed or skipped, why): the samples of
 * earlier blocks are dropped with the statistics, since they no longer
 * describe the case. */
void cpu_case_fail(cpu_case_state *cs, const char *status, const char *why);

/* ---- runner.c: cases measured by another measurer ------------------------ */

/* A measurer of some of the plan's cases other than the CPU's kernels (the
 * torch peer, runners/torch/). The CPU runner takes its cases like its
 * own: the same loop, rounds and steps, the pool of their thread count for
 * the ceiling, the result, the finish (statistics) and the storing; only
 * begin and block are its. */
struct cpu_case_ext {
    /* In the run's first step, once the pinner exists and before the
     * run's row: an error ends the run with nothing stored. pinner may be
     * NULL (pinning unavailable). */
    int (*start)(cpu_case_ext *x, const machine_pinner *pinner, dyt_err *e);
    /* Adds its keys to the run's settings. */
    void (*settings)(cpu_case_ext *x, json_t *settings);
    int (*owns)(const cpu_case_ext *x, const plan_case *c);
    /* As cpu_case_begin and cpu_case_block, on a cs whose result, pool and
     * ceiling are set (and done clear). */
    void (*begin)(cpu_case_ext *x, const cpu_case_env *env, cpu_case_state *cs);
    void (*block)(cpu_case_ext *x, const cpu_case_env *env, cpu_case_state *cs, int block,
                  int blocks);
};

/* runner_cpu_run with the cases ext owns measured by it (NULL: none). */
int cpu_run_with(const plan *p, const runner_opts *o, const runner_identity *id,
                 runner_stepper *step, cpu_case_ext *ext, store *s, int64_t *run_id, dyt_err *e);

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
