/* Tests of the paired mode's statistics (stats/signedrank.c) against known
 * answers: the exact null counts of T+ (small n by hand, totals and
 * symmetry), p-values against enumeration of every sign pattern, the
 * published critical values of the two-sided signed-rank test (n = 8: T <=
 * 0 at 0.01, 3 at 0.05; n = 10: 3 and 8; n = 20: 37 and 52), zeros dropped,
 * the interval's duality with the test, the Hodges-Lehmann estimate of a
 * symmetric sample, and the interval's coverage on simulated normal and
 * heavy-tailed differences. */
#include "dyt_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "stats.h"

static void test_exact_counts(void **state)
{
    (void)state;
    int64_t f[64];
    /* n = 3: sign patterns of ranks {1,2,3} give T+ = 0,1,2,3,3,4,5,6. */
    assert_int_equal(stats_signed_rank_exact_counts(3, f), 0);
    const int64_t want[] = {1, 1, 1, 2, 1, 1, 1};
    for (int t = 0; t <= 6; t++)
        assert_int_equal(f[t], want[t]);
    int64_t *g = malloc((50 * 51 / 2 + 1) * sizeof *g);
    assert_non_null(g);
    for (size_t n = 1; n <= 50; n += 7) {
        assert_int_equal(stats_signed_rank_exact_counts(n, g), 0);
        size_t top = n * (n + 1) / 2;
        double total = 0;
        for (size_t t = 0; t <= top; t++) {
            total += (double)g[t];
            assert_true(g[t] == g[top - t]); /* symmetric about n(n+1)/4 */
        }
        assert_true(total == ldexp(1.0, (int)n));
    }
    assert_int_equal(stats_signed_rank_exact_counts(51, g), -1);
    free(g);
}

/* Every sign pattern of |d| = 1..n (all distinct): the two-sided p of the
 * observed T+ counted directly. */
static void test_p_enumeration(void **state)
{
    (void)state;
    const size_t n = 7;
    double d[7];
    for (unsigned mask = 0; mask < (1u << n); mask += 5) {
        double t_obs = 0;
        for (size_t i = 0; i < n; i++) {
            int pos = (mask >> i) & 1;
            d[i] = pos ? (double)(i + 1) : -(double)(i + 1);
            t_obs += pos ? (double)(i + 1) : 0;
        }
        unsigned le = 0, ge = 0;
        for (unsigned m2 = 0; m2 < (1u << n); m2++) {
            double t = 0;
            for (size_t i = 0; i < n; i++)
                t += ((m2 >> i) & 1) ? (double)(i + 1) : 0;
            le += t <= t_obs;
            ge += t >= t_obs;
        }
        double want = fmin(1.0, 2.0 * (double)(le < ge ? le : ge) / 128.0);
        stats_wsr w;
        stats_wilcoxon_signed_rank(d, n, &w);
        assert_true(w.t_plus == t_obs);
        assert_true(fabs(w.p_two_sided - want) < 1e-12);
        assert_true(fabs(w.p_greater - (double)ge / 128.0) < 1e-12);
    }
    /* n = 5, all positive: T+ = 15, p = 2/32. */
    const double pos[] = {0.3, 1.1, 0.7, 2.0, 0.01};
    stats_wsr w;
    stats_wilcoxon_signed_rank(pos, 5, &w);
    assert_true(w.t_plus == 15);
    assert_true(fabs(w.p_two_sided - 0.0625) < 1e-15);
    assert_true(fabs(w.p_greater - 1.0 / 32) < 1e-15);
}

