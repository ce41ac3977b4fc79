/* dytbench show: not landed yet (placeholder replaced by its stage). */
#include "cli.h"

int cmd_show(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'show' has not landed yet in this build");
}
