/* Schema versions of the results store and the forward migrations between
 * them. A database records its version in PRAGMA user_version; store_open()
 * refuses a newer one and brings an older one up to STORE_SCHEMA_VERSION
 * here, one step per transaction, so a migration interrupted by a kill
 * leaves the file at a consistent earlier version.
 *
 * History:
 *   1  machines, runs, rooflines, cases, samples, stats, counters, views.
 *   2  + machine_attrs (GPU record, counter availability per machine)
 *      + calibrations (A/A noise per case key, for the regression gate).
 *   3  + samples.block (the round of the run a sample was taken in; older
 *      runs had one round, block 0).
 *   4  + runs.uuid (a random UUID per run, unique; old runs get fresh ones),
 *      runs.lockstep_token and runs.arm (the `interleave` session, until
 *      now top-level keys of runs.settings: copied from there, "" becoming
 *      NULL; settings is left as it was written), runs.campaign,
 *      runs.shard_index, runs.shard_count (NULL on old runs), cases.note.
 *   5  rooflines -> ceilings (per cache level: l1, l2, llc, dram; with how
 *      each was measured): the old rows are the dram level, their method
 *      says they were schema-4 rooflines; rooflines is dropped.
 *      + stats.ceiling_level, stats.ceiling_pct (the ceiling a case is
 *      held against and its % of it: 'dram' and roofline_pct on old runs;
 *      roofline_pct stays the % of the dram ceiling), cases.max_ulps,
 *      cases.err_output, cases.err_tol (accuracy; NULL on old runs),
 *      v_results with the new columns.
 *   6  + runs.plan_hash (NULL on old runs), provenance (where a merged run
 *      came from), campaigns and campaign_cases (a campaign's whole plan
 *      with each case's shard).
 *
 * Version 1 is kept verbatim below: it is what older files contain, and the
 * tests build a v1 file from it to check the migration. */
#include "store_int.h"
#include <string.h>

