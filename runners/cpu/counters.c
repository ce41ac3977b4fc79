/* Counters around a timed region: PAPI low-level event sets (hardware
 * events, where the PMU can be reached) and getrusage deltas (always).
 *
 * The rule is the one in store.h and schema.sql: a counter is a value that
 * was read, or unavailable with the reason. Where PAPI's perf_event
 * component is disabled (VMs, most cloud CI: "libpfm4 no default PMU
 * found") every PAPI event is reported unavailable with PAPI's own reason,
 * an event the hardware lacks gets PAPI_strerror's, and a build without
 * PAPI says so. Nothing is ever reported as a zero that was not counted.
 *
 * Scope: PAPI counts the thread that calls counters_start (the runner's
 * calling thread, worker 0 of the pool); getrusage(RUSAGE_SELF) covers
 * every thread of the process, so faults and context switches of the
 * pool's workers are included. */
#include "counters.h"
#include "dyt_config.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#if DYT_HAVE_PAPI
#include <papi.h>
#endif

#define REASON_LEN 256

typedef struct {
    char name[64];
    int code;
    int available; /* in the event set */
    char reason[REASON_LEN];
    double value;
    int read; /* value is from the last start/stop */
} papi_event;

struct counters_session {
    papi_event ev[COUNTERS_MAX];
    int n_ev;
    int eventset; /* PAPI_NULL when no event could be added */
    int running;
    struct rusage ru0, ru1;
    int have_ru;
    char ru_reason[REASON_LEN];
};

/* PAPI is initialised once per process; the outcome (and why it failed) is
 * kept for every later session and for `dytbench machine`. */
static pthread_once_t papi_once = PTHREAD_ONCE_INIT;
static int papi_ok;                  /* library usable */
static int papi_hw;                  /* perf_event component enabled */
static char papi_reason[REASON_LEN]; /* why not, in PAPI's words */

static void papi_init(void)
{
#if DYT_HAVE_PAPI
    int v = PAPI_library_init(PAPI_VER_CURRENT);
    if (v != PAPI_VER_CURRENT) {
        snprintf(papi_reason, sizeof papi_reason, "PAPI_library_init failed: %s",
                 v > 0 ? "library/header version mismatch" : PAPI_strerror(v));
        return;
    }
    int rc = PAPI_thread_init((unsigned long (*)(void))pthread_self);
    if (rc != PAPI_OK) {
        snprintf(papi_reason, sizeof papi_reason, "PAPI_thread_init failed: %s", PAPI_strerror(rc));
        return;
    }
    papi_ok = 1;
    int cidx = PAPI_get_component_index("perf_event");
    const PAPI_component_info_t *ci = cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
    if (!ci)
        snprintf(papi_reason, sizeof papi_reason, "PAPI has no perf_event component");
    else if (ci->disabled)
        snprintf(papi_reason, sizeof papi_reason, "PAPI perf_event component disabled: %.200s",
                 ci->disabled_reason[0] ? ci->disabled_reason : PAPI_strerror(ci->disabled));
    else if (PAPI_num_hwctrs() <= 0)
        snprintf(papi_reason, sizeof papi_reason, "PAPI reports no hardware counters");
    else {
        papi_hw = 1;
        snprintf(papi_reason, sizeof papi_reason, "%d hardware counters (PAPI %d.%d.%d)",
                 PAPI_num_hwctrs(), PAPI_VERSION_MAJOR(v), PAPI_VERSION_MINOR(v),
                 PAPI_VERSION_REVISION(v));
    }
#else
    snprintf(papi_reason, sizeof papi_reason, "built without PAPI");
#endif
}

int counters_papi_available(char *reason, size_t n)
{
    pthread_once(&papi_once, papi_init);
    if (reason && n)
        snprintf(reason, n, "%s", papi_reason);
    return papi_ok && papi_hw;
}

int counters_add_machine_attrs(machine_info *m)
{
    char reason[400], v[512];
    if (counters_papi_available(reason, sizeof reason))
        snprintf(v, sizeof v, "available%s%s", reason[0] ? ": " : "", reason);
    else
        snprintf(v, sizeof v, "unavailable: %s", reason);
    int rc = machine_add_attr(m, "counters.papi", v);
    rc |= machine_add_attr(m, "counters.rusage",
                           "available (getrusage: minflt, majflt, nvcsw, nivcsw)");
    char par[32];
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    if (f) {
        if (fgets(par, sizeof par, f)) {
            par[strcspn(par, "\n")] = 0;
            rc |= machine_add_attr(m, "perf_event_paranoid", par);
        }
        fclose(f);
    }
    return rc;
}

