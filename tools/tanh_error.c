/* tanh-error: measures the vectorized tanh of the x86 kernels (x86.h)
 * exhaustively: every one of the 2^32 fp32 bit patterns, against the C
 * library's double tanh, in units in the last place of the fp32 result
 * (ulp of the exact value's binade, 2^-149 at the bottom). Prints, per
 * ISA the CPU has, the maximum error and the input where it occurs, and
 * checks the specials: NaN -> NaN, tanh(+-inf) = +-1, tanh(+-0) = +-0.
 * docs/tanh.md quotes its output.
 *
 *   tanh-error [--threads N] [--isa avx2|avx512|all]
 *
 * Exit 0 when the sweep ran and every special was right, 1 otherwise. */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "common.h"
#include "kernels.h"
#include "x86/x86.h"

#define BLOCK 65536u

typedef void (*tanh_fn)(const float *, float *, size_t);

typedef struct {
    tanh_fn fn;
    uint32_t begin, end; /* positive bit patterns [begin, end) in blocks */
    double max_ulp;
    uint32_t worst_bits;
    uint64_t bad_specials;
    uint64_t over1, over2; /* counts of results off by > 1 and > 2 ulp */
} sweep_part;

/* Error of got against the exact (double) value, in ulps of the fp32
 * binade of the exact value. */
static double ulp_err(float got, double exact)
{
    return fabs((double)got - exact) / check_ulp(exact, 0);
}

static void *sweep(void *arg)
{
    sweep_part *p = arg;
    float *x = malloc(2 * BLOCK * sizeof *x), *y = malloc(2 * BLOCK * sizeof *y);
    if (!x || !y) {
        free(x), free(y);
        p->bad_specials = UINT64_MAX;
        return NULL;
    }
    for (uint64_t b = p->begin; b < p->end; b += BLOCK) {
        for (uint32_t i = 0; i < BLOCK; i++) {
            x[i] = f32_from_bits((uint32_t)b + i);
            x[BLOCK + i] = -x[i];
        }
        p->fn(x, y, 2 * BLOCK);
        for (uint32_t i = 0; i < BLOCK; i++) {
            float xf = x[i];
            if (isnan(xf)) {
                if (!isnan(y[i]) || !isnan(y[BLOCK + i]))
                    p->bad_specials++;
                continue;
            }
            double ex = tanh((double)xf);
            for (int s = 0; s < 2; s++) {
                float got = y[s * BLOCK + i];
                double e = ulp_err(got, s ? -ex : ex);
                if (xf == 0 && !!signbit(got) != s)
                    p->bad_specials++;
                if (e > 1)
                    p->over1++;
                if (e > 2)
                    p->over2++;
                if (e > p->max_ulp) {
                    p->max_ulp = e;
                    p->worst_bits = (uint32_t)b + i + (s ? 0x80000000u : 0);
                }
            }
        }
    }
    free(x);
    free(y);
    return NULL;
}

static int run_isa(const char *name, tanh_fn fn, int threads)
{
    sweep_part *parts = calloc((size_t)threads, sizeof *parts);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    if (!parts || !th) {
        fprintf(stderr, "tanh-error: out of memory\n");
        free(parts), free(th);
        return 1;
    }
    const uint64_t blocks = 0x80000000ull / BLOCK;
    uint64_t t0 = dyt_now_ns();
    int started = 0;
    for (int t = 0; t < threads; t++) {
        parts[t].fn = fn;
        parts[t].begin = (uint32_t)(blocks * (uint64_t)t / (uint64_t)threads * BLOCK);
        parts[t].end = (uint32_t)(blocks * (uint64_t)(t + 1) / (uint64_t)threads * BLOCK);
        if (t == threads - 1)
            parts[t].end = 0x80000000u;
        if (pthread_create(&th[t], NULL, sweep, &parts[t]) != 0)
            break;
        started++;
    }
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    double secs = (double)(dyt_now_ns() - t0) * 1e-9;
    sweep_part all = {0};
    for (int t = 0; t < started; t++) {
        all.bad_specials += parts[t].bad_specials;
        all.over1 += parts[t].over1;
        all.over2 += parts[t].over2;
        if (parts[t].max_ulp > all.max_ulp) {
            all.max_ulp = parts[t].max_ulp;
            all.worst_bits = parts[t].worst_bits;
        }
    }
    int rc = started == threads && all.bad_specials == 0 ? 0 : 1;
    float wx = f32_from_bits(all.worst_bits), wy;
    fn(&wx, &wy, 1);
    printf("%-7s all 2^32 inputs in %.1f s (%d threads): max error %.3f ulp at x = %.9g "
           "(0x%08x): got %.9g, tanh = %.12g; %llu results > 1 ulp, %llu > 2 ulp; specials %s\n",
           name, secs, started, all.max_ulp, (double)wx, all.worst_bits, (double)wy,
           tanh((double)wx), (unsigned long long)all.over1, (unsigned long long)all.over2,
           all.bad_specials ? "WRONG" : "ok (NaN, +-inf, +-0)");
    free(parts);
    free(th);
    return rc;
}

static int check_fixed(const char *name, tanh_fn fn)
{
    const float in[] = {INFINITY, -INFINITY, 0.0f, -0.0f, NAN, 20.0f, -20.0f};
    const float want[] = {1.0f, -1.0f, 0.0f, -0.0f, NAN, 1.0f, -1.0f};
    float out[7];
    fn(in, out, 7);
    int bad = 0;
    for (int i = 0; i < 7; i++) {
        int ok = isnan(want[i]) ? isnan(out[i])
                                : out[i] == want[i] && signbit(out[i]) == signbit(want[i]);
        if (!ok) {
            fprintf(stderr, "tanh-error: %s: tanh(%g) = %g, want %g\n", name, (double)in[i],
                    (double)out[i], (double)want[i]);
            bad = 1;
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"threads", required_argument, NULL, 't'},
        {"isa", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    const char *isa = "all";
    int c;
    while ((c = getopt_long(argc, argv, "t:i:h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            threads = atoi(optarg);
            if (threads < 1 || threads > 1024) {
                fprintf(stderr, "tanh-error: --threads: want 1..1024, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'i':
            isa = optarg;
            if (strcmp(isa, "avx2") && strcmp(isa, "avx512") && strcmp(isa, "all")) {
                fprintf(stderr, "tanh-error: --isa: want avx2, avx512 or all, got '%s'\n", isa);
                return 2;
            }
            break;
        case 'h':
            printf("usage: tanh-error [--threads N] [--isa avx2|avx512|all]\n"
                   "Sweeps all 2^32 fp32 inputs of the kernels' vectorized tanh against double\n"
                   "tanh and prints the maximum error in ulp (see docs/tanh.md).\n");
            return 0;
        default:
            return 2;
        }
    }
    if (threads < 1)
        threads = 1;
    unsigned flags = kern_cpu_flags();
    int rc = 0, ran = 0;
    if ((!strcmp(isa, "all") || !strcmp(isa, "avx512")) && (flags & ISA_AVX512)) {
        rc |= check_fixed("avx512", kx_tanh_avx512);
        rc |= run_isa("avx512", kx_tanh_avx512, threads);
        ran++;
    }
    if ((!strcmp(isa, "all") || !strcmp(isa, "avx2")) && (flags & ISA_AVX2)) {
        rc |= check_fixed("avx2", kx_tanh_avx2);
        rc |= run_isa("avx2", kx_tanh_avx2, threads);
        ran++;
    }
    if (!ran) {
        fprintf(stderr, "tanh-error: this CPU has none of the requested ISAs (%s)\n", isa);
        return 77;
    }
    return rc;
}
