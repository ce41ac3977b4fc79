/* report/tables_framework.c: the framework view, for a run with a framework
 * peer (run --peer torch): per model shape and pass, PyTorch eager's norm
 * and DyT, torch.compile's, and dytbench's fastest kernels, each side's
 * DyT speedup, and how much faster dytbench's kernels are than eager --
 * the CPU counterpart of the DyT paper's eager-versus-compiled contrast
 * (its Tables 7 and 8). Built from the analysis' pairs, one per shape and
 * implementation; a framework variant the peer lacked is n/a, with the
 * peer's reason in the note. */
#include "report_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char eager[] = "torch-eager", compiled[] = "torch-compile";

static double median_of(const rep_case *c)
{
    return c ? c->st.median_ns : NAN;
}

static double ratio(const rep_case *a, const rep_case *b)
{
    return a && b ? a->st.median_ns / b->st.median_ns : NAN;
}

/* The error of the first skipped case of variant (why it is n/a), or NULL. */
static const char *why_skipped(const rep_run *r, const char *variant)
{
    for (size_t i = 0; i < r->cases.n; i++) {
        const store_case *c = &r->cases.v[i].c;
        if (!strcmp(c->variant, variant) && !strcmp(c->status, "skipped") && c->error)
            return c->error;
    }
    return NULL;
}

static size_t n_failed(const rep_run *r, const char *variant)
{
    size_t n = 0;
    for (size_t i = 0; i < r->cases.n; i++)
        n += !strcmp(r->cases.v[i].c.variant, variant) && !strcmp(r->cases.v[i].c.status, "failed");
    return n;
}

int rep_has_framework_view(const rep_analysis *a)
{
    for (size_t i = 0; i < a->n_pairs; i++)
        if (a->pairs[i].impl && !strcmp(a->pairs[i].impl, eager))
            return 1;
    return 0;
}

rep_table *rep_table_framework(const rep_analysis *a)
{
    const char *head[] = {"Model",
                          "Tokens",
                          "Rows",
                          "Hidden",
                          "dtype",
                          "Threads",
                          "Cache",
                          "Pass",
                          "Norm",
                          "Eager norm (µs)",
                          "Eager DyT (µs)",
                          "Eager speedup",
                          "Compiled norm (µs)",
                          "Compiled DyT (µs)",
                          "Compiled speedup",
                          "dytbench norm (µs)",
                          "dytbench DyT (µs)",
                          "dytbench speedup",
                          "Norm: eager / dytbench",
                          "DyT: eager / dytbench"};
    rep_table *t = rep_table_new("framework",
                                 "Framework view: PyTorch eager and compiled vs dytbench's kernels",
                                 DYT_ARRAY_LEN(head), head, "llrrlrlllrrrrrrrrrrr");
    if (!t)
        return NULL;
    for (size_t i = 0; i < a->n_pairs; i++) {
        const rep_pair *k = &a->pairs[i];
        if (k->impl)
            continue;
        const rep_pair *e = rep_pair_find(a, k, eager), *cp = rep_pair_find(a, k, compiled);
        const rep_case *c = rep_pair_any(k);
        for (int ps = 0; ps < 2; ps++) {
            const rep_case *en = e ? e->norm[ps] : NULL, *ed = e ? e->dyt[ps] : NULL;
            const rep_case *cn = cp ? cp->norm[ps] : NULL, *cd = cp ? cp->dyt[ps] : NULL;
            if (!en && !ed && !cn && !cd)
                continue; /* the peer has nothing at this shape and pass */
            size_t r = rep_table_add_row(t);
            const double v[] = {
                median_of(en),          median_of(ed),         e ? e->speedup[ps] : NAN,
                median_of(cn),          median_of(cd),         cp ? cp->speedup[ps] : NAN,
                median_of(k->norm[ps]), median_of(k->dyt[ps]), k->speedup[ps],
                ratio(en, k->norm[ps]), ratio(ed, k->dyt[ps])};
            rep_table_set(t, r, 0, "%s", c->c.model);
            rep_table_set(t, r, 1, "%s",
                          c->c.token_label && *c->c.token_label ? c->c.token_label : "");
            rep_table_set(t, r, 2, "%" PRId64, c->c.rows);
            rep_table_set(t, r, 3, "%" PRId64, c->c.cols);
            rep_table_set(t, r, 4, "%s", c->c.dtype);
            rep_table_set(t, r, 5, "%d", c->c.threads);
            rep_table_set(t, r, 6, "%s", c->c.cache);
            rep_table_set(t, r, 7, "%s", ps ? "bwd" : "fwd");
            rep_table_set(t, r, 8, "%s", c->c.model_norm);
            for (size_t j = 0; j < DYT_ARRAY_LEN(v); j++) {
                char b[32];
                int is_time = j == 0 || j == 1 || j == 3 || j == 4 || j == 6 || j == 7;
                if (is_time)
                    rep_fmt_us(b, sizeof b, v[j]);
                else
                    rep_fmt_num(b, sizeof b, v[j], j >= 9 ? 2 : 3);
                rep_table_set(t, r, 9 + j, "%s", b);
            }
        }
    }
    char *cache = rep_table_drop_uniform(t, 6), *thr = rep_table_drop_uniform(t, 5);
    char same[96], why[768] = "";
    rep_fmt_all_rows(same, sizeof same, thr, cache);
    free(thr);
    free(cache);
    static const char *const peers[] = {eager, compiled, "liger"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(peers); i++) {
        const char *skip = why_skipped(a->run, peers[i]);
        size_t failed = n_failed(a->run, peers[i]);
        size_t len = strlen(why);
        if (skip)
            snprintf(why + len, sizeof why - len, " %s: not measured here: %.300s.", peers[i],
                     skip);
        len = strlen(why);
        if (failed)
            snprintf(why + len, sizeof why - len,
                     " %s: %zu case(s) failed (see the failed cases), n/a above.", peers[i],
                     failed);
    }
    rep_table_note(
        t,
        "Median per call in µs at each model shape and pass: PyTorch's own modules in eager mode "
        "(torch-eager), the same modules under torch.compile (torch-compile), and dytbench's "
        "fastest ok kernel of each norm -- all in this run, on the same inputs, threads, cache "
        "rule and byte model. Speedup = t_norm / t_DyT within one implementation (the DyT paper "
        "found DyT about halves the norm layers' time in eager PyTorch and ties once they are "
        "compiled). eager / dytbench = t_eager / t_dytbench: how many times faster the kernel "
        "is. n/a: not measured.%s%s",
        same, why);
    return rep_table_done(t);
}
