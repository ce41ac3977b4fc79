/* The CPU runner: executes a plan and stores what it measures. Order of a
 * run: machine record -> run row (settings as JSON) -> thread pools pinned
 * with hwloc -> the bandwidth ceiling at every thread count of the plan ->
 * every case (inputs, verification against ref, warm-up, adaptive
 * sampling, one counted batch, statistics), each committed in its own
 * transaction -> the run's end status. The per-case work is in case.c;
 * sampling in sampling.c, inputs in buffers.c. */
#include "runner.h"
#include "bandwidth.h"
#include "counters.h"
#include "cpu_internal.h"
#include "machine.h"
#include "suite.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void runner_opts_default(runner_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cache = CACHE_HOT;
    o->metric = METRIC_TIME;
    o->max_noise = 0.01;
    o->min_samples = 10;
    o->max_samples = 10000;
    o->min_time_s = 0.05;
    o->max_time_s = 2.0;
    o->warmup_s = 0.02;
    o->seed = 1;
    o->rounds = 1;
    o->lockstep_in = o->lockstep_out = -1;
    o->progress = 1;
}

/* Pinning of every pool thread (worker 0 is the calling thread). A refused
 * binding is counted and reported, not fatal: timings on an unpinned
 * thread are still timings, and the settings record that it happened. */
typedef struct {
    machine_pinner *pinner;
    int failures;
    char first_error[256];
} pin_state;

static int pin_on_start(int index, void *user)
{
    pin_state *ps = user;
    if (!ps->pinner)
        return 0;
    dyt_err e = {{0}};
    if (machine_pin_thread(ps->pinner, index, &e) != 0) {
        /* Workers start concurrently; the count is advisory. */
        if (__atomic_fetch_add(&ps->failures, 1, __ATOMIC_RELAXED) == 0)
            snprintf(ps->first_error, sizeof ps->first_error, "%.255s", e.msg);
    }
    return 0;
}

static char *settings_json(const runner_opts *o, const machine_info *m, const timer_info *t,
                           uint64_t target_ns, const pin_state *ps, const plan *p)
{
    json_t *th = json_array();
    for (size_t i = 0; i < p->n_cases; i++) {
        int seen = 0;
        for (size_t j = 0; j < json_array_size(th); j++)
            seen |= json_integer_value(json_array_get(th, j)) == p->cases[i].threads;
        if (!seen)
            json_array_append_new(th, json_integer(p->cases[i].threads));
    }
    json_t *j = json_pack(
        "{s:s, s:s, s:I, s:f, s:I, s:I, s:f, s:f, s:f, s:o, s:I, s:s, s:s, s:I, s:f, s:f, s:I, "
        "s:s, s:s, s:i, s:s, s:i}",
        "cache", o->cache == CACHE_COLD ? "cold" : "hot", "metric",
        o->metric == METRIC_INSTRUCTIONS ? "instructions" : "time", "seed", (json_int_t)o->seed,
        "max_noise", o->max_noise, "min_samples", (json_int_t)o->min_samples, "max_samples",
        (json_int_t)o->max_samples, "min_time_s", o->min_time_s, "max_time_s", o->max_time_s,
        "warmup_s", o->warmup_s, "threads", th, "llc_bytes", (json_int_t)m->llc_bytes, "llc_note",
        m->llc_note, "papi_events", o->papi_events ? o->papi_events : COUNTERS_DEFAULT_PAPI,
        "llc_bytes_override", (json_int_t)o->llc_bytes_override, "timer_granularity_ns",
        t->granularity_ns, "timer_overhead_ns", t->overhead_ns, "sample_target_ns",
        (json_int_t)target_ns, "clock", "CLOCK_MONOTONIC_RAW", "ctxsw_samples",
        "flagged, kept in statistics", "pin_failures", ps->failures, "pin_error", ps->first_error, "rounds",
        o->rounds > 1 && o->metric == METRIC_TIME ? o->rounds : 1);
    if (!j)
        return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    json_decref(j);
    return s;
}

