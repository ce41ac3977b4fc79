/* The store's read API: what the writers stored comes back field for field
 * (run with its session, campaign and shard, machine with attributes and
 * topology, ceilings, cases with and without statistics, samples kept or
 * all, counters available or not, calibrations); run filters select what
 * they say; and a run's cases read from one store written to another with
 * the same writers read back identical there -- what `merge` builds on. */
#include "store_test.h"
#include <math.h>

static void test_read_what_was_written(void **state)
{
    (void)state;
    store *s = open_new("read.db");
    dyt_err e = {{0}};
    store_run_meta meta = fake_run_meta;
    meta.lockstep_token = "00ff00ff00ff00ff";
    meta.arm = "base";
    meta.campaign = "nightly";
    meta.shard_index = 1;
    meta.shard_count = 4;
    int64_t mid;
    int64_t run = write_run(s, &mid, &meta);
    assert_int_equal(store_end_run(s, run, "complete", "done", &e), DYT_OK);

    store_run r;
    assert_int_equal(store_load_run(s, run, &r, &e), DYT_OK);
    assert_int_equal(r.id, run);
    assert_int_equal(r.machine_id, mid);
    assert_int_equal(r.pid, getpid());
    str_eq(r.label, "baseline");
    str_eq(r.status, "complete");
    str_eq(r.command_line, "dytbench run --label baseline");
    str_eq(r.suites, "quick");
    str_eq(r.suite_hash, "abc123");
    str_eq(r.device, "cpu");
    str_eq(r.metric, "time");
    str_eq(r.settings, "{\"seed\":1}");
    str_eq(r.note, "done");
    str_eq(r.lockstep_token, "00ff00ff00ff00ff");
    str_eq(r.arm, "base");
    str_eq(r.campaign, "nightly");
    assert_int_equal(r.shard_index, 1);
    assert_int_equal(r.shard_count, 4);
    str_eq(r.machine_fingerprint, "feedc0de");
    assert_int_equal(r.n_cases, 2);
    assert_non_null(r.uuid);
    assert_int_equal(strlen(r.uuid), 36);
    assert_non_null(r.started_at);
    assert_non_null(r.ended_at);
    assert_non_null(r.git_rev);
    assert_non_null(r.version);
    char host[256];
    store_hostname(host, sizeof host);
    str_eq(r.host, host);
    char t[64];
    q_text(store_db(s), "SELECT uuid FROM runs WHERE id = ?1", run, t, sizeof t);
    str_eq(r.uuid, t);
    store_run_free(&r);
    assert_int_equal(store_load_run(s, run + 1, &r, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "does not exist"));

    machine_info m, want;
    fake_machine(&want, "feedc0de");
    assert_int_equal(store_load_machine(s, mid, &m, &e), DYT_OK);
    str_eq(m.fingerprint, want.fingerprint);
    str_eq(m.hostname, want.hostname);
    str_eq(m.cpu_model, want.cpu_model);
    str_eq(m.llc_note, want.llc_note);
    str_eq(m.mem_note, want.mem_note);
    str_eq(m.os, want.os);
    str_eq(m.kernel, want.kernel);
    str_eq(m.vm_vendor, want.vm_vendor);
    str_eq(m.isa, want.isa);
    assert_int_equal(m.packages, want.packages);
    assert_int_equal(m.cores, want.cores);
    assert_int_equal(m.pus, want.pus);
    assert_int_equal(m.numa_nodes, want.numa_nodes);
    assert_int_equal(m.l1d_bytes, want.l1d_bytes);
    assert_int_equal(m.l2_bytes, want.l2_bytes);
    assert_int_equal(m.l3_bytes, want.l3_bytes);
    assert_int_equal(m.llc_bytes, want.llc_bytes);
    assert_int_equal(m.mem_bytes, want.mem_bytes);
    assert_int_equal(m.mem_usable_bytes, want.mem_usable_bytes);
    assert_int_equal(m.is_vm, want.is_vm);
    assert_int_equal(m.topology_xml_len, want.topology_xml_len);
    assert_memory_equal(m.topology_xml, want.topology_xml, want.topology_xml_len);
    assert_int_equal(m.n_attrs, 2); /* by key */
    str_eq(m.attrs[0].key, "counters.papi");
    str_eq(m.attrs[0].value, "unavailable: test");
    str_eq(m.attrs[1].key, "gpu");
    str_eq(m.attrs[1].value, "none");
    machine_free(&m);
    assert_int_equal(store_load_machine(s, mid + 5, &m, &e), DYT_USAGE);

    store_ceiling_list bl;
    assert_int_equal(store_load_ceilings(s, run, &bl, &e), DYT_OK);
    assert_int_equal(bl.n, 3); /* by threads, then level from l1 out */
    assert_int_equal(bl.v[0].threads, 1);
    str_eq(bl.v[0].level, "l2");
    str_eq(bl.v[0].kind, "scale");
    assert_int_equal(bl.v[0].bytes, 1 << 19);
    num_eq(bl.v[0].gbps, 111.5);
    num_eq(bl.v[0].gbps_median, NAN);
    assert_null(bl.v[0].method);
    assert_int_equal(bl.v[1].threads, 2);
    str_eq(bl.v[1].level, "l1");
    num_eq(bl.v[1].gbps, 250.25);
    str_eq(bl.v[1].method, "in l1");
    str_eq(bl.v[2].level, "dram");
    str_eq(bl.v[2].kind, "copy");
    num_eq(bl.v[2].gbps, 20.5);
    num_eq(bl.v[2].gbps_median, 19.0);
    str_eq(bl.v[2].method, "STREAM copy, test");
    store_ceiling_list_free(&bl);

    store_case_list cl;
    assert_int_equal(store_load_cases(s, run, &cl, &e), DYT_OK);
    assert_int_equal(cl.n, 2);
    store_case ok = fake_case(0);
    case_eq(&cl.v[0].c, &ok);
    assert_int_equal(cl.v[0].run_id, run);
    assert_true(cl.v[0].has_stats);
    const store_stats want_st = {.n = 10,
                                 .n_excluded = 1,
                                 .median_ns = 1005,
                                 .ci_low_ns = 1000,
                                 .ci_high_ns = 1010,
                                 .mean_ns = 1001,
                                 .stddev_ns = 2,
                                 .min_ns = 1000,
                                 .max_ns = 1009,
                                 .mad_ns = 1.5,
                                 .rel_ci_width = 0.01,
                                 .gbps = 12.5,
                                 .roofline_pct = 55.5,
                                 .ceiling_level = "l2",
                                 .ceiling_pct = 98.25};
    stats_eq(&cl.v[0].st, &want_st);
    const store_case_rec *f = &cl.v[1];
    str_eq(f->c.status, "failed");
    str_eq(f->c.error, "max error 3.5 > tolerance");
    str_eq(f->c.note, "measured through the framework's own op");
    assert_null(f->c.token_label);
    assert_null(f->c.stop_reason);
    assert_true(isnan(f->c.max_err)); /* not verified */
    assert_true(isnan(f->c.max_ulps));
    assert_true(isnan(f->c.err_tol));
    assert_null(f->c.err_output);
    assert_int_equal(f->c.batch, 0);
    assert_false(f->has_stats);
    const store_stats none = {.median_ns = NAN,
                              .ci_low_ns = NAN,
                              .ci_high_ns = NAN,
                              .mean_ns = NAN,
                              .stddev_ns = NAN,
                              .min_ns = NAN,
                              .max_ns = NAN,
                              .mad_ns = NAN,
                              .rel_ci_width = NAN,
                              .gbps = NAN,
                              .roofline_pct = NAN,
                              .ceiling_pct = NAN};
    stats_eq(&f->st, &none);

    store_sample *smp;
    size_t n;
    assert_int_equal(store_load_samples(s, cl.v[0].id, STORE_SAMPLES_ALL, &smp, &n, &e), DYT_OK);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) {
        num_eq(smp[i].ns, 1000.0 + (double)i);
        assert_int_equal(smp[i].excluded, i == 3);
        assert_int_equal(smp[i].flags, i == 3 ? STORE_SAMPLE_CTXSW : 0);
        assert_int_equal(smp[i].block, 0);
    }
    free(smp);
    assert_int_equal(store_load_samples(s, cl.v[0].id, STORE_SAMPLES_KEPT, &smp, &n, &e), DYT_OK);
    assert_int_equal(n, 9);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(smp[i].excluded, 0);
    num_eq(smp[3].ns, 1004.0);
    free(smp);
    assert_int_equal(store_load_samples(s, f->id, STORE_SAMPLES_ALL, &smp, &n, &e), DYT_OK);
    assert_int_equal(n, 0);
    assert_null(smp);

    store_counter_list kl;
    assert_int_equal(store_load_counters(s, run, &kl, &e), DYT_OK);
    assert_int_equal(kl.n, 2);
    size_t nk;
    const store_counter *k = store_counters_of(&kl, cl.v[0].id, &nk);
    const store_counter want_k[2] = {
        {.source = "papi",
         .name = "PAPI_TOT_INS",
         .available = 0,
         .value = NAN,
         .per_element = NAN,
         .unavailable_reason = "PAPI perf_event component disabled: test"},
        {.source = "rusage", .name = "minflt", .available = 1, .value = 42, .per_element = 0.5}};
    counters_eq(k, nk, want_k, 2);
    assert_null(store_counters_of(&kl, f->id, &nk));
    assert_int_equal(nk, 0);
    store_counter_list_free(&kl);
    store_case_list_free(&cl);
    store_close(s);
}

