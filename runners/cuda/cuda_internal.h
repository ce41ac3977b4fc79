/* Internal interface between the files of the CUDA runner (runners/cuda/):
 * the device record, clocks and throttling, the copy roofline, inputs on
 * the device, the CUPTI range-profiler pass and one case. What it shares
 * with the CPU runner is in runners/runner_internal.h. Not part of the
 * runner contract (runners/runner.h); tests/cuda includes it for the
 * host-side pieces (throttle rule, and through runner_internal.h the fp16
 * conversion). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "common.h"
#include "cuda_metrics.h"
#include "kernels.h"
#include "machine.h"
#include "plan.h"
#include "runner.h"
#include "runner_internal.h"
#include "store.h"

/* ---- device_record.c ------------------------------------------------------ */

/* Adds the GPU (device 0) to the machine record as gpu.* attributes and
 * folds its identity into the fingerprint, so runs on different GPUs of
 * one host are different machines. *l2_bytes receives the L2 size. */
int cuda_device_record(machine_info *m, uint64_t *l2_bytes, dyt_err *e);

/* ---- timing.c ------------------------------------------------------------- */

/* SM clock and clock-event (throttle) reasons from NVML, loaded at run time
 * with dlopen("libnvidia-ml.so.1") (it ships with the driver, not the
 * toolkit). NULL with the reason in why when NVML is not there. */
typedef struct gpu_clock gpu_clock;
gpu_clock *gpu_clock_open(char *why, size_t n);
/* 0 on success. reasons: NVML's clocks-event reason bit mask. */
int gpu_clock_read(gpu_clock *c, unsigned *sm_mhz, unsigned long long *reasons);
unsigned gpu_clock_max_sm_mhz(const gpu_clock *c);
void gpu_clock_close(gpu_clock *c);

/* nvbench's rule: a sample is throttled when the SM clock is below
 * threshold x the maximum SM clock; dytbench also counts NVML's hardware
 * slowdown / thermal / power-brake reasons. Pure (tested without a GPU). */
#define GPU_THROTTLE_THRESHOLD 0.75
int gpu_sample_throttled(unsigned sm_mhz, unsigned max_mhz, unsigned long long reasons,
                         double threshold);

/* Device-to-device copy bandwidth: cudaMemcpyAsync of bytes, reps times,
 * timed with events; GB/s counts the read and the write (2 x bytes). */
int cuda_measure_d2d(size_t bytes, int reps, double *best_gbps, double *median_gbps, dyt_err *e);

/* ---- inputs.c ------------------------------------------------------------- */

typedef struct {
    norm_args dev;        /* device pointers */
    void *host_x, *host_dy;   /* storage dtype, rows x cols */
    float *host_gamma, *host_beta, *host_mean, *host_rstd;
    void *dev_allocs[12];
    size_t n_dev;
} gpu_case_buffers;

/* The case's inputs (runner_case_inputs: the CPU runner's values) on the
 * host, copied to the device; for backward the saved statistics come from
 * the fused `cuda` forward of the same norm. */
int gpu_buffers_create(const plan_case *c, uint64_t seed, gpu_case_buffers *b, dyt_err *e);
void gpu_buffers_free(gpu_case_buffers *b);

/* ---- verify.c ------------------------------------------------------------- */

/* The variant against the CPU ref (float64) on the case's first rows
 * (rows x cols <= 2^20 elements); fp16 has no CPU ref, so its inputs are
 * widened exactly to fp32 and compared with the fp32 ref. */
int gpu_case_verify(const plan_case *c, const gpu_case_buffers *b, runner_case_result *res,
                    dyt_err *e);

/* ---- cupti.c -------------------------------------------------------------- */

typedef struct cupti_session cupti_session;
/* Never fails: a session that cannot profile remembers why, and every
 * metric it is asked for comes back unavailable with that reason. */
cupti_session *cupti_session_open(const cupti_metric_list *l);
/* Runs work(ctx) once under the range profiler (kernel replay, one range
 * per kernel launch) and fills one counter per metric: sums over the
 * ranges for .sum metrics, duration-weighted means otherwise. Returns the
 * count written. */
size_t cupti_measure(cupti_session *s, int (*work)(void *), void *ctx, double elements,
                     store_counter *out, size_t max);
const char *cupti_session_status(const cupti_session *s); /* "" or why not */
void cupti_session_close(cupti_session *s);

/* ---- case.c --------------------------------------------------------------- */

/* What every case of a run is measured with and on, set up by the runner. */
typedef struct {
    runner_case_spec spec;
    double ceiling_gbps;  /* d2d copy best; <= 0 unknown */
    gpu_clock *clock;     /* NULL: throttling not detectable */
    cupti_session *cupti; /* NULL: no CUPTI pass */
    void *stream;         /* cudaStream_t */
    void *flush;          /* L2-sized device buffer (cold cache) */
    size_t flush_bytes;
    int *throttled_total;
    int quiet; /* no message for a case that fails verification */
} cuda_case_env;

/* Measures case c (seq: its index in the plan) into r, initialised here.
 * Returns 1 when r is finished (ok, failed or skipped: the runner stores
 * it), 0 when an interruption abandoned the case. */
int cuda_case_measure(const cuda_case_env *env, const plan_case *c, int seq, runner_case_result *r);
