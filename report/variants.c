/* report/variants.c: what the report says per kernel variant (norm, pass,
 * dtype, variant) over a run's cases -- its bandwidth, as GB/s and as % of
 * each case's own ceiling (with % of dram beside it, and how many cases
 * were above their ceiling), and its accuracy: the largest error its
 * pre-timing checks measured, over the output's scale and in ulps, so a
 * fast variant shows what its speed costs. */
#include "report_int.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static rep_variant_key key_of(const rep_case *c)
{
    return (rep_variant_key){c->c.norm, c->c.pass, c->c.dtype, c->c.variant};
}

static int same_variant(const rep_case *c, const rep_variant_key *k)
{
    return rep_str_eq(c->c.norm, k->norm) && rep_str_eq(c->c.pass, k->pass) &&
           rep_str_eq(c->c.dtype, k->dtype) && rep_str_eq(c->c.variant, k->variant);
}

/* Whether one of the n items (stride bytes apart, each starting with its
 * key) is c's variant. */
static int listed(const void *items, size_t n, size_t stride, const rep_case *c)
{
    for (size_t i = 0; i < n; i++)
        if (same_variant(c, (const rep_variant_key *)((const char *)items + i * stride)))
            return 1;
    return 0;
}

/* By norm, pass and dtype (each list's own order within them). */
static int cmp_key(const rep_variant_key *a, const rep_variant_key *b)
{
    int r;
    if ((r = strcmp(a->norm, b->norm)) || (r = strcmp(a->pass, b->pass)))
        return r;
    return strcmp(a->dtype, b->dtype);
}

static int cmp_variant(const void *x, const void *y)
{
    const rep_variant *a = x, *b = y;
    int r = cmp_key(&a->k, &b->k);
    if (r)
        return r;
    if (a->gbps_median != b->gbps_median) /* fastest first */
        return a->gbps_median < b->gbps_median ? 1 : -1;
    return strcmp(a->k.variant, b->k.variant);
}

/* Appends v to xs (n of them) when finite; keeps the largest in *best. */
static void keep(double *xs, size_t *n, double *best, double v)
{
    if (!isfinite(v))
        return;
    xs[(*n)++] = v;
    if (best && !(*best >= v))
        *best = v;
}

static void summarise_variant(const rep_run *run, size_t first, rep_variant *v, double *g,
                              double *cl, double *dr)
{
    size_t ng = 0, nc = 0, nd = 0;
    v->gbps_best = v->ceil_best = NAN;
    for (size_t j = first; j < run->cases.n; j++) {
        const rep_case *x = &run->cases.v[j];
        if (!rep_case_usable(x) || !same_variant(x, &v->k))
            continue;
        v->n_cases++;
        v->n_above += rep_case_above(x);
        keep(g, &ng, &v->gbps_best, x->st.gbps);
        keep(cl, &nc, &v->ceil_best, x->st.ceiling_pct);
        keep(dr, &nd, NULL, x->st.roofline_pct);
    }
    v->gbps_median = stats_median(g, ng);
    v->ceil_median = stats_median(cl, nc);
    v->dram_median = stats_median(dr, nd);
}

/* A case's error was measured: it was verified (ok or failed). */
static int verified(const rep_case *c)
{
    return isfinite(c->c.max_err) && (!strcmp(c->c.status, "ok") || !strcmp(c->c.status, "failed"));
}

static void summarise_accuracy(const rep_run *run, size_t first, rep_accuracy *q)
{
    q->max_err = q->max_err_tol = q->max_ulps = NAN;
    for (size_t j = first; j < run->cases.n; j++) {
        const rep_case *x = &run->cases.v[j];
        if (!verified(x) || !same_variant(x, &q->k))
            continue;
        q->n_verified++;
        q->n_failed += !strcmp(x->c.status, "failed");
        if (!(q->max_err >= x->c.max_err)) {
            q->max_err = x->c.max_err;
            q->max_err_tol = x->c.err_tol;
            q->max_err_output = x->c.err_output;
        }
        if (isfinite(x->c.max_ulps) && !(q->max_ulps >= x->c.max_ulps))
            q->max_ulps = x->c.max_ulps;
    }
}

static int cmp_accuracy(const void *x, const void *y)
{
    const rep_accuracy *a = x, *b = y;
    int r = cmp_key(&a->k, &b->k);
    if (r)
        return r;
    if (!(a->max_err == b->max_err) && isfinite(a->max_err) && isfinite(b->max_err))
        return a->max_err < b->max_err ? -1 : 1; /* most accurate first */
    return strcmp(a->k.variant, b->k.variant);
}

int rep_build_variants(const rep_run *run, rep_analysis *a, dyt_err *e)
{
    size_t n = run->cases.n + 1;
    a->variants = calloc(n, sizeof *a->variants);
    a->accuracy = calloc(n, sizeof *a->accuracy);
    double *g = malloc(n * sizeof *g), *cl = malloc(n * sizeof *cl), *dr = malloc(n * sizeof *dr);
    if (!a->variants || !a->accuracy || !g || !cl || !dr) {
        free(g);
        free(cl);
        free(dr);
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    }
    for (size_t i = 0; i < run->cases.n; i++) {
        const rep_case *c = &run->cases.v[i];
        a->n_above += rep_case_usable(c) && rep_case_above(c);
        if (rep_case_usable(c) && !listed(a->variants, a->n_variants, sizeof *a->variants, c)) {
            rep_variant *v = &a->variants[a->n_variants++];
            v->k = key_of(c);
            summarise_variant(run, i, v, g, cl, dr);
        }
        if (verified(c) && !listed(a->accuracy, a->n_accuracy, sizeof *a->accuracy, c)) {
            rep_accuracy *q = &a->accuracy[a->n_accuracy++];
            q->k = key_of(c);
            summarise_accuracy(run, i, q);
        }
    }
    free(g);
    free(cl);
    free(dr);
    qsort(a->variants, a->n_variants, sizeof *a->variants, cmp_variant);
    qsort(a->accuracy, a->n_accuracy, sizeof *a->accuracy, cmp_accuracy);
    return DYT_OK;
}
