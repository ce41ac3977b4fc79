/* The adaptive sampler of both runners (nvbench's rule): take samples
 * until the 95% confidence interval of the median is within --max-noise of
 * it, subject to a minimum number of samples and time and a maximum of
 * either. The sample itself is a callback so the same loop times CPU
 * kernels, GPU kernels between CUDA events and, in tests, synthetic
 * streams with known noise; the host clock's characteristics (timer_*)
 * size the CPU runner's samples.
 *
 * A sample with a flag of sampler_spec.exclude_flags (the GPU's throttled
 * samples) is stored excluded and counts for neither the statistics nor
 * the stopping rule. The CPU runner excludes nothing: samples flagged with
 * an involuntary context switch are KEPT in the statistics (excluded = 0)
 * and only flagged: on a shared 2-core VM nearly
 * every long sample meets one, excluding them would bias towards the short
 * samples and could starve a case of samples, and the median with its
 * order-statistic interval is already robust to the few that are inflated.
 * The flag stays in the store so they can be excluded later by a query. */
#include "runner_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t default_clock(void *ctx)
{
    (void)ctx;
    return dyt_now_ns();
}

void sampler_result_free(sampler_result *r)
{
    free(r->samples);
    memset(r, 0, sizeof *r);
}

/* The statistics over the samples not excluded; returns whether the
 * stopping rule's noise condition holds. */
static int summarise(sampler_result *r, size_t min_samples, double max_noise, double *scratch)
{
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!r->samples[i].excluded)
            scratch[m++] = r->samples[i].ns;
    r->n_excluded = r->n - m;
    if (m == 0) {
        memset(&r->st, 0, sizeof r->st);
        return 0;
    }
    stats_describe(scratch, m, 0.95, &r->st);
    return stats_summary_converged(&r->st, min_samples, max_noise);
}

int sampler_run(const sampler_spec *sp, sampler_result *r, dyt_err *e)
{
    memset(r, 0, sizeof *r);
    sampler_clock_fn clock = sp->clock ? sp->clock : default_clock;
    size_t max_samples = sp->max_samples ? sp->max_samples : 1;
    size_t cap = DYT_MIN(max_samples, (size_t)1024);
    r->samples = malloc(cap * sizeof *r->samples);
    double *scratch = malloc(cap * sizeof *scratch);
    if (!r->samples || !scratch) {
        free(scratch);
        sampler_result_free(r);
        return dyt_errf(e, DYT_FAIL, "out of memory for samples");
    }
    uint64_t t0 = clock(sp->ctx);
    /* Checking convergence sorts the samples, so past the first few hundred
     * it is done when the count has grown by ~2%, not after every sample:
     * the check's cost stays a small fraction of sampling. */
    size_t next_check = 0;
    int rc = DYT_OK;
    for (;;) {
        if (sp->stop && *sp->stop) {
            r->stop_reason = "interrupted";
            break;
        }
        if (r->n == cap) {
            size_t ncap = DYT_MIN(cap * 2, max_samples);
            store_sample *ns = realloc(r->samples, ncap * sizeof *ns);
            if (!ns) {
                rc = dyt_errf(e, DYT_FAIL, "out of memory for %zu samples", ncap);
                break;
            }
            r->samples = ns;
            double *nscr = realloc(scratch, ncap * sizeof *nscr);
            if (!nscr) {
                rc = dyt_errf(e, DYT_FAIL, "out of memory for %zu samples", ncap);
                break;
            }
            scratch = nscr;
            cap = ncap;
        }
        int flags = 0;
        double ns = sp->sample(sp->ctx, &flags);
        if (!(ns >= 0)) {
            if (!e || !e->msg[0])
                dyt_errf(e, DYT_FAIL, "sample %zu failed", r->n);
            rc = DYT_FAIL;
            break;
        }
        r->samples[r->n].ns = ns;
        r->samples[r->n].flags = flags;
        r->samples[r->n].excluded = (flags & sp->exclude_flags) != 0; /* see the file comment */
        r->n++;
        r->elapsed_ns = clock(sp->ctx) - t0;

        int enough = r->n >= sp->min_samples && r->elapsed_ns >= sp->min_time_ns;
        if (enough && r->n >= next_check) {
            if (summarise(r, sp->min_samples, sp->max_noise, scratch)) {
                r->stop_reason = "noise";
                break;
            }
            next_check = r->n < 256 ? r->n + 1 : r->n + r->n / 50;
        }
        if (r->n >= max_samples) {
            r->stop_reason = "max_samples";
            break;
        }
        if (r->elapsed_ns >= sp->max_time_ns) {
            r->stop_reason = "max_time";
            break;
        }
    }
    if (rc == DYT_OK && r->n > 0)
        summarise(r, sp->min_samples, sp->max_noise, scratch);
    free(scratch);
    return rc;
}

void sampler_block_spec(const runner_case_spec *sp, int blocks, sampler_spec *ss)
{
    /* The case's budget is shared by its blocks; the noise target applies
     * to each block, so a quiet block ends early. */
    size_t k = blocks > 0 ? (size_t)blocks : 1;
    *ss = (sampler_spec){
        .max_noise = sp->max_noise,
        .min_samples = (sp->min_samples + k - 1) / k,
        .max_samples = DYT_MAX((sp->max_samples + k - 1) / k, (size_t)1),
        .min_time_ns = (uint64_t)(sp->min_time_ns / (double)k),
        .max_time_ns = (uint64_t)(sp->max_time_ns / (double)k),
        .stop = &runner_stop_flag,
    };
}

size_t sampler_warm_up(sampler_calls_fn calls, void *ctx, uint64_t warmup_ns, uint64_t target_ns,
                       uint64_t *spent)
{
    const size_t cap = (size_t)1 << 24;
    size_t b = 1;
    uint64_t w0 = dyt_now_ns();
    for (;;) {
        double ns = calls(ctx, b);
        if (ns < 0)
            return 0;
        uint64_t el = dyt_now_ns() - w0;
        if (runner_stop_flag)
            break;
        if (ns < (double)target_ns && b < cap) {
            /* Aim 20% past the target so jitter rarely leaves a batch short. */
            double f = ns > 0 ? 1.2 * (double)target_ns / ns : 16.0;
            size_t nb = (size_t)ceil((double)b * DYT_MIN(f, 16.0));
            b = DYT_MIN(DYT_MAX(nb, b + 1), cap);
            continue;
        }
        if (el >= warmup_ns)
            break;
    }
    *spent = dyt_now_ns() - w0;
    return b;
}

void timer_measure(timer_info *t)
{
    /* Granularity: the smallest nonzero step seen between back-to-back
     * readings. Overhead: the mean cost of a reading over a long run. */
    double gran = INFINITY;
    for (int rep = 0; rep < 2000; rep++) {
        uint64_t a = dyt_now_ns(), b;
        do
            b = dyt_now_ns();
        while (b == a);
        if ((double)(b - a) < gran)
            gran = (double)(b - a);
    }
    enum { N = 100000 };
    uint64_t s = dyt_now_ns(), x = 0;
    for (int i = 0; i < N; i++)
        x ^= dyt_now_ns();
    uint64_t f = dyt_now_ns();
    (void)x;
    t->granularity_ns = gran;
    t->overhead_ns = (double)(f - s) / N;
}

uint64_t timer_sample_target_ns(const timer_info *t)
{
    double target = 20000.0;
    target = fmax(target, 100.0 * t->granularity_ns);
    target = fmax(target, 100.0 * t->overhead_ns);
    return (uint64_t)target;
}
