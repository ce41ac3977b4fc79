/* The AVX-512 (F/BW/DQ/VL, optionally BF16) vector layer the norm templates
 * (norm_fwd.h, norm_bwd.h) are written against: 16 fp32 lanes, masked
 * loads/stores for row heads and tails, bf16 conversion, double-precision
 * lane accumulation and the vectorized tanh. simd_avx2.h provides the same
 * names for AVX2, so the kernels exist once and are compiled per ISA.
 *
 * Only included by files compiled with the AVX-512 -m flags (x86/meson.build).
 * The tanh algorithm and its measured error are in docs/tanh.md. */
#pragma once
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include "bf16.h"

#define AI static inline __attribute__((always_inline))
#define VL 16
typedef __m512 vf;

AI vf v_set(float a) { return _mm512_set1_ps(a); }
AI vf v_zero(void) { return _mm512_setzero_ps(); }
AI vf v_add(vf a, vf b) { return _mm512_add_ps(a, b); }
AI vf v_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
AI vf v_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
AI vf v_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }   /* a*b + c */
AI vf v_fnma(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); } /* c - a*b */
AI float v_hsum(vf a) { return _mm512_reduce_add_ps(a); }

AI __mmask16 v_mask(size_t n) { return (__mmask16)((1u << n) - 1u); }

/* tanh, see docs/tanh.md. Computed on |x|, the sign of x OR-ed in at the
 * end (odd function; keeps -0 and the sign of a NaN).
 * |x| < 0.7: minimax polynomial |x| + |x|^3 P(x^2), P of degree 5 (no
 * cancellation near 0; denormals pass through unchanged).
 * |x| >= 0.7: 1 - 2e/(1+e) with e = exp(-2|x|) (Cody-Waite reduction,
 * degree-6 polynomial, scalef); the quotient from rcp14 plus one Newton
 * correction. The result is >= 0.6 there, so the quotient's small relative
 * error stays well below an ulp of the result. |x| is clamped to 9.5 (tanh
 * rounds to 1 above 9.01; this keeps inf out of the reduction), written
 * min(9.5, |x|) so a NaN passes through. Measured maximum error over all
 * 2^32 inputs: tools/tanh_error.c, quoted in docs/tanh.md. */
AI vf v_tanh(vf x)
{
    const __m512 sgn = _mm512_set1_ps(-0.0f);
    __m512 ax = _mm512_andnot_ps(sgn, x);

    __m512 s = _mm512_mul_ps(x, x);
    __m512 p = _mm512_fmadd_ps(s, _mm512_set1_ps(0.00206062143475f), _mm512_set1_ps(-0.00811350702168f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(0.0216894058991f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(-0.0539481703314f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(0.133332501689f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(-0.333333327689f));
    __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(ax, s), p, ax);

    __m512 y = _mm512_mul_ps(_mm512_min_ps(_mm512_set1_ps(9.5f), ax), _mm512_set1_ps(-2.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(y, _mm512_set1_ps(1.44269504089f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), y);
    f = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), f);
    __m512 q = _mm512_fmadd_ps(f, _mm512_set1_ps(0.00139261761199f), _mm512_set1_ps(0.00836317307451f));
    q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(0.0416665546621f));
    q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(0.166665770256f));
    q = _mm512_fmadd_ps(q, f, _mm512_set1_ps(0.5f));
    __m512 pe = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(f, f), q, f), _mm512_set1_ps(1.0f));
    __m512 e = _mm512_scalef_ps(pe, n);
    __m512 d = _mm512_add_ps(e, _mm512_set1_ps(1.0f));
    __m512 num = _mm512_add_ps(e, e);
    __m512 r0 = _mm512_rcp14_ps(d);
    __m512 q0 = _mm512_mul_ps(num, r0);
    __m512 qt = _mm512_fmadd_ps(r0, _mm512_fnmadd_ps(d, q0, num), q0);
    __m512 large = _mm512_sub_ps(_mm512_set1_ps(1.0f), qt);

    __mmask16 m = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.7f), _CMP_LT_OQ);
    return _mm512_or_ps(_mm512_mask_blend_ps(m, large, small), _mm512_and_ps(x, sgn));
}

