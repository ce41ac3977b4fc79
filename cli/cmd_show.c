/* dytbench show RUN|latest: a stored run's header (id, label, status,
 * machine, times, suites, settings, bandwidth ceiling) and a table of its
 * cases, failed ones with their error and every case with its stop reason.
 * The case table is shared with `dytbench run`, which prints it as the
 * run's summary (cli_show_cases). Read-only: every query is bound. */
#include "cli.h"
#include "store.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

int cli_show_cases(store *s, int64_t run_id, int brief, FILE *f)
{
    static const char *sql =
        "SELECT c.seq, c.model, c.norm, c.pass, c.dtype, c.variant, c.threads, c.rows, c.cols,"
        " c.status, c.error, c.stop_reason, s.n, s.median_ns, s.rel_ci_width, s.gbps,"
        " s.roofline_pct, c.token_label, c.batch, c.buffer_sets, c.max_err,"
        " (SELECT k.per_element FROM counters k WHERE k.case_id = c.id AND"
        "  k.source = 'callgrind' AND k.name = 'instructions')"
        " FROM cases c LEFT JOIN stats s ON s.case_id = c.id"
        " WHERE c.run_id = ?1 ORDER BY c.seq";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "dytbench: show: %s\n", sqlite3_errmsg(store_db(s)));
        return DYT_USAGE;
    }
    sqlite3_bind_int64(st, 1, run_id);
    if (brief)
        fprintf(f, "%-26s %-9s %-4s %-4s %-10s %-12s %10s %7s %8s %7s\n", "model", "norm", "pass",
                "dtype", "variant", "rows x cols", "median", "+-CI", "GB/s", "%roof");
    else
        fprintf(f, "%4s %-26s %-9s %-4s %-4s %-10s %3s %-12s %10s %7s %8s %7s %6s %6s %-11s %s\n",
                "seq", "model", "norm", "pass", "dtype", "variant", "thr", "rows x cols", "median",
                "+-CI", "GB/s", "%roof", "n", "batch", "stop", "status");
    int rows = 0, bad = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        rows++;
        char shape[32], med[24] = "-", ci[16] = "-", gb[16] = "-", roof[16] = "-";
        snprintf(shape, sizeof shape, "%" PRId64 "x%" PRId64, (int64_t)sqlite3_column_int64(st, 7),
                 (int64_t)sqlite3_column_int64(st, 8));
        if (sqlite3_column_type(st, 13) != SQLITE_NULL) {
            dyt_fmt_ns(med, sizeof med, sqlite3_column_double(st, 13));
            snprintf(ci, sizeof ci, "%.2f%%", 100 * sqlite3_column_double(st, 14));
            snprintf(gb, sizeof gb, "%.2f", sqlite3_column_double(st, 15));
            if (sqlite3_column_type(st, 16) != SQLITE_NULL && sqlite3_column_double(st, 16) >= 0)
                snprintf(roof, sizeof roof, "%.1f", sqlite3_column_double(st, 16));
        } else if (sqlite3_column_type(st, 21) != SQLITE_NULL)
            /* --metric instructions: no timing, instructions per element. */
            snprintf(med, sizeof med, "%.2f ins/el", sqlite3_column_double(st, 21));
        const char *status = col_text(st, 9);
        char model[64];
        const char *tl = col_text(st, 17);
        snprintf(model, sizeof model, "%s%s%s", col_text(st, 1), *tl ? "/" : "", tl);
        if (brief)
            fprintf(f, "%-26.26s %-9s %-4s %-4s %-10s %-12s %10s %7s %8s %7s%s%s\n", model,
                    col_text(st, 2), col_text(st, 3), col_text(st, 4), col_text(st, 5), shape, med,
                    ci, gb, roof, strcmp(status, "ok") ? "  " : "",
                    strcmp(status, "ok") ? status : "");
        else
            fprintf(
                f,
                "%4d %-26.26s %-9s %-4s %-4s %-10s %3d %-12s %10s %7s %8s %7s %6d %6d %-11s %s\n",
                sqlite3_column_int(st, 0), model, col_text(st, 2), col_text(st, 3), col_text(st, 4),
                col_text(st, 5), sqlite3_column_int(st, 6), shape, med, ci, gb, roof,
                sqlite3_column_int(st, 12), sqlite3_column_int(st, 18),
                *col_text(st, 11) ? col_text(st, 11) : "-", status);
        bad += strcmp(status, "ok") != 0;
    }
    sqlite3_finalize(st);
    if (rows == 0)
        fprintf(f, "(no cases stored)\n");
    if (!bad)
        return DYT_OK;
    /* Errors below the table: they are long and would break its columns. */
    static const char *esql = "SELECT seq, model, norm, pass, dtype, variant, rows, cols, status,"
                              " error FROM cases WHERE run_id = ?1 AND status <> 'ok' ORDER BY seq";
    if (sqlite3_prepare_v2(store_db(s), esql, -1, &st, NULL) != SQLITE_OK)
        return DYT_OK;
    sqlite3_bind_int64(st, 1, run_id);
    fprintf(f, "\n");
    while (sqlite3_step(st) == SQLITE_ROW)
        fprintf(f, "case %d (%s %s %s %s %s %lldx%lld) %s: %s\n", sqlite3_column_int(st, 0),
                col_text(st, 1), col_text(st, 2), col_text(st, 3), col_text(st, 4), col_text(st, 5),
                (long long)sqlite3_column_int64(st, 6), (long long)sqlite3_column_int64(st, 7),
                col_text(st, 8), col_text(st, 9));
    sqlite3_finalize(st);
    return DYT_OK;
}

