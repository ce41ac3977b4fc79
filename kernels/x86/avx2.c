/* The avx2 variant (AVX2 + FMA): DyT, LayerNorm and RMSNorm, forward and
 * backward, fp32 and bf16, with 8-lane vectors. Same templates as
 * avx512.c (norm_fwd.h / norm_bwd.h) on the AVX2 vector layer; tails via
 * vmaskmovps (fp32) or a stack buffer (bf16). Built with -mavx2 -mfma,
 * called only when kern_cpu_flags() has ISA_AVX2. */
#include "x86/simd_avx2.h"
#include "x86/norm_defs.h"

KX_DEFINE_MODE(M_F32, f32)
KX_DEFINE_MODE(M_BF16, bf16)

static const kern_entry avx2_variants[] = {
    KX_ENTRIES("avx2", ISA_AVX2, DTYPE_F32, f32, "AVX2+FMA, 8 lanes, fused passes, vector tanh"),
    KX_ENTRIES("avx2", ISA_AVX2, DTYPE_BF16, bf16, "AVX2+FMA, bf16 storage, software rounding"),
};
const kern_backend kern_backend_avx2 = KERN_BACKEND_OF("avx2", avx2_variants);

void kx_tanh_avx2(const float *x, float *y, size_t n)
{
    kx_tanh_n(x, y, n, M_F32);
}

void kx_bf16_avx2(const float *x, bf16_t *y, size_t n)
{
    kx_bf16_n(x, y, n, 0);
}