static void test_find_runs(void **state)
{
    (void)state;
    store *s = open_new("find.db");
    dyt_err e = {{0}};
    const store_run_meta on_machine = fake_meta_on(s, "5555");
    int64_t id[6];
    static const char *const label[] = {"a", "b", "a", "a", NULL, "a"};
    static const char *const campaign[] = {NULL, "c1", "c1", NULL, "c1", "c2"};
    for (int i = 0; i < 6; i++) {
        store_run_meta meta = on_machine;
        meta.label = label[i];
        meta.campaign = campaign[i];
        meta.shard_count = campaign[i] ? 3 : 0;
        meta.shard_index = i % 3;
        assert_int_equal(store_begin_run(s, &meta, &id[i], &e), DYT_OK);
        if (i != 3)
            assert_int_equal(store_end_run(s, id[i], "complete", NULL, &e), DYT_OK);
    }
    struct {
        store_run_filter f;
        const char *want; /* indexes into id, oldest first */
    } cases[] = {
        {{0}, "012345"},
        {{.label = "a"}, "0235"},
        {{.label = "a", .status = "complete"}, "025"},
        {{.campaign = "c1"}, "124"},
        {{.campaign = "c1", .label = "a"}, "2"},
        {{.newest = 2}, "45"},
        {{.label = "a", .newest = 3}, "235"},
        {{.status = "running"}, "3"},
        {{.label = "zzz"}, ""},
    };
    for (size_t c = 0; c < DYT_ARRAY_LEN(cases); c++) {
        store_run_list l;
        assert_int_equal(store_find_runs(s, &cases[c].f, &l, &e), DYT_OK);
        char got[16] = "";
        for (size_t i = 0; i < l.n && i < sizeof got - 1; i++)
            for (int k = 0; k < 6; k++)
                if (l.v[i].id == id[k])
                    got[i] = (char)('0' + k);
        if (strcmp(got, cases[c].want))
            print_error("filter %zu: got %s, want %s\n", c, got, cases[c].want);
        assert_string_equal(got, cases[c].want);
        for (size_t i = 0; i < l.n; i++)
            assert_int_equal(l.v[i].shard_count, l.v[i].campaign ? 3 : 0);
        store_run_list_free(&l);
    }
    store_run_list l;
    assert_int_equal(store_find_runs(s, NULL, &l, &e), DYT_OK);
    assert_int_equal(l.n, 6);
    store_run_list_free(&l);
    store_close(s);
}