AI vf v_ld_f32(const float *p, size_t n)
{
    if (n == VL)
        return _mm512_loadu_ps(p);
    return _mm512_maskz_loadu_ps(v_mask(n), p);
}

AI vf v_ld_bf16(const bf16_t *p, size_t n)
{
    __m256i h = n == VL ? _mm256_loadu_si256((const __m256i *)p)
                        : _mm256_maskz_loadu_epi16(v_mask(n), p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

AI void v_st_f32(float *p, vf v, size_t n, int nt)
{
    if (n == VL) {
        if (nt)
            _mm512_stream_ps(p, v);
        else
            _mm512_storeu_ps(p, v);
    } else {
        _mm512_mask_storeu_ps(p, v_mask(n), v);
    }
}

/* fp32 -> bf16, round to nearest even, NaN -> quiet NaN: bit-identical to
 * f32_to_bf16() in bf16.h. */
AI __m256i v_bf16_sw(vf v)
{
    __m512i u = _mm512_castps_si512(v);
    __m512i hi = _mm512_srli_epi32(u, 16);
    __m512i bias = _mm512_add_epi32(_mm512_and_si512(hi, _mm512_set1_epi32(1)), _mm512_set1_epi32(0x7fff));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, bias), 16);
    __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    r = _mm512_mask_or_epi32(r, nan, hi, _mm512_set1_epi32(0x40));
    return _mm512_cvtepi32_epi16(r);
}

#ifdef __AVX512BF16__
/* The native conversion (vcvtneps2bf16) rounds to nearest even and quiets
 * NaN like f32_to_bf16, but flushes fp32 denormal inputs to zero; such
 * vectors (rare: |y| < 2^-126) take the software path so the output stays
 * bit-identical. */
AI __m256i v_bf16_native(vf v)
{
    if (__builtin_expect(_mm512_fpclass_ps_mask(v, 0x20) != 0, 0))
        return v_bf16_sw(v);
    return (__m256i)_mm512_cvtneps_pbh(v);
}
#endif

/* native: 1 = use the AVX512-BF16 instruction (compile-time constant). */
AI void v_st_bf16(bf16_t *p, vf v, size_t n, int nt, int native)
{
    __m256i h;
#ifdef __AVX512BF16__
    h = native ? v_bf16_native(v) : v_bf16_sw(v);
#else
    (void)native;
    h = v_bf16_sw(v);
#endif
    if (n == VL) {
        if (nt)
            _mm256_stream_si256((__m256i *)p, h);
        else
            _mm256_storeu_si256((__m256i *)p, h);
    } else {
        _mm256_mask_storeu_epi16(p, v_mask(n), h);
    }
}

/* acc[0..n) += (double)v[0..n): the per-thread column partials of the
 * backward reductions are kept in double so they do not drift with rows. */
AI void v_acc_f64(double *acc, vf v, size_t n)
{
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
    if (n == VL) {
        _mm512_storeu_pd(acc, _mm512_add_pd(_mm512_loadu_pd(acc), lo));
        _mm512_storeu_pd(acc + 8, _mm512_add_pd(_mm512_loadu_pd(acc + 8), hi));
        return;
    }
    __mmask8 ml = (__mmask8)(n >= 8 ? 0xff : (1u << n) - 1u);
    __mmask8 mh = (__mmask8)(n > 8 ? (1u << (n - 8)) - 1u : 0);
    _mm512_mask_storeu_pd(acc, ml, _mm512_add_pd(_mm512_maskz_loadu_pd(ml, acc), lo));
    _mm512_mask_storeu_pd(acc + 8, mh, _mm512_add_pd(_mm512_maskz_loadu_pd(mh, acc + 8), hi));
}

AI void v_sfence(void) { _mm_sfence(); }
