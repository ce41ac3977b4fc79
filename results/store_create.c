/* Creating a store and recovering an interrupted one. A new store is built
 * under a temporary name in the same folder -- schema, meta rows, schema
 * version, WAL mode -- closed, and only then linked to its name, which
 * link(2) does atomically and only if the name is still free. So a store
 * is never seen half-made: writers started together on a path that does
 * not exist yet each build one, one link wins and the others open it, and
 * a writer killed during its first commit leaves a temporary file, not a
 * store that every later open refuses. Temporary files of creators that
 * are gone are removed by the next creation of the store, or the next
 * open that may write it (a kill between the link and the unlink leaves
 * the temporary name as a second link to the store).
 *
 * A file that already holds an interrupted transaction (a hot rollback
 * journal beside it, as an older dytbench or a kill during the in-place
 * set-up of an empty file leaves) is rolled back the way SQLite does it on
 * a read-write open -- but only after a copy of the pair, rolled back
 * privately, has shown that it is a dytbench store: a foreign file keeps
 * its bytes and its journal. */
#include "dyt_config.h"
#include "store_int.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int store_initialise(sqlite3 *db, const char *path, dyt_err *e)
{
    int rc = store_begin(db, path, e);
    if (rc != DYT_OK)
        return rc;
    int64_t n = 0;
    if (store_query_int(db, "SELECT count(*) FROM sqlite_schema", &n) != SQLITE_OK) {
        rc = store_sqlite_err(e, db, "%s: %s", path, sqlite3_errmsg(db));
        store_rollback(db);
        return rc;
    }
    if (n > 0) { /* another process initialised it meanwhile */
        store_rollback(db);
        return DYT_OK;
    }
    char *err = NULL;
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
    if (sqlite3_exec(db, store_schema_sql, NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_exec(db,
                     "INSERT INTO meta(key, value) VALUES ('application', 'dytbench');"
                     "INSERT INTO meta(key, value) VALUES ('created_by', 'dytbench " DYT_VERSION
                     "');",
                     NULL, NULL, &err) != SQLITE_OK ||
        sqlite3_exec(db, pragma, NULL, NULL, &err) != SQLITE_OK) {
        rc = store_sqlite_err(e, db, "%s: creating the schema: %s", path,
                              err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        store_rollback(db);
        return rc;
    }
    return store_commit(db, path, e);
}

int store_set_wal(sqlite3 *db, const char *path, dyt_err *e)
{
    /* Changing the journal mode needs the file to itself and does not wait
     * in the busy handler: another connection opening at the same moment
     * makes it fail with SQLITE_BUSY, so retry as store_begin does. */
    int waited = 0;
    for (;;) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                const char *mode = (const char *)sqlite3_column_text(st, 0);
                int wal = mode && !strcmp(mode, "wal");
                sqlite3_finalize(st);
                if (!wal)
                    return dyt_errf(e, DYT_USAGE,
                                    "%s: cannot use WAL mode here (journal mode stays %s): is it "
                                    "on a network filesystem?",
                                    path, mode ? mode : "?");
                return DYT_OK;
            }
            sqlite3_finalize(st);
        }
        if ((rc & 0xff) != SQLITE_BUSY || waited >= STORE_BEGIN_RETRY_MS)
            return store_sqlite_err(e, db, "%s: switching to WAL: %s", path, sqlite3_errmsg(db));
        store_sleep_ms(20);
        waited += 20;
    }
}

/* The temporary names of one store's creators: ".NAME.new-PID-N" in the
 * store's folder (dir, with its trailing '/', or "" for the current one). */
static void split_path(const char *path, char *dir, size_t n, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    snprintf(dir, n, "%.*s", slash ? (int)(slash - path + 1) : 0, path);
}

static void unlink_with_side_files(const char *p)
{
    static const char *const sides[] = {"", "-journal", "-wal", "-shm"};
    char buf[4500];
    for (size_t i = 0; i < DYT_ARRAY_LEN(sides); i++) {
        snprintf(buf, sizeof buf, "%s%s", p, sides[i]);
        unlink(buf);
    }
}

void store_remove_stale_temporaries(const char *path)
{
    char dir[4096], prefix[512];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    snprintf(prefix, sizeof prefix, ".%s.new-", base);
    DIR *d = opendir(dir[0] ? dir : ".");
    if (!d)
        return;
    size_t plen = strlen(prefix);
    for (struct dirent *de; (de = readdir(d));) {
        long pid = 0;
        int used = 0;
        if (strncmp(de->d_name, prefix, plen) != 0 ||
            sscanf(de->d_name + plen, "%ld-%*u%n", &pid, &used) != 1 || de->d_name[plen + used])
            continue;
        if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) {
            char full[4400];
            snprintf(full, sizeof full, "%s%s", dir, de->d_name);
            unlink_with_side_files(full);
        }
    }
    closedir(d);
}

