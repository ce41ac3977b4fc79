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
/* Every loaded list owns its items and their strings. */
void store_list_free(void *v, store_text *text);

/* uuid.c: a fresh random UUID ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx",
 * lower case) into out; -1 when the system has no random source. */
#define STORE_UUID_LEN 36
int store_uuid(char out[STORE_UUID_LEN + 1]);

/* This host's name and boot id (empty if unknown), as stored in runs. */
void store_hostname(char *buf, size_t n);
void store_boot_id(char *buf, size_t n);
