/* plots/fig_speedup.c: DyT speedup over the model's own norm, one bar per
 * model and series (pass x dtype) at the model's largest token count,
 * grouped by domain, with the bootstrap interval as whiskers. */
#include "plots_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Speedup ------------------------------------------------------------------ */

int fig_speedup(const fig_input *in, fig_list *l, dyt_err *e)
{
    /* Series: (pass, dtype); x: models in plan order, grouped by domain. */
    const char *ser_dtype[8];
    int ser_pass[8];
    size_t ns = 0;
    const char **models = calloc(in->n_pairs + 1, sizeof *models);
    const char **mdom = calloc(in->n_pairs + 1, sizeof *mdom);
    const char *doms[16];
    size_t nm = 0, nd = 0;
    if (!models || !mdom) {
        free(models);
        free(mdom);
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    }
    for (size_t i = 0; i < in->n_pairs; i++) {
        const fig_pair *p = &in->pairs[i];
        for (int k = 0; k < 2; k++) {
            if (!isfinite(p->speedup[k]))
                continue;
            size_t j = 0;
            while (j < ns && !(ser_pass[j] == k && !strcmp(ser_dtype[j], p->dtype)))
                j++;
            if (j == ns && ns < 8) {
                ser_pass[ns] = k;
                ser_dtype[ns++] = p->dtype;
            }
            size_t d = 0;
            while (d < nd && strcmp(doms[d], p->domain))
                d++;
            if (d == nd && nd < 16)
                doms[nd++] = p->domain;
            size_t m = 0;
            while (m < nm && strcmp(models[m], p->model))
                m++;
            if (m == nm) {
                models[nm] = p->model;
                mdom[nm++] = p->domain;
            }
        }
    }
    if (!ns) {
        free(models);
        free(mdom);
        return DYT_OK;
    }
    /* Order the models by domain (stable within a domain). */
    const char **ord = calloc(nm + 1, sizeof *ord);
    double *xpos = calloc(nm + 1, sizeof *xpos);
    size_t no = 0;
    for (size_t d = 0; ord && xpos && d < nd; d++)
        for (size_t m = 0; m < nm; m++)
            if (!strcmp(mdom[m], doms[d])) {
                xpos[no] = (double)no + 0.6 * (double)d;
                ord[no++] = models[m];
            }
    char title[512];
    snprintf(title, sizeof title, "DyT speedup over the model's norm (t_norm / t_DyT): %s",
             l->run_title);
    fig_ctx c;
    int rc = ord && xpos ? fig_begin(&c, l->dir, "speedup", title, e)
                         : dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    if (rc != DYT_OK) {
        free(models);
        free(mdom);
        free(ord);
        free(xpos);
        return rc;
    }
    double w = 0.8 / (double)ns;
    /* The y range always includes the parity line at 1, so "DyT is slower
     * everywhere" still shows where break-even would be. */
    double ymax = 1.15;
    for (size_t s = 0; s < ns; s++) {
        char t[128];
        snprintf(t, sizeof t, "%s %s: x, speedup, CI low, CI high (largest token count per model)",
                 ser_pass[s] ? "bwd" : "fwd", ser_dtype[s]);
        fig_block(&c, t);
        for (size_t m = 0; m < no; m++) {
            const fig_pair *best = NULL;
            for (size_t i = 0; i < in->n_pairs; i++) {
                const fig_pair *p = &in->pairs[i];
                if (strcmp(p->model, ord[m]) || strcmp(p->dtype, ser_dtype[s]) ||
                    !isfinite(p->speedup[ser_pass[s]]))
                    continue;
                if (!best || p->rows > best->rows)
                    best = p;
            }
            if (!best)
                continue;
            int k = ser_pass[s];
            double lo = isfinite(best->lo[k]) ? best->lo[k] : best->speedup[k];
            double hi = isfinite(best->hi[k]) ? best->hi[k] : best->speedup[k];
            if (hi * 1.1 > ymax)
                ymax = hi * 1.1;
            fprintf(c.dat, "%.4f %.6g %.6g %.6g\n", xpos[m] + ((double)s - (ns - 1) / 2.0) * w,
                    best->speedup[k], lo, hi);
        }
        static const int pattern[] = {3, 4, 1, 5, 2, 6, 7, 0};
        char st[64];
        snprintf(st, sizeof st, "%s %s", ser_pass[s] ? "bwd" : "fwd", ser_dtype[s]);
        fprintf(c.plotf,
                "%s\"speedup.dat\" index %zu using 1:2:(%.4f) with boxes fs pattern %d "
                "border lt %zu lt %zu title ",
                s ? ", " : "plot ", s, w * 0.9, pattern[s], s + 1, s + 1);
        fig_str(c.plotf, st);
        fprintf(c.plotf,
                " noenhanced, \"speedup.dat\" index %zu using 1:2:3:4 with yerrorbars "
                "lc rgb \"#000000\" lw 1.5 dt 1 pt -1 notitle",
                s);
    }
    fprintf(c.gp, "set ylabel \"Speedup of DyT (t_norm / t_DyT, ×)\"\nset yrange [0:%.3g]\n", ymax);
    fputs("set xtics rotate by -35 left nomirror\nset grid noxtics ytics\n"
          "set bmargin 7\nset key outside right top\nset tmargin 5\nset title offset 0,1.2\n"
          "set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb \"#555555\" dt 2 lw "
          "1.5\n",
          c.gp);
    fputs("set xtics (", c.gp);
    for (size_t m = 0; m < no; m++) {
        fputs(m ? ", " : "", c.gp);
        fig_str(c.gp, ord[m]);
        fprintf(c.gp, " %.4f", xpos[m]);
    }
    fprintf(c.gp, ")\nset xrange [-0.7:%.4f]\n", no ? xpos[no - 1] + 0.7 : 1.0);
    for (size_t d = 0, m0 = 0; d < nd; d++) {
        size_t k = 0; /* ord holds the models grouped by domain, in doms order */
        for (size_t j = 0; j < nm; j++)
            k += !strcmp(mdom[j], doms[d]);
        if (!k)
            continue;
        fputs("set label ", c.gp);
        fig_str(c.gp, doms[d]);
        fprintf(c.gp, " at %.4f, graph 1 center offset 0,0.8 font \",12\" noenhanced\n",
                (xpos[m0] + xpos[m0 + k - 1]) / 2);
        if (d)
            fprintf(
                c.gp,
                "set arrow from %.4f, graph 0 to %.4f, graph 1 nohead lc rgb \"#888888\" dt 3\n",
                xpos[m0] - 0.8, xpos[m0] - 0.8);
        m0 += k;
    }
    free(models);
    free(mdom);
    free(ord);
    free(xpos);
    return fig_finish(l, &c, title,
                      "Speedup = median time of the model's norm / median time of DyT at the "
                      "model's largest token count (above the dashed line: DyT is faster); "
                      "whiskers: 95% percentile-bootstrap interval from the raw samples; models "
                      "grouped by domain; fastest ok variant of each side.",
                      e);
}
