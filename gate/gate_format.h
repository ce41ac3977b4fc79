/* Helpers shared by the gate's output formats (gate/format_*.c); private to
 * the gate stage. */
#pragma once
#include "gate.h"

/* 0 regression, 1 improvement (faster), 2 everything else. */
int gate_result_group(const gate_result *g);
/* "+12.34% [+10.10, +14.00]" or "+3.00%" (exact) or "n/a". */
void gate_fmt_change(char *buf, size_t n, const gate_result *g);
/* A median in human units for time, %.6g for counters, "-" for NaN. */
void gate_fmt_value(char *buf, size_t n, const gate_report *r, double v);
/* "run 12 'main' (git abc123)", or "3 runs 4,7,9 'main' (git abc123)". */
void gate_fmt_run(char *buf, size_t n, const gate_run *r);
/* "4,7,9" (cut with ",..." when it does not fit). */
void gate_fmt_run_ids(char *buf, size_t n, const gate_run *r);
/* "blocks 10:10", "samples 1:1", "exact" or "-". */
void gate_fmt_mode(char *buf, size_t n, const gate_result *g);
/* The modes the report's cases were compared in, with their counts:
 * "paired 3, blocks 1" (most informative first); "none" when empty. */
void gate_fmt_modes(char *buf, size_t n, const gate_report *r);