const char store_schema_v1_sql[] =
    "CREATE TABLE meta (\n"
    "  key   TEXT PRIMARY KEY,\n"
    "  value TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE machines (\n"
    "  id            INTEGER PRIMARY KEY,\n"
    "  fingerprint   TEXT NOT NULL UNIQUE,\n"
    "  hostname      TEXT NOT NULL,\n"
    "  cpu_model     TEXT NOT NULL,\n"
    "  packages      INTEGER NOT NULL,\n"
    "  cores         INTEGER NOT NULL,\n"
    "  pus           INTEGER NOT NULL,\n"
    "  numa_nodes    INTEGER NOT NULL,\n"
    "  l1d_bytes     INTEGER,\n"
    "  l2_bytes      INTEGER,\n"
    "  l3_bytes      INTEGER,\n"
    "  llc_bytes     INTEGER NOT NULL,\n"
    "  llc_note      TEXT,\n"
    "  mem_bytes     INTEGER,\n"
    "  mem_usable_bytes INTEGER NOT NULL,\n"
    "  mem_note      TEXT,\n"
    "  os            TEXT,\n"
    "  kernel        TEXT,\n"
    "  is_vm         INTEGER NOT NULL,\n"
    "  vm_vendor     TEXT,\n"
    "  isa           TEXT,\n"
    "  topology_xml  BLOB,\n"
    "  created_at    TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE runs (\n"
    "  id           INTEGER PRIMARY KEY,\n"
    "  machine_id   INTEGER NOT NULL REFERENCES machines(id),\n"
    "  label        TEXT,\n"
    "  status       TEXT NOT NULL CHECK (status IN ('running','complete','aborted','failed')),\n"
    "  started_at   TEXT NOT NULL,\n"
    "  ended_at     TEXT,\n"
    "  command_line TEXT NOT NULL,\n"
    "  git_rev      TEXT NOT NULL,\n"
    "  version      TEXT NOT NULL,\n"
    "  compiler     TEXT,\n"
    "  cflags       TEXT,\n"
    "  build_type   TEXT,\n"
    "  suites       TEXT NOT NULL,\n"
    "  suite_hash   TEXT NOT NULL,\n"
    "  device       TEXT NOT NULL DEFAULT 'cpu' CHECK (device IN ('cpu','cuda')),\n"
    "  metric       TEXT NOT NULL DEFAULT 'time' CHECK (metric IN ('time','instructions')),\n"
    "  settings     TEXT,\n"
    "  host         TEXT NOT NULL,\n"
    "  pid          INTEGER NOT NULL,\n"
    "  boot_id      TEXT,\n"
    "  note         TEXT\n"
    ");\n"
    "CREATE TABLE rooflines (\n"
    "  run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  threads  INTEGER NOT NULL,\n"
    "  kind     TEXT NOT NULL,\n"
    "  bytes    INTEGER NOT NULL,\n"
    "  gbps     REAL NOT NULL,\n"
    "  gbps_median REAL,\n"
    "  PRIMARY KEY (run_id, threads, kind)\n"
    ");\n"
    "CREATE TABLE cases (\n"
    "  id          INTEGER PRIMARY KEY,\n"
    "  run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  seq         INTEGER NOT NULL,\n"
    "  suite       TEXT NOT NULL,\n"
    "  domain      TEXT NOT NULL,\n"
    "  model       TEXT NOT NULL,\n"
    "  model_norm  TEXT NOT NULL,\n"
    "  token_label TEXT,\n"
    "  layers      INTEGER NOT NULL,\n"
    "  norm        TEXT NOT NULL CHECK (norm IN ('dyt','layernorm','rmsnorm')),\n"
    "  variant     TEXT NOT NULL,\n"
    "  dtype       TEXT NOT NULL CHECK (dtype IN ('fp32','bf16','fp16')),\n"
    "  pass        TEXT NOT NULL CHECK (pass IN ('fwd','bwd')),\n"
    "  rows        INTEGER NOT NULL,\n"
    "  cols        INTEGER NOT NULL,\n"
    "  threads     INTEGER NOT NULL,\n"
    "  cache       TEXT NOT NULL CHECK (cache IN ('hot','cold')),\n"
    "  device      TEXT NOT NULL DEFAULT 'cpu',\n"
    "  alpha       REAL,\n"
    "  has_beta    INTEGER,\n"
    "  affine      INTEGER,\n"
    "  eps         REAL,\n"
    "  status      TEXT NOT NULL CHECK (status IN ('ok','failed','skipped')),\n"
    "  error       TEXT,\n"
    "  max_err     REAL,\n"
    "  bytes       INTEGER NOT NULL,\n"
    "  batch       INTEGER,\n"
    "  buffer_sets INTEGER,\n"
    "  stop_reason TEXT,\n"
    "  warmup_ns   INTEGER,\n"
    "  wall_ns     INTEGER,\n"
    "  started_at  TEXT,\n"
    "  ended_at    TEXT,\n"
    "  UNIQUE (run_id, seq)\n"
    ");\n"
    "CREATE INDEX cases_run ON cases(run_id);\n"
    "CREATE TABLE samples (\n"
    "  case_id  INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,\n"
    "  idx      INTEGER NOT NULL,\n"
    "  ns       REAL NOT NULL,\n"
    "  flags    INTEGER NOT NULL DEFAULT 0,\n"
    "  excluded INTEGER NOT NULL DEFAULT 0,\n"
    "  PRIMARY KEY (case_id, idx)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE stats (\n"
    "  case_id      INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,\n"
    "  n            INTEGER NOT NULL,\n"
    "  n_excluded   INTEGER NOT NULL,\n"
    "  median_ns    REAL NOT NULL,\n"
    "  ci_low_ns    REAL NOT NULL,\n"
    "  ci_high_ns   REAL NOT NULL,\n"
    "  mean_ns      REAL,\n"
    "  stddev_ns    REAL,\n"
    "  min_ns       REAL,\n"
    "  max_ns       REAL,\n"
    "  mad_ns       REAL,\n"
    "  rel_ci_width REAL,\n"
    "  gbps         REAL,\n"
    "  roofline_pct REAL\n"
    ");\n"
    "CREATE TABLE counters (\n"
    "  case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,\n"
    "  source      TEXT NOT NULL CHECK (source IN "
    "('papi','rusage','cupti','callgrind','cachegrind')),\n"
    "  name        TEXT NOT NULL,\n"
    "  value       REAL,\n"
    "  per_element REAL,\n"
    "  unavailable_reason TEXT,\n"
    "  PRIMARY KEY (case_id, source, name),\n"
    "  CHECK ((value IS NULL) = (unavailable_reason IS NOT NULL))\n"
    ");\n"
    "CREATE VIEW v_results AS\n"
    "SELECT r.id AS run_id, r.label AS label,\n"
    "       m.hostname || ' (' || m.cpu_model || ')' AS machine,\n"
    "       c.domain, c.model, c.norm, c.variant, c.dtype, c.pass, c.rows, c.cols,\n"
    "       c.threads, c.cache, c.status, s.n AS samples, s.median_ns, s.ci_low_ns,\n"
    "       s.ci_high_ns, s.gbps, s.roofline_pct, c.max_err\n"
    "FROM cases c\n"
    "JOIN runs r ON r.id = c.run_id\n"
    "JOIN machines m ON m.id = r.machine_id\n"
    "LEFT JOIN stats s ON s.case_id = c.id;\n"
    "CREATE VIEW v_counters AS\n"
    "SELECT c.run_id, c.model, c.norm, c.variant, c.dtype, c.pass, c.rows, c.cols,\n"
    "       k.source, k.name, k.value, k.unavailable_reason, k.per_element\n"
    "FROM counters k JOIN cases c ON c.id = k.case_id;\n";

