/* Inputs and buffer sets of a CPU case. Values are realistic rather than
 * zeros or uniform noise, because data can change a kernel's speed (tanh
 * saturation, denormals) and because verification on realistic values is
 * the one that matters: activations are N(mu_c, 1) with a per-channel
 * offset mu_c ~ N(0, 0.5), one channel in 256 an outlier channel (offset
 * x8, as in LLM activations), and one element in 1024 an outlier (x10).
 * gamma ~ N(1, 0.1), beta ~ N(0, 0.1), dy ~ N(0, 1). Everything comes from
 * the run's seed, so a run is reproducible.
 *
 * Cold cache: the sets are copies of set 0, allocated until together they
 * exceed the requested total (a few times the LLC); the runner rotates
 * through them so each call finds its data evicted. */
#include "bf16.h"
#include "cpu_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void case_args_init(const plan_case *c, norm_args *a)
{
    memset(a, 0, sizeof *a);
    a->rows = c->rows;
    a->cols = c->cols;
    a->dtype = c->dtype;
    a->alpha = (float)c->model->alpha;
    a->eps = (float)c->model->eps;
    a->has_beta = c->model->beta;
    /* DyT always has gamma; LayerNorm's gamma/beta and RMSNorm's gamma
     * follow the model. */
    a->affine = c->norm == NORM_DYT ? 1 : c->model->affine;
}

/* A table of standard normals, indexed by cheap random bits: Box-Muller
 * per element would dominate set-up time for GB-sized activations. */
#define NTAB 65536
typedef struct {
    dyt_rng rng;
    float tab[NTAB];
} gen;

static void gen_init(gen *g, uint64_t seed)
{
    dyt_rng_seed(&g->rng, seed);
    for (size_t i = 0; i < NTAB; i++)
        g->tab[i] = (float)dyt_rng_normal(&g->rng, 0, 1);
}

static void store_val(void *base, dtype_kind d, size_t i, float v)
{
    if (d == DTYPE_F32)
        ((float *)base)[i] = v;
    else
        ((bf16_t *)base)[i] = f32_to_bf16(v); /* fp16 is CUDA-only */
}

static void fill_activations(gen *g, void *x, const plan_case *c, int with_offsets)
{
    size_t cols = c->cols;
    float *mu = malloc(cols * sizeof *mu);
    for (size_t j = 0; j < cols; j++) {
        float m = with_offsets ? (float)dyt_rng_normal(&g->rng, 0, 0.5) : 0.0f;
        if (with_offsets && dyt_rng_u64(&g->rng) % 256 == 0)
            m *= 8.0f;
        if (mu)
            mu[j] = m;
    }
    for (size_t r = 0; r < c->rows; r++) {
        for (size_t j = 0; j < cols; j++) {
            uint64_t u = dyt_rng_u64(&g->rng);
            float v = g->tab[u & (NTAB - 1)];
            if (((u >> 16) & 1023) == 0)
                v *= 10.0f;
            store_val(x, c->dtype, r * cols + j, (mu ? mu[j] : 0.0f) + v);
        }
    }
    free(mu);
}

static void fill_vec(gen *g, float *v, size_t n, double mu, double sigma)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(mu + sigma * g->tab[dyt_rng_u64(&g->rng) & (NTAB - 1)]);
}

static void *balloc(case_buffers *b, size_t bytes, size_t *acc)
{
    void **na = realloc(b->allocs, (b->n_allocs + 1) * sizeof *na);
    if (!na)
        return NULL;
    b->allocs = na;
    void *p = dyt_alloc(bytes ? bytes : 64);
    if (!p)
        return NULL;
    /* Writing every byte now commits the pages: no page fault may land in
     * a timed sample. */
    memset(p, 0, bytes ? bytes : 64);
    b->allocs[b->n_allocs++] = p;
    *acc += bytes;
    return p;
}

/* Allocates one set's buffers into a (shape fields already set). */
static int alloc_set(case_buffers *b, const plan_case *c, norm_args *a, size_t *bytes)
{
    size_t act = c->rows * c->cols * dtype_size(c->dtype);
    size_t vec = c->cols * sizeof(float), row = c->rows * sizeof(float);
    *bytes = 0;
    void *x = balloc(b, act, bytes);
    float *gamma = balloc(b, vec, bytes), *beta = balloc(b, vec, bytes);
    float *mean = balloc(b, row, bytes), *rstd = balloc(b, row, bytes);
    if (!x || !gamma || !beta || !mean || !rstd)
        return -1;
    a->x = x;
    a->gamma = gamma;
    a->beta = beta;
    a->mean = mean;
    a->rstd = rstd;
    if (c->pass == PASS_FWD) {
        if (!(a->y = balloc(b, act, bytes)))
            return -1;
    } else {
        void *dy = balloc(b, act, bytes);
        a->dx = balloc(b, act, bytes);
        a->dgamma = balloc(b, vec, bytes);
        a->dbeta = balloc(b, vec, bytes);
        a->dalpha = balloc(b, sizeof(float), bytes);
        if (!dy || !a->dx || !a->dgamma || !a->dbeta || !a->dalpha)
            return -1;
        a->dy = dy;
    }
    return 0;
}

/* Copies set 0's inputs (and saved statistics) into set s. */
static void copy_inputs(const plan_case *c, const norm_args *src, norm_args *dst)
{
    size_t act = c->rows * c->cols * dtype_size(c->dtype);
    size_t vec = c->cols * sizeof(float), row = c->rows * sizeof(float);
    memcpy((void *)dst->x, src->x, act);
    memcpy((void *)dst->gamma, src->gamma, vec);
    memcpy((void *)dst->beta, src->beta, vec);
    memcpy(dst->mean, src->mean, row);
    memcpy(dst->rstd, src->rstd, row);
    if (c->pass == PASS_BWD)
        memcpy((void *)dst->dy, src->dy, act);
}

