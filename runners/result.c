/* A measured case as plain data (runner_case_result), filled while the case
 * is measured and handed to the store in one call when it is finished, so
 * that measuring code never writes the store. The row's description and
 * the statistics are filled here, the same way for the CPU and the CUDA
 * runner. */
#include "runner_internal.h"
#include "stats.h"
#include "suite.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void runner_result_init(runner_case_result *r, const plan_case *c, int seq, cache_kind cache,
                        const char *device)
{
    memset(r, 0, sizeof *r);
    dyt_utc_iso(r->started_at, sizeof r->started_at);
    norm_args tmpl;
    runner_case_args(c, &tmpl);
    r->row = (store_case){
        .seq = seq,
        .suite = c->suite_name,
        .domain = domain_name(c->model->domain),
        .model = c->model->name,
        .model_norm = norm_name(c->model->norm),
        .token_label = c->token_label,
        .layers = (int)c->model->layers,
        .norm = norm_name(c->norm),
        .variant = c->variant->name,
        .dtype = dtype_name(c->dtype),
        .pass = pass_name(c->pass),
        .rows = (int64_t)c->rows,
        .cols = (int64_t)c->cols,
        .threads = c->threads,
        .cache = cache == CACHE_COLD ? "cold" : "hot",
        .device = device,
        .alpha = tmpl.alpha,
        .eps = tmpl.eps,
        .has_beta = tmpl.has_beta,
        .affine = tmpl.affine,
        .status = "ok",
        .max_err = -1,
        .max_ulps = -1,
        .err_tol = -1,
        .bytes = plan_case_bytes(c),
    };
}

void runner_result_accuracy(runner_case_result *r, double err, const char *output, double tol,
                            double ulps)
{
    /* A non-finite error (NaN where ref has a number) is stored as huge. */
    r->row.max_err = isfinite(err) ? err : 1e300;
    r->row.err_tol = tol;
    r->row.max_ulps = isnan(ulps) ? -1 : isinf(ulps) ? 1e300 : ulps;
    snprintf(r->err_output, sizeof r->err_output, "%s", output ? output : "");
}

int runner_result_append(runner_case_result *r, const store_sample *s, size_t n, int block)
{
    if (r->n_samples + n > r->cap_samples) {
        size_t nc = DYT_MAX(r->cap_samples * 2, r->n_samples + n);
        store_sample *v = realloc(r->samples, nc * sizeof *v);
        if (!v)
            return -1;
        r->samples = v;
        r->cap_samples = nc;
    }
    for (size_t i = 0; i < n; i++) {
        r->samples[r->n_samples] = s[i];
        r->samples[r->n_samples++].block = block;
    }
    return 0;
}

void runner_result_end(runner_case_result *r)
{
    dyt_utc_iso(r->ended_at, sizeof r->ended_at);
}

void runner_result_fail(runner_case_result *r, const char *status, const char *why)
{
    r->row.status = status;
    snprintf(r->error, sizeof r->error, "%s", why ? why : "");
    r->has_stats = 0;
    runner_result_end(r);
}

void runner_result_unavailable(runner_case_result *r, const char *why)
{
    runner_result_fail(r, "skipped", why);
    r->unavailable = 1;
}

int runner_result_summarise(runner_case_result *r, const runner_ceiling *ceiling)
{
    double *v = malloc((r->n_samples ? r->n_samples : 1) * sizeof *v);
    if (!v)
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < r->n_samples; i++)
        if (!r->samples[i].excluded)
            v[m++] = r->samples[i].ns;
    stats_summary sm;
    memset(&sm, 0, sizeof sm);
    if (m)
        stats_describe(v, m, 0.95, &sm);
    free(v);
    r->stats = (store_stats){
        .n = (int)m,
        .n_excluded = (int)(r->n_samples - m),
        .median_ns = sm.median,
        .ci_low_ns = sm.ci_low,
        .ci_high_ns = sm.ci_high,
        .mean_ns = sm.mean,
        .stddev_ns = sm.stddev,
        .min_ns = sm.min,
        .max_ns = sm.max,
        .mad_ns = sm.mad,
        .rel_ci_width = sm.rel_ci_width,
        .gbps = sm.median > 0 ? (double)r->row.bytes / sm.median : 0,
        .roofline_pct = -1,
        .ceiling_pct = -1,
    };
    if (ceiling && ceiling->dram_gbps > 0)
        r->stats.roofline_pct = 100.0 * r->stats.gbps / ceiling->dram_gbps;
    if (ceiling && ceiling->level && ceiling->gbps > 0) {
        r->stats.ceiling_level = ceiling->level;
        r->stats.ceiling_pct = 100.0 * r->stats.gbps / ceiling->gbps;
    }
    r->has_stats = 1;
    runner_result_end(r);
    return 0;
}

int runner_result_failed(const runner_case_result *r)
{
    return strcmp(r->row.status, "ok") != 0;
}

int runner_result_store(store *s, int64_t run_id, const runner_case_result *r, dyt_err *e)
{
    store_case row = r->row;
    row.started_at = r->started_at;
    row.ended_at = r->ended_at;
    row.error = runner_result_failed(r) ? r->error : NULL;
    row.err_output = r->err_output[0] ? r->err_output : NULL;
    if (r->note[0])
        row.note = r->note;
    int64_t id;
    return store_put_case(s, run_id, &row, r->samples, r->n_samples,
                          r->has_stats ? &r->stats : NULL, r->counters, r->n_counters, &id, e);
}

void runner_result_free(runner_case_result *r)
{
    free(r->samples);
    r->samples = NULL;
    r->n_samples = r->cap_samples = 0;
}