/* v1 -> v2: two new tables, nothing existing changes. */
static const char migrate_1_to_2[] =
    "CREATE TABLE machine_attrs (\n"
    "  machine_id INTEGER NOT NULL REFERENCES machines(id) ON DELETE CASCADE,\n"
    "  key        TEXT NOT NULL,\n"
    "  value      TEXT,\n"
    "  PRIMARY KEY (machine_id, key)\n"
    ");\n"
    "CREATE TABLE calibrations (\n"
    "  id           INTEGER PRIMARY KEY,\n"
    "  machine_id   INTEGER NOT NULL REFERENCES machines(id),\n"
    "  run_a        INTEGER NOT NULL REFERENCES runs(id),\n"
    "  run_b        INTEGER NOT NULL REFERENCES runs(id),\n"
    "  case_key     TEXT NOT NULL,\n"
    "  noise_rel    REAL NOT NULL,\n"
    "  min_detectable_rel REAL NOT NULL,\n"
    "  threshold    REAL NOT NULL,\n"
    "  alpha        REAL NOT NULL,\n"
    "  created_at   TEXT NOT NULL\n"
    ");\n";

/* v2 -> v3: one column; existing samples were all taken in one round. */
static const char migrate_2_to_3[] =
    "ALTER TABLE samples ADD COLUMN block INTEGER NOT NULL DEFAULT 0;\n";

/* v3 -> v4: run identity and session columns; store_uuid() is dyt_uuid()
 * in SQL (registered by store_migrate_to). The unique index comes after
 * the fill, when every run has its own id. */
static const char migrate_3_to_4[] =
    "ALTER TABLE runs ADD COLUMN uuid TEXT;\n"
    "ALTER TABLE runs ADD COLUMN lockstep_token TEXT;\n"
    "ALTER TABLE runs ADD COLUMN arm TEXT;\n"
    "ALTER TABLE runs ADD COLUMN campaign TEXT;\n"
    "ALTER TABLE runs ADD COLUMN shard_index INTEGER;\n"
    "ALTER TABLE runs ADD COLUMN shard_count INTEGER CHECK ((shard_count IS NULL AND"
    " shard_index IS NULL) OR (shard_count >= 1 AND shard_index >= 0 AND"
    " shard_index < shard_count));\n"
    "ALTER TABLE cases ADD COLUMN note TEXT;\n"
    "UPDATE runs SET uuid = dyt_uuid(),\n"
    "  lockstep_token = CASE WHEN json_valid(settings)\n"
    "    THEN nullif(json_extract(settings, '$.lockstep_token'), '') END,\n"
    "  arm = CASE WHEN json_valid(settings) THEN nullif(json_extract(settings, '$.arm'), '') END;\n"
    "CREATE UNIQUE INDEX runs_uuid ON runs(uuid);\n";

