/* The gate report for people: a plain-text table on a terminal and the
 * Markdown comment for a pull request. Both list regressions first, then
 * improvements, then the rest (collapsed in Markdown), then the unmatched
 * cases, which are listed rather than silently dropped. */
#include "escape.h"
#include "gate.h"
#include "gate_format.h"

#include <math.h>
#include <string.h>

int gate_result_group(const gate_result *g)
{
    if (g->regression)
        return 0;
    if (g->verdict == GATE_FASTER)
        return 1;
    return 2;
}

void gate_fmt_change(char *buf, size_t n, const gate_result *g)
{
    if (isnan(g->ratio)) {
        snprintf(buf, n, "n/a");
        return;
    }
    if (isnan(g->ratio_lo) || g->ratio_lo == g->ratio_hi)
        snprintf(buf, n, "%+.2f%%", 100 * (g->ratio - 1));
    else
        snprintf(buf, n, "%+.2f%% [%+.2f, %+.2f]", 100 * (g->ratio - 1), 100 * (g->ratio_lo - 1),
                 100 * (g->ratio_hi - 1));
}

void gate_fmt_value(char *buf, size_t n, const gate_report *r, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else if (r->kind == GATE_METRIC_TIME)
        dyt_fmt_ns(buf, n, v);
    else
        snprintf(buf, n, "%.6g", v);
}

void gate_fmt_run(char *buf, size_t n, const gate_run *r)
{
    if (r->n_runs <= 1) {
        snprintf(buf, n, "run %lld%s%s%s (git %s)", (long long)r->run_id, r->label[0] ? " '" : "",
                 r->label, r->label[0] ? "'" : "", r->git_rev);
        return;
    }
    /* "runs 3,5,7 'label' (git abc)": the label and revision of the last. */
    char ids[160];
    gate_fmt_run_ids(ids, sizeof ids, r);
    snprintf(buf, n, "%zu runs %s%s%s%s (git %s)", r->n_runs, ids, r->label[0] ? " '" : "",
             r->label, r->label[0] ? "'" : "", r->git_rev);
}

void gate_fmt_run_ids(char *buf, size_t n, const gate_run *r)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->n_runs && len < n; i++) {
        char one[32];
        snprintf(one, sizeof one, "%s%lld", i ? "," : "", (long long)r->runs[i].run_id);
        if (len + strlen(one) + 4 >= n) {
            snprintf(buf + len, n - len, ",...");
            return;
        }
        len += (size_t)snprintf(buf + len, n - len, "%s", one);
    }
}

void gate_fmt_mode(char *buf, size_t n, const gate_result *g)
{
    if (g->mode == GATE_MODE_PAIRED)
        snprintf(buf, n, "paired %zu", g->n_pairs);
    else if (g->mode == GATE_MODE_BLOCKS || g->mode == GATE_MODE_SAMPLES)
        snprintf(buf, n, "%s %zu:%zu", gate_mode_name(g->mode), g->n_blocks_base, g->n_blocks_cand);
    else
        snprintf(buf, n, "%s", g->mode == GATE_MODE_NONE ? "-" : gate_mode_name(g->mode));
}

void gate_fmt_modes(char *buf, size_t n, const gate_report *r)
{
    static const gate_mode order[] = {GATE_MODE_PAIRED, GATE_MODE_BLOCKS, GATE_MODE_SAMPLES,
                                      GATE_MODE_EXACT, GATE_MODE_NONE};
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < DYT_ARRAY_LEN(order) && len < n; i++) {
        size_t k = r->n_mode[order[i]];
        if (k)
            len += (size_t)snprintf(buf + len, n - len, "%s%s %zu", len ? ", " : "",
                                    order[i] == GATE_MODE_NONE ? "not compared"
                                                               : gate_mode_name(order[i]),
                                    k);
    }
    if (!buf[0])
        snprintf(buf, n, "none");
}

static const char *verdict_word(const gate_result *g)
{
    return g->regression ? "REGRESSION" : gate_verdict_name(g->verdict);
}

