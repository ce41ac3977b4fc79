-- dytbench results store, schema version 6 (PRAGMA user_version).
-- Applied by store_open() to a new file; older versions are migrated forward
-- by results/migrate.c. Every timing ever taken is kept (samples), so any
-- statistic can be recomputed later.

-- Identifies a dytbench database: a SQLite file without this row is refused.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- One row per distinct machine (fingerprint = hash of its stable attributes).
CREATE TABLE machines (
  id            INTEGER PRIMARY KEY,
  fingerprint   TEXT NOT NULL UNIQUE,
  hostname      TEXT NOT NULL,
  cpu_model     TEXT NOT NULL,
  packages      INTEGER NOT NULL,
  cores         INTEGER NOT NULL,
  pus           INTEGER NOT NULL,
  numa_nodes    INTEGER NOT NULL,
  l1d_bytes     INTEGER,          -- per core, as reported
  l2_bytes      INTEGER,          -- per core, as reported
  l3_bytes      INTEGER,          -- as reported by hwloc (may be nonsense in VMs)
  llc_bytes     INTEGER NOT NULL, -- last-level cache size dytbench used
  llc_note      TEXT,             -- why llc_bytes differs from what was reported
  mem_bytes     INTEGER,          -- as reported by hwloc
  mem_usable_bytes INTEGER NOT NULL, -- what dytbench used (MemAvailable / override)
  mem_note      TEXT,
  os            TEXT,
  kernel        TEXT,
  is_vm         INTEGER NOT NULL,
  vm_vendor     TEXT,
  isa           TEXT,             -- e.g. "avx2 avx512 avx512bf16"
  topology_xml  BLOB,             -- hwloc XML export
  created_at    TEXT NOT NULL
);

-- Extra per-machine attributes (GPU device record, counter availability...).
CREATE TABLE machine_attrs (
  machine_id INTEGER NOT NULL REFERENCES machines(id) ON DELETE CASCADE,
  key        TEXT NOT NULL,
  value      TEXT,
  PRIMARY KEY (machine_id, key)
);

CREATE TABLE runs (
  id           INTEGER PRIMARY KEY,
  machine_id   INTEGER NOT NULL REFERENCES machines(id),
  label        TEXT,
  status       TEXT NOT NULL CHECK (status IN ('running','complete','aborted','failed')),
  started_at   TEXT NOT NULL,
  ended_at     TEXT,
  command_line TEXT NOT NULL,
  git_rev      TEXT NOT NULL,
  version      TEXT NOT NULL,
  compiler     TEXT,
  cflags       TEXT,
  build_type   TEXT,
  suites       TEXT NOT NULL,     -- comma-separated suite names/paths
  suite_hash   TEXT NOT NULL,     -- hash of the suite files' content
  device       TEXT NOT NULL DEFAULT 'cpu' CHECK (device IN ('cpu','cuda')),
  metric       TEXT NOT NULL DEFAULT 'time' CHECK (metric IN ('time','instructions')),
  settings     TEXT,              -- JSON: seed, cache, max_noise, min/max time, ...
  host         TEXT NOT NULL,     -- hostname + pid identify the writer, so a
  pid          INTEGER NOT NULL,  -- stale 'running' run can be detected
  boot_id      TEXT,
  note         TEXT,
  uuid         TEXT,              -- globally unique id, set by store_begin_run; a copy
                                  -- of the run in another store keeps it
  lockstep_token TEXT,            -- the `interleave` session it was measured in (NULL: none)
  arm          TEXT,              -- its arm in that session (NULL: none)
  campaign     TEXT,              -- the campaign of shards it belongs to (NULL: none)
  shard_index  INTEGER,           -- its shard in the campaign, 0-based (NULL: not sharded)
  shard_count  INTEGER CHECK ((shard_count IS NULL AND shard_index IS NULL) OR
                              (shard_count >= 1 AND shard_index >= 0 AND
                               shard_index < shard_count)),
  plan_hash    TEXT               -- hash of its unsharded plan's cases (run --resume and
                                  -- campaigns check it; NULL: an older run)
);
CREATE UNIQUE INDEX runs_uuid ON runs(uuid);

