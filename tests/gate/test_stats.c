/* Tests of the gate's statistics (stats/normal.c, mannwhitney.c,
 * bootstrap.c) against known answers: the normal CDF and quantile at
 * tabulated points; the U statistic against direct pair counting; the exact
 * p-value against enumeration of every arrangement; the published critical
 * values of the two-sided test (n1 = n2 = 10: U <= 23 at 0.05, <= 16 at
 * 0.01; n1 = n2 = 20: 127 and 105); the tie-corrected normal approximation
 * against the mean and variance of U computed over all arrangements; and the
 * bootstrap interval's coverage of a known ratio on simulated data. The
 * replicate mode's statistics (stats/shift.c): the Moses interval's ranks
 * against the same published critical values and a hand-computed example,
 * its agreement with the U test it inverts, the Hodges-Lehmann estimate of
 * a pure shift, the interval's coverage on simulated normal and log-normal
 * blocks (exact and normal-approximation sizes), and block medians. The
 * median and the comparator every stage sorts with (stats_median,
 * stats_cmp_double): odd and even counts, unsorted input left as it was,
 * ties, infinities, and NaN for an empty sample. */
#include "dyt_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "stats.h"

static void test_normal(void **state)
{
    (void)state;
    assert_true(fabs(stats_norm_cdf(0) - 0.5) < 1e-15);
    assert_true(fabs(stats_norm_cdf(1.96) - 0.9750021048517795) < 1e-12);
    assert_true(fabs(stats_norm_cdf(-3) - 0.0013498980316301) < 1e-14);
    assert_true(fabs(stats_norm_quantile(0.975) - 1.959963984540054) < 1e-9);
    assert_true(fabs(stats_norm_quantile(0.995) - 2.5758293035489) < 1e-9);
    assert_true(fabs(stats_norm_quantile(1e-10) + 6.361340902404) < 1e-6);
    for (double p = 0.001; p < 1; p += 0.0137)
        assert_true(fabs(stats_norm_cdf(stats_norm_quantile(p)) - p) < 1e-12);
    assert_true(isnan(stats_norm_quantile(-0.1)));
}

static double direct_u(const double *a, size_t na, const double *b, size_t nb)
{
    double u = 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            u += a[i] > b[j] ? 1 : a[i] == b[j] ? 0.5 : 0;
    return u;
}

static void test_u_statistic(void **state)
{
    (void)state;
    dyt_rng r;
    dyt_rng_seed(&r, 42);
    for (int trial = 0; trial < 200; trial++) {
        size_t na = 1 + dyt_rng_u64(&r) % 40, nb = 1 + dyt_rng_u64(&r) % 40;
        double a[40], b[40];
        /* Few distinct values: many ties, across and within samples. */
        for (size_t i = 0; i < na; i++)
            a[i] = (double)(dyt_rng_u64(&r) % 12);
        for (size_t j = 0; j < nb; j++)
            b[j] = (double)(dyt_rng_u64(&r) % 12);
        stats_mwu m;
        stats_mann_whitney(a, na, b, nb, &m);
        assert_true(fabs(m.u - direct_u(a, na, b, nb)) < 1e-9);
        assert_true(m.p_two_sided >= 0 && m.p_two_sided <= 1);
        assert_true(m.p_greater >= 0 && m.p_greater <= 1);
    }
}

/* Enumerates every way to give na of the pooled values to a; calls fn with
 * the U of each. */
typedef void (*subset_fn)(double u, void *ctx);
static void enumerate(const double *pool, size_t n, size_t na, subset_fn fn, void *ctx)
{
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        if ((size_t)__builtin_popcount(mask) != na)
            continue;
        double a[24], b[24];
        size_t ka = 0, kb = 0;
        for (size_t i = 0; i < n; i++) {
            if (mask & (1u << i))
                a[ka++] = pool[i];
            else
                b[kb++] = pool[i];
        }
        fn(direct_u(a, ka, b, kb), ctx);
    }
}

