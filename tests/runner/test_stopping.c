/* Tests of the runner's statistics and stopping rule on synthetic sample
 * streams with known noise: the exact binomial ranks of the median's CI
 * (published values and an independent computation), its coverage by
 * simulation, and the sampler stopping for the right reason: noise for a
 * quiet stream, max_samples / max_time for a noisy one, min-time honoured,
 * interruption and failing samples. A fake clock makes time deterministic. */
#include "dyt_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runners/cpu/cpu_internal.h"

/* ---- median CI ranks ----------------------------------------------------- */

static void test_ranks_published(void **state)
{
    (void)state;
    /* Conover, Practical Nonparametric Statistics, table A3 / the sign-test
     * interval: n=10 -> [x(2), x(9)], n=20 -> [x(6), x(15)], n=100 ->
     * [x(40), x(61)] (1-based), coverage 97.9%, 95.9%, 96.5%. n = 5: even
     * [min, max] covers only 1 - 2/32 = 93.75% < 95% (not valid); n = 6:
     * [min, max] covers 1 - 2/64 = 96.9%; n = 10 at 99%: [x(1), x(10)]
     * covers 99.8%, [x(2), x(9)] 97.9%. */
    static const struct {
        size_t n;
        double conf;
        int valid;
        size_t lo, hi; /* 0-based */
    } want[] = {{10, 0.95, 1, 1, 8}, {20, 0.95, 1, 5, 14}, {100, 0.95, 1, 39, 60},
                {5, 0.95, 0, 0, 4},  {6, 0.95, 1, 0, 5},   {10, 0.99, 1, 0, 9}};
    for (size_t i = 0; i < DYT_ARRAY_LEN(want); i++) {
        size_t lo, hi;
        assert_int_equal(stats_median_ci_ranks(want[i].n, want[i].conf, &lo, &hi), want[i].valid);
        assert_int_equal(lo, want[i].lo);
        assert_int_equal(hi, want[i].hi);
    }
}

/* P(B <= k) for B ~ Binomial(n, 1/2), computed independently of the code
 * under test: lgamma terms summed in long double. */
static long double binom_cdf(size_t n, size_t k)
{
    long double s = 0;
    for (size_t i = 0; i <= k; i++)
        s += expl(lgammal((long double)n + 1) - lgammal((long double)i + 1) -
                  lgammal((long double)(n - i) + 1) - (long double)n * logl(2.0L));
    return s;
}

static void test_ranks_tight_and_valid(void **state)
{
    (void)state;
    static const size_t ns[] = {6, 7, 11, 17, 30, 64, 257, 1000, 2500, 10000};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        size_t n = ns[t], lo, hi;
        assert_int_equal(stats_median_ci_ranks(n, 0.95, &lo, &hi), 1);
        assert_int_equal(lo + hi, n - 1); /* symmetric */
        size_t k = lo + 1;                /* 1-based lower rank */
        long double cover = 1 - 2 * binom_cdf(n, k - 1);
        long double cover_next = 1 - 2 * binom_cdf(n, k);
        assert_true(cover >= 0.95L);     /* valid */
        assert_true(cover_next < 0.95L); /* and the tightest such */
    }
}

static void test_ci_coverage_by_simulation(void **state)
{
    (void)state;
    /* 4000 samples of n = 20 from a skewed distribution (lognormal, true
     * median 1): the interval must cover it about 95.9% of the time. */
    dyt_rng r;
    dyt_rng_seed(&r, 12345);
    int covered = 0, trials = 4000;
    for (int t = 0; t < trials; t++) {
        double x[20];
        for (int i = 0; i < 20; i++)
            x[i] = exp(dyt_rng_normal(&r, 0, 0.5));
        stats_summary st;
        stats_describe(x, 20, 0.95, &st);
        covered += st.ci_low <= 1.0 && 1.0 <= st.ci_high;
    }
    double p = (double)covered / trials;
    /* Binomial sd at 0.959 over 4000 trials is 0.003: 0.94..0.975. */
    assert_true(p > 0.94 && p < 0.975);
}

