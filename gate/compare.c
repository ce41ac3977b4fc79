/* The gate's decision. A matched time case whose every block, on both
 * sides, was measured by `interleave` is compared in paired mode when at
 * least two blocks pair up by key (session token, round): block r of a
 * case in two arms of one session was measured moments apart, so the drift
 * of the whole machine -- 15-30% over tens of seconds on a shared host --
 * is common to the pair and cancels in d = log(cand / base). p is the
 * Wilcoxon signed-rank test of d, the ratio exp of its one-sample
 * Hodges-Lehmann estimate, the interval exp of the signed-rank interval at
 * 1 - alpha (stats/signedrank.c); the pairing is in gate/pair.c.
 * Otherwise a case is compared on replicates when both sides have at least
 * two blocks (rounds of `run --rounds`, or runs pooled into a side): the
 * unit is the block median, because on a shared machine the noise is
 * correlated in time -- the samples of one block move together, and a
 * run's samples are not independent draws. Replicate mode
 * takes the log of each block median; the ratio is exp of the
 * Hodges-Lehmann shift between the sides, its interval exp of the Moses
 * interval at confidence 1 - alpha, and p that of the two-sided
 * Mann-Whitney U test on the same values (the interval is that test
 * inverted, so they agree). With one block on a side, sample mode: the
 * ratio of medians cand/base with a bootstrap interval at confidence
 * 1 - alpha and a two-sided U test on the raw samples, which ignores the
 * run-to-run noise (the report says so). Either way,
 *
 *   slower        p < alpha and the ratio > 1
 *   faster        p < alpha and the ratio < 1
 *   same          not significant, and the interval lies within
 *                 +-threshold (a change that large is ruled out)
 *   inconclusive  too few samples to ever reach p < alpha, or too noisy
 *                 for either (the smallest detectable change is given)
 *
 * A slower case fails the gate (a regression) only when its interval's
 * lower bound also exceeds 1 + threshold: significance alone would flag
 * tiny real shifts that nobody asked about, and a big ratio alone would
 * flag noise. Deterministic counters (callgrind instruction counts) have
 * one exact value per case: any increase is "slower", and it fails the
 * gate when it exceeds the threshold. */
#include "gate.h"
#include "gate_pair.h"
#include "stats.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *gate_verdict_name(gate_verdict v)
{
    static const char *const names[] = {"same", "faster", "slower", "inconclusive"};
    return (unsigned)v < DYT_ARRAY_LEN(names) ? names[v] : "?";
}

void gate_opts_default(gate_opts *o)
{
    *o = (gate_opts){.metric = "time",
                     .threshold = 0.05,
                     .alpha = 0.01,
                     .resamples = 2000,
                     .seed = 1,
                     .min_samples = 5};
}

const char *gate_mode_name(gate_mode m)
{
    static const char *const names[] = {"none", "samples", "blocks", "exact", "paired"};
    return (unsigned)m < DYT_ARRAY_LEN(names) ? names[m] : "?";
}

static void decide(gate_result *res, const gate_opts *o);

/* log of the smallest two-sided p the exact U test can give with na and
 * nb values: 2 / C(na+nb, na). */
static double log_min_p(size_t na, size_t nb)
{
    return log(2.0) -
           (lgamma((double)(na + nb) + 1) - lgamma((double)na + 1) - lgamma((double)nb + 1));
}

/* A result with nothing decided yet: no p, ratio or interval, an infinite
 * resolution, no note; the sides' typical times as given. */
static void result_reset(gate_result *res, double med_base, double med_cand)
{
    res->p = res->ratio = res->ratio_lo = res->ratio_hi = NAN;
    res->resolution = res->min_detectable = INFINITY;
    res->regression = 0;
    res->note[0] = '\0';
    res->med_base = med_base;
    res->med_cand = med_cand;
}

