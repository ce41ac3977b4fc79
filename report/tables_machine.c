/* report/tables_machine.c: the tables that describe where and how a run was
 * measured -- the machine record and build, the bandwidth ceilings measured
 * at the start of the run, counter availability (with the reason when a
 * counter could not be read) -- plus failed cases and the side-by-side
 * comparison of matched cases for --vs. */
#include "report_int.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static void kv_row(rep_table *t, const char *k, const char *v)
{
    size_t r = rep_table_add_row(t);
    rep_table_set(t, r, 0, "%s", k);
    rep_table_set(t, r, 1, "%s", v && *v ? v : "not recorded");
}

rep_table *rep_table_machine(const rep_run *r)
{
    const char *head[] = {"Item", "Value"};
    char name[160];
    rep_run_name(r, name, sizeof name);
    rep_table *t = rep_table_new("machine", "Machine and build", 2, head, "lp");
    if (!t)
        return NULL;
    kv_row(t, "Run", name);
    kv_row(t, "Run status", r->run.status);
    kv_row(t, "Started", r->run.started_at);
    kv_row(t, "Ended", r->run.ended_at);
    for (size_t i = 0; i < r->n_mach; i++)
        kv_row(t, r->mach[i].key, r->mach[i].value);
    kv_row(t, "Compiler", r->run.compiler);
    kv_row(t, "Compiler flags", r->run.cflags);
    kv_row(t, "Build type", r->run.build_type);
    kv_row(t, "dytbench version", r->run.version);
    kv_row(t, "Git revision", r->run.git_rev);
    kv_row(t, "Suites", r->run.suites);
    kv_row(t, "Device", r->run.device);
    kv_row(t, "Metric", r->run.metric);
    if (r->run.lockstep_token) {
        char session[160];
        snprintf(session, sizeof session, "%s (arm %s)", r->run.lockstep_token,
                 r->run.arm ? r->run.arm : "?");
        kv_row(t, "Interleave session", session);
    }
    kv_row(t, "Settings", r->run.settings);
    kv_row(t, "Command line", r->run.command_line);
    if (r->run.note && *r->run.note)
        kv_row(t, "Note", r->run.note);
    for (size_t i = 0; i < r->machine.n_attrs; i++) {
        char k[300];
        snprintf(k, sizeof k, "Attribute %s", r->machine.attrs[i].key);
        kv_row(t, k, r->machine.attrs[i].value);
    }
    return rep_table_done(t);
}

rep_table *rep_table_ceilings(const rep_run *r)
{
    const char *head[] = {"Threads",     "Level",         "Kind",        "Working set (B)",
                          "GB/s (best)", "GB/s (median)", "How measured"};
    rep_table *t = rep_table_new("ceilings", "Bandwidth ceilings measured at the start of the run",
                                 7, head, "rllrrrp");
    if (!t)
        return NULL;
    for (size_t i = 0; i < r->ceilings.n; i++) {
        const store_ceiling *x = &r->ceilings.v[i];
        size_t row = rep_table_add_row(t);
        char b[2][32];
        rep_fmt_num(b[0], 32, x->gbps, 2);
        rep_fmt_num(b[1], 32, x->gbps_median, 2);
        rep_table_set(t, row, 0, "%d", x->threads);
        rep_table_set(t, row, 1, "%s", x->level);
        rep_table_set(t, row, 2, "%s", x->kind);
        rep_table_set(t, row, 3, "%" PRIu64, x->bytes);
        rep_table_set(t, row, 4, "%s", b[0]);
        rep_table_set(t, row, 5, "%s", b[1]);
        rep_table_set(t, row, 6, "%s", x->method ? x->method : "");
    }
    if (!r->ceilings.n)
        rep_table_note(t, "No bandwidth ceiling was stored for this run: %% of ceiling is n/a.");
    else
        rep_table_note(t, "Copy (a[i] = b[i]) and scale bandwidth, bytes read + written per pass "
                          "over the time of a pass, 1e9 B/s, at a working set of each cache level "
                          "the run's cases fit in (l1, l2, the llc share of the threads; dram: "
                          "beyond the llc). A case is held against the best of copy and scale at "
                          "its level and thread count: hot, the level its bytes fit in; cold, "
                          "dram.");
    return rep_table_done(t);
}

rep_table *rep_table_counters(const rep_run *r)
{
    const char *head[] = {"Source",           "Counter",        "Cases read", "Cases unavailable",
                          "Mean per element", "Why unavailable"};
    rep_table *t = rep_table_new("counters", "Counters", 6, head, "llrrrp");
    if (!t)
        return NULL;
    for (size_t i = 0; i < r->n_counters; i++) {
        const rep_counter *k = &r->counters[i];
        size_t row = rep_table_add_row(t);
        char pe[32];
        rep_fmt_sig(pe, sizeof pe, k->per_element);
        rep_table_set(t, row, 0, "%s", k->source);
        rep_table_set(t, row, 1, "%s", k->name);
        rep_table_set(t, row, 2, "%d", k->n_avail);
        rep_table_set(t, row, 3, "%d", k->n_unavail);
        rep_table_set(t, row, 4, "%s", pe);
        if (k->reason)
            rep_table_set(t, row, 5, "%s%s", k->reason,
                          k->n_reasons > 1 ? " (and other reasons)" : "");
    }
    if (!r->n_counters)
        rep_table_note(t, "No counters were stored for this run.");
    else
        rep_table_note(t, "A counter that could not be read is stored as unavailable with the "
                          "reason, never as zero; per element = value / (rows x hidden x calls).");
    return rep_table_done(t);
}

