/* The machine record: what this computer is, as hwloc, /proc and cpuid see
 * it, sanity-checked before anything is sized from it.
 *
 * Why the checks: in VMs hwloc passes on whatever the hypervisor claims.
 * The build machines here report a 300-500 MB L3 for two cores and a NUMA
 * node of 5-7 GB while /proc/meminfo has 24 GB. The runner sizes cold-cache
 * buffer rotation and bandwidth buffers from llc_bytes, and caps them by
 * mem_usable_bytes, so both get a plausible value and a note saying what
 * was reported and why something else was used:
 *
 *  - LLC. Real CPUs have at most ~12 MiB of L3 per core (3D V-cache parts);
 *    more than MACHINE_LLC_MAX_PER_CORE (64 MiB) per core, or more than
 *    1/16 of memory, is not a cache we can believe. Then llc_bytes =
 *    MACHINE_LLC_FALLBACK_PER_CORE (32 MiB) x cores: still above any real
 *    per-core share, so buffers sized as a multiple of it stay beyond the
 *    cache. --llc-bytes (llc_bytes_override) wins over both.
 *  - Memory. mem_bytes is hwloc's figure as reported; mem_usable_bytes is
 *    MemAvailable from /proc/meminfo (what can be allocated now). When
 *    hwloc's total is below MemTotal the note says so.
 *
 * The fingerprint hashes the attributes that identify a machine and do not
 * drift between runs (not MemAvailable), so its runs share one row. */
#include <hwloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include "dyt_config.h"
#include "kernels.h"
#include "machine.h"
#include "revision.h"

#define MIB (1024ull * 1024ull)
#define MACHINE_LLC_MAX_PER_CORE (64 * MIB)
#define MACHINE_LLC_FALLBACK_PER_CORE (32 * MIB)

static void copy_str(char *dst, size_t n, const char *src)
{
    /* Truncates silently: every field has a documented size. */
    size_t l = src ? strnlen(src, n - 1) : 0;
    if (l)
        memcpy(dst, src, l);
    dst[l] = 0;
}

/* Value of "Key: value" from a /proc file (first match), trimmed. */
static int proc_field(const char *path, const char *key, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[512];
    size_t kl = strlen(key);
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) != 0)
            continue;
        char *p = line + kl;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != ':')
            continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        p[strcspn(p, "\n")] = 0;
        copy_str(out, n, p);
        found = 0;
        break;
    }
    fclose(f);
    return found;
}

static uint64_t meminfo_bytes(const char *key)
{
    char v[64];
    if (proc_field("/proc/meminfo", key, v, sizeof v) != 0)
        return 0;
    return (uint64_t)strtoull(v, NULL, 10) * 1024; /* "24731708 kB" */
}

static void read_os(char *out, size_t n)
{
    FILE *f = fopen("/etc/os-release", "r");
    out[0] = 0;
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "PRETTY_NAME=", 12) != 0)
            continue;
        char *p = line + 12;
        p[strcspn(p, "\n")] = 0;
        size_t l = strlen(p);
        if (l >= 2 && (p[0] == '"' || p[0] == '\'') && p[l - 1] == p[0]) {
            p[l - 1] = 0;
            p++;
        }
        copy_str(out, n, p);
        break;
    }
    fclose(f);
}

/* Hypervisor detection: the cpuid hypervisor bit and vendor leaf, then DMI
 * (which names the cloud where cpuid does not, and exists on bare metal). */
static void detect_vm(machine_info *m)
{
    m->is_vm = 0;
    m->vm_vendor[0] = 0;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 31))) {
        m->is_vm = 1;
        unsigned r[4] = {0};
        __cpuid(0x40000000, r[0], r[1], r[2], r[3]);
        char sig[13];
        memcpy(sig, &r[1], 4);
        memcpy(sig + 4, &r[2], 4);
        memcpy(sig + 8, &r[3], 4);
        sig[12] = 0;
        static const struct {
            const char *sig, *name;
        } known[] = {{"KVMKVMKVM", "KVM"},         {"Microsoft Hv", "Hyper-V"},
                     {"VMwareVMware", "VMware"},   {"XenVMMXenVMM", "Xen"},
                     {"TCGTCGTCGTCG", "QEMU TCG"}, {" lrpepyh  vr", "Parallels"},
                     {"ACRNACRNACRN", "ACRN"},     {"bhyve bhyve ", "bhyve"},
                     {"QNXQVMBSQG", "QNX"},        {"VBoxVBoxVBox", "VirtualBox"}};
        const char *name = NULL;
        for (size_t i = 0; i < DYT_ARRAY_LEN(known); i++)
            if (!strncmp(sig, known[i].sig, strlen(known[i].sig)))
                name = known[i].name;
        if (name)
            copy_str(m->vm_vendor, sizeof m->vm_vendor, name);
        else {
            for (int i = 0; i < 12; i++)
                if (sig[i] && (sig[i] < 32 || sig[i] > 126))
                    sig[i] = '?';
            snprintf(m->vm_vendor, sizeof m->vm_vendor, "unknown (cpuid '%s')", sig);
        }
    }
