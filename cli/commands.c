/* The table of dytbench's subcommands, in the order `dytbench --help`
 * lists them. Each command describes itself (name, summary, entry point,
 * options, help) in its own cmd_*.c; adding one is that descriptor and a
 * line here. main.c dispatches through this table and tests/cli walks it. */
#include "cli.h"

#include <string.h>

const cli_command *const cli_commands[] = {
    &cli_cmd_list,    &cli_cmd_run,           &cli_cmd_show,      &cli_cmd_report,
    &cli_cmd_compare, &cli_cmd_interleave,    &cli_cmd_calibrate, &cli_cmd_machine,
    &cli_cmd_verify,  &cli_cmd_bench_kernels, &cli_cmd_merge,     &cli_cmd_slurm,
};
const size_t cli_n_commands = DYT_ARRAY_LEN(cli_commands);

const cli_command *cli_find_command(const char *name)
{
    for (size_t i = 0; i < cli_n_commands; i++)
        if (!strcmp(cli_commands[i]->name, name))
            return cli_commands[i];
    return NULL;
}

int cli_dispatch(const cli_command *c, int argc, char **argv)
{
    cli_parser p;
    cli_parse_begin(&p, c, NULL, argc, argv);
    int rc = c->entry(&p);
    cli_parse_free(&p);
    return rc;
}
