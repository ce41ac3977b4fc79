/* The machine record and counters, checked against what this computer
 * independently says: /proc/meminfo, sched_getaffinity, PAPI's own
 * component table. On VMs whose hwloc reports an implausible L3 (the build
 * machines: 300+ MB for two cores) the clamp and its note are checked; on
 * a machine with a believable L3 the same test checks it is used as is. */
#include "dyt_test.h"

#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "counters.h"
#include "dyt_config.h"
#include "kernels.h"
#include "machine.h"
#include "store.h"

static uint64_t meminfo(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    assert_non_null(f);
    char line[256];
    unsigned long long kb = 0;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':')
            sscanf(line + kl + 1, "%llu", &kb);
    fclose(f);
    return (uint64_t)kb * 1024;
}

static const char *attr(const machine_info *m, const char *key)
{
    for (size_t i = 0; i < m->n_attrs; i++)
        if (!strcmp(m->attrs[i].key, key))
            return m->attrs[i].value;
    return NULL;
}

/* This machine's record, which must probe. */
static void probe(machine_info *m)
{
    dyt_err e = {{0}};
    if (machine_probe(NULL, m, &e) != DYT_OK)
        fail_msg("machine_probe: %s", e.msg);
}

static void test_probe_sanity(void **state)
{
    (void)state;
    machine_info m;
    probe(&m);
    dyt_err e = {{0}};
    assert_true(m.cores >= 1 && m.pus >= m.cores && m.packages >= 1 && m.numa_nodes >= 1);
    assert_true(m.pus <= sysconf(_SC_NPROCESSORS_CONF));
    assert_true(strlen(m.cpu_model) > 0);
    assert_true(strlen(m.hostname) > 0 && strlen(m.os) > 0 && strlen(m.kernel) > 0);
    /* The isa string: the CPU rows of the ISA table this process uses, by
     * name in table order, or "baseline"; never a backend. */
    char isa[128];
    unsigned cpu_bits = kern_cpu_flags() & kern_isa_bits(KERN_ISA_CPU);
    if (!kern_isa_names(cpu_bits, " ", isa, sizeof isa))
        snprintf(isa, sizeof isa, "baseline");
    assert_string_equal(m.isa, isa);
    if (kern_cpu_flags() & ISA_AVX512)
        assert_non_null(strstr(m.isa, "avx512"));
    assert_null(strstr(m.isa, "cuda"));
    assert_null(strstr(m.isa, "onednn"));
    assert_int_equal(strlen(m.fingerprint), 16);
    assert_non_null(m.topology_xml);
    assert_true(m.topology_xml_len > 100);
    assert_int_equal(strncmp(m.topology_xml, "<?xml", 5), 0);
    assert_non_null(strstr(m.topology_xml, "<topology"));
    /* LLC rule: believable caches are used as reported, others clamped to
     * 32 MiB per core with a note saying why. */
    uint64_t mib = 1024 * 1024, memtotal = meminfo("MemTotal");
    uint64_t reported = m.l3_bytes ? m.l3_bytes : m.l2_bytes * (uint64_t)m.cores;
    int implausible = reported / (uint64_t)m.cores > 64 * mib ||
                      reported > (memtotal > m.mem_bytes ? memtotal : m.mem_bytes) / 16;
    if (implausible) {
        assert_int_equal(m.llc_bytes, 32 * mib * (uint64_t)m.cores);
        assert_non_null(strstr(m.llc_note, "hwloc reports L3"));
        assert_non_null(strstr(m.llc_note, "--llc-bytes"));
        print_message("LLC clamped here: %s\n", m.llc_note);
    } else {
        assert_int_equal(m.llc_bytes, reported);
        assert_string_equal(m.llc_note, "");
    }
    /* Memory: usable is MemAvailable (give or take what moved between the
     * two reads); a note exactly when hwloc's total is below MemTotal. */
    uint64_t avail = meminfo("MemAvailable");
    assert_true(m.mem_usable_bytes > avail / 2 && m.mem_usable_bytes <= memtotal);
    if (m.mem_bytes < memtotal) {
        assert_non_null(strstr(m.mem_note, "MemTotal"));
        print_message("memory note here: %s\n", m.mem_note);
    } else
        assert_string_equal(m.mem_note, "");
    /* Counter availability is part of the record a run stores. */
    assert_null(attr(&m, "counters.papi"));
    assert_int_equal(counters_add_machine_attrs(&m), 0);
    const char *papi = attr(&m, "counters.papi");
    assert_non_null(papi);
    char reason[256];
    int avail_papi = counters_papi_available(reason, sizeof reason);
    assert_true(avail_papi ? !strncmp(papi, "available", 9) : !strncmp(papi, "unavailable: ", 13));
    assert_non_null(strstr(papi, reason));
    assert_non_null(attr(&m, "counters.rusage"));
    /* A second probe is the same machine. */
    machine_info m2;
    assert_int_equal(machine_probe(NULL, &m2, &e), DYT_OK);
    assert_string_equal(m.fingerprint, m2.fingerprint);
    machine_free(&m2);
    machine_free(&m);
    assert_null(m.topology_xml);
}

