/* report/table.c: the format-neutral table model every table of the report
 * is built in (title, header, aligned columns, raw cell text, a note saying
 * how its numbers were computed), and the number formats the tables and
 * figures share. tables.c and tables_machine.c fill tables; render.c and
 * html.c write them out. */
#include "report_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

rep_table *rep_table_new(const char *id, const char *title, size_t ncols, const char *const *head,
                         const char *align)
{
    rep_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->id = strdup(id);
    t->title = strdup(title);
    t->ncols = ncols;
    t->head = calloc(ncols, sizeof *t->head);
    t->align = strdup(align);
    if (!t->id || !t->title || !t->head || !t->align || strlen(align) != ncols) {
        rep_table_free(t);
        return NULL;
    }
    for (size_t i = 0; i < ncols; i++)
        if (!(t->head[i] = strdup(head[i]))) {
            rep_table_free(t);
            return NULL;
        }
    return t;
}

void rep_table_free(rep_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->head && i < t->ncols; i++)
        free(t->head[i]);
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->head);
    free(t->cells);
    free(t->id);
    free(t->title);
    free(t->note);
    free(t->align);
    free(t);
}

size_t rep_table_add_row(rep_table *t)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **p = realloc(t->cells, cap * t->ncols * sizeof *p);
        if (!p) {
            t->oom = 1;
            return t->nrows; /* not a row: rep_table_set writes nothing there */
        }
        t->cells = p;
        t->cap = cap;
    }
    memset(t->cells + t->nrows * t->ncols, 0, t->ncols * sizeof *t->cells);
    return t->nrows++;
}

static char *vfmt(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return NULL;
    return s;
}

void rep_table_set(rep_table *t, size_t row, size_t col, const char *fmt, ...)
{
    if (row >= t->nrows || col >= t->ncols)
        return;
    va_list ap;
    va_start(ap, fmt);
    char **cell = &t->cells[row * t->ncols + col];
    free(*cell);
    t->oom |= !(*cell = vfmt(fmt, ap));
    va_end(ap);
}

void rep_table_note(rep_table *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(t->note);
    t->oom |= !(t->note = vfmt(fmt, ap));
    va_end(ap);
}

rep_table *rep_table_done(rep_table *t)
{
    if (t && t->oom) {
        rep_table_free(t);
        return NULL;
    }
    return t;
}

void rep_fmt_num(char *buf, size_t n, double v, int decimals)
{
    if (!isfinite(v))
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, "%.*f", decimals, v);
}

/* Four significant digits: 2.100, 123.4, 0.06500; below 1e-3 with an
 * exponent (1.234e-04). */
void rep_fmt_sig(char *buf, size_t n, double v)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "n/a");
        return;
    }
    if (v != 0 && fabs(v) < 1e-3) {
        snprintf(buf, n, "%.3e", v);
        return;
    }
    int d = v == 0 ? 3 : 3 - (int)floor(log10(fabs(v)));
    rep_fmt_num(buf, n, v, d < 0 ? 0 : d > 6 ? 6 : d);
}

void rep_fmt_us(char *buf, size_t n, double ns)
{
    rep_fmt_sig(buf, n, ns / 1e3);
}

/* Removes column col when every row has the same value there; returns
 * that value (owned by the caller) or NULL when the column stays. */
char *rep_table_drop_uniform(rep_table *t, size_t col)
{
    if (!t || !t->nrows)
        return NULL;
    for (size_t i = 1; i < t->nrows; i++) {
        const char *a = t->cells[col], *b = t->cells[i * t->ncols + col];
        if (strcmp(a ? a : "", b ? b : ""))
            return NULL;
    }
    char *v = t->cells[col];
    for (size_t i = 1; i < t->nrows; i++)
        free(t->cells[i * t->ncols + col]);
    free(t->head[col]);
    size_t nc = t->ncols - 1, k = 0;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        if (i % t->ncols != col)
            t->cells[k++] = t->cells[i];
    for (size_t j = col; j < nc; j++) {
        t->head[j] = t->head[j + 1];
        t->align[j] = t->align[j + 1];
    }
    t->align[nc] = 0;
    t->ncols = nc;
    char *same = v ? v : strdup("");
    t->oom |= !same;
    return same;
}

void rep_fmt_all_rows(char *buf, size_t n, const char *threads, const char *cache)
{
    buf[0] = 0;
    if (threads && cache)
        snprintf(buf, n, " All rows: %s thread(s), %s cache.", threads, cache);
    else if (threads || cache)
        snprintf(buf, n, " All rows: %s%s.", threads ? threads : cache,
                 threads ? " thread(s)" : " cache");
}
