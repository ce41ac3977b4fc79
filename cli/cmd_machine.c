/* dytbench machine: prints the machine record a run would store (hwloc
 * topology, caches and the LLC size actually used, memory, OS, kernel, VM,
 * compiler, revision) and, counter by counter, whether it can be read here
 * and why not. With --store it also writes the record into a results DB. */
#include "cli.h"
#include "counters.h"
#include "machine.h"
#include "store.h"
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fputs("usage: dytbench machine [--llc-bytes N] [--store] [--db PATH] [--papi-events LIST]\n"
          "\n"
          "Prints this machine's record as a run stores it, including which counters\n"
          "are available and, where not, why.\n"
          "\n"
          "options:\n"
          "  --llc-bytes N        last-level cache size to use instead of hwloc's (K/M/G)\n"
          "  --store              also store the record in the results database\n"
          "  --db PATH            results database (default " STORE_DEFAULT_PATH ")\n"
          "  --papi-events LIST   PAPI events to check (default " COUNTERS_DEFAULT_PAPI ")\n"
          "  -h, --help           this help\n",
          f);
}

/* One line per counter: what a run would store for it here. */
static void print_counters(counters_session *c, FILE *f)
{
    counters_start(c);
    counters_stop(c);
    store_counter k[COUNTERS_MAX + 8];
    size_t n = counters_results(c, 0, k, DYT_ARRAY_LEN(k));
    fprintf(f, "Counters (as a run would record them here):\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-7s %-14s %s%s\n", k[i].source, k[i].name,
                k[i].available ? "available" : "unavailable: ",
                k[i].available ? "" : k[i].unavailable_reason);
}

static const struct option machine_options[] = {
    {"llc-bytes", required_argument, NULL, 'l'},
    {"store", no_argument, NULL, 's'},
    {"db", required_argument, NULL, 'd'},
    {"papi-events", required_argument, NULL, 'p'},
    {NULL, 0, NULL, 0},
};

static int cmd_machine(int argc, char **argv)
{
    machine_opts mo = {0};
    const char *db = STORE_DEFAULT_PATH, *events = NULL;
    int do_store = 0, db_given = 0, c;
    cli_parser p;
    cli_parse_begin(&p, &cli_cmd_machine, NULL, argc, argv);
    while ((c = cli_next(&p)) != -1) {
        switch (c) {
        case 'l':
            cli_size(&p, NULL, optarg, &mo.llc_bytes_override);
            break;
        case 's':
            do_store = 1;
            break;
        case 'd':
            db = optarg;
            db_given = 1;
            break;
        case 'p':
            events = optarg;
            break;
        }
    }
    int rc = cli_parse_end(&p, 0);
    if (rc != CLI_GO)
        return rc;
    if (db_given && !do_store)
        return cli_usage_error("machine: --db only makes sense with --store");

    /* Event names first: a typo is a usage error before anything prints. */
    counters_session *cs;
    dyt_err e = {{0}};
    if ((rc = counters_open(events, &cs, &e)) != DYT_OK)
        return cli_fail(rc, "machine: %s", e.msg);
    machine_info m;
    if ((rc = machine_probe(&mo, &m, &e)) != DYT_OK) {
        counters_close(cs);
        return cli_fail(rc, "machine: %s", e.msg);
    }
    if (counters_add_machine_attrs(&m) != 0) {
        machine_free(&m);
        counters_close(cs);
        return cli_fail(DYT_RESOURCE, "machine: out of memory");
    }
    machine_print(&m, stdout);
    print_counters(cs, stdout);
    counters_close(cs);
    rc = DYT_OK;
    if (do_store) {
        /* Like `run`, the default DB's folder is created on first use. */
        if (!db_given && mkdir("results", 0777) != 0 && errno != EEXIST)
            rc = cli_fail(DYT_RESOURCE, "machine: cannot create results/: %s", strerror(errno));
        store *s = NULL;
        int64_t id = 0;
        if (rc == DYT_OK && ((rc = store_open(db, 1, &s, &e)) != DYT_OK ||
                             (rc = store_put_machine(s, &m, &id, &e)) != DYT_OK))
            rc = cli_fail(rc, "machine: %s", e.msg);
        else if (rc == DYT_OK)
            printf("Stored as machine %lld in %s.\n", (long long)id, db);
        store_close(s);
    }
    machine_free(&m);
    fflush(stdout);
    return rc;
}

const cli_command cli_cmd_machine = {
    .name = "machine",
    .what = "print this machine's record and counter availability",
    .entry = cmd_machine,
    .longopts = machine_options,
    .help = usage,
};
