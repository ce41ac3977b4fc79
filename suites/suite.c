/* The suite-file parser: turns a `.suite` file (format in suites/README.md)
 * into a list of suite_model sections, or rejects it with
 * `file:line: what is wrong`. Everything is validated here, before a single
 * case is planned, so a bad file never starts a half-run: unknown or
 * duplicate keys and sections, missing fields, sizes that are not positive
 * integers, enum values outside their set, junk lines, and a section whose
 * largest case would not fit in memory.
 *
 * The parser works on a private copy of the text, one line at a time; on
 * any error everything it allocated is released and *out is left empty. */
#include "suite.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const domain_names[DOMAIN_COUNT] = {"vision", "llm", "speech", "dna"};

const char *domain_name(domain_kind d)
{
    return (unsigned)d < DOMAIN_COUNT ? domain_names[d] : "?";
}

/* The keys of a section. Order is the order of the "known keys" hint. */
enum {
    KEY_DOMAIN,
    KEY_NORM,
    KEY_HIDDEN,
    KEY_TOKENS,
    KEY_LAYERS,
    KEY_ALPHA,
    KEY_BETA,
    KEY_AFFINE,
    KEY_EPS,
    KEY_LAYOUT,
    KEY_SOURCE,
    KEY_COUNT
};
static const char *const key_names[KEY_COUNT] = {"domain", "norm",   "hidden", "tokens",
                                                 "layers", "alpha",  "beta",   "affine",
                                                 "eps",    "layout", "source"};
/* Keys a section must set; the rest have defaults. */
static const int key_required[KEY_COUNT] = {1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0};

/* Upper bounds that keep every later product (rows x cols x 16 bytes) far
 * from overflow; no real model comes near them. */
#define SUITE_MAX_DIM ((uint64_t)1 << 40)
#define SUITE_MAX_LAYERS 1000000u

typedef struct {
    const char *file; /* for messages */
    int line;
    uint64_t mem_limit;
    suite *out;
    suite_model *cur;        /* section being filled, or NULL */
    int key_line[KEY_COUNT]; /* line where each key of cur was set, 0 = not yet */
    int tokens_line;
} parser;

static int perr(parser *p, dyt_err *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Formats `file:line: message` into e and returns DYT_USAGE. */
static int perr(parser *p, dyt_err *e, const char *fmt, ...)
{
    if (e) {
        char what[768];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        snprintf(e->msg, sizeof e->msg, "%s:%d: %s", p->file, p->line, what);
    }
    return DYT_USAGE;
}

/* A short printable excerpt of s for messages, so a binary or huge line
 * does not flood the terminal. */
static const char *excerpt(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 4 < n; i++)
        buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
    if (s[i]) {
        buf[i > 3 ? i - 3 : 0] = '\0';
        strcat(buf, "...");
    } else {
        buf[i] = '\0';
    }
    return buf;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Cuts a trailing comment: a '#' outside double quotes that starts the text
 * or follows whitespace (so "a#b" stays intact). */
static void strip_comment(char *s)
{
    int quoted = 0;
    for (char *c = s; *c; c++) {
        if (*c == '"' && (c == s || c[-1] != '\\'))
            quoted = !quoted;
        else if (*c == '#' && !quoted && (c == s || c[-1] == ' ' || c[-1] == '\t')) {
            *c = '\0';
            return;
        }
    }
}

static int valid_name_char(int c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '+';
}

/* A size: a positive integer with an optional K/M/G suffix (powers of 1024),
 * or a product of them, "64x197" (images x tokens per image). */
static int parse_size_expr(const char *s, uint64_t *out)
{
    char buf[128];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    uint64_t v = 1;
    char *save = NULL;
    int factors = 0;
    for (char *f = strtok_r(buf, "x*", &save); f; f = strtok_r(NULL, "x*", &save)) {
        uint64_t k;
        f = trim(f);
        if (dyt_parse_size(f, &k) != 0)
            return -1;
        if (k > SUITE_MAX_DIM || v > SUITE_MAX_DIM / k)
            return -2;
        v *= k;
        factors++;
    }
    /* strtok collapses "64xx3" and "x64": insist the separators were single
     * and inside. */
    size_t n = strlen(s);
    if (!factors || s[0] == 'x' || s[0] == '*' || s[n - 1] == 'x' || s[n - 1] == '*' ||
        strstr(s, "xx") || strstr(s, "**") || strstr(s, "x*") || strstr(s, "*x"))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcmp(s, "yes") || !strcmp(s, "true"))
        return *out = 1, 0;
    if (!strcmp(s, "no") || !strcmp(s, "false"))
        return *out = 0, 0;
    return -1;
}

