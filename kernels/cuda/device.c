/* Host side of the CUDA kernels: whether a usable GPU is present (behind
 * the backend's probe, so ISA_CUDA), cached device properties, the
 * per-process device workspace, and kern_cuda_run_host, the backend's
 * run_host, which lets host code (the verifier, the GPU tests) run a
 * DEVICE_CUDA variant on host arrays.
 *
 * The probe runs once per process. On the build machines the toolkit is
 * installed and there is no driver: cudaGetDeviceCount then answers
 * cudaErrorInsufficientDriver ("CUDA driver version is insufficient for
 * CUDA runtime version"), which is kept verbatim as the reason. */
#include "kern_cuda.h"
#include "common.h"

#include <cuda_runtime_api.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static int probe_usable;
static char probe_reason[256];
static int probe_sms;
static size_t probe_smem_optin;

static void probe(void)
{
    int n = 0;
    cudaError_t rc = cudaGetDeviceCount(&n);
    if (rc != cudaSuccess) {
        snprintf(probe_reason, sizeof probe_reason, "%s", cudaGetErrorString(rc));
        cudaGetLastError(); /* clear it: later calls must not inherit it */
        return;
    }
    if (n < 1) {
        snprintf(probe_reason, sizeof probe_reason, "no CUDA device");
        return;
    }
    /* Device 0 is the one every dytbench run uses (CUDA_VISIBLE_DEVICES
     * selects another). */
    int major = 0, minor = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0) != cudaSuccess) {
        snprintf(probe_reason, sizeof probe_reason, "cannot read device 0's compute capability: %s",
                 cudaGetErrorString(cudaGetLastError()));
        return;
    }
    if (major < 7) {
        snprintf(probe_reason, sizeof probe_reason,
                 "device 0 has compute capability %d.%d; the kernels need 7.0 or newer", major,
                 minor);
        return;
    }
    int sms = 0, optin = 0;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
    cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0);
    probe_sms = sms;
    probe_smem_optin = optin > 0 ? (size_t)optin : 48 * 1024;
    probe_usable = 1;
}

int cuda_device_usable(void)
{
    pthread_once(&probe_once, probe);
    return probe_usable;
}

const char *cuda_unusable_reason(void)
{
    pthread_once(&probe_once, probe);
    return probe_usable ? "" : probe_reason;
}

int kcuda_sm_count(void)
{
    pthread_once(&probe_once, probe);
    return probe_sms;
}

size_t kcuda_smem_optin(void)
{
    pthread_once(&probe_once, probe);
    return probe_usable ? probe_smem_optin : 0;
}

/* ---- workspace ----------------------------------------------------------- */

static pthread_mutex_t ws_lock = PTHREAD_MUTEX_INITIALIZER;
static void *ws_ptr[KCUDA_WS_COUNT];
static size_t ws_size[KCUDA_WS_COUNT];

void *kcuda_workspace(int slot, size_t bytes)
{
    if (slot < 0 || slot >= KCUDA_WS_COUNT)
        return NULL;
    pthread_mutex_lock(&ws_lock);
    if (ws_size[slot] < bytes) {
        if (ws_ptr[slot])
            cudaFree(ws_ptr[slot]);
        ws_ptr[slot] = NULL;
        ws_size[slot] = 0;
        /* Grow by 1/4 extra so alternating shapes do not reallocate. */
        size_t want = bytes + bytes / 4;
        void *p = NULL;
        if (cudaMalloc(&p, want) == cudaSuccess) {
            ws_ptr[slot] = p;
            ws_size[slot] = want;
        } else {
            cudaGetLastError();
        }
    }
    void *r = ws_ptr[slot];
    pthread_mutex_unlock(&ws_lock);
    return r;
}

void kcuda_workspace_release(void)
{
    pthread_mutex_lock(&ws_lock);
    for (int i = 0; i < KCUDA_WS_COUNT; i++) {
        if (ws_ptr[i])
            cudaFree(ws_ptr[i]);
        ws_ptr[i] = NULL;
        ws_size[i] = 0;
    }
    pthread_mutex_unlock(&ws_lock);
}

/* ---- kern_cuda_run_host -------------------------------------------------- */

