/* Escaping for HTML, LaTeX, Markdown, CSV and gnuplot strings. Each function
 * writes the escaped form of s to f; NULL prints nothing. Owned by the report
 * stage, which runs every string from the store through these. */
#include "escape.h"

#include <string.h>

void esc_html(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* UTF-8 characters the report's own text uses, spelled so that pdflatex
 * needs no extra package; other UTF-8 passes through to inputenc. */
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

void esc_latex(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if ((unsigned char)*s >= 0x80) {
            size_t k = 0;
            for (; k < sizeof latex_utf8 / sizeof latex_utf8[0]; k++)
                if (!strncmp(s, latex_utf8[k].utf8, strlen(latex_utf8[k].utf8)))
                    break;
            if (k < sizeof latex_utf8 / sizeof latex_utf8[0]) {
                fputs(latex_utf8[k].tex, f);
                s += strlen(latex_utf8[k].utf8) - 1;
                continue;
            }
        }
        switch (*s) {
        case '#':
        case '$':
        case '%':
        case '&':
        case '_':
        case '{':
        case '}':
            fputc('\\', f);
            fputc(*s, f);
            break;
        case '~':
            fputs("\\textasciitilde{}", f);
            break;
        case '^':
            fputs("\\textasciicircum{}", f);
            break;
        case '\\':
            fputs("\\textbackslash{}", f);
            break;
        case '<':
            fputs("\\textless{}", f);
            break;
        case '>':
            fputs("\\textgreater{}", f);
            break;
        case '|':
            fputs("\\textbar{}", f);
            break;
        case '"':
            fputs("\\textquotedbl{}", f);
            break;
        /* T1 ligatures would change these: -- is a dash, `` '' are quotes */
        case '-':
            fputs(s[1] == '-' ? "-{}" : "-", f);
            break;
        case '`':
            fputs("\\textasciigrave{}", f);
            break;
        case '\'':
            fputs("\\textquotesingle{}", f);
            break;
        case '\n':
            fputc(' ', f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

void esc_markdown(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '|':
        case '\\':
        case '`':
        case '*':
        case '_':
        case '[':
        case ']':
        case '#':
        case '$':
        case '~':
            fputc('\\', f);
            fputc(*s, f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '\n':
        case '\r':
            fputc(' ', f);
            break;
        default:
            fputc(*s, f);
        }
    }
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
    /* For a double-quoted gnuplot string used with `noenhanced`: backslash
     * and quote need escaping; newlines would end the command. '@' '^' '_'
     * '{' '}' '&' are only special in enhanced mode, which dytbench turns off
     * on every labelled element. */
    for (; s && *s; s++) {
        switch (*s) {
        case '\\':
            fputs("\\\\", f);
            break;
        case '"':
            fputs("\\\"", f);
            break;
        case '\n':
        case '\r':
            fputc(' ', f);
            break;
        default:
            fputc(*s, f);
        }
    }
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