static int show_header(store *s, int64_t run_id, FILE *f)
{
    static const char *sql =
        "SELECT r.id, r.label, r.status, r.started_at, r.ended_at, r.suites, r.suite_hash,"
        " r.device, r.metric, r.git_rev, r.command_line, r.settings, r.note,"
        " m.hostname, m.cpu_model, m.cores, m.pus, m.llc_bytes, m.is_vm"
        " FROM runs r JOIN machines m ON m.id = r.machine_id WHERE r.id = ?1";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
        return cli_usage_error("show: %s", sqlite3_errmsg(store_db(s)));
    sqlite3_bind_int64(st, 1, run_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return cli_usage_error("show: no run %lld", (long long)run_id);
    }
    char llc[32];
    dyt_fmt_bytes(llc, sizeof llc, sqlite3_column_double(st, 17));
    fprintf(f, "run %lld%s%s%s: %s (%s, metric %s)\n", (long long)sqlite3_column_int64(st, 0),
            *col_text(st, 1) ? " \"" : "", col_text(st, 1), *col_text(st, 1) ? "\"" : "",
            col_text(st, 2), col_text(st, 7), col_text(st, 8));
    fprintf(f, "  machine   %s (%s), %d cores / %d PUs, LLC used %s%s\n", col_text(st, 13),
            col_text(st, 14), sqlite3_column_int(st, 15), sqlite3_column_int(st, 16), llc,
            sqlite3_column_int(st, 18) ? ", VM" : "");
    fprintf(f, "  time      %s .. %s\n", col_text(st, 3),
            *col_text(st, 4) ? col_text(st, 4) : "(not ended)");
    fprintf(f, "  suites    %s (hash %s), git %s\n", col_text(st, 5), col_text(st, 6),
            col_text(st, 9));
    fprintf(f, "  command   %s\n", col_text(st, 10));
    if (*col_text(st, 11))
        fprintf(f, "  settings  %s\n", col_text(st, 11));
    if (*col_text(st, 12))
        fprintf(f, "  note      %s\n", col_text(st, 12));
    sqlite3_finalize(st);

    static const char *rsql = "SELECT threads, kind, gbps, gbps_median, bytes FROM rooflines"
                              " WHERE run_id = ?1 ORDER BY threads, kind";
    if (sqlite3_prepare_v2(store_db(s), rsql, -1, &st, NULL) != SQLITE_OK)
        return cli_usage_error("show: %s", sqlite3_errmsg(store_db(s)));
    sqlite3_bind_int64(st, 1, run_id);
    int any = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char b[32];
        dyt_fmt_bytes(b, sizeof b, sqlite3_column_double(st, 4));
        fprintf(f, "  roofline  %d thread(s) %-5s %.1f GB/s best, %.1f median (%s per pass)\n",
                sqlite3_column_int(st, 0), col_text(st, 1), sqlite3_column_double(st, 2),
                sqlite3_column_double(st, 3), b);
        any = 1;
    }
    if (!any)
        fprintf(f, "  roofline  (none stored)\n");
    else
        fprintf(f, "            (%% roofline = GB/s over the best of copy/scale, a DRAM figure:\n"
                   "             hot-cache cases whose buffers fit in cache can exceed 100%%)\n");
    sqlite3_finalize(st);
    fputc('\n', f);
    return DYT_OK;
}

static void usage(FILE *f)
{
    fputs("usage: dytbench show RUN|latest|LABEL [--db PATH]\n\n"
          "Prints a stored run: its header (status, machine, settings, bandwidth ceiling)\n"
          "and a table of its cases (median time per call, relative half-width of the\n"
          "95% CI of the median, GB/s, % of the bandwidth ceiling, samples, calls per\n"
          "sample, why sampling stopped, status; errors of failed cases below).\n\n"
          "options:\n"
          "  --db PATH   results database (default " STORE_DEFAULT_PATH ")\n"
          "  -h, --help  this help\n",
          f);
}

static const struct option show_options[] = {
    {"db", required_argument, NULL, 'd'},
    {0, 0, 0, 0},
};

static int cmd_show(int argc, char **argv)
{
    const char *db = STORE_DEFAULT_PATH;
    cli_parser p;
    cli_parse_begin(&p, &cli_cmd_show, NULL, argc, argv);
    for (int ch; (ch = cli_next(&p)) != -1;)
        if (ch == 'd')
            db = optarg;
    int rc = cli_parse_end(&p, 1);
    if (rc != CLI_GO)
        return rc;
    if (p.n_operands == 0)
        return cli_usage_error("show: which run? give an id, a label or 'latest'");
    store *s;
    dyt_err e = {{0}};
    if (store_open(db, 0, &s, &e) != DYT_OK)
        return cli_usage_error("show: %s", e.msg);
    int64_t id;
    rc = store_resolve_run(s, p.operands[0], &id, &e);
    if (rc != DYT_OK) {
        store_close(s);
        return cli_usage_error("show: %s", e.msg);
    }
    rc = show_header(s, id, stdout);
    if (rc == DYT_OK)
        rc = cli_show_cases(s, id, 0, stdout);
    store_close(s);
    return rc;
}

const cli_command cli_cmd_show = {
    .name = "show",
    .what = "show the cases of a stored run",
    .entry = cmd_show,
    .longopts = show_options,
    .help = usage,
};
