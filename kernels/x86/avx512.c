/* The avx512 and avx512bf16 variants: DyT, LayerNorm and RMSNorm, forward
 * and backward, fp32 and bf16, with 16-lane vectors, masked row heads and
 * tails, streaming stores for outputs beyond KX_NT_MIN_BYTES, and the
 * vectorized tanh of docs/tanh.md. The kernels themselves are the
 * templates in norm_fwd.h / norm_bwd.h; avx512bf16 differs only in storing
 * bf16 with vcvtneps2bf16 (bit-identical to the software rounding). Built
 * with the AVX-512 -m flags (x86/meson.build), called only when
 * kern_cpu_flags() has ISA_AVX512 (and ISA_AVX512BF16). */
#include "x86/simd_avx512.h"
#include "x86/norm_defs.h"

KX_DEFINE_MODE(M_F32, f32)
KX_DEFINE_MODE(M_BF16, bf16)
KX_DEFINE_MODE(M_BF16N, bf16n)

static const kern_entry avx512_variants[] = {
    KX_ENTRIES("avx512", ISA_AVX512, DTYPE_F32, f32, "AVX-512, 16 lanes, fused passes, vector tanh"),
    KX_ENTRIES("avx512", ISA_AVX512, DTYPE_BF16, bf16,
               "AVX-512, bf16 storage, software round-to-nearest-even"),
    KX_ENTRIES("avx512bf16", ISA_AVX512 | ISA_AVX512BF16, DTYPE_BF16, bf16n,
               "AVX-512 with native vcvtneps2bf16 stores"),
};
const kern_backend kern_backend_avx512 = KERN_BACKEND_OF("avx512", avx512_variants);

void kx_tanh_avx512(const float *x, float *y, size_t n)
{
    kx_tanh_n(x, y, n, M_F32);
}

void kx_tanh_bf16_avx512(const float *x, float *y, size_t n)
{
    kx_tanh_n(x, y, n, M_BF16);
}

void kx_bf16_avx512(const float *x, bf16_t *y, size_t n)
{
    kx_bf16_n(x, y, n, 0);
}

void kx_bf16_avx512bf16(const float *x, bf16_t *y, size_t n)
{
    kx_bf16_n(x, y, n, 1);
}
