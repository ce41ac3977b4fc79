/* The CLI's option layer (cli.h): a command's table of options (cli_option)
 * turned into getopt_long's, with one handling of --help, unknown options,
 * missing and unwanted values for every command; each value read by the
 * shared parser of its kind and kept for the command; forwarding of the
 * options a command passes on to another (interleave to run, calibrate to
 * interleave); the usage-error message and the recorded command line.
 * The help text made from the table is help.c's.
 *
 * Forwarding: a command's table is merged with its forward's (and theirs),
 * its own entries first, so getopt_long knows every option and its value
 * and abbreviations resolve over the whole set. Which table an option came
 * from is read from getopt_long's longindex (or, for a short option, from
 * the command's own letters), never from the keys, which each command
 * numbers as it likes. */
#include "cli.h"
#include "escape.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char command_line[4096];

const char *cli_command_line(void)
{
    return command_line;
}

void cli_set_command_line(int argc, char **argv)
{
    size_t off = 0;
    command_line[0] = '\0';
    for (int i = 0; i < argc && off < sizeof command_line - 1; i++) {
        int w =
            snprintf(command_line + off, sizeof command_line - off, "%s%s", i ? " " : "", argv[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

/* `dytbench: <who: ><message>` on stderr; the message may quote labels,
 * paths and file contents, so it reaches the terminal through esc_term. */
static void vmessage(const char *who, const char *fmt, va_list ap)
{
    char msg[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fputs("dytbench: ", stderr);
    if (who) {
        esc_term(stderr, who);
        fputs(": ", stderr);
    }
    esc_term(stderr, msg);
    fputc('\n', stderr);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(NULL, fmt, ap);
    va_end(ap);
    return DYT_USAGE;
}

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(NULL, fmt, ap);
    va_end(ap);
    return code > DYT_FAIL ? code : DYT_USAGE;
}

/* What the user typed, safe to echo to a terminal: control bytes as \xNN,
 * long text cut with "...". n >= 8. */
static const char *shown(const char *s, char *buf, size_t n)
{
    size_t o = 0;
    for (; *s && o + 8 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    snprintf(buf + o, n - o, "%s", *s ? "..." : "");
    return buf;
}

static void verror(cli_parser *p, const char *fmt, va_list ap)
{
    vmessage(p->who, fmt, ap);
    p->exit = DYT_USAGE;
}

int cli_error(cli_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(p, fmt, ap);
    va_end(ap);
    return DYT_USAGE;
}

int cli_oom(cli_parser *p)
{
    cli_error(p, "out of memory");
    return p->exit = DYT_RESOURCE;
}

/* `dytbench: <who>: <opt>: '<s>' <why>`. */
static int bad_value(cli_parser *p, const char *opt, const char *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad_value(cli_parser *p, const char *opt, const char *s, const char *fmt, ...)
{
    char buf[256], why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return cli_error(p, "%s: '%s' %s", opt ? opt : p->opt, shown(s, buf, sizeof buf), why);
}

static int has_name(const struct option *o, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(o[i].name, name))
            return 1;
    return 0;
}

/* A key that is a letter is also its option's short form. */
static int is_letter(int key)
{
    return key > 0 && key < 128 && isalnum(key);
}

/* The {0} that ends a table (a heading has a help but no name). */
static int table_end(const cli_option *o)
{
    return !o || (!o->name && !o->help);
}

static void add_option(cli_parser *p, size_t *n, const cli_option *o)
{
    if (*n == CLI_MAX_OPTIONS) {
        fprintf(stderr, "dytbench: %s: more than %d options (raise CLI_MAX_OPTIONS)\n",
                p->cmd->name, CLI_MAX_OPTIONS);
        abort();
    }
    /* Every entry its own val, so that getopt_long sees two options that
     * share a prefix as ambiguous (it picks the first when their vals are
     * equal, and the tables of different commands number alike). */
    p->rows[*n] = o;
    p->merged[*n] = (struct option){o->name, o->kind == CLI_FLAG ? no_argument : required_argument,
                                    NULL, CLI_VAL_BASE + (int)*n};
    (*n)++;
}

/* Appends the short letters of table that p->shorts lacks, each with
 * its ':' when it takes a value. */
static void add_shorts(cli_parser *p, const cli_option *table)
{
    size_t n = strlen(p->shorts);
    for (const cli_option *o = table; !table_end(o); o++) {
        if (!o->name || !is_letter(o->key) || strchr(p->shorts + 1, o->key) ||
            n + 3 > sizeof p->shorts)
            continue;
        p->shorts[n++] = (char)o->key;
        if (o->kind != CLI_FLAG)
            p->shorts[n++] = ':';
    }
    p->shorts[n] = '\0';
}

void cli_parse_begin(cli_parser *p, const cli_command *cmd, const char *who, int argc, char **argv)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->who = who ? who : cmd->name;
    p->on_behalf = who != NULL;
    p->argc = argc;
    p->argv = argv;
    p->exit = CLI_GO;
    size_t n = 0;
    for (const cli_option *o = cmd->options; !table_end(o); o++)
        if (o->name)
            add_option(p, &n, o);
    add_option(p, &n, &cli_help_option);
    p->n_own = n;
    /* ':' first: a missing value is told apart from an unknown option. */
    strcpy(p->shorts, ":h");
    add_shorts(p, cmd->options);
    for (const cli_command *f = cmd->forward; f; f = f->forward) {
        size_t before = n;
        for (const cli_option *o = f->options; !table_end(o); o++)
            if (o->name && !has_name(p->merged, before, o->name))
                add_option(p, &n, o);
        add_shorts(p, f->options);
    }
    memset(&p->merged[n], 0, sizeof p->merged[n]);
    optind = 0; /* glibc: start over, forgetting any earlier parse */
    opterr = 0;
}

/* The entry of short option c in [from, to) of the merged table; -1 if
 * none. */
static int short_entry(const cli_parser *p, int c, size_t from, size_t to)
{
    for (size_t i = from; i < to && p->merged[i].name; i++)
        if (p->rows[i]->key == c)
            return (int)i;
    return -1;
}

/* The merged entries whose names start with the name in "--name[=v]". */
static size_t prefix_matches(const cli_parser *p, const char *arg, const struct option **first,
                             char *list, size_t n)
{
    const char *name = arg + 2;
    size_t len = strcspn(name, "=");
    size_t hits = 0, o = 0;
    list[0] = '\0';
    for (size_t i = 0; p->merged[i].name; i++) {
        if (strncmp(p->merged[i].name, name, len))
            continue;
        if (strlen(p->merged[i].name) == len) { /* exact: the only one */
            *first = &p->merged[i];
            return 1;
        }
        if (!hits++)
            *first = &p->merged[i];
        if (o < n)
            o += (size_t)snprintf(list + o, n - o, "%s--%s", o ? ", " : "", p->merged[i].name);
    }
    return hits;
}

/* getopt_long said '?' or ':' for the element before optind (a long
 * option) or for the letter optopt. */
static void report_bad(cli_parser *p, int c)
{
    const char *arg = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "";
    int is_long = !strncmp(arg, "--", 2);
    const struct option *o = NULL;
    char list[256], buf[256];
    size_t hits = is_long ? prefix_matches(p, arg, &o, list, sizeof list) : 0;
    /* A short option's error leaves optopt its letter and optind maybe
     * still before a long option met earlier: tell them apart. */
    if (is_long && optopt && !(hits == 1 && o->val == optopt))
        is_long = 0;
    if (is_long && c == ':' && !o) /* cannot happen: getopt_long found it */
        is_long = 0;
    const char *see = p->cmd->name;
    if (!is_long) {
        char letter[3] = {'-', (char)optopt, '\0'};
        if (c == ':')
            cli_error(p, "option '%s' needs a value (see dytbench %s --help)", letter, see);
        else
            cli_error(p, "unknown option '%s' (see dytbench %s --help)",
                      shown(letter, buf, sizeof buf), see);
    } else if (c == ':') {
        cli_error(p, "option '--%s' needs a value (see dytbench %s --help)", o->name, see);
    } else if (hits == 1) {
        cli_error(p, "option '--%s' takes no value (see dytbench %s --help)", o->name, see);
    } else if (hits > 1) {
        cli_error(p, "option '%.*s' is ambiguous: %s (see dytbench %s --help)",
                  (int)strcspn(arg, "="), shown(arg, buf, sizeof buf), list, see);
    } else {
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
        cli_error(p, "unknown option '%s' (see dytbench %s --help)", shown(name, buf, sizeof buf),
                  see);
    }
}

static void forward(cli_parser *p, const struct option *o, int c, int has_value)
{
    char *s = NULL;
    int w =
        o ? (has_value ? asprintf(&s, "--%s=%s", o->name, optarg) : asprintf(&s, "--%s", o->name))
          : (has_value ? asprintf(&s, "-%c%s", c, optarg) : asprintf(&s, "-%c", c));
    char **grown = w < 0 ? NULL : realloc(p->forwarded, (size_t)(p->n_forwarded + 2) * sizeof s);
    if (!grown) {
        free(s);
        cli_oom(p);
        return;
    }
    p->forwarded = grown;
    p->forwarded[p->n_forwarded++] = s;
    p->forwarded[p->n_forwarded] = NULL;
}

void cli_forward_current(cli_parser *p)
{
    const struct option *o = NULL;
    for (size_t i = 0; i < p->n_own && !o; i++)
        if (!strcmp(p->opt + 2, p->merged[i].name))
            o = &p->merged[i];
    forward(p, o, p->opt[1], optarg != NULL);
}

/* Reads the value of the command's own entry i (in optarg) by its kind,
 * and keeps it. */
static int take_value(cli_parser *p, size_t i)
{
    const cli_option *r = p->rows[i];
    uint64_t u = 0;
    double x = 0;
    int k = 0, rc = DYT_OK;
    switch (r->kind) {
    case CLI_COUNT:
        rc = cli_count(p, NULL, optarg, r->min, r->max ? r->max : UINT64_MAX, &u);
        break;
    case CLI_SIZE:
        rc = cli_size(p, NULL, optarg, &u);
        break;
    case CLI_SEED:
        rc = cli_seed(p, NULL, optarg, &u);
        break;
    case CLI_SECONDS:
        rc = cli_seconds(p, NULL, optarg, &x);
        break;
    case CLI_PERCENT:
        rc = cli_percent(p, NULL, optarg, &x);
        break;
    case CLI_NUMBER:
        rc = cli_between(p, NULL, optarg, r->lo, r->hi, &x);
        break;
    case CLI_CHOICE:
        rc = cli_choice(p, NULL, optarg, r->choices, &k);
        u = (uint64_t)k;
        break;
    case CLI_FLAG:
    case CLI_TEXT:
        break;
    }
    if (rc != DYT_OK)
        return rc;
    p->seen[i].given++;
    p->seen[i].text = optarg;
    p->seen[i].u = u;
    p->seen[i].x = x;
    return DYT_OK;
}

int cli_next(cli_parser *p)
{
    while (p->exit == CLI_GO && !p->done) {
        int idx = -1;
        int c = getopt_long(p->argc, p->argv, p->shorts, p->merged, &idx);
        if (c == -1) {
            p->done = 1;
            return -1;
        }
        if (c == '?' || c == ':') {
            report_bad(p, c);
            return -1;
        }
        size_t n_all = p->n_own;
        while (p->merged[n_all].name)
            n_all++;
        if (idx < 0) /* a short option: the command's own letter first */
            idx = short_entry(p, c, 0, p->n_own);
        if (idx < 0)
            idx = short_entry(p, c, p->n_own, n_all);
        const struct option *o = idx >= 0 ? &p->merged[idx] : NULL;
        int own = idx >= 0 && (size_t)idx < p->n_own;
        if (o)
            snprintf(p->opt, sizeof p->opt, "--%s", o->name);
        else
            snprintf(p->opt, sizeof p->opt, "-%c", c);
        int key = own ? p->rows[idx]->key : c;
        if (own && key == 'h' && p->on_behalf) {
            cli_error(p, "--help is not passed on to %s", p->cmd->name);
            return -1;
        }
        if (own && key == 'h') {
            cli_help(stdout, p->cmd);
            cli_help_footer(stdout, p->cmd->exit1);
            p->exit = DYT_OK;
            return -1;
        }
        if (own && p->rows[idx]->refused) {
            cli_error(p, "%s%s", p->opt, p->rows[idx]->refused);
            return -1;
        }
        if (own)
            return take_value(p, (size_t)idx) == DYT_OK ? key : -1;
        forward(p, o, c, o ? o->has_arg != no_argument : optarg != NULL);
    }
    return -1;
}

int cli_parse_end(cli_parser *p, int max_operands)
{
    while (cli_next(p) != -1)
        ;
    if (p->exit != CLI_GO)
        return p->exit;
    p->operands = p->argv + optind;
    p->n_operands = p->argc - optind;
    if (p->n_operands > max_operands) {
        char buf[256];
        return cli_error(p, "unexpected argument '%s' (see dytbench %s --help)",
                         shown(p->operands[max_operands], buf, sizeof buf), p->cmd->name);
    }
    return CLI_GO;
}

/* The command's own entry of key; -1 if none. */
static int own_entry(const cli_parser *p, int key)
{
    for (size_t i = 0; i < p->n_own; i++)
        if (p->rows[i]->key == key)
            return (int)i;
    return -1;
}

int cli_given(const cli_parser *p, int key)
{
    int i = own_entry(p, key);
    return i < 0 ? 0 : p->seen[i].given;
}

const char *cli_text(const cli_parser *p, int key, const char *dflt)
{
    int i = own_entry(p, key);
    return i < 0 || !p->seen[i].given ? dflt : p->seen[i].text;
}

uint64_t cli_uint(const cli_parser *p, int key, uint64_t dflt)
{
    int i = own_entry(p, key);
    return i < 0 || !p->seen[i].given ? dflt : p->seen[i].u;
}

double cli_real(const cli_parser *p, int key, double dflt)
{
    int i = own_entry(p, key);
    return i < 0 || !p->seen[i].given ? dflt : p->seen[i].x;
}

int cli_index(const cli_parser *p, int key, int dflt)
{
    int i = own_entry(p, key);
    return i < 0 || !p->seen[i].given ? dflt : (int)p->seen[i].u;
}

void cli_parse_free(cli_parser *p)
{
    for (int i = 0; i < p->n_forwarded; i++)
        free(p->forwarded[i]);
    free(p->forwarded);
    p->forwarded = NULL;
    p->n_forwarded = 0;
}

int cli_count(cli_parser *p, const char *opt, const char *s, uint64_t min, uint64_t max,
              uint64_t *out)
{
    int digits = *s != '\0';
    for (const char *c = s; *c && digits; c++)
        digits = *c >= '0' && *c <= '9';
    errno = 0;
    unsigned long long v = digits ? strtoull(s, NULL, 10) : 0;
    if ((!digits || errno || v < min || v > max) && max == UINT64_MAX)
        return bad_value(p, opt, s, "is not a count of at least %llu", (unsigned long long)min);
    if (!digits || errno || v < min || v > max)
        return bad_value(p, opt, s, "is not a count in %llu..%llu", (unsigned long long)min,
                         (unsigned long long)max);
    *out = v;
    return DYT_OK;
}

int cli_seed(cli_parser *p, const char *opt, const char *s, uint64_t *out)
{
    int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const char *digits = hex ? s + 2 : s;
    int ok = *digits != '\0';
    for (const char *c = digits; *c && ok; c++)
        ok = hex ? strchr("0123456789abcdefABCDEF", *c) != NULL : *c >= '0' && *c <= '9';
    errno = 0;
    unsigned long long v = ok ? strtoull(digits, NULL, hex ? 16 : 10) : 0;
    if (!ok || errno)
        return bad_value(p, opt, s, "is not a seed (a 64-bit decimal, or hexadecimal after 0x)");
    *out = v;
    return DYT_OK;
}

int cli_size(cli_parser *p, const char *opt, const char *s, uint64_t *out)
{
    if (dyt_parse_size(s, out) != 0)
        return bad_value(p, opt, s, "is not a size (4096, 64K, 32M, 1G)");
    return DYT_OK;
}

int cli_seconds(cli_parser *p, const char *opt, const char *s, double *out)
{
    double v;
    if (dyt_parse_double(s, &v) != 0 || !(v >= 0 && v <= 86400))
        return bad_value(p, opt, s, "is not a time in seconds (0 to 86400)");
    *out = v;
    return DYT_OK;
}

int cli_threads_fit(cli_parser *p, const char *opt, uint64_t t, int oversubscribe)
{
    int hw = dyt_hw_threads();
    if (oversubscribe || t <= (uint64_t)hw)
        return DYT_OK;
    return cli_error(p,
                     "%s %llu: more threads than the %d this machine runs at once (time-sliced "
                     "threads measure the scheduler; --oversubscribe runs them anyway)",
                     opt ? opt : p->opt, (unsigned long long)t, hw);
}

int cli_percent(cli_parser *p, const char *opt, const char *s, double *out)
{
    if (dyt_parse_percent(s, out) != 0)
        return bad_value(p, opt, s, "is not a percentage like 5%% (0 to 1000)");
    return DYT_OK;
}

int cli_between(cli_parser *p, const char *opt, const char *s, double lo, double hi, double *out)
{
    double v;
    if (dyt_parse_double(s, &v) != 0 || !(v > lo && v < hi))
        return bad_value(p, opt, s, "is not a number in (%g, %g)", lo, hi);
    *out = v;
    return DYT_OK;
}

int cli_choice(cli_parser *p, const char *opt, const char *s, const char *const *choices, int *out)
{
    char list[256] = "";
    size_t n = 0, o = 0;
    for (; choices[n]; n++)
        if (!strcmp(s, choices[n])) {
            *out = (int)n;
            return DYT_OK;
        }
    for (size_t i = 0; i < n && o < sizeof list; i++)
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s",
                              i == 0       ? ""
                              : i + 1 == n ? " or "
                                           : ", ",
                              choices[i]);
    return bad_value(p, opt, s, "is not %s", list);
}
