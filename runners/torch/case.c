/* One peer case, measured the way the CPU runner measures a kernel: the
 * inputs go to the peer and its outputs are checked before anything is
 * timed (a wrong or untrusted result is stored failed, untimed); the
 * peer times batches of calls with its own clock around nothing but the
 * calls, and this side decides everything else with the CPU runner's own
 * code: the warm-up that sizes the batch (sampler_warm_up), the stopping
 * rule on the block's share of the budget (sampler_block_spec,
 * sampler_run), the cache rule's buffer-set count (cpu_case_sets), the
 * counted batch after the last block. A framework variant this
 * installation lacks is stored skipped with the peer's reason. */
#include "torch_internal.h"

#include <string.h>

/* A request failed or the peer said no: the case fails with why. */
typedef struct {
    peer_run *pr;
    size_t batch;
    long ru[4]; /* the last batch's rusage deltas: minflt, majflt, nvcsw, nivcsw */
    int failed;
    dyt_err e;
} peer_timing;

/* The error of a reply {"ok": false, "error": ...}. */
static void reply_error(json_t *reply, dyt_err *e)
{
    const char *why = json_string_value(json_object_get(reply, "error"));
    dyt_errf(e, DYT_FAIL, "%s", why ? why : "the torch peer refused without saying why");
}

/* Sends cmd; DYT_OK with the ok reply in *reply, else DYT_FAIL (e set,
 * *status "failed" or the peer's status). */
static int ask(peer_run *pr, json_t *cmd, json_t **reply, const char **status, dyt_err *e)
{
    *status = "failed";
    if (peer_request(&pr->proc, cmd, reply, e) != DYT_OK)
        return DYT_FAIL;
    if (json_is_true(json_object_get(*reply, "ok")))
        return DYT_OK;
    reply_error(*reply, e);
    if (json_is_string(json_object_get(*reply, "status")) &&
        !strcmp(json_string_value(json_object_get(*reply, "status")), "skipped"))
        *status = "skipped";
    json_decref(*reply);
    *reply = NULL;
    return DYT_FAIL;
}

/* sampler_calls_fn: n calls in the peer, their total ns. */
static double peer_calls(void *ctx, size_t n)
{
    peer_timing *t = ctx;
    json_t *reply;
    const char *status;
    if (ask(t->pr, json_pack("{s:s,s:I}", "cmd", "time", "n", (json_int_t)n), &reply, &status,
            &t->e) != DYT_OK) {
        t->failed = 1;
        return -1;
    }
    double ns = json_number_value(json_object_get(reply, "ns"));
    json_t *ru = json_object_get(reply, "ru");
    for (size_t i = 0; i < DYT_ARRAY_LEN(t->ru); i++)
        t->ru[i] = (long)json_integer_value(json_array_get(ru, i));
    json_decref(reply);
    if (!(ns > 0)) {
        t->failed = 1;
        dyt_errf(&t->e, DYT_FAIL, "the torch peer timed %zu calls at %g ns", n, ns);
        return -1;
    }
    return ns;
}

/* sampler_sample_fn: one batch, per call; flagged as the CPU runner flags
 * its samples (an involuntary context switch in the timed process). */
static double peer_sample(void *ctx, int *flags)
{
    peer_timing *t = ctx;
    double ns = peer_calls(t, t->batch);
    if (ns < 0)
        return -1;
    *flags = t->ru[3] > 0 ? STORE_SAMPLE_CTXSW : 0;
    return ns / (double)t->batch;
}

/* The case fails with why -- unless a signal cut the request short: the
 * runner then abandons the case unstored, as it does a kernel's. */
static void fail_case(const cpu_case_env *env, cpu_case_state *cs, const char *status,
                      const char *why)
{
    if (runner_stop_flag)
        return;
    const plan_case *c = cs->c;
    progress_log(env->progress, "%s %zux%zu %s %s %s %s: %s: %s", c->model->name, c->rows, c->cols,
                 norm_name(c->norm), pass_name(c->pass), dtype_name(c->dtype), c->variant->name,
                 status, why);
    cpu_case_fail(cs, status, why);
}

/* The peer lets the case go (its tensors freed). */
static void release(peer_run *pr, cpu_case_state *cs)
{
    json_t *reply;
    const char *status;
    dyt_err e = {{0}};
    if (cs->ext_state &&
        ask(pr, json_pack("{s:s}", "cmd", "release"), &reply, &status, &e) == DYT_OK)
        json_decref(reply);
    cs->ext_state = 0;
}

/* The case's inputs to the peer, which builds its module and buffer sets
 * and makes its first call (for torch.compile: the compilation), all
 * outside any timed region. */
