/* dytbench bench-kernels: every supported CPU variant's throughput on a
 * DRAM-resident shape and a cache-resident one, beside the same process's
 * STREAM-like copy and scale bandwidth (machine/bandwidth.h) at the same
 * thread count on the same (pinned) pool. A quick look, not the runner:
 * best and median of a few timed calls, bytes counted as the minimum the
 * kernel must move (kern_min_bytes). Kernels are called through kern_call. */
#include "bandwidth.h"
#include "bf16.h"
#include "check.h"
#include "cli.h"
#include "common.h"
#include "kernels.h"
#include "machine.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t rows, cols;
    dtype_kind dtype;
    void *x, *y, *dy, *dx;
    float *gamma, *beta, *dgamma, *dbeta, *mean, *rstd, dalpha;
} bench_bufs;

static void bufs_free(bench_bufs *b)
{
    dyt_free(b->x), dyt_free(b->y), dyt_free(b->dy), dyt_free(b->dx);
    dyt_free(b->gamma), dyt_free(b->beta), dyt_free(b->dgamma), dyt_free(b->dbeta);
    dyt_free(b->mean), dyt_free(b->rstd);
    memset(b, 0, sizeof *b);
}

/* Fills x and dy on the pool threads (first touch where they are used):
 * a cheap hash spread over [-2, 2), exact in the storage type. */
static void fill_task(int index, int n, void *ctx)
{
    bench_bufs *b = ctx;
    size_t r0, r1;
    kern_split_rows(b->rows, index, n, &r0, &r1);
    for (size_t i = r0 * b->cols; i < r1 * b->cols; i++) {
        uint64_t h = (i + 1) * 0x9e3779b97f4a7c15ull;
        float v = (float)((h >> 40) & 0xffff) / 16384.0f - 2.0f;
        float w = (float)((h >> 16) & 0xffff) / 16384.0f - 2.0f;
        if (b->dtype == DTYPE_F32) {
            ((float *)b->x)[i] = v, ((float *)b->dy)[i] = w;
            ((float *)b->y)[i] = 0, ((float *)b->dx)[i] = 0;
        } else {
            ((bf16_t *)b->x)[i] = f32_to_bf16(v), ((bf16_t *)b->dy)[i] = f32_to_bf16(w);
            ((bf16_t *)b->y)[i] = 0, ((bf16_t *)b->dx)[i] = 0;
        }
    }
}

static int bufs_alloc(bench_bufs *b, size_t rows, size_t cols, dtype_kind d, dyt_pages pages,
                      kern_pool *pool)
{
    memset(b, 0, sizeof *b);
    b->rows = rows, b->cols = cols, b->dtype = d;
    size_t act = rows * cols * dtype_size(d);
    b->x = dyt_alloc_pages(act, pages), b->y = dyt_alloc_pages(act, pages);
    b->dy = dyt_alloc_pages(act, pages), b->dx = dyt_alloc_pages(act, pages);
    b->gamma = dyt_alloc(cols * 4), b->beta = dyt_alloc(cols * 4);
    b->dgamma = dyt_alloc(cols * 4), b->dbeta = dyt_alloc(cols * 4);
    b->mean = dyt_alloc(rows * 4), b->rstd = dyt_alloc(rows * 4);
    if (!b->x || !b->y || !b->dy || !b->dx || !b->gamma || !b->beta || !b->dgamma || !b->dbeta ||
        !b->mean || !b->rstd) {
        bufs_free(b);
        return -1;
    }
    for (size_t j = 0; j < cols; j++) {
        b->gamma[j] = 1.0f + 0.001f * (float)(j % 7);
        b->beta[j] = 0.01f * (float)(j % 5);
    }
    if (pool)
        kern_pool_run(pool, fill_task, b);
    else
        fill_task(0, 1, b);
    return 0;
}

