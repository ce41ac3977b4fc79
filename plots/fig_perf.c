/* plots/fig_perf.c: the figures of raw performance -- achieved bandwidth
 * against hidden size, one curve per norm and dtype (one figure per pass),
 * and time per call against tokens at one hidden size, log-log with the
 * median's confidence interval as error bars. */
#include "plots_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int fig_usable(const fig_case *c)
{
    return isfinite(c->median_ns) && c->median_ns > 0;
}

const fig_case *fig_ref_case(const fig_input *in)
{
    for (size_t i = 0; i < in->n_cases; i++)
        if (fig_usable(&in->cases[i]))
            return &in->cases[i];
    return NULL;
}

static int same_setting(const fig_case *c, const fig_case *ref)
{
    return c->threads == ref->threads && !strcmp(c->cache, ref->cache) &&
           !strcmp(c->device, ref->device);
}

typedef struct {
    const char *norm, *dtype, *pass;
} series;

/* Distinct (norm, dtype[, pass]) among cases accepted by keep(). */
static size_t collect_series(const fig_input *in, const fig_case *ref, const char *pass,
                             int64_t cols, series *s, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < in->n_cases; i++) {
        const fig_case *c = &in->cases[i];
        if (!fig_usable(c) || !same_setting(c, ref) || (pass && strcmp(c->pass, pass)) ||
            (cols && c->cols != cols))
            continue;
        size_t k = 0;
        while (k < n && !(!strcmp(s[k].norm, c->norm) && !strcmp(s[k].dtype, c->dtype) &&
                          !strcmp(s[k].pass, c->pass)))
            k++;
        if (k == n && n < max)
            s[n++] = (series){c->norm, c->dtype, c->pass};
    }
    return n;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Sorted distinct values of cols (by_rows = 0) or rows of the cases of s. */
static size_t distinct(const fig_input *in, const fig_case *ref, const series *s, int64_t cols,
                       int by_rows, int64_t *v)
{
    size_t n = 0;
    for (size_t i = 0; i < in->n_cases; i++) {
        const fig_case *c = &in->cases[i];
        if (!fig_usable(c) || !same_setting(c, ref) || (cols && c->cols != cols) ||
            (s &&
             (strcmp(c->norm, s->norm) || strcmp(c->dtype, s->dtype) || strcmp(c->pass, s->pass))))
            continue;
        int64_t x = by_rows ? c->rows : c->cols;
        size_t k = 0;
        while (k < n && v[k] != x)
            k++;
        if (k == n)
            v[n++] = x;
    }
    qsort(v, n, sizeof *v, cmp_i64);
    return n;
}

int fig_bandwidth(const fig_input *in, const char *pass, fig_list *l, dyt_err *e)
{
    const fig_case *ref = fig_ref_case(in);
    if (!ref)
        return DYT_OK;
    series s[16];
    size_t ns = collect_series(in, ref, pass, 0, s, 16);
    int64_t *v = malloc((in->n_cases + 1) * sizeof *v);
    if (!v)
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    double gmin = INFINITY, gmax = 0;
    int64_t cmin = INT64_MAX, cmax = 0;
    size_t used = 0;
    char name[64], title[512], caption[512];
    snprintf(name, sizeof name, "bandwidth-%s", pass);
    snprintf(title, sizeof title, "Bandwidth vs hidden size, %s pass: %s", pass, l->run_title);
    fig_ctx c;
    if (ns == 0 || fig_begin(&c, l->dir, name, title, e)) {
        free(v);
        return ns ? DYT_USAGE : DYT_OK;
    }
    for (size_t k = 0; k < ns; k++) {
        size_t nv = distinct(in, ref, &s[k], 0, 0, v);
        char t[128];
        snprintf(t, sizeof t, "%s %s %s: hidden size, best GB/s over token counts and variants",
                 s[k].norm, s[k].dtype, s[k].pass);
        fig_block(&c, t);
        for (size_t j = 0; j < nv; j++) {
            double best = NAN;
            for (size_t i = 0; i < in->n_cases; i++) {
                const fig_case *x = &in->cases[i];
                if (fig_usable(x) && same_setting(x, ref) && x->cols == v[j] && isfinite(x->gbps) &&
                    !strcmp(x->norm, s[k].norm) && !strcmp(x->dtype, s[k].dtype) &&
                    !strcmp(x->pass, s[k].pass) && !(best >= x->gbps))
                    best = x->gbps;
            }
            if (!isfinite(best))
                continue;
            fprintf(c.dat, "%" PRId64 " %.6g\n", v[j], best);
            gmin = fmin(gmin, best);
            gmax = fmax(gmax, best);
            cmin = v[j] < cmin ? v[j] : cmin;
            cmax = v[j] > cmax ? v[j] : cmax;
            used++;
        }
        fprintf(c.plotf, "%s\"%s.dat\" index %zu using 1:2 with linespoints lt %zu title ",
                k ? ", " : "plot ", name, k, k + 1);
        char st[96];
        snprintf(st, sizeof st, "%s %s", s[k].norm, s[k].dtype);
        fig_str(c.plotf, st);
        fputs(" noenhanced", c.plotf);
    }
    free(v);
    fputs("set xlabel \"Hidden size (elements per row)\"\n"
          "set ylabel \"Bandwidth (GB/s, 1e9 bytes/s)\"\nset key outside right top\n"
          "set offsets graph 0.04, graph 0.04, 0, 0\n",
          c.gp);
    if (cmax >= 4 * cmin)
        fputs("set logscale x 2\n", c.gp);
    if (gmax >= 20 * gmin)
        fputs("set logscale y 10\n", c.gp);
    else
        fputs("set yrange [0:*]\n", c.gp);
    snprintf(caption, sizeof caption,
             "Achieved bandwidth (bytes a call must move / median time) against the row length, "
             "%s pass; at each hidden size the best case over token counts and variants; "
             "%d thread(s), %s cache.",
             pass, ref->threads, ref->cache);
    if (!used) {
        fig_end(&c, e);
        return DYT_OK;
    }
    return fig_finish(l, &c, title, caption, e);
}