static void test_critical_values(void **state)
{
    (void)state;
    /* k = T_crit + 1 (published two-sided tables). */
    assert_int_equal(stats_signed_rank_rank(8, 0.99), 1);
    assert_int_equal(stats_signed_rank_rank(8, 0.95), 4);
    assert_int_equal(stats_signed_rank_rank(10, 0.99), 4);
    assert_int_equal(stats_signed_rank_rank(10, 0.95), 9);
    assert_int_equal(stats_signed_rank_rank(20, 0.99), 38);
    assert_int_equal(stats_signed_rank_rank(20, 0.95), 53);
    /* Too few pairs: 2^-n exceeds the tail. */
    assert_int_equal(stats_signed_rank_rank(7, 0.99), 0);
    assert_int_equal(stats_signed_rank_rank(5, 0.95), 0);
    /* Beyond the exact range the normal approximation takes over; at n = 50
     * it is within 1% of the exact rank (374, computed independently by
     * expanding prod (1 + q^k) in Python), slightly conservative. */
    assert_int_equal(stats_signed_rank_rank(50, 0.99), 374);
    double dn = 50,
           approx = dn * (dn + 1) / 4 - 2.5758293 * sqrt(dn * (dn + 1) * (2 * dn + 1) / 24) + 0.5;
    assert_true(fabs(374 - approx) < 0.01 * 374 && approx < 374);
    size_t k51 = stats_signed_rank_rank(51, 0.99);
    assert_true(k51 >= 374 && k51 < 374 + 20);
}

static void test_zeros_and_ties(void **state)
{
    (void)state;
    const double d[] = {0, 0, 1, 2, 3};
    stats_wsr w;
    stats_wilcoxon_signed_rank(d, 5, &w);
    assert_int_equal(w.n_used, 3);
    assert_int_equal(w.n_zero, 2);
    assert_true(w.t_plus == 6);
    /* Ties in |d|: mid-ranks, normal approximation, still a valid p. */
    const double t[] = {1, -1, 1, 1, 2, 2, -2, 3, 3, 3, 4, 5};
    stats_wilcoxon_signed_rank(t, 12, &w);
    assert_true(w.p_two_sided > 0 && w.p_two_sided <= 1);
    /* |d| ranks: 1,1,1,1 -> 2.5; 2,2,2 -> 6; 3,3,3 -> 9; 4 -> 11; 5 -> 12;
     * negatives: one 1 (2.5) and one 2 (6): T+ = 78 - 8.5. */
    assert_true(w.t_plus == 78 - 8.5);
}

/* The interval inverts the test: shifting the data to just inside a bound
 * keeps p above alpha, just outside brings it to alpha or below. */
static void test_ci_inverts_test(void **state)
{
    (void)state;
    dyt_rng r;
    dyt_rng_seed(&r, 5);
    for (int rep = 0; rep < 20; rep++) {
        const size_t n = 12;
        double d[12], s[12];
        for (size_t i = 0; i < n; i++)
            d[i] = dyt_rng_normal(&r, 0.3, 1);
        double lo, hi;
        stats_hl_paired_ci(d, n, 0.95, &lo, &hi);
        assert_true(lo < hi);
        const double eps = 1e-9;
        const double at[4] = {lo - eps, lo + eps, hi - eps, hi + eps};
        const int inside[4] = {0, 1, 1, 0};
        for (int k = 0; k < 4; k++) {
            for (size_t i = 0; i < n; i++)
                s[i] = d[i] - at[k];
            stats_wsr w;
            stats_wilcoxon_signed_rank(s, n, &w);
            if (inside[k])
                assert_true(w.p_two_sided > 0.05);
            else
                assert_true(w.p_two_sided <= 0.05 + 1e-12);
        }
    }
}

static void test_hl_symmetric(void **state)
{
    (void)state;
    /* Symmetric about 0.25: the median of the Walsh averages is 0.25. */
    const double d[] = {0.25 - 3, 0.25 - 1, 0.25 - 0.5, 0.25, 0.25 + 0.5, 0.25 + 1, 0.25 + 3};
    double lo, hi;
    double est = stats_hl_paired_ci(d, 7, 0.95, &lo, &hi);
    assert_true(fabs(est - 0.25) < 1e-12);
    /* n = 7 at 95%: k = 3 (T_crit = 2), so [W_3, W_26] of 28. */
    assert_int_equal(stats_signed_rank_rank(7, 0.95), 3);
    assert_true(lo > -3 && hi < 3.5);
    /* Too few for the confidence: unbounded. */
    stats_hl_paired_ci(d, 5, 0.99, &lo, &hi);
    assert_true(isinf(lo) && lo < 0 && isinf(hi) && hi > 0);
}

