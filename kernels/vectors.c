/* Parser for the golden-vector text format (vectors.h). A small tokenizer
 * that knows which line every token is on: a case header must sit on one
 * line, numbers may span lines, `#` starts a comment to the end of the
 * line. Validation is strict (unknown tensor, wrong count, missing output,
 * a value that is not a finite number are errors) because a silently short
 * tensor would turn into a check that compares nothing. A tensor's values
 * are stored as they are read, so memory follows what the file holds, not
 * the count it declares. */
#include "vectors.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    int line;
    const char *name;
} lexer;

/* Next whitespace-delimited token (start, length) and the line it is on; 0 at
 * end of input. */
static int next_tok(lexer *lx, const char **tok, size_t *len, int *line)
{
    for (;;) {
        while (*lx->s && isspace((unsigned char)*lx->s)) {
            if (*lx->s == '\n')
                lx->line++;
            lx->s++;
        }
        if (*lx->s != '#')
            break;
        while (*lx->s && *lx->s != '\n')
            lx->s++;
    }
    if (!*lx->s)
        return 0;
    *tok = lx->s;
    *line = lx->line;
    while (*lx->s && !isspace((unsigned char)*lx->s))
        lx->s++;
    *len = (size_t)(lx->s - *tok);
    return 1;
}

/* Peeks whether the next token is on the given line. */
static int more_on_line(lexer *lx, int line)
{
    lexer save = *lx;
    const char *t;
    size_t n;
    int l;
    int r = next_tok(&save, &t, &n, &l) && l == line;
    return r;
}

static int tok_is(const char *t, size_t n, const char *w) { return strlen(w) == n && !memcmp(t, w, n); }

typedef struct {
    const char *name;
    int shape; /* 0: rows*cols, 1: cols, 2: rows, 3: one */
    int output;
} tensor_spec;

static const tensor_spec specs[] = {
    {"x", 0, 0},      {"dy", 0, 0},     {"gamma", 1, 0}, {"beta", 1, 0},
    {"y", 0, 1},      {"dx", 0, 1},     {"dgamma", 1, 1}, {"dbeta", 1, 1},
    {"dalpha", 3, 1}, {"mean", 2, 1},   {"rstd", 2, 1},
};

/* Which tensors a norm's case must have (1), may not have (0). */
static int tensor_required(const vec_case *c, const char *name)
{
    int gamma = c->norm != NORM_LAYERNORM || c->affine;
    int beta = c->norm == NORM_DYT ? c->has_beta : c->norm == NORM_LAYERNORM && c->affine;
    if (!strcmp(name, "x") || !strcmp(name, "dy") || !strcmp(name, "y") || !strcmp(name, "dx"))
        return 1;
    if (!strcmp(name, "gamma") || !strcmp(name, "dgamma"))
        return gamma;
    if (!strcmp(name, "beta") || !strcmp(name, "dbeta"))
        return beta;
    if (!strcmp(name, "dalpha"))
        return c->norm == NORM_DYT;
    if (!strcmp(name, "mean"))
        return c->norm == NORM_LAYERNORM;
    if (!strcmp(name, "rstd"))
        return c->norm != NORM_DYT;
    return 0;
}

static int parse_size_kv(const char *v, size_t n, size_t *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, v, n);
    buf[n] = 0;
    uint64_t u;
    if (dyt_parse_size(buf, &u) != 0 || u == 0)
        return -1;
    *out = (size_t)u;
    return 0;
}

static int parse_double_n(const char *v, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, v, n);
    buf[n] = 0;
    char *end;
    errno = 0;
    *out = strtod(buf, &end);
    return *end || errno == ERANGE || !isfinite(*out) ? -1 : 0;
}

