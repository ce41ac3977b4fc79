/* Escaping for every text format dytbench writes, and the shell scripts of
 * slurm submit. Any string that comes from a user (run labels, model
 * names, suite sources, paths) goes through one of these before it reaches
 * the output, so `50%_a&b<c>"|$x` renders literally. */
#pragma once
#include <stdio.h>

void esc_html(FILE *f, const char *s);     /* & < > " ' */
void esc_latex(FILE *f, const char *s);    /* # $ % & _ { } ~ ^ \ */
void esc_markdown(FILE *f, const char *s); /* table cell: | \ ` * _ [ ] < > and newlines */
void esc_csv(FILE *f, const char *s);      /* RFC 4180: quote when needed, "" */
void esc_gnuplot(FILE *f, const char *s);  /* inside a "..." string with enhanced text off */
void esc_shell(FILE *f, const char *s);    /* one single-quoted POSIX shell word: 'it'\''s' */
