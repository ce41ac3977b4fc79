/* The AVX2 + FMA vector layer: the same names as simd_avx512.h with 8 fp32
 * lanes, so the norm templates compile unchanged for both ISAs. AVX2 has no
 * byte/word masks: fp32 heads and tails use vmaskmovps, bf16 ones go through
 * a small stack buffer (once per row, not in the hot loop).
 *
 * Only included by files compiled with -mavx2 -mfma (x86/meson.build). */
#pragma once
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "bf16.h"

#define AI static inline __attribute__((always_inline))
#define VL 8
typedef __m256 vf;

AI vf v_set(float a) { return _mm256_set1_ps(a); }
AI vf v_zero(void) { return _mm256_setzero_ps(); }
AI vf v_add(vf a, vf b) { return _mm256_add_ps(a, b); }
AI vf v_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
AI vf v_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
AI vf v_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
AI vf v_fnma(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }

AI float v_hsum(vf a)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Lane i active when i < n. */
AI __m256i v_mask(size_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* tanh (docs/tanh.md): |x| < 0.7: odd polynomial |x| + |x|^3 P(x^2);
 * above: 1 - 2e/(1+e), e = exp(-2|x|), the quotient a true division
 * (correctly rounded). AVX-512's table-driven tanh needs a 32-entry
 * vpermt2ps that AVX2 lacks, so this ISA keeps the exp form; 2^n is built
 * in the exponent field (n is in [-28, -1] after the clamp; a NaN's garbage scale
 * multiplies a NaN). */
AI vf v_tanh(vf x)
{
    const __m256 sgn = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(sgn, x);

    __m256 s = _mm256_mul_ps(x, x);
    __m256 p = _mm256_fmadd_ps(s, _mm256_set1_ps(0.00206062143475f), _mm256_set1_ps(-0.00811350702168f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(0.0216894058991f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-0.0539481703314f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(0.133332501689f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-0.333333327689f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(ax, s), p, ax);

    __m256 y = _mm256_mul_ps(_mm256_min_ps(_mm256_set1_ps(9.5f), ax), _mm256_set1_ps(-2.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(y, _mm256_set1_ps(1.44269504089f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 f = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), y);
    f = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), f);
    __m256 q = _mm256_fmadd_ps(f, _mm256_set1_ps(0.00139261761199f), _mm256_set1_ps(0.00836317307451f));
    q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(0.0416665546621f));
    q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(0.166665770256f));
    q = _mm256_fmadd_ps(q, f, _mm256_set1_ps(0.5f));
    __m256 pe = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(f, f), q, f), _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 e = _mm256_mul_ps(pe, _mm256_castsi256_ps(bits));
    __m256 d = _mm256_add_ps(e, _mm256_set1_ps(1.0f));
    __m256 qt = _mm256_div_ps(_mm256_add_ps(e, e), d);
    __m256 large = _mm256_sub_ps(_mm256_set1_ps(1.0f), qt);

    __m256 m = _mm256_cmp_ps(ax, _mm256_set1_ps(0.7f), _CMP_LT_OQ);
    return _mm256_or_ps(_mm256_blendv_ps(large, small, m), _mm256_and_ps(x, sgn));
}

/* The bf16 kernels' tanh: AVX2 keeps the fp32 one (the cheaper bf16 tanh of
 * simd_avx512.h is AVX-512 only). */
AI vf v_tanh_bf16(vf x) { return v_tanh(x); }

AI vf v_ld_f32(const float *p, size_t n)
{
    if (n == VL)
        return _mm256_loadu_ps(p);
    return _mm256_maskload_ps(p, v_mask(n));
}

AI vf v_ld_bf16(const bf16_t *p, size_t n)
{
    __m128i h;
    if (n == VL) {
        h = _mm_loadu_si128((const __m128i *)p);
    } else {
        bf16_t buf[VL] = {0};
        memcpy(buf, p, n * sizeof *p);
        h = _mm_loadu_si128((const __m128i *)buf);
    }
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

AI void v_st_f32(float *p, vf v, size_t n, int nt)
{
    if (n == VL) {
        if (nt)
            _mm256_stream_ps(p, v);
        else
            _mm256_storeu_ps(p, v);
    } else {
        _mm256_maskstore_ps(p, v_mask(n), v);
    }
}

/* Round to nearest even, NaN -> quiet NaN: bit-identical to f32_to_bf16. */
AI __m128i v_bf16_sw(vf v)
{
    __m256i u = _mm256_castps_si256(v);
    __m256i hi = _mm256_srli_epi32(u, 16);
    __m256i bias = _mm256_add_epi32(_mm256_and_si256(hi, _mm256_set1_epi32(1)), _mm256_set1_epi32(0x7fff));
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, bias), 16);
    __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    r = _mm256_blendv_epi8(r, _mm256_or_si256(hi, _mm256_set1_epi32(0x40)), nan);
    r = _mm256_packus_epi32(r, r); /* per 128-bit lane: r0-3 r0-3 | r4-7 r4-7 */
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(r, 0x08));
}

AI void v_st_bf16(bf16_t *p, vf v, size_t n, int nt, int native)
{
    (void)native;
    __m128i h = v_bf16_sw(v);
    if (n == VL) {
        if (nt)
            _mm_stream_si128((__m128i *)p, h);
        else
            _mm_storeu_si128((__m128i *)p, h);
    } else {
        bf16_t buf[VL];
        _mm_storeu_si128((__m128i *)buf, h);
        memcpy(p, buf, n * sizeof *p);
    }
}

AI void v_acc_f64(double *acc, vf v, size_t n, int init)
{
    if (n == VL) {
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        if (!init) {
            lo = _mm256_add_pd(_mm256_loadu_pd(acc), lo);
            hi = _mm256_add_pd(_mm256_loadu_pd(acc + 4), hi);
        }
        _mm256_storeu_pd(acc, lo);
        _mm256_storeu_pd(acc + 4, hi);
        return;
    }
    float t[VL];
    _mm256_storeu_ps(t, v);
    for (size_t i = 0; i < n; i++)
        acc[i] = init ? (double)t[i] : acc[i] + t[i];
}

AI void v_sfence(void) { _mm_sfence(); }
