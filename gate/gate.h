/* The regression gate: loads two sides, each one or several stored runs
 * (from one or several stores), matches their cases on every axis, compares
 * each matched case, gives each a verdict, and decides the gate. A time
 * case is compared on time-matched pairs of blocks when both sides were
 * measured together by `interleave` (paired mode: Wilcoxon signed-rank test
 * and Hodges-Lehmann interval on the pairs' log ratios), else on its
 * replicates -- the blocks (rounds) of the side's runs -- when both sides
 * have at least two (Mann-Whitney U and a Hodges-Lehmann/Moses interval on
 * the log block medians), else on the raw samples (bootstrap interval of the
 * ratio of medians, U test); counters are compared as exact values.
 * Formatters write the same report as text, Markdown (pull-request comment),
 * JSON and JUnit XML. The A/A calibration (gate/calibrate.c) stores per case
 * how much this machine's noise lets the gate resolve; compare warns when
 * the threshold is finer than that. */
#pragma once
#include "common.h"
#include "store.h"
#include <stdint.h>
#include <stdio.h>

typedef enum { GATE_SAME = 0, GATE_FASTER, GATE_SLOWER, GATE_INCONCLUSIVE } gate_verdict;
const char *gate_verdict_name(gate_verdict v);

typedef enum { GATE_METRIC_TIME = 0, GATE_METRIC_COUNTER } gate_metric_kind;

/* How a case was compared: not at all (a side has no value), on block
 * medians (replicate mode), on raw samples (one block on a side), as exact
 * counter values, or on time-matched block pairs (paired mode). */
typedef enum {
    GATE_MODE_NONE = 0,
    GATE_MODE_SAMPLES,
    GATE_MODE_BLOCKS,
    GATE_MODE_EXACT,
    GATE_MODE_PAIRED
} gate_mode;
const char *gate_mode_name(gate_mode m); /* "none", "samples", "blocks", "exact", "paired" */

typedef struct {
    const char *metric; /* "time", "instructions" or a counter name */
    double threshold;   /* relative, 0.05 = 5% */
    double alpha;       /* significance level of the tests (U, signed-rank), 0.01 */
    unsigned resamples; /* bootstrap resamples, 2000 */
    uint64_t seed;      /* bootstrap seed, 1 */
    size_t min_samples; /* below this per side: inconclusive (5) */
    int noise_floor;    /* 1: a case's slowdown must also clear its calibrated A/A
                         * noise (calibrations table) to fail the gate */
} gate_opts;
void gate_opts_default(gate_opts *o);

/* One case of a loaded run. The key names every axis. */
typedef struct {
    char key[320];     /* suite/model/norm/variant/dtype/pass/rowsxcols/tN/cache/device */
    char cal_key[256]; /* model/norm/variant/dtype/pass/rows/cols/threads/cache (calibrations) */
    char suite[64], model[64], norm[16], variant[32], dtype[8], pass[8], cache[8], device[8];
    int64_t rows, cols;
    int threads;
    char status[16];
    char error[160];
    double *x;    /* samples (ns per call, excluded ones left out) or the counter value */
    int64_t *rep; /* time: the replicate of each sample, (run index in the side << 32) | block;
                   * NULL for a counter */
    size_t n;
    char source[16];   /* counter source ("callgrind", "papi"...), "" for time */
    char missing[200]; /* why there is no value for the metric, "" if there is */
} gate_case;

/* One stored run of a side. */
typedef struct {
    int64_t run_id;
    char db_path[512];
    char label[128], git_rev[64], status[16], started_at[32];
    char machine_fp[80];
    char lockstep_token[24]; /* the `interleave` session it was measured in, "" if none */
    char arm[64];            /* its arm in that session, "" if none */
    char pages[16];          /* its settings' "pages" (huge, small), "" if none stored */
} gate_run_ref;

/* One side of a comparison: one run, or several pooled. The header fields
 * are those of the last run of the side (the latest of all:LABEL); runs
 * lists every one. A case of a pooled side holds the samples of every run
 * in which it is ok, each tagged with its replicate. */
typedef struct {
    int64_t run_id;
    char db_path[512];
    char label[128], git_rev[64], status[16], metric[16], started_at[32];
    int64_t machine_id;
    char machine_fp[80];
    char lockstep_token[24], arm[64]; /* of the last run, as above */
    char pages[16];                   /* of the last run, as above */
    gate_case *cases;
    size_t n_cases;
    gate_run_ref *runs;
    size_t n_runs;
} gate_run;

/* Resolves SPEC, a comma-separated list of items, each a run id, "latest",
 * a label (the latest run with it), "all:LABEL" (every complete run with
 * that label, oldest first), or any of these after "PATH.db:" (a run of
 * another store, opened read-only). default_db is the store to use
 * otherwise (already open; may be NULL when every item names a file).
 * Loads and pools the runs' cases with the values of metric (a counter
 * metric takes exactly one run). DYT_USAGE with the reason, naming the
 * item, on bad input. */
