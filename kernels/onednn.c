/* The `onednn` variant: LayerNorm forward and backward through oneDNN's C
 * API (Debian libdnnl-dev 2.6), the vendor baseline most CPU frameworks
 * use, shown beside our kernels. Built only when oneDNN is found.
 *
 * What the timed call contains, honestly:
 *  - Primitives are created once per (pass, dtype, rows, cols, eps, affine)
 *    and cached; the first call of a shape pays the creation, repeated calls
 *    (every timed one, after the runner's verification and warm-up) only
 *    set the memory handles and execute.
 *  - oneDNN's saved statistics are mean and *variance*; the contract saves
 *    mean and rstd. Forward converts variance -> rstd = 1/sqrt(var + eps)
 *    after the primitive (one pass over `rows` floats); backward converts
 *    rstd -> var = 1/rstd^2 - eps before it. Both are inside the call and
 *    are O(rows), against O(rows*cols) for the norm itself.
 *  - dgamma/dbeta are oneDNN's diff_scale/diff_shift (dnnl_use_scale |
 *    dnnl_use_shift); oneDNN overwrites them, as the contract asks.
 *  - Threads: this Debian build of oneDNN uses OpenMP (DNNL_CPU_RUNTIME =
 *    OMP), not our pool. Each call sets omp_set_num_threads(n) on the
 *    calling thread, n = the pool's thread count, and primitives are
 *    cached per n (oneDNN sizes a primitive's work split when it is
 *    created). libgomp creates its team threads with the calling thread's
 *    CPU mask, which the runner has pinned to one core: left alone, all n
 *    OpenMP threads would share that core. So before the first call at n
 *    threads (pinned_team), one OpenMP region gives team thread i the CPU
 *    mask of the pool's thread i: oneDNN then runs on the cores, one per
 *    thread, that our own kernels use, and waits between calls as the
 *    pool's threads do (GOMP_SPINCOUNT, below). OMP_PROC_BIND/OMP_PLACES
 *    would bind the process's first thread when libgomp loads, for every
 *    command, so they are not used. libgomp keeps its team threads
 *    between regions and reuses them in order, but a region with fewer
 *    threads ends the surplus ones; a call whose rows are fewer than n
 *    (oneDNN then may use fewer threads) makes the next call pin again.
 *  - bf16 is offered when oneDNN accepts a bf16 layer norm on this CPU:
 *    the primitive descriptor is created at the first call, and a refusal
 *    makes the call return nonzero (unsupported) without touching outputs.
 * DyT and RMSNorm have no oneDNN primitive in 2.6: no entries. */
#include "common.h"
#include "portable.h"

#include <oneapi/dnnl/dnnl.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct {
    int used;
    pass_kind pass;
    dtype_kind dtype;
    size_t rows, cols;
    float eps;
    int affine;
    int threads; /* the OpenMP thread count it was created for */
    int ok;      /* 0: oneDNN refused this configuration (cached too) */
    dnnl_primitive_t prim;
    /* memories with handles set per call */
    dnnl_memory_t src, dst, mean, var, scale, shift, ddst, dsrc, dscale, dshift;
    float *var_buf, *mean_buf; /* variance always; mean when the caller has none */
    pthread_mutex_t lock;
} dnn_entry;

#define DNN_CACHE 32
static dnn_entry cache[DNN_CACHE];
static unsigned cache_next;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static dnnl_engine_t engine;
static dnnl_stream_t stream;
static int engine_ok;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void engine_init(void)
{
    engine_ok = dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success &&
                dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) == dnnl_success;
}

static void entry_release(dnn_entry *e)
{
    dnnl_memory_t *m[] = {&e->src, &e->dst, &e->mean, &e->var, &e->scale,
                          &e->shift, &e->ddst, &e->dsrc, &e->dscale, &e->dshift};
    for (size_t i = 0; i < DYT_ARRAY_LEN(m); i++)
        if (*m[i])
            dnnl_memory_destroy(*m[i]), *m[i] = NULL;
    if (e->prim)
        dnnl_primitive_destroy(e->prim), e->prim = NULL;
    free(e->var_buf);
    free(e->mean_buf);
    e->var_buf = e->mean_buf = NULL;
}

