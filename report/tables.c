/* report/tables.c: the report's tables, in the format-neutral model of
 * table.c, built from the analysis: (a) DyT vs the model's norm per shape,
 * with each side's % of its ceiling and whether the comparison is fair,
 * (b) whole-model norm time beside the DyT paper's reference rows, with a
 * framework peer its framework view (tables_framework.c); then from
 * tables_variants.c (c) bandwidth and accuracy per variant and the cases
 * above their ceiling, and from tables_machine.c (d) the machine, its
 * ceilings and counters, failed cases, and one table per --vs run -- the
 * whole list in report order. render.c and html.c write them out. */
#include "report_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void fmt_ci(char *buf, size_t n, double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi))
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, "[%.3f, %.3f]", lo, hi);
}

/* Appends one table to the list (NULL table: out of memory). */
typedef struct {
    rep_table **t;
    size_t n;
    int oom;
} tlist;

static rep_table *add(tlist *l, rep_table *t)
{
    rep_table **p = t ? realloc(l->t, (l->n + 1) * sizeof *p) : NULL;
    if (!p) {
        rep_table_free(t);
        l->oom = 1;
        return NULL;
    }
    l->t = p;
    l->t[l->n++] = t;
    return t;
}

/* Whether threads or cache differ between the pairs' cases. */
static void pairs_vary(const rep_analysis *a, int *thr, int *cache)
{
    *thr = *cache = 0;
    for (size_t i = 1; i < a->n_pairs; i++) {
        const rep_case *x = rep_pair_any(&a->pairs[0]), *y = rep_pair_any(&a->pairs[i]);
        *thr |= x->c.threads != y->c.threads;
        *cache |= strcmp(x->c.cache, y->c.cache) != 0;
    }
}

static const char *token_of(const rep_case *c, char *buf, size_t n)
{
    if (c->c.token_label && *c->c.token_label)
        return c->c.token_label;
    snprintf(buf, n, "%" PRId64, c->c.rows);
    return buf;
}

/* A side's % of its ceiling: "71.3 (l2)", flagged "117.2 (l2, above)". */
static void fmt_ceiling(char *buf, size_t n, const rep_case *c)
{
    if (!c || !isfinite(c->st.ceiling_pct) || !c->st.ceiling_level)
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, "%.1f (%s%s)", c->st.ceiling_pct, c->st.ceiling_level,
                 rep_case_above(c) ? ", above" : "");
}

/* Whether the verdict of one pass is fair: each side against its own
 * ceiling; a side below REP_HANDICAP_PCT is handicapped, one above the
 * flag threshold cannot be judged by its %. */
static void fmt_fairness(char *buf, size_t n, const rep_case *norm, const rep_case *dyt)
{
    if (!norm || !dyt) {
        snprintf(buf, n, "n/a");
        return;
    }
    const rep_case *side[2] = {norm, dyt};
    const char *name[2] = {norm->c.norm, "DyT"};
    char low[96] = "", high[96] = "", none[96] = "";
    for (int k = 0; k < 2; k++) {
        double pct = side[k]->st.ceiling_pct;
        char *to = !isfinite(pct)                 ? none
                   : pct < REP_HANDICAP_PCT       ? low
                   : pct > STORE_CEILING_FLAG_PCT ? high
                                                  : NULL;
        if (to)
            snprintf(to + strlen(to), 96 - strlen(to), "%s%s", *to ? " and " : "", name[k]);
    }
    buf[0] = 0;
    if (low[0])
        snprintf(buf, n, "handicapped: %s", low);
    if (high[0])
        snprintf(buf + strlen(buf), n - strlen(buf), "%sabove ceiling: %s", buf[0] ? "; " : "",
                 high);
    if (none[0])
        snprintf(buf + strlen(buf), n - strlen(buf), "%sno ceiling: %s", buf[0] ? "; " : "", none);
    if (!buf[0])
        snprintf(buf, n, "fair");
}

enum { SP_THREADS = 6, SP_CACHE = 7, SP_FWD = 9, SP_BWD = 16, SP_VARIANTS = 23, SP_COLS = 24 };

static void speedup_variants(rep_table *t, size_t r, size_t col, const rep_pair *p)
{
    const char *v0[4];
    for (int k = 0; k < 2; k++) {
        v0[2 * k] = p->norm[k] ? p->norm[k]->c.variant : "-";
        v0[2 * k + 1] = p->dyt[k] ? p->dyt[k]->c.variant : "-";
    }
    if (!strcmp(v0[0], v0[2]) && !strcmp(v0[1], v0[3]))
        rep_table_set(t, r, col, "%s/%s", v0[0], v0[1]);
    else
        rep_table_set(t, r, col, "fwd %s/%s, bwd %s/%s", v0[0], v0[1], v0[2], v0[3]);
}

