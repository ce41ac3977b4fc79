/* report/render.c: writes the table model as GitHub-flavoured Markdown
 * (report.md), as a LaTeX document of booktabs longtables with
 * right-aligned number columns (tables.tex, compiles with pdflatex), and
 * the runs' cases as CSV (results.csv). Every string from the store goes
 * through common/escape.c for its format. */
#include "escape.h"
#include "report_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void rep_doc_title(const rep_doc *d, char *buf, size_t n)
{
    char name[160];
    rep_run_name(d->a->run, name, sizeof name);
    snprintf(buf, n, "dytbench report: %s%s", d->a->run->campaign ? "" : "run ", name);
}

void rep_doc_subtitle(const rep_doc *d, char *buf, size_t n)
{
    const rep_run *r = d->a->run;
    snprintf(buf, n,
             "%s; status %s; started %s; suites %s; %zu cases (%zu ok, %zu failed, %zu skipped)",
             r->machine_desc ? r->machine_desc : "unknown machine", r->run.status,
             r->run.started_at ? r->run.started_at : "?", r->run.suites ? r->run.suites : "?",
             r->cases.n, d->a->n_ok, d->a->n_failed, d->a->n_skipped);
}

void rep_put(FILE *f, const char *pre, void (*esc)(FILE *, const char *), const char *s,
             const char *post)
{
    fputs(pre, f);
    esc(f, s);
    fputs(post, f);
}

FILE *rep_open_out(const char *path, dyt_err *e)
{
    FILE *f = fopen(path, "w");
    if (!f)
        dyt_errf(e, DYT_RESOURCE, "report: cannot write %s: %s", path, strerror(errno));
    return f;
}

int rep_close_out(FILE *f, const char *path, dyt_err *e)
{
    return dyt_close_output(f, path, e);
}

/* Markdown ----------------------------------------------------------------- */

void rep_table_md(FILE *f, const rep_table *t)
{
    fputs("|", f);
    for (size_t j = 0; j < t->ncols; j++) {
        fputc(' ', f);
        esc_markdown(f, t->head[j]);
        fputs(" |", f);
    }
    fputs("\n|", f);
    for (size_t j = 0; j < t->ncols; j++)
        fputs(t->align[j] == 'r' ? "---:|" : ":---|", f);
    fputc('\n', f);
    for (size_t i = 0; i < t->nrows; i++) {
        fputs("|", f);
        for (size_t j = 0; j < t->ncols; j++) {
            fputc(' ', f);
            esc_markdown(f, t->cells[i * t->ncols + j]);
            fputs(" |", f);
        }
        fputc('\n', f);
    }
    if (!t->nrows) {
        fputs("|", f);
        for (size_t j = 0; j < t->ncols; j++)
            fputs(j ? "  |" : " (no rows) |", f);
        fputc('\n', f);
    }
}

int rep_write_markdown(const char *path, const rep_doc *d, dyt_err *e)
{
    FILE *f = rep_open_out(path, e);
    if (!f)
        return DYT_RESOURCE;
    rep_put(f, "# ", esc_markdown, d->title, "\n\n");
    rep_put(f, "", esc_markdown, d->subtitle, "\n\n");
    for (size_t i = 0; i < d->n_notices; i++)
        rep_put(f, "> **Note:** ", esc_markdown, d->notices[i], "\n\n");
    for (size_t i = 0; i < d->nt; i++) {
        rep_put(f, "## ", esc_markdown, d->t[i]->title, "\n\n");
        rep_table_md(f, d->t[i]);
        if (d->t[i]->note)
            rep_put(f, "\n_", esc_markdown, d->t[i]->note, "_\n");
        fputc('\n', f);
    }
    int any = 0;
    for (size_t i = 0; i < d->nfigs; i++)
        any |= d->figs[i].rendered;
    if (any) {
        fputs("## Figures\n\n", f);
        for (size_t i = 0; i < d->nfigs; i++) {
            if (!d->figs[i].rendered)
                continue;
            fputs("![", f);
            esc_markdown(f, d->figs[i].title);
            fprintf(f, "](%s.svg)\n\n_", d->figs[i].stem);
            esc_markdown(f, d->figs[i].caption);
            fprintf(f, "_ ([PNG](%s.png), [gnuplot script](%s.gp), [data](%s.dat))\n\n",
                    d->figs[i].stem, d->figs[i].stem, d->figs[i].stem);
        }
    }
    return rep_close_out(f, path, e);
}