static int mem(dnnl_memory_t *m, const dnnl_memory_desc_t *md)
{
    return dnnl_memory_create(m, md, engine, DNNL_MEMORY_NONE) == dnnl_success ? 0 : -1;
}

/* Builds the primitive and memories of e; 0 on success. */
static int entry_build(dnn_entry *e)
{
    dnnl_memory_desc_t data, vec;
    dnnl_dims_t dd = {(dnnl_dim_t)e->rows, (dnnl_dim_t)e->cols}, vd = {(dnnl_dim_t)e->cols};
    dnnl_data_type_t dt = e->dtype == DTYPE_F32 ? dnnl_f32 : dnnl_bf16;
    if (dnnl_memory_desc_init_by_tag(&data, 2, dd, dt, dnnl_ab) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&vec, 1, vd, dnnl_f32, dnnl_a) != dnnl_success)
        return -1;
    unsigned flags = e->affine ? (dnnl_use_scale | dnnl_use_shift) : 0;
    dnnl_layer_normalization_desc_t fd, bd;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    int rc = -1;
    if (dnnl_layer_normalization_forward_desc_init(&fd, dnnl_forward_training, &data, NULL, e->eps,
                                                   flags) != dnnl_success ||
        dnnl_primitive_desc_create(&fpd, &fd, NULL, engine, NULL) != dnnl_success)
        goto out;
    dnnl_primitive_desc_t use = fpd;
    if (e->pass == PASS_BWD) {
        if (dnnl_layer_normalization_backward_desc_init(&bd, e->affine ? dnnl_backward
                                                                       : dnnl_backward_data,
                                                        &data, &data, NULL, e->eps,
                                                        flags) != dnnl_success ||
            dnnl_primitive_desc_create(&bpd, &bd, NULL, engine, fpd) != dnnl_success)
            goto out;
        use = bpd;
    }
    dnnl_memory_desc_t smd; /* mean/variance: the data desc less its last dimension */
    dnnl_dims_t sd = {(dnnl_dim_t)e->rows};
    if (dnnl_memory_desc_init_by_tag(&smd, 1, sd, dnnl_f32, dnnl_a) != dnnl_success)
        goto out;
    if (dnnl_primitive_create(&e->prim, use) != dnnl_success)
        goto out;
    if (mem(&e->src, &data) || mem(&e->mean, &smd) || mem(&e->var, &smd))
        goto out;
    if (e->pass == PASS_FWD ? mem(&e->dst, &data) : (mem(&e->ddst, &data) || mem(&e->dsrc, &data)))
        goto out;
    if (e->affine && (mem(&e->scale, &vec) || mem(&e->shift, &vec) ||
                      (e->pass == PASS_BWD && (mem(&e->dscale, &vec) || mem(&e->dshift, &vec)))))
        goto out;
    if (!(e->var_buf = malloc(e->rows * sizeof(float))) ||
        !(e->mean_buf = malloc(e->rows * sizeof(float))))
        goto out;
    rc = 0;
out:
    if (fpd)
        dnnl_primitive_desc_destroy(fpd);
    if (bpd)
        dnnl_primitive_desc_destroy(bpd);
    if (rc)
        entry_release(e);
    return rc;
}

/* The cached entry for a's configuration, locked; NULL if oneDNN refuses
 * it. Entries are recycled round-robin once the cache is full. */
static dnn_entry *entry_get(const norm_args *a, pass_kind p, int threads)
{
    pthread_once(&engine_once, engine_init);
    if (!engine_ok)
        return NULL;
    int affine = a->affine && a->gamma && a->beta;
    pthread_mutex_lock(&cache_lock);
    dnn_entry *e = NULL;
    for (int i = 0; i < DNN_CACHE && !e; i++) {
        dnn_entry *c = &cache[i];
        if (c->used && c->pass == p && c->dtype == a->dtype && c->rows == a->rows &&
            c->cols == a->cols && c->eps == a->eps && c->affine == affine && c->threads == threads)
            e = c;
    }
    if (!e) {
        e = &cache[cache_next++ % DNN_CACHE];
        if (!e->used)
            pthread_mutex_init(&e->lock, NULL);
        pthread_mutex_lock(&e->lock); /* wait for a user of the old shape */
        entry_release(e);
        e->used = 1;
        e->pass = p, e->dtype = a->dtype, e->rows = a->rows, e->cols = a->cols;
        e->eps = a->eps, e->affine = affine, e->threads = threads;
        e->ok = entry_build(e) == 0;
        pthread_mutex_unlock(&e->lock);
    }
    pthread_mutex_lock(&e->lock);
    pthread_mutex_unlock(&cache_lock);
    if (!e->ok) {
        pthread_mutex_unlock(&e->lock);
        return NULL;
    }
    return e;
}

