/* The torch runner: the CPU runner's run with the peer's cases handed to
 * the peer (a cpu_case_ext), so a run with --peer torch measures kernels
 * and framework modules in one loop, one set of rounds and one store, and
 * a peer case is stored like any other. In the run's first step, before
 * anything is stored, the peer is started (dytbench_torch.py under the
 * chosen Python), says hello (versions, what is available, its clock),
 * is given the plan, and answers with the CPUs its threads run on.
 *
 * Fairness: the peer's OpenMP threads are pinned the way the CPU runner
 * pins its pool (thread i to the first PU of core i: OMP_PLACES lists
 * those PUs, OMP_PROC_BIND=close), torch.set_num_threads takes the case's
 * thread count, the inputs are the kernels' own (exchange.c), the cache
 * rule's buffer-set count and the stopping rule are this side's, and the
 * GB/s of a peer case uses the same byte model (kern_min_bytes). */
#include "dyt_config.h"
#include "torch_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

typedef struct {
    cpu_case_ext ext; /* first: the runner's view */
    peer_run pr;
    const plan *p;
    const runner_opts *o;
    const char *python;
    char program[PATH_MAX];
    char places[1024]; /* OMP_PLACES given to the peer; "" when not pinned */
    char pin_note[300];
    json_t *hello, *ready;
    int started;
} torch_run;

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The peer program: DYTBENCH_TORCH_PEER (tests, a copy of one's own), the
 * source tree of a build run from it, or where it is installed. */
static int find_program(char *buf, size_t n, dyt_err *e)
{
    const char *env = getenv("DYTBENCH_TORCH_PEER");
    const char *cands[] = {env && *env ? env : NULL,
                           DYT_SOURCE_ROOT "/runners/torch/dytbench_torch.py",
                           DYT_PEERS_INSTALL_DIR "/dytbench_torch.py"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(cands); i++)
        if (cands[i] && is_file(cands[i]) && (size_t)snprintf(buf, n, "%s", cands[i]) < n)
            return DYT_OK;
    if (env && *env)
        return dyt_errf(e, DYT_USAGE, "DYTBENCH_TORCH_PEER=%s: no such file", env);
    return dyt_errf(e, DYT_USAGE, "the torch peer program is missing (%s): reinstall dytbench",
                    DYT_PEERS_INSTALL_DIR "/dytbench_torch.py");
}

/* The places of the peer's threads: the PUs the CPU runner's pool threads
 * 0..n-1 are bound to. */
static void pin_places(torch_run *tr, const machine_pinner *pinner)
{
    int n = 1;
    for (size_t i = 0; i < tr->p->n_cases; i++)
        if (runner_peer_case(&tr->p->cases[i]))
            n = DYT_MAX(n, tr->p->cases[i].threads);
    tr->places[0] = 0;
    if (!pinner) {
        snprintf(tr->pin_note, sizeof tr->pin_note, "not pinned: this system cannot pin threads");
        return;
    }
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        int pu = machine_pin_pu(pinner, i);
        int w = snprintf(tr->places + len, sizeof tr->places - len, "%s{%d}", i ? "," : "", pu);
        if (pu < 0 || w < 0 || (size_t)w >= sizeof tr->places - len) {
            tr->places[0] = 0;
            snprintf(tr->pin_note, sizeof tr->pin_note, "not pinned: no PU for thread %d", i);
            return;
        }
        len += (size_t)w;
    }
    snprintf(tr->pin_note, sizeof tr->pin_note,
             "OMP_PLACES=%.200s OMP_PROC_BIND=close (thread i on core i, as the CPU runner)",
             tr->places);
}

/* The environment of the peer: dytbench's, with its pinning in place of
 * any OMP_PLACES / OMP_PROC_BIND of the user's (a fair comparison pins
 * both sides the same way). */
static char **peer_env(const torch_run *tr, char *places, char *bind)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 3, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!tr->places[0] ||
            (strncmp(environ[i], "OMP_PLACES=", 11) && strncmp(environ[i], "OMP_PROC_BIND=", 14)))
            env[k++] = environ[i];
    if (tr->places[0]) {
        env[k++] = places;
        env[k++] = bind;
    }
    return env;
}

