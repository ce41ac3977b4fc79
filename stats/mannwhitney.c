/* The Mann-Whitney U test (Wilcoxon rank-sum), two-sided and one-sided, on
 * raw timing samples. U of sample a counts the pairs (a_i, b_j) with
 * a_i > b_j, ties counting one half; it is computed from mid-ranks.
 *
 * p-values: exact when there are no ties and the pooled size is small
 * enough that the null distribution's counts fit in 64 bits (the number of
 * arrangements is C(na+nb, na) <= C(60, 30) ~ 1.2e17); otherwise the normal
 * approximation with the tie correction of the variance and a continuity
 * correction of 1/2. The exact counts come from the generating function
 * prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i) (the Gaussian binomial), expanded
 * in integers: every partial product is itself a Gaussian binomial with
 * non-negative coefficients no larger than the final total, so nothing
 * overflows and nothing is rounded. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EXACT_MAX_TOTAL STATS_MWU_EXACT_MAX

static int cmp_ranked(const void *x, const void *y)
{
    double a = ((const stats_ranked *)x)->v, b = ((const stats_ranked *)y)->v;
    return (a > b) - (a < b);
}

double stats_rank_sum(stats_ranked *x, size_t n, double *ties)
{
    qsort(x, n, sizeof *x, cmp_ranked);
    double sum = 0;
    *ties = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && x[j].v == x[i].v)
            j++;
        double mid = ((double)(i + 1) + (double)j) / 2.0;
        for (size_t k = i; k < j; k++)
            if (x[k].in_group)
                sum += mid;
        double g = (double)(j - i);
        *ties += g * g * g - g;
        i = j;
    }
    return sum;
}

void stats_exact_p(const int64_t *freq, size_t top, size_t s, double *p_greater,
                   double *p_two_sided)
{
    double total = 0, le = 0, ge = 0;
    for (size_t k = 0; k <= top; k++) {
        total += (double)freq[k];
        if (k <= s)
            le += (double)freq[k];
        if (k >= s)
            ge += (double)freq[k];
    }
    *p_greater = ge / total;
    *p_two_sided = fmin(1.0, 2.0 * fmin(le, ge) / total);
}

/* Counts of U = 0..m*n over the C(m+n, m) equally likely arrangements;
 * freq has m*n+1 entries. */
static void exact_counts(size_t m, size_t n, int64_t *freq)
{
    if (m == 0 || n == 0) {
        freq[0] = 1; /* one arrangement, U = 0 */
        return;
    }
    size_t top = m * n;
    memset(freq, 0, (top + 1) * sizeof *freq);
    freq[0] = 1;
    for (size_t i = 1; i <= m; i++) {
        size_t up = n + i;
        for (size_t k = top; k >= up; k--) /* times (1 - q^(n+i)) */
            freq[k] -= freq[k - up];
        for (size_t k = i; k <= top; k++) /* divided by (1 - q^i) */
            freq[k] += freq[k - i];
    }
}

int stats_mwu_exact_counts(size_t m, size_t n, int64_t *freq)
{
    if (m + n > EXACT_MAX_TOTAL)
        return -1;
    exact_counts(m, n, freq);
    return 0;
}

void stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb, stats_mwu *out)
{
    memset(out, 0, sizeof *out);
    out->p_two_sided = out->p_greater = 1;
    size_t n = na + nb;
    if (na == 0 || nb == 0) {
        out->u = NAN;
        return;
    }
    stats_ranked *t = malloc(n * sizeof *t);
    if (!t) {
        out->u = out->z = out->p_two_sided = out->p_greater = NAN;
        return;
    }
    for (size_t i = 0; i < na; i++)
        t[i] = (stats_ranked){a[i], 1};
    for (size_t j = 0; j < nb; j++)
        t[na + j] = (stats_ranked){b[j], 0};
    double ties;
    double rank_sum_a = stats_rank_sum(t, n, &ties);
    free(t);
    double dna = (double)na, dnb = (double)nb;
    double u = rank_sum_a - dna * (dna + 1) / 2.0;
    out->u = u;
    double mu = dna * dnb / 2.0;
    double var = dna * dnb / 12.0 * (((double)n + 1) - ties / ((double)n * ((double)n - 1)));
    out->z = var > 0 ? (u - mu) / sqrt(var) : 0;

    if (ties == 0 && n <= EXACT_MAX_TOTAL) {
        size_t top = na * nb;
        int64_t *freq = malloc((top + 1) * sizeof *freq);
        if (freq) {
            exact_counts(na, nb, freq); /* symmetric in m and n */
            /* Without ties U is an integer. */
            stats_exact_p(freq, top, (size_t)llround(u), &out->p_greater, &out->p_two_sided);
            free(freq);
            return;
        }
    }
    if (!(var > 0)) {
        /* Every value tied: no evidence either way. */
        out->p_greater = out->p_two_sided = 1;
        return;
    }
    double sd = sqrt(var);
    double d = u - mu;
    /* Continuity correction towards the mean. */
    double zc = (fabs(d) > 0.5 ? fabs(d) - 0.5 : 0) / sd;
    out->p_two_sided = fmin(1.0, 2.0 * stats_norm_cdf(-zc));
    out->p_greater = stats_norm_cdf(-(d - 0.5) / sd);
}
