/* Tests of the report's outputs as programs see them: every gnuplot script
 * runs and draws a non-empty SVG and PNG (skipped without gnuplot), a
 * report without gnuplot still has its tables and says once why there are
 * no figures, --vs compares matched cases, tables.tex compiles with
 * pdflatex, and index.html renders in headless Chromium with every figure
 * (each skipped, saying so, where the program is not installed). */
#include "dyt_test.h"

#include "fixture.h"
#include "helpers.h"
#include "report.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const figure_names[] = {"bandwidth-fwd", "bandwidth-bwd", "speedup", "roofline",
                                           "time-vs-tokens"};

static int png_ok(const char *dir, const char *file)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "rb");
    unsigned char m[8] = {0};
    int ok = f && fread(m, 1, 8, f) == 8 && !memcmp(m, "\x89PNG\r\n\x1a\n", 8);
    if (f)
        fclose(f);
    return ok && fsize(dir, file) > 1000;
}

static void test_figures(void **state)
{
    (void)state;
    if (!have("gnuplot")) {
        print_message(
            "gnuplot is not installed: figure test skipped (apt-get install gnuplot-nox)\n");
        skip();
    }
    char dir[512], figs[600];
    dyt_err e;
    assert_int_equal(report("figures", FIX_RUN_MAIN, NULL, 0, NULL, dir, &e), DYT_OK);
    snprintf(figs, sizeof figs, "%s/figures", dir);
    for (size_t i = 0; i < DYT_ARRAY_LEN(figure_names); i++) {
        char f[128];
        snprintf(f, sizeof f, "%s.gp", figure_names[i]);
        if (fsize(figs, f) <= 0)
            fail_msg("figure %s was not written", figure_names[i]);
    }
    /* Every script in the folder, run again as a user would. */
    DIR *d = opendir(figs);
    assert_non_null(d);
    struct dirent *de;
    size_t n = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 3, ".gp"))
            continue;
        char stem[256], svg[300], png[300], cmd[2000];
        snprintf(stem, sizeof stem, "%.*s", (int)(len - 3), de->d_name);
        snprintf(svg, sizeof svg, "%s.svg", stem);
        snprintf(png, sizeof png, "%s.png", stem);
        snprintf(cmd, sizeof cmd, "cd '%s' && rm -f '%s' '%s' && gnuplot '%s' 2>&1", figs, svg, png,
                 de->d_name);
        if (system(cmd))
            fail_msg("gnuplot %s failed", de->d_name);
        if (fsize(figs, svg) < 1000 || !png_ok(figs, png))
            fail_msg("%s did not draw a non-empty SVG and PNG", de->d_name);
        char *s = slurp2(figs, svg);
        assert_non_null(strstr(s, "<svg"));
        assert_non_null(strstr(s, "</svg>"));
        free(s);
        n++;
    }
    closedir(d);
    assert_int_equal(n, DYT_ARRAY_LEN(figure_names));
    char *md = slurp2(dir, "report.md"), *html = slurp2(dir, "index.html");
    assert_int_equal(count(md, "](figures/"), 4 * n); /* svg, png, script, data */
    assert_null(strstr(md, "figures need gnuplot"));
    assert_int_equal(count(html, "<svg"), n);
    /* ids are made unique per embedded figure */
    assert_int_equal(count(html, "id=\"f0_gnuplot_canvas\""), 1);
    assert_int_equal(count(html, "id=\"gnuplot_canvas\""), 0);
    free(md);
    free(html);
}

static void test_without_gnuplot(void **state)
{
    (void)state;
    char dir[512], figs[600];
    dyt_err e;
    assert_int_equal(report("nognuplot", FIX_RUN_MAIN, NULL, 0, "/nonexistent/gnuplot", dir, &e),
                     DYT_OK);
    const char *files[] = {"report.md", "tables.tex", "index.html"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(files); i++) {
        char *s = slurp2(dir, files[i]);
        assert_non_null(s);
        assert_int_equal(count(s, "figures need gnuplot"), 1);
        assert_int_equal(count(s, "gnuplot-nox"), 1);
        free(s);
    }
    char *html = slurp2(dir, "index.html");
    assert_null(strstr(html, "<svg"));
    assert_non_null(strstr(html, "<table"));
    free(html);
    snprintf(figs, sizeof figs, "%s/figures", dir);
    assert_true(fsize(figs, "speedup.gp") > 0);
    assert_true(fsize(figs, "speedup.dat") > 0);
    assert_int_equal(fsize(figs, "speedup.svg"), -1);
    assert_true(fsize(dir, "results.csv") > 0);
}