/* LaTeX --------------------------------------------------------------------- */

/* A header of two words or more goes on two lines (split at the space
 * nearest its middle), so wide tables fit a landscape page. */
static void tex_head(FILE *f, const char *h, char align)
{
    size_t n = strlen(h), best = 0;
    for (size_t i = 1; i < n; i++)
        if (h[i] == ' ' && (!best || (i > n / 2 ? i - n / 2 : n / 2 - i) <
                                         (best > n / 2 ? best - n / 2 : n / 2 - best)))
            best = i;
    if (n < 9 || !best) {
        esc_latex(f, h);
        return;
    }
    char *a = strndup(h, best);
    fprintf(f, "\\begin{tabular}[b]{@{}%c@{}}", align);
    esc_latex(f, a);
    rep_put(f, "\\\\", esc_latex, h + best + 1, "\\end{tabular}");
    free(a);
}

void rep_table_tex(FILE *f, const rep_table *t)
{
    fprintf(f, "{\\%s\\setlength{\\tabcolsep}{%s}\n\\begin{longtable}{@{}",
            t->ncols > 12 ? "scriptsize" : "footnotesize", t->ncols > 12 ? "3pt" : "4pt");
    for (size_t j = 0; j < t->ncols; j++) {
        if (t->align[j] == 'p')
            fputs(">{\\raggedright\\arraybackslash}p{0.4\\linewidth}", f);
        else
            fputc(t->align[j] == 'r' ? 'r' : 'l', f);
    }
    rep_put(f, "@{}}\n\\caption*{\\normalsize\\textbf{", esc_latex, t->title,
            "}}\\\\\n\\toprule\n");
    for (size_t j = 0; j < t->ncols; j++) {
        fputs(j ? " & " : "", f);
        tex_head(f, t->head[j], t->align[j] == 'r' ? 'r' : 'l');
    }
    fputs(" \\\\\n\\midrule\n\\endhead\n\\bottomrule\n\\endfoot\n", f);
    for (size_t i = 0; i < t->nrows; i++) {
        for (size_t j = 0; j < t->ncols; j++) {
            fputs(j ? " & " : "", f);
            esc_latex(f, t->cells[i * t->ncols + j]);
        }
        fputs(" \\\\\n", f);
    }
    if (!t->nrows)
        fprintf(f, "\\multicolumn{%zu}{@{}l}{(no rows)} \\\\\n", t->ncols);
    fputs("\\end{longtable}}\n", f);
    if (t->note)
        rep_put(f, "\\noindent{\\small ", esc_latex, t->note, "}\n");
}

int rep_write_latex(const char *path, const rep_doc *d, dyt_err *e)
{
    FILE *f = rep_open_out(path, e);
    if (!f)
        return DYT_RESOURCE;
    fputs("% dytbench report tables: booktabs longtables, numbers right-aligned.\n"
          "% Compile with pdflatex (packages: booktabs, longtable, array, caption, geometry),\n"
          "% or copy a longtable environment into your paper.\n"
          "\\documentclass[10pt]{article}\n"
          "\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n\\usepackage{textcomp}\n"
          "\\usepackage{booktabs}\n\\usepackage{longtable}\n\\usepackage{array}\n"
          "\\usepackage{caption}\n"
          "\\usepackage[a4paper,landscape,margin=1.5cm]{geometry}\n"
          "\\setlength{\\parindent}{0pt}\n\\begin{document}\n\\section*{",
          f);
    rep_put(f, "", esc_latex, d->title, "}\n");
    rep_put(f, "", esc_latex, d->subtitle, "\n\n");
    for (size_t i = 0; i < d->n_notices; i++)
        rep_put(f, "\\textbf{Note:} ", esc_latex, d->notices[i], "\n\n");
    for (size_t i = 0; i < d->nt; i++) {
        fprintf(f, "\n%% --- table: %s\n", d->t[i]->id);
        rep_table_tex(f, d->t[i]);
        fputs("\\bigskip\n", f);
    }
    fputs("\\end{document}\n", f);
    return rep_close_out(f, path, e);
}

/* CSV ----------------------------------------------------------------------- */

/* One CSV field after the row's previous ones: text as stored (NULL
 * empty), integers in decimal, REALs with 10 significant digits (NAN, a
 * NULL in the store, empty). */
typedef struct {
    FILE *f;
    int n; /* fields written in this row */
} csv_row;

