/* Escaping for HTML, LaTeX, Markdown, CSV and gnuplot strings. Each function
 * writes the escaped form of s to f; NULL prints nothing. */
#include "escape.h"

#include <string.h>

void esc_html(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

void esc_latex(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '#': case '$': case '%': case '&': case '_': case '{': case '}':
            fputc('\\', f);
            fputc(*s, f);
            break;
        case '~': fputs("\\textasciitilde{}", f); break;
        case '^': fputs("\\textasciicircum{}", f); break;
        case '\\': fputs("\\textbackslash{}", f); break;
        case '<': fputs("\\textless{}", f); break;
        case '>': fputs("\\textgreater{}", f); break;
        case '|': fputs("\\textbar{}", f); break;
        case '"': fputs("\\textquotedbl{}", f); break;
        case '\n': fputc(' ', f); break;
        default: fputc(*s, f);
        }
    }
}

void esc_markdown(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '|': case '\\': case '`': case '*': case '_': case '[': case ']':
        case '#': case '$': case '~':
            fputc('\\', f);
            fputc(*s, f);
            break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '\n': case '\r': fputc(' ', f); break;
        default: fputc(*s, f);
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
        case '\\': fputs("\\\\", f); break;
        case '"': fputs("\\\"", f); break;
        case '\n': case '\r': fputc(' ', f); break;
        default: fputc(*s, f);
        }
    }
}
