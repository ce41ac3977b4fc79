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

/* The vector tanh and the fp32 -> bf16 store of the vector layer over n
 * values (mode: the tanh of that storage mode; native: the ISA's conversion
 * instruction), for the tests'
 * kx_tanh_<isa> / kx_bf16_<isa> (x86.h). */
AI void kx_tanh_n(const float *x, float *y, size_t n, int mode)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        v_st_f32(y + i, kx_tanh_of(v_ld_f32(x + i, VL), mode), VL, 0);
    if (i < n)
        v_st_f32(y + i, kx_tanh_of(v_ld_f32(x + i, n - i), mode), n - i, 0);
}

AI void kx_bf16_n(const float *x, bf16_t *y, size_t n, int native)
{
    size_t i = 0;
    for (; i + VL <= n; i += VL)
        v_st_bf16(y + i, v_ld_f32(x + i, VL), VL, 0, native);
    if (i < n)
        v_st_bf16(y + i, v_ld_f32(x + i, n - i), n - i, 0, native);
}
