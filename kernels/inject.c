/* kern_call and the injected slowdown used to validate the regression gate
 * (docs/gate.md). The slowdown is real extra work inside the timed region:
 * after the kernel returns, the calling thread spins for `fraction` of the
 * time the call itself took, so a 10% injection makes every call ~10%
 * slower whatever its size, and nothing stored is ever edited. */
#include "common.h"
#include "kernels.h"

#include <string.h>

static char injected_variant[32];
static double injected_fraction;

void kern_set_injected_slowdown(const char *variant, double fraction)
{
    if (!variant || fraction <= 0) {
        injected_variant[0] = '\0';
        injected_fraction = 0;
        return;
    }
    snprintf(injected_variant, sizeof injected_variant, "%s", variant);
    injected_fraction = fraction;
}

int kern_call(const kern_entry *e, const norm_args *a, const kern_exec *ex)
{
    if (injected_fraction <= 0 || strcmp(e->name, injected_variant) != 0)
        return e->fn(a, ex);
    uint64_t t0 = dyt_now_ns();
    int rc = e->fn(a, ex);
    uint64_t t1 = dyt_now_ns();
    uint64_t until = t1 + (uint64_t)((double)(t1 - t0) * injected_fraction);
    while (dyt_now_ns() < until)
        ;
    return rc;
}
