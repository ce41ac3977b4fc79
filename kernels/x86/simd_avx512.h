/* The AVX-512 (F/BW/DQ/VL, optionally BF16) vector layer the norm templates
 * (norm_fwd.h, norm_bwd.h) are written against: 16 fp32 lanes, masked
 * loads/stores for row heads and tails, bf16 conversion, double-precision
 * lane accumulation, the vectorized tanh and the cheaper one of the bf16
 * kernels (v_tanh_bf16). simd_avx2.h provides the same names for AVX2, so
 * the kernels exist once and are compiled per ISA.
 *
 * Only included by files compiled with the AVX-512 -m flags (x86/meson.build).
 * The tanh algorithm and its measured error are in docs/tanh.md; its
 * coefficient table is x86/tanh_tab.h. */
#pragma once
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include "bf16.h"
#include "x86/tanh_tab.h"

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

/* tanh, see docs/tanh.md: table-driven, no division, no exponential.
 * a = min(9.1, |x|) (tanh rounds to 1 above 9.01; written so a NaN passes
 * through). The exponent and top two mantissa bits of a pick one of 30
 * intervals (tanh_tab.h); with t = a - start, tanh a = c0 + t G(t), G a
 * degree-4 polynomial (entry 0, [0, 1/16): c0 = 0, so tiny and denormal
 * inputs come out relative-accurate, exactly a). The seven coefficient
 * rows are 32-entry tables looked up with vpermt2ps (one uop each). The
 * sign of x is OR-ed in at the end (odd function; keeps -0 and the sign of
 * a NaN). About 18 uops per 16 lanes. Measured maximum error over all 2^32
 * inputs: tools/tanh_error.c, quoted in docs/tanh.md. */
#define KX_TANH_ROW(r, idx)                                                                        \
    _mm512_permutex2var_ps(_mm512_load_ps(kx_tanh_tab[r]), idx,                                     \
                           _mm512_load_ps(kx_tanh_tab[r] + 16))
AI vf v_tanh(vf x)
{
    const __m512 sgn = _mm512_set1_ps(-0.0f);
    __m512 a = _mm512_min_ps(_mm512_set1_ps(9.1f), _mm512_andnot_ps(sgn, x));
    /* (bits >> 21) - 491, saturated at 0: 16-bit lanes suffice (< 2048) */
    __m512i idx = _mm512_subs_epu16(_mm512_srli_epi32(_mm512_castps_si512(a), 21),
                                    _mm512_set1_epi32(491));
    __m512 t = _mm512_sub_ps(a, KX_TANH_ROW(0, idx));
    __m512 h = _mm512_fmadd_ps(KX_TANH_ROW(6, idx), t, KX_TANH_ROW(5, idx));
    h = _mm512_fmadd_ps(h, t, KX_TANH_ROW(4, idx));
    h = _mm512_fmadd_ps(h, t, KX_TANH_ROW(3, idx));
    h = _mm512_fmadd_ps(h, t, KX_TANH_ROW(2, idx));
    h = _mm512_fmadd_ps(h, t, KX_TANH_ROW(1, idx));
    /* h | (x & sgn) */
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
        _mm512_castps_si512(h), _mm512_castps_si512(x), _mm512_castps_si512(sgn), 0xF8));
}
#undef KX_TANH_ROW

/* tanh for bf16 outputs (docs/tanh.md): a bf16 result keeps 8 bits, so
 * x P(x^2) / Q(x^2) with P, Q of degree 2 (relative minimax on [0, 5],
 * 2^-13.4) and vrcp14ps (2^-14) for the quotient: 10 uops per 16 lanes
 * against v_tanh's 18. x is clamped to +-5 first (tanh(5) rounds to 1 in
 * bf16; a NaN passes through the clamp); the odd form keeps -0 and denormals. */
AI vf v_tanh_bf16(vf x)
{
    vf c = _mm512_max_ps(_mm512_set1_ps(-5.0f), _mm512_min_ps(_mm512_set1_ps(5.0f), x));
    vf s = _mm512_mul_ps(c, c);
    /* P and Q divided by Q's leading coefficient: Q = (s + q1) s + q0 then
     * costs an add and one FMA (the FMA pipes are what the kernel is bound by). */
    vf p = _mm512_fmadd_ps(_mm512_set1_ps(0.0514930487f), s, _mm512_set1_ps(8.07871628f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(79.5454102f));
    vf q = _mm512_add_ps(s, _mm512_set1_ps(34.5612526f));
    q = _mm512_fmadd_ps(q, s, _mm512_set1_ps(79.5492554f));
    return _mm512_mul_ps(_mm512_mul_ps(c, p), _mm512_rcp14_ps(q));
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

/* acc[0..n) += (double)v[0..n) (init: acc[0..n) = (double)v[0..n)): the
 * per-thread column partials of the backward reductions are kept in
 * double so they do not drift with rows. */
AI void v_acc_f64(double *acc, vf v, size_t n, int init)
{
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
    if (n == VL) {
        if (!init) {
            lo = _mm512_add_pd(_mm512_loadu_pd(acc), lo);
            hi = _mm512_add_pd(_mm512_loadu_pd(acc + 8), hi);
        }
        _mm512_storeu_pd(acc, lo);
        _mm512_storeu_pd(acc + 8, hi);
        return;
    }
    __mmask8 ml = (__mmask8)(n >= 8 ? 0xff : (1u << n) - 1u);
    __mmask8 mh = (__mmask8)(n > 8 ? (1u << (n - 8)) - 1u : 0);
    if (!init) {
        lo = _mm512_add_pd(_mm512_maskz_loadu_pd(ml, acc), lo);
        hi = _mm512_add_pd(_mm512_maskz_loadu_pd(mh, acc + 8), hi);
    }
    _mm512_mask_storeu_pd(acc, ml, lo);
    _mm512_mask_storeu_pd(acc + 8, mh, hi);
}

AI void v_sfence(void) { _mm_sfence(); }
