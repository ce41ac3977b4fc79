/* Internals of the results store shared by its files: store.c (open,
 * validate, stale runs), txn.c (transactions), store_write.c (the INSERTs),
 * the read API (store_read.c, store_read_case.c, their row reader rows.c)
 * and migrate.c (schema versions). Tests include it to build databases of
 * older versions. */
#pragma once
#include "store.h"
#include <sqlite3.h>

struct store {
    sqlite3 *db;
    char *path;
    int readonly; /* opened read-only: the file is not writable by us */
    /* store_txn_begin's group of writes: while depth > 0 the writers join
     * the open transaction instead of committing their own; after a
     * failure in it (failed) it has been rolled back and takes no more. */
    int txn_depth, txn_failed;
    char *unlink_at_close; /* a private copy (store_open_snapshot): deleted by store_close */
};

/* results/schema.sql as compiled in (generated schema_sql.c). */
extern const char store_schema_sql[];
/* Schema version 1 (no machine_attrs, no calibrations), kept verbatim so a
 * v1 database can be migrated and the migration tested. */
extern const char store_schema_v1_sql[];

/* How long one statement waits for another writer's lock, and how long
 * store_begin keeps retrying after that. A case's transaction is short (a
 * few thousand rows) so these are generous. */
#define STORE_BUSY_TIMEOUT_MS 10000
#define STORE_BEGIN_RETRY_MS 60000

/* txn.c: BEGIN IMMEDIATE, retried on SQLITE_BUSY beyond the busy timeout so that
 * two writers of one DB both get through. */
int store_begin(sqlite3 *db, const char *path, dyt_err *e);
int store_commit(sqlite3 *db, const char *path, dyt_err *e);
void store_rollback(sqlite3 *db);
void store_sleep_ms(int ms);
/* The exit code of db's last error: DYT_RESOURCE for resource and I/O
 * failures (out of memory, disk full, I/O error, read-only or unopenable
 * file, a lock never released), DYT_USAGE for the rest (a corrupt or
 * foreign file, a constraint). NULL db: DYT_RESOURCE. */