/* Measures every case in `rounds` blocks: round r visits all cases, in an
 * order shuffled per round (seeded, so a rerun repeats it), and takes one
 * block of each. A slow spell of the machine (another tenant, a host
 * task) then lands on a few blocks of many cases instead of on every
 * sample of one case, and the blocks, spread over the run, are the
 * replicates the regression gate compares (gate/compare.c). Google
 * Benchmark's random interleaving of repetitions does the same. */
static int run_rounds(const plan *p, const cpu_case_env *env, cpu_pools *pools, int rounds,
                      int *failed, dyt_err *e)
{
    size_t n = p->n_cases;
    cpu_case_state *cs = calloc(n ? n : 1, sizeof *cs);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!cs || !order) {
        free(cs);
        free(order);
        return dyt_errf(e, DYT_USAGE, "out of memory for %zu cases", n);
    }
    int rc = DYT_OK;
    size_t visit = 0;
    dyt_rng rng;
    dyt_rng_seed(&rng, env->o->seed ^ 0x726f756e6473ull); /* "rounds" */
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (int r = 0; rc == DYT_OK && r < rounds && !runner_stop_flag; r++) {
        for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
            size_t j = (size_t)(dyt_rng_u64(&rng) % i), t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        for (size_t k = 0; rc == DYT_OK && k < n && !runner_stop_flag; k++) {
            size_t i = order[k];
            progress_case(env->progress, ++visit, &p->cases[i]);
            if (runner_lockstep_wait(env->o) != 0)
                break;
            if (r == 0)
                rc = cpu_case_begin(env, pools, &p->cases[i], (int)i, &cs[i], e);
            if (rc == DYT_OK)
                rc = cpu_case_block(env, &cs[i], r, rounds, e);
            runner_lockstep_done(env->o);
        }
    }
    /* Stored in plan order once every round is in (a lockstep arm waits
     * for its turn: writing the store is work the other arms should not
     * share the machine with); an interrupted run keeps only the cases
     * that were already stored as failed. */
    if (rc == DYT_OK && !runner_stop_flag)
        runner_lockstep_wait(env->o);
    for (size_t i = 0; rc == DYT_OK && !runner_stop_flag && i < n; i++)
        rc = cpu_case_finish(env, &cs[i], e);
    for (size_t i = 0; i < n; i++) { /* calloc'd: unbegun ones are empty */
        *failed += cs[i].failed;
        cpu_case_free(&cs[i]);
    }
    free(cs);
    free(order);
    return rc;
}

