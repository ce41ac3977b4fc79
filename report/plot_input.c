/* report/plot_input.c: the figures' input (plots/figures.h) from a report's
 * analysis -- the run's measured cases, the DyT/norm pairs, the variants'
 * share of the roofline and the cases matched with each --vs run -- as the
 * plain data plots/ draws, so that plots/ needs none of the report's
 * types. */
#include "report_int.h"

#include <stdlib.h>
#include <string.h>

static fig_case plot_case(const rep_case *x)
{
    const store_case *c = &x->c;
    return (fig_case){.domain = c->domain,
                      .model = c->model,
                      .norm = c->norm,
                      .dtype = c->dtype,
                      .pass = c->pass,
                      .cache = c->cache,
                      .device = c->device,
                      .rows = c->rows,
                      .cols = c->cols,
                      .threads = c->threads,
                      .median_ns = x->st.median_ns,
                      .ci_low_ns = x->st.ci_low_ns,
                      .ci_high_ns = x->st.ci_high_ns,
                      .gbps = x->st.gbps};
}

static int plot_cases(const rep_run *r, rep_plot_data *d)
{
    if (!(d->cases = calloc(r->cases.n + 1, sizeof *d->cases)))
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < r->cases.n; i++) {
        const rep_case *x = &r->cases.v[i];
        if (x->has_stats && !strcmp(x->c.status, "ok")) /* measured */
            d->cases[n++] = plot_case(x);
    }
    d->in.cases = d->cases;
    d->in.n_cases = n;
    return 0;
}

static int plot_pairs(const rep_analysis *a, rep_plot_data *d)
{
    if (!(d->pairs = calloc(a->n_pairs + 1, sizeof *d->pairs)))
        return -1;
    for (size_t i = 0; i < a->n_pairs; i++) {
        const rep_pair *p = &a->pairs[i];
        const store_case *c = &rep_pair_any(p)->c;
        fig_pair *f = &d->pairs[i];
        *f = (fig_pair){.domain = c->domain, .model = c->model, .dtype = c->dtype, .rows = c->rows};
        for (int k = 0; k < 2; k++) {
            f->speedup[k] = p->speedup[k];
            f->lo[k] = p->lo[k];
            f->hi[k] = p->hi[k];
        }
    }
    d->in.pairs = d->pairs;
    d->in.n_pairs = a->n_pairs;
    return 0;
}

static int plot_variants(const rep_analysis *a, rep_plot_data *d)
{
    if (!(d->variants = calloc(a->n_variants + 1, sizeof *d->variants)))
        return -1;
    for (size_t i = 0; i < a->n_variants; i++) {
        const rep_variant *v = &a->variants[i];
        d->variants[i] = (fig_variant){.norm = v->norm,
                                       .pass = v->pass,
                                       .dtype = v->dtype,
                                       .variant = v->variant,
                                       .roof_median = v->roof_median,
                                       .roof_best = v->roof_best};
    }
    d->in.variants = d->variants;
    d->in.n_variants = a->n_variants;
    return 0;
}

static int plot_vs(const rep_analysis *a, rep_plot_data *d)
{
    size_t n = a->n_vs;
    d->vs = calloc(n + 1, sizeof *d->vs);
    d->points = calloc(n + 1, sizeof *d->points);
    d->vs_names = calloc(n + 1, sizeof *d->vs_names);
    if (!d->vs || !d->points || !d->vs_names)
        return -1;
    d->in.vs = d->vs;
    d->in.n_vs = n; /* from here rep_plot_data_free frees points[0..n) */
    for (size_t i = 0; i < n; i++) {
        const rep_vs *v = &a->vs[i];
        if (!(d->points[i] = calloc(v->n + 1, sizeof **d->points)))
            return -1;
        for (size_t j = 0; j < v->n; j++) {
            const rep_match *m = &v->m[j];
            d->points[i][j] = (fig_vs_point){.norm = m->a->c.norm,
                                             .pass = m->a->c.pass,
                                             .a_ns = m->a->st.median_ns,
                                             .b_ns = m->b->st.median_ns};
        }
        rep_run_name(v->vs, d->vs_names[i], sizeof d->vs_names[i]);
        d->vs[i] = (fig_vs_run){.id = v->vs->run.id,
                                .name = d->vs_names[i],
                                .machine = v->vs->machine_desc,
                                .points = d->points[i],
                                .n_points = v->n};
    }
    return 0;
}

int rep_plot_data_build(const rep_analysis *a, rep_plot_data *d, dyt_err *e)
{
    memset(d, 0, sizeof *d);
    const rep_run *r = a->run;
    rep_run_name(r, d->run_name, sizeof d->run_name);
    d->in.run_name = d->run_name;
    d->in.hostname = r->machine.hostname;
    d->in.machine = r->machine_desc;
    d->in.complete = !strcmp(r->run.status, "complete");
    if (plot_cases(r, d) || plot_pairs(a, d) || plot_variants(a, d) || plot_vs(a, d)) {
        rep_plot_data_free(d);
        return dyt_errf(e, DYT_USAGE, "report: out of memory");
    }
    return DYT_OK;
}

void rep_plot_data_free(rep_plot_data *d)
{
    for (size_t i = 0; d->points && i < d->in.n_vs; i++)
        free(d->points[i]);
    free(d->points);
    free(d->cases);
    free(d->pairs);
    free(d->variants);
    free(d->vs);
    free(d->vs_names);
    memset(d, 0, sizeof *d);
}
