/* The CUPTI metric list of the CUDA runner (`run --cupti-metrics`): parsing
 * and the default set. Plain C without CUDA headers, so it is built and
 * tested in every configuration. */
#pragma once
#include <stddef.h>
#include "common.h"

/* Collected per case in a separate pass after timing. */
#define CUPTI_DEFAULT_METRICS                                                                  \
    "gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,"                       \
    "dram__throughput.avg.pct_of_peak_sustained_elapsed,"                                      \
    "sm__throughput.avg.pct_of_peak_sustained_elapsed,lts__t_sector_hit_rate.pct"
#define CUPTI_MAX_METRICS 32

typedef struct {
    char *names[CUPTI_MAX_METRICS];
    size_t n;
} cupti_metric_list;

/* spec: NULL, "" or "default" = the default set; "none" = no CUPTI pass;
 * otherwise a comma list of metric names as Nsight Compute spells them
 * (unit__counter[.rollup[.submetric...]], lower case, digits and '_').
 * Duplicates are dropped. A malformed name or too many names is a usage
 * error (DYT_USAGE) naming the offender; whether the chip supports a
 * metric is checked at run time against CUPTI's tables. */
int cupti_metrics_parse(const char *spec, cupti_metric_list *out, dyt_err *e);
void cupti_metrics_free(cupti_metric_list *l);
/* The base of a metric name (before the first '.'), into buf. */
void cupti_metric_base(const char *name, char *buf, size_t n);