static json_t *plan_document(const torch_run *tr)
{
    json_t *cases = json_array(), *threads = json_array();
    for (size_t i = 0; i < tr->p->n_cases; i++) {
        const plan_case *c = &tr->p->cases[i];
        if (!runner_peer_case(c))
            continue;
        norm_args a;
        runner_case_args(c, &a);
        json_array_append_new(
            cases, json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:i,s:f,s:f,s:b,s:b,s:s}", "id",
                             (json_int_t)i, "variant", c->variant->name, "norm", norm_name(c->norm),
                             "pass", pass_name(c->pass), "dtype", dtype_name(c->dtype), "rows",
                             (json_int_t)c->rows, "cols", (json_int_t)c->cols, "threads",
                             c->threads, "alpha", (double)a.alpha, "eps", (double)a.eps, "affine",
                             a.affine, "has_beta", a.has_beta, "model", c->model->name));
        int seen = 0;
        for (size_t k = 0; k < json_array_size(threads); k++)
            seen |= json_integer_value(json_array_get(threads, k)) == c->threads;
        if (!seen)
            json_array_append_new(threads, json_integer(c->threads));
    }
    return json_pack("{s:i,s:s,s:s,s:o,s:o}", "protocol", PEER_PROTOCOL, "device", "cpu", "cache",
                     tr->o->cache == CACHE_COLD ? "cold" : "hot", "threads", threads, "cases",
                     cases);
}

/* What the hello says of each framework variant; a variant the user named
 * must be there. */
static int read_variants(torch_run *tr, dyt_err *e)
{
    json_t *vs = json_object_get(tr->hello, "variants");
    for (int v = 0; v < PEER_N_VARIANTS; v++) {
        const char *name = runner_peer_variants()[v];
        json_t *one = json_object_get(vs, name);
        const char *why = json_string_value(json_object_get(one, "reason"));
        tr->pr.available[v] = json_is_true(json_object_get(one, "available"));
        snprintf(tr->pr.why[v], sizeof tr->pr.why[v], "%s",
                 why ? why : "the torch peer does not know this variant");
    }
    for (size_t i = 0; i < tr->o->peer.n_variants; i++) {
        int v = peer_variant_of(tr->o->peer.variants[i]);
        if (v >= 0 && !tr->pr.available[v])
            return dyt_errf(e, DYT_USAGE, "--peer-variant %s: unavailable here: %s",
                            tr->o->peer.variants[i], tr->pr.why[v]);
    }
    return DYT_OK;
}

static int start(cpu_case_ext *x, const machine_pinner *pinner, dyt_err *e)
{
    torch_run *tr = (torch_run *)x;
    if (access(tr->python, X_OK) != 0)
        return dyt_errf(e, DYT_USAGE,
                        "--peer torch needs Python 3 with PyTorch: %s: %s (install them: "
                        "apt-get install python3 python3-torch; or give --python PATH)",
                        tr->python, strerror(errno));
    int rc = find_program(tr->program, sizeof tr->program, e);
    if (rc != DYT_OK)
        return rc;
    pin_places(tr, pinner);
    char places[1100], bind[] = "OMP_PROC_BIND=close";
    snprintf(places, sizeof places, "OMP_PLACES=%s", tr->places);
    char **env = peer_env(tr, places, bind);
    char *argv[] = {(char *)tr->python, "-B", tr->program, NULL};
    if (!env)
        return dyt_errf(e, DYT_RESOURCE, "out of memory starting the torch peer");
    rc = peer_start(&tr->pr.proc, argv, env, e);
    free(env);
    if (rc != DYT_OK)
        return rc;
    tr->started = 1;
    dyt_err pe = {{0}};
    /* A peer that cannot run (no torch) says what to install and exits 2:
     * its message is the error. */
    if (peer_read(&tr->pr.proc, &tr->hello, &pe) != DYT_OK)
        return dyt_errf(e, DYT_USAGE, "--peer torch: %s", pe.msg);
    json_int_t proto = json_integer_value(json_object_get(tr->hello, "protocol"));
    if (proto != PEER_PROTOCOL)
        return dyt_errf(e, DYT_USAGE, "--peer torch: %s speaks protocol %lld, this dytbench %d",
                        tr->program, (long long)proto, PEER_PROTOCOL);
    if ((rc = read_variants(tr, e)) != DYT_OK)
        return rc;
    json_t *timer = json_object_get(tr->hello, "timer");
    timer_info ti = {.granularity_ns = json_number_value(json_object_get(timer, "granularity_ns")),
                     .overhead_ns = json_number_value(json_object_get(timer, "overhead_ns"))};
    tr->pr.target_ns = timer_sample_target_ns(&ti);
    if (peer_request(&tr->pr.proc, plan_document(tr), &tr->ready, &pe) != DYT_OK)
        return dyt_errf(e, DYT_USAGE, "--peer torch: %s", pe.msg);
    if (!json_is_true(json_object_get(tr->ready, "ok"))) {
        const char *why = json_string_value(json_object_get(tr->ready, "error"));
        return dyt_errf(e, DYT_USAGE, "--peer torch: the peer refused the plan: %s",
                        why ? why : "no reason given");
    }
    return DYT_OK;
}