static norm_args make_args(bench_bufs *b, norm_kind n)
{
    norm_args a = {0};
    a.rows = b->rows, a.cols = b->cols, a.dtype = b->dtype;
    a.alpha = 0.5f, a.eps = 1e-5f, a.has_beta = 1, a.affine = 1;
    a.x = b->x, a.gamma = b->gamma, a.beta = b->beta, a.y = b->y;
    a.mean = n == NORM_LAYERNORM ? b->mean : NULL;
    a.rstd = n == NORM_DYT ? NULL : b->rstd;
    a.dy = b->dy, a.dx = b->dx;
    a.dgamma = b->dgamma, a.dbeta = n == NORM_RMSNORM ? NULL : b->dbeta;
    a.dalpha = n == NORM_DYT ? &b->dalpha : NULL;
    return a;
}

/* Times e: `reps` samples (fewer if slow), each of k calls so a sample
 * lasts >= ~2 ms. Returns 0 and best/median GB/s, or -1 if refused. */
static int time_variant(const kern_entry *e, const norm_args *a, const kern_exec *ex, int reps,
                        uint64_t bytes, double *best, double *med)
{
    if (kern_call(e, a, ex) != 0) /* warm-up, and refusal check */
        return -1;
    uint64_t t0 = dyt_now_ns();
    if (kern_call(e, a, ex) != 0)
        return -1;
    uint64_t one = dyt_now_ns() - t0;
    int k = one >= 2000000 ? 1 : (int)(2000000 / (one ? one : 1)) + 1;
    double *s = calloc((size_t)reps, sizeof *s);
    if (!s)
        return -1;
    int n = 0;
    uint64_t start = dyt_now_ns();
    while (n < reps) {
        t0 = dyt_now_ns();
        for (int i = 0; i < k; i++)
            kern_call(e, a, ex);
        s[n++] = (double)bytes * k / (double)(dyt_now_ns() - t0);
        if (dyt_now_ns() - start > 2000000000ull)
            break;
    }
    qsort(s, (size_t)n, sizeof *s, stats_cmp_double);
    *best = s[n - 1];
    *med = stats_median(s, (size_t)n);
    free(s);
    return 0;
}

typedef struct {
    const char *variant;
    int norm, pass, dtype; /* -1 = all */
    int reps;
    dyt_pages pages; /* of the activations and the copy's arrays */
} bench_filter;

/* The activations' pages, asked and granted. */
static void operand_pages(const bench_bufs *b, dyt_pages asked, char *buf, size_t n)
{
    size_t act = b->rows * b->cols * dtype_size(b->dtype);
    const void *v[] = {b->x, b->y, b->dy, b->dx};
    int64_t huge = 0;
    for (size_t i = 0; i < 4 && huge >= 0 && act >= DYT_HUGE_PAGE; i++) {
        int64_t h = dyt_pages_granted(v[i], act);
        huge = h < 0 ? -1 : huge + h;
    }
    dyt_pages_text(asked, act >= DYT_HUGE_PAGE ? 4 * act : 0, huge, buf, n);
}

/* One shape: bandwidth, then every matching variant. Returns 0, or 3 on
 * allocation failure. */
