/* dytbench report [RUN|latest] [--vs RUN ...] [--db PATH] [--out DIR]:
 * paper-style tables (report.md, tables.tex, results.csv), gnuplot figures
 * and a self-contained index.html for a stored run, optionally beside other
 * runs. The work is in report/ and plots/; this file parses options, opens
 * the store read-only in spirit (nothing is written) and resolves run ids. */
#include "cli.h"
#include "report.h"
#include "store.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* A run spec, or campaign:ID (*campaign set; the store must have a run of
 * it). */
static int resolve(store *s, const char *spec, int64_t *run_id, const char **campaign, dyt_err *e)
{
    *campaign = NULL;
    if (strncmp(spec, "campaign:", 9))
        return store_resolve_run(s, spec, run_id, e);
    const store_run_filter f = {.campaign = spec + 9};
    store_run_list l;
    if (!spec[9])
        return dyt_errf(e, DYT_USAGE, "'campaign:' needs a campaign id (campaign:ID)");
    int rc = store_find_runs(s, &f, &l, e);
    if (rc != DYT_OK)
        return rc;
    size_t n = l.n;
    store_run_list_free(&l);
    if (!n)
        return dyt_errf(e, DYT_USAGE, "no run of campaign '%s' in %s", spec + 9, store_path(s));
    *campaign = spec + 9;
    return DYT_OK;
}

enum { O_VS = CLI_KEY, O_DB, O_OUT, O_NO_FIGURES };

static int cmd_report(cli_parser *p)
{
    const char *vs_spec[REPORT_MAX_VS];
    size_t n_vs = 0;
    for (int c; (c = cli_next(p)) != -1;)
        if (c == O_VS && n_vs == REPORT_MAX_VS)
            cli_error(p, "at most %d --vs runs", REPORT_MAX_VS);
        else if (c == O_VS)
            vs_spec[n_vs++] = optarg;
    int rc = cli_parse_end(p, INT_MAX);
    if (rc != CLI_GO)
        return rc;
    const char *db = cli_text(p, O_DB, STORE_DEFAULT_PATH), *out = cli_text(p, O_OUT, NULL);
    int no_figures = cli_given(p, O_NO_FIGURES);
    if (p->n_operands > 1)
        return cli_usage_error("report: one run at a time (got '%s' and '%s'); use --vs for others",
                               p->operands[0], p->operands[1]);
    const char *spec = p->n_operands > 0 ? p->operands[0] : "latest";

    store *s;
    dyt_err e;
    if ((rc = store_open(db, 0, &s, &e)) != DYT_OK)
        return cli_fail(rc, "report: %s", e.msg);
    report_opts o = {.gnuplot = no_figures ? "" : NULL, .log = stderr};
    rc = resolve(s, spec, &o.run_id, &o.campaign, &e);
    for (size_t i = 0; !rc && i < n_vs; i++) {
        rc = resolve(s, vs_spec[i], &o.vs[i], &o.vs_campaign[i], &e);
        o.n_vs++;
    }
    if (rc) {
        store_close(s);
        return cli_fail(rc, "report: %s", e.msg);
    }
    char dir[4096];
    if (!out) {
        if (o.campaign)
            snprintf(dir, sizeof dir, "results/report-campaign-%s", o.campaign);
        else
            snprintf(dir, sizeof dir, "results/report-%" PRId64, o.run_id);
        out = dir;
    }
    o.out_dir = out;
    rc = report_write(s, &o, &e);
    store_close(s);
    if (rc)
        return cli_fail(rc, "%s", e.msg);
    return DYT_OK;
}

static const cli_option report_options[] = {
    {"vs", O_VS, CLI_TEXT, "RUN",
     .help = "put the same cases of RUN (or campaign:ID) beside this run's, with ratios "
             "(repeatable, up "
             "to 8): two machines' campaigns"},
    {"db", O_DB, CLI_TEXT, "PATH", .help = "the results store (default " STORE_DEFAULT_PATH ")"},
    {"out", O_OUT, CLI_TEXT, "DIR", .help = "output folder"},
    {"no-figures", O_NO_FIGURES, CLI_FLAG,
     .help = "write the tables only, without running gnuplot"},
    {0},
};

const cli_command cli_cmd_report = {
    .name = "report",
    .what = "write tables, figures and an HTML page for a run",
    .entry = cmd_report,
    .options = report_options,
    .usage = "usage: dytbench report [RUN|latest] [--vs RUN ...] [--db PATH] [--out DIR]\n"
             "\n"
             "Writes into DIR (default results/report-<run id>/):\n"
             "  report.md     GitHub-flavoured tables\n"
             "  tables.tex    booktabs tables (pdflatex)\n"
             "  results.csv   one row per case (the columns of the store's v_results and\n"
             "                more)\n"
             "  index.html    one self-contained page with the tables and inline SVG figures\n"
             "  figures/      each figure as SVG and PNG with its gnuplot script and data\n"
             "\n"
             "RUN is a run id, a run label (its latest run) or 'latest' (the default);\n"
             "campaign:ID is every run of a campaign (run --campaign, dytbench slurm submit)\n"
             "as one, each planned case once, with a table of its shards and one of the\n"
             "planned cases no run stored (default DIR results/report-campaign-<ID>/).\n"
             "Figures need gnuplot (apt-get install gnuplot-nox); without it the tables are\n"
             "still written.\n",
};
