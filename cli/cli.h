/* The dytbench command-line tool: one binary, one file per subcommand.
 * Each cmd_* gets argv starting at the subcommand name and returns the
 * process exit code (0 ok, 1 verification failure / regression, 2 usage). */
#pragma once
#include "common.h"

int cmd_list(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_interleave(int argc, char **argv);
int cmd_machine(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_bench_kernels(int argc, char **argv);
/* Hidden, internal: `dytbench __instr-case ...`, the callgrind child of
 * `run --metric instructions` (cli/cmd_internal.c). Not listed in --help. */
int cmd_internal_instr_case(int argc, char **argv);

/* Prints `dytbench: <what>` to stderr and returns DYT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The full command line as one string, for the runs table. */
const char *cli_command_line(void);

/* The case table of a stored run (cmd_show.c), printed by `show` in full
 * and by `run` as its closing summary (brief: fewer columns). */
struct store;
int cli_show_cases(struct store *s, int64_t run_id, int brief, FILE *f);