/* Publishes tmp as path unless path exists: link(2), or on a filesystem
 * without hard links rename without replacing. 1 published, 0 the name
 * was taken, -1 error (errno). */
static int publish(const char *tmp, const char *path)
{
    if (link(tmp, path) == 0)
        return 1;
    if (errno == EEXIST)
        return 0;
    if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != ENOSYS)
        return -1;
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
        return 1;
    return errno == EEXIST ? 0 : -1;
}

static void sync_dir(const char *path)
{
    char dir[4096];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    int fd = open(dir[0] ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int store_create(const char *path, dyt_err *e)
{
    static unsigned serial;
    char dir[4096], tmp[4200];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    store_remove_stale_temporaries(path);
    snprintf(tmp, sizeof tmp, "%s.%s.new-%ld-%u", dir, base, (long)getpid(), serial++);
    unlink_with_side_files(tmp);
    sqlite3 *db = NULL;
    int rc = DYT_OK;
    if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        rc = store_sqlite_err(e, db, "%s: cannot create: %s", path,
                              db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close_v2(db);
        unlink_with_side_files(tmp);
        return rc;
    }
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    /* Nobody else knows the file: WAL from its first page, so no later
     * open has to switch it (two switching at once get SQLITE_BUSY). */
    if ((rc = store_set_wal(db, path, e)) == DYT_OK)
        rc = store_initialise(db, path, e);
    /* Closing the last connection checkpoints the WAL into the file and
     * deletes it: what is linked is one self-contained file. */
    if (sqlite3_close(db) != SQLITE_OK && rc == DYT_OK)
        rc = dyt_errf(e, DYT_USAGE, "%s: closing the new store failed", path);
    char side[4300];
    snprintf(side, sizeof side, "%s-wal", tmp);
    if (rc == DYT_OK && access(side, F_OK) == 0)
        rc = dyt_errf(e, DYT_USAGE, "%s: the new store's WAL was not checkpointed", path);
    if (rc == DYT_OK) {
        int published = publish(tmp, path);
        if (published < 0)
            rc = dyt_errf(e, DYT_USAGE, "%s: cannot create: %s", path, strerror(errno));
        else if (published > 0)
            sync_dir(path);
    }
    unlink_with_side_files(tmp);
    return rc;
}

/* Copies file src to dst (created); 0 or -1. */
static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[65536];
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = read(in, buf, sizeof buf)) != 0) {
        if (got < 0 || write(out, buf, (size_t)got) != got)
            rc = -1;
    }
    close(in);
    if (close(out) != 0)
        rc = -1;
    return rc;
}

/* Whether the database at path, opened read-write (its hot journal rolled
 * back), is a dytbench store: its meta row says so. */
static int rolled_back_is_ours(const char *path)
{
    sqlite3 *db = NULL;
    int ours = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
               store_is_ours(db);
    sqlite3_close_v2(db);
    return ours;
}

/* The size of a file, -1 if absent. */
static long long file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (long long)sb.st_size : -1;
}

int store_recover_journal(const char *path, int *empty, dyt_err *e)
{
    *empty = 0;
    char journal[4200];
    snprintf(journal, sizeof journal, "%s-journal", path);
    if (access(path, W_OK) != 0)
        return dyt_errf(e, DYT_USAGE,
                        "%s: holds an interrupted transaction (%s) but is not writable here, so "
                        "it cannot be rolled back; open it once where it is writable",
                        path, journal);
    /* Roll back a private copy first: if it is not ours, hands off. */
    const char *tmp = getenv("TMPDIR");
    char made[4096];
    snprintf(made, sizeof made, "%s/dytbench-journal-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(made))
        return dyt_errf(e, DYT_USAGE, "%s: cannot make a folder to check its journal in: %s",
                        path, strerror(errno));
    char copy[4200], copy_journal[4300];
    snprintf(copy, sizeof copy, "%s/store.db", made);
    snprintf(copy_journal, sizeof copy_journal, "%s-journal", copy);
    int copied = copy_file(path, copy) == 0 && copy_file(journal, copy_journal) == 0;
    int copy_errno = errno;
    /* The first transaction of a file that was empty rolls back to an
     * empty file: nothing to protect there either. */
    int ours = copied && (rolled_back_is_ours(copy) || file_size(copy) == 0);
    unlink_with_side_files(copy);
    rmdir(made);
    if (!copied)
        return dyt_errf(e, DYT_USAGE, "%s: cannot copy it to check its journal: %s", path,
                        strerror(copy_errno));
    if (!ours)
        return dyt_errf(e, DYT_USAGE,
                        "%s: holds an interrupted transaction (%s) and is not a dytbench "
                        "database once rolled back; refusing to touch it",
                        path, journal);
    sqlite3 *db = NULL;
    int rc = DYT_OK;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) != SQLITE_OK)
        rc = store_sqlite_err(e, db, "%s: rolling back the interrupted transaction: %s", path,
                              db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close_v2(db);
    *empty = rc == DYT_OK && file_size(path) == 0;
    return rc;
}
