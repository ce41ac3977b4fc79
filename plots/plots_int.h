/* Internals of the plots stage shared by its files: one figure's files,
 * the gnuplot run and the list of figures written (gp.c), and the figures
 * themselves (figures.c, fig_perf.c, fig_speedup.c). */
#pragma once
#include "figures.h"

/* gp.c: one figure's files and the gnuplot run -------------------------- */

typedef struct {
    char dir[4096]; /* out_dir/figures */
    char name[64];  /* file stem inside dir */
    FILE *gp, *dat;
    char *plot; /* the plot command, built in a memstream */
    size_t plot_len;
    FILE *plotf;
    int blocks;        /* data blocks written (gnuplot `index`) */
    int width, height; /* pixels; fig_begin sets 960 x 600 */
} fig_ctx;

/* The figures written so far. */
typedef struct {
    fig_file *v;
    size_t n;
    const char *dir;     /* out_dir/figures */
    const char *gnuplot; /* NULL: scripts only */
    FILE *log;
    char run_title[320]; /* "run #3 label on host (cpu)" */
} fig_list;

/* Closes c (fig_end), runs gnuplot when there is one, and appends the
 * figure to l. */
int fig_finish(fig_list *l, fig_ctx *c, const char *title, const char *caption, dyt_err *e);

/* fig_perf.c: bandwidth vs hidden size (one figure per pass) and time vs
 * tokens at one hidden size. Each adds nothing when there is no data. */
int fig_bandwidth(const fig_input *in, const char *pass, fig_list *l, dyt_err *e);
int fig_tokens(const fig_input *in, fig_list *l, dyt_err *e);
/* The threads and cache of the run's first measured case: the figures that
 * mix shapes keep to them, so one curve never mixes thread counts. */
const fig_case *fig_ref_case(const fig_input *in);
int fig_usable(const fig_case *c);

/* Opens NAME.gp and NAME.dat and writes the common preamble (palette that
 * survives greyscale, title, noenhanced text). */
int fig_begin(fig_ctx *c, const char *dir, const char *name, const char *title, dyt_err *e);
/* Starts a new data block (index c->blocks - 1) with a comment line. */
void fig_block(fig_ctx *c, const char *comment);
/* Writes the terminals and the plot command; closes the files. */
int fig_end(fig_ctx *c, dyt_err *e);
/* Runs gnuplot NAME.gp in dir; 0 when NAME.svg and NAME.png are non-empty. */
int fig_run(const char *gnuplot, const char *dir, const char *name, FILE *log);
/* A double-quoted gnuplot string: "...". */
void fig_str(FILE *f, const char *s);
/* A comment line's text (newlines removed). */
void fig_comment(FILE *f, const char *s);
/* fig_speedup.c */
int fig_speedup(const fig_input *in, fig_list *l, dyt_err *e);
