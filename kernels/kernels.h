/* The kernel library's interface: DyT, LayerNorm and RMSNorm, forward and
 * backward, fp32 / bf16 (/ fp16 on CUDA) storage, and the one registry of
 * variants that every runner, verifier and benchmark walks.
 *
 * Conventions (all variants):
 *  - x, y, dy, dx are rows x cols row-major, contiguous (stride = cols),
 *    stored in args.dtype; base pointers need not be aligned.
 *  - gamma, beta, dgamma, dbeta, mean, rstd, dalpha are fp32, always.
 *  - Math is fp32 (ref: float64); bf16 outputs round to nearest even.
 *  - Backward consumes what forward saved: LayerNorm mean+rstd, RMSNorm rstd;
 *    DyT recomputes tanh from x.
 *  - Cross-row reductions (dgamma, dbeta, dalpha) are deterministic: for the
 *    same inputs and thread count the result is bitwise identical. Rows are
 *    split into thread-count-dependent chunks whose partials are combined in
 *    a fixed order.
 *  - Backward *overwrites* dgamma/dbeta/dalpha (it does not accumulate).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef enum { NORM_DYT = 0, NORM_LAYERNORM, NORM_RMSNORM, NORM_COUNT } norm_kind;
typedef enum { DTYPE_F32 = 0, DTYPE_BF16, DTYPE_F16, DTYPE_COUNT } dtype_kind;
typedef enum { PASS_FWD = 0, PASS_BWD, PASS_COUNT } pass_kind;
typedef enum { DEVICE_CPU = 0, DEVICE_CUDA } device_kind;

/* ISA requirements, a bit mask tested against kern_cpu_flags(). */
enum {
    ISA_NONE = 0,
    ISA_AVX2 = 1u << 0,     /* AVX2 + FMA */
    ISA_AVX512 = 1u << 1,   /* AVX-512 F/BW/DQ/VL */
    ISA_AVX512BF16 = 1u << 2,
    ISA_ONEDNN = 1u << 3,   /* built with oneDNN */
    ISA_CUDA = 1u << 4,     /* built with CUDA and a usable GPU present */
};

const char *norm_name(norm_kind n);   /* "dyt", "layernorm", "rmsnorm" */
const char *dtype_name(dtype_kind d); /* "fp32", "bf16", "fp16" */
const char *pass_name(pass_kind p);   /* "fwd", "bwd" */
int norm_from_name(const char *s, norm_kind *out);   /* 0 ok, -1 unknown */
int dtype_from_name(const char *s, dtype_kind *out); /* accepts f32/fp32/float32, bf16, fp16/f16 */
int pass_from_name(const char *s, pass_kind *out);
size_t dtype_size(dtype_kind d);

typedef struct kern_pool kern_pool;

/* Everything a kernel call needs. Unused fields are ignored (e.g. mean for
 * RMSNorm). The same struct serves CPU (host pointers) and CUDA (device
 * pointers, stream in kern_exec). */
typedef struct {
    size_t rows, cols;
    dtype_kind dtype;
    float alpha;   /* DyT */
    float eps;     /* LayerNorm / RMSNorm */
    int has_beta;  /* DyT: beta present */
    int affine;    /* LayerNorm: gamma/beta present (RMSNorm: gamma present) */

    /* forward */
    const void *x;
    const float *gamma, *beta;
    void *y;
    float *mean, *rstd; /* forward writes, backward reads */

    /* backward */
    const void *dy;
    void *dx;
    float *dgamma, *dbeta, *dalpha;
} norm_args;

/* How to execute: a CPU thread pool (NULL = calling thread only) or a CUDA
 * stream. */
typedef struct {
    kern_pool *pool;
    void *cuda_stream; /* cudaStream_t */
} kern_exec;

/* Returns 0 on success, nonzero if the call is unsupported (e.g. oneDNN
 * rejecting a shape); never partially writes outputs on refusal. */
