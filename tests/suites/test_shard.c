/* Tests of plan sharding (run --shard I/N): for many plans -- random
 * suites under several filters -- and every shard count from 1 to past
 * the case count, the shards are disjoint, their union is exactly the
 * plan (every case once, unchanged, with its seq), each lists its cases in
 * plan order, the assignment is the same every time, every shard is
 * non-empty while there are enough cases, and no shard's estimated cost
 * exceeds the mean by more than the costliest case. Cost, not count, is
 * what is balanced; the plan hash tells plans apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* A random suite of 1-4 sections with 1-4 token counts each. */
static void random_suite(dyt_rng *r, suite *s)
{
    static const char *const norms[] = {"layernorm", "rmsnorm"};
    char text[4096];
    size_t len = 0;
    int sections = 1 + (int)(dyt_rng_u64(r) % 4);
    for (int k = 0; k < sections; k++) {
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "[sec%d]\ndomain=llm\nnorm=%s\nhidden=%d\nlayers=2\ntokens=", k,
                                norms[dyt_rng_u64(r) % 2], 8 * (1 + (int)(dyt_rng_u64(r) % 512)));
        int tokens = 1 + (int)(dyt_rng_u64(r) % 4);
        for (int t = 0; t < tokens; t++)
            len += (size_t)snprintf(text + len, sizeof text - len, "%s%d", t ? ", " : "",
                                    1 + (int)(dyt_rng_u64(r) % 4096));
        len += (size_t)snprintf(text + len, sizeof text - len, "\n");
    }
    dyt_err e = {{0}};
    if (suite_parse_string("random.suite", text, 0, s, &e) != DYT_OK) {
        print_error("%s\n%s\n", e.msg, text);
        fail();
    }
}

/* Plans s under one of several filters (fixed threads, so the plan does
 * not depend on the machine). */
static int build(const suite *s, int which, plan *p)
{
    plan_filter f;
    memset(&f, 0, sizeof f);
    f.threads[f.n_threads++] = 1;
    if (which & 1)
        f.threads[f.n_threads++] = 2;
    if (which & 2) {
        f.passes[0] = PASS_FWD;
        f.n_passes = 1;
    }
    if (which & 4) {
        f.dtypes[f.n_dtypes++] = DTYPE_F32;
        f.dtypes[f.n_dtypes++] = DTYPE_BF16;
    }
    dyt_err e = {{0}};
    return plan_build(s, 1, &f, p, &e);
}

static void check_partition(const plan *p, int count)
{
    int *shard_of = malloc(p->n_cases * sizeof *shard_of);
    int *again = malloc(p->n_cases * sizeof *again);
    int *seen = calloc(p->n_cases, sizeof *seen);
    uint64_t *load = calloc((size_t)count, sizeof *load);
    assert_non_null(shard_of);
    assert_non_null(again);
    assert_non_null(seen);
    assert_non_null(load);
    dyt_err e = {{0}};
    assert_int_equal(plan_shard_assign(p, count, shard_of, &e), DYT_OK);
    assert_int_equal(plan_shard_assign(p, count, again, &e), DYT_OK);
    assert_memory_equal(shard_of, again, p->n_cases * sizeof *again);

    uint64_t total = 0, max_cost = 0;
    for (size_t i = 0; i < p->n_cases; i++) {
        uint64_t c = plan_case_cost(&p->cases[i]);
        total += c;
        max_cost = c > max_cost ? c : max_cost;
    }
    size_t covered = 0;
    for (int k = 0; k < count; k++) {
        plan sh;
        assert_int_equal(plan_shard(p, k, count, &sh, &e), DYT_OK);
        for (size_t j = 0; j < sh.n_cases; j++) {
            const plan_case *c = &sh.cases[j];
            assert_true(c->seq >= 0 && (size_t)c->seq < p->n_cases);
            if (j > 0) /* plan order */
                assert_true(sh.cases[j - 1].seq < c->seq);
            assert_int_equal(seen[c->seq]++, 0); /* disjoint */
            assert_memory_equal(c, &p->cases[c->seq], sizeof *c);
            assert_int_equal(shard_of[c->seq], k);
            load[k] += plan_case_cost(c);
        }
        covered += sh.n_cases;
        if ((size_t)count <= p->n_cases)
            assert_true(sh.n_cases > 0);
        plan_free(&sh);
    }
    assert_int_equal(covered, p->n_cases); /* the union is the plan */
    for (size_t i = 0; i < p->n_cases; i++)
        assert_int_equal(seen[i], 1);
    /* Greedy longest-first: max <= mean + the costliest case. */
    for (int k = 0; k < count; k++)
        assert_true(load[k] * (uint64_t)count <= total + max_cost * (uint64_t)count);
    free(shard_of);
    free(again);
    free(seen);
    free(load);
}

