/* The one verification harness for kernel variants, used by `dytbench
 * verify`, the tests and the runner (which verifies every case before it
 * times it). A variant is run on given inputs and each of its outputs is
 * compared with `ref` (kern_check_variant) or with the golden vectors'
 * float64 answers (kern_check_golden). `ref` is float64 end to end (its
 * backward recomputes the row statistics in double), so it answers the
 * exact problem. The bound follows the problem (check.c, check_model.c;
 * docs/kernels.md derives it). Per element i of an output:
 *
 *   |v_i - r_i| <= tol * M + red_i + cond_i + ulp(r_i) + 2 * smallest subnormal
 *
 *   m_i    the magnitude the element is formed from (|g*t| + |b| for DyT's
 *          y, rho*(|g'| + |m1| + |xh*m2|) for LayerNorm's dx, ...), so an
 *          output produced by cancellation is judged at the size of what
 *          cancelled; M = max_i m_i (the output's scale)
 *   tol    1e-5 for fp32 storage, 2e-2 (~5 bf16 ulps) for bf16: the
 *          variant's own arithmetic
 *   red_i  cross-row reductions (dgamma, dbeta, dalpha): (8 sqrt(n) + 16)
 *          * 2^-24 * m_i, n the number of terms summed
 *   cond_i what the problem costs a correct fp32 variant: the fp32 mean and
 *          rstd backward must read (grows with |mean|/std * 2^-24), the
 *          fp32 tanh (4 ulps)
 *   ulp    the output's own rounding (fp32 or bf16 spacing at r_i)
 *
 * Errors are reported over M (err, tol) and in ulps of the output's
 * storage type at max(m_i, |r_i|) (backward norms: at least at the
 * magnitude the fp32 statistics act on). NaN in the reference must be NaN
 * in the variant and vice versa. */
#pragma once
#include "common.h"
#include "kernels.h"
#include "vectors.h"

typedef struct {
    norm_kind norm;
    pass_kind pass;
    dtype_kind dtype;
    size_t rows, cols;
    float alpha, eps;
    int has_beta, affine;
    const void *x, *dy; /* rows*cols in dtype; dy for backward only */
    const float *gamma, *beta;
    /* Backward: the saved statistics to use (LayerNorm mean+rstd, RMSNorm
     * rstd). NULL: ref's forward on x makes them. */
    const float *mean, *rstd;
} kern_check_inputs;

#define KERN_CHECK_MAX_OUTPUTS 8

typedef struct {
    char name[8];    /* "y", "mean", "rstd", "dx", "dgamma", "dbeta", "dalpha" */
    double err;      /* |v - r| / M at the worst element (largest err/allowed) */
    double tol;      /* what that element was allowed, same normalisation */
    double ulps;     /* the largest error of the output in ulps (check.h above) */
    size_t index;    /* the worst element (largest err/allowed) */
    double v, r;     /* the variant's and the reference's value there */
    int pass;
} kern_check_output;

typedef struct {
    int skipped;       /* not run: unsupported ISA, refused call, inputs not
                          exact in the storage type; reason says which */
    int pass;          /* every output within its tolerance */
    double worst;      /* err of the deciding output (largest err/tol) */
    double tol;        /* its tolerance */
    char output[8];    /* its name */
    double max_ulps;   /* the largest error in ulps over every output */
    size_t n_outputs;
    kern_check_output outputs[KERN_CHECK_MAX_OUTPUTS];
    char reason[192];
} kern_check_result;

/* The arithmetic tolerance for a storage type: 1e-5 fp32, 2e-2 bf16/fp16. */
double kern_check_tol(dtype_kind d);

/* Runs ref and the variant e on in (e's norm/pass/dtype must match in's)
 * and compares every output. Returns DYT_OK when the check ran (verdict in
 * out->pass / out->skipped), DYT_USAGE on bad inputs or out of memory. The
 * variant is called through e->fn, not kern_call: no injected slowdown. */
int kern_check_variant(const kern_entry *e, const kern_check_inputs *in, kern_pool *pool,
                       kern_check_result *out, dyt_err *err);

/* The same check for outputs computed elsewhere (a framework peer): given
 * holds them as a variant of in's norm/pass/dtype would have written them
 * (forward: y, and mean/rstd where not NULL; backward: dx, dgamma, dbeta,
 * dalpha, those the case has), compared with ref on in. */
int kern_check_given(const kern_check_inputs *in, const norm_args *given, kern_pool *pool,
                     kern_check_result *out, dyt_err *err);

/* Checks e against a golden case. The inputs must be exact in e's storage
 * type (else skipped: a bf16 variant cannot be held to answers for inputs
 * it cannot be given). Backward uses the case's mean/rstd rounded to fp32. */
int kern_check_golden(const kern_entry *e, const vec_case *c, kern_pool *pool,
                      kern_check_result *out, dyt_err *err);

/* The spacing of a storage type at magnitude v: one ulp of fp32 (bf16 when
 * bf16 is set) in the binade of v, the smallest subnormal's below the
 * normal range. Errors in ulps are over it. */
double check_ulp(double v, int bf16);

/* Rows to verify of a rows x cols case so that at most max_elems elements
 * are used (at least 1 row): the runner's row sample for huge shapes. */
size_t kern_check_sample_rows(size_t rows, size_t cols, size_t max_elems);

/* A random case for kern_check_variant: x ~ N(mean, spread), dy ~ N(0, 1),
 * gamma ~ N(1, 0.25), beta ~ N(0, 0.25), eps 1e-5, beta and affine on,
 * rounded to the storage type. misalign = 1 offsets x and dy by one element
 * from an aligned base. */
typedef struct {
    size_t rows, cols;
    double mean, spread;
    float alpha;
    uint64_t seed;
    int misalign;
} kern_check_random_spec;

int kern_check_random(const kern_entry *e, const kern_check_random_spec *s, kern_pool *pool,
                      kern_check_result *out, dyt_err *err);
