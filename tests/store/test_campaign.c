/* Campaigns and resumption in the store: a shard's run stores its
 * campaign's whole plan once (a second shard of the same plan adds
 * nothing, one with another plan or shard count is refused and leaves no
 * run behind) and it reads back case for case; an aborted run is resumed
 * as the same run by this process, while a complete one, one still
 * running, or one measured on another machine is refused with the file
 * unchanged; a group of writes is one transaction that a failing writer
 * rolls back whole. */
#include "store_test.h"

static const store_plan_case plan_cases[] = {
    {0, 0, "quick", "vit", "train", "layernorm", "avx512", "fp32", "fwd", 1576, 768, 2},
    {1, 1, "quick", "vit", "train", "dyt", "avx512", "fp32", "fwd", 1576, 768, 2},
    {2, 0, "quick", "llama", NULL, "rmsnorm", "scalar", "bf16", "bwd", 4096, 4096, 1},
};

static store_run_meta shard_meta(int64_t machine_id, int shard, const char *hash, int count)
{
    store_run_meta m = fake_run_meta;
    m.machine_id = machine_id;
    m.campaign = "c-42";
    m.shard_index = shard;
    m.shard_count = count;
    m.plan_hash = hash;
    m.campaign_plan = plan_cases;
    m.n_campaign_plan = DYT_ARRAY_LEN(plan_cases);
    return m;
}

static void test_campaign_plan_stored_once(void **state)
{
    (void)state;
    char db[512];
    store *s = open_new_at("campaign.db", db, sizeof db);
    dyt_err e = {{0}};
    machine_info m;
    fake_machine(&m, "c0ffee");
    int64_t mid, r0, r1, r2;
    assert_int_equal(store_put_machine(s, &m, &mid, &e), DYT_OK);
    store_run_meta meta = shard_meta(mid, 0, "00000000000000aa", 2);
    assert_int_equal(store_begin_run(s, &meta, &r0, &e), DYT_OK);
    meta = shard_meta(mid, 1, "00000000000000aa", 2);
    assert_int_equal(store_begin_run(s, &meta, &r1, &e), DYT_OK);
    sqlite3 *d = store_db(s);
    assert_int_equal(q_int(d, "SELECT count(*) FROM campaigns", 0), 1);
    assert_int_equal(q_int(d, "SELECT count(*) FROM campaign_cases", 0), 3);
    char t[128];
    q_text(d, "SELECT plan_hash FROM runs WHERE id = ?1", r1, t, sizeof t);
    assert_string_equal(t, "00000000000000aa");

    /* Another plan, or the same plan cut in other shards, under the same
     * name: refused, and no run row is left. */
    char *before = dump_all(d);
    meta = shard_meta(mid, 0, "00000000000000bb", 2);
    assert_int_equal(store_begin_run(s, &meta, &r2, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "campaign 'c-42' was planned as 2 shard(s) of plan "
                                  "00000000000000aa"));
    meta = shard_meta(mid, 2, "00000000000000aa", 3);
    assert_int_equal(store_begin_run(s, &meta, &r2, &e), DYT_USAGE);
    char *after = dump_all(d);
    assert_string_equal(before, after);
    free(before);
    free(after);

    store_campaign c;
    int found = 0;
    assert_int_equal(store_load_campaign(s, "c-42", &c, &found, &e), DYT_OK);
    assert_int_equal(found, 1);
    assert_string_equal(c.campaign, "c-42");
    assert_string_equal(c.plan_hash, "00000000000000aa");
    assert_int_equal(c.shard_count, 2);
    assert_non_null(c.created_at);
    assert_int_equal(c.n, DYT_ARRAY_LEN(plan_cases));
    for (size_t i = 0; i < c.n; i++) {
        const store_plan_case *a = &plan_cases[i], *b = &c.v[i];
        assert_int_equal(a->seq, b->seq);
        assert_int_equal(a->shard_index, b->shard_index);
        str_eq(a->suite, b->suite);
        str_eq(a->model, b->model);
        str_eq(a->token_label, b->token_label);
        str_eq(a->norm, b->norm);
        str_eq(a->variant, b->variant);
        str_eq(a->dtype, b->dtype);
        str_eq(a->pass, b->pass);
        assert_int_equal(a->rows, b->rows);
        assert_int_equal(a->cols, b->cols);
        assert_int_equal(a->threads, b->threads);
    }
    store_campaign_free(&c);
    assert_int_equal(store_load_campaign(s, "nope", &c, &found, &e), DYT_OK);
    assert_int_equal(found, 0);
    store_name_list names;
    assert_int_equal(store_list_campaigns(s, &names, &e), DYT_OK);
    assert_int_equal(names.n, 1);
    assert_string_equal(names.v[0], "c-42");
    store_name_list_free(&names);
    store_close(s);
}

