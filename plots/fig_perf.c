/* plots/fig_perf.c: the figures of raw performance -- achieved bandwidth
 * against hidden size, one curve per norm and dtype (one figure per pass),
 * and time per call against tokens at one hidden size, log-log with the
 * median's confidence interval as error bars. */
#include "figures.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int fig_usable(const rep_case *c)
{
    return c->has_stats && !strcmp(c->c.status, "ok") && isfinite(c->st.median_ns) &&
           c->st.median_ns > 0;
}

const rep_case *fig_ref_case(const rep_run *r)
{
    for (size_t i = 0; i < r->cases.n; i++)
        if (fig_usable(&r->cases.v[i]))
            return &r->cases.v[i];
    return NULL;
}

static int same_setting(const rep_case *c, const rep_case *ref)
{
    return c->c.threads == ref->c.threads && !strcmp(c->c.cache, ref->c.cache) &&
           !strcmp(c->c.device, ref->c.device);
}

typedef struct {
    const char *norm, *dtype, *pass;
} series;

/* Distinct (norm, dtype[, pass]) among cases accepted by keep(). */
static size_t collect_series(const rep_run *r, const rep_case *ref, const char *pass, int64_t cols,
                             series *s, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->cases.n; i++) {
        const rep_case *c = &r->cases.v[i];
        if (!fig_usable(c) || !same_setting(c, ref) || (pass && strcmp(c->c.pass, pass)) ||
            (cols && c->c.cols != cols))
            continue;
        size_t k = 0;
        while (k < n && !(!strcmp(s[k].norm, c->c.norm) && !strcmp(s[k].dtype, c->c.dtype) &&
                          !strcmp(s[k].pass, c->c.pass)))
            k++;
        if (k == n && n < max)
            s[n++] = (series){c->c.norm, c->c.dtype, c->c.pass};
    }
    return n;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Sorted distinct values of cols (by_rows = 0) or rows of the cases of s. */
static size_t distinct(const rep_run *r, const rep_case *ref, const series *s, int64_t cols,
                       int by_rows, int64_t *v)
{
    size_t n = 0;
    for (size_t i = 0; i < r->cases.n; i++) {
        const rep_case *c = &r->cases.v[i];
        if (!fig_usable(c) || !same_setting(c, ref) || (cols && c->c.cols != cols) ||
            (s && (strcmp(c->c.norm, s->norm) || strcmp(c->c.dtype, s->dtype) ||
                   strcmp(c->c.pass, s->pass))))
            continue;
        int64_t x = by_rows ? c->c.rows : c->c.cols;
        size_t k = 0;
        while (k < n && v[k] != x)
            k++;
        if (k == n)
            v[n++] = x;
    }
    qsort(v, n, sizeof *v, cmp_i64);
    return n;
}

int fig_bandwidth(const rep_analysis *a, const char *pass, fig_list *l, dyt_err *e)
{
    const rep_run *r = a->run;
    const rep_case *ref = fig_ref_case(r);
    if (!ref)
        return DYT_OK;
    series s[16];
    size_t ns = collect_series(r, ref, pass, 0, s, 16);
    int64_t *v = malloc((r->cases.n + 1) * sizeof *v);
    if (!v)
        return dyt_errf(e, DYT_USAGE, "report: out of memory");
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
        size_t nv = distinct(r, ref, &s[k], 0, 0, v);
        char t[128];
        snprintf(t, sizeof t, "%s %s %s: hidden size, best GB/s over token counts and variants",
                 s[k].norm, s[k].dtype, s[k].pass);
        fig_block(&c, t);
        for (size_t j = 0; j < nv; j++) {
            double best = NAN;
            for (size_t i = 0; i < r->cases.n; i++) {
                const rep_case *x = &r->cases.v[i];
                if (fig_usable(x) && same_setting(x, ref) && x->c.cols == v[j] &&
                    isfinite(x->st.gbps) && !strcmp(x->c.norm, s[k].norm) &&
                    !strcmp(x->c.dtype, s[k].dtype) && !strcmp(x->c.pass, s[k].pass) &&
                    !(best >= x->st.gbps))
                    best = x->st.gbps;
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
             pass, ref->c.threads, ref->c.cache);
    if (!used) {
        fig_end(&c, e);
        return DYT_OK;
    }
    return fig_finish(l, &c, title, caption, e);
}

int fig_tokens(const rep_analysis *a, fig_list *l, dyt_err *e)
{
    const rep_run *r = a->run;
    const rep_case *ref = fig_ref_case(r);
    if (!ref)
        return DYT_OK;
    int64_t *v = malloc((r->cases.n + 1) * sizeof *v), *hs = malloc((r->cases.n + 1) * sizeof *hs);
    if (!v || !hs) {
        free(v);
        free(hs);
        return dyt_errf(e, DYT_USAGE, "report: out of memory");
    }
    /* The hidden size with the most distinct token counts (ties: larger). */
    size_t nh = distinct(r, ref, NULL, 0, 0, hs), best_n = 0;
    int64_t hidden = 0;
    for (size_t i = 0; i < nh; i++) {
        size_t nr = distinct(r, ref, NULL, hs[i], 1, v);
        if (nr >= best_n) {
            best_n = nr;
            hidden = hs[i];
        }
    }
    free(hs);
    series s[16];
    size_t ns = best_n >= 2 ? collect_series(r, ref, NULL, hidden, s, 16) : 0;
    char title[512], caption[512];
    snprintf(title, sizeof title, "Time per call vs tokens at hidden size %" PRId64 ": %s", hidden,
             l->run_title);
    fig_ctx c;
    if (ns == 0 || fig_begin(&c, l->dir, "time-vs-tokens", title, e)) {
        free(v);
        return ns ? DYT_USAGE : DYT_OK;
    }
    for (size_t k = 0; k < ns; k++) {
        size_t nv = distinct(r, ref, &s[k], hidden, 1, v);
        char t[128];
        snprintf(t, sizeof t, "%s %s %s: rows, median us, CI low us, CI high us (fastest variant)",
                 s[k].norm, s[k].dtype, s[k].pass);
        fig_block(&c, t);
        for (size_t j = 0; j < nv; j++) {
            const rep_case *b = NULL;
            for (size_t i = 0; i < r->cases.n; i++) {
                const rep_case *x = &r->cases.v[i];
                if (fig_usable(x) && same_setting(x, ref) && x->c.cols == hidden &&
                    x->c.rows == v[j] && !strcmp(x->c.norm, s[k].norm) &&
                    !strcmp(x->c.dtype, s[k].dtype) && !strcmp(x->c.pass, s[k].pass) &&
                    (!b || x->st.median_ns < b->st.median_ns))
                    b = x;
            }
            if (b)
                fprintf(c.dat, "%" PRId64 " %.6g %.6g %.6g\n", v[j], b->st.median_ns / 1e3,
                        (isfinite(b->st.ci_low_ns) ? b->st.ci_low_ns : b->st.median_ns) / 1e3,
                        (isfinite(b->st.ci_high_ns) ? b->st.ci_high_ns : b->st.median_ns) / 1e3);
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
             hidden, ref->c.threads, ref->c.cache);
    return fig_finish(l, &c, title, caption, e);
}
