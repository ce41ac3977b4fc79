/* Store round trip: a machine (with attributes), a run, its bandwidth
 * ceilings and a case with samples, statistics and counters are written,
 * the DB is closed and reopened, and every value comes back from the
 * tables and from the two documented views. Also: a case whose counters
 * violate the schema leaves nothing behind (one transaction), run
 * resolution by latest/id/label, machine de-duplication by fingerprint,
 * and stale-run marking (dead pid, other boot, other host). */
#include "store_test.h"
#include <signal.h>
#include <sys/wait.h>

static void test_round_trip(void **state)
{
    (void)state;
    char db[512];
    tmp_path(db, sizeof db, "rt.db");
    store *s = open_store(db, 1);
    dyt_err e = {{0}};
    assert_string_equal(store_path(s), db);
    machine_info m;
    fake_machine(&m, "00000000deadbeef");
    machine_attr attrs[2] = {{"counters.papi", "unavailable: test"}, {"gpu", "none"}};
    m.attrs = attrs;
    m.n_attrs = 2;
    int64_t mid = 0, mid2 = 0, run = 0;
    assert_int_equal(store_put_machine(s, &m, &mid, &e), DYT_OK);
    /* Same fingerprint: same row, usable memory refreshed. */
    m.mem_usable_bytes = 20ull << 30;
    assert_int_equal(store_put_machine(s, &m, &mid2, &e), DYT_OK);
    assert_int_equal(mid, mid2);
    store_run_meta meta = fake_run_meta;
    meta.machine_id = mid;
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    const store_ceiling copy = {"dram", 2, "copy", 1 << 30, 20.5, 19.0, "STREAM copy"};
    const store_ceiling scale = {"l2", 2, "scale", 1 << 19, 119.5, -1, NULL};
    assert_int_equal(store_put_ceiling(s, run, &copy, &e), DYT_OK);
    assert_int_equal(store_put_ceiling(s, run, &scale, &e), DYT_OK);
    const store_ceiling nolevel = {"l4", 2, "copy", 1, 1, 1, NULL}; /* the CHECK holds */
    assert_int_equal(store_put_ceiling(s, run, &nolevel, &e), DYT_USAGE);
    assert_int_equal(put_fake_case(s, run, 0, 10, &e), DYT_OK);
    int64_t fid;
    assert_int_equal(put_failed_case(s, run, 1, &fid, &e), DYT_OK);
    assert_int_equal(store_end_run(s, run, "complete", NULL, &e), DYT_OK);
    store_close(s);

    assert_int_equal(store_open(db, 0, &s, &e), DYT_OK);
    sqlite3 *d = store_db(s);
    char t[512];
    assert_int_equal(q_int(d, "PRAGMA user_version", 0), STORE_SCHEMA_VERSION);
    q_text(d, "PRAGMA journal_mode", 0, t, sizeof t);
    assert_string_equal(t, "wal");
    assert_int_equal(q_int(d, "PRAGMA foreign_keys", 0), 1);
    q_text(d, "SELECT value FROM meta WHERE key = 'application'", 0, t, sizeof t);
    assert_string_equal(t, "dytbench");
    /* machines */
    assert_int_equal(q_int(d, "SELECT count(*) FROM machines", 0), 1);
    q_text(d,
           "SELECT hostname || '|' || cpu_model || '|' || packages || '|' || cores || '|' ||"
           " pus || '|' || numa_nodes || '|' || l1d_bytes || '|' || l2_bytes || '|' ||"
           " l3_bytes || '|' || llc_bytes || '|' || llc_note || '|' || mem_bytes || '|' ||"
           " mem_usable_bytes || '|' || mem_note || '|' || os || '|' || kernel || '|' ||"
           " is_vm || '|' || vm_vendor || '|' || isa || '|' || fingerprint"
           " FROM machines WHERE id = ?1",
           mid, t, sizeof t);
    assert_string_equal(t, "testhost|Test CPU 9000|1|4|8|1|49152|2097152|314572800|134217728|"
                           "clamped for the test|6442450944|21474836480|meminfo wins|TestOS 1|"
                           "Linux 6.1 x86_64|1|KVM|avx2 avx512|00000000deadbeef");
    q_text(d, "SELECT CAST(topology_xml AS TEXT) FROM machines", 0, t, sizeof t);
    assert_string_equal(t, "<?xml version=\"1.0\"?><topology/>");
    q_text(d,
           "SELECT group_concat(key || '=' || value, ';') FROM"
           " (SELECT * FROM machine_attrs WHERE machine_id = ?1 ORDER BY key)",
           mid, t, sizeof t);
    assert_string_equal(t, "counters.papi=unavailable: test;gpu=none");
    /* runs */
    q_text(d,
           "SELECT label || '|' || status || '|' || command_line || '|' || suites || '|' ||"
           " suite_hash || '|' || device || '|' || metric || '|' || settings || '|' || pid"
           " || '|' || (ended_at IS NOT NULL) || '|' || (git_rev <> '') FROM runs"
           " WHERE id = ?1",
           run, t, sizeof t);
    char want[512];
    snprintf(want, sizeof want,
             "baseline|complete|dytbench run --label baseline|quick|abc123|cpu|time|"
             "{\"seed\":1}|%d|1|1",
             (int)getpid());
    assert_string_equal(t, want);
    /* ceilings */
    q_text(d,
           "SELECT group_concat(level || '|' || threads || '|' || kind || '|' || bytes || '|' ||"
           " gbps || '|' || coalesce(gbps_median, 'NULL') || '|' || coalesce(method, 'NULL'),"
           " ';') FROM (SELECT * FROM ceilings ORDER BY level)",
           0, t, sizeof t);
    assert_string_equal(t, "dram|2|copy|1073741824|20.5|19.0|STREAM copy;"
                           "l2|2|scale|524288|119.5|NULL|NULL");
    /* cases */
    q_text(d,
           "SELECT seq || '|' || suite || '|' || domain || '|' || model || '|' || model_norm"
           " || '|' || token_label || '|' || layers || '|' || norm || '|' || variant || '|'"
           " || dtype || '|' || pass || '|' || rows || '|' || cols || '|' || threads || '|'"
           " || cache || '|' || device || '|' || alpha || '|' || has_beta || '|' || affine"
           " || '|' || eps || '|' || status || '|' || max_err || '|' || bytes || '|' ||"
           " batch || '|' || buffer_sets || '|' || stop_reason || '|' || warmup_ns || '|'"
           " || wall_ns || '|' || started_at || '|' || ended_at || '|' || max_ulps || '|' ||"
           " err_output || '|' || err_tol FROM cases WHERE seq = 0",
           0, t, sizeof t);
    assert_string_equal(t, "0|quick|llm|toy-7b|rmsnorm|prefill|32|dyt|avx512|fp32|fwd|512|4096|"
                           "2|cold|cpu|0.5|1|1|1.0e-06|ok|0.25|16777216|4|8|noise|1000000|"
                           "50000000|2026-01-01T00:00:00Z|2026-01-01T00:00:01Z|3.5|dx|1.5e-05");
    q_text(d,
           "SELECT status || '|' || error || '|' || coalesce(max_err, 'NULL') || '|' ||"
           " coalesce(batch, 'NULL') || '|' || coalesce(max_ulps, 'NULL') || '|' ||"
           " coalesce(err_output, 'NULL') || '|' || coalesce(err_tol, 'NULL') FROM cases"
           " WHERE id = ?1",
           fid, t, sizeof t);
    assert_string_equal(t, "failed|max error 3.5 > tolerance|NULL|NULL|NULL|NULL|NULL");
    /* samples: every one, in order, flags and exclusion kept */
    assert_int_equal(q_int(d, "SELECT count(*) FROM samples", 0), 10);
    assert_true(q_double(d, "SELECT sum(ns) FROM samples", 0) == 10 * 1000.0 + 45);
    assert_int_equal(q_int(d, "SELECT idx FROM samples WHERE flags = 1 AND excluded = 1", 0), 3);
    assert_int_equal(q_int(d, "SELECT count(*) FROM samples WHERE flags <> 0 OR excluded", 0), 1);
    /* stats */
    q_text(d,
           "SELECT n || '|' || n_excluded || '|' || median_ns || '|' || ci_low_ns || '|' ||"
           " ci_high_ns || '|' || mean_ns || '|' || stddev_ns || '|' || min_ns || '|' ||"
           " max_ns || '|' || mad_ns || '|' || rel_ci_width || '|' || gbps || '|' ||"
           " roofline_pct || '|' || ceiling_level || '|' || ceiling_pct FROM stats",
           0, t, sizeof t);
    assert_string_equal(t, "10|1|1005.0|1000.0|1010.0|1001.0|2.0|1000.0|1009.0|1.5|0.01|12.5|"
                           "55.5|l2|98.25");
    assert_int_equal(q_int(d, "SELECT count(*) FROM stats WHERE case_id = ?1", fid), 0);
    /* counters: a value, and an unavailable one stored as NULL + reason */
    q_text(d,
           "SELECT group_concat(source || ':' || name || '=' || coalesce(value, 'NULL') ||"
           " '/' || coalesce(per_element, 'NULL') || '/' || coalesce(unavailable_reason,"
           " '-'), ';') FROM (SELECT * FROM counters ORDER BY source)",
           0, t, sizeof t);
    assert_string_equal(t, "papi:PAPI_TOT_INS=NULL/NULL/PAPI perf_event component disabled: test;"
                           "rusage:minflt=42.0/0.5/-");
    /* v_results: the documented columns, with the stored values */
    q_text(d,
           "SELECT run_id || '|' || label || '|' || machine || '|' || domain || '|' || model"
           " || '|' || norm || '|' || variant || '|' || dtype || '|' || pass || '|' || rows"
           " || '|' || cols || '|' || threads || '|' || cache || '|' || status || '|' ||"
           " samples || '|' || median_ns || '|' || ci_low_ns || '|' || ci_high_ns || '|' ||"
           " gbps || '|' || roofline_pct || '|' || max_err || '|' || ceiling_level || '|' ||"
           " ceiling_pct || '|' || max_ulps FROM v_results WHERE status = 'ok'",
           0, t, sizeof t);
    snprintf(want, sizeof want,
             "%lld|baseline|testhost (Test CPU 9000)|llm|toy-7b|dyt|avx512|fp32|fwd|512|4096|2|"
             "cold|ok|10|1005.0|1000.0|1010.0|12.5|55.5|0.25|l2|98.25|3.5",
             (long long)run);
    assert_string_equal(t, want);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM v_results WHERE status = 'failed'"
                           " AND samples IS NULL AND median_ns IS NULL",
                           0),
                     1);
    /* v_counters */
    q_text(d,
           "SELECT group_concat(run_id || '|' || model || '|' || norm || '|' || variant ||"
           " '|' || dtype || '|' || pass || '|' || rows || '|' || cols || '|' || source ||"
           " '|' || name || '|' || coalesce(value, 'NULL') || '|' || coalesce("
           "unavailable_reason, '-'), ';') FROM (SELECT * FROM v_counters ORDER BY source)",
           0, t, sizeof t);
    snprintf(want, sizeof want,
             "%lld|toy-7b|dyt|avx512|fp32|fwd|512|4096|papi|PAPI_TOT_INS|NULL|"
             "PAPI perf_event component disabled: test;"
             "%lld|toy-7b|dyt|avx512|fp32|fwd|512|4096|rusage|minflt|42.0|-",
             (long long)run, (long long)run);
    assert_string_equal(t, want);
    store_close(s);
}

