/* dytbench report: not landed yet (placeholder replaced by its stage). */
#include "cli.h"

int cmd_report(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'report' has not landed yet in this build");
}
