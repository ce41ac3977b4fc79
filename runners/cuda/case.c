/* One case of the CUDA runner, start to finish: inputs on the device,
 * verification against the CPU ref, warm-up that also sizes the batch,
 * event-timed samples until the median is known well enough, the CUPTI
 * pass, statistics, and the store row in its own transaction.
 *
 * A sample is the time between two CUDA events on the run's stream:
 *  - hot cache: a batch of calls; when one call is shorter than
 *    BATCH_TARGET_NS the batch is captured once into a CUDA graph and the
 *    graph is replayed, so launch overhead does not pile up between the
 *    kernels; the sample is the batch time / batch;
 *  - cold cache: before every sample a cudaMemsetAsync of an L2-sized
 *    buffer (allocated once per run) evicts the inputs, then one call.
 * The SM clock (NVML) is read while each sample's work is in flight; a
 * sample taken while the GPU was throttled (gpu_sample_throttled) is
 * flagged STORE_SAMPLE_THROTTLED and excluded from the statistics and the
 * stopping rule, as nvbench does. Without NVML nothing is flagged and the
 * run's settings say that throttling was not detectable. */
#include "cuda_internal.h"
#include "kern_cuda.h"
#include "stats.h"
#include "suite.h"

#include <cuda_runtime_api.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_TARGET_NS 200000.0 /* 200 us: 400x the events' ~0.5 us resolution */
#define BATCH_MAX 1000

typedef struct {
    const kern_entry *k;
    norm_args a;
    kern_exec ex;
    cudaStream_t st;
    cudaGraphExec_t graph; /* NULL: direct launches */
    size_t batch;
    const cuda_case_env *env;
    cudaEvent_t e0, e1;
    unsigned flush_seq;
} timing_ctx;

static int one_call(void *p)
{
    timing_ctx *t = p;
    return kern_call(t->k, &t->a, &t->ex);
}

/* One sample: ns per call, flags set; < 0 on a CUDA error or a refusal. */
static double take_sample(timing_ctx *t, int *flags)
{
    *flags = 0;
    cudaError_t ce = cudaSuccess;
    int cold = t->env->o->cache == CACHE_COLD && t->env->flush;
    if (cold)
        ce = cudaMemsetAsync(t->env->flush, (int)(t->flush_seq++ & 0xff), t->env->flush_bytes,
                             t->st);
    if (ce == cudaSuccess)
        ce = cudaEventRecord(t->e0, t->st);
    if (ce != cudaSuccess)
        return -1;
    if (t->graph) {
        if (cudaGraphLaunch(t->graph, t->st) != cudaSuccess)
            return -1;
    } else {
        for (size_t i = 0; i < t->batch; i++)
            if (kern_call(t->k, &t->a, &t->ex) != 0)
                return -1;
    }
    if (cudaEventRecord(t->e1, t->st) != cudaSuccess)
        return -1;
    if (t->env->clock) {
        /* Read while the batch is (most likely) still running. */
        unsigned mhz = 0;
        unsigned long long reasons = 0;
        if (gpu_clock_read(t->env->clock, &mhz, &reasons) == 0 &&
            gpu_sample_throttled(mhz, gpu_clock_max_sm_mhz(t->env->clock), reasons,
                                 GPU_THROTTLE_THRESHOLD))
            *flags |= STORE_SAMPLE_THROTTLED;
    }
    float ms = 0;
    if (cudaEventSynchronize(t->e1) != cudaSuccess ||
        cudaEventElapsedTime(&ms, t->e0, t->e1) != cudaSuccess)
        return -1;
    return (double)ms * 1e6 / (double)t->batch;
}

/* Warm-up for at least warmup_ns (and 3 calls), measuring one call. */
static double warm_up(timing_ctx *t, uint64_t warmup_ns, uint64_t *spent)
{
    uint64_t w0 = dyt_now_ns();
    double best = INFINITY;
    t->batch = 1;
    for (int i = 0; i < 3 || dyt_now_ns() - w0 < warmup_ns; i++) {
        int f;
        double ns = take_sample(t, &f);
        if (ns < 0)
            return -1;
        best = fmin(best, ns);
        if (runner_stop_signal())
            break;
    }
    *spent = dyt_now_ns() - w0;
    return best;
}

