/* dytbench slurm submit: a campaign as a Slurm job array. Writes two
 * scripts into DIR -- array.sh, one task per shard, task I running
 * `dytbench run --shard I/N --resume auto` into its own store
 * DIR/shards/shard-<I>.db (never one SQLite file shared by many writers
 * over a network filesystem), and merge.sh, which merges whatever the
 * shards stored and writes the campaign's report -- then submits the array
 * with `sbatch --parsable` and the merge job after it with
 * --dependency=afterany, so that a failed or cancelled shard still leaves a
 * report naming what is missing. Every option, the run options included
 * (they are checked, and the plan built, as run would), is checked before
 * anything is written or submitted. */
#include "cli.h"
#include "escape.h"
#include "kernels.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    O_SHARDS = CLI_KEY,
    O_OUT,
    O_CAMPAIGN,
    O_PARTITION,
    O_TIME,
    O_GRES,
    O_CONSTRAINT,
    O_ACCOUNT,
    O_DEVICE,
    O_NO_EXCLUSIVE,
    O_DRY_RUN,
};

typedef struct {
    uint64_t shards;
    const char *out, *campaign, *partition, *time, *gres, *constraint, *account, *device;
    int exclusive, dry_run;
    char dir[PATH_MAX], cwd[PATH_MAX], exe[PATH_MAX];
} submit_opts;

/* A value an #SBATCH line carries as it is: no blank, quote, '#', '$',
 * backquote, backslash or control character. */
static int sbatch_safe(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s == 127 || strchr("\"'#$`\\;", *s))
            return 0;
    return 1;
}

static int digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Slurm's time limits: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS,
 * or infinite. */
static int slurm_time(const char *s)
{
    if (!strcmp(s, "infinite") || !strcmp(s, "UNLIMITED"))
        return 1;
    const char *dash = strchr(s, '-');
    if (dash && !digits(s, (size_t)(dash - s)))
        return 0;
    const char *t = dash ? dash + 1 : s;
    int fields = 0;
    for (const char *p = t;; fields++) {
        size_t n = strcspn(p, ":");
        if (!digits(p, n) || n > 4)
            return 0;
        p += n;
        if (!*p)
            break;
        p++;
    }
    return fields <= 2; /* minutes, MM:SS, HH:MM:SS; after D-: HH, HH:MM, HH:MM:SS */
}

static int check_opts(cli_parser *p, submit_opts *o)
{
    if (!o->shards)
        return cli_error(p, "--shards N is required (the number of array tasks)");
    const struct {
        const char *opt, *v;
    } plain[] = {{"--partition", o->partition},   {"--gres", o->gres},
                 {"--constraint", o->constraint}, {"--account", o->account},
                 {"--campaign", o->campaign},     {"--time", o->time}};
    for (size_t i = 0; i < DYT_ARRAY_LEN(plain); i++)
        if (plain[i].v && !sbatch_safe(plain[i].v))
            return cli_error(p,
                             "%s: '%s' has a blank or a character (quote, #, $, `, \\, ;) "
                             "an #SBATCH line cannot carry",
                             plain[i].opt, plain[i].v);
    if (o->time && !slurm_time(o->time))
        return cli_error(p,
                         "--time: '%s' is not a Slurm time (minutes, MM:SS, HH:MM:SS, D-HH, "
                         "D-HH:MM, D-HH:MM:SS)",
                         o->time);
    if (!getcwd(o->cwd, sizeof o->cwd) || !sbatch_safe(o->cwd))
        return cli_error(p,
                         "the working folder '%s' cannot be the jobs' --chdir (a blank or a "
                         "quote in its path?)",
                         o->cwd);
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime_r(&now, &tm));
    char def[64];
    snprintf(def, sizeof def, "results/slurm-%s", stamp);
    const char *out = o->out ? o->out : def;
    int w = out[0] == '/' ? snprintf(o->dir, sizeof o->dir, "%s", out)
                          : snprintf(o->dir, sizeof o->dir, "%s/%s", o->cwd, out);
    size_t n = strlen(o->dir);
    while (n > 1 && o->dir[n - 1] == '/')
        o->dir[--n] = 0;
    if (w < 0 || (size_t)w >= sizeof o->dir - 64 || !sbatch_safe(o->dir))
        return cli_error(p,
                         "--out: '%s' cannot be carried by #SBATCH lines (a blank or a quote "
                         "in its path?)",
                         out);
    char probe[PATH_MAX + 16];
    snprintf(probe, sizeof probe, "%s/array.sh", o->dir);
    if (access(probe, F_OK) == 0)
        return cli_error(p, "--out: %s already holds a campaign (array.sh): give another folder",
                         o->dir);
    ssize_t len = readlink("/proc/self/exe", o->exe, sizeof o->exe - 1);
    if (len <= 0 || !sbatch_safe(o->exe))
        return cli_error(p, "cannot tell where this dytbench binary is (/proc/self/exe)");
    o->exe[len] = 0;
    if (!o->gres && o->device && !strcmp(o->device, "cuda"))
        o->gres = "gpu:1";
    return DYT_OK;
}

