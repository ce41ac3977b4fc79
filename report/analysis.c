/* report/analysis.c: what the tables and figures show, computed once from a
 * loaded run -- DyT against the model's own norm per shape (fastest ok
 * variant of each, speedup with a bootstrap interval from the raw samples;
 * a framework peer's cases paired among themselves, per framework variant),
 * the whole-model sums of the DyT paper's Table 7 (per-layer time x layer
 * count over all the sections of a model), and cases matched across runs
 * for --vs; per-variant bandwidth and accuracy are in variants.c. */
#include "report_int.h"
#include "stats.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int rep_str_eq(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

static int str_cmp(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

int rep_case_usable(const rep_case *c)
{
    return c->has_stats && !strcmp(c->c.status, "ok") && isfinite(c->st.median_ns) &&
           c->st.median_ns > 0;
}

char *rep_model_group(const char *section)
{
    /* Suffixes the shipped suites give the sections of one model: LLaMA's
     * -attn / -ffn-final, ConvNeXt's -sN / -sN-down / -head, wav2vec 2.0's
     * -feat. Stripped repeatedly, so convnext-b-s1-down -> convnext-b. */
    static const char *const sfx[] = {"-ffn-final", "-attn", "-ffn",  "-final",
                                      "-feat",      "-head", "-down", "-stem"};
    char *g = strdup(section);
    if (!g)
        return NULL;
    for (int again = 1; again;) {
        again = 0;
        size_t n = strlen(g);
        for (size_t i = 0; i < DYT_ARRAY_LEN(sfx); i++) {
            size_t k = strlen(sfx[i]);
            if (n > k && !strcmp(g + n - k, sfx[i])) {
                g[n - k] = 0;
                again = 1;
                break;
            }
        }
        n = strlen(g);
        if (!again && n > 3) { /* -s<digits> (a stage) */
            size_t j = n;
            while (j > 0 && isdigit((unsigned char)g[j - 1]))
                j--;
            if (j < n && j >= 3 && g[j - 1] == 's' && g[j - 2] == '-') {
                g[j - 2] = 0;
                again = 1;
            }
        }
    }
    return g;
}

/* Shape key: everything but norm, variant and pass. */
static int cmp_shape(const rep_case *a, const rep_case *b)
{
    int r;
    if ((r = str_cmp(a->c.domain, b->c.domain)) || (r = str_cmp(a->c.model, b->c.model)) ||
        (r = str_cmp(a->c.dtype, b->c.dtype)) || (r = str_cmp(a->c.cache, b->c.cache)) ||
        (r = str_cmp(a->c.device, b->c.device)))
        return r;
    if (a->c.rows != b->c.rows)
        return a->c.rows < b->c.rows ? -1 : 1;
    if (a->c.cols != b->c.cols)
        return a->c.cols < b->c.cols ? -1 : 1;
    return (a->c.threads > b->c.threads) - (a->c.threads < b->c.threads);
}

/* A usable case and who implements it. */
typedef struct {
    const rep_case *c;
    const char *impl;
} impl_case;

/* Shape, then implementation (dytbench's kernels first), then plan order. */
static int cmp_shape_impl(const void *x, const void *y)
{
    const impl_case *a = x, *b = y;
    int r = cmp_shape(a->c, b->c);
    if (r)
        return r;
    if (a->impl != b->impl)
        return !a->impl ? -1 : !b->impl ? 1 : strcmp(a->impl, b->impl);
    return (a->c->c.seq > b->c->c.seq) - (a->c->c.seq < b->c->c.seq);
}

const char *rep_impl_of(const rep_analysis *a, const rep_case *c)
{
    for (size_t i = 0; i < a->n_peer_variants; i++)
        if (rep_str_eq(c->c.variant, a->peer_variants[i]))
            return a->peer_variants[i];
    return NULL;
}

const rep_pair *rep_pair_find(const rep_analysis *a, const rep_pair *like, const char *impl)
{
    const rep_case *k = rep_pair_any(like);
    for (size_t i = 0; i < a->n_pairs; i++)
        if (rep_str_eq(a->pairs[i].impl, impl) && !cmp_shape(rep_pair_any(&a->pairs[i]), k))
            return &a->pairs[i];
    return NULL;
}

/* The framework variants of the run (its settings' peer.variants): a peer's
 * cases are paired among themselves, not with the kernels'. */
static int load_peer_variants(const rep_run *run, rep_analysis *a, dyt_err *e)
{
    json_t *j = run->run.settings ? json_loads(run->run.settings, 0, NULL) : NULL;
    json_t *vs = json_object_get(json_object_get(j, "peer"), "variants");
    size_t n = json_array_size(vs);
    a->peer_variants = calloc(n + 1, sizeof *a->peer_variants);
    int oom = !a->peer_variants;
    for (size_t i = 0; !oom && i < n; i++) {
        const char *v = json_string_value(json_array_get(vs, i));
        if (v && !(a->peer_variants[a->n_peer_variants++] = strdup(v)))
            oom = 1;
    }
    json_decref(j);
    return oom ? dyt_errf(e, DYT_RESOURCE, "report: out of memory") : DYT_OK;
}

/* Ratio median(b)/median(a) with its bootstrap interval from the samples;
 * without samples, the ratio of the stored medians and no interval. */
static int ratio_ci(store *db, const rep_case *a, const rep_case *b, double *ratio, double *lo,
                    double *hi, dyt_err *e)
{
    double *xa, *xb;
    size_t na, nb;
    *ratio = b->st.median_ns / a->st.median_ns;
    *lo = *hi = NAN;
    if (rep_load_samples(db, a->id, &xa, &na, e))
        return DYT_USAGE;
    if (rep_load_samples(db, b->id, &xb, &nb, e)) {
        free(xa);
        return DYT_USAGE;
    }
    if (na >= 2 && nb >= 2)
        *ratio =
            stats_ratio_ci(xa, na, xb, nb, REP_CONF, REP_BOOT_RESAMPLES, REP_BOOT_SEED, lo, hi);
    free(xa);
    free(xb);
    return DYT_OK;
}

static int min_seq(const rep_pair *p)
{
    int s = 1 << 30;
    for (int k = 0; k < 2; k++) {
        if (p->norm[k] && p->norm[k]->c.seq < s)
            s = p->norm[k]->c.seq;
        if (p->dyt[k] && p->dyt[k]->c.seq < s)
            s = p->dyt[k]->c.seq;
    }
    return s;
}

static int cmp_pair_seq(const void *x, const void *y)
{
    int a = min_seq(x), b = min_seq(y);
    return (a > b) - (a < b);
}

const rep_case *rep_pair_any(const rep_pair *p)
{
    for (int k = 0; k < 2; k++) {
        if (p->norm[k])
            return p->norm[k];
        if (p->dyt[k])
            return p->dyt[k];
    }
    return NULL;
}

/* One pair per shape and implementation: the kernels' fastest, and each
 * framework variant's own. */
static int build_pairs(store *db, const rep_run *run, rep_analysis *a, dyt_err *e)
{
    impl_case *v = malloc((run->cases.n + 1) * sizeof *v);
    if (!v)
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < run->cases.n; i++) {
        const rep_case *c = &run->cases.v[i];
        if (rep_case_usable(c) &&
            (!strcmp(c->c.norm, "dyt") || rep_str_eq(c->c.norm, c->c.model_norm)))
            v[n++] = (impl_case){c, rep_impl_of(a, c)};
    }
    qsort(v, n, sizeof *v, cmp_shape_impl);
    a->pairs = calloc(n + 1, sizeof *a->pairs);
    if (!a->pairs) {
        free(v);
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && !cmp_shape(v[i].c, v[j].c) && v[i].impl == v[j].impl)
            j++;
        rep_pair *p = &a->pairs[a->n_pairs++];
        p->impl = v[i].impl;
        for (size_t k = i; k < j; k++) {
            const rep_case *c = v[k].c;
            int pass = !strcmp(c->c.pass, "bwd") ? REP_BWD : REP_FWD;
            const rep_case **slot = !strcmp(c->c.norm, "dyt") ? &p->dyt[pass] : &p->norm[pass];
            if (!*slot || c->st.median_ns < (*slot)->st.median_ns) /* the fastest variant */
                *slot = c;
        }
        for (int k = 0; k < 2; k++) {
            p->speedup[k] = p->lo[k] = p->hi[k] = NAN;
            if (p->norm[k] && p->dyt[k] &&
                ratio_ci(db, p->dyt[k], p->norm[k], &p->speedup[k], &p->lo[k], &p->hi[k], e)) {
                free(v);
                return DYT_USAGE;
            }
        }
        i = j;
    }
    free(v);
    qsort(a->pairs, a->n_pairs, sizeof *a->pairs, cmp_pair_seq);
    return DYT_OK;
}

