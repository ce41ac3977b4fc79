/* The variant registry (dav1d-style): every kernel variant built into this
 * binary, concatenated from the per-variant tables, plus run-time CPU
 * feature detection that decides which of them this machine can run. */
#include "kernels.h"
#include "dyt_config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const norm_names[NORM_COUNT] = {"dyt", "layernorm", "rmsnorm"};
static const char *const dtype_names[DTYPE_COUNT] = {"fp32", "bf16", "fp16"};
static const char *const pass_names[PASS_COUNT] = {"fwd", "bwd"};

const char *norm_name(norm_kind n) { return (unsigned)n < NORM_COUNT ? norm_names[n] : "?"; }
const char *dtype_name(dtype_kind d) { return (unsigned)d < DTYPE_COUNT ? dtype_names[d] : "?"; }
const char *pass_name(pass_kind p) { return (unsigned)p < PASS_COUNT ? pass_names[p] : "?"; }

int norm_from_name(const char *s, norm_kind *out)
{
    for (int i = 0; i < NORM_COUNT; i++)
        if (strcmp(s, norm_names[i]) == 0)
            return *out = (norm_kind)i, 0;
    return -1;
}

int dtype_from_name(const char *s, dtype_kind *out)
{
    if (!strcmp(s, "fp32") || !strcmp(s, "f32") || !strcmp(s, "float32"))
        return *out = DTYPE_F32, 0;
    if (!strcmp(s, "bf16") || !strcmp(s, "bfloat16"))
        return *out = DTYPE_BF16, 0;
    if (!strcmp(s, "fp16") || !strcmp(s, "f16") || !strcmp(s, "float16"))
        return *out = DTYPE_F16, 0;
    return -1;
}

int pass_from_name(const char *s, pass_kind *out)
{
    for (int i = 0; i < PASS_COUNT; i++)
        if (strcmp(s, pass_names[i]) == 0)
            return *out = (pass_kind)i, 0;
    return -1;
}

size_t dtype_size(dtype_kind d) { return d == DTYPE_F32 ? 4 : 2; }

/* Tables of variants that were not built are defined empty here, so the
 * registry's list of tables never changes shape with the build options. */
#if !DYT_HAVE_ONEDNN
const kern_entry kern_table_onednn[] = {{0}};
const size_t kern_table_onednn_len = 0;
#endif
#if !DYT_HAVE_CUDA
const kern_entry kern_table_cuda[] = {{0}};
const size_t kern_table_cuda_len = 0;
#endif

static kern_entry *registry;
static size_t registry_len;
static unsigned cpu_flags;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

/* Provided by the CUDA runner when built with CUDA: nonzero when a usable
 * GPU is present. Weak so a CPU-only build links without it. */
int cuda_device_usable(void) __attribute__((weak));

static unsigned detect_cpu_flags(void)
{
    unsigned f = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        f |= ISA_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        f |= ISA_AVX512;
    /* gcc 12's __builtin_cpu_supports knows no avx512bf16: ask CPUID leaf 7
     * sub-leaf 1, EAX bit 5. */
    if (f & ISA_AVX512) {
        unsigned a, b, c, d;
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
        if (a & (1u << 5))
            f |= ISA_AVX512BF16;
    }
#endif
#if DYT_HAVE_ONEDNN
    f |= ISA_ONEDNN;
#endif
    if (cuda_device_usable && cuda_device_usable())
        f |= ISA_CUDA;
    const char *mask = getenv("DYTBENCH_ISA_MASK");
    if (mask && *mask)
        f &= (unsigned)strtoul(mask, NULL, 0);
    return f;
}

static void registry_init(void)
{
    static const struct {
        const kern_entry *table;
        const size_t *len;
    } tables[] = {
        {kern_table_ref, &kern_table_ref_len},       {kern_table_scalar, &kern_table_scalar_len},
        {kern_table_libm, &kern_table_libm_len},     {kern_table_avx2, &kern_table_avx2_len},
        {kern_table_avx512, &kern_table_avx512_len}, {kern_table_onednn, &kern_table_onednn_len},
        {kern_table_cuda, &kern_table_cuda_len},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        total += *tables[i].len;
    registry = calloc(total ? total : 1, sizeof *registry);
    if (!registry)
        abort(); /* a few hundred bytes at start-up: nothing sensible to do */
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        for (size_t j = 0; j < *tables[i].len; j++)
            registry[registry_len++] = tables[i].table[j];
    cpu_flags = detect_cpu_flags();
}

const kern_entry *kern_registry(size_t *count)
{
    pthread_once(&registry_once, registry_init);
    *count = registry_len;
    return registry;
}

unsigned kern_cpu_flags(void)
{
    pthread_once(&registry_once, registry_init);
    return cpu_flags;
}

int kern_supported(const kern_entry *e) { return (e->isa & ~kern_cpu_flags()) == 0; }

const kern_entry *kern_find(norm_kind n, pass_kind p, dtype_kind d, const char *name)
{
    size_t count;
    const kern_entry *r = kern_registry(&count);
    for (size_t i = 0; i < count; i++)
        if (r[i].norm == n && r[i].pass == p && r[i].dtype == d && !strcmp(r[i].name, name))
            return &r[i];
    return NULL;
}

const kern_entry *kern_best(norm_kind n, pass_kind p, dtype_kind d)
{
    static const char *const order[] = {"avx512bf16", "avx512", "avx2", "scalar"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const kern_entry *e = kern_find(n, p, d, order[i]);
        if (e && kern_supported(e))
            return e;
    }
    return NULL;
}

uint64_t kern_min_bytes(norm_kind n, pass_kind p, dtype_kind d, size_t rows, size_t cols,
                        int has_beta, int affine)
{
    uint64_t act = (uint64_t)rows * cols * dtype_size(d);
    uint64_t vec = (uint64_t)cols * 4, row = (uint64_t)rows * 4;
    uint64_t params = 0, stats = 0;
    switch (n) {
    case NORM_DYT:
        params = vec * (1 + (has_beta ? 1 : 0)); /* gamma [, beta] */
        break;
    case NORM_LAYERNORM:
        params = affine ? 2 * vec : 0;
        stats = 2 * row; /* mean, rstd */
        break;
    case NORM_RMSNORM:
        params = vec;
        stats = row; /* rstd */
        break;
    default:
        return 0;
    }
    if (p == PASS_FWD)
        return 2 * act + params + stats; /* read x, write y, write stats */
    /* backward: read x and dy, write dx; read gamma (and stats); write the
     * parameter gradients (same size as the parameters; dalpha is 4 bytes). */
    uint64_t grads = n == NORM_DYT ? params + 4 : params;
    return 3 * act + params + stats + grads;
}