typedef int (*norm_kernel_fn)(const norm_args *a, const kern_exec *ex);

typedef struct {
    const char *name;  /* "ref", "scalar", "avx2", "avx512", "avx512bf16", "libm", "onednn", "cuda", "eager" */
    norm_kind norm;
    pass_kind pass;
    dtype_kind dtype;
    device_kind device;
    unsigned isa;      /* ISA_* bits required */
    norm_kernel_fn fn;
    const char *note;  /* one line: what the variant is */
} kern_entry;

/* The registry: every variant built into this binary, supported or not.
 * Order is stable (ref first). */
const kern_entry *kern_registry(size_t *count);
/* Features of this CPU (and ISA_ONEDNN/ISA_CUDA when built and usable),
 * detected once. DYTBENCH_ISA_MASK in the environment may clear bits (for
 * testing dispatch). */
unsigned kern_cpu_flags(void);
int kern_supported(const kern_entry *e);
/* Finds a variant by name for norm/pass/dtype; NULL if none. */
const kern_entry *kern_find(norm_kind n, pass_kind p, dtype_kind d, const char *name);
/* The fastest supported CPU variant for norm/pass/dtype per the registry's
 * preference order (avx512bf16 > avx512 > avx2 > scalar). */
const kern_entry *kern_best(norm_kind n, pass_kind p, dtype_kind d);

/* Minimum bytes a kernel must move: each input read once, each output
 * written once (activations in dtype, parameters and statistics in fp32). */
uint64_t kern_min_bytes(norm_kind n, pass_kind p, dtype_kind d, size_t rows, size_t cols,
                        int has_beta, int affine);

/* Thread pool. Threads are created once; on_start runs in each worker (index
 * 0..n-1, worker 0 is the caller) before any work, so the runner can pin it.
 * Returns NULL on failure. */
typedef int (*kern_thread_init_fn)(int index, void *user);
kern_pool *kern_pool_create(int threads, kern_thread_init_fn on_start, void *user);
void kern_pool_destroy(kern_pool *p);
int kern_pool_threads(const kern_pool *p);
/* Runs fn(index, nthreads, ctx) on every thread (caller is index 0) and
 * waits for all. */
typedef void (*kern_task_fn)(int index, int nthreads, void *ctx);
void kern_pool_run(kern_pool *p, kern_task_fn fn, void *ctx);
/* Per-thread scratch of at least bytes, owned by the pool, stable between
 * calls; index = thread index. NULL pool: a process-wide buffer for index 0. */
void *kern_pool_scratch(kern_pool *p, int index, size_t bytes);
/* The contiguous row range [*begin, *end) of thread index out of n. */
void kern_split_rows(size_t rows, int index, int n, size_t *begin, size_t *end);

/* Extra work injected into a kernel to validate the regression gate (see
 * docs/gate.md): when set for a variant, every call of it spins for the given
 * fraction of its own measured duration. Process-wide, set by the runner from
 * `run --inject-slowdown VARIANT:PCT`. */
void kern_set_injected_slowdown(const char *variant, double fraction);

/* The one way runners call a kernel: applies the injected slowdown (if any
 * for this variant) and then e->fn. */
int kern_call(const kern_entry *e, const norm_args *a, const kern_exec *ex);

/* Per-variant tables, concatenated by the registry in this order. Each
 * variant file defines its table and length; tables of variants not built
 * (no oneDNN, no CUDA) are simply absent. */
#define KERN_TABLE_DECL(v)                                                     \
    extern const kern_entry kern_table_##v[];                                  \
    extern const size_t kern_table_##v##_len
KERN_TABLE_DECL(ref);
KERN_TABLE_DECL(scalar);
KERN_TABLE_DECL(libm);
KERN_TABLE_DECL(avx2);
KERN_TABLE_DECL(avx512);
KERN_TABLE_DECL(onednn);
KERN_TABLE_DECL(cuda);
