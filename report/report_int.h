/* Internal data model of the report stage, shared by its files: a run
 * loaded from the store (query.c), what is computed from it (analysis.c:
 * DyT/norm pairs with bootstrap speedup intervals, whole-model sums,
 * per-variant bandwidth), the figures' input built from that (plot_input.c,
 * for plots/), and the format-neutral table model (table.c) that tables.c
 * and tables_machine.c fill and render.c writes as Markdown/LaTeX/CSV and
 * html.c as HTML. Strings here are raw (as stored);
 * every writer escapes them for its format. */
#pragma once
#include "common.h"
#include "figures.h"
#include "store.h"
#include <stdint.h>
#include <stdio.h>

/* A case of a loaded run is the store's record of it (store_case_rec):
 * its columns in c, its statistics in st (NAN when absent). */
typedef store_case_rec rep_case;

/* One counter of a run over its cases. */
typedef struct {
    const char *source, *name;
    int n_avail, n_unavail, n_reasons;
    const char *reason; /* the first of the reasons given (NULL if none) */
    double per_element; /* mean over cases where available; NAN otherwise */
} rep_counter;

typedef struct rep_campaign rep_campaign;

typedef struct {
    store_run run;        /* its row; for a campaign, its representative run's */
    machine_info machine; /* the machine it ran on, with its attributes */
    char *machine_desc;   /* "host (cpu model)", as v_results says */
    machine_attr *mach;   /* the machine record, formatted for people */
    size_t n_mach;
    store_ceiling_list ceilings;
    store_case_list cases; /* ordered by seq */
    store_counter_list counter_values;
    rep_counter *counters; /* by source and name */
    size_t n_counters;
    rep_campaign *campaign; /* report campaign:ID: the runs behind it; NULL for one run */
} rep_run;

/* query.c */
int rep_load_run(store *s, int64_t run_id, rep_run *r, dyt_err *e);
/* What every loaded run needs once its row, machine, ceilings, cases and
 * counters are in: the machine's description and record for people, the
 * counters' summary. */
int rep_finish_run(rep_run *r, dyt_err *e);
void rep_free_run(rep_run *r);
/* The case's samples that were not excluded, in idx order (malloc'd). */
int rep_load_samples(store *s, int64_t case_id, double **x, size_t *n, dyt_err *e);
/* A short name for a run in headings: "#3 label" or "#3". */
void rep_run_name(const rep_run *r, char *buf, size_t n);

/* campaign.c: a campaign as one run --------------------------------------- */

/* report campaign:ID: every run of the campaign, each planned case taken
 * once -- from a complete run where one stored it, else from the newest --
 * and what the campaign's plan has that no run stored. */
struct rep_campaign {
    char *name;
    store_run_list runs;    /* oldest first */
    store_case_list *cases; /* of each run */
    store_counter_list *counters;
    store_campaign plan;
    int have_plan; /* the store holds the campaign's plan */
    const store_plan_case **missing;
    size_t n_missing;
    size_t n_repeated; /* cases more than one run stored (one is reported) */
    size_t n_machines; /* distinct machines the runs ran on */
    int complete;      /* every run complete and nothing missing */
};

/* Loads campaign name as one run r (its row, machine and ceilings those of
 * its first complete, else newest, run). DYT_USAGE when the store has no
 * run of it. */
int rep_load_campaign(store *s, const char *name, rep_run *r, dyt_err *e);
void rep_free_campaign(rep_campaign *c);

/* analysis.c -------------------------------------------------------------- */

enum { REP_FWD = 0, REP_BWD = 1 };

/* DyT against the model's own norm at one shape, dtype, threads and cache:
 * the fastest ok variant of each. speedup = t_norm / t_dyt; lo/hi its 95%
 * bootstrap interval (NAN when a side is missing). */
typedef struct {
    const rep_case *norm[2], *dyt[2]; /* [REP_FWD], [REP_BWD]; NULL if absent */
    double speedup[2], lo[2], hi[2];
    const char *impl; /* a framework variant of the run (torch-eager...); NULL: the kernels */
} rep_pair;

/* One whole model: its sections (grouped by name prefix) at one token label,
 * dtype, threads and cache; times in ns per pass, summed layers x time. */
typedef struct {
    char *group; /* "llama-7b" */
    const char *domain, *token, *dtype, *cache, *model_norm;
    const char *impl; /* as rep_pair's */
    int threads;
    int64_t rows;  /* the first section's rows ... */
    int rows_vary; /* ... unless the sections differ */
    size_t n_sections, n_layers;
    int complete_inf, complete_train; /* every section had both sides */
    double inf_norm, inf_dyt, train_norm, train_dyt;
    char *missing; /* sections lacking a case, or NULL */
} rep_whole;