static void test_describe_and_quantile(void **state)
{
    (void)state;
    double s[] = {1, 2, 3, 4};
    assert_true(fabs(stats_quantile_sorted(s, 4, 0.5) - 2.5) < 1e-12);
    assert_true(fabs(stats_quantile_sorted(s, 4, 0.25) - 1.75) < 1e-12);
    assert_true(stats_quantile_sorted(s, 4, 0) == 1 && stats_quantile_sorted(s, 4, 1) == 4);

    double x[10] = {10, 1, 9, 2, 8, 3, 7, 4, 6, 5}; /* 1..10 shuffled */
    stats_summary st;
    stats_describe(x, 10, 0.95, &st);
    assert_int_equal(st.n, 10);
    assert_true(fabs(st.median - 5.5) < 1e-12);
    assert_true(st.ci_low == 2 && st.ci_high == 9);
    assert_true(fabs(st.mean - 5.5) < 1e-12);
    assert_true(fabs(st.stddev - sqrt(82.5 / 9)) < 1e-12);
    assert_true(st.min == 1 && st.max == 10);
    assert_true(fabs(st.mad - 2.5) < 1e-12); /* |x - 5.5|: .5 .5 1.5 1.5 ... 4.5 */
    assert_true(fabs(st.rel_ci_width - (9 - 2) / 2.0 / 5.5) < 1e-12);
    assert_true(x[0] == 10 && x[9] == 5); /* input not modified */
}

static void test_converged(void **state)
{
    (void)state;
    double c[20];
    for (int i = 0; i < 20; i++)
        c[i] = 100 + (i % 2) * 0.1; /* 0.1% spread */
    assert_int_equal(stats_converged(c, 20, 10, 0.01), 1);
    assert_int_equal(stats_converged(c, 20, 30, 0.01), 0); /* min samples */
    assert_int_equal(stats_converged(c, 5, 1, 0.01), 0);   /* no 95% CI yet */
    double w[20];
    for (int i = 0; i < 20; i++)
        w[i] = 100 + (i % 2) * 50; /* bimodal, 25% spread */
    assert_int_equal(stats_converged(w, 20, 10, 0.01), 0);
}

/* ---- the sampler on synthetic streams ----------------------------------- */

typedef struct {
    dyt_rng rng;
    double median_ns, sigma; /* lognormal noise */
    double sample_wall_ns;   /* what the fake clock advances per sample */
    uint64_t clock;
    size_t calls, fail_at, stop_at;
    size_t flag_every;     /* every flag_every-th sample is flagged (ctx switch) */
    double flagged_factor; /* and this many times slower */
    volatile sig_atomic_t stop;
} synth;

static double synth_sample(void *ctx, int *flags)
{
    synth *s = ctx;
    s->calls++;
    if (s->fail_at && s->calls == s->fail_at)
        return -1;
    if (s->stop_at && s->calls == s->stop_at)
        s->stop = 1;
    s->clock += (uint64_t)s->sample_wall_ns;
    *flags = s->calls % s->flag_every == 0 ? STORE_SAMPLE_CTXSW : 0;
    return s->median_ns * exp(dyt_rng_normal(&s->rng, 0, s->sigma)) *
           (*flags ? s->flagged_factor : 1);
}

static uint64_t synth_clock(void *ctx)
{
    return ((synth *)ctx)->clock;
}

static sampler_spec spec_for(synth *s)
{
    sampler_spec sp = {
        .max_noise = 0.01,
        .min_samples = 10,
        .max_samples = 10000,
        .min_time_ns = 0,
        .max_time_ns = 2000000000ull,
        .sample = synth_sample,
        .clock = synth_clock,
        .ctx = s,
        .stop = &s->stop,
    };
    return sp;
}

static void synth_init(synth *s, uint64_t seed, double sigma)
{
    memset(s, 0, sizeof *s);
    dyt_rng_seed(&s->rng, seed);
    s->median_ns = 1000;
    s->sigma = sigma;
    s->sample_wall_ns = 100000; /* 100 us per sample */
    s->flag_every = 7;
    s->flagged_factor = 1;
}

static void test_quiet_stream_stops_on_noise(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        synth s;
        synth_init(&s, seed, 0.005);
        sampler_spec sp = spec_for(&s);
        sampler_result r;
        dyt_err e = {{0}};
        assert_int_equal(sampler_run(&sp, &r, &e), DYT_OK);
        assert_string_equal(r.stop_reason, "noise");
        /* 0.5% noise reaches a 1% CI at the minimum of 10 samples or a few
         * more; far fewer than the budget allows. */
        assert_true(r.n >= 10 && r.n <= 40);
        assert_true(r.st.rel_ci_width <= 0.01);
        assert_true(fabs(r.st.median / 1000 - 1) < 0.01);
        assert_int_equal(r.n_excluded, 0); /* ctx-switch samples are kept */
        assert_int_equal(r.samples[6].flags, STORE_SAMPLE_CTXSW);
        assert_int_equal(r.samples[6].excluded, 0);
        sampler_result_free(&r);
    }
}

