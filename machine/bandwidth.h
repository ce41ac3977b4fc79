/* STREAM-like bandwidth ceilings: copy (a[i] = b[i]) and scale
 * (a[i] = s * b[i]) over two fp32 arrays, run on a kernel thread pool so
 * they use the same threads (and pinning) as the kernels they are compared
 * with, at a working set of any size: one a cache level holds (l1, l2, the
 * llc share of the threads) or beyond the llc (dram). Bytes counted as
 * STREAM does: 2 x 4 bytes per element and pass (read b, write a), without
 * write-allocate traffic. Which level a case's bytes fit in is decided
 * here too (bandwidth_caches, bandwidth_level_of), from the machine
 * record's caches with the clamps machine/ applies. */
#pragma once
#include "common.h"
#include "kernels.h"
#include "machine.h"
#include <stdint.h>

/* The levels a ceiling is measured at, nearest first. */
typedef enum { BW_L1 = 0, BW_L2, BW_LLC, BW_DRAM, BW_LEVELS } bw_level;
/* "l1", "l2", "llc", "dram": the store's names (ceilings.level). */
const char *bandwidth_level_name(bw_level l);

/* What `threads` threads, one per core, can hold at each level: L1d and L2
 * per core times min(threads, cores), the llc share llc_bytes x
 * min(threads, cores) / cores (the whole llc belongs to all cores, a
 * thread's part of it to that thread); 0 where the record does not know a
 * level or it is not above the level before. DRAM holds anything. */
typedef struct {
    uint64_t bytes[BW_LEVELS];
} bw_caches;
void bandwidth_caches(const machine_info *m, int threads, bw_caches *out);
/* The nearest level that holds `bytes`; BW_DRAM when none does. */
bw_level bandwidth_level_of(const bw_caches *c, uint64_t bytes);

typedef struct {
    uint64_t working_set; /* bytes read + written per pass: the two arrays together */
    int reps;             /* timed samples of each kernel, best and median kept */
    /* A sample repeats passes (one pool dispatch each, as a kernel call)
     * until it lasts at least this long; 0: one pass per sample. */
    uint64_t min_sample_ns;
    dyt_pages pages; /* of the arrays, as the kernels' operands get (--pages) */
} bandwidth_spec;

typedef struct {
    double copy_gbps_best, copy_gbps_median;
    double scale_gbps_best, scale_gbps_median;
    uint64_t bytes_per_pass; /* bytes counted per copy (or scale) pass: the working set */
    int threads;
    int reps;
    int passes;      /* passes per sample */
    int nt;          /* streaming stores (the kernels' rule for outputs this large) */
    const char *isa; /* the vectors used: "avx512", "avx2", "sse2" */
    dyt_pages pages;
    /* Of the arrays' bytes in buffers >= DYT_HUGE_PAGE (0: none that
     * large), how many the kernel put on huge pages (-1: unknown). */
    uint64_t paged_bytes;
    int64_t huge_bytes;
} bandwidth_result;

/* Measures copy and scale at sp's working set (at least 1 KiB per thread
 * and array). */
int bandwidth_measure(kern_pool *pool, const bandwidth_spec *sp, bandwidth_result *out, dyt_err *e);
/* One line on how r was measured, for the copy (scale = 0) or the scale
 * figure: "STREAM copy a[i] = b[i] over 2 fp32 arrays of 12.0 KiB, avx512
 * plain stores, 2 thread(s), 64 passes per sample, best and median of 5,
 * below 2 MiB (malloc's pages)". */
void bandwidth_describe(const bandwidth_result *r, int scale, char *buf, size_t n);
/* The arrays' pages, as asked and as granted: "huge pages asked, huge
 * pages 100% granted". */
void bandwidth_pages(const bandwidth_result *r, char *buf, size_t n);