/* A case is one transaction: a counter that breaks the schema's CHECK on
 * source, written after the case row and its samples, rolls all of it
 * back; so does a duplicate seq. The store stays usable afterwards. */
static void test_failed_case_leaves_nothing(void **state)
{
    (void)state;
    store *s = open_new("rb.db");
    dyt_err e = {{0}};
    store_run_meta meta = fake_meta_on(s, "1111");
    int64_t run;
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    assert_int_equal(put_fake_case(s, run, 0, 20, &e), DYT_OK);

    store_case c = fake_case(1);
    store_sample smp[5] = {{1, 0, 0, 0}, {2, 0, 0, 0}, {3, 0, 0, 1}, {4, 0, 0, 1}, {5, 0, 0, 1}};
    store_counter bad = {.source = "bogus", .name = "x", .available = 1, .value = 1};
    int64_t id;
    e.msg[0] = 0;
    assert_int_equal(store_put_case(s, run, &c, smp, 5, NULL, &bad, 1, &id, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, store_path(s)));
    assert_non_null(strstr(e.msg, "counters"));
    sqlite3 *d = store_db(s);
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases", 0), 1);
    assert_int_equal(q_int(d, "SELECT count(*) FROM samples", 0), 20);
    assert_int_equal(sqlite3_get_autocommit(d), 1); /* no transaction left open */
    /* duplicate seq */
    assert_int_equal(put_fake_case(s, run, 0, 5, &e), DYT_USAGE);
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases", 0), 1);
    assert_int_equal(q_int(d, "SELECT count(*) FROM samples", 0), 20);
    /* and a good case still goes in */
    assert_int_equal(put_fake_case(s, run, 1, 5, &e), DYT_OK);
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases", 0), 2);
    /* ending a run that does not exist is an error, not a silent no-op */
    assert_int_equal(store_end_run(s, run + 100, "complete", NULL, &e), DYT_USAGE);
    store_close(s);
}