static void test_resume(void **state)
{
    (void)state;
    char db[512];
    store *s = open_new_at("resume.db", db, sizeof db);
    dyt_err e = {{0}};
    machine_info m;
    fake_machine(&m, "aaaa");
    int64_t mid, other, run;
    assert_int_equal(store_put_machine(s, &m, &mid, &e), DYT_OK);
    fake_machine(&m, "bbbb");
    snprintf(m.hostname, sizeof m.hostname, "elsewhere");
    assert_int_equal(store_put_machine(s, &m, &other, &e), DYT_OK);
    store_run_meta meta = fake_run_meta;
    meta.machine_id = mid;
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    assert_int_equal(put_fake_case(s, run, 0, 5, &e), DYT_OK);
    sqlite3 *d = store_db(s);
    char uuid[64], started[64], t[512];
    q_text(d, "SELECT uuid FROM runs WHERE id = ?1", run, uuid, sizeof uuid);
    q_text(d, "SELECT started_at FROM runs WHERE id = ?1", run, started, sizeof started);

    /* Still running (this very process): refused. */
    char *before = dump_all(d);
    assert_int_equal(store_resume_run(s, run, mid, "resumed", &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "is still running"));
    /* As a killed writer leaves it. */
    exec_ok(d, "UPDATE runs SET status = 'aborted', ended_at = 'then', pid = 999999,"
               " host = 'node7', note = 'interrupted by signal 15'");
    free(before);
    before = dump_all(d);
    /* On another machine: refused, nothing changes. */
    assert_int_equal(store_resume_run(s, run, other, "resumed", &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "continues on the machine it began on"));
    assert_non_null(strstr(e.msg, "aaaa"));
    assert_non_null(strstr(e.msg, "bbbb"));
    assert_int_equal(store_resume_run(s, run + 100, mid, "resumed", &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "does not exist"));
    char *after = dump_all(d);
    assert_string_equal(before, after);
    free(after);
    free(before);

    assert_int_equal(store_resume_run(s, run, mid, "resumed after 1 case", &e), DYT_OK);
    q_text(d,
           "SELECT status || '|' || coalesce(ended_at, 'NULL') || '|' || note || '|' ||"
           " (pid = ?1) || '|' || (host <> 'node7') FROM runs",
           (int64_t)getpid(), t, sizeof t);
    assert_string_equal(t, "running|NULL|resumed after 1 case|1|1");
    /* The same run: its id, uuid, start and cases are kept. */
    q_text(d, "SELECT uuid FROM runs WHERE id = ?1", run, t, sizeof t);
    assert_string_equal(t, uuid);
    q_text(d, "SELECT started_at FROM runs WHERE id = ?1", run, t, sizeof t);
    assert_string_equal(t, started);
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases WHERE run_id = ?1", run), 1);
    assert_int_equal(q_int(d, "SELECT count(*) FROM runs", 0), 1);

    /* Complete: nothing to resume. */
    assert_int_equal(store_end_run(s, run, "complete", NULL, &e), DYT_OK);
    assert_int_equal(store_resume_run(s, run, mid, "again", &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "is complete: nothing to resume"));
    store_close(s);
}

/* A group of writes commits together; a writer failing inside it rolls
 * the whole group back and the group refuses further writes. */
static void test_write_group(void **state)
{
    (void)state;
    char db[512];
    store *s = open_new_at("group.db", db, sizeof db);
    dyt_err e = {{0}};
    int64_t run;
    store_run_meta meta = fake_meta_on(s, "1234");
    sqlite3 *d = store_db(s);

    assert_int_equal(store_txn_begin(s, &e), DYT_OK);
    assert_int_equal(store_txn_begin(s, &e), DYT_USAGE); /* no nesting */
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    assert_int_equal(put_fake_case(s, run, 0, 4, &e), DYT_OK);
    assert_int_equal(store_txn_commit(s, &e), DYT_OK);
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases", 0), 1);

    char *before = dump_all(d);
    assert_int_equal(store_txn_begin(s, &e), DYT_OK);
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    assert_int_equal(put_fake_case(s, run, 0, 4, &e), DYT_OK);
    assert_int_not_equal(put_fake_case(s, run, 0, 4, &e), DYT_OK); /* seq 0 twice */
    assert_int_not_equal(put_fake_case(s, run, 1, 4, &e), DYT_OK);
    assert_non_null(strstr(e.msg, "rolled back"));
    assert_int_not_equal(store_txn_commit(s, &e), DYT_OK);
    char *after = dump_all(d);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* After the group, writers commit on their own again. */
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    assert_int_equal(q_int(d, "SELECT count(*) FROM runs", 0), 2);
    store_close(s);
}

DYT_TEST_MAIN_IN_TMPDIR("store-campaign", NULL, NULL,
                        cmocka_unit_test(test_campaign_plan_stored_once),
                        cmocka_unit_test(test_resume), cmocka_unit_test(test_write_group))
