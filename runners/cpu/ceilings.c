/* The CPU runner's pools, one per thread count of the plan, and their
 * bandwidth ceilings (machine/bandwidth.h): dram at every thread count,
 * and each cache level a hot case of the plan fits in at its thread count,
 * measured at the largest working set among those cases -- so a hot case
 * is held against what a copy of its size and its threads can do where its
 * data sits, a cold one against memory. */
#include "cpu_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cpu_pools_create(const plan *p, kern_thread_init_fn on_start, void *user, cpu_pools *out,
                     dyt_err *e)
{
    memset(out, 0, sizeof *out);
    out->v = calloc(p->n_cases ? p->n_cases : 1, sizeof *out->v);
    if (!out->v)
        return dyt_errf(e, DYT_RESOURCE, "out of memory");
    for (size_t i = 0; i < p->n_cases; i++) {
        int t = p->cases[i].threads, seen = 0;
        for (size_t j = 0; j < out->n; j++)
            seen |= out->v[j].threads == t;
        if (seen)
            continue;
        kern_pool *pool = kern_pool_create(t, on_start, user);
        if (!pool) {
            cpu_pools_destroy(out);
            return dyt_errf(e, DYT_USAGE, "cannot create a pool of %d threads", t);
        }
        cpu_pool_entry *pe = &out->v[out->n++];
        *pe = (cpu_pool_entry){.threads = t, .pool = pool};
        for (int l = 0; l < BW_LEVELS; l++)
            pe->ceiling_gbps[l] = -1;
    }
    return DYT_OK;
}

void cpu_pools_destroy(cpu_pools *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        kern_pool_destroy(ps->v[i].pool);
    free(ps->v);
    memset(ps, 0, sizeof *ps);
}

cpu_pool_entry *cpu_pool_for(cpu_pools *ps, int threads)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->v[i].threads == threads)
            return &ps->v[i];
    return NULL;
}

static bw_level case_level(const cpu_pool_entry *pe, uint64_t bytes, cache_kind cache)
{
    return cache == CACHE_COLD ? BW_DRAM : bandwidth_level_of(&pe->caches, bytes);
}

void cpu_case_ceiling(const cpu_pool_entry *pe, uint64_t bytes, cache_kind cache,
                      runner_ceiling *out)
{
    *out = (runner_ceiling){.gbps = -1, .dram_gbps = -1};
    if (!pe)
        return;
    bw_level l = case_level(pe, bytes, cache);
    out->level = bandwidth_level_name(l);
    out->gbps = pe->ceiling_gbps[l];
    out->dram_gbps = pe->ceiling_gbps[BW_DRAM];
}

/* How pe's level l is measured, at the start and again at the end. */
static bandwidth_spec level_spec(const cpu_pool_entry *pe, int l, const cpu_case_env *env, int reps)
{
    return (bandwidth_spec){.working_set = pe->want[l],
                            .reps = reps,
                            .min_sample_ns = env->sample_target_ns,
                            .pages = env->spec.pages};
}

void cpu_measure_ceilings(cpu_pools *ps, const plan *p, const machine_info *m,
                          const cpu_case_env *env, int reps)
{
    for (size_t i = 0; i < ps->n; i++) {
        cpu_pool_entry *pe = &ps->v[i];
        bandwidth_caches(m, pe->threads, &pe->caches);
        /* 4 x LLC per array keeps STREAM's rule (well beyond every cache). */
        pe->want[BW_DRAM] = 2 * 4 * (env->llc_bytes ? env->llc_bytes : (32u << 20));
    }
    for (size_t i = 0; i < p->n_cases; i++) {
        cpu_pool_entry *pe = cpu_pool_for(ps, p->cases[i].threads);
        uint64_t bytes = plan_case_bytes(&p->cases[i]);
        bw_level l = pe ? case_level(pe, bytes, env->spec.cache) : BW_DRAM;
        if (pe && l != BW_DRAM && bytes > pe->want[l])
            pe->want[l] = bytes;
    }
    for (size_t i = 0; i < ps->n && !runner_stop_flag; i++) {
        cpu_pool_entry *pe = &ps->v[i];
        for (int l = 0; l < BW_LEVELS && !runner_stop_flag; l++) {
            if (!pe->want[l] || pe->have_bw[l])
                continue;
            bandwidth_spec sp = level_spec(pe, l, env, reps);
            dyt_err be = {{0}};
            const char *name = bandwidth_level_name((bw_level)l);
            if (bandwidth_measure(pe->pool, &sp, &pe->bw[l], &be) != DYT_OK) {
                /* Without a ceiling the cases still have GB/s; their % of
                 * it is stored as unknown rather than made up. */
                progress_log(env->progress, "dytbench: warning: %s bandwidth at %d threads: %s",
                             name, pe->threads, be.msg);
                continue;
            }
            const bandwidth_result *r = &pe->bw[l];
            pe->have_bw[l] = 1;
            pe->ceiling_gbps[l] = DYT_MAX(r->copy_gbps_best, r->scale_gbps_best);
            char ws[32];
            dyt_fmt_bytes(ws, sizeof ws, (double)r->bytes_per_pass);
            progress_log(env->progress,
                         "bandwidth ceiling, %d thread(s), %-4s at %9s: copy %6.1f GB/s, scale "
                         "%6.1f GB/s (best of %d)",
                         pe->threads, name, ws, r->copy_gbps_best, r->scale_gbps_best, r->reps);
        }
    }
}