static void test_resolve_run(void **state)
{
    (void)state;
    store *s = open_new("resolve.db");
    dyt_err e = {{0}};
    int64_t id = -1, r1, r2, r3;
    assert_int_equal(store_resolve_run(s, "latest", &id, &e), DYT_USAGE);
    store_run_meta meta = fake_meta_on(s, "2222");
    meta.label = "base";
    assert_int_equal(store_begin_run(s, &meta, &r1, &e), DYT_OK);
    assert_int_equal(store_begin_run(s, &meta, &r2, &e), DYT_OK);
    meta.label = "7"; /* a label that looks like an id */
    assert_int_equal(store_begin_run(s, &meta, &r3, &e), DYT_OK);
    assert_int_equal(store_resolve_run(s, "latest", &id, &e), DYT_OK);
    assert_int_equal(id, r3);
    assert_int_equal(store_resolve_run(s, "base", &id, &e), DYT_OK);
    assert_int_equal(id, r2);
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)r1);
    assert_int_equal(store_resolve_run(s, num, &id, &e), DYT_OK);
    assert_int_equal(id, r1);
    assert_int_equal(store_resolve_run(s, "7", &id, &e), DYT_OK);
    assert_int_equal(id, r3);
    assert_int_equal(store_resolve_run(s, "nope", &id, &e), DYT_USAGE);
    char want[600];
    snprintf(want, sizeof want, "no run 'nope' in %s", store_path(s));
    assert_string_equal(e.msg, want);
    assert_int_equal(store_resolve_run(s, "999", &id, &e), DYT_USAGE);
    store_close(s);
}