/* The pool whose thread placement this calling thread's OpenMP team has
 * (libgomp keeps one team per calling thread), and at how many threads. */
static _Thread_local const kern_pool *pinned_pool;
static _Thread_local int pinned_n;

/* Gives OpenMP team thread i the CPU mask of the pool's thread i; 0, or
 * -1 when a mask could not be read or set, or the team is not n threads. */
static int pin_team(kern_pool *pool, int n)
{
    cpu_set_t *sets = calloc((size_t)n, sizeof *sets);
    if (!sets)
        return -1;
    atomic_int bad = 0;
    for (int i = 0; i < n; i++)
        if (kern_pool_cpuset(pool, i, &sets[i], sizeof sets[i]) != 0)
            bad = 1;
    if (!bad) {
#pragma omp parallel num_threads(n)
        {
            int i = omp_get_thread_num();
            if (omp_get_num_threads() != n ||
                pthread_setaffinity_np(pthread_self(), sizeof sets[i], &sets[i]) != 0)
                atomic_store(&bad, 1);
        }
    }
    free(sets);
    return bad ? -1 : 0;
}

/* oneDNN's thread count and placement for a call on ex over rows: 0 with
 * *threads set, or -1 (the call is refused rather than run on threads
 * other than the case's). */
static int set_threads(const kern_exec *ex, size_t rows, int *threads)
{
    kern_pool *pool = port_pool(ex);
    int n = kern_pool_threads(pool);
    omp_set_num_threads(n);
    *threads = n;
    if (n > 1 && (pinned_pool != pool || pinned_n != n)) {
        if (pin_team(pool, n) != 0) {
            pinned_pool = NULL;
            return -1;
        }
        pinned_pool = pool, pinned_n = n;
    }
    if ((size_t)n > rows)
        pinned_pool = NULL;
    return 0;
}

static int onednn_ln_fwd(const norm_args *a, const kern_exec *ex)
{
    int threads;
    if (port_check_args(a, NORM_LAYERNORM, PASS_FWD) || a->rows == 0 ||
        set_threads(ex, a->rows, &threads))
        return -1;
    dnn_entry *e = entry_get(a, PASS_FWD, threads);
    if (!e)
        return -1;
    float *mean = a->mean ? a->mean : e->mean_buf;
    dnnl_memory_set_data_handle(e->src, (void *)a->x);
    dnnl_memory_set_data_handle(e->dst, a->y);
    dnnl_memory_set_data_handle(e->mean, mean);
    dnnl_memory_set_data_handle(e->var, e->var_buf);
    dnnl_exec_arg_t args[6] = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_DST, e->dst},
                               {DNNL_ARG_MEAN, e->mean}, {DNNL_ARG_VARIANCE, e->var}};
    int n = 4;
    if (e->affine) {
        dnnl_memory_set_data_handle(e->scale, (void *)a->gamma);
        dnnl_memory_set_data_handle(e->shift, (void *)a->beta);
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCALE, e->scale};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SHIFT, e->shift};
    }
    int rc = dnnl_primitive_execute(e->prim, stream, n, args) == dnnl_success &&
                     dnnl_stream_wait(stream) == dnnl_success
                 ? 0
                 : -1;
    if (rc == 0 && a->rstd)
        for (size_t r = 0; r < a->rows; r++)
            a->rstd[r] = 1.0f / sqrtf(e->var_buf[r] + a->eps);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