/* Captures batch calls into a graph; 0 on success. */
static int capture(timing_ctx *t)
{
    cudaGraph_t g = NULL;
    if (cudaStreamBeginCapture(t->st, cudaStreamCaptureModeThreadLocal) != cudaSuccess)
        return -1;
    int bad = 0;
    for (size_t i = 0; i < t->batch && !bad; i++)
        bad = kern_call(t->k, &t->a, &t->ex) != 0;
    cudaError_t ce = cudaStreamEndCapture(t->st, &g);
    if (bad || ce != cudaSuccess || !g ||
        cudaGraphInstantiate(&t->graph, g, 0) != cudaSuccess) {
        if (g)
            cudaGraphDestroy(g);
        t->graph = NULL;
        cudaGetLastError();
        return -1;
    }
    cudaGraphDestroy(g);
    return 0;
}

static int store_row(const cuda_case_env *env, store_case *sc, const store_sample *smp, size_t n,
                     const store_stats *st, const store_counter *k, size_t nk, uint64_t c0,
                     dyt_err *e)
{
    char ended[32];
    dyt_utc_iso(ended, sizeof ended);
    sc->ended_at = ended;
    sc->wall_ns = dyt_now_ns() - c0;
    int64_t id;
    return store_put_case(env->s, env->run_id, sc, smp, n, st, k, nk, &id, e);
}

