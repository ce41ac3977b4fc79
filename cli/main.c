/* dytbench entry point: global options (--version, --help) and dispatch to
 * the subcommand files cmd_*.c. */
#include "cli.h"
#include "dyt_config.h"
#include "kernels.h"
#include "revision.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if DYT_HAVE_VALGRIND
#include <valgrind/valgrind.h>
#endif

static char command_line[4096];

/* Under valgrind (the instruction-count child) the process must not
 * re-execute itself: that would leave the instrumented run. */
static int under_valgrind(void)
{
#if DYT_HAVE_VALGRIND
    return RUNNING_ON_VALGRIND;
#else
    return getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload");
#endif
}

const char *cli_command_line(void) { return command_line; }

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("dytbench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return DYT_USAGE;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *what;
} commands[] = {
    {"list", cmd_list, "list suites|shapes|kernels|runs"},
    {"run", cmd_run, "run a suite and store every sample (default: the quick suite)"},
    {"show", cmd_show, "show the cases of a stored run"},
    {"report", cmd_report, "write tables, figures and an HTML page for a run"},
    {"compare", cmd_compare, "statistical regression gate between two runs"},
    {"interleave", cmd_interleave, "measure several builds in lockstep (pairs for the gate)"},
    {"calibrate", cmd_calibrate, "A/A noise calibration of this machine for the gate"},
    {"machine", cmd_machine, "print this machine's record and counter availability"},
    {"verify", cmd_verify, "check kernel variants against golden vectors and the ref oracle"},
    {"bench-kernels", cmd_bench_kernels, "quick per-variant GB/s beside STREAM copy/scale"},
};

static void usage(FILE *f)
{
    fputs("usage: dytbench [--version] [--help] <command> [options]\n\n"
          "DyT vs LayerNorm/RMSNorm benchmarking suite. Commands:\n", f);
    for (size_t i = 0; i < DYT_ARRAY_LEN(commands); i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].what);
    fputs("\n'dytbench <command> --help' describes a command's options.\n"
          "Exit codes: 0 ok; 1 verification failure or regression; 2 usage or input error.\n", f);
}

int main(int argc, char **argv)
{
    size_t off = 0;
    for (int i = 0; i < argc && off < sizeof command_line - 1; i++) {
        int w = snprintf(command_line + off, sizeof command_line - off, "%s%s", i ? " " : "", argv[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    /* Settings a backend's library reads once, when it is loaded (oneDNN's
     * libgomp: OMP_WAIT_POLICY, see kernels/onednn.c): set the ones the
     * user has not and re-execute, so the new process loads with them. */
    char self[4096];
    ssize_t self_len;
    if (!under_valgrind() && (self_len = readlink("/proc/self/exe", self, sizeof self - 1)) > 0 &&
        kern_backend_setenv() > 0) {
        self[self_len] = '\0';
        execv(self, argv); /* on failure, go on as we are */
    }
    if (argc < 2) {
        /* No command: the README's main job is `dytbench run`. */
        usage(stderr);
        return DYT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("dytbench %s (git %s)\n", DYT_VERSION, DYT_GIT_REVISION);
        return DYT_OK;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return DYT_OK;
    }
    /* Hidden: the callgrind child of `run --metric instructions`. */
    if (!strcmp(cmd, "__instr-case"))
        return cmd_internal_instr_case(argc - 1, argv + 1);
    for (size_t i = 0; i < DYT_ARRAY_LEN(commands); i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    if (cmd[0] == '-')
        return cli_usage_error("unknown option '%s' (see dytbench --help)", cmd);
    return cli_usage_error("unknown command '%s' (see dytbench --help)", cmd);
}
