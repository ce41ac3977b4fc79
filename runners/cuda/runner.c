/* The CUDA runner: executes a plan on GPU 0 and stores what it measures in
 * the same database as the CPU runner. Order of a run: a usable GPU or a
 * plain usage error -> the CUPTI metric list (a typo is a usage error
 * before anything is stored) -> machine record with the gpu.* attributes
 * -> run row (settings as JSON) -> the device-to-device copy roofline ->
 * every case (inputs, verification against ref, warm-up and batch sizing,
 * event-timed samples with throttle detection, the CUPTI pass, statistics),
 * each committed in its own transaction -> the run's end status. */
#include "cuda_internal.h"
#include "kern_cuda.h"

#include <cuda_runtime_api.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* SIGINT/SIGTERM handling is shared with the CPU runner
 * (runners/cpu/signals.c); runner_stop_signal() is public in runner.h. */
void runner_signals_install(void);
void runner_signals_uninstall(void);

static char *settings_json(const runner_opts *o, const cupti_metric_list *ml,
                           const cupti_session *cs, const char *clock_note, size_t flush,
                           size_t d2d_bytes)
{
    json_t *metrics = json_array();
    for (size_t i = 0; i < ml->n; i++)
        json_array_append_new(metrics, json_string(ml->names[i]));
    json_t *j = json_pack(
        "{s:s, s:s, s:I, s:f, s:I, s:I, s:f, s:f, s:f, s:o, s:s, s:s, s:f, s:I, s:I, s:f, s:I, "
        "s:s, s:s}",
        "cache", o->cache == CACHE_COLD ? "cold" : "hot", "metric", "time", "seed",
        (json_int_t)o->seed, "max_noise", o->max_noise, "min_samples",
        (json_int_t)o->min_samples, "max_samples", (json_int_t)o->max_samples, "min_time_s",
        o->min_time_s, "max_time_s", o->max_time_s, "warmup_s", o->warmup_s, "cupti_metrics",
        metrics, "cupti_status", cs ? (cupti_session_status(cs)[0] ? cupti_session_status(cs)
                                                                   : "ok")
                                    : "not requested",
        "throttle_detection", clock_note, "throttle_threshold", GPU_THROTTLE_THRESHOLD,
        "l2_flush_bytes", (json_int_t)flush, "d2d_copy_bytes", (json_int_t)d2d_bytes,
        "batch_target_ns", 200000.0, "batch_max", (json_int_t)1000, "clock", "cudaEvent",
        "throttled_samples", "flagged and excluded from statistics");
    if (!j)
        return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

int runner_cuda_run(const plan *p, const runner_opts *o, store *s, const char *suites_desc,
                    const char *suite_hash, const char *command_line, int64_t *run_id, dyt_err *e)
{
    *run_id = 0;
    if (!cuda_device_usable())
        return dyt_errf(e, DYT_USAGE, "no usable GPU was found: %s", cuda_unusable_reason());
    cupti_metric_list ml;
    int rc = cupti_metrics_parse(o->cupti_metrics, &ml, e);
    if (rc != DYT_OK)
        return rc;
    machine_info m;
    machine_opts mo = {.llc_bytes_override = o->llc_bytes_override};
    if ((rc = machine_probe(&mo, &m, e)) != DYT_OK) {
        cupti_metrics_free(&ml);
        return rc;
    }
    uint64_t l2 = 0;
    int64_t machine_id = 0;
    if ((rc = cuda_device_record(&m, &l2, e)) != DYT_OK ||
        (rc = store_put_machine(s, &m, &machine_id, e)) != DYT_OK) {
        machine_free(&m);
        cupti_metrics_free(&ml);
        return rc;
    }
    machine_free(&m);

    char clock_note[300] = "NVML SM clock and clock-event reasons per sample";
    char why[256] = "";
    gpu_clock *clk = gpu_clock_open(why, sizeof why);
    if (!clk)
        snprintf(clock_note, sizeof clock_note, "unavailable: %s", why);
    cupti_session *cs = ml.n ? cupti_session_open(&ml) : NULL;

    /* Run-wide device resources: the stream, the L2 flush buffer. */
    cudaStream_t st = NULL;
    void *flush = NULL;
    size_t flush_bytes = l2 ? (size_t)l2 : (size_t)64 << 20;
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    size_t d2d = DYT_MAX((size_t)256 << 20, 8 * flush_bytes);
    if (free_b && d2d > free_b / 4)
        d2d = free_b / 4;
    if (cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking) != cudaSuccess ||
        (o->cache == CACHE_COLD && cudaMalloc(&flush, flush_bytes) != cudaSuccess)) {
        rc = dyt_errf(e, DYT_USAGE, "GPU setup: %s", cudaGetErrorString(cudaGetLastError()));
        goto out;
    }

    char *settings = settings_json(o, &ml, cs, clock_note, flush ? flush_bytes : 0, d2d);
    store_run_meta meta = {
        .machine_id = machine_id, .label = o->label,
        .command_line = command_line ? command_line : "", .suites = suites_desc ? suites_desc : "",
        .suite_hash = suite_hash ? suite_hash : "", .device = "cuda", .metric = "time",
        .settings_json = settings, .lockstep_token = o->lockstep_token, .arm = o->arm,
    };
    rc = store_begin_run(s, &meta, run_id, e);
    free(settings);
    if (rc != DYT_OK)
        goto out;

    runner_signals_install();
    double best = 0, median = 0;
    dyt_err be = {{0}};
    double ceiling = -1;
    if (cuda_measure_d2d(d2d, o->max_time_s < 1.0 ? 5 : 20, &best, &median, &be) == DYT_OK) {
        rc = store_put_roofline(s, *run_id, 1, "d2d_copy", 2 * (uint64_t)d2d, best, median, e);
        ceiling = best;
        if (!o->quiet)
            fprintf(stderr, "bandwidth ceiling: device-to-device copy %.1f GB/s (best), %.1f "
                            "(median)\n", best, median);
    } else if (!o->quiet) {
        /* Cases still get GB/s; % of roofline is stored unknown. */
        fprintf(stderr, "dytbench: warning: %s\n", be.msg);
    }
    if (cs && cupti_session_status(cs)[0] && !o->quiet)
        fprintf(stderr, "dytbench: CUPTI counters unavailable: %s\n", cupti_session_status(cs));

    int throttled = 0, failed = 0;
    cuda_case_env env = {
        .o = o, .s = s, .run_id = *run_id, .l2_bytes = l2, .ceiling_gbps = ceiling,
        .clock = clk, .cupti = cs, .stream = st, .flush = flush, .flush_bytes = flush_bytes,
        .throttled_total = &throttled,
    };
    for (size_t i = 0; rc == DYT_OK && i < p->n_cases && !runner_stop_signal(); i++) {
        const plan_case *c = &p->cases[i];
        if (!o->quiet)
            fprintf(stderr, "[%zu/%zu] %s %zux%zu %s %s %s %s\n", i + 1, p->n_cases,
                    c->model->name, c->rows, c->cols, norm_name(c->norm), pass_name(c->pass),
                    dtype_name(c->dtype), c->variant->name);
        int f = 0;
        rc = cuda_run_case(&env, c, (int)i, &f, e);
        failed += f;
    }
    runner_signals_uninstall();
    int sig = runner_stop_signal();
    const char *status = "complete";
    char note[600] = "";
    if (sig) {
        status = "aborted";
        snprintf(note, sizeof note, "interrupted by signal %d", sig);
        rc = DYT_OK;
    } else if (rc != DYT_OK) {
        status = "failed";
        snprintf(note, sizeof note, "%.500s", e->msg);
    } else if (failed || throttled) {
        snprintf(note, sizeof note, "%d case(s) failed or were skipped; %d throttled sample(s) "
                 "excluded", failed, throttled);
    }
    dyt_err e2 = {{0}};
    int rc2 = store_end_run(s, *run_id, status, note[0] ? note : NULL, &e2);
    if (rc == DYT_OK && rc2 != DYT_OK) {
        rc = rc2;
        *e = e2;
    }
    if (rc == DYT_OK && (failed || sig))
        rc = DYT_FAIL;
out:
    if (flush)
        cudaFree(flush);
    if (st)
        cudaStreamDestroy(st);
    kcuda_workspace_release();
    cupti_session_close(cs);
    gpu_clock_close(clk);
    cupti_metrics_free(&ml);
    return rc;
}