static int setup(peer_run *pr, const cpu_case_env *env, cpu_case_state *cs, peer_layout *l)
{
    const plan_case *c = cs->c;
    dyt_err e = {{0}};
    peer_layout_of(c, l);
    if (peer_exchange_inputs(pr->proc.xfd, c, env->spec.seed, l, &e) != DYT_OK) {
        fail_case(env, cs, "failed", e.msg);
        return DYT_FAIL;
    }
    size_t sets = cpu_case_sets(env, c);
    json_t *cmd =
        json_pack("{s:s,s:i,s:I}", "cmd", "setup", "id", cs->res.row.seq, "sets", (json_int_t)sets);
    if (cmd)
        peer_layout_json(l, cmd, 0);
    json_t *reply;
    const char *status;
    if (ask(pr, cmd, &reply, &status, &e) != DYT_OK) {
        fail_case(env, cs, status, e.msg);
        cs->res.unavailable = !strcmp(status, "skipped");
        return DYT_FAIL;
    }
    const char *note = json_string_value(json_object_get(reply, "note"));
    int ours = env->spec.pages == DYT_PAGES_HUGE, theirs = runner_peer_huge_pages();
    snprintf(cs->res.note, sizeof cs->res.note, "%s", note ? note : "");
    if (ours != theirs) {
        size_t len = strlen(cs->res.note);
        snprintf(cs->res.note + len, sizeof cs->res.note - len,
                 "%stensors on PyTorch's allocator's pages (assumed %s), not the pages our "
                 "kernels had (%s)",
                 len ? "; " : "", theirs ? "huge" : "small", ours ? "huge" : "small");
    }
    cs->res.row.buffer_sets = (int)sets;
    json_decref(reply);
    cs->ext_state = 1;
    return DYT_OK;
}

void peer_case_begin(peer_run *pr, const cpu_case_env *env, cpu_case_state *cs)
{
    peer_variant v = peer_case_variant(cs->c);
    if (!pr->available[v]) {
        cpu_case_fail(cs, "skipped", pr->why[v]);
        cs->res.unavailable = 1;
        return;
    }
    peer_layout l;
    if (setup(pr, env, cs, &l) != DYT_OK)
        return;
    json_t *cmd = json_pack("{s:s}", "cmd", "verify");
    if (cmd)
        peer_layout_json(&l, cmd, 1);
    json_t *reply;
    const char *status;
    dyt_err e = {{0}};
    int rc = ask(pr, cmd, &reply, &status, &e);
    if (rc == DYT_OK) {
        json_decref(reply);
        rc = peer_exchange_check(pr->proc.xfd, cs->c, &l, cs->pool, &cs->res, &e);
    }
    if (rc != DYT_OK) {
        /* Wrong results are not timed, as for a kernel. */
        release(pr, cs);
        fail_case(env, cs, "failed", e.msg);
    }
}

/* The counters of the counted batch: the peer's rusage deltas under the
 * names the CPU runner uses; PAPI counts this process's threads, not the
 * peer's, so its events are unavailable here. */
static void peer_counters(const cpu_case_env *env, cpu_case_state *cs, const peer_timing *t)
{
    if (!env->counters)
        return;
    runner_case_result *r = &cs->res;
    double elements = (double)cs->c->rows * (double)cs->c->cols * (double)t->batch;
    r->n_counters =
        counters_results(env->counters, elements, r->counters, DYT_ARRAY_LEN(r->counters));
    static const char *const ru_names[] = {"minflt", "majflt", "nvcsw", "nivcsw"};
    for (size_t i = 0; i < r->n_counters; i++) {
        store_counter *k = &r->counters[i];
        if (!strcmp(k->source, "papi")) {
            k->available = 0;
            k->value = k->per_element = 0;
            k->unavailable_reason =
                "timed in the torch peer, another process: PAPI counts dytbench's threads";
            continue;
        }
        for (size_t j = 0; j < DYT_ARRAY_LEN(ru_names); j++)
            if (!strcmp(k->name, ru_names[j])) {
                k->available = 1;
                k->unavailable_reason = NULL;
                k->value = (double)t->ru[j];
                k->per_element = elements > 0 ? k->value / elements : 0;
            }
    }
}

void peer_case_block(peer_run *pr, const cpu_case_env *env, cpu_case_state *cs, int block,
                     int blocks)
{
    peer_layout l;
    if (!cs->ext_state && setup(pr, env, cs, &l) != DYT_OK)
        return;
    peer_timing t = {.pr = pr};
    dyt_err ce = {{0}};
    switch (cpu_block_measure(env, cs, DYT_MAX(env->sample_target_ns, pr->target_ns), peer_calls,
                              peer_sample, &t, &t.batch, block, blocks, &ce)) {
    case CPU_BLOCK_STOPPED:
        return; /* abandoned: the runner frees it unstored */
    case CPU_BLOCK_FAILED:
        release(pr, cs);
        fail_case(env, cs, "failed", t.failed ? t.e.msg : ce.msg);
        return;
    case CPU_BLOCK_OOM:
        release(pr, cs);
        fail_case(env, cs, "failed", "out of memory for samples");
        return;
    case CPU_BLOCK_OK:
        break;
    }
    /* After the last block, one more batch, counted, outside the samples. */
    if (block == blocks - 1 && peer_calls(&t, t.batch) > 0)
        peer_counters(env, cs, &t);
    cs->res.row.wall_ns += dyt_now_ns() - cs->visit_t0;
    release(pr, cs);
}