static void test_partition_many_plans(void **state)
{
    (void)state;
    dyt_rng r;
    dyt_rng_seed(&r, 14);
    size_t plans = 0;
    for (int t = 0; t < 30; t++) {
        suite s;
        random_suite(&r, &s);
        for (int which = 0; which < 8; which++) {
            plan p;
            if (build(&s, which, &p) != DYT_OK)
                continue; /* a filter this build has no variant for */
            plans++;
            for (size_t seq = 0; seq < p.n_cases; seq++)
                assert_int_equal(p.cases[seq].seq, (int)seq);
            int counts[] = {64, 1000};
            for (int n = 1; n <= (int)p.n_cases + 3; n++)
                check_partition(&p, n);
            for (size_t k = 0; k < DYT_ARRAY_LEN(counts); k++)
                check_partition(&p, counts[k]);
            plan_free(&p);
        }
        suite_free(&s);
    }
    assert_true(plans >= 30);
}

/* Two cases far costlier than the rest. With two shards each takes one
 * big case and half the small ones; with three, the big ones get a shard
 * each and the third takes all twenty small ones: equal cost, counts 1, 1
 * and 20. */
static void test_balances_cost_not_count(void **state)
{
    (void)state;
    static const char text[] = "[big]\ndomain=llm\nnorm=rmsnorm\nhidden=4096\ntokens=32768\n"
                               "layers=1\n"
                               "[small]\ndomain=llm\nnorm=rmsnorm\nhidden=64\n"
                               "tokens=1, 2, 3, 4, 5, 6, 7, 8, 9, 10\nlayers=1\n";
    suite s;
    dyt_err e = {{0}};
    /* A memory bound of its own: the plan must not depend on this machine. */
    assert_int_equal(suite_parse_string("cost.suite", text, (uint64_t)1 << 40, &s, &e), DYT_OK);
    plan p;
    assert_int_equal(build(&s, 2, &p), DYT_OK); /* fwd: 11 shapes x 2 norms */
    assert_int_equal(p.n_cases, 22);
    for (int count = 2; count <= 3; count++) {
        size_t n_big_shards = 0;
        for (int k = 0; k < count; k++) {
            plan c;
            assert_int_equal(plan_shard(&p, k, count, &c, &e), DYT_OK);
            size_t big = 0;
            for (size_t j = 0; j < c.n_cases; j++)
                big += c.cases[j].rows == 32768;
            assert_true(big <= 1);
            n_big_shards += big;
            if (count == 2)
                assert_int_equal(c.n_cases, 11);
            else
                assert_int_equal(c.n_cases, big ? 1 : 20);
            plan_free(&c);
        }
        assert_int_equal(n_big_shards, 2);
    }
    plan_free(&p);
    suite_free(&s);
}

static void test_hash_and_errors(void **state)
{
    (void)state;
    dyt_rng r;
    dyt_rng_seed(&r, 7);
    suite s;
    random_suite(&r, &s);
    plan p, q, fwd;
    assert_int_equal(build(&s, 0, &p), DYT_OK);
    assert_int_equal(build(&s, 0, &q), DYT_OK);
    assert_int_equal(build(&s, 2, &fwd), DYT_OK);
    char hp[17], hq[17], hf[17], hs[17];
    plan_hash(&p, hp);
    plan_hash(&q, hq);
    plan_hash(&fwd, hf);
    assert_int_equal(strlen(hp), 16);
    assert_string_equal(hp, hq);
    assert_string_not_equal(hp, hf);
    dyt_err e = {{0}};
    plan sh;
    if (p.n_cases > 1) {
        assert_int_equal(plan_shard(&p, 0, 2, &sh, &e), DYT_OK);
        plan_hash(&sh, hs);
        assert_string_not_equal(hp, hs);
        plan_free(&sh);
    }
    /* A shard beyond the count, or no shards at all, is refused. */
    assert_int_equal(plan_shard(&p, 2, 2, &sh, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "shard 3 of 2"));
    assert_int_equal(plan_shard(&p, -1, 2, &sh, &e), DYT_USAGE);
    int one;
    assert_int_equal(plan_shard_assign(&p, 0, &one, &e), DYT_USAGE);
    /* More shards than cases: the extra ones are empty, not an error. */
    assert_int_equal(plan_shard(&p, (int)p.n_cases, (int)p.n_cases + 1, &sh, &e), DYT_OK);
    assert_int_equal(sh.n_cases, 0);
    plan_free(&sh);
    plan_free(&p);
    plan_free(&q);
    plan_free(&fwd);
    suite_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partition_many_plans),
        cmocka_unit_test(test_balances_cost_not_count),
        cmocka_unit_test(test_hash_and_errors),
    };
    return cmocka_run_group_tests_name("plan-shard", tests, NULL, NULL);
}