static int parse_header(lexer *lx, int line, vec_case *c, dyt_err *e)
{
    const char *t;
    size_t n;
    int l;
    if (!more_on_line(lx, line) || !next_tok(lx, &t, &n, &l))
        return dyt_errf(e, DYT_USAGE, "%s:%d: 'case' needs a norm", lx->name, line);
    char nm[16];
    snprintf(nm, sizeof nm, "%.*s", (int)DYT_MIN(n, sizeof nm - 1), t);
    if (norm_from_name(nm, &c->norm) != 0)
        return dyt_errf(e, DYT_USAGE, "%s:%d: unknown norm '%.*s'", lx->name, line, (int)n, t);
    int have_rows = 0, have_cols = 0;
    while (more_on_line(lx, line)) {
        next_tok(lx, &t, &n, &l);
        const char *eq = memchr(t, '=', n);
        if (!eq)
            return dyt_errf(e, DYT_USAGE, "%s:%d: expected key=value, got '%.*s'", lx->name, line,
                            (int)n, t);
        size_t kn = (size_t)(eq - t), vn = n - kn - 1;
        const char *v = eq + 1;
        double d = 0;
        int bad = 0;
        if (tok_is(t, kn, "rows"))
            bad = parse_size_kv(v, vn, &c->rows), have_rows = 1;
        else if (tok_is(t, kn, "cols"))
            bad = parse_size_kv(v, vn, &c->cols), have_cols = 1;
        else if (tok_is(t, kn, "alpha"))
            bad = parse_double_n(v, vn, &c->alpha);
        else if (tok_is(t, kn, "eps"))
            bad = parse_double_n(v, vn, &c->eps) || c->eps < 0;
        else if (tok_is(t, kn, "beta") || tok_is(t, kn, "affine")) {
            bad = parse_double_n(v, vn, &d) || (d != 0 && d != 1);
            *(tok_is(t, kn, "beta") ? &c->has_beta : &c->affine) = d == 1;
        } else
            return dyt_errf(e, DYT_USAGE, "%s:%d: unknown key '%.*s'", lx->name, line, (int)kn, t);
        if (bad)
            return dyt_errf(e, DYT_USAGE, "%s:%d: bad value for '%.*s': '%.*s'", lx->name, line,
                            (int)kn, t, (int)vn, v);
    }
    if (!have_rows || !have_cols)
        return dyt_errf(e, DYT_USAGE, "%s:%d: case needs rows= and cols=", lx->name, line);
    if (c->rows > ((size_t)1 << 28) / c->cols)
        return dyt_errf(e, DYT_USAGE, "%s:%d: case too large (%zux%zu)", lx->name, line, c->rows,
                        c->cols);
    return DYT_OK;
}

static size_t expected_count(const vec_case *c, int shape)
{
    return shape == 0 ? c->rows * c->cols : shape == 1 ? c->cols : shape == 2 ? c->rows : 1;
}

static void case_free(vec_case *c)
{
    for (size_t i = 0; i < c->n_t; i++)
        free(c->t[i].v);
    free(c->t);
    memset(c, 0, sizeof *c);
}

/* Parses the tensors of one case up to its `end`. */
static int parse_body(lexer *lx, vec_case *c, dyt_err *e)
{
    const char *t;
    size_t n;
    int l;
    for (;;) {
        if (!next_tok(lx, &t, &n, &l))
            return dyt_errf(e, DYT_USAGE, "%s:%d: case has no 'end'", lx->name, c->line);
        if (tok_is(t, n, "end"))
            break;
        const tensor_spec *sp = NULL;
        for (size_t i = 0; i < DYT_ARRAY_LEN(specs); i++)
            if (tok_is(t, n, specs[i].name))
                sp = &specs[i];
        if (!sp)
            return dyt_errf(e, DYT_USAGE, "%s:%d: unknown tensor '%.*s'", lx->name, l, (int)n, t);
        if (vec_find(c, sp->name))
            return dyt_errf(e, DYT_USAGE, "%s:%d: tensor '%s' given twice", lx->name, l, sp->name);
        if (!tensor_required(c, sp->name))
            return dyt_errf(e, DYT_USAGE, "%s:%d: tensor '%s' does not belong to this %s case",
                            lx->name, l, sp->name, norm_name(c->norm));
        int hl = l;
        size_t count, want = expected_count(c, sp->shape);
        if (!more_on_line(lx, hl) || !next_tok(lx, &t, &n, &l) || parse_size_kv(t, n, &count))
            return dyt_errf(e, DYT_USAGE, "%s:%d: tensor '%s' needs a count", lx->name, hl,
                            sp->name);
        if (count != want)
            return dyt_errf(e, DYT_USAGE, "%s:%d: tensor '%s' has count %zu, its shape needs %zu",
                            lx->name, hl, sp->name, count, want);
        vec_tensor *nt = realloc(c->t, (c->n_t + 1) * sizeof *nt);
        if (!nt)
            return dyt_errf(e, DYT_RESOURCE, "%s:%d: out of memory", lx->name, hl);
        c->t = nt;
        vec_tensor *vt = &c->t[c->n_t];
        memset(vt, 0, sizeof *vt);
        snprintf(vt->name, sizeof vt->name, "%s", sp->name);
        vt->line = hl;
        c->n_t++;
        size_t cap = 0;
        for (size_t k = 0; k < count; k++) {
            if (!next_tok(lx, &t, &n, &l))
                return dyt_errf(e, DYT_USAGE, "%s:%d: tensor '%s' ends after %zu of %zu numbers",
                                lx->name, lx->line, sp->name, k, count);
            if (k == cap) { /* grown as numbers arrive: a count is only a claim */
                cap = DYT_MIN(count, cap ? 2 * cap : 1024);
                double *grown = realloc(vt->v, cap * sizeof *grown);
                if (!grown)
                    return dyt_errf(e, DYT_RESOURCE, "%s:%d: out of memory", lx->name, hl);
                vt->v = grown;
            }
            if (parse_double_n(t, n, &vt->v[k]))
                return dyt_errf(e, DYT_USAGE,
                                "%s:%d: '%.*s' is not a finite number (tensor '%s', %zu of %zu)",
                                lx->name, l, (int)DYT_MIN(n, (size_t)40), t, sp->name, k + 1,
                                count);
            vt->count = k + 1;
        }
    }
    for (size_t i = 0; i < DYT_ARRAY_LEN(specs); i++)
        if (tensor_required(c, specs[i].name) && !vec_find(c, specs[i].name))
            return dyt_errf(e, DYT_USAGE, "%s:%d: %s case lacks tensor '%s'", lx->name, c->line,
                            norm_name(c->norm), specs[i].name);
    return DYT_OK;
}