void gate_compare_samples(const double *a, size_t na, const double *b, size_t nb,
                          const gate_opts *o, gate_result *res)
{
    result_reset(res, na ? stats_median(a, na) : NAN, nb ? stats_median(b, nb) : NAN);
    /* The smallest two-sided p the exact U test can give is
     * 2 / C(na+nb, na): with fewer samples no difference is ever
     * significant at alpha. */
    res->mode = GATE_MODE_SAMPLES;
    double lmp = na && nb ? log_min_p(na, nb) : 0;
    if (na < o->min_samples || nb < o->min_samples || lmp >= log(o->alpha)) {
        res->verdict = GATE_INCONCLUSIVE;
        snprintf(res->note, sizeof res->note,
                 "too few samples (%zu vs %zu; need at least %zu each): no change detectable", na,
                 nb, o->min_samples);
        if (na && nb)
            res->ratio = res->med_cand / res->med_base;
        return;
    }
    res->ratio = stats_ratio_ci(a, na, b, nb, 1.0 - o->alpha, o->resamples, o->seed, &res->ratio_lo,
                                &res->ratio_hi);
    stats_mwu u;
    stats_mann_whitney(b, nb, a, na, &u);
    res->p = u.p_two_sided;
    decide(res, o);
}

/* The verdict from ratio, interval and p (the rules at the top). */
static void decide(gate_result *res, const gate_opts *o)
{
    if (!(res->ratio > 0) || isnan(res->ratio_lo)) {
        res->verdict = GATE_INCONCLUSIVE;
        snprintf(res->note, sizeof res->note, "medians not positive: no ratio");
        return;
    }
    res->resolution = (res->ratio_hi - res->ratio_lo) / 2.0 / res->ratio;
    res->min_detectable = o->threshold + res->resolution;
    if (res->p < o->alpha && res->ratio > 1) {
        res->verdict = GATE_SLOWER;
        res->regression = res->ratio_lo - 1.0 > o->threshold;
        if (!res->regression)
            snprintf(res->note, sizeof res->note,
                     "significant, but the slowdown may be under the %.1f%% threshold",
                     100 * o->threshold);
    } else if (res->p < o->alpha && res->ratio < 1) {
        res->verdict = GATE_FASTER;
    } else if (res->ratio_hi - 1.0 <= o->threshold && 1.0 - res->ratio_lo <= o->threshold) {
        res->verdict = GATE_SAME;
    } else {
        res->verdict = GATE_INCONCLUSIVE;
        snprintf(res->note, sizeof res->note,
                 "too noisy: only a change beyond +-%.1f%% could be detected (a slowdown beyond "
                 "%.1f%% would fail the gate)",
                 100 * res->resolution, 100 * res->min_detectable);
    }
}

/* Appends "; text" (or text) to the note, as far as it fits. */
static void note_append(gate_result *res, const char *text)
{
    size_t len = strlen(res->note);
    snprintf(res->note + len, sizeof res->note - len, "%s%s", len ? "; " : "", text);
}

/* Medians of the blocks of one side into *med (allocated); returns their
 * number, 0 on allocation failure. Without replicate ids the side is one
 * block. */
static size_t side_blocks(const double *x, const int64_t *rep, size_t n, double **med)
{
    *med = malloc((n ? n : 1) * sizeof **med);
    if (!*med || n == 0)
        return 0;
    if (!rep) {
        (*med)[0] = stats_median(x, n);
        return 1;
    }
    return stats_block_medians(x, rep, n, *med, NULL);
}