typedef struct {
    double u0;
    double le, ge, total, sum, sum2;
} enum_acc;
static void acc_fn(double u, void *ctx)
{
    enum_acc *a = ctx;
    a->total++;
    a->le += u <= a->u0 + 1e-9;
    a->ge += u >= a->u0 - 1e-9;
    a->sum += u;
    a->sum2 += u * u;
}

static void test_exact_p_enumeration(void **state)
{
    (void)state;
    /* Distinct values: the exact distribution applies. */
    double pool[13];
    for (size_t i = 0; i < 13; i++)
        pool[i] = (double)i * 1.5 + 0.25;
    size_t sizes[][2] = {{3, 4}, {5, 5}, {4, 9}, {6, 7}};
    for (size_t s = 0; s < DYT_ARRAY_LEN(sizes); s++) {
        size_t na = sizes[s][0], nb = sizes[s][1];
        size_t n = na + nb;
        /* a = every other value from the bottom: a specific U. */
        for (size_t shift = 0; shift < 3; shift++) {
            double a[16], b[16];
            size_t ka = 0, kb = 0;
            for (size_t i = 0; i < n; i++) {
                if (ka < na && (i + shift) % 2 == 0)
                    a[ka++] = pool[i];
                else if (kb < nb)
                    b[kb++] = pool[i];
                else
                    a[ka++] = pool[i];
            }
            stats_mwu m;
            stats_mann_whitney(a, na, b, nb, &m);
            enum_acc acc = {.u0 = m.u};
            enumerate(pool, n, na, acc_fn, &acc);
            double p2 = fmin(1, 2 * fmin(acc.le, acc.ge) / acc.total);
            assert_true(fabs(m.p_two_sided - p2) < 1e-12);
            assert_true(fabs(m.p_greater - acc.ge / acc.total) < 1e-12);
        }
    }
}

/* Samples of sizes n, n whose U (of a) is exactly u: b = 0..n-1 and a_i
 * placed above c_i of the b's, sum c_i = u. */
static void make_u(size_t n, size_t u, double *a, double *b)
{
    for (size_t j = 0; j < n; j++)
        b[j] = (double)j;
    for (size_t i = 0; i < n; i++) {
        size_t c = DYT_MIN(u, n);
        u -= c;
        a[i] = (double)c - 0.5 + 1e-3 * (double)i; /* distinct, above c b's */
    }
}

static void test_critical_values(void **state)
{
    (void)state;
    /* Published two-sided critical values of U (reject when U <= crit). */
    struct {
        size_t n;
        double alpha;
        size_t crit;
    } tab[] = {{10, 0.05, 23}, {10, 0.01, 16}, {20, 0.05, 127}, {20, 0.01, 105}, {8, 0.05, 13}};
    for (size_t t = 0; t < DYT_ARRAY_LEN(tab); t++) {
        double a[32], b[32];
        stats_mwu m;
        make_u(tab[t].n, tab[t].crit, a, b);
        stats_mann_whitney(a, tab[t].n, b, tab[t].n, &m);
        assert_true(fabs(m.u - (double)tab[t].crit) < 1e-9);
        assert_true(m.p_two_sided <= tab[t].alpha);
        make_u(tab[t].n, tab[t].crit + 1, a, b);
        stats_mann_whitney(a, tab[t].n, b, tab[t].n, &m);
        assert_true(fabs(m.u - (double)(tab[t].crit + 1)) < 1e-9);
        assert_true(m.p_two_sided > tab[t].alpha);
        /* Symmetry: U' = n^2 - U gives the same two-sided p. */
        stats_mwu m2;
        stats_mann_whitney(b, tab[t].n, a, tab[t].n, &m2);
        assert_true(fabs(m2.u - (double)(tab[t].n * tab[t].n - tab[t].crit - 1)) < 1e-9);
        assert_true(fabs(m2.p_two_sided - m.p_two_sided) < 1e-12);
    }
}

