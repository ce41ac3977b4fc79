/* The instruction-count metric (`run --metric instructions`): for CI
 * machines without hardware counters, each case's kernel region is executed
 * under valgrind's callgrind, whose counts do not depend on the machine's
 * load, so two runs of one build give identical numbers and a compare has
 * zero noise.
 *
 * How: the runner (parent) re-executes this binary as
 *
 *   valgrind --tool=callgrind --instr-atstart=no --cache-sim=yes
 *            --I1=32768,8,64 --D1=32768,8,64 --LL=8388608,16,64
 *            --callgrind-out-file=TMP /proc/self/exe __instr-case ARGS
 *
 * The child (runner_cpu_instructions_child, reached through the hidden
 * subcommand) builds the case's inputs exactly as the timed runner does
 * (same seed, same generator), starts instrumentation, makes one untimed
 * warm-up call for a hot cache (none for cold: the simulated caches start
 * empty), zeroes callgrind's costs, makes the measured calls, and dumps the
 * costs with a client request; the parent reads the dump's "totals:" line.
 * Zeroing and dumping are global, so worker threads of the pool are
 * counted too. The simulated cache geometry is fixed (not the host's), so
 * the counts are also the same on every x86-64 machine for one binary and
 * variant. Stored per case, source "callgrind", per element of one call:
 * instructions (Ir), data reads and writes (Dr, Dw), L1 data misses
 * (D1mr + D1mw) and last-level data misses (DLmr + DLmw).
 *
 * Caveat, documented in docs/gate.md: with threads > 1 the counts are only
 * deterministic if the pool's workers block rather than spin while waiting
 * (a spinning wait executes a schedule-dependent number of instructions). */
#include "cpu_internal.h"
#include "dyt_config.h"
#include "suite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#if DYT_HAVE_VALGRIND
#include <valgrind/callgrind.h>
#endif

/* Exit code of the child when the variant cannot run under valgrind. */
#define INSTR_EXIT_UNSUPPORTED 3

/* Counter names stored (source "callgrind"). */
static const char *const instr_names[] = {"instructions", "data_reads", "data_writes", "l1d_misses",
                                          "ll_misses"};
#define N_INSTR_NAMES (sizeof instr_names / sizeof instr_names[0])

/* Unavailable reasons must outlive the call (the runner stores the case
 * after it returns, before the next case overwrites them); one static
 * buffer, the runner being single-threaded. */
static char unavailable_reason[256];

static size_t all_unavailable(store_counter *out, size_t max, const char *why)
{
    snprintf(unavailable_reason, sizeof unavailable_reason, "%s", why);
    size_t n = 0;
    for (size_t i = 0; i < N_INSTR_NAMES && n < max; i++)
        out[n++] = (store_counter){.source = "callgrind",
                                   .name = instr_names[i],
                                   .available = 0,
                                   .unavailable_reason = unavailable_reason};
    return n;
}

/* valgrind on PATH (DYTBENCH_VALGRIND overrides): 1 and the path in buf. */
static int find_valgrind(char *buf, size_t n)
{
    const char *env = getenv("DYTBENCH_VALGRIND");
    if (env && *env) {
        snprintf(buf, n, "%s", env);
        return access(buf, X_OK) == 0;
    }
    return dyt_find_program("valgrind", buf, n);
}