rep_table *rep_table_failed(const rep_run *r)
{
    const char *head[] = {"Seq",  "Model", "Norm",   "Variant", "dtype",
                          "Pass", "Rows",  "Hidden", "Status",  "Why"};
    rep_table *t =
        rep_table_new("failed", "Cases that failed or were skipped", 10, head, "rlllllrrlp");
    if (!t)
        return NULL;
    for (size_t i = 0; i < r->cases.n; i++) {
        const rep_case *c = &r->cases.v[i];
        if (!strcmp(c->c.status, "ok"))
            continue;
        size_t row = rep_table_add_row(t);
        rep_table_set(t, row, 0, "%d", c->c.seq);
        rep_table_set(t, row, 1, "%s", c->c.model);
        rep_table_set(t, row, 2, "%s", c->c.norm);
        rep_table_set(t, row, 3, "%s", c->c.variant);
        rep_table_set(t, row, 4, "%s", c->c.dtype);
        rep_table_set(t, row, 5, "%s", c->c.pass);
        rep_table_set(t, row, 6, "%" PRId64, c->c.rows);
        rep_table_set(t, row, 7, "%" PRId64, c->c.cols);
        rep_table_set(t, row, 8, "%s", c->c.status);
        rep_table_set(t, row, 9, "%s", c->c.error ? c->c.error : "no reason stored");
    }
    rep_table_note(t, "These cases are left out of every other table and figure.");
    return rep_table_done(t);
}

rep_table *rep_table_vs(const rep_run *r, const rep_vs *vs)
{
    char a[160], b[160], id[48], title[1024], ha[200], hb[200], hr[400];
    rep_run_name(r, a, sizeof a);
    rep_run_name(vs->vs, b, sizeof b);
    snprintf(id, sizeof id, "vs-%" PRId64, vs->vs->run.id);
    snprintf(title, sizeof title, "Run %s on %s vs run %s on %s", a,
             r->machine_desc ? r->machine_desc : "?", b,
             vs->vs->machine_desc ? vs->vs->machine_desc : "?");
    snprintf(ha, sizeof ha, "%s (µs)", a);
    snprintf(hb, sizeof hb, "%s (µs)", b);
    snprintf(hr, sizeof hr, "Ratio %s / %s", b, a);
    const char *head[] = {"Model",   "Norm",  "Variant", "dtype", "Pass", "Rows",  "Hidden",
                          "Threads", "Cache", ha,        hb,      hr,     "95% CI"};
    rep_table *t = rep_table_new(id, title, DYT_ARRAY_LEN(head), head, "lllllrrrlrrrr");
    if (!t)
        return NULL;
    for (size_t i = 0; i < vs->n; i++) {
        const rep_match *m = &vs->m[i];
        size_t row = rep_table_add_row(t);
        char ta[32], tb[32], ra[32], ci[64];
        rep_fmt_us(ta, sizeof ta, m->a->st.median_ns);
        rep_fmt_us(tb, sizeof tb, m->b->st.median_ns);
        rep_fmt_num(ra, sizeof ra, m->ratio, 3);
        if (isfinite(m->lo) && isfinite(m->hi))
            snprintf(ci, sizeof ci, "[%.3f, %.3f]", m->lo, m->hi);
        else
            snprintf(ci, sizeof ci, "n/a");
        const char *v[] = {m->a->c.model, m->a->c.norm, m->a->c.variant, m->a->c.dtype,
                           m->a->c.pass};
        for (size_t j = 0; j < DYT_ARRAY_LEN(v); j++)
            rep_table_set(t, row, j, "%s", v[j]);
        rep_table_set(t, row, 5, "%" PRId64, m->a->c.rows);
        rep_table_set(t, row, 6, "%" PRId64, m->a->c.cols);
        rep_table_set(t, row, 7, "%d", m->a->c.threads);
        rep_table_set(t, row, 8, "%s", m->a->c.cache);
        rep_table_set(t, row, 9, "%s", ta);
        rep_table_set(t, row, 10, "%s", tb);
        rep_table_set(t, row, 11, "%s", ra);
        rep_table_set(t, row, 12, "%s", ci);
    }
    size_t ok = 0;
    for (size_t i = 0; i < r->cases.n; i++)
        ok += r->cases.v[i].has_stats && !strcmp(r->cases.v[i].c.status, "ok");
    rep_table_note(t,
                   "Cases matched on every axis (domain, model, norm, variant, dtype, pass, rows, "
                   "hidden, threads, cache, device): %zu of %zu ok cases of %s. Ratio of medians "
                   "(above 1: %s is slower); 95%% CI by percentile bootstrap of the raw samples "
                   "(%d resamples).",
                   vs->n, ok, a, b, REP_BOOT_RESAMPLES);
    return rep_table_done(t);
}
