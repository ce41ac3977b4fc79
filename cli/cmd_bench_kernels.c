/* dytbench bench-kernels: not landed yet (placeholder replaced by its stage). */
#include "cli.h"

int cmd_bench_kernels(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'bench-kernels' has not landed yet in this build");
}