/* The #SBATCH lines both jobs share. */
static void common_directives(FILE *f, const submit_opts *o, int merge)
{
    fprintf(f, "#SBATCH --chdir=%s\n", o->cwd);
    if (o->partition)
        fprintf(f, "#SBATCH --partition=%s\n", o->partition);
    if (o->account)
        fprintf(f, "#SBATCH --account=%s\n", o->account);
    if (o->time)
        fprintf(f, "#SBATCH --time=%s\n", o->time);
    if (!merge && o->gres)
        fprintf(f, "#SBATCH --gres=%s\n", o->gres);
    if (!merge && o->constraint)
        fprintf(f, "#SBATCH --constraint=%s\n", o->constraint);
}

/* campaign=...: the one given, else the id submit recorded in DIR/campaign
 * once the array was accepted, else fallback (the first task may start
 * before submit has written it: it is the same id then). */
static void campaign_line(FILE *f, const submit_opts *o, const char *fallback)
{
    fputs("campaign=", f);
    if (o->campaign) {
        esc_shell(f, o->campaign);
        fputc('\n', f);
        return;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/campaign", o->dir);
    fputs("$(cat ", f);
    esc_shell(f, path);
    fprintf(f, " 2>/dev/null) || campaign=\"%s\"\n", fallback);
}

static void array_script(FILE *f, const submit_opts *o, char *const *run_opts, int n_run_opts)
{
    fprintf(f, "#!/bin/bash\n"
               "# A dytbench campaign: one array task per shard (dytbench slurm submit).\n"
               "#SBATCH --job-name=dytbench\n");
    fprintf(f, "#SBATCH --array=1-%llu\n", (unsigned long long)o->shards);
    fprintf(f, "#SBATCH --output=%s/logs/shard-%%a.out\n#SBATCH --open-mode=append\n", o->dir);
    common_directives(f, o, 0);
    if (o->exclusive)
        fputs("# A node to itself: shards timing side by side would share its cores.\n"
              "#SBATCH --exclusive\n",
              f);
    fputs("# Requeued after preemption or a node failure, the task continues its run.\n"
          "#SBATCH --requeue\n"
          "set -eu\n",
          f);
    /* Shard I of N by the task's index, not by the array's size: a task
     * submitted again alone (sbatch --array=7 array.sh) is still shard 7
     * of N, of the campaign of the first submission. */
    campaign_line(f, o, "$SLURM_ARRAY_JOB_ID");
    fputs("db=", f);
    char db[PATH_MAX + 32];
    snprintf(db, sizeof db, "%s/shards/shard-", o->dir);
    esc_shell(f, db);
    fputs("\"$SLURM_ARRAY_TASK_ID\".db\nexec ", f);
    esc_shell(f, o->exe);
    fprintf(f,
            " run --shard \"$SLURM_ARRAY_TASK_ID/%llu\" --campaign \"$campaign\" --resume auto"
            " --db \"$db\"",
            (unsigned long long)o->shards);
    if (o->device) {
        fputs(" --device ", f);
        esc_shell(f, o->device);
    }
    for (int i = 0; i < n_run_opts; i++) {
        fputc(' ', f);
        esc_shell(f, run_opts[i]);
    }
    fputc('\n', f);
}

static void merge_script(FILE *f, const submit_opts *o)
{
    fprintf(f, "#!/bin/bash\n"
               "# Merges a dytbench campaign's shards and writes its report (dytbench slurm\n"
               "# submit). Runs after the array whatever became of its tasks; argument 1 is\n"
               "# the array job's id.\n"
               "#SBATCH --job-name=dytbench-merge\n");
    fprintf(f, "#SBATCH --output=%s/logs/merge.out\n", o->dir);
    common_directives(f, o, 1);
    fputs("set -u\ndir=", f);
    esc_shell(f, o->dir);
    fputs("\nexe=", f);
    esc_shell(f, o->exe);
    fputc('\n', f);
    campaign_line(f, o, "${1:?the array job id}");
    fprintf(f,
            "shards=%llu\n"
            "stores=()\n"
            "for i in $(seq 1 \"$shards\"); do\n"
            "    if [ -s \"$dir/shards/shard-$i.db\" ]; then\n"
            "        stores+=(\"$dir/shards/shard-$i.db\")\n"
            "    else\n"
            "        echo \"dytbench: shard $i/$shards stored nothing (cancelled or failed before "
            "its first write: see $dir/logs/shard-$i.out)\"\n"
            "    fi\n"
            "done\n"
            "if [ \"${#stores[@]}\" -eq 0 ]; then\n"
            "    echo \"dytbench: no shard of campaign $campaign stored anything: no report\" >&2\n"
            "    exit 1\n"
            "fi\n"
            "rc=0\n"
            "\"$exe\" merge \"$dir/merged.db\" \"${stores[@]}\" || rc=1\n"
            "\"$exe\" report \"campaign:$campaign\" --db \"$dir/merged.db\" --out \"$dir/report\" "
            "|| rc=1\n"
            "echo \"dytbench: campaign $campaign: merged store $dir/merged.db, report "
            "$dir/report/index.html\"\n"
            "exit \"$rc\"\n",
            (unsigned long long)o->shards);
}

/* Runs sbatch with args; its stdout (the job id with --parsable) into out.
 * Returns its exit status, 127 when it could not be started. */
static int sbatch(char *const *args, char *out, size_t n)
{
    int fd[2];
    if (pipe(fd) != 0)
        return 127;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return 127;
    }
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp("sbatch", args);
        _exit(127);
    }
    close(fd[1]);
    size_t got = 0;
    for (ssize_t k; got < n - 1 && (k = read(fd[0], out + got, n - 1 - got)) > 0;)
        got += (size_t)k;
    out[got] = 0;
    close(fd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 127;
}

