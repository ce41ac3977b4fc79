/* CUPTI counters per case, with the CUDA 13 Range Profiler
 * (cupti_range_profiler.h + cupti_profiler_host.h), in a pass of its own
 * after the case's timing: kernel replay re-runs each kernel once per pass
 * the metrics need, which would distort any timing around it.
 *
 * Sequence: once per run - profiler initialise, chip name, counter
 * availability image, host object; each requested metric is checked
 * against the chip's metric tables (base metric present, and the host
 * object accepts it) and the accepted ones compiled into one config image.
 * Per case - enable range profiling on the context, counter-data image,
 * set config (auto range: one range per kernel launch; kernel replay),
 * start, the case's kernels once, stop, decode, evaluate every range,
 * disable. Ranges are combined into one value per metric: .sum metrics
 * are summed over the launches; others (throughputs, hit rates) are means
 * weighted by each range's gpu__time_duration.sum (which is therefore
 * always collected when the chip has it) - exact for time-based
 * percentages, an approximation for hit rates.
 *
 * When profiling is not permitted (CUPTI_ERROR_INSUFFICIENT_PRIVILEGES:
 * the driver's RmProfilingAdminOnly) or not supported, every metric is
 * stored unavailable with CUPTI's own message and the run goes on. */
#include "cuda_internal.h"

#include <cuda.h>
#include <cuda_runtime_api.h>
#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_range_profiler.h>
#include <cupti_result.h>
#include <cupti_target.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RANGES 64 /* launches per case: eager backward is ~16 */
#define TIME_METRIC "gpu__time_duration.sum"

struct cupti_session {
    char why[512];            /* "" = usable */
    const char *names[CUPTI_MAX_METRICS + 1]; /* requested, then TIME_METRIC if added */
    char reason[CUPTI_MAX_METRICS][300];      /* per requested metric: "" = supported */
    size_t n_req;
    const char *eval[CUPTI_MAX_METRICS + 1];  /* the supported ones, collected */
    size_t n_eval;
    int time_idx;             /* index of TIME_METRIC in eval, -1 none */
    CUpti_Profiler_Host_Object *host;
    uint8_t *config;
    size_t config_size;
    CUcontext ctx;
    int initialized;
};

static const char *res_str(CUptiResult r)
{
    const char *s = NULL;
    if (cuptiGetResultString(r, &s) != CUPTI_SUCCESS || !s)
        return "unknown CUPTI error";
    return s;
}

#define FAIL(s, call, r) snprintf((s)->why, sizeof (s)->why, "%s: %s", call, res_str(r))

const char *cupti_session_status(const cupti_session *s) { return s ? s->why : "no session"; }

static int metric_known(CUpti_Profiler_Host_Object *host, const char *name)
{
    char base[256];
    cupti_metric_base(name, base, sizeof base);
    for (int t = 0; t < CUPTI_METRIC_TYPE__COUNT; t++) {
        CUpti_Profiler_Host_GetBaseMetrics_Params p = {.structSize = CUpti_Profiler_Host_GetBaseMetrics_Params_STRUCT_SIZE};
        p.pHostObject = host;
        p.metricType = (CUpti_MetricType)t;
        if (cuptiProfilerHostGetBaseMetrics(&p) != CUPTI_SUCCESS)
            continue;
        for (size_t i = 0; i < p.numMetrics; i++)
            if (!strcmp(p.ppMetricNames[i], base))
                return 1;
    }
    return 0;
}

static CUpti_Profiler_Host_Object *host_new(const char *chip, const uint8_t *avail, CUptiResult *r)
{
    CUpti_Profiler_Host_Initialize_Params p = {.structSize = CUpti_Profiler_Host_Initialize_Params_STRUCT_SIZE};
    p.profilerType = CUPTI_PROFILER_TYPE_RANGE_PROFILER;
    p.pChipName = chip;
    p.pCounterAvailabilityImage = avail;
    *r = cuptiProfilerHostInitialize(&p);
    return *r == CUPTI_SUCCESS ? p.pHostObject : NULL;
}