static int parse_size_value(parser *p, dyt_err *e, const char *key, const char *v, uint64_t *out)
{
    char ex[80];
    int rc = parse_size_expr(v, out);
    if (rc == -2)
        return perr(p, e, "%s '%s' is too large", key, excerpt(v, ex, sizeof ex));
    if (rc != 0)
        return perr(p, e,
                    "%s must be a positive integer (optionally a product like 64x197), got '%s'",
                    key, excerpt(v, ex, sizeof ex));
    return DYT_OK;
}

/* tokens = 8192 train, 4096 prefill, 1 decode, 64 decode
 * Each comma-separated entry is a size expression and an optional label. */
static int parse_tokens(parser *p, dyt_err *e, char *v)
{
    suite_model *m = p->cur;
    char ex[80];
    /* strtok would skip empty entries silently; walk the commas by hand. */
    char *entry = v;
    for (;;) {
        char *comma = strchr(entry, ',');
        if (comma)
            *comma = '\0';
        char *t = trim(entry);
        if (!*t)
            return perr(p, e, "empty entry in tokens list");
        if (m->n_tokens == SUITE_MAX_TOKENS)
            return perr(p, e, "more than %d token counts in one section", SUITE_MAX_TOKENS);
        char *sp = t;
        while (*sp && *sp != ' ' && *sp != '\t')
            sp++;
        char *label = "";
        if (*sp) {
            *sp = '\0';
            label = trim(sp + 1);
        }
        uint64_t rows;
        int rc = parse_size_value(p, e, "tokens", t, &rows);
        if (rc)
            return rc;
        size_t ll = strlen(label);
        if (ll >= sizeof m->token_labels[0])
            return perr(p, e, "token label '%s' is longer than %zu characters",
                        excerpt(label, ex, sizeof ex), sizeof m->token_labels[0] - 1);
        for (size_t i = 0; i < ll; i++)
            if (!valid_name_char((unsigned char)label[i]) && label[i] != '/')
                return perr(p, e,
                            "token label '%s' may hold only letters, digits and - _ . + / "
                            "(one label per count; separate counts with commas)",
                            excerpt(label, ex, sizeof ex));
        for (size_t i = 0; i < m->n_tokens; i++)
            if (m->tokens[i] == rows)
                return perr(p, e,
                            "token count %llu listed twice; list it once with a combined "
                            "label, e.g. '%llu train/prefill'",
                            (unsigned long long)rows, (unsigned long long)rows);
        m->tokens[m->n_tokens] = (size_t)rows;
        memcpy(m->token_labels[m->n_tokens], label, ll + 1);
        m->n_tokens++;
        if (!comma)
            break;
        entry = comma + 1;
    }
    return DYT_OK;
}

/* A string value: "quoted" (\" and \\ escapes) or the bare rest of the line. */
static int parse_string(parser *p, dyt_err *e, const char *key, const char *v, char *dst, size_t n)
{
    size_t o = 0;
    if (*v == '"') {
        const char *c = v + 1;
        for (; *c && *c != '"'; c++) {
            if (*c == '\\' && (c[1] == '"' || c[1] == '\\'))
                c++;
            if (o + 1 >= n)
                return perr(p, e, "%s is longer than %zu characters", key, n - 1);
            dst[o++] = *c;
        }
        if (*c != '"')
            return perr(p, e, "%s: missing closing '\"'", key);
        if (c[1] != '\0')
            return perr(p, e, "%s: unexpected text after the closing '\"'", key);
    } else {
        size_t len = strlen(v);
        if (len >= n)
            return perr(p, e, "%s is longer than %zu characters", key, n - 1);
        memcpy(dst, v, len);
        o = len;
    }
    dst[o] = '\0';
    return DYT_OK;
}

