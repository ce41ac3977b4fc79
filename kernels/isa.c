/* The ISA table: every ISA_* bit once, with the name the tool prints, what
 * it is, its rank for kern_best and how it is found. The registry's
 * preference order, the plan's reasons, `dytbench list kernels`, the
 * machine record's isa string and the tests all read this table; nothing
 * else names an ISA. The detection functions are the CPUID questions the
 * x86 variant files' -m flags need answered before they may run. */
#include "kernels.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
static int has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

/* gcc 12's __builtin_cpu_supports knows no avx512bf16: ask CPUID leaf 7
 * sub-leaf 1, EAX bit 5. Its variants use the rest of AVX-512 too. */
static int has_avx512bf16(void)
{
    if (!has_avx512())
        return 0;
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
    return (a >> 5) & 1;
}
#else
static int has_none(void)
{
    return 0;
}
#define has_avx2 has_none
#define has_avx512 has_none
#define has_avx512bf16 has_none
#endif

static const kern_isa table[] = {
    {ISA_AVX2, KERN_ISA_CPU, "avx2", "AVX2+FMA", 1, has_avx2, NULL},
    {ISA_AVX512, KERN_ISA_CPU, "avx512", "AVX-512 (F/BW/DQ/VL)", 2, has_avx512, NULL},
    {ISA_AVX512BF16, KERN_ISA_CPU, "avx512bf16", "AVX512-BF16", 3, has_avx512bf16, NULL},
    {ISA_ONEDNN, KERN_ISA_BACKEND, "onednn", "oneDNN", 0, NULL,
     "this build has no oneDNN (apt-get install libdnnl-dev, rebuild)"},
    {ISA_CUDA, KERN_ISA_BACKEND, "cuda", "CUDA", 0, NULL,
     "built without CUDA (rebuild with -Dcuda=enabled)"},
};

const kern_isa *kern_isa_table(size_t *count)
{
    *count = sizeof table / sizeof table[0];
    return table;
}

const kern_isa *kern_isa_find(unsigned bit)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].bit == bit)
            return &table[i];
    return NULL;
}

unsigned kern_isa_bits(kern_isa_kind kind)
{
    unsigned bits = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].kind == kind)
            bits |= table[i].bit;
    return bits;
}

size_t kern_isa_names(unsigned bits, const char *sep, char *buf, size_t n)
{
    size_t count = 0, len = 0;
    if (n)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (!(bits & table[i].bit))
            continue;
        int w = snprintf(buf + len, n > len ? n - len : 0, "%s%s", count ? sep : "", table[i].name);
        if (w > 0)
            len = len + (size_t)w < n ? len + (size_t)w : (n ? n - 1 : 0);
        count++;
    }
    return count;
}
