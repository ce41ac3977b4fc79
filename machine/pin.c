/* Thread pinning through hwloc: the index-th thread of a pool goes to the
 * first PU of the (index mod cores)-th core, so threads never share a core
 * while there are free ones and SMT siblings stay idle. The binding is read
 * back after it is set: a cgroup, a container's cpuset or a hypervisor can
 * refuse it silently, and an unpinned thread must be known, not assumed. */
#include "machine.h"
#include <hwloc.h>
#include <stdlib.h>

struct machine_pinner {
    hwloc_topology_t topo;
    int cores;
};

machine_pinner *machine_pinner_create(dyt_err *e)
{
    machine_pinner *p = calloc(1, sizeof *p);
    if (!p) {
        dyt_errf(e, DYT_RESOURCE, "pinning: out of memory");
        return NULL;
    }
    if (hwloc_topology_init(&p->topo) != 0) {
        free(p);
        dyt_errf(e, DYT_USAGE, "pinning: hwloc_topology_init failed");
        return NULL;
    }
    if (hwloc_topology_load(p->topo) != 0) {
        hwloc_topology_destroy(p->topo);
        free(p);
        dyt_errf(e, DYT_USAGE, "pinning: hwloc could not load the topology");
        return NULL;
    }
    const struct hwloc_topology_support *sup = hwloc_topology_get_support(p->topo);
    if (!sup->cpubind->set_thisthread_cpubind || !sup->cpubind->get_thisthread_cpubind) {
        hwloc_topology_destroy(p->topo);
        free(p);
        dyt_errf(e, DYT_USAGE, "pinning: this system does not support binding threads");
        return NULL;
    }
    p->cores = hwloc_get_nbobjs_by_type(p->topo, HWLOC_OBJ_CORE);
    if (p->cores < 1) {
        hwloc_topology_destroy(p->topo);
        free(p);
        dyt_errf(e, DYT_USAGE, "pinning: hwloc found no cores");
        return NULL;
    }
    return p;
}

int machine_pin_pu(const machine_pinner *p, int index)
{
    if (!p || index < 0)
        return -1;
    /* Topology queries are read-only and hwloc documents them as safe to
     * call from several threads at once. */
    hwloc_obj_t core =
        hwloc_get_obj_by_type(p->topo, HWLOC_OBJ_CORE, (unsigned)(index % p->cores));
    return core ? hwloc_bitmap_first(core->cpuset) : -1;
}

int machine_pin_thread(machine_pinner *p, int index, dyt_err *e)
{
    if (!p || index < 0)
        return dyt_errf(e, DYT_USAGE, "pinning: invalid thread index %d", index);
    /* The bitmaps are per call. */
    int core_idx = index % p->cores;
    int pu = machine_pin_pu(p, index);
    if (pu < 0)
        return dyt_errf(e, DYT_USAGE, "pinning: core %d has no PU", core_idx);
    hwloc_bitmap_t want = hwloc_bitmap_alloc(), got = hwloc_bitmap_alloc();
    int rc = DYT_OK;
    if (!want || !got) {
        rc = dyt_errf(e, DYT_RESOURCE, "pinning: out of memory");
        goto done;
    }
    hwloc_bitmap_only(want, (unsigned)pu);
    if (hwloc_set_cpubind(p->topo, want, HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT) != 0 &&
        hwloc_set_cpubind(p->topo, want, HWLOC_CPUBIND_THREAD) != 0) {
        rc = dyt_errf(e, DYT_USAGE, "pinning: binding thread %d to PU %d (core %d) refused", index,
                      pu, core_idx);
        goto done;
    }
    if (hwloc_get_cpubind(p->topo, got, HWLOC_CPUBIND_THREAD) != 0) {
        rc = dyt_errf(e, DYT_USAGE, "pinning: cannot read back thread %d's binding", index);
        goto done;
    }
    if (!hwloc_bitmap_isequal(want, got)) {
        char *s = NULL;
        hwloc_bitmap_asprintf(&s, got);
        rc = dyt_errf(e, DYT_USAGE,
                      "pinning: thread %d asked for PU %d (core %d) but is bound to %s", index, pu,
                      core_idx, s ? s : "?");
        free(s);
    }
done:
    hwloc_bitmap_free(want);
    hwloc_bitmap_free(got);
    return rc;
}

void machine_pinner_destroy(machine_pinner *p)
{
    if (!p)
        return;
    hwloc_topology_destroy(p->topo);
    free(p);
}