int fig_tokens(const fig_input *in, fig_list *l, dyt_err *e)
{
    const fig_case *ref = fig_ref_case(in);
    if (!ref)
        return DYT_OK;
    int64_t *v = malloc((in->n_cases + 1) * sizeof *v),
            *hs = malloc((in->n_cases + 1) * sizeof *hs);
    if (!v || !hs) {
        free(v);
        free(hs);
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    }
    /* The hidden size with the most distinct token counts (ties: larger). */
    size_t nh = distinct(in, ref, NULL, 0, 0, hs), best_n = 0;
    int64_t hidden = 0;
    for (size_t i = 0; i < nh; i++) {
        size_t nr = distinct(in, ref, NULL, hs[i], 1, v);
        if (nr >= best_n) {
            best_n = nr;
            hidden = hs[i];
        }
    }
    free(hs);
    series s[16];
    size_t ns = best_n >= 2 ? collect_series(in, ref, NULL, hidden, s, 16) : 0;
    char title[512], caption[512];
    snprintf(title, sizeof title, "Time per call vs tokens at hidden size %" PRId64 ": %s", hidden,
             l->run_title);
    fig_ctx c;
    if (ns == 0 || fig_begin(&c, l->dir, "time-vs-tokens", title, e)) {
        free(v);
        return ns ? DYT_USAGE : DYT_OK;
    }
    for (size_t k = 0; k < ns; k++) {
        size_t nv = distinct(in, ref, &s[k], hidden, 1, v);
        char t[128];
        snprintf(t, sizeof t, "%s %s %s: rows, median us, CI low us, CI high us (fastest variant)",
                 s[k].norm, s[k].dtype, s[k].pass);
        fig_block(&c, t);
        for (size_t j = 0; j < nv; j++) {
            const fig_case *b = NULL;
            for (size_t i = 0; i < in->n_cases; i++) {
                const fig_case *x = &in->cases[i];
                if (fig_usable(x) && same_setting(x, ref) && x->cols == hidden && x->rows == v[j] &&
                    !strcmp(x->norm, s[k].norm) && !strcmp(x->dtype, s[k].dtype) &&
                    !strcmp(x->pass, s[k].pass) && (!b || x->median_ns < b->median_ns))
                    b = x;
            }
            if (b)
                fprintf(c.dat, "%" PRId64 " %.6g %.6g %.6g\n", v[j], b->median_ns / 1e3,
                        (isfinite(b->ci_low_ns) ? b->ci_low_ns : b->median_ns) / 1e3,
                        (isfinite(b->ci_high_ns) ? b->ci_high_ns : b->median_ns) / 1e3);
        }
        fprintf(c.plotf,
                "%s\"time-vs-tokens.dat\" index %zu using 1:2:3:4 with yerrorlines lt %zu title ",
                k ? ", " : "plot ", k, k + 1);
        char st[96];
        snprintf(st, sizeof st, "%s %s %s", s[k].norm, s[k].dtype, s[k].pass);
        fig_str(c.plotf, st);
        fputs(" noenhanced", c.plotf);
    }
    free(v);
    fputs("set xlabel \"Tokens (rows per call)\"\nset ylabel \"Time per call (µs)\"\n"
          "set logscale xy 10\nset key outside right top\n"
          "set offsets graph 0.04, graph 0.04, 0, 0\n",
          c.gp);
    snprintf(caption, sizeof caption,
             "Median time per call against the number of rows at hidden size %" PRId64
             " (the hidden size with the most token counts in this run), log-log; error bars: "
             "95%% CI of the median; fastest variant per point; %d thread(s), %s cache.",
             hidden, ref->threads, ref->cache);
    return fig_finish(l, &c, title, caption, e);
}
