/* The plots stage: gnuplot figures of a report. For each figure it writes
 * a data file (numbers only) and a script that holds every label (escaped
 * for gnuplot, noenhanced) and draws the figure as SVG and PNG; the report
 * embeds the SVG. The scripts run from the figures folder, so a user can
 * restyle one and rerun `gnuplot NAME.gp` there. */
#pragma once
#include "report_int.h"

/* Writes out_dir/figures/NAME.{gp,dat} for every figure the analysis has
 * data for; runs gnuplot on each when gnuplot is non-NULL (program name or
 * path), and marks a figure rendered when both its SVG and PNG exist and
 * are non-empty. *figs (malloc'd, fig_free) lists them all. A figure that
 * gnuplot fails to draw is reported through log, not as an error. */
int fig_write_all(const rep_analysis *a, const char *out_dir, const char *gnuplot, FILE *log,
                  rep_fig **figs, size_t *n, dyt_err *e);
void fig_free(rep_fig *figs, size_t n);

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

/* The figures written so far (figures.c). */
typedef struct {
    rep_fig *v;
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
int fig_bandwidth(const rep_analysis *a, const char *pass, fig_list *l, dyt_err *e);
int fig_tokens(const rep_analysis *a, fig_list *l, dyt_err *e);
/* The threads and cache of the run's first measured case: the figures that
 * mix shapes keep to them, so one curve never mixes thread counts. */
const rep_case *fig_ref_case(const rep_run *r);
int fig_usable(const rep_case *c);

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
int fig_speedup(const rep_analysis *a, fig_list *l, dyt_err *e);
