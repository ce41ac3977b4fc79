/* Fuzz target: the CLI's option layer. The input is a command line, its
 * arguments separated by NUL bytes; the first names a command of the table
 * (else its first byte picks one). The command's options are parsed as the
 * command would (every value also through each shared value parser), then
 * checked on behalf of run and interleave the way interleave and calibrate
 * do. Nothing runs and nothing is written: only the parsing is under test.
 * (run_fuzz.sh has libFuzzer close the target's stdout and stderr: --help
 * and the messages would fill the log.) */
#include "cli.h"
#include "fuzz.h"

#define MAX_ARGS 48

/* Every value parser of the layer on one value (a failure stops the
 * parse: the caller resumes it). */
static void parse_value(cli_parser *p, const char *v)
{
    static const char *const choices[] = {"hot", "cold", NULL};
    uint64_t u;
    double d;
    int k;
    cli_count(p, "--n", v, 1, 4096, &u);
    cli_seed(p, "--seed", v, &u);
    cli_size(p, "--size", v, &u);
    cli_seconds(p, "--s", v, &d);
    cli_percent(p, "--pct", v, &d);
    cli_between(p, "--x", v, 0, 0.5, &d);
    cli_choice(p, "--c", v, choices, &k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *text = fuzz_text(data, size);
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (size_t at = 0; at <= size && argc < MAX_ARGS; at += strlen(text + at) + 1)
        argv[argc++] = text + at;
    argv[argc] = NULL;
    const cli_command *cmd = cli_find_command(argv[0]);
    if (!cmd)
        cmd = cli_commands[(unsigned char)argv[0][0] % cli_n_commands];
    cli_parser p;
    cli_parse_begin(&p, cmd, NULL, argc, argv);
    for (int c; (c = cli_next(&p)) != -1;)
        if (optarg) {
            int saved = p.exit;
            parse_value(&p, optarg);
            p.exit = saved;
        }
    cli_parse_end(&p, argc);
    cli_parse_free(&p);
    cli_run_check(argc, argv, "fuzz");
    cli_interleave_check(argc, argv, "fuzz");
    free(text);
    return 0;
}
