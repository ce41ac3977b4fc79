/* The CUDA backend of the registry: its probe (a usable GPU), its host
 * wrapper, and its variants: `cuda` (fused kernels, one launch per
 * call plus the deterministic combine of the backward reductions) for every
 * norm x pass x dtype, and `eager` (the unfused launch sequence of framework
 * code: Hugging Face LLaMA RMSNorm, DyT as separate element-wise kernels)
 * for DyT and RMSNorm. LayerNorm has no `eager` entry: PyTorch's eager
 * LayerNorm is already one native fused kernel, so an "eager" LayerNorm
 * would be the `cuda` entry again. Each entry dispatches on the dtype. */
#include "kern_cuda.h"

#include <stdio.h>

#define E(v, n, p, d, fn, note) {v, n, p, d, DEVICE_CUDA, ISA_CUDA, fn, note}
#define FUSED(n, p, fn, what)                                                                  \
    E("cuda", n, p, DTYPE_F32, fn, what), E("cuda", n, p, DTYPE_BF16, fn, what),               \
        E("cuda", n, p, DTYPE_F16, fn, what)
#define EAGER(n, p, fn, what)                                                                  \
    E("eager", n, p, DTYPE_F32, fn, what), E("eager", n, p, DTYPE_BF16, fn, what),             \
        E("eager", n, p, DTYPE_F16, fn, what)

static const kern_entry cuda_variants[] = {
    FUSED(NORM_DYT, PASS_FWD, kcuda_dyt_fwd, "CUDA fused: one element-wise pass, 16-byte vectors"),
    FUSED(NORM_DYT, PASS_BWD, kcuda_dyt_bwd,
          "CUDA fused: row pass + deterministic two-stage dgamma/dbeta/dalpha"),
    FUSED(NORM_LAYERNORM, PASS_FWD, kcuda_layernorm_fwd,
          "CUDA fused: warp/block per row, row in registers, two-pass variance"),
    FUSED(NORM_LAYERNORM, PASS_BWD, kcuda_layernorm_bwd,
          "CUDA fused: row pass + deterministic two-stage dgamma/dbeta"),
    FUSED(NORM_RMSNORM, PASS_FWD, kcuda_rmsnorm_fwd,
          "CUDA fused: warp/block per row, row in registers"),
    FUSED(NORM_RMSNORM, PASS_BWD, kcuda_rmsnorm_bwd,
          "CUDA fused: row pass + deterministic two-stage dgamma"),
    EAGER(NORM_DYT, PASS_FWD, kcuda_eager_dyt_fwd,
          "CUDA eager: alpha*x, tanh, gamma*t+beta as 3 kernels, intermediates in memory"),
    EAGER(NORM_DYT, PASS_BWD, kcuda_eager_dyt_bwd,
          "CUDA eager: autograd's unfused element-wise and reduction kernels"),
    EAGER(NORM_RMSNORM, PASS_FWD, kcuda_eager_rmsnorm_fwd,
          "CUDA eager: HF LLaMA RMSNorm, one kernel per op, fp32 intermediates"),
    EAGER(NORM_RMSNORM, PASS_BWD, kcuda_eager_rmsnorm_bwd,
          "CUDA eager: autograd of the HF LLaMA RMSNorm sequence, unfused"),
};
static int cuda_probe(char *why, size_t n)
{
    if (cuda_device_usable())
        return 1;
    snprintf(why, n, "no usable GPU was found: %s", cuda_unusable_reason());
    return 0;
}

const kern_backend kern_backend_cuda = {
    .name = "cuda",
    .variants = cuda_variants,
    .n_variants = sizeof cuda_variants / sizeof cuda_variants[0],
    .isa = ISA_CUDA,
    .probe = cuda_probe,
    .unusable = "no usable CUDA GPU on this machine",
    .run_host = kern_cuda_run_host,
};
