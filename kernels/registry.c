/* The variant registry (dav1d-style): every kernel variant built into this
 * binary, concatenated from the backends of backends.def; which ISA bits
 * this process may use (the ISA table's detection, the backends' probes,
 * the ISA mask) and why a bit is missing; the dispatch preference. */
#include "kernels.h"
#include "dyt_config.h"

#include <pthread.h>
#include <stdio.h>
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

/* Every backend in this binary, in registry order, one line each in
 * backends.def (read twice: once to declare, once to list). */
#define KERN_BACKEND(b) extern const kern_backend kern_backend_##b;
#include "backends.def"
#undef KERN_BACKEND
static const kern_backend *const backends[] = {
#define KERN_BACKEND(b) &kern_backend_##b,
#include "backends.def"
#undef KERN_BACKEND
};
#define N_BACKENDS (sizeof backends / sizeof backends[0])

/* Filled once by registry_init; only the mask changes afterwards
 * (kern_set_isa_mask). */
static struct {
    kern_entry *entries;
    size_t n;
    unsigned detected;                  /* CPU features and usable backends */
    unsigned mask;
    int usable[N_BACKENDS];             /* probe result of backends[i] */
    char why[N_BACKENDS][256];          /* and its reason when not usable */
} reg;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

/* DYTBENCH_ISA_MASK is read here and nowhere else. */
static unsigned mask_from_env(void)
{
    const char *mask = getenv("DYTBENCH_ISA_MASK");
    return mask && *mask ? (unsigned)strtoul(mask, NULL, 0) : ~0u;
}

static void registry_init(void)
{
    size_t total = 0;
    for (size_t i = 0; i < N_BACKENDS; i++)
        total += backends[i]->n_variants;
    reg.entries = calloc(total ? total : 1, sizeof *reg.entries);
    if (!reg.entries)
        abort(); /* a few kilobytes at start-up: nothing sensible to do */
    for (size_t i = 0; i < N_BACKENDS; i++)
        for (size_t j = 0; j < backends[i]->n_variants; j++)
            reg.entries[reg.n++] = backends[i]->variants[j];

    size_t n_isa;
    const kern_isa *isa = kern_isa_table(&n_isa);
    for (size_t i = 0; i < n_isa; i++)
        if (isa[i].detect && isa[i].detect())
            reg.detected |= isa[i].bit;
    for (size_t i = 0; i < N_BACKENDS; i++) {
        const kern_backend *b = backends[i];
        reg.usable[i] = !b->probe || b->probe(reg.why[i], sizeof reg.why[i]);
        if (reg.usable[i])
            reg.detected |= b->isa;
    }
    reg.mask = mask_from_env();
}

static void registry_ready(void) { pthread_once(&registry_once, registry_init); }

const kern_backend *const *kern_backend_list(size_t *count)
{
    *count = N_BACKENDS;
    return backends;
}

const kern_entry *kern_registry(size_t *count)
{
    registry_ready();
    *count = reg.n;
    return reg.entries;
}

unsigned kern_cpu_flags(void)
{
    registry_ready();
    return reg.detected & reg.mask;
}

void kern_set_isa_mask(unsigned mask)
{
    registry_ready();
    reg.mask = mask;
}

int kern_supported(const kern_entry *e) { return (e->isa & ~kern_cpu_flags()) == 0; }

/* The index of the built backend providing bit, or -1. */
static int backend_of_bit(unsigned bit)
{
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (backends[i]->isa == bit)
            return (int)i;
    return -1;
}

const char *kern_isa_missing(unsigned bit)
{
    registry_ready();
    const kern_isa *row = kern_isa_find(bit);
    if (!row)
        return "not an ISA this build knows";
    if (bit & reg.detected & reg.mask)
        return NULL;
    if (bit & reg.detected)
        return "disabled by DYTBENCH_ISA_MASK";
    if (row->kind == KERN_ISA_CPU)
        return "this CPU lacks it";
    int b = backend_of_bit(bit);
    if (b < 0)
        return row->not_built;
    return backends[b]->unusable ? backends[b]->unusable : reg.why[b];
}

int kern_unsupported_reason(const kern_entry *e, char *buf, size_t n)
{
    unsigned missing = e->isa & ~kern_cpu_flags();
    if (n)
        buf[0] = '\0';
    if (!missing)
        return 0;
    /* Name the first missing requirement in table order. */
    size_t n_isa;
    const kern_isa *isa = kern_isa_table(&n_isa);
    for (size_t i = 0; i < n_isa; i++)
        if (missing & isa[i].bit) {
            snprintf(buf, n, "needs %s: %s", isa[i].what, kern_isa_missing(isa[i].bit));
            return 1;
        }
    snprintf(buf, n, "needs an unknown feature (isa mask 0x%x)", missing);
    return 1;
}

int kern_backend_usable(unsigned bit, char *why, size_t n)
{
    registry_ready();
    const kern_isa *row = kern_isa_find(bit);
    int b = backend_of_bit(bit);
    const char *text = NULL;
    if (!row || row->kind != KERN_ISA_BACKEND)
        text = "not a backend";
    else if (b < 0)
        text = row->not_built;
    else if (!reg.usable[b])
        text = reg.why[b];
    else if (!(bit & reg.mask))
        text = "disabled by DYTBENCH_ISA_MASK";
    if (n)
        snprintf(why, n, "%s", text ? text : "");
    return text == NULL;
}

int kern_device_usable(device_kind d, char *why, size_t n)
{
    if (d == DEVICE_CUDA)
        return kern_backend_usable(ISA_CUDA, why, n);
    if (n)
        why[0] = '\0';
    return 1;
}

int kern_run_host(const kern_entry *e, const norm_args *host_args, const kern_exec *ex,
                  char *err, size_t n)
{
    if (n)
        err[0] = '\0';
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (backends[i]->run_host && (e->isa & backends[i]->isa))
            return backends[i]->run_host(e, host_args, err, n);
    return e->fn(host_args, ex);
}

int kern_backend_setenv(void)
{
    int set = 0;
    for (size_t i = 0; i < N_BACKENDS; i++) {
        const char *kv = backends[i]->load_env;
        const char *eq = kv ? strchr(kv, '=') : NULL;
        if (!eq)
            continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(eq - kv), kv);
        if (!getenv(name) && setenv(name, eq + 1, 1) == 0)
            set++;
    }
    return set;
}

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
    const kern_entry *best = kern_find(n, p, d, KERN_BASELINE_VARIANT);
    if (best && !kern_supported(best))
        best = NULL;
    int rank = 0;
    size_t n_isa;
    const kern_isa *isa = kern_isa_table(&n_isa);
    for (size_t i = 0; i < n_isa; i++) {
        if (isa[i].kind != KERN_ISA_CPU || isa[i].prefer <= rank)
            continue;
        const kern_entry *e = kern_find(n, p, d, isa[i].name);
        if (e && e->device == DEVICE_CPU && kern_supported(e)) {
            best = e;
            rank = isa[i].prefer;
        }
    }
    return best;
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
