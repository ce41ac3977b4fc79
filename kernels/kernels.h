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
 *    DyT recomputes tanh from x. (`ref`, the oracle, recomputes the
 *    statistics in float64 instead.)
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

/* ISA requirements, a bit mask tested against kern_cpu_flags(). What each
 * bit is, its name and its dispatch rank are in the ISA table below. */
enum {
    ISA_NONE = 0,
    ISA_AVX2 = 1u << 0,
    ISA_AVX512 = 1u << 1,
    ISA_AVX512BF16 = 1u << 2,
    ISA_ONEDNN = 1u << 3,
    ISA_CUDA = 1u << 4, /* every DEVICE_CUDA variant needs it */
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

/* The registry: every variant built into this binary, supported or not, in
 * the order of the backend list (kernels/backends.def, ref first). */
const kern_entry *kern_registry(size_t *count);
int kern_supported(const kern_entry *e);
/* Why e cannot run here, e.g. "needs AVX-512 (F/BW/DQ/VL): this CPU lacks
 * it" (its first missing ISA bit and kern_isa_missing()); returns 0 with
 * buf = "" when it can. */
int kern_unsupported_reason(const kern_entry *e, char *buf, size_t n);
/* Finds a variant by name for norm/pass/dtype; NULL if none. */
const kern_entry *kern_find(norm_kind n, pass_kind p, dtype_kind d, const char *name);
/* The variant kern_best falls back to when no CPU ISA's variant can run. */
#define KERN_BASELINE_VARIANT "scalar"
/* The preferred supported CPU variant for norm/pass/dtype: the variant
 * named after the highest-ranked CPU ISA (kern_isa.prefer) that has one
 * and can run, else KERN_BASELINE_VARIANT; NULL if neither exists. */
const kern_entry *kern_best(norm_kind n, pass_kind p, dtype_kind d);

/* ---- The ISA table ------------------------------------------------------
 * One row per ISA_* bit (kernels/isa.c), the only place an ISA is named,
 * like dav1d checkasm's cpus[]. A CPU feature is found by its detect(); a
 * backend bit is set when a backend providing it (kern_backend.isa) is
 * built and its probe finds it usable. Registering an ISA: one row, its
 * bit above, and for a CPU ISA its variants named after it. */
typedef enum { KERN_ISA_CPU = 0, KERN_ISA_BACKEND } kern_isa_kind;

typedef struct {
    unsigned bit;          /* one ISA_* bit */
    kern_isa_kind kind;
    const char *name;      /* "avx512": list kernels' needs column, the machine record's
                            * isa string, and the variant built for a CPU ISA */
    const char *what;      /* "AVX-512 (F/BW/DQ/VL)": what reasons call it */
    int prefer;            /* kern_best's rank among CPU ISAs, higher wins; 0: none */
    int (*detect)(void);   /* CPU rows: nonzero when this CPU has the feature */
    const char *not_built; /* backend rows: why a build without the backend lacks it */
} kern_isa;

const kern_isa *kern_isa_table(size_t *count);
/* The row of one bit; NULL for a bit the table does not name. */
const kern_isa *kern_isa_find(unsigned bit);
/* Every bit of one kind (e.g. the CPU features the machine record lists). */
unsigned kern_isa_bits(kern_isa_kind kind);
/* The names of the bits in table order, joined by sep, into buf (cut to
 * fit); returns how many bits it named (0: buf = ""). */
size_t kern_isa_names(unsigned bits, const char *sep, char *buf, size_t n);

/* The ISA bits this process may use: this CPU's features and the usable
 * backends, detected once, less the bits the ISA mask clears. The mask
 * starts as DYTBENCH_ISA_MASK from the environment (a number, e.g. 0 or
 * 0x3; unset or empty: nothing cleared), for testing dispatch. */
unsigned kern_cpu_flags(void);
/* Replaces the ISA mask (~0u clears nothing), the way dav1d's checkasm
 * steps its CPU mask: for tests that walk the dispatch levels in one
 * process. Not while kernels run. */
void kern_set_isa_mask(unsigned mask);
/* Why one ISA bit is not in kern_cpu_flags(): NULL when it is; otherwise a
 * static sentence: "this CPU lacks it", "disabled by DYTBENCH_ISA_MASK",
 * the row's not_built text, or the backend's unusable text. */
const char *kern_isa_missing(unsigned bit);

/* ---- Backends -----------------------------------------------------------
 * A backend is one set of variants as the registry lists it: a file of
 * portable C, one ISA's template instance, a vendor library, a device.
 * Each defines one kern_backend named kern_backend_<name> and has one line
 * in kernels/backends.def; an optional backend (a library or a device a
 * build may lack) is linked only when built, and that line is the only
 * place its build flag is tested. */
typedef struct {
    const char *name;            /* "ref", "avx512", "onednn", "cuda" */
    const kern_entry *variants;
    size_t n_variants;
    /* Optional backends only (zero/NULL otherwise): */
    unsigned isa;                /* its KERN_ISA_BACKEND bit, needed by each of its variants */
    /* Whether it can run here, asked once: 1; else 0 with why, e.g. "no
     * usable GPU was found: <CUDA's reason>". NULL: whenever it is built. */
    int (*probe)(char *why, size_t n);
    const char *unusable;        /* a variant's reason when the probe says no */
    /* Runs one of its variants on arguments in host memory (copy in, run,
     * copy out); 0, or nonzero with err. NULL: its variants take host
     * pointers. */
    int (*run_host)(const kern_entry *e, const norm_args *host_args, char *err, size_t n);
    /* "NAME=value" its library reads once, when it is loaded; NULL: none. */
    const char *load_env;
} kern_backend;

/* Every backend in this binary, in registry order. */
const kern_backend *const *kern_backend_list(size_t *count);
/* A backend of plain variants: name and its kern_entry array. */
#define KERN_BACKEND_OF(nm, table)                                                                 \
    {.name = nm, .variants = table, .n_variants = sizeof table / sizeof table[0]}

/* Whether the backend that provides bit (ISA_ONEDNN, ISA_CUDA) can run its
 * variants here: 1; else 0 with why: the row's not_built text, the
 * backend's probe reason, or "disabled by DYTBENCH_ISA_MASK". */
int kern_backend_usable(unsigned bit, char *why, size_t n);
/* The same for a device: DEVICE_CPU always; DEVICE_CUDA as ISA_CUDA. */
int kern_device_usable(device_kind d, char *why, size_t n);
/* Runs e once on arguments in host memory: a CPU variant directly on ex, a
 * device variant through the run_host of the backend whose bit it needs.
 * Returns e's result, or nonzero with err set ("" when a CPU variant
 * refused the call). */
int kern_run_host(const kern_entry *e, const norm_args *host_args, const kern_exec *ex,
                  char *err, size_t n);
/* Sets each load_env of a built backend that the environment does not
 * already set; returns how many it set. main() then re-executes the binary
 * so that the libraries, loaded at start-up, see them. */
int kern_backend_setenv(void);

/* Minimum bytes a kernel must move: each input read once, each output
 * written once (activations in dtype, parameters and statistics in fp32). */
uint64_t kern_min_bytes(norm_kind n, pass_kind p, dtype_kind d, size_t rows, size_t cols,
                        int has_beta, int affine);

/* Thread pool. Threads are created once; on_start runs in each worker (index
 * 0..n-1, worker 0 is the caller) before any work, so the runner can pin it.
 * Returns NULL on failure. */
typedef int (*kern_thread_init_fn)(int index, void *user);
/* How many pause iterations an idle worker spins before it sleeps: about
 * 50-100 us at ~40-140 cycles per pause, long enough to bridge the gap
 * between two timed calls, short enough not to matter to an idle pool. A
 * library with its own threads (oneDNN's OpenMP team) is given the same. */
#define KERN_POOL_SPIN 4096
kern_pool *kern_pool_create(int threads, kern_thread_init_fn on_start, void *user);
void kern_pool_destroy(kern_pool *p);
int kern_pool_threads(const kern_pool *p);
/* Runs fn(index, nthreads, ctx) on every thread (caller is index 0) and
 * waits for all. */
typedef void (*kern_task_fn)(int index, int nthreads, void *ctx);
void kern_pool_run(kern_pool *p, kern_task_fn fn, void *ctx);
/* The CPUs thread index of the pool may run on (index 0: the calling
 * thread, which is thread 0 of a run), as pthread_getaffinity_np gives them: set is a cpu_set_t of size bytes.
 * 0, or -1 (bad index, or the system would not say). For a library that
 * runs its own threads (oneDNN's OpenMP team) to place them like the
 * pool's. */
int kern_pool_cpuset(const kern_pool *p, int index, void *set, size_t size);
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
