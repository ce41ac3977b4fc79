/* dytbench list suites|shapes|kernels|runs: what can be run (the shipped
 * suites and their shapes, the kernel variants built into this binary and
 * whether this machine can run them) and what has been run (the runs in a
 * results database, through the store's read API). Read-only everywhere. */
#include "cli.h"
#include "escape.h"
#include "kernels.h"
#include "store.h"
#include "suite.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A suite for listing: parsed without the memory bound, since listing a
 * shape does not allocate it (run applies the bound). */
static int load_suite(const char *name, suite *s)
{
    char path[1024];
    dyt_err e;
    int rc;
    if ((rc = suite_resolve(name, path, sizeof path, &e)) != DYT_OK ||
        (rc = suite_parse_file(path, UINT64_MAX, s, &e)) != DYT_OK)
        return cli_fail(rc, "%s", e.msg);
    return DYT_OK;
}

static unsigned total_norms(const suite *s)
{
    unsigned n = 0;
    for (size_t i = 0; i < s->n_models; i++)
        n += s->models[i].layers;
    return n;
}

static int list_suites(void)
{
    const char *const *names = suite_shipped_names();
    printf("%-8s %8s %6s %6s  %-26s %s\n", "suite", "sections", "shapes", "norms", "domains",
           "file");
    for (size_t i = 0; names[i]; i++) {
        suite s;
        if (load_suite(names[i], &s))
            return DYT_USAGE;
        size_t shapes = 0;
        int seen[DOMAIN_COUNT] = {0};
        char domains[64] = "";
        for (size_t m = 0; m < s.n_models; m++) {
            shapes += s.models[m].n_tokens;
            domain_kind d = s.models[m].domain;
            if (!seen[d]) {
                seen[d] = 1;
                strncat(domains, domains[0] ? "," : "", sizeof domains - strlen(domains) - 1);
                strncat(domains, domain_name(d), sizeof domains - strlen(domains) - 1);
            }
        }
        char name[256], path[1024];
        printf("%-8s %8zu %6zu %6u  %-26s %s\n", esc_term_str(name, sizeof name, s.name),
               s.n_models, shapes, total_norms(&s), domains,
               esc_term_str(path, sizeof path, s.path));
        suite_free(&s);
    }
    printf("\nshapes = sections x token counts; norms = norm layers summed over sections.\n"
           "Suites directory: %s (DYTBENCH_SUITES_DIR overrides). Any .suite file can be\n"
           "passed by path; the format is in suites/README.md.\n",
           suite_dir());
    return DYT_OK;
}