/* Samples with a flag of exclude_flags (the GPU runner's throttled ones)
 * are stored excluded and count for neither the statistics nor the
 * stopping rule: flagged samples 100x slower leave the median and its
 * interval alone; a stream of only such samples never converges. */
static void test_excluded_samples(void **state)
{
    (void)state;
    synth s;
    synth_init(&s, 3, 0.005);
    s.flag_every = 3;
    s.flagged_factor = 100;
    sampler_spec sp = spec_for(&s);
    sp.exclude_flags = STORE_SAMPLE_CTXSW;
    sampler_result r;
    dyt_err e = {{0}};
    assert_int_equal(sampler_run(&sp, &r, &e), DYT_OK);
    assert_string_equal(r.stop_reason, "noise");
    assert_int_equal(r.n_excluded, r.n / 3);
    assert_int_equal(r.st.n, r.n - r.n_excluded);
    assert_true(r.st.n >= sp.min_samples);
    for (size_t i = 0; i < r.n; i++)
        assert_int_equal(r.samples[i].excluded, (i + 1) % 3 == 0);
    assert_true(fabs(r.st.median / 1000 - 1) < 0.01 && r.st.max < 2000);
    assert_true(r.st.rel_ci_width <= 0.01);
    sampler_result_free(&r);
    /* The same stream, nothing excluded: the outliers are in the statistics. */
    synth_init(&s, 3, 0.005);
    s.flag_every = 3;
    s.flagged_factor = 100;
    sp = spec_for(&s);
    assert_int_equal(sampler_run(&sp, &r, &e), DYT_OK);
    assert_int_equal(r.n_excluded, 0);
    assert_true(r.st.max > 50000);
    sampler_result_free(&r);
    /* Every sample excluded: no statistics, the budget ends it. */
    synth_init(&s, 3, 0.005);
    s.flag_every = 1;
    sp = spec_for(&s);
    sp.exclude_flags = STORE_SAMPLE_CTXSW;
    sp.max_samples = 50;
    assert_int_equal(sampler_run(&sp, &r, &e), DYT_OK);
    assert_string_equal(r.stop_reason, "max_samples");
    assert_int_equal(r.n, 50);
    assert_int_equal(r.n_excluded, 50);
    assert_int_equal(r.st.n, 0);
    sampler_result_free(&r);
}

static void test_noise_target_sets_sample_count(void **state)
{
    (void)state;
    /* 5% noise needs n ~ (1.2533 * 0.05 * 1.96 / 0.01)^2 ~ 150 samples for
     * a 1% CI; check the sampler goes well past the minimum and stops once
     * the interval is narrow enough. */
    synth s;
    synth_init(&s, 7, 0.05);
    sampler_spec sp = spec_for(&s);
    sampler_result r;
    assert_int_equal(sampler_run(&sp, &r, NULL), DYT_OK);
    assert_string_equal(r.stop_reason, "noise");
    assert_true(r.n > 60 && r.n < 400);
    assert_true(r.st.rel_ci_width <= 0.01);
    /* and the CI of the previous sample count was still too wide, unless
     * the check was skipped there (it runs every sample below 256). */
    stats_summary prev;
    double *x = malloc((r.n - 1) * sizeof *x);
    for (size_t i = 0; i + 1 < r.n; i++)
        x[i] = r.samples[i].ns;
    stats_describe(x, r.n - 1, 0.95, &prev);
    assert_true(prev.rel_ci_width > 0.01);
    free(x);
    sampler_result_free(&r);
}

static void test_noisy_stream_hits_max_samples(void **state)
{
    (void)state;
    synth s;
    synth_init(&s, 3, 0.20); /* needs ~2400 samples for 1% */
    sampler_spec sp = spec_for(&s);
    sp.max_samples = 1000;
    sampler_result r;
    assert_int_equal(sampler_run(&sp, &r, NULL), DYT_OK);
    assert_string_equal(r.stop_reason, "max_samples");
    assert_int_equal(r.n, 1000);
    assert_true(r.st.rel_ci_width > 0.01);
    /* The statistics are still there, and honest. */
    assert_true(r.st.ci_low <= r.st.median && r.st.median <= r.st.ci_high);
    sampler_result_free(&r);
}

