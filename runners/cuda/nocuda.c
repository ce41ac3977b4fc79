/* runner_cuda_run of a build without the CUDA toolkit: says so (usage
 * error, exit 2), so `dytbench run --device cuda` fails plainly. */
#include "runner.h"

int runner_cuda_run(const plan *p, const runner_opts *o, const runner_identity *id, store *s,
                    int64_t *run_id, dyt_err *e)
{
    (void)p, (void)o, (void)id, (void)s;
    *run_id = 0;
    return dyt_errf(e, DYT_USAGE,
                    "dytbench was built without CUDA (install the CUDA toolkit and rebuild "
                    "with -Dcuda=enabled)");
}
