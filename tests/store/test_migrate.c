/* Store migrations. A database as each older schema version left it (v1
 * from its verbatim schema, v2 to v5 by the migrations that older builds
 * ran) is opened by this build: it ends at the current version with the
 * same tables, columns and indexes as a new database, every value it held
 * unchanged, the v4 columns filled -- a unique random uuid per run, the
 * `interleave` session (lockstep_token, arm) taken from the settings JSON,
 * NULL where there was none -- and the v5 ones: the rooflines moved to
 * ceilings as the dram level, each case held against that level with its
 * old % of roofline, accuracy unknown -- and the v6 ones empty: no plan
 * hash, no provenance, no campaign plan. */
#include "store_test.h"

/* The schema as SQLite sees it: every table, view and index with its
 * columns (name, type, NOT NULL, default, key position) or, for an index,
 * its columns and uniqueness; one line each, sorted. */
static char *describe_schema(sqlite3 *d)
{
    static const char sql[] =
        "SELECT group_concat(line, char(10)) FROM (SELECT m.type || ' ' || m.name || ': ' ||"
        " CASE m.type WHEN 'index' THEN"
        "  (SELECT group_concat(i.name, ',') FROM pragma_index_info(m.name) i) || ' unique=' ||"
        "  (SELECT l.\"unique\" FROM pragma_index_list(m.tbl_name) l WHERE l.name = m.name)"
        " ELSE (SELECT group_concat(p.name || ' ' || p.type || ' ' || p.\"notnull\" || ' ' ||"
        "  coalesce(p.dflt_value, '-') || ' ' || p.pk, ', ') FROM pragma_table_info(m.name) p)"
        " END AS line FROM sqlite_schema m ORDER BY m.type, m.name)";
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(d, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    assert_non_null(out);
    return out;
}

/* Opens an older file with this build: it is migrated to the current
 * version. */
static sqlite3 *open_migrated(const char *path, store **s)
{
    dyt_err e = {{0}};
    if (store_open(path, 0, s, &e) != DYT_OK) {
        print_error("%s\n", e.msg);
        fail();
    }
    sqlite3 *d = store_db(*s);
    assert_int_equal(q_int(d, "PRAGMA user_version", 0), STORE_SCHEMA_VERSION);
    return d;
}

/* What the v4 -> v5 step makes of a schema-4 file's rooflines and stats. */
static void v5_columns_filled(sqlite3 *d)
{
    char t[512];
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM ceilings WHERE level = 'dram' AND method LIKE"
                           " '%schema-4 roofline%'",
                           0),
                     6);
    q_text(d, "SELECT method FROM ceilings WHERE kind = 'd2d_copy'", 0, t, sizeof t);
    assert_string_equal(t, "device-to-device copy (a schema-4 roofline)");
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM stats WHERE (roofline_pct IS NULL) ="
                           " (ceiling_level IS NULL) AND (ceiling_level IS NULL OR"
                           " (ceiling_level = 'dram' AND ceiling_pct = roofline_pct))",
                           0),
                     5);
    assert_int_equal(q_int(d, "SELECT count(*) FROM stats WHERE ceiling_pct = 87.5", 0), 3);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM cases WHERE max_ulps IS NOT NULL OR"
                           " err_output IS NOT NULL OR err_tol IS NOT NULL",
                           0),
                     0);
    q_text(d,
           "SELECT group_concat(coalesce(ceiling_level, 'NULL') || '/' ||"
           " coalesce(ceiling_pct, 'NULL'), ' ') FROM (SELECT * FROM v_results WHERE"
           " samples IS NOT NULL ORDER BY run_id)",
           0, t, sizeof t);
    assert_string_equal(t, "dram/87.5 NULL/NULL dram/87.5 NULL/NULL dram/87.5");
}

/* Migrates a filled database of `version` and checks that every value it
 * held is unchanged and the new columns are filled as they should be. */