#endif
    char dmi[128] = "";
    FILE *f = fopen("/sys/class/dmi/id/sys_vendor", "r");
    if (f) {
        if (fgets(dmi, sizeof dmi, f))
            dmi[strcspn(dmi, "\n")] = 0;
        fclose(f);
    }
    static const char *const clouds[] = {
        "QEMU", "Amazon EC2",   "Google",  "Microsoft Corporation", "VMware, Inc.", "innotek GmbH",
        "Xen",  "DigitalOcean", "Hetzner", "OpenStack Foundation"};
    for (size_t i = 0; dmi[0] && i < DYT_ARRAY_LEN(clouds); i++) {
        if (strncmp(dmi, clouds[i], strlen(clouds[i])) != 0)
            continue;
        size_t l = strlen(m->vm_vendor);
        if (!l)
            snprintf(m->vm_vendor, sizeof m->vm_vendor, "%s", dmi);
        else
            snprintf(m->vm_vendor + l, sizeof m->vm_vendor - l, ", %s", dmi);
        m->is_vm = 1;
    }
}

/* Caches, counts and memory from hwloc. l1d/l2 per core (first instance),
 * l3 the sum over all L3 instances (the cache a cold buffer must exceed). */
static void probe_topology(hwloc_topology_t t, machine_info *m)
{
    m->packages = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE);
    m->cores = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
    m->pus = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
    m->numa_nodes = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
    if (m->packages < 1)
        m->packages = 1;
    if (m->cores < 1)
        m->cores = m->pus > 0 ? m->pus : 1;
    if (m->numa_nodes < 1)
        m->numa_nodes = 1;
    hwloc_obj_t o = hwloc_get_obj_by_type(t, HWLOC_OBJ_L1CACHE, 0);
    m->l1d_bytes = o ? o->attr->cache.size : 0;
    o = hwloc_get_obj_by_type(t, HWLOC_OBJ_L2CACHE, 0);
    m->l2_bytes = o ? o->attr->cache.size : 0;
    int n3 = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_L3CACHE);
    m->l3_bytes = 0;
    for (int i = 0; i < n3; i++)
        m->l3_bytes += hwloc_get_obj_by_type(t, HWLOC_OBJ_L3CACHE, (unsigned)i)->attr->cache.size;
    m->mem_bytes = hwloc_get_root_obj(t)->total_memory;

    hwloc_obj_t pkg = hwloc_get_obj_by_type(t, HWLOC_OBJ_PACKAGE, 0);
    const char *model = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
    if (!model)
        model = hwloc_obj_get_info_by_name(hwloc_get_root_obj(t), "CPUModel");
    if (model)
        copy_str(m->cpu_model, sizeof m->cpu_model, model);
    else if (proc_field("/proc/cpuinfo", "model name", m->cpu_model, sizeof m->cpu_model) != 0)
        copy_str(m->cpu_model, sizeof m->cpu_model, "unknown CPU");
}

