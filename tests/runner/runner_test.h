/* Helpers shared by the runner tests (beside tests/dyt_test.h's): a suite
 * written to the scratch directory and planned at one thread, budgets
 * small enough for a test, and the run identity of in-process runs. */
#pragma once
#include "dyt_test.h"

#include "plan.h"
#include "runner.h"
#include "store.h"
#include "suite.h"

/* What every in-process run of these tests stores as its identity. */
static const runner_identity tiny_id = {
    .suites = "tiny", .suite_hash = "0123", .command_line = "test"};

/* Writes text as tmpdir/tiny.suite; path gets its path. */
static DYT_TEST_UNUSED void write_suite(const char *text, char *path, size_t n)
{
    snprintf(path, n, "%s/tiny.suite", tmpdir);
    write_file(path, text);
}

/* Writes text as tmpdir/tiny.suite and plans it at one thread, forward
 * only when fwd_only. */
static DYT_TEST_UNUSED void plan_suite(const char *text, int fwd_only, suite *su, plan *p)
{
    char path[512];
    write_suite(text, path, sizeof path);
    dyt_err e = {{0}};
    assert_int_equal(suite_parse_file(path, 0, su, &e), DYT_OK);
    plan_filter f;
    memset(&f, 0, sizeof f);
    f.threads[0] = 1;
    f.n_threads = 1;
    if (fwd_only) {
        f.passes[0] = PASS_FWD;
        f.n_passes = 1;
    }
    assert_int_equal(plan_build(su, 1, &f, p, &e), DYT_OK);
}

/* Budgets a tiny case meets in milliseconds; quiet. */
static DYT_TEST_UNUSED void quick_opts(runner_opts *o)
{
    runner_opts_default(o);
    o->max_noise = 0.05;
    o->min_time_s = 0.002;
    o->max_time_s = 0.05;
    o->warmup_s = 0.002;
    o->min_samples = 8;
    o->quiet = 1;
    o->progress = 0;
    o->llc_bytes_override = 1u << 20; /* keeps the bandwidth buffers small */
}
