/* The results store: opening a database safely. store_open() creates a new
 * DB from the compiled-in schema (atomically, store_create.c), or validates
 * an existing file before touching it (SQLite header, quick_check,
 * dytbench's meta row, a schema version this build knows), then migrates
 * it forward, switches it to WAL and marks runs whose writer died as
 * aborted. Nothing is written to a file until it has passed every check,
 * so a foreign or corrupt file is left byte-for-byte as it was. A store we
 * cannot write (a read-only file, folder or mount) is opened read-only and
 * leaves no -wal or -shm file behind. Transactions live in txn.c, the
 * INSERTs in store_write.c, the schema versions in migrate.c. */
#include "dyt_config.h"
#include "store_int.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void store_hostname(char *buf, size_t n)
{
    if (gethostname(buf, n) != 0)
        snprintf(buf, n, "unknown");
    buf[n - 1] = 0;
}

void store_boot_id(char *buf, size_t n)
{
    buf[0] = 0;
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (!f)
        return;
    if (fgets(buf, (int)n, f))
        buf[strcspn(buf, "\n")] = 0;
    fclose(f);
}

int store_query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

int store_is_ours(sqlite3 *db)
{
    sqlite3_stmt *st;
    int ours = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'application'", -1, &st,
                           NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *v = (const char *)sqlite3_column_text(st, 0);
            ours = v && !strcmp(v, "dytbench");
        }
        sqlite3_finalize(st);
    }
    return ours;
}

/* The first 16 bytes of every SQLite 3 database file. */
static const char sqlite_magic[16] = "SQLite format 3";

/* Whether a rollback journal with content lies beside path: the file is
 * in the middle of a transaction (its header may not even be written yet,
 * if the transaction created it). */
static int has_journal(const char *path)
{
    char j[4200];
    struct stat sb;
    snprintf(j, sizeof j, "%s-journal", path);
    return stat(j, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
}

/* Classifies the file at path without opening it through SQLite:
 * 1 absent, 2 empty, 0 has the SQLite header (or is being written under a
 * journal); DYT_USAGE (<0 never) with a message otherwise. */
int store_check_header(const char *path, int *kind, int *wal, dyt_err *e)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT) {
            *kind = 1;
            return DYT_OK;
        }
        return dyt_errf(e, dyt_errno_code(errno), "%s: %s", path, strerror(errno));
    }
    if (!S_ISREG(sb.st_mode))
        return dyt_errf(e, DYT_USAGE, "%s: not a regular file", path);
    if (sb.st_size == 0) {
        *kind = 2;
        return DYT_OK;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dyt_errf(e, dyt_errno_code(errno), "%s: %s", path, strerror(errno));
    unsigned char head[20];
    ssize_t got = read(fd, head, sizeof head);
    close(fd);
    *wal = got == (ssize_t)sizeof head && head[18] == 2; /* write version 2: WAL */
    if ((got < 16 || memcmp(head, sqlite_magic, 16) != 0) && !has_journal(path))
        return dyt_errf(e, DYT_USAGE,
                        "%s: not a dytbench database (not an SQLite file); refusing to touch it",
                        path);
    *kind = 0;
    return DYT_OK;
}

/* Checks, read-only, that an existing SQLite file is an intact dytbench DB
 * of a version this build can use; returns its version in *version.
 * STORE_HOT_JOURNAL when an interrupted transaction has to be rolled back
 * first (SQLite will not do that on a read-only connection). */
enum { STORE_HOT_JOURNAL = -1 };

static int validate(sqlite3 *db, const char *path, int64_t *version, dyt_err *e)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const char *r = (const char *)sqlite3_column_text(st, 0);
            if (!r || strcmp(r, "ok") != 0) {
                int x = dyt_errf(e, DYT_USAGE,
                                 "%s: database is corrupt (quick_check: %s); refusing to use it",
                                 path, r ? r : "?");
                sqlite3_finalize(st);
                return x;
            }
            rc = SQLITE_OK;
        }
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_OK && sqlite3_extended_errcode(db) == SQLITE_READONLY_ROLLBACK)
        return STORE_HOT_JOURNAL;
    if (rc != SQLITE_OK)
        return store_sqlite_err(e, db,
                                "%s: unreadable or corrupt database (%s); refusing to use it",
                                path, sqlite3_errmsg(db));

    if (!store_is_ours(db))
        return dyt_errf(e, DYT_USAGE,
                        "%s: an SQLite database but not a dytbench one (no meta row "
                        "'application' = 'dytbench'); refusing to touch it",
                        path);
    if (store_query_int(db, "PRAGMA user_version", version) != SQLITE_OK)
        return store_sqlite_err(e, db, "%s: %s", path, sqlite3_errmsg(db));
    if (*version > STORE_SCHEMA_VERSION)
        return dyt_errf(e, DYT_USAGE,
                        "%s: written by a newer dytbench (schema version %lld, this build "
                        "knows up to %d); refusing to touch it",
                        path, (long long)*version, STORE_SCHEMA_VERSION);
    if (*version < 1)
        return dyt_errf(e, DYT_USAGE, "%s: dytbench database without a schema version", path);
    return DYT_OK;
}

