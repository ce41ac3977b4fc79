/* The kernels' thread pool (kernels.h): persistent pthreads that run one
 * task at a time on every thread, the caller being thread 0; per-thread
 * scratch that grows on demand and is kept between calls; and the row split
 * every variant uses.
 *
 * Dispatch is spin-then-futex in both directions. The caller publishes the
 * task and bumps a generation counter; workers spin on that counter for a
 * short while (so back-to-back timed calls never pay a futex wake-up) and
 * then sleep on it with FUTEX_WAIT. Completion is a countdown the last
 * worker to finish wakes the caller from. The spin is bounded because the
 * runner keeps one pool per thread count alive at once and an idle pool must
 * not steal the cores another pool is being timed on.
 *
 * A pool is driven by one thread at a time (the one that created it or any
 * single other): kern_pool_run is not re-entrant and not for concurrent
 * callers. */
#include "common.h"
#include "kernels.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>


typedef struct {
    void *p;
    size_t cap;
    char pad[64 - sizeof(void *) - sizeof(size_t)]; /* one slot per line */
} pool_scratch;

typedef struct {
    kern_pool *pool;
    int index;
} pool_worker_arg;

struct kern_pool {
    int n;
    pthread_t *threads;
    pool_worker_arg *args;
    pool_scratch *scratch; /* n slots */

    kern_thread_init_fn on_start;
    void *user;

    /* Written by the caller before the generation bump, read by workers
     * after they see it (release/acquire on gen orders them). */
    kern_task_fn fn;
    void *ctx;
    int stop;

    _Alignas(64) atomic_uint gen;    /* futex word: new task (or stop) */
    _Alignas(64) atomic_uint remain; /* futex word: workers still busy */
    _Alignas(64) atomic_int started; /* workers past on_start */
    atomic_int start_failed;
};