/* A kernel variant: what the per-variant tables are keyed by. */
typedef struct {
    const char *norm, *pass, *dtype, *variant;
} rep_variant_key;

/* A variant's bandwidth over its ok cases (NAN when unknown). */
typedef struct {
    rep_variant_key k; /* first: variants.c finds lists by it */
    size_t n_cases;
    double gbps_median, gbps_best;
    double ceil_median, ceil_best; /* % of each case's own ceiling */
    double dram_median;            /* % of the dram ceiling */
    size_t n_above;                /* cases above STORE_CEILING_FLAG_PCT of their ceiling */
} rep_variant;

/* A variant's accuracy over its verified cases (ok or failed): the largest
 * error its checks measured, over the output's scale, with that case's
 * bound and output, and the largest in ulps (NAN: none stored). */
typedef struct {
    rep_variant_key k; /* first, as in rep_variant */
    size_t n_verified, n_failed;
    double max_err, max_err_tol;
    const char *max_err_output;
    double max_ulps;
} rep_accuracy;

/* Above its ceiling by more than the flag threshold: flagged wherever it is shown. */
static inline int rep_case_above(const rep_case *c)
{
    return c->has_stats && c->st.ceiling_pct > STORE_CEILING_FLAG_PCT;
}
/* Below this % of its ceiling a side of a DyT-vs-norm comparison is
 * marked handicapped: the verdict is then partly about that kernel. */
#define REP_HANDICAP_PCT 80.0

/* A case of the main run and the same case (every axis equal) in a vs run;
 * ratio = t_vs / t_main with a bootstrap interval. */
typedef struct {
    const rep_case *a, *b;
    double ratio, lo, hi;
} rep_match;

typedef struct {
    const rep_run *vs;
    rep_match *m;
    size_t n;
} rep_vs;

typedef struct {
    const rep_run *run;
    rep_pair *pairs;
    size_t n_pairs;
    rep_whole *wholes;
    size_t n_wholes;
    rep_variant *variants;
    size_t n_variants;
    rep_accuracy *accuracy;
    size_t n_accuracy;
    size_t n_above; /* ok cases above their ceiling */
    rep_vs *vs;
    size_t n_vs;
    size_t n_ok, n_failed, n_skipped;
    char **peer_variants; /* the framework variants of the run's peer (settings) */
    size_t n_peer_variants;
} rep_analysis;

/* "" and NULL equal; ok with statistics and a positive median. */
int rep_str_eq(const char *a, const char *b);
int rep_case_usable(const rep_case *c);
/* variants.c: a->variants and a->accuracy from the run's cases. */
int rep_build_variants(const rep_run *run, rep_analysis *a, dyt_err *e);
/* Any case of the pair (for its shape and settings). */
const rep_case *rep_pair_any(const rep_pair *p);
/* The framework variant a case is of (one of a->peer_variants), or NULL:
 * a kernel of dytbench's. */
const char *rep_impl_of(const rep_analysis *a, const rep_case *c);
/* The pair of implementation impl (NULL: the kernels) at like's shape. */
const rep_pair *rep_pair_find(const rep_analysis *a, const rep_pair *like, const char *impl);
int rep_analyse(store *db, const rep_run *run, const rep_run *vs, size_t n_vs, rep_analysis *a,
                dyt_err *e);
void rep_free_analysis(rep_analysis *a);
/* "llama-7b-ffn-final" -> "llama-7b": the model a suite section belongs to
 * (malloc'd). Strips the section suffixes the shipped suites use. */
char *rep_model_group(const char *section);
/* Bootstrap settings, shared by every interval the report prints. */
#define REP_BOOT_RESAMPLES 2000
#define REP_BOOT_SEED 20250314u
#define REP_CONF 0.95

/* plot_input.c: what the figures draw, from an analysis ------------------ */

typedef struct {
    fig_input in; /* points into mem and into the analysis */
    void *mem;    /* the input's arrays, one allocation */
    char run_name[160];
} rep_plot_data;

/* Fills d from a (which must outlive it); DYT_USAGE when out of memory. */
int rep_plot_data_build(const rep_analysis *a, rep_plot_data *d, dyt_err *e);
void rep_plot_data_free(rep_plot_data *d);

/* table.c: the table model --------------------------------------------- */

typedef struct {
    char *id; /* anchor and file-friendly name: "speedup" */
    char *title;
    char *note; /* printed under the table; NULL: none */
    size_t ncols;
    char **head;
    char *align; /* 'l' or 'r' per column */
    size_t nrows, cap;
    char **cells; /* nrows x ncols; NULL cell: empty */
    int oom;      /* an allocation for it failed: the table is incomplete */
} rep_table;

