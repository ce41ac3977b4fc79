/* The runner of each device. The CUDA runner is linked only in CUDA
 * builds; this list is the one place in runners/ that says so. A device
 * without a runner here is one the registry reports as not built
 * (kern_device_usable), and its reason is the answer. */
#include "dyt_config.h"
#include "runner.h"

typedef int (*device_runner)(const plan *p, const runner_opts *o, const runner_identity *id,
                             runner_stepper *step, store *s, int64_t *run_id, dyt_err *e);

#if DYT_HAVE_CUDA
/* The CUDA runner takes no steps: `interleave` pairs CPU builds only. */
static int cuda_run(const plan *p, const runner_opts *o, const runner_identity *id,
                    runner_stepper *step, store *s, int64_t *run_id, dyt_err *e)
{
    if (step) {
        *run_id = 0;
        return dyt_errf(e, DYT_USAGE, "--lockstep: the CUDA runner cannot run in lockstep "
                                      "(interleave measures CPU builds)");
    }
    return runner_cuda_run(p, o, id, s, run_id, e);
}
#endif

static const struct {
    device_kind device;
    device_runner run;
} runners[] = {
    {DEVICE_CPU, runner_cpu_run},
#if DYT_HAVE_CUDA
    {DEVICE_CUDA, cuda_run},
#endif
};

int runner_run(device_kind device, const plan *p, const runner_opts *o, const runner_identity *id,
               runner_stepper *step, store *s, int64_t *run_id, dyt_err *e)
{
    /* A framework peer measures CPU cases beside the CPU runner's. */
    if (o->peer.name) {
        *run_id = 0;
        if (device != DEVICE_CPU)
            return dyt_errf(e, DYT_USAGE, "--peer %s measures CPU cases (--device cpu)",
                            o->peer.name);
        return runner_torch_run(p, o, id, step, s, run_id, e);
    }
    for (size_t i = 0; i < DYT_ARRAY_LEN(runners); i++)
        if (runners[i].device == device)
            return runners[i].run(p, o, id, step, s, run_id, e);
    *run_id = 0;
    char why[256];
    kern_device_usable(device, why, sizeof why);
    return dyt_errf(e, DYT_USAGE, "%s", why[0] ? why : "no runner for this device");
}
