/* The results store's row reader, shared by the read API's files
 * (store_read.c, store_read_case.c): a bound SELECT stepped to its end, each
 * row filled into a plain struct by a fill function, every string copied
 * into a store_text that the returned object owns -- so the statement is
 * finalised before the caller sees anything, and one free releases all. */
#include "store_int.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Strings of a loaded object: chunks of copies, freed together. */
struct store_text {
    struct store_text *next;
    size_t used, cap;
    char buf[];
};

void store_text_free(store_text *t)
{
    while (t) {
        store_text *next = t->next;
        free(t);
        t = next;
    }
}

void store_text_append(store_text **t, store_text *more)
{
    if (!more)
        return;
    store_text *last = more;
    while (last->next)
        last = last->next;
    last->next = *t;
    *t = more;
}

/* A NUL-terminated copy of the n bytes at s in *t; NULL when out of memory. */
static const char *text_copy(store_text **t, const char *s, size_t n)
{
    if (!*t || (*t)->cap - (*t)->used < n + 1) {
        size_t cap = n + 1 > 4096 ? n + 1 : 4096;
        store_text *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = *t;
        c->used = 0;
        c->cap = cap;
        *t = c;
    }
    char *p = (*t)->buf + (*t)->used;
    memcpy(p, s, n);
    p[n] = 0;
    (*t)->used += n + 1;
    return p;
}

const char *store_col_text(store_row *r)
{
    int i = r->next++;
    const unsigned char *v = sqlite3_column_text(r->st, i);
    if (!v)
        return NULL;
    const char *c = text_copy(r->text, (const char *)v, (size_t)sqlite3_column_bytes(r->st, i));
    r->oom |= !c;
    return c;
}

double store_col_real(store_row *r)
{
    int i = r->next++;
    return sqlite3_column_type(r->st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(r->st, i);
}

int64_t store_col_int(store_row *r)
{
    return sqlite3_column_int64(r->st, r->next++);
}

int store_prepare(store *s, const char *sql, const char *what, sqlite3_stmt **st, dyt_err *e)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return store_sqlite_err(e, s->db, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    return DYT_OK;
}

/* Steps the bound statement st to its end, one item of `size` bytes per
 * row filled by fill, into *v (grown, *n items), strings into *text.
 * Finalises st; on failure frees what it gathered. */
int store_collect(store *s, sqlite3_stmt *st, const char *what, size_t size, store_fill_fn fill,
                  void **v, size_t *n, store_text **text, dyt_err *e)
{
    size_t cap = 0;
    store_row r = {.st = st, .text = text};
    int rc;
    *v = NULL;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            void *p = realloc(*v, nc * size);
            if (!p) {
                r.oom = 1;
                break;
            }
            *v = p;
            cap = nc;
        }
        void *item = (char *)*v + *n * size;
        memset(item, 0, size);
        r.next = 0;
        fill(&r, item);
        (*n)++;
        if (r.oom)
            break;
    }
    int ret = DYT_OK;
    if (r.oom)
        ret = dyt_errf(e, DYT_RESOURCE, "%s: %s: out of memory", s->path, what);
    else if (rc != SQLITE_DONE)
        ret = store_sqlite_err(e, s->db, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    if (ret != DYT_OK) {
        free(*v);
        *v = NULL;
        *n = 0;
        store_text_free(*text);
        *text = NULL;
    }
    return ret;
}

/* store_collect() over the rows of sql, its ?1 bound to id. */
int store_collect_by_id(store *s, const char *sql, int64_t id, const char *what, size_t size,
                        store_fill_fn fill, void **v, size_t *n, store_text **text, dyt_err *e)
{
    sqlite3_stmt *st;
    DYT_TRY(store_prepare(s, sql, what, &st, e));
    sqlite3_bind_int64(st, 1, id);
    return store_collect(s, st, what, size, fill, v, n, text, e);
}

/* Every loaded list owns its items and their strings. */
void store_list_free(void *v, store_text *text)
{
    free(v);
    store_text_free(text);
}
