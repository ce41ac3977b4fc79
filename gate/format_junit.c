/* The gate report as JUnit XML for CI test reports: one <testcase> per
 * compared benchmark case (a <failure> for each regression, <skipped> for
 * an inconclusive one) and one per unmatched case (skipped), inside
 * <testsuites>/<testsuite> with the attributes the JUnit schema requires
 * (name, tests, failures, errors; testcase name, classname, time). When no
 * case was compared, one more testcase carries an <error>: a report of
 * skipped cases alone would read as a pass. Every string goes through the
 * XML 1.0 escaper. */
#include "escape.h"
#include "gate.h"
#include "gate_format.h"

#include <math.h>

static void attr(FILE *f, const char *name, const char *v)
{
    fprintf(f, " %s=\"", name);
    esc_xml(f, v);
    fputc('"', f);
}

static void classname(FILE *f, const gate_case *c)
{
    char buf[200];
    snprintf(buf, sizeof buf, "dytbench.%s.%s", c->suite, c->model);
    attr(f, "classname", buf);
}

int gate_write_junit(FILE *f, const gate_report *r)
{
    int nothing = gate_exit_code(r) == DYT_USAGE;
    size_t tests = r->n_results + r->n_only_base + r->n_only_cand + (size_t)nothing;
    size_t skipped = r->n_only_base + r->n_only_cand;
    for (size_t i = 0; i < r->n_results; i++)
        skipped += !r->results[i].regression && r->results[i].verdict == GATE_INCONCLUSIVE;
    char run[320], ids[160];
    gate_fmt_run(run, sizeof run, r->cand);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f,
            "<testsuites name=\"dytbench compare\" tests=\"%zu\" failures=\"%zu\" "
            "errors=\"%d\" time=\"0\">\n",
            tests, r->n_regressions, nothing);
    fputs("  <testsuite", f);
    attr(f, "name", run);
    fprintf(f, " tests=\"%zu\" failures=\"%zu\" errors=\"%d\" skipped=\"%zu\" time=\"0\">\n",
            tests, r->n_regressions, nothing, skipped);
    fputs("    <properties>\n", f);
    fprintf(f, "      <property name=\"metric\"");
    attr(f, "value", r->opts.metric);
    fprintf(f,
            "/>\n      <property name=\"threshold\" value=\"%g\"/>\n"
            "      <property name=\"alpha\" value=\"%g\"/>\n",
            r->opts.threshold, r->opts.alpha);
    gate_fmt_run_ids(ids, sizeof ids, r->base);
    fputs("      <property name=\"base_runs\"", f);
    attr(f, "value", ids);
    gate_fmt_run_ids(ids, sizeof ids, r->cand);
    fputs("/>\n      <property name=\"candidate_runs\"", f);
    attr(f, "value", ids);
    char modes[160];
    gate_fmt_modes(modes, sizeof modes, r);
    fputs("/>\n      <property name=\"modes\"", f);
    attr(f, "value", modes);
    fputs("/>\n    </properties>\n", f);
    for (size_t i = 0; i < r->n_results; i++) {
        const gate_result *g = &r->results[i];
        char ch[64], msg[768], md[48];
        gate_fmt_change(ch, sizeof ch, g);
        gate_fmt_mode(md, sizeof md, g);
        double secs = r->kind == GATE_METRIC_TIME && isfinite(g->med_cand) ? g->med_cand * 1e-9 : 0;
        fputs("    <testcase", f);
        attr(f, "name", g->base->key);
        classname(f, g->base);
        fprintf(f, " time=\"%.9f\">\n", secs);
        if (g->regression) {
            snprintf(msg, sizeof msg, "%s slower: %s, p=%.2g (threshold %.1f%%)", g->base->key, ch,
                     g->p, 100 * r->opts.threshold);
            fputs("      <failure type=\"regression\"", f);
            attr(f, "message", msg);
            fputs(">", f);
            esc_xml(f, msg);
            fputs("</failure>\n", f);
        } else if (g->verdict == GATE_INCONCLUSIVE) {
            fputs("      <skipped", f);
            attr(f, "message", g->note);
            fputs("/>\n", f);
        }
        snprintf(msg, sizeof msg, "verdict %s, change %s, mode %s%s%s",
                 gate_verdict_name(g->verdict), ch, md, g->note[0] ? "; " : "", g->note);
        fputs("      <system-out>", f);
        esc_xml(f, msg);
        fputs("</system-out>\n    </testcase>\n", f);
    }
    for (int side = 0; side < 2; side++) {
        size_t n = side ? r->n_only_cand : r->n_only_base;
        const gate_case *const *v = side ? r->only_cand : r->only_base;
        for (size_t i = 0; i < n; i++) {
            fputs("    <testcase", f);
            attr(f, "name", v[i]->key);
            classname(f, v[i]);
            fprintf(f,
                    " time=\"0\">\n      <skipped message=\"only in the %s run\"/>\n"
                    "    </testcase>\n",
                    side ? "candidate" : "base");
        }
    }
    if (nothing) {
        char why[512];
        gate_nothing_why(r, why, sizeof why);
        fputs("    <testcase name=\"compared cases\" classname=\"dytbench.gate\" time=\"0\">\n"
              "      <error type=\"nothing compared\"",
              f);
        attr(f, "message", why);
        fputs("/>\n    </testcase>\n", f);
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
    return ferror(f) ? DYT_RESOURCE : DYT_OK;
}