/* The job id sbatch --parsable printed ("123" or "123;cluster"), or 0. */
static long long job_id(const char *out)
{
    char *end;
    long long id = strtoll(out, &end, 10);
    return id > 0 && (*end == 0 || *end == ';' || *end == '\n') ? id : 0;
}

static int write_script(const char *path, const char *text, dyt_err *e)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || chmod(path, 0755) != 0)
        return dyt_errf(e, DYT_RESOURCE, "cannot write %s: %s", path, strerror(errno));
    return DYT_OK;
}

static int make_dir(const char *path, dyt_err *e)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++)
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return dyt_errf(e, DYT_RESOURCE, "cannot create %s: %s", buf, strerror(errno));
            if (!(*p = c))
                break;
        }
    return DYT_OK;
}

static int submit(const submit_opts *o, const char *array, const char *merge)
{
    char path_a[PATH_MAX + 16], path_m[PATH_MAX + 16], sub[PATH_MAX + 16];
    dyt_err e = {{0}};
    snprintf(path_a, sizeof path_a, "%s/array.sh", o->dir);
    snprintf(path_m, sizeof path_m, "%s/merge.sh", o->dir);
    int rc = make_dir(o->dir, &e);
    for (const char *const *d = (const char *const[]){"shards", "logs", NULL}; rc == DYT_OK && *d;
         d++) {
        snprintf(sub, sizeof sub, "%s/%s", o->dir, *d);
        rc = make_dir(sub, &e);
    }
    if (rc == DYT_OK && (rc = write_script(path_a, array, &e)) == DYT_OK)
        rc = write_script(path_m, merge, &e);
    if (rc != DYT_OK)
        return cli_fail(rc, "slurm submit: %s", e.msg);
    char out[256];
    char *args_a[] = {"sbatch", "--parsable", path_a, NULL};
    int st = sbatch(args_a, out, sizeof out);
    long long array_id = st == 0 ? job_id(out) : 0;
    if (st == 127)
        return cli_usage_error("slurm submit: sbatch could not be run (Slurm's client: apt-get "
                               "install slurm-client); the scripts are in %s",
                               o->dir);
    if (!array_id)
        return cli_usage_error("slurm submit: sbatch refused the array (exit %d%s%s); the "
                               "scripts are in %s",
                               st, out[0] ? ", said " : "", out, o->dir);
    char dep[64], id_arg[32];
    snprintf(dep, sizeof dep, "--dependency=afterany:%lld", array_id);
    snprintf(id_arg, sizeof id_arg, "%lld", array_id);
    snprintf(sub, sizeof sub, "%s/campaign", o->dir);
    if (!o->campaign && write_script(sub, id_arg, &e) != DYT_OK)
        fprintf(stderr,
                "dytbench: slurm submit: warning: %s (a task submitted again alone would "
                "join another campaign)\n",
                e.msg);
    char *args_m[] = {"sbatch", "--parsable", dep, path_m, id_arg, NULL};
    st = sbatch(args_m, out, sizeof out);
    long long merge_id = st == 0 ? job_id(out) : 0;
    char campaign[80];
    snprintf(campaign, sizeof campaign, "%s", o->campaign ? o->campaign : id_arg);
    printf("campaign %s: array job %lld (%llu shards)", campaign, array_id,
           (unsigned long long)o->shards);
    if (merge_id)
        printf(", merge job %lld (runs when the array ends, even if shards fail)\n", merge_id);
    else
        printf("; the merge job was refused (exit %d): run %s %lld when the array ends\n", st,
               path_m, array_id);
    char ids[64], both[64];
    snprintf(ids, sizeof ids, merge_id ? "%lld,%lld" : "%lld", array_id, merge_id);
    snprintf(both, sizeof both, merge_id ? "%lld %lld" : "%lld", array_id, merge_id);
    printf("  watch    squeue -j %s\n"
           "  history  sacct -j %s --format=JobID,JobName,State,Elapsed,NodeList\n"
           "  cancel   scancel %s\n"
           "  shards   %s/shards/shard-<I>.db, logs %s/logs/shard-<I>.out\n"
           "  results  %s/merged.db, report %s/report/index.html (log %s/logs/merge.out)\n",
           ids, ids, both, o->dir, o->dir, o->dir, o->dir, o->dir);
    return merge_id ? DYT_OK : DYT_USAGE;
}

