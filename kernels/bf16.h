/* bf16 <-> fp32 conversion, scalar, and fp32's bit patterns. fp32 -> bf16
 * rounds to nearest even and keeps NaN a (quiet) NaN. */
#pragma once
#include <stdint.h>
#include <string.h>

typedef uint16_t bf16_t;

static inline float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float bf16_to_f32(bf16_t h)
{
    return f32_from_bits((uint32_t)h << 16);
}

static inline bf16_t f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (bf16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16_t)(u >> 16);
}