/* A run still 'running' whose writer was on this host and is gone (another
 * boot, or its pid no longer exists) was killed: mark it aborted so that
 * nobody mistakes it for a run in progress. A run from another host cannot
 * be checked and is left alone. */
static int abort_stale_runs(sqlite3 *db, const char *path, dyt_err *e)
{
    char host[256], boot[64], now[32];
    store_hostname(host, sizeof host);
    store_boot_id(boot, sizeof boot);
    dyt_utc_iso(now, sizeof now);
    int rc = store_begin(db, path, e);
    if (rc != DYT_OK)
        return rc;
    sqlite3_stmt *sel = NULL, *upd = NULL;
    int src = sqlite3_prepare_v2(db,
                                 "SELECT id, pid, boot_id FROM runs"
                                 " WHERE status = 'running' AND host = ?1",
                                 -1, &sel, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_prepare_v2(db,
                                 "UPDATE runs SET status = 'aborted', ended_at = ?2,"
                                 " note = ?3 WHERE id = ?1 AND status = 'running'",
                                 -1, &upd, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_bind_text(sel, 1, host, -1, SQLITE_TRANSIENT);
    while (src == SQLITE_OK && (src = sqlite3_step(sel)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(sel, 0);
        pid_t pid = (pid_t)sqlite3_column_int64(sel, 1);
        const char *b = (const char *)sqlite3_column_text(sel, 2);
        char note[256];
        if (boot[0] && b && b[0] && strcmp(b, boot) != 0)
            snprintf(note, sizeof note,
                     "aborted: the writer (pid %d) ran before the last reboot; marked at open",
                     (int)pid);
        else if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH)
            snprintf(note, sizeof note,
                     "aborted: the writer (pid %d) ended without closing the run; marked at open",
                     (int)pid);
        else {
            src = SQLITE_OK;
            continue;
        }
        sqlite3_reset(upd);
        src = sqlite3_bind_int64(upd, 1, id);
        if (src == SQLITE_OK)
            src = sqlite3_bind_text(upd, 2, now, -1, SQLITE_TRANSIENT);
        if (src == SQLITE_OK)
            src = sqlite3_bind_text(upd, 3, note, -1, SQLITE_TRANSIENT);
        if (src == SQLITE_OK && (src = sqlite3_step(upd)) == SQLITE_DONE)
            src = SQLITE_OK;
    }
    if (src == SQLITE_DONE)
        src = SQLITE_OK;
    if (src != SQLITE_OK)
        rc = store_sqlite_err(e, db, "%s: marking stale runs: %s", path, sqlite3_errmsg(db));
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    if (rc != DYT_OK) {
        store_rollback(db);
        return rc;
    }
    return store_commit(db, path, e);
}

/* Whether we may write the file and create its side files (-wal, -shm)
 * in its folder. A read-only mount says no to both. */
static int writable(const char *path)
{
    if (access(path, W_OK) != 0)
        return 0;
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path + 1) : 1, slash ? path : ".");
    return access(dir, W_OK) == 0;
}

/* The URI of a read-only connection. A WAL-mode file whose -wal is absent
 * has no open connection and all its content in the main file; a
 * read-only connection would still need a -shm beside it (created, and
 * left behind, where the folder is writable; impossible where it is not),
 * so such a file is read as immutable: no locks, no side files. Otherwise
 * a plain read-only open, which locks as usual and sees a live writer's
 * WAL. */
char *store_readonly_uri(const char *path, int wal)
{
    char side[4200];
    snprintf(side, sizeof side, "%s-wal", path);
    int immutable = wal && access(side, F_OK) != 0;
    size_t n = strlen(path);
    char *u = malloc(3 * n + 32);
    if (!u)
        return NULL;
    char *p = u + sprintf(u, "file:");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        /* "//" at the start would read as an authority: escape the second. */
        int esc = c == '%' || c == '?' || c == '#' || c < 32 ||
                  (i == 1 && c == '/' && path[0] == '/');
        p += esc ? sprintf(p, "%%%02X", c) : sprintf(p, "%c", c);
    }
    sprintf(p, "?mode=ro%s", immutable ? "&immutable=1" : "");
    return u;
}

