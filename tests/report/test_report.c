/* Tests of `dytbench report` (report/ and plots/) on a store built by the
 * test (fixture.c): the generated tables against the expected files in
 * tests/report/expected (DYT_UPDATE_EXPECTED=1 rewrites them), a run label
 * full of special characters rendered literally in all five formats, the
 * whole-model sums, aborted, empty and missing runs, reports without
 * gnuplot, and -- where the programs are installed -- every gnuplot script
 * drawing a non-empty SVG and PNG, tables.tex compiling with pdflatex, and
 * index.html rendering in headless Chromium with every figure. */
#include "dyt_test.h"

#include "dyt_config.h"
#include "escape.h"
#include "figures.h"
#include "fixture.h"
#include "helpers.h"
#include "report.h"
#include "report_int.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Compares text with expected/NAME, or rewrites it with DYT_UPDATE_EXPECTED. */
static void compare_expected(const char *text, const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", EXPECTED_DIR, name);
    if (getenv("DYT_UPDATE_EXPECTED")) {
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        return;
    }
    char *want = slurp(p, NULL);
    if (!want)
        fail_msg("missing %s (run with DYT_UPDATE_EXPECTED=1 to create it)", p);
    if (strcmp(want, text)) {
        const char *a = want, *b = text;
        int line = 1;
        while (*a && *a == *b) {
            line += *a == '\n';
            a++;
            b++;
        }
        fail_msg("%s differs from the generated file at line %d", p, line);
    }
    free(want);
}

/* Expected tables --------------------------------------------------------- */

static void test_expected_tables(void **state)
{
    (void)state;
    char dir[512];
    dyt_err e;
    assert_int_equal(report("plain", FIX_RUN_MAIN, NULL, 0, "", dir, &e), DYT_OK);
    char *md = slurp2(dir, "report.md"), *csv = slurp2(dir, "results.csv"),
         *tex = slurp2(dir, "tables.tex");
    assert_non_null(md);
    assert_non_null(csv);
    assert_non_null(tex);
    compare_expected(md, "report.md");
    compare_expected(csv, "results.csv");
    /* tex excerpt: the speedup and whole-model tables */
    char *a = strstr(tex, "% --- table: speedup"), *b = strstr(tex, "% --- table: variants");
    assert_non_null(a);
    assert_non_null(b);
    *b = 0;
    compare_expected(a, "tables-excerpt.tex");
    free(md);
    free(csv);
    free(tex);
}

static void test_csv_has_v_results_columns(void **state)
{
    (void)state;
    char dir[512];
    dyt_err e;
    assert_int_equal(report("csvcols", FIX_RUN_MAIN, NULL, 0, "", dir, &e), DYT_OK);
    char *csv = slurp2(dir, "results.csv");
    assert_non_null(csv);
    char *eol = strstr(csv, "\r\n");
    assert_non_null(eol);
    *eol = 0;
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('v_results')", -1, &st, NULL),
        SQLITE_OK);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char want[80];
        snprintf(want, sizeof want, ",%s,", (const char *)sqlite3_column_text(st, 0));
        char hdr[2048];
        snprintf(hdr, sizeof hdr, ",%s,", csv);
        if (!strstr(hdr, want))
            fail_msg("results.csv lacks v_results column %s", want);
        n++;
    }
    sqlite3_finalize(st);
    assert_true(n >= 20);
    /* one row per case of the run */
    size_t rows = count(eol + 2, "\r\n");
    int64_t cases = 0;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM cases WHERE run_id = 1", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    cases = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    assert_int_equal(rows, (size_t)cases);
    free(csv);
}

/* Escaping --------------------------------------------------------------- */

/* The first field of line 2 of an RFC 4180 file that is quoted... parses
 * the label column (2nd) of the first data row. */
static char *csv_field(const char *csv, int row, int col)
{
    const char *p = csv;
    for (int r = 0, c = 0;;) {
        char *out = malloc(strlen(csv) + 1);
        size_t n = 0;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '"' && p[1] == '"') {
                    out[n++] = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else if (!*p) {
                    break;
                } else {
                    out[n++] = *p++;
                }
            }
        } else {
            while (*p && *p != ',' && *p != '\r' && *p != '\n')
                out[n++] = *p++;
        }
        out[n] = 0;
        if (r == row && c == col)
            return out;
        free(out);
        if (*p == ',') {
            p++;
            c++;
        } else if (*p == '\r' || *p == '\n') {
            p += *p == '\r' ? 2 : 1;
            r++;
            c = 0;
        } else {
            return NULL;
        }
    }
}

