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
