/* The CUDA kernels' host-side interface inside the kernels stage and for
 * the CUDA runner: the launch configuration rule (pure arithmetic,
 * testable without a GPU), the device probe behind the backend's probe
 * (table.c, ISA_CUDA), a host-callable wrapper that copies a problem in,
 * runs a DEVICE_CUDA variant and copies the results out (the backend's
 * run_host), and the per-process device workspace that the backward
 * reductions and the eager intermediates use. Code outside kernels/cuda/
 * and runners/cuda/ asks the registry instead (kern_backend_usable,
 * kern_run_host).
 *
 * Included from C (gcc) and from the .cu files (nvcc, C++): everything is
 * extern "C". Built only when DYT_HAVE_CUDA. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#include "kernels.h"

/* How a row kernel is launched. A "group" of `group` threads owns one row
 * at a time: group == 32 is a warp per row (small hidden sizes), larger
 * groups (up to KCUDA_MAX_THREADS) are a block-level row (reduction
 * through shared memory). Each
 * thread keeps up to KCUDA_NV (backward: KCUDA_NV_BWD) vectors of `vec` elements of its row in
 * registers; `cached` says whether the whole row fits (else the kernel
 * re-reads x, which only very wide rows need). */
#define KCUDA_NV 4
#define KCUDA_MAX_THREADS 512
/* Backward holds x, dy and two accumulators per cached vector: fewer
 * vectors and at most 512 threads per block keep it within 128 registers
 * per thread without spilling. */
#define KCUDA_NV_BWD 2
#define KCUDA_MAX_THREADS_BWD 512
typedef struct {
    int vec;              /* elements per 16-byte access (1 = unaligned fallback) */
    int group;            /* threads per row: 32 (warp per row) .. 1024 */
    int groups_per_block; /* rows in flight per block */
    int threads;          /* group * groups_per_block */
    int per_thread;       /* vectors of a row each thread handles */
    int cached;           /* per_thread <= KCUDA_NV: the row lives in registers */
    unsigned blocks;      /* grid size */
    size_t smem;          /* dynamic shared memory, bytes */
} kcuda_cfg;

/* Launch configuration of a row kernel for rows x cols of elem_size-byte
 * elements. addr_or is the bitwise OR of every activation base address the
 * kernel touches (16-byte vectors need each aligned, and cols * elem_size a
 * multiple of 16). sms: multiprocessor count. pass: forward rows are
 * independent (one group per row, the grid covers all rows); backward
 * grids are capped near one block per SM so the per-block partials of
 * dgamma/dbeta stay small, and n_params (column reductions: 0, 1 or 2)
 * sizes the shared memory that combines the groups of a block.
 * smem_limit: the shared memory a block may use (bytes). Returns 0, or -1
 * for an empty shape. */
int kcuda_pick_config(size_t rows, size_t cols, size_t elem_size, uintptr_t addr_or, int sms,
                      pass_kind pass, int n_params, size_t smem_limit, kcuda_cfg *out);

/* Elementwise launch (DyT forward, eager ops): vectors of `vec` elements,
 * each thread KCUDA_NV of them in flight, grid-stride. */
typedef struct {
    int vec;
    int threads;
    unsigned blocks;
} kcuda_ew_cfg;
int kcuda_pick_ew_config(size_t n, size_t cols, size_t elem_size, uintptr_t addr_or, int sms,
                         kcuda_ew_cfg *out);

/* Nonzero when cudaGetDeviceCount finds a device and device 0 has compute
 * capability >= 7.0. Probed once per process. */
int cuda_device_usable(void);
/* Why no GPU is usable ("CUDA driver version is insufficient for CUDA
 * runtime version", "no CUDA device", "compute capability 6.1 < 7.0"), or
 * "" when one is. The string is static. */
const char *cuda_unusable_reason(void);
/* Multiprocessor count and opt-in shared memory per block of the current
 * device, cached after the first call; 0 when no device. */
int kcuda_sm_count(void);
size_t kcuda_smem_optin(void);

/* A device scratch buffer of at least bytes, grown on demand and kept for
 * the process (slot 0: backward partials; 1..3: eager intermediates).
 * Growing frees the old buffer (cudaFree synchronises the device), so a
 * kernel sequence must request its sizes before enqueuing work and must
 * not grow a slot while a CUDA graph is being captured. NULL on failure. */
enum { KCUDA_WS_PARTIAL = 0, KCUDA_WS_EAGER0, KCUDA_WS_EAGER1, KCUDA_WS_EAGER2, KCUDA_WS_EAGER3,
       KCUDA_WS_COUNT };
void *kcuda_workspace(int slot, size_t bytes);
/* Frees every slot (tests, end of a run). */
void kcuda_workspace_release(void);

/* Runs a DEVICE_CUDA variant on host data: allocates device buffers for
 * every pointer set in host_args (sizes from rows, cols and dtype), copies
 * the inputs (and the forward statistics for backward) in, runs e on the
 * default stream, copies every output back into host_args' buffers and
 * frees. Returns 0, or nonzero with a message in err (no GPU, the variant
 * refused, a CUDA error). */
int kern_cuda_run_host(const kern_entry *e, const norm_args *host_args, char *err, size_t errlen);

/* The fused and eager entry points (dispatch on a->dtype). */
int kcuda_dyt_fwd(const norm_args *a, const kern_exec *ex);
int kcuda_dyt_bwd(const norm_args *a, const kern_exec *ex);
int kcuda_layernorm_fwd(const norm_args *a, const kern_exec *ex);
int kcuda_layernorm_bwd(const norm_args *a, const kern_exec *ex);
int kcuda_rmsnorm_fwd(const norm_args *a, const kern_exec *ex);
int kcuda_rmsnorm_bwd(const norm_args *a, const kern_exec *ex);
int kcuda_eager_dyt_fwd(const norm_args *a, const kern_exec *ex);
int kcuda_eager_dyt_bwd(const norm_args *a, const kern_exec *ex);
int kcuda_eager_rmsnorm_fwd(const norm_args *a, const kern_exec *ex);
int kcuda_eager_rmsnorm_bwd(const norm_args *a, const kern_exec *ex);

#ifdef __cplusplus
}
#endif