static void host_free(CUpti_Profiler_Host_Object *h)
{
    if (!h)
        return;
    CUpti_Profiler_Host_Deinitialize_Params p = {.structSize = CUpti_Profiler_Host_Deinitialize_Params_STRUCT_SIZE};
    p.pHostObject = h;
    cuptiProfilerHostDeinitialize(&p);
}

cupti_session *cupti_session_open(const cupti_metric_list *l)
{
    cupti_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->time_idx = -1;
    for (size_t i = 0; i < l->n && i < CUPTI_MAX_METRICS; i++)
        s->names[s->n_req++] = l->names[i];

    /* The current context, through the runtime (no link against libcuda,
     * which the driverless build machines lack). */
    CUresult (*get_ctx)(CUcontext *) = NULL;
    enum cudaDriverEntryPointQueryResult q;
    if (cudaFree(0) != cudaSuccess ||
        cudaGetDriverEntryPointByVersion("cuCtxGetCurrent", (void **)&get_ctx, 12000,
                                         cudaEnableDefault, &q) != cudaSuccess ||
        !get_ctx || get_ctx(&s->ctx) != CUDA_SUCCESS || !s->ctx) {
        snprintf(s->why, sizeof s->why, "no CUDA context for CUPTI");
        return s;
    }
    CUpti_Profiler_Initialize_Params ip = {.structSize = CUpti_Profiler_Initialize_Params_STRUCT_SIZE};
    CUptiResult r = cuptiProfilerInitialize(&ip);
    if (r != CUPTI_SUCCESS) {
        FAIL(s, "cuptiProfilerInitialize", r);
        return s;
    }
    s->initialized = 1;
    CUpti_Device_GetChipName_Params cn = {.structSize = CUpti_Device_GetChipName_Params_STRUCT_SIZE};
    cn.deviceIndex = 0;
    if ((r = cuptiDeviceGetChipName(&cn)) != CUPTI_SUCCESS) {
        FAIL(s, "cuptiDeviceGetChipName", r);
        return s;
    }
    CUpti_Profiler_GetCounterAvailability_Params ca = {.structSize = CUpti_Profiler_GetCounterAvailability_Params_STRUCT_SIZE};
    ca.ctx = s->ctx;
    uint8_t *avail = NULL;
    if ((r = cuptiProfilerGetCounterAvailability(&ca)) == CUPTI_SUCCESS &&
        (avail = malloc(ca.counterAvailabilityImageSize)) != NULL) {
        ca.pCounterAvailabilityImage = avail;
        if ((r = cuptiProfilerGetCounterAvailability(&ca)) != CUPTI_SUCCESS) {
            free(avail);
            avail = NULL;
        }
    }
    if (r == CUPTI_ERROR_INSUFFICIENT_PRIVILEGES) {
        FAIL(s, "cuptiProfilerGetCounterAvailability", r);
        return s;
    }
    s->host = host_new(cn.pChipName, avail, &r);
    if (!s->host) {
        FAIL(s, "cuptiProfilerHostInitialize", r);
        free(avail);
        return s;
    }
    /* Each metric on its own against the chip's tables, so one bad name
     * does not take the others down. */
    int have_time = 0;
    for (size_t i = 0; i < s->n_req; i++) {
        const char *m = s->names[i];
        if (!metric_known(s->host, m)) {
            snprintf(s->reason[i], sizeof s->reason[i], "not a metric of chip %s",
                     cn.pChipName);
            continue;
        }
        CUpti_Profiler_Host_Object *t = host_new(cn.pChipName, avail, &r);
        CUpti_Profiler_Host_ConfigAddMetrics_Params am = {.structSize = CUpti_Profiler_Host_ConfigAddMetrics_Params_STRUCT_SIZE};
        am.pHostObject = t;
        am.ppMetricNames = &m;
        am.numMetrics = 1;
        if (!t || (r = cuptiProfilerHostConfigAddMetrics(&am)) != CUPTI_SUCCESS) {
            snprintf(s->reason[i], sizeof s->reason[i], "not supported on chip %s: %s",
                     cn.pChipName, res_str(r));
        } else {
            have_time |= !strcmp(m, TIME_METRIC);
            s->eval[s->n_eval++] = m;
        }
        host_free(t);
    }
    if (!have_time && s->n_eval > 0 && metric_known(s->host, TIME_METRIC))
        s->eval[s->n_eval++] = TIME_METRIC; /* weights, see the file comment */
    free(avail);
    for (size_t i = 0; i < s->n_eval; i++)
        if (!strcmp(s->eval[i], TIME_METRIC))
            s->time_idx = (int)i;
    if (s->n_eval == 0) {
        snprintf(s->why, sizeof s->why, "none of the requested metrics is supported");
        return s;
    }
    CUpti_Profiler_Host_ConfigAddMetrics_Params am = {.structSize = CUpti_Profiler_Host_ConfigAddMetrics_Params_STRUCT_SIZE};
    am.pHostObject = s->host;
    am.ppMetricNames = s->eval;
    am.numMetrics = s->n_eval;
    if ((r = cuptiProfilerHostConfigAddMetrics(&am)) != CUPTI_SUCCESS) {
        FAIL(s, "cuptiProfilerHostConfigAddMetrics", r);
        return s;
    }
    CUpti_Profiler_Host_GetConfigImageSize_Params cs = {.structSize = CUpti_Profiler_Host_GetConfigImageSize_Params_STRUCT_SIZE};
    cs.pHostObject = s->host;
    if ((r = cuptiProfilerHostGetConfigImageSize(&cs)) != CUPTI_SUCCESS ||
        !(s->config = malloc(cs.configImageSize))) {
        FAIL(s, "cuptiProfilerHostGetConfigImageSize", r);
        return s;
    }
    s->config_size = cs.configImageSize;
    CUpti_Profiler_Host_GetConfigImage_Params ci = {.structSize = CUpti_Profiler_Host_GetConfigImage_Params_STRUCT_SIZE};
    ci.pHostObject = s->host;
    ci.configImageSize = s->config_size;
    ci.pConfigImage = s->config;
    if ((r = cuptiProfilerHostGetConfigImage(&ci)) != CUPTI_SUCCESS)
        FAIL(s, "cuptiProfilerHostGetConfigImage", r);
    return s;
}

