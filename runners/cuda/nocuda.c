/* runner_cuda_run of a build without the CUDA toolkit: says so (usage
 * error, exit 2), so `dytbench run --device cuda` fails plainly. */
#include "runner.h"

int runner_cuda_run(const plan *p, const runner_opts *o, store *s, const char *suites_desc,
                    const char *suite_hash, const char *command_line, int64_t *run_id, dyt_err *e)
{
    (void)p, (void)o, (void)s, (void)suites_desc, (void)suite_hash, (void)command_line;
    *run_id = 0;
    return dyt_errf(e, DYT_USAGE,
                    "dytbench was built without CUDA (install the CUDA toolkit and rebuild "
                    "with -Dcuda=enabled)");
}