typedef struct {
    const void *host_in;  /* copied to the device before the call */
    void *host_out;       /* copied back after it */
    size_t bytes;
    void *dev;
} xfer;

int kern_cuda_run_host(const kern_entry *e, const norm_args *h, char *err, size_t errlen)
{
    if (!cuda_device_usable()) {
        snprintf(err, errlen, "no usable GPU was found: %s", cuda_unusable_reason());
        return 1;
    }
    if (e->device != DEVICE_CUDA) {
        snprintf(err, errlen, "variant %s is not a CUDA variant", e->name);
        return 1;
    }
    size_t act = h->rows * h->cols * dtype_size(h->dtype);
    size_t vec = h->cols * sizeof(float), row = h->rows * sizeof(float);
    norm_args d = *h;
    /* Which buffers travel which way: forward reads x/gamma/beta and
     * writes y/mean/rstd; backward reads x/dy/gamma/beta/mean/rstd and
     * writes dx/dgamma/dbeta/dalpha. */
    int bwd = e->pass == PASS_BWD;
    xfer t[11] = {
        {h->x, NULL, act, NULL},
        {h->gamma, NULL, vec, NULL},
        {h->beta, NULL, vec, NULL},
        {bwd ? h->mean : NULL, bwd ? NULL : h->mean, row, NULL},
        {bwd ? h->rstd : NULL, bwd ? NULL : h->rstd, row, NULL},
        {NULL, bwd ? NULL : h->y, act, NULL},
        {bwd ? h->dy : NULL, NULL, act, NULL},
        {NULL, bwd ? h->dx : NULL, act, NULL},
        {NULL, bwd ? h->dgamma : NULL, vec, NULL},
        {NULL, bwd ? h->dbeta : NULL, vec, NULL},
        {NULL, bwd ? h->dalpha : NULL, sizeof(float), NULL},
    };
    int rc = 0;
    cudaError_t ce = cudaSuccess;
    for (size_t i = 0; i < DYT_ARRAY_LEN(t) && ce == cudaSuccess; i++) {
        if (!t[i].host_in && !t[i].host_out)
            continue;
        ce = cudaMalloc(&t[i].dev, t[i].bytes);
        if (ce == cudaSuccess && t[i].host_in)
            ce = cudaMemcpy(t[i].dev, t[i].host_in, t[i].bytes, cudaMemcpyHostToDevice);
        else if (ce == cudaSuccess) /* outputs start as a NaN pattern: unwritten shows */
            ce = cudaMemset(t[i].dev, 0xff, t[i].bytes);
    }
    if (ce != cudaSuccess) {
        snprintf(err, errlen, "copying the inputs to the GPU: %s", cudaGetErrorString(ce));
        rc = 1;
        goto out;
    }
    d.x = t[0].dev, d.gamma = t[1].dev, d.beta = t[2].dev;
    d.mean = t[3].dev, d.rstd = t[4].dev, d.y = t[5].dev;
    d.dy = t[6].dev, d.dx = t[7].dev, d.dgamma = t[8].dev, d.dbeta = t[9].dev;
    d.dalpha = t[10].dev;
    kern_exec ex = {.pool = NULL, .cuda_stream = NULL};
    if (e->fn(&d, &ex) != 0) {
        snprintf(err, errlen, "variant %s refused %zu x %zu: %s", e->name, h->rows, h->cols,
                 cudaGetErrorString(cudaGetLastError()));
        rc = 1;
        goto out;
    }
    ce = cudaDeviceSynchronize();
    for (size_t i = 0; i < DYT_ARRAY_LEN(t) && ce == cudaSuccess; i++)
        if (t[i].host_out)
            ce = cudaMemcpy(t[i].host_out, t[i].dev, t[i].bytes, cudaMemcpyDeviceToHost);
    if (ce != cudaSuccess) {
        snprintf(err, errlen, "running %s on the GPU: %s", e->name, cudaGetErrorString(ce));
        rc = 1;
    }
out:
    for (size_t i = 0; i < DYT_ARRAY_LEN(t); i++)
        if (t[i].dev)
            cudaFree(t[i].dev);
    return rc;
}
