/* Merging stores (store_open_snapshot + store_merge, what `dytbench merge`
 * does): every run of an input arrives whole -- its row as it was (uuid,
 * status, times, writer), its machine, ceilings, cases, samples,
 * statistics and counters -- with a provenance row after the ones it
 * carried; merging twice adds nothing; machines are shared by
 * fingerprint; a run the output has takes only what it lacks; inputs of
 * every older schema are read through a private copy and stay byte for
 * byte as they were; newer, foreign, corrupt, empty and absent inputs are
 * refused naming the input, leaving no copy behind; a failure in the
 * middle of an input, or a campaign planned differently, leaves the
 * output as it was. */
#include "dyt_config.h"
#include "store_test.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

static char snapdir[600];

static int setup(void **state)
{
    (void)state;
    snprintf(snapdir, sizeof snapdir, "%s/snapshots", tmpdir);
    return mkdir(snapdir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* The snapshot folder holds no leftover copy. */
static void no_copies_left(void)
{
    DIR *d = opendir(snapdir);
    assert_non_null(d);
    for (struct dirent *x; (x = readdir(d));)
        if (strcmp(x->d_name, ".") && strcmp(x->d_name, "..")) {
            print_error("left in %s: %s\n", snapdir, x->d_name);
            fail();
        }
    closedir(d);
}

/* Merges the store at in_path into out; returns store_merge's code. */
static int merge_file(store *out, const char *in_path, store_merge_stats *st, dyt_err *e)
{
    store *in;
    int rc = store_open_snapshot(in_path, snapdir, &in, e);
    if (rc != DYT_OK)
        return rc;
    rc = store_merge(out, in, in_path, st, e);
    store_close(in);
    no_copies_left();
    return rc;
}

static void merge_ok(store *out, const char *in_path, store_merge_stats *st)
{
    dyt_err e = {{0}};
    int rc = merge_file(out, in_path, st, &e);
    if (rc != DYT_OK)
        print_error("merge %s: %s\n", in_path, e.msg);
    assert_int_equal(rc, DYT_OK);
}

/* Store A: run 1 of campaign c (2 cases, ceilings, machine attributes,
 * its plan), ended complete; run 2 aborted with one case. */
static void make_a(const char *path)
{
    unlink(path);
    store *s;
    dyt_err e = {{0}};
    assert_int_equal(store_open(path, 1, &s, &e), DYT_OK);
    static const store_plan_case plan[] = {
        {0, 0, "quick", "toy-7b", "prefill", "dyt", "avx512", "fp32", "fwd", 512, 4096, 2},
        {1, 0, "quick", "toy-7b", "prefill", "dyt", "avx512", "fp32", "fwd", 512, 4097, 2},
        {2, 1, "quick", "toy-7b", NULL, "dyt", "avx512", "fp32", "bwd", 512, 4098, 2},
    };
    store_run_meta meta = fake_run_meta;
    meta.campaign = "c";
    meta.shard_index = 0;
    meta.shard_count = 2;
    meta.plan_hash = "1111222233334444";
    meta.campaign_plan = plan;
    meta.n_campaign_plan = 3;
    int64_t mid, run;
    run = write_run(s, &mid, &meta);
    assert_int_equal(store_end_run(s, run, "complete", "done", &e), DYT_OK);
    meta = fake_run_meta;
    meta.machine_id = mid;
    meta.label = "second";
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    assert_int_equal(put_fake_case(s, run, 0, 7, &e), DYT_OK);
    assert_int_equal(store_end_run(s, run, "aborted", "interrupted by signal 15", &e), DYT_OK);
    store_close(s);
}

/* Run a of store sa and run b of sb hold the same things. */
static void same_run(store *sa, const store_run *a, store *sb, const store_run *b)
{
    dyt_err e = {{0}};
    const char *const ta[] = {
        a->uuid,       a->label,        a->status,     a->started_at,
        a->ended_at,   a->command_line, a->git_rev,    a->version,
        a->compiler,   a->cflags,       a->build_type, a->suites,
        a->suite_hash, a->device,       a->metric,     a->settings,
        a->host,       a->boot_id,      a->note,       a->lockstep_token,
        a->arm,        a->campaign,     a->plan_hash,  a->machine_fingerprint};
    const char *const tb[] = {
        b->uuid,       b->label,        b->status,     b->started_at,
        b->ended_at,   b->command_line, b->git_rev,    b->version,
        b->compiler,   b->cflags,       b->build_type, b->suites,
        b->suite_hash, b->device,       b->metric,     b->settings,
        b->host,       b->boot_id,      b->note,       b->lockstep_token,
        b->arm,        b->campaign,     b->plan_hash,  b->machine_fingerprint};
    for (size_t i = 0; i < DYT_ARRAY_LEN(ta); i++)
        str_eq(ta[i], tb[i]);
    assert_int_equal(a->pid, b->pid);
    assert_int_equal(a->shard_index, b->shard_index);
    assert_int_equal(a->shard_count, b->shard_count);
    assert_int_equal(a->n_cases, b->n_cases);

    machine_info ma, mb;
    assert_int_equal(store_load_machine(sa, a->machine_id, &ma, &e), DYT_OK);
    assert_int_equal(store_load_machine(sb, b->machine_id, &mb, &e), DYT_OK);
    assert_string_equal(ma.hostname, mb.hostname);
    assert_string_equal(ma.cpu_model, mb.cpu_model);
    assert_true(ma.mem_usable_bytes == mb.mem_usable_bytes);
    assert_int_equal(ma.topology_xml_len, mb.topology_xml_len);
    assert_int_equal(ma.n_attrs, mb.n_attrs);
    for (size_t i = 0; i < ma.n_attrs; i++) {
        assert_string_equal(ma.attrs[i].key, mb.attrs[i].key);
        assert_string_equal(ma.attrs[i].value, mb.attrs[i].value);
    }
    machine_free(&ma);
    machine_free(&mb);

    store_ceiling_list ra, rb;
    assert_int_equal(store_load_ceilings(sa, a->id, &ra, &e), DYT_OK);
    assert_int_equal(store_load_ceilings(sb, b->id, &rb, &e), DYT_OK);
    assert_int_equal(ra.n, rb.n);
    for (size_t i = 0; i < ra.n; i++) {
        str_eq(ra.v[i].level, rb.v[i].level);
        assert_int_equal(ra.v[i].threads, rb.v[i].threads);
        str_eq(ra.v[i].kind, rb.v[i].kind);
        assert_true(ra.v[i].bytes == rb.v[i].bytes);
        num_eq(ra.v[i].gbps, rb.v[i].gbps);
        num_eq(ra.v[i].gbps_median, rb.v[i].gbps_median);
        str_eq(ra.v[i].method, rb.v[i].method);
    }
    store_ceiling_list_free(&ra);
    store_ceiling_list_free(&rb);

    same_cases(sa, a->id, sb, b->id);
}

/* Every run of in_path is in out with the same content. */
static void all_runs_in(store *out, const char *in_path)
{
    store *in;
    dyt_err e = {{0}};
    assert_int_equal(store_open(in_path, 0, &in, &e), DYT_OK);
    store_run_list l;
    assert_int_equal(store_find_runs(in, NULL, &l, &e), DYT_OK);
    assert_true(l.n > 0);
    for (size_t i = 0; i < l.n; i++) {
        const store_run_filter f = {.uuid = l.v[i].uuid};
        store_run_list m;
        assert_int_equal(store_find_runs(out, &f, &m, &e), DYT_OK);
        assert_int_equal(m.n, 1);
        same_run(in, &l.v[i], out, &m.v[0]);
        store_run_list_free(&m);
    }
    store_run_list_free(&l);
    store_close(in);
}

static void test_merge_copies_everything(void **state)
{
    (void)state;
    char a[512], out_path[512];
    tmp_path(a, sizeof a, "a.db");
    make_a(a);
    store *out = open_new_at("out-all.db", out_path, sizeof out_path);
    store_merge_stats st;
    merge_ok(out, a, &st);
    assert_int_equal(st.runs, 2);
    assert_int_equal(st.runs_new, 2);
    assert_int_equal(st.runs_updated, 0);
    assert_int_equal(st.cases, 3);
    assert_int_equal(st.campaigns_new, 1);
    all_runs_in(out, a);

    /* One provenance row per run: the input, its id there, this build. */
    sqlite3 *d = store_db(out);
    char t[1024];
    q_text(d,
           "SELECT group_concat(p.source_file || '#' || p.source_run_id || '@' ||"
           " p.dytbench_version || ':' || r.label, ' ') FROM provenance p JOIN runs r"
           " ON r.id = p.run_id ORDER BY p.id",
           0, t, sizeof t);
    char want[1200];
    snprintf(want, sizeof want, "%s#1@%s:baseline %s#2@%s:second", a, DYT_VERSION, a, DYT_VERSION);
    assert_string_equal(t, want);
    store_provenance_list pl;
    dyt_err e = {{0}};
    assert_int_equal(store_load_provenance(out, 1, &pl, &e), DYT_OK);
    assert_int_equal(pl.n, 1);
    assert_string_equal(pl.v[0].source_file, a);
    assert_int_equal(pl.v[0].source_run_id, 1);
    assert_non_null(pl.v[0].merged_at);
    store_provenance_list_free(&pl);
    /* The campaign's plan came along. */
    store_campaign c;
    int found;
    assert_int_equal(store_load_campaign(out, "c", &c, &found, &e), DYT_OK);
    assert_int_equal(found, 1);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.plan_hash, "1111222233334444");
    store_campaign_free(&c);
    store_close(out);
}

static void test_merge_twice_adds_nothing(void **state)
{
    (void)state;
    char a[512], b[512], out_path[512];
    tmp_path(a, sizeof a, "a2.db");
    make_a(a);
    /* B: another store, its run on the same machine as A's. */
    tmp_path(b, sizeof b, "b2.db");
    store *sb;
    dyt_err e = {{0}};
    assert_int_equal(store_open(b, 1, &sb, &e), DYT_OK);
    int64_t mid;
    int64_t rb = write_run(sb, &mid, &fake_run_meta);
    assert_int_equal(store_end_run(sb, rb, "complete", NULL, &e), DYT_OK);
    store_close(sb);

    store *out = open_new_at("out-twice.db", out_path, sizeof out_path);
    store_merge_stats st;
    merge_ok(out, a, &st);
    sqlite3 *d = store_db(out);
    char *once = dump_all(d);
    merge_ok(out, a, &st);
    assert_int_equal(st.runs, 2);
    assert_int_equal(st.runs_new + st.runs_updated + st.cases + st.campaigns_new, 0);
    char *twice = dump_all(d);
    assert_string_equal(once, twice);
    free(once);
    free(twice);
    merge_ok(out, b, &st);
    assert_int_equal(st.runs_new, 1);
    assert_int_equal(q_int(d, "SELECT count(*) FROM runs", 0), 3);
    assert_int_equal(q_int(d, "SELECT count(*) FROM machines", 0), 1); /* one fingerprint */
    all_runs_in(out, a);
    all_runs_in(out, b);
    store_close(out);
}

/* A merged store merged again: the run keeps where it first came from. */
static void test_merge_keeps_history(void **state)
{
    (void)state;
    char a[512], mid_path[512], out_path[512];
    tmp_path(a, sizeof a, "a3.db");
    make_a(a);
    store *m = open_new_at("middle.db", mid_path, sizeof mid_path);
    store_merge_stats st;
    merge_ok(m, a, &st);
    store_close(m);
    store *out = open_new_at("out-history.db", out_path, sizeof out_path);
    merge_ok(out, mid_path, &st);
    all_runs_in(out, a);
    char t[1200], want[1300];
    q_text(store_db(out),
           "SELECT group_concat(source_file || '#' || source_run_id, ' ') FROM"
           " (SELECT * FROM provenance WHERE run_id = 1 ORDER BY id)",
           0, t, sizeof t);
    snprintf(want, sizeof want, "%s#1 %s#1", a, mid_path);
    assert_string_equal(t, want);
    store_close(out);
}

/* A run merged while aborted, then resumed to completion in its own
 * store: the next merge brings its new cases and its end, once. */
static void test_merge_completes_a_resumed_run(void **state)
{
    (void)state;
    char a[512], out_path[512];
    tmp_path(a, sizeof a, "a4.db");
    make_a(a);
    store *out = open_new_at("out-resumed.db", out_path, sizeof out_path);
    store_merge_stats st;
    merge_ok(out, a, &st);

    store *sa;
    dyt_err e = {{0}};
    assert_int_equal(store_open(a, 0, &sa, &e), DYT_OK);
    assert_int_equal(store_resume_run(sa, 2, 1, "resumed", &e), DYT_OK);
    assert_int_equal(put_fake_case(sa, 2, 1, 6, &e), DYT_OK);
    assert_int_equal(put_failed_case(sa, 2, 2, NULL, &e), DYT_OK);
    assert_int_equal(store_end_run(sa, 2, "complete", NULL, &e), DYT_OK);
    store_close(sa);

    merge_ok(out, a, &st);
    assert_int_equal(st.runs_new, 0);
    assert_int_equal(st.runs_updated, 1);
    assert_int_equal(st.cases, 2);
    all_runs_in(out, a);
    sqlite3 *d = store_db(out);
    assert_int_equal(q_int(d, "SELECT count(*) FROM provenance WHERE run_id = 2", 0), 2);
    char *before = dump_all(d);
    merge_ok(out, a, &st);
    assert_int_equal(st.runs_updated + st.cases, 0);
    char *after = dump_all(d);
    assert_string_equal(before, after);
    free(before);
    free(after);
    store_close(out);
}

/* Every older schema: read through a copy, migrated there, the input file
 * left byte for byte as it was, no side file made beside it. */
static void test_merge_older_inputs(void **state)
{
    (void)state;
    char out_path[512];
    store *out = open_new_at("out-old.db", out_path, sizeof out_path);
    for (int v = 1; v < STORE_SCHEMA_VERSION; v++) {
        char in[512], name[32];
        snprintf(name, sizeof name, "old-v%d.db", v);
        tmp_path(in, sizeof in, name);
        sqlite3 *d = old_db(in, v);
        fill_old(d, v);
        if (v >= 4) /* fill_old's uuids are the same in every version: other runs */
            exec_ok(d, "UPDATE runs SET uuid = dyt_uuid()");
        sqlite3_close(d);
        long n0;
        char *b0 = slurp(in, &n0);
        store_merge_stats st;
        merge_ok(out, in, &st);
        assert_int_equal(st.runs_new, 5);
        assert_same_bytes(in, b0, n0);
        free(b0);
        static const char *const side[] = {"-wal", "-shm", "-journal"};
        for (size_t i = 0; i < DYT_ARRAY_LEN(side); i++) {
            char p[600];
            snprintf(p, sizeof p, "%s%s", in, side[i]);
            assert_false(file_exists(p));
        }
        assert_int_equal(q_int(store_db(out), "SELECT count(*) FROM runs", 0), 5 * v);
        /* Each run took its cases along (two each, samples and all). */
        assert_int_equal(q_int(store_db(out), "SELECT count(*) FROM cases", 0), 10 * v);
        assert_int_equal(q_int(store_db(out), "SELECT count(*) FROM samples", 0), 15 * v);
    }
    store_close(out);
}

static void expect_refused(const char *path, const char *why)
{
    long n0;
    char *b0 = slurp(path, &n0);
    store *s = NULL;
    dyt_err e = {{0}};
    assert_int_equal(store_open_snapshot(path, snapdir, &s, &e), DYT_USAGE);
    assert_null(s);
    if (!strstr(e.msg, path) || !strstr(e.msg, why) || strstr(e.msg, "dytbench-copy"))
        print_error("%s: message '%s' (want the file and '%s')\n", path, e.msg, why);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, why));
    assert_null(strstr(e.msg, "dytbench-copy")); /* names the input, not the copy */
    assert_same_bytes(path, b0, n0);
    free(b0);
    no_copies_left();
}

