/* The CPU runner: executes a plan, measuring each case and then handing
 * its result to the store. Order of a run: machine record -> thread pools
 * pinned with hwloc -> run row (settings as JSON) -> the bandwidth ceilings
 * at every thread count of the plan, per cache level its hot cases fit in
 * (ceilings.c) -> every case (inputs, verification against ref, warm-up,
 * adaptive sampling, one counted batch, statistics; case.c), each stored in its own transaction
 * once measured -> the run's end status. With --rounds the cases are measured block by block in
 * shuffled rounds and stored at the end. Only this file reads the run's
 * options: the cases get a runner_case_spec. With a stepper, each step
 * (runner.h) waits for its turn. */
#include "runner.h"
#include "bandwidth.h"
#include "counters.h"
#include "cpu_internal.h"
#include "machine.h"

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

/* The run's settings: the common ones and the CPU's, key by key. */
static json_t *settings_json(const runner_opts *o, const char *metric, const machine_info *m,
                             const timer_info *t, uint64_t target_ns, const pin_state *ps,
                             const plan *p)
{
    json_t *j = runner_settings_json(o, metric);
    json_t *th = json_array();
    if (!j || !th) {
        json_decref(j);
        json_decref(th);
        return NULL;
    }
    for (size_t i = 0; i < p->n_cases; i++) {
        int seen = 0;
        for (size_t k = 0; k < json_array_size(th); k++)
            seen |= json_integer_value(json_array_get(th, k)) == p->cases[i].threads;
        if (!seen)
            json_array_append_new(th, json_integer(p->cases[i].threads));
    }
    json_object_set_new(j, "threads", th);
    runner_cpu_option_keys(o, metric, j);
    json_object_set_new(j, "llc_bytes", json_integer((json_int_t)m->llc_bytes));
    json_object_set_new(j, "llc_note", json_string(m->llc_note));
    char thp[32], defrag[32];
    dyt_thp_mode("enabled", thp, sizeof thp);
    dyt_thp_mode("defrag", defrag, sizeof defrag);
    json_object_set_new(j, "thp_enabled", json_string(thp));
    json_object_set_new(j, "thp_defrag", json_string(defrag));
    json_object_set_new(j, "clock", json_string("CLOCK_MONOTONIC_RAW"));
    json_object_set_new(j, "timer_granularity_ns", json_real(t->granularity_ns));
    json_object_set_new(j, "timer_overhead_ns", json_real(t->overhead_ns));
    json_object_set_new(j, "sample_target_ns", json_integer((json_int_t)target_ns));
    json_object_set_new(j, "ctxsw_samples", json_string("flagged, kept in statistics"));
    json_object_set_new(j, "pin_failures", json_integer(ps->failures));
    json_object_set_new(j, "pin_error", json_string(ps->first_error));
    return j;
}

/* Stores the ceilings measured at each thread count and level, copy and
 * scale, each with how it was measured. */
static int store_ceilings(store *s, int64_t run_id, const cpu_pools *ps, dyt_err *e)
{
    for (size_t i = 0; i < ps->n; i++) {
        const cpu_pool_entry *pe = &ps->v[i];
        for (int l = 0; l < BW_LEVELS; l++) {
            const bandwidth_result *r = &pe->bw[l];
            for (int k = 0; pe->have_bw[l] && !pe->bw_reused[l] && k < 2; k++) {
                char method[200];
                bandwidth_describe(r, k, method, sizeof method);
                store_ceiling c = {
                    .level = bandwidth_level_name((bw_level)l),
                    .threads = pe->threads,
                    .kind = k ? "scale" : "copy",
                    .bytes = r->bytes_per_pass,
                    .gbps = k ? r->scale_gbps_best : r->copy_gbps_best,
                    .gbps_median = k ? r->scale_gbps_median : r->copy_gbps_median,
                    .method = method,
                };
                int rc = store_put_ceiling(s, run_id, &c, e);
                if (rc != DYT_OK)
                    return rc;
            }
        }
    }
    return DYT_OK;
}

/* A resumed run keeps the ceilings it stored before (cpu_reuse_ceilings). */
static int reuse_ceilings(store *s, int64_t run_id, cpu_pools *ps, dyt_err *e)
{
    store_ceiling_list l;
    if (store_load_ceilings(s, run_id, &l, e) != DYT_OK)
        return DYT_USAGE;
    cpu_reuse_ceilings(ps, &l);
    store_ceiling_list_free(&l);
    return DYT_OK;
}

/* One run's cases in progress: what they are measured with and where their
 * results go. */
