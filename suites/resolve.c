/* Where suite files live: the shipped suites' directory (environment
 * override, source tree, install location) and the mapping from a
 * command-line word ("llm" or "./my.suite") to a file path. */
#include "dyt_config.h"
#include "suite.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const shipped[] = {"quick", "vision", "llm", "speech", "dna", NULL};

const char *const *suite_shipped_names(void)
{
    return shipped;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *suite_dir(void)
{
    /* Tests and users with their own copy set DYTBENCH_SUITES_DIR; a build
     * run from its tree finds the sources; an installed binary its datadir. */
    const char *env = getenv("DYTBENCH_SUITES_DIR");
    if (env && *env)
        return env;
    if (is_dir(DYT_SOURCE_ROOT "/suites"))
        return DYT_SOURCE_ROOT "/suites";
#ifdef DYT_SUITES_INSTALL_DIR
    if (is_dir(DYT_SUITES_INSTALL_DIR))
        return DYT_SUITES_INSTALL_DIR;
#endif
    return "suites";
}

static int looks_like_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') || (n > 6 && !strcmp(s + n - 6, ".suite"));
}

int suite_resolve(const char *name_or_path, char *path, size_t n, dyt_err *e)
{
    struct stat st;
    if (!name_or_path || !*name_or_path)
        return dyt_errf(e, DYT_USAGE, "empty suite name");
    if (looks_like_path(name_or_path)) {
        if (stat(name_or_path, &st) != 0)
            return dyt_errf(e, DYT_USAGE, "%s: %s", name_or_path, strerror(errno));
        if (!S_ISREG(st.st_mode))
            return dyt_errf(e, DYT_USAGE, "%s: not a regular file", name_or_path);
        if ((size_t)snprintf(path, n, "%s", name_or_path) >= n)
            return dyt_errf(e, DYT_USAGE, "%s: path too long", name_or_path);
        return DYT_OK;
    }
    const char *dir = suite_dir();
    if ((size_t)snprintf(path, n, "%s/%s.suite", dir, name_or_path) >= n)
        return dyt_errf(e, DYT_USAGE, "suite name '%s' too long", name_or_path);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return DYT_OK;
    char known[256] = "";
    for (size_t i = 0; shipped[i]; i++) {
        strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
        strncat(known, shipped[i], sizeof known - strlen(known) - 1);
    }
    return dyt_errf(
        e, DYT_USAGE,
        "unknown suite '%s': no %s (shipped suites: %s; or give a path to a .suite file)",
        name_or_path, path, known);
}
