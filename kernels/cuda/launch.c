/* Launch configuration of the CUDA kernels, as plain arithmetic so that the
 * rule is tested on machines without a GPU (tests/cuda/test_cuda_host.c).
 *
 * Why these numbers: a row kernel wants every row read from DRAM once, so
 * the row is held in registers (KCUDA_NV 16-byte vectors per thread at
 * most, i.e. <= 32 fp32 values per thread for x, keeping register use low
 * enough for full occupancy); it wants several independent 16-byte loads in
 * flight per thread (about 2 vectors per thread for block rows, up to
 * KCUDA_NV for warp rows) to cover DRAM latency; and a warp per row when a
 * row is small enough (<= 32 * KCUDA_NV vectors: 1024 bf16 or 512 fp32
 * values), because then no shared memory or barrier is needed for the row
 * reductions. Backward grids are kept near one 512-thread block per SM:
 * every block writes one row of dgamma/dbeta partials, so fewer blocks
 * means fewer partial bytes (P x cols x 4 per parameter, written and read
 * once more by the combine stage). */
#include "kern_cuda.h"

static int ceil_div_i(size_t a, size_t b) { return (int)((a + b - 1) / b); }

static int pick_vec(size_t cols, size_t elem_size, uintptr_t addr_or)
{
    size_t v = 16 / elem_size;
    if (addr_or % 16 == 0 && (cols * elem_size) % 16 == 0)
        return (int)v;
    return 1;
}

int kcuda_pick_config(size_t rows, size_t cols, size_t elem_size, uintptr_t addr_or, int sms,
                      pass_kind pass, int n_params, size_t smem_limit, kcuda_cfg *out)
{
    if (rows == 0 || cols == 0 || elem_size == 0 || elem_size > 16)
        return -1;
    if (sms <= 0)
        sms = 1;
    kcuda_cfg c = {0};
    c.vec = pick_vec(cols, elem_size, addr_or);
    size_t nvec = cols / (size_t)c.vec;
    int nv = pass == PASS_FWD ? KCUDA_NV : KCUDA_NV_BWD;
    size_t max_threads = pass == PASS_FWD ? KCUDA_MAX_THREADS : KCUDA_MAX_THREADS_BWD;
    if (nvec <= 32u * (size_t)nv) {
        c.group = 32;
    } else {
        /* About two vectors per thread, whole warps, at most a full block. */
        size_t g = (nvec + 1) / 2;
        g = (g + 31) / 32 * 32;
        c.group = g > max_threads ? (int)max_threads : (int)g;
    }
    c.per_thread = ceil_div_i(nvec, (size_t)c.group);
    c.cached = c.per_thread <= nv;

    if (pass == PASS_FWD) {
        /* 256-thread blocks: 8 warp-rows, or as many block-rows as fit. */
        c.groups_per_block = c.group >= 256 ? 1 : 256 / c.group;
        c.threads = c.group * c.groups_per_block;
        size_t b = (rows + (size_t)c.groups_per_block - 1) / (size_t)c.groups_per_block;
        c.blocks = b > 0x7fffffffu ? 0x7fffffffu : (unsigned)b;
        c.smem = 0;
    } else {
        /* A full block of row groups whose dgamma/dbeta accumulators are
         * combined in shared memory (fixed group order), when the row is
         * cached in registers and the combine buffer fits; otherwise one
         * group per block, each writing (or, uncached, accumulating in
         * place) its own partial row. */
        size_t combine = (size_t)(n_params > 0 ? n_params : 1) * cols * sizeof(float);
        c.groups_per_block = KCUDA_MAX_THREADS_BWD / c.group;
        if (c.groups_per_block > 1 && (!c.cached || combine > smem_limit))
            c.groups_per_block = 1;
        c.threads = c.group * c.groups_per_block;
        c.smem = c.groups_per_block > 1 ? combine : 0;
        size_t per_sm = c.threads >= KCUDA_MAX_THREADS_BWD
                            ? 1
                            : (size_t)(KCUDA_MAX_THREADS_BWD / c.threads);
        size_t want = (size_t)sms * per_sm;
        size_t need = (rows + (size_t)c.groups_per_block - 1) / (size_t)c.groups_per_block;
        c.blocks = (unsigned)(need < want ? need : want);
    }
    *out = c;
    return 0;
}

int kcuda_pick_ew_config(size_t n, size_t cols, size_t elem_size, uintptr_t addr_or, int sms,
                         kcuda_ew_cfg *out)
{
    if (n == 0 || cols == 0 || elem_size == 0 || elem_size > 16)
        return -1;
    if (sms <= 0)
        sms = 1;
    kcuda_ew_cfg c;
    c.vec = pick_vec(cols, elem_size, addr_or);
    c.threads = 256;
    size_t nvec = n / (size_t)c.vec;
    size_t per_block = (size_t)c.threads * KCUDA_NV;
    size_t b = (nvec + per_block - 1) / per_block;
    size_t cap = (size_t)sms * 8; /* 2048 threads per SM, grid-stride beyond */
    c.blocks = (unsigned)(b < cap ? b : cap);
    if (c.blocks == 0)
        c.blocks = 1;
    *out = c;
    return 0;
}
