/* GPU timing support: the SM clock and throttle reasons through NVML
 * (dlopen'ed: NVML ships with the driver, and a binary that linked it
 * would not start on the driverless build machines), the throttle rule,
 * and the device-to-device copy roofline measured in every run. */
#include "cuda_internal.h"
#include "stats.h"

#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* The few NVML entry points used, declared here: nvml.h is not part of the
 * toolkit install. Their ABI is stable (versioned symbol names). */
typedef int nvml_ret;
typedef void *nvml_dev;
enum { NVML_CLOCK_SM = 1 };

struct gpu_clock {
    void *lib;
    nvml_dev dev;
    unsigned max_sm;
    nvml_ret (*clock)(nvml_dev, int, unsigned *);
    nvml_ret (*reasons)(nvml_dev, unsigned long long *);
    nvml_ret (*shutdown)(void);
};

gpu_clock *gpu_clock_open(char *why, size_t n)
{
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(why, n, "NVML not loadable (%s)", dlerror());
        return NULL;
    }
    nvml_ret (*init)(void) = (nvml_ret(*)(void))dlsym(lib, "nvmlInit_v2");
    nvml_ret (*by_bus)(const char *, nvml_dev *) =
        (nvml_ret(*)(const char *, nvml_dev *))dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2");
    nvml_ret (*maxclk)(nvml_dev, int, unsigned *) =
        (nvml_ret(*)(nvml_dev, int, unsigned *))dlsym(lib, "nvmlDeviceGetMaxClockInfo");
    gpu_clock *c = calloc(1, sizeof *c);
    if (!c) {
        dlclose(lib);
        snprintf(why, n, "out of memory");
        return NULL;
    }
    c->lib = lib;
    c->clock = (nvml_ret(*)(nvml_dev, int, unsigned *))dlsym(lib, "nvmlDeviceGetClockInfo");
    c->reasons = (nvml_ret(*)(nvml_dev, unsigned long long *))dlsym(
        lib, "nvmlDeviceGetCurrentClocksEventReasons");
    if (!c->reasons) /* older drivers: the same call under its old name */
        c->reasons = (nvml_ret(*)(nvml_dev, unsigned long long *))dlsym(
            lib, "nvmlDeviceGetCurrentClocksThrottleReasons");
    c->shutdown = (nvml_ret(*)(void))dlsym(lib, "nvmlShutdown");
    char bus[64] = "";
    if (!init || !by_bus || !maxclk || !c->clock || !c->reasons || !c->shutdown) {
        snprintf(why, n, "NVML lacks the clock functions");
    } else if (init() != 0) {
        snprintf(why, n, "nvmlInit failed");
        c->shutdown = NULL;
    } else if (cudaDeviceGetPCIBusId(bus, sizeof bus, 0) != cudaSuccess ||
               by_bus(bus, &c->dev) != 0) {
        snprintf(why, n, "NVML does not know the CUDA device %s", bus);
    } else if (maxclk(c->dev, NVML_CLOCK_SM, &c->max_sm) != 0 || c->max_sm == 0) {
        snprintf(why, n, "NVML has no maximum SM clock");
    } else {
        return c;
    }
    gpu_clock_close(c);
    return NULL;
}

int gpu_clock_read(gpu_clock *c, unsigned *sm_mhz, unsigned long long *reasons)
{
    *reasons = 0;
    if (c->clock(c->dev, NVML_CLOCK_SM, sm_mhz) != 0)
        return -1;
    if (c->reasons(c->dev, reasons) != 0)
        *reasons = 0;
    return 0;
}

unsigned gpu_clock_max_sm_mhz(const gpu_clock *c) { return c->max_sm; }

void gpu_clock_close(gpu_clock *c)
{
    if (!c)
        return;
    if (c->shutdown)
        c->shutdown();
    dlclose(c->lib);
    free(c);
}

/* NVML clocks-event reason bits that mean the GPU is being held back by
 * something other than the workload: HW slowdown (0x8), SW thermal
 * (0x20), HW thermal (0x40), HW power brake (0x80). SW power cap (0x4) is
 * left to the clock threshold: it is how boost clocks normally settle. */
#define THROTTLE_REASON_MASK 0xe8ull

int gpu_sample_throttled(unsigned sm_mhz, unsigned max_mhz, unsigned long long reasons,
                         double threshold)
{
    if (reasons & THROTTLE_REASON_MASK)
        return 1;
    return max_mhz > 0 && (double)sm_mhz < threshold * (double)max_mhz;
}

int cuda_measure_d2d(size_t bytes, int reps, double *best, double *median, dyt_err *e)
{
    void *src = NULL, *dst = NULL;
    cudaEvent_t e0 = NULL, e1 = NULL;
    double *gbps = calloc((size_t)reps, sizeof *gbps);
    int rc = DYT_OK;
    cudaError_t ce = gbps ? cudaSuccess : cudaErrorMemoryAllocation;
    if (ce == cudaSuccess)
        ce = cudaMalloc(&src, bytes);
    if (ce == cudaSuccess)
        ce = cudaMalloc(&dst, bytes);
    if (ce == cudaSuccess)
        ce = cudaMemset(src, 1, bytes);
    if (ce == cudaSuccess)
        ce = cudaMemset(dst, 0, bytes);
    if (ce == cudaSuccess)
        ce = cudaEventCreate(&e0);
    if (ce == cudaSuccess)
        ce = cudaEventCreate(&e1);
    /* One untimed copy first: the first touch of the pages is not the
     * bandwidth. */
    if (ce == cudaSuccess)
        ce = cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice);
    for (int i = 0; i < reps && ce == cudaSuccess; i++) {
        float ms = 0;
        ce = cudaEventRecord(e0, 0);
        if (ce == cudaSuccess)
            ce = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0);
        if (ce == cudaSuccess)
            ce = cudaEventRecord(e1, 0);
        if (ce == cudaSuccess)
            ce = cudaEventSynchronize(e1);
        if (ce == cudaSuccess)
            ce = cudaEventElapsedTime(&ms, e0, e1);
        gbps[i] = ms > 0 ? 2.0 * (double)bytes / ((double)ms * 1e6) : 0;
    }
    if (ce != cudaSuccess) {
        rc = dyt_errf(e, DYT_FAIL, "device-to-device copy of %zu bytes: %s", bytes,
                      cudaGetErrorString(ce));
    } else {
        qsort(gbps, (size_t)reps, sizeof *gbps, stats_cmp_double);
        *best = gbps[reps - 1];
        *median = stats_median(gbps, (size_t)reps);
    }
    if (e0)
        cudaEventDestroy(e0);
    if (e1)
        cudaEventDestroy(e1);
    cudaFree(src);
    cudaFree(dst);
    free(gbps);
    return rc;
}
