/* The gate report for machines: one JSON object built with jansson (no
 * hand-escaping). Numbers that do not exist (no interval for an exact
 * counter, no p-value, an unbounded detectable change) are null, never a
 * made-up number. */
#include "escape.h"
#include "gate.h"
#include "gate_format.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* A string from the store: jansson refuses invalid UTF-8 (the value, and
 * the object holding it, would be lost), so bad bytes become U+FFFD. */
static json_t *str(const char *s)
{
    char *valid = esc_utf8_dup(s ? s : "");
    json_t *j = valid ? json_string(valid) : NULL;
    free(valid);
    return j;
}

/* A side: the header fields are its last run's; run_ids lists every run
 * pooled into it, runs their details. */
static json_t *run_obj(const gate_run *r)
{
    json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "run_id", (json_int_t)r->run_id,
                          "label", str(r->label), "git_rev", str(r->git_rev), "status",
                          str(r->status), "metric", str(r->metric), "started_at",
                          str(r->started_at), "db", str(r->db_path));
    json_t *ids = json_array(), *runs = json_array();
    for (size_t i = 0; i < r->n_runs; i++) {
        const gate_run_ref *x = &r->runs[i];
        json_array_append_new(ids, json_integer((json_int_t)x->run_id));
        json_array_append_new(
            runs, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "run_id",
                            (json_int_t)x->run_id, "label", str(x->label), "git_rev",
                            str(x->git_rev), "status", str(x->status), "started_at",
                            str(x->started_at), "db", str(x->db_path), "lockstep_token",
                            str(x->lockstep_token), "arm", str(x->arm)));
    }
    json_object_set_new(o, "run_ids", ids);
    json_object_set_new(o, "runs", runs);
    return o;
}

static json_t *case_axes(const gate_case *c)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:i, s:o, s:o}", "key",
                     str(c->key), "suite", str(c->suite), "model", str(c->model), "norm",
                     str(c->norm), "variant", str(c->variant), "dtype", str(c->dtype), "pass",
                     str(c->pass), "rows", (json_int_t)c->rows, "cols", (json_int_t)c->cols,
                     "threads", c->threads, "cache", str(c->cache), "device", str(c->device));
}

int gate_write_json(FILE *f, const gate_report *r, dyt_err *e)
{
    json_t *root = json_object(), *cases = json_array(), *ob = json_array(), *oc = json_array();
    json_t *warn = json_array();
    if (!root || !cases || !ob || !oc || !warn) {
        json_decref(root);
        json_decref(cases);
        json_decref(ob);
        json_decref(oc);
        json_decref(warn);
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
    }
    json_object_set_new(root, "base", run_obj(r->base));
    json_object_set_new(root, "candidate", run_obj(r->cand));
    json_object_set_new(root, "metric", str(r->opts.metric));
    json_object_set_new(root, "threshold", json_real(r->opts.threshold));
    json_object_set_new(root, "alpha", json_real(r->opts.alpha));
    json_object_set_new(root, "confidence",
                        r->kind == GATE_METRIC_TIME ? json_real(1 - r->opts.alpha) : json_null());
    json_object_set_new(root, "gate", json_string(gate_outcome(r)));
    json_object_set_new(root, "exit_code", json_integer(gate_exit_code(r)));
    json_object_set_new(
        root, "summary",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "compared", (json_int_t)r->n_results,
                  "regressions", (json_int_t)r->n_regressions, "slower", (json_int_t)r->n_slower,
                  "faster", (json_int_t)r->n_faster, "same", (json_int_t)r->n_same, "inconclusive",
                  (json_int_t)r->n_inconclusive, "only_base", (json_int_t)r->n_only_base,
                  "only_candidate", (json_int_t)r->n_only_cand));
    /* How many cases each mode compared (every mode named, 0 when unused). */
    json_t *modes = json_object();
    for (int m = GATE_MODE_NONE; m <= GATE_MODE_PAIRED; m++)
        json_object_set_new(modes, gate_mode_name((gate_mode)m),
                            json_integer((json_int_t)r->n_mode[m]));
    json_object_set_new(root, "modes", modes);
    for (size_t i = 0; i < r->n_results; i++) {
        const gate_result *g = &r->results[i];
        json_t *o = case_axes(g->base);
        json_object_set_new(o, "verdict", json_string(gate_verdict_name(g->verdict)));
        json_object_set_new(o, "regression", json_boolean(g->regression));
        json_object_set_new(o, "n_base", json_integer((json_int_t)g->base->n));
        json_object_set_new(o, "n_candidate", json_integer((json_int_t)g->cand->n));
        json_object_set_new(o, "mode", json_string(gate_mode_name(g->mode)));
        json_object_set_new(o, "n_blocks_base", json_integer((json_int_t)g->n_blocks_base));
        json_object_set_new(o, "n_blocks_candidate", json_integer((json_int_t)g->n_blocks_cand));
        json_object_set_new(o, "n_pairs", json_integer((json_int_t)g->n_pairs));
        json_object_set_new(o, "base", num(g->med_base));
        json_object_set_new(o, "candidate", num(g->med_cand));
        json_object_set_new(o, "ratio", num(g->ratio));
        json_object_set_new(o, "ratio_low", num(g->ratio_lo));
        json_object_set_new(o, "ratio_high", num(g->ratio_hi));
        json_object_set_new(o, "p", num(g->p));
        json_object_set_new(o, "resolution", num(g->resolution));
        json_object_set_new(o, "min_detectable_slowdown", num(g->min_detectable));
        json_object_set_new(o, "calibrated_noise", num(g->cal_noise));
        if (g->cand->source[0])
            json_object_set_new(o, "source", str(g->cand->source));
        json_object_set_new(o, "note", str(g->note));
        json_array_append_new(cases, o);
    }
    for (size_t i = 0; i < r->n_only_base; i++)
        json_array_append_new(ob, case_axes(r->only_base[i]));
    for (size_t i = 0; i < r->n_only_cand; i++)
        json_array_append_new(oc, case_axes(r->only_cand[i]));
    for (size_t i = 0; i < r->n_warnings; i++)
        json_array_append_new(warn, str(r->warnings[i]));
    json_object_set_new(root, "cases", cases);
    json_object_set_new(root, "only_base", ob);
    json_object_set_new(root, "only_candidate", oc);
    json_object_set_new(root, "warnings", warn);
    int rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(root);
    fputc('\n', f);
    if (rc != 0 || ferror(f))
        return dyt_errf(e, DYT_RESOURCE, "writing JSON failed");
    return DYT_OK;
}
