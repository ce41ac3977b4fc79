/* Properties every supported CPU variant must have, beyond matching ref:
 * NaN in gives NaN out (and only where it should), a constant LayerNorm row
 * gives beta, alpha = 0 gives beta, bf16 outputs round to nearest even,
 * and backward's reductions are bitwise deterministic at 1..4 threads. */
#include "dyt_test.h"

#include "bf16.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Inputs of one call, in the variant's storage type. */
typedef struct {
    size_t R, C;
    dtype_kind dt;
    void *x, *dy, *y, *dx;
    float *gamma, *beta, *mean, *rstd, *dgamma, *dbeta, dalpha;
} io;

static void io_init(io *o, size_t R, size_t C, dtype_kind dt, uint64_t seed)
{
    memset(o, 0, sizeof *o);
    o->R = R, o->C = C, o->dt = dt;
    size_t es = dtype_size(dt);
    o->x = calloc(R * C, es), o->dy = calloc(R * C, es);
    o->y = calloc(R * C, es), o->dx = calloc(R * C, es);
    o->gamma = calloc(C, 4), o->beta = calloc(C, 4), o->dgamma = calloc(C, 4), o->dbeta = calloc(C, 4);
    o->mean = calloc(R, 4), o->rstd = calloc(R, 4);
    assert_true(o->x && o->dy && o->y && o->dx && o->gamma && o->beta && o->dgamma && o->dbeta &&
                o->mean && o->rstd);
    dyt_rng g;
    dyt_rng_seed(&g, seed);
    for (size_t i = 0; i < R * C; i++) {
        float a = (float)dyt_rng_normal(&g, 0, 1.5), b = (float)dyt_rng_normal(&g, 0, 1);
        if (dt == DTYPE_F32)
            ((float *)o->x)[i] = a, ((float *)o->dy)[i] = b;
        else
            ((bf16_t *)o->x)[i] = f32_to_bf16(a), ((bf16_t *)o->dy)[i] = f32_to_bf16(b);
    }
    for (size_t j = 0; j < C; j++)
        o->gamma[j] = (float)dyt_rng_normal(&g, 1, 0.3), o->beta[j] = (float)dyt_rng_normal(&g, 0, 0.5);
}

static void io_free(io *o)
{
    void *p[] = {o->x, o->dy, o->y, o->dx, o->gamma, o->beta, o->mean, o->rstd, o->dgamma, o->dbeta};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
}

static void io_set(io *o, void *buf, size_t i, float v)
{
    if (o->dt == DTYPE_F32)
        ((float *)buf)[i] = v;
    else
        ((bf16_t *)buf)[i] = f32_to_bf16(v);
}

static float io_get(const io *o, const void *buf, size_t i)
{
    return o->dt == DTYPE_F32 ? ((const float *)buf)[i] : bf16_to_f32(((const bf16_t *)buf)[i]);
}

static norm_args io_args(io *o, norm_kind n, float alpha)
{
    return (norm_args){.rows = o->R, .cols = o->C, .dtype = o->dt, .alpha = alpha, .eps = 1e-5f,
                       .has_beta = 1, .affine = 1, .x = o->x, .gamma = o->gamma, .beta = o->beta,
                       .y = o->y, .mean = o->mean, .rstd = o->rstd, .dy = o->dy, .dx = o->dx,
                       .dgamma = o->dgamma, .dbeta = o->dbeta, .dalpha = n == NORM_DYT ? &o->dalpha : NULL};
}

/* Runs ref forward to make the statistics backward reads. */
static void make_stats(io *o, norm_kind n)
{
    if (n == NORM_DYT)
        return;
    const kern_entry *f = kern_find(n, PASS_FWD, o->dt, "ref");
    norm_args a = io_args(o, n, 0);
    kern_exec ex = {0};
    assert_int_equal(f->fn(&a, &ex), 0);
}

