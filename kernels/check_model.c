/* The checker's error model (check_model.h): per output element, the
 * magnitude it is formed from and the error the problem allows a correct
 * fp32 variant beyond its own arithmetic, in double from the inputs and
 * the exact row statistics.
 *
 * Magnitudes (m): DyT y = g*t + b: |g*t| + |b|; dx = dy*g*a*(1 - t^2):
 * |dy*g*a|*(1 + t^2). LayerNorm y = xh*g + b: (|xh| + d)*|g| + |b|, where
 * d = rho*std (<= 1) is the scale xh = (x - mean)*rho is itself formed at;
 * dx = rho*(g' - m1 - xh*m2): rho*(|g'| + mean|g'| + (|xh| + d)*mean|g'*xh|),
 * g' = dy*g, m1 = mean(g'), m2 = mean(g'*xh) (sums: at the magnitude of
 * their terms); RMSNorm the same without b, m1 and d (x*rho is a product);
 * mean: mean(|x|). Reductions: the sum of the magnitudes bounding each term
 * (sum |dy| for DyT's dgamma and every dbeta, sum |dy*xh| for the norms'
 * dgamma, sum |dy*g*x| for dalpha).
 *
 * Conditioning (cond):
 *  - fp32 statistics. Backward reads mean and rstd rounded to fp32 (each
 *    within u = 2^-24 relative), so a variant's xh is off by up to
 *    dxh = u*(|xh| + |mean|*rho): the bound grows with |mean|/std * 2^-24.
 *    To first order that moves dgamma_j by sum |dy|*dxh and dx_i by
 *    u*|dx_i| + rho*(dxh_i*|m2| + |xh_i|*mean(|g'|*dxh)); twice those are
 *    allowed. Forward is not given this: a variant can form y from x
 *    without losing the mean's digits, and one that does not (oneDNN's
 *    LayerNorm at large row means) is a genuine inaccuracy.
 *  - the fp32 tanh of the variants (CHECK_TANH_ULPS ulps of t): |g| times
 *    that in y and dgamma's terms, 2|t| times it in sech^2 = 1 - t^2. */
#include "check_model.h"
#include "portable.h"
#include "ref.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double check_ulp(double v, int bf16)
{
    v = fabs(v);
    if (!(v >= FLT_MIN))
        return bf16 ? 0x1p-133 : 0x1p-149;
    if (isinf(v))
        return INFINITY;
    int e;
    frexp(v, &e); /* v = f * 2^e, 0.5 <= f < 1 */
    return ldexp(1.0, e - (bf16 ? 8 : 24));
}

static double at(const void *p, dtype_kind d, size_t i)
{
    return port_ld(p, d, i);
}

static double gamma_of(const kern_check_inputs *in, size_t j)
{
    return in->gamma && (in->norm == NORM_DYT || in->affine) ? in->gamma[j] : 1.0;
}

static double beta_of(const kern_check_inputs *in, size_t j)
{
    int use = in->norm == NORM_DYT ? in->has_beta : in->norm == NORM_LAYERNORM && in->affine;
    return in->beta && use ? in->beta[j] : 0.0;
}

void check_model_free(check_model *m)
{
    double *p[] = {m->y_mag,   m->y_cond, m->mean_mag, m->dx_mag,
                   m->dx_cond, m->dg_mag, m->dg_cond,  m->db_mag};
    for (size_t i = 0; i < DYT_ARRAY_LEN(p); i++)
        free(p[i]);
    memset(m, 0, sizeof *m);
}

static double *zeros(size_t n, int *oom)
{
    double *p = calloc(n ? n : 1, sizeof *p);
    *oom |= !p;
    return p;
}

/* The error of the fp32 tanh at t. */
static double tanh_err(double t)
{
    return CHECK_TANH_ULPS * check_ulp(t, 0);
}

static void dyt_row(const kern_check_inputs *in, size_t r, check_model *m)
{
    size_t C = in->cols;
    for (size_t j = 0; j < C; j++) {
        size_t i = r * C + j;
        double x = at(in->x, in->dtype, i), g = gamma_of(in, j);
        double t = tanh((double)in->alpha * x), dt = tanh_err(t);
        if (in->pass == PASS_FWD) {
            m->y_mag[i] = fabs(g * t) + fabs(beta_of(in, j));
            m->y_cond[i] = fabs(g) * dt;
            continue;
        }
        double dy = at(in->dy, in->dtype, i), dga = fabs(dy * g * in->alpha);
        m->dx_mag[i] = dga * (1 + t * t);
        m->dx_cond[i] = dga * 2 * fabs(t) * dt;
        m->dg_mag[j] += fabs(dy);
        m->dg_cond[j] += fabs(dy) * dt;
        m->db_mag[j] += fabs(dy);
        m->da_mag += fabs(dy * g * x);
        m->da_cond += fabs(dy * g * x) * 2 * fabs(t) * dt;
    }
}

