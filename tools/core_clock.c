/* core-clock: the core clock this thread runs at, measured without a PMU
 * (none in the build VM): a chain of dependent integer adds, each of
 * which takes one core cycle on x86-64 cores, timed with CLOCK_MONOTONIC_RAW.
 * cycles = time x this clock is how tools/bench/README.md turns measured
 * kernel times into cycles per element. The best of the trials is the
 * clock when the thread had the core to itself (a shared or throttled
 * core only makes a trial slower); the median is printed beside it.
 *
 *   build/tools/core-clock [--cpu N] [--trials N]
 */
#include "common.h"
#include "stats.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 8 dependent adds per iteration; the loop counter runs beside them. */
static uint64_t add_chain(uint64_t iters)
{
    uint64_t x = 0;
    for (uint64_t i = 0; i < iters; i++) {
#if defined(__x86_64__)
        __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                         "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
                         : "+r"(x));
#else
        for (int k = 0; k < 8; k++) {
            x += 1;
            __asm__ volatile("" : "+r"(x));
        }
#endif
    }
    return x;
}

int main(int argc, char **argv)
{
    int cpu = -1, trials = 201;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--cpu") && i + 1 < argc)
            cpu = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--trials") && i + 1 < argc)
            trials = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: core-clock [--cpu N] [--trials N]\n");
            return 2;
        }
    }
    if (trials < 1 || trials > 100000) {
        fprintf(stderr, "core-clock: --trials: want 1..100000, got %d\n", trials);
        return 2;
    }
    if (cpu >= 0) {
        cpu_set_t s;
        CPU_ZERO(&s);
        CPU_SET(cpu, &s);
        if (sched_setaffinity(0, sizeof s, &s) != 0) {
            fprintf(stderr, "core-clock: --cpu %d: cannot run there\n", cpu);
            return 2;
        }
    }
    /* ~0.5 ms per trial at 4 GHz: shorter than a scheduler slice, so on a
     * shared machine some trials have the core alone. */
    const uint64_t iters = (uint64_t)1 << 18;
    double *ghz = malloc((size_t)trials * sizeof *ghz), best = 0;
    if (!ghz)
        return 2;
    (void)add_chain(iters); /* wake the core up to speed */
    for (int t = 0; t < trials; t++) {
        uint64_t t0 = dyt_now_ns();
        uint64_t x = add_chain(iters);
        uint64_t ns = dyt_now_ns() - t0;
        ghz[t] = (double)x / (double)ns;
        if (ghz[t] > best)
            best = ghz[t];
    }
    printf("core clock: %.3f GHz best, %.3f median (%d trials of %llu dependent adds%s)\n", best,
           stats_median(ghz, (size_t)trials), trials, (unsigned long long)(8 * iters),
           cpu >= 0 ? ", pinned" : "");
    free(ghz);
    return 0;
}
