/* dytbench verify: not landed yet (placeholder replaced by its stage). */
#include "cli.h"

int cmd_verify(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'verify' has not landed yet in this build");
}
