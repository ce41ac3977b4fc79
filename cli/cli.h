/* The dytbench command-line tool: one binary, one file per subcommand
 * (cmd_*.c), each described by a cli_command; the table of them
 * (commands.c); the option layer every command parses with (options.c)
 * and the help it prints (help.c). A command gets the parse of its command
 * line begun and returns the process exit code (0 ok, 1 verification
 * failure / regression, 2 usage or input, 3 resource or I/O failure). */
#pragma once
#include "common.h"

#include <getopt.h>
#include <stdio.h>

/* How the option layer reads an option's value (and how --help shows
 * it). The value of every option but CLI_TEXT's is checked as it is met,
 * by the shared parser of its kind, with the common message. */
typedef enum {
    CLI_FLAG,    /* no value */
    CLI_TEXT,    /* any text, checked (if at all) by the command */
    CLI_COUNT,   /* cli_count in [min, max] (max 0: no bound) */
    CLI_SIZE,    /* cli_size: 4096, 64K, 32M, 1G */
    CLI_SEED,    /* cli_seed */
    CLI_SECONDS, /* cli_seconds: 0 to 86400 */
    CLI_PERCENT, /* cli_percent, as a fraction */
    CLI_NUMBER,  /* cli_between: strictly between lo and hi */
    CLI_CHOICE,  /* one of choices; its value is the choice's index */
} cli_kind;

/* Keys of options without a short letter start here. */
enum { CLI_KEY = 256 };

/* One option of a command: its long name; its key, what cli_next returns
 * and the accessors take (a letter is also the option's short form, -o);
 * the kind of its value, the value's name and the option's help line in
 * --help (the layer aligns and wraps it). A table of them ends with {0};
 * a row with no name but a help is a heading in --help. An option with no
 * help, or refused, is not listed: one set on the user's behalf (run's
 * --lockstep, by interleave) or one a command checks and passes on
 * (interleave's --metric). */
typedef struct {
    const char *name;
    int key;
    cli_kind kind;
    const char *arg; /* "N", "PATH"; NULL: a choice's choices, "a|b" */
    const char *help;
    uint64_t min, max;          /* CLI_COUNT */
    double lo, hi;              /* CLI_NUMBER */
    const char *const *choices; /* CLI_CHOICE, NULL-terminated */
    /* Set: the option is refused (the command sets it itself, or does not
     * measure what it asks for); the message's end after the option's
     * name, "--label is set by ...". Not listed. */
    const char *refused;
} cli_option;

typedef struct cli_parser cli_parser;

/* A subcommand. main() begins the parse of its command line (cli_dispatch)
 * and the entry ends it (cli_parse_end). The option layer adds -h/--help
 * to every command, and prints the help from usage, the options' table
 * and notes. Short letters mean one thing in every command: -q --quiet,
 * -t --threads, -o --output (tests/cli/test_cli.c checks); -V is only the
 * top level's --version. */
typedef struct cli_command {
    const char *name;
    const char *what; /* one line for `dytbench --help` */
    int (*entry)(cli_parser *p);
    const cli_option *options;
    const char *usage; /* --help before "options:": usage line, what it does */
    const char *notes; /* --help after the options; NULL if none */
    const char *exit1; /* what exit status 1 means here; NULL if never */
    /* Options the command does not know are options of `forward` (and of
     * its own forward): parsed and checked as such, then collected for it,
     * as `interleave` does for the `run` of each arm. */
    const struct cli_command *forward;
} cli_command;

/* The commands in the order `dytbench --help` lists them (commands.c). */
extern const cli_command *const cli_commands[];
extern const size_t cli_n_commands;
const cli_command *cli_find_command(const char *name);
/* Runs command c on its command line (argv[0] its name): the parse begun,
 * the entry called, the parse released; the exit code. */
int cli_dispatch(const cli_command *c, int argc, char **argv);

