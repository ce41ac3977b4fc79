/* The report of a run with a framework peer (fixture_create_peer): a
 * framework variant is paired with itself, a row of its own beside the
 * kernels' in the DyT-vs-norm and whole-model tables and in the variant
 * table, while the figures draw the kernels' pairs only; the framework
 * view puts eager, compiled and dytbench side by side per shape and pass
 * with the right speedups and ratios, n/a where a variant was not
 * measured or failed, and says why in its note. A run without a peer has
 * no framework view. */
#include "dyt_test.h"
#include "fixture.h"
#include "helpers.h"
#include "report_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    store *s;
    rep_run run;
    rep_analysis a;
    rep_table **t;
    size_t nt;
} loaded;

static void load(const char *path, int64_t run, loaded *l)
{
    dyt_err e = {{0}};
    memset(l, 0, sizeof *l);
    assert_int_equal(store_open(path, 0, &l->s, &e), DYT_OK);
    assert_int_equal(rep_load_run(l->s, run, &l->run, &e), DYT_OK);
    assert_int_equal(rep_analyse(l->s, &l->run, NULL, 0, &l->a, &e), DYT_OK);
    assert_int_equal(rep_build_tables(&l->a, &l->t, &l->nt, &e), DYT_OK);
}

static void unload(loaded *l)
{
    rep_free_tables(l->t, l->nt);
    rep_free_analysis(&l->a);
    rep_free_run(&l->run);
    store_close(l->s);
}

static const rep_table *table(const loaded *l, const char *id)
{
    for (size_t i = 0; i < l->nt; i++)
        if (!strcmp(l->t[i]->id, id))
            return l->t[i];
    return NULL;
}

static const char *cell(const rep_table *t, size_t row, const char *head)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (!strcmp(t->head[j], head))
            return t->cells[row * t->ncols + j] ? t->cells[row * t->ncols + j] : "";
    fail_msg("table %s has no column '%s'", t->id, head);
    return NULL;
}

/* A number cell within 0.5% of want. */
static void assert_near(const char *text, double want)
{
    double v = strtod(text, NULL);
    if (!(fabs(v - want) <= 5e-3 * fabs(want)))
        fail_msg("'%s', want %.4g", text, want);
}

static double t_of(const char *norm, const char *pass, const char *variant, int64_t rows,
                   int64_t cols)
{
    return fixture_ns(norm, pass, "fp32", variant, rows, cols);
}

static void test_framework_view(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/peer.db", tmp);
    assert_int_equal(fixture_create_peer(path), 0);
    loaded l;
    load(path, 1, &l);
    /* Pairs: kernels and torch-eager at both shapes (torch-compile has no
     * measured case); the figures get the kernels' two. */
    assert_int_equal(l.a.n_pairs, 4);
    rep_plot_data pd;
    dyt_err e = {{0}};
    assert_int_equal(rep_plot_data_build(&l.a, &pd, &e), DYT_OK);
    assert_int_equal(pd.in.n_pairs, 2);
    rep_plot_data_free(&pd);

    const rep_table *f = table(&l, "framework");
    assert_non_null(f);
    assert_int_equal(f->nrows, 4); /* 2 shapes x 2 passes */
    for (size_t r = 0; r < f->nrows; r++) {
        const char *pass = cell(f, r, "Pass");
        int vit = !strcmp(cell(f, r, "Model"), "vit-b16");
        const char *norm = vit ? "layernorm" : "rmsnorm";
        int64_t rows = vit ? 197 : 4096, cols = vit ? 768 : 4096;
        assert_string_equal(cell(f, r, "Norm"), norm);
        double en = t_of(norm, pass, "torch-eager", rows, cols);
        double ed = t_of("dyt", pass, "torch-eager", rows, cols);
        double kn = t_of(norm, pass, "avx512", rows, cols);
        double kd = t_of("dyt", pass, "avx512", rows, cols);
        assert_near(cell(f, r, "Eager DyT (µs)"), ed / 1e3);
        assert_near(cell(f, r, "dytbench speedup"), kn / kd);
        assert_near(cell(f, r, "DyT: eager / dytbench"), ed / kd);
        if (vit && !strcmp(pass, "bwd")) { /* eager's norm failed there */
            assert_string_equal(cell(f, r, "Eager norm (µs)"), "n/a");
            assert_string_equal(cell(f, r, "Eager speedup"), "n/a");
            assert_string_equal(cell(f, r, "Norm: eager / dytbench"), "n/a");
        } else {
            assert_near(cell(f, r, "Eager speedup"), en / ed);
            assert_near(cell(f, r, "Norm: eager / dytbench"), en / kn);
        }
        assert_string_equal(cell(f, r, "Compiled norm (µs)"), "n/a");
        assert_string_equal(cell(f, r, "Compiled speedup"), "n/a");
    }
    /* Uniform threads and cache are dropped to the note, with why compiled
     * is n/a and that an eager case failed. */
    assert_non_null(strstr(f->note, "All rows: 1 thread(s), hot cache."));
    assert_non_null(strstr(f->note, "torch-compile: not measured here: " FIX_PEER_NO_COMPILE));
    assert_non_null(strstr(f->note, "torch-eager: 1 case(s) failed"));
    assert_non_null(strstr(f->note, "liger: not measured here: fake: no liger"));

    /* DyT vs norm: a row per shape and implementation. */
    const rep_table *sp = table(&l, "speedup");
    assert_non_null(sp);
    assert_int_equal(sp->nrows, 4);
    size_t eager_rows = 0;
    for (size_t r = 0; r < sp->nrows; r++)
        eager_rows += strstr(cell(sp, r, "Variants (norm/DyT)"), "torch-eager") != NULL;
    assert_int_equal(eager_rows, 2);
    assert_non_null(strstr(sp->note, "paired with itself only"));
    /* Whole model: the implementation is a column. */
    const rep_table *w = table(&l, "whole-model");
    assert_non_null(w);
    size_t impl_eager = 0, impl_kernels = 0;
    for (size_t r = 0; r < w->nrows; r++) {
        impl_eager += !strcmp(cell(w, r, "Implementation"), "torch-eager");
        impl_kernels += !strcmp(cell(w, r, "Implementation"), "dytbench");
    }
    assert_int_equal(impl_eager, 2);
    assert_int_equal(impl_kernels, 2);
    /* The variant table lists the framework variant like any other. */
    const rep_table *v = table(&l, "variants");
    size_t eager_variants = 0;
    for (size_t r = 0; r < v->nrows; r++)
        eager_variants += !strcmp(cell(v, r, "Variant"), "torch-eager");
    assert_int_equal(eager_variants, 5); /* 2 norms' and DyT's, fwd and bwd, less one failed */
    unload(&l);
}

static void test_no_peer_no_framework_view(void **state)
{
    (void)state;
    loaded l;
    load(dbpath, FIX_RUN_MAIN, &l);
    assert_false(rep_has_framework_view(&l.a));
    assert_null(table(&l, "framework"));
    for (size_t i = 0; i < l.a.n_pairs; i++)
        assert_null(l.a.pairs[i].impl);
    unload(&l);
}

DYT_TEST_MAIN("report-peer", setup, teardown, cmocka_unit_test(test_framework_view),
              cmocka_unit_test(test_no_peer_no_framework_view))