/* n = 10 at 99%: T_crit = 3, so the interval is [W_4, W_52] of the 55
 * sorted Walsh averages, found here by brute force. */
static void test_interval_ranks_n10(void **state)
{
    (void)state;
    double d[10], w[55];
    for (int i = 0; i < 10; i++)
        d[i] = (i % 2 ? 1 : -0.3) * (double)((i + 1) * (i + 1)) / 7.0; /* distinct, mixed signs */
    size_t m = 0;
    for (int i = 0; i < 10; i++)
        for (int j = i; j < 10; j++)
            w[m++] = (d[i] + d[j]) / 2;
    assert_int_equal(m, 55);
    for (size_t i = 1; i < m; i++) /* insertion sort */
        for (size_t j = i; j > 0 && w[j - 1] > w[j]; j--) {
            double t = w[j];
            w[j] = w[j - 1];
            w[j - 1] = t;
        }
    double lo, hi;
    double est = stats_hl_paired_ci(d, 10, 0.99, &lo, &hi);
    assert_true(lo == w[3] && hi == w[51]);
    assert_true(est == (w[27])); /* M = 55 odd: the 28th */
    stats_hl_paired_ci(d, 10, 0.95, &lo, &hi); /* T_crit = 8: [W_9, W_47] */
    assert_true(lo == w[8] && hi == w[46]);
}

static double coverage(dyt_rng *r, size_t n, int heavy, int trials)
{
    double d[64], lo, hi;
    int hit = 0;
    for (int t = 0; t < trials; t++) {
        for (size_t i = 0; i < n; i++) {
            double sd = heavy && dyt_rng_uniform(r) < 0.1 ? 10.0 : 1.0;
            d[i] = dyt_rng_normal(r, 0.05, sd); /* symmetric about 0.05 */
        }
        stats_hl_paired_ci(d, n, 0.95, &lo, &hi);
        hit += lo <= 0.05 && 0.05 <= hi;
    }
    return (double)hit / trials;
}

static void test_coverage(void **state)
{
    (void)state;
    dyt_rng r;
    dyt_rng_seed(&r, 11);
    /* The exact interval's coverage is >= 95% by construction, a little
     * more by discreteness. */
    double c1 = coverage(&r, 10, 0, 2000), c2 = coverage(&r, 16, 1, 2000),
           c3 = coverage(&r, 60, 0, 1000), c4 = coverage(&r, 10, 1, 2000);
    print_message("coverage of 95%% intervals: n=10 normal %.3f, n=10 heavy-tailed %.3f, "
                  "n=16 heavy-tailed %.3f, n=60 normal approximation %.3f\n",
                  c1, c4, c2, c3);
    assert_true(c1 >= 0.93 && c1 <= 0.99);
    assert_true(c4 >= 0.93 && c4 <= 0.99);
    assert_true(c2 >= 0.93 && c2 <= 0.99);
    assert_true(c3 >= 0.92 && c3 <= 0.98);
}

DYT_TEST_MAIN("gate-signedrank", NULL, NULL, cmocka_unit_test(test_exact_counts),
              cmocka_unit_test(test_p_enumeration), cmocka_unit_test(test_critical_values),
              cmocka_unit_test(test_zeros_and_ties), cmocka_unit_test(test_ci_inverts_test),
              cmocka_unit_test(test_hl_symmetric), cmocka_unit_test(test_interval_ranks_n10),
              cmocka_unit_test(test_coverage))