static int parse_value(parser *p, dyt_err *e, int key, char *v)
{
    suite_model *m = p->cur;
    char ex[80];
    uint64_t u;
    double d;
    int rc;
    switch (key) {
    case KEY_DOMAIN:
        for (int i = 0; i < DOMAIN_COUNT; i++)
            if (!strcmp(v, domain_names[i]))
                return m->domain = (domain_kind)i, DYT_OK;
        return perr(p, e, "domain must be vision, llm, speech or dna, got '%s'",
                    excerpt(v, ex, sizeof ex));
    case KEY_NORM:
        if (!strcmp(v, "layernorm"))
            return m->norm = NORM_LAYERNORM, DYT_OK;
        if (!strcmp(v, "rmsnorm"))
            return m->norm = NORM_RMSNORM, DYT_OK;
        return perr(p, e, "norm must be layernorm or rmsnorm (the norm DyT replaces), got '%s'",
                    excerpt(v, ex, sizeof ex));
    case KEY_HIDDEN:
        if ((rc = parse_size_value(p, e, "hidden", v, &u)))
            return rc;
        m->hidden = (size_t)u;
        return DYT_OK;
    case KEY_TOKENS:
        p->tokens_line = p->line;
        return parse_tokens(p, e, v);
    case KEY_LAYERS:
        if (dyt_parse_size(v, &u) != 0 || strpbrk(v, "KkMG"))
            return perr(p, e, "layers must be a positive integer, got '%s'",
                        excerpt(v, ex, sizeof ex));
        if (u > SUITE_MAX_LAYERS)
            return perr(p, e, "layers %llu is implausibly large (max %u)", (unsigned long long)u,
                        SUITE_MAX_LAYERS);
        m->layers = (unsigned)u;
        return DYT_OK;
    case KEY_ALPHA:
        if (dyt_parse_double(v, &d) != 0 || !(d > 0))
            return perr(p, e, "alpha must be a positive number, got '%s'",
                        excerpt(v, ex, sizeof ex));
        m->alpha = d;
        return DYT_OK;
    case KEY_EPS:
        if (dyt_parse_double(v, &d) != 0 || !(d > 0) || !(d < 1))
            return perr(p, e, "eps must be a number in (0, 1), got '%s'",
                        excerpt(v, ex, sizeof ex));
        m->eps = d;
        return DYT_OK;
    case KEY_BETA:
    case KEY_AFFINE:
        if (parse_bool(v, key == KEY_BETA ? &m->beta : &m->affine) != 0)
            return perr(p, e, "%s must be yes or no, got '%s'", key_names[key],
                        excerpt(v, ex, sizeof ex));
        return DYT_OK;
    case KEY_LAYOUT:
        if (!strcmp(v, "channels_last"))
            return m->layout = LAYOUT_CHANNELS_LAST, DYT_OK;
        if (!strcmp(v, "channels_first"))
            return m->layout = LAYOUT_CHANNELS_FIRST, DYT_OK;
        return perr(p, e, "layout must be channels_last or channels_first, got '%s'",
                    excerpt(v, ex, sizeof ex));
    case KEY_SOURCE:
        return parse_string(p, e, "source", v, m->source, sizeof m->source);
    }
    return perr(p, e, "internal error: key %d", key);
}

/* Bytes the largest pass of a case holds: the backward pass keeps x, dy, dx
 * and y (fp32, the widest dtype on the CPU) plus parameters, their
 * gradients and the per-row statistics. */