/* Every format flags the cases above their ceiling and marks the
 * handicapped side of a verdict; every format has the accuracy table. */
static void test_fairness_in_every_format(void **state)
{
    (void)state;
    char dir[512];
    dyt_err e;
    assert_int_equal(report("fair", FIX_RUN_MAIN, NULL, 0, "", dir, &e), DYT_OK);
    static const char *const files[] = {"report.md", "tables.tex", "index.html"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(files); i++) {
        char *t = slurp2(dir, files[i]);
        assert_non_null(t);
        /* vit-b16 inference fp32: DyT above its l2 ceiling, LayerNorm below 80% */
        assert_non_null(strstr(t, "110.1 (l2, above)"));
        assert_non_null(strstr(t, "handicapped: layernorm; above ceiling: DyT"));
        assert_non_null(strstr(t, "Cases above their bandwidth ceiling (flagged)"));
        assert_non_null(strstr(t, "Kernel variants: accuracy against float64"));
        free(t);
    }
    char *csv = slurp2(dir, "results.csv");
    assert_non_null(csv);
    assert_non_null(strstr(csv, ",ceiling_level,ceiling_pct,max_ulps,ceiling_flag,"));
    /* two fp32 DyT forward cases are above theirs: one flag each */
    int flags = 0;
    for (const char *p = csv; (p = strstr(p, ",above,")); p++)
        flags++;
    assert_int_equal(flags, 2);
    free(csv);
}

static void test_escaping(void **state)
{
    (void)state;
    char dir[512];
    dyt_err e;
    const char *gp = have("gnuplot") ? NULL : "";
    assert_int_equal(report("escape", FIX_RUN_MAIN, NULL, 0, gp, dir, &e), DYT_OK);

    char *md = slurp2(dir, "report.md");
    assert_non_null(md);
    assert_non_null(strstr(md, "50%\\_a&amp;b&lt;c&gt;\"\\|\\$x"));
    assert_null(strstr(md, "<c>"));
    assert_null(strstr(md, "b<c"));

    char *html = slurp2(dir, "index.html");
    assert_non_null(html);
    assert_non_null(strstr(html, "50%_a&amp;b&lt;c&gt;&quot;|$x"));
    assert_null(strstr(html, "<c>"));
    char *text = xml_unescape(html);
    assert_non_null(strstr(text, "run #1 " FIX_LABEL));
    free(text);

    char *tex = slurp2(dir, "tables.tex");
    assert_non_null(tex);
    assert_non_null(
        strstr(tex, "50\\%\\_a\\&b\\textless{}c\\textgreater{}\\textquotedbl{}\\textbar{}\\$x"));
    assert_null(strstr(tex, FIX_LABEL));

    char *csv = slurp2(dir, "results.csv");
    assert_non_null(csv);
    char *label = csv_field(csv, 1, 1);
    assert_non_null(label);
    assert_string_equal(label, FIX_LABEL);
    free(label);

    char *script = slurp2(dir, "figures/speedup.gp");
    assert_non_null(script);
    assert_non_null(strstr(script, "run #1 50%_a&b<c>\\\"|$x on ci-host"));
    assert_non_null(strstr(script, "noenhanced"));
    if (gp == NULL) {
        char *svg = slurp2(dir, "figures/speedup.svg");
        assert_non_null(svg);
        char *t = xml_unescape(svg);
        assert_non_null(strstr(t, "run #1 " FIX_LABEL " on ci-host"));
        free(t);
        free(svg);
        /* and the SVG embedded in the page keeps it */
        text = xml_unescape(html);
        assert_true(count(text, "run #1 " FIX_LABEL " on ci-host") >= 2);
        free(text);
    }
    free(script);
    free(md);
    free(html);
    free(tex);
    free(csv);
}

static void test_escape_functions(void **state)
{
    (void)state;
    char *buf;
    size_t n;
    FILE *f = open_memstream(&buf, &n);
    esc_markdown(f, "a|b\nc");
    fputc(';', f);
    esc_csv(f, "x,\"y\"");
    fputc(';', f);
    esc_csv(f, " lead");
    fputc(';', f);
    esc_csv(f, "plain");
    fputc(';', f);
    esc_gnuplot(f, "q\"\\z\n");
    fputc(';', f);
    esc_latex(f, "µ×~^\\");
    fputc(';', f);
    esc_html(f, "<'&\">");
    fclose(f);
    assert_string_equal(
        buf, "a\\|b c;\"x,\"\"y\"\"\";\" lead\";plain;q\\\"\\\\z ;"
             "\\textmu{}\\texttimes{}\\textasciitilde{}\\textasciicircum{}\\textbackslash{};"
             "&lt;&#39;&amp;&quot;&gt;");
    free(buf);
}

