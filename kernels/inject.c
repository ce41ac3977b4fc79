/* kern_call and the injected slowdown used to validate the regression gate
 * (docs/gate.md). The slowdown is real extra work inside the timed region:
 * after the kernel returns, the calling thread runs a spin loop sized to
 * `fraction` of the time the call itself takes, so a 10% injection makes
 * every call ~10% slower whatever its size, and nothing stored is edited.
 *
 * Calibrated, not clocked per call: a clock read costs ~30 ns in this VM,
 * which would add 20-30% to a 350 ns decode-shaped call on its own. So
 * the loop's speed (iterations per ns) is measured once, and the call's
 * own time is estimated from one call in 64 timed with the clock (the
 * reads sit outside the estimate and add < 1 ns per call on average); the
 * other calls spin fraction x estimate x speed iterations and read no
 * clock at all. The estimate restarts when the shape changes. */
#include "common.h"
#include "kernels.h"
#include "stats.h"

#include <stdlib.h>
#include <string.h>

#define TIME_EVERY 64

static char injected_variant[32];
static double injected_fraction;
static double spin_per_ns; /* spin loop iterations per ns */
static double clock_ns;    /* what a pair of clock reads adds to an interval */

static struct {
    size_t rows, cols;
    int dtype;
    const void *fn;
    double est_ns; /* the call's own time, exponentially averaged; 0 = none */
    uint64_t calls;
} cur;

/* A dependent chain the compiler cannot remove or vectorise: the sink is
 * volatile and each step needs the previous one. */
static volatile uint64_t spin_sink;
static void spin(uint64_t iters)
{
    uint64_t x = spin_sink | 1;
    for (uint64_t i = 0; i < iters; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    spin_sink = x;
}

static void calibrate_spin(void)
{
    /* The median of several tries: the loop's typical speed, as the
     * injected calls will meet it (the fastest try would overstate it and
     * so over-inject). */
    double rate[7];
    for (int t = 0; t < 7; t++) {
        const uint64_t n = 1000000;
        uint64_t t0 = dyt_now_ns();
        spin(n);
        double ns = (double)(dyt_now_ns() - t0);
        rate[t] = ns > 0 ? (double)n / ns : 1.0;
    }
    double best = stats_median(rate, 7);
    spin_per_ns = best > 0 ? best : 1.0;
    /* An empty interval: the cost a timed call's reads add to its time. */
    double least = 1e9;
    for (int t = 0; t < 1000; t++) {
        uint64_t t0 = dyt_now_ns();
        double ns = (double)(dyt_now_ns() - t0);
        if (ns < least)
            least = ns;
    }
    clock_ns = least;
}

void kern_set_injected_slowdown(const char *variant, double fraction)
{
    memset(&cur, 0, sizeof cur);
    if (!variant || fraction <= 0) {
        injected_variant[0] = '\0';
        injected_fraction = 0;
        return;
    }
    snprintf(injected_variant, sizeof injected_variant, "%s", variant);
    injected_fraction = fraction;
    calibrate_spin();
}

int kern_call(const kern_entry *e, const norm_args *a, const kern_exec *ex)
{
    if (injected_fraction <= 0 || strcmp(e->name, injected_variant) != 0)
        return e->fn(a, ex);
    if (cur.rows != a->rows || cur.cols != a->cols || cur.dtype != (int)a->dtype ||
        cur.fn != (const void *)e->fn) {
        cur.rows = a->rows;
        cur.cols = a->cols;
        cur.dtype = (int)a->dtype;
        cur.fn = (const void *)e->fn;
        cur.est_ns = 0;
        cur.calls = 0;
    }
    int rc;
    if (cur.calls++ % TIME_EVERY == 0) {
        uint64_t t0 = dyt_now_ns();
        rc = e->fn(a, ex);
        double ns = (double)(dyt_now_ns() - t0) - clock_ns;
        ns = ns > 0 ? ns : 0;
        cur.est_ns = cur.est_ns > 0 ? 0.875 * cur.est_ns + 0.125 * ns : ns;
    } else {
        rc = e->fn(a, ex);
    }
    spin((uint64_t)(injected_fraction * cur.est_ns * spin_per_ns + 0.5));
    return rc;
}
