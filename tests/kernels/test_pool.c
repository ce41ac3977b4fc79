/* Tests of the kernels' thread pool: the row split, that every thread runs
 * every task once with the caller as thread 0, on_start per thread, a
 * failing on_start, per-thread scratch, and each thread's CPU mask. */
#include "dyt_test.h"

#include "kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

static void test_split_rows(void **state)
{
    (void)state;
    for (size_t rows = 0; rows < 70; rows++)
        for (int n = 1; n <= 9; n++) {
            size_t expect = 0, lo = (size_t)-1, hi = 0;
            for (int i = 0; i < n; i++) {
                size_t b, e;
                kern_split_rows(rows, i, n, &b, &e);
                assert_int_equal(b, expect); /* contiguous, in order */
                assert_true(e >= b);
                expect = e;
                lo = e - b < lo ? e - b : lo;
                hi = e - b > hi ? e - b : hi;
            }
            assert_int_equal(expect, rows); /* covers all rows */
            assert_true(hi - lo <= 1);      /* balanced */
        }
    size_t b, e;
    kern_split_rows(10, 3, 3, &b, &e); /* index out of range: empty */
    assert_int_equal(b, e);
}

typedef struct {
    atomic_int calls[8];
    atomic_int starts[8];
    atomic_int bad; /* cmocka cannot assert off the main thread */
    pthread_t caller, t0;
    int fail_index;
} pool_state;

static int on_start(int index, void *user)
{
    pool_state *s = user;
    atomic_fetch_add(&s->starts[index], 1);
    if (index == 0)
        s->t0 = pthread_self();
    return index == s->fail_index ? -1 : 0;
}

static void task(int index, int n, void *ctx)
{
    pool_state *s = ctx;
    if (index < 0 || index >= n || (index == 0 && !pthread_equal(pthread_self(), s->caller))) {
        atomic_fetch_add(&s->bad, 1);
        return;
    }
    atomic_fetch_add(&s->calls[index], 1);
}

static void test_pool_runs_every_thread(void **state)
{
    (void)state;
    for (int n = 1; n <= 5; n++) {
        pool_state s;
        memset(&s, 0, sizeof s);
        s.caller = pthread_self();
        s.fail_index = -1;
        kern_pool *p = kern_pool_create(n, on_start, &s);
        assert_non_null(p);
        assert_int_equal(kern_pool_threads(p), n);
        assert_true(pthread_equal(s.t0, s.caller)); /* worker 0 is the caller */
        for (int i = 0; i < n; i++)
            assert_int_equal(atomic_load(&s.starts[i]), 1);
        int reps = 400;
        for (int r = 0; r < reps; r++)
            kern_pool_run(p, task, &s);
        for (int i = 0; i < n; i++)
            assert_int_equal(atomic_load(&s.calls[i]), reps);
        assert_int_equal(atomic_load(&s.bad), 0);
        kern_pool_destroy(p);
    }
}

static void test_pool_on_start_failure(void **state)
{
    (void)state;
    pool_state s;
    memset(&s, 0, sizeof s);
    s.fail_index = 2;
    assert_null(kern_pool_create(3, on_start, &s));
    s.fail_index = 0;
    assert_null(kern_pool_create(3, on_start, &s));
    assert_null(kern_pool_create(0, NULL, NULL));
}

static void test_null_pool_inline(void **state)
{
    (void)state;
    pool_state s;
    memset(&s, 0, sizeof s);
    s.caller = pthread_self();
    kern_pool_run(NULL, task, &s);
    assert_int_equal(atomic_load(&s.calls[0]), 1);
    assert_int_equal(kern_pool_threads(NULL), 1);
    void *a = kern_pool_scratch(NULL, 0, 100);
    assert_non_null(a);
    assert_ptr_equal(kern_pool_scratch(NULL, 0, 50), a);
    assert_null(kern_pool_scratch(NULL, 1, 50));
}

static void scratch_task(int index, int n, void *ctx)
{
    (void)n;
    kern_pool *p = ctx;
    unsigned char *s = kern_pool_scratch(p, index, 4096);
    memset(s, index + 1, 4096);
}

static void test_pool_scratch(void **state)
{
    (void)state;
    kern_pool *p = kern_pool_create(3, NULL, NULL);
    assert_non_null(p);
    void *s[3];
    for (int i = 0; i < 3; i++) {
        s[i] = kern_pool_scratch(p, i, 4096);
        assert_non_null(s[i]);
        assert_int_equal((uintptr_t)s[i] % 64, 0);
    }
    assert_true(s[0] != s[1] && s[1] != s[2]);
    kern_pool_run(p, scratch_task, p);
    for (int i = 0; i < 3; i++) {
        unsigned char *c = kern_pool_scratch(p, i, 4096); /* same size: kept */
        assert_ptr_equal(c, s[i]);
        assert_int_equal(c[0], i + 1);
        assert_int_equal(c[4095], i + 1);
    }
    assert_non_null(kern_pool_scratch(p, 1, 1 << 20)); /* grows */
    assert_null(kern_pool_scratch(p, 3, 16));
    assert_null(kern_pool_scratch(p, -1, 16));
    kern_pool_destroy(p);
    kern_pool_destroy(NULL);
}

/* kern_pool_cpuset reads back each worker's mask (here: pinned to the
 * last allowed CPU by on_start) and the caller's own for index 0. */
static int pin_last(int index, void *user)
{
    const cpu_set_t *last = user;
    return index == 0 ? 0 : sched_setaffinity(0, sizeof *last, last);
}

static void test_pool_cpuset(void **state)
{
    (void)state;
    cpu_set_t all, last, got;
    assert_int_equal(sched_getaffinity(0, sizeof all, &all), 0);
    int c = CPU_SETSIZE - 1;
    while (c > 0 && !CPU_ISSET(c, &all))
        c--;
    CPU_ZERO(&last);
    CPU_SET(c, &last);
    kern_pool *p = kern_pool_create(3, pin_last, &last);
    assert_non_null(p);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(kern_pool_cpuset(p, i, &got, sizeof got), 0);
        assert_true(CPU_EQUAL(&got, &last));
    }
    assert_int_equal(kern_pool_cpuset(p, 0, &got, sizeof got), 0);
    assert_true(CPU_EQUAL(&got, &all)); /* the caller was not pinned */
    assert_int_equal(kern_pool_cpuset(p, 3, &got, sizeof got), -1);
    assert_int_equal(kern_pool_cpuset(p, -1, &got, sizeof got), -1);
    kern_pool_destroy(p);
    assert_int_equal(kern_pool_cpuset(NULL, 0, &got, sizeof got), 0);
    assert_int_equal(kern_pool_cpuset(NULL, 1, &got, sizeof got), -1);
}

DYT_TEST_MAIN("test_pool", NULL, NULL, cmocka_unit_test(test_split_rows),
              cmocka_unit_test(test_pool_runs_every_thread),
              cmocka_unit_test(test_pool_on_start_failure), cmocka_unit_test(test_null_pool_inline),
              cmocka_unit_test(test_pool_scratch), cmocka_unit_test(test_pool_cpuset))