/* Reads "events:" and "totals:" of a callgrind dump into the five values. */
static int parse_dump(const char *path, double v[N_INSTR_NAMES], dyt_err *e)
{
    char *text;
    size_t len;
    if (dyt_read_file(path, &text, &len, e) != DYT_OK)
        return DYT_FAIL;
    char events[32][8];
    double totals[32];
    size_t n_ev = 0, n_tot = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (!strncmp(line, "events:", 7)) {
            n_ev = 0;
            char *save = NULL;
            for (char *tok = strtok_r(line + 7, " \t", &save); tok && n_ev < 32;
                 tok = strtok_r(NULL, " \t", &save))
                snprintf(events[n_ev++], sizeof events[0], "%s", tok);
        } else if (!strncmp(line, "totals:", 7)) {
            char *p = line + 7, *end;
            n_tot = 0;
            for (double x = strtod(p, &end); end != p && n_tot < 32; x = strtod(p, &end)) {
                totals[n_tot++] = x;
                p = end;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    if (n_ev == 0 || n_tot != n_ev)
        return dyt_errf(e, DYT_FAIL, "%s: no events/totals in the callgrind dump", path);
    double ir = -1, dr = -1, dw = -1, d1 = 0, dl = 0;
    int have_d1 = 0, have_dl = 0;
    for (size_t i = 0; i < n_ev; i++) {
        if (!strcmp(events[i], "Ir")) {
            ir = totals[i];
        } else if (!strcmp(events[i], "Dr")) {
            dr = totals[i];
        } else if (!strcmp(events[i], "Dw")) {
            dw = totals[i];
        } else if (!strcmp(events[i], "D1mr") || !strcmp(events[i], "D1mw")) {
            d1 += totals[i];
            have_d1 = 1;
        } else if (!strcmp(events[i], "DLmr") || !strcmp(events[i], "DLmw")) {
            dl += totals[i];
            have_dl = 1;
        }
    }
    if (ir < 0 || dr < 0 || dw < 0 || !have_d1 || !have_dl)
        return dyt_errf(e, DYT_FAIL, "%s: the dump lacks Ir/Dr/Dw/D1/DL events", path);
    v[0] = ir;
    v[1] = dr;
    v[2] = dw;
    v[3] = d1;
    v[4] = dl;
    return DYT_OK;
}

/* Measured calls: two for a hot cache (after an uncounted warm-up), one for
 * a cold one (the simulated caches are empty when instrumentation starts;
 * a second call would find them warm). */
static int instr_calls(int cold)
{
    return cold ? 1 : 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno)
        return -1;
    *out = v;
    return 0;
}

size_t runner_cpu_instructions_case(const plan_case *c, uint64_t seed, cache_kind cache, dyt_pages pages,
                                    store_counter *out, size_t max, dyt_err *e)
{
    if (!DYT_HAVE_VALGRIND)
        return all_unavailable(out, max,
                               "built without valgrind client requests "
                               "(valgrind/callgrind.h)");
    char vg[512];
    if (!find_valgrind(vg, sizeof vg))
        return all_unavailable(out, max, "valgrind not found on PATH (apt-get install valgrind)");
    char self[1024];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) {
        dyt_errf(e, DYT_FAIL, "cannot find this executable: %s", strerror(errno));
        return 0;
    }
    self[sl] = '\0';

    const char *tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[600], outfile[700], outarg[760], dumpfile[720];
    snprintf(dir, sizeof dir, "%s/dytbench-instr-XXXXXX", tmpdir);
    if (!mkdtemp(dir)) {
        dyt_errf(e, DYT_FAIL, "mkdtemp %s: %s", dir, strerror(errno));
        return 0;
    }
    snprintf(outfile, sizeof outfile, "%s/callgrind.out", dir);
    snprintf(outarg, sizeof outarg, "--callgrind-out-file=%s", outfile);
    snprintf(dumpfile, sizeof dumpfile, "%s.1", outfile);

    char a_rows[32], a_cols[32], a_threads[16], a_alpha[40], a_eps[40], a_beta[4], a_affine[4],
        a_seed[32];
    snprintf(a_rows, sizeof a_rows, "%zu", c->rows);
    snprintf(a_cols, sizeof a_cols, "%zu", c->cols);
    snprintf(a_threads, sizeof a_threads, "%d", c->threads);
    snprintf(a_alpha, sizeof a_alpha, "%.17g", c->model->alpha);
    snprintf(a_eps, sizeof a_eps, "%.17g", c->model->eps);
    snprintf(a_beta, sizeof a_beta, "%d", c->model->beta != 0);
    snprintf(a_affine, sizeof a_affine, "%d", c->model->affine != 0);
    snprintf(a_seed, sizeof a_seed, "%llu", (unsigned long long)seed);
    char *argv[] = {vg,
                    "--tool=callgrind",
                    "-q",
                    "--instr-atstart=no",
                    "--cache-sim=yes",
                    "--I1=32768,8,64",
                    "--D1=32768,8,64",
                    "--LL=8388608,16,64",
                    outarg,
                    self,
                    "__instr-case",
                    a_rows,
                    a_cols,
                    (char *)norm_name(c->norm),
                    (char *)pass_name(c->pass),
                    (char *)dtype_name(c->dtype),
                    (char *)c->variant->name,
                    a_threads,
                    a_alpha,
                    a_eps,
                    a_beta,
                    a_affine,
                    a_seed,
                    cache == CACHE_COLD ? "cold" : "hot",
                    (char *)dyt_pages_name(pages),
                    NULL};
    char errfile[720];
    snprintf(errfile, sizeof errfile, "%s/stderr", dir);
    size_t n = 0;
    pid_t pid = fork();
    if (pid < 0) {
        dyt_errf(e, DYT_FAIL, "fork: %s", strerror(errno));
        goto cleanup;
    }
    if (pid == 0) {
        /* valgrind's and the child's chatter go to a file: the parent
         * quotes its last line if the child fails. */
        int devnull = open("/dev/null", O_WRONLY);
        int errfd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (devnull >= 0)
            dup2(devnull, STDOUT_FILENO);
        if (errfd >= 0)
            dup2(errfd, STDERR_FILENO);
        execv(vg, argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == INSTR_EXIT_UNSUPPORTED) {
        char why[200];
        snprintf(why, sizeof why,
                 "variant %s cannot run under valgrind (it does not emulate the ISA extension "
                 "the variant needs, e.g. AVX-512); use --variant avx2 or scalar",
                 c->variant->name);
        n = all_unavailable(out, max, why);
        goto cleanup;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char last[160] = "";
        char *text;
        size_t len;
        dyt_err ignore;
        if (dyt_read_file(errfile, &text, &len, &ignore) == DYT_OK) {
            /* The last non-empty line says why. */
            while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
                text[--len] = '\0';
            char *nl = strrchr(text, '\n');
            snprintf(last, sizeof last, "%s", nl ? nl + 1 : text);
            free(text);
        }
        dyt_errf(e, DYT_FAIL, "callgrind child for %s %s %s %zux%zu %s%s%s", c->variant->name,
                 norm_name(c->norm), pass_name(c->pass), c->rows, c->cols,
                 WIFEXITED(status)
                     ? (WEXITSTATUS(status) == 127 ? "could not be executed" : "failed")
                     : "was killed",
                 last[0] ? ": " : "", last);
        goto cleanup;
    }
    double v[N_INSTR_NAMES];
    if (parse_dump(dumpfile, v, e) != DYT_OK)
        goto cleanup;
    double calls = instr_calls(cache == CACHE_COLD);
    double elements = (double)c->rows * (double)c->cols * calls;
    for (size_t i = 0; i < N_INSTR_NAMES && n < max; i++)
        out[n++] = (store_counter){.source = "callgrind",
                                   .name = instr_names[i],
                                   .available = 1,
                                   .value = v[i] / calls,
                                   .per_element = v[i] / elements};
cleanup:
    unlink(dumpfile);
    unlink(outfile);
    unlink(errfile);
    rmdir(dir);
    return n;
}

void cpu_case_instructions(const runner_case_spec *spec, progress *pr, const plan_case *c, int seq,
                           cpu_case_state *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->done = 1; /* one call measures it or says why not */
    runner_case_result *r = &cs->res;
    uint64_t t0 = dyt_now_ns();
    runner_result_init(r, c, seq, spec->cache, "cpu");
    dyt_err ie = {{0}};
    r->n_counters = runner_cpu_instructions_case(c, spec->seed, spec->cache, spec->pages, r->counters,
                                                 DYT_ARRAY_LEN(r->counters), &ie);
    r->row.wall_ns = dyt_now_ns() - t0;
    if (r->n_counters > 0) {
        runner_result_end(r);
        return;
    }
    const char *why = ie.msg[0] ? ie.msg : "instruction count unavailable";
    progress_log(pr, "%s %s %s: %s", c->model->name, r->row.norm, r->row.variant, why);
    runner_result_fail(r, "failed", why);
}

/* The child: __instr-case ROWS COLS NORM PASS DTYPE VARIANT THREADS ALPHA
 * EPS BETA AFFINE SEED CACHE PAGES. Returns the process exit code. */
int runner_cpu_instructions_child(int argc, char **argv)
{
    if (argc != 15 || (strcmp(argv[14], "huge") && strcmp(argv[14], "small"))) {
        fprintf(stderr, "dytbench: __instr-case: internal use only (expected 14 arguments)\n");
        return DYT_USAGE;
    }
    suite_model m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "instr-case");
    plan_case c = {.model = &m, .suite_name = "instr", .token_label = ""};
    uint64_t rows, cols, seed, threads, beta, affine;
    if (parse_u64(argv[1], &rows) != 0 || parse_u64(argv[2], &cols) != 0 ||
        norm_from_name(argv[3], &c.norm) != 0 || pass_from_name(argv[4], &c.pass) != 0 ||
        dtype_from_name(argv[5], &c.dtype) != 0 || parse_u64(argv[7], &threads) != 0 ||
        dyt_parse_double(argv[8], &m.alpha) != 0 || dyt_parse_double(argv[9], &m.eps) != 0 ||
        parse_u64(argv[10], &beta) != 0 || parse_u64(argv[11], &affine) != 0 ||
        parse_u64(argv[12], &seed) != 0 || rows == 0 || cols == 0 || threads == 0 ||
        threads > 1024) {
        fprintf(stderr, "dytbench: __instr-case: bad arguments\n");
        return DYT_USAGE;
    }
    c.rows = (size_t)rows;
    c.cols = (size_t)cols;
    c.threads = (int)threads;
    m.hidden = c.cols;
    m.norm = c.norm;
    m.beta = beta != 0;
    m.affine = affine != 0;
    int cold = !strcmp(argv[13], "cold");
    c.variant = kern_find(c.norm, c.pass, c.dtype, argv[6]);
    if (!c.variant) {
        fprintf(stderr, "dytbench: __instr-case: no variant %s for %s %s %s\n", argv[6], argv[3],
                argv[4], argv[5]);
        return DYT_USAGE;
    }
    if (!kern_supported(c.variant)) {
        /* Under valgrind the CPU is valgrind's: it does not emulate every
         * extension of the host (3.19: no AVX-512). */
        fprintf(stderr,
                "dytbench: __instr-case: variant %s needs an ISA extension this CPU "
                "(as seen here) lacks\n",
                argv[6]);
        return INSTR_EXIT_UNSUPPORTED;
    }
    case_buffers b;
    dyt_err e = {{0}};
    dyt_pages pages = !strcmp(argv[14], "small") ? DYT_PAGES_SMALL : DYT_PAGES_HUGE;
    if (case_buffers_create(&c, seed, 0, dyt_mem_usable_bytes() / 2, pages, &b, &e) != DYT_OK) {
        fprintf(stderr, "dytbench: __instr-case: %s\n", e.msg);
        return DYT_FAIL;
    }
    kern_pool *pool = c.threads > 1 ? kern_pool_create(c.threads, NULL, NULL) : NULL;
    if (c.threads > 1 && !pool) {
        case_buffers_free(&b);
        fprintf(stderr, "dytbench: __instr-case: cannot create %d threads\n", c.threads);
        return DYT_FAIL;
    }
    kern_exec ex = {.pool = pool};
    int rc = 0;
#if DYT_HAVE_VALGRIND
    CALLGRIND_START_INSTRUMENTATION;
#endif
    if (!cold)
        rc |= kern_call(c.variant, &b.sets[0], &ex);
#if DYT_HAVE_VALGRIND
    CALLGRIND_ZERO_STATS;
#endif
    for (int i = 0; i < instr_calls(cold); i++)
        rc |= kern_call(c.variant, &b.sets[0], &ex);
#if DYT_HAVE_VALGRIND
    CALLGRIND_DUMP_STATS_AT("dytbench-kernel");
    CALLGRIND_STOP_INSTRUMENTATION;
#endif
    if (pool)
        kern_pool_destroy(pool);
    case_buffers_free(&b);
    if (rc != 0) {
        fprintf(stderr, "dytbench: __instr-case: the variant refused the call\n");
        return DYT_FAIL;
    }
    return DYT_OK;
}
