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

static void usage(FILE *f)
{
    fputs("usage: dytbench calibrate [options] [run options]\n\n"
          "Runs --pairs A/A sessions: `dytbench interleave` of this build against itself\n"
          "(arms calib-A and calib-B in lockstep, as the CI recipe measures base and\n"
          "candidate) with the given run options (default: the quick suite, 10 rounds),\n"
          "then stores per case the A/A noise and the smallest slowdown the gate can\n"
          "detect. `dytbench compare` warns when its threshold is below that noise.\n\n"
          "  --pairs N         A/A sessions (default 2, at most 50)\n"
          "  --threshold PCT   the gate threshold to calibrate for (default 5%)\n"
          "  --alpha A         the gate's significance level (default 0.01)\n"
          "  --db PATH         the store (default " STORE_DEFAULT_PATH "), also given to run\n"
          "  --from A:B[,A:B]  calibrate from A/A pairs already stored (run ids or labels)\n"
          "                    instead of running; run options are then refused\n"
          "  -h, --help\n\n"
          "Any other option is passed to `dytbench interleave` and its runs (e.g.\n"
          "--rounds, --model, --norm, --pass, --threads, --max-time). Use the options the\n"
          "gate will use. --label and --metric instructions are refused: the labels are\n"
          "set here, and instruction counts have no noise to calibrate.\n",
          f);
}


/* --name VALUE or --name=VALUE at argv[*i]; advances *i past it. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *bad)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *bad = 1;
        return NULL;
    }
    return argv[++*i];
}

/* Runs one A/A session: `dytbench interleave ARGS --db DB --arm calib-A=self
 * --arm calib-B=self` (two runs of this build in lockstep, as the gate's
 * CI recipe measures base and candidate); returns its exit code, or -1 if
 * it could not be started. */
static int run_session(char **pass, int n_pass, const char *db)
{
    char self[1024];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        return -1;
    self[sl] = '\0';
    char **argv = calloc((size_t)n_pass + 10, sizeof *argv);
    if (!argv)
        return -1;
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
    if (store_open(db, 0, &s, e) != DYT_OK)
        return DYT_USAGE;
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
    if (store_open(db, 0, &s, &e) != DYT_OK)
        return cli_usage_error("calibrate: %s", e.msg);
    char *copy = strdup(list);
    int rc = copy ? DYT_OK : cli_usage_error("calibrate: out of memory");
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
        if (store_resolve_run(s, pair, &run_a[n], &e) != DYT_OK ||
            store_resolve_run(s, colon + 1, &run_b[n], &e) != DYT_OK)
            rc = cli_usage_error("calibrate: --from: %s", e.msg);
        n++;
    }
    free(copy);
    if (rc == DYT_OK && n == 0)
        rc = cli_usage_error("calibrate: --from: no pairs given");
    if (rc == DYT_OK && gate_calibrate_store(s, run_a, run_b, n, o, stdout, &e) != DYT_OK)
        rc = cli_usage_error("calibrate: %s", e.msg);
    store_close(s);
    return rc;
}

int cmd_calibrate(int argc, char **argv)
{
    gate_opts o;
    gate_opts_default(&o);
    const char *db = STORE_DEFAULT_PATH;
    long pairs = 2;
    const char *from = NULL;
    char **pass = calloc((size_t)argc + 1, sizeof *pass);
    if (!pass)
        return cli_usage_error("calibrate: out of memory");
    int n_pass = 0, rc = DYT_OK;
    for (int i = 1; i < argc; i++) {
        int bad = 0;
        const char *v;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            free(pass);
            return DYT_OK;
        } else if ((v = opt_value(argc, argv, &i, "--pairs", &bad))) {
            char *end;
            pairs = strtol(v, &end, 10);
            if (*end || pairs < 1 || pairs > MAX_PAIRS)
                bad = 1;
        } else if ((v = opt_value(argc, argv, &i, "--threshold", &bad))) {
            bad = dyt_parse_percent(v, &o.threshold) != 0;
        } else if ((v = opt_value(argc, argv, &i, "--alpha", &bad))) {
            bad = dyt_parse_double(v, &o.alpha) != 0 || !(o.alpha > 0 && o.alpha < 0.5);
        } else if ((v = opt_value(argc, argv, &i, "--from", &bad))) {
            from = v;
        } else if ((v = opt_value(argc, argv, &i, "--db", &bad))) {
            db = v;
        } else if ((v = opt_value(argc, argv, &i, "--label", &bad))) {
            free(pass);
            return cli_usage_error("calibrate: --label is set by calibrate (calib-A, calib-B)");
        } else if ((v = opt_value(argc, argv, &i, "--metric", &bad))) {
            if (strcmp(v, "time") != 0) {
                free(pass);
                return cli_usage_error("calibrate: --metric %s: only timings have noise to "
                                       "calibrate (instruction counts are exact)",
                                       v);
            }
        } else if (!bad) {
            pass[n_pass++] = argv[i];
        }
        if (bad) {
            usage(stderr);
            free(pass);
            return cli_usage_error("calibrate: bad or missing value for %s", argv[i]);
        }
    }
    int64_t run_a[MAX_PAIRS], run_b[MAX_PAIRS];
    dyt_err e = {{0}};
    if (from) {
        int bad_opt = n_pass > 0;
        free(pass);
        if (bad_opt)
            return cli_usage_error("calibrate: --from uses stored runs: run options make no "
                                   "sense with it");
        return from_stored(db, from, &o);
    }
    for (long p = 0; p < pairs && rc == DYT_OK; p++) {
        fprintf(stderr, "calibrate: A/A session %ld of %ld (calib-A, calib-B in lockstep)\n",
                p + 1, pairs);
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
            if (latest_with_label(db, label, side ? &run_b[p] : &run_a[p], &e) != DYT_OK)
                rc = cli_usage_error("calibrate: %s", e.msg);
        }
    }
    free(pass);
    if (rc != DYT_OK)
        return rc;
    store *s;
    if (store_open(db, 0, &s, &e) != DYT_OK)
        return cli_usage_error("calibrate: %s", e.msg);
    printf("A/A calibration, %ld pair(s):", pairs);
    for (long p = 0; p < pairs; p++)
        printf(" (%lld, %lld)", (long long)run_a[p], (long long)run_b[p]);
    printf("\n\n");
    rc = gate_calibrate_store(s, run_a, run_b, (size_t)pairs, &o, stdout, &e);
    store_close(s);
    if (rc != DYT_OK)
        return cli_usage_error("calibrate: %s", e.msg);
    return DYT_OK;
}
