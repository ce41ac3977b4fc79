/* plots/figures.c: % of ceiling per kernel variant, machine against
 * machine for --vs, and the driver that writes every figure (fig_perf.c
 * has the bandwidth and time ones, fig_speedup.c DyT's speedup; gp.c the
 * machinery they share). */
#include "plots_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* % of ceiling per variant ---------------------------------------------- */

static int fig_roofline(const fig_input *in, fig_list *l, dyt_err *e)
{
    /* One horizontal bar per variant row of table (c), in its order (fastest
     * first within norm, pass, dtype), coloured by norm. */
    size_t nv = 0;
    for (size_t i = 0; i < in->n_variants; i++)
        nv += isfinite(in->variants[i].ceil_median);
    if (!nv)
        return DYT_OK;
    char title[512];
    snprintf(title, sizeof title, "%% of its measured ceiling per kernel variant: %s",
             l->run_title);
    fig_ctx c;
    if (fig_begin(&c, l->dir, "roofline", title, e))
        return DYT_USAGE;
    c.height = 200 + 22 * (int)nv;
    if (c.height < 450)
        c.height = 450;
    static const char *const norms[] = {"dyt", "layernorm", "rmsnorm"};
    static const int pattern[] = {3, 4, 5};
    fputs("set ytics (", c.gp);
    size_t y = 0;
    for (size_t i = 0; i < in->n_variants; i++) {
        const fig_variant *v = &in->variants[i];
        if (!isfinite(v->ceil_median))
            continue;
        char lab[256];
        snprintf(lab, sizeof lab, "%s %s %s %s", v->norm, v->pass, v->dtype, v->variant);
        fputs(y ? ", " : "", c.gp);
        fig_str(c.gp, lab);
        fprintf(c.gp, " %zu", y++);
    }
    double xmax = 110;
    for (size_t i = 0; i < in->n_variants; i++)
        if (isfinite(in->variants[i].ceil_best) && in->variants[i].ceil_best * 1.08 > xmax)
            xmax = in->variants[i].ceil_best * 1.08;
    fprintf(c.gp,
            ")\nset yrange [%.1f:-0.6]\nset xrange [0:%.0f]\n"
            "set xlabel \"%% of each case's measured ceiling (median over cases; point: best "
            "case)\"\n"
            "set grid xtics noytics\nset key outside right top\nset lmargin 34\n"
            "set arrow from 100, graph 0 to 100, graph 1 nohead lc rgb \"#555555\" dt 2 lw 1.5\n",
            (double)nv - 0.4, xmax);
    int first = 1;
    for (size_t k = 0; k < DYT_ARRAY_LEN(norms); k++) {
        char t[96];
        snprintf(t, sizeof t, "%s: y, %% of ceiling (median), %% of ceiling (best)", norms[k]);
        fig_block(&c, t);
        y = 0;
        size_t rows = 0;
        for (size_t i = 0; i < in->n_variants; i++) {
            const fig_variant *v = &in->variants[i];
            if (!isfinite(v->ceil_median))
                continue;
            if (!strcmp(v->norm, norms[k])) {
                fprintf(c.dat, "%zu %.6g %.6g\n", y, v->ceil_median, v->ceil_best);
                rows++;
            }
            y++;
        }
        if (!rows) {
            fputs("NaN NaN NaN\n", c.dat); /* keeps the block indices fixed */
            continue;
        }
        fprintf(c.plotf,
                "%s\"roofline.dat\" index %zu using 2:1:(0):2:($1-0.35):($1+0.35) with boxxyerror "
                "fs pattern %d border lt %zu lt %zu title \"%s\", \"roofline.dat\" index %zu using "
                "3:1 with points lc rgb \"#000000\" pt 7 ps 0.8 notitle",
                first ? "plot " : ", ", k, pattern[k], k + 1, k + 1, norms[k], k);
        first = 0;
    }
    return fig_finish(
        l, &c, title,
        "Achieved bandwidth as % of each case's ceiling, the copy bandwidth measured at the "
        "start of the run at the case's thread count and at the cache level its bytes fit in "
        "(hot; cold: dram), per kernel variant: bar = median over the variant's ok cases, "
        "dot = its best case; fastest first within each norm, pass and dtype; dashed line: "
        "the ceiling. A case above 105% of it is flagged in the report's tables.",
        e);
}

/* Machine vs machine (--vs) ---------------------------------------------- */