static int same_setting(const rep_case *x, const rep_case *y)
{
    return rep_str_eq(x->c.dtype, y->c.dtype) && rep_str_eq(x->c.cache, y->c.cache) &&
           rep_str_eq(x->c.device, y->c.device) && x->c.threads == y->c.threads;
}

/* The pair of section `model` matching the driver pair d of implementation
 * impl: the same token label (and the same rows when the label is missing
 * or not unique). */
static const rep_pair *match_section(const rep_analysis *a, const char *model, const rep_case *d,
                                     const char *impl)
{
    const rep_pair *by_label = NULL, *by_rows = NULL;
    int n_label = 0;
    for (size_t i = 0; i < a->n_pairs; i++) {
        const rep_case *c = rep_pair_any(&a->pairs[i]);
        if (!rep_str_eq(c->c.model, model) || !same_setting(c, d) || a->pairs[i].impl != impl)
            continue;
        if (c->c.rows == d->c.rows && rep_str_eq(c->c.token_label, d->c.token_label))
            by_rows = &a->pairs[i];
        if (d->c.token_label && *d->c.token_label &&
            rep_str_eq(c->c.token_label, d->c.token_label)) {
            by_label = &a->pairs[i];
            n_label++;
        }
    }
    if (by_rows)
        return by_rows;
    return n_label == 1 ? by_label : NULL;
}

