/* The SQLite results store: open/migrate/validate a DB, write runs, cases,
 * raw samples, statistics, counters and calibrations, and read them back as
 * plain structs (the read API below, used by every reader: gate, report,
 * show, list). Schema: results/schema.sql. Each case is written in its own
 * transaction, every write goes through the store's transactions (busy
 * retries included), every value is bound. */
#pragma once
#include <stdint.h>
#include "common.h"
#include "machine.h"

#define STORE_SCHEMA_VERSION 6
#define STORE_DEFAULT_PATH "results/dytbench.db"

typedef struct store store;
/* SQLite stays inside results/: the rest of the program sees the store
 * only through this header. */
typedef struct sqlite3 sqlite3;

/* Opens (creating when create != 0 and the file is absent) and migrates.
 * Refuses, leaving the file untouched, a file that is not SQLite, is
 * corrupt, or is SQLite without dytbench's meta row. Marks runs left
 * 'running' by a process that no longer exists as 'aborted'. */
int store_open(const char *path, int create, store **out, dyt_err *e);
void store_close(store *s);
sqlite3 *store_db(store *s); /* the connection, for tests and ad-hoc SQL: readers use the
                              * read API below */
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
    const char *plan_hash;        /* the unsharded plan's (plan_hash); NULL: not recorded */
    /* With a campaign: its whole plan (every case and its shard), stored
     * with the run unless the store has it already (store_put_campaign). */
    const struct store_plan_case *campaign_plan;
    size_t n_campaign_plan;
} store_run_meta;

/* Opens a run ('running') with a fresh uuid, and its campaign's plan in the
 * same transaction; DYT_USAGE on a shard outside its campaign's count or a
 * campaign this store knows with another plan. */
int store_begin_run(store *s, const store_run_meta *m, int64_t *run_id, dyt_err *e);
/* Reopens an aborted or failed run for `run --resume`: 'running' again,
 * written by this process (host, pid, boot id), its end cleared and its
 * note replaced by note. DYT_USAGE, changing nothing, when the run is
 * complete or running, or was measured on another machine than
 * machine_id (a run continues where it began). */
int store_resume_run(store *s, int64_t run_id, int64_t machine_id, const char *note, dyt_err *e);
/* status: "complete" | "aborted" | "failed"; note (NULL: none) is added to
 * the run's note, after "; " when it has one (a resumed run keeps its own). */
int store_end_run(store *s, int64_t run_id, const char *status, const char *note, dyt_err *e);

/* A bandwidth ceiling of a run: what a copy (or scale) of one working-set
 * size reached at one cache level and thread count. */
typedef struct {
    const char *level; /* "l1" | "l2" | "llc" | "dram" */
    int threads;
    const char *kind;         /* "copy" | "scale" | "d2d_copy" */
    uint64_t bytes;           /* working set measured at: bytes read + written per pass */
    double gbps, gbps_median; /* best and median, 1e9 B/s; median < 0 or NAN: not stored */
    const char *method;       /* how it was measured, one line; NULL: not said */
} store_ceiling;

/* Writes (or replaces) the run's ceiling at c's level, threads and kind. */
int store_put_ceiling(store *s, int64_t run_id, const store_ceiling *c, dyt_err *e);
/* A case above this % of its ceiling moved more than the ceiling says it
 * could: `show` and the reports flag it rather than print it as a figure. */
#define STORE_CEILING_FLAG_PCT 105.0

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
    double rel_ci_width, gbps;
    double roofline_pct;       /* % of the run's dram ceiling; < 0 or NAN: unknown */
    const char *ceiling_level; /* the ceiling the case is held against; NULL: none */
    double ceiling_pct;        /* % of that ceiling; < 0 or NAN: unknown */
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
    double max_err;     /* error of the deciding output over its scale; < 0 or NAN: not
                         * verified */
    double max_ulps;    /* worst error in ulps over every output; < 0 or NAN: unknown */
    const char *err_output; /* the deciding output ("y", "dx", ...); NULL: unknown */
    double err_tol;         /* its bound, normalised as max_err; < 0 or NAN: unknown */
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

/* A/A calibration of one case key (gate/calibrate.c): the noise of the
 * pair that showed the most, and the smallest slowdown the gate could flag
 * at threshold and alpha. */
typedef struct {
    const char *case_key; /* model/norm/variant/dtype/pass/rows/cols/threads/cache */
    int64_t run_a, run_b;
    double noise_rel, min_detectable_rel, threshold, alpha;
    const char *created_at; /* set by the store when written */
} store_calibration;

/* Writes rows for machine_id, created now, in one transaction. */
int store_put_calibrations(store *s, int64_t machine_id, const store_calibration *rows, size_t n,
                           dyt_err *e);

/* A group of writes as one transaction (`dytbench merge`: one input): the
 * writers of this header join it instead of committing each on its own;
 * when one fails the whole group is rolled back at once, later writes are
 * refused, and store_txn_commit reports the failure. */