/* v4 -> v5: the ceilings per cache level replace the rooflines (their rows
 * kept, as the dram level), the ceiling and accuracy of each case. */
static const char migrate_4_to_5[] =
    "CREATE TABLE ceilings (\n"
    "  run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  level    TEXT NOT NULL CHECK (level IN ('l1','l2','llc','dram')),\n"
    "  threads  INTEGER NOT NULL,\n"
    "  kind     TEXT NOT NULL,\n"
    "  bytes    INTEGER NOT NULL,\n"
    "  gbps     REAL NOT NULL,\n"
    "  gbps_median REAL,\n"
    "  method   TEXT,\n"
    "  PRIMARY KEY (run_id, level, threads, kind)\n"
    ");\n"
    "INSERT INTO ceilings (run_id, level, threads, kind, bytes, gbps, gbps_median, method)\n"
    "  SELECT run_id, 'dram', threads, kind, bytes, gbps, gbps_median,\n"
    "    CASE kind WHEN 'd2d_copy' THEN 'device-to-device copy (a schema-4 roofline)'\n"
    "    ELSE 'STREAM ' || kind || ' over arrays beyond the LLC (a schema-4 roofline)' END\n"
    "  FROM rooflines;\n"
    "DROP TABLE rooflines;\n"
    "ALTER TABLE cases ADD COLUMN max_ulps REAL;\n"
    "ALTER TABLE cases ADD COLUMN err_output TEXT;\n"
    "ALTER TABLE cases ADD COLUMN err_tol REAL;\n"
    "ALTER TABLE stats ADD COLUMN ceiling_level TEXT CHECK (ceiling_level IN"
    " ('l1','l2','llc','dram'));\n"
    "ALTER TABLE stats ADD COLUMN ceiling_pct REAL;\n"
    "UPDATE stats SET ceiling_level = 'dram', ceiling_pct = roofline_pct\n"
    "  WHERE roofline_pct IS NOT NULL;\n"
    "DROP VIEW v_results;\n"
    "CREATE VIEW v_results AS\n"
    "SELECT r.id AS run_id, r.label AS label,\n"
    "       m.hostname || ' (' || m.cpu_model || ')' AS machine,\n"
    "       c.domain, c.model, c.norm, c.variant, c.dtype, c.pass, c.rows, c.cols,\n"
    "       c.threads, c.cache, c.status, s.n AS samples, s.median_ns, s.ci_low_ns,\n"
    "       s.ci_high_ns, s.gbps, s.roofline_pct, c.max_err, s.ceiling_level, s.ceiling_pct,\n"
    "       c.max_ulps\n"
    "FROM cases c\n"
    "JOIN runs r ON r.id = c.run_id\n"
    "JOIN machines m ON m.id = r.machine_id\n"
    "LEFT JOIN stats s ON s.case_id = c.id;\n";

