/* tests/report/helpers.c: what the report tests share -- a temporary
 * folder with the fixture store (setup/teardown), reading files back,
 * writing a report of a fixture run, decoding XML entities. */
#include "dyt_test.h"

#include "fixture.h"
#include "helpers.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char tmp[256], dbpath[300];
store *fixture;
sqlite3 *db;

int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/dyt-report-test-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    snprintf(dbpath, sizeof dbpath, "%s/fixture.db", tmp);
    if (fixture_create(dbpath))
        return -1;
    dyt_err e = {{0}};
    if (store_open(dbpath, 0, &fixture, &e) != DYT_OK)
        return -1;
    db = store_db(fixture);
    return 0;
}

int teardown(void **state)
{
    (void)state;
    store_close(fixture);
    if (!getenv("DYT_KEEP_TEST_OUTPUT")) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd))
            return -1;
    } else {
        fprintf(stderr, "test output kept in %s\n", tmp);
    }
    return 0;
}

char *slurp2(const char *dir, const char *file)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    return slurp(p, NULL);
}

long fsize(const char *dir, const char *file)
{
    char p[600];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, file);
    return stat(p, &st) ? -1 : (long)st.st_size;
}

size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Writes the report of run into tmp/name; gnuplot as in report_opts. */
int report(const char *name, int64_t run, const int64_t *vs, size_t n_vs, const char *gnuplot,
           char *dir, dyt_err *e)
{
    snprintf(dir, 512, "%s/%s", tmp, name);
    report_opts o = {.run_id = run, .out_dir = dir, .gnuplot = gnuplot, .log = NULL};
    for (size_t i = 0; i < n_vs; i++)
        o.vs[o.n_vs++] = vs[i];
    return report_write(fixture, &o, e);
}

int have(const char *prog)
{
    return report_have_program(prog);
}

/* XML/HTML text with the five entities decoded. */
char *xml_unescape(const char *s)
{
    static const char *const ent[][2] = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}};
    char *o = malloc(strlen(s) + 1), *q = o;
    while (*s) {
        size_t k = 0;
        for (; k < 5; k++)
            if (!strncmp(s, ent[k][0], strlen(ent[k][0])))
                break;
        if (k < 5) {
            *q++ = ent[k][1][0];
            s += strlen(ent[k][0]);
        } else {
            *q++ = *s++;
        }
    }
    *q = 0;
    return o;
}