static void csv_sep(csv_row *r)
{
    if (r->n++)
        fputc(',', r->f);
}

static void csv_text(csv_row *r, const char *v)
{
    csv_sep(r);
    esc_csv(r->f, v);
}

static void csv_int(csv_row *r, int64_t v)
{
    csv_sep(r);
    fprintf(r->f, "%" PRId64, v);
}

static void csv_real(csv_row *r, double v)
{
    csv_sep(r);
    if (!isnan(v))
        fprintf(r->f, "%.10g", v);
}

/* v_results' columns first, in its order, then what else a case has. */
static const char *const csv_head[] = {
    "run_id",       "label",        "machine",      "domain",        "model",       "norm",
    "variant",      "dtype",        "pass",         "rows",          "cols",        "threads",
    "cache",        "status",       "samples",      "median_ns",     "ci_low_ns",   "ci_high_ns",
    "gbps",         "roofline_pct", "max_err",      "ceiling_level", "ceiling_pct", "max_ulps",
    "ceiling_flag", "run_status",   "seq",          "suite",         "model_norm",  "token_label",
    "layers",       "device",       "bytes",        "n_excluded",    "mean_ns",     "stddev_ns",
    "min_ns",       "max_ns",       "rel_ci_width", "stop_reason",   "error",       "err_output",
    "err_tol"};

static void csv_case(FILE *f, const rep_run *run, const rep_case *x)
{
    const store_case *c = &x->c;
    const store_stats *t = &x->st;
    csv_row r = {f, 0};
    csv_int(&r, x->run_id); /* a campaign's cases are of several runs */
    csv_text(&r, run->run.label);
    csv_text(&r, run->machine_desc);
    const char *const a[] = {c->domain, c->model, c->norm, c->variant, c->dtype, c->pass};
    for (size_t i = 0; i < DYT_ARRAY_LEN(a); i++)
        csv_text(&r, a[i]);
    csv_int(&r, c->rows);
    csv_int(&r, c->cols);
    csv_int(&r, c->threads);
    csv_text(&r, c->cache);
    csv_text(&r, c->status);
    if (x->has_stats)
        csv_int(&r, t->n);
    else
        csv_text(&r, NULL);
    const double m[] = {t->median_ns, t->ci_low_ns,    t->ci_high_ns,
                        t->gbps,      t->roofline_pct, c->max_err};
    for (size_t i = 0; i < DYT_ARRAY_LEN(m); i++)
        csv_real(&r, m[i]);
    csv_text(&r, t->ceiling_level);
    csv_real(&r, t->ceiling_pct);
    csv_real(&r, c->max_ulps);
    /* "above": more than STORE_CEILING_FLAG_PCT of its ceiling, not a figure to read as one */
    csv_text(&r, x->has_stats && t->ceiling_pct > STORE_CEILING_FLAG_PCT ? "above" : NULL);
    csv_text(&r, run->run.status);
    csv_int(&r, c->seq);
    csv_text(&r, c->suite);
    csv_text(&r, c->model_norm);
    csv_text(&r, c->token_label);
    csv_int(&r, c->layers);
    csv_text(&r, c->device);
    csv_int(&r, (int64_t)c->bytes);
    if (x->has_stats)
        csv_int(&r, t->n_excluded);
    else
        csv_text(&r, NULL);
    const double d[] = {t->mean_ns, t->stddev_ns, t->min_ns, t->max_ns, t->rel_ci_width};
    for (size_t i = 0; i < DYT_ARRAY_LEN(d); i++)
        csv_real(&r, d[i]);
    csv_text(&r, c->stop_reason);
    csv_text(&r, c->error);
    csv_text(&r, c->err_output);
    csv_real(&r, c->err_tol);
    fputs("\r\n", f);
}

int rep_write_csv(const char *path, const rep_run *const *runs, size_t n_runs, dyt_err *e)
{
    FILE *f = rep_open_out(path, e);
    if (!f)
        return DYT_RESOURCE;
    for (size_t j = 0; j < DYT_ARRAY_LEN(csv_head); j++) {
        fputs(j ? "," : "", f);
        esc_csv(f, csv_head[j]);
    }
    fputs("\r\n", f);
    for (size_t k = 0; k < n_runs; k++)
        for (size_t i = 0; i < runs[k]->cases.n; i++)
            csv_case(f, runs[k], &runs[k]->cases.v[i]);
    return rep_close_out(f, path, e);
}