int store_txn_begin(store *s, dyt_err *e);
int store_txn_commit(store *s, dyt_err *e);
void store_txn_rollback(store *s);

/* Reading the store --------------------------------------------------------
 * Every reader goes through these, none through SQL of its own. They give
 * plain structs shaped like what the writers above take, so that what is
 * read from one store can be written to another as it is (store_put_case
 * takes a store_case_rec's c, st and its counters; store_put_machine a
 * loaded machine_info). Strings point into memory the returned object owns
 * until its _free. A NULL text column reads as a NULL string, a NULL REAL
 * as NAN (the writers store NAN and the negative "unknown" values as NULL),
 * a NULL INTEGER as 0. DYT_USAGE with the store's path on failure. */

typedef struct store_text store_text; /* the strings of a loaded object */
/* A loaded list: n items at v, their strings in text; the list's _free
 * releases both. */
#define STORE_LIST(item)                                                                           \
    struct {                                                                                       \
        item *v;                                                                                   \
        size_t n;                                                                                  \
        store_text *text;                                                                          \
    }

/* A run: every column of runs, its machine's fingerprint, its case count. */
typedef struct {
    int64_t id, machine_id, pid;
    const char *uuid, *label, *status, *started_at, *ended_at, *command_line, *git_rev,
        *version, *compiler, *cflags, *build_type, *suites, *suite_hash, *device, *metric,
        *settings, *host, *boot_id, *note;
    const char *lockstep_token, *arm, *campaign; /* NULL: none */
    int shard_index, shard_count;                /* shard_count 0: not sharded */
    const char *plan_hash;                       /* NULL: not recorded (older run) */
    const char *machine_fingerprint;
    size_t n_cases;
    store_text *text;
} store_run;

/* DYT_USAGE "run N does not exist in PATH" when there is none. */
int store_load_run(store *s, int64_t run_id, store_run *out, dyt_err *e);
void store_run_free(store_run *r);

/* Which runs store_find_runs gives: every condition set must hold. */
typedef struct {
    int64_t id;           /* > 0: only the run with this id */
    const char *label;    /* NULL: any */
    const char *status;   /* NULL: any */
    const char *campaign; /* NULL: any */
    const char *uuid;     /* NULL: any */
    size_t newest;        /* > 0: only the newest this many */
} store_run_filter;

/* The runs' strings are the list's: free the list, not a run of it. */
typedef STORE_LIST(store_run) store_run_list;

/* The runs matching f (NULL: every run), oldest first; none is no error. */
int store_find_runs(store *s, const store_run_filter *f, store_run_list *out, dyt_err *e);
void store_run_list_free(store_run_list *l);

/* Resolves "latest", a numeric id, or a label (latest run with it) to an id;
 * DYT_USAGE with a clear message if none. */
int store_resolve_run(store *s, const char *spec, int64_t *run_id, dyt_err *e);

/* The machine record as store_put_machine took it, with its attributes
 * (machine_free releases what it allocates). */
int store_load_machine(store *s, int64_t machine_id, machine_info *out, dyt_err *e);

/* A stored case with its statistics. */
typedef struct {
    int64_t id, run_id;
    store_case c;   /* its columns, as store_put_case takes them */
    int has_stats;  /* it has a stats row */
    store_stats st; /* has_stats 0: counts 0, every value NAN */
} store_case_rec;

typedef STORE_LIST(store_case_rec) store_case_list;

/* The cases of a run in plan order (seq). */
int store_load_cases(store *s, int64_t run_id, store_case_list *out, dyt_err *e);
void store_case_list_free(store_case_list *l);

/* The samples of a case in the order taken (*out malloc'd, NULL when none):
 * all of them, or only those the statistics kept (not excluded). A block
 * outside 0..INT_MAX in the file reads as -1. */
enum { STORE_SAMPLES_KEPT = 0, STORE_SAMPLES_ALL = 1 };
int store_load_samples(store *s, int64_t case_id, int which, store_sample **out, size_t *n,
                       dyt_err *e);

/* Every counter of a run's cases, by case id, source and name; case_id[i]
 * is v[i]'s case. An unavailable one has available 0 and its reason. */
typedef struct {
    store_counter *v;
    int64_t *case_id;
    size_t n;
    store_text *text;
} store_counter_list;

int store_load_counters(store *s, int64_t run_id, store_counter_list *out, dyt_err *e);
void store_counter_list_free(store_counter_list *l);
/* The counters of one case: *n entries of l from the one returned (NULL
 * when none), ready for store_put_case. */
const store_counter *store_counters_of(const store_counter_list *l, int64_t case_id, size_t *n);

typedef STORE_LIST(store_ceiling) store_ceiling_list;

