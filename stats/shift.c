/* The shift between two samples for the gate's replicate mode: the
 * Hodges-Lehmann estimate (median of all pairwise differences b_j - a_i)
 * and the distribution-free Moses confidence interval, which is the set of
 * shifts d for which the two-sided Mann-Whitney test of (a + d, b) does not
 * reject -- so the interval and the U test always agree. With the sorted
 * differences d_(1) <= ... <= d_(mn), the interval is
 * [d_(k), d_(mn+1-k)], k - 1 being the largest U value c whose lower tail
 * P(U <= c) under H0 is at most (1 - conf)/2: exact (the integer null
 * distribution of stats/mannwhitney.c) for small samples, the normal
 * approximation k = floor(mn/2 - z sqrt(mn(m+n+1)/12)) otherwise. The
 * interval needs no assumption about the distribution's shape, only that
 * the two samples differ by a shift (of the log, for the gate's ratios).
 * It is conservative by the discreteness of U.
 *
 * Also here: the median of each block of a sample, the replicate the
 * gate compares when a run measured each case in several rounds. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t stats_moses_rank(size_t na, size_t nb, double conf)
{
    if (na == 0 || nb == 0 || !(conf > 0 && conf < 1))
        return 0;
    size_t mn = na * nb, kmax = (mn + 1) / 2;
    double tail = (1.0 - conf) / 2.0;
    size_t k = 0;
    if (na + nb <= STATS_MWU_EXACT_MAX) {
        int64_t *freq = malloc((mn + 1) * sizeof *freq);
        if (freq && stats_mwu_exact_counts(na, nb, freq) == 0) {
            int64_t total = 0, cum = 0;
            for (size_t u = 0; u <= mn; u++)
                total += freq[u];
            /* A relative slack of 1e-9 keeps a tail exactly equal to the
             * level (1/20 at conf 0.9) from being lost to rounding of
             * (1 - conf)/2. */
            double limit = tail * (double)total * (1 + 1e-9);
            for (size_t c = 0; c <= mn; c++) {
                cum += freq[c];
                if ((double)cum > limit)
                    break;
                k = c + 1;
            }
            free(freq);
            return k > kmax ? kmax : k;
        }
        free(freq);
        /* Out of memory: fall through to the approximation. */
    }
    double dmn = (double)mn;
    double z = stats_norm_quantile(1.0 - tail);
    double kk = floor(dmn / 2.0 - z * sqrt(dmn * (double)(na + nb + 1) / 12.0));
    if (!(kk >= 1))
        return 0;
    k = (size_t)kk;
    return k > kmax ? kmax : k;
}

double stats_hl_shift_ci(const double *a, size_t na, const double *b, size_t nb, double conf,
                         double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (na == 0 || nb == 0)
        return NAN;
    size_t mn = na * nb;
    if (mn / na != nb || mn > SIZE_MAX / sizeof(double))
        return NAN;
    double *d = malloc(mn * sizeof *d);
    if (!d)
        return NAN;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            d[i * nb + j] = b[j] - a[i];
    qsort(d, mn, sizeof *d, stats_cmp_double);
    double est = stats_quantile_sorted(d, mn, 0.5);
    size_t k = stats_moses_rank(na, nb, conf);
    if (k == 0) {
        *lo = -INFINITY;
        *hi = INFINITY;
    } else {
        *lo = d[k - 1];
        *hi = d[mn - k];
    }
    free(d);
    return est;
}

typedef struct {
    int64_t id;
    double v;
} tagged;

static int cmp_tagged(const void *x, const void *y)
{
    const tagged *a = x, *b = y;
    if (a->id != b->id)
        return (a->id > b->id) - (a->id < b->id);
    return (a->v > b->v) - (a->v < b->v);
}

size_t stats_block_medians(const double *x, const int64_t *id, size_t n, double *med, int64_t *ids)
{
    if (n == 0)
        return 0;
    tagged *t = malloc(n * sizeof *t);
    double *v = malloc(n * sizeof *v);
    if (!t || !v) {
        free(t);
        free(v);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        t[i] = (tagged){id[i], x[i]};
    /* Sorted by block, then value: each block is a sorted run. */
    qsort(t, n, sizeof *t, cmp_tagged);
    size_t nb = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && t[j].id == t[i].id) {
            v[j - i] = t[j].v;
            j++;
        }
        med[nb] = stats_quantile_sorted(v, j - i, 0.5);
        if (ids)
            ids[nb] = t[i].id;
        nb++;
        i = j;
    }
    free(t);
    free(v);
    return nb;
}