static int append(char **s, const char *add)
{
    size_t n = *s ? strlen(*s) : 0;
    char *p = realloc(*s, n + strlen(add) + 3);
    if (!p)
        return -1;
    snprintf(p + n, strlen(add) + 3, "%s%s", n ? ", " : "", add);
    *s = p;
    return 0;
}

static int build_wholes(const rep_run *run, rep_analysis *a, dyt_err *e)
{
    /* Sections in plan order, with their group. */
    const char **sec = calloc(run->cases.n + 1, sizeof *sec);
    char **grp = calloc(run->cases.n + 1, sizeof *grp);
    int *layers = calloc(run->cases.n + 1, sizeof *layers);
    size_t ns = 0;
    int oom = !sec || !grp || !layers;
    for (size_t i = 0; !oom && i < run->cases.n; i++) {
        size_t k = 0;
        while (k < ns && !rep_str_eq(sec[k], run->cases.v[i].c.model))
            k++;
        if (k == ns) {
            sec[ns] = run->cases.v[i].c.model;
            layers[ns] = run->cases.v[i].c.layers;
            if (!(grp[ns++] = rep_model_group(run->cases.v[i].c.model)))
                oom = 1;
        }
    }
    a->wholes = calloc(a->n_pairs + 1, sizeof *a->wholes);
    oom |= !a->wholes;
    for (size_t i = 0; !oom && i < a->n_pairs; i++) {
        const rep_case *d = rep_pair_any(&a->pairs[i]);
        size_t first = 0;
        while (first < ns && strcmp(sec[first], d->c.model))
            first++;
        if (first == ns)
            continue;
        /* Only the group's first section drives; the others are matched. */
        size_t g0 = 0;
        while (g0 < ns && strcmp(grp[g0], grp[first]))
            g0++;
        if (g0 != first)
            continue;
        rep_whole *w = &a->wholes[a->n_wholes++];
        w->group = strdup(grp[first]);
        w->domain = d->c.domain;
        w->token = d->c.token_label;
        w->dtype = d->c.dtype;
        w->cache = d->c.cache;
        w->threads = d->c.threads;
        w->rows = d->c.rows;
        w->model_norm = d->c.model_norm;
        w->impl = a->pairs[i].impl;
        w->complete_inf = w->complete_train = 1;
        oom |= !w->group;
        for (size_t k = first; !oom && k < ns; k++) {
            if (strcmp(grp[k], grp[first]))
                continue;
            w->n_sections++;
            w->n_layers += (size_t)layers[k];
            const rep_pair *p =
                k == first ? &a->pairs[i] : match_section(a, sec[k], d, a->pairs[i].impl);
            if (p && rep_pair_any(p)->c.rows != d->c.rows)
                w->rows_vary = 1;
            int inf = p && p->norm[REP_FWD] && p->dyt[REP_FWD];
            int train = inf && p->norm[REP_BWD] && p->dyt[REP_BWD];
            if (!inf || !train)
                oom |= append(&w->missing, sec[k]);
            w->complete_inf &= inf;
            w->complete_train &= train;
            if (inf) {
                w->inf_norm += layers[k] * p->norm[REP_FWD]->st.median_ns;
                w->inf_dyt += layers[k] * p->dyt[REP_FWD]->st.median_ns;
            }
            if (train) {
                w->train_norm +=
                    layers[k] * (p->norm[REP_FWD]->st.median_ns + p->norm[REP_BWD]->st.median_ns);
                w->train_dyt +=
                    layers[k] * (p->dyt[REP_FWD]->st.median_ns + p->dyt[REP_BWD]->st.median_ns);
            }
        }
        if (!w->complete_inf)
            w->inf_norm = w->inf_dyt = NAN;
        if (!w->complete_train)
            w->train_norm = w->train_dyt = NAN;
    }
    for (size_t k = 0; k < ns; k++)
        free(grp[k]);
    free(grp);
    free(sec);
    free(layers);
    return oom ? dyt_errf(e, DYT_RESOURCE, "report: out of memory") : DYT_OK;
}

