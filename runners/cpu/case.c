/* One case of the CPU runner, start to finish: inputs, verification against
 * ref, time-based warm-up that also sizes the batch, adaptive sampling, one
 * counted batch (PAPI + rusage), statistics, and the store row written in
 * its own transaction. Also the per-thread-count pools and the bandwidth
 * ceiling that every case's "% of roofline" is relative to. */
#include "bandwidth.h"
#include "cpu_internal.h"
#include "suite.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int cpu_pools_create(const plan *p, kern_thread_init_fn on_start, void *user, cpu_pools *out,
                     dyt_err *e)
{
    memset(out, 0, sizeof *out);
    out->v = calloc(p->n_cases ? p->n_cases : 1, sizeof *out->v);
    if (!out->v)
        return dyt_errf(e, DYT_USAGE, "out of memory");
    for (size_t i = 0; i < p->n_cases; i++) {
        int t = p->cases[i].threads, seen = 0;
        for (size_t j = 0; j < out->n; j++)
            seen |= out->v[j].threads == t;
        if (seen)
            continue;
        kern_pool *pool = kern_pool_create(t, on_start, user);
        if (!pool) {
            cpu_pools_destroy(out);
            return dyt_errf(e, DYT_USAGE, "cannot create a pool of %d threads", t);
        }
        out->v[out->n++] = (cpu_pool_entry){.threads = t, .pool = pool, .ceiling_gbps = -1};
    }
    return DYT_OK;
}

void cpu_pools_destroy(cpu_pools *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        kern_pool_destroy(ps->v[i].pool);
    free(ps->v);
    memset(ps, 0, sizeof *ps);
}

static cpu_pool_entry *pool_for(cpu_pools *ps, int threads)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->v[i].threads == threads)
            return &ps->v[i];
    return NULL;
}

int cpu_measure_rooflines(cpu_pools *ps, const cpu_case_env *env, dyt_err *e)
{
    /* 4 x LLC per array keeps STREAM's rule (well beyond every cache); the
     * repetitions are fewer for --quick-sized budgets. */
    uint64_t bytes = 4 * (env->llc_bytes ? env->llc_bytes : (32u << 20));
    int reps = env->o->max_time_s < 1.0 ? 5 : 10;
    for (size_t i = 0; i < ps->n && !runner_stop_flag; i++) {
        bandwidth_result br;
        dyt_err be = {{0}};
        if (bandwidth_measure(ps->v[i].pool, bytes, reps, &br, &be) != DYT_OK) {
            /* Without a ceiling the cases still have GB/s; % of roofline
             * is stored as unknown rather than made up. */
            progress_log(env->progress, "dytbench: warning: bandwidth at %d threads: %s",
                         ps->v[i].threads, be.msg);
            continue;
        }
        int rc = store_put_roofline(env->s, env->run_id, ps->v[i].threads, "copy",
                                    br.bytes_per_pass, br.copy_gbps_best, br.copy_gbps_median, e);
        if (rc == DYT_OK)
            rc = store_put_roofline(env->s, env->run_id, ps->v[i].threads, "scale",
                                    br.bytes_per_pass, br.scale_gbps_best, br.scale_gbps_median, e);
        if (rc != DYT_OK)
            return rc;
        ps->v[i].ceiling_gbps = DYT_MAX(br.copy_gbps_best, br.scale_gbps_best);
        progress_log(
            env->progress,
            "bandwidth ceiling, %d thread(s): copy %.1f GB/s, scale %.1f GB/s (best of %d)",
            ps->v[i].threads, br.copy_gbps_best, br.scale_gbps_best, br.reps);
    }
    return DYT_OK;
}

typedef struct {
    const kern_entry *k;
    const case_buffers *b;
    kern_exec ex;
    size_t batch, next;
    int cold, rc;
} timing_ctx;

/* Total ns of n calls, rotating buffer sets when cold; < 0 if a call
 * failed. Nothing but the calls sits between the two clock readings. */
static double run_calls(timing_ctx *t, size_t n)
{
    uint64_t t0 = dyt_now_ns();
    for (size_t i = 0; i < n; i++) {
        int rc = kern_call(t->k, &t->b->sets[t->next], &t->ex);
        if (rc != 0) {
            t->rc = rc;
            return -1;
        }
        if (t->cold && ++t->next == t->b->n_sets)
            t->next = 0;
    }
    return (double)(dyt_now_ns() - t0);
}

static double take_sample(void *ctx, int *flags)
{
    timing_ctx *t = ctx;
    struct rusage r0, r1;
    /* RUSAGE_SELF covers the pool's workers too: a switch on any of them
     * delays the whole call. Read outside the timed region. */
    getrusage(RUSAGE_SELF, &r0);
    double ns = run_calls(t, t->batch);
    getrusage(RUSAGE_SELF, &r1);
    if (ns < 0)
        return -1;
    *flags = r1.ru_nivcsw != r0.ru_nivcsw ? STORE_SAMPLE_CTXSW : 0;
    return ns / (double)t->batch;
}

