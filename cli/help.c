/* A command's --help, made from its descriptor (cli.h): the usage text,
 * then "options:" with one entry per option of its table -- the short and
 * long form and the value's name, the help aligned in one column and
 * wrapped to the terminal's 80 columns, headings as they stand -- the
 * layer's own -h/--help, the notes; and the footer with the exit statuses
 * every --help (and `dytbench --help`) ends with. */
#include "cli.h"

#include <ctype.h>
#include <string.h>

enum {
    WIDTH = 79,      /* the longest line */
    MAX_COLUMN = 30, /* where the help starts at most; longer entries sit above it */
};

/* "-o, --output FILE", "--cache hot|cold", "--quick". */
static void entry(const cli_option *o, char *buf, size_t n)
{
    size_t at = 0;
    if (o->key > 0 && o->key < 128 && isalnum(o->key))
        at += (size_t)snprintf(buf, n, "-%c, ", o->key);
    at += (size_t)snprintf(buf + at, n - at, "--%s", o->name);
    if (o->kind == CLI_FLAG || at >= n)
        return;
    if (o->arg || !o->choices) {
        snprintf(buf + at, n - at, " %s", o->arg ? o->arg : "VALUE");
        return;
    }
    for (size_t i = 0; o->choices[i] && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%c%s", i ? '|' : ' ', o->choices[i]);
}

/* Whether o is listed: an option with a help (not a heading, nor the
 * table's end). */
static int listed(const cli_option *o)
{
    return o->name && o->help && !o->refused;
}

/* Where a word of len characters too long for room columns (a comma
 * list) is cut: after its last comma that fits; 0 if none does. */
static size_t cut(const char *w, size_t len, int room)
{
    for (size_t i = len; i-- > 1;)
        if (w[i - 1] == ',' && (int)i <= room)
            return i;
    return 0;
}

/* The text, its words wrapped from column col to WIDTH; the first line
 * continues where the cursor stands (at col). */
static void wrapped(FILE *f, const char *text, int col)
{
    int at = col;
    for (const char *w = text; *w;) {
        size_t len = strcspn(w, " ");
        int blank = at > col, room = WIDTH - at - blank;
        size_t part = (int)len <= room ? len : cut(w, len, room);
        if (!part && at > col) { /* on the next line */
            fprintf(f, "\n%*s", col, "");
            at = col;
            blank = 0;
            part = (int)len <= WIDTH - col ? len : cut(w, len, WIDTH - col);
        }
        if (!part) /* no comma to cut at: the word as it is */
            part = len;
        if (blank)
            fputc(' ', f);
        fwrite(w, 1, part, f);
        at += blank + (int)part;
        w += part;
        if (part < len) { /* the rest of a cut word on the next line */
            fprintf(f, "\n%*s", col, "");
            at = col;
        }
        w += strspn(w, " ");
    }
    fputc('\n', f);
}

static void option_line(FILE *f, const cli_option *o, int col)
{
    char left[128];
    entry(o, left, sizeof left);
    int used = fprintf(f, "  %s", left);
    if (used + 2 > col) /* too long for the column: the help below it */
        fprintf(f, "\n%*s", col, "");
    else
        fprintf(f, "%*s", col - used, "");
    wrapped(f, o->help, col);
}

const cli_option cli_help_option = {"help", 'h', CLI_FLAG, .help = "this help"};

void cli_help(FILE *f, const cli_command *cmd)
{
    int col = 0;
    char left[128];
    for (const cli_option *o = cmd->options; o && (o->name || o->help); o++)
        if (listed(o)) {
            entry(o, left, sizeof left);
            int w = 2 + (int)strlen(left) + 2;
            if (w <= MAX_COLUMN && w > col)
                col = w;
        }
    if (col < 14)
        col = 14;
    fputs(cmd->usage, f);
    fputs("\noptions:\n", f);
    for (const cli_option *o = cmd->options; o && (o->name || o->help); o++) {
        if (!o->name)
            fprintf(f, " %s\n", o->help);
        else if (listed(o))
            option_line(f, o, col);
    }
    option_line(f, &cli_help_option, col);
    if (cmd->notes)
        fprintf(f, "\n%s", cmd->notes);
}

void cli_help_footer(FILE *f, const char *exit1)
{
    fputs("\nexit status:\n"
          "  0      ok\n",
          f);
    if (exit1)
        fprintf(f, "  1      %s\n", exit1);
    fputs("  2      usage or input error (a one-line message on stderr)\n"
          "  3      resource or I/O failure: out of memory, disk full, an output or\n"
          "         store that cannot be written (a one-line message on stderr)\n"
          "  128+N  stopped by signal N (130 Ctrl-C, 143 SIGTERM)\n",
          f);
}