void gate_compare_blocks(const double *a, const int64_t *ra, size_t na, const double *b,
                         const int64_t *rb, size_t nb, const gate_opts *o, gate_result *res)
{
    double *ma = NULL, *mb = NULL, *la = NULL, *lb = NULL;
    size_t ka = side_blocks(a, ra, na, &ma), kb = side_blocks(b, rb, nb, &mb);
    if (ka < 2 || kb < 2) {
        gate_compare_samples(a, na, b, nb, o, res);
        res->n_blocks_base = ka;
        res->n_blocks_cand = kb;
        char text[96];
        snprintf(text, sizeof text, "sample mode (blocks %zu vs %zu)", ka, kb);
        note_append(res, text);
        goto done;
    }
    res->mode = GATE_MODE_BLOCKS;
    res->n_blocks_base = ka;
    res->n_blocks_cand = kb;
    result_reset(res, stats_median(ma, ka), stats_median(mb, kb));
    la = malloc(ka * sizeof *la);
    lb = malloc(kb * sizeof *lb);
    if (!la || !lb) {
        res->verdict = GATE_INCONCLUSIVE;
        snprintf(res->note, sizeof res->note, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ka; i++)
        la[i] = ma[i] > 0 ? log(ma[i]) : NAN;
    for (size_t j = 0; j < kb; j++)
        lb[j] = mb[j] > 0 ? log(mb[j]) : NAN;
    for (size_t i = 0; i < ka + kb; i++)
        if (isnan(i < ka ? la[i] : lb[i - ka])) {
            res->verdict = GATE_INCONCLUSIVE;
            snprintf(res->note, sizeof res->note, "block medians not positive: no ratio");
            goto done;
        }
    double lo, hi;
    double shift = stats_hl_shift_ci(la, ka, lb, kb, 1.0 - o->alpha, &lo, &hi);
    res->ratio = exp(shift);
    /* The U test cannot reach p < alpha with so few blocks, whatever they
     * say (2 / C(ka+kb, ka) >= alpha), and the interval is unbounded. */
    if (log_min_p(ka, kb) >= log(o->alpha)) {
        size_t need = 2;
        while (log_min_p(need, need) >= log(o->alpha))
            need++;
        res->verdict = GATE_INCONCLUSIVE;
        snprintf(res->note, sizeof res->note,
                 "too few blocks (%zu vs %zu; at alpha %g at least %zu per side): use run "
                 "--rounds or more runs",
                 ka, kb, o->alpha, need);
        goto done;
    }
    res->ratio_lo = exp(lo);
    res->ratio_hi = exp(hi);
    stats_mwu u;
    stats_mann_whitney(lb, kb, la, ka, &u);
    res->p = u.p_two_sided;
    decide(res, o);
done:
    free(ma);
    free(mb);
    free(la);
    free(lb);
}

void gate_compare_pairs(const double *d, size_t n, double med_base, double med_cand,
                        const gate_opts *o, gate_result *res)
{
    res->mode = GATE_MODE_PAIRED;
    res->n_pairs = n;
    result_reset(res, med_base, med_cand);
    /* The smallest two-sided p of the exact signed-rank test is 2 / 2^n. */
    if (n < 2 || ldexp(2.0, -(int)DYT_MIN(n, (size_t)1000)) >= o->alpha) {
        size_t need = 2;
        while (ldexp(2.0, -(int)need) >= o->alpha)
            need++;
        res->verdict = GATE_INCONCLUSIVE;
        if (n)
            res->ratio = med_cand / med_base;
        snprintf(res->note, sizeof res->note,
                 "too few pairs (%zu; at alpha %g at least %zu are needed): use interleave "
                 "--rounds %zu or more sessions",
                 n, o->alpha, need, need);
        return;
    }
    double lo, hi;
    double shift = stats_hl_paired_ci(d, n, 1.0 - o->alpha, &lo, &hi);
    stats_wsr w;
    stats_wilcoxon_signed_rank(d, n, &w);
    res->ratio = exp(shift);
    res->ratio_lo = exp(lo);
    res->ratio_hi = exp(hi);
    res->p = w.p_two_sided;
    decide(res, o);
}

void gate_compare_values(double base, double cand, const gate_opts *o, gate_result *res)
{
    res->p = NAN;
    res->mode = GATE_MODE_EXACT;
    res->n_blocks_base = res->n_blocks_cand = 0;
    res->med_base = base;
    res->med_cand = cand;
    res->regression = 0;
    res->note[0] = '\0';
    res->resolution = 0;
    res->min_detectable = o->threshold;
    if (!(base > 0) || !isfinite(cand) || cand < 0) {
        res->ratio = res->ratio_lo = res->ratio_hi = NAN;
        res->verdict = base == cand ? GATE_SAME : GATE_INCONCLUSIVE;
        if (res->verdict == GATE_INCONCLUSIVE)
            snprintf(res->note, sizeof res->note, "base value %g: no ratio", base);
        return;
    }
    res->ratio = res->ratio_lo = res->ratio_hi = cand / base;
    if (cand > base) {
        res->verdict = GATE_SLOWER;
        res->regression = res->ratio - 1.0 > o->threshold;
    } else if (cand < base) {
        res->verdict = GATE_FASTER;
    } else {
        res->verdict = GATE_SAME;
    }
}

static int add_warning(gate_report *r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **w = realloc(r->warnings, (r->n_warnings + 1) * sizeof *w);
    if (!w)
        return -1;
    r->warnings = w;
    if (!(w[r->n_warnings] = strdup(buf)))
        return -1;
    r->n_warnings++;
    return 0;
}

/* A run's page setting as a warning names it. */
static const char *pages_said(const char *pages)
{
    return !strcmp(pages, "huge")    ? "huge pages"
           : !strcmp(pages, "small") ? "small pages"
                                     : "pages not recorded";
}

/* Warnings about the runs of one side: not complete, from several
 * machines, on different pages, of several git revisions. */
static void side_warnings(gate_report *r, const gate_run *side, const char *name)
{
    size_t n = side->n_runs;
    const gate_run_ref *v = side->runs;
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].status, "complete"))
            add_warning(r, "%s run %lld is %s, not complete", name, (long long)v[i].run_id,
                        v[i].status);
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i].machine_fp, v[0].machine_fp)) {
            add_warning(r,
                        "the %s runs come from different machines (runs %lld and %lld): "
                        "pooled blocks mix the machines' speeds",
                        name, (long long)v[0].run_id, (long long)v[i].run_id);
            break;
        }
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i].pages, v[0].pages)) {
            add_warning(r,
                        "the %s runs were measured on different pages (%s in run %lld, %s in "
                        "run %lld): pooled blocks mix them",
                        name, pages_said(v[0].pages), (long long)v[0].run_id,
                        pages_said(v[i].pages), (long long)v[i].run_id);
            break;
        }
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i].git_rev, v[0].git_rev)) {
            add_warning(r,
                        "the %s runs are of different git revisions (%s in run %lld, %s in "
                        "run %lld)",
                        name, v[0].git_rev, (long long)v[0].run_id, v[i].git_rev,
                        (long long)v[i].run_id);
            break;
        }
}