static int cmd_slurm(cli_parser *p)
{
    int rc = cli_parse_end(p, 1);
    submit_opts o = {
        .shards = cli_uint(p, O_SHARDS, 0),
        .out = cli_text(p, O_OUT, NULL),
        .campaign = cli_text(p, O_CAMPAIGN, NULL),
        .partition = cli_text(p, O_PARTITION, NULL),
        .time = cli_text(p, O_TIME, NULL),
        .gres = cli_text(p, O_GRES, NULL),
        .constraint = cli_text(p, O_CONSTRAINT, NULL),
        .account = cli_text(p, O_ACCOUNT, NULL),
        .device = cli_text(p, O_DEVICE, NULL),
        .exclusive = !cli_given(p, O_NO_EXCLUSIVE),
        .dry_run = cli_given(p, O_DRY_RUN),
    };
    if (rc == CLI_GO && (p->n_operands != 1 || strcmp(p->operands[0], "submit")))
        rc = cli_error(p, "want 'dytbench slurm submit ...' (got '%s')",
                       p->n_operands ? p->operands[0] : "no subcommand");
    if (rc == CLI_GO && check_opts(p, &o) != DYT_OK)
        rc = DYT_USAGE;
    /* The run options, as each shard's run will check them, and the plan
     * they make: N shards need at least N cases. */
    size_t n_cases = 0;
    if (rc == CLI_GO) {
        char **args = calloc((size_t)p->n_forwarded + 8, sizeof *args);
        char dev[64], camp[96];
        int n = 0;
        if (!args)
            rc = cli_error(p, "out of memory");
        else {
            args[n++] = "run";
            for (int i = 0; i < p->n_forwarded; i++)
                args[n++] = p->forwarded[i];
            if (o.device && snprintf(dev, sizeof dev, "--device=%s", o.device) > 0)
                args[n++] = dev;
            if (o.campaign && snprintf(camp, sizeof camp, "--campaign=%s", o.campaign) > 0)
                args[n++] = camp;
            args[n] = NULL;
            /* A GPU campaign is often submitted from a host without one:
             * its options are checked here, its plan on the nodes. */
            char why[256];
            int plan_here = !o.device || strcmp(o.device, "cuda") ||
                            kern_device_usable(DEVICE_CUDA, why, sizeof why);
            int ok = plan_here ? cli_run_plan_size(n, args, "slurm submit", &n_cases)
                               : cli_run_check(n, args, "slurm submit");
            rc = ok == DYT_OK ? CLI_GO : DYT_USAGE;
            if (rc == CLI_GO && !plan_here) {
                fprintf(stderr,
                        "dytbench: slurm submit: note: the plan is built on the GPU nodes (%s "
                        "here); a shard with no case of it does nothing\n",
                        why);
                n_cases = SIZE_MAX; /* not known here */
            }
            free(args);
        }
    }
    if (rc == CLI_GO && n_cases < o.shards)
        rc = cli_error(p, "--shards %llu: the plan has only %zu case(s)",
                       (unsigned long long)o.shards, n_cases);
    if (rc != CLI_GO)
        return rc;
    char *array = NULL, *merge = NULL;
    size_t na, nm;
    FILE *fa = open_memstream(&array, &na), *fm = open_memstream(&merge, &nm);
    if (fa)
        array_script(fa, &o, p->forwarded, p->n_forwarded);
    if (fm)
        merge_script(fm, &o);
    if (!fa || !fm || fclose(fa) != 0 || fclose(fm) != 0)
        rc = cli_usage_error("slurm submit: out of memory");
    else if (o.dry_run && n_cases == SIZE_MAX)
        printf("# %s/array.sh (%llu shards of a plan built on the nodes)\n%s\n# %s/merge.sh\n%s",
               o.dir, (unsigned long long)o.shards, array, o.dir, merge);
    else if (o.dry_run)
        printf("# %s/array.sh (%zu cases in %llu shards)\n%s\n# %s/merge.sh\n%s", o.dir, n_cases,
               (unsigned long long)o.shards, array, o.dir, merge);
    else
        rc = submit(&o, array, merge);
    free(array);
    free(merge);
    return rc == CLI_GO ? DYT_OK : rc;
}

