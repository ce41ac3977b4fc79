/* Shared by the report tests: see helpers.c. */
#pragma once
#include "common.h"
#include "dyt_config.h"
#include "store.h"
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define EXPECTED_DIR DYT_SOURCE_ROOT "/tests/report/expected"

extern char tmp[256], dbpath[300];
extern store *fixture; /* the fixture store, open for the tests */
extern sqlite3 *db;    /* its connection, for the tests' own SQL */

int setup(void **state);
int teardown(void **state);
char *slurp2(const char *dir, const char *file);
long fsize(const char *dir, const char *file);
size_t count(const char *hay, const char *needle);
/* Writes the report of run into tmp/name (dir gets the path, >= 512). */
int report(const char *name, int64_t run, const int64_t *vs, size_t n_vs, const char *gnuplot,
           char *dir, dyt_err *e);
int have(const char *prog);
char *xml_unescape(const char *s);