static long futex(atomic_uint *addr, int op, unsigned val)
{
    return syscall(SYS_futex, (unsigned *)addr, op, val, NULL, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Waits until *w != old: spins, then sleeps in the kernel. */
static unsigned wait_change(atomic_uint *w, unsigned old)
{
    unsigned v;
    for (int i = 0; i < KERN_POOL_SPIN; i++) {
        if ((v = atomic_load_explicit(w, memory_order_acquire)) != old)
            return v;
        cpu_relax();
    }
    while ((v = atomic_load_explicit(w, memory_order_acquire)) == old)
        futex(w, FUTEX_WAIT_PRIVATE, old); /* EAGAIN/EINTR: re-check */
    return v;
}

static void *worker_main(void *arg)
{
    pool_worker_arg *wa = arg;
    kern_pool *p = wa->pool;
    if (p->on_start && p->on_start(wa->index, p->user) != 0)
        atomic_store(&p->start_failed, 1);
    /* The generation seen here is the one before any task: create does not
     * return (and so no task can be posted) until every worker has started. */
    unsigned seen = atomic_load_explicit(&p->gen, memory_order_acquire);
    atomic_fetch_add(&p->started, 1);
    for (;;) {
        seen = wait_change(&p->gen, seen);
        if (p->stop)
            return NULL;
        p->fn(wa->index, p->n, p->ctx);
        if (atomic_fetch_sub_explicit(&p->remain, 1, memory_order_acq_rel) == 1)
            futex(&p->remain, FUTEX_WAKE_PRIVATE, 1);
    }
}

static void pool_stop_workers(kern_pool *p, int launched)
{
    p->stop = 1;
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    futex(&p->gen, FUTEX_WAKE_PRIVATE, INT32_MAX);
    for (int i = 0; i < launched; i++)
        pthread_join(p->threads[i + 1], NULL);
}

static void pool_free(kern_pool *p)
{
    if (p->scratch)
        for (int i = 0; i < p->n; i++)
            dyt_free(p->scratch[i].p);
    dyt_free(p->scratch);
    free(p->threads);
    free(p->args);
    dyt_free(p);
}

kern_pool *kern_pool_create(int threads, kern_thread_init_fn on_start, void *user)
{
    if (threads < 1)
        return NULL;
    kern_pool *p = dyt_alloc(sizeof *p); /* 64-byte aligned: the futex words sit on their own lines */
    if (!p)
        return NULL;
    memset(p, 0, sizeof *p);
    p->n = threads;
    p->on_start = on_start;
    p->user = user;
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    p->args = calloc((size_t)threads, sizeof *p->args);
    p->scratch = dyt_alloc((size_t)threads * sizeof *p->scratch);
    if (!p->threads || !p->args || !p->scratch) {
        pool_free(p);
        return NULL;
    }
    memset(p->scratch, 0, (size_t)threads * sizeof *p->scratch);
    atomic_init(&p->gen, 0);
    atomic_init(&p->remain, 0);
    atomic_init(&p->started, 0);
    atomic_init(&p->start_failed, 0);

    /* Worker 0 is the caller: its hook runs here, on the calling thread. */
    if (on_start && on_start(0, user) != 0) {
        pool_free(p);
        return NULL;
    }
    p->threads[0] = pthread_self();
    int launched = 0;
    for (int i = 1; i < threads; i++) {
        p->args[i] = (pool_worker_arg){p, i};
        if (pthread_create(&p->threads[i], NULL, worker_main, &p->args[i]) != 0)
            break;
        launched++;
    }
    while (atomic_load(&p->started) < launched)
        sched_yield();
    if (launched != threads - 1 || atomic_load(&p->start_failed)) {
        pool_stop_workers(p, launched);
        pool_free(p);
        return NULL;
    }
    return p;
}

void kern_pool_destroy(kern_pool *p)
{
    if (!p)
        return;
    pool_stop_workers(p, p->n - 1);
    pool_free(p);
}

int kern_pool_threads(const kern_pool *p) { return p ? p->n : 1; }

int kern_pool_cpuset(const kern_pool *p, int index, void *set, size_t size)
{
    if (index < 0 || index >= kern_pool_threads(p))
        return -1;
    pthread_t t = index == 0 ? pthread_self() : p->threads[index];
    return pthread_getaffinity_np(t, size, set) == 0 ? 0 : -1;
}

void kern_pool_run(kern_pool *p, kern_task_fn fn, void *ctx)
{
    if (!p || p->n == 1) {
        fn(0, 1, ctx);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->remain, (unsigned)(p->n - 1), memory_order_relaxed);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    /* Wake only what may be asleep; a spinning worker needs no syscall, but
     * we cannot know cheaply which are which, and FUTEX_WAKE with no waiter
     * costs ~100 ns. */
    futex(&p->gen, FUTEX_WAKE_PRIVATE, INT32_MAX);
    fn(0, p->n, ctx);
    unsigned r;
    while ((r = atomic_load_explicit(&p->remain, memory_order_acquire)) != 0)
        wait_change(&p->remain, r);
}

/* NULL pool: one buffer per calling thread (thread-local rather than truly
 * process-wide, so two threads running inline kernels cannot share it). */
static _Thread_local pool_scratch inline_scratch;

void *kern_pool_scratch(kern_pool *p, int index, size_t bytes)
{
    pool_scratch *s;
    if (!p) {
        if (index != 0)
            return NULL;
        s = &inline_scratch;
    } else {
        if (index < 0 || index >= p->n)
            return NULL;
        s = &p->scratch[index];
    }
    if (bytes == 0)
        bytes = 1;
    if (s->cap < bytes) {
        /* Grow geometrically; contents are not preserved. */
        size_t cap = DYT_MAX(bytes, s->cap * 2);
        void *n = dyt_alloc(cap);
        if (!n)
            return NULL;
        dyt_free(s->p);
        s->p = n;
        s->cap = cap;
    }
    return s->p;
}

void kern_split_rows(size_t rows, int index, int n, size_t *begin, size_t *end)
{
    if (n < 1 || index < 0 || index >= n) {
        *begin = *end = 0;
        return;
    }
    /* The first rows % n threads get one extra row. */
    size_t q = rows / (size_t)n, r = rows % (size_t)n, i = (size_t)index;
    *begin = i * q + DYT_MIN(i, r);
    *end = *begin + q + (i < r ? 1 : 0);
}
