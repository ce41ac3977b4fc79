/* The results store's transactions: every write of results/ (runs, cases,
 * calibrations, schema creation and migration) runs between store_begin
 * and store_commit, so a writer that finds the file locked by another run
 * waits for it instead of failing. And the exit code of an SQLite error. */
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
