/* run's option values into what the run is made of (run_args.h): the plan
 * filter, the budget, the peer's options, the injected slowdown. */
#include "run_args.h"
#include "counters.h"
#include "kernels.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int run_split(char *buf, const char **items, size_t max, size_t *n, const char *what,
              const char *who)
{
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == max)
            return cli_usage_error("%s: too many %s (at most %zu)", who, what, max);
        items[(*n)++] = t;
    }
    if (*n == 0)
        return cli_usage_error("%s: empty %s list", who, what);
    return DYT_OK;
}

int run_build_filter(cli_parser *p, run_args *a, plan_filter *f)
{
    const char *items[16];
    size_t n;
    memset(f, 0, sizeof *f);
    if (a->norms) {
        if (run_split(a->norms, items, NORM_COUNT, &n, "norms", p->who))
            return DYT_USAGE;
        for (size_t i = 0; i < n; i++)
            if (norm_from_name(items[i], &f->norms[f->n_norms++]) != 0)
                return cli_error(p, "--norm: unknown norm '%s' (dyt, layernorm, rmsnorm)",
                                 items[i]);
    }
    if (a->dtypes) {
        if (run_split(a->dtypes, items, DTYPE_COUNT, &n, "dtypes", p->who))
            return DYT_USAGE;
        for (size_t i = 0; i < n; i++)
            if (dtype_from_name(items[i], &f->dtypes[f->n_dtypes++]) != 0)
                return cli_error(p, "--dtype: unknown dtype '%s' (fp32, bf16)", items[i]);
    }
    if (a->passes) {
        if (run_split(a->passes, items, PASS_COUNT, &n, "passes", p->who))
            return DYT_USAGE;
        for (size_t i = 0; i < n; i++)
            if (pass_from_name(items[i], &f->passes[f->n_passes++]) != 0)
                return cli_error(p, "--pass: unknown pass '%s' (fwd, bwd)", items[i]);
    }
    if (a->variants) {
        if (run_split(a->variants, f->variants, DYT_ARRAY_LEN(f->variants), &f->n_variants,
                      "variants", p->who))
            return DYT_USAGE;
    }
    if (a->threads) {
        if (run_split(a->threads, items, DYT_ARRAY_LEN(f->threads), &n, "thread counts", p->who))
            return DYT_USAGE;
        for (size_t i = 0; i < n; i++) {
            uint64_t t = 0;
            if (cli_count(p, "--threads", items[i], 1, 4096, &t) ||
                cli_threads_fit(p, "--threads", t, a->oversubscribe))
                return DYT_USAGE;
            f->threads[f->n_threads++] = (int)t;
        }
    }
    f->device = a->device && !strcmp(a->device, "cuda") ? DEVICE_CUDA : DEVICE_CPU;
    f->model_filter = a->model;
    return DYT_OK;
}

int run_build_peer(cli_parser *p, run_args *a, runner_opts *o)
{
    if (!o->peer.name) {
        if (a->peer_variants || o->peer.python)
            return cli_error(p, "%s needs --peer torch",
                             a->peer_variants ? "--peer-variant" : "--python");
        return DYT_OK;
    }
    if (a->device && strcmp(a->device, "cpu"))
        return cli_error(p, "--peer %s measures CPU cases: not with --device %s", o->peer.name,
                         a->device);
    if (o->metric != METRIC_TIME)
        return cli_error(p, "--peer %s times its cases: not with --metric instructions",
                         o->peer.name);
    if (a->peer_variants) {
        if (run_split(a->peer_variants, o->peer.variants, DYT_ARRAY_LEN(o->peer.variants),
                      &o->peer.n_variants, "framework variants", p->who))
            return DYT_USAGE;
        for (size_t i = 0; i < o->peer.n_variants; i++) {
            int k;
            if (cli_choice(p, "--peer-variant", o->peer.variants[i], runner_peer_variants(), &k))
                return DYT_USAGE;
        }
    }
    const char *py = o->peer.python ? o->peer.python : RUNNER_PEER_PYTHON;
    if (access(py, X_OK) != 0)
        return cli_error(p,
                         "--peer %s needs Python 3 with PyTorch: %s: %s (install them: apt-get "
                         "install python3 python3-torch; or give --python PATH)",
                         o->peer.name, py, strerror(errno));
    return DYT_OK;
}

int run_apply_budget(cli_parser *p, const run_args *a, runner_opts *o)
{
    if (a->quick) {
        o->max_noise = 0.02;
        o->max_time_s = 0.5;
        o->min_time_s = 0.02;
        o->warmup_s = 0.01;
    }
    uint64_t n;
    if (a->max_noise && cli_between(p, "--max-noise", a->max_noise, 0, 1, &o->max_noise))
        return DYT_USAGE;
    if (a->min_samples && cli_count(p, "--min-samples", a->min_samples, 1, 100000000, &n))
        return DYT_USAGE;
    if (a->min_samples)
        o->min_samples = (size_t)n;
    if (a->max_samples && cli_count(p, "--max-samples", a->max_samples, 1, 100000000, &n))
        return DYT_USAGE;
    if (a->max_samples)
        o->max_samples = (size_t)n;
    if (a->min_time && cli_seconds(p, "--min-time", a->min_time, &o->min_time_s))
        return DYT_USAGE;
    if (a->max_time && cli_seconds(p, "--max-time", a->max_time, &o->max_time_s))
        return DYT_USAGE;
    if (o->min_samples > o->max_samples)
        return cli_error(p, "--min-samples %zu exceeds --max-samples %zu", o->min_samples,
                         o->max_samples);
    if (o->min_time_s > o->max_time_s)
        return cli_error(p, "--min-time %g s exceeds --max-time %g s", o->min_time_s,
                         o->max_time_s);
    return DYT_OK;
}

int run_parse_inject(cli_parser *p, run_args *a)
{
    const char *colon = strrchr(a->inject, ':');
    if (!colon || colon == a->inject || (size_t)(colon - a->inject) >= sizeof a->inject_variant ||
        dyt_parse_double(colon + 1, &a->inject_pct) || a->inject_pct <= 0 || a->inject_pct > 1000)
        return cli_error(p, "--inject-slowdown: want VARIANT:PCT (e.g. avx512:10), got '%s'",
                         a->inject);
    snprintf(a->inject_variant, sizeof a->inject_variant, "%.*s", (int)(colon - a->inject),
             a->inject);
    return DYT_OK;
}

int run_check_papi_events(cli_parser *p, const char *events)
{
    if (!events)
        return DYT_OK;
    counters_session *cs;
    dyt_err e = {{0}};
    if (counters_open(events, &cs, &e) != DYT_OK)
        return cli_error(p, "%s", e.msg);
    counters_close(cs);
    return DYT_OK;
}