extern const cli_command cli_cmd_list, cli_cmd_run, cli_cmd_show, cli_cmd_report, cli_cmd_compare,
    cli_cmd_interleave, cli_cmd_calibrate, cli_cmd_machine, cli_cmd_verify, cli_cmd_bench_kernels,
    cli_cmd_merge, cli_cmd_slurm;

/* Checks `run` options (argv[0] is a name, not read) as `run` itself
 * would before it starts, without running or writing anything; messages
 * name `who` ("interleave", "interleave: arm slow"). DYT_OK or DYT_USAGE. */
int cli_run_check(int argc, char **argv, const char *who);
/* cli_run_check, then the suites loaded and the plan built as run would
 * build it: its case count in *n_cases (slurm submit). */
int cli_run_plan_size(int argc, char **argv, const char *who, size_t *n_cases);
/* The same for `interleave` options (calibrate's sessions). */
int cli_interleave_check(int argc, char **argv, const char *who);

/* Whether the registry has a variant of that name (a --variant check of
 * verify and bench-kernels; cmd_verify.c). */
int cli_variant_known(const char *name);

/* Hidden, internal: `dytbench __instr-case ...`, the callgrind child of
 * `run --metric instructions` (cli/cmd_internal.c). Not listed in --help. */
int cmd_internal_instr_case(int argc, char **argv);

/* ---- The option layer (options.c) ---------------------------------------
 * A command's parse:
 *
 *     static int cmd_x(cli_parser *p)    (begun by cli_dispatch)
 *     {
 *         for (int c; (c = cli_next(p)) != -1;)
 *             switch (c) { case O_ARM: ...what must be done in order...; break; }
 *         if ((rc = cli_parse_end(p, 0)) != CLI_GO)
 *             return rc;
 *         const char *db = cli_text(p, O_DB, STORE_DEFAULT_PATH);
 *
 * cli_next handles --help (prints the help and the common footer, exit
 * 0), unknown options, missing or unwanted values, the values of each
 * option's kind and forwarded options; a value that fails reports and
 * stops the parse. The last value of each option is kept for the
 * accessors (cli_given, cli_text, cli_uint, cli_real, cli_index): a
 * command only handles in its loop what must be seen in order (a
 * repeatable option, a check with its own message). Every message is one
 * line `dytbench: <who>: ...` on stderr and the exit code is 2. */
enum { CLI_GO = -1, CLI_MAX_OPTIONS = 96, CLI_VAL_BASE = 0x10000 };

struct cli_parser {
    const cli_command *cmd; /* whose options are parsed */
    const char *who;        /* named in messages: cmd->name, or a caller's */
    int on_behalf;          /* 1: checked on behalf of the command who names */
    int argc;
    char **argv;
    int exit;        /* CLI_GO while parsing may go on, else the exit code */
    char opt[64];    /* the option cli_next last returned, "--threads" */
    char **operands; /* after cli_parse_end: the non-option arguments */
    int n_operands;
    char **forwarded; /* options of cmd->forward, each "--name[=value]" */
    int n_forwarded;
    /* private */
    struct option merged[CLI_MAX_OPTIONS + 1]; /* vals: CLI_VAL_BASE + index */
    const cli_option *rows[CLI_MAX_OPTIONS];   /* the table row of each entry */
    char shorts[2 * CLI_MAX_OPTIONS];
    size_t n_own;
    int done;
    struct {
        int given;
        const char *text;
        uint64_t u;
        double x;
    } seen[CLI_MAX_OPTIONS]; /* the command's own options: the last value */
};

/* who: NULL when cmd parses its own command line; else the command whose
 * options are checked on its behalf, named in messages (--help is then
 * refused: it is not passed on). */
void cli_parse_begin(cli_parser *p, const cli_command *cmd, const char *who, int argc, char **argv);
/* The next option of the command itself: its val, with optarg set; -1 at
 * the end of the options or once the parse has stopped. */