static void test_noisy_stream_hits_max_time(void **state)
{
    (void)state;
    synth s;
    synth_init(&s, 4, 0.20);
    sampler_spec sp = spec_for(&s);
    sp.max_time_ns = 50000000; /* 50 ms of 100 us samples: 500 */
    sampler_result r;
    assert_int_equal(sampler_run(&sp, &r, NULL), DYT_OK);
    assert_string_equal(r.stop_reason, "max_time");
    assert_int_equal(r.n, 500);
    assert_true(r.elapsed_ns >= sp.max_time_ns);
    sampler_result_free(&r);
}

static void test_min_time_and_min_samples_honoured(void **state)
{
    (void)state;
    synth s;
    synth_init(&s, 5, 0.001); /* converged from the start */
    sampler_spec sp = spec_for(&s);
    sp.min_time_ns = 10000000; /* 10 ms = 100 samples of 100 us */
    sampler_result r;
    assert_int_equal(sampler_run(&sp, &r, NULL), DYT_OK);
    assert_string_equal(r.stop_reason, "noise");
    assert_int_equal(r.n, 100);
    sampler_result_free(&r);

    synth_init(&s, 5, 0.001);
    sp = spec_for(&s);
    sp.min_samples = 64;
    assert_int_equal(sampler_run(&sp, &r, NULL), DYT_OK);
    assert_string_equal(r.stop_reason, "noise");
    assert_int_equal(r.n, 64);
    sampler_result_free(&r);
}

static void test_interrupt_and_failure(void **state)
{
    (void)state;
    synth s;
    synth_init(&s, 6, 0.2);
    s.stop_at = 25;
    sampler_spec sp = spec_for(&s);
    sampler_result r;
    assert_int_equal(sampler_run(&sp, &r, NULL), DYT_OK);
    assert_string_equal(r.stop_reason, "interrupted");
    assert_int_equal(r.n, 25);
    sampler_result_free(&r);

    synth_init(&s, 6, 0.2);
    s.fail_at = 3;
    sp = spec_for(&s);
    dyt_err e = {{0}};
    assert_int_equal(sampler_run(&sp, &r, &e), DYT_FAIL);
    assert_true(e.msg[0] != '\0');
    sampler_result_free(&r);
}

static void test_timer(void **state)
{
    (void)state;
    timer_info t;
    timer_measure(&t);
    assert_true(t.granularity_ns > 0 && t.granularity_ns < 1e6);
    assert_true(t.overhead_ns > 0 && t.overhead_ns < 1e6);
    uint64_t target = timer_sample_target_ns(&t);
    assert_true(target >= 20000);
    assert_true((double)target >= 100 * t.granularity_ns);
    print_message("timer: granularity %.1f ns, overhead %.1f ns/reading, sample target %llu ns\n",
                  t.granularity_ns, t.overhead_ns, (unsigned long long)target);
}

static void test_harness_overhead(void **state)
{
    (void)state;
    double per_call, timed, per_sample;
    cpu_harness_overhead(20000, &per_call, &timed, &per_sample);
    /* Behaviour, not speed: all three measured, and a whole sample (clock
     * reads, two getrusage calls, bookkeeping) costs more than what its
     * timed region sees. */
    assert_true(per_call > 0 && timed >= 0 && per_sample > 0);
    assert_true(per_sample > timed);
    print_message("harness overhead (empty kernel): %.1f ns per call in a batch, %.1f ns timed "
                  "per batch-of-1 sample (median), %.0f ns wall per sample\n",
                  per_call, timed, per_sample);
}

DYT_TEST_MAIN("runner-stopping", NULL, NULL, cmocka_unit_test(test_ranks_published),
              cmocka_unit_test(test_ranks_tight_and_valid),
              cmocka_unit_test(test_ci_coverage_by_simulation),
              cmocka_unit_test(test_describe_and_quantile), cmocka_unit_test(test_converged),
              cmocka_unit_test(test_quiet_stream_stops_on_noise),
              cmocka_unit_test(test_excluded_samples),
              cmocka_unit_test(test_noise_target_sets_sample_count),
              cmocka_unit_test(test_noisy_stream_hits_max_samples),
              cmocka_unit_test(test_noisy_stream_hits_max_time),
              cmocka_unit_test(test_min_time_and_min_samples_honoured),
              cmocka_unit_test(test_interrupt_and_failure), cmocka_unit_test(test_timer),
              cmocka_unit_test(test_harness_overhead))