static int bench_shape(const char *label, size_t rows, size_t cols, dtype_kind d, kern_pool *pool,
                       const bench_filter *f)
{
    bench_bufs b;
    if (bufs_alloc(&b, rows, cols, d, f->pages, pool)) {
        return cli_fail(DYT_RESOURCE, "bench-kernels: cannot allocate 4 x %zu x %zu %s", rows, cols,
                        dtype_name(d));
    }
    kern_exec ex = {pool, NULL};
    bandwidth_result bw;
    dyt_err err = {{0}};
    uint64_t act = (uint64_t)rows * cols * dtype_size(d);
    int bw_reps = act >= (64u << 20) ? 7 : 201;
    /* one pass per sample */
    bandwidth_spec bs = {.working_set = 2 * act, .reps = bw_reps, .pages = f->pages};
    if (bandwidth_measure(pool, &bs, &bw, &err)) {
        fprintf(stderr, "dytbench: bench-kernels: %s\n", err.msg);
        bufs_free(&b);
        return DYT_FAIL;
    }
    char sz[32];
    dyt_fmt_bytes(sz, sizeof sz, (double)act);
    printf("\n%s shape %zu x %zu %s (%s per activation array), %d thread%s\n", label, rows, cols,
           dtype_name(d), sz, bw.threads, bw.threads > 1 ? "s" : "");
    printf("  copy  %7.1f GB/s best, %7.1f median   scale %7.1f best, %7.1f median "
           "(arrays of %s, %d reps)\n",
           bw.copy_gbps_best, bw.copy_gbps_median, bw.scale_gbps_best, bw.scale_gbps_median, sz,
           bw.reps);
    char copy_pages[64], act_pages[64];
    bandwidth_pages(&bw, copy_pages, sizeof copy_pages);
    operand_pages(&b, f->pages, act_pages, sizeof act_pages);
    printf("  pages: copy arrays %s; activations %s\n", copy_pages, act_pages);
    printf("  %-10s %-5s %-4s %12s %12s %9s %11s\n", "norm", "pass", "", "GB/s best", "GB/s median",
           "% copy", "ms/call");
    size_t count;
    const kern_entry *reg = kern_registry(&count);
    for (int n = 0; n < NORM_COUNT; n++) {
        if (f->norm >= 0 && f->norm != n)
            continue;
        for (int p = 0; p < PASS_COUNT; p++) {
            if (f->pass >= 0 && f->pass != p)
                continue;
            norm_args a = make_args(&b, (norm_kind)n);
            if (p == PASS_BWD && n != NORM_DYT) { /* the statistics backward reads */
                const kern_entry *fw = kern_find((norm_kind)n, PASS_FWD, d, "ref");
                const kern_entry *best = kern_best((norm_kind)n, PASS_FWD, d);
                if (best)
                    fw = best;
                if (!fw || kern_call(fw, &a, &ex) != 0) {
                    printf("  %-10s %-5s (no forward to make the statistics)\n", norm_name(n),
                           pass_name(p));
                    continue;
                }
            }
            uint64_t bytes = kern_min_bytes((norm_kind)n, (pass_kind)p, d, rows, cols, 1, 1);
            for (size_t i = 0; i < count; i++) {
                const kern_entry *e = &reg[i];
                if (e->norm != (norm_kind)n || e->pass != (pass_kind)p || e->dtype != d ||
                    e->device != DEVICE_CPU || !kern_supported(e))
                    continue;
                if (f->variant ? strcmp(f->variant, e->name) : !strcmp(e->name, "ref"))
                    continue;
                /* Checked against ref at this width before it is timed:
                 * a fast wrong kernel gets no speed. */
                kern_check_random_spec cs = {.rows = 3, .cols = cols, .spread = 1.0,
                                             .alpha = 0.8f, .seed = 12345};
                kern_check_result cr;
                dyt_err ce = {{0}};
                if (kern_check_random(e, &cs, pool, &cr, &ce) != DYT_OK) {
                    printf("  %-10s %-5s %-11s FAILED verification, not timed: %s\n", norm_name(n),
                           pass_name(p), e->name, ce.msg);
                    continue;
                }
                double best, med;
                if (time_variant(e, &a, &ex, f->reps, bytes, &best, &med)) {
                    printf("  %-10s %-5s %-11s refused this shape\n", norm_name(n), pass_name(p),
                           e->name);
                    continue;
                }
                printf("  %-10s %-5s %-11s %6.1f %12.1f %8.0f%% %11.3f\n", norm_name(n),
                       pass_name(p), e->name, best, med, 100.0 * best / bw.copy_gbps_best,
                       (double)bytes / best * 1e-6);
            }
        }
    }
    bufs_free(&b);
    return 0;
}

/* Best effort: a thread that cannot be pinned still runs (the header line
 * says pinning was requested, the machine record says whether it works). */
static int pin_start(int index, void *user)
{
    dyt_err e;
    (void)machine_pin_thread(user, index, &e);
    return 0;
}