int gate_load_run(store *default_db, const char *spec, const char *metric, gate_run *out,
                  dyt_err *e);
void gate_run_free(gate_run *r);
/* DYT_USAGE, naming it, when an item of SPEC names a store file in the
 * PATH.db:RUN form that does not exist (rather than taking it for a
 * label of the default store). */
int gate_spec_check(const char *spec, dyt_err *e);
/* Whether some item of SPEC needs the default store (is not PATH.db:...
 * with an existing file); gate_load_run makes the same decision. */
int gate_spec_needs_default(const char *spec);

typedef struct {
    const gate_case *base, *cand;
    gate_verdict verdict;
    int regression; /* fails the gate */
    double med_base, med_cand;
    double ratio, ratio_lo, ratio_hi; /* cand / base; interval NaN for counters */
    double p;                         /* two-sided U-test p; NaN for counters */
    double resolution;                /* relative half-width of the ratio interval */
    double min_detectable;            /* smallest slowdown that could fail the gate here */
    double cal_noise;                 /* calibrated A/A noise of this case, NaN if none */
    gate_mode mode;
    size_t n_blocks_base, n_blocks_cand; /* replicates (blocks) per side; 0 for counters */
    size_t n_pairs;                      /* paired mode: time-matched block pairs compared */
    char note[256];
} gate_result;

typedef struct {
    gate_opts opts;
    gate_metric_kind kind;
    const gate_run *base, *cand;
    gate_result *results;
    size_t n_results;
    const gate_case **only_base, **only_cand; /* unmatched */
    size_t n_only_base, n_only_cand;
    size_t n_regressions, n_faster, n_slower, n_same, n_inconclusive;
    size_t n_mode[GATE_MODE_PAIRED + 1]; /* compared cases per gate_mode */
    char **warnings;
    size_t n_warnings;
} gate_report;

/* Compares two loaded runs. cal_db: the store whose calibrations table to
 * consult for the candidate's machine (NULL: none). */
int gate_compare(const gate_run *base, const gate_run *cand, const gate_opts *o, store *cal_db,
                 gate_report *out, dyt_err *e);
void gate_report_free(gate_report *r);
/* Cases compared: matched, with a value of the metric on both sides. */
size_t gate_n_compared(const gate_report *r);
/* Exit code of the gate: DYT_FAIL when any case is a regression, else
 * DYT_USAGE when no case was compared (a gate that compared nothing must
 * not pass), else DYT_OK. */
int gate_exit_code(const gate_report *r);
/* "fail", "pass" or "nothing compared", as the exit code says. */
const char *gate_outcome(const gate_report *r);
/* Why nothing was compared, in one line. */
void gate_nothing_why(const gate_report *r, char *buf, size_t n);
/* Compares one pair of sample arrays (time metric) into res, treating the
 * samples as independent draws (sample mode); exposed for the tests. */
void gate_compare_samples(const double *a, size_t na, const double *b, size_t nb,
                          const gate_opts *o, gate_result *res);
/* Compares one pair of sample arrays whose samples carry replicate ids
 * (ra, rb; NULL: all one replicate): on the block medians when both sides
 * have at least two blocks, else gate_compare_samples with a note. */
void gate_compare_blocks(const double *a, const int64_t *ra, size_t na, const double *b,
                         const int64_t *rb, size_t nb, const gate_opts *o, gate_result *res);
/* Paired mode: d[i] = log(cand block i / base block i) for n time-matched
 * pairs (blocks of one `interleave` session with the same round);
 * med_base/med_cand are the sides' medians of block medians. Signed-rank
 * test, ratio exp(Hodges-Lehmann), its interval at 1 - alpha. */
void gate_compare_pairs(const double *d, size_t n, double med_base, double med_cand,
                        const gate_opts *o, gate_result *res);
/* Compares one pair of exact counter values into res. */
void gate_compare_values(double base, double cand, const gate_opts *o, gate_result *res);

/* Output formats. */
int gate_write_text(FILE *f, const gate_report *r);
int gate_write_md(FILE *f, const gate_report *r);
int gate_write_json(FILE *f, const gate_report *r, dyt_err *e);
int gate_write_junit(FILE *f, const gate_report *r);

/* A/A calibration (gate/calibrate.c): from the A/A pairs (run_a[i],
 * run_b[i]) of runs of one build on this machine, per matched case the
 * noise (the largest relative distance from 1 that an A/A interval of the
 * ratio reached) and the smallest slowdown the gate would flag with o,
 * stored in the calibrations table of s through the store's writer. Prints
 * a summary to f (may be NULL). */
int gate_calibrate_store(store *s, const int64_t *run_a, const int64_t *run_b, size_t n_pairs,
                         const gate_opts *o, FILE *f, dyt_err *e);
