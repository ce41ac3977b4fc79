/* report/report.c: the report stage's entry point. Loads the run (and the
 * --vs runs), refuses a run that does not exist or has no cases, computes
 * the analysis, builds the tables, draws the figures when gnuplot is
 * available, and writes report.md, tables.tex, results.csv and index.html.
 * Notices that apply to the whole report (an aborted run, figures that need
 * gnuplot) are said once at the top of every format and once on the log. */
#include "report.h"
#include "report_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int report_have_program(const char *prog)
{
    char path[4096];
    return dyt_find_program(prog, path, sizeof path);
}

/* mkdir -p */
static int make_dirs(const char *dir, dyt_err *e)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0755) && errno != EEXIST)
                return dyt_errf(e, DYT_RESOURCE, "report: cannot create %s: %s", buf, strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return dyt_errf(e, DYT_USAGE, "report: %s is not a folder", dir);
    return DYT_OK;
}

/* A notice every format writes before its tables, said to the user on
 * log too (NULL: not). */
static void notice(rep_doc *d, FILE *log, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void notice(rep_doc *d, FILE *log, const char *fmt, ...)
{
    if (d->n_notices == DYT_ARRAY_LEN(d->notices))
        return;
    char *text = d->notice_text[d->n_notices];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof d->notice_text[0], fmt, ap);
    va_end(ap);
    d->notices[d->n_notices++] = text;
    if (log)
        fprintf(log, "dytbench: report: %s\n", text);
}

int report_write(store *db, const report_opts *o, dyt_err *e)
{
    if (o->n_vs > REPORT_MAX_VS)
        return dyt_errf(e, DYT_USAGE, "report: at most %d --vs runs", REPORT_MAX_VS);
    rep_run run, vs[REPORT_MAX_VS];
    size_t n_vs = 0;
    int rc = o->campaign ? rep_load_campaign(db, o->campaign, &run, e)
                         : rep_load_run(db, o->run_id, &run, e);
    if (rc)
        return rc;
    char name[160];
    rep_run_name(&run, name, sizeof name);
    if (!run.cases.n && !run.campaign) {
        rc = dyt_errf(e, DYT_USAGE, "report: run %s (status %s) has no cases: nothing to report%s",
                      name, run.run.status,
                      !strcmp(run.run.status, "complete")
                          ? ""
                          : " (it stopped before its first case finished)");
        rep_free_run(&run);
        return rc;
    }
    for (; n_vs < o->n_vs; n_vs++)
        if ((rc = o->vs_campaign[n_vs] ? rep_load_campaign(db, o->vs_campaign[n_vs], &vs[n_vs], e)
                                       : rep_load_run(db, o->vs[n_vs], &vs[n_vs], e)))
            goto out;

    rep_analysis a;
    memset(&a, 0, sizeof a);
    rep_table **t = NULL;
    size_t nt = 0;
    fig_file *figs = NULL;
    size_t nfigs = 0;
    rep_doc d = {0};
    if ((rc = rep_analyse(db, &run, vs, n_vs, &a, e)))
        goto out;
    if ((rc = rep_build_tables(&a, &t, &nt, e)))
        goto out_a;
    if ((rc = make_dirs(o->out_dir, e)))
        goto out_t;

    d.a = &a;
    d.t = t;
    d.nt = nt;
    rep_doc_title(&d, d.title, sizeof d.title);
    rep_doc_subtitle(&d, d.subtitle, sizeof d.subtitle);
    if (run.campaign && !run.campaign->complete) {
        const rep_campaign *c = run.campaign;
        if (c->n_missing)
            notice(&d, o->log,
                   "%s is incomplete: %zu of its plan's %zu cases are missing (listed in 'Planned "
                   "cases no run stored'); the shards table says which shards did not finish.",
                   name, c->n_missing, c->plan.n);
        else if (c->have_plan)
            notice(&d, o->log,
                   "%s has every planned case, but not all of its runs are complete (see the "
                   "shards table).",
                   name);
        else
            notice(&d, o->log,
                   "%s is not known to be complete: its plan is not in this store, so missing "
                   "cases cannot be named; see the shards table.",
                   name);
    } else if (!run.campaign && !strcmp(run.run.status, "aborted")) {
        notice(&d, o->log,
               "run %s was aborted%s%s: only the %zu cases it finished are reported, marked as "
               "from an aborted run; the cases it had not reached are missing.",
               name, run.run.note ? ": " : "", run.run.note ? run.run.note : "", run.cases.n);
    } else if (!run.campaign && strcmp(run.run.status, "complete")) {
        notice(&d, o->log,
               "run %s has status '%s'%s%s: its %zu stored cases are reported as they are.", name,
               run.run.status, run.run.note ? ": " : "", run.run.note ? run.run.note : "",
               run.cases.n);
    }
    if (!a.n_ok)
        notice(&d, o->log,
               "no case of run %s finished ok, so the tables of times are empty; see the failed "
               "cases.",
               name);
    const char *gp = o->gnuplot ? (*o->gnuplot ? o->gnuplot : NULL) : "gnuplot";
    if (gp && !report_have_program(gp))
        gp = NULL;
    if (!gp && o->gnuplot && !*o->gnuplot) /* as asked: not said again */
        notice(&d, NULL,
               "figures were not drawn (tables only, as asked); their gnuplot scripts and data "
               "are in figures/ (drawing them needs gnuplot: apt-get install gnuplot-nox).");
    else if (!gp)
        notice(&d, o->log,
               "figures need gnuplot, which was not found%s (install it with: apt-get install "
               "gnuplot-nox); their scripts and data are in figures/ to run later.",
               o->gnuplot ? "" : " on PATH");
    rep_plot_data plot;
    if ((rc = rep_plot_data_build(&a, &plot, e)))
        goto out_t;
    rc = fig_write_all(&plot.in, o->out_dir, gp, o->log, &figs, &nfigs, e);
    rep_plot_data_free(&plot);
    if (rc)
        goto out_t;
    d.figs = figs;
    d.nfigs = nfigs;

    char path[4200];
    snprintf(path, sizeof path, "%s/report.md", o->out_dir);
    if ((rc = rep_write_markdown(path, &d, e)))
        goto out_f;
    snprintf(path, sizeof path, "%s/tables.tex", o->out_dir);
    if ((rc = rep_write_latex(path, &d, e)))
        goto out_f;
    const rep_run *runs[REPORT_MAX_VS + 1] = {&run};
    for (size_t i = 0; i < n_vs; i++)
        runs[i + 1] = &vs[i];
    snprintf(path, sizeof path, "%s/results.csv", o->out_dir);
    if ((rc = rep_write_csv(path, runs, n_vs + 1, e)))
        goto out_f;
    snprintf(path, sizeof path, "%s/index.html", o->out_dir);
    if ((rc = rep_write_html(path, o->out_dir, &d, e)))
        goto out_f;
    if (o->log) {
        size_t drawn = 0;
        for (size_t i = 0; i < nfigs; i++)
            drawn += figs[i].rendered;
        fprintf(o->log,
                "dytbench: report: %s%s: wrote %s/{report.md,tables.tex,results.csv,index.html} "
                "and %zu of %zu figures in %s/figures\n",
                run.campaign ? "" : "run ", name, o->out_dir, drawn, nfigs, o->out_dir);
    }
out_f:
    fig_free(figs, nfigs);
out_t:
    rep_free_tables(t, nt);
out_a:
    rep_free_analysis(&a);
out:
    for (size_t i = 0; i < n_vs; i++)
        rep_free_run(&vs[i]);
    rep_free_run(&run);
    return rc;
}