static const char set_by_submit[] =
    ": set by slurm submit for each shard (stores go to DIR/shards, see --out)";

static const cli_option slurm_options[] = {
    {"shards", O_SHARDS, CLI_COUNT, "N",
     .help = "number of shards (array tasks), 1..10000, at most the plan's cases", .min = 1,
     .max = 10000},
    {"out", O_OUT, CLI_TEXT, "DIR",
     .help = "where the scripts, stores, logs and report go (default results/slurm-<date>-<time>)"},
    {"campaign", O_CAMPAIGN, CLI_TEXT, "ID",
     .help = "the campaign id (default: the array job's id)"},
    {"partition", O_PARTITION, CLI_TEXT, "P", .help = "sbatch --partition"},
    {"time", O_TIME, CLI_TEXT, "T",
     .help = "sbatch --time, per task (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS)"},
    {"gres", O_GRES, CLI_TEXT, "G", .help = "sbatch --gres (default gpu:1 with --device cuda)"},
    {"constraint", O_CONSTRAINT, CLI_TEXT, "C", .help = "sbatch --constraint (node features)"},
    {"account", O_ACCOUNT, CLI_TEXT, "A", .help = "sbatch --account"},
    {"device", O_DEVICE, CLI_TEXT, "cpu|cuda", .help = "passed to every shard's run"},
    {"no-exclusive", O_NO_EXCLUSIVE, CLI_FLAG,
     .help =
         "let shards share nodes. By default every task asks for --exclusive: two shards timing on "
         "one node would share its cores, caches and memory bandwidth and slow each other down, "
         "and "
         "their numbers would not be the machine's. Sharing is reasonable for GPU shards of a "
         "multi-GPU node (one GPU each), whose host side is light"},
    {"dry-run", O_DRY_RUN, CLI_FLAG,
     .help = "print both scripts and submit nothing (writes nothing)"},
    /* Run options every shard gets from submit itself. */
    {"db", 0, CLI_TEXT, .refused = set_by_submit},
    {"shard", 0, CLI_TEXT, .refused = set_by_submit},
    {"resume", 0, CLI_TEXT, .refused = set_by_submit},
    {"lockstep", 0, CLI_TEXT, .refused = set_by_submit},
    {"lockstep-token", 0, CLI_TEXT, .refused = set_by_submit},
    {"arm", 0, CLI_TEXT, .refused = set_by_submit},
    {0},
};