int case_buffers_create(const plan_case *c, uint64_t seed, uint64_t min_total_bytes,
                        uint64_t max_total_bytes, case_buffers *b, dyt_err *e)
{
    return case_buffers_create_pool(c, seed, min_total_bytes, max_total_bytes, NULL, b, e);
}

int case_buffers_create_pool(const plan_case *c, uint64_t seed, uint64_t min_total_bytes,
                             uint64_t max_total_bytes, kern_pool *pool, case_buffers *b, dyt_err *e)
{
    memset(b, 0, sizeof *b);
    gen *g = malloc(sizeof *g);
    b->sets = calloc(1, sizeof *b->sets);
    if (!g || !b->sets) {
        free(g);
        case_buffers_free(b);
        return dyt_errf(e, DYT_FAIL, "out of memory");
    }
    /* Each case's inputs depend on the seed and the case's shape only, so
     * the same case gets the same data in every run with the same seed. */
    uint64_t h = dyt_hash64(&seed, sizeof seed, DYT_HASH64_INIT);
    uint64_t shape[3] = {c->rows, c->cols, (uint64_t)c->dtype};
    gen_init(g, dyt_hash64(shape, sizeof shape, h));

    norm_args *a = &b->sets[0];
    case_args_init(c, a);
    size_t bytes;
    if (alloc_set(b, c, a, &bytes) != 0) {
        free(g);
        case_buffers_free(b);
        return dyt_errf(e, DYT_FAIL, "out of memory allocating %zu x %zu %s buffers", c->rows,
                        c->cols, dtype_name(c->dtype));
    }
    b->set_bytes = bytes;
    b->n_sets = 1;
    fill_activations(g, (void *)a->x, c, 1);
    fill_vec(g, (float *)a->gamma, c->cols, 1.0, 0.1);
    fill_vec(g, (float *)a->beta, c->cols, 0.0, 0.1);
    if (c->pass == PASS_BWD)
        fill_activations(g, (void *)a->dy, c, 0);
    if (c->pass == PASS_BWD && c->norm != NORM_DYT) {
        /* Backward consumes what forward saved (LayerNorm mean+rstd,
         * RMSNorm rstd): take it from the oracle, on the case's pool. DyT
         * saves nothing. */
        const kern_entry *ref = kern_find(c->norm, PASS_FWD, c->dtype, "ref");
        if (!ref) {
            free(g);
            case_buffers_free(b);
            return dyt_errf(e, DYT_FAIL, "no ref forward for %s %s", norm_name(c->norm),
                            dtype_name(c->dtype));
        }
        size_t act = c->rows * c->cols * dtype_size(c->dtype);
        void *y = dyt_alloc(act);
        norm_args fa = *a;
        fa.y = y;
        kern_exec ex = {.pool = pool};
        int rc = y ? ref->fn(&fa, &ex) : -1;
        dyt_free(y);
        if (rc != 0) {
            free(g);
            case_buffers_free(b);
            return dyt_errf(e, DYT_FAIL, "ref forward (for the saved statistics) failed");
        }
    }
    free(g);

    if (min_total_bytes > bytes) {
        uint64_t want = (min_total_bytes + bytes - 1) / bytes;
        uint64_t fit = max_total_bytes / (bytes ? bytes : 1);
        size_t n = (size_t)DYT_MAX((uint64_t)1, DYT_MIN(want, fit));
        norm_args *ns = realloc(b->sets, n * sizeof *ns);
        if (!ns) {
            case_buffers_free(b);
            return dyt_errf(e, DYT_FAIL, "out of memory");
        }
        b->sets = ns;
        for (size_t s = 1; s < n; s++) {
            case_args_init(c, &b->sets[s]);
            if (alloc_set(b, c, &b->sets[s], &bytes) != 0) {
                case_buffers_free(b);
                return dyt_errf(e, DYT_FAIL, "out of memory allocating buffer set %zu of %zu",
                                s + 1, n);
            }
            copy_inputs(c, &b->sets[0], &b->sets[s]);
            b->n_sets = s + 1;
        }
    }
    return DYT_OK;
}

int case_buffers_relocate(const plan_case *c, case_buffers *b, dyt_err *e)
{
    case_buffers nb;
    memset(&nb, 0, sizeof nb);
    nb.sets = calloc(b->n_sets, sizeof *nb.sets);
    if (!nb.sets)
        return dyt_errf(e, DYT_FAIL, "out of memory");
    for (size_t s = 0; s < b->n_sets; s++) {
        size_t bytes;
        case_args_init(c, &nb.sets[s]);
        if (alloc_set(&nb, c, &nb.sets[s], &bytes) != 0) {
            case_buffers_free(&nb);
            return dyt_errf(e, DYT_FAIL, "out of memory relocating %zu x %zu buffers", c->rows,
                            c->cols);
        }
        copy_inputs(c, &b->sets[s], &nb.sets[s]);
        nb.set_bytes = bytes;
        nb.n_sets = s + 1;
    }
    case_buffers_free(b);
    *b = nb;
    return DYT_OK;
}

void case_buffers_free(case_buffers *b)
{
    for (size_t i = 0; i < b->n_allocs; i++)
        dyt_free(b->allocs[i]);
    free(b->allocs);
    free(b->sets);
    memset(b, 0, sizeof *b);
}