void cupti_session_close(cupti_session *s)
{
    if (!s)
        return;
    host_free(s->host);
    free(s->config);
    if (s->initialized) {
        CUpti_Profiler_DeInitialize_Params p = {.structSize = CUpti_Profiler_DeInitialize_Params_STRUCT_SIZE};
        cuptiProfilerDeInitialize(&p);
    }
    free(s);
}

static size_t all_unavailable(const cupti_session *s, const char *why, store_counter *out,
                              size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_req && k < max; i++)
        out[k++] = (store_counter){.source = "cupti", .name = s->names[i], .available = 0,
                                   .unavailable_reason = s->reason[i][0] ? s->reason[i] : why};
    return k;
}

static int is_sum(const char *m)
{
    size_t l = strlen(m);
    return l > 4 && !strcmp(m + l - 4, ".sum");
}

/* The per-case result strings live in the session (one case at a time). */
static char case_why[512];

size_t cupti_measure(cupti_session *s, int (*work)(void *), void *ctx, double elements,
                     store_counter *out, size_t max)
{
    if (!s)
        return 0;
    if (s->why[0])
        return all_unavailable(s, s->why, out, max);
    CUptiResult r;
    CUpti_RangeProfiler_Enable_Params en = {.structSize = CUpti_RangeProfiler_Enable_Params_STRUCT_SIZE};
    en.ctx = s->ctx;
    if ((r = cuptiRangeProfilerEnable(&en)) != CUPTI_SUCCESS) {
        FAIL(s, "cuptiRangeProfilerEnable", r); /* sticky: same for every case */
        return all_unavailable(s, s->why, out, max);
    }
    CUpti_RangeProfiler_Object *obj = en.pRangeProfilerObject;
    uint8_t *cd = NULL;
    double *vals = calloc(s->n_eval, sizeof *vals), *acc = calloc(s->n_eval, sizeof *acc);
    double tsum = 0;
    size_t nr = 0;
    const char *failed = NULL;
    CUpti_RangeProfiler_GetCounterDataSize_Params ds = {.structSize = CUpti_RangeProfiler_GetCounterDataSize_Params_STRUCT_SIZE};
    ds.pRangeProfilerObject = obj;
    ds.pMetricNames = s->eval;
    ds.numMetrics = s->n_eval;
    ds.maxNumOfRanges = MAX_RANGES;
    ds.maxNumRangeTreeNodes = MAX_RANGES;
    if (!vals || !acc) {
        failed = "out of memory";
        r = CUPTI_ERROR_OUT_OF_MEMORY;
        goto out;
    }
    if ((r = cuptiRangeProfilerGetCounterDataSize(&ds)) != CUPTI_SUCCESS ||
        !(cd = calloc(1, ds.counterDataSize))) {
        failed = "cuptiRangeProfilerGetCounterDataSize";
        goto out;
    }
    CUpti_RangeProfiler_CounterDataImage_Initialize_Params ci = {.structSize = CUpti_RangeProfiler_CounterDataImage_Initialize_Params_STRUCT_SIZE};
    ci.pRangeProfilerObject = obj;
    ci.counterDataSize = ds.counterDataSize;
    ci.pCounterData = cd;
    if ((r = cuptiRangeProfilerCounterDataImageInitialize(&ci)) != CUPTI_SUCCESS) {
        failed = "cuptiRangeProfilerCounterDataImageInitialize";
        goto out;
    }
    CUpti_RangeProfiler_SetConfig_Params sc = {.structSize = CUpti_RangeProfiler_SetConfig_Params_STRUCT_SIZE};
    sc.pRangeProfilerObject = obj;
    sc.configSize = s->config_size;
    sc.pConfig = s->config;
    sc.counterDataImageSize = ds.counterDataSize;
    sc.pCounterDataImage = cd;
    sc.range = CUPTI_AutoRange;
    sc.replayMode = CUPTI_KernelReplay;
    sc.maxRangesPerPass = MAX_RANGES;
    sc.numNestingLevels = 1;
    sc.minNestingLevel = 1;
    sc.passIndex = 0;
    sc.targetNestingLevel = 1;
    if ((r = cuptiRangeProfilerSetConfig(&sc)) != CUPTI_SUCCESS) {
        failed = "cuptiRangeProfilerSetConfig";
        goto out;
    }
    CUpti_RangeProfiler_Start_Params st = {.structSize = CUpti_RangeProfiler_Start_Params_STRUCT_SIZE};
    st.pRangeProfilerObject = obj;
    if ((r = cuptiRangeProfilerStart(&st)) != CUPTI_SUCCESS) {
        failed = "cuptiRangeProfilerStart";
        if (r == CUPTI_ERROR_INSUFFICIENT_PRIVILEGES)
            FAIL(s, failed, r); /* will not change during the run */
        goto out;
    }
    int wrc = work(ctx);
    cudaError_t ce = cudaDeviceSynchronize();
    CUpti_RangeProfiler_Stop_Params sp = {.structSize = CUpti_RangeProfiler_Stop_Params_STRUCT_SIZE};
    sp.pRangeProfilerObject = obj;
    r = cuptiRangeProfilerStop(&sp);
    if (wrc != 0 || ce != cudaSuccess) {
        failed = "the case's kernels under the profiler";
        r = CUPTI_ERROR_UNKNOWN;
        goto out;
    }
    if (r != CUPTI_SUCCESS) {
        failed = "cuptiRangeProfilerStop";
        goto out;
    }
    CUpti_RangeProfiler_DecodeData_Params dd = {.structSize = CUpti_RangeProfiler_DecodeData_Params_STRUCT_SIZE};
    dd.pRangeProfilerObject = obj;
    if ((r = cuptiRangeProfilerDecodeData(&dd)) != CUPTI_SUCCESS) {
        failed = "cuptiRangeProfilerDecodeData";
        goto out;
    }
    CUpti_RangeProfiler_GetCounterDataInfo_Params di = {.structSize = CUpti_RangeProfiler_GetCounterDataInfo_Params_STRUCT_SIZE};
    di.pCounterDataImage = cd;
    di.counterDataImageSize = ds.counterDataSize;
    if ((r = cuptiRangeProfilerGetCounterDataInfo(&di)) != CUPTI_SUCCESS) {
        failed = "cuptiRangeProfilerGetCounterDataInfo";
        goto out;
    }
    for (size_t ri = 0; ri < di.numTotalRanges; ri++) {
        CUpti_Profiler_Host_EvaluateToGpuValues_Params ev = {.structSize = CUpti_Profiler_Host_EvaluateToGpuValues_Params_STRUCT_SIZE};
        ev.pHostObject = s->host;
        ev.pCounterDataImage = cd;
        ev.counterDataImageSize = ds.counterDataSize;
        ev.rangeIndex = ri;
        ev.ppMetricNames = s->eval;
        ev.numMetrics = s->n_eval;
        ev.pMetricValues = vals;
        if ((r = cuptiProfilerHostEvaluateToGpuValues(&ev)) != CUPTI_SUCCESS) {
            failed = "cuptiProfilerHostEvaluateToGpuValues";
            goto out;
        }
        double w = s->time_idx >= 0 ? vals[s->time_idx] : 1.0;
        for (size_t m = 0; m < s->n_eval; m++)
            acc[m] += is_sum(s->eval[m]) ? vals[m] : w * vals[m];
        tsum += w;
        nr++;
    }
    if (nr == 0) {
        failed = "the profiler recorded no kernel";
        r = CUPTI_ERROR_UNKNOWN;
    }
    if (dd.numOfRangeDropped > 0) {
        failed = "ranges dropped (more kernel launches than MAX_RANGES)";
        r = CUPTI_ERROR_UNKNOWN;
    }
out:;
    CUpti_RangeProfiler_Disable_Params dp = {.structSize = CUpti_RangeProfiler_Disable_Params_STRUCT_SIZE};
    dp.pRangeProfilerObject = obj;
    cuptiRangeProfilerDisable(&dp);
    size_t k = 0;
    if (failed) {
        snprintf(case_why, sizeof case_why, "%s: %s", failed, res_str(r));
        k = all_unavailable(s, case_why, out, max);
    } else {
        for (size_t i = 0; i < s->n_req && k < max; i++) {
            store_counter c = {.source = "cupti", .name = s->names[i]};
            size_t m = 0;
            while (m < s->n_eval && strcmp(s->eval[m], s->names[i]))
                m++;
            if (m == s->n_eval) {
                c.unavailable_reason = s->reason[i];
            } else {
                if (!is_sum(s->eval[m]) && !(tsum > 0)) {
                    c.unavailable_reason = "no kernel duration to weight the ranges by";
                } else {
                    c.available = 1;
                    c.value = is_sum(s->eval[m]) ? acc[m] : acc[m] / tsum;
                    c.per_element = elements > 0 ? c.value / elements : 0;
                }
            }
            out[k++] = c;
        }
    }
    free(cd);
    free(vals);
    free(acc);
    return k;
}
