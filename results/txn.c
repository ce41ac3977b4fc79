/* The results store's transactions: every write of results/ (runs, cases,
 * calibrations, schema creation and migration) runs between store_begin
 * and store_commit, so a writer that finds the file locked by another run
 * waits for it instead of failing. A group of writes (store_txn_begin,
 * `dytbench merge` copying one input) is one transaction: the writers
 * join it, and the first failure rolls the whole group back. And the exit
 * code of an SQLite error. */
#include "store_int.h"
#include <stdarg.h>
#include <time.h>

void store_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int store_sqlite_code(sqlite3 *db)
{
    if (!db)
        return DYT_RESOURCE; /* sqlite3_open could not even allocate */
    switch (sqlite3_errcode(db) & 0xff) {
    case SQLITE_NOMEM:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PERM:
        return DYT_RESOURCE;
    default: /* corrupt, not a database, a constraint: the input */
        return DYT_USAGE;
    }
}

int store_sqlite_err(dyt_err *e, sqlite3 *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int code = dyt_verrf(e, store_sqlite_code(db), fmt, ap);
    va_end(ap);
    return code;
}

int store_begin(sqlite3 *db, const char *path, dyt_err *e)
{
    /* The busy handler already waits STORE_BUSY_TIMEOUT_MS; a writer that
     * holds the lock longer (a slow disk, a huge case) still must not make
     * the other run fail, so keep trying for a while. */
    int waited = 0, rc;
    while ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) == SQLITE_BUSY &&
           waited < STORE_BEGIN_RETRY_MS) {
        store_sleep_ms(50);
        waited += 50;
    }
    if (rc != SQLITE_OK)
        return store_sqlite_err(e, db, "%s: cannot start a transaction: %s", path,
                                sqlite3_errmsg(db));
    return DYT_OK;
}

int store_commit(sqlite3 *db, const char *path, dyt_err *e)
{
    int rc, waited = 0;
    while ((rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) == SQLITE_BUSY &&
           waited < STORE_BEGIN_RETRY_MS) {
        store_sleep_ms(50);
        waited += 50;
    }
    if (rc != SQLITE_OK) {
        int r = store_sqlite_err(e, db, "%s: commit failed: %s", path, sqlite3_errmsg(db));
        store_rollback(db);
        return r;
    }
    return DYT_OK;
}

void store_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int store_write_begin(store *s, dyt_err *e)
{
    if (s->readonly)
        return dyt_errf(e, DYT_USAGE, "%s: opened read-only (no write permission)", s->path);
    if (s->txn_depth > 0)
        return s->txn_failed ? dyt_errf(e, DYT_USAGE,
                                        "%s: an earlier write of this transaction failed; it "
                                        "was rolled back",
                                        s->path)
                             : DYT_OK;
    return store_begin(s->db, s->path, e);
}

int store_write_commit(store *s, dyt_err *e)
{
    return s->txn_depth > 0 ? DYT_OK : store_commit(s->db, s->path, e);
}

void store_write_abort(store *s)
{
    if (s->txn_depth > 0)
        s->txn_failed = 1;
    store_rollback(s->db);
}

int store_write_fail(store *s, sqlite3_stmt *st, const char *what, dyt_err *e)
{
    int rc = store_sqlite_err(e, s->db, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    store_write_abort(s);
    return rc;
}

int store_write_prepare(store *s, const char *sql, sqlite3_stmt **st, const char *what, dyt_err *e)
{
    *st = NULL;
    int rc = store_write_begin(s, e);
    if (rc != DYT_OK || !sql)
        return rc;
    return sqlite3_prepare_v2(s->db, sql, -1, st, NULL) == SQLITE_OK
               ? DYT_OK
               : store_write_fail(s, *st, what, e);
}

int store_write_finish(store *s, sqlite3_stmt *st, int src, const char *what, dyt_err *e)
{
    if (src == SQLITE_OK)
        src = step_done(st);
    if (src != SQLITE_OK)
        return store_write_fail(s, st, what, e);
    sqlite3_finalize(st);
    return store_write_commit(s, e);
}

int store_insert_rows(sqlite3 *db, const char *sql, int64_t parent, const void *rows, size_t n,
                      store_bind_row_fn bind)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    for (size_t i = 0; src == SQLITE_OK && i < n; i++) {
        sqlite3_reset(st);
        src = sqlite3_bind_int64(st, 1, parent);
        if (src == SQLITE_OK)
            src = bind(st, rows, i);
        if (src == SQLITE_OK)
            src = step_done(st);
    }
    sqlite3_finalize(st);
    return src;
}

int store_txn_begin(store *s, dyt_err *e)
{
    if (s->txn_depth > 0)
        return dyt_errf(e, DYT_USAGE, "%s: a transaction is already open", s->path);
    int rc = store_write_begin(s, e);
    if (rc == DYT_OK) {
        s->txn_depth = 1;
        s->txn_failed = 0;
    }
    return rc;
}

int store_txn_commit(store *s, dyt_err *e)
{
    int failed = s->txn_failed;
    s->txn_depth = 0;
    s->txn_failed = 0;
    if (failed)
        return dyt_errf(e, DYT_USAGE, "%s: the transaction failed and was rolled back", s->path);
    return store_commit(s->db, s->path, e);
}

void store_txn_rollback(store *s)
{
    s->txn_depth = 0;
    s->txn_failed = 0;
    store_rollback(s->db);
}