#define FOR_VARIANTS(v)                                                                            \
    size_t n_reg_;                                                                                 \
    const kern_entry *reg_ = kern_registry(&n_reg_);                                               \
    for (const kern_entry *v = reg_; v < reg_ + n_reg_; v++)                                       \
        if (v->device == DEVICE_CPU && kern_supported(v))

#define WHO(v) v->name, norm_name(v->norm), pass_name(v->pass), dtype_name(v->dtype)

static void test_nan_propagates(void **state)
{
    (void)state;
    size_t R = 4, C = 37, bad_r = 1, bad_c = 5;
    FOR_VARIANTS(v)
    {
        io o;
        io_init(&o, R, C, v->dtype, 42);
        io_set(&o, o.x, bad_r * C + bad_c, NAN);
        if (v->pass == PASS_BWD)
            make_stats(&o, v->norm);
        norm_args a = io_args(&o, v->norm, 0.7f);
        kern_exec ex = {0};
        assert_int_equal(v->fn(&a, &ex), 0);
        void *out = v->pass == PASS_FWD ? o.y : o.dx;
        for (size_t r = 0; r < R; r++)
            for (size_t j = 0; j < C; j++) {
                float val = io_get(&o, out, r * C + j);
                int want_nan = r == bad_r && (v->norm != NORM_DYT || j == bad_c);
                if (want_nan != (int)isnan(val))
                    fail_msg("%s %s %s %s: [%zu,%zu] = %g, NaN expected: %d", WHO(v), r, j, val,
                             want_nan);
            }
        if (v->pass == PASS_FWD && v->norm != NORM_DYT) {
            if (!isnan(o.rstd[bad_r]) || isnan(o.rstd[0]))
                fail_msg("%s %s %s %s: rstd of the NaN row %g, of a clean row %g", WHO(v),
                         o.rstd[bad_r], o.rstd[0]);
        }
        if (v->pass == PASS_BWD) {
            for (size_t j = 0; j < C; j++)
                if (isnan(o.dgamma[j]) != (v->norm != NORM_DYT || j == bad_c))
                    fail_msg("%s %s %s %s: dgamma[%zu] = %g", WHO(v), j, o.dgamma[j]);
            if (v->norm == NORM_DYT)
                assert_true(isnan(o.dalpha));
        }
        io_free(&o);
    }
}

static void test_constant_row_gives_beta(void **state)
{
    (void)state;
    size_t R = 4, C = 1001;
    const float consts[] = {0.1f, 12345.678f};
    FOR_VARIANTS(v)
    {
        if (v->norm != NORM_LAYERNORM || v->pass != PASS_FWD)
            continue;
        io o;
        io_init(&o, R, C, v->dtype, 7);
        for (size_t j = 0; j < C; j++) {
            io_set(&o, o.x, 1 * C + j, consts[0]);
            io_set(&o, o.x, 3 * C + j, consts[1]);
        }
        norm_args a = io_args(&o, v->norm, 0);
        kern_exec ex = {0};
        assert_int_equal(v->fn(&a, &ex), 0);
        double tol = kern_check_tol(v->dtype), maxb = 1;
        for (size_t j = 0; j < C; j++)
            maxb = fmax(maxb, fabs(o.beta[j]));
        double maxg = 0;
        for (size_t j = 0; j < C; j++)
            maxg = fmax(maxg, fabs(o.gamma[j]));
        for (size_t r = 1; r < R; r += 2)
            for (size_t j = 0; j < C; j++) {
                double err = fabs(io_get(&o, o.y, r * C + j) - o.beta[j]) / maxb;
                /* oneDNN's documented deviation (see test_kernels_random.c):
                 * y from an fp32 mean, off by up to u*|mean|*rstd*|gamma|. */
                double allow = tol;
                if (!strcmp(v->name, "onednn"))
                    allow += 8 * 0x1p-24 * fabs(consts[r / 2]) * o.rstd[r] * maxg / maxb;
                if (!(err <= allow))
                    fail_msg("%s %s %s %s: constant row %zu col %zu: y %g, beta %g", WHO(v), r, j,
                             io_get(&o, o.y, r * C + j), o.beta[j]);
            }
        io_free(&o);
    }
}

