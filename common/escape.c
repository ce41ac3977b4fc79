/* Escaping for XML, HTML, LaTeX, Markdown, CSV, gnuplot strings and the
 * terminal. Each function writes the escaped form of s to f; NULL prints
 * nothing. Every string from the store or the user goes through one of
 * these on its way out (escape.h says what each one guarantees). The one
 * UTF-8 decoder below decides, for all of them, what a character is. */
#include "escape.h"

#include "common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* The character at *p: its code point and byte count, *p advanced past
 * it; 0 (and *p advanced by one byte) when the byte there does not start
 * a valid UTF-8 sequence (stray continuation, overlong form, surrogate,
 * beyond U+10FFFF, cut short). */
static size_t next_char(const unsigned char **p, uint32_t *cp)
{
    const unsigned char *s = *p;
    size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
                                                          : s[0] >= 0xf0 && s[0] <= 0xf4     ? 4
                                                                                             : 0;
    uint32_t c = n == 1 ? s[0] : n == 2 ? s[0] & 0x1fu : n == 3 ? s[0] & 0x0fu : s[0] & 0x07u;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            n = 0;
            break;
        }
        c = c << 6 | (s[i] & 0x3fu);
    }
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (n > 1 && (c < least[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)))
        n = 0;
    *p += n ? n : 1;
    *cp = c;
    return n;
}