int gate_write_text(FILE *f, const gate_report *r)
{
    /* Every string from the store reaches the terminal through esc_term. */
    char b[320], c[320], t[1300];
    gate_fmt_run(b, sizeof b, r->base);
    gate_fmt_run(c, sizeof c, r->cand);
    fprintf(f, "base:      %s\n", esc_term_str(t, sizeof t, b));
    fprintf(f, "candidate: %s\n", esc_term_str(t, sizeof t, c));
    if (r->kind == GATE_METRIC_TIME)
        fprintf(f,
                "metric: time (median ns per call); threshold %.1f%%, alpha %g, "
                "%.0f%% interval of the ratio (mode paired: signed-rank test and "
                "Hodges-Lehmann interval on time-matched block pairs; blocks: U test and "
                "Moses interval on block medians; samples: bootstrap on raw samples)\n\n",
                100 * r->opts.threshold, r->opts.alpha, 100 * (1 - r->opts.alpha));
    else
        fprintf(f, "metric: %s per element (exact); threshold %.1f%%\n\n",
                esc_term_str(t, sizeof t, r->opts.metric), 100 * r->opts.threshold);
    fprintf(f, "%-13s %-62s %11s %11s %-30s %9s  %s\n", "verdict", "case", "base", "cand",
            "change [interval]", "p", "mode (blocks)");
    for (int grp = 0; grp < 3; grp++) {
        for (size_t i = 0; i < r->n_results; i++) {
            const gate_result *g = &r->results[i];
            if (gate_result_group(g) != grp)
                continue;
            char vb[32], vc[32], ch[64], p[16], md[48];
            gate_fmt_value(vb, sizeof vb, r, g->med_base);
            gate_fmt_value(vc, sizeof vc, r, g->med_cand);
            gate_fmt_change(ch, sizeof ch, g);
            if (isnan(g->p))
                snprintf(p, sizeof p, "-");
            else
                snprintf(p, sizeof p, "%.2g", g->p);
            gate_fmt_mode(md, sizeof md, g);
            fprintf(f, "%-13s %-62s %11s %11s %-30s %9s  %s\n", verdict_word(g),
                    esc_term_str(t, sizeof t, g->base->key), vb, vc, ch, p, md);
            if (g->note[0])
                fprintf(f, "%-13s   %s\n", "", esc_term_str(t, sizeof t, g->note));
        }
    }
    for (size_t i = 0; i < r->n_only_base; i++)
        fprintf(f, "%-13s %s\n", "only in base", esc_term_str(t, sizeof t, r->only_base[i]->key));
    for (size_t i = 0; i < r->n_only_cand; i++)
        fprintf(f, "%-13s %s\n", "only in cand", esc_term_str(t, sizeof t, r->only_cand[i]->key));
    fprintf(f,
            "\n%zu compared: %zu regression(s), %zu slower, %zu faster, %zu same, "
            "%zu inconclusive; %zu unmatched\n",
            r->n_results, r->n_regressions, r->n_slower, r->n_faster, r->n_same, r->n_inconclusive,
            r->n_only_base + r->n_only_cand);
    char modes[160];
    gate_fmt_modes(modes, sizeof modes, r);
    fprintf(f, "modes: %s\n", modes);
    for (size_t i = 0; i < r->n_warnings; i++)
        fprintf(f, "warning: %s\n", esc_term_str(t, sizeof t, r->warnings[i]));
    int rc = gate_exit_code(r);
    fprintf(f, "gate: %s\n", rc == DYT_FAIL ? "FAIL" : rc == DYT_OK ? "pass" : "NOTHING COMPARED");
    return ferror(f) ? DYT_RESOURCE : DYT_OK;
}

