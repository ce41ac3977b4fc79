/* report/plot_input.c: the figures' input (plots/figures.h) from a report's
 * analysis -- the run's measured cases, the DyT/norm pairs, the variants'
 * share of their ceilings and the cases matched with each --vs run -- as the
 * plain data plots/ draws, so that plots/ needs none of the report's
 * types. Its arrays share one allocation; the strings stay the analysis'. */
#include "report_int.h"

#include <stdlib.h>
#include <string.h>

typedef char run_name[160];

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

static fig_pair plot_pair(const rep_pair *p)
{
    const store_case *c = &rep_pair_any(p)->c;
    fig_pair f = {.domain = c->domain, .model = c->model, .dtype = c->dtype, .rows = c->rows};
    for (int k = 0; k < 2; k++) {
        f.speedup[k] = p->speedup[k];
        f.lo[k] = p->lo[k];
        f.hi[k] = p->hi[k];
    }
    return f;
}

static fig_variant plot_variant(const rep_variant *v)
{
    return (fig_variant){.norm = v->k.norm,
                         .pass = v->k.pass,
                         .dtype = v->k.dtype,
                         .variant = v->k.variant,
                         .ceil_median = v->ceil_median,
                         .ceil_best = v->ceil_best};
}

static fig_vs_point plot_point(const rep_match *m)
{
    return (fig_vs_point){.norm = m->a->c.norm,
                          .pass = m->a->c.pass,
                          .a_ns = m->a->st.median_ns,
                          .b_ns = m->b->st.median_ns};
}

int rep_plot_data_build(const rep_analysis *a, rep_plot_data *d, dyt_err *e)
{
    memset(d, 0, sizeof *d);
    const rep_run *r = a->run;
    size_t n_points = 0;
    for (size_t i = 0; i < a->n_vs; i++)
        n_points += a->vs[i].n;
    /* Every element type holds pointers or doubles: the arrays can follow
     * one another in one block, the names (chars) last. */
    size_t bytes = r->cases.n * sizeof(fig_case) + a->n_pairs * sizeof(fig_pair) +
                   a->n_variants * sizeof(fig_variant) + a->n_vs * sizeof(fig_vs_run) +
                   n_points * sizeof(fig_vs_point) + a->n_vs * sizeof(run_name);
    if (!(d->mem = malloc(bytes ? bytes : 1)))
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    fig_case *cases = d->mem;
    fig_pair *pairs = (fig_pair *)(cases + r->cases.n);
    fig_variant *variants = (fig_variant *)(pairs + a->n_pairs);
    fig_vs_run *vs = (fig_vs_run *)(variants + a->n_variants);
    fig_vs_point *points = (fig_vs_point *)(vs + a->n_vs);
    run_name *names = (run_name *)(points + n_points);

    size_t n_cases = 0;
    for (size_t i = 0; i < r->cases.n; i++)
        if (r->cases.v[i].has_stats && !strcmp(r->cases.v[i].c.status, "ok")) /* measured */
            cases[n_cases++] = plot_case(&r->cases.v[i]);
    /* The figures draw the kernels' pairs; a framework peer's are in the
     * tables. */
    size_t n_pairs = 0;
    for (size_t i = 0; i < a->n_pairs; i++)
        if (!a->pairs[i].impl)
            pairs[n_pairs++] = plot_pair(&a->pairs[i]);
    for (size_t i = 0; i < a->n_variants; i++)
        variants[i] = plot_variant(&a->variants[i]);
    for (size_t i = 0; i < a->n_vs; i++) {
        const rep_vs *v = &a->vs[i];
        rep_run_name(v->vs, names[i], sizeof names[i]);
        vs[i] = (fig_vs_run){.id = v->vs->run.id,
                             .name = names[i],
                             .machine = v->vs->machine_desc,
                             .points = points,
                             .n_points = v->n};
        for (size_t j = 0; j < v->n; j++)
            *points++ = plot_point(&v->m[j]);
    }
    rep_run_name(r, d->run_name, sizeof d->run_name);
    d->in = (fig_input){.run_name = d->run_name,
                        .hostname = r->machine.hostname,
                        .machine = r->machine_desc,
                        .complete = !strcmp(r->run.status, "complete"),
                        .cases = cases,
                        .n_cases = n_cases,
                        .pairs = pairs,
                        .n_pairs = n_pairs,
                        .variants = variants,
                        .n_variants = a->n_variants,
                        .vs = vs,
                        .n_vs = a->n_vs};
    return DYT_OK;
}

void rep_plot_data_free(rep_plot_data *d)
{
    free(d->mem);
    memset(d, 0, sizeof *d);
}