static int onednn_ln_bwd(const norm_args *a, const kern_exec *ex)
{
    int threads;
    if (port_check_args(a, NORM_LAYERNORM, PASS_BWD) || a->rows == 0 ||
        (a->affine && a->gamma && a->beta && (!a->dgamma || !a->dbeta)) ||
        set_threads(ex, a->rows, &threads))
        return -1;
    dnn_entry *e = entry_get(a, PASS_BWD, threads);
    if (!e)
        return -1;
    /* rstd -> variance, in double so 1/rstd^2 - eps keeps what it can. */
    for (size_t r = 0; r < a->rows; r++) {
        double s = a->rstd[r], v = 1.0 / (s * s) - (double)a->eps;
        e->var_buf[r] = (float)(v > 0 || isnan(v) ? v : 0);
    }
    dnnl_memory_set_data_handle(e->src, (void *)a->x);
    dnnl_memory_set_data_handle(e->ddst, (void *)a->dy);
    dnnl_memory_set_data_handle(e->dsrc, a->dx);
    dnnl_memory_set_data_handle(e->mean, a->mean);
    dnnl_memory_set_data_handle(e->var, e->var_buf);
    dnnl_exec_arg_t args[9] = {{DNNL_ARG_SRC, e->src},       {DNNL_ARG_DIFF_DST, e->ddst},
                               {DNNL_ARG_DIFF_SRC, e->dsrc}, {DNNL_ARG_MEAN, e->mean},
                               {DNNL_ARG_VARIANCE, e->var}};
    int n = 5;
    if (e->affine) {
        dnnl_memory_set_data_handle(e->scale, (void *)a->gamma);
        dnnl_memory_set_data_handle(e->shift, (void *)a->beta);
        dnnl_memory_set_data_handle(e->dscale, a->dgamma);
        dnnl_memory_set_data_handle(e->dshift, a->dbeta);
        /* oneDNN counts the inputs a use_shift backward takes, shift
         * included, and refuses the call without it (invalid_arguments). */
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCALE, e->scale};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SHIFT, e->shift};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SCALE, e->dscale};
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SHIFT, e->dshift};
    }
    int rc = dnnl_primitive_execute(e->prim, stream, n, args) == dnnl_success &&
                     dnnl_stream_wait(stream) == dnnl_success
                 ? 0
                 : -1;
    pthread_mutex_unlock(&e->lock);
    return rc;
}

#define DN(pass, dt, fn, note) {"onednn", NORM_LAYERNORM, pass, dt, DEVICE_CPU, ISA_ONEDNN, fn, note}

static const kern_entry onednn_variants[] = {
    DN(PASS_FWD, DTYPE_F32, onednn_ln_fwd, "oneDNN 2.6 layer_normalization (OpenMP threads), var->rstd after"),
    DN(PASS_FWD, DTYPE_BF16, onednn_ln_fwd, "oneDNN 2.6 layer_normalization bf16, if this CPU's oneDNN has it"),
    DN(PASS_BWD, DTYPE_F32, onednn_ln_bwd, "oneDNN 2.6 layer_normalization backward, rstd->var before"),
    DN(PASS_BWD, DTYPE_BF16, onednn_ln_bwd, "oneDNN 2.6 layer_normalization backward bf16, if supported"),
};
/* oneDNN's OpenMP threads wait between regions the way the pool's workers
 * do: spin KERN_POOL_SPIN pauses, then sleep. libgomp's default spins
 * ~100x longer (GOMP_SPINCOUNT 300000): next to dytbench's own pinned
 * pool on the same cores that made a cache-resident oneDNN LayerNorm take
 * ~8 ms instead of ~55 us per call (256 x 1024, measured here). Sleeping
 * at once (OMP_WAIT_POLICY=passive) instead makes every call pay a
 * wake-up: ViT-B/16's 197 x 768 LayerNorm forward at 2 threads took 52 us
 * against 22 us at 1 (10.8 us with the bounded spin). libgomp reads
 * GOMP_SPINCOUNT once, when it is loaded, so main() sets it (unless the
 * user has) and re-executes the binary (kern_backend_setenv). */
#define DNN_STR_(x) #x
#define DNN_STR(x) DNN_STR_(x)
const kern_backend kern_backend_onednn = {
    .name = "onednn",
    .variants = onednn_variants,
    .n_variants = sizeof onednn_variants / sizeof onednn_variants[0],
    .isa = ISA_ONEDNN,
    .load_env = "GOMP_SPINCOUNT=" DNN_STR(KERN_POOL_SPIN),
};