static void table_speedup(tlist *l, const rep_analysis *a)
{
    int thr, cache;
    pairs_vary(a, &thr, &cache);
    const char *head[SP_COLS] = {"Domain",
                                 "Model",
                                 "Tokens",
                                 "Rows",
                                 "Hidden",
                                 "dtype",
                                 "Threads",
                                 "Cache",
                                 "Norm",
                                 "Norm fwd (µs)",
                                 "DyT fwd (µs)",
                                 "Fwd speedup",
                                 "Fwd 95% CI",
                                 "Norm fwd % of ceiling",
                                 "DyT fwd % of ceiling",
                                 "Fwd fairness",
                                 "Norm bwd (µs)",
                                 "DyT bwd (µs)",
                                 "Bwd speedup",
                                 "Bwd 95% CI",
                                 "Norm bwd % of ceiling",
                                 "DyT bwd % of ceiling",
                                 "Bwd fairness",
                                 "Variants (norm/DyT)"};
    const char *align = "lllrrlrllrrrrrrlrrrrrrll";
    const char *h2[SP_COLS];
    char al[SP_COLS + 1];
    size_t nc = 0;
    int map[SP_COLS];
    for (size_t i = 0; i < SP_COLS; i++) {
        map[i] = -1;
        if ((i == SP_THREADS && !thr) || (i == SP_CACHE && !cache))
            continue;
        map[i] = (int)nc;
        al[nc] = align[i];
        h2[nc++] = head[i];
    }
    al[nc] = 0;
    rep_table *t = add(
        l, rep_table_new("speedup", "DyT vs the model's norm, per model and shape", nc, h2, al));
    if (!t)
        return;
    for (size_t i = 0; i < a->n_pairs; i++) {
        const rep_pair *p = &a->pairs[i];
        const rep_case *c = rep_pair_any(p);
        size_t r = rep_table_add_row(t);
        char b[SP_COLS][96], tok[32];
        snprintf(b[0], 96, "%s", c->c.domain);
        snprintf(b[1], 96, "%s", c->c.model);
        snprintf(b[2], 96, "%s", token_of(c, tok, sizeof tok));
        snprintf(b[3], 96, "%" PRId64, c->c.rows);
        snprintf(b[4], 96, "%" PRId64, c->c.cols);
        snprintf(b[5], 96, "%s", c->c.dtype);
        snprintf(b[SP_THREADS], 96, "%d", c->c.threads);
        snprintf(b[SP_CACHE], 96, "%s", c->c.cache);
        snprintf(b[8], 96, "%s", c->c.model_norm);
        for (int k = 0; k < 2; k++) {
            int o = k ? SP_BWD : SP_FWD;
            rep_fmt_us(b[o], 96, p->norm[k] ? p->norm[k]->st.median_ns : NAN);
            rep_fmt_us(b[o + 1], 96, p->dyt[k] ? p->dyt[k]->st.median_ns : NAN);
            rep_fmt_num(b[o + 2], 96, p->speedup[k], 3);
            fmt_ci(b[o + 3], 96, p->lo[k], p->hi[k]);
            fmt_ceiling(b[o + 4], 96, p->norm[k]);
            fmt_ceiling(b[o + 5], 96, p->dyt[k]);
            fmt_fairness(b[o + 6], 96, p->norm[k], p->dyt[k]);
        }
        for (size_t j = 0; j < SP_COLS; j++) {
            if (map[j] < 0)
                continue;
            if (j == SP_VARIANTS)
                speedup_variants(t, r, (size_t)map[j], p);
            else
                rep_table_set(t, r, (size_t)map[j], "%s", b[j]);
        }
    }
    const rep_case *c0 = a->n_pairs ? rep_pair_any(&a->pairs[0]) : NULL;
    char same[256] = "";
    if (c0 && !thr && !cache)
        snprintf(same, sizeof same, " All cases: %d thread(s), %s cache.", c0->c.threads,
                 c0->c.cache);
    else if (c0 && !thr)
        snprintf(same, sizeof same, " All cases: %d thread(s).", c0->c.threads);
    else if (c0 && !cache)
        snprintf(same, sizeof same, " All cases: %s cache.", c0->c.cache);
    int peers = 0;
    for (size_t i = 0; i < a->n_pairs; i++)
        peers |= a->pairs[i].impl != NULL;
    if (peers)
        snprintf(same + strlen(same), sizeof same - strlen(same),
                 " A framework peer's variant (torch-eager...) is paired with itself only: a "
                 "row of its own beside the kernels' row.");
    rep_table_note(
        t,
        "Times: median per call in µs, each side the fastest ok variant at that shape. "
        "Speedup = t_norm / t_DyT (above 1: DyT is faster). 95%% CI: percentile "
        "bootstrap of the ratio of medians from the raw samples (%d resamples, seed %u); "
        "n/a where a side is missing or has fewer than 2 samples. %% of ceiling: each side's "
        "GB/s over the copy ceiling of the cache level its bytes fit in (hot) or of dram "
        "(cold), at its thread count (ceilings table). Fairness: a side below %.0f%% of its "
        "ceiling is handicapped, named -- the speedup then says as much about that kernel as "
        "about the norm; a side above %.0f%% is above its ceiling (flagged: its %% does not "
        "say how close it is to the machine's limit).%s",
        REP_BOOT_RESAMPLES, REP_BOOT_SEED, REP_HANDICAP_PCT, STORE_CEILING_FLAG_PCT, same);
}

