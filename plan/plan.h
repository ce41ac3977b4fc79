/* The plan: the cartesian product of suite shapes x norms (the model's own
 * and DyT) x dtypes x passes x variants x thread counts, after filters. The
 * runner executes a plan; nothing here measures anything. */
#pragma once
#include "kernels.h"
#include "suite.h"

typedef struct {
    const suite_model *model; /* borrowed from the suite */
    const char *suite_name;
    size_t rows, cols;
    const char *token_label;  /* "" or e.g. "train" */
    norm_kind norm;           /* dyt, or the model's own norm */
    dtype_kind dtype;
    pass_kind pass;
    const kern_entry *variant;
    int threads;
    int seq; /* position in the unsharded plan: a shard's case keeps it */
} plan_case;

typedef struct {
    /* Filters: empty list (n == 0) means the default. */
    norm_kind norms[NORM_COUNT];
    size_t n_norms;             /* default: model's norm + dyt */
    dtype_kind dtypes[DTYPE_COUNT];
    size_t n_dtypes;            /* default: fp32 */
    pass_kind passes[PASS_COUNT];
    size_t n_passes;            /* default: fwd, bwd */
    const char *variants[16];
    size_t n_variants;          /* default: best supported; "all" = every supported */
    int threads[16];
    size_t n_threads;           /* default: all cores */
    device_kind device;
    const char *model_filter;   /* substring of section name, or NULL */
} plan_filter;

typedef struct {
    plan_case *cases;
    size_t n_cases;
} plan;

/* Builds the plan; unsupported variants named explicitly, and a device
 * that cannot be used here, are an error (DYT_USAGE, the message says
 * why). */
int plan_build(const suite *suites, size_t n_suites, const plan_filter *f, plan *out, dyt_err *e);
void plan_free(plan *p);
/* Default thread count: the machine's physical cores (hwloc), at least 1. */
int plan_default_threads(void);
/* Whether the case's norm has gamma: DyT always, LayerNorm/RMSNorm as the
 * model says. */
int plan_case_affine(const plan_case *c);
/* The bytes one call of the case must move (kern_min_bytes): also its
 * working set, which decides the cache level of a hot case's ceiling. */
uint64_t plan_case_bytes(const plan_case *c);

/* ---- shard.c: a plan split into shards ------------------------------------
 * A campaign runs one plan as N shards (run --shard I/N), each a separate
 * process with its own store. Every shard builds the same plan and keeps
 * the cases assigned to it; the assignment depends on the plan alone, so
 * the shards agree without talking to each other. */

/* The estimated cost of a case: the bytes one call moves times the passes
 * the case makes over them, plus a fixed part for the budget every case
 * spends however small it is (PLAN_COST_*). Only compared, never shown. */
uint64_t plan_case_cost(const plan_case *c);
/* Assigns each case of p to one of count shards: shard_of[i] in
 * 0..count-1. Largest estimated cost first, each to the least loaded shard
 * (ties: the lower index), so no shard's total exceeds the mean by more
 * than the costliest case. DYT_USAGE when count < 1 or memory runs out. */
int plan_shard_assign(const plan *p, int count, int *shard_of, dyt_err *e);
/* The cases of shard index (0-based) of count, in plan order, each keeping
 * its seq; an empty shard (count above the case count) is no error. */
int plan_shard(const plan *p, int index, int count, plan *out, dyt_err *e);
/* A hash of every case's identity (suite, section, shape, token label,
 * norm, dtype, pass, variant, threads) in order, as 16 hex digits: two
 * plans with the same hash are the same plan. */
void plan_hash(const plan *p, char out[17]);
