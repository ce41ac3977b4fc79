/* Statistics shared by the runner (median and its confidence interval, the
 * stopping rule) and the regression gate (ratio intervals, Mann-Whitney U).
 * Pure functions on arrays of doubles; no I/O. */
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t n;
    double median, ci_low, ci_high; /* 95% CI of the median, exact order statistics */
    double mean, stddev, min, max, mad;
    double rel_ci_width;            /* (ci_high - ci_low) / 2 / median */
} stats_summary;

/* Sorts a copy internally; x is not modified. n >= 1. conf e.g. 0.95. */
void stats_describe(const double *x, size_t n, double conf, stats_summary *out);
/* Indices (0-based, into sorted data) of the distribution-free confidence
 * interval of the median from the binomial(n, 1/2); returns 0 when n is too
 * small for the requested confidence (then lo=0, hi=n-1). */
int stats_median_ci_ranks(size_t n, double conf, size_t *lo, size_t *hi);
double stats_quantile_sorted(const double *sorted, size_t n, double q);
/* The median of x[0..n): stats_quantile_sorted at 0.5 of a sorted copy (the
 * mean of the two middle values for even n); x is not modified. NaN when
 * n == 0 or the copy cannot be allocated. */
double stats_median(const double *x, size_t n);
/* qsort comparator for doubles, ascending. */
int stats_cmp_double(const void *a, const void *b);

/* Stopping rule used by the runners' sampler: enough samples, an exact 95%
 * interval of the median, and that interval within max_noise (relative
 * half-width) of it; of x[0..n), or of a summary stats_describe made at
 * 0.95. */
int stats_converged(const double *x, size_t n, size_t min_samples, double max_noise);
int stats_summary_converged(const stats_summary *st, size_t min_samples, double max_noise);

/* Mid-ranks for the rank tests: x[0..n) sorted by value; returns the sum
 * of the mid-ranks (1-based, ties sharing their mean rank) of the values
 * in the group, and *ties = sum(t^3 - t) over the runs of t equal values. */
typedef struct {
    double v;
    int in_group;
} stats_ranked;
double stats_rank_sum(stats_ranked *x, size_t n, double *ties);

/* Exact p-values of a statistic s from its null distribution's counts
 * freq[0..top]: P(S >= s) and min(1, 2 min(P(S <= s), P(S >= s))). */
void stats_exact_p(const int64_t *freq, size_t top, size_t s, double *p_greater,
                   double *p_two_sided);

/* Mann-Whitney U test, two-sided, tie-corrected normal approximation (exact
 * distribution for small samples without ties). u is U of sample a. */
typedef struct {
    double u, z, p_two_sided, p_greater; /* p_greater: H1 = a tends to be larger than b */
} stats_mwu;
void stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb, stats_mwu *out);

/* The exact null distribution of U (no ties): freq[u] = how many of the
 * C(m+n, m) equally likely arrangements give U = u, u = 0..m*n (freq has
 * m*n+1 entries). Exact in 64-bit integers up to m + n = STATS_MWU_EXACT_MAX;
 * returns -1 (freq untouched) beyond it. */
#define STATS_MWU_EXACT_MAX 60
int stats_mwu_exact_counts(size_t m, size_t n, int64_t *freq);

/* Hodges-Lehmann estimate of the shift b - a (the median of the na*nb
 * differences b_j - a_i) with the distribution-free Moses interval at
 * confidence conf, the inversion of the two-sided Mann-Whitney test:
 * [d_(k), d_(na*nb+1-k)] of the sorted differences, where k - 1 is the
 * largest c with P(U <= c) <= (1 - conf)/2 under H0 (exact for
 * na + nb <= STATS_MWU_EXACT_MAX, normal approximation beyond). When the
 * sizes are too small for that confidence (k < 1) the interval is
 * (-inf, +inf). Returns the estimate; NaN (and NaN bounds) when a side is
 * empty or memory runs out. */
double stats_hl_shift_ci(const double *a, size_t na, const double *b, size_t nb, double conf,
                         double *lo, double *hi);
/* The k of the Moses interval above (1-based rank of its lower bound among
 * the na*nb sorted differences); 0 when no interval at that confidence
 * exists. */
size_t stats_moses_rank(size_t na, size_t nb, double conf);

/* Median of each block: x[i] belongs to block id[i]. Writes one median per
 * distinct id, in increasing id order, to med (room for n values) and, when
 * ids is not NULL, that id to ids. Returns the number of blocks; 0 when
 * n == 0 or memory runs out. */
size_t stats_block_medians(const double *x, const int64_t *id, size_t n, double *med,
                           int64_t *ids);

/* Wilcoxon signed-rank test on paired differences d (stats/signedrank.c):
 * zeros dropped, mid-ranks for ties; exact null distribution when nothing
 * is tied or zero and n <= 50, else the tie-corrected normal approximation
 * with continuity correction. p_greater: H1 = d tends to be positive. */
typedef struct {
    double t_plus, z, p_two_sided, p_greater;
    size_t n_used, n_zero;
} stats_wsr;
void stats_wilcoxon_signed_rank(const double *d, size_t n, stats_wsr *out);
/* The exact null counts of T+ over the 2^n sign patterns, t = 0..n(n+1)/2
 * (freq has that many + 1 entries); -1 when n > 50. */
int stats_signed_rank_exact_counts(size_t n, int64_t *freq);
/* The k of the interval below: k - 1 is the largest t with P(T+ <= t) <=
 * (1 - conf)/2 (exact for n <= 50, normal approximation beyond); 0 when no
 * interval at that confidence exists (2^-n > (1 - conf)/2). */
size_t stats_signed_rank_rank(size_t n, double conf);
/* One-sample Hodges-Lehmann estimate (median of the n(n+1)/2 Walsh averages
 * (d_i + d_j)/2, i <= j) with the distribution-free interval [W_(k),
 * W_(M+1-k)] that inverts the signed-rank test at confidence conf;
 * (-inf, +inf) when k = 0. Returns the estimate; NaN when n = 0 or memory
 * runs out. */
double stats_hl_paired_ci(const double *d, size_t n, double conf, double *lo, double *hi);

/* Ratio of medians median(b)/median(a) with a bootstrap percentile interval
 * (resamples, seeded); returns the point estimate. */
double stats_ratio_ci(const double *a, size_t na, const double *b, size_t nb, double conf,
                      unsigned resamples, uint64_t seed, double *lo, double *hi);

/* Standard normal CDF and quantile. */
double stats_norm_cdf(double z);
double stats_norm_quantile(double p);
