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

enum { O_LLC = CLI_KEY, O_STORE, O_DB, O_PAPI };

static int cmd_machine(cli_parser *p)
{
    int rc = cli_parse_end(p, 0);
    if (rc != CLI_GO)
        return rc;
    machine_opts mo = {.llc_bytes_override = cli_uint(p, O_LLC, 0)};
    const char *db = cli_text(p, O_DB, STORE_DEFAULT_PATH), *events = cli_text(p, O_PAPI, NULL);
    int do_store = cli_given(p, O_STORE), db_given = cli_given(p, O_DB);
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

static const cli_option machine_options[] = {
    {"llc-bytes", O_LLC, CLI_SIZE, "N",
     .help = "last-level cache size to use instead of hwloc's (K/M/G)"},
    {"store", O_STORE, CLI_FLAG, .help = "also store the record in the results database"},
    {"db", O_DB, CLI_TEXT, "PATH", .help = "results database (default " STORE_DEFAULT_PATH ")"},
    {"papi-events", O_PAPI, CLI_TEXT, "LIST",
     .help = "PAPI events to check (default " COUNTERS_DEFAULT_PAPI ")"},
    {0},
};

const cli_command cli_cmd_machine = {
    .name = "machine",
    .what = "print this machine's record and counter availability",
    .entry = cmd_machine,
    .options = machine_options,
    .usage = "usage: dytbench machine [--llc-bytes N] [--store] [--db PATH]\n"
             "                        [--papi-events LIST]\n"
             "\n"
             "Prints this machine's record as a run stores it, including which counters\n"
             "are available and, where not, why.\n",
};