/* Attaches the latest calibrated noise of each case (this candidate's
 * machine, by fingerprint so a second store's machine ids do not matter)
 * and warns when the threshold is finer than it. */
static void apply_calibration(gate_report *r, store *cal_db)
{
    for (size_t i = 0; i < r->n_results; i++)
        r->results[i].cal_noise = NAN;
    if (!cal_db || r->kind != GATE_METRIC_TIME)
        return;
    store_calibration_list cal;
    dyt_err ignored = {{0}};
    if (store_load_calibrations(cal_db, r->cand->machine_fp, &cal, &ignored) != DYT_OK)
        return; /* no calibrations to consult: the report says none */
    size_t n_cal = 0, n_below = 0;
    double worst = 0;
    char when[32] = "";
    for (size_t i = 0; i < r->n_results; i++) {
        gate_result *g = &r->results[i];
        const store_calibration *k = store_calibration_find(&cal, g->cand->cal_key);
        if (!k)
            continue;
        g->cal_noise = k->noise_rel;
        if (k->created_at && strcmp(k->created_at, when) > 0)
            snprintf(when, sizeof when, "%s", k->created_at);
        n_cal++;
        if (g->cal_noise > r->opts.threshold) {
            n_below++;
            worst = fmax(worst, g->cal_noise);
        }
    }
    store_calibration_list_free(&cal);
    if (r->opts.noise_floor) {
        /* The machine cannot tell a slowdown below its A/A noise from
         * noise: such a case is slower, but not a regression. */
        size_t demoted = 0;
        for (size_t i = 0; i < r->n_results; i++) {
            gate_result *g = &r->results[i];
            if (g->regression && isfinite(g->cal_noise) && g->ratio_lo - 1.0 <= g->cal_noise) {
                g->regression = 0;
                demoted++;
                snprintf(g->note, sizeof g->note,
                         "slower, but within this machine's calibrated A/A noise (%.1f%%)",
                         100 * g->cal_noise);
            }
        }
        r->n_regressions -= demoted;
    }
    if (n_cal == 0)
        add_warning(r, "no A/A calibration of this machine for these cases "
                       "(run `dytbench calibrate` to learn what it can resolve)");
    else if (n_below)
        add_warning(r,
                    "threshold %.1f%% is below what this machine can resolve for %zu of %zu "
                    "calibrated cases (A/A noise up to %.1f%%, calibration of %s): an A/A "
                    "comparison could fail the gate; raise --threshold",
                    100 * r->opts.threshold, n_below, n_cal, 100 * worst, when);
}