enum {
    O_ROWS = CLI_KEY,
    O_COLS,
    O_DTYPE,
    O_VARIANT,
    O_NORM,
    O_PASS,
    O_REPS,
    O_LLC,
    O_NO_PIN,
    O_OVERSUBSCRIBE,
    O_PAGES,
};

static const char *const page_choices[] = {"huge", "small", NULL};

static int cmd_bench_kernels(cli_parser *p)
{
    bench_filter f = {NULL, -1, -1, -1, 5, DYT_PAGES_HUGE};
    int dtype = -1;
    for (int c; (c = cli_next(p)) != -1;) {
        dtype_kind d;
        norm_kind n;
        pass_kind ps;
        switch (c) {
        case O_DTYPE:
            if (!strcmp(optarg, "all"))
                dtype = -1;
            else if (dtype_from_name(optarg, &d) == 0 && d != DTYPE_F16)
                dtype = (int)d;
            else
                cli_error(p, "--dtype: want fp32, bf16 or all, got '%s'", optarg);
            break;
        case O_NORM:
            if (norm_from_name(optarg, &n))
                cli_error(p, "--norm: unknown norm '%s'", optarg);
            else
                f.norm = (int)n;
            break;
        case O_PASS:
            if (!strcmp(optarg, "all"))
                f.pass = -1;
            else if (pass_from_name(optarg, &ps) == 0)
                f.pass = (int)ps;
            else
                cli_error(p, "--pass: want fwd, bwd or all, got '%s'", optarg);
            break;
        }
    }
    int threads = (int)cli_uint(p, 't', 0);
    if (threads && p->exit == CLI_GO)
        cli_threads_fit(p, "--threads", (uint64_t)threads, cli_given(p, O_OVERSUBSCRIBE));
    int rc = cli_parse_end(p, 0);
    if (rc != CLI_GO)
        return rc;
    uint64_t rows = cli_uint(p, O_ROWS, 0), cols = cli_uint(p, O_COLS, 4096);
    uint64_t llc = cli_uint(p, O_LLC, 0);
    int pin = !cli_given(p, O_NO_PIN);
    f.pages = cli_index(p, O_PAGES, 0) == 1 ? DYT_PAGES_SMALL : DYT_PAGES_HUGE;
    f.variant = cli_text(p, O_VARIANT, NULL);
    f.reps = (int)cli_uint(p, O_REPS, (uint64_t)f.reps);
    if (f.variant && !cli_variant_known(f.variant))
        return cli_usage_error("bench-kernels: no variant named '%s' (see dytbench list kernels)",
                               f.variant);

    dyt_err err = {{0}};
    machine_info m;
    machine_opts mo = {llc};
    int have_m = machine_probe(&mo, &m, &err) == 0;
    if (!llc)
        llc = have_m && m.llc_bytes ? m.llc_bytes : (uint64_t)64 << 20;
    if (threads == 0)
        threads = have_m && m.cores > 0 ? m.cores : 1;

    machine_pinner *pinner = pin ? machine_pinner_create(&err) : NULL;
    kern_pool *pool = kern_pool_create(threads, pinner ? pin_start : NULL, pinner);
    if (!pool) {
        if (have_m)
            machine_free(&m);
        machine_pinner_destroy(pinner);
        return cli_fail(DYT_RESOURCE, "bench-kernels: cannot create a pool of %d threads", threads);
    }
    char thp[32];
    dyt_thp_mode("enabled", thp, sizeof thp);
    printf("bench-kernels: %d thread%s (%s); %s pages for buffers >= 2 MiB (THP %s); LLC for "
           "the shape rule: %.0f MiB%s%s\n",
           threads, threads > 1 ? "s" : "", pinner ? "pinned one per core, best effort" : "not pinned",
           dyt_pages_name(f.pages), thp,
           (double)llc / 1048576.0, have_m && m.llc_note[0] ? " -- " : "",
           have_m ? m.llc_note : "");
    printf("GB/s = minimum bytes a kernel must move (each input read once, each output written\n"
           "once, kern_min_bytes) / time. copy and scale: read + write of fp32 arrays the size\n"
           "of one activation array, STREAM-style; like the kernels they use streaming stores\n"
           "when that array is >= 32 MiB and plain stores below. %% copy = best / copy best.\n");
    rc = 0;
    for (int d = 0; d < 2 && rc == 0; d++) {
        if (dtype >= 0 && dtype != d)
            continue;
        uint64_t esz = dtype_size((dtype_kind)d);
        uint64_t r = rows;
        if (!r) {
            r = (4 * llc + cols * esz - 1) / (cols * esz);
            if (r < 8192)
                r = 8192;
        }
        rc = bench_shape("DRAM", (size_t)r, (size_t)cols, (dtype_kind)d, pool, &f);
        if (rc == 0)
            rc = bench_shape("cache", 256, 1024, (dtype_kind)d, pool, &f);
    }
    kern_pool_destroy(pool);
    machine_pinner_destroy(pinner);
    if (have_m)
        machine_free(&m);
    return rc;
}

