/* The verification harness (check.h): runs a variant and compares every
 * output with `ref` or with golden float64 answers. The tolerances are
 * here and nowhere else; docs/kernels.md derives them.
 *
 * The variant writes into fresh buffers pre-filled with NaN bit patterns,
 * so a variant that forgets an output cannot pass on stale data, and its
 * outputs never alias ref's. */
#include "check.h"
#include "bf16.h"
#include "check_model.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double kern_check_tol(dtype_kind d) { return d == DTYPE_F32 ? 1e-5 : 2e-2; }

size_t kern_check_sample_rows(size_t rows, size_t cols, size_t max_elems)
{
    if (cols == 0 || rows * cols <= max_elems)
        return rows;
    return DYT_MAX((size_t)1, max_elems / cols);
}

/* A value source for the comparison: a kernel's output in its storage type,
 * or golden float64. */
typedef enum { SRC_F32, SRC_BF16, SRC_F64 } src_kind;
typedef struct {
    const void *p;
    src_kind k;
} src;

static double src_at(src s, size_t i)
{
    switch (s.k) {
    case SRC_F32:
        return ((const float *)s.p)[i];
    case SRC_BF16:
        return bf16_to_f32(((const bf16_t *)s.p)[i]);
    default:
        return ((const double *)s.p)[i];
    }
}

static src act_src(const void *p, dtype_kind d) { return (src){p, d == DTYPE_F32 ? SRC_F32 : SRC_BF16}; }
static src f32_src(const float *p) { return (src){p, SRC_F32}; }

/* What the error model says about one output (check_model.h): each
 * element's magnitude (NULL: |r|), the conditioning allowance (NULL: none),
 * nterms > 0 for a reduction over that many terms (its rounding grows with
 * sqrt(nterms) * magnitude), and cond_mag > 0 when the allowance stands for
 * a magnitude, cond * cond_mag: fp32 statistics act on what they multiply,
 * so the error they cause is counted in ulps of that. */
typedef struct {
    const double *mag, *cond;
    double nterms, cond_mag;
} out_model;

/* Compares n values of one output (bf16_out: stored as bf16) against the
 * bound of its model. */
static void compare(kern_check_result *res, const char *name, src v, src r, size_t n, int bf16_out,
                    double tol, out_model om)
{
    const double *mag = om.mag, *cond = om.cond;
    double scale = 0;
    for (size_t i = 0; i < n; i++) {
        double m = mag ? mag[i] : fabs(src_at(r, i));
        if (m > scale && isfinite(m))
            scale = m;
    }
    const double red = om.nterms > 0 ? (8 * sqrt(om.nterms) + 16) * CHECK_U32 : 0;
    const double under = 2 * check_ulp(0, bf16_out); /* roundings below the normal range */
    const double norm = DYT_MAX(scale, FLT_MIN);     /* err and tol are reported over it */
    kern_check_output o = {.pass = 1};
    snprintf(o.name, sizeof o.name, "%s", name);
    double worst_ratio = -1;
    for (size_t i = 0; i < n; i++) {
        double a = src_at(v, i), b = src_at(r, i), err;
        if (isnan(b) || isnan(a))
            err = isnan(a) && isnan(b) ? 0 : INFINITY;
        else if (isinf(b) || isinf(a))
            err = a == b ? 0 : INFINITY;
        else
            err = fabs(a - b);
        double m = mag ? mag[i] : fabs(b);
        double allowed =
            tol * scale + red * m + (cond ? cond[i] : 0) + check_ulp(b, bf16_out) + under;
        double um = DYT_MAX(m, fabs(b));
        if (cond && om.cond_mag > 0)
            um = DYT_MAX(um, cond[i] * om.cond_mag);
        double ulps = err == 0 ? 0 : err / check_ulp(um, bf16_out);
        if (!(ulps <= o.ulps))
            o.ulps = ulps;
        double ratio = err / allowed;
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            o.err = err / norm;
            o.tol = allowed / norm;
            o.index = i;
            o.v = a;
            o.r = b;
        }
    }
    o.pass = worst_ratio <= 1.0;
    if (res->n_outputs < KERN_CHECK_MAX_OUTPUTS)
        res->outputs[res->n_outputs++] = o;
    if (!(o.ulps <= res->max_ulps))
        res->max_ulps = o.ulps;
    double cur = res->output[0] ? res->worst / res->tol : -1;
    if (!o.pass)
        res->pass = 0;
    if (worst_ratio > cur || !res->output[0]) {
        res->worst = o.err;
        res->tol = o.tol;
        snprintf(res->output, sizeof res->output, "%s", o.name);
    }
}