static void test_vs(void **state)
{
    (void)state;
    char dir[512];
    dyt_err e;
    int64_t vs = FIX_RUN_OTHER;
    const char *gp = have("gnuplot") ? NULL : "";
    assert_int_equal(report("vs", FIX_RUN_MAIN, &vs, 1, gp, dir, &e), DYT_OK);
    char *md = slurp2(dir, "report.md");
    assert_non_null(md);
    const char *sec = strstr(md, "vs run \\#3 other on other-host (Other CPU 7000)");
    assert_non_null(sec);
    assert_non_null(strstr(sec, "24 of 56 ok cases"));
    /* every matched case: the other run is 1.3x the time */
    size_t rows = count(sec, "| 1.300 |");
    assert_int_equal(rows, 24);
    free(md);
    char *csv = slurp2(dir, "results.csv");
    assert_non_null(strstr(csv, "\r\n3,other,"));
    free(csv);
    if (!gp) {
        char figs[600];
        snprintf(figs, sizeof figs, "%s/figures", dir);
        assert_true(fsize(figs, "vs-3.svg") > 1000);
        assert_true(png_ok(figs, "vs-3.png"));
    }
}

static void test_pdflatex(void **state)
{
    (void)state;
    if (!have("pdflatex")) {
        print_message("pdflatex is not installed: LaTeX test skipped (apt-get install "
                      "texlive-latex-base texlive-latex-recommended)\n");
        skip();
    }
    char dir[512], cmd[1200];
    dyt_err e;
    int64_t vs = FIX_RUN_OTHER;
    assert_int_equal(report("latex", FIX_RUN_MAIN, &vs, 1, "", dir, &e), DYT_OK);
    /* longtable needs two passes for its column widths; the first may warn */
    snprintf(
        cmd, sizeof cmd,
        "cd '%s' && pdflatex -interaction=nonstopmode -halt-on-error tables.tex > latex1.log 2>&1"
        " && pdflatex -interaction=nonstopmode -halt-on-error tables.tex > latex2.log 2>&1",
        dir);
    if (system(cmd))
        fail_msg("pdflatex failed on %s/tables.tex (see latex2.log / tables.log)", dir);
    assert_true(fsize(dir, "tables.pdf") > 10000);
}

static const char *chromium(void)
{
    static const char *const names[] = {"chromium", "chromium-browser", "google-chrome"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(names); i++)
        if (have(names[i]))
            return names[i];
    return NULL;
}

static void test_chromium(void **state)
{
    (void)state;
    const char *ch = chromium();
    if (!ch) {
        print_message(
            "chromium is not installed: headless page test skipped (apt-get install chromium)\n");
        skip();
    }
    char dir[512], cmd[2400];
    dyt_err e;
    int figs = have("gnuplot");
    assert_int_equal(report("browser", FIX_RUN_MAIN, NULL, 0, figs ? NULL : "", dir, &e), DYT_OK);
    /* A private profile dir so that the test does not touch the user's. */
    const char *flags = "--headless --no-sandbox --disable-gpu --no-first-run --disable-extensions "
                        "--user-data-dir=chrome-profile";
    snprintf(cmd, sizeof cmd,
             "cd '%s' && timeout 120 %s %s --dump-dom \"file://%s/index.html\" > dom.html 2> "
             "chromium.log",
             dir, ch, flags, dir);
    if (system(cmd))
        fail_msg("%s could not render %s/index.html (see chromium.log)", ch, dir);
    char *dom = slurp2(dir, "dom.html"), *html = slurp2(dir, "index.html");
    assert_non_null(dom);
    assert_non_null(strstr(dom, "<h1>dytbench report: run #1 50%_a&amp;b&lt;c&gt;\"|$x</h1>"));
    assert_int_equal(count(dom, "<table"), count(html, "<table"));
    size_t nsvg = count(html, "<svg");
    assert_int_equal(count(dom, "<svg"), nsvg);
    if (figs)
        assert_int_equal(nsvg, DYT_ARRAY_LEN(figure_names));
    /* each figure parsed as SVG, not as text: its canvas group is in the DOM */
    for (size_t i = 0; i < nsvg; i++) {
        char id[64];
        snprintf(id, sizeof id, "id=\"f%zu_gnuplot_canvas\"", i);
        if (!strstr(dom, id))
            fail_msg("figure %zu did not load in the browser", i);
    }
    snprintf(cmd, sizeof cmd,
             "cd '%s' && timeout 120 %s %s --hide-scrollbars --window-size=1400,4000 "
             "--screenshot=\"%s/page.png\" \"file://%s/index.html\" >> chromium.log 2>&1",
             dir, ch, flags, dir, dir);
    if (system(cmd))
        fail_msg("%s could not take a screenshot of the page", ch);
    assert_true(fsize(dir, "page.png") > 20000);
    free(dom);
    free(html);
}

DYT_TEST_MAIN("report-render", setup, teardown, cmocka_unit_test(test_figures),
              cmocka_unit_test(test_without_gnuplot), cmocka_unit_test(test_vs),
              cmocka_unit_test(test_pdflatex), cmocka_unit_test(test_chromium))
