/* The GPU's part of the machine record: what the device is and how it was
 * set up when the run started (clocks, ECC, driver), stored as gpu.*
 * machine attributes next to the host's hwloc record. The CPU set local to
 * the GPU comes from the PCI device's local_cpulist in sysfs, which is
 * what hwloc's cudart helper reads too. */
#include "cuda_internal.h"

#include <cuda_runtime_api.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static void attr_int(machine_info *m, const char *key, long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    machine_add_attr(m, key, buf);
}

static int dev_attr(enum cudaDeviceAttr a)
{
    int v = 0;
    if (cudaDeviceGetAttribute(&v, a, 0) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    return v;
}

static void version_str(char *buf, size_t n, int v)
{
    snprintf(buf, n, "%d.%d", v / 1000, v % 1000 / 10);
}

int cuda_device_record(machine_info *m, uint64_t *l2_bytes, dyt_err *e)
{
    struct cudaDeviceProp p;
    cudaError_t ce = cudaGetDeviceProperties(&p, 0);
    if (ce != cudaSuccess)
        return dyt_errf(e, DYT_USAGE, "no usable GPU was found: %s", cudaGetErrorString(ce));
    char buf[512];
    machine_add_attr(m, "gpu.name", p.name);
    snprintf(buf, sizeof buf, "%d.%d", p.major, p.minor);
    machine_add_attr(m, "gpu.compute_capability", buf);
    attr_int(m, "gpu.sms", p.multiProcessorCount);
    attr_int(m, "gpu.mem_bytes", (long long)p.totalGlobalMem);
    attr_int(m, "gpu.mem_bus_width_bits", dev_attr(cudaDevAttrGlobalMemoryBusWidth));
    attr_int(m, "gpu.l2_bytes", p.l2CacheSize);
    /* cudaDevAttrClockRate is the peak SM clock (kHz), not the current one;
     * the current clock is NVML's and recorded when NVML is present. */
    attr_int(m, "gpu.max_sm_clock_mhz", dev_attr(cudaDevAttrClockRate) / 1000);
    attr_int(m, "gpu.max_mem_clock_mhz", dev_attr(cudaDevAttrMemoryClockRate) / 1000);
    int drv = 0, rt = 0;
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    version_str(buf, sizeof buf, drv);
    machine_add_attr(m, "gpu.driver_cuda_version", buf);
    version_str(buf, sizeof buf, rt);
    machine_add_attr(m, "gpu.runtime_version", buf);
    machine_add_attr(m, "gpu.ecc", dev_attr(cudaDevAttrEccEnabled) > 0 ? "on" : "off");
    char bus[64] = "";
    if (cudaDeviceGetPCIBusId(bus, sizeof bus, 0) == cudaSuccess)
        machine_add_attr(m, "gpu.pci_bus_id", bus);
    else
        cudaGetLastError();

    gpu_clock *clk = gpu_clock_open(buf, sizeof buf);
    if (clk) {
        unsigned mhz = 0;
        unsigned long long reasons = 0;
        if (gpu_clock_read(clk, &mhz, &reasons) == 0) {
            attr_int(m, "gpu.current_sm_clock_mhz", mhz);
            snprintf(buf, sizeof buf, "0x%llx", reasons);
            machine_add_attr(m, "gpu.clock_event_reasons", buf);
        }
        attr_int(m, "gpu.nvml_max_sm_clock_mhz", gpu_clock_max_sm_mhz(clk));
        gpu_clock_close(clk);
    } else {
        char why[600];
        snprintf(why, sizeof why, "unavailable: %s", buf);
        machine_add_attr(m, "gpu.current_sm_clock_mhz", why);
    }

    /* sysfs wants the bus id in lower case with a 4-digit domain. */
    char path[256], lower[64];
    size_t i = 0;
    for (; bus[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)bus[i]);
    lower[i] = '\0';
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/local_cpulist", lower);
    FILE *f = bus[0] ? fopen(path, "r") : NULL;
    if (f && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        machine_add_attr(m, "gpu.local_cpus", buf);
    } else {
        snprintf(buf, sizeof buf, "unavailable: cannot read %s", path);
        machine_add_attr(m, "gpu.local_cpus", buf);
    }
    if (f)
        fclose(f);

    /* Different GPUs (or the same one moved to another slot or driver)
     * make different machines. */
    uint64_t h = dyt_hash64(m->fingerprint, strlen(m->fingerprint), DYT_HASH64_INIT);
    h = dyt_hash64(p.name, strlen(p.name), h);
    h = dyt_hash64(bus, strlen(bus), h);
    h = dyt_hash64(&drv, sizeof drv, h);
    snprintf(m->fingerprint, sizeof m->fingerprint, "%016llx", (unsigned long long)h);
    *l2_bytes = p.l2CacheSize > 0 ? (uint64_t)p.l2CacheSize : 0;
    return DYT_OK;
}
