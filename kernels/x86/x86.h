/* What the x86 kernel files export beyond their registry tables: the
 * streaming-store policy (shared with machine/bandwidth.c so the copy
 * roofline is measured the way the kernels store), and array entry points
 * to the vectorized tanh and bf16 rounding for tools/tanh_error.c and
 * tests/simd. Call an _avx512/_avx2 function only when kern_cpu_flags()
 * has the matching ISA bit. */
#pragma once
#include <stddef.h>
#include "bf16.h"

/* Kernels write their activation output (y, dx) with non-temporal stores
 * when it is at least this large: such an output cannot stay in the caches
 * for a reader anyway, and streaming stores skip the read-for-ownership of
 * every output line (on the 2-core build VM: ~40 GB/s copy with streaming
 * stores vs ~25 GB/s with plain ones). Below it, plain stores keep the
 * output cache-resident. machine/bandwidth.c applies the same rule. */
#define KX_NT_MIN_BYTES ((size_t)32 << 20)

/* Backward column partials (dgamma, dbeta) are summed in fp32 vectors over
 * blocks of at most this many rows, then the block is added into the
 * thread's double partial (kx_fold). An fp32 sum of k terms errs by at most
 * (k - 1) u sum|t|; with k = 32 that is within the (8 sqrt(n) + 16) u S
 * bound of docs/kernels.md for every n, and the double sum of blocks adds
 * nothing measurable. Keeps the per-element cost at one fp32 load + add +
 * store instead of two fp32 -> double conversions and double adds. */
#define KX_COL_BLOCK 32

void kx_tanh_avx512(const float *x, float *y, size_t n);
void kx_tanh_avx2(const float *x, float *y, size_t n);
/* The bf16 kernels' tanh (AVX-512), accurate to a bf16 ulp, not to fp32. */
void kx_tanh_bf16_avx512(const float *x, float *y, size_t n);
/* fp32 -> bf16 as the kernels store it: software RNE (avx2, avx512) and
 * the AVX512-BF16 instruction with its denormal fix-up (avx512bf16). */
void kx_bf16_avx2(const float *x, bf16_t *y, size_t n);
void kx_bf16_avx512(const float *x, bf16_t *y, size_t n);
void kx_bf16_avx512bf16(const float *x, bf16_t *y, size_t n);
