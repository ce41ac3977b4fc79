/* The results store's transactions: every write of results/ (runs, cases,
 * calibrations, schema creation and migration) runs between store_begin
 * and store_commit, so a writer that finds the file locked by another run
 * waits for it instead of failing. */
#include "store_int.h"
#include <time.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int store_begin(sqlite3 *db, const char *path, dyt_err *e)
{
    /* The busy handler already waits STORE_BUSY_TIMEOUT_MS; a writer that
     * holds the lock longer (a slow disk, a huge case) still must not make
     * the other run fail, so keep trying for a while. */
    int waited = 0, rc;
    while ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) == SQLITE_BUSY &&
           waited < STORE_BEGIN_RETRY_MS) {
        sleep_ms(50);
        waited += 50;
    }
    if (rc != SQLITE_OK)
        return dyt_errf(e, DYT_USAGE, "%s: cannot start a transaction: %s", path,
                        sqlite3_errmsg(db));
    return DYT_OK;
}

int store_commit(sqlite3 *db, const char *path, dyt_err *e)
{
    int rc, waited = 0;
    while ((rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) == SQLITE_BUSY &&
           waited < STORE_BEGIN_RETRY_MS) {
        sleep_ms(50);
        waited += 50;
    }
    if (rc != SQLITE_OK) {
        int r = dyt_errf(e, DYT_USAGE, "%s: commit failed: %s", path, sqlite3_errmsg(db));
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
