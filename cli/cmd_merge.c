/* dytbench merge OUT.db IN.db...: copies the runs of stores written
 * elsewhere -- the shards of a Slurm campaign, stores copied from
 * machines outside any cluster -- into one store that report, compare and
 * show read as usual. The work is store_merge (results/merge.c); this file
 * parses, refuses what is not an input, and reports per input. Inputs are
 * taken one at a time, each through a private copy (never written, never
 * migrated in place) and merged in one transaction; OUT is created only
 * when some input is good. */
#include "cli.h"
#include "store.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Whether a and b name one file (b may not exist yet). */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int cmd_merge(cli_parser *p)
{
    int rc = cli_parse_end(p, INT_MAX);
    if (rc != CLI_GO)
        return rc;
    int quiet = cli_given(p, 'q');
    if (p->n_operands < 2)
        return cli_usage_error("merge: want OUT.db and at least one IN.db (got %d file%s)",
                               p->n_operands, p->n_operands == 1 ? "" : "s");
    const char *out_path = p->operands[0];
    for (int i = 1; i < p->n_operands; i++)
        if (!strcmp(p->operands[i], out_path) || same_file(p->operands[i], out_path))
            return cli_usage_error("merge: %s is OUT itself: an input must be another store",
                                   p->operands[i]);

    store *out = NULL;
    int refused = 0, worst = DYT_OK; /* exit 2 for a bad input, 3 for an I/O failure */
    size_t merged = 0;
    for (int i = 1; i < p->n_operands; i++) {
        const char *in_path = p->operands[i];
        dyt_err e = {{0}};
        store *in;
        if ((rc = store_open_snapshot(in_path, NULL, &in, &e)) != DYT_OK) {
            fprintf(stderr, "dytbench: merge: %s\n", e.msg);
            refused++;
            worst = DYT_MAX(worst, rc);
            continue;
        }
        if (!out && (rc = store_open(out_path, 1, &out, &e)) != DYT_OK) {
            store_close(in);
            return cli_fail(rc, "merge: %s", e.msg);
        }
        char real[PATH_MAX];
        const char *source = realpath(in_path, real) ? real : in_path;
        store_merge_stats st;
        if ((rc = store_merge(out, in, source, &st, &e)) != DYT_OK) {
            fprintf(stderr, "dytbench: merge: %s: not merged, %s left as it was: %s\n", in_path,
                    out_path, e.msg);
            refused++;
            worst = DYT_MAX(worst, rc);
        } else {
            merged++;
            if (!quiet)
                printf("%s: %zu run(s): %zu new, %zu updated, %zu case(s) copied, %zu campaign "
                       "plan(s) new\n",
                       in_path, st.runs, st.runs_new, st.runs_updated, st.cases, st.campaigns_new);
        }
        store_close(in);
    }
    store_close(out);
    if (!quiet && merged)
        printf("merged %zu of %d store(s) into %s%s\n", merged, p->n_operands - 1, out_path,
               refused ? "; the others were refused (see above)" : "");
    if (refused && !merged)
        fprintf(stderr, "dytbench: merge: no input could be merged; %s was not touched\n",
                out_path);
    return worst;
}

static const cli_option merge_options[] = {
    {"quiet", 'q', CLI_FLAG, .help = "print only refusals"},
    {0},
};

const cli_command cli_cmd_merge = {
    .name = "merge",
    .what = "copy the runs of other stores (campaign shards, other machines) into one",
    .entry = cmd_merge,
    .options = merge_options,
    .usage = "usage: dytbench merge OUT.db IN.db... [options]\n\n"
             "Copies every run of each IN into OUT (created if absent) with its machine,\n"
             "cases, samples, statistics, counters and bandwidth ceilings, and the plan of\n"
             "its campaign. A run is matched by its uuid: merging the same IN twice adds\n"
             "nothing, and a run OUT has already takes only the cases it lacks (a shard\n"
             "resumed since the last merge). Machines are shared by fingerprint. Each\n"
             "merged run gets a provenance row: the IN file, its id there, when, and this\n"
             "dytbench's version (dytbench show lists them).\n\n"
             "Each IN is read through a private copy in $TMPDIR (it is never written, and\n"
             "an older schema is migrated in the copy), and merged in one transaction: a\n"
             "corrupt, foreign or newer IN is refused and leaves OUT as it was; the other\n"
             "INs are still merged. Inputs are ordinary files: copy stores from other\n"
             "machines first (SQLite must not be shared over a network filesystem while\n"
             "written).\n",
};