static void md_row(FILE *f, const gate_report *r, const gate_result *g)
{
    char vb[32], vc[32], ch[64], md[48];
    gate_fmt_value(vb, sizeof vb, r, g->med_base);
    gate_fmt_value(vc, sizeof vc, r, g->med_cand);
    gate_fmt_change(ch, sizeof ch, g);
    gate_fmt_mode(md, sizeof md, g);
    fputs("| ", f);
    esc_markdown(f, verdict_word(g));
    fputs(" | ", f);
    esc_markdown(f, g->base->key);
    fprintf(f, " | %s | %s | %s | %s | ", vb, vc, ch, md);
    if (isnan(g->p))
        fputs("-", f);
    else
        fprintf(f, "%.2g", g->p);
    fputs(" | ", f);
    esc_markdown(f, g->note);
    fputs(" |\n", f);
}

static void md_table(FILE *f, const gate_report *r, int grp)
{
    fputs("| verdict | case | base | candidate | change [interval] | mode (blocks) | p | note |\n"
          "|---|---|---|---|---|---|---|---|\n",
          f);
    for (size_t i = 0; i < r->n_results; i++)
        if (gate_result_group(&r->results[i]) == grp)
            md_row(f, r, &r->results[i]);
}

int gate_write_md(FILE *f, const gate_report *r)
{
    char b[320], c[320];
    gate_fmt_run(b, sizeof b, r->base);
    gate_fmt_run(c, sizeof c, r->cand);
    size_t n_grp[3] = {0};
    for (size_t i = 0; i < r->n_results; i++)
        n_grp[gate_result_group(&r->results[i])]++;
    int rc = gate_exit_code(r);
    fprintf(f, "## dytbench gate: %s\n\n",
            rc == DYT_FAIL ? ":x: regression"
            : rc == DYT_OK ? ":white_check_mark: pass"
                           : ":warning: nothing compared");
    fputs("Base: ", f);
    esc_markdown(f, b);
    fputs(" · candidate: ", f);
    esc_markdown(f, c);
    fputs("  \n", f);
    char modes[160];
    gate_fmt_modes(modes, sizeof modes, r);
    if (r->kind == GATE_METRIC_TIME)
        fprintf(f,
                "Metric: time · threshold %.1f%% · alpha %g · %zu compared, %zu regression(s), "
                "%zu faster, %zu same, %zu inconclusive · modes: %s\n\n",
                100 * r->opts.threshold, r->opts.alpha, r->n_results, r->n_regressions, r->n_faster,
                r->n_same, r->n_inconclusive, modes);
    else {
        fputs("Metric: ", f);
        esc_markdown(f, r->opts.metric);
        fprintf(f, " per element (exact) · threshold %.1f%% · %zu compared, %zu regression(s)\n\n",
                100 * r->opts.threshold, r->n_results, r->n_regressions);
    }
    for (size_t i = 0; i < r->n_warnings; i++) {
        fputs("> :warning: ", f);
        esc_markdown(f, r->warnings[i]);
        fputs("\n\n", f);
    }
    static const char *const heading[2] = {"Regressions", "Improvements"};
    for (int g = 0; g < 2; g++) {
        fprintf(f, "### %s (%zu)\n\n", heading[g], n_grp[g]);
        if (n_grp[g]) {
            md_table(f, r, g);
            fputs("\n", f);
        } else {
            fputs("None.\n\n", f);
        }
    }
    fprintf(f, "<details><summary>Other cases (%zu) and unmatched (%zu)</summary>\n\n", n_grp[2],
            r->n_only_base + r->n_only_cand);
    if (n_grp[2]) {
        md_table(f, r, 2);
        fputs("\n", f);
    }
    for (size_t i = 0; i < r->n_only_base; i++) {
        fputs("- only in base: ", f);
        esc_markdown(f, r->only_base[i]->key);
        fputs("\n", f);
    }
    for (size_t i = 0; i < r->n_only_cand; i++) {
        fputs("- only in candidate: ", f);
        esc_markdown(f, r->only_cand[i]->key);
        fputs("\n", f);
    }
    fputs("\n</details>\n", f);
    return ferror(f) ? DYT_RESOURCE : DYT_OK;
}