static void test_llc_override(void **state)
{
    (void)state;
    machine_info a, b;
    dyt_err e = {{0}};
    machine_opts o = {.llc_bytes_override = 12345678};
    assert_int_equal(machine_probe(NULL, &a, &e), DYT_OK);
    assert_int_equal(machine_probe(&o, &b, &e), DYT_OK);
    assert_int_equal(b.llc_bytes, 12345678);
    assert_non_null(strstr(b.llc_note, "--llc-bytes"));
    assert_int_equal(a.l3_bytes, b.l3_bytes); /* the reported figure is still kept */
    /* What was used is part of the identity: another row, not a rewrite. */
    assert_string_not_equal(a.fingerprint, b.fingerprint);
    machine_free(&a);
    machine_free(&b);
}

typedef struct {
    int index, rc, cpu_count, cpu;
    char msg[1024];
} pin_job;

static void *pin_thread(void *arg)
{
    pin_job *j = arg;
    machine_pinner *p;
    dyt_err e = {{0}};
    p = machine_pinner_create(&e);
    if (!p) {
        j->rc = -1;
        snprintf(j->msg, sizeof j->msg, "%s", e.msg);
        return NULL;
    }
    j->rc = machine_pin_thread(p, j->index, &e);
    snprintf(j->msg, sizeof j->msg, "%s", e.msg);
    /* Ask the kernel, not hwloc, what the thread may run on now. */
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        j->cpu_count = CPU_COUNT(&set);
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) {
                j->cpu = c;
                break;
            }
    }
    machine_pinner_destroy(p);
    return NULL;
}

static void test_pinning(void **state)
{
    (void)state;
    machine_info m;
    probe(&m);
    dyt_err e = {{0}};
    pin_job j[2] = {{.index = 0}, {.index = 1}};
    for (int i = 0; i < 2; i++) {
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, pin_thread, &j[i]), 0);
        pthread_join(t, NULL);
        if (j[i].rc != 0)
            print_error("pin %d: %s\n", i, j[i].msg);
        assert_int_equal(j[i].rc, 0);
        assert_int_equal(j[i].cpu_count, 1);
    }
    /* Two cores: two different CPUs; one core: the same one (round robin). */
    if (m.cores >= 2)
        assert_int_not_equal(j[0].cpu, j[1].cpu);
    else
        assert_int_equal(j[0].cpu, j[1].cpu);
    machine_free(&m);
    /* A negative index is refused with a message. */
    machine_pinner *p = machine_pinner_create(&e);
    assert_non_null(p);
    assert_int_not_equal(machine_pin_thread(p, -1, &e), 0);
    assert_non_null(strstr(e.msg, "pinning"));
    machine_pinner_destroy(p);
}

static void test_counters(void **state)
{
    (void)state;
    counters_session *c;
    dyt_err e = {{0}};
    assert_int_equal(counters_open(NULL, &c, &e), DYT_OK);
    counters_start(c);
    /* Fresh pages: minor faults that getrusage must see. */
    size_t n = 32u << 20;
    char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i += 4096)
        buf[i] = (char)i;
    counters_stop(c);
    store_counter k[COUNTERS_MAX + 8];
    size_t nk = counters_results(c, (double)n, k, DYT_ARRAY_LEN(k));
    free(buf);
    assert_int_equal(nk, 5 + 4); /* the five default PAPI events + four rusage */
    char reason[256];
    int hw = counters_papi_available(reason, sizeof reason);
    assert_true(strlen(reason) > 0);
    int papi = 0, rusage = 0;
    for (size_t i = 0; i < nk; i++) {
        if (!strcmp(k[i].source, "papi")) {
            papi++;
            if (!hw) {
                /* The PAPI-unavailable path: every event says so, with
                 * PAPI's own reason, and carries no value. */
                assert_int_equal(k[i].available, 0);
                assert_non_null(k[i].unavailable_reason);
                assert_string_equal(k[i].unavailable_reason, reason);
                assert_true(k[i].value == 0 && k[i].per_element == 0);
            } else if (k[i].available) {
                assert_true(k[i].value > 0); /* a read counter counted something */
            } else {
                assert_true(strlen(k[i].unavailable_reason) > 0);
            }
        } else {
            assert_string_equal(k[i].source, "rusage");
            assert_int_equal(k[i].available, 1);
            assert_null(k[i].unavailable_reason);
            assert_true(k[i].value >= 0);
            if (!strcmp(k[i].name, "minflt")) {
                assert_true(k[i].value >= 1);
                assert_true(k[i].per_element * (double)n == k[i].value);
            }
            rusage++;
        }
    }
    assert_int_equal(papi, 5);
    assert_int_equal(rusage, 4);
    if (!hw)
        print_message("PAPI unavailable here: %s\n", reason);
    counters_close(c);

    /* Before any start/stop nothing is reported as read. */
    assert_int_equal(counters_open("PAPI_TOT_INS", &c, &e), DYT_OK);
    nk = counters_results(c, 1, k, DYT_ARRAY_LEN(k));
    for (size_t i = 0; i < nk; i++)
        assert_int_equal(k[i].available, 0);
    counters_close(c);

    /* Unknown or malformed event lists are usage errors. */
    /* Unknown names are only knowable with PAPI; malformed lists always. */
    static const char *const bad[] = {"PAPI_TOT_INS,,PAPI_TOT_CYC", "PAPI_TOT_INS,PAPI_TOT_INS",
                                      DYT_HAVE_PAPI ? "PAPI_NOT_AN_EVENT" : "PAPI_TOT_CYC,,"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(bad); i++) {
        c = (counters_session *)0x1;
        assert_int_equal(counters_open(bad[i], &c, &e), DYT_USAGE);
        assert_null(c);
        assert_non_null(strstr(e.msg, "--papi-events"));
        if (i == 1)
            assert_non_null(strstr(e.msg, "twice"));
    }
}

