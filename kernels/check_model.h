/* Internal to kernels/: the checker's error model (check_model.c). For one
 * set of check inputs it gives, per element of every output, the
 * magnitude the element is formed from (the sum of the magnitudes of the
 * terms of its last operation, so that an output produced by cancellation
 * is judged at the size of what cancelled) and the error the problem
 * itself allows a correct fp32 variant beyond its own arithmetic: the
 * fp32 statistics backward must read, the fp32 tanh. Everything is
 * computed in double from the inputs and the exact row statistics
 * (ref_row_stats); docs/kernels.md derives each term. */
#pragma once
#include "check.h"

/* Unit roundoff of fp32 (2^-24): every fp32 rounding, the stored statistics'. */
#define CHECK_U32 (1.0 / 16777216.0)
/* The fp32 tanh of the variants, in ulps (measured <= 1.33, docs/tanh.md). */
#define CHECK_TANH_ULPS 4.0

typedef struct {
    size_t rows, cols;
    /* forward: per element of y; per row of mean (LayerNorm) */
    double *y_mag, *y_cond, *mean_mag;
    /* backward: per element of dx; per column of dgamma and dbeta; dalpha */
    double *dx_mag, *dx_cond, *dg_mag, *dg_cond, *db_mag;
    double da_mag, da_cond;
} check_model;

/* Fills m for in (arrays of its pass only; the others NULL). -1 when out
 * of memory (nothing left allocated). */
int check_model_build(const kern_check_inputs *in, check_model *m);
void check_model_free(check_model *m);