int cuda_run_case(const cuda_case_env *env, const plan_case *c, int seq, int *failed, dyt_err *e)
{
    const runner_opts *o = env->o;
    *failed = 0;
    uint64_t c0 = dyt_now_ns();
    char started[32];
    dyt_utc_iso(started, sizeof started);
    norm_args tmpl;
    gpu_case_args_init(c, &tmpl);
    store_case sc = {
        .seq = seq, .suite = c->suite_name, .domain = domain_name(c->model->domain),
        .model = c->model->name, .model_norm = norm_name(c->model->norm),
        .token_label = c->token_label, .layers = (int)c->model->layers,
        .norm = norm_name(c->norm), .variant = c->variant->name, .dtype = dtype_name(c->dtype),
        .pass = pass_name(c->pass), .rows = (int64_t)c->rows, .cols = (int64_t)c->cols,
        .threads = c->threads, .cache = o->cache == CACHE_COLD ? "cold" : "hot",
        .device = "cuda", .alpha = tmpl.alpha, .eps = tmpl.eps, .has_beta = tmpl.has_beta,
        .affine = tmpl.affine, .status = "ok", .max_err = -1,
        .bytes = kern_min_bytes(c->norm, c->pass, c->dtype, c->rows, c->cols, tmpl.has_beta,
                                tmpl.affine),
        .buffer_sets = 1, .started_at = started,
    };
    gpu_case_buffers b;
    dyt_err ce = {{0}};
    if (gpu_buffers_create(c, o->seed, &b, &ce) != DYT_OK) {
        sc.status = "failed";
        sc.error = ce.msg;
        *failed = 1;
        return store_row(env, &sc, NULL, 0, NULL, NULL, 0, c0, e);
    }
    int vrc = gpu_case_verify(c, &b, &sc.max_err, &ce);
    if (vrc != DYT_OK) {
        /* Wrong results are not timed. */
        sc.status = vrc == DYT_USAGE ? "skipped" : "failed";
        sc.error = ce.msg;
        *failed = 1;
        if (!o->quiet)
            fprintf(stderr, "%s %zux%zu %s %s %s %s: %s: %s\n", c->model->name, c->rows, c->cols,
                    sc.norm, sc.pass, sc.dtype, sc.variant, sc.status, ce.msg);
        int rc = store_row(env, &sc, NULL, 0, NULL, NULL, 0, c0, e);
        gpu_buffers_free(&b);
        return rc;
    }

    timing_ctx t = {.k = c->variant, .a = b.dev, .st = (cudaStream_t)env->stream, .env = env};
    t.ex.cuda_stream = env->stream;
    store_sample *smp = NULL;
    double *kept = NULL;
    size_t n = 0, nkept = 0, cap = 0;
    const char *stop = NULL, *err = NULL;
    store_counter k[CUPTI_MAX_METRICS];
    size_t nk = 0;
    int rc = DYT_OK;
    if (cudaEventCreate(&t.e0) != cudaSuccess || cudaEventCreate(&t.e1) != cudaSuccess) {
        err = "cannot create CUDA events";
        goto done;
    }
    uint64_t warm_ns = 0;
    double one = warm_up(&t, (uint64_t)(o->warmup_s * 1e9), &warm_ns);
    sc.warmup_ns = warm_ns;
    if (one < 0) {
        err = "the variant refused a timed call or the GPU reported an error";
        goto done;
    }
    if (o->cache == CACHE_HOT && one < BATCH_TARGET_NS) {
        t.batch = (size_t)ceil(BATCH_TARGET_NS / fmax(one, 1.0));
        if (t.batch > BATCH_MAX)
            t.batch = BATCH_MAX;
        if (capture(&t) != 0) /* not capturable: direct launches, still batched */
            t.graph = NULL;
    }
    sc.batch = (int)t.batch;
    uint64_t s0 = dyt_now_ns(), min_ns = (uint64_t)(o->min_time_s * 1e9),
             max_ns = (uint64_t)(o->max_time_s * 1e9);
    size_t next_check = 0;
    for (;;) {
        if (runner_stop_signal()) {
            stop = "interrupted";
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            store_sample *ns = realloc(smp, nc * sizeof *ns);
            double *nkp = ns ? realloc(kept, nc * sizeof *nkp) : NULL;
            if (ns)
                smp = ns;
            if (nkp)
                kept = nkp;
            if (!ns || !nkp) {
                err = "out of memory for samples";
                break;
            }
            cap = nc;
        }
        int flags = 0;
        double ns = take_sample(&t, &flags);
        if (ns < 0) {
            err = "a timed call failed on the GPU";
            break;
        }
        int excl = (flags & STORE_SAMPLE_THROTTLED) != 0;
        smp[n++] = (store_sample){.ns = ns, .flags = flags, .excluded = excl};
        if (!excl)
            kept[nkept++] = ns;
        else if (env->throttled_total)
            (*env->throttled_total)++;
        uint64_t el = dyt_now_ns() - s0;
        if (nkept >= o->min_samples && el >= min_ns && nkept >= next_check) {
            if (stats_converged(kept, nkept, o->min_samples, o->max_noise)) {
                stop = "noise";
                break;
            }
            next_check = nkept < 256 ? nkept + 1 : nkept + nkept / 50;
        }
        if (n >= o->max_samples) {
            stop = "max_samples";
            break;
        }
        if (el >= max_ns) {
            stop = "max_time";
            break;
        }
    }
    if (stop && !strcmp(stop, "interrupted"))
        goto abandon; /* a half-sampled case is not stored */
    if (!err && nkept == 0)
        err = "every sample was taken while the GPU was throttled";
    if (!err && env->cupti) /* separate pass: replay would distort timings */
        nk = cupti_measure(env->cupti, one_call, &t, (double)c->rows * (double)c->cols, k,
                           DYT_ARRAY_LEN(k));
done:
    if (err) {
        sc.status = "failed";
        sc.error = err;
        *failed = 1;
        rc = store_row(env, &sc, smp, n, NULL, NULL, 0, c0, e);
    } else {
        stats_summary ss;
        stats_describe(kept, nkept, 0.95, &ss);
        store_stats st = {
            .n = (int)ss.n, .n_excluded = (int)(n - nkept), .median_ns = ss.median,
            .ci_low_ns = ss.ci_low, .ci_high_ns = ss.ci_high, .mean_ns = ss.mean,
            .stddev_ns = ss.stddev, .min_ns = ss.min, .max_ns = ss.max, .mad_ns = ss.mad,
            .rel_ci_width = ss.rel_ci_width, .roofline_pct = -1,
        };
        st.gbps = ss.median > 0 ? (double)sc.bytes / ss.median : 0;
        if (env->ceiling_gbps > 0)
            st.roofline_pct = 100.0 * st.gbps / env->ceiling_gbps;
        sc.stop_reason = stop;
        rc = store_row(env, &sc, smp, n, &st, k, nk, c0, e);
    }
abandon:
    if (t.graph)
        cudaGraphExecDestroy(t.graph);
    if (t.e0)
        cudaEventDestroy(t.e0);
    if (t.e1)
        cudaEventDestroy(t.e1);
    free(smp);
    free(kept);
    gpu_buffers_free(&b);
    return rc;
}