-- Where a run came from, one row per time `dytbench merge` copied it, oldest
-- first: a run merged again from a merged store keeps its earlier rows.
CREATE TABLE provenance (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  source_file   TEXT NOT NULL,    -- the store it was copied from (absolute path)
  source_run_id INTEGER NOT NULL, -- its id there
  merged_at     TEXT NOT NULL,
  dytbench_version TEXT NOT NULL  -- of the dytbench that merged it
);
CREATE INDEX provenance_run ON provenance(run_id);

-- A campaign's whole plan, written by each of its shards: every case of the
-- unsharded plan and the shard it belongs to, so that a report can name the
-- cases of a shard that never stored them.
CREATE TABLE campaigns (
  campaign     TEXT PRIMARY KEY,
  plan_hash    TEXT NOT NULL,     -- runs.plan_hash of every run of the campaign
  shard_count  INTEGER NOT NULL CHECK (shard_count >= 1),
  n_cases      INTEGER NOT NULL,
  created_at   TEXT NOT NULL
);

CREATE TABLE campaign_cases (
  campaign     TEXT NOT NULL REFERENCES campaigns(campaign) ON DELETE CASCADE,
  seq          INTEGER NOT NULL,  -- position in the plan: cases.seq of its run
  shard_index  INTEGER NOT NULL,  -- 0-based, as runs.shard_index
  suite        TEXT NOT NULL,
  model        TEXT NOT NULL,
  token_label  TEXT,
  norm         TEXT NOT NULL,
  variant      TEXT NOT NULL,
  dtype        TEXT NOT NULL,
  pass         TEXT NOT NULL,
  rows         INTEGER NOT NULL,
  cols         INTEGER NOT NULL,
  threads      INTEGER NOT NULL,
  PRIMARY KEY (campaign, seq)
) WITHOUT ROWID;

-- Bandwidth ceilings measured at the start of the run: per cache level the
-- plan's cases fit in (hot: the level a case's bytes fit in at its thread
-- count; cold: dram) and per thread count. Runs of schema < 5 had one
-- ceiling per thread count and kind (the table `rooflines`), migrated here
-- as level 'dram'.
CREATE TABLE ceilings (
  run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  level    TEXT NOT NULL CHECK (level IN ('l1','l2','llc','dram')),
  threads  INTEGER NOT NULL,
  kind     TEXT NOT NULL,          -- 'copy' | 'scale' | 'd2d_copy'
  bytes    INTEGER NOT NULL,       -- working set measured at: bytes read + written per pass
  gbps     REAL NOT NULL,          -- best of the samples, 1e9 bytes/s
  gbps_median REAL,
  method   TEXT,                   -- how it was measured, one line
  PRIMARY KEY (run_id, level, threads, kind)
);

CREATE TABLE cases (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,     -- position in the plan
  suite       TEXT NOT NULL,
  domain      TEXT NOT NULL,
  model       TEXT NOT NULL,
  model_norm  TEXT NOT NULL,        -- the norm the model uses
  token_label TEXT,
  layers      INTEGER NOT NULL,
  norm        TEXT NOT NULL CHECK (norm IN ('dyt','layernorm','rmsnorm')),
  variant     TEXT NOT NULL,
  dtype       TEXT NOT NULL CHECK (dtype IN ('fp32','bf16','fp16')),
  pass        TEXT NOT NULL CHECK (pass IN ('fwd','bwd')),
  rows        INTEGER NOT NULL,
  cols        INTEGER NOT NULL,
  threads     INTEGER NOT NULL,
  cache       TEXT NOT NULL CHECK (cache IN ('hot','cold')),
  device      TEXT NOT NULL DEFAULT 'cpu',
  alpha       REAL,
  has_beta    INTEGER,
  affine      INTEGER,
  eps         REAL,
  status      TEXT NOT NULL CHECK (status IN ('ok','failed','skipped')),
  error       TEXT,                 -- why failed/skipped
  max_err     REAL,                 -- error vs ref of the deciding output, over its scale
  bytes       INTEGER NOT NULL,     -- minimum bytes per call (kern_min_bytes)
  batch       INTEGER,              -- calls per sample
  buffer_sets INTEGER,              -- rotated buffer sets (cold cache)
  stop_reason TEXT,                 -- 'noise' | 'max_time' | 'max_samples' | ...
  warmup_ns   INTEGER,
  wall_ns     INTEGER,
  started_at  TEXT,
  ended_at    TEXT,
  note        TEXT,                 -- one line on how it was measured (NULL: nothing to say)
  max_ulps    REAL,                 -- worst error vs float64 in ulps of the output's storage
                                    -- type, over every output (NULL: not measured)
  err_output  TEXT,                 -- the output max_err was in ('y', 'dx', 'dgamma', ...)
  err_tol     REAL,                 -- the bound that output was held to, normalised as max_err
  UNIQUE (run_id, seq)
);
CREATE INDEX cases_run ON cases(run_id);