static int same_case(const rep_case *x, const rep_case *y)
{
    return !cmp_shape(x, y) && rep_str_eq(x->c.norm, y->c.norm) &&
           rep_str_eq(x->c.variant, y->c.variant) && rep_str_eq(x->c.pass, y->c.pass);
}

static int build_vs(store *db, const rep_run *run, const rep_run *vs, rep_vs *out, dyt_err *e)
{
    out->vs = vs;
    out->m = calloc(run->cases.n + 1, sizeof *out->m);
    if (!out->m)
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    for (size_t i = 0; i < run->cases.n; i++) {
        const rep_case *x = &run->cases.v[i];
        if (!rep_case_usable(x))
            continue;
        for (size_t j = 0; j < vs->cases.n; j++) {
            const rep_case *y = &vs->cases.v[j];
            if (!rep_case_usable(y) || !same_case(x, y))
                continue;
            rep_match *m = &out->m[out->n++];
            m->a = x;
            m->b = y;
            if (ratio_ci(db, x, y, &m->ratio, &m->lo, &m->hi, e))
                return DYT_USAGE;
            break;
        }
    }
    return DYT_OK;
}

int rep_analyse(store *db, const rep_run *run, const rep_run *vs, size_t n_vs, rep_analysis *a,
                dyt_err *e)
{
    memset(a, 0, sizeof *a);
    a->run = run;
    for (size_t i = 0; i < run->cases.n; i++) {
        const char *s = run->cases.v[i].c.status;
        if (!strcmp(s, "ok"))
            a->n_ok++;
        else if (!strcmp(s, "failed"))
            a->n_failed++;
        else
            a->n_skipped++;
    }
    int rc = load_peer_variants(run, a, e);
    if (!rc)
        rc = build_pairs(db, run, a, e);
    if (!rc)
        rc = build_wholes(run, a, e);
    if (!rc)
        rc = rep_build_variants(run, a, e);
    if (!rc && n_vs) {
        a->vs = calloc(n_vs, sizeof *a->vs);
        if (!a->vs)
            rc = dyt_errf(e, DYT_RESOURCE, "report: out of memory");
        for (size_t i = 0; !rc && i < n_vs; i++) {
            a->n_vs++;
            rc = build_vs(db, run, &vs[i], &a->vs[i], e);
        }
    }
    if (rc)
        rep_free_analysis(a);
    return rc;
}

void rep_free_analysis(rep_analysis *a)
{
    for (size_t i = 0; i < a->n_wholes; i++) {
        free(a->wholes[i].group);
        free(a->wholes[i].missing);
    }
    for (size_t i = 0; i < a->n_vs; i++)
        free(a->vs[i].m);
    for (size_t i = 0; i < a->n_peer_variants; i++)
        free(a->peer_variants[i]);
    free(a->peer_variants);
    free(a->pairs);
    free(a->wholes);
    free(a->variants);
    free(a->accuracy);
    free(a->vs);
    memset(a, 0, sizeof *a);
}
