/* dytbench entry point: the command line recorded for the runs table,
 * global options (--version, --help) and dispatch through the command
 * table (commands.c). */
#include "cli.h"
#include "dyt_config.h"
#include "kernels.h"
#include "revision.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if DYT_HAVE_VALGRIND
#include <valgrind/valgrind.h>
#endif

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

static void usage(FILE *f)
{
    fputs("usage: dytbench [-V|--version] [-h|--help] <command> [options]\n\n"
          "DyT vs LayerNorm/RMSNorm benchmarking suite. Commands:\n",
          f);
    for (size_t i = 0; i < cli_n_commands; i++)
        fprintf(f, "  %-14s %s\n", cli_commands[i]->name, cli_commands[i]->what);
    fputs("\n'dytbench <command> --help' describes a command's options.\n", f);
    cli_help_footer(f, "a verification failure or a regression");
}

/* What the command wrote to stdout must have reached it: a full disk or a
 * closed pipe behind stdout is an I/O failure (exit 3), not a success. */
static int finish(int rc)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return rc;
    cli_fail(DYT_RESOURCE, "writing standard output: %s", strerror(errno));
    return rc == DYT_OK ? DYT_RESOURCE : rc;
}

int main(int argc, char **argv)
{
    cli_set_command_line(argc, argv);
    /* Settings a backend's library reads once, when it is loaded (oneDNN's
     * libgomp: GOMP_SPINCOUNT, see kernels/onednn.c): set the ones the
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
        return finish(DYT_OK);
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return finish(DYT_OK);
    }
    /* Hidden: the callgrind child of `run --metric instructions`. */
    if (!strcmp(cmd, "__instr-case"))
        return cmd_internal_instr_case(argc - 1, argv + 1);
    const cli_command *c = cli_find_command(cmd);
    if (c)
        return finish(cli_dispatch(c, argc - 1, argv + 1));
    if (cmd[0] == '-')
        return cli_usage_error("unknown option '%s' (see dytbench --help)", cmd);
    return cli_usage_error("unknown command '%s' (see dytbench --help)", cmd);
}
