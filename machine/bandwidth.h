/* STREAM-like bandwidth ceiling: copy (a[i] = b[i]) and scale
 * (a[i] = s * b[i]) over two fp32 arrays, run on a kernel thread pool so it
 * uses the same threads (and pinning) as the kernels it is compared with.
 * Bytes counted as STREAM does: 2 x 4 bytes per element and pass (read b,
 * write a), without write-allocate traffic. */
#pragma once
#include <stdint.h>
#include "common.h"
#include "kernels.h"

typedef struct {
    double copy_gbps_best, copy_gbps_median;
    double scale_gbps_best, scale_gbps_median;
    uint64_t bytes_per_pass; /* bytes counted per copy (or scale) pass */
    int threads;
    int reps;
} bandwidth_result;

/* Measures with arrays of at least bytes_each (and 64 KiB) each: 4 x LLC
 * for the runner's DRAM ceiling, the kernels' own array size in
 * bench-kernels. reps timed passes of each, best and median kept. */
int bandwidth_measure(kern_pool *pool, uint64_t bytes_each, int reps, bandwidth_result *out,
                      dyt_err *e);