static void test_normal_approx_ties(void **state)
{
    (void)state;
    /* With ties the normal approximation is used; its mean and variance
     * must be those of U over all arrangements of the tied pool. */
    double a[] = {1, 2, 2, 3, 3, 3, 5, 7};
    double b[] = {2, 3, 4, 4, 5, 6, 6, 8, 8};
    size_t na = DYT_ARRAY_LEN(a), nb = DYT_ARRAY_LEN(b);
    double pool[17];
    memcpy(pool, a, sizeof a);
    memcpy(pool + na, b, sizeof b);
    stats_mwu m;
    stats_mann_whitney(a, na, b, nb, &m);
    enum_acc acc = {.u0 = m.u};
    enumerate(pool, na + nb, na, acc_fn, &acc);
    double mean = acc.sum / acc.total;
    double var = acc.sum2 / acc.total - mean * mean;
    assert_true(fabs(mean - (double)(na * nb) / 2) < 1e-9);
    assert_true(fabs(m.z - (m.u - mean) / sqrt(var)) < 1e-9);
    double d = fabs(m.u - mean);
    double p = 2 * (1 - stats_norm_cdf((d - 0.5) / sqrt(var)));
    assert_true(fabs(m.p_two_sided - p) < 1e-9);
    /* And the approximation is close to the exact permutation p. */
    double exact = fmin(1, 2 * fmin(acc.le, acc.ge) / acc.total);
    assert_true(fabs(m.p_two_sided - exact) < 0.03);

    /* All tied: no evidence. */
    double c[] = {4, 4, 4}, e[] = {4, 4, 4, 4};
    stats_mann_whitney(c, 3, e, 4, &m);
    assert_true(m.p_two_sided == 1);
}

static void test_large_samples_significance(void **state)
{
    (void)state;
    dyt_rng r;
    dyt_rng_seed(&r, 7);
    double a[400], b[400];
    for (int i = 0; i < 400; i++) {
        a[i] = dyt_rng_normal(&r, 100, 5);
        b[i] = dyt_rng_normal(&r, 103, 5);
    }
    stats_mwu m;
    stats_mann_whitney(b, 400, a, 400, &m);
    assert_true(m.p_two_sided < 1e-6);
    assert_true(m.p_greater < 1e-6);
    stats_mann_whitney(a, 400, b, 400, &m);
    assert_true(m.p_greater > 1 - 1e-6);
}

static void test_bootstrap_coverage(void **state)
{
    (void)state;
    /* Log-normal timings with a long right tail; the candidate is the base
     * distribution scaled by 1.1, so the true ratio of medians is 1.1. */
    dyt_rng r;
    dyt_rng_seed(&r, 2024);
    const int trials = 400;
    const size_t n = 40;
    int covered = 0;
    double a[64], b[64];
    for (int t = 0; t < trials; t++) {
        for (size_t i = 0; i < n; i++) {
            a[i] = 1000 * exp(dyt_rng_normal(&r, 0, 0.1));
            b[i] = 1.1 * 1000 * exp(dyt_rng_normal(&r, 0, 0.1));
        }
        double lo, hi;
        double ratio = stats_ratio_ci(a, n, b, n, 0.95, 1000, (uint64_t)t + 1, &lo, &hi);
        assert_true(lo <= ratio && ratio <= hi);
        covered += lo <= 1.1 && 1.1 <= hi;
    }
    double cov = (double)covered / trials;
    print_message("bootstrap 95%% interval coverage: %.3f over %d trials\n", cov, trials);
    /* Percentile intervals of a median run slightly liberal at n = 40;
     * the binomial sd of the estimate is ~0.011 at 400 trials. */
    assert_true(cov >= 0.91 && cov <= 0.985);
}