/* Analysis -------------------------------------------------------------- */

static void test_model_group(void **state)
{
    (void)state;
    static const char *const m[][2] = {{"llama-7b-attn", "llama-7b"},
                                       {"llama-7b-ffn-final", "llama-7b"},
                                       {"convnext-b-s1-down", "convnext-b"},
                                       {"convnext-b-s3", "convnext-b"},
                                       {"convnext-b-head", "convnext-b"},
                                       {"wav2vec2-base-feat", "wav2vec2-base"},
                                       {"vit-b16", "vit-b16"},
                                       {"caduceus-ph", "caduceus-ph"},
                                       {"dit-xl2", "dit-xl2"},
                                       {"hyenadna", "hyenadna"},
                                       {"mae-vit-l16-enc", "mae-vit-l16-enc"}};
    for (size_t i = 0; i < DYT_ARRAY_LEN(m); i++) {
        char *g = rep_model_group(m[i][0]);
        assert_string_equal(g, m[i][1]);
        free(g);
    }
}

static double fx_median(const char *norm, const char *pass, const char *dtype, int64_t rows,
                        int64_t cols)
{
    /* The fixture's samples are symmetric around the formula's time. */
    return fixture_ns(norm, pass, dtype, "avx512", rows, cols);
}

/* The analysis' DyT/norm pair of a model at rows and dtype (fails without). */
static const rep_pair *find_pair(const rep_analysis *a, const char *model, int64_t rows,
                                 const char *dtype)
{
    for (size_t i = 0; i < a->n_pairs; i++) {
        const rep_case *c = rep_pair_any(&a->pairs[i]);
        if (!strcmp(c->c.model, model) && c->c.rows == rows && !strcmp(c->c.dtype, dtype))
            return &a->pairs[i];
    }
    fail_msg("no pair %s %lld %s", model, (long long)rows, dtype);
    return NULL;
}

static void test_whole_model(void **state)
{
    (void)state;
    rep_run r;
    rep_analysis a;
    dyt_err e;
    assert_int_equal(rep_load_run(fixture, FIX_RUN_MAIN, &r, &e), DYT_OK);
    assert_int_equal(rep_analyse(fixture, &r, NULL, 0, &a, &e), DYT_OK);
    int seen_prefill = 0, seen_decode_bf16 = 0;
    for (size_t i = 0; i < a.n_wholes; i++) {
        const rep_whole *w = &a.wholes[i];
        if (strcmp(w->group, "llama-7b"))
            continue;
        assert_int_equal(w->n_sections, 2);
        assert_int_equal(w->n_layers, 65);
        if (!strcmp(w->token, "prefill") && !strcmp(w->dtype, "fp32")) {
            seen_prefill = 1;
            double inf_n = 65 * fx_median("rmsnorm", "fwd", "fp32", 4096, 4096);
            double inf_d = 65 * fx_median("dyt", "fwd", "fp32", 4096, 4096);
            double tr_n = inf_n + 65 * fx_median("rmsnorm", "bwd", "fp32", 4096, 4096);
            double tr_d = inf_d + 65 * fx_median("dyt", "bwd", "fp32", 4096, 4096);
            assert_true(w->complete_inf && w->complete_train);
            assert_true(fabs(w->inf_norm / inf_n - 1) < 1e-9);
            assert_true(fabs(w->inf_dyt / inf_d - 1) < 1e-9);
            assert_true(fabs(w->train_norm / tr_n - 1) < 1e-9);
            assert_true(fabs(w->train_dyt / tr_d - 1) < 1e-9);
        }
        if (!strcmp(w->token, "decode") && !strcmp(w->dtype, "bf16")) {
            seen_decode_bf16 = 1; /* the fixture has no ffn-final bf16 decode */
            assert_false(w->complete_inf);
            assert_true(isnan(w->inf_norm));
            assert_string_equal(w->missing, "llama-7b-ffn-final");
        }
    }
    assert_true(seen_prefill && seen_decode_bf16);
    /* speedup: fastest variant each side, ratio of medians, CI around it */
    const rep_pair *p = find_pair(&a, "vit-b16", 1576, "fp32");
    assert_string_equal(p->dyt[REP_FWD]->c.variant, "avx512");
    assert_string_equal(p->norm[REP_FWD]->c.variant, "avx512"); /* onednn is 1.1x slower */
    double want = fx_median("layernorm", "fwd", "fp32", 1576, 768) /
                  fx_median("dyt", "fwd", "fp32", 1576, 768);
    assert_true(fabs(p->speedup[REP_FWD] / want - 1) < 1e-9);
    assert_true(p->lo[REP_FWD] <= p->speedup[REP_FWD] && p->speedup[REP_FWD] <= p->hi[REP_FWD]);
    assert_true(p->hi[REP_FWD] / p->lo[REP_FWD] < 1.05);
    /* variants: libm and onednn listed, fastest first within a group */
    int libm = 0, onednn = 0;
    for (size_t i = 0; i < a.n_variants; i++) {
        const rep_variant_key *k = &a.variants[i].k, *kp = i ? &a.variants[i - 1].k : NULL;
        libm |= !strcmp(k->variant, "libm");
        onednn |= !strcmp(k->variant, "onednn");
        if (kp && !strcmp(k->norm, kp->norm) && !strcmp(k->pass, kp->pass) &&
            !strcmp(k->dtype, kp->dtype))
            assert_true(a.variants[i].gbps_median <= a.variants[i - 1].gbps_median);
    }
    assert_true(libm && onednn);
    assert_int_equal(a.n_failed, 1);
    /* ceilings: vit-b16 inference (l2) -- DyT above its ceiling, LayerNorm
     * handicapped below 80%; every flagged case counted */
    size_t above = 0;
    for (size_t i = 0; i < r.cases.n; i++)
        above += rep_case_usable(&r.cases.v[i]) && rep_case_above(&r.cases.v[i]);
    assert_true(above > 0);
    assert_int_equal(a.n_above, above);
    p = find_pair(&a, "vit-b16", 197, "fp32");
    assert_string_equal(p->dyt[REP_FWD]->st.ceiling_level, "l2");
    assert_true(rep_case_above(p->dyt[REP_FWD]));
    assert_true(p->norm[REP_FWD]->st.ceiling_pct < REP_HANDICAP_PCT);
    /* accuracy: every variant with verified cases, the failed one counted
     * with its figure above its bound */
    int failed_seen = 0;
    for (size_t i = 0; i < a.n_accuracy; i++) {
        const rep_accuracy *q = &a.accuracy[i];
        assert_true(q->n_verified > 0 && q->max_err > 0 && q->max_ulps > 0);
        if (q->n_failed) {
            failed_seen = 1;
            assert_string_equal(q->k.variant, "avx2");
            assert_true(q->max_err > q->max_err_tol);
        }
    }
    assert_true(failed_seen);
    rep_free_analysis(&a);
    rep_free_run(&r);
}

