/* report/query.c: loads one stored run for the report through the store's
 * read API -- its run row, the machine it ran on (record, extra
 * attributes), its measured bandwidth ceilings, every case with its
 * statistics, and a summary of its counters (available or, with the
 * reason, unavailable) -- and formats the machine record for people. */
#include "report_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Grows *arr (element size sz) to hold one more; returns the new slot. */
static void *grow(void *arr_p, size_t *n, size_t sz)
{
    void **arr = arr_p;
    void *p = realloc(*arr, (*n + 1) * sz);
    if (!p)
        return NULL;
    *arr = p;
    memset((char *)p + *n * sz, 0, sz);
    return (char *)p + (*n)++ * sz;
}

static int add_kv(rep_run *r, const char *k, const char *v)
{
    machine_attr *kv = grow(&r->mach, &r->n_mach, sizeof *kv);
    if (!kv)
        return -1;
    snprintf(kv->key, sizeof kv->key, "%s", k);
    snprintf(kv->value, sizeof kv->value, "%s", v ? v : "");
    return 0;
}

/* A size as reported, or "not reported" (the store keeps 0 as NULL). */
static void fmt_bytes_or(char *buf, size_t n, uint64_t v)
{
    if (!v)
        snprintf(buf, n, "not reported");
    else
        dyt_fmt_bytes(buf, n, (double)v);
}

/* The machine record as the report's machine table lists it. */
static int format_machine(rep_run *r)
{
    const machine_info *m = &r->machine;
    char buf[sizeof r->mach->value], b1[32], b2[32], b3[32];
    int bad = 0;
    bad |= add_kv(r, "Host", m->hostname);
    bad |= add_kv(r, "CPU", m->cpu_model);
    snprintf(buf, sizeof buf, "%d package(s), %d cores, %d hardware threads, %d NUMA node(s)",
             m->packages, m->cores, m->pus, m->numa_nodes);
    bad |= add_kv(r, "Topology", buf);
    fmt_bytes_or(b1, sizeof b1, m->l1d_bytes);
    fmt_bytes_or(b2, sizeof b2, m->l2_bytes);
    fmt_bytes_or(b3, sizeof b3, m->l3_bytes);
    snprintf(buf, sizeof buf, "L1d %s/core, L2 %s/core, L3 %s (as reported)", b1, b2, b3);
    bad |= add_kv(r, "Caches", buf);
    dyt_fmt_bytes(b1, sizeof b1, (double)m->llc_bytes);
    snprintf(buf, sizeof buf, "%s%s%s", b1, m->llc_note[0] ? "; " : "", m->llc_note);
    bad |= add_kv(r, "Last-level cache used", buf);
    fmt_bytes_or(b1, sizeof b1, m->mem_bytes);
    dyt_fmt_bytes(b2, sizeof b2, (double)m->mem_usable_bytes);
    snprintf(buf, sizeof buf, "%s reported, %s usable%s%s", b1, b2, m->mem_note[0] ? "; " : "",
             m->mem_note);
    bad |= add_kv(r, "Memory", buf);
    snprintf(buf, sizeof buf, "%s, kernel %s", m->os[0] ? m->os : "unknown OS",
             m->kernel[0] ? m->kernel : "unknown");
    bad |= add_kv(r, "OS", buf);
    if (m->is_vm)
        snprintf(buf, sizeof buf, "yes (%s)", m->vm_vendor[0] ? m->vm_vendor : "vendor unknown");
    else
        snprintf(buf, sizeof buf, "no");
    bad |= add_kv(r, "Virtual machine", buf);
    bad |= add_kv(r, "ISA", m->isa[0] ? m->isa : "not recorded");
    if (!m->topology_xml)
        snprintf(buf, sizeof buf, "not stored");
    else
        snprintf(buf, sizeof buf, "hwloc XML stored (%zu bytes)", m->topology_xml_len);
    bad |= add_kv(r, "Topology export", buf);
    bad |= add_kv(r, "Fingerprint", m->fingerprint);
    return bad;
}

static int cmp_counter_name(const void *x, const void *y)
{
    const store_counter *a = *(const store_counter *const *)x;
    const store_counter *b = *(const store_counter *const *)y;
    int c = strcmp(a->source, b->source);
    return c ? c : strcmp(a->name, b->name);
}