static int open_readonly(const char *path, int wal, sqlite3 **db, dyt_err *e)
{
    *db = NULL;
    char *uri = store_readonly_uri(path, wal);
    if (!uri)
        return dyt_errf(e, DYT_RESOURCE, "%s: out of memory", path);
    int rc = sqlite3_open_v2(uri, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    free(uri);
    if (rc != SQLITE_OK) {
        rc = store_sqlite_err(e, *db, "%s: cannot open: %s", path,
                              *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_close_v2(*db);
        *db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(*db, STORE_BUSY_TIMEOUT_MS);
    return DYT_OK;
}

/* Validates an existing SQLite file through a read-only connection: a
 * read-write one could change a foreign file (a checkpoint of its WAL at
 * close, a hot journal rolled back) before we knew it was not ours. An
 * interrupted transaction is rolled back once the file is known to be
 * ours; *kind becomes 2 if that leaves it empty. */
static int validate_file(const char *path, int *kind, int *wal, int64_t *version, dyt_err *e)
{
    for (int attempt = 0;; attempt++) {
        sqlite3 *ro;
        int rc = open_readonly(path, *wal, &ro, e);
        if (rc == DYT_OK)
            rc = validate(ro, path, version, e);
        sqlite3_close_v2(ro);
        if (rc != STORE_HOT_JOURNAL)
            return rc;
        if (attempt > 0)
            return dyt_errf(e, DYT_USAGE, "%s: still holds an interrupted transaction", path);
        int empty = 0;
        if ((rc = store_recover_journal(path, &empty, e)) != DYT_OK)
            return rc;
        if (empty) {
            *kind = 2;
            return DYT_OK;
        }
        if ((rc = store_check_header(path, kind, wal, e)) != DYT_OK)
            return rc;
    }
}

static int configure(sqlite3 *db, const char *path, int readonly, dyt_err *e)
{
    char *err = NULL;
    if (sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, &err) != SQLITE_OK) {
        int rc = store_sqlite_err(e, db, "%s: %s", path, err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        return rc;
    }
    if (readonly)
        return DYT_OK;
    /* WAL lets readers (show, report) work while a run writes; NORMAL sync
     * is durable across a process kill (the case of interest) and only
     * risks the last transaction on power loss. */
    int rc = store_set_wal(db, path, e);
    if (rc == DYT_OK &&
        sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, &err) != SQLITE_OK) {
        rc = store_sqlite_err(e, db, "%s: %s", path, err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
    }
    return rc;
}

/* The connection of a store whose file passed its checks (kind 0) or is
 * empty (kind 2: the schema is set up in place). */
static int connect(store *s, int kind, int wal, int64_t *version, dyt_err *e)
{
    int rc = DYT_OK;
    if (s->readonly) {
        rc = open_readonly(s->path, wal, &s->db, e);
    } else if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = store_sqlite_err(e, s->db, "%s: cannot open: %s", s->path,
                              s->db ? sqlite3_errmsg(s->db) : "out of memory");
    } else {
        sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    }
    if (rc == DYT_OK && kind == 2 && (rc = store_initialise(s->db, s->path, e)) == DYT_OK)
        rc = validate(s->db, s->path, version, e);
    if (rc == DYT_OK && *version < STORE_SCHEMA_VERSION && s->readonly)
        rc = dyt_errf(e, DYT_USAGE,
                      "%s: schema version %lld needs migrating to %d but the file is read-only",
                      s->path, (long long)*version, STORE_SCHEMA_VERSION);
    return rc;
}

int store_open(const char *path, int create, store **out, dyt_err *e)
{
    *out = NULL;
    if (!path || !path[0])
        return dyt_errf(e, DYT_USAGE, "no database path given");
    int kind = 0, wal = 0;
    int rc = store_check_header(path, &kind, &wal, e);
    if (rc != DYT_OK)
        return rc;
    if (kind == 1 && !create)
        return dyt_errf(e, DYT_USAGE, "%s: no such database", path);
    /* A new store appears complete or not at all (store_create.c); if
     * another process created it first, it is opened like any other. */
    if (kind == 1 && ((rc = store_create(path, e)) != DYT_OK ||
                      (rc = store_check_header(path, &kind, &wal, e)) != DYT_OK))
        return rc;
    int64_t version = 0;
    if (kind == 0 && (rc = validate_file(path, &kind, &wal, &version, e)) != DYT_OK)
        return rc;
    /* An empty file holds nothing to protect: with create it becomes a new
     * DB; without, it is refused. */
    if (kind == 2 && !create)
        return dyt_errf(e, DYT_USAGE, "%s: empty file, not a dytbench database", path);
    if (kind == 1)
        return dyt_errf(e, DYT_USAGE, "%s: removed while being opened", path);

    store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return dyt_errf(e, DYT_RESOURCE, "%s: out of memory", path);
    }
    s->readonly = !writable(path);
    if (s->readonly && create)
        rc = dyt_errf(e, DYT_RESOURCE,
                      "%s: cannot store into it: the file or its folder is not writable here",
                      path);
    if (!s->readonly)
        store_remove_stale_temporaries(path);
    if (rc != DYT_OK || (rc = connect(s, kind, wal, &version, e)) != DYT_OK ||
        (rc = configure(s->db, path, s->readonly, e)) != DYT_OK ||
        (version < STORE_SCHEMA_VERSION && (rc = store_migrate(s->db, path, e)) != DYT_OK) ||
        (!s->readonly && (rc = abort_stale_runs(s->db, path, e)) != DYT_OK)) {
        store_close(s);
        return rc;
    }
    *out = s;
    return DYT_OK;
}

void store_close(store *s)
{
    if (!s)
        return;
    if (s->db)
        sqlite3_close_v2(s->db);
    if (s->unlink_at_close) {
        store_remove_copy(s->unlink_at_close);
        free(s->unlink_at_close);
    }
    free(s->path);
    free(s);
}

sqlite3 *store_db(store *s)
{
    return s->db;
}

const char *store_path(const store *s)
{
    return s->path;
}