typedef struct {
    const plan *p;
    metric_kind metric;
    const cpu_case_env *env;
    cpu_pools *pools;
    runner_stepper *step;
    store *s;
    int64_t run_id;
    int failed;      /* cases stored as failed or skipped */
    int unavailable; /* skipped as unavailable here (not failures) */
} cpu_run;

/* Hands a finished case to the store. */
static int hand_to_store(cpu_run *run, cpu_case_state *cs, dyt_err *e)
{
    run->unavailable += cs->res.unavailable;
    run->failed += runner_result_failed(&cs->res) && !cs->res.unavailable;
    return runner_result_store(run->s, run->run_id, &cs->res, e);
}

/* Every case once, in plan order, each one step: measured, then stored. */
static int run_once(cpu_run *run, dyt_err *e)
{
    int rc = DYT_OK;
    for (size_t i = 0; rc == DYT_OK && i < run->p->n_cases && !runner_stop_flag; i++) {
        const plan_case *c = &run->p->cases[i];
        progress_case(run->env->progress, i + 1, c);
        if (runner_step_wait(run->step) != 0)
            break;
        cpu_case_state cs;
        if (run->metric == METRIC_INSTRUCTIONS) {
            cpu_case_instructions(&run->env->spec, run->env->progress, c, c->seq, &cs);
        } else {
            cpu_case_begin(run->env, run->pools, c, c->seq, &cs);
            cpu_case_block(run->env, &cs, 0, 1);
            /* An interruption abandons a half-sampled case (see signals.c). */
            if (!runner_stop_flag)
                cpu_case_finish(&cs);
        }
        if (cs.done)
            rc = hand_to_store(run, &cs, e);
        runner_step_done(run->step);
        cpu_case_free(&cs);
    }
    return rc;
}

/* Measures every case in `rounds` blocks: round r visits all cases, in an
 * order shuffled per round (seeded, so a rerun repeats it), and takes one
 * block of each. A slow spell of the machine (another tenant, a host
 * task) then lands on a few blocks of many cases instead of on every
 * sample of one case, and the blocks, spread over the run, are the
 * replicates the regression gate compares (gate/compare.c). Google
 * Benchmark's random interleaving of repetitions does the same. */
static int run_rounds(cpu_run *run, int rounds, dyt_err *e)
{
    size_t n = run->p->n_cases;
    cpu_case_state *cs = calloc(n ? n : 1, sizeof *cs);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!cs || !order) {
        free(cs);
        free(order);
        return dyt_errf(e, DYT_RESOURCE, "out of memory for %zu cases", n);
    }
    int rc = DYT_OK;
    size_t visit = 0;
    dyt_rng rng;
    dyt_rng_seed(&rng, run->env->spec.seed ^ 0x726f756e6473ull); /* "rounds" */
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
            progress_case(run->env->progress, ++visit, &run->p->cases[i]);
            if (runner_step_wait(run->step) != 0)
                break;
            int was_done = cs[i].done;
            if (r == 0)
                cpu_case_begin(run->env, run->pools, &run->p->cases[i], run->p->cases[i].seq,
                               &cs[i]);
            cpu_case_block(run->env, &cs[i], r, rounds);
            /* A case that failed in this step is stored at once. */
            if (cs[i].done && !was_done)
                rc = hand_to_store(run, &cs[i], e);
            runner_step_done(run->step);
        }
    }
    /* Stored in plan order once every round is in (a lockstep arm waits
     * for its turn: writing the store is work the other arms should not
     * share the machine with); an interrupted run keeps only the cases
     * that were already stored as failed. */
    if (rc == DYT_OK && !runner_stop_flag)
        runner_step_wait(run->step);
    for (size_t i = 0; rc == DYT_OK && !runner_stop_flag && i < n; i++) {
        if (cs[i].done)
            continue;
        cpu_case_finish(&cs[i]);
        rc = hand_to_store(run, &cs[i], e);
    }
    for (size_t i = 0; i < n; i++) /* calloc'd: unbegun ones are empty */
        cpu_case_free(&cs[i]);
    free(cs);
    free(order);
    return rc;
}

int runner_cpu_run(const plan *p, const runner_opts *o, const runner_identity *id,
                   runner_stepper *step, store *s, int64_t *run_id, dyt_err *e)
{
    return cpu_run_with(p, o, id, step, NULL, s, run_id, e);
}

