/* dytbench calibrate [options] [run options]: A/A noise calibration of this
 * machine for the gate. Each of --pairs sessions is a `dytbench interleave`
 * of this build against itself (arms calib-A and calib-B, in lockstep,
 * exactly as the CI recipe measures base and candidate), on the plan the
 * run options give (the quick suite unless they say otherwise); then each
 * pair (A_i, B_i) is compared as the gate would, and per case the noise and
 * the smallest slowdown the gate can detect are stored (gate/calibrate.c).
 * Every difference between the arms is noise by construction. */
#include "cli.h"
#include "gate.h"
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PAIRS 50

/* The command line of one A/A session: `SELF interleave ARGS --db DB --arm
 * calib-A=self --arm calib-B=self` (two runs of this build in lockstep, as
 * the gate's CI recipe measures base and candidate), argc in *n; NULL if
 * out of memory. */
static char **session_argv(char *self, char **pass, int n_pass, const char *db, int *n)
{
    char **argv = calloc((size_t)n_pass + 10, sizeof *argv);
    if (!argv)
        return NULL;
    int k = 0;
    argv[k++] = self;
    argv[k++] = "interleave";
    for (int i = 0; i < n_pass; i++)
        argv[k++] = pass[i];
    argv[k++] = "--db";
    argv[k++] = (char *)db;
    argv[k++] = "--arm";
    argv[k++] = "calib-A=self";
    argv[k++] = "--arm";
    argv[k++] = "calib-B=self";
    argv[k] = NULL;
    *n = k;
    return argv;
}

/* Runs one A/A session; returns its exit code, or -1 if it could not be
 * started. */
static int run_session(char **pass, int n_pass, const char *db)
{
    char self[1024];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        return -1;
    self[sl] = '\0';
    int n;
    char **argv = session_argv(self, pass, n_pass, db, &n);
    if (!argv)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        free(argv);
        return -1;
    }
    if (pid == 0) {
        execv(self, argv);
        _exit(127);
    }
    free(argv);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

static int latest_with_label(const char *db, const char *label, int64_t *id, dyt_err *e)
{
    store *s;
    DYT_TRY(store_open(db, 0, &s, e));
    int rc = store_resolve_run(s, label, id, e);
    store_close(s);
    return rc;
}

/* --from "A:B,A:B": resolves each side in db and calibrates. */
static int from_stored(const char *db, const char *list, const gate_opts *o)
{
    int64_t run_a[MAX_PAIRS], run_b[MAX_PAIRS];
    size_t n = 0;
    dyt_err e = {{0}};
    store *s;
    int rc = store_open(db, 0, &s, &e);
    if (rc != DYT_OK)
        return cli_fail(rc, "calibrate: %s", e.msg);
    char *copy = strdup(list);
    rc = copy ? DYT_OK : cli_fail(DYT_RESOURCE, "calibrate: out of memory");
    char *save = NULL;
    for (char *pair = copy ? strtok_r(copy, ",", &save) : NULL; pair && rc == DYT_OK;
         pair = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(pair, ':');
        if (!colon || colon == pair || !colon[1] || n == MAX_PAIRS) {
            rc = cli_usage_error("calibrate: --from: '%s' is not A:B (at most %d pairs)", pair,
                                 MAX_PAIRS);
            break;
        }
        *colon = '\0';
        if ((rc = store_resolve_run(s, pair, &run_a[n], &e)) != DYT_OK ||
            (rc = store_resolve_run(s, colon + 1, &run_b[n], &e)) != DYT_OK)
            rc = cli_fail(rc, "calibrate: --from: %s", e.msg);
        n++;
    }
    free(copy);
    if (rc == DYT_OK && n == 0)
        rc = cli_usage_error("calibrate: --from: no pairs given");
    if (rc == DYT_OK && (rc = gate_calibrate_store(s, run_a, run_b, n, o, stdout, &e)) != DYT_OK)
        rc = cli_fail(rc, "calibrate: %s", e.msg);
    store_close(s);
    return rc;
}

enum { O_PAIRS = CLI_KEY, O_THRESHOLD, O_ALPHA, O_FROM, O_DB, O_METRIC };

/* Checks the sessions' options as `interleave` will be given them before
 * the first one starts. */
static int check_sessions(cli_parser *p, const char *db)
{
    int n;
    char **argv = session_argv("dytbench", p->forwarded, p->n_forwarded, db, &n);
    if (!argv)
        return cli_oom(p);
    int rc = cli_interleave_check(n - 1, argv + 1, p->who);
    free(argv);
    return rc == DYT_OK ? CLI_GO : rc;
}

