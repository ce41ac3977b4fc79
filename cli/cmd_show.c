/* dytbench show RUN|latest: a stored run's header (id, label, status,
 * machine, times, suites, settings, bandwidth ceilings) and a table of its
 * cases, each with its ceiling (level, %, % of dram), those above 105% of
 * it flagged below the table, failed ones with their error and every case
 * with its stop reason.
 * The case table is shared with `dytbench run`, which prints it as the
 * run's summary (cli_show_cases). Read-only, through the store's read API. */
#include "cli.h"
#include "escape.h"
#include "store.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* Strings from the store reach the terminal through esc_term (a label may
 * hold any bytes); T fills one of a row's buffers. */
static const char *term(char *buf, size_t n, const char *s)
{
    return esc_term_str(buf, n, s ? s : "");
}
#define T(buf, s) term(buf, sizeof buf, s)

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

/* The %-of-ceiling cells of a case: its level, its % of it ("!" above
 * the flag threshold) and its % of dram; "-" where unknown. */
static void fmt_ceiling(const store_case_rec *x, char *lvl, char *pct, char *dram, size_t n)
{
    snprintf(lvl, n, "-");
    snprintf(pct, n, "-");
    snprintf(dram, n, "-");
    if (!x->has_stats)
        return;
    if (x->st.ceiling_level && !isnan(x->st.ceiling_pct)) {
        snprintf(lvl, n, "%s", x->st.ceiling_level);
        snprintf(pct, n, "%.1f%s", x->st.ceiling_pct,
                 x->st.ceiling_pct > STORE_CEILING_FLAG_PCT ? "!" : "");
    }
    fmt_or_dash(dram, n, "%.1f", x->st.roofline_pct);
}

static int above_ceiling(const store_case_rec *x)
{
    return x->has_stats && x->st.ceiling_pct > STORE_CEILING_FLAG_PCT;
}