/* A run's identity: a fresh uuid each (well-formed, never repeated), the
 * interleave session, campaign and shard in their columns (NULL when not
 * given, "" included), and a shard outside its campaign refused before
 * anything is written. A case's note is stored as given. */
static void test_run_identity(void **state)
{
    (void)state;
    store *s = open_new("identity.db");
    dyt_err e = {{0}};
    store_run_meta meta = fake_meta_on(s, "4444");
    int64_t plain, arm, bad = -1;
    meta.lockstep_token = "";
    assert_int_equal(store_begin_run(s, &meta, &plain, &e), DYT_OK);
    meta.lockstep_token = "0123456789abcdef";
    meta.arm = "cand";
    meta.campaign = "nightly-7";
    meta.shard_index = 2;
    meta.shard_count = 3;
    assert_int_equal(store_begin_run(s, &meta, &arm, &e), DYT_OK);
    meta.shard_index = 3;
    assert_int_equal(store_begin_run(s, &meta, &bad, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "shard 3 of 3"));
    meta.shard_index = -1;
    assert_int_equal(store_begin_run(s, &meta, &bad, &e), DYT_USAGE);
    assert_int_equal(bad, -1);
    store_case c = fake_case(0);
    c.note = "RMSNorm as x / sqrt(mean(x^2) + eps)";
    int64_t cid;
    assert_int_equal(store_put_case(s, arm, &c, NULL, 0, NULL, NULL, 0, &cid, &e), DYT_OK);
    sqlite3 *d = store_db(s);
    char t[512];
    assert_int_equal(q_int(d, "SELECT count(*) FROM runs", 0), 2);
    q_text(d,
           "SELECT coalesce(lockstep_token, 'NULL') || '|' || coalesce(arm, 'NULL') || '|' ||"
           " coalesce(campaign, 'NULL') || '|' || coalesce(shard_index, 'NULL') || '|' ||"
           " coalesce(shard_count, 'NULL') FROM runs WHERE id = ?1",
           plain, t, sizeof t);
    assert_string_equal(t, "NULL|NULL|NULL|NULL|NULL");
    q_text(d,
           "SELECT lockstep_token || '|' || arm || '|' || campaign || '|' || shard_index ||"
           " '|' || shard_count FROM runs WHERE id = ?1",
           arm, t, sizeof t);
    assert_string_equal(t, "0123456789abcdef|cand|nightly-7|2|3");
    q_text(d, "SELECT note FROM cases WHERE id = ?1", cid, t, sizeof t);
    assert_string_equal(t, "RMSNorm as x / sqrt(mean(x^2) + eps)");
    assert_int_equal(q_int(d,
                           "SELECT count(DISTINCT uuid) FROM runs WHERE length(uuid) = 36 AND"
                           " substr(uuid, 15, 1) = '4' AND uuid = lower(uuid) AND"
                           " replace(uuid, '-', '') NOT GLOB '*[^0-9a-f]*'",
                           0),
                     2);
    /* Many more: random ids do not repeat. */
    meta.shard_index = 0;
    for (int i = 0; i < 200; i++)
        assert_int_equal(store_begin_run(s, &meta, &bad, &e), DYT_OK);
    assert_int_equal(q_int(d, "SELECT count(*) FROM runs", 0), 202);
    assert_int_equal(q_int(d, "SELECT count(DISTINCT uuid) FROM runs", 0),
                     q_int(d, "SELECT count(*) FROM runs", 0));
    store_close(s);
}