/* Golden answers for kern_check_core (NULL: run ref instead). */
typedef struct {
    const double *y, *mean, *rstd, *dx, *dgamma, *dbeta, *dalpha;
} golden_refs;

/* Buffers of one check, released together. */
typedef struct {
    void *p[16];
    size_t n;
    int oom;
} bufset;

static void *buf(bufset *b, size_t bytes, int fill)
{
    void *p = dyt_alloc(bytes ? bytes : 1);
    if (!p || b->n == DYT_ARRAY_LEN(b->p)) {
        dyt_free(p);
        b->oom = 1;
        return NULL;
    }
    memset(p, fill, bytes ? bytes : 1);
    return b->p[b->n++] = p;
}

static void bufs_free(bufset *b)
{
    for (size_t i = 0; i < b->n; i++)
        dyt_free(b->p[i]);
}

static int has_dbeta(const kern_check_inputs *in)
{
    return in->norm == NORM_DYT ? in->has_beta : in->norm == NORM_LAYERNORM && in->affine;
}

static int has_dgamma(const kern_check_inputs *in) { return in->norm == NORM_DYT || in->affine; }

/* Checks variant e, or with e NULL the outputs in `given` (computed
 * elsewhere), against ref or the golden answers g. */
static int check_core(const kern_entry *e, const kern_check_inputs *in, kern_pool *pool,
                      const golden_refs *g, const norm_args *given, kern_check_result *out,
                      dyt_err *err)
{
    memset(out, 0, sizeof *out);
    out->pass = 1;
    if (!e) {
        if (in->dtype == DTYPE_F16)
            return dyt_errf(err, DYT_USAGE, "fp16 has no CPU ref");
    } else if (e->norm != in->norm || e->pass != in->pass || e->dtype != in->dtype)
        return dyt_errf(err, DYT_USAGE, "variant %s is %s %s %s, inputs are %s %s %s", e->name,
                        norm_name(e->norm), pass_name(e->pass), dtype_name(e->dtype),
                        norm_name(in->norm), pass_name(in->pass), dtype_name(in->dtype));
    if (in->rows == 0 || in->cols == 0 || !in->x || (in->pass == PASS_BWD && !in->dy))
        return dyt_errf(err, DYT_USAGE, "check inputs incomplete (%zux%zu)", in->rows, in->cols);
    if (e && !kern_supported(e)) {
        out->skipped = 1;
        out->pass = 0;
        kern_unsupported_reason(e, out->reason, sizeof out->reason);
        return DYT_OK;
    }
    if (e && e->device == DEVICE_CUDA && in->dtype == DTYPE_F16) {
        /* There is no fp16 CPU oracle; the GPU test checks fp16 against a
         * widened fp32 ref (tests/cuda). */
        out->skipped = 1;
        out->pass = 0;
        snprintf(out->reason, sizeof out->reason, "fp16 has no CPU ref (see tests/cuda)");
        return DYT_OK;
    }
    const kern_entry *ref = kern_find(in->norm, in->pass, in->dtype, "ref");
    const kern_entry *ref_fwd = kern_find(in->norm, PASS_FWD, in->dtype, "ref");
    if (!g && !ref)
        return dyt_errf(err, DYT_USAGE, "no ref variant for %s %s %s", norm_name(in->norm),
                        pass_name(in->pass), dtype_name(in->dtype));
    size_t R = in->rows, C = in->cols, act = R * C * dtype_size(in->dtype);
    size_t rowb = R * sizeof(float), colb = C * sizeof(float);
    bufset b = {0};
    norm_args base = {.rows = R, .cols = C, .dtype = in->dtype, .alpha = in->alpha,
                      .eps = in->eps, .has_beta = in->has_beta, .affine = in->affine,
                      .x = in->x, .gamma = in->gamma, .beta = in->beta, .dy = in->dy};
    norm_args va = base, ra = base;
    kern_exec ex = {.pool = pool};
    /* Unaligned inputs get unaligned variant outputs too (one element off a
     * 64-byte boundary), so both sides of the kernel see odd addresses. */
    size_t off = ((uintptr_t)in->x % 64) ? dtype_size(in->dtype) : 0;
    int rc = DYT_OK;

    if (in->pass == PASS_FWD) {
        va.y = (char *)buf(&b, act + off, 0xff) + off;
        va.mean = buf(&b, rowb, 0xff);
        va.rstd = buf(&b, rowb, 0xff);
        if (!g) {
            ra.y = buf(&b, act, 0);
            ra.mean = buf(&b, rowb, 0);
            ra.rstd = buf(&b, rowb, 0);
        }
    } else {
        /* The statistics both backward calls read. */
        float *mean = (float *)in->mean, *rstd = (float *)in->rstd;
        int need = (in->norm == NORM_LAYERNORM && (!mean || !rstd)) ||
                   (in->norm == NORM_RMSNORM && !rstd);
        if (need) {
            norm_args fa = base;
            fa.y = buf(&b, act, 0);
            fa.mean = mean = buf(&b, rowb, 0);
            fa.rstd = rstd = buf(&b, rowb, 0);
            if (b.oom)
                goto oom;
            if (!ref_fwd || ref_fwd->fn(&fa, &ex) != 0) {
                rc = dyt_errf(err, DYT_USAGE, "ref forward refused %zux%zu", R, C);
                goto done;
            }
        }
        va.mean = ra.mean = mean;
        va.rstd = ra.rstd = rstd;
        va.dx = (char *)buf(&b, act + off, 0xff) + off;
        va.dgamma = buf(&b, colb, 0xff);
        va.dbeta = buf(&b, colb, 0xff);
        va.dalpha = buf(&b, sizeof(float), 0xff);
        if (!g) {
            ra.dx = buf(&b, act, 0);
            ra.dgamma = buf(&b, colb, 0);
            ra.dbeta = buf(&b, colb, 0);
            ra.dalpha = buf(&b, sizeof(float), 0);
        }
    }
    if (b.oom)
        goto oom;
    /* Outputs computed elsewhere take the variant's place (backward keeps
     * the statistics both sides read). */
    if (given && (in->pass == PASS_FWD ? !given->y
                                       : !given->dx || (has_dgamma(in) && !given->dgamma) ||
                                             (has_dbeta(in) && !given->dbeta) ||
                                             (in->norm == NORM_DYT && !given->dalpha))) {
        rc = dyt_errf(err, DYT_USAGE, "an output of %s %s is not given", norm_name(in->norm),
                      pass_name(in->pass));
        goto done;
    }
    if (given && in->pass == PASS_FWD) {
        va.y = given->y;
        va.mean = given->mean;
        va.rstd = given->rstd;
    } else if (given) {
        va.dx = given->dx;
        va.dgamma = given->dgamma;
        va.dbeta = given->dbeta;
        va.dalpha = given->dalpha;
    }
    if (!g && ref->fn(&ra, &ex) != 0) {
        rc = dyt_errf(err, DYT_USAGE, "ref refused %zux%zu", R, C);
        goto done;
    }
    /* GPU variants take device pointers: their backend copies in, runs and
     * copies out. Given outputs were computed already. */
    char dev_err[256] = "";
    int vrc = e ? kern_run_host(e, &va, &ex, dev_err, sizeof dev_err) : 0;
    if (vrc != 0 && dev_err[0]) {
        rc = dyt_errf(err, DYT_FAIL, "%s: %s", e->name, dev_err);
        goto done;
    }
    if (vrc != 0) {
        out->skipped = 1;
        out->pass = 0;
        snprintf(out->reason, sizeof out->reason, "variant refused the call (rc=%d)", vrc);
        goto done;
    }

    check_model m;
    if (check_model_build(in, &m) != 0)
        goto oom;
    double tol = kern_check_tol(in->dtype);
    int bf = in->dtype == DTYPE_BF16; /* activations' storage; the rest is fp32 */
    src_kind act_k = in->dtype == DTYPE_F32 ? SRC_F32 : SRC_BF16;
#define REF_OR(gv, p, k) (g ? (src){g->gv, SRC_F64} : (src){ra.p, k})
    /* backward norms: the conditioning is the fp32 statistics' */
    const double stats = in->norm == NORM_DYT ? 0 : 1 / (2 * CHECK_U32);
    if (in->pass == PASS_FWD) {
        compare(out, "y", act_src(va.y, in->dtype), REF_OR(y, y, act_k), R * C, bf, tol,
                (out_model){.mag = m.y_mag, .cond = m.y_cond});
        if (in->norm == NORM_LAYERNORM && va.mean)
            compare(out, "mean", f32_src(va.mean), REF_OR(mean, mean, SRC_F32), R, 0, tol,
                    (out_model){.mag = m.mean_mag});
        if (in->norm != NORM_DYT && va.rstd)
            compare(out, "rstd", f32_src(va.rstd), REF_OR(rstd, rstd, SRC_F32), R, 0, tol,
                    (out_model){.mag = NULL});
    } else {
        compare(out, "dx", act_src(va.dx, in->dtype), REF_OR(dx, dx, act_k), R * C, bf, tol,
                (out_model){.mag = m.dx_mag, .cond = m.dx_cond, .cond_mag = stats});
        if (has_dgamma(in))
            compare(out, "dgamma", f32_src(va.dgamma), REF_OR(dgamma, dgamma, SRC_F32), C, 0, tol,
                    (out_model){m.dg_mag, m.dg_cond, (double)R, stats});
        if (has_dbeta(in))
            compare(out, "dbeta", f32_src(va.dbeta), REF_OR(dbeta, dbeta, SRC_F32), C, 0, tol,
                    (out_model){.mag = m.db_mag, .nterms = (double)R});
        if (in->norm == NORM_DYT)
            compare(out, "dalpha", f32_src(va.dalpha), REF_OR(dalpha, dalpha, SRC_F32), 1, 0, tol,
                    (out_model){.mag = &m.da_mag, .cond = &m.da_cond, .nterms = (double)R * (double)C});
    }
#undef REF_OR
    check_model_free(&m);
    goto done;
oom:
    rc = dyt_errf(err, DYT_RESOURCE, "out of memory verifying %zux%zu", R, C);
done:
    bufs_free(&b);
    return rc;
}