/* C0 controls, DEL and C1 controls. */
static int is_control(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/* Characters XML 1.0 forbids (the C0 controls but tab, newline and CR;
 * U+FFFE, U+FFFF) or discourages (DEL, C1 controls); HTML calls them parse
 * errors too. */
static int markup_bad(uint32_t c)
{
    return (is_control(c) && c != '\t' && c != '\n' && c != '\r') || c == 0xfffe || c == 0xffff;
}

/* What the escapers that write every other character as it is replace
 * in ASCII (NULL: nothing). */
typedef const char *const ascii_table[128];

static ascii_table html_ascii = {
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;",
};

/* XML as HTML, and whitespace as references, which attribute values keep. */
static ascii_table xml_ascii = {
    ['&'] = "&amp;",  ['<'] = "&lt;",  ['>'] = "&gt;",   ['"'] = "&quot;",
    ['\''] = "&#39;", ['\t'] = "&#9;", ['\n'] = "&#10;", ['\r'] = "&#13;",
};

/* Markdown's table and emphasis characters; HTML's three; whitespace
 * would end a table row. */
static ascii_table markdown_ascii = {
    ['|'] = "\\|",   ['\\'] = "\\\\", ['`'] = "\\`", ['*'] = "\\*", ['_'] = "\\_",  ['['] = "\\[",
    [']'] = "\\]",   ['#'] = "\\#",   ['$'] = "\\$", ['~'] = "\\~", ['<'] = "&lt;", ['>'] = "&gt;",
    ['&'] = "&amp;", ['\n'] = " ",    ['\r'] = " ",  ['\t'] = " ",
};

/* For a double-quoted gnuplot string used with `noenhanced`: backslash
 * and quote need escaping; newlines would end the command. '@' '^' '_'
 * '{' '}' '&' are only special in enhanced mode, which dytbench turns off
 * on every labelled element. */
static ascii_table gnuplot_ascii = {
    ['\\'] = "\\\\", ['"'] = "\\\"", ['\n'] = " ", ['\r'] = " ", ['\t'] = " ",
};

/* s with the ASCII characters of table replaced, characters markup
 * forbids and invalid UTF-8 as U+FFFD, everything else as it is. */
static void by_table(FILE *f, const char *s, ascii_table table)
{
    const unsigned char *p = (const unsigned char *)s;
    while (p && *p) {
        const unsigned char *start = p;
        uint32_t c;
        size_t n = next_char(&p, &c);
        if (!n || markup_bad(c))
            fputs(REPLACEMENT, f);
        else if (c < 128 && table[c])
            fputs(table[c], f);
        else
            fwrite(start, 1, n, f);
    }
}

void esc_xml(FILE *f, const char *s)
{
    by_table(f, s, xml_ascii);
}

void esc_html(FILE *f, const char *s)
{
    by_table(f, s, html_ascii);
}

/* UTF-8 characters the report's own text uses, spelled so that pdflatex
 * needs no extra package. */
static const struct {
    const char *utf8, *tex;
} latex_utf8[] = {
    {"\xc2\xb5", "\\textmu{}"},              /* µ */
    {"\xc3\x97", "\\texttimes{}"},           /* × */
    {"\xc2\xb1", "\\textpm{}"},              /* ± */
    {"\xe2\x80\x93", "--"},                  /* – */
    {"\xe2\x80\x94", "---"},                 /* — */
    {"\xe2\x88\x92", "\\textminus{}"},       /* − */
    {"\xe2\x89\xa4", "\\ensuremath{\\leq}"}, /* ≤ */
    {"\xe2\x89\xa5", "\\ensuremath{\\geq}"}, /* ≥ */
    {"\xce\xb1", "\\ensuremath{\\alpha}"},   /* α */
    {"\xce\xa3", "\\ensuremath{\\Sigma}"},   /* Σ */
};

/* The ASCII characters LaTeX gives a meaning; `` and '' would be quotes
 * (T1 ligatures); whitespace is a blank. */
static ascii_table latex_ascii = {
    ['#'] = "\\#",
    ['$'] = "\\$",
    ['%'] = "\\%",
    ['&'] = "\\&",
    ['_'] = "\\_",
    ['{'] = "\\{",
    ['}'] = "\\}",
    ['~'] = "\\textasciitilde{}",
    ['^'] = "\\textasciicircum{}",
    ['\\'] = "\\textbackslash{}",
    ['<'] = "\\textless{}",
    ['>'] = "\\textgreater{}",
    ['|'] = "\\textbar{}",
    ['"'] = "\\textquotedbl{}",
    ['`'] = "\\textasciigrave{}",
    ['\''] = "\\textquotesingle{}",
    ['\n'] = " ",
    ['\r'] = " ",
    ['\t'] = " ",
};

/* Beyond this table and ASCII, the Latin-1 supplement and Latin
 * Extended-A are what pdflatex's T1 encoding and inputenc's utf8 know;
 * anything else would stop the compilation. */
static int latex_known(uint32_t c)
{
    return c >= 0xa0 && c <= 0x17f;
}

void esc_latex(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (p && *p) {
        const unsigned char *start = p;
        uint32_t c;
        size_t n = next_char(&p, &c);
        if (!n) {
            fputc('?', f);
            continue;
        }
        if (c >= 0x80) {
            size_t k = 0;
            for (; k < DYT_ARRAY_LEN(latex_utf8); k++)
                if (strlen(latex_utf8[k].utf8) == n && !memcmp(start, latex_utf8[k].utf8, n))
                    break;
            if (k < DYT_ARRAY_LEN(latex_utf8))
                fputs(latex_utf8[k].tex, f);
            else if (latex_known(c))
                fwrite(start, 1, n, f);
            else
                fputc('?', f);
            continue;
        }
        if (c == '-') /* -- would be a dash (a T1 ligature) */
            fputs(*p == '-' ? "-{}" : "-", f);
        else if (latex_ascii[c])
            fputs(latex_ascii[c], f);
        else if (!is_control(c))
            fputc((int)c, f);
    }
}

void esc_markdown(FILE *f, const char *s)
{
    by_table(f, s, markdown_ascii);
}

void esc_csv(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n") && s[0] != ' ' && (!*s || s[strlen(s) - 1] != ' ')) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void esc_gnuplot(FILE *f, const char *s)
{
    by_table(f, s, gnuplot_ascii);
}

/* The terminal escaper writes to a FILE or into a buffer. */
typedef struct {
    FILE *f;
    char *buf;
    size_t n, used;
    int full;
} term_out;

static void term_put(term_out *o, const void *b, size_t len)
{
    if (o->f) {
        fwrite(b, 1, len, o->f);
        return;
    }
    if (o->full || o->used + len + 4 > o->n) { /* room for "..." and the NUL */
        o->full = 1;
        return;
    }
    memcpy(o->buf + o->used, b, len);
    o->used += len;
}

/* Characters that reorder the text after them (bidirectional embeddings,
 * overrides, isolates and marks) or end a line where a terminal does not
 * expect it. */
static int term_invisible(uint32_t c)
{
    return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x200e ||
           c == 0x200f || c == 0x061c || c == 0x2028 || c == 0x2029;
}

static void term_escape(term_out *o, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (p && *p && !o->full) {
        const unsigned char *start = p;
        uint32_t c;
        size_t n = next_char(&p, &c);
        char esc[16];
        if (!n || c < 0x20 || c == 0x7f)
            term_put(o, esc, (size_t)snprintf(esc, sizeof esc, "\\x%02x", *start));
        else if (is_control(c) || term_invisible(c))
            term_put(o, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c));
        else
            term_put(o, start, n);
    }
}

void esc_term(FILE *f, const char *s)
{
    term_out o = {.f = f};
    term_escape(&o, s);
}

const char *esc_term_str(char *buf, size_t n, const char *s)
{
    term_out o = {.buf = buf, .n = n};
    term_escape(&o, s);
    if (o.full && n >= 4) {
        memcpy(buf + o.used, "...", 3);
        o.used += 3;
    }
    buf[o.used < n ? o.used : n - 1] = '\0';
    return buf;
}

char *esc_utf8_dup(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *o = out; /* a bad byte: 3 bytes of U+FFFD */
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const unsigned char *start = p;
        uint32_t c;
        size_t k = next_char(&p, &c);
        memcpy(o, k ? (const char *)start : REPLACEMENT, k ? k : 3);
        o += k ? k : 3;
    }
    *o = '\0';
    return out;
}

void esc_shell(FILE *f, const char *s)
{
    /* One POSIX shell word: inside single quotes nothing is special but
     * the quote itself, which closes, is escaped, and reopens. */
    fputc('\'', f);
    for (; s && *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}
