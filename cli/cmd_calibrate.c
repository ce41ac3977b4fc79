/* dytbench calibrate: not landed yet (placeholder replaced by its stage). */
#include "cli.h"

int cmd_calibrate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'calibrate' has not landed yet in this build");
}
