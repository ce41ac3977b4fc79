/* The machine record: what this computer is (hwloc topology, OS, compiler,
 * VM detection), sanity-checked, plus thread pinning. Also the hardware
 * counter availability (PAPI) so `dytbench machine` can say why not. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "common.h"

typedef struct {
    char key[64];
    char value[512];
} machine_attr;

typedef struct {
    char hostname[128];
    char cpu_model[128];
    int packages, cores, pus, numa_nodes;
    uint64_t l1d_bytes, l2_bytes, l3_bytes; /* as reported (0 = unknown) */
    uint64_t llc_bytes;                     /* used: clamped or overridden */
    char llc_note[256];
    uint64_t mem_bytes;                     /* as reported by hwloc */
    uint64_t mem_usable_bytes;              /* used */
    char mem_note[256];
    char os[128], kernel[128];
    int is_vm;
    char vm_vendor[64];
    char isa[128];                          /* "avx2 avx512 avx512bf16" */
    char *topology_xml;                     /* malloc'd hwloc XML export */
    size_t topology_xml_len;
    machine_attr *attrs;                    /* extra key/values (GPU record, counters) */
    size_t n_attrs;
    char fingerprint[32];                   /* hex hash of the stable attributes */
} machine_info;

typedef struct {
    uint64_t llc_bytes_override; /* 0 = none (--llc-bytes) */
} machine_opts;

int machine_probe(const machine_opts *o, machine_info *out, dyt_err *e);
void machine_free(machine_info *m);
int machine_add_attr(machine_info *m, const char *key, const char *value);
/* Prints the record (and counter availability) for `dytbench machine`. */
void machine_print(const machine_info *m, FILE *f);

/* Pinning: binds the calling thread to the index-th core (round-robin over
 * cores, one PU each) and checks the binding took. */
typedef struct machine_pinner machine_pinner;
machine_pinner *machine_pinner_create(dyt_err *e);
int machine_pin_thread(machine_pinner *p, int index, dyt_err *e);
/* The OS index of the PU machine_pin_thread binds the index-th thread to
 * (for pinning another process's threads the same way); -1 if none. */
int machine_pin_pu(const machine_pinner *p, int index);
void machine_pinner_destroy(machine_pinner *p);
