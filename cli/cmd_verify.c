/* dytbench verify: checks kernel variants against golden-vector files (and,
 * with --random, against `ref` on random shapes) through the one harness in
 * kernels/check.h, and prints one row per variant x norm x pass x dtype x
 * source with the worst case. Exit 1 if any check fails, 2 on bad input --
 * and when no case at all was checked (every one skipped: not exact in the
 * variant's storage type, refused, or the variant cannot run here), with
 * the reasons: a verifier that checked nothing has not passed. */
#include "check.h"
#include "cli.h"
#include "dyt_config.h"
#include "kernels.h"
#include "vectors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One table row: a variant on one source (file or random), over its cases. */
typedef struct {
    const kern_entry *e;
    size_t checked, refused, inexact, failed;
    double worst, tol, ratio, ulps; /* ulps: the largest over its cases and outputs */
    char output[8], where[64], reason[192];
} row;

static void row_add(row *r, const kern_check_result *res, const char *where)
{
    if (res->skipped) {
        if (strncmp(res->reason, "inputs not exact", 16) == 0)
            r->inexact++;
        else
            r->refused++;
        snprintf(r->reason, sizeof r->reason, "%s", res->reason);
        return;
    }
    r->checked++;
    r->failed += !res->pass;
    if (!(res->max_ulps <= r->ulps))
        r->ulps = res->max_ulps;
    double ratio = res->tol > 0 ? res->worst / res->tol : INFINITY;
    if (!(ratio <= r->ratio) || r->checked == 1) {
        r->ratio = ratio;
        r->worst = res->worst;
        r->tol = res->tol;
        snprintf(r->output, sizeof r->output, "%s", res->output);
        snprintf(r->where, sizeof r->where, "%s", where);
    }
}

static void print_header(void)
{
    printf("%-10s %-9s %-4s %-5s %-16s %5s  %-46s %-6s %10s %10s %9s  %s\n", "variant", "norm",
           "pass", "dtype", "source", "cases", "worst case", "output", "error", "tolerance",
           "max ulps", "verdict");
}

/* Prints r; returns 1 if it failed. */
static int print_row(const row *r, const char *source)
{
    const kern_entry *e = r->e;
    printf("%-10s %-9s %-4s %-5s %-16.16s %5zu  ", e->name, norm_name(e->norm), pass_name(e->pass),
           dtype_name(e->dtype), source, r->checked);
    if (r->checked == 0) {
        printf("%-46s %-6s %10s %10s %9s  SKIP (%s)\n", "-", "-", "-", "-", "-", r->reason);
        return 0;
    }
    printf("%-46.46s %-6s %10.3g %10.3g %9.3g  %s", r->where, r->output, r->worst, r->tol, r->ulps,
           r->failed ? "FAIL" : "PASS");
    if (r->failed)
        printf(" (%zu of %zu cases)", r->failed, r->checked);
    if (r->refused)
        printf(" (%zu refused: %s)", r->refused, r->reason);
    putchar('\n');
    return r->failed != 0;
}

/* What a whole verify saw: failures, cases checked, rows left out, and
 * why cases were skipped (each distinct reason with how many rows gave
 * it, for the "checked nothing" message). */
typedef struct {
    int failed;
    size_t checked, omitted, n_reasons;
    struct {
        char why[192];
        size_t rows;
    } reasons[8];
} tally;

static void tally_reason(tally *t, const char *why)
{
    size_t i = 0;
    while (i < t->n_reasons && strcmp(t->reasons[i].why, why))
        i++;
    if (i == DYT_ARRAY_LEN(t->reasons))
        return;
    if (i == t->n_reasons)
        snprintf(t->reasons[t->n_reasons++].why, sizeof t->reasons[i].why, "%s", why);
    t->reasons[i].rows++;
}

/* Prints r and adds it to t. */
static void tally_row(tally *t, const row *r, const char *source)
{
    t->failed |= print_row(r, source);
    t->checked += r->checked;
    if (r->checked == 0)
        tally_reason(t, r->reason);
}

/* "alpha not exact in fp32 (22 rows); no usable GPU (12 rows)". */
static void tally_reasons(const tally *t, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->n_reasons && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%s (%zu row%s)", i ? "; " : "", t->reasons[i].why,
                              t->reasons[i].rows, t->reasons[i].rows == 1 ? "" : "s");
    if (!buf[0])
        snprintf(buf, n, "no case matches the selected variants");
}

int cli_variant_known(const char *name)
{
    size_t n;
    const kern_entry *reg = kern_registry(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(reg[i].name, name))
            return 1;
    return 0;
}