int cli_show_cases(store *s, int64_t run_id, int brief, FILE *f)
{
    store_case_list cl;
    store_counter_list kl = {0};
    dyt_err e = {{0}};
    int rc;
    if ((rc = store_load_cases(s, run_id, &cl, &e)) != DYT_OK ||
        (rc = store_load_counters(s, run_id, &kl, &e)) != DYT_OK) {
        store_case_list_free(&cl);
        return cli_fail(rc, "show: %s", e.msg);
    }
    if (brief)
        fprintf(f, "%-26s %-9s %-4s %-4s %-13s %-12s %10s %7s %8s %-4s %7s %7s\n", "model", "norm",
                "pass", "dtype", "variant", "rows x cols", "median", "+-CI", "GB/s", "ceil",
                "%ceil", "%dram");
    else
        fprintf(f,
                "%4s %-26s %-9s %-4s %-4s %-13s %3s %-12s %10s %7s %8s %-4s %7s %7s %8s %6s %6s "
                "%-11s %s\n",
                "seq", "model", "norm", "pass", "dtype", "variant", "thr", "rows x cols", "median",
                "+-CI", "GB/s", "ceil", "%ceil", "%dram", "ulps", "n", "batch", "stop", "status");
    int bad = 0, above = 0;
    for (size_t i = 0; i < cl.n; i++) {
        const store_case *c = &cl.v[i].c;
        const store_stats *t = &cl.v[i].st;
        char shape[32], med[24] = "-", ci[16] = "-", gb[16] = "-", lvl[16], pct[16], dram[16];
        char ulps[16];
        snprintf(shape, sizeof shape, "%" PRId64 "x%" PRId64, c->rows, c->cols);
        fmt_ceiling(&cl.v[i], lvl, pct, dram, sizeof lvl);
        fmt_or_dash(ulps, sizeof ulps, "%.3g", c->max_ulps);
        double ins;
        if (cl.v[i].has_stats) {
            dyt_fmt_ns(med, sizeof med, t->median_ns);
            fmt_or_dash(ci, sizeof ci, "%.2f%%", 100 * t->rel_ci_width);
            fmt_or_dash(gb, sizeof gb, "%.2f", t->gbps);
        } else if (!isnan(ins = instructions_of(&kl, cl.v[i].id)))
            /* --metric instructions: no timing, instructions per element. */
            snprintf(med, sizeof med, "%.2f ins/el", ins);
        const char *tl = or_empty(c->token_label);
        char model[64], m[256], nm[64], ps[64], dt[64], va[64], st[64], sr[64], lv[64];
        snprintf(model, sizeof model, "%s%s%s", c->model, *tl ? "/" : "", tl);
        int ok = !strcmp(c->status, "ok");
        T(lv, lvl);
        T(m, model);
        T(nm, c->norm);
        T(ps, c->pass);
        T(dt, c->dtype);
        T(va, c->variant);
        T(st, c->status);
        if (brief)
            fprintf(f, "%-26.26s %-9s %-4s %-4s %-13s %-12s %10s %7s %8s %-4s %7s %7s%s%s\n", m, nm,
                    ps, dt, va, shape, med, ci, gb, lv, pct, dram, ok ? "" : "  ", ok ? "" : st);
        else
            fprintf(f,
                    "%4d %-26.26s %-9s %-4s %-4s %-13s %3d %-12s %10s %7s %8s %-4s %7s %7s %8s "
                    "%6d %6d %-11s %s\n",
                    c->seq, m, nm, ps, dt, va, c->threads, shape, med, ci, gb, lv, pct, dram, ulps,
                    t->n, c->batch, c->stop_reason && *c->stop_reason ? T(sr, c->stop_reason) : "-",
                    st);
        bad += !ok;
        above += ok && above_ceiling(&cl.v[i]);
    }
    if (cl.n == 0)
        fprintf(f, "(no cases stored)\n");
    if (above) {
        /* Flagged below the table, never only a number in it. */
        fprintf(f,
                "\n! %d case(s) above %.0f%% of their ceiling (the copy bandwidth of the cache "
                "level their\n  bytes fit in, or dram): their working set sits near a cache "
                "boundary, or a call moves\n  fewer bytes than counted; their %%ceil does not say "
                "how close they are to the machine's limit:\n",
                above, STORE_CEILING_FLAG_PCT);
        for (size_t i = 0; i < cl.n; i++) {
            const store_case *c = &cl.v[i].c;
            if (strcmp(c->status, "ok") || !above_ceiling(&cl.v[i]))
                continue;
            char what[512], wt[1024], lv[64];
            snprintf(what, sizeof what, "%s %s %s %s %s", c->model, c->norm, c->pass, c->dtype,
                     c->variant);
            fprintf(f, "  case %d (%s %lldx%lld, %llu bytes): %.1f%% of its %s ceiling\n", c->seq,
                    T(wt, what), (long long)c->rows, (long long)c->cols,
                    (unsigned long long)c->bytes, cl.v[i].st.ceiling_pct,
                    T(lv, cl.v[i].st.ceiling_level));
        }
    }
    if (bad) {
        /* Errors below the table: they are long and would break its columns. */
        fprintf(f, "\n");
        for (size_t i = 0; i < cl.n; i++) {
            const store_case *c = &cl.v[i].c;
            char what[512], wt[1024], st[64], err[1024];
            snprintf(what, sizeof what, "%s %s %s %s %s", c->model, c->norm, c->pass, c->dtype,
                     c->variant);
            if (strcmp(c->status, "ok") != 0)
                fprintf(f, "case %d (%s %lldx%lld) %s: %s\n", c->seq, T(wt, what),
                        (long long)c->rows, (long long)c->cols, T(st, c->status), T(err, c->error));
        }
    }
    store_case_list_free(&cl);
    store_counter_list_free(&kl);
    return DYT_OK;
}

static void show_ceilings(const store_ceiling_list *cl, FILE *f)
{
    for (size_t i = 0; i < cl->n; i++) {
        const store_ceiling *x = &cl->v[i];
        char b[32], median[48];
        dyt_fmt_bytes(b, sizeof b, (double)x->bytes);
        if (isnan(x->gbps_median))
            snprintf(median, sizeof median, "median not stored");
        else
            snprintf(median, sizeof median, "%.1f median", x->gbps_median);
        char lv[64], kd[64], how[1024];
        fprintf(f, "  ceiling   %d thread(s) %-4s %-8s %8.1f GB/s best, %s, at %s (%s)\n",
                x->threads, T(lv, x->level), T(kd, x->kind), x->gbps, median, b,
                x->method ? T(how, x->method) : "how: not stored");
    }
    if (!cl->n)
        fprintf(f, "  ceiling   (none stored)\n");
}