static void decide_llc(const machine_opts *o, machine_info *m, uint64_t mem_total)
{
    char rep[32], used[32];
    uint64_t reported = m->l3_bytes ? m->l3_bytes : m->l2_bytes * (uint64_t)m->cores;
    const char *level = m->l3_bytes ? "L3" : "L2 (no L3 reported)";
    dyt_fmt_bytes(rep, sizeof rep, (double)reported);
    m->llc_note[0] = 0;
    if (o && o->llc_bytes_override) {
        m->llc_bytes = o->llc_bytes_override;
        dyt_fmt_bytes(used, sizeof used, (double)m->llc_bytes);
        snprintf(m->llc_note, sizeof m->llc_note, "set by --llc-bytes to %s (hwloc reports %s %s)",
                 used, level, rep);
        return;
    }
    uint64_t cores = (uint64_t)m->cores;
    uint64_t per_core = reported / cores;
    uint64_t mem = DYT_MAX(mem_total, m->mem_bytes);
    const char *why = NULL;
    if (reported == 0)
        why = "hwloc reports no L2/L3 size";
    else if (per_core > MACHINE_LLC_MAX_PER_CORE)
        why = "more than 64 MiB per core, which no real CPU has";
    else if (mem && reported > mem / 16)
        why = "more than 1/16 of memory";
    if (!why) {
        m->llc_bytes = reported;
        return;
    }
    m->llc_bytes = MACHINE_LLC_FALLBACK_PER_CORE * cores;
    dyt_fmt_bytes(used, sizeof used, (double)m->llc_bytes);
    snprintf(m->llc_note, sizeof m->llc_note,
             "hwloc reports %s %s for %d cores (%s): using 32 MiB x %d cores = %s; "
             "override with --llc-bytes",
             level, rep, m->cores, why, m->cores, used);
}

static void decide_mem(machine_info *m, uint64_t mem_total)
{
    m->mem_usable_bytes = dyt_mem_usable_bytes();
    m->mem_note[0] = 0;
    if (m->mem_usable_bytes == 0) {
        /* No /proc/meminfo and no sysconf: fall back to hwloc's figure. */
        m->mem_usable_bytes = m->mem_bytes;
        snprintf(m->mem_note, sizeof m->mem_note,
                 "MemAvailable unknown: using hwloc's total as usable");
        return;
    }
    if (m->mem_bytes < mem_total) {
        char h[32], t[32], a[32];
        dyt_fmt_bytes(h, sizeof h, (double)m->mem_bytes);
        dyt_fmt_bytes(t, sizeof t, (double)mem_total);
        dyt_fmt_bytes(a, sizeof a, (double)m->mem_usable_bytes);
        snprintf(m->mem_note, sizeof m->mem_note,
                 "hwloc reports %s but /proc/meminfo has MemTotal %s: hwloc's figure is not "
                 "believed; usable = MemAvailable %s",
                 h, t, a);
    }
}

static void fingerprint(machine_info *m, uint64_t mem_total)
{
    uint64_t h = DYT_HASH64_INIT;
    const char *strs[] = {m->hostname, m->cpu_model, m->os, m->kernel, m->vm_vendor, m->isa};
    for (size_t i = 0; i < DYT_ARRAY_LEN(strs); i++)
        h = dyt_hash64(strs[i], strlen(strs[i]) + 1, h);
    /* MemTotal in GiB: the kernel's reserve moves it by a few MiB. */
    uint64_t nums[] = {
        (uint64_t)m->packages, (uint64_t)m->cores, (uint64_t)m->pus,  (uint64_t)m->numa_nodes,
        m->l1d_bytes,          m->l2_bytes,        m->l3_bytes,       m->llc_bytes,
        m->mem_bytes,          mem_total >> 30,    (uint64_t)m->is_vm};
    h = dyt_hash64(nums, sizeof nums, h);
    snprintf(m->fingerprint, sizeof m->fingerprint, "%016llx", (unsigned long long)h);
}

int machine_add_attr(machine_info *m, const char *key, const char *value)
{
    for (size_t i = 0; i < m->n_attrs; i++)
        if (!strcmp(m->attrs[i].key, key)) {
            copy_str(m->attrs[i].value, sizeof m->attrs[i].value, value);
            return 0;
        }
    machine_attr *a = realloc(m->attrs, (m->n_attrs + 1) * sizeof *a);
    if (!a)
        return -1;
    m->attrs = a;
    copy_str(a[m->n_attrs].key, sizeof a[m->n_attrs].key, key);
    copy_str(a[m->n_attrs].value, sizeof a[m->n_attrs].value, value);
    m->n_attrs++;
    return 0;
}