/* LayerNorm and RMSNorm (mean 0, no m1 term). */
static void norm_row(const kern_check_inputs *in, size_t r, check_model *m)
{
    size_t C = in->cols;
    double mean, rho;
    ref_row_stats(in->norm, (const char *)in->x + r * C * dtype_size(in->dtype), in->dtype, C,
                  in->eps, &mean, &rho);
    /* LayerNorm's xh is a difference x - mean: at best it is known to the
     * precision of the row's spread, rho * std (<= 1). */
    double var = 1 / (rho * rho) - in->eps;
    const double dev = in->norm == NORM_LAYERNORM && var > 0 ? rho * sqrt(var) : 0;
    if (in->pass == PASS_FWD) {
        double sa = 0;
        for (size_t j = 0; j < C; j++) {
            size_t i = r * C + j;
            double x = at(in->x, in->dtype, i), xh = (x - mean) * rho;
            m->y_mag[i] = (fabs(xh) + dev) * fabs(gamma_of(in, j)) + fabs(beta_of(in, j));
            sa += fabs(x);
        }
        if (m->mean_mag)
            m->mean_mag[r] = sa / (double)C;
        return;
    }
    /* m1, m2 and the means of their terms' magnitudes (what the sums are
     * formed at), and of what the fp32 statistics move m2 by */
    double m1 = 0, m2 = 0, a1 = 0, a2 = 0, mgd = 0;
    const double u = CHECK_U32, shift = fabs(mean) * rho;
    for (size_t j = 0; j < C; j++) {
        size_t i = r * C + j;
        double xh = (at(in->x, in->dtype, i) - mean) * rho;
        double g = at(in->dy, in->dtype, i) * gamma_of(in, j);
        m1 += g;
        m2 += g * xh;
        a1 += fabs(g);
        a2 += fabs(g * xh);
        mgd += fabs(g) * u * (fabs(xh) + shift);
    }
    int ln = in->norm == NORM_LAYERNORM;
    m1 = ln ? m1 / (double)C : 0;
    a1 = ln ? a1 / (double)C : 0;
    m2 /= (double)C;
    a2 /= (double)C;
    mgd /= (double)C;
    for (size_t j = 0; j < C; j++) {
        size_t i = r * C + j;
        double xh = (at(in->x, in->dtype, i) - mean) * rho, dy = at(in->dy, in->dtype, i);
        double g = dy * gamma_of(in, j), dxh = u * (fabs(xh) + shift);
        double dx = rho * (g - m1 - xh * m2);
        m->dx_mag[i] = rho * (fabs(g) + a1 + (fabs(xh) + dev) * a2);
        m->dx_cond[i] = 2 * (u * fabs(dx) + rho * (dxh * fabs(m2) + fabs(xh) * mgd));
        m->dg_mag[j] += fabs(dy * xh);
        m->dg_cond[j] += 2 * fabs(dy) * dxh;
        m->db_mag[j] += fabs(dy);
    }
}

int check_model_build(const kern_check_inputs *in, check_model *m)
{
    memset(m, 0, sizeof *m);
    size_t R = in->rows, C = in->cols, n = R * C;
    m->rows = R;
    m->cols = C;
    int oom = 0;
    if (in->pass == PASS_FWD) {
        m->y_mag = zeros(n, &oom);
        m->y_cond = zeros(n, &oom);
        if (in->norm == NORM_LAYERNORM)
            m->mean_mag = zeros(R, &oom);
    } else {
        m->dx_mag = zeros(n, &oom);
        m->dx_cond = zeros(n, &oom);
        m->dg_mag = zeros(C, &oom);
        m->dg_cond = zeros(C, &oom);
        m->db_mag = zeros(C, &oom);
    }
    if (oom) {
        check_model_free(m);
        return -1;
    }
    for (size_t r = 0; r < R; r++) {
        if (in->norm == NORM_DYT)
            dyt_row(in, r, m);
        else
            norm_row(in, r, m);
    }
    return 0;
}