static void fmt_ms(char *buf, size_t n, double ns)
{
    rep_fmt_sig(buf, n, ns / 1e6);
}

static void fmt_red(char *buf, size_t n, double norm, double dyt)
{
    rep_fmt_num(buf, n, isfinite(norm) && norm > 0 ? 100.0 * (1 - dyt / norm) : NAN, 1);
}

static void table_whole(tlist *l, const rep_analysis *a)
{
    const char *head[] = {"Model",
                          "Domain",
                          "Norm",
                          "Tokens",
                          "Rows",
                          "dtype",
                          "Threads",
                          "Cache",
                          "Sections",
                          "Norm layers",
                          "Inference norm (ms)",
                          "Inference DyT (ms)",
                          "Inference reduction (%)",
                          "Training norm (ms)",
                          "Training DyT (ms)",
                          "Training reduction (%)",
                          "Incomplete: sections lacking a case",
                          "Implementation"};
    /* With a framework peer, a row per implementation: the last column. */
    int impl = 0;
    for (size_t i = 0; i < a->n_wholes; i++)
        impl |= a->wholes[i].impl != NULL;
    rep_table *t = add(l, rep_table_new("whole-model",
                                        "Whole model: all norm layers of one pass (measured here)",
                                        DYT_ARRAY_LEN(head) - !impl, head,
                                        impl ? "llllrlrlrrrrrrrrpl" : "llllrlrlrrrrrrrrp"));
    if (!t)
        return;
    for (size_t i = 0; i < a->n_wholes; i++) {
        const rep_whole *w = &a->wholes[i];
        size_t r = rep_table_add_row(t);
        char b[6][32];
        fmt_ms(b[0], 32, w->inf_norm);
        fmt_ms(b[1], 32, w->inf_dyt);
        fmt_red(b[2], 32, w->inf_norm, w->inf_dyt);
        fmt_ms(b[3], 32, w->train_norm);
        fmt_ms(b[4], 32, w->train_dyt);
        fmt_red(b[5], 32, w->train_norm, w->train_dyt);
        const char *v[] = {w->group,
                           w->domain,
                           w->model_norm,
                           w->token ? w->token : "",
                           NULL,
                           w->dtype,
                           NULL,
                           w->cache,
                           NULL,
                           NULL,
                           b[0],
                           b[1],
                           b[2],
                           b[3],
                           b[4],
                           b[5],
                           w->missing ? w->missing : ""};
        for (size_t j = 0; j < DYT_ARRAY_LEN(v); j++)
            if (v[j])
                rep_table_set(t, r, j, "%s", v[j]);
        if (w->rows_vary)
            rep_table_set(t, r, 4, "varies");
        else
            rep_table_set(t, r, 4, "%" PRId64, w->rows);
        rep_table_set(t, r, 6, "%d", w->threads);
        rep_table_set(t, r, 8, "%zu", w->n_sections);
        rep_table_set(t, r, 9, "%zu", w->n_layers);
        if (impl)
            rep_table_set(t, r, 17, "%s", w->impl ? w->impl : "dytbench");
    }
    char *cache = rep_table_drop_uniform(t, 7), *thr = rep_table_drop_uniform(t, 6), same[96];
    rep_fmt_all_rows(same, sizeof same, thr, cache);
    free(thr);
    free(cache);
    rep_table_note(t,
                   "Per pass, on this machine: the sum over the model's suite sections (grouped by "
                   "name: llama-7b-attn and llama-7b-ffn-final are llama-7b) of layers x the "
                   "median per-layer time, fastest ok variant. Inference = forward; training = "
                   "forward + backward. Reduction = 1 - t_DyT / t_norm. Only the norm layers are "
                   "timed, not the rest of the model. Rows: per call, \"varies\" when the sections "
                   "differ (ConvNeXt stages). n/a: a section lacks a case (last column).%s",
                   same);
}