/* v5 -> v6: merge provenance and campaign plans; nothing existing changes. */
static const char migrate_5_to_6[] =
    "ALTER TABLE runs ADD COLUMN plan_hash TEXT;\n"
    "CREATE TABLE provenance (\n"
    "  id            INTEGER PRIMARY KEY,\n"
    "  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  source_file   TEXT NOT NULL,\n"
    "  source_run_id INTEGER NOT NULL,\n"
    "  merged_at     TEXT NOT NULL,\n"
    "  dytbench_version TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX provenance_run ON provenance(run_id);\n"
    "CREATE TABLE campaigns (\n"
    "  campaign     TEXT PRIMARY KEY,\n"
    "  plan_hash    TEXT NOT NULL,\n"
    "  shard_count  INTEGER NOT NULL CHECK (shard_count >= 1),\n"
    "  n_cases      INTEGER NOT NULL,\n"
    "  created_at   TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE campaign_cases (\n"
    "  campaign     TEXT NOT NULL REFERENCES campaigns(campaign) ON DELETE CASCADE,\n"
    "  seq          INTEGER NOT NULL,\n"
    "  shard_index  INTEGER NOT NULL,\n"
    "  suite        TEXT NOT NULL,\n"
    "  model        TEXT NOT NULL,\n"
    "  token_label  TEXT,\n"
    "  norm         TEXT NOT NULL,\n"
    "  variant      TEXT NOT NULL,\n"
    "  dtype        TEXT NOT NULL,\n"
    "  pass         TEXT NOT NULL,\n"
    "  rows         INTEGER NOT NULL,\n"
    "  cols         INTEGER NOT NULL,\n"
    "  threads      INTEGER NOT NULL,\n"
    "  PRIMARY KEY (campaign, seq)\n"
    ") WITHOUT ROWID;\n";

/* migrations[v - 1] takes a database from version v to v + 1. */
static const char *const migrations[] = {migrate_1_to_2, migrate_2_to_3, migrate_3_to_4,
                                         migrate_4_to_5, migrate_5_to_6};
_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION - 1,
               "one migration per schema version step");

static int user_version(sqlite3 *db, int64_t *v)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *v = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static void sql_uuid(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    char u[STORE_UUID_LEN + 1];
    if (store_uuid(u) != 0)
        sqlite3_result_error(ctx, "no random source for run uuids", -1);
    else
        sqlite3_result_text(ctx, u, STORE_UUID_LEN, SQLITE_TRANSIENT);
}

int store_migrate(sqlite3 *db, const char *path, dyt_err *e)
{
    return store_migrate_to(db, path, STORE_SCHEMA_VERSION, e);
}

int store_migrate_to(sqlite3 *db, const char *path, int to, dyt_err *e)
{
    if (to > STORE_SCHEMA_VERSION)
        return dyt_errf(e, DYT_USAGE, "%s: no schema version %d (this build knows up to %d)", path,
                        to, STORE_SCHEMA_VERSION);
    /* Not SQLITE_DETERMINISTIC: one call per row, each a new id. */
    if (sqlite3_create_function(db, "dyt_uuid", 0, SQLITE_UTF8, NULL, sql_uuid, NULL, NULL) !=
        SQLITE_OK)
        return store_sqlite_err(e, db, "%s: %s", path, sqlite3_errmsg(db));
    for (;;) {
        int rc = store_begin(db, path, e);
        if (rc != DYT_OK)
            return rc;
        /* Read the version inside the write lock: another process may have
         * migrated the file since we validated it. */
        int64_t v = 0;
        if (user_version(db, &v) != SQLITE_OK) {
            rc = store_sqlite_err(e, db, "%s: %s", path, sqlite3_errmsg(db));
            store_rollback(db);
            return rc;
        }
        if (v >= to) {
            store_rollback(db);
            return DYT_OK;
        }
        if (v < 1) {
            store_rollback(db);
            return dyt_errf(e, DYT_USAGE, "%s: unknown schema version %lld", path, (long long)v);
        }
        char *err = NULL;
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %lld", (long long)v + 1);
        if (sqlite3_exec(db, migrations[v - 1], NULL, NULL, &err) != SQLITE_OK ||
            sqlite3_exec(db, pragma, NULL, NULL, &err) != SQLITE_OK) {
            rc = store_sqlite_err(e, db, "%s: migrating schema %lld -> %lld: %s", path, (long long)v,
                          (long long)v + 1, err ? err : sqlite3_errmsg(db));
            sqlite3_free(err);
            store_rollback(db);
            return rc;
        }
        if ((rc = store_commit(db, path, e)) != DYT_OK)
            return rc;
    }
}