static void test_refused_inputs(void **state)
{
    (void)state;
    char p[512];
    tmp_path(p, sizeof p, "newer.db");
    store *s = open_store(p, 1);
    exec_ok(store_db(s), "PRAGMA user_version = 99");
    store_close(s);
    expect_refused(p, "newer dytbench");

    tmp_path(p, sizeof p, "foreign.db");
    sqlite3 *d;
    assert_int_equal(sqlite3_open(p, &d), SQLITE_OK);
    exec_ok(d, "CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT);");
    sqlite3_close(d);
    expect_refused(p, "not a dytbench one");

    tmp_path(p, sizeof p, "text.db");
    write_bytes(p, "[llama]\nnorm = rmsnorm\n", 23);
    expect_refused(p, "not an SQLite file");

    tmp_path(p, sizeof p, "empty.db");
    write_bytes(p, "", 0);
    expect_refused(p, "empty file");

    tmp_path(p, sizeof p, "absent.db");
    dyt_err e = {{0}};
    assert_int_equal(store_open_snapshot(p, snapdir, &s, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "no such database"));
    assert_false(file_exists(p));

    /* A real store with garbage over a middle page. */
    char good[512];
    tmp_path(good, sizeof good, "good.db");
    s = open_store(good, 1);
    int64_t run;
    store_run_meta meta = fake_meta_on(s, "c0ffee");
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(put_fake_case(s, run, i, 100, &e), DYT_OK);
    store_close(s);
    long len;
    char *b = slurp(good, &len);
    for (long i = len / 2; i < len / 2 + 8192; i++)
        b[i] = (char)(i * 7);
    tmp_path(p, sizeof p, "scribbled.db");
    write_bytes(p, b, (size_t)len);
    free(b);
    expect_refused(p, "corrupt");
}

