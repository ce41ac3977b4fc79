/* dytbench compare: not landed yet (placeholder replaced by its stage). */
#include "cli.h"

int cmd_compare(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'compare' has not landed yet in this build");
}