static void table_paper(tlist *l)
{
    const char *head[] = {"Setting",
                          "Model",
                          "Hardware",
                          "dtype",
                          "Tokens",
                          "Passes",
                          "Inference RMSNorm (s)",
                          "Inference DyT (s)",
                          "Inference reduction (%)",
                          "Training RMSNorm (s)",
                          "Training DyT (s)",
                          "Training reduction (%)"};
    rep_table *t = add(
        l, rep_table_new("paper-reference",
                         "Reference, not measured here: the DyT paper's LLaMA 7B norm-layer times",
                         DYT_ARRAY_LEN(head), head, "lllllrrrrrrr"));
    if (!t)
        return;
    static const struct {
        const char *setting;
        double in, id, tn, td;
    } ref[] = {{"eager PyTorch (Table 7)", 2.1, 1.0, 8.3, 4.8},
               {"compiled norm layers (Table 8)", 0.3, 0.3, 3.9, 3.9}};
    for (size_t i = 0; i < DYT_ARRAY_LEN(ref); i++) {
        size_t r = rep_table_add_row(t);
        rep_table_set(t, r, 0, "%s", ref[i].setting);
        rep_table_set(t, r, 1, "LLaMA 7B");
        rep_table_set(t, r, 2, "NVIDIA H100");
        rep_table_set(t, r, 3, "bf16");
        rep_table_set(t, r, 4, "4096");
        rep_table_set(t, r, 5, "100");
        rep_table_set(t, r, 6, "%.1f", ref[i].in);
        rep_table_set(t, r, 7, "%.1f", ref[i].id);
        rep_table_set(t, r, 8, "%.1f", 100 * (1 - ref[i].id / ref[i].in));
        rep_table_set(t, r, 9, "%.1f", ref[i].tn);
        rep_table_set(t, r, 10, "%.1f", ref[i].td);
        rep_table_set(t, r, 11, "%.1f", 100 * (1 - ref[i].td / ref[i].tn));
    }
    rep_table_note(
        t, "Quoted from J. Zhu, X. Chen, K. He, Y. LeCun, Z. Liu, \"Transformers without "
           "Normalization\", CVPR 2025, Tables 7 and 8: time of the norm layers (RMSNorm or "
           "DyT) of LLaMA 7B over 100 passes of 4096 tokens, BF16, on an H100; reductions "
           "computed from the quoted figures. Seconds per 100 passes (2.1 s is 21 ms per "
           "pass). Different hardware and software from the measurements above: compare "
           "reductions, not times.");
}

int rep_build_tables(const rep_analysis *a, rep_table ***out, size_t *n, dyt_err *e)
{
    tlist l = {0};
    table_speedup(&l, a);
    table_whole(&l, a);
    table_paper(&l);
    if (rep_has_framework_view(a))
        add(&l, rep_table_framework(a));
    add(&l, rep_table_variants(a));
    add(&l, rep_table_accuracy(a));
    if (a->n_above)
        add(&l, rep_table_above_ceiling(a));
    if (a->run->campaign) {
        add(&l, rep_table_shards(a->run));
        if (a->run->campaign->n_missing)
            add(&l, rep_table_missing(a->run));
    }
    add(&l, rep_table_machine(a->run));
    add(&l, rep_table_ceilings(a->run));
    add(&l, rep_table_counters(a->run));
    if (a->n_failed + a->n_skipped)
        add(&l, rep_table_failed(a->run));
    for (size_t i = 0; i < a->n_vs; i++)
        add(&l, rep_table_vs(a->run, &a->vs[i]));
    for (size_t i = 0; i < l.n; i++)
        l.oom |= l.t[i]->oom;
    if (l.oom) {
        rep_free_tables(l.t, l.n);
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory building the tables");
    }
    *out = l.t;
    *n = l.n;
    return DYT_OK;
}

void rep_free_tables(rep_table **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rep_table_free(t[i]);
    free(t);
}