int kern_check_variant(const kern_entry *e, const kern_check_inputs *in, kern_pool *pool,
                       kern_check_result *out, dyt_err *err)
{
    return check_core(e, in, pool, NULL, NULL, out, err);
}

int kern_check_given(const kern_check_inputs *in, const norm_args *given, kern_pool *pool,
                     kern_check_result *out, dyt_err *err)
{
    return check_core(NULL, in, pool, NULL, given, out, err);
}

/* Converts golden values to the storage type; 0 if every one is exact. */
static int to_storage(const double *v, size_t n, dtype_kind d, void *out)
{
    for (size_t i = 0; i < n; i++) {
        float f = (float)v[i];
        if (d == DTYPE_F32) {
            ((float *)out)[i] = f;
            if ((double)f != v[i])
                return -1;
        } else {
            bf16_t h = f32_to_bf16(f);
            ((bf16_t *)out)[i] = h;
            if ((double)bf16_to_f32(h) != v[i])
                return -1;
        }
    }
    return 0;
}

int kern_check_golden(const kern_entry *e, const vec_case *c, kern_pool *pool,
                      kern_check_result *out, dyt_err *err)
{
    memset(out, 0, sizeof *out);
    if (e->norm != c->norm)
        return dyt_errf(err, DYT_USAGE, "variant %s is %s, golden case is %s", e->name,
                        norm_name(e->norm), norm_name(c->norm));
    size_t R = c->rows, C = c->cols, es = dtype_size(e->dtype);
    const vec_tensor *tx = vec_find(c, "x"), *tdy = vec_find(c, "dy");
    const vec_tensor *tg = vec_find(c, "gamma"), *tb = vec_find(c, "beta");
    const vec_tensor *tm = vec_find(c, "mean"), *ts = vec_find(c, "rstd");
    bufset b = {0};
    void *x = buf(&b, R * C * es, 0), *dy = buf(&b, R * C * es, 0);
    float *gamma = tg ? buf(&b, C * sizeof(float), 0) : NULL;
    float *beta = tb ? buf(&b, C * sizeof(float), 0) : NULL;
    float *mean = tm ? buf(&b, R * sizeof(float), 0) : NULL;
    float *rstd = ts ? buf(&b, R * sizeof(float), 0) : NULL;
    int rc = DYT_OK;
    if (b.oom) {
        rc = dyt_errf(err, DYT_RESOURCE, "out of memory");
        goto done;
    }
    if (!tx || !tdy ||
        to_storage(tx->v, R * C, e->dtype, x) || to_storage(tdy->v, R * C, e->dtype, dy) ||
        (tg && to_storage(tg->v, C, DTYPE_F32, gamma)) ||
        (tb && to_storage(tb->v, C, DTYPE_F32, beta))) {
        out->skipped = 1;
        snprintf(out->reason, sizeof out->reason, "inputs not exact in %s", dtype_name(e->dtype));
        goto done;
    }
    for (size_t i = 0; tm && i < R; i++)
        mean[i] = (float)tm->v[i];
    for (size_t i = 0; ts && i < R; i++)
        rstd[i] = (float)ts->v[i];
    if ((float)c->alpha != c->alpha) {
        out->skipped = 1;
        snprintf(out->reason, sizeof out->reason, "alpha not exact in fp32");
        goto done;
    }
    kern_check_inputs in = {.norm = c->norm, .pass = e->pass, .dtype = e->dtype, .rows = R,
                            .cols = C, .alpha = (float)c->alpha, .eps = (float)c->eps,
                            .has_beta = c->has_beta, .affine = c->affine, .x = x, .dy = dy,
                            .gamma = gamma, .beta = beta, .mean = mean, .rstd = rstd};
#define GV(n) (vec_find(c, n) ? vec_find(c, n)->v : NULL)
    golden_refs gr = {GV("y"), GV("mean"), GV("rstd"), GV("dx"), GV("dgamma"), GV("dbeta"), GV("dalpha")};
#undef GV
    rc = check_core(e, &in, pool, &gr, NULL, out, err);
done:
    bufs_free(&b);
    return rc;
}

