/* dytbench show RUN|latest: a stored run's header (id, label, status,
 * machine, times, suites, settings, bandwidth ceiling) and a table of its
 * cases, failed ones with their error and every case with its stop reason.
 * The case table is shared with `dytbench run`, which prints it as the
 * run's summary (cli_show_cases). Read-only, through the store's read API. */
#include "cli.h"
#include "store.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* callgrind's instructions per element of a case (--metric instructions),
 * NAN when it has none. */
static double instructions_of(const store_counter_list *kl, int64_t case_id)
{
    size_t n;
    const store_counter *k = store_counters_of(kl, case_id, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(k[i].source, "callgrind") && !strcmp(k[i].name, "instructions"))
            return k[i].per_element;
    return NAN;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* "%.2f" of v (suffix appended), "-" when the store has none. */
static void fmt_or_dash(char *buf, size_t n, const char *fmt, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, fmt, v);
}

int cli_show_cases(store *s, int64_t run_id, int brief, FILE *f)
{
    store_case_list cl;
    store_counter_list kl = {0};
    dyt_err e = {{0}};
    if (store_load_cases(s, run_id, &cl, &e) != DYT_OK ||
        store_load_counters(s, run_id, &kl, &e) != DYT_OK) {
        store_case_list_free(&cl);
        fprintf(stderr, "dytbench: show: %s\n", e.msg);
        return DYT_USAGE;
    }
    if (brief)
        fprintf(f, "%-26s %-9s %-4s %-4s %-13s %-12s %10s %7s %8s %7s\n", "model", "norm", "pass",
                "dtype", "variant", "rows x cols", "median", "+-CI", "GB/s", "%roof");
    else
        fprintf(f, "%4s %-26s %-9s %-4s %-4s %-13s %3s %-12s %10s %7s %8s %7s %6s %6s %-11s %s\n",
                "seq", "model", "norm", "pass", "dtype", "variant", "thr", "rows x cols", "median",
                "+-CI", "GB/s", "%roof", "n", "batch", "stop", "status");
    int bad = 0;
    for (size_t i = 0; i < cl.n; i++) {
        const store_case *c = &cl.v[i].c;
        const store_stats *t = &cl.v[i].st;
        char shape[32], med[24] = "-", ci[16] = "-", gb[16] = "-", roof[16] = "-";
        snprintf(shape, sizeof shape, "%" PRId64 "x%" PRId64, c->rows, c->cols);
        double ins;
        if (cl.v[i].has_stats) {
            dyt_fmt_ns(med, sizeof med, t->median_ns);
            fmt_or_dash(ci, sizeof ci, "%.2f%%", 100 * t->rel_ci_width);
            fmt_or_dash(gb, sizeof gb, "%.2f", t->gbps);
            if (t->roofline_pct >= 0)
                snprintf(roof, sizeof roof, "%.1f", t->roofline_pct);
        } else if (!isnan(ins = instructions_of(&kl, cl.v[i].id)))
            /* --metric instructions: no timing, instructions per element. */
            snprintf(med, sizeof med, "%.2f ins/el", ins);
        const char *tl = or_empty(c->token_label);
        char model[64];
        snprintf(model, sizeof model, "%s%s%s", c->model, *tl ? "/" : "", tl);
        int ok = !strcmp(c->status, "ok");
        if (brief)
            fprintf(f, "%-26.26s %-9s %-4s %-4s %-13s %-12s %10s %7s %8s %7s%s%s\n", model, c->norm,
                    c->pass, c->dtype, c->variant, shape, med, ci, gb, roof, ok ? "" : "  ",
                    ok ? "" : c->status);
        else
            fprintf(f,
                    "%4d %-26.26s %-9s %-4s %-4s %-13s %3d %-12s %10s %7s %8s %7s %6d %6d %-11s "
                    "%s\n",
                    c->seq, model, c->norm, c->pass, c->dtype, c->variant, c->threads, shape, med,
                    ci, gb, roof, t->n, c->batch,
                    c->stop_reason && *c->stop_reason ? c->stop_reason : "-", c->status);
        bad += !ok;
    }
    if (cl.n == 0)
        fprintf(f, "(no cases stored)\n");
    if (bad) {
        /* Errors below the table: they are long and would break its columns. */
        fprintf(f, "\n");
        for (size_t i = 0; i < cl.n; i++) {
            const store_case *c = &cl.v[i].c;
            if (strcmp(c->status, "ok") != 0)
                fprintf(f, "case %d (%s %s %s %s %s %lldx%lld) %s: %s\n", c->seq, c->model, c->norm,
                        c->pass, c->dtype, c->variant, (long long)c->rows, (long long)c->cols,
                        c->status, or_empty(c->error));
        }
    }
    store_case_list_free(&cl);
    store_counter_list_free(&kl);
    return DYT_OK;
}