static int same_reason(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* One summary per counter (source, name) over the run's cases: how many
 * read it, how many could not and why, its mean per element. */
static int summarise_counters(rep_run *r)
{
    const store_counter_list *l = &r->counter_values;
    const store_counter **v = malloc((l->n ? l->n : 1) * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < l->n; i++)
        v[i] = &l->v[i];
    qsort(v, l->n, sizeof *v, cmp_counter_name);
    int bad = 0;
    for (size_t i = 0; i < l->n && !bad;) {
        size_t j = i;
        double sum = 0;
        size_t n_pe = 0;
        rep_counter *k = grow(&r->counters, &r->n_counters, sizeof *k);
        if (!k) {
            bad = 1;
            break;
        }
        k->source = v[i]->source;
        k->name = v[i]->name;
        for (; j < l->n && !cmp_counter_name(&v[i], &v[j]); j++) {
            const store_counter *x = v[j];
            if (x->available)
                k->n_avail++;
            else
                k->n_unavail++;
            if (!isnan(x->per_element)) {
                sum += x->per_element;
                n_pe++;
            }
            if (!x->unavailable_reason)
                continue;
            /* The distinct reasons, and the smallest (as SQL's min()). */
            int seen = 0;
            for (size_t q = i; q < j && !seen; q++)
                seen = same_reason(v[q]->unavailable_reason, x->unavailable_reason);
            k->n_reasons += !seen;
            if (!k->reason || strcmp(x->unavailable_reason, k->reason) < 0)
                k->reason = x->unavailable_reason;
        }
        k->per_element = n_pe ? sum / (double)n_pe : NAN;
        i = j;
    }
    free(v);
    return bad;
}

int rep_load_run(store *s, int64_t run_id, rep_run *r, dyt_err *e)
{
    memset(r, 0, sizeof *r);
    int rc = store_load_run(s, run_id, &r->run, e);
    if (rc != DYT_OK) {
        char why[sizeof e->msg];
        snprintf(why, sizeof why, "%s", e->msg);
        return dyt_errf(e, DYT_USAGE, "report: %s", why);
    }
    if ((rc = store_load_machine(s, r->run.machine_id, &r->machine, e)) == DYT_OK &&
        (rc = store_load_ceilings(s, run_id, &r->ceilings, e)) == DYT_OK &&
        (rc = store_load_cases(s, run_id, &r->cases, e)) == DYT_OK &&
        (rc = store_load_counters(s, run_id, &r->counter_values, e)) == DYT_OK)
        rc = rep_finish_run(r, e);
    if (rc != DYT_OK)
        rep_free_run(r);
    return rc;
}

int rep_finish_run(rep_run *r, dyt_err *e)
{
    if (asprintf(&r->machine_desc, "%s (%s)", r->machine.hostname, r->machine.cpu_model) < 0)
        r->machine_desc = NULL;
    if (!r->machine_desc || format_machine(r) || summarise_counters(r))
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory");
    return DYT_OK;
}

void rep_free_run(rep_run *r)
{
    free(r->mach);
    free(r->machine_desc);
    free(r->counters);
    store_run_free(&r->run);
    machine_free(&r->machine);
    store_ceiling_list_free(&r->ceilings);
    store_case_list_free(&r->cases);
    store_counter_list_free(&r->counter_values);
    rep_free_campaign(r->campaign);
    memset(r, 0, sizeof *r);
}

int rep_load_samples(store *s, int64_t case_id, double **x, size_t *n, dyt_err *e)
{
    *x = NULL;
    *n = 0;
    store_sample *smp;
    size_t ns;
    DYT_TRY(store_load_samples(s, case_id, STORE_SAMPLES_KEPT, &smp, &ns, e));
    if (ns && !(*x = malloc(ns * sizeof **x))) {
        free(smp);
        return dyt_errf(e, DYT_RESOURCE, "report: out of memory reading samples");
    }
    for (size_t i = 0; i < ns; i++)
        (*x)[i] = smp[i].ns;
    *n = ns;
    free(smp);
    return DYT_OK;
}

void rep_run_name(const rep_run *r, char *buf, size_t n)
{
    if (r->campaign)
        snprintf(buf, n, "campaign %s", r->campaign->name);
    else if (r->run.label && *r->run.label)
        snprintf(buf, n, "#%" PRId64 " %s", r->run.id, r->run.label);
    else
        snprintf(buf, n, "#%" PRId64, r->run.id);
}
