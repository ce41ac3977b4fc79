/* dytbench compare BASE CAND: the CI regression gate. Loads both sides
 * (each a run id, label, "latest", all:LABEL, or a comma list of these,
 * any of them as path.db:... for a run of another store), compares
 * every matched case (gate/compare.c: paired, blocks or samples mode for
 * time) and writes the report as text, md, json or junit. Exit 1 when some
 * case is a regression (slower with p < alpha and the interval's lower
 * bound beyond the threshold), 0 otherwise; 2 on bad input and when no case
 * was compared (no case in common, or none with a value of the metric on
 * both sides: the report is written, but a gate that compared nothing does
 * not pass); 3 when the report cannot be written. */
#include "cli.h"
#include "gate.h"
#include "store.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    O_THRESHOLD = CLI_KEY,
    O_ALPHA,
    O_METRIC,
    O_FORMAT,
    O_DB,
    O_RESAMPLES,
    O_SEED,
    O_MIN_SAMPLES,
    O_NOISE_FLOOR,
};

static const char *const formats[] = {"text", "md", "json", "junit", NULL};

static int cmd_compare(cli_parser *p)
{
    for (int c; (c = cli_next(p)) != -1;)
        if (c == O_METRIC && !*optarg)
            cli_error(p, "--metric: empty name");
    int rc = cli_parse_end(p, 2);
    if (rc != CLI_GO)
        return rc;
    gate_opts o;
    gate_opts_default(&o);
    o.threshold = cli_real(p, O_THRESHOLD, o.threshold);
    o.alpha = cli_real(p, O_ALPHA, o.alpha);
    o.metric = cli_text(p, O_METRIC, o.metric);
    o.resamples = (unsigned)cli_uint(p, O_RESAMPLES, o.resamples);
    o.seed = cli_uint(p, O_SEED, o.seed);
    o.min_samples = (size_t)cli_uint(p, O_MIN_SAMPLES, o.min_samples);
    o.noise_floor = cli_given(p, O_NOISE_FLOOR) > 0;
    const char *format = formats[cli_index(p, O_FORMAT, 0)], *out_path = cli_text(p, 'o', NULL);
    const char *db_path = cli_text(p, O_DB, STORE_DEFAULT_PATH);
    int db_given = cli_given(p, O_DB);
    if (p->n_operands != 2)
        return cli_usage_error("compare: expected two runs, BASE and CAND (got %d)", p->n_operands);
    const char *base_spec = p->operands[0], *cand_spec = p->operands[1];

    /* The default store is needed to resolve a plain spec, and holds the
     * calibrations; when both runs are external it is only consulted for
     * calibrations if it exists. */
    store *s = NULL;
    dyt_err e = {{0}};
    if ((rc = gate_spec_check(base_spec, &e)) != DYT_OK)
        return cli_fail(rc, "compare: base '%s': %s", base_spec, e.msg);
    if ((rc = gate_spec_check(cand_spec, &e)) != DYT_OK)
        return cli_fail(rc, "compare: candidate '%s': %s", cand_spec, e.msg);
    int need_db = gate_spec_needs_default(base_spec) || gate_spec_needs_default(cand_spec);
    if (need_db || db_given || access(db_path, R_OK) == 0) {
        if ((rc = store_open(db_path, 0, &s, &e)) != DYT_OK) {
            if (need_db || db_given)
                return cli_fail(rc, "compare: %s", e.msg);
            s = NULL;
        }
    }
    gate_run base, cand;
    if ((rc = gate_load_run(s, base_spec, o.metric, &base, &e)) != DYT_OK) {
        if (s)
            store_close(s);
        return cli_fail(rc, "compare: base '%s': %s", base_spec, e.msg);
    }
    if ((rc = gate_load_run(s, cand_spec, o.metric, &cand, &e)) != DYT_OK) {
        gate_run_free(&base);
        if (s)
            store_close(s);
        return cli_fail(rc, "compare: candidate '%s': %s", cand_spec, e.msg);
    }
    gate_report rep;
    rc = gate_compare(&base, &cand, &o, s, &rep, &e);
    if (rc != DYT_OK) {
        gate_run_free(&base);
        gate_run_free(&cand);
        if (s)
            store_close(s);
        return cli_fail(rc, "compare: %s", e.msg);
    }
    FILE *f = stdout;
    if (out_path && !(f = fopen(out_path, "w"))) {
        rc = cli_fail(DYT_RESOURCE, "compare: cannot write %s: %s", out_path, strerror(errno));
        goto done;
    }
    if (!strcmp(format, "md"))
        rc = gate_write_md(f, &rep);
    else if (!strcmp(format, "json"))
        rc = gate_write_json(f, &rep, &e);
    else if (!strcmp(format, "junit"))
        rc = gate_write_junit(f, &rep);
    else
        rc = gate_write_text(f, &rep);
    /* Warnings also go to stderr for machine formats, where a reader of
     * stdout might not look for them. */
    if (strcmp(format, "text") || f != stdout)
        for (size_t i = 0; i < rep.n_warnings; i++)
            fprintf(stderr, "dytbench: compare: warning: %s\n", rep.warnings[i]);
    int closed = dyt_close_output(f, out_path ? out_path : "standard output", &e);
    if (rc != DYT_OK || closed != DYT_OK)
        rc = cli_fail(DYT_RESOURCE, "compare: writing the report failed%s%s", e.msg[0] ? ": " : "",
                      e.msg);
    else if ((rc = gate_exit_code(&rep)) == DYT_USAGE) {
        char why[512];
        gate_nothing_why(&rep, why, sizeof why);
        cli_usage_error("compare: no case was compared, so the gate cannot pass: %s", why);
    }
done:
    gate_report_free(&rep);
    gate_run_free(&base);
    gate_run_free(&cand);
    if (s)
        store_close(s);
    return rc;
}

