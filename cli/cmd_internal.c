/* Hidden internal subcommands, not listed in --help: `dytbench __instr-case
 * ...` is the child that `run --metric instructions` executes under
 * callgrind (runners/cpu/instructions.c builds the arguments and reads the
 * result). Users never type it; it only checks it was given its exact
 * argument list. */
#include "cli.h"
#include "runner.h"

int cmd_internal_instr_case(int argc, char **argv)
{
    return runner_cpu_instructions_child(argc, argv);
}
