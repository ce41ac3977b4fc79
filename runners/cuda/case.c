/* One case of the CUDA runner, measured into its result: inputs on the
 * device, verification against the CPU ref, warm-up that also sizes the
 * batch, event-timed samples until the median is known well enough (the
 * sampler both runners share, runners/sampling.c), the CUPTI pass,
 * statistics. The runner stores the result.
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
    dyt_err *e; /* why a sample failed, for the sampler */
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
    int cold = t->env->spec.cache == CACHE_COLD && t->env->flush;
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

_Static_assert(CUPTI_MAX_METRICS <= RUNNER_MAX_COUNTERS, "a case's CUPTI metrics fit its result");

/* A sample for the shared sampler (runners/sampling.c). */
static double sampler_sample(void *ctx, int *flags)
{
    timing_ctx *t = ctx;
    double ns = take_sample(t, flags);
    if (ns < 0)
        dyt_errf(t->e, DYT_FAIL, "a timed call failed on the GPU");
    return ns;
}

/* Event-timed samples into r until the stopping rule of the shared sampler
 * holds; throttled ones are kept, flagged and excluded. Returns the stop
 * reason, NULL with *err (pointing into *e) set when sampling failed. */
static const char *sample(timing_ctx *t, runner_case_result *r, dyt_err *e, const char **err)
{
    const runner_case_spec *sp = &t->env->spec;
    t->e = e;
    sampler_spec ss = {
        .max_noise = sp->max_noise,
        .min_samples = sp->min_samples,
        .max_samples = sp->max_samples,
        .min_time_ns = (uint64_t)sp->min_time_ns,
        .max_time_ns = (uint64_t)sp->max_time_ns,
        .sample = sampler_sample,
        .ctx = t,
        .stop = &runner_stop_flag,
        .exclude_flags = STORE_SAMPLE_THROTTLED,
    };
    sampler_result res = {0};
    const char *stop = NULL;
    if (sampler_run(&ss, &res, e) != DYT_OK)
        *err = e->msg;
    else if (runner_result_append(r, res.samples, res.n, 0) != 0)
        *err = "out of memory for samples";
    else if (strcmp(res.stop_reason, "interrupted") && res.n_excluded == res.n)
        *err = "every sample was taken while the GPU was throttled";
    else
        stop = res.stop_reason;
    if (t->env->throttled_total)
        *t->env->throttled_total += (int)res.n_excluded;
    sampler_result_free(&res);
    return stop;
}

int cuda_case_measure(const cuda_case_env *env, const plan_case *c, int seq, runner_case_result *r)
{
    const runner_case_spec *sp = &env->spec;
    uint64_t c0 = dyt_now_ns();
    runner_result_init(r, c, seq, sp->cache, "cuda");
    store_case *row = &r->row;
    row->buffer_sets = 1;
    gpu_case_buffers b;
    dyt_err ce = {{0}};
    if (gpu_buffers_create(c, sp->seed, &b, &ce) != DYT_OK) {
        row->wall_ns = dyt_now_ns() - c0;
        runner_result_fail(r, "failed", ce.msg);
        return 1;
    }
    int vrc = gpu_case_verify(c, &b, r, &ce);
    if (vrc != DYT_OK) {
        /* Wrong results are not timed. */
        const char *status = vrc == DYT_USAGE ? "skipped" : "failed";
        if (!env->quiet)
            fprintf(stderr, "%s %zux%zu %s %s %s %s: %s: %s\n", c->model->name, c->rows, c->cols,
                    row->norm, row->pass, row->dtype, row->variant, status, ce.msg);
        row->wall_ns = dyt_now_ns() - c0;
        runner_result_fail(r, status, ce.msg);
        gpu_buffers_free(&b);
        return 1;
    }

    timing_ctx t = {.k = c->variant, .a = b.dev, .st = (cudaStream_t)env->stream, .env = env};
    t.ex.cuda_stream = env->stream;
    const char *stop = NULL, *err = NULL;
    dyt_err se = {{0}};
    if (cudaEventCreate(&t.e0) != cudaSuccess || cudaEventCreate(&t.e1) != cudaSuccess) {
        err = "cannot create CUDA events";
        goto done;
    }
    uint64_t warm_ns = 0;
    double one = warm_up(&t, (uint64_t)sp->warmup_ns, &warm_ns);
    row->warmup_ns = warm_ns;
    if (one < 0) {
        err = "the variant refused a timed call or the GPU reported an error";
        goto done;
    }
    if (sp->cache == CACHE_HOT && one < BATCH_TARGET_NS) {
        t.batch = (size_t)ceil(BATCH_TARGET_NS / fmax(one, 1.0));
        if (t.batch > BATCH_MAX)
            t.batch = BATCH_MAX;
        if (capture(&t) != 0) /* not capturable: direct launches, still batched */
            t.graph = NULL;
    }
    row->batch = (int)t.batch;
    stop = sample(&t, r, &se, &err);
    if (stop && !strcmp(stop, "interrupted"))
        goto done; /* a half-sampled case is not stored */
    if (!err && env->cupti) /* separate pass: replay would distort timings */
        r->n_counters = cupti_measure(env->cupti, one_call, &t, (double)c->rows * (double)c->cols,
                                      r->counters, CUPTI_MAX_METRICS);
done:
    row->wall_ns = dyt_now_ns() - c0;
    int finished = 1;
    if (err) {
        runner_result_fail(r, "failed", err);
    } else if (stop && !strcmp(stop, "interrupted")) {
        finished = 0;
    } else {
        row->stop_reason = stop;
        /* Every GPU case is held against the device-to-device copy (dram). */
        runner_ceiling ceil = {"dram", env->ceiling_gbps, env->ceiling_gbps};
        if (runner_result_summarise(r, &ceil) != 0)
            runner_result_fail(r, "failed", "out of memory for statistics");
    }
    if (t.graph)
        cudaGraphExecDestroy(t.graph);
    if (t.e0)
        cudaEventDestroy(t.e0);
    if (t.e1)
        cudaEventDestroy(t.e1);
    gpu_buffers_free(&b);
    return finished;
}
