/* report/render.c: writes the table model as GitHub-flavoured Markdown
 * (report.md), as a LaTeX document of booktabs longtables with
 * right-aligned number columns (tables.tex, compiles with pdflatex), and
 * the runs' cases as CSV (results.csv). Every string from the store goes
 * through common/escape.c for its format. */
#include "escape.h"
#include "report_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void rep_doc_title(const rep_doc *d, char *buf, size_t n)
{
    char name[160];
    rep_run_name(d->a->run, name, sizeof name);
    snprintf(buf, n, "dytbench report: run %s", name);
}

void rep_doc_subtitle(const rep_doc *d, char *buf, size_t n)
{
    const rep_run *r = d->a->run;
    snprintf(
        buf, n, "%s; status %s; started %s; suites %s; %zu cases (%zu ok, %zu failed, %zu skipped)",
        r->machine ? r->machine : "unknown machine", r->status, r->started_at ? r->started_at : "?",
        r->suites ? r->suites : "?", r->n_cases, d->a->n_ok, d->a->n_failed, d->a->n_skipped);
}

static FILE *open_out(const char *path, dyt_err *e)
{
    FILE *f = fopen(path, "w");
    if (!f)
        dyt_errf(e, DYT_USAGE, "report: cannot write %s: %s", path, strerror(errno));
    return f;
}

static int close_out(FILE *f, const char *path, dyt_err *e)
{
    int bad = ferror(f);
    if (fclose(f) || bad)
        return dyt_errf(e, DYT_USAGE, "report: writing %s failed", path);
    return DYT_OK;
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
    FILE *f = open_out(path, e);
    if (!f)
        return DYT_USAGE;
    char buf[2048];
    rep_doc_title(d, buf, sizeof buf);
    fputs("# ", f);
    esc_markdown(f, buf);
    rep_doc_subtitle(d, buf, sizeof buf);
    fputs("\n\n", f);
    esc_markdown(f, buf);
    fputs("\n\n", f);
    for (size_t i = 0; i < d->n_notices; i++) {
        fputs("> **Note:** ", f);
        esc_markdown(f, d->notices[i]);
        fputs("\n\n", f);
    }
    for (size_t i = 0; i < d->nt; i++) {
        fputs("## ", f);
        esc_markdown(f, d->t[i]->title);
        fputs("\n\n", f);
        rep_table_md(f, d->t[i]);
        if (d->t[i]->note) {
            fputs("\n_", f);
            esc_markdown(f, d->t[i]->note);
            fputs("_\n", f);
        }
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
    return close_out(f, path, e);
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
    fputs("\\\\", f);
    esc_latex(f, h + best + 1);
    fputs("\\end{tabular}", f);
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
    fputs("@{}}\n\\caption*{\\normalsize\\textbf{", f);
    esc_latex(f, t->title);
    fputs("}}\\\\\n\\toprule\n", f);
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
    if (t->note) {
        fputs("\\noindent{\\small ", f);
        esc_latex(f, t->note);
        fputs("}\n", f);
    }
}

int rep_write_latex(const char *path, const rep_doc *d, dyt_err *e)
{
    FILE *f = open_out(path, e);
    if (!f)
        return DYT_USAGE;
    char buf[2048];
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
    rep_doc_title(d, buf, sizeof buf);
    esc_latex(f, buf);
    fputs("}\n", f);
    rep_doc_subtitle(d, buf, sizeof buf);
    esc_latex(f, buf);
    fputs("\n\n", f);
    for (size_t i = 0; i < d->n_notices; i++) {
        fputs("\\textbf{Note:} ", f);
        esc_latex(f, d->notices[i]);
        fputs("\n\n", f);
    }
    for (size_t i = 0; i < d->nt; i++) {
        fprintf(f, "\n%% --- table: %s\n", d->t[i]->id);
        rep_table_tex(f, d->t[i]);
        fputs("\\bigskip\n", f);
    }
    fputs("\\end{document}\n", f);
    return close_out(f, path, e);
}

/* CSV ----------------------------------------------------------------------- */

int rep_write_csv(const char *path, sqlite3 *db, const int64_t *runs, size_t n_runs, dyt_err *e)
{
    /* v_results' columns first, in its order, then what else a case has. */
    static const char *sql =
        "SELECT r.id AS run_id, r.label AS label,"
        " m.hostname || ' (' || m.cpu_model || ')' AS machine,"
        " c.domain, c.model, c.norm, c.variant, c.dtype, c.pass, c.rows, c.cols,"
        " c.threads, c.cache, c.status, s.n AS samples, s.median_ns, s.ci_low_ns,"
        " s.ci_high_ns, s.gbps, s.roofline_pct, c.max_err,"
        " r.status AS run_status, c.seq, c.suite, c.model_norm, c.token_label, c.layers,"
        " c.device, c.bytes, s.n_excluded, s.mean_ns, s.stddev_ns, s.min_ns, s.max_ns,"
        " s.rel_ci_width, c.stop_reason, c.error"
        " FROM cases c JOIN runs r ON r.id = c.run_id JOIN machines m ON m.id = r.machine_id"
        " LEFT JOIN stats s ON s.case_id = c.id WHERE c.run_id = ?1 ORDER BY c.seq";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return dyt_errf(e, DYT_USAGE, "report: reading the store: %s", sqlite3_errmsg(db));
    FILE *f = open_out(path, e);
    if (!f) {
        sqlite3_finalize(st);
        return DYT_USAGE;
    }
    int nc = sqlite3_column_count(st), rc = SQLITE_DONE;
    for (int j = 0; j < nc; j++) {
        fputs(j ? "," : "", f);
        esc_csv(f, sqlite3_column_name(st, j));
    }
    fputs("\r\n", f);
    for (size_t k = 0; k < n_runs && rc == SQLITE_DONE; k++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, runs[k]);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            for (int j = 0; j < nc; j++) {
                fputs(j ? "," : "", f);
                if (sqlite3_column_type(st, j) == SQLITE_FLOAT)
                    fprintf(f, "%.10g", sqlite3_column_double(st, j));
                else
                    esc_csv(f, (const char *)sqlite3_column_text(st, j));
            }
            fputs("\r\n", f);
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fclose(f);
        return dyt_errf(e, DYT_USAGE, "report: reading the store: %s", sqlite3_errmsg(db));
    }
    return close_out(f, path, e);
}
