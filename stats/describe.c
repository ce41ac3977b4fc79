/* Descriptive statistics of a sample of timings and the runner's stopping
 * rule. The median's confidence interval is distribution-free: with n
 * samples, the number below the true median is Binomial(n, 1/2), so the
 * interval [x_(k), x_(n-k+1)] (1-based order statistics) covers the median
 * with probability 1 - 2 P(B <= k-1). We pick the largest k whose coverage
 * is still >= conf: the tightest exact interval, conservative by design
 * (actual coverage is >= conf, never the nominal approximation). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int stats_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_quantile_sorted(const double *sorted, size_t n, double q)
{
    /* Linear interpolation between order statistics (Hyndman-Fan type 7,
     * the default of R and numpy). */
    if (n == 0)
        return NAN;
    if (q <= 0)
        return sorted[0];
    if (q >= 1)
        return sorted[n - 1];
    double h = q * (double)(n - 1);
    size_t i = (size_t)floor(h);
    if (i + 1 >= n)
        return sorted[n - 1];
    /* On an order statistic exactly: its value, also when the next one is
     * infinite (0 x inf would be NaN). */
    if (h == (double)i)
        return sorted[i];
    return sorted[i] + (h - (double)i) * (sorted[i + 1] - sorted[i]);
}

double stats_median(const double *x, size_t n)
{
    double *s = n ? malloc(n * sizeof *s) : NULL;
    if (!s)
        return NAN;
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, stats_cmp_double);
    double m = stats_quantile_sorted(s, n, 0.5);
    free(s);
    return m;
}

int stats_median_ci_ranks(size_t n, double conf, size_t *lo, size_t *hi)
{
    *lo = 0;
    *hi = n ? n - 1 : 0;
    if (n == 0 || !(conf > 0 && conf < 1))
        return 0;
    double tail = (1.0 - conf) / 2.0; /* allowed mass in each tail */
    /* Walk the binomial(n, 1/2) pmf in log space: 2^-n underflows for
     * n > 1074, but the terms that matter near the tail quantile do not. */
    double logpmf = -(double)n * M_LN2; /* log P(B = 0) */
    double cdf = 0;                     /* P(B <= i-1) before adding term i */
    size_t k = 0;                       /* largest i with P(B <= i-1) <= tail */
    for (size_t i = 0; i <= n / 2; i++) {
        cdf += exp(logpmf); /* now P(B <= i) */
        if (cdf > tail)
            break;
        k = i + 1; /* P(B <= (i+1)-1) <= tail */
        logpmf += log((double)(n - i) / (double)(i + 1));
    }
    if (k == 0)
        return 0; /* even [min, max] covers less than conf */
    *lo = k - 1;  /* x_(k), 0-based */
    *hi = n - k;  /* x_(n-k+1), 0-based */
    return 1;
}

void stats_describe(const double *x, size_t n, double conf, stats_summary *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    if (n == 0) {
        out->median = out->ci_low = out->ci_high = out->mean = NAN;
        out->stddev = out->min = out->max = out->mad = out->rel_ci_width = NAN;
        return;
    }
    double *s = malloc(n * sizeof *s);
    double *dev = malloc(n * sizeof *dev);
    if (!s || !dev) {
        /* Out of memory on a statistics copy: report NaN rather than a
         * number that was not computed. */
        free(s);
        free(dev);
        out->median = out->ci_low = out->ci_high = out->mean = NAN;
        out->stddev = out->min = out->max = out->mad = out->rel_ci_width = NAN;
        return;
    }
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, stats_cmp_double);
    out->min = s[0];
    out->max = s[n - 1];
    out->median = stats_quantile_sorted(s, n, 0.5);
    size_t lo, hi;
    stats_median_ci_ranks(n, conf, &lo, &hi);
    out->ci_low = s[lo];
    out->ci_high = s[hi];
    out->rel_ci_width =
        out->median > 0 ? (out->ci_high - out->ci_low) / 2.0 / out->median : INFINITY;

    /* Mean and standard deviation by Welford (stable for long streams). */
    double mean = 0, m2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        mean += d / (double)(i + 1);
        m2 += d * (x[i] - mean);
    }
    out->mean = mean;
    out->stddev = n > 1 ? sqrt(m2 / (double)(n - 1)) : 0;

    /* Median absolute deviation, unscaled (multiply by 1.4826 for a
     * normal-consistent sigma). */
    for (size_t i = 0; i < n; i++)
        dev[i] = fabs(s[i] - out->median);
    qsort(dev, n, sizeof *dev, stats_cmp_double);
    out->mad = stats_quantile_sorted(dev, n, 0.5);
    free(dev);
    free(s);
}

int stats_summary_converged(const stats_summary *st, size_t min_samples, double max_noise)
{
    if (st->n == 0 || st->n < min_samples)
        return 0;
    size_t lo, hi;
    /* Too few samples for an exact 95% interval (n < 6): not converged,
     * whatever the spread looks like. */
    if (!stats_median_ci_ranks(st->n, 0.95, &lo, &hi))
        return 0;
    return isfinite(st->rel_ci_width) && st->rel_ci_width <= max_noise;
}

int stats_converged(const double *x, size_t n, size_t min_samples, double max_noise)
{
    if (n == 0)
        return 0;
    stats_summary st;
    stats_describe(x, n, 0.95, &st);
    return stats_summary_converged(&st, min_samples, max_noise);
}