/* "peer" in the run's settings: who measured the framework variants, with
 * what, how pinned, and what was unavailable and why. */
static void settings(cpu_case_ext *x, json_t *j)
{
    torch_run *tr = (torch_run *)x;
    json_t *pe = json_object(), *vs = json_object(), *names = json_array();
    for (int v = 0; v < PEER_N_VARIANTS; v++) {
        char what[300];
        snprintf(what, sizeof what, "%s%s", tr->pr.available[v] ? "available" : "unavailable: ",
                 tr->pr.available[v] ? "" : tr->pr.why[v]);
        json_object_set_new(vs, runner_peer_variants()[v], json_string(what));
        json_array_append_new(names, json_string(runner_peer_variants()[v]));
    }
    static const char *const copied[] = {"python",  "torch",          "device", "parallel",
                                         "rmsnorm", "cpu_capability", "timer"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(copied); i++) {
        json_t *v = json_object_get(tr->hello, copied[i]);
        if (v)
            json_object_set(pe, copied[i], v);
    }
    json_object_set_new(pe, "name", json_string("torch"));
    json_object_set_new(pe, "program", json_string(tr->program));
    json_object_set_new(pe, "interpreter", json_string(tr->python));
    json_object_set_new(pe, "protocol", json_integer(PEER_PROTOCOL));
    json_object_set_new(pe, "variants", names);
    json_object_set_new(pe, "availability", vs);
    json_object_set_new(pe, "pinning", json_string(tr->pin_note));
    json_t *cpus = json_object_get(tr->ready, "thread_cpus");
    if (cpus)
        json_object_set(pe, "thread_cpus", cpus);
    json_object_set_new(pe, "inputs",
                        json_string("written by dytbench into a shared memory file the peer "
                                    "copies from: the kernels' inputs bit for bit (checked)"));
    const char *thp_env = getenv("THP_MEM_ALLOC_ENABLE");
    char tp[200];
    snprintf(tp, sizeof tp, "PyTorch's CPU allocator: %s, assumed from the THP mode, not read back%s",
             runner_peer_huge_pages() ? "huge pages (THP always)" : "small pages (THP not always)",
             thp_env ? "; THP_MEM_ALLOC_ENABLE is set, so torch >= 2.1 may advise huge pages" : "");
    json_object_set_new(pe, "tensor_pages", json_string(tp));
    json_object_set_new(pe, "sample_target_ns", json_integer((json_int_t)tr->pr.target_ns));
    json_object_set_new(j, "peer", pe);
}

static int owns(const cpu_case_ext *x, const plan_case *c)
{
    (void)x;
    return runner_peer_case(c);
}

static void begin(cpu_case_ext *x, const cpu_case_env *env, cpu_case_state *cs)
{
    peer_case_begin(&((torch_run *)x)->pr, env, cs);
}

static void block(cpu_case_ext *x, const cpu_case_env *env, cpu_case_state *cs, int b, int blocks)
{
    peer_case_block(&((torch_run *)x)->pr, env, cs, b, blocks);
}

int runner_torch_run(const plan *p, const runner_opts *o, const runner_identity *id,
                     runner_stepper *step, store *s, int64_t *run_id, dyt_err *e)
{
    torch_run tr = {
        .ext = {.start = start, .settings = settings, .owns = owns, .begin = begin, .block = block},
        .p = p,
        .o = o,
        .python = o->peer.python ? o->peer.python : RUNNER_PEER_PYTHON,
    };
    int rc = cpu_run_with(p, o, id, step, &tr.ext, s, run_id, e);
    if (tr.started)
        peer_stop(&tr.pr.proc);
    json_decref(tr.hello);
    json_decref(tr.ready);
    return rc;
}