/* A run's cases, samples and counters read from one store and written
 * into another through store_put_case read back the same there. */
static void test_copy_cases_between_stores(void **state)
{
    (void)state;
    store *a = open_new("copy-a.db");
    store *b = open_new("copy-b.db");
    dyt_err e = {{0}};
    int64_t mid_a, mid_b;
    int64_t run_a = write_run(a, &mid_a, &fake_run_meta);

    machine_info m;
    assert_int_equal(store_load_machine(a, mid_a, &m, &e), DYT_OK);
    assert_int_equal(store_put_machine(b, &m, &mid_b, &e), DYT_OK);
    machine_free(&m);
    store_run_meta meta = fake_run_meta;
    meta.machine_id = mid_b;
    int64_t run_b;
    assert_int_equal(store_begin_run(b, &meta, &run_b, &e), DYT_OK);
    store_case_list ca;
    store_counter_list ka;
    assert_int_equal(store_load_cases(a, run_a, &ca, &e), DYT_OK);
    assert_int_equal(store_load_counters(a, run_a, &ka, &e), DYT_OK);
    for (size_t i = 0; i < ca.n; i++) {
        store_sample *smp;
        size_t ns, nk;
        assert_int_equal(store_load_samples(a, ca.v[i].id, STORE_SAMPLES_ALL, &smp, &ns, &e),
                         DYT_OK);
        const store_counter *k = store_counters_of(&ka, ca.v[i].id, &nk);
        assert_int_equal(store_put_case(b, run_b, &ca.v[i].c, smp, ns,
                                        ca.v[i].has_stats ? &ca.v[i].st : NULL, k, nk, NULL, &e),
                         DYT_OK);
        free(smp);
    }
    same_cases(a, run_a, b, run_b);
    store_case_list_free(&ca);
    store_counter_list_free(&ka);
    store_close(a);
    store_close(b);
}