/* Splits the comma list into sess->ev, resolving each name. */
static int parse_events(counters_session *c, const char *events, dyt_err *e)
{
    const char *p = events;
    while (*p) {
        size_t len = strcspn(p, ",");
        while (len && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        size_t l = len;
        while (l && (p[l - 1] == ' ' || p[l - 1] == '\t'))
            l--;
        if (l == 0)
            return dyt_errf(e, DYT_USAGE, "--papi-events: empty event name in '%s'", events);
        if (c->n_ev == COUNTERS_MAX)
            return dyt_errf(e, DYT_USAGE, "--papi-events: more than %d events", COUNTERS_MAX);
        papi_event *ev = &c->ev[c->n_ev];
        if (l >= sizeof ev->name)
            return dyt_errf(e, DYT_USAGE, "--papi-events: event name too long: '%.*s'", (int)l, p);
        memcpy(ev->name, p, l);
        ev->name[l] = 0;
        for (int i = 0; i < c->n_ev; i++)
            if (!strcmp(c->ev[i].name, ev->name))
                return dyt_errf(e, DYT_USAGE, "--papi-events: '%s' given twice", ev->name);
        c->n_ev++;
        p += len;
        if (*p == ',')
            p++;
    }
    return DYT_OK;
}

#if DYT_HAVE_PAPI
/* Resolves names and builds the event set. Preset names (PAPI_*) are known
 * to PAPI even when no PMU is reachable, so a typo in one is always a usage
 * error; a native name can only be checked while perf_event is enabled. */
static int papi_setup(counters_session *c, dyt_err *e)
{
    for (int i = 0; i < c->n_ev; i++) {
        papi_event *ev = &c->ev[i];
        int rc = papi_ok ? PAPI_event_name_to_code(ev->name, &ev->code) : PAPI_ENOINIT;
        if (rc == PAPI_OK)
            continue;
        if (papi_ok && (papi_hw || !strncmp(ev->name, "PAPI_", 5)))
            return dyt_errf(e, DYT_USAGE, "--papi-events: unknown PAPI event '%s' (%s)", ev->name,
                            PAPI_strerror(rc));
        ev->code = -1; /* cannot be resolved here; unavailable below */
    }
    if (!papi_ok || !papi_hw) {
        for (int i = 0; i < c->n_ev; i++)
            snprintf(c->ev[i].reason, REASON_LEN, "%s", papi_reason);
        return DYT_OK;
    }
    int rc = PAPI_create_eventset(&c->eventset);
    if (rc != PAPI_OK) {
        c->eventset = PAPI_NULL;
        for (int i = 0; i < c->n_ev; i++)
            snprintf(c->ev[i].reason, REASON_LEN, "PAPI_create_eventset: %s", PAPI_strerror(rc));
        return DYT_OK;
    }
    int added = 0;
    for (int i = 0; i < c->n_ev; i++) {
        papi_event *ev = &c->ev[i];
        rc = PAPI_add_event(c->eventset, ev->code);
        if (rc == PAPI_OK) {
            ev->available = 1;
            added++;
        } else {
            /* Not on this CPU, or no counter left for it alongside the
             * events before it (multiplexing would make values estimates). */
            snprintf(ev->reason, REASON_LEN, "PAPI_add_event: %s", PAPI_strerror(rc));
        }
    }
    if (!added) {
        PAPI_destroy_eventset(&c->eventset);
        c->eventset = PAPI_NULL;
    }
    return DYT_OK;
}
#endif

int counters_open(const char *events, counters_session **out, dyt_err *e)
{
    *out = NULL;
    pthread_once(&papi_once, papi_init);
    counters_session *c = calloc(1, sizeof *c);
    if (!c)
        return dyt_errf(e, DYT_RESOURCE, "counters: out of memory");
#if DYT_HAVE_PAPI
    c->eventset = PAPI_NULL;
#else
    c->eventset = -1;
#endif
    int rc = parse_events(c, events && events[0] ? events : COUNTERS_DEFAULT_PAPI, e);
#if DYT_HAVE_PAPI
    if (rc == DYT_OK)
        rc = papi_setup(c, e);
#else
    for (int i = 0; i < c->n_ev; i++)
        snprintf(c->ev[i].reason, REASON_LEN, "%s", papi_reason);
#endif
    if (rc != DYT_OK) {
        counters_close(c);
        return rc;
    }
    *out = c;
    return DYT_OK;
}

void counters_close(counters_session *c)
{
    if (!c)
        return;
#if DYT_HAVE_PAPI
    if (c->eventset != PAPI_NULL) {
        if (c->running) {
            long long v[COUNTERS_MAX];
            PAPI_stop(c->eventset, v);
        }
        PAPI_cleanup_eventset(c->eventset);
        PAPI_destroy_eventset(&c->eventset);
    }
#endif
    free(c);
}

void counters_start(counters_session *c)
{
    for (int i = 0; i < c->n_ev; i++)
        c->ev[i].read = 0;
    c->have_ru = 0;
    c->ru_reason[0] = 0;
    if (getrusage(RUSAGE_SELF, &c->ru0) != 0)
        snprintf(c->ru_reason, sizeof c->ru_reason, "getrusage failed before the region");
#if DYT_HAVE_PAPI
    if (c->eventset != PAPI_NULL) {
        int rc = PAPI_start(c->eventset);
        if (rc == PAPI_OK)
            c->running = 1;
        else
            for (int i = 0; i < c->n_ev; i++)
                if (c->ev[i].available)
                    snprintf(c->ev[i].reason, REASON_LEN, "PAPI_start: %s", PAPI_strerror(rc));
    }
#endif
}

void counters_stop(counters_session *c)
{
#if DYT_HAVE_PAPI
    if (c->running) {
        long long v[COUNTERS_MAX];
        int rc = PAPI_stop(c->eventset, v);
        c->running = 0;
        /* Values come back in the order the events were added. */
        for (int i = 0, k = 0; i < c->n_ev; i++) {
            if (!c->ev[i].available)
                continue;
            if (rc == PAPI_OK) {
                c->ev[i].value = (double)v[k];
                c->ev[i].read = 1;
            } else {
                snprintf(c->ev[i].reason, REASON_LEN, "PAPI_stop: %s", PAPI_strerror(rc));
            }
            k++;
        }
    }
#endif
    if (!c->ru_reason[0]) {
        if (getrusage(RUSAGE_SELF, &c->ru1) == 0)
            c->have_ru = 1;
        else
            snprintf(c->ru_reason, sizeof c->ru_reason, "getrusage failed after the region");
    }
}

size_t counters_results(counters_session *c, double elements, store_counter *out, size_t max)
{
    size_t n = 0;
    for (int i = 0; i < c->n_ev && n < max; i++, n++) {
        papi_event *ev = &c->ev[i];
        out[n] = (store_counter){.source = "papi", .name = ev->name};
        if (ev->available && ev->read) {
            out[n].available = 1;
            out[n].value = ev->value;
            out[n].per_element = elements > 0 ? ev->value / elements : 0;
        } else {
            out[n].unavailable_reason =
                ev->reason[0]
                    ? ev->reason
                    : (ev->available ? "not read: counters_start/stop not called" : "unavailable");
        }
    }
    static const char *const ru_names[] = {"minflt", "majflt", "nvcsw", "nivcsw"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(ru_names) && n < max; i++, n++) {
        out[n] = (store_counter){.source = "rusage", .name = ru_names[i]};
        if (!c->have_ru) {
            out[n].unavailable_reason =
                c->ru_reason[0] ? c->ru_reason : "not read: counters_start/stop not called";
            continue;
        }
        long d = 0;
        switch (i) {
        case 0:
            d = c->ru1.ru_minflt - c->ru0.ru_minflt;
            break;
        case 1:
            d = c->ru1.ru_majflt - c->ru0.ru_majflt;
            break;
        case 2:
            d = c->ru1.ru_nvcsw - c->ru0.ru_nvcsw;
            break;
        default:
            d = c->ru1.ru_nivcsw - c->ru0.ru_nivcsw;
            break;
        }
        out[n].available = 1;
        out[n].value = (double)d;
        out[n].per_element = elements > 0 ? (double)d / elements : 0;
    }
    return n;
}
