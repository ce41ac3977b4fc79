/* Instantiates the six kernels (3 norms x fwd/bwd) of one storage mode as
 * static functions <norm>_<pass>_<sfx>, and lists them as registry
 * entries. Used by avx2.c and avx512.c after including the vector layer and
 * norm_fwd.h / norm_bwd.h. */
#pragma once
#include "x86/norm_bwd.h"
#include "x86/norm_fwd.h"

#define KX_ONE(nm, pass, rows_fn, entry_fn, mode, sfx)                                             \
    KX_TASK(nm##_##pass##_task_##sfx, rows_fn, mode)                                               \
    static int nm##_##pass##_##sfx(const norm_args *a, const kern_exec *ex)                        \
    {                                                                                              \
        return entry_fn(a, ex, nm##_##pass##_task_##sfx);                                          \
    }

#define KX_DEFINE_MODE(mode, sfx)                                                                  \
    KX_ONE(dyt, fwd, dyt_fwd_rows, kx_forward, mode, sfx)                                          \
    KX_ONE(ln, fwd, ln_fwd_rows, kx_forward, mode, sfx)                                            \
    KX_ONE(rms, fwd, rms_fwd_rows, kx_forward, mode, sfx)                                          \
    KX_ONE(dyt, bwd, dyt_bwd_rows, kx_dyt_bwd, mode, sfx)                                          \
    KX_ONE(ln, bwd, ln_bwd_rows, kx_ln_bwd, mode, sfx)                                             \
    KX_ONE(rms, bwd, rms_bwd_rows, kx_rms_bwd, mode, sfx)

#define KX_ENTRIES(name, isa, dtype, sfx, note)                                                    \
    {name, NORM_DYT, PASS_FWD, dtype, DEVICE_CPU, isa, dyt_fwd_##sfx, note},                       \
    {name, NORM_LAYERNORM, PASS_FWD, dtype, DEVICE_CPU, isa, ln_fwd_##sfx, note},                  \
    {name, NORM_RMSNORM, PASS_FWD, dtype, DEVICE_CPU, isa, rms_fwd_##sfx, note},                   \
    {name, NORM_DYT, PASS_BWD, dtype, DEVICE_CPU, isa, dyt_bwd_##sfx, note},                       \
    {name, NORM_LAYERNORM, PASS_BWD, dtype, DEVICE_CPU, isa, ln_bwd_##sfx, note},                  \
    {name, NORM_RMSNORM, PASS_BWD, dtype, DEVICE_CPU, isa, rms_bwd_##sfx, note}