static int variant_selected(const kern_entry *e, const char *only)
{
    return !only || !strcmp(e->name, only);
}

/* Checks every selected variant on every case of one file. */
static int verify_file(const char *path, const char *only, kern_pool *pool, tally *t)
{
    vec_file vf;
    dyt_err err = {{0}};
    int rc = vec_parse_file(path, &vf, &err);
    if (rc != DYT_OK)
        return cli_fail(rc, "verify: %s", err.msg);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t n;
    const kern_entry *reg = kern_registry(&n);
    for (size_t i = 0; i < n && rc == DYT_OK; i++) {
        const kern_entry *e = &reg[i];
        if (!variant_selected(e, only))
            continue;
        row r = {.e = e};
        int any = 0;
        if (!kern_supported(e)) {
            for (size_t c = 0; c < vf.n && !any; c++)
                any = vf.cases[c].norm == e->norm;
            if (any) {
                snprintf(r.reason, sizeof r.reason, "%s",
                         e->device != DEVICE_CPU ? "no usable GPU" : "CPU lacks its ISA");
                tally_row(t, &r, base);
            }
            continue;
        }
        for (size_t c = 0; c < vf.n; c++) {
            const vec_case *vc = &vf.cases[c];
            if (vc->norm != e->norm)
                continue;
            any = 1;
            kern_check_result res;
            if ((rc = kern_check_golden(e, vc, pool, &res, &err)) != DYT_OK) {
                rc = cli_fail(rc, "verify: %s: %s", path, err.msg);
                break;
            }
            char where[64];
            vec_case_describe(vc, where, sizeof where);
            row_add(&r, &res, where);
        }
        if (!any || rc != DYT_OK)
            continue;
        if (r.checked == 0 && r.refused == 0) {
            t->omitted++; /* no case exact in this storage type */
            tally_reason(t, "no case of the file is exact in the variant's storage type");
            continue;
        }
        tally_row(t, &r, base);
    }
    vec_file_free(&vf);
    return rc;
}

static const struct {
    size_t rows, cols;
    double mean, spread;
    float alpha;
    int misalign;
    const char *what;
} random_shapes[] = {
    {7, 1, 0, 1, 0.5f, 0, "cols=1"},
    {5, 3, 0, 1, 0.5f, 1, "cols=3 unaligned"},
    {3, 4097, 0, 1, 0.8f, 1, "cols=4097 unaligned"},
    {2, 8191, 0, 2, 1.5f, 0, "cols=8191"},
    {37, 96, 0, 1, -0.7f, 1, "alpha<0 unaligned"},
    {9, 40, 0, 1, 0.0f, 0, "alpha=0"},
    {4, 1000, 1e4, 1, 0.5f, 0, "mean 1e4, unit spread"},
    {256, 64, 0, 3, 2.0f, 0, "256 rows, wide x"},
};

static int verify_random(const char *only, kern_pool *pool, tally *t)
{
    size_t n;
    const kern_entry *reg = kern_registry(&n);
    for (size_t i = 0; i < n; i++) {
        const kern_entry *e = &reg[i];
        if (!variant_selected(e, only))
            continue;
        row r = {.e = e};
        if (!kern_supported(e)) {
            snprintf(r.reason, sizeof r.reason, "%s",
                     e->device != DEVICE_CPU ? "no usable GPU" : "CPU lacks its ISA");
            tally_row(t, &r, "random");
            continue;
        }
        for (size_t s = 0; s < DYT_ARRAY_LEN(random_shapes); s++) {
            kern_check_random_spec sp = {random_shapes[s].rows,    random_shapes[s].cols,
                                         random_shapes[s].mean,    random_shapes[s].spread,
                                         random_shapes[s].alpha,   1000 + s,
                                         random_shapes[s].misalign};
            kern_check_result res;
            dyt_err err = {{0}};
            int rc = kern_check_random(e, &sp, pool, &res, &err);
            if (rc != DYT_OK)
                return cli_fail(rc, "verify: random check of %s: %s", e->name, err.msg);
            char where[64];
            snprintf(where, sizeof where, "%zux%zu %s", sp.rows, sp.cols, random_shapes[s].what);
            row_add(&r, &res, where);
        }
        tally_row(t, &r, "random");
    }
    return DYT_OK;
}

static int default_vectors(char paths[2][1024])
{
    const char *dir = getenv("DYTBENCH_VECTORS_DIR");
    char def[1024];
    if (!dir || !*dir) {
        snprintf(def, sizeof def, "%s/tests/vectors", DYT_SOURCE_ROOT);
        dir = def;
    }
    snprintf(paths[0], 1024, "%.999s/golden-fp32.txt", dir);
    snprintf(paths[1], 1024, "%.999s/golden-bf16.txt", dir);
    return 2;
}

