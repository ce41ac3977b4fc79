/* dytbench interleave --arm NAME=EXE [...] [run options]: measures several
 * builds ("arms": the base and the candidate of a change, or one build with
 * different options) on this machine in LOCKSTEP. Each arm is a real
 * `EXE run` process with the same plan, rounds and seed; the coordinator
 * hands the machine to one arm at a time, one step (set-up, one block of
 * one case, the final storing) per turn, the arms' order shuffled every
 * turn. Block r of a case is then measured by every arm within a few
 * blocks' time, and `compare` pairs them (gate/compare.c, paired mode).
 *
 * Why: on a shared machine the speed of everything drifts by tens of
 * percent over tens of seconds (docs/gate.md, measured). Two runs taken one
 * after the other see different drifts in all their cases, and no
 * statistic on the runs' own samples can tell that from a code change;
 * pairs taken a few milliseconds apart share the drift, and their ratio
 * does not. Chromium's Pinpoint and Mozilla's perfherder alternate A/B
 * builds for the same reason, at the granularity of whole runs. */
#include "cli.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARMS 16
#define MAX_ARM_OPTS 32

typedef struct {
    char name[128];
    char *spec; /* owned copy of NAME=EXE OPTS, cut into the fields */
    char *exe;
    char *opts[MAX_ARM_OPTS];
    int n_opts;
    pid_t pid;
    int go_fd, done_fd; /* coordinator's ends */
    int alive, status, steps;
} arm;

static int parse_arm(cli_parser *p, const char *spec, arm *a)
{
    memset(a, 0, sizeof *a);
    a->go_fd = a->done_fd = -1;
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof a->name || !eq[1])
        return cli_error(p, "--arm: want NAME=EXE[ OPTIONS], got '%s'", spec);
    snprintf(a->name, sizeof a->name, "%.*s", (int)(eq - spec), spec);
    if (strchr(a->name, ' '))
        return cli_error(p, "--arm: the name '%s' contains a space", a->name);
    if (!(a->spec = strdup(eq + 1)))
        return cli_oom(p);
    char *save = NULL;
    a->exe = strtok_r(a->spec, " \t", &save);
    if (!a->exe)
        return cli_error(p, "--arm %s: no executable", a->name);
    for (char *t; (t = strtok_r(NULL, " \t", &save));) {
        if (a->n_opts == MAX_ARM_OPTS)
            return cli_error(p, "--arm %s: more than %d options", a->name, MAX_ARM_OPTS);
        if (!strcmp(t, "--label") || !strncmp(t, "--label=", 8))
            return cli_error(p, "--arm %s: --label is the arm's name", a->name);
        a->opts[a->n_opts++] = t;
    }
    return DYT_OK;
}

/* Starts an arm: EXE run PASS... ARM-OPTS... --db DB --label NAME --rounds R
 * --lockstep IN,OUT --lockstep-token T --arm NAME --quiet. */