int cli_next(cli_parser *p);
/* After the options (those cli_next has not returned yet are parsed
 * first): CLI_GO to go on (operands set; more than max_operands is an
 * error), or the exit code to return now. */
int cli_parse_end(cli_parser *p, int max_operands);
/* Releases the forwarded options. */
void cli_parse_free(cli_parser *p);
/* Appends the option cli_next just returned to the forwarded ones. */
void cli_forward_current(cli_parser *p);

/* What the parse kept of the command's option key (after cli_next has
 * returned it, or cli_parse_end): how many times it was given; its last
 * value as typed, or dflt; the number of a count, size or seed; the number
 * of a seconds, percent or number; the index of a choice. */
int cli_given(const cli_parser *p, int key);
const char *cli_text(const cli_parser *p, int key, const char *dflt);
uint64_t cli_uint(const cli_parser *p, int key, uint64_t dflt);
double cli_real(const cli_parser *p, int key, double dflt);
int cli_index(const cli_parser *p, int key, int dflt);

/* Value parsers: opt names the option (NULL: the one cli_next just
 * returned). On bad input each prints `dytbench: <who>: <opt>: '<s>' is
 * not ...`, stops the parse and returns DYT_USAGE; else DYT_OK. */
/* All digits (no sign, space or suffix), in [min, max]. */
int cli_count(cli_parser *p, const char *opt, const char *s, uint64_t min, uint64_t max,
              uint64_t *out);
/* A seed: decimal, or hexadecimal after 0x; 64 bits. */
int cli_seed(cli_parser *p, const char *opt, const char *s, uint64_t *out);
/* A byte size, dyt_parse_size: "4096", "64K", "32M", "1G". */
int cli_size(cli_parser *p, const char *opt, const char *s, uint64_t *out);
/* Seconds, 0 to 86400. */
int cli_seconds(cli_parser *p, const char *opt, const char *s, double *out);
/* A thread count t for opt beyond the hardware threads this process may
 * use is refused unless oversubscribe: it would measure the scheduler,
 * not the kernel. */
int cli_threads_fit(cli_parser *p, const char *opt, uint64_t t, int oversubscribe);
/* A percentage, dyt_parse_percent ("5", "5%", "0.5%"), as a fraction. */
int cli_percent(cli_parser *p, const char *opt, const char *s, double *out);
/* A number strictly between lo and hi. */
int cli_between(cli_parser *p, const char *opt, const char *s, double lo, double hi, double *out);
/* One of the NULL-terminated choices; *out is its index. */
int cli_choice(cli_parser *p, const char *opt, const char *s, const char *const *choices, int *out);
/* Any other bad use: `dytbench: <who>: <message>`; stops the parse and
 * returns DYT_USAGE. */
int cli_error(cli_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "out of memory": stops the parse with DYT_RESOURCE, which it returns. */
int cli_oom(cli_parser *p);

/* -h, --help, which the layer adds to every command (help.c). */
extern const cli_option cli_help_option;
/* A command's --help (without the footer): usage, the options section
 * from its table, -h/--help, the notes. */
void cli_help(FILE *f, const cli_command *cmd);
/* The end of every --help: the exit statuses (exit1: what 1 means, NULL
 * if the command never exits 1). */
void cli_help_footer(FILE *f, const char *exit1);

/* Prints `dytbench: <what>` to stderr (control bytes shown escaped) and
 * returns DYT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, returning code: the status of the call that failed
 * (DYT_RESOURCE stays a resource failure); DYT_USAGE when code is not an
 * error code (0 or 1). */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The full command line as one string, for the runs table; set once by
 * main() with cli_set_command_line. */
const char *cli_command_line(void);
void cli_set_command_line(int argc, char **argv);

/* The case table of a stored run (cmd_show.c), printed by `show` in full
 * and by `run` as its closing summary (brief: fewer columns). */
struct store;
int cli_show_cases(struct store *s, int64_t run_id, int brief, FILE *f);
