/* The plots stage: gnuplot figures of a report. For each figure it writes
 * a data file (numbers only) and a script that holds every label (escaped
 * for gnuplot, noenhanced) and draws the figure as SVG and PNG; the report
 * embeds the SVG. The scripts run from the figures folder, so a user can
 * restyle one and rerun `gnuplot NAME.gp` there. What is drawn comes in as
 * fig_input, plain data the caller fills (the report from its analysis),
 * so plots depends on no other stage's types. Strings are raw; every one
 * is escaped for gnuplot here. */
#pragma once
#include "common.h"
#include <stdint.h>
#include <stdio.h>

/* A measured case (ok, with statistics), in plan order. */
typedef struct {
    const char *domain, *model, *norm, *dtype, *pass, *cache, *device;
    int64_t rows, cols;
    int threads;
    double median_ns, ci_low_ns, ci_high_ns, gbps; /* ns per call, GB/s; NAN: not stored */
} fig_case;

/* DyT against the model's own norm at one shape: t_norm / t_dyt with its
 * interval, [0] forward, [1] backward; NAN where a side is missing. */
typedef struct {
    const char *domain, *model, *dtype;
    int64_t rows;
    double speedup[2], lo[2], hi[2];
} fig_pair;

/* One kernel variant's bandwidth as % of each case's own ceiling (the
 * cache level it fits in, or dram), in the order of the report's variant
 * table; NAN when unknown. */
typedef struct {
    const char *norm, *pass, *dtype, *variant;
    double ceil_median, ceil_best;
} fig_variant;

/* A case measured in both runs of a --vs comparison. */
typedef struct {
    const char *norm, *pass;
    double a_ns, b_ns; /* median time on the report's run, on the other */
} fig_vs_point;

typedef struct {
    int64_t id;          /* the other run's id (names the figure) */
    const char *name;    /* "#3 label" */
    const char *machine; /* "host (cpu model)" */
    const fig_vs_point *points;
    size_t n_points;
} fig_vs_run;

/* Everything the figures of one report draw. */
typedef struct {
    const char *run_name; /* "#3 label" */
    const char *hostname;
    const char *machine; /* "host (cpu model)" */
    int complete;        /* the run completed (else titles say so) */
    const fig_case *cases;
    size_t n_cases;
    const fig_pair *pairs;
    size_t n_pairs;
    const fig_variant *variants;
    size_t n_variants;
    const fig_vs_run *vs;
    size_t n_vs;
} fig_input;

/* A figure written (stem relative to the out dir, no extension). */
typedef struct {
    char *stem; /* "figures/speedup" */
    char *title;
    char *caption; /* what is plotted and how */
    int rendered;  /* the .svg and .png exist */
} fig_file;

/* Writes out_dir/figures/NAME.{gp,dat} for every figure the input has
 * data for; runs gnuplot on each when gnuplot is non-NULL (program name or
 * path), and marks a figure rendered when both its SVG and PNG exist and
 * are non-empty. *figs (malloc'd, fig_free) lists them all. A figure that
 * gnuplot fails to draw is reported through log, not as an error. */
int fig_write_all(const fig_input *in, const char *out_dir, const char *gnuplot, FILE *log,
                  fig_file **figs, size_t *n, dyt_err *e);
void fig_free(fig_file *figs, size_t n);