/* Counters through the store: unavailable PAPI events come back from
 * v_counters as NULL with the reason, never as 0. */
static void test_counters_stored(void **state)
{
    (void)state;
    store *s = open_new("c.db");
    dyt_err e = {{0}};
    machine_info m;
    probe(&m);
    assert_int_equal(counters_add_machine_attrs(&m), 0); /* as a run stores it */
    int64_t mid, run, cid;
    assert_int_equal(store_put_machine(s, &m, &mid, &e), DYT_OK);
    store_run_meta meta = {
        .machine_id = mid, .command_line = "test", .suites = "t", .suite_hash = "h"};
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    counters_session *c;
    assert_int_equal(counters_open(NULL, &c, &e), DYT_OK);
    counters_start(c);
    counters_stop(c);
    store_counter k[COUNTERS_MAX + 8];
    size_t nk = counters_results(c, 1000, k, DYT_ARRAY_LEN(k));
    store_case sc = small_case("m");
    sc.rows = 10;
    sc.cols = 100;
    sc.bytes = 8000;
    assert_int_equal(store_put_case(s, run, &sc, NULL, 0, NULL, k, nk, &cid, &e), DYT_OK);
    counters_close(c);
    sqlite3 *d = store_db(s);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(d,
                                        "SELECT source, value, unavailable_reason FROM v_counters"
                                        " WHERE run_id = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, run);
    int rows = 0, hw = counters_papi_available(NULL, 0);
    while (sqlite3_step(st) == SQLITE_ROW) {
        rows++;
        const char *src = (const char *)sqlite3_column_text(st, 0);
        int null_value = sqlite3_column_type(st, 1) == SQLITE_NULL;
        if (!strcmp(src, "papi") && !hw) {
            assert_true(null_value);
            assert_true(strlen((const char *)sqlite3_column_text(st, 2)) > 0);
        }
        if (!strcmp(src, "rusage"))
            assert_false(null_value);
    }
    sqlite3_finalize(st);
    assert_int_equal(rows, 9);
    assert_int_equal(sqlite3_prepare_v2(d,
                                        "SELECT value FROM machine_attrs WHERE machine_id = ?1"
                                        " AND key = 'counters.papi'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, mid);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    sqlite3_finalize(st);
    machine_free(&m);
    store_close(s);
}

/* `dytbench machine` prints the record and every counter's availability;
 * --llc-bytes is honoured; a bad size or event is exit 2. */
static void test_cli(void **state)
{
    (void)state;
    need_dytbench();
    char cmd[1024], out[16384];
    snprintf(cmd, sizeof cmd, "'%s' machine --llc-bytes 48M 2>&1", dytbench_exe);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    assert_int_equal(exit_code(pclose(p)), 0);
    assert_non_null(strstr(out, "LLC used         48.0 MiB"));
    assert_non_null(strstr(out, "set by --llc-bytes"));
    assert_non_null(strstr(out, "PAPI_TOT_INS"));
    assert_non_null(strstr(out, "rusage  minflt         available"));
    assert_non_null(strstr(out, "counters.papi"));
    snprintf(cmd, sizeof cmd, "'%s' machine --llc-bytes lots >/dev/null 2>&1", dytbench_exe);
    assert_int_equal(exit_code(system(cmd)), DYT_USAGE);
    snprintf(cmd, sizeof cmd, "'%s' machine --papi-events PAPI_NOPE >/dev/null 2>&1", dytbench_exe);
    assert_int_equal(exit_code(system(cmd)), DYT_USAGE);
}

DYT_TEST_MAIN_IN_TMPDIR("machine", NULL, NULL, cmocka_unit_test(test_probe_sanity),
                        cmocka_unit_test(test_llc_override), cmocka_unit_test(test_pinning),
                        cmocka_unit_test(test_counters), cmocka_unit_test(test_counters_stored),
                        cmocka_unit_test(test_cli))