static void test_alpha_zero_gives_beta_bf16_rne(void **state)
{
    (void)state;
    /* f32_to_bf16 itself: ties go to even, others to nearest, NaN stays. */
    assert_int_equal(f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);          /* tie, down to even */
    assert_int_equal(f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);      /* tie, up to even */
    assert_int_equal(f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81); /* above tie: up */
    assert_int_equal(f32_to_bf16(-(1.0f + 0x1p-8f)), 0xbf80);
    assert_true(isnan(bf16_to_f32(f32_to_bf16(NAN))));
    size_t C = 67;
    FOR_VARIANTS(v)
    {
        if (v->norm != NORM_DYT || v->pass != PASS_FWD)
            continue;
        io o;
        io_init(&o, 3, C, v->dtype, 9);
        const float ties[] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-8f + 0x1p-20f,
                              -(1.0f + 0x1p-8f), 0.3f, -2.71828f};
        for (size_t j = 0; j < C; j++)
            o.beta[j] = ties[j % 6];
        norm_args a = io_args(&o, v->norm, 0.0f);
        kern_exec ex = {0};
        assert_int_equal(v->fn(&a, &ex), 0);
        for (size_t i = 0; i < 3 * C; i++) {
            float want = o.beta[i % C];
            if (v->dtype == DTYPE_BF16) {
                bf16_t got = ((bf16_t *)o.y)[i];
                if (got != f32_to_bf16(want))
                    fail_msg("%s %s %s %s: y[%zu] = 0x%04x, want RNE(%a) = 0x%04x", WHO(v), i, got,
                             want, f32_to_bf16(want));
            } else if (((float *)o.y)[i] != want) {
                fail_msg("%s %s %s %s: alpha 0, y[%zu] = %a, beta %a", WHO(v), i,
                         ((float *)o.y)[i], want);
            }
        }
        io_free(&o);
    }
}

/* Two calls with the same inputs and pool give bitwise the same outputs. */
static void test_deterministic(void **state)
{
    (void)state;
    size_t R = 67, C = 130;
    for (int t = 1; t <= 4; t++) {
        kern_pool *pool = kern_pool_create(t, NULL, NULL);
        assert_non_null(pool);
        kern_exec ex = {.pool = pool};
        FOR_VARIANTS(v)
        {
            io o, p;
            io_init(&o, R, C, v->dtype, 100 + (uint64_t)t);
            io_init(&p, R, C, v->dtype, 100 + (uint64_t)t);
            if (v->pass == PASS_BWD) {
                make_stats(&o, v->norm);
                make_stats(&p, v->norm);
            }
            norm_args a = io_args(&o, v->norm, 0.9f), b = io_args(&p, v->norm, 0.9f);
            assert_int_equal(v->fn(&a, &ex), 0);
            assert_int_equal(v->fn(&b, &ex), 0);
            size_t act = R * C * dtype_size(v->dtype);
            int same = v->pass == PASS_FWD
                           ? !memcmp(o.y, p.y, act) && !memcmp(o.rstd, p.rstd, R * 4) &&
                                 !memcmp(o.mean, p.mean, R * 4)
                           : !memcmp(o.dx, p.dx, act) && !memcmp(o.dgamma, p.dgamma, C * 4) &&
                                 !memcmp(o.dbeta, p.dbeta, C * 4) &&
                                 !memcmp(&o.dalpha, &p.dalpha, 4);
            if (!same)
                fail_msg("%s %s %s %s: two calls differ at %d threads", WHO(v), t);
            io_free(&o);
            io_free(&p);
        }
        kern_pool_destroy(pool);
    }
}

DYT_TEST_MAIN("test_kernels_props", NULL, NULL, cmocka_unit_test(test_nan_propagates),
              cmocka_unit_test(test_constant_row_gives_beta),
              cmocka_unit_test(test_alpha_zero_gives_beta_bf16_rne),
              cmocka_unit_test(test_deterministic))