rep_table *rep_table_new(const char *id, const char *title, size_t ncols, const char *const *head,
                         const char *align);
void rep_table_free(rep_table *t);
/* A new empty row, its index. Out of memory, the table is marked (oom) and
 * the index is no row's: rep_table_set writes nothing there. Setting a
 * cell or the note marks it the same way. */
size_t rep_table_add_row(rep_table *t);
void rep_table_set(rep_table *t, size_t row, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void rep_table_note(rep_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The table once built: t, or NULL (t freed) when an allocation for it
 * failed. */
rep_table *rep_table_done(rep_table *t);
/* Removes column col when every row has the same value there; returns that
 * value (malloc'd, the caller frees it) or NULL when the column stays. */
char *rep_table_drop_uniform(rep_table *t, size_t col);
/* " All rows: 2 thread(s), hot cache." for the columns dropped as uniform
 * (NULL: kept), "" when neither was. */
void rep_fmt_all_rows(char *buf, size_t n, const char *threads, const char *cache);

/* Number formats of the tables; "n/a" for NAN. */
void rep_fmt_num(char *buf, size_t n, double v, int decimals);
void rep_fmt_sig(char *buf, size_t n, double v); /* 4 significant digits */
void rep_fmt_us(char *buf, size_t n, double ns); /* ns as microseconds, 4 significant digits */

/* tables_machine.c: the machine, its bandwidth ceilings and counters,
 * failed cases, a --vs comparison. NULL: out of memory. */
rep_table *rep_table_machine(const rep_run *r);
rep_table *rep_table_ceilings(const rep_run *r);
rep_table *rep_table_counters(const rep_run *r);
rep_table *rep_table_failed(const rep_run *r);
rep_table *rep_table_vs(const rep_run *r, const rep_vs *vs);
/* campaign.c: a campaign's shards (run, host, status, cases stored of
 * planned) and the cases no run stored. NULL: out of memory. */
rep_table *rep_table_shards(const rep_run *r);
rep_table *rep_table_missing(const rep_run *r);

/* tables_variants.c: bandwidth and accuracy per variant, the cases above
 * their ceiling. NULL: out of memory. */
rep_table *rep_table_variants(const rep_analysis *a);
rep_table *rep_table_accuracy(const rep_analysis *a);
rep_table *rep_table_above_ceiling(const rep_analysis *a);
/* tables_framework.c: the framework view (run --peer torch): whether the
 * run has one (torch-eager pairs), and the table (NULL: out of memory). */
int rep_has_framework_view(const rep_analysis *a);
rep_table *rep_table_framework(const rep_analysis *a);

/* tables.c: every table of the report, in order; *n tables. */
int rep_build_tables(const rep_analysis *a, rep_table ***out, size_t *n, dyt_err *e);
void rep_free_tables(rep_table **t, size_t n);

/* render.c and html.c: writers ------------------------------------------ */

/* What every format says before its tables: title, run line, notices
 * (aborted run, figures need gnuplot), once each. */
typedef struct {
    const rep_analysis *a;
    rep_table **t;
    size_t nt;
    const fig_file *figs; /* written by plots/ */
    size_t nfigs;
    const char *notices[4];
    size_t n_notices;
    char notice_text[4][600]; /* where report.c wrote them */
    char title[256], subtitle[2048]; /* rep_doc_title, rep_doc_subtitle */
} rep_doc;

int rep_write_markdown(const char *path, const rep_doc *d, dyt_err *e);
int rep_write_latex(const char *path, const rep_doc *d, dyt_err *e);
/* One row per case of the runs (at least v_results' columns). */
int rep_write_csv(const char *path, const rep_run *const *runs, size_t n_runs, dyt_err *e);
int rep_write_html(const char *path, const char *out_dir, const rep_doc *d, dyt_err *e);
/* "dytbench report: run #3 label" and the one-line description of the run
 * (d->a set), for d->title and d->subtitle. */
void rep_doc_title(const rep_doc *d, char *buf, size_t n);
void rep_doc_subtitle(const rep_doc *d, char *buf, size_t n);

/* An output file of the report: opened for writing, and closed with any
 * write error reported (`report: ...`). */
FILE *rep_open_out(const char *path, dyt_err *e);
int rep_close_out(FILE *f, const char *path, dyt_err *e);
/* Writes pre, s escaped for the format by esc (common/escape.h), post. */
void rep_put(FILE *f, const char *pre, void (*esc)(FILE *, const char *), const char *s,
             const char *post);

/* Table rendering to a stream, one format each (used by the writers). */
void rep_table_md(FILE *f, const rep_table *t);
void rep_table_tex(FILE *f, const rep_table *t);
void rep_table_html(FILE *f, const rep_table *t);