int runner_cpu_run(const plan *p, const runner_opts *o, store *s, const char *suites_desc,
                   const char *suite_hash, const char *command_line, int64_t *run_id, dyt_err *e)
{
    *run_id = 0;
    /* Step 1 of a lockstep arm: everything up to the bandwidth ceiling. */
    if (runner_lockstep_wait(o) != 0)
        return dyt_errf(e, DYT_USAGE, "the interleave coordinator is gone");
    machine_info m;
    machine_opts mo = {.llc_bytes_override = o->llc_bytes_override};
    int rc = machine_probe(&mo, &m, e);
    if (rc != DYT_OK)
        return rc;
    int64_t machine_id;
    if ((rc = store_put_machine(s, &m, &machine_id, e)) != DYT_OK) {
        machine_free(&m);
        return rc;
    }

    /* Counters are opened first: an unknown --papi-events name is a usage
     * error to report before anything is stored. */
    counters_session *cs = NULL;
    if ((rc = counters_open(o->papi_events, &cs, e)) != DYT_OK) {
        machine_free(&m);
        return rc;
    }

    pin_state ps = {0};
    dyt_err pe = {{0}};
    ps.pinner = machine_pinner_create(&pe);
    if (!ps.pinner) {
        ps.failures = 1;
        snprintf(ps.first_error, sizeof ps.first_error, "%.255s", pe.msg);
    }

    cpu_pools pools;
    if ((rc = cpu_pools_create(p, pin_on_start, &ps, &pools, e)) != DYT_OK) {
        machine_pinner_destroy(ps.pinner);
        counters_close(cs);
        machine_free(&m);
        return rc;
    }

    timer_info ti;
    timer_measure(&ti);
    uint64_t target = timer_sample_target_ns(&ti);
    char *settings = settings_json(o, &m, &ti, target, &ps, p);

    store_run_meta meta = {
        .machine_id = machine_id,
        .label = o->label,
        .command_line = command_line ? command_line : "",
        .suites = suites_desc ? suites_desc : "",
        .suite_hash = suite_hash ? suite_hash : "",
        .device = "cpu",
        .metric = o->metric == METRIC_INSTRUCTIONS ? "instructions" : "time",
        .settings_json = settings,
        .lockstep_token = o->lockstep_token,
        .arm = o->arm,
    };
    rc = store_begin_run(s, &meta, run_id, e);
    free(settings);
    if (rc != DYT_OK) {
        cpu_pools_destroy(&pools);
        machine_pinner_destroy(ps.pinner);
        counters_close(cs);
        machine_free(&m);
        return rc;
    }

    runner_signals_install();
    progress pr;
    int rounds = o->rounds > 1 && o->metric == METRIC_TIME ? o->rounds : 1;
    progress_init(&pr, p->n_cases * (size_t)rounds, o->quiet, o->progress);
    if (ps.failures)
        progress_log(&pr, "dytbench: warning: thread pinning failed (%d threads): %s", ps.failures,
                     ps.first_error);

    uint64_t kept_bytes = 0;
    cpu_case_env env = {
        .o = o,
        .s = s,
        .kept_bytes = &kept_bytes,
        .run_id = *run_id,
        .llc_bytes = m.llc_bytes,
        .mem_usable = m.mem_usable_bytes,
        .sample_target_ns = target,
        .counters = cs,
        .progress = &pr,
    };
    const char *status = "complete";
    char note[512] = "";
    int failed = 0;
    rc = DYT_OK;
    if (o->metric == METRIC_TIME)
        rc = cpu_measure_rooflines(&pools, &env, e);
    runner_lockstep_done(o);
    if (o->rounds > 1 && o->metric == METRIC_TIME) {
        if (rc == DYT_OK)
            rc = run_rounds(p, &env, &pools, o->rounds, &failed, e);
    } else {
        for (size_t i = 0; rc == DYT_OK && i < p->n_cases && !runner_stop_flag; i++) {
            const plan_case *c = &p->cases[i];
            progress_case(&pr, i + 1, c);
            int f = 0;
            if (runner_lockstep_wait(o) != 0)
                break;
            rc = cpu_run_case(&env, &pools, c, (int)i, &f, e);
            runner_lockstep_done(o);
            failed += f;
        }
    }
    progress_done(&pr);
    runner_signals_uninstall();

    if (runner_stop_flag) {
        status = "aborted";
        snprintf(note, sizeof note, "interrupted by signal %d", (int)runner_stop_flag);
        rc = DYT_OK;
    } else if (rc != DYT_OK) {
        status = "failed";
        snprintf(note, sizeof note, "%.500s", e->msg);
    } else if (failed) {
        snprintf(note, sizeof note, "%d case(s) failed verification or could not run", failed);
    }
    dyt_err e2 = {{0}};
    int rc2 = store_end_run(s, *run_id, status, note[0] ? note : NULL, &e2);
    if (rc == DYT_OK && rc2 != DYT_OK) {
        rc = rc2;
        *e = e2;
    }
    cpu_pools_destroy(&pools);
    machine_pinner_destroy(ps.pinner);
    counters_close(cs);
    machine_free(&m);
    if (rc == DYT_OK && (failed || runner_stop_flag))
        rc = DYT_FAIL;
    return rc;
}
