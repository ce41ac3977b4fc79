/* A/A calibration: what the gate can resolve on this machine. Given pairs
 * of runs of one build (A and B, run back to back and interleaved by
 * `dytbench calibrate`), each pair is compared exactly as `compare` would;
 * every difference seen is noise by construction. Per case:
 *
 *   noise_rel           the farthest a ratio interval of an A/A pair
 *                       reached from 1 (max over pairs of max(hi-1, 1-lo)):
 *                       an A/A comparison's slowdown bound can reach it,
 *                       so a threshold below it risks false alarms;
 *   min_detectable_rel  threshold + noise_rel: the smallest true slowdown
 *                       whose interval would clear the threshold when the
 *                       run-to-run noise goes against it.
 *
 * The comparison is compare's own: on block medians when the runs were
 * made with `run --rounds` (the interval then includes the noise between
 * rounds), on raw samples otherwise.
 *
 * One row per case goes into `calibrations`, naming the pair that showed
 * the most noise; `compare` reads the latest row per case of the
 * candidate's machine. All rows are written in one transaction, through
 * the store's writer. */
#include "gate.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char key[256];
    char disp[320];
    double noise, resolution;
    int64_t run_a, run_b;
    size_t n_pairs, false_alarms;
} cal_row;

static cal_row *find_row(cal_row *rows, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rows[i].key, key))
            return &rows[i];
    return NULL;
}

/* The rows that learnt something (compared at least once), as the store's
 * calibrations, all written in one transaction. */
static int store_rows(store *s, int64_t machine_id, const cal_row *rows, size_t n,
                      const gate_opts *o, dyt_err *e)
{
    store_calibration *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(rows[i].noise))
            continue; /* never compared: nothing learnt, nothing stored */
        v[k++] = (store_calibration){.case_key = rows[i].key,
                                     .run_a = rows[i].run_a,
                                     .run_b = rows[i].run_b,
                                     .noise_rel = rows[i].noise,
                                     .min_detectable_rel = o->threshold + rows[i].noise,
                                     .threshold = o->threshold,
                                     .alpha = o->alpha};
    }
    int rc = store_put_calibrations(s, machine_id, v, k, e);
    free(v);
    return rc;
}

int gate_calibrate_store(store *s, const int64_t *run_a, const int64_t *run_b, size_t n_pairs,
                         const gate_opts *o, FILE *f, dyt_err *e)
{
    cal_row *rows = NULL;
    size_t n_rows = 0, cap = 0, n_cmp = 0, n_alarms = 0;
    int64_t machine_id = -1;
    int rc = DYT_OK;
    for (size_t p = 0; p < n_pairs && rc == DYT_OK; p++) {
        char sa[32], sb[32];
        snprintf(sa, sizeof sa, "%lld", (long long)run_a[p]);
        snprintf(sb, sizeof sb, "%lld", (long long)run_b[p]);
        gate_run ra, rb;
        if ((rc = gate_load_run(s, sa, "time", &ra, e)) != DYT_OK)
            break;
        if ((rc = gate_load_run(s, sb, "time", &rb, e)) != DYT_OK) {
            gate_run_free(&ra);
            break;
        }
        if (strcmp(ra.machine_fp, rb.machine_fp) != 0) {
            rc = dyt_errf(e, DYT_USAGE, "runs %s and %s come from different machines: not A/A", sa,
                          sb);
        } else {
            machine_id = ra.machine_id;
            gate_report rep;
            if ((rc = gate_compare(&ra, &rb, o, NULL, &rep, e)) == DYT_OK) {
                for (size_t i = 0; i < rep.n_results && rc == DYT_OK; i++) {
                    const gate_result *g = &rep.results[i];
                    cal_row *row = find_row(rows, n_rows, g->base->cal_key);
                    if (!row) {
                        if (n_rows == cap) {
                            size_t nc = cap ? 2 * cap : 64;
                            cal_row *v = realloc(rows, nc * sizeof *v);
                            if (!v) {
                                rc = dyt_errf(e, DYT_RESOURCE, "out of memory");
                                break;
                            }
                            rows = v;
                            cap = nc;
                        }
                        row = &rows[n_rows++];
                        memset(row, 0, sizeof *row);
                        snprintf(row->key, sizeof row->key, "%s", g->base->cal_key);
                        snprintf(row->disp, sizeof row->disp, "%s", g->base->key);
                        row->noise = NAN;
                    }
                    if (isnan(g->ratio_lo))
                        continue;
                    double nz = fmax(g->ratio_hi - 1, 1 - g->ratio_lo);
                    row->n_pairs++;
                    row->false_alarms += g->regression != 0;
                    n_cmp++;
                    n_alarms += g->regression != 0;
                    row->resolution = fmax(row->resolution, g->resolution);
                    if (isnan(row->noise) || nz > row->noise) {
                        row->noise = nz;
                        row->run_a = ra.run_id;
                        row->run_b = rb.run_id;
                    }
                }
                gate_report_free(&rep);
            }
        }
        gate_run_free(&ra);
        gate_run_free(&rb);
    }
    if (rc == DYT_OK && n_cmp == 0)
        rc = dyt_errf(e, DYT_USAGE,
                      "the A/A runs have no case with enough samples (or blocks) to compare");
    if (rc == DYT_OK)
        rc = store_rows(s, machine_id, rows, n_rows, o, e);
    if (rc == DYT_OK && f) {
        double *nz = malloc((n_rows ? n_rows : 1) * sizeof *nz);
        size_t k = 0;
        fprintf(f, "%-64s %9s %12s %8s\n", "case", "noise", "detectable", "alarms");
        for (size_t i = 0; i < n_rows; i++) {
            if (isnan(rows[i].noise)) {
                fprintf(f, "%-64s %9s %12s %8s\n", rows[i].disp, "-", "-", "-");
                continue;
            }
            fprintf(f, "%-64s %8.2f%% %11.2f%% %4zu/%zu\n", rows[i].disp, 100 * rows[i].noise,
                    100 * (o->threshold + rows[i].noise), rows[i].false_alarms, rows[i].n_pairs);
            if (nz)
                nz[k++] = rows[i].noise;
        }
        if (nz && k) {
            double worst = nz[0];
            for (size_t i = 1; i < k; i++)
                worst = fmax(worst, nz[i]);
            fprintf(f,
                    "\nA/A noise over %zu cases: median %.2f%%, worst %.2f%%. At threshold "
                    "%.1f%% and alpha %g the gate raised %zu false alarm(s) in %zu A/A "
                    "comparisons.\n",
                    k, 100 * stats_median(nz, k), 100 * worst, 100 * o->threshold, o->alpha,
                    n_alarms, n_cmp);
            if (worst > o->threshold)
                fprintf(f, "warning: the threshold is below this machine's noise for some "
                           "cases; compare will warn about them.\n");
        }
        free(nz);
    }
    free(rows);
    return rc;
}
