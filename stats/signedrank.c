/* Paired comparisons: the Wilcoxon signed-rank test and the one-sample
 * Hodges-Lehmann estimate with its distribution-free interval, on the
 * differences d_i of matched pairs (the gate's paired mode: log ratios of
 * blocks measured moments apart by two builds in lockstep).
 *
 * T+ is the sum of the ranks of |d_i| over the positive d_i. Zero
 * differences are dropped (Wilcoxon's convention) and tied |d_i| get
 * mid-ranks. p-values are exact when nothing is tied or zero and n <= 50:
 * the null distribution of T+ counts the 2^n equally likely sign patterns,
 * built by the product of (1 + q^k) for k = 1..n in 64-bit integers (every
 * count is at most 2^50). Otherwise the normal approximation with the tie
 * correction of the variance and a continuity correction of 1/2.
 *
 * The interval inverts the test: the sorted Walsh averages (d_i + d_j)/2,
 * i <= j, M = n(n+1)/2 of them, and [W_(k), W_(M+1-k)] where k - 1 is the
 * largest t with P(T+ <= t) <= (1 - conf)/2 under H0. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EXACT_MAX_N 50

int stats_signed_rank_exact_counts(size_t n, int64_t *freq)
{
    if (n > EXACT_MAX_N)
        return -1;
    size_t top = n * (n + 1) / 2;
    memset(freq, 0, (top + 1) * sizeof *freq);
    freq[0] = 1;
    for (size_t k = 1; k <= n; k++) /* times (1 + q^k) */
        for (size_t t = k * (k + 1) / 2; t >= k; t--)
            freq[t] += freq[t - k];
    return 0;
}

void stats_wilcoxon_signed_rank(const double *d, size_t n, stats_wsr *out)
{
    memset(out, 0, sizeof *out);
    out->p_two_sided = out->p_greater = 1;
    /* |d| ranked, the positive differences the group. */
    stats_ranked *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        out->t_plus = out->z = out->p_two_sided = out->p_greater = NAN;
        return;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] != 0 && !isnan(d[i]))
            v[m++] = (stats_ranked){fabs(d[i]), d[i] > 0};
    out->n_used = m;
    out->n_zero = n - m;
    if (m == 0) {
        free(v);
        return;
    }
    double ties;
    double t_plus = stats_rank_sum(v, m, &ties);
    free(v);
    out->t_plus = t_plus;
    double dm = (double)m;
    double mu = dm * (dm + 1) / 4.0;
    double var = dm * (dm + 1) * (2 * dm + 1) / 24.0 - ties / 48.0;
    out->z = var > 0 ? (t_plus - mu) / sqrt(var) : 0;

    if (ties == 0 && out->n_zero == 0 && m <= EXACT_MAX_N) {
        size_t top = m * (m + 1) / 2;
        int64_t *freq = malloc((top + 1) * sizeof *freq);
        if (freq && stats_signed_rank_exact_counts(m, freq) == 0) {
            /* The counts sum to 2^m: every sign pattern. */
            stats_exact_p(freq, top, (size_t)llround(t_plus), &out->p_greater, &out->p_two_sided);
            free(freq);
            return;
        }
        free(freq);
    }
    if (!(var > 0))
        return;
    double sd = sqrt(var), dd = t_plus - mu;
    double zc = (fabs(dd) > 0.5 ? fabs(dd) - 0.5 : 0) / sd;
    out->p_two_sided = fmin(1.0, 2.0 * stats_norm_cdf(-zc));
    out->p_greater = stats_norm_cdf(-(dd - 0.5) / sd);
}

size_t stats_signed_rank_rank(size_t n, double conf)
{
    if (n == 0 || !(conf > 0 && conf < 1))
        return 0;
    double tail = (1.0 - conf) / 2.0;
    size_t top = n * (n + 1) / 2;
    if (n <= EXACT_MAX_N) {
        int64_t *freq = malloc((top + 1) * sizeof *freq);
        if (!freq || stats_signed_rank_exact_counts(n, freq) != 0) {
            free(freq);
            return 0;
        }
        /* k - 1 = the largest t with P(T+ <= t) <= tail; k = 0 when even
         * P(T+ = 0) = 2^-n exceeds it. */
        double total = ldexp(1.0, (int)n), cum = 0;
        size_t k = 0;
        for (size_t t = 0; t <= top; t++) {
            cum += (double)freq[t];
            if (cum / total > tail)
                break;
            k = t + 1;
        }
        free(freq);
        return k;
    }
    double dn = (double)n;
    /* P(T+ <= t) ~ Phi((t + 1/2 - mu) / sd) <= tail, with continuity. */
    double kk = dn * (dn + 1) / 4.0 -
                stats_norm_quantile(1.0 - tail) * sqrt(dn * (dn + 1) * (2 * dn + 1) / 24.0) + 0.5;
    return kk < 1 ? 0 : (size_t)floor(kk);
}

double stats_hl_paired_ci(const double *d, size_t n, double conf, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (n == 0)
        return NAN;
    size_t m = n * (n + 1) / 2;
    double *w = malloc(m * sizeof *w);
    if (!w)
        return NAN;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++)
            w[k++] = (d[i] + d[j]) / 2.0;
    qsort(w, m, sizeof *w, stats_cmp_double);
    double est = m % 2 ? w[m / 2] : (w[m / 2 - 1] + w[m / 2]) / 2.0;
    size_t r = stats_signed_rank_rank(n, conf);
    if (r < 1) {
        *lo = -INFINITY;
        *hi = INFINITY;
    } else {
        *lo = w[r - 1];
        *hi = w[m - r];
    }
    free(w);
    return est;
}
