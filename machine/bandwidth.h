/* STREAM-like bandwidth ceiling: copy (a[i] = b[i]) and scale
 * (a[i] = s * b[i]) over buffers well beyond the last-level cache, run on a
 * kernel thread pool so it uses the same threads (and pinning) as the
 * kernels it is compared with. Bytes counted as STREAM does: copy and scale
 * each move 2 x 8-byte... no: 2 x 4 bytes (fp32) per element, read + write,
 * without write-allocate traffic. */
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

/* Measures with buffers of at least bytes_each per array (caller passes
 * >= 4 x LLC); reps repetitions, best and median kept. */
int bandwidth_measure(kern_pool *pool, uint64_t bytes_each, int reps, bandwidth_result *out,
                      dyt_err *e);
