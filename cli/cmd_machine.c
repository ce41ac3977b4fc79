/* dytbench machine: not landed yet (placeholder replaced by its stage). */
#include "cli.h"

int cmd_machine(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_usage_error("'machine' has not landed yet in this build");
}