/* Runs that cannot be reported, and an aborted one ---------------------- */

static void test_missing_and_empty(void **state)
{
    (void)state;
    char dir[512];
    dyt_err e;
    assert_int_equal(report("missing", 99, NULL, 0, "", dir, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "run 99 does not exist"));
    assert_int_equal(report("empty", FIX_RUN_EMPTY, NULL, 0, "", dir, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "has no cases"));
    assert_int_equal(fsize(dir, "report.md"), -1); /* nothing written */
    int64_t vs = 77;
    assert_int_equal(report("missingvs", FIX_RUN_MAIN, &vs, 1, "", dir, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "run 77 does not exist"));
}

static void test_aborted(void **state)
{
    (void)state;
    char dir[512];
    dyt_err e;
    assert_int_equal(report("aborted", FIX_RUN_ABORTED, NULL, 0, "", dir, &e), DYT_OK);
    const char *files[] = {"report.md", "tables.tex", "index.html"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(files); i++) {
        char *s = slurp2(dir, files[i]);
        assert_non_null(s);
        assert_int_equal(count(s, "was aborted"), 1);
        assert_non_null(strstr(s, "interrupted by SIGINT"));
        free(s);
    }
    char *md = slurp2(dir, "report.md");
    assert_non_null(strstr(md, "| vision | vit-b16 | train-8img | 1576 | 768 | fp32 |"));
    assert_null(strstr(md, "| llama-7b-ffn-final |")); /* never reached */
    free(md);
    char *csv = slurp2(dir, "results.csv");
    assert_non_null(strstr(csv, ",aborted,"));
    free(csv);
}

DYT_TEST_MAIN("report", setup, teardown, cmocka_unit_test(test_escape_functions),
              cmocka_unit_test(test_model_group), cmocka_unit_test(test_expected_tables),
              cmocka_unit_test(test_csv_has_v_results_columns), cmocka_unit_test(test_escaping),
              cmocka_unit_test(test_whole_model), cmocka_unit_test(test_fairness_in_every_format),
              cmocka_unit_test(test_missing_and_empty), cmocka_unit_test(test_aborted))
