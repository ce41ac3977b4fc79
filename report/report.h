/* The report stage: reads one stored run (and optionally others to compare
 * with) from the results store and writes paper-style tables (Markdown,
 * LaTeX, CSV), gnuplot figures and a self-contained HTML page into a folder.
 * Read-only on the database: it reads through the store's read API and
 * writes nothing there. */
#pragma once
#include "common.h"
#include "store.h"
#include <stdint.h>
#include <stdio.h>

#define REPORT_MAX_VS 8

typedef struct {
    int64_t run_id;            /* the run to report */
    int64_t vs[REPORT_MAX_VS]; /* runs to put beside it (--vs) */
    size_t n_vs;
    /* A campaign instead of a run (NULL: run_id, vs[i]): all its runs as
     * one, with its missing shards and cases (report campaign:ID). */
    const char *campaign;
    const char *vs_campaign[REPORT_MAX_VS];
    const char *out_dir; /* created if absent (one level) */
    /* gnuplot program: NULL = "gnuplot" looked up on PATH; "" = none
     * (tables only, as on a machine without gnuplot). */
    const char *gnuplot;
    FILE *log; /* notices for the user (stderr); NULL: silent */
} report_opts;

/* Writes report.md, tables.tex, results.csv, index.html and figures/ into
 * o->out_dir. Returns DYT_OK; DYT_USAGE with a message in e when a run does
 * not exist, has no cases, or the output cannot be written. An aborted run
 * is reported (its finished cases), marked as aborted everywhere. */
int report_write(store *db, const report_opts *o, dyt_err *e);

/* Whether the gnuplot program can be run (PATH lookup when it has no '/'). */
int report_have_program(const char *prog);