void cpu_reuse_ceilings(cpu_pools *ps, const store_ceiling_list *l)
{
    for (size_t i = 0; i < ps->n; i++) {
        cpu_pool_entry *pe = &ps->v[i];
        for (int lv = 0; lv < BW_LEVELS; lv++) {
            const char *name = bandwidth_level_name((bw_level)lv);
            const store_ceiling *copy = NULL, *scale = NULL;
            for (size_t k = 0; k < l->n; k++) {
                const store_ceiling *c = &l->v[k];
                if (c->threads != pe->threads || strcmp(c->level, name))
                    continue;
                if (!strcmp(c->kind, "copy"))
                    copy = c;
                else if (!strcmp(c->kind, "scale"))
                    scale = c;
            }
            if (!copy || !scale)
                continue;
            pe->bw[lv] = (bandwidth_result){.threads = pe->threads,
                                            .bytes_per_pass = copy->bytes,
                                            .copy_gbps_best = copy->gbps,
                                            .copy_gbps_median = copy->gbps_median,
                                            .scale_gbps_best = scale->gbps,
                                            .scale_gbps_median = scale->gbps_median};
            pe->have_bw[lv] = pe->bw_reused[lv] = 1;
            pe->ceiling_gbps[lv] = DYT_MAX(copy->gbps, scale->gbps);
        }
    }
}

int cpu_ceiling_drift(char *note, size_t n, const char *level, int threads, double was,
                      double now)
{
    if (!(was > 0 && now > 0) || fabs(now / was - 1.0) <= CEILING_DRIFT)
        return 0;
    static const char head[] = "bandwidth ceilings moved during the run, so % of ceiling is "
                               "uncertain there: ";
    size_t len = strlen(note);
    int first = !strstr(note, head);
    snprintf(note + len, n > len ? n - len : 0, "%s%s%s at %d thread(s) %.1f -> %.1f GB/s (%+.0f%%)",
             first && len ? "; " : "", first ? head : ", ", level, threads, was, now,
             100.0 * (now / was - 1.0));
    return 1;
}

void cpu_recheck_ceilings(const cpu_pools *ps, const cpu_case_env *env, int reps, char *note,
                          size_t n)
{
    for (size_t i = 0; i < ps->n && !runner_stop_flag; i++) {
        const cpu_pool_entry *pe = &ps->v[i];
        for (int l = 0; l < BW_LEVELS && !runner_stop_flag; l++) {
            if (!pe->have_bw[l] || !pe->want[l] || pe->ceiling_gbps[l] <= 0)
                continue;
            bandwidth_spec sp = level_spec(pe, l, env, reps);
            bandwidth_result r;
            dyt_err be = {{0}};
            if (bandwidth_measure(pe->pool, &sp, &r, &be) != DYT_OK)
                continue;
            double now = DYT_MAX(r.copy_gbps_best, r.scale_gbps_best);
            const char *name = bandwidth_level_name((bw_level)l);
            progress_log(env->progress,
                         "bandwidth ceiling again after the cases, %d thread(s), %-4s: %6.1f GB/s "
                         "(%+.0f%% against the start)",
                         pe->threads, name, now, 100.0 * (now / pe->ceiling_gbps[l] - 1.0));
            cpu_ceiling_drift(note, n, name, pe->threads, pe->ceiling_gbps[l], now);
        }
    }
}