/* Calibrations: the latest row of each case key of one machine, found by
 * key; another machine's rows are not its. */
static void test_calibrations(void **state)
{
    (void)state;
    store *s = open_new("cal.db");
    dyt_err e = {{0}};
    machine_info m;
    int64_t m1, m2, run;
    fake_machine(&m, "cal-one");
    assert_int_equal(store_put_machine(s, &m, &m1, &e), DYT_OK);
    fake_machine(&m, "cal-two");
    assert_int_equal(store_put_machine(s, &m, &m2, &e), DYT_OK);
    store_run_meta meta = fake_run_meta;
    meta.machine_id = m1;
    assert_int_equal(store_begin_run(s, &meta, &run, &e), DYT_OK);
    store_calibration first[2] = {{.case_key = "m/dyt/k2",
                                   .run_a = run,
                                   .run_b = run,
                                   .noise_rel = 0.02,
                                   .min_detectable_rel = 0.07,
                                   .threshold = 0.05,
                                   .alpha = 0.01},
                                  {.case_key = "m/dyt/k1",
                                   .run_a = run,
                                   .run_b = run,
                                   .noise_rel = 0.01,
                                   .min_detectable_rel = 0.06,
                                   .threshold = 0.05,
                                   .alpha = 0.01}};
    store_calibration later = {.case_key = "m/dyt/k2",
                               .run_a = run,
                               .run_b = run,
                               .noise_rel = 0.03,
                               .min_detectable_rel = 0.05,
                               .threshold = 0.02,
                               .alpha = 0.05};
    store_calibration other = {.case_key = "m/dyt/k3",
                               .run_a = run,
                               .run_b = run,
                               .noise_rel = 0.5,
                               .min_detectable_rel = 0.55,
                               .threshold = 0.05,
                               .alpha = 0.01};
    assert_int_equal(store_put_calibrations(s, m1, first, 2, &e), DYT_OK);
    assert_int_equal(store_put_calibrations(s, m1, &later, 1, &e), DYT_OK);
    assert_int_equal(store_put_calibrations(s, m2, &other, 1, &e), DYT_OK);
    assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM calibrations", 0), 4);
    store_calibration_list l;
    assert_int_equal(store_load_calibrations(s, "cal-one", &l, &e), DYT_OK);
    assert_int_equal(l.n, 2);
    str_eq(l.v[0].case_key, "m/dyt/k1");
    const store_calibration *c = store_calibration_find(&l, "m/dyt/k2");
    assert_non_null(c);
    num_eq(c->noise_rel, 0.03);
    num_eq(c->min_detectable_rel, 0.05);
    num_eq(c->threshold, 0.02);
    num_eq(c->alpha, 0.05);
    assert_int_equal(c->run_a, run);
    assert_non_null(c->created_at);
    assert_null(store_calibration_find(&l, "m/dyt/k3"));
    assert_null(store_calibration_find(&l, "m/dyt/k0"));
    store_calibration_list_free(&l);
    assert_int_equal(store_load_calibrations(s, "nobody", &l, &e), DYT_OK);
    assert_int_equal(l.n, 0);
    assert_null(store_calibration_find(&l, "m/dyt/k1"));
    store_calibration_list_free(&l);
    /* A failing row (a run that does not exist) leaves none of the batch. */
    store_calibration bad[2] = {first[0], first[0]};
    bad[1].run_a = run + 99;
    assert_int_equal(store_put_calibrations(s, m1, bad, 2, &e), DYT_USAGE);
    assert_int_equal(q_int(store_db(s), "SELECT count(*) FROM calibrations", 0), 4);
    assert_int_equal(sqlite3_get_autocommit(store_db(s)), 1);
    store_close(s);
}

DYT_TEST_MAIN_IN_TMPDIR("store-read", NULL, NULL, cmocka_unit_test(test_read_what_was_written),
                        cmocka_unit_test(test_find_runs),
                        cmocka_unit_test(test_copy_cases_between_stores),
                        cmocka_unit_test(test_calibrations))