/* A failure half-way through an input (a case the output refuses) rolls
 * the whole input back; the same input merges once the cause is gone. */
static void test_failure_leaves_output_as_it_was(void **state)
{
    (void)state;
    char a[512], b[512], out_path[512];
    tmp_path(a, sizeof a, "a5.db");
    make_a(a);
    tmp_path(b, sizeof b, "b5.db");
    make_a(b); /* same content, other uuids */
    store *out = open_new_at("out-fail.db", out_path, sizeof out_path);
    store_merge_stats st;
    merge_ok(out, b, &st);
    sqlite3 *d = store_db(out);
    exec_ok(d, "CREATE TRIGGER refuse_third BEFORE INSERT ON cases"
               " WHEN (SELECT count(*) FROM cases) >= 4"
               " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    char *before = dump_all(d);
    dyt_err e = {{0}};
    assert_int_equal(merge_file(out, a, &st, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "injected failure"));
    char *after = dump_all(d);
    assert_string_equal(before, after);
    free(before);
    free(after);
    exec_ok(d, "DROP TRIGGER refuse_third");
    merge_ok(out, a, &st);
    assert_int_equal(st.runs_new, 2);
    all_runs_in(out, a);
    store_close(out);
}

/* A campaign the output knows with another plan: the input is refused
 * whole. */
static void test_campaign_conflict(void **state)
{
    (void)state;
    char a[512], out_path[512];
    tmp_path(a, sizeof a, "a6.db");
    make_a(a);
    store *out = open_new_at("out-conflict.db", out_path, sizeof out_path);
    static const store_plan_case one = {0,        0,      "q",   "m", NULL, "dyt",
                                        "scalar", "fp32", "fwd", 1,   8,    1};
    const store_campaign other = {.campaign = "c",
                                  .plan_hash = "ffffffffffffffff",
                                  .shard_count = 2,
                                  .v = (store_plan_case *)&one,
                                  .n = 1};
    dyt_err e = {{0}};
    assert_int_equal(store_put_campaign(out, &other, &e), DYT_OK);
    char *before = dump_all(store_db(out));
    store_merge_stats st;
    assert_int_equal(merge_file(out, a, &st, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "campaign 'c'"));
    char *after = dump_all(store_db(out));
    assert_string_equal(before, after);
    free(before);
    free(after);
    store_close(out);
}

DYT_TEST_MAIN_IN_TMPDIR("store-merge", setup, NULL, cmocka_unit_test(test_merge_copies_everything),
                        cmocka_unit_test(test_merge_twice_adds_nothing),
                        cmocka_unit_test(test_merge_keeps_history),
                        cmocka_unit_test(test_merge_completes_a_resumed_run),
                        cmocka_unit_test(test_merge_older_inputs),
                        cmocka_unit_test(test_refused_inputs),
                        cmocka_unit_test(test_failure_leaves_output_as_it_was),
                        cmocka_unit_test(test_campaign_conflict))