static int fig_vs(const fig_input *in, const fig_vs_run *vs, fig_list *l, dyt_err *e)
{
    if (!vs->n_points)
        return DYT_OK;
    char name[64], title[1024], lab[1024];
    const char *an = in->run_name, *bn = vs->name;
    snprintf(name, sizeof name, "vs-%" PRId64, vs->id);
    snprintf(title, sizeof title, "Time per call: run %s on %s vs run %s on %s", an,
             in->machine ? in->machine : "?", bn, vs->machine ? vs->machine : "?");
    fig_ctx c;
    if (fig_begin(&c, l->dir, name, title, e))
        return DYT_USAGE;
    double lo = INFINITY, hi = 0;
    static const char *const norms[] = {"dyt", "layernorm", "rmsnorm"};
    int first = 1;
    for (size_t k = 0; k < DYT_ARRAY_LEN(norms); k++) {
        char t[128];
        snprintf(t, sizeof t, "%s: time on run A (us), time on run B (us), pass (0 fwd, 1 bwd)",
                 norms[k]);
        fig_block(&c, t);
        size_t rows = 0;
        for (size_t i = 0; i < vs->n_points; i++) {
            const fig_vs_point *m = &vs->points[i];
            if (strcmp(m->norm, norms[k]))
                continue;
            double x = m->a_ns / 1e3, y = m->b_ns / 1e3;
            fprintf(c.dat, "%.6g %.6g %d\n", x, y, !strcmp(m->pass, "bwd"));
            lo = fmin(lo, fmin(x, y));
            hi = fmax(hi, fmax(x, y));
            rows++;
        }
        if (!rows) {
            fputs("NaN NaN NaN\n", c.dat);
            continue;
        }
        fprintf(c.plotf, "%s\"%s.dat\" index %zu using 1:2 with points lt %zu title \"%s\"",
                first ? "plot " : ", ", name, k, k + 1, norms[k]);
        first = 0;
    }
    fprintf(c.plotf, ", x with lines lc rgb \"#555555\" dt 2 lw 1.5 title \"equal time\"");
    snprintf(lab, sizeof lab, "Run %s: time per call (µs)", an);
    fputs("set xlabel ", c.gp);
    fig_str(c.gp, lab);
    snprintf(lab, sizeof lab, "Run %s: time per call (µs)", bn);
    fputs(" noenhanced\nset ylabel ", c.gp);
    fig_str(c.gp, lab);
    fputs(" noenhanced\nset key top left\nset size square\n", c.gp);
    if (hi > 0 && isfinite(lo))
        fprintf(c.gp, "set logscale xy 10\nset xrange [%.6g:%.6g]\nset yrange [%.6g:%.6g]\n",
                lo / 1.5, hi * 1.5, lo / 1.5, hi * 1.5);
    snprintf(lab, sizeof lab,
             "Each point is one case run on both (matched on every axis): median time on run %s "
             "(x) and on run %s (y), log-log; above the dashed line run %s is slower.",
             an, bn, bn);
    return fig_finish(l, &c, title, lab, e);
}

int fig_write_all(const fig_input *in, const char *out_dir, const char *gnuplot, FILE *log,
                  fig_file **figs, size_t *n, dyt_err *e)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/figures", out_dir);
    if (mkdir(dir, 0755) && errno != EEXIST)
        return dyt_errf(e, DYT_RESOURCE, "report: cannot create %s: %s", dir, strerror(errno));
    fig_list l = {.dir = dir, .gnuplot = gnuplot, .log = log};
    snprintf(l.run_title, sizeof l.run_title, "run %s on %s%s", in->run_name,
             in->hostname && *in->hostname ? in->hostname : "?",
             in->complete ? "" : " (run not complete)");
    int rc = fig_bandwidth(in, "fwd", &l, e);
    if (!rc)
        rc = fig_bandwidth(in, "bwd", &l, e);
    if (!rc)
        rc = fig_speedup(in, &l, e);
    if (!rc)
        rc = fig_roofline(in, &l, e);
    if (!rc)
        rc = fig_tokens(in, &l, e);
    for (size_t i = 0; !rc && i < in->n_vs; i++)
        rc = fig_vs(in, &in->vs[i], &l, e);
    if (rc) {
        fig_free(l.v, l.n);
        return rc;
    }
    *figs = l.v;
    *n = l.n;
    return DYT_OK;
}
