/* report/tables_variants.c: the tables about kernel variants and single
 * cases beside the verdict -- bandwidth per variant (GB/s, % of each
 * case's own ceiling, % of dram), accuracy per variant (the error its
 * pre-timing checks measured, over the output's scale and in ulps), and
 * every case above its ceiling, flagged rather than printed as a figure. */
#include "report_int.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* A per-variant table: one row per item (n of them, stride bytes apart,
 * each starting with its rep_variant_key), the key in the first four
 * columns and fill setting the columns of head (align: theirs) after them.
 * NULL: out of memory. */
typedef void (*variant_row_fn)(rep_table *t, size_t r, const void *item);

static rep_table *variant_table(const char *id, const char *title, const char *const *head,
                                size_t nhead, const char *align, const void *items, size_t n,
                                size_t stride, variant_row_fn fill)
{
    const char *all[16] = {"Norm", "Pass", "dtype", "Variant"};
    char al[17] = "llll";
    for (size_t j = 0; j < nhead && j + 4 < DYT_ARRAY_LEN(all); j++) {
        all[4 + j] = head[j];
        al[4 + j] = align[j];
    }
    size_t ncols = DYT_MIN(nhead + 4, DYT_ARRAY_LEN(all));
    al[ncols] = 0;
    rep_table *t = rep_table_new(id, title, ncols, all, al);
    for (size_t i = 0; t && i < n; i++) {
        const void *item = (const char *)items + i * stride;
        const rep_variant_key *k = item;
        size_t r = rep_table_add_row(t);
        rep_table_set(t, r, 0, "%s", k->norm);
        rep_table_set(t, r, 1, "%s", k->pass);
        rep_table_set(t, r, 2, "%s", k->dtype);
        rep_table_set(t, r, 3, "%s", k->variant);
        fill(t, r, item);
    }
    return rep_table_done(t);
}

static void bandwidth_row(rep_table *t, size_t r, const void *item)
{
    const rep_variant *v = item;
    const double x[] = {v->gbps_median, v->gbps_best, v->ceil_median, v->ceil_best, v->dram_median};
    const int dec[] = {2, 2, 1, 1, 1};
    rep_table_set(t, r, 4, "%zu", v->n_cases);
    for (size_t k = 0; k < DYT_ARRAY_LEN(x); k++) {
        char b[32];
        rep_fmt_num(b, sizeof b, x[k], dec[k]);
        rep_table_set(t, r, 5 + k, "%s", b);
    }
    rep_table_set(t, r, 10, "%zu", v->n_above);
}

rep_table *rep_table_variants(const rep_analysis *a)
{
    const char *head[] = {"Cases",
                          "GB/s (median)",
                          "GB/s (best)",
                          "% of ceiling (median)",
                          "% of ceiling (best)",
                          "% of dram (median)",
                          "Cases above ceiling"};
    rep_table *t = variant_table("variants", "Kernel variants: bandwidth and % of their ceilings",
                                 head, DYT_ARRAY_LEN(head), "rrrrrrr", a->variants, a->n_variants,
                                 sizeof *a->variants, bandwidth_row);
    if (t)
        rep_table_note(
            t,
            "GB/s = the bytes a call must move (inputs read and outputs written once) / the "
            "median time, in 1e9 B/s, over the variant's ok cases. %% of ceiling: against each "
            "case's own ceiling, the copy bandwidth measured at its thread count at the cache "
            "level its bytes fit in (hot) or at dram (cold); %% of dram: against the dram "
            "ceiling, for every case (ceilings table). Cases above ceiling: above %.0f%% of "
            "theirs, listed in their own table. Fastest first within each norm, pass and dtype.",
            STORE_CEILING_FLAG_PCT);
    return rep_table_done(t);
}