static int start_arm(arm *a, const char *self, char **pass, int n_pass, const char *db,
                     const char *rounds, const char *token)
{
    int go[2], done[2];
    if (pipe2(go, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(done, O_CLOEXEC) != 0) {
        close(go[0]);
        close(go[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(go[0]), close(go[1]), close(done[0]), close(done[1]);
        return -1;
    }
    if (pid == 0) {
        /* dup() leaves the copies open across exec; everything else of the
         * coordinator's (other arms' pipes included) is close-on-exec. */
        int in = dup(go[0]), out = dup(done[1]);
        /* An arm's stdout is its run summary: noise beside the session's
         * own; errors still reach stderr. */
        int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null_fd >= 0)
            dup2(null_fd, STDOUT_FILENO);
        char fds[32];
        snprintf(fds, sizeof fds, "%d,%d", in, out);
        char **argv = calloc((size_t)(n_pass + a->n_opts + 20), sizeof *argv);
        if (in < 0 || out < 0 || !argv)
            _exit(DYT_USAGE);
        int k = 0;
        argv[k++] = strcmp(a->exe, "self") ? a->exe : (char *)self;
        argv[k++] = "run";
        for (int i = 0; i < n_pass; i++)
            argv[k++] = pass[i];
        argv[k++] = "--db";
        argv[k++] = (char *)db;
        argv[k++] = "--rounds";
        argv[k++] = (char *)rounds;
        for (int i = 0; i < a->n_opts; i++) /* after the common ones: they win */
            argv[k++] = a->opts[i];
        argv[k++] = "--label";
        argv[k++] = a->name;
        argv[k++] = "--lockstep";
        argv[k++] = fds;
        argv[k++] = "--lockstep-token";
        argv[k++] = (char *)token;
        argv[k++] = "--arm";
        argv[k++] = a->name;
        argv[k++] = "--quiet";
        execv(argv[0], argv);
        fprintf(stderr, "dytbench: interleave: arm %s: cannot run %s: %s\n", a->name, argv[0],
                strerror(errno));
        _exit(DYT_USAGE);
    }
    close(go[0]);
    close(done[1]);
    a->pid = pid;
    a->go_fd = go[1];
    a->done_fd = done[0];
    a->alive = 1;
    return 0;
}

/* One turn of arm a: go, then wait for its step to end. An arm that has
 * exited (end of file, or a write to a closed pipe) is reaped. */
static void take_turn(arm *a)
{
    const char g = 'g';
    ssize_t w;
    do
        w = write(a->go_fd, &g, 1);
    while (w < 0 && errno == EINTR);
    char c = 0;
    ssize_t r = -1;
    if (w == 1)
        do
            r = read(a->done_fd, &c, 1);
        while (r < 0 && errno == EINTR);
    if (r == 1) {
        a->steps++;
        return;
    }
    close(a->go_fd);
    close(a->done_fd);
    a->go_fd = a->done_fd = -1;
    a->alive = 0;
    int st = 0;
    while (waitpid(a->pid, &st, 0) < 0 && errno == EINTR)
        ;
    a->status = st;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

enum { O_ARM = CLI_KEY, O_ROUNDS, O_SHUFFLE_SEED, O_DB, O_METRIC, O_DEVICE };

/* A session's options: its own, the arms, and (in p->forwarded) the run
 * options for every arm. */
typedef struct {
    arm arms[MAX_ARMS];
    int n_arms;
    const char *db, *rounds;
    uint64_t order_seed;
    int have_seed;
    cli_parser *p;
} session_opts;

static void session_free(session_opts *so)
{
    for (int k = 0; k < so->n_arms; k++)
        free(so->arms[k].spec);
    so->n_arms = 0;
}

/* Checks, as run will see them, the options every arm is given and an arm
 * of this binary's own ones. */
static int check_run_options(session_opts *so)
{
    cli_parser *p = so->p;
    char **argv = calloc((size_t)p->n_forwarded + MAX_ARM_OPTS + 6, sizeof *argv);
    if (!argv)
        return cli_oom(p);
    int n = 0;
    argv[n++] = "run";
    for (int i = 0; i < p->n_forwarded; i++)
        argv[n++] = p->forwarded[i];
    int rc = cli_run_check(n, argv, p->who);
    for (int k = 0; k < so->n_arms && rc == DYT_OK; k++) {
        const arm *a = &so->arms[k];
        if (strcmp(a->exe, "self") || a->n_opts == 0)
            continue;
        int m = n;
        argv[m++] = "--db";
        argv[m++] = (char *)so->db;
        argv[m++] = "--rounds";
        argv[m++] = (char *)so->rounds;
        for (int i = 0; i < a->n_opts; i++)
            argv[m++] = a->opts[i];
        argv[m] = NULL;
        char who[192];
        snprintf(who, sizeof who, "%s: arm %s", p->who, a->name);
        rc = cli_run_check(m, argv, who);
    }
    free(argv);
    if (rc != DYT_OK)
        p->exit = rc;
    return rc;
}

/* Parses (with p, begun on cli_cmd_interleave) and checks every option
 * before anything starts: CLI_GO, or the exit code. */
static int session_parse(session_opts *so, cli_parser *p)
{
    memset(so, 0, sizeof *so);
    so->p = p;
    for (int c; (c = cli_next(p)) != -1;) {
        switch (c) {
        case O_ARM:
            if (so->n_arms == MAX_ARMS) {
                cli_error(p, "at most %d arms", MAX_ARMS);
            } else if (parse_arm(p, optarg, &so->arms[so->n_arms++]) == DYT_OK) {
                for (int k = 0; k < so->n_arms - 1; k++)
                    if (!strcmp(so->arms[k].name, so->arms[so->n_arms - 1].name))
                        cli_error(p, "two arms named '%s'", so->arms[k].name);
            }
            break;
        case O_METRIC:
            if (strcmp(optarg, "time"))
                cli_error(p, "only time is measured in lockstep "
                             "(instruction counts have no drift to cancel)");
            else
                cli_forward_current(p);
            break;
        case O_DEVICE:
            if (strcmp(optarg, "cpu"))
                cli_error(p, "CPU runs only");
            else
                cli_forward_current(p);
            break;
        }
    }
    int rc = cli_parse_end(p, 0);
    if (rc != CLI_GO)
        return rc;
    so->db = cli_text(p, O_DB, STORE_DEFAULT_PATH);
    so->rounds = cli_text(p, O_ROUNDS, "10");
    so->have_seed = cli_given(p, O_SHUFFLE_SEED);
    so->order_seed = cli_uint(p, O_SHUFFLE_SEED, 0);
    if (so->n_arms < 2)
        return cli_error(p, "give at least two --arm NAME=EXE (see dytbench interleave --help)");
    return check_run_options(so) == DYT_OK ? CLI_GO : DYT_USAGE;
}

int cli_interleave_check(int argc, char **argv, const char *who)
{
    cli_parser p;
    cli_parse_begin(&p, &cli_cmd_interleave, who ? who : "interleave", argc, argv);
    session_opts so;
    int rc = session_parse(&so, &p);
    session_free(&so);
    cli_parse_free(&p);
    return rc == CLI_GO ? DYT_OK : rc;
}

static int cmd_interleave(cli_parser *p)
{
    session_opts so;
    int rc = session_parse(&so, p);
    if (rc != CLI_GO) {
        session_free(&so);
        return rc;
    }
    rc = DYT_OK;
    arm *arms = so.arms;
    int n_arms = so.n_arms;
    const char *db = so.db, *rounds = so.rounds;
    char **pass = p->forwarded;
    int n_pass = p->n_forwarded;
    char self[4096];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) {
        session_free(&so);
        return cli_usage_error("interleave: cannot find this executable: %s", strerror(errno));
    }
    self[sl] = '\0';

    /* The session's token: every arm stores it, so compare knows which
     * runs were measured together. */
    uint64_t t = 0;
    if (getrandom(&t, sizeof t, 0) != (ssize_t)sizeof t)
        t = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    char token[17];
    snprintf(token, sizeof token, "%016llx", (unsigned long long)t);
    uint64_t rng = so.have_seed ? so.order_seed : t;
    if (!rng)
        rng = 0x2545f4914f6cdd1dull;

    /* A write to an arm that has just exited must not kill us. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old_pipe);
    for (int k = 0; k < n_arms && rc == DYT_OK; k++)
        if (start_arm(&arms[k], self, pass, n_pass, db, rounds, token) != 0)
            rc = cli_fail(DYT_RESOURCE, "interleave: cannot start arm %s: %s", arms[k].name,
                          strerror(errno));
    if (rc != DYT_OK) {
        /* End of file on their go pipe stops the arms already started. */
        for (int k = 0; k < n_arms; k++)
            if (arms[k].alive) {
                close(arms[k].go_fd);
                arms[k].go_fd = -1;
                take_turn(&arms[k]);
            }
    } else {
        fprintf(stderr, "dytbench: interleave: session %s, %d arms, %s rounds each\n", token,
                n_arms, rounds);
    }

    int order[MAX_ARMS];
    for (;;) {
        int n_alive = 0;
        for (int k = 0; k < n_arms; k++)
            if (arms[k].alive)
                order[n_alive++] = k;
        if (!n_alive)
            break;
        for (int k = n_alive; k > 1; k--) { /* a new order every turn */
            int j = (int)(xorshift(&rng) % (uint64_t)k), x = order[k - 1];
            order[k - 1] = order[j];
            order[j] = x;
        }
        for (int k = 0; k < n_alive; k++)
            take_turn(&arms[order[k]]);
    }
    sigaction(SIGPIPE, &old_pipe, NULL);

    int worst = DYT_OK, sig = 0;
    for (int k = 0; k < n_arms; k++) {
        arm *a = &arms[k];
        if (!a->pid)
            continue;
        int code = WIFEXITED(a->status) ? WEXITSTATUS(a->status) : 128 + WTERMSIG(a->status);
        fprintf(stderr, "dytbench: interleave: arm %s: %d steps, exit %d\n", a->name, a->steps,
                code);
        if (code > 128)
            sig = code;
        else if (code == DYT_RESOURCE && worst != DYT_USAGE)
            worst = DYT_RESOURCE; /* an arm that could not store is not bad input */
        else if (code == DYT_USAGE || (code != DYT_OK && code != DYT_FAIL && code != DYT_RESOURCE))
            worst = DYT_USAGE;
        else if (code == DYT_FAIL && worst == DYT_OK)
            worst = DYT_FAIL;
    }
    int own_db = 0; /* an arm option --db sends that arm elsewhere */
    for (int k = 0; k < n_arms; k++)
        for (int i = 0; i < arms[k].n_opts; i++)
            own_db |= !strncmp(arms[k].opts[i], "--db", 4);
    if (rc == DYT_OK && !sig && worst == DYT_OK && own_db)
        printf("interleave session %s: %d arms stored, each in its --db; compare any two, "
               "e.g. dytbench compare A.db:%s B.db:%s\n",
               token, n_arms, arms[0].name, arms[1].name);
    else if (rc == DYT_OK && !sig && worst == DYT_OK)
        printf("interleave session %s: %d arms stored in %s; compare any two, e.g. "
               "dytbench compare %s %s --db %s\n",
               token, n_arms, db, arms[0].name, arms[1].name, db);
    session_free(&so);
    return rc != DYT_OK ? rc : sig ? sig : worst;
}

static const char per_arm[] = " is set by interleave for each arm";

/* interleave's own options; the run options they shadow are set per arm
 * or refused in lockstep. Any other option is a run option (forwarded). */
static const cli_option interleave_options[] = {
    {"arm", O_ARM, CLI_TEXT, "NAME=EXE[ OPT...]",
     .help =
         "an arm: the label of its run, its dytbench binary (`self` = this one) and options for it "
         "alone, separated by spaces (e.g. 'slow=self --inject-slowdown avx512:10'); two to 16 "
         "arms"},
    {"rounds", O_ROUNDS, CLI_COUNT, "N",
     .help = "blocks per case (default 10; at alpha 0.01 the paired test needs 8 or more)",
     .min = 2, .max = 1000},
    {"shuffle-seed", O_SHUFFLE_SEED, CLI_SEED, "N",
     .help = "seed of the arms' turn order (default: random)"},
    {"db", O_DB, CLI_TEXT, "PATH",
     .help = "the store of every arm (default " STORE_DEFAULT_PATH
             "); an arm option --db gives that arm "
             "its own"},
    {"label", 0, CLI_TEXT, .refused = per_arm},
    {"lockstep", 0, CLI_TEXT, .refused = per_arm},
    {"lockstep-token", 0, CLI_TEXT, .refused = per_arm},
    {"metric", O_METRIC, CLI_TEXT, .help = NULL},
    {"device", O_DEVICE, CLI_TEXT, .help = NULL},
    {0},
};

const cli_command cli_cmd_interleave = {
    .name = "interleave",
    .what = "measure several builds in lockstep (pairs for the gate)",
    .entry = cmd_interleave,
    .options = interleave_options,
    .usage = "usage: dytbench interleave --arm NAME=EXE [--arm NAME=EXE ...] [options]\n"
             "                           [run options]\n\n"
             "Runs every arm as `EXE run [run options] [arm options] --label NAME` at the\n"
             "same time, in lockstep: one arm at a time takes one step (set-up, one block of\n"
             "one case, storing), in an order shuffled every turn, so each block of a case is\n"
             "measured by all arms moments apart. `dytbench compare NAME1 NAME2` then\n"
             "compares time-matched pairs of blocks, which cancels the machine's own drifts.\n",
    .notes = "Any other option is a `run` option (see dytbench run --help), checked here\n"
             "before any arm starts and passed to every arm's run (e.g. --pass fwd --quick\n"
             "--threads 1); an arm's own options are checked here too when its EXE is `self`,\n"
             "else by its binary. --label, --metric instructions and --device cuda are\n"
             "refused.\n",
    .exit1 = "a case failed verification in some arm",
    .forward = &cli_cmd_run,
};