/* Time-based warm-up that doubles as batch sizing: grow the batch until one
 * batch lasts at least the sample target, and keep calling until the
 * warm-up time has passed. Returns the batch, 0 if a call failed. */
static size_t warm_up(timing_ctx *t, uint64_t warmup_ns, uint64_t target_ns, uint64_t *spent)
{
    const size_t cap = (size_t)1 << 24;
    size_t b = 1;
    uint64_t w0 = dyt_now_ns();
    for (;;) {
        double ns = run_calls(t, b);
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

static int store_case_row(const cpu_case_env *env, store_case *sc, const store_sample *smp,
                          size_t n, const store_stats *st, const store_counter *k, size_t nk,
                          dyt_err *e)
{
    char ended[32];
    dyt_utc_iso(ended, sizeof ended);
    sc->ended_at = ended;
    int64_t id;
    return store_put_case(env->s, env->run_id, sc, smp, n, st, k, nk, &id, e);
}

int cpu_run_case(const cpu_case_env *env, cpu_pools *ps, const plan_case *c, int seq, int *failed,
                 dyt_err *e)
{
    const runner_opts *o = env->o;
    *failed = 0;
    uint64_t c0 = dyt_now_ns();
    char started[32];
    dyt_utc_iso(started, sizeof started);
    norm_args tmpl;
    case_args_init(c, &tmpl);
    store_case sc = {
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
        .cache = o->cache == CACHE_COLD ? "cold" : "hot",
        .device = "cpu",
        .alpha = tmpl.alpha,
        .eps = tmpl.eps,
        .has_beta = tmpl.has_beta,
        .affine = tmpl.affine,
        .status = "ok",
        .max_err = -1,
        .bytes = kern_min_bytes(c->norm, c->pass, c->dtype, c->rows, c->cols, tmpl.has_beta,
                                tmpl.affine),
        .started_at = started,
    };
    cpu_pool_entry *pe = pool_for(ps, c->threads);
    kern_exec ex = {.pool = pe ? pe->pool : NULL};

    if (o->metric == METRIC_INSTRUCTIONS) {
        store_counter k[COUNTERS_MAX * 2];
        dyt_err ie = {{0}};
        size_t nk = runner_cpu_instructions_case(c, o, k, DYT_ARRAY_LEN(k), &ie);
        if (nk == 0) {
            sc.status = "failed";
            sc.error = ie.msg[0] ? ie.msg : "instruction count unavailable";
            *failed = 1;
            progress_log(env->progress, "%s %s %s: %s", c->model->name, sc.norm, sc.variant,
                         sc.error);
        }
        sc.wall_ns = dyt_now_ns() - c0;
        return store_case_row(env, &sc, NULL, 0, NULL, k, nk, e);
    }

    /* Cold: enough sets that 3 x LLC lie between two uses of one set; at
     * most half the usable memory. */
    case_buffers b;
    dyt_err ce = {{0}};
    uint64_t cold_bytes = o->cache == CACHE_COLD ? 3 * env->llc_bytes : 0;
    uint64_t max_bytes = env->mem_usable ? env->mem_usable / 2 : ((uint64_t)1 << 32);
    if (case_buffers_create_pool(c, o->seed, cold_bytes, max_bytes, ex.pool, &b, &ce) != DYT_OK) {
        sc.status = "failed";
        sc.error = ce.msg;
        *failed = 1;
        sc.wall_ns = dyt_now_ns() - c0;
        progress_log(env->progress, "%s: %s", c->model->name, ce.msg);
        return store_case_row(env, &sc, NULL, 0, NULL, NULL, 0, e);
    }
    sc.buffer_sets = (int)b.n_sets;

    int vrc = case_verify(c, &b.sets[0], &ex, &sc.max_err, &ce);
    if (vrc != DYT_OK) {
        /* Wrong results are not timed: a fast wrong kernel is no result. */
        sc.status = vrc == DYT_USAGE ? "skipped" : "failed";
        sc.error = ce.msg;
        *failed = 1;
        sc.wall_ns = dyt_now_ns() - c0;
        progress_log(env->progress, "%s %zux%zu %s %s %s %s: %s: %s", c->model->name, c->rows,
                     c->cols, sc.norm, sc.pass, sc.dtype, sc.variant, sc.status, ce.msg);
        int rc = store_case_row(env, &sc, NULL, 0, NULL, NULL, 0, e);
        case_buffers_free(&b);
        return rc;
    }

    timing_ctx t = {.k = c->variant, .b = &b, .ex = ex, .cold = o->cache == CACHE_COLD};
    uint64_t warm_ns = 0;
    t.batch = warm_up(&t, (uint64_t)(o->warmup_s * 1e9), env->sample_target_ns, &warm_ns);
    sc.warmup_ns = warm_ns;
    sc.batch = (int)t.batch;
    if (runner_stop_flag) {
        case_buffers_free(&b);
        return DYT_OK;
    }
    sampler_result r = {0};
    int src = DYT_FAIL;
    if (t.batch > 0) {
        sampler_spec sp = {
            .max_noise = o->max_noise,
            .min_samples = o->min_samples,
            .max_samples = o->max_samples,
            .min_time_ns = (uint64_t)(o->min_time_s * 1e9),
            .max_time_ns = (uint64_t)(o->max_time_s * 1e9),
            .sample = take_sample,
            .ctx = &t,
            .stop = &runner_stop_flag,
        };
        src = sampler_run(&sp, &r, &ce);
    }
    if (src == DYT_OK && runner_stop_flag) {
        /* Abandoned: a half-sampled case is not stored (see signals.c). */
        sampler_result_free(&r);
        case_buffers_free(&b);
        return DYT_OK;
    }
    if (src != DYT_OK || t.rc != 0) {
        sc.status = "skipped";
        sc.error = "the variant refused a timed call";
        *failed = 1;
        sc.wall_ns = dyt_now_ns() - c0;
        int rc = store_case_row(env, &sc, NULL, 0, NULL, NULL, 0, e);
        sampler_result_free(&r);
        case_buffers_free(&b);
        return rc;
    }
    sc.stop_reason = r.stop_reason;

    /* One more batch, counted: PAPI events of the calling thread and rusage
     * of the process, per element of the batch. Kept apart from the samples
     * so reading counters never lands inside a timed region. */
    store_counter k[COUNTERS_MAX * 2];
    size_t nk = 0;
    if (env->counters) {
        counters_start(env->counters);
        run_calls(&t, t.batch);
        counters_stop(env->counters);
        nk = counters_results(env->counters, (double)c->rows * (double)c->cols * (double)t.batch, k,
                              DYT_ARRAY_LEN(k));
    }

    store_stats st = {
        .n = (int)r.st.n,
        .n_excluded = (int)r.n_excluded,
        .median_ns = r.st.median,
        .ci_low_ns = r.st.ci_low,
        .ci_high_ns = r.st.ci_high,
        .mean_ns = r.st.mean,
        .stddev_ns = r.st.stddev,
        .min_ns = r.st.min,
        .max_ns = r.st.max,
        .mad_ns = r.st.mad,
        .rel_ci_width = r.st.rel_ci_width,
        .roofline_pct = -1,
    };
    st.gbps = r.st.median > 0 ? (double)sc.bytes / r.st.median : 0;
    if (pe && pe->ceiling_gbps > 0)
        st.roofline_pct = 100.0 * st.gbps / pe->ceiling_gbps;
    sc.wall_ns = dyt_now_ns() - c0;
    int rc = store_case_row(env, &sc, r.samples, r.n, &st, k, nk, e);
    sampler_result_free(&r);
    case_buffers_free(&b);
    return rc;
}

static int empty_kernel(const norm_args *a, const kern_exec *ex)
{
    (void)a;
    (void)ex;
    return 0;
}

void cpu_harness_overhead(size_t n_samples, double *per_call_ns, double *timed_ns,
                          double *per_sample_ns)
{
    /* The real sampling path (kern_call, buffer rotation, rusage reads,
     * the sampler's bookkeeping and convergence checks) around a kernel
     * that does nothing. */
    static const kern_entry empty = {"empty",    NORM_DYT, PASS_FWD,     DTYPE_F32,
                                     DEVICE_CPU, 0,        empty_kernel, "harness overhead probe"};
    norm_args set;
    memset(&set, 0, sizeof set);
    case_buffers b = {.sets = &set, .n_sets = 1};
    timing_ctx t = {.k = &empty, .b = &b, .batch = 1};
    enum { CALLS = 1000000 };
    *per_call_ns = run_calls(&t, CALLS) / CALLS;
    sampler_spec sp = {
        .max_noise = 1e-9,
        .min_samples = n_samples,
        .max_samples = n_samples,
        .min_time_ns = 0,
        .max_time_ns = UINT64_MAX,
        .sample = take_sample,
        .ctx = &t,
    };
    sampler_result r;
    uint64_t t0 = dyt_now_ns();
    if (sampler_run(&sp, &r, NULL) != DYT_OK || r.n == 0) {
        *timed_ns = *per_sample_ns = -1;
        return;
    }
    *per_sample_ns = (double)(dyt_now_ns() - t0) / (double)r.n;
    *timed_ns = r.st.median;
    sampler_result_free(&r);
}