-- Every raw sample: ns is the time of one call (batch total / batch).
CREATE TABLE samples (
  case_id  INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  idx      INTEGER NOT NULL,
  ns       REAL NOT NULL,
  flags    INTEGER NOT NULL DEFAULT 0, -- bit 0: involuntary context switch; bit 1: GPU throttled
  excluded INTEGER NOT NULL DEFAULT 0, -- 1: left out of the statistics (flags say why)
  block    INTEGER NOT NULL DEFAULT 0, -- round of the run it was taken in (run --rounds)
  PRIMARY KEY (case_id, idx)
) WITHOUT ROWID;

CREATE TABLE stats (
  case_id      INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
  n            INTEGER NOT NULL,    -- samples used
  n_excluded   INTEGER NOT NULL,
  median_ns    REAL NOT NULL,
  ci_low_ns    REAL NOT NULL,       -- 95% CI of the median (order statistics)
  ci_high_ns   REAL NOT NULL,
  mean_ns      REAL,
  stddev_ns    REAL,
  min_ns       REAL,
  max_ns       REAL,
  mad_ns       REAL,
  rel_ci_width REAL,                -- (ci_high - ci_low) / 2 / median
  gbps         REAL,                -- bytes / median
  roofline_pct REAL,                -- gbps / the run's dram ceiling at these threads
  ceiling_level TEXT CHECK (ceiling_level IN ('l1','l2','llc','dram')),
                                    -- the ceiling the case is held against
  ceiling_pct  REAL                 -- gbps / that ceiling (> 105: flagged in show and reports)
);

-- Counters: a value, or unavailable with the reason. Never a made-up zero.
CREATE TABLE counters (
  case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  source      TEXT NOT NULL CHECK (source IN ('papi','rusage','cupti','callgrind','cachegrind')),
  name        TEXT NOT NULL,
  value       REAL,                 -- total over the measured region
  per_element REAL,                 -- value / (rows*cols*calls)
  unavailable_reason TEXT,
  PRIMARY KEY (case_id, source, name),
  CHECK ((value IS NULL) = (unavailable_reason IS NOT NULL))
);

-- A/A calibration: noise and smallest detectable slowdown per case key.
CREATE TABLE calibrations (
  id           INTEGER PRIMARY KEY,
  machine_id   INTEGER NOT NULL REFERENCES machines(id),
  run_a        INTEGER NOT NULL REFERENCES runs(id),
  run_b        INTEGER NOT NULL REFERENCES runs(id),
  case_key     TEXT NOT NULL,       -- model/norm/variant/dtype/pass/rows/cols/threads/cache
  noise_rel    REAL NOT NULL,       -- relative spread of the A/A ratio
  min_detectable_rel REAL NOT NULL, -- smallest slowdown the gate would flag
  threshold    REAL NOT NULL,
  alpha        REAL NOT NULL,
  created_at   TEXT NOT NULL
);

CREATE VIEW v_results AS
SELECT r.id AS run_id, r.label AS label,
       m.hostname || ' (' || m.cpu_model || ')' AS machine,
       c.domain, c.model, c.norm, c.variant, c.dtype, c.pass, c.rows, c.cols,
       c.threads, c.cache, c.status, s.n AS samples, s.median_ns, s.ci_low_ns,
       s.ci_high_ns, s.gbps, s.roofline_pct, c.max_err, s.ceiling_level, s.ceiling_pct,
       c.max_ulps
FROM cases c
JOIN runs r ON r.id = c.run_id
JOIN machines m ON m.id = r.machine_id
LEFT JOIN stats s ON s.case_id = c.id;

CREATE VIEW v_counters AS
SELECT c.run_id, c.model, c.norm, c.variant, c.dtype, c.pass, c.rows, c.cols,
       k.source, k.name, k.value, k.unavailable_reason, k.per_element
FROM counters k JOIN cases c ON c.id = k.case_id;