enum { O_VECTORS = CLI_KEY, O_VARIANT, O_RANDOM };

static int cmd_verify(cli_parser *p)
{
    const char *files[16];
    size_t n_files = 0;
    for (int c; (c = cli_next(p)) != -1;)
        if (c == O_VECTORS && n_files == DYT_ARRAY_LEN(files))
            cli_error(p, "at most %zu --vectors files", DYT_ARRAY_LEN(files));
        else if (c == O_VECTORS)
            files[n_files++] = optarg;
    int rc = cli_parse_end(p, 0);
    if (rc != CLI_GO)
        return rc;
    const char *only = cli_text(p, O_VARIANT, NULL);
    int threads = (int)cli_uint(p, 't', 1), random = cli_given(p, O_RANDOM);
    if (only && !cli_variant_known(only))
        return cli_usage_error("verify: no variant named '%s' (see dytbench list kernels)", only);
    char defpaths[2][1024];
    if (n_files == 0) {
        n_files = (size_t)default_vectors(defpaths);
        files[0] = defpaths[0];
        files[1] = defpaths[1];
    }
    kern_pool *pool = threads > 1 ? kern_pool_create(threads, NULL, NULL) : NULL;
    if (threads > 1 && !pool)
        return cli_fail(DYT_RESOURCE, "verify: cannot create a pool of %d threads", threads);
    tally t = {0};
    rc = DYT_OK;
    printf("# error = |variant - reference| / the output's scale at the worst element against its\n"
           "# bound (docs/kernels.md); max ulps: in the output's storage type; threads %d\n",
           threads);
    print_header();
    for (size_t i = 0; i < n_files && rc == DYT_OK; i++)
        rc = verify_file(files[i], only, pool, &t);
    if (rc == DYT_OK && random)
        rc = verify_random(only, pool, &t);
    kern_pool_destroy(pool);
    if (rc != DYT_OK)
        return rc;
    if (t.omitted)
        printf("# %zu variant rows not shown: no case of their file is exact in their storage "
               "type\n",
               t.omitted);
    if (t.checked == 0) {
        char why[1024];
        tally_reasons(&t, why, sizeof why);
        printf("# nothing checked\n");
        return cli_usage_error("verify: no case was checked, so nothing passed: every one was "
                               "skipped: %s",
                               why);
    }
    printf("# %s (%zu cases checked)\n", t.failed ? "FAILED" : "all checked variants pass",
           t.checked);
    return t.failed ? DYT_FAIL : DYT_OK;
}

static const cli_option verify_options[] = {
    {"vectors", O_VECTORS, CLI_TEXT, "FILE",
     .help = "a golden-vector file (repeatable); default: golden-fp32.txt and golden-bf16.txt in "
             "$DYTBENCH_VECTORS_DIR, else in the source tree's tests/vectors"},
    {"variant", O_VARIANT, CLI_TEXT, "NAME",
     .help = "only this variant (ref, scalar, libm, avx2, avx512, ...)"},
    {"threads", 't', CLI_COUNT, "N", .help = "threads of the kernel pool (default 1)", .min = 1,
     .max = 1024},
    {"random", O_RANDOM, CLI_FLAG, .help = "also check against ref on random shapes"},
    {0},
};

const cli_command cli_cmd_verify = {
    .name = "verify",
    .what = "check kernel variants against golden vectors and the ref oracle",
    .entry = cmd_verify,
    .options = verify_options,
    .usage = "usage: dytbench verify [--vectors FILE]... [--variant NAME] [--threads N]\n"
             "                       [--random]\n"
             "\n"
             "Checks every kernel variant this machine supports against golden vectors\n"
             "(PyTorch float64 answers) and, with --random, against the ref oracle on\n"
             "random shapes (cols 1, 3, 4097, 8191, unaligned rows, mean-1e4 rows,\n"
             "alpha <= 0). A variant is checked on the cases whose inputs are exact in its\n"
             "storage type: the fp32 file checks fp32 variants, the bf16 file checks bf16\n"
             "and fp32 variants. Each element is held to a bound that follows the problem:\n"
             "1e-5 (fp32) or 2e-2 (bf16) of the output's scale (the magnitudes it is formed\n"
             "from), plus a term growing with rows for dgamma/dbeta/dalpha, plus what fp32\n"
             "statistics cost backward on rows with a large mean, plus the fp32 tanh\n"
             "(docs/kernels.md). Error and tolerance are over the output's scale; max ulps\n"
             "is the largest error in ulps of the output's storage type.\n",
    .exit1 = "a check failed",
};
