/* Arguments and inputs of a case, the same for the CPU and the CUDA runner
 * so both time one set of values. Values are realistic rather than zeros or
 * uniform noise, because data can change a kernel's speed (tanh saturation,
 * denormals) and because verification on realistic values is the one that
 * matters: activations are N(mu_c, 1) with a per-channel offset
 * mu_c ~ N(0, 0.5), one channel in 256 an outlier channel (offset x8, as in
 * LLM activations), and one element in 1024 an outlier (x10). gamma ~
 * N(1, 0.1), beta ~ N(0, 0.1), dy ~ N(0, 1) with the same outliers.
 * Everything comes from the run's seed and the case's shape, so a run is
 * reproducible and a case gets the same data in every run with that seed.
 * Also here: fp16 conversion on the host (the storage of fp16 cases). */
#include "bf16.h"
#include "runner_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void runner_case_args(const plan_case *c, norm_args *a)
{
    memset(a, 0, sizeof *a);
    a->rows = c->rows;
    a->cols = c->cols;
    a->dtype = c->dtype;
    a->alpha = (float)c->model->alpha;
    a->eps = (float)c->model->eps;
    a->has_beta = c->model->beta;
    a->affine = plan_case_affine(c);
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

static void put(void *base, dtype_kind d, size_t i, float v)
{
    if (d == DTYPE_F32)
        ((float *)base)[i] = v;
    else if (d == DTYPE_BF16)
        ((bf16_t *)base)[i] = f32_to_bf16(v);
    else
        ((uint16_t *)base)[i] = f32_to_f16(v);
}

/* mu: room for cols offsets (drawn when with_offsets, else zeros). */
static void fill_activations(gen *g, void *x, const plan_case *c, float *mu, int with_offsets)
{
    size_t cols = c->cols;
    for (size_t j = 0; j < cols; j++) {
        float m = with_offsets ? (float)dyt_rng_normal(&g->rng, 0, 0.5) : 0.0f;
        if (with_offsets && dyt_rng_u64(&g->rng) % 256 == 0)
            m *= 8.0f;
        mu[j] = m;
    }
    for (size_t r = 0; r < c->rows; r++) {
        for (size_t j = 0; j < cols; j++) {
            uint64_t u = dyt_rng_u64(&g->rng);
            float v = g->tab[u & (NTAB - 1)];
            if (((u >> 16) & 1023) == 0)
                v *= 10.0f;
            put(x, c->dtype, r * cols + j, mu[j] + v);
        }
    }
}

static void fill_vec(gen *g, float *v, size_t n, double mu, double sigma)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(mu + sigma * g->tab[dyt_rng_u64(&g->rng) & (NTAB - 1)]);
}

int runner_case_inputs(const plan_case *c, uint64_t seed, void *x, float *gamma, float *beta,
                       void *dy, dyt_err *e)
{
    gen *g = malloc(sizeof *g);
    float *mu = malloc((c->cols ? c->cols : 1) * sizeof *mu);
    if (!g || !mu) {
        free(g);
        free(mu);
        return dyt_errf(e, DYT_FAIL, "out of memory generating %zu x %zu inputs", c->rows, c->cols);
    }
    uint64_t h = dyt_hash64(&seed, sizeof seed, DYT_HASH64_INIT);
    uint64_t shape[3] = {c->rows, c->cols, (uint64_t)c->dtype};
    gen_init(g, dyt_hash64(shape, sizeof shape, h));
    fill_activations(g, x, c, mu, 1);
    fill_vec(g, gamma, c->cols, 1.0, 0.1);
    fill_vec(g, beta, c->cols, 0.0, 0.1);
    if (dy)
        fill_activations(g, dy, c, mu, 0);
    free(mu);
    free(g);
    return DYT_OK;
}

uint16_t f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u); /* NaN */
    if (a >= 0x477ff000u)                  /* rounds to >= 65520: inf */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) { /* subnormal half (or zero) */
        if (a < 0x33000000u)
            return (uint16_t)sign;
        uint32_t m = (a & 0x7fffffu) | 0x800000u;
        int shift = 126 - (int)(a >> 23); /* 14..24 */
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u)))
            r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = a - 0x38000000u; /* rebias 127 -> 15 */
    uint32_t low = r & 0x1fffu;
    r >>= 13;
    if (low > 0x1000u || (low == 0x1000u && (r & 1u)))
        r++;
    return (uint16_t)(sign | r);
}

float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, u;
    if (e == 0) {
        float f = ldexpf((float)m, -24);
        return sign ? -f : f;
    }
    if (e == 31)
        u = sign | 0x7f800000u | (m << 13);
    else
        u = sign | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