int store_sqlite_code(sqlite3 *db);
/* dyt_errf with store_sqlite_code(db) as the code. */
int store_sqlite_err(dyt_err *e, sqlite3 *db, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* store.c: a one-row integer query without parameters (PRAGMAs), an
 * SQLite code; whether the database has dytbench's meta row. */
int store_query_int(sqlite3 *db, const char *sql, int64_t *out);
int store_is_ours(sqlite3 *db);

/* store_create.c: a new store built under a temporary name and linked to
 * path only when complete (DYT_OK also when another process created path
 * first); the schema set up in an empty database (nothing done if another
 * connection did it first); the switch to WAL mode, retried while another
 * connection holds the file. */
int store_create(const char *path, dyt_err *e);
/* Removes the temporary files of creators of the store at path that no
 * longer run on this host (a kill during creation leaves them). */
void store_remove_stale_temporaries(const char *path);
int store_initialise(sqlite3 *db, const char *path, dyt_err *e);
int store_set_wal(sqlite3 *db, const char *path, dyt_err *e);
/* Rolls back the interrupted transaction of path (a hot journal beside
 * it), after checking on a private copy that it is a dytbench store (or
 * rolls back to an empty file); *empty: the file is empty afterwards. */
int store_recover_journal(const char *path, int *empty, dyt_err *e);

/* A writer's own transaction, or its share of a store_txn_begin group:
 * begin (refused on a read-only store or a failed group), commit (a no-op
 * inside a group) and abort (rolls back; inside a group the whole group,
 * which then refuses further writes). */
int store_write_begin(store *s, dyt_err *e);
int store_write_commit(store *s, dyt_err *e);
void store_write_abort(store *s);

/* A writer's start: store_write_begin, then its statement (sql NULL:
 * none) prepared into *st. On failure nothing is left open. */
int store_write_prepare(store *s, const char *sql, sqlite3_stmt **st, const char *what,
                        dyt_err *e);
/* A writer's failure: the message (what, SQLite's reason), st finalised,
 * store_write_abort. Returns DYT_USAGE. */
int store_write_fail(store *s, sqlite3_stmt *st, const char *what, dyt_err *e);

/* The writers' binding helpers: a NULL string binds SQL NULL. Each returns
 * an SQLite code so that a chain of binds can stop at the first failure
 * (STORE_CHAIN). */
static inline int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* NULL for an absent or empty string: "" is not a session, arm or
 * campaign name. */
static inline const char *nonempty(const char *v)
{
    return v && v[0] ? v : NULL;
}

static inline int bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
    /* SQLite integers are signed 64-bit; sizes never come near 2^63. */
    return sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

/* Binds a double, or NULL when negative (the "unknown" convention of
 * store.h for max_err and roofline_pct). */
static inline int bind_opt_double(sqlite3_stmt *st, int i, double v)
{
    return v < 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_double(st, i, v);
}

/* Steps a bound INSERT/UPDATE to completion. */
static inline int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* In a chain of SQLite calls: src = (x) unless an earlier one failed. */
#define STORE_CHAIN(src, x)                                                                        \
    do {                                                                                           \
        if ((src) == SQLITE_OK)                                                                    \
            (src) = (x);                                                                           \
    } while (0)

/* Ends a write begun by store_write_prepare whose statement st is bound
 * (src: the binds' SQLite code): steps it and commits, or fails with what
 * went wrong. */
int store_write_finish(store *s, sqlite3_stmt *st, int src, const char *what, dyt_err *e);

/* The runs row both writers insert -- a run begun here (store_begin_run)
 * and one copied as it was read elsewhere (store_put_run_as_read) -- and
 * its binding (r's columns, its machine machine_id); an SQLite code. */
extern const char store_insert_run_sql[];
int store_bind_run(sqlite3_stmt *st, const store_run *r, int64_t machine_id);

/* Binds row i of rows (an array, or a struct holding one) into st from ?2
 * on, ?1 being the parent's id; an SQLite code. */
typedef int (*store_bind_row_fn)(sqlite3_stmt *st, const void *rows, size_t i);
/* Runs the INSERT sql once for each of n rows, ?1 bound to parent and the
 * rest by bind; an SQLite code. */
int store_insert_rows(sqlite3 *db, const char *sql, int64_t parent, const void *rows, size_t n,
                      store_bind_row_fn bind);

/* The file at path before SQLite opens it: *kind 1 absent, 2 empty, 0 an
 * SQLite file (*wal: in WAL mode); DYT_USAGE with a message for anything
 * else (not a regular file, not SQLite). store.c. */
int store_check_header(const char *path, int *kind, int *wal, dyt_err *e);
/* The URI of a read-only connection to path that leaves no side files
 * (store.c; malloc'd, NULL when out of memory). */
char *store_readonly_uri(const char *path, int wal);

/* Brings a database at version `from` (1 <= from < STORE_SCHEMA_VERSION)
 * to STORE_SCHEMA_VERSION, each step in its own transaction. */
int store_migrate(sqlite3 *db, const char *path, dyt_err *e);
/* The same, stopping at version `to` (<= STORE_SCHEMA_VERSION): the tests
 * build the databases older builds wrote from store_schema_v1_sql. */
int store_migrate_to(sqlite3 *db, const char *path, int to, dyt_err *e);

/* rows.c: the read API's row reader. The row being read: its statement,
 * where its strings go, and whether a copy failed; columns are read in
 * SELECT order (each store_col_* takes the next). A NULL text is NULL, a
 * NULL REAL NAN, a NULL INTEGER 0. */
typedef struct {
    sqlite3_stmt *st;
    store_text **text;
    int next;
    int oom;
} store_row;

const char *store_col_text(store_row *r);
double store_col_real(store_row *r);
int64_t store_col_int(store_row *r);
typedef void (*store_fill_fn)(store_row *r, void *item);
int store_prepare(store *s, const char *sql, const char *what, sqlite3_stmt **st, dyt_err *e);
/* Steps the bound statement st to its end, one item of `size` bytes per row
 * filled by fill, into *v (grown, *n items), strings into *text. Finalises
 * st; on failure frees what it gathered. */
int store_collect(store *s, sqlite3_stmt *st, const char *what, size_t size, store_fill_fn fill,
                  void **v, size_t *n, store_text **text, dyt_err *e);
/* store_collect over the rows of sql, its ?1 bound to id. */
int store_collect_by_id(store *s, const char *sql, int64_t id, const char *what, size_t size,
                        store_fill_fn fill, void **v, size_t *n, store_text **text, dyt_err *e);
void store_text_free(store_text *t);
/* Moves the strings of more into *t (one free releases both). */
void store_text_append(store_text **t, store_text *more);
/* Every loaded list owns its items and their strings. */
void store_list_free(void *v, store_text *text);

/* campaign.c: stores a campaign's plan inside the caller's transaction
 * (store_put_campaign without its own begin and commit). */
int store_insert_campaign(store *s, const store_campaign *c, dyt_err *e);

/* copy.c: deletes a private copy and whatever SQLite left beside it. */
void store_remove_copy(const char *path);

/* uuid.c: a fresh random UUID ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx",
 * lower case) into out; -1 when the system has no random source. */
#define STORE_UUID_LEN 36
int store_uuid(char out[STORE_UUID_LEN + 1]);

/* This host's name and boot id (empty if unknown), as stored in runs. */
void store_hostname(char *buf, size_t n);
void store_boot_id(char *buf, size_t n);
