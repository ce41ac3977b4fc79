/* dytbench run: not landed yet (placeholder replaced by its stage). */
#include "cli.h"

int cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'run' has not landed yet in this build");
}