static const cli_option compare_options[] = {
    {"threshold", O_THRESHOLD, CLI_PERCENT, "PCT",
     .help = "slowdown that fails the gate, in percent: 5 or 5% (default 5%)"},
    {"alpha", O_ALPHA, CLI_NUMBER, "A",
     .help =
         "significance level of the test (default 0.01); the ratio interval is at confidence 1 - A",
     .lo = 0, .hi = 0.5},
    {"metric", O_METRIC, CLI_TEXT, "M",
     .help = "time (default), instructions (callgrind count per element, or PAPI_TOT_INS), or any "
             "stored counter name"},
    {"format", O_FORMAT, CLI_CHOICE, "F", .help = "text (default), md, json, junit",
     .choices = formats},
    {"output", 'o', CLI_TEXT, "FILE", .help = "write the report there instead of stdout"},
    {"db", O_DB, CLI_TEXT, "PATH", .help = "the store (default " STORE_DEFAULT_PATH ")"},
    {"resamples", O_RESAMPLES, CLI_COUNT, "N", .help = "bootstrap resamples (default 2000)",
     .min = 100, .max = 1000000},
    {"seed", O_SEED, CLI_SEED, "N", .help = "bootstrap seed (default 1)"},
    {"min-samples", O_MIN_SAMPLES, CLI_COUNT, "N",
     .help = "fewer samples per side is inconclusive in sample mode (default 5)", .min = 2,
     .max = 100000},
    {"noise-floor", O_NOISE_FLOOR, CLI_FLAG,
     .help =
         "a slowdown must also exceed the case's A/A noise stored by `dytbench calibrate` for this "
         "machine to fail the gate"},
    {0},
};

const cli_command cli_cmd_compare = {
    .name = "compare",
    .what = "statistical regression gate between two runs",
    .entry = cmd_compare,
    .options = compare_options,
    .usage = "usage: dytbench compare BASE CAND [options]\n\n"
             "BASE and CAND: a run id, 'latest', a label (the latest run with it), all:LABEL\n"
             "(every complete run with that label, pooled), campaign:ID (every run of a\n"
             "campaign: its shards' cases together), PATH.db:RUN, PATH.db:all:LABEL or\n"
             "PATH.db:campaign:ID for runs of another store, or a comma-separated list of\n"
             "these (3,5,7): the runs of a side are pooled. A time case is compared in the\n"
             "first mode that applies:\n"
             "  paired   every run of both sides measured by `dytbench interleave`, and at\n"
             "           least 2 blocks pair up by (session, round): signed-rank test and\n"
             "           Hodges-Lehmann interval on the pairs' log ratios\n"
             "  blocks   both sides have at least 2 blocks (run --rounds, or pooled runs):\n"
             "           U test and Moses interval on the log block medians\n"
             "  samples  else: the raw samples (bootstrap interval, U test)\n",
    .exit1 = "a regression: some case is slower beyond the threshold (p < alpha)",
};
