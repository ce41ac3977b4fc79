/* The CUDA runner: executes a plan on GPU 0 and stores what it measures in
 * the same database as the CPU runner. Order of a run: a usable GPU or a
 * plain usage error -> the CUPTI metric list (a typo is a usage error
 * before anything is stored) -> machine record with the gpu.* attributes
 * -> run row (settings as JSON) -> the device-to-device copy ceiling (the
 * dram level every GPU case is held against) ->
 * every case (inputs, verification against ref, warm-up and batch sizing,
 * event-timed samples with throttle detection, the CUPTI pass, statistics;
 * case.c), each stored in its own transaction once measured -> the run's
 * end status. Only this file reads the run's options. */
#include "cuda_internal.h"
#include "kern_cuda.h"

#include <cuda_runtime_api.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The run's settings: the common ones and the GPU's, key by key. */
static json_t *settings_json(const runner_opts *o, const cupti_metric_list *ml,
                             const cupti_session *cs, const char *clock_note, size_t flush,
                             size_t d2d_bytes)
{
    json_t *j = runner_settings_json(o, "time");
    json_t *metrics = json_array();
    if (!j || !metrics) {
        json_decref(j);
        json_decref(metrics);
        return NULL;
    }
    for (size_t i = 0; i < ml->n; i++)
        json_array_append_new(metrics, json_string(ml->names[i]));
    const char *status = !cs                           ? "not requested"
                         : cupti_session_status(cs)[0] ? cupti_session_status(cs)
                                                       : "ok";
    json_object_set_new(j, "cupti_metrics", metrics);
    json_object_set_new(j, "cupti_status", json_string(status));
    json_object_set_new(j, "throttle_detection", json_string(clock_note));
    json_object_set_new(j, "throttle_threshold", json_real(GPU_THROTTLE_THRESHOLD));
    json_object_set_new(j, "throttled_samples",
                        json_string("flagged and excluded from statistics"));
    json_object_set_new(j, "l2_flush_bytes", json_integer((json_int_t)flush));
    json_object_set_new(j, "d2d_copy_bytes", json_integer((json_int_t)d2d_bytes));
    json_object_set_new(j, "batch_target_ns", json_real(200000.0));
    json_object_set_new(j, "batch_max", json_integer(1000));
    json_object_set_new(j, "clock", json_string("cudaEvent"));
    return j;
}

/* The device-to-device ceiling a resumed run stored before; -1 if none. */
static double stored_d2d(store *s, int64_t run_id)
{
    store_ceiling_list l;
    dyt_err e = {{0}};
    double gbps = -1;
    if (store_load_ceilings(s, run_id, &l, &e) != DYT_OK)
        return -1;
    for (size_t i = 0; i < l.n; i++)
        if (!strcmp(l.v[i].kind, "d2d_copy"))
            gbps = l.v[i].gbps;
    store_ceiling_list_free(&l);
    return gbps;
}

int runner_cuda_run(const plan *p, const runner_opts *o, const runner_identity *id, store *s,
                    int64_t *run_id, dyt_err *e)
{
    *run_id = 0;
    if (!cuda_device_usable())
        return dyt_errf(e, DYT_USAGE, "no usable GPU was found: %s", cuda_unusable_reason());
    cupti_metric_list ml;
    int rc = cupti_metrics_parse(o->cupti_metrics, &ml, e);
    if (rc != DYT_OK)
        return rc;
    machine_info m;
    if ((rc = runner_probe_machine(o->llc_bytes_override, &m, e)) != DYT_OK) {
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

    rc = runner_begin_run(s, id, machine_id, "cuda", "time",
                          settings_json(o, &ml, cs, clock_note, flush ? flush_bytes : 0, d2d),
                          run_id, e);
    if (rc != DYT_OK)
        goto out;

    runner_signals_install();
    double best = 0, median = 0;
    dyt_err be = {{0}};
    double ceiling = id && id->resume_run > 0 ? stored_d2d(s, *run_id) : -1;
    const int d2d_reps = o->max_time_s < 1.0 ? 5 : 20;
    if (ceiling > 0) {
        /* Resumed: the cases it adds share the ceiling of those it has. */
    } else if (cuda_measure_d2d(d2d, d2d_reps, &best, &median, &be) == DYT_OK) {
        char method[160];
        snprintf(method, sizeof method,
                 "cudaMemcpyAsync device to device of %zu MiB, best and median of %d passes",
                 d2d >> 20, d2d_reps);
        store_ceiling c = {.level = "dram",
                           .threads = 1,
                           .kind = "d2d_copy",
                           .bytes = 2 * (uint64_t)d2d,
                           .gbps = best,
                           .gbps_median = median,
                           .method = method};
        rc = store_put_ceiling(s, *run_id, &c, e);
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
        .ceiling_gbps = ceiling, .clock = clk, .cupti = cs, .stream = st, .flush = flush,
        .flush_bytes = flush_bytes, .throttled_total = &throttled, .quiet = o->quiet,
    };
    runner_case_spec_init(&env.spec, o);
    for (size_t i = 0; rc == DYT_OK && i < p->n_cases && !runner_stop_signal(); i++) {
        const plan_case *c = &p->cases[i];
        if (!o->quiet)
            fprintf(stderr, "[%zu/%zu] %s %zux%zu %s %s %s %s\n", i + 1, p->n_cases,
                    c->model->name, c->rows, c->cols, norm_name(c->norm), pass_name(c->pass),
                    dtype_name(c->dtype), c->variant->name);
        runner_case_result r;
        if (cuda_case_measure(&env, c, c->seq, &r)) {
            failed += runner_result_failed(&r);
            rc = runner_result_store(s, *run_id, &r, e);
        }
        runner_result_free(&r);
    }
    runner_signals_uninstall();
    char note[160];
    snprintf(note, sizeof note,
             "%d case(s) failed or were skipped; %d throttled sample(s) excluded", failed,
             throttled);
    rc = runner_end_run(s, *run_id, rc, failed, failed || throttled ? note : NULL, e);
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