static void test_bootstrap_deterministic(void **state)
{
    (void)state;
    double a[] = {10, 11, 12, 10.5, 11.5, 13, 9.5, 10.2};
    double b[] = {12, 13, 12.5, 14, 11.9, 13.3, 12.2};
    double lo1, hi1, lo2, hi2;
    double r1 = stats_ratio_ci(a, 8, b, 7, 0.99, 2000, 5, &lo1, &hi1);
    double r2 = stats_ratio_ci(a, 8, b, 7, 0.99, 2000, 5, &lo2, &hi2);
    assert_true(r1 == r2 && lo1 == lo2 && hi1 == hi2);
    /* median(b) / median(a) = 12.5 / ((10.5 + 11) / 2) */
    assert_true(fabs(r1 - 12.5 / 10.75) < 1e-12);
    assert_true(lo1 < r1 && r1 < hi1);
}

/* The Moses interval's k is one more than the two-sided critical value of
 * U: n1 = n2 = 10 -> 23 at 0.05, 16 at 0.01, 19 at 0.02 (one-sided 0.01);
 * n1 = n2 = 20 -> 127 and 105; n1 = n2 = 8 -> 13 at 0.05; 5 vs 5 at 0.01
 * -> 0 (1/252 < 0.005); 4 vs 4 at 0.01 -> none (1/70 > 0.005). */
static void test_moses_ranks(void **state)
{
    (void)state;
    struct {
        size_t na, nb;
        double conf;
        size_t k;
    } tab[] = {{10, 10, 0.95, 24},  {10, 10, 0.99, 17}, {10, 10, 0.98, 20}, {20, 20, 0.95, 128},
               {20, 20, 0.99, 106}, {8, 8, 0.95, 14},   {5, 5, 0.99, 1},    {4, 4, 0.99, 0},
               {3, 3, 0.90, 1},     {3, 3, 0.80, 2},    {2, 2, 0.99, 0},    {1, 30, 0.95, 0}};
    for (size_t t = 0; t < DYT_ARRAY_LEN(tab); t++) {
        size_t k = stats_moses_rank(tab[t].na, tab[t].nb, tab[t].conf);
        if (k != tab[t].k)
            fail_msg("moses rank %zu vs %zu at %g: %zu, expected %zu", tab[t].na, tab[t].nb,
                     tab[t].conf, k, tab[t].k);
    }
    /* Past the exact sizes the normal approximation takes over; at the
     * boundary (30 vs 30, exact) it is within one rank of the exact k. */
    double z = stats_norm_quantile(0.975);
    double approx = floor(450 - z * sqrt(900.0 * 61 / 12));
    assert_true(fabs((double)stats_moses_rank(30, 30, 0.95) - approx) <= 1);
    assert_int_equal(stats_moses_rank(40, 40, 0.95),
                     (size_t)floor(800 - z * sqrt(1600.0 * 81 / 12)));
}

static void test_hl_hand(void **state)
{
    (void)state;
    /* Differences b_j - a_i: 3 2 1 5 4 3 8 7 6 -> sorted 1 2 3 3 4 5 6 7 8. */
    double a[] = {1, 2, 3}, b[] = {4, 6, 9}, lo, hi;
    assert_true(stats_hl_shift_ci(a, 3, b, 3, 0.90, &lo, &hi) == 4);
    assert_true(lo == 1 && hi == 8); /* k = 1 */
    assert_true(stats_hl_shift_ci(a, 3, b, 3, 0.80, &lo, &hi) == 4);
    assert_true(lo == 2 && hi == 7); /* k = 2 */
    /* Too few values for 99%: unbounded, the estimate still given. */
    assert_true(stats_hl_shift_ci(a, 3, b, 3, 0.99, &lo, &hi) == 4);
    assert_true(isinf(lo) && lo < 0 && isinf(hi) && hi > 0);
    /* 5 vs 5 at 99%: k = 1, the extreme differences. */
    double c[] = {10, 11, 12, 13, 14}, d[] = {20, 22, 21, 25, 23};
    stats_hl_shift_ci(c, 5, d, 5, 0.99, &lo, &hi);
    assert_true(lo == 20 - 14 && hi == 25 - 10);
    assert_true(isnan(stats_hl_shift_ci(c, 0, d, 5, 0.99, &lo, &hi)) && isnan(lo));
}