static const cli_option bench_options[] = {
    {"rows", O_ROWS, CLI_SIZE, "R", .help = "rows of the large shape (instead of the LLC rule)"},
    {"cols", O_COLS, CLI_SIZE, "C", .help = "cols of the large shape (default 4096)"},
    {"threads", 't', CLI_COUNT, "N",
     .help = "pool threads (default: all online CPUs; at most the hardware threads, unless "
             "--oversubscribe)",
     .min = 1, .max = 4096},
    {"dtype", O_DTYPE, CLI_TEXT, "D", .help = "fp32, bf16 or all (default all)"},
    {"variant", O_VARIANT, CLI_TEXT, "V", .help = "only this variant"},
    {"norm", O_NORM, CLI_TEXT, "N", .help = "dyt, layernorm or rmsnorm (default all)"},
    {"pass", O_PASS, CLI_TEXT, "P", .help = "fwd, bwd or all (default all)"},
    {"reps", O_REPS, CLI_COUNT, "N",
     .help =
         "timed calls per case, best and median kept (default 5; a slow variant stops after ~2 s "
         "once it has 1)",
     .min = 1, .max = 4096},
    {"llc-bytes", O_LLC, CLI_SIZE, "B",
     .help = "LLC size for the shape rule (default: machine probe)"},
    {"pages", O_PAGES, CLI_CHOICE,
     .help = "pages of buffers >= 2 MiB, kernels and copy alike: huge (default) or small",
     .choices = page_choices},
    {"no-pin", O_NO_PIN, CLI_FLAG, .help = "do not pin pool threads to cores"},
    {"oversubscribe", O_OVERSUBSCRIBE, CLI_FLAG,
     .help = "allow more threads than hardware threads"},
    {0},
};

const cli_command cli_cmd_bench_kernels = {
    .name = "bench-kernels",
    .what = "quick per-variant GB/s beside STREAM copy/scale",
    .entry = cmd_bench_kernels,
    .options = bench_options,
    .usage = "usage: dytbench bench-kernels [--rows R --cols C] [--threads N]\n"
             "                              [--dtype fp32|bf16|all] [--variant V] [--norm N]\n"
             "                              [--pass fwd|bwd|all] [--reps N] [--llc-bytes B]\n"
             "                              [--no-pin] [--oversubscribe]\n"
             "\n"
             "Times every supported CPU variant (ref excluded unless named) on a\n"
             "DRAM-resident shape (default cols 4096, rows so that one activation array is\n"
             ">= 4x the LLC, at least 8192) and a cache-resident one (256 x 1024), and prints\n"
             "GB/s beside the copy and scale bandwidth measured on the same threads. GB/s\n"
             "counts the minimum bytes a kernel must move: each input read once, each output\n"
             "written once (kern_min_bytes); copy/scale count read + write, as STREAM does.\n",
    .exit1 = "the copy/scale bandwidth check produced wrong values",
};