static void migrate_and_check(int version)
{
    char db[512], name[32];
    snprintf(name, sizeof name, "v%d-data.db", version);
    tmp_path(db, sizeof db, name);
    sqlite3 *d = old_db(db, version);
    fill_old(d, version);
    /* rooflines becomes the dram level of ceilings (version 5) */
    const char *const tables[] = {"meta",  "machines", "machine_attrs", "runs",
                                  version >= 5 ? "ceilings" : "rooflines",
                                  "cases", "samples",  "stats",         "counters",
                                  "calibrations"};
    static const char rooflines_now[] =
        "(SELECT run_id, threads, kind, bytes, gbps, gbps_median FROM ceilings"
        " WHERE level = 'dram')";
    enum { N_TABLES = DYT_ARRAY_LEN(tables) };
    char cols[N_TABLES][1024];
    char *before[N_TABLES] = {0};
    for (size_t i = 0; i < N_TABLES; i++) {
        if (version < 2 &&
            (!strcmp(tables[i], "machine_attrs") || !strcmp(tables[i], "calibrations")))
            continue; /* v2 tables */
        quoted_columns(d, tables[i], cols[i], sizeof cols[i]);
        before[i] = dump_table(d, tables[i], cols[i]);
        assert_true(strlen(before[i]) > 0);
    }
    sqlite3_close(d);

    store *s;
    d = open_migrated(db, &s);
    for (size_t i = 0; i < N_TABLES; i++) {
        if (!before[i])
            continue;
        int moved = version < 5 && !strcmp(tables[i], "rooflines");
        char *after = dump_table(d, moved ? rooflines_now : tables[i], cols[i]);
        if (strcmp(before[i], after))
            print_error("%s changed:\n%s\n--- became ---\n%s\n", tables[i], before[i], after);
        assert_string_equal(before[i], after);
        free(after);
        free(before[i]);
    }
    if (version < 3)
        assert_int_equal(q_int(d, "SELECT count(*) FROM samples WHERE block <> 0", 0), 0);
    /* The session, from the settings JSON; none becomes NULL. */
    char t[512];
    q_text(d,
           "SELECT group_concat(id || '=' || coalesce(lockstep_token, 'NULL') || '/' ||"
           " coalesce(arm, 'NULL'), ' ') FROM (SELECT * FROM runs ORDER BY id)",
           0, t, sizeof t);
    assert_string_equal(t, "1=s-1234/A 2=s-1234/B 3=NULL/NULL 4=NULL/NULL 5=NULL/NULL");
    /* One well-formed version 4 uuid per run, all different. */
    assert_int_equal(q_int(d,
                           "SELECT count(DISTINCT uuid) FROM runs WHERE length(uuid) = 36 AND"
                           " uuid = lower(uuid) AND substr(uuid, 9, 1) = '-' AND"
                           " substr(uuid, 14, 2) = '-4' AND substr(uuid, 19, 1) = '-' AND"
                           " substr(uuid, 20, 1) IN ('8', '9', 'a', 'b') AND"
                           " substr(uuid, 24, 1) = '-' AND"
                           " replace(uuid, '-', '') NOT GLOB '*[^0-9a-f]*'",
                           0),
                     5);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM runs WHERE campaign IS NOT NULL OR"
                           " shard_index IS NOT NULL OR shard_count IS NOT NULL",
                           0),
                     0);
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases WHERE note IS NOT NULL", 0), 0);
    /* v6: nothing old has a plan hash, a provenance or a campaign plan. */
    assert_int_equal(q_int(d, "SELECT count(*) FROM runs WHERE plan_hash IS NOT NULL", 0), 0);
    assert_int_equal(q_int(d,
                           "SELECT (SELECT count(*) FROM provenance) + (SELECT count(*) FROM"
                           " campaigns) + (SELECT count(*) FROM campaign_cases)",
                           0),
                     0);
    /* v5: no rooflines table; every ceiling of an old run is dram, says how
     * it was measured; a case with an old % of roofline is held against
     * dram at that %; accuracy beyond max_err is unknown. */
    assert_int_equal(q_int(d, "SELECT count(*) FROM sqlite_schema WHERE name = 'rooflines'", 0), 0);
    if (version < 5)
        v5_columns_filled(d);
    /* The constraints of v4 hold on a migrated file: uuids stay unique, a
     * shard lies inside its campaign. */
    assert_int_not_equal(
        sqlite3_exec(d, "UPDATE runs SET uuid = (SELECT uuid FROM runs WHERE id = 1) WHERE id = 2",
                     NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_not_equal(
        sqlite3_exec(d, "UPDATE runs SET shard_index = 2, shard_count = 2", NULL, NULL, NULL),
        SQLITE_OK);
    exec_ok(d, "UPDATE runs SET campaign = 'c', shard_index = 1, shard_count = 2 WHERE id = 3");
    /* The v6 tables work on a migrated file: a provenance row goes with its
     * run, a campaign's cases with the campaign, and a campaign needs a
     * shard count. */
    exec_ok(d, "INSERT INTO provenance (run_id, source_file, source_run_id, merged_at,"
               " dytbench_version) VALUES (5, '/x/shard-1.db', 9, 'now', '0.1.0');"
               "INSERT INTO campaigns VALUES ('c', 'h', 2, 1, 'now');"
               "INSERT INTO campaign_cases VALUES ('c', 0, 1, 'quick', 'm', NULL, 'dyt',"
               " 'scalar', 'fp32', 'fwd', 8, 64, 1);"
               "UPDATE runs SET plan_hash = 'h' WHERE id = 3;"
               "DELETE FROM calibrations; DELETE FROM runs WHERE id = 5;"
               "DELETE FROM campaigns WHERE campaign = 'c'");
    assert_int_equal(q_int(d,
                           "SELECT (SELECT count(*) FROM provenance) +"
                           " (SELECT count(*) FROM campaign_cases)",
                           0),
                     0);
    assert_int_not_equal(sqlite3_exec(d, "INSERT INTO campaigns VALUES ('z', 'h', 0, 1, 'now')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    q_text(d, "PRAGMA integrity_check", 0, t, sizeof t);
    assert_string_equal(t, "ok");
    store_close(s);
}

/* Data of every older version migrates, its values kept. */
static void test_migrate_data(void **state)
{
    (void)state;
    for (int version = 1; version < STORE_SCHEMA_VERSION; version++)
        migrate_and_check(version);
}

/* A migrated database has exactly the schema of a new one, from every
 * older version. */
static void test_migrated_schema_is_fresh_schema(void **state)
{
    (void)state;
    char db[512];
    store *s = open_new("fresh.db");
    char *fresh = describe_schema(store_db(s));
    store_close(s);
    assert_non_null(strstr(fresh, "index runs_uuid: uuid unique=1"));
    for (int v = 1; v < STORE_SCHEMA_VERSION; v++) {
        char name[32];
        snprintf(name, sizeof name, "v%d-empty.db", v);
        tmp_path(db, sizeof db, name);
        sqlite3_close(old_db(db, v));
        char *got = describe_schema(open_migrated(db, &s));
        if (strcmp(fresh, got))
            print_error("from v%d:\n%s\n--- new database ---\n%s\n", v, got, fresh);
        assert_string_equal(fresh, got);
        free(got);
        store_close(s);
    }
    free(fresh);
}

/* The v1 file of an old build, written by hand: its values read back
 * through both views, and the tables added since work. */
static void test_migrate_from_v1(void **state)
{
    (void)state;
    char db[512];
    tmp_path(db, sizeof db, "v1.db");
    sqlite3 *d;
    assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
    exec_ok(d, store_schema_v1_sql);
    exec_ok(d, "INSERT INTO meta VALUES ('application', 'dytbench');"
               "PRAGMA user_version = 1;"
               "INSERT INTO machines (id, fingerprint, hostname, cpu_model, packages, cores, pus,"
               " numa_nodes, llc_bytes, mem_usable_bytes, is_vm, created_at) VALUES (1, 'fp1',"
               " 'oldhost', 'Old CPU', 1, 2, 2, 1, 33554432, 1000, 0, '2025-01-01T00:00:00Z');"
               "INSERT INTO runs (id, machine_id, label, status, started_at, ended_at,"
               " command_line, git_rev, version, suites, suite_hash, host, pid) VALUES (1, 1,"
               " 'old', 'complete', '2025-01-01T00:00:00Z', '2025-01-01T00:01:00Z', 'dytbench"
               " run', 'abc', '0.0.1', 'quick', 'h', 'oldhost', 1);"
               "INSERT INTO cases (id, run_id, seq, suite, domain, model, model_norm, layers,"
               " norm, variant, dtype, pass, rows, cols, threads, cache, status, max_err, bytes)"
               " VALUES (1, 1, 0, 'quick', 'llm', 'm', 'layernorm', 1, 'dyt', 'scalar', 'fp32',"
               " 'fwd', 8, 64, 1, 'hot', 'ok', 0.1, 4096);"
               "INSERT INTO samples VALUES (1, 0, 100.0, 0, 0), (1, 1, 110.0, 1, 1);"
               "INSERT INTO stats (case_id, n, n_excluded, median_ns, ci_low_ns, ci_high_ns,"
               " gbps) VALUES (1, 1, 1, 100.0, 99.0, 101.0, 40.96);"
               "INSERT INTO counters VALUES (1, 'rusage', 'nivcsw', 3, 0.001, NULL);");
    assert_int_equal(q_int(d, "SELECT count(*) FROM sqlite_schema WHERE name = 'calibrations'", 0),
                     0);
    sqlite3_close(d);

    store *s;
    d = open_migrated(db, &s);
    /* v3: every old sample belongs to block 0 (runs had one round). */
    assert_int_equal(q_int(d, "SELECT count(*) FROM samples WHERE block = 0", 0), 2);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM sqlite_schema WHERE name IN"
                           " ('calibrations', 'machine_attrs')",
                           0),
                     2);
    char t[256];
    q_text(d,
           "SELECT run_id || '|' || label || '|' || machine || '|' || norm || '|' || samples"
           " || '|' || median_ns || '|' || gbps || '|' || max_err FROM v_results",
           0, t, sizeof t);
    assert_string_equal(t, "1|old|oldhost (Old CPU)|dyt|1|100.0|40.96|0.1");
    assert_true(q_double(d, "SELECT sum(ns) FROM samples WHERE case_id = 1", 0) == 210.0);
    q_text(d, "SELECT name || '=' || value FROM v_counters", 0, t, sizeof t);
    assert_string_equal(t, "nivcsw=3.0");
    q_text(d, "SELECT status FROM runs WHERE id = 1", 0, t, sizeof t);
    assert_string_equal(t, "complete");
    q_text(d, "PRAGMA integrity_check", 0, t, sizeof t);
    assert_string_equal(t, "ok");
    /* The new tables work: attributes for a machine, a calibration row. */
    machine_info m;
    fake_machine(&m, "newfp");
    machine_attr a = {"counters.papi", "unavailable: test"};
    m.attrs = &a;
    m.n_attrs = 1;
    int64_t mid;
    dyt_err e = {{0}};
    assert_int_equal(store_put_machine(s, &m, &mid, &e), DYT_OK);
    assert_int_equal(q_int(d, "SELECT count(*) FROM machine_attrs WHERE machine_id = ?1", mid), 1);
    exec_ok(d, "INSERT INTO calibrations (machine_id, run_a, run_b, case_key, noise_rel,"
               " min_detectable_rel, threshold, alpha, created_at) VALUES (1, 1, 1, 'k', 0.01,"
               " 0.02, 0.05, 0.01, 'now')");
    store_close(s);
    /* Reopening a migrated file is a plain open. */
    assert_int_equal(store_open(db, 0, &s, &e), DYT_OK);
    assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM calibrations", 0), 1);
    store_close(s);
}

DYT_TEST_MAIN_IN_TMPDIR("store-migrate", NULL, NULL, cmocka_unit_test(test_migrate_from_v1),
                        cmocka_unit_test(test_migrate_data),
                        cmocka_unit_test(test_migrated_schema_is_fresh_schema))