static void show_rooflines(const store_roofline_list *rl, FILE *f)
{
    for (size_t i = 0; i < rl->n; i++) {
        const store_roofline *x = &rl->v[i];
        char b[32], median[48];
        dyt_fmt_bytes(b, sizeof b, (double)x->bytes);
        if (isnan(x->gbps_median))
            snprintf(median, sizeof median, "median not stored");
        else
            snprintf(median, sizeof median, "%.1f median", x->gbps_median);
        fprintf(f, "  roofline  %d thread(s) %-5s %.1f GB/s best, %s (%s per pass)\n", x->threads,
                x->kind, x->gbps, median, b);
    }
    if (!rl->n)
        fprintf(f, "  roofline  (none stored)\n");
    else
        fprintf(f, "            (%% roofline = GB/s over the best of copy/scale, a DRAM figure:\n"
                   "             hot-cache cases whose buffers fit in cache can exceed 100%%)\n");
}

static int show_header(store *s, int64_t run_id, FILE *f)
{
    store_run r;
    machine_info m;
    store_roofline_list rl;
    dyt_err e = {{0}};
    if (store_load_run(s, run_id, &r, &e) != DYT_OK)
        return cli_usage_error("show: %s", e.msg);
    if (store_load_machine(s, r.machine_id, &m, &e) != DYT_OK) {
        store_run_free(&r);
        return cli_usage_error("show: %s", e.msg);
    }
    if (store_load_rooflines(s, run_id, &rl, &e) != DYT_OK) {
        store_run_free(&r);
        machine_free(&m);
        return cli_usage_error("show: %s", e.msg);
    }
    const char *label = or_empty(r.label);
    char llc[32];
    dyt_fmt_bytes(llc, sizeof llc, (double)m.llc_bytes);
    fprintf(f, "run %lld%s%s%s: %s (%s, metric %s)\n", (long long)r.id, *label ? " \"" : "", label,
            *label ? "\"" : "", r.status, r.device, r.metric);
    fprintf(f, "  machine   %s (%s), %d cores / %d PUs, LLC used %s%s\n", m.hostname, m.cpu_model,
            m.cores, m.pus, llc, m.is_vm ? ", VM" : "");
    fprintf(f, "  time      %s .. %s\n", r.started_at,
            r.ended_at && *r.ended_at ? r.ended_at : "(not ended)");
    fprintf(f, "  suites    %s (hash %s), git %s\n", r.suites, r.suite_hash, r.git_rev);
    fprintf(f, "  command   %s\n", r.command_line);
    if (r.lockstep_token)
        fprintf(f, "  session   interleave %s, arm %s\n", r.lockstep_token, or_empty(r.arm));
    if (r.campaign)
        fprintf(f, "  campaign  %s, shard %d/%d of plan %s\n", r.campaign, r.shard_index + 1,
                r.shard_count, r.plan_hash ? r.plan_hash : "(not recorded)");
    fprintf(f, "  uuid      %s\n", or_empty(r.uuid));
    store_provenance_list pl = {0};
    if (store_load_provenance(s, run_id, &pl, &e) != DYT_OK)
        fprintf(stderr, "dytbench: show: %s\n", e.msg);
    for (size_t i = 0; i < pl.n; i++)
        fprintf(f, "  merged    from %s (run %lld there) at %s by dytbench %s\n",
                pl.v[i].source_file, (long long)pl.v[i].source_run_id, pl.v[i].merged_at,
                pl.v[i].dytbench_version);
    store_provenance_list_free(&pl);
    if (r.settings && *r.settings)
        fprintf(f, "  settings  %s\n", r.settings);
    if (r.note && *r.note)
        fprintf(f, "  note      %s\n", r.note);
    show_rooflines(&rl, f);
    fputc('\n', f);
    store_roofline_list_free(&rl);
    machine_free(&m);
    store_run_free(&r);
    return DYT_OK;
}

static void usage(FILE *f)
{
    fputs("usage: dytbench show RUN|latest|LABEL [--db PATH]\n\n"
          "Prints a stored run: its header (status, machine, settings, campaign and shard,\n"
          "where `dytbench merge` copied it from, bandwidth ceiling)\n"
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