/* A shift inside the interval is not rejected by the two-sided U test at
 * level 1 - conf, one outside is: the interval is the test inverted. */
static void test_moses_inverts_u(void **state)
{
    (void)state;
    dyt_rng r;
    dyt_rng_seed(&r, 99);
    int checked = 0;
    for (int trial = 0; trial < 60; trial++) {
        size_t na = 4 + dyt_rng_u64(&r) % 12, nb = 4 + dyt_rng_u64(&r) % 12;
        double conf = trial % 2 ? 0.95 : 0.9;
        double a[16], b[16], a2[16], lo, hi;
        for (size_t i = 0; i < na; i++)
            a[i] = dyt_rng_normal(&r, 0, 1);
        for (size_t j = 0; j < nb; j++)
            b[j] = dyt_rng_normal(&r, 0.5, 1);
        stats_hl_shift_ci(a, na, b, nb, conf, &lo, &hi);
        if (isinf(lo))
            continue;
        checked++;
        double eps = 1e-7;
        double probe[] = {lo - eps, lo + eps, hi - eps, hi + eps};
        int inside[] = {0, 1, 1, 0};
        for (int q = 0; q < 4; q++) {
            for (size_t i = 0; i < na; i++)
                a2[i] = a[i] + probe[q];
            stats_mwu m;
            stats_mann_whitney(a2, na, b, nb, &m);
            if (inside[q])
                assert_true(m.p_two_sided > 1 - conf);
            else
                assert_true(m.p_two_sided <= 1 - conf + 1e-12);
        }
    }
    assert_true(checked >= 50);
}

static void test_hl_pure_shift(void **state)
{
    (void)state;
    dyt_rng r;
    dyt_rng_seed(&r, 5);
    double a[25], b[25], lo, hi;
    for (size_t i = 0; i < 25; i++)
        a[i] = (double)(dyt_rng_u64(&r) % 1000);
    /* b is a shifted by 7, in another order: the differences are symmetric
     * about 7, so their median is exactly 7. */
    for (size_t i = 0; i < 25; i++)
        b[i] = a[(i * 7) % 25] + 7;
    double est = stats_hl_shift_ci(a, 25, b, 25, 0.95, &lo, &hi);
    assert_true(est == 7);
    assert_true(lo <= 7 && 7 <= hi && lo < hi);
    /* And the other way round. */
    assert_true(stats_hl_shift_ci(b, 25, a, 25, 0.95, &lo, &hi) == -7);
}

static double coverage(dyt_rng *r, size_t na, size_t nb, int lognormal, int trials)
{
    const double shift = 0.2;
    int covered = 0;
    double a[64], b[64];
    for (int t = 0; t < trials; t++) {
        for (size_t i = 0; i < na; i++)
            a[i] =
                lognormal ? log(exp(dyt_rng_normal(r, 0, 0.3)) + 0.5) : dyt_rng_normal(r, 0, 0.3);
        for (size_t j = 0; j < nb; j++)
            b[j] = lognormal ? log(exp(dyt_rng_normal(r, 0, 0.3)) + 0.5) + shift
                             : dyt_rng_normal(r, 0, 0.3) + shift;
        double lo, hi;
        double est = stats_hl_shift_ci(a, na, b, nb, 0.95, &lo, &hi);
        assert_true(lo <= est && est <= hi);
        covered += lo <= shift && shift <= hi;
    }
    return (double)covered / trials;
}

