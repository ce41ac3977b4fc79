/* Copying between stores, what `dytbench merge` needs beyond the writers
 * of store_write.c: a private snapshot of an input store (so that neither
 * migrating nor reading it ever writes the input file), a run inserted as
 * it was read elsewhere (its uuid, status, times and writer kept), a run's
 * end brought up to date, and the provenance rows saying where a run came
 * from. */
#include "store_int.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int store_put_run_as_read(store *s, const store_run *r, int64_t machine_id, int64_t *run_id,
                          dyt_err *e)
{
    sqlite3_stmt *st;
    int rc = store_write_prepare(s, store_insert_run_sql, &st, "copying the run", e);
    if (rc != DYT_OK)
        return rc;
    int src = store_bind_run(st, r, machine_id);
    if ((rc = store_write_finish(s, st, src, "copying the run", e)) == DYT_OK)
        *run_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int store_put_run_end_as_read(store *s, int64_t run_id, const store_run *r, dyt_err *e)
{
    sqlite3_stmt *st;
    int rc = store_write_prepare(s,
                                 "UPDATE runs SET status = ?2, ended_at = ?3, note = ?4"
                                 " WHERE id = ?1",
                                 &st, "updating the run's end", e);
    if (rc != DYT_OK)
        return rc;
    int src = sqlite3_bind_int64(st, 1, run_id);
    STORE_CHAIN(src, bind_text(st, 2, r->status));
    STORE_CHAIN(src, bind_text(st, 3, r->ended_at));
    STORE_CHAIN(src, bind_text(st, 4, r->note));
    return store_write_finish(s, st, src, "updating the run's end", e);
}

static int bind_provenance(sqlite3_stmt *st, const void *rows, size_t i)
{
    const store_provenance *p = (const store_provenance *)rows + i;
    int src = bind_text(st, 2, p->source_file);
    STORE_CHAIN(src, sqlite3_bind_int64(st, 3, p->source_run_id));
    STORE_CHAIN(src, bind_text(st, 4, p->merged_at));
    STORE_CHAIN(src, bind_text(st, 5, p->dytbench_version));
    return src;
}

int store_put_provenance(store *s, int64_t run_id, const store_provenance *p, size_t n, dyt_err *e)
{
    sqlite3_stmt *none;
    int rc = store_write_prepare(s, NULL, &none, "storing the run's provenance", e);
    if (rc != DYT_OK)
        return rc;
    if (store_insert_rows(s->db,
                          "INSERT INTO provenance (run_id, source_file, source_run_id, merged_at,"
                          " dytbench_version) VALUES (?1,?2,?3,?4,?5)",
                          run_id, p, n, bind_provenance) != SQLITE_OK)
        return store_write_fail(s, NULL, "storing the run's provenance", e);
    return store_write_commit(s, e);
}

static void fill_provenance(store_row *r, void *item)
{
    store_provenance *x = item;
    x->source_file = store_col_text(r);
    x->source_run_id = store_col_int(r);
    x->merged_at = store_col_text(r);
    x->dytbench_version = store_col_text(r);
}

int store_load_provenance(store *s, int64_t run_id, store_provenance_list *out, dyt_err *e)
{
    static const char sql[] = "SELECT source_file, source_run_id, merged_at, dytbench_version"
                              " FROM provenance WHERE run_id = ?1 ORDER BY id";
    memset(out, 0, sizeof *out);
    void *v = NULL;
    int rc = store_collect_by_id(s, sql, run_id, "reading provenance", sizeof *out->v,
                                 fill_provenance, &v, &out->n, &out->text, e);
    out->v = v;
    return rc;
}

void store_provenance_list_free(store_provenance_list *l)
{
    store_list_free(l->v, l->text);
    memset(l, 0, sizeof *l);
}

/* Snapshots ---------------------------------------------------------------- */

void store_remove_copy(const char *path)
{
    static const char *const side[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(side); i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", path, side[i]);
        unlink(p);
    }
}

/* SQLite's whole-database copy from src to the file at dst_path. */
static int backup(sqlite3 *src, const char *dst_path, const char *path, dyt_err *e)
{
    sqlite3 *dst = NULL;
    if (sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        int rc = dyt_errf(e, DYT_RESOURCE, "%s: cannot create a copy at %s: %s", path, dst_path,
                          dst ? sqlite3_errmsg(dst) : "out of memory");
        sqlite3_close_v2(dst);
        return rc;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    int src_rc = SQLITE_NOMEM;
    if (b) {
        /* A busy source (a writer mid-commit) is retried for a while. */
        for (int tries = 0; tries < 600; tries++) {
            src_rc = sqlite3_backup_step(b, -1);
            if (src_rc != SQLITE_BUSY && src_rc != SQLITE_LOCKED)
                break;
            usleep(50000);
        }
        sqlite3_backup_finish(b);
    }
    int rc = DYT_OK;
    if (src_rc == SQLITE_NOTADB || src_rc == SQLITE_CORRUPT)
        rc = dyt_errf(e, DYT_USAGE, "%s: unreadable or corrupt database (%s); refusing to use it",
                      path, sqlite3_errstr(src_rc));
    else if (src_rc != SQLITE_DONE)
        rc = dyt_errf(e,
                      src_rc == SQLITE_NOMEM || src_rc == SQLITE_FULL || src_rc == SQLITE_IOERR
                          ? DYT_RESOURCE
                          : DYT_USAGE,
                      "%s: copying it: %s", path, b ? sqlite3_errmsg(dst) : sqlite3_errmsg(src));
    sqlite3_close_v2(dst);
    return rc;
}

/* e's message with every mention of the copy's path replaced by the
 * original's, so that what the user reads names the file they gave. */
static void name_original(dyt_err *e, const char *copy, const char *path)
{
    char out[sizeof e->msg];
    size_t n = 0, lc = strlen(copy);
    for (const char *p = e->msg; *p && n < sizeof out - 1;) {
        if (!strncmp(p, copy, lc)) {
            n += (size_t)snprintf(out + n, sizeof out - n, "%s", path);
            n = n < sizeof out ? n : sizeof out - 1;
            p += lc;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
    memcpy(e->msg, out, n + 1);
}

int store_open_snapshot(const char *path, const char *tmpdir, store **out, dyt_err *e)
{
    *out = NULL;
    int kind = 0, wal = 0;
    int rc = store_check_header(path, &kind, &wal, e);
    if (rc != DYT_OK)
        return rc;
    if (kind == 1)
        return dyt_errf(e, DYT_USAGE, "%s: no such database", path);
    if (kind == 2)
        return dyt_errf(e, DYT_USAGE, "%s: empty file, not a dytbench database", path);
    const char *dir = tmpdir ? tmpdir : getenv("TMPDIR");
    char *copy = NULL;
    if (asprintf(&copy, "%s/dytbench-copy-XXXXXX", dir && dir[0] ? dir : "/tmp") < 0)
        return dyt_errf(e, DYT_RESOURCE, "%s: out of memory", path);
    int fd = mkstemp(copy);
    if (fd < 0) {
        rc = dyt_errf(e, DYT_RESOURCE, "%s: cannot create a temporary copy in %s: %s", path,
                      dir && dir[0] ? dir : "/tmp", strerror(errno));
        free(copy);
        return rc;
    }
    close(fd);
    sqlite3 *src = NULL;
    char *uri = store_readonly_uri(path, wal);
    if (!uri ||
        sqlite3_open_v2(uri, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK)
        rc = dyt_errf(e, DYT_USAGE, "%s: cannot open: %s", path,
                      src ? sqlite3_errmsg(src) : "out of memory");
    free(uri);
    if (rc == DYT_OK) {
        sqlite3_busy_timeout(src, STORE_BUSY_TIMEOUT_MS);
        rc = backup(src, copy, path, e);
    }
    sqlite3_close_v2(src);
    if (rc == DYT_OK && (rc = store_open(copy, 0, out, e)) != DYT_OK)
        name_original(e, copy, path);
    if (rc == DYT_OK) {
        char *p = strdup(path);
        if (!p) {
            store_close(*out);
            *out = NULL;
            rc = dyt_errf(e, DYT_RESOURCE, "%s: out of memory", path);
        } else {
            free((*out)->path);
            (*out)->path = p;
            (*out)->unlink_at_close = copy;
            return DYT_OK;
        }
    }
    store_remove_copy(copy);
    free(copy);
    return rc;
}
