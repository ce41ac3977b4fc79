/* The run's row and what its cases are measured with, shared by the CPU
 * and the CUDA runner: the per-case measurement spec taken from the
 * options once, the settings JSON (built key by key; each runner adds its
 * own keys to the common ones), the row's creation from the run identity,
 * its end status, and the machine record a run stores. */
#include "runner_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void runner_case_spec_init(runner_case_spec *cs, const runner_opts *o)
{
    *cs = (runner_case_spec){
        .cache = o->cache,
        .seed = o->seed,
        .max_noise = o->max_noise,
        .min_samples = o->min_samples,
        .max_samples = o->max_samples,
        .min_time_ns = o->min_time_s * 1e9,
        .max_time_ns = o->max_time_s * 1e9,
        .warmup_ns = o->warmup_s * 1e9,
        .pages = o->small_pages ? DYT_PAGES_SMALL : DYT_PAGES_HUGE,
    };
}

json_t *runner_settings_json(const runner_opts *o, const char *metric)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "cache", json_string(o->cache == CACHE_COLD ? "cold" : "hot"));
    json_object_set_new(j, "metric", json_string(metric));
    json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(j, "max_noise", json_real(o->max_noise));
    json_object_set_new(j, "min_samples", json_integer((json_int_t)o->min_samples));
    json_object_set_new(j, "max_samples", json_integer((json_int_t)o->max_samples));
    json_object_set_new(j, "min_time_s", json_real(o->min_time_s));
    json_object_set_new(j, "max_time_s", json_real(o->max_time_s));
    json_object_set_new(j, "warmup_s", json_real(o->warmup_s));
    return j;
}

int runner_probe_machine(uint64_t llc_bytes_override, machine_info *m, dyt_err *e)
{
    machine_opts mo = {.llc_bytes_override = llc_bytes_override};
    int rc = machine_probe(&mo, m, e);
    if (rc == DYT_OK && counters_add_machine_attrs(m) != 0) {
        machine_free(m);
        rc = dyt_errf(e, DYT_RESOURCE, "machine: out of memory");
    }
    return rc;
}

int runner_begin_run(store *s, const runner_identity *id, int64_t machine_id, const char *device,
                     const char *metric, json_t *settings, int64_t *run_id, dyt_err *e)
{
    static const runner_identity none;
    if (!id)
        id = &none;
    if (id->resume_run > 0) {
        json_decref(settings);
        *run_id = id->resume_run;
        return store_resume_run(s, id->resume_run, machine_id, id->resume_note, e);
    }
    /* Ten significant digits: options as typed, and the timer's figures
     * far more finely than they are known. */
    size_t flags = JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10);
    char *text = settings ? json_dumps(settings, flags) : NULL;
    json_decref(settings);
    store_run_meta meta = {
        .machine_id = machine_id,
        .label = id->label,
        .command_line = id->command_line ? id->command_line : "",
        .suites = id->suites ? id->suites : "",
        .suite_hash = id->suite_hash ? id->suite_hash : "",
        .device = device,
        .metric = metric,
        .settings_json = text,
        .lockstep_token = id->lockstep_token,
        .arm = id->arm,
        .plan_hash = id->plan_hash,
        .campaign = id->campaign,
        .shard_index = id->shard_index,
        .shard_count = id->shard_count,
        .campaign_plan = id->campaign_plan,
        .n_campaign_plan = id->n_campaign_plan,
    };
    int rc = store_begin_run(s, &meta, run_id, e);
    free(text);
    return rc;
}

void runner_cpu_option_keys(const runner_opts *o, const char *metric, json_t *j)
{
    int rounds = o->rounds > 1 && !strcmp(metric, "time") ? o->rounds : 1;
    json_object_set_new(j, "rounds", json_integer(rounds));
    json_object_set_new(j, "llc_bytes_override", json_integer((json_int_t)o->llc_bytes_override));
    json_object_set_new(j, "pages", json_string(o->small_pages ? "small" : "huge"));
    json_object_set_new(j, "papi_events",
                        json_string(o->papi_events ? o->papi_events : COUNTERS_DEFAULT_PAPI));
}

int runner_settings_differ(const runner_opts *o, const char *metric, const char *stored, char *why,
                           size_t n)
{
    json_t *now = runner_settings_json(o, metric);
    json_t *cpu = json_object();
    json_t *then = stored ? json_loads(stored, 0, NULL) : NULL;
    int rc = 0;
    if (!now || !cpu || !json_is_object(then)) {
        snprintf(why, n, "the stored settings are not readable");
        rc = -1;
    } else {
        runner_cpu_option_keys(o, metric, cpu);
        /* Options of the CPU runner only count where the run stored them;
         * but a CPU run from before --pages (it stored the rest) ran on
         * malloc's pages, which are not what a resume would take now. */
        const char *key;
        json_t *v;
        json_object_foreach(cpu, key, v) if (json_object_get(then, key) ||
                                             (!strcmp(key, "pages") &&
                                              json_object_get(then, "llc_bytes_override")))
            json_object_set(now, key, v);
        json_object_foreach(now, key, v)
        {
            json_t *was = json_object_get(then, key);
            if (was && json_equal(was, v))
                continue;
            /* Reals are stored with ten digits: equal at that precision. */
            if (json_is_number(was) && json_is_number(v) &&
                fabs(json_number_value(was) - json_number_value(v)) <=
                    1e-9 * fabs(json_number_value(v)))
                continue;
            char *a = was ? json_dumps(was, JSON_ENCODE_ANY) : NULL;
            char *b = json_dumps(v, JSON_ENCODE_ANY);
            snprintf(why, n, "%s: stored %s, now %s", key, a ? a : "nothing", b ? b : "?");
            free(a);
            free(b);
            rc = -1;
            break;
        }
    }
    json_decref(now);
    json_decref(cpu);
    json_decref(then);
    return rc;
}

int runner_end_run(store *s, int64_t run_id, int rc, int failed, const char *note, dyt_err *e)
{
    int sig = runner_stop_signal();
    const char *status = "complete";
    char text[600] = "";
    if (sig) {
        status = "aborted";
        snprintf(text, sizeof text, "interrupted by signal %d", sig);
        rc = DYT_OK;
    } else if (rc != DYT_OK) {
        status = "failed";
        snprintf(text, sizeof text, "%.500s", e->msg);
    } else if (note) {
        snprintf(text, sizeof text, "%s", note);
    }
    dyt_err e2 = {{0}};
    int rc2 = store_end_run(s, run_id, status, text[0] ? text : NULL, &e2);
    if (rc == DYT_OK && rc2 != DYT_OK) {
        rc = rc2;
        *e = e2;
    }
    if (rc == DYT_OK && (failed || sig))
        rc = DYT_FAIL;
    return rc;
}
