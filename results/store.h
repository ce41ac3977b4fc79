/* The SQLite results store: open/migrate/validate a DB and write runs,
 * cases, raw samples, statistics and counters. Schema: results/schema.sql.
 * Each case is written in its own transaction; every value is bound. */
#pragma once
#include <sqlite3.h>
#include <stdint.h>
#include "common.h"
#include "machine.h"

#define STORE_SCHEMA_VERSION 4
#define STORE_DEFAULT_PATH "results/dytbench.db"

typedef struct store store;

/* Opens (creating when create != 0 and the file is absent) and migrates.
 * Refuses, leaving the file untouched, a file that is not SQLite, is
 * corrupt, or is SQLite without dytbench's meta row. Marks runs left
 * 'running' by a process that no longer exists as 'aborted'. */
int store_open(const char *path, int create, store **out, dyt_err *e);
void store_close(store *s);
sqlite3 *store_db(store *s); /* for read-only queries by report/compare */
const char *store_path(const store *s);

int store_put_machine(store *s, const machine_info *m, int64_t *machine_id, dyt_err *e);

typedef struct {
    int64_t machine_id;
    const char *label;        /* may be NULL */
    const char *command_line;
    const char *suites;       /* "quick" or "llm,vision" */
    const char *suite_hash;
    const char *device;       /* "cpu" | "cuda" */
    const char *metric;       /* "time" | "instructions" */
    const char *settings_json;
    const char *lockstep_token; /* the `interleave` session; NULL or "": none */
    const char *arm;            /* its arm in that session; NULL or "": none */
    const char *campaign;       /* the campaign of shards; NULL or "": none */
    int shard_index, shard_count; /* 0 <= shard_index < shard_count; shard_count 0: no shard */
} store_run_meta;

/* Opens a run ('running') with a fresh uuid; DYT_USAGE on a shard outside
 * its campaign's count. */
int store_begin_run(store *s, const store_run_meta *m, int64_t *run_id, dyt_err *e);
/* status: "complete" | "aborted" | "failed" */
int store_end_run(store *s, int64_t run_id, const char *status, const char *note, dyt_err *e);
int store_put_roofline(store *s, int64_t run_id, int threads, const char *kind, uint64_t bytes,
                       double gbps_best, double gbps_median, dyt_err *e);

typedef struct {
    double ns;
    int flags;    /* STORE_SAMPLE_* */
    int excluded;
    int block;    /* round of the run (0-based): samples of one round are taken
                   * back to back, rounds are spread over the run (run --rounds) */
} store_sample;
enum { STORE_SAMPLE_CTXSW = 1, STORE_SAMPLE_THROTTLED = 2 };

typedef struct {
    const char *source; /* papi|rusage|cupti|callgrind|cachegrind */
    const char *name;
    int available;
    double value, per_element;
    const char *unavailable_reason;
} store_counter;

typedef struct {
    int n, n_excluded;
    double median_ns, ci_low_ns, ci_high_ns, mean_ns, stddev_ns, min_ns, max_ns, mad_ns;
    double rel_ci_width, gbps, roofline_pct; /* roofline_pct < 0: unknown */
} store_stats;

typedef struct {
    int seq;
    const char *suite, *domain, *model, *model_norm, *token_label;
    int layers;
    const char *norm, *variant, *dtype, *pass;
    int64_t rows, cols;
    int threads;
    const char *cache, *device;
    double alpha, eps;
    int has_beta, affine;
    const char *status; /* ok|failed|skipped */
    const char *error;  /* NULL unless failed/skipped */
    double max_err;     /* < 0: not verified */
    uint64_t bytes;
    int batch, buffer_sets;
    const char *stop_reason;
    uint64_t warmup_ns, wall_ns;
    const char *started_at, *ended_at;
    const char *note; /* one line on how it was measured; NULL: none */
} store_case;

/* Writes the case, its samples, stats (NULL: none) and counters in one
 * transaction; on failure nothing of it is kept. */
int store_put_case(store *s, int64_t run_id, const store_case *c, const store_sample *samples,
                   size_t n_samples, const store_stats *st, const store_counter *counters,
                   size_t n_counters, int64_t *case_id, dyt_err *e);

/* Resolves "latest", a numeric id, or a label (latest run with it) to an id;
 * DYT_USAGE with a clear message if none. */
int store_resolve_run(store *s, const char *spec, int64_t *run_id, dyt_err *e);