int cpu_run_with(const plan *p, const runner_opts *o, const runner_identity *id,
                 runner_stepper *step, cpu_case_ext *ext, store *s, int64_t *run_id, dyt_err *e)
{
    *run_id = 0;
    /* A signal that stopped an earlier run of this process is not this
     * run's (the handlers are installed later; until then a signal acts
     * as usual). */
    runner_stop_flag = 0;
    /* Step 1 of a lockstep arm: everything up to the bandwidth ceiling. */
    if (runner_step_wait(step) != 0)
        return dyt_errf(e, DYT_USAGE, "the interleave coordinator is gone");
    machine_info m;
    uint64_t t_probe = dyt_now_ns();
    int rc = runner_probe_machine(o->llc_bytes_override, &m, e);
    if (rc != DYT_OK)
        return rc;
    t_probe = dyt_now_ns() - t_probe;

    /* Counters are opened first: an unknown --papi-events name is a usage
     * error to report before anything is stored (`run` checks them with
     * its options already). */
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

    cpu_pools pools = {0};
    timer_info ti;
    timer_measure(&ti);
    uint64_t target = timer_sample_target_ns(&ti);
    int rounds = o->rounds > 1 && o->metric == METRIC_TIME ? o->rounds : 1;
    const char *metric = o->metric == METRIC_INSTRUCTIONS ? "instructions" : "time";
    int64_t machine_id;
    /* The other measurer starts before anything is stored too: one that
     * cannot (a framework missing) leaves the store as it was. */
    rc = cpu_pools_create(p, pin_on_start, &ps, &pools, e);
    if (rc == DYT_OK && ext)
        rc = ext->start(ext, ps.pinner, e);
    if (rc == DYT_OK)
        rc = store_put_machine(s, &m, &machine_id, e);
    if (rc == DYT_OK) {
        json_t *settings = settings_json(o, metric, &m, &ti, target, &ps, p);
        if (ext && settings)
            ext->settings(ext, settings);
        rc = runner_begin_run(s, id, machine_id, "cpu", metric, settings, run_id, e);
    }
    if (rc != DYT_OK) {
        cpu_pools_destroy(&pools);
        machine_pinner_destroy(ps.pinner);
        counters_close(cs);
        machine_free(&m);
        return rc;
    }

    runner_signals_install();
    progress pr;
    progress_init(&pr, p->n_cases * (size_t)rounds, o->quiet, o->progress);
    if (ps.failures)
        progress_log(&pr, "dytbench: warning: thread pinning failed (%d threads): %s", ps.failures,
                     ps.first_error);

    uint64_t kept_bytes = 0;
    cpu_case_env env = {
        .llc_bytes = m.llc_bytes,
        .mem_usable = m.mem_usable_bytes,
        .sample_target_ns = target,
        .kept_bytes = &kept_bytes,
        .counters = cs,
        .progress = &pr,
        .ext = ext,
    };
    runner_case_spec_init(&env.spec, o);
    cpu_run run = {.p = p,
                   .metric = o->metric,
                   .env = &env,
                   .pools = &pools,
                   .step = step,
                   .s = s,
                   .run_id = *run_id};
    if (o->metric == METRIC_TIME) {
        uint64_t t_bw = dyt_now_ns();
        if (id && id->resume_run > 0)
            rc = reuse_ceilings(s, *run_id, &pools, e);
        /* Fewer repetitions for --quick-sized budgets. */
        if (rc == DYT_OK)
            cpu_measure_ceilings(&pools, p, &m, &env, o->max_time_s < 1.0 ? 10 : 20);
        if (rc == DYT_OK)
            rc = store_ceilings(s, *run_id, &pools, e);
        /* What a shard of a campaign pays before its first case. */
        progress_log(&pr, "set-up: machine probe %.3f s, bandwidth ceilings %.3f s",
                     (double)t_probe / 1e9, (double)(dyt_now_ns() - t_bw) / 1e9);
    }
    runner_step_done(step);
    if (rc == DYT_OK)
        rc = rounds > 1 ? run_rounds(&run, rounds, e) : run_once(&run, e);

    char note[512] = "";
    if (run.failed)
        snprintf(note, sizeof note, "%d case(s) failed verification or could not run",
                 run.failed);
    if (run.unavailable)
        snprintf(note + strlen(note), sizeof note - strlen(note),
                 "%s%d case(s) skipped: unavailable here", run.failed ? "; " : "",
                 run.unavailable);
    if (rc == DYT_OK && o->metric == METRIC_TIME)
        cpu_recheck_ceilings(&pools, &env, o->max_time_s < 1.0 ? 10 : 20, note, sizeof note);
    progress_done(&pr);
    runner_signals_uninstall();
    rc = runner_end_run(s, *run_id, rc, run.failed, note[0] ? note : NULL, e);
    cpu_pools_destroy(&pools);
    machine_pinner_destroy(ps.pinner);
    counters_close(cs);
    machine_free(&m);
    return rc;
}