int kern_check_random(const kern_entry *e, const kern_check_random_spec *s, kern_pool *pool,
                      kern_check_result *out, dyt_err *err)
{
    memset(out, 0, sizeof *out);
    size_t R = s->rows, C = s->cols, n = R * C, es = dtype_size(e->dtype), off = s->misalign ? 1 : 0;
    bufset b = {0};
    char *xb = buf(&b, (n + off) * es, 0), *dyb = buf(&b, (n + off) * es, 0);
    float *gamma = buf(&b, C * sizeof(float), 0), *beta = buf(&b, C * sizeof(float), 0);
    if (b.oom) {
        bufs_free(&b);
        return dyt_errf(err, DYT_RESOURCE, "out of memory for a %zux%zu check", R, C);
    }
    void *x = xb + off * es, *dy = dyb + off * es;
    dyt_rng rng;
    dyt_rng_seed(&rng, s->seed);
    for (size_t i = 0; i < n; i++) {
        float xv = (float)dyt_rng_normal(&rng, s->mean, s->spread);
        float dv = (float)dyt_rng_normal(&rng, 0, 1);
        if (e->dtype == DTYPE_F32) {
            ((float *)x)[i] = xv;
            ((float *)dy)[i] = dv;
        } else {
            ((bf16_t *)x)[i] = f32_to_bf16(xv);
            ((bf16_t *)dy)[i] = f32_to_bf16(dv);
        }
    }
    for (size_t j = 0; j < C; j++) {
        gamma[j] = (float)dyt_rng_normal(&rng, 1, 0.25);
        beta[j] = (float)dyt_rng_normal(&rng, 0, 0.25);
    }
    kern_check_inputs in = {.norm = e->norm, .pass = e->pass, .dtype = e->dtype, .rows = R,
                            .cols = C, .alpha = s->alpha, .eps = 1e-5f, .has_beta = 1, .affine = 1,
                            .x = x, .dy = dy, .gamma = gamma, .beta = beta};
    int rc = kern_check_variant(e, &in, pool, out, err);
    bufs_free(&b);
    return rc;
}
