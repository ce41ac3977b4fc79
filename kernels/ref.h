/* Internal to kernels/: the oracle's row statistics in float64, shared by
 * `ref` (ref.c), which computes them in forward and recomputes them in
 * backward, and the checker's error model (check_model.c), which needs the
 * exact statistics to bound what the fp32 ones cost a variant. */
#pragma once
#include "kernels.h"

/* Mean and 1/sqrt(var + eps) (LayerNorm, biased variance, two passes) or
 * 1/sqrt(mean(x^2) + eps) (RMSNorm; *mean = 0) of one row of cols
 * elements of x in storage dtype d, every quantity in double. */
void ref_row_stats(norm_kind n, const void *x, dtype_kind d, size_t cols, double eps, double *mean,
                   double *rstd);