static void accuracy_row(rep_table *t, size_t r, const void *item)
{
    const rep_accuracy *q = item;
    char b[3][32];
    rep_fmt_sig(b[0], sizeof b[0], q->max_err);
    rep_fmt_sig(b[1], sizeof b[1], q->max_err_tol);
    rep_fmt_sig(b[2], sizeof b[2], q->max_ulps);
    rep_table_set(t, r, 4, "%zu", q->n_verified);
    rep_table_set(t, r, 5, "%zu", q->n_failed);
    rep_table_set(t, r, 6, "%s", b[0]);
    rep_table_set(t, r, 7, "%s", b[1]);
    rep_table_set(t, r, 8, "%s", q->max_err_output ? q->max_err_output : "n/a");
    rep_table_set(t, r, 9, "%s", b[2]);
}

rep_table *rep_table_accuracy(const rep_analysis *a)
{
    const char *head[] = {"Cases verified", "Failed",    "Max error (of scale)",
                          "Its bound",      "In output", "Max ulps"};
    rep_table *t = variant_table("accuracy", "Kernel variants: accuracy against float64", head,
                                 DYT_ARRAY_LEN(head), "rrrrlr", a->accuracy, a->n_accuracy,
                                 sizeof *a->accuracy, accuracy_row);
    if (t)
        rep_table_note(
            t, "What the check before timing measured, each case against ref (float64 end to "
               "end): the largest error over the variant's cases, divided by the scale of the "
               "output it was in (the magnitude its elements are formed from), with the bound "
               "that case was held to (it grows where fp32 statistics or tanh cost accuracy); "
               "max ulps: the largest error in ulps of the output's storage type, over every "
               "output (docs/kernels.md). A fast variant that buys its speed with accuracy "
               "shows it here. Most accurate first within each norm, pass and dtype; n/a: not "
               "stored (runs before schema 5, GPU ulps).");
    return rep_table_done(t);
}

rep_table *rep_table_above_ceiling(const rep_analysis *a)
{
    const char *head[] = {"Model", "Tokens", "Rows",         "Hidden",   "Norm",
                          "Pass",  "dtype",  "Variant",      "Threads",  "Level",
                          "Bytes", "GB/s",   "% of ceiling", "% of dram"};
    rep_table *t = rep_table_new("above-ceiling", "Cases above their bandwidth ceiling (flagged)",
                                 DYT_ARRAY_LEN(head), head, "llrrllllrlrrrr");
    if (!t)
        return NULL;
    const rep_run *run = a->run;
    for (size_t i = 0; i < run->cases.n; i++) {
        const rep_case *c = &run->cases.v[i];
        if (!rep_case_usable(c) || !rep_case_above(c))
            continue;
        size_t r = rep_table_add_row(t);
        char b[3][32];
        rep_fmt_num(b[0], sizeof b[0], c->st.gbps, 2);
        rep_fmt_num(b[1], sizeof b[1], c->st.ceiling_pct, 1);
        rep_fmt_num(b[2], sizeof b[2], c->st.roofline_pct, 1);
        const char *txt[] = {c->c.model, c->c.token_label ? c->c.token_label : "",
                             NULL,       NULL,
                             c->c.norm,  c->c.pass,
                             c->c.dtype, c->c.variant,
                             NULL,       c->st.ceiling_level,
                             NULL,       b[0],
                             b[1],       b[2]};
        for (size_t j = 0; j < DYT_ARRAY_LEN(txt); j++)
            if (txt[j])
                rep_table_set(t, r, j, "%s", txt[j]);
        rep_table_set(t, r, 2, "%" PRId64, c->c.rows);
        rep_table_set(t, r, 3, "%" PRId64, c->c.cols);
        rep_table_set(t, r, 8, "%d", c->c.threads);
        rep_table_set(t, r, 10, "%" PRIu64, c->c.bytes);
    }
    rep_table_note(t,
                   "These cases moved their bytes faster than %.0f%% of the copy ceiling of the "
                   "level they were held against. Their working set sits near a cache boundary "
                   "(part of it stays in a cache the level does not count, or the machine's "
                   "caches are larger than its record says), or a call moves fewer bytes than "
                   "counted. Their %% of ceiling does not say how close they are to what the "
                   "machine can do.",
                   STORE_CEILING_FLAG_PCT);
    return rep_table_done(t);
}