const cli_command cli_cmd_slurm = {
    .name = "slurm",
    .what = "run a campaign as a Slurm job array, then merge and report it (slurm submit)",
    .entry = cmd_slurm,
    .options = slurm_options,
    .usage = "usage: dytbench slurm submit --shards N [options] [run options]\n\n"
             "Runs a campaign as a Slurm job array of N tasks, one shard of the plan each\n"
             "(run --shard I/N: a disjoint share of the cases, balanced by estimated cost),\n"
             "then merges the shards' stores and writes the campaign's report. Into DIR:\n"
             "  array.sh            the array job: task I runs shard I/N into\n"
             "                      DIR/shards/shard-I.db (run --resume auto, so a requeued\n"
             "                      task continues its run instead of starting over; a task\n"
             "                      submitted again alone, sbatch --array=I array.sh, is\n"
             "                      still shard I of the same campaign)\n"
             "  merge.sh            the merge job: DIR/merged.db and DIR/report/, submitted\n"
             "                      with --dependency=afterany, so it runs even when shards\n"
             "                      fail or are cancelled; the report lists what is missing\n"
             "  logs/               each task's and the merge job's output\n"
             "DIR must be on a filesystem every node sees. The campaign id is --campaign, or\n"
             "the array job's id (kept in DIR/campaign). Run options (--suite, --model,\n"
             "--dtype, --pass, --variant, --threads, --quick, --rounds, ...) are passed to\n"
             "every shard; --db, --shard and --resume are set by submit. GPU partitions:\n"
             "--device cuda runs one shard per GPU (--gres gpu:1 unless --gres says\n"
             "otherwise).\n",
    .forward = &cli_cmd_run,
};
