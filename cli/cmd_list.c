/* dytbench list: not landed yet (placeholder replaced by its stage). */
#include "cli.h"

int cmd_list(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'list' has not landed yet in this build");
}