static int show_header(store *s, int64_t run_id, FILE *f)
{
    store_run r;
    machine_info m;
    store_ceiling_list cl;
    dyt_err e = {{0}};
    int rc;
    if ((rc = store_load_run(s, run_id, &r, &e)) != DYT_OK)
        return cli_fail(rc, "show: %s", e.msg);
    if ((rc = store_load_machine(s, r.machine_id, &m, &e)) != DYT_OK) {
        store_run_free(&r);
        return cli_fail(rc, "show: %s", e.msg);
    }
    if ((rc = store_load_ceilings(s, run_id, &cl, &e)) != DYT_OK) {
        store_run_free(&r);
        machine_free(&m);
        return cli_fail(rc, "show: %s", e.msg);
    }
    const char *label = or_empty(r.label);
    char llc[32], a[1024], b[1024], c[1024];
    dyt_fmt_bytes(llc, sizeof llc, (double)m.llc_bytes);
    fprintf(f, "run %lld%s%s%s: %s (%s, ", (long long)r.id, *label ? " \"" : "", T(a, label),
            *label ? "\"" : "", T(b, r.status), T(c, r.device));
    fprintf(f, "metric %s)\n", T(a, r.metric));
    fprintf(f, "  machine   %s (%s), %d cores / %d PUs, LLC used %s%s\n", T(a, m.hostname),
            T(b, m.cpu_model), m.cores, m.pus, llc, m.is_vm ? ", VM" : "");
    fprintf(f, "  time      %s .. %s\n", T(a, r.started_at),
            r.ended_at && *r.ended_at ? T(b, r.ended_at) : "(not ended)");
    fprintf(f, "  suites    %s (hash %s), git %s\n", T(a, r.suites), T(b, r.suite_hash),
            T(c, r.git_rev));
    fprintf(f, "  command   %s\n", T(a, r.command_line));
    if (r.lockstep_token)
        fprintf(f, "  session   interleave %s, arm %s\n", T(a, r.lockstep_token), T(b, r.arm));
    if (r.campaign)
        fprintf(f, "  campaign  %s, shard %d/%d of plan %s\n", T(a, r.campaign), r.shard_index + 1,
                r.shard_count, r.plan_hash ? T(b, r.plan_hash) : "(not recorded)");
    fprintf(f, "  uuid      %s\n", T(a, r.uuid));
    store_provenance_list pl = {0};
    if (store_load_provenance(s, run_id, &pl, &e) != DYT_OK)
        fprintf(stderr, "dytbench: show: %s\n", T(a, e.msg));
    for (size_t i = 0; i < pl.n; i++)
        fprintf(f, "  merged    from %s (run %lld there) at %s by dytbench %s\n",
                T(a, pl.v[i].source_file), (long long)pl.v[i].source_run_id,
                T(b, pl.v[i].merged_at), T(c, pl.v[i].dytbench_version));
    store_provenance_list_free(&pl);
    if (r.settings && *r.settings)
        fprintf(f, "  settings  %s\n", T(a, r.settings));
    if (r.note && *r.note)
        fprintf(f, "  note      %s\n", T(a, r.note));
    show_ceilings(&cl, f);
    fputc('\n', f);
    store_ceiling_list_free(&cl);
    machine_free(&m);
    store_run_free(&r);
    return DYT_OK;
}

enum { O_DB = CLI_KEY };

static int cmd_show(cli_parser *p)
{
    int rc = cli_parse_end(p, 1);
    if (rc != CLI_GO)
        return rc;
    const char *db = cli_text(p, O_DB, STORE_DEFAULT_PATH);
    if (p->n_operands == 0)
        return cli_usage_error("show: which run? give an id, a label or 'latest'");
    store *s;
    dyt_err e = {{0}};
    if ((rc = store_open(db, 0, &s, &e)) != DYT_OK)
        return cli_fail(rc, "show: %s", e.msg);
    int64_t id;
    rc = store_resolve_run(s, p->operands[0], &id, &e);
    if (rc != DYT_OK) {
        store_close(s);
        return cli_fail(rc, "show: %s", e.msg);
    }
    rc = show_header(s, id, stdout);
    if (rc == DYT_OK)
        rc = cli_show_cases(s, id, 0, stdout);
    store_close(s);
    return rc;
}

static const cli_option show_options[] = {
    {"db", O_DB, CLI_TEXT, "PATH", .help = "results database (default " STORE_DEFAULT_PATH ")"},
    {0},
};

const cli_command cli_cmd_show = {
    .name = "show",
    .what = "show the cases of a stored run",
    .entry = cmd_show,
    .options = show_options,
    .usage = "usage: dytbench show RUN|latest|LABEL [--db PATH]\n\n"
             "Prints a stored run: its header (status, machine, settings, campaign and shard,\n"
             "where `dytbench merge` copied it from, the bandwidth ceilings per cache level\n"
             "and thread count) and a table of its cases (median\n"
             "time per call, relative half-width of the 95% CI of the median, GB/s, the\n"
             "ceiling the case is held against -- the cache level its bytes fit in, or dram\n"
             "-- and its % of it, its % of dram, the worst verification error in ulps,\n"
             "samples, calls per sample, why sampling stopped, status). Below: the cases\n"
             "above 105% of their ceiling (marked ! in the table), and errors of failed\n"
             "cases.\n",
};