int vec_parse_string(const char *text, const char *name, vec_file *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    out->path = strdup(name ? name : "<string>");
    if (!out->path)
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
    lexer lx = {text, 1, out->path};
    const char *t;
    size_t n;
    int l, rc = DYT_OK;
    while (next_tok(&lx, &t, &n, &l)) {
        if (!tok_is(t, n, "case")) {
            rc = dyt_errf(e, DYT_USAGE, "%s:%d: expected 'case', got '%.*s'", lx.name, l,
                          (int)DYT_MIN(n, (size_t)40), t);
            break;
        }
        vec_case c = {0};
        c.line = l;
        if ((rc = parse_header(&lx, l, &c, e)) != DYT_OK ||
            (rc = parse_body(&lx, &c, e)) != DYT_OK) {
            case_free(&c);
            break;
        }
        /* RMSNorm's gamma is always given: the file's norm is y = x*rstd*gamma. */
        if (c.norm == NORM_RMSNORM)
            c.affine = 1;
        vec_case *nc = realloc(out->cases, (out->n + 1) * sizeof *nc);
        if (!nc) {
            case_free(&c);
            rc = dyt_errf(e, DYT_RESOURCE, "%s:%d: out of memory", lx.name, l);
            break;
        }
        out->cases = nc;
        out->cases[out->n++] = c;
    }
    if (rc == DYT_OK && out->n == 0)
        rc = dyt_errf(e, DYT_USAGE, "%s: no cases", out->path);
    if (rc != DYT_OK)
        vec_file_free(out);
    return rc;
}

int vec_parse_file(const char *path, vec_file *out, dyt_err *e)
{
    char *text;
    size_t len;
    memset(out, 0, sizeof *out);
    int rc = dyt_read_file(path, &text, &len, e);
    if (rc != DYT_OK)
        return rc;
    if (strlen(text) != len) {
        free(text);
        return dyt_errf(e, DYT_USAGE, "%s: contains a NUL byte (not a text file)", path);
    }
    rc = vec_parse_string(text, path, out, e);
    free(text);
    return rc;
}

void vec_file_free(vec_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        case_free(&f->cases[i]);
    free(f->cases);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const vec_tensor *vec_find(const vec_case *c, const char *name)
{
    for (size_t i = 0; i < c->n_t; i++)
        if (!strcmp(c->t[i].name, name))
            return &c->t[i];
    return NULL;
}

void vec_case_describe(const vec_case *c, char *buf, size_t n)
{
    switch (c->norm) {
    case NORM_DYT:
        snprintf(buf, n, "line %d: dyt %zux%zu alpha=%.4g beta=%d", c->line, c->rows, c->cols,
                 c->alpha, c->has_beta);
        break;
    case NORM_LAYERNORM:
        snprintf(buf, n, "line %d: layernorm %zux%zu eps=%.3g affine=%d", c->line, c->rows,
                 c->cols, c->eps, c->affine);
        break;
    default:
        snprintf(buf, n, "line %d: rmsnorm %zux%zu eps=%.3g", c->line, c->rows, c->cols, c->eps);
        break;
    }
}
