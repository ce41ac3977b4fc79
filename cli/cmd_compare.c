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

static void usage(FILE *f)
{
    fputs("usage: dytbench compare BASE CAND [options]\n\n"
          "BASE and CAND: a run id, 'latest', a label (the latest run with it), all:LABEL\n"
          "(every complete run with that label, pooled), campaign:ID (every run of a\n"
          "campaign: its shards' cases together), PATH.db:RUN, PATH.db:all:LABEL or\n"
          "PATH.db:campaign:ID for runs of another store, or a comma-separated list of\n"
          "these (3,5,7): the runs of a side are pooled. A time case is compared in the\n"
          "first mode that applies:\n"
          "  paired   every run of both sides measured by `dytbench interleave`, and at least\n"
          "           2 blocks pair up by (session, round): signed-rank test and\n"
          "           Hodges-Lehmann interval on the pairs' log ratios\n"
          "  blocks   both sides have at least 2 blocks (run --rounds, or pooled runs):\n"
          "           U test and Moses interval on the log block medians\n"
          "  samples  else: the raw samples (bootstrap interval, U test)\n\n"
          "options:\n"
          "  --threshold PCT   slowdown that fails the gate, in percent: 5 or 5% (default 5%)\n"
          "  --alpha A         significance level of the test (default 0.01);\n"
          "                    the ratio interval is at confidence 1 - A\n"
          "  --metric M        time (default), instructions (callgrind count per element, or\n"
          "                    PAPI_TOT_INS), or any stored counter name\n"
          "  --format F        text (default), md, json, junit\n"
          "  -o, --output FILE write the report there instead of stdout\n"
          "  --db PATH         the store (default " STORE_DEFAULT_PATH ")\n"
          "  --resamples N     bootstrap resamples (default 2000)\n"
          "  --seed N          bootstrap seed (default 1)\n"
          "  --min-samples N   fewer samples per side is inconclusive in sample mode\n"
          "                    (default 5)\n"
          "  --noise-floor     a slowdown must also exceed the case's A/A noise stored by\n"
          "                    `dytbench calibrate` for this machine to fail the gate\n"
          "  -h, --help        this help\n",
          f);
}

static const struct option compare_options[] = {
    {"threshold", required_argument, NULL, 't'},
    {"alpha", required_argument, NULL, 'a'},
    {"metric", required_argument, NULL, 'm'},
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"db", required_argument, NULL, 'd'},
    {"resamples", required_argument, NULL, 'r'},
    {"seed", required_argument, NULL, 's'},
    {"min-samples", required_argument, NULL, 'n'},
    {"noise-floor", no_argument, NULL, 'N'},
    {NULL, 0, NULL, 0},
};

static int cmd_compare(int argc, char **argv)
{
    static const char *const formats[] = {"text", "md", "json", "junit", NULL};
    gate_opts o;
    gate_opts_default(&o);
    const char *format = "text", *db_path = STORE_DEFAULT_PATH, *out_path = NULL;
    int db_given = 0, c, k;
    uint64_t u;
    cli_parser p;
    cli_parse_begin(&p, &cli_cmd_compare, NULL, argc, argv);
    while ((c = cli_next(&p)) != -1) {
        switch (c) {
        case 't':
            cli_percent(&p, NULL, optarg, &o.threshold);
            break;
        case 'a':
            cli_between(&p, NULL, optarg, 0, 0.5, &o.alpha);
            break;
        case 'm':
            if (!*optarg)
                cli_error(&p, "--metric: empty name");
            o.metric = optarg;
            break;
        case 'f':
            if (cli_choice(&p, NULL, optarg, formats, &k) == DYT_OK)
                format = formats[k];
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'd':
            db_path = optarg;
            db_given = 1;
            break;
        case 'r':
            if (cli_count(&p, NULL, optarg, 100, 1000000, &u) == DYT_OK)
                o.resamples = (unsigned)u;
            break;
        case 's':
            cli_seed(&p, NULL, optarg, &o.seed);
            break;
        case 'n':
            if (cli_count(&p, NULL, optarg, 2, 100000, &u) == DYT_OK)
                o.min_samples = (size_t)u;
            break;
        case 'N':
            o.noise_floor = 1;
            break;
        }
    }
    int rc = cli_parse_end(&p, 2);
    if (rc != CLI_GO)
        return rc;
    if (p.n_operands != 2)
        return cli_usage_error("compare: expected two runs, BASE and CAND (got %d)", p.n_operands);
    const char *base_spec = p.operands[0], *cand_spec = p.operands[1];

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

const cli_command cli_cmd_compare = {
    .name = "compare",
    .what = "statistical regression gate between two runs",
    .entry = cmd_compare,
    .shortopts = "o:",
    .longopts = compare_options,
    .help = usage,
    .exit1 = "a regression: some case is slower beyond the threshold (p < alpha)",
};
