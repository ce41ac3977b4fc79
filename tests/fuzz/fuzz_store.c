/* Fuzz target: the store opener on mutated files. The input's first byte
 * says how to open (bit 0: with create, as run does) and whether the rest
 * is split into the database and a rollback journal beside it (bit 1, at
 * the offset in the next two bytes); the rest is the file. store_open must
 * refuse or open it -- never crash, hang or write outside its folder --
 * and what it opens must read back through the read API. The inputs share
 * one scratch folder, emptied after each and removed at exit. */
#include "fuzz.h"
#include "store.h"

#include <stdio.h>
#include <unistd.h>

static char scratch[64];

/* The scratch folder and whatever an interrupted creation left there. */
static void remove_scratch(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* In memory where the system has a tmpfs: an open syncs the file. */
    snprintf(scratch, sizeof scratch, "%s/dytbench-fuzz-store-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(scratch))
        abort();
    atexit(remove_scratch);
    setenv("TMPDIR", scratch, 1); /* where a journal is checked on a copy */
    return 0;
}

static void write_bytes(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (n && fwrite(b, 1, n, f) != n)
        abort();
    fclose(f);
}

/* Reads everything the opened store holds, as the readers would. */
static void read_back(store *s)
{
    store_run_list runs;
    dyt_err e = {{0}};
    const store_run_filter all = {.newest = 8};
    if (store_find_runs(s, &all, &runs, &e) != DYT_OK)
        return;
    for (size_t i = 0; i < runs.n; i++) {
        machine_info m;
        if (store_load_machine(s, runs.v[i].machine_id, &m, &e) == DYT_OK)
            machine_free(&m);
        store_case_list cases;
        if (store_load_cases(s, runs.v[i].id, &cases, &e) != DYT_OK)
            continue;
        for (size_t k = 0; k < cases.n && k < 16; k++) {
            store_sample *smp;
            size_t n;
            if (store_load_samples(s, cases.v[k].id, STORE_SAMPLES_ALL, &smp, &n, &e) == DYT_OK)
                free(smp);
        }
        store_case_list_free(&cases);
        store_counter_list counters;
        if (store_load_counters(s, runs.v[i].id, &counters, &e) == DYT_OK)
            store_counter_list_free(&counters);
    }
    store_run_list_free(&runs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int create = data[0] & 1, journal = data[0] & 2;
    size_t split = journal ? (size_t)data[1] << 8 | data[2] : size - 3;
    data += 3;
    size -= 3;
    if (split > size)
        split = size;
    static const char *const sides[] = {"", "-journal", "-wal", "-shm"};
    char path[128], side[160];
    snprintf(path, sizeof path, "%s/f.db", scratch);
    write_bytes(path, data, split);
    snprintf(side, sizeof side, "%s-journal", path);
    if (journal)
        write_bytes(side, data + split, size - split);
    store *s;
    dyt_err e = {{0}};
    if (store_open(path, create, &s, &e) == DYT_OK) {
        read_back(s);
        store_close(s);
    }
    for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
        snprintf(side, sizeof side, "%s%s", path, sides[i]);
        unlink(side);
    }
    return 0;
}