static void format_tokens(const suite_model *m, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < m->n_tokens && o < n; i++) {
        int w = snprintf(buf + o, n - o, "%s%zu%s%s", i ? ", " : "", m->tokens[i],
                         m->token_labels[i][0] ? " " : "", m->token_labels[i]);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

static void print_shapes(const suite *s)
{
    int wm = (int)strlen("model");
    for (size_t i = 0; i < s->n_models; i++)
        wm = DYT_MAX(wm, (int)strlen(s->models[i].name));
    char name[256], path[1024];
    printf("# %s (%s): %zu sections, %u norm layers\n", esc_term_str(name, sizeof name, s->name),
           esc_term_str(path, sizeof path, s->path), s->n_models, total_norms(s));
    printf("%-*s  %-6s  %-9s  %6s  %6s  %5s  %-4s  %-6s  %-7s  %-14s  %s\n", wm, "model", "domain",
           "norm", "hidden", "layers", "alpha", "beta", "affine", "eps", "layout",
           "tokens (rows per call, label)");
    for (size_t i = 0; i < s->n_models; i++) {
        const suite_model *m = &s->models[i];
        char tokens[SUITE_MAX_TOKENS * 48];
        format_tokens(m, tokens, sizeof tokens);
        printf("%-*s  %-6s  %-9s  %6zu  %6u  %5g  %-4s  %-6s  %-7g  %-14s  %s\n", wm, m->name,
               domain_name(m->domain), norm_name(m->norm), m->hidden, m->layers, m->alpha,
               m->beta ? "yes" : "no", m->affine ? "yes" : "no", m->eps,
               m->layout == LAYOUT_CHANNELS_FIRST ? "channels_first" : "channels_last", tokens);
    }
}

static int list_shapes(const char *suites_arg)
{
    char *list = NULL;
    if (suites_arg) {
        list = strdup(suites_arg);
    } else {
        /* Every shipped suite. */
        size_t len = 1;
        for (const char *const *n = suite_shipped_names(); *n; n++)
            len += strlen(*n) + 1;
        list = calloc(1, len);
        for (const char *const *n = suite_shipped_names(); list && *n; n++) {
            if (list[0])
                strcat(list, ",");
            strcat(list, *n);
        }
    }
    if (!list)
        return cli_fail(DYT_RESOURCE, "list: out of memory");
    int rc = DYT_OK, printed = 0;
    char *save = NULL;
    for (char *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        suite s;
        if ((rc = load_suite(name, &s)))
            break;
        if (printed++)
            putchar('\n');
        print_shapes(&s);
        suite_free(&s);
    }
    if (!rc && !printed)
        rc = cli_usage_error("list shapes: --suite names no suite");
    free(list);
    return rc;
}

static int list_kernels(void)
{
    size_t count;
    const kern_entry *r = kern_registry(&count);
    if (count == 0) {
        printf("No kernel variants are built into this binary.\n");
        return DYT_OK;
    }
    printf("%-11s  %-9s  %-4s  %-5s  %-6s  %-17s  %-40s  %s\n", "variant", "norm", "pass", "dtype",
           "device", "needs", "runs here", "note");
    size_t supported = 0;
    for (size_t i = 0; i < count; i++) {
        char isa[96], why[256], runs[300];
        if (!kern_isa_names(r[i].isa, "+", isa, sizeof isa))
            snprintf(isa, sizeof isa, "-");
        if (kern_unsupported_reason(&r[i], why, sizeof why))
            snprintf(runs, sizeof runs, "no: %s", why);
        else
            snprintf(runs, sizeof runs, "yes"), supported++;
        printf("%-11s  %-9s  %-4s  %-5s  %-6s  %-17s  %-40s  %s\n", r[i].name, norm_name(r[i].norm),
               pass_name(r[i].pass), dtype_name(r[i].dtype),
               r[i].device == DEVICE_CUDA ? "cuda" : "cpu", isa, runs, r[i].note ? r[i].note : "");
    }
    printf("\n%zu variants, %zu can run on this machine.\n", count, supported);
    return DYT_OK;
}

static const char *or_dash(const char *s)
{
    return s ? s : "-";
}

static int list_runs(const char *db, int db_given, long limit, const char *label)
{
    struct stat sb;
    if (stat(db, &sb) != 0) {
        if (db_given)
            return cli_usage_error("list runs: %s: no such database", db);
        printf("No runs yet: %s does not exist ('dytbench run' creates it).\n", db);
        return DYT_OK;
    }
    store *s;
    dyt_err e;
    int rc = store_open(db, 0, &s, &e);
    if (rc != DYT_OK)
        return cli_fail(rc, "list runs: %s", e.msg);
    /* The newest LIMIT runs (all when no limit), printed oldest first. */
    const store_run_filter f = {.label = label, .newest = limit > 0 ? (size_t)limit : 0};
    store_run_list runs;
    if ((rc = store_find_runs(s, &f, &runs, &e)) != DYT_OK) {
        store_close(s);
        return cli_fail(rc, "list runs: %s", e.msg);
    }
    machine_info m = {0};
    int64_t machine_id = -1; /* the machine in m: runs mostly share one */
    int ret = DYT_OK;
    for (size_t i = 0; i < runs.n && ret == DYT_OK; i++) {
        const store_run *r = &runs.v[i];
        if (r->machine_id != machine_id) {
            machine_free(&m);
            machine_id = -1;
            if ((rc = store_load_machine(s, r->machine_id, &m, &e)) != DYT_OK) {
                ret = cli_fail(rc, "list runs: %s", e.msg);
                break;
            }
            machine_id = r->machine_id;
        }
        if (i == 0)
            printf("%5s  %-16s  %-8s  %-20s  %-20s  %-6s  %-16s  %6s  %s\n", "id", "label",
                   "status", "started", "ended", "device", "suites", "cases", "machine");
        /* A label may hold any bytes: the terminal sees them escaped. */
        char t[8][256];
        printf("%5lld  %-16s  %-8s  %-20s  %-20s  %-6s  %-16s  %6zu  %s (%s, %d cores)\n",
               (long long)r->id, esc_term_str(t[0], 256, or_dash(r->label)),
               esc_term_str(t[1], 256, or_dash(r->status)),
               esc_term_str(t[2], 256, or_dash(r->started_at)),
               esc_term_str(t[3], 256, or_dash(r->ended_at)),
               esc_term_str(t[4], 256, or_dash(r->device)),
               esc_term_str(t[5], 256, or_dash(r->suites)), r->n_cases,
               esc_term_str(t[6], 256, m.hostname), esc_term_str(t[7], 256, m.cpu_model), m.cores);
    }
    if (ret == DYT_OK && runs.n == 0) {
        char t[2][1024];
        printf("No runs in %s%s%s.\n", esc_term_str(t[0], 1024, db), label ? " labelled " : "",
               label ? esc_term_str(t[1], 1024, label) : "");
    }
    machine_free(&m);
    store_run_list_free(&runs);
    store_close(s);
    return ret;
}

enum { O_SUITE = CLI_KEY, O_DB, O_LIMIT, O_LABEL };

static int cmd_list(cli_parser *p)
{
    int rc = cli_parse_end(p, 1);
    if (rc != CLI_GO)
        return rc;
    const char *suites_arg = cli_text(p, O_SUITE, NULL), *db = cli_text(p, O_DB, NULL);
    const char *label = cli_text(p, O_LABEL, NULL);
    uint64_t limit = cli_uint(p, O_LIMIT, 0);
    if (p->n_operands == 0)
        return cli_usage_error("list: say what to list: suites, shapes, kernels or runs "
                               "(see dytbench list --help)");
    const char *what = p->operands[0];
    int is_runs = !strcmp(what, "runs"), is_shapes = !strcmp(what, "shapes");
    if (suites_arg && !is_shapes)
        return cli_usage_error("list: --suite applies to 'list shapes'");
    if ((db || limit || label) && !is_runs)
        return cli_usage_error("list: --db, --limit and --label apply to 'list runs'");
    if (!strcmp(what, "suites"))
        return list_suites();
    if (is_shapes)
        return list_shapes(suites_arg);
    if (!strcmp(what, "kernels"))
        return list_kernels();
    if (is_runs)
        return list_runs(db ? db : STORE_DEFAULT_PATH, db != NULL,
                         limit > LONG_MAX ? LONG_MAX : (long)limit, label);
    return cli_usage_error("list: unknown list '%s' (suites, shapes, kernels or runs)", what);
}

static const cli_option list_options[] = {
    {"suite", O_SUITE, CLI_TEXT, "LIST",
     .help = "suites by name (see 'list suites') or path, comma-separated; default: every shipped "
             "suite"},
    {"db", O_DB, CLI_TEXT, "PATH", .help = "results database (default " STORE_DEFAULT_PATH ")"},
    {"limit", O_LIMIT, CLI_COUNT, "N", .help = "only the N most recent runs", .min = 1},
    {"label", O_LABEL, CLI_TEXT, "L", .help = "only runs labelled L"},
    {0},
};

const cli_command cli_cmd_list = {
    .name = "list",
    .what = "list suites|shapes|kernels|runs",
    .entry = cmd_list,
    .options = list_options,
    .usage = "usage: dytbench list suites\n"
             "       dytbench list shapes [--suite NAME|PATH[,...]]\n"
             "       dytbench list kernels\n"
             "       dytbench list runs [--db PATH] [--limit N] [--label LABEL]\n"
             "\n"
             "  suites   the shipped suites (name, sections, shapes, norms, domains, file)\n"
             "  shapes   one row per section: model, domain, norm, hidden, layers, alpha,\n"
             "           beta, affine, eps, layout and the token counts (each a case)\n"
             "  kernels  every variant in the registry and whether this machine can run it\n"
             "  runs     the runs stored in the results database\n",
};