static int case_bytes(uint64_t rows, uint64_t cols, uint64_t *out)
{
    if (rows > SUITE_MAX_DIM || cols > SUITE_MAX_DIM || rows > UINT64_MAX / 16 / cols)
        return -1;
    *out = 16 * rows * cols + 16 * cols + 8 * rows;
    return 0;
}

/* Closes the current section: required keys, defaults, memory bound. The
 * line of a missing-key message is the section header's. */
static int finish_section(parser *p, dyt_err *e)
{
    suite_model *m = p->cur;
    if (!m)
        return DYT_OK;
    int line = p->line;
    p->line = m->line;
    for (int k = 0; k < KEY_COUNT; k++)
        if (key_required[k] && !p->key_line[k])
            return perr(p, e, "section [%s] is missing '%s'", m->name, key_names[k]);
    if (!p->key_line[KEY_EPS])
        m->eps = m->norm == NORM_RMSNORM ? 1e-6 : 1e-5;
    uint64_t limit = p->mem_limit ? p->mem_limit : dyt_mem_usable_bytes();
    p->line = p->tokens_line;
    for (size_t i = 0; i < m->n_tokens; i++) {
        uint64_t need;
        if (case_bytes(m->tokens[i], m->hidden, &need) != 0)
            return perr(p, e, "tokens %zu x hidden %zu is too large", m->tokens[i], m->hidden);
        /* limit 0 means the usable memory is unknown: nothing to compare. */
        if (limit && need > limit) {
            char nb[32], lb[32];
            dyt_fmt_bytes(nb, sizeof nb, (double)need);
            dyt_fmt_bytes(lb, sizeof lb, (double)limit);
            return perr(p, e,
                        "tokens %zu x hidden %zu needs %s of buffers (x, y, dy, dx in fp32), "
                        "more than the %s of memory available",
                        m->tokens[i], m->hidden, nb, lb);
        }
    }
    p->line = line;
    p->cur = NULL;
    return DYT_OK;
}

static int begin_section(parser *p, dyt_err *e, char *s, size_t *cap)
{
    char ex[80];
    size_t n = strlen(s);
    if (s[n - 1] != ']')
        return perr(p, e, "section header '%s' lacks its closing ']'", excerpt(s, ex, sizeof ex));
    s[n - 1] = '\0';
    char *name = trim(s + 1);
    if (!*name)
        return perr(p, e, "empty section name '[]'");
    if (strlen(name) >= sizeof p->cur->name)
        return perr(p, e, "section name '%s' is longer than %zu characters",
                    excerpt(name, ex, sizeof ex), sizeof p->cur->name - 1);
    for (const char *c = name; *c; c++)
        if (!valid_name_char((unsigned char)*c))
            return perr(p, e, "section name '%s' may hold only letters, digits and - _ . +",
                        excerpt(name, ex, sizeof ex));
    for (size_t i = 0; i < p->out->n_models; i++)
        if (!strcmp(p->out->models[i].name, name))
            return perr(p, e, "duplicate section [%s] (first defined on line %d)", name,
                        p->out->models[i].line);
    if (p->out->n_models == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        suite_model *nm = realloc(p->out->models, nc * sizeof *nm);
        if (!nm)
            return dyt_errf(e, DYT_RESOURCE, "%s:%d: out of memory", p->file, p->line);
        p->out->models = nm;
        *cap = nc;
    }
    suite_model *m = &p->out->models[p->out->n_models++];
    memset(m, 0, sizeof *m);
    strcpy(m->name, name);
    m->alpha = 0.5; /* the DyT paper's default for non-LLM models */
    m->beta = 1;
    m->affine = 1;
    m->layout = LAYOUT_CHANNELS_LAST;
    snprintf(m->file, sizeof m->file, "%s", p->file);
    m->line = p->line;
    p->cur = m;
    memset(p->key_line, 0, sizeof p->key_line);
    p->tokens_line = 0;
    return DYT_OK;
}