/* A run's ceilings by threads, level (l1, l2, llc, dram) and kind. */
int store_load_ceilings(store *s, int64_t run_id, store_ceiling_list *out, dyt_err *e);
void store_ceiling_list_free(store_ceiling_list *l);

typedef STORE_LIST(store_calibration) store_calibration_list;

/* The latest calibration of each case key of the machine with this
 * fingerprint, by case key. */
int store_load_calibrations(store *s, const char *fingerprint, store_calibration_list *out,
                            dyt_err *e);
void store_calibration_list_free(store_calibration_list *l);
/* The entry for case_key, or NULL. */
const store_calibration *store_calibration_find(const store_calibration_list *l,
                                                const char *case_key);

/* Campaigns ----------------------------------------------------------------
 * A campaign runs one plan as shards (run --shard I/N --campaign ID); every
 * shard stores the campaign's whole plan, each case with its shard, so that
 * whatever subset of shards reaches a store, the cases of the others are
 * known by name. */
typedef struct store_plan_case {
    int seq;         /* position in the unsharded plan (cases.seq) */
    int shard_index; /* 0-based */
    const char *suite, *model, *token_label, *norm, *variant, *dtype, *pass;
    int64_t rows, cols;
    int threads;
} store_plan_case;

typedef struct {
    const char *campaign, *plan_hash, *created_at;
    int shard_count;
    store_plan_case *v; /* its cases by seq */
    size_t n;
    store_text *text;
} store_campaign;

/* Stores the campaign with its cases (created_at: now) unless the store
 * has it; one it has with another plan hash or shard count is DYT_USAGE
 * naming both. */
int store_put_campaign(store *s, const store_campaign *c, dyt_err *e);
/* The campaign's plan; *found 0 (and an empty *out) when there is none. */
int store_load_campaign(store *s, const char *campaign, store_campaign *out, int *found,
                        dyt_err *e);
void store_campaign_free(store_campaign *c);
/* The names of every campaign in the store, sorted (a list of strings). */
typedef STORE_LIST(const char *) store_name_list;
int store_list_campaigns(store *s, store_name_list *out, dyt_err *e);
void store_name_list_free(store_name_list *l);

/* Copies between stores ----------------------------------------------------
 * What `dytbench merge` writes besides what the writers above take. */

/* Where a copied run came from (the provenance table). */
typedef struct {
    const char *source_file; /* the store it was copied from, absolute */
    int64_t source_run_id;   /* its id there */
    const char *merged_at, *dytbench_version;
} store_provenance;

/* Inserts a run as store_find_runs read it from another store, every
 * column kept (uuid, status, times, host, pid, ...), under machine_id of
 * this store. */
int store_put_run_as_read(store *s, const store_run *r, int64_t machine_id,
                          int64_t *run_id, dyt_err *e);
/* Brings an existing run's end (status, ended_at, note) to what r says. */
int store_put_run_end_as_read(store *s, int64_t run_id, const store_run *r,
                              dyt_err *e);
/* Appends provenance rows of a run, in order. */
int store_put_provenance(store *s, int64_t run_id, const store_provenance *p, size_t n,
                         dyt_err *e);
typedef STORE_LIST(store_provenance) store_provenance_list;
/* A run's provenance, oldest first (none: a run measured into this store). */
int store_load_provenance(store *s, int64_t run_id, store_provenance_list *out, dyt_err *e);
void store_provenance_list_free(store_provenance_list *l);

/* Opens a private copy of the store at path without writing to it: the
 * copy is taken through SQLite's backup from a read-only connection (a
 * consistent snapshot that includes a live writer's WAL), validated,
 * migrated when older, and deleted by store_close. Refuses, as store_open
 * does, a file that is not a dytbench store, is corrupt or is newer. tmpdir:
 * where the copy goes (NULL: $TMPDIR, else /tmp). */
int store_open_snapshot(const char *path, const char *tmpdir, store **out, dyt_err *e);

/* What store_merge did with one input. */
typedef struct {
    size_t runs;          /* runs of the input */
    size_t runs_new;      /* copied (out did not have them) */
    size_t runs_updated;  /* out had them: took cases they lacked, or their end */
    size_t cases;         /* cases copied */
    size_t campaigns_new; /* campaign plans copied */
} store_merge_stats;

/* Copies into out every run of in that out lacks, matched by uuid, with its
 * machine (deduplicated by fingerprint), cases, samples, statistics,
 * counters and ceilings, and a provenance row (source_file, the run's id in
 * in, now, this version) after the rows in carried; a run out has already
 * takes the cases it lacks (by seq), and the input's end when the input's
 * copy is complete and its own is not. Campaign plans go along
 * (deduplicated; another plan under the same campaign refuses the input).
 * All of it in one transaction: on failure out is left as it was. Merging
 * the same input twice adds nothing. */
int store_merge(store *out, store *in, const char *source_file, store_merge_stats *st,
                dyt_err *e);
