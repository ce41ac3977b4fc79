/* oneDNN runs at the case's thread count, placed like the pool's threads:
 * what is observed is which OS threads of this process gained CPU time
 * during large oneDNN calls (each thread's CPU clock, read through its
 * thread id) and the CPU mask of each of them -- not oneDNN's speed and not
 * the count it was asked for. The pool's threads are pinned one per CPU,
 * as the runner pins them; oneDNN's OpenMP threads must be as many as the
 * pool's, each on the CPU of one pool thread, and the pool's own workers
 * must stay idle. Needs two CPUs (else skipped); built only with oneDNN. */
#include "dyt_test.h"

#include "common.h"
#include "kernels.h"

#include <dirent.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_TIDS 64
#define POOL_MAX 2

typedef struct {
    int cpus[POOL_MAX];        /* CPU that pool thread i is pinned to */
    atomic_int tids[POOL_MAX]; /* its thread id */
} pin_plan;

static int pin_cpu(int index, void *user)
{
    pin_plan *p = user;
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(p->cpus[index], &s);
    atomic_store(&p->tids[index], (int)gettid());
    return sched_setaffinity(0, sizeof s, &s);
}

/* The CPU-time clock of thread tid of this process (how glibc builds
 * pthread_getcpuclockid's clock: CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED). */
static clockid_t tid_clock(pid_t tid)
{
    return (clockid_t)((~(unsigned)tid << 3) | 4u | 2u);
}

static uint64_t tid_cpu_ns(pid_t tid)
{
    struct timespec t;
    if (clock_gettime(tid_clock(tid), &t) != 0)
        return 0; /* the thread has ended */
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

typedef struct {
    size_t n;
    pid_t tid[MAX_TIDS];
    uint64_t cpu_ns[MAX_TIDS];
} thread_times;

static void snapshot(thread_times *t)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    t->n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && t->n < MAX_TIDS) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        pid_t tid = (pid_t)atoi(e->d_name);
        t->tid[t->n] = tid;
        t->cpu_ns[t->n++] = tid_cpu_ns(tid);
    }
    closedir(d);
}

typedef struct {
    size_t n;
    pid_t tid[MAX_TIDS];
} ran_set;

/* The threads that ran a share of the calls between the two snapshots:
 * their CPU time grew by at least 1 ms and a quarter of the largest
 * growth (oneDNN splits rows evenly, so its threads gain alike; idle ones
 * next to nothing). Relative to each other rather than to the wall time,
 * which a loaded machine stretches. */
static void ran_between(const thread_times *a, const thread_times *b, ran_set *r)
{
    uint64_t gain[MAX_TIDS], most = 0;
    for (size_t i = 0; i < b->n; i++) {
        uint64_t before = 0;
        for (size_t j = 0; j < a->n; j++)
            if (a->tid[j] == b->tid[i])
                before = a->cpu_ns[j];
        gain[i] = b->cpu_ns[i] > before ? b->cpu_ns[i] - before : 0;
        most = gain[i] > most ? gain[i] : most;
    }
    r->n = 0;
    for (size_t i = 0; i < b->n; i++)
        if (gain[i] >= 1000000 && gain[i] >= most / 4)
            r->tid[r->n++] = b->tid[i];
}

typedef struct {
    size_t rows, cols;
    float *x, *y, *dy, *dx, *gamma, *beta, *dgamma, *dbeta, *mean, *rstd;
    norm_args a;
} ln_bufs;

static void bufs_init(ln_bufs *b, size_t rows, size_t cols)
{
    memset(b, 0, sizeof *b);
    b->rows = rows, b->cols = cols;
    size_t n = rows * cols;
    float **act[] = {&b->x, &b->y, &b->dy, &b->dx};
    for (size_t i = 0; i < 4; i++) {
        *act[i] = dyt_alloc(n * sizeof(float));
        assert_non_null(*act[i]);
    }
    float **vec[] = {&b->gamma, &b->beta, &b->dgamma, &b->dbeta};
    for (size_t i = 0; i < 4; i++) {
        *vec[i] = dyt_alloc(cols * sizeof(float));
        assert_non_null(*vec[i]);
    }
    b->mean = dyt_alloc(rows * sizeof(float));
    b->rstd = dyt_alloc(rows * sizeof(float));
    assert_non_null(b->mean);
    assert_non_null(b->rstd);
    for (size_t i = 0; i < n; i++) {
        b->x[i] = (float)((i * 2654435761u) % 1000) * 0.004f - 2.0f;
        b->dy[i] = (float)((i * 40503u) % 1000) * 0.002f - 1.0f;
    }
    for (size_t j = 0; j < cols; j++)
        b->gamma[j] = 1.0f + 0.001f * (float)(j % 7), b->beta[j] = 0.01f * (float)(j % 5);
    b->a = (norm_args){.rows = rows,
                       .cols = cols,
                       .dtype = DTYPE_F32,
                       .eps = 1e-5f,
                       .affine = 1,
                       .x = b->x,
                       .gamma = b->gamma,
                       .beta = b->beta,
                       .y = b->y,
                       .mean = b->mean,
                       .rstd = b->rstd,
                       .dy = b->dy,
                       .dx = b->dx,
                       .dgamma = b->dgamma,
                       .dbeta = b->dbeta};
}