static int parse_line(parser *p, dyt_err *e, char *raw, size_t *cap)
{
    char ex[80];
    strip_comment(raw);
    char *s = trim(raw);
    if (!*s || *s == ';')
        return DYT_OK;
    if (*s == '[') {
        int rc = finish_section(p, e);
        return rc ? rc : begin_section(p, e, s, cap);
    }
    char *eq = strchr(s, '=');
    if (!eq)
        return perr(p, e, "expected '[section]', 'key = value' or '# comment', got '%s'",
                    excerpt(s, ex, sizeof ex));
    *eq = '\0';
    char *key = trim(s), *val = trim(eq + 1);
    if (!*key)
        return perr(p, e, "missing key before '='");
    int k = 0;
    while (k < KEY_COUNT && strcmp(key, key_names[k]))
        k++;
    if (k == KEY_COUNT)
        return perr(p, e,
                    "unknown key '%s' (known: domain, norm, hidden, tokens, layers, alpha, "
                    "beta, affine, eps, layout, source)",
                    excerpt(key, ex, sizeof ex));
    if (!p->cur)
        return perr(p, e, "key '%s' outside any [section]", key_names[k]);
    if (p->key_line[k])
        return perr(p, e, "duplicate key '%s' in [%s] (first set on line %d)", key_names[k],
                    p->cur->name, p->key_line[k]);
    if (!*val)
        return perr(p, e, "empty value for '%s'", key_names[k]);
    p->key_line[k] = p->line;
    return parse_value(p, e, k, val);
}

/* The suite's name: the file's stem ("suites/llm.suite" -> "llm"). */
static void stem(const char *path, char *dst, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t len = strlen(b);
    if (len > 6 && !strcmp(b + len - 6, ".suite"))
        len -= 6;
    if (len >= n)
        len = n - 1;
    memcpy(dst, b, len);
    dst[len] = '\0';
}

static int parse_text(const char *file, const char *text, size_t len, uint64_t mem_limit,
                      suite *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    parser p = {.file = file, .line = 1, .mem_limit = mem_limit, .out = out};
    if (strlen(text) != len)
        return perr(&p, e, "file contains a NUL byte: not a text suite file");
    /* A UTF-8 byte order mark, as some editors write one, is not text. */
    size_t bom = len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3) ? 3 : 0;
    char *copy = malloc(len + 1);
    if (!copy)
        return dyt_errf(e, DYT_RESOURCE, "%s: out of memory", file);
    memcpy(copy, text + bom, len + 1 - bom);
    size_t cap = 0;
    int rc = DYT_OK;
    char *line = copy;
    for (p.line = 1; line; p.line++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if ((rc = parse_line(&p, e, line, &cap)))
            break;
        line = nl ? nl + 1 : NULL;
    }
    p.line--; /* the last line read, for messages at end of file */
    if (!rc)
        rc = finish_section(&p, e);
    if (!rc && out->n_models == 0) {
        p.line = 1;
        rc = perr(&p, e, "no [section] in this file: a suite needs at least one model");
    }
    free(copy);
    if (rc) {
        suite_free(out);
        return rc;
    }
    stem(file, out->name, sizeof out->name);
    snprintf(out->path, sizeof out->path, "%s", file);
    out->content_hash = dyt_hash64(text, len, DYT_HASH64_INIT);
    return DYT_OK;
}

int suite_parse_string(const char *name, const char *text, uint64_t mem_limit, suite *out,
                       dyt_err *e)
{
    return parse_text(name, text, strlen(text), mem_limit, out, e);
}

int suite_parse_file(const char *path, uint64_t mem_limit, suite *out, dyt_err *e)
{
    char *text;
    size_t len;
    memset(out, 0, sizeof *out);
    int rc = dyt_read_file(path, &text, &len, e);
    if (rc)
        return rc;
    rc = parse_text(path, text, len, mem_limit, out, e);
    free(text);
    return rc;
}

void suite_free(suite *s)
{
    if (!s)
        return;
    free(s->models);
    memset(s, 0, sizeof *s);
}
