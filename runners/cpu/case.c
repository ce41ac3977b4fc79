/* One case of the CPU runner, measured: inputs, verification against ref,
 * time-based warm-up that also sizes the batch, adaptive sampling in one
 * or more blocks, one counted batch (PAPI + rusage), statistics against
 * the case's bandwidth ceiling (ceilings.c), all into the case's result
 * (runner_case_result), which the runner stores. Nothing here writes the
 * store. */
#include "cpu_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef struct {
    const kern_entry *k;
    const case_buffers *b;
    kern_exec ex;
    size_t batch, next;
    int cold, rc;
} timing_ctx;

/* Total ns of n calls of ctx (a timing_ctx), rotating buffer sets when
 * cold; < 0 if a call failed. Nothing but the calls sits between the two
 * clock readings. */
static double run_calls(void *ctx, size_t n)
{
    timing_ctx *t = ctx;
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

void cpu_case_fail(cpu_case_state *cs, const char *status, const char *why)
{
    cs->res.n_samples = 0;
    cs->res.row.wall_ns += dyt_now_ns() - cs->visit_t0;
    runner_result_fail(&cs->res, status, why);
    cs->done = 1;
}

/* Cold: enough sets that 3 x LLC lie between two uses of one set; at most
 * half the usable memory. */
static void buffer_budget(const cpu_case_env *env, uint64_t *cold_bytes, uint64_t *max_bytes)
{
    *cold_bytes = env->spec.cache == CACHE_COLD ? 3 * env->llc_bytes : 0;
    *max_bytes = env->mem_usable ? env->mem_usable / 2 : ((uint64_t)1 << 32);
}

size_t cpu_case_sets(const cpu_case_env *env, const plan_case *c)
{
    uint64_t cold_bytes, max_bytes;
    buffer_budget(env, &cold_bytes, &max_bytes);
    return case_buffers_count(case_buffers_set_bytes(c), cold_bytes, max_bytes);
}

static int make_buffers(const cpu_case_env *env, cpu_case_state *cs, kern_pool *pool, dyt_err *ce)
{
    uint64_t cold_bytes, max_bytes;
    buffer_budget(env, &cold_bytes, &max_bytes);
    int rc =
        case_buffers_create_pool(cs->c, env->spec.seed, cold_bytes, max_bytes, env->spec.pages, pool,
                                 &cs->b, ce);
    cs->have_b = rc == DYT_OK;
    return rc;
}

void cpu_case_begin(const cpu_case_env *env, cpu_pools *ps, const plan_case *c, int seq,
                    cpu_case_state *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->c = c;
    cs->visit_t0 = dyt_now_ns();
    runner_result_init(&cs->res, c, seq, env->spec.cache, "cpu");
    cpu_pool_entry *pe = cpu_pool_for(ps, c->threads);
    cs->pool = pe ? pe->pool : NULL;
    cpu_case_ceiling(pe, cs->res.row.bytes, env->spec.cache, &cs->ceiling);

    if (env->ext && env->ext->owns(env->ext, c)) {
        cs->ext = 1;
        env->ext->begin(env->ext, env, cs);
        return;
    }
    store_case *row = &cs->res.row;
    dyt_err ce = {{0}};
    if (make_buffers(env, cs, cs->pool, &ce) != DYT_OK) {
        progress_log(env->progress, "%s: %s", c->model->name, ce.msg);
        cpu_case_fail(cs, "failed", ce.msg);
        return;
    }
    row->buffer_sets = (int)cs->b.n_sets;
    case_buffers_pages_note(&cs->b, cs->res.note, sizeof cs->res.note);
    kern_exec ex = {.pool = cs->pool};
    int vrc = case_verify(c, &cs->b.sets[0], &ex, &cs->res, &ce);
    if (vrc != DYT_OK) {
        /* Wrong results are not timed: a fast wrong kernel is no result. */
        const char *status = vrc == DYT_USAGE ? "skipped" : "failed";
        progress_log(env->progress, "%s %zux%zu %s %s %s %s: %s: %s", c->model->name, c->rows,
                     c->cols, row->norm, row->pass, row->dtype, row->variant, status, ce.msg);
        case_buffers_free(&cs->b);
        cs->have_b = 0;
        cpu_case_fail(cs, status, ce.msg);
    }
}

/* Frees the case's buffers and takes them out of the run's kept total. */
static void drop_buffers(const cpu_case_env *env, cpu_case_state *cs)
{
    if (cs->have_b)
        case_buffers_free(&cs->b);
    cs->have_b = 0;
    if (env->kept_bytes)
        *env->kept_bytes -= DYT_MIN(*env->kept_bytes, cs->kept);
    cs->kept = 0;
}

cpu_block_outcome cpu_block_measure(const cpu_case_env *env, cpu_case_state *cs, uint64_t target_ns,
                                    sampler_calls_fn calls, sampler_sample_fn sample, void *ctx,
                                    size_t *batch, int block, int blocks, dyt_err *e)
{
    const runner_case_spec *sp = &env->spec;
    store_case *row = &cs->res.row;
    uint64_t warm_ns = 0;
    /* The warm-up is shared by the blocks too: a block's first batch
     * (always run) already brings a hot case's data into the caches. */
    *batch = sampler_warm_up(calls, ctx, (uint64_t)(sp->warmup_ns / (double)blocks), target_ns,
                             &warm_ns);
    row->warmup_ns += warm_ns;
    if (block == 0)
        row->batch = (int)*batch;
    if (runner_stop_flag)
        return CPU_BLOCK_STOPPED;
    sampler_result r = {0};
    int src = DYT_FAIL;
    if (*batch > 0) {
        sampler_spec ss;
        sampler_block_spec(sp, blocks, &ss);
        ss.sample = sample;
        ss.ctx = ctx;
        src = sampler_run(&ss, &r, e);
    }
    /* A sample cut short by the signal is no failure of the case. */
    if (runner_stop_flag) {
        sampler_result_free(&r);
        return CPU_BLOCK_STOPPED;
    }
    if (src != DYT_OK) {
        sampler_result_free(&r);
        return CPU_BLOCK_FAILED;
    }
    row->stop_reason = r.stop_reason;
    int oom = runner_result_append(&cs->res, r.samples, r.n, block);
    sampler_result_free(&r);
    return oom ? CPU_BLOCK_OOM : CPU_BLOCK_OK;
}

void cpu_case_block(const cpu_case_env *env, cpu_case_state *cs, int block, int blocks)
{
    const runner_case_spec *sp = &env->spec;
    store_case *row = &cs->res.row;
    if (cs->done)
        return;
    cs->visit_t0 = dyt_now_ns();
    if (cs->ext) {
        env->ext->block(env->ext, env, cs, block, blocks);
        return;
    }
    dyt_err ce = {{0}};
    /* Every block after the first runs on inputs in fresh memory (same
     * values): where the pages land is part of what a block samples, so it
     * must vary between blocks for them to be replicates. Kept buffers are
     * moved (a copy); others are rebuilt from the seed. */
    if (block > 0 && cs->have_b) {
        if (case_buffers_relocate(cs->c, &cs->b, &ce) != DYT_OK)
            drop_buffers(env, cs);
    }
    if (!cs->have_b && make_buffers(env, cs, cs->pool, &ce) != DYT_OK) {
        cpu_case_fail(cs, "failed", ce.msg);
        return;
    }
    /* Each block's fresh pages are checked as the first block's were. */
    case_buffers_pages_note(&cs->b, cs->res.note, sizeof cs->res.note);

    timing_ctx t = {.k = cs->c->variant,
                    .b = &cs->b,
                    .ex = {.pool = cs->pool},
                    .cold = sp->cache == CACHE_COLD};
    switch (cpu_block_measure(env, cs, env->sample_target_ns, run_calls, take_sample, &t,
                              &t.batch, block, blocks, &ce)) {
    case CPU_BLOCK_STOPPED:
        return; /* abandoned: the runner frees it unstored */
    case CPU_BLOCK_FAILED:
        drop_buffers(env, cs);
        cpu_case_fail(cs, "skipped", "the variant refused a timed call");
        return;
    case CPU_BLOCK_OOM:
        drop_buffers(env, cs);
        cpu_case_fail(cs, "failed", "out of memory for samples");
        return;
    case CPU_BLOCK_OK:
        break;
    }

    /* After the last block, one more batch, counted: PAPI events of the
     * calling thread and rusage of the process, per element of the batch.
     * Kept apart from the samples so reading counters never lands inside
     * a timed region. */
    if (block == blocks - 1 && env->counters) {
        counters_start(env->counters);
        run_calls(&t, t.batch);
        counters_stop(env->counters);
        cs->res.n_counters = counters_results(
            env->counters, (double)cs->c->rows * (double)cs->c->cols * (double)t.batch,
            cs->res.counters, DYT_ARRAY_LEN(cs->res.counters));
    }
    row->wall_ns += dyt_now_ns() - cs->visit_t0;
    if (blocks > 1) {
        /* Keeping the buffers for the next block saves regenerating them,
         * within a budget for all the cases of the run together. */
        uint64_t bytes = (uint64_t)cs->b.set_bytes * cs->b.n_sets;
        if (block == blocks - 1 || !env->kept_bytes ||
            (!cs->kept && *env->kept_bytes + bytes > env->mem_usable / 4)) {
            drop_buffers(env, cs);
        } else if (!cs->kept) {
            cs->kept = bytes;
            *env->kept_bytes += bytes;
        }
    }
}

void cpu_case_finish(cpu_case_state *cs)
{
    if (cs->done)
        return;
    /* Statistics over every block's samples not excluded. */
    if (runner_result_summarise(&cs->res, &cs->ceiling) != 0) {
        cpu_case_fail(cs, "failed", "out of memory for statistics");
        return;
    }
    cs->done = 1;
}

void cpu_case_free(cpu_case_state *cs)
{
    if (cs->have_b)
        case_buffers_free(&cs->b);
    runner_result_free(&cs->res);
    memset(cs, 0, sizeof *cs);
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