int gate_compare(const gate_run *base, const gate_run *cand, const gate_opts *o, store *cal_db,
                 gate_report *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    out->opts = *o;
    out->kind = strcmp(o->metric, "time") ? GATE_METRIC_COUNTER : GATE_METRIC_TIME;
    out->base = base;
    out->cand = cand;
    out->results = calloc(base->n_cases + 1, sizeof *out->results);
    out->only_base = calloc(base->n_cases + 1, sizeof *out->only_base);
    out->only_cand = calloc(cand->n_cases + 1, sizeof *out->only_cand);
    if (!out->results || !out->only_base || !out->only_cand) {
        gate_report_free(out);
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
    }
    /* Matching marks candidate cases used; work on a private flag array so
     * the loaded runs stay const. */
    char *used = calloc(cand->n_cases + 1, 1);
    if (!used) {
        gate_report_free(out);
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
    }
    for (size_t i = 0; i < base->n_cases; i++) {
        const gate_case *b = &base->cases[i];
        const gate_case *c = NULL;
        for (size_t j = 0; j < cand->n_cases && !c; j++)
            if (!used[j] && !strcmp(cand->cases[j].key, b->key)) {
                used[j] = 1;
                c = &cand->cases[j];
            }
        if (!c) {
            out->only_base[out->n_only_base++] = b;
            continue;
        }
        gate_result *g = &out->results[out->n_results++];
        g->base = b;
        g->cand = c;
        if (b->missing[0] || c->missing[0]) {
            g->verdict = GATE_INCONCLUSIVE;
            g->ratio = g->ratio_lo = g->ratio_hi = g->p = NAN;
            g->med_base = g->med_cand = NAN;
            g->resolution = g->min_detectable = INFINITY;
            snprintf(g->note, sizeof g->note, "not compared: %s%s",
                     b->missing[0] ? "base " : "candidate ",
                     b->missing[0] ? b->missing : c->missing);
        } else if (out->kind == GATE_METRIC_TIME) {
            double *d = NULL, med_b = NAN, med_c = NAN;
            size_t np = 0, dropped = 0, kb = 0, kc = 0;
            pair_status ps =
                gate_pair_blocks(base, b, cand, c, &d, &np, &med_b, &med_c, &dropped, &kb, &kc);
            if (ps == PAIR_OK && np >= 2) {
                gate_compare_pairs(d, np, med_b, med_c, o, g);
                g->n_blocks_base = kb;
                g->n_blocks_cand = kc;
                if (dropped) {
                    char text[96];
                    snprintf(text, sizeof text, "%zu block(s) without a partner left out",
                             dropped);
                    note_append(g, text);
                }
            } else {
                gate_compare_blocks(b->x, b->rep, b->n, c->x, c->rep, c->n, o, g);
                char text[160];
                text[0] = '\0';
                if (ps == PAIR_OK)
                    snprintf(text, sizeof text,
                             "measured in lockstep but not together: %zu block pair(s) share a "
                             "session and round, at least 2 needed to pair",
                             np);
                else if (ps == PAIR_NOT_UNIQUE)
                    snprintf(text, sizeof text,
                             "not paired: a side holds two blocks of one session and round "
                             "(two arms of one session on a side?)");
                if (text[0])
                    note_append(g, text);
            }
            free(d);
        } else {
            gate_compare_values(b->x[0], c->x[0], o, g);
        }
        out->n_mode[g->mode]++;
        out->n_regressions += g->regression != 0;
        switch (g->verdict) {
        case GATE_FASTER:
            out->n_faster++;
            break;
        case GATE_SLOWER:
            out->n_slower++;
            break;
        case GATE_SAME:
            out->n_same++;
            break;
        default:
            out->n_inconclusive++;
            break;
        }
    }
    for (size_t j = 0; j < cand->n_cases; j++)
        if (!used[j])
            out->only_cand[out->n_only_cand++] = &cand->cases[j];
    free(used);

    side_warnings(out, base, "base");
    side_warnings(out, cand, "candidate");
    if (strcmp(base->machine_fp, cand->machine_fp))
        add_warning(out, "the runs come from different machines: differences may be the "
                         "machines, not the code");
    if (strcmp(base->pages, cand->pages))
        add_warning(out,
                    "the runs were measured on different pages (base: %s, candidate: %s; "
                    "--pages): differences in DRAM-sized cases may be the pages, not the code",
                    pages_said(base->pages), pages_said(cand->pages));
    if (out->kind == GATE_METRIC_COUNTER) {
        for (size_t i = 0; i < out->n_results; i++) {
            const gate_result *g = &out->results[i];
            if ((g->base->n && strcmp(g->base->source, "callgrind") &&
                 strcmp(g->base->source, "cachegrind")) ||
                (g->cand->n && strcmp(g->cand->source, "callgrind") &&
                 strcmp(g->cand->source, "cachegrind"))) {
                add_warning(out,
                            "%s values from a hardware/OS source (not valgrind) are single "
                            "readings, compared as if exact; they are not deterministic",
                            o->metric);
                break;
            }
        }
    }
    size_t n_sample_mode = out->n_mode[GATE_MODE_SAMPLES];
    size_t n_block_mode = out->n_mode[GATE_MODE_BLOCKS];
    if (n_sample_mode)
        add_warning(out,
                    "one block per side (%zu case(s) compared in sample mode): the samples of "
                    "one run are not independent replicates and the interval ignores "
                    "run-to-run noise; measure with `dytbench interleave` for a gate that "
                    "holds on a noisy machine",
                    n_sample_mode);
    if (n_block_mode)
        add_warning(out,
                    "%zu case(s) compared on the blocks of runs not measured together in "
                    "lockstep: a drift of the whole machine between the runs is not "
                    "cancelled; measure with `dytbench interleave` for paired blocks",
                    n_block_mode);
    if (out->n_results == 0)
        add_warning(out, "no case matched between the two runs");
    else if (gate_n_compared(out) == 0)
        add_warning(out, "no matched case has a value of %s on both sides", o->metric);
    apply_calibration(out, cal_db);
    return DYT_OK;
}

void gate_report_free(gate_report *r)
{
    free(r->results);
    free(r->only_base);
    free(r->only_cand);
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    memset(r, 0, sizeof *r);
}

size_t gate_n_compared(const gate_report *r)
{
    return r->n_results - r->n_mode[GATE_MODE_NONE];
}

int gate_exit_code(const gate_report *r)
{
    if (r->n_regressions)
        return DYT_FAIL;
    /* A gate that compared nothing has not passed: no common case, or no
     * value of the metric on one side of every one. */
    return gate_n_compared(r) ? DYT_OK : DYT_USAGE;
}

const char *gate_outcome(const gate_report *r)
{
    int rc = gate_exit_code(r);
    return rc == DYT_FAIL ? "fail" : rc == DYT_OK ? "pass" : "nothing compared";
}

void gate_nothing_why(const gate_report *r, char *buf, size_t n)
{
    if (r->n_results == 0)
        snprintf(buf, n, "no case in common (%zu only in the base, %zu only in the candidate)",
                 r->n_only_base, r->n_only_cand);
    else
        snprintf(buf, n, "%zu matched case(s), none with a value of %s on both sides (%s)",
                 r->n_results, r->opts.metric, r->results[0].note);
}