/* Runs left 'running': by a dead process of this host (aborted), by a
 * process of an earlier boot (aborted), by a live process (ours: kept),
 * by another host (cannot be checked: kept). */
static void test_stale_runs(void **state)
{
    (void)state;
    char db[512];
    store *s = open_new("stale.db");
    snprintf(db, sizeof db, "%s", store_path(s));
    dyt_err e = {{0}};
    store_run_meta meta = fake_meta_on(s, "3333");
    int64_t r_dead, r_boot, r_live, r_other;
    assert_int_equal(store_begin_run(s, &meta, &r_dead, &e), DYT_OK);
    assert_int_equal(store_begin_run(s, &meta, &r_boot, &e), DYT_OK);
    assert_int_equal(store_begin_run(s, &meta, &r_live, &e), DYT_OK);
    assert_int_equal(store_begin_run(s, &meta, &r_other, &e), DYT_OK);
    /* a pid that certainly no longer exists: a reaped child's */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    assert_true(child > 0);
    waitpid(child, NULL, 0);
    sqlite3 *d = store_db(s);
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE runs SET pid = %d WHERE id = %lld", (int)child,
             (long long)r_dead);
    assert_int_equal(sqlite3_exec(d, sql, NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof sql, "UPDATE runs SET boot_id = 'another-boot' WHERE id = %lld",
             (long long)r_boot);
    assert_int_equal(sqlite3_exec(d, sql, NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof sql, "UPDATE runs SET host = 'elsewhere', pid = %d WHERE id = %lld",
             (int)child, (long long)r_other);
    assert_int_equal(sqlite3_exec(d, sql, NULL, NULL, NULL), SQLITE_OK);
    store_close(s);

    assert_int_equal(store_open(db, 0, &s, &e), DYT_OK);
    d = store_db(s);
    char t[300];
    q_text(d,
           "SELECT status || '|' || (ended_at IS NOT NULL) || '|' || note FROM runs"
           " WHERE id = ?1",
           r_dead, t, sizeof t);
    assert_non_null(strstr(t, "aborted|1|aborted: the writer"));
    q_text(d, "SELECT status || '|' || note FROM runs WHERE id = ?1", r_boot, t, sizeof t);
    assert_non_null(strstr(t, "aborted|"));
    assert_non_null(strstr(t, "reboot"));
    q_text(d, "SELECT status FROM runs WHERE id = ?1", r_live, t, sizeof t);
    assert_string_equal(t, "running");
    q_text(d, "SELECT status FROM runs WHERE id = ?1", r_other, t, sizeof t);
    assert_string_equal(t, "running");
    store_close(s);
}

DYT_TEST_MAIN_IN_TMPDIR("store", NULL, NULL, cmocka_unit_test(test_round_trip),
                        cmocka_unit_test(test_failed_case_leaves_nothing),
                        cmocka_unit_test(test_resolve_run), cmocka_unit_test(test_run_identity),
                        cmocka_unit_test(test_stale_runs))
