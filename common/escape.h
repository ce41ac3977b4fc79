/* Escaping for every text format dytbench writes (and for the shell
 * scripts of slurm submit). Any string that comes from
 * a user (run labels, model names, suite sources, paths) goes through one of
 * these before it reaches the output, so `50%_a&b<c>"|$x` renders literally
 * and control bytes or invalid UTF-8 cannot break the file or the terminal.
 * Invalid UTF-8 (a stray byte, an overlong form, a surrogate, beyond
 * U+10FFFF) is one U+FFFD per bad byte in the formats that carry Unicode
 * (XML, HTML, Markdown, gnuplot), '?' in LaTeX, and \xNN on a terminal. */
#pragma once
#include <stddef.h>
#include <stdio.h>

/* XML 1.0 text and attribute values: & < > " ' as entities; tab, newline
 * and CR as character references (kept through attribute normalisation);
 * every character XML 1.0 forbids or discourages (the other C0 and C1
 * controls, U+FFFE, U+FFFF) as U+FFFD. */
void esc_xml(FILE *f, const char *s);
/* HTML text and attribute values: & < > " ' as entities, control
 * characters other than tab, newline and CR as U+FFFD. */
void esc_html(FILE *f, const char *s);
/* # $ % & _ { } ~ ^ \ and the rest of LaTeX's specials; control
 * characters dropped (newline: a space). */
void esc_latex(FILE *f, const char *s);
/* Table cell: | \ ` * _ [ ] < > and newlines; control characters as
 * U+FFFD. */
void esc_markdown(FILE *f, const char *s);
void esc_csv(FILE *f, const char *s); /* RFC 4180: quote when needed, "" */
/* Inside a "..." string with enhanced text off: \ and " escaped, newlines
 * as spaces, control characters as U+FFFD (gnuplot copies them into the
 * SVG it writes, where XML forbids them). */
void esc_gnuplot(FILE *f, const char *s);
/* A terminal: text as it is, except that control characters (C0, DEL, C1)
 * and the bidirectional overrides are shown as \xNN or \uNNNN, and invalid
 * UTF-8 bytes as \xNN, so that no label can move the cursor, recolour or
 * retitle the terminal, or reorder what follows. */
void esc_term(FILE *f, const char *s);
/* esc_term into buf (n > 0, always terminated, cut with "..." when it does
 * not fit); returns buf. For printf columns: printf("%-16s", esc_term_str(...)). */
const char *esc_term_str(char *buf, size_t n, const char *s);
/* A malloc'd copy of s that is valid UTF-8: each invalid byte becomes
 * U+FFFD, the rest as it is (for libraries that refuse invalid UTF-8, such
 * as jansson). NULL when out of memory. */
char *esc_utf8_dup(const char *s);
/* One single-quoted POSIX shell word: it's -> 'it'\''s'. */
void esc_shell(FILE *f, const char *s);