static void bufs_free(ln_bufs *b)
{
    float *all[] = {b->x,    b->y,      b->dy,    b->dx,   b->gamma,
                    b->beta, b->dgamma, b->dbeta, b->mean, b->rstd};
    for (size_t i = 0; i < DYT_ARRAY_LEN(all); i++)
        dyt_free(all[i]);
}

/* The single CPU thread tid may run on, or -1 when its mask has several. */
static int only_cpu(pid_t tid)
{
    cpu_set_t s;
    if (sched_getaffinity(tid, sizeof s, &s) != 0 || CPU_COUNT(&s) != 1)
        return -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &s))
            return c;
    return -1;
}

typedef struct {
    pin_plan plan;
    ln_bufs b;
    int ncpu_ok;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    cpu_set_t s;
    if (!f || sched_getaffinity(0, sizeof s, &s) != 0)
        return -1;
    int k = 0;
    for (int c = 0; c < CPU_SETSIZE && k < POOL_MAX; c++)
        if (CPU_ISSET(c, &s))
            f->plan.cpus[k++] = c;
    f->ncpu_ok = k == POOL_MAX;
    /* 64 MiB per array: each call takes milliseconds, far above the
     * clocks' and the scheduler's granularity. */
    bufs_init(&f->b, 4096, 4096);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bufs_free(&f->b);
    free(f);
    return 0;
}

/* Runs e a few times on a pool of n pinned threads (after a warm-up call
 * and a pause, so the pool's workers have gone to sleep) and checks who
 * ran: n threads, the caller among them, no pool worker, each pinned to
 * the CPU of a distinct pool thread. */
static void check_threads(fixture *f, const kern_entry *e, int n)
{
    if (!f->ncpu_ok)
        skip();
    kern_pool *pool = kern_pool_create(n, pin_cpu, &f->plan);
    assert_non_null(pool);
    kern_exec ex = {pool, NULL};
    assert_int_equal(kern_call(e, &f->b.a, &ex), 0); /* creates and pins */
    usleep(20000);
    thread_times t0, t1;
    snapshot(&t0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(kern_call(e, &f->b.a, &ex), 0);
    snapshot(&t1);
    ran_set r;
    ran_between(&t0, &t1, &r);

    pid_t self = gettid();
    int saw_self = 0, cpu_used[POOL_MAX] = {0};
    for (size_t i = 0; i < r.n; i++) {
        saw_self |= r.tid[i] == self;
        for (int w = 1; w < n; w++)
            assert_int_not_equal(r.tid[i], atomic_load(&f->plan.tids[w])); /* pool stayed idle */
        int cpu = only_cpu(r.tid[i]);
        int which = -1;
        for (int k = 0; k < n; k++)
            if (cpu == f->plan.cpus[k])
                which = k;
        assert_true(which >= 0); /* on a pool thread's CPU */
        cpu_used[which]++;
    }
    assert_int_equal(r.n, (size_t)n);
    assert_true(saw_self);
    for (int k = 0; k < n; k++)
        assert_int_equal(cpu_used[k], 1); /* one oneDNN thread per pool CPU */
    kern_pool_destroy(pool);
}

static const kern_entry *ln_onednn(pass_kind p)
{
    const kern_entry *e = kern_find(NORM_LAYERNORM, p, DTYPE_F32, "onednn");
    assert_non_null(e);
    if (!kern_supported(e))
        skip();
    return e;
}

static void test_fwd_two_threads(void **state)
{
    check_threads(*state, ln_onednn(PASS_FWD), 2);
}

static void test_fwd_one_thread(void **state)
{
    check_threads(*state, ln_onednn(PASS_FWD), 1);
}

/* Back at two threads after one: the team libgomp kept is still placed. */
static void test_fwd_two_after_one(void **state)
{
    check_threads(*state, ln_onednn(PASS_FWD), 2);
}

static void test_bwd_two_threads(void **state)
{
    fixture *f = *state;
    const kern_entry *fwd = ln_onednn(PASS_FWD);
    assert_int_equal(kern_call(fwd, &f->b.a, NULL), 0); /* mean, rstd */
    check_threads(f, ln_onednn(PASS_BWD), 2);
}

DYT_TEST_MAIN("test_onednn_threads", setup, teardown, cmocka_unit_test(test_fwd_two_threads),
              cmocka_unit_test(test_fwd_one_thread), cmocka_unit_test(test_fwd_two_after_one),
              cmocka_unit_test(test_bwd_two_threads))