static void test_moses_coverage(void **state)
{
    (void)state;
    dyt_rng r;
    dyt_rng_seed(&r, 2025);
    /* Exact sizes: nominal 95%, actual 1 - 2 P(U <= 23) = 0.957 for 10 vs
     * 10 by discreteness; the binomial sd at 2000 trials is ~0.0045. */
    double c1 = coverage(&r, 10, 10, 0, 2000);
    double c2 = coverage(&r, 8, 12, 1, 2000);  /* skewed (log of shifted log-normal) */
    double c3 = coverage(&r, 40, 40, 0, 1000); /* normal approximation */
    print_message("Moses 95%% coverage: %.3f (10v10 normal), %.3f (8v12 skewed), "
                  "%.3f (40v40 approx)\n",
                  c1, c2, c3);
    assert_true(c1 >= 0.93 && c1 <= 0.985);
    assert_true(c2 >= 0.93 && c2 <= 0.985);
    assert_true(c3 >= 0.93 && c3 <= 0.985);
}

static void test_block_medians(void **state)
{
    (void)state;
    double x[] = {5, 1, 3, 10, 20, 7, 4};
    int64_t id[] = {2, 2, 2, 0, 0, 9, (INT64_C(1) << 32) + 2};
    double med[7];
    int64_t ids[7];
    size_t n = stats_block_medians(x, id, 7, med, ids);
    assert_int_equal(n, 4);
    assert_true(ids[0] == 0 && med[0] == 15);
    assert_true(ids[1] == 2 && med[1] == 3);
    assert_true(ids[2] == 9 && med[2] == 7);
    assert_true(ids[3] == (INT64_C(1) << 32) + 2 && med[3] == 4);
    assert_int_equal(stats_block_medians(x, id, 0, med, NULL), 0);
}

static void test_median(void **state)
{
    (void)state;
    const double odd[] = {9, -1, 4, 4, 100};
    double copy[5];
    memcpy(copy, odd, sizeof copy);
    assert_true(stats_median(odd, 5) == 4);
    assert_memory_equal(odd, copy, sizeof copy); /* not modified */
    const double even[] = {3, 1, 10, 2};
    assert_true(stats_median(even, 4) == 2.5); /* (2 + 3) / 2 */
    const double one[] = {-7.25};
    assert_true(stats_median(one, 1) == -7.25);
    const double inf[] = {INFINITY, 1, 2};
    assert_true(stats_median(inf, 3) == 2);
    assert_true(isnan(stats_median(odd, 0)));
    /* The same value the runner stores as a case's median. */
    double x[101];
    dyt_rng r;
    dyt_rng_seed(&r, 5);
    for (size_t i = 0; i < 101; i++)
        x[i] = dyt_rng_normal(&r, 10, 2);
    stats_summary st;
    stats_describe(x, 100, 0.95, &st);
    assert_true(stats_median(x, 100) == st.median);
    stats_describe(x, 101, 0.95, &st);
    assert_true(stats_median(x, 101) == st.median);

    double v[] = {2, -0.0, 5, -3, 2, 1e300, -INFINITY};
    qsort(v, 7, sizeof *v, stats_cmp_double);
    for (size_t i = 1; i < 7; i++)
        assert_true(v[i - 1] <= v[i]);
    double a = 1, b = 2;
    assert_true(stats_cmp_double(&a, &b) < 0 && stats_cmp_double(&b, &a) > 0);
    assert_int_equal(stats_cmp_double(&a, &a), 0);
}

DYT_TEST_MAIN("gate-stats", NULL, NULL, cmocka_unit_test(test_normal),
              cmocka_unit_test(test_u_statistic), cmocka_unit_test(test_exact_p_enumeration),
              cmocka_unit_test(test_critical_values), cmocka_unit_test(test_normal_approx_ties),
              cmocka_unit_test(test_large_samples_significance),
              cmocka_unit_test(test_bootstrap_coverage),
              cmocka_unit_test(test_bootstrap_deterministic), cmocka_unit_test(test_moses_ranks),
              cmocka_unit_test(test_hl_hand), cmocka_unit_test(test_moses_inverts_u),
              cmocka_unit_test(test_hl_pure_shift), cmocka_unit_test(test_moses_coverage),
              cmocka_unit_test(test_block_medians), cmocka_unit_test(test_median))