static int cmd_calibrate(cli_parser *cp)
{
    for (int c; (c = cli_next(cp)) != -1;) {
        if (c == O_METRIC && strcmp(optarg, "time") != 0)
            cli_error(cp,
                      "--metric %s: only timings have noise to calibrate "
                      "(instruction counts are exact)",
                      optarg);
        else if (c == O_METRIC)
            cli_forward_current(cp);
    }
    int rc = cli_parse_end(cp, 0);
    gate_opts o;
    gate_opts_default(&o);
    o.threshold = cli_real(cp, O_THRESHOLD, o.threshold);
    o.alpha = cli_real(cp, O_ALPHA, o.alpha);
    const char *db = cli_text(cp, O_DB, STORE_DEFAULT_PATH), *from = cli_text(cp, O_FROM, NULL);
    long pairs = (long)cli_uint(cp, O_PAIRS, 2);
    if (rc == CLI_GO && from && cp->n_forwarded > 0)
        rc = cli_error(cp, "--from uses stored runs: run options make no sense with it");
    if (rc == CLI_GO && !from)
        rc = check_sessions(cp, db);
    if (rc == CLI_GO && from)
        rc = from_stored(db, from, &o);
    if (rc != CLI_GO)
        return rc;
    rc = DYT_OK;
    char **pass = cp->forwarded;
    int n_pass = cp->n_forwarded;
    int64_t run_a[MAX_PAIRS], run_b[MAX_PAIRS];
    dyt_err e = {{0}};
    for (long p = 0; p < pairs && rc == DYT_OK; p++) {
        fprintf(stderr, "calibrate: A/A session %ld of %ld (calib-A, calib-B in lockstep)\n", p + 1,
                pairs);
        int x = run_session(pass, n_pass, db);
        /* 1: some case failed; the others are still measurements. */
        if (x != 0 && x != 1) {
            rc = x > 128 ? x : DYT_USAGE;
            fprintf(stderr, "dytbench: calibrate: `dytbench interleave` %s (exit %d)\n",
                    x < 0 ? "could not be started" : "failed", x);
            break;
        }
        for (int side = 0; side < 2 && rc == DYT_OK; side++) {
            const char *label = side ? "calib-B" : "calib-A";
            if ((rc = latest_with_label(db, label, side ? &run_b[p] : &run_a[p], &e)) != DYT_OK)
                rc = cli_fail(rc, "calibrate: %s", e.msg);
        }
    }
    if (rc != DYT_OK)
        return rc;
    store *s;
    if ((rc = store_open(db, 0, &s, &e)) != DYT_OK)
        return cli_fail(rc, "calibrate: %s", e.msg);
    printf("A/A calibration, %ld pair(s):", pairs);
    for (long p = 0; p < pairs; p++)
        printf(" (%lld, %lld)", (long long)run_a[p], (long long)run_b[p]);
    printf("\n\n");
    rc = gate_calibrate_store(s, run_a, run_b, (size_t)pairs, &o, stdout, &e);
    store_close(s);
    if (rc != DYT_OK)
        return cli_fail(rc, "calibrate: %s", e.msg);
    return DYT_OK;
}

/* calibrate's own options; any other is interleave's or run's (forwarded). */
static const cli_option calibrate_options[] = {
    {"pairs", O_PAIRS, CLI_COUNT, "N", .help = "A/A sessions (default 2, at most 50)", .min = 1,
     .max = MAX_PAIRS},
    {"threshold", O_THRESHOLD, CLI_PERCENT, "PCT",
     .help = "the gate threshold to calibrate for (default 5%)"},
    {"alpha", O_ALPHA, CLI_NUMBER, "A", .help = "the gate's significance level (default 0.01)",
     .lo = 0, .hi = 0.5},
    {"db", O_DB, CLI_TEXT, "PATH",
     .help = "the store (default " STORE_DEFAULT_PATH "), also given to run"},
    {"from", O_FROM, CLI_TEXT, "A:B[,A:B]",
     .help = "calibrate from A/A pairs already stored (run ids or labels) instead of running; run "
             "options are then refused"},
    /* Set here, or not calibrated: refused. */
    {"label", 0, CLI_TEXT, .refused = " is set by calibrate (calib-A, calib-B)"},
    {"arm", 0, CLI_TEXT,
     .refused = ": the arms are set by calibrate (calib-A, calib-B: this build)"},
    {"metric", O_METRIC, CLI_TEXT, .help = NULL},
    {0},
};

const cli_command cli_cmd_calibrate = {
    .name = "calibrate",
    .what = "A/A noise calibration of this machine for the gate",
    .entry = cmd_calibrate,
    .options = calibrate_options,
    .usage = "usage: dytbench calibrate [options] [run options]\n\n"
             "Runs --pairs A/A sessions: `dytbench interleave` of this build against itself\n"
             "(arms calib-A and calib-B in lockstep, as the CI recipe measures base and\n"
             "candidate) with the given run options (default: the quick suite, 10 rounds),\n"
             "then stores per case the A/A noise and the smallest slowdown the gate can\n"
             "detect. `dytbench compare` warns when its threshold is below that noise.\n",
    .notes = "Any other option is an option of `dytbench interleave` or of its runs (e.g.\n"
             "--rounds, --model, --norm, --pass, --threads, --max-time), checked before the\n"
             "first session starts. Use the options the gate will use. --label, --arm and\n"
             "--metric instructions are refused: the labels and arms are set here, and\n"
             "instruction counts have no noise to calibrate.\n",
    .forward = &cli_cmd_interleave,
};