int machine_probe(const machine_opts *o, machine_info *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    hwloc_topology_t t;
    if (hwloc_topology_init(&t) != 0)
        return dyt_errf(e, DYT_USAGE, "machine: hwloc_topology_init failed");
    if (hwloc_topology_load(t) != 0) {
        hwloc_topology_destroy(t);
        return dyt_errf(e, DYT_USAGE, "machine: hwloc could not load the topology");
    }
    probe_topology(t, out);
    char *xml = NULL;
    int xml_len = 0;
    if (hwloc_topology_export_xmlbuffer(t, &xml, &xml_len, 0) == 0 && xml) {
        /* hwloc's buffer must go back through hwloc_free_xmlbuffer: copy. */
        out->topology_xml = malloc((size_t)xml_len + 1);
        if (out->topology_xml) {
            memcpy(out->topology_xml, xml, (size_t)xml_len);
            out->topology_xml[xml_len] = 0;
            /* xml_len counts the terminating NUL; store the text only. */
            out->topology_xml_len = xml_len > 0 ? strlen(out->topology_xml) : 0;
        }
        hwloc_free_xmlbuffer(t, xml);
    }
    hwloc_topology_destroy(t);

    if (gethostname(out->hostname, sizeof out->hostname) != 0)
        copy_str(out->hostname, sizeof out->hostname, "unknown");
    out->hostname[sizeof out->hostname - 1] = 0;
    read_os(out->os, sizeof out->os);
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(out->kernel, sizeof out->kernel, "%.40s %.60s %.20s", u.sysname, u.release,
                 u.machine);
    detect_vm(out);
    /* The CPU features this process uses, space-separated in ISA-table
     * order, or "baseline". Part of the fingerprint: the table's names and
     * order must stay put. */
    if (!kern_isa_names(kern_cpu_flags() & kern_isa_bits(KERN_ISA_CPU), " ", out->isa,
                        sizeof out->isa))
        copy_str(out->isa, sizeof out->isa, "baseline");
    uint64_t mem_total = meminfo_bytes("MemTotal");
    decide_llc(o, out, mem_total);
    decide_mem(out, mem_total);
    fingerprint(out, mem_total);
    return DYT_OK;
}

void machine_free(machine_info *m)
{
    if (!m)
        return;
    free(m->topology_xml);
    free(m->attrs);
    m->topology_xml = NULL;
    m->attrs = NULL;
    m->n_attrs = 0;
    m->topology_xml_len = 0;
}

static void print_bytes(FILE *f, const char *what, uint64_t b)
{
    char s[32];
    if (b)
        dyt_fmt_bytes(s, sizeof s, (double)b);
    fprintf(f, "  %-16s %s\n", what, b ? s : "unknown");
}

void machine_print(const machine_info *m, FILE *f)
{
    fprintf(f, "Machine %s (fingerprint %s)\n", m->hostname, m->fingerprint);
    fprintf(f, "  %-16s %s\n", "CPU", m->cpu_model);
    fprintf(f, "  %-16s %d package(s), %d core(s), %d PU(s), %d NUMA node(s)\n", "topology",
            m->packages, m->cores, m->pus, m->numa_nodes);
    fprintf(f, "  %-16s %s\n", "ISA", m->isa);
    print_bytes(f, "L1d per core", m->l1d_bytes);
    print_bytes(f, "L2 per core", m->l2_bytes);
    print_bytes(f, "L3 (reported)", m->l3_bytes);
    print_bytes(f, "LLC used", m->llc_bytes);
    if (m->llc_note[0])
        fprintf(f, "  %-16s %s\n", "", m->llc_note);
    print_bytes(f, "memory (hwloc)", m->mem_bytes);
    print_bytes(f, "memory usable", m->mem_usable_bytes);
    if (m->mem_note[0])
        fprintf(f, "  %-16s %s\n", "", m->mem_note);
    fprintf(f, "  %-16s %s\n", "OS", m->os[0] ? m->os : "unknown");
    fprintf(f, "  %-16s %s\n", "kernel", m->kernel[0] ? m->kernel : "unknown");
    fprintf(f, "  %-16s %s%s%s%s\n", "virtual machine", m->is_vm ? "yes" : "no (none detected)",
            m->is_vm && m->vm_vendor[0] ? " (" : "", m->is_vm ? m->vm_vendor : "",
            m->is_vm && m->vm_vendor[0] ? ")" : "");
    fprintf(f, "  %-16s %s, %s, build type %s\n", "compiler", DYT_COMPILER, DYT_CFLAGS,
            DYT_BUILD_TYPE);
    fprintf(f, "  %-16s %s (dytbench %s)\n", "git revision", DYT_GIT_REVISION, DYT_VERSION);
    fprintf(f, "  %-16s %zu bytes (stored with the machine)\n", "hwloc XML", m->topology_xml_len);
    for (size_t i = 0; i < m->n_attrs; i++)
        fprintf(f, "  %-16s %s\n", m->attrs[i].key, m->attrs[i].value);
}
