/* Counters around a timed region: PAPI hardware events (where the PMU is
 * reachable) and getrusage deltas (always). Where PAPI has no counters the
 * session still works and reports each event as unavailable with PAPI's own
 * reason; it never reports a zero it did not read. */
#pragma once
#include <stddef.h>
#include "common.h"
#include "machine.h"
#include "store.h"

#define COUNTERS_DEFAULT_PAPI "PAPI_TOT_INS,PAPI_TOT_CYC,PAPI_L1_DCM,PAPI_L2_DCM,PAPI_L3_TCM"
#define COUNTERS_MAX 24

typedef struct counters_session counters_session;

/* events: comma list of PAPI event names, NULL = default. An unknown event
 * name is a usage error (DYT_USAGE); events that exist in PAPI's table but
 * not on this hardware are recorded as unavailable. */
int counters_open(const char *events, counters_session **out, dyt_err *e);
void counters_close(counters_session *c);
/* Whether PAPI hardware counters can be read here; reason filled if not. */
int counters_papi_available(char *reason, size_t n);
/* Adds to a machine record which counters a run on it can have and, if
 * not, why (counters.papi, counters.rusage, perf_event_paranoid); 0, or -1
 * out of memory. */
int counters_add_machine_attrs(machine_info *m);
/* Start/stop around the region to measure (same thread). */
void counters_start(counters_session *c);
void counters_stop(counters_session *c);
/* The last start/stop's values (papi + rusage), per_element = value /
 * elements. Strings in out point into the session. Returns the count. */
size_t counters_results(counters_session *c, double elements, store_counter *out, size_t max);
