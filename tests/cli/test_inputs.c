/* Bad input, hostile text and failing outputs through the built binary
 * (argv[1]): a rejected option changes no store (PAPI event typo, threads
 * beyond the hardware, a suite named twice); a suite with a byte order
 * mark runs; verify that checked nothing exits 2 with its reasons; labels
 * and file names full of control bytes and invalid UTF-8 reach the
 * terminal escaped and every output file well formed (JUnit parses as
 * XML); an output that cannot be written exits 3. */
#include "dyt_test.h"

#include "escape.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char suite[300];

/* The hostile strings: ESC sequences, BEL, C0 bytes, invalid UTF-8, a
 * terminal-title OSC, markup characters. */
#define LABEL_A "\x1b[31mRED\x07"
#define LABEL_B                                                                                    \
    "caf\xe9\xff a\x01"                                                                            \
    "b <&>\""
#define SOURCE                                                                                     \
    "\x1b]0;pwned\x07 \xc2\x9b"                                                                    \
    "31m"

/* Runs `dytbench ARGS` (a shell fragment) with stdout into tmpdir/out and stderr
 * into tmpdir/err; the exit status. */
static int dyt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int dyt(const char *fmt, ...)
{
    char args[3000], cmd[4000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s/out' 2>'%s/err'", dytbench_exe, args, tmpdir, tmpdir);
    return exit_code(system(cmd));
}

/* The text of tmpdir/name (or of a path when name starts with '/'). */
static char *text_of(const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s%s%s", name[0] == '/' ? "" : tmpdir, name[0] == '/' ? "" : "/",
             name);
    return read_text(path);
}

/* Text safe for a terminal and a parser: valid UTF-8, no control byte but
 * newline, tab and CR. */
static void assert_clean(const char *what, const char *t)
{
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        if ((*p < 0x20 && *p != '\n' && *p != '\t' && *p != '\r') || *p == 0x7f)
            fail_msg("%s: control byte 0x%02x at offset %ld", what, *p,
                     (long)(p - (const unsigned char *)t));
    char *valid = esc_utf8_dup(t);
    assert_non_null(valid);
    if (strcmp(valid, t))
        fail_msg("%s: invalid UTF-8", what);
    free(valid);
}

static void assert_file_clean(const char *name)
{
    char *t = text_of(name);
    assert_clean(name, t);
    free(t);
}

#define TINY "[m]\ndomain = llm\nnorm = rmsnorm\nhidden = 64\ntokens = 4\nlayers = 1\n"
#define RUN_TINY "run --suite '%s' --pass fwd --norm dyt --quick -q"

static void test_papi_typo_changes_nothing(void **state)
{
    (void)state;
    char db[512];
    snprintf(db, sizeof db, "%s/papi.db", tmpdir);
    assert_int_equal(dyt(RUN_TINY " --papi-events PAPI_NOPE --db '%s'", suite, db), DYT_USAGE);
    assert_false(file_exists(db)); /* no store created */
    char *err = text_of("err");
    assert_non_null(strstr(err, "unknown PAPI event 'PAPI_NOPE'"));
    free(err);
    /* An existing store: no second machine record, not a byte changed. */
    assert_int_equal(dyt(RUN_TINY " --db '%s'", suite, db), DYT_OK);
    char *before = text_of(db);
    struct stat s0, s1;
    assert_int_equal(stat(db, &s0), 0);
    assert_int_equal(dyt(RUN_TINY " --papi-events PAPI_TOT_INS,PAPI_NOPE --db '%s'", suite, db),
                     DYT_USAGE);
    assert_int_equal(stat(db, &s1), 0);
    assert_int_equal(s0.st_size, s1.st_size);
    assert_true(s0.st_mtim.tv_sec == s1.st_mtim.tv_sec && s0.st_mtim.tv_nsec == s1.st_mtim.tv_nsec);
    char *after = text_of(db);
    assert_memory_equal(before, after, (size_t)s0.st_size);
    free(before);
    free(after);
}

static void test_threads_beyond_hardware(void **state)
{
    (void)state;
    char db[512];
    snprintf(db, sizeof db, "%s/threads.db", tmpdir);
    int hw = dyt_hw_threads();
    assert_int_equal(dyt(RUN_TINY " --threads %d --db '%s'", suite, hw + 1, db), DYT_USAGE);
    assert_false(file_exists(db));
    char *err = text_of("err");
    assert_non_null(strstr(err, "--oversubscribe"));
    free(err);
    assert_int_equal(dyt(RUN_TINY " --threads 1,%d --db '%s'", suite, 4 * hw, db), DYT_USAGE);
    assert_int_equal(dyt("bench-kernels --threads %d", hw + 1), DYT_USAGE);
    /* Forced, it runs. */
    assert_int_equal(dyt(RUN_TINY " --threads %d --oversubscribe --db '%s'", suite, hw + 1, db),
                     DYT_OK);
}

static void test_suite_named_twice(void **state)
{
    (void)state;
    char db[512];
    snprintf(db, sizeof db, "%s/twice.db", tmpdir);
    assert_int_equal(dyt(RUN_TINY ",'%s' --db '%s'", suite, suite, db), DYT_USAGE);
    assert_int_equal(dyt("run --suite quick,quick --quick -q --db '%s'", db), DYT_USAGE);
    char *err = text_of("err");
    assert_non_null(strstr(err, "'quick' and 'quick' are the same file"));
    free(err);
    assert_false(file_exists(db));
}

static void test_byte_order_mark(void **state)
{
    (void)state;
    char bom[512], db[512];
    snprintf(bom, sizeof bom, "%s/bom.suite", tmpdir);
    snprintf(db, sizeof db, "%s/bom.db", tmpdir);
    write_file(bom, "\xef\xbb\xbf" TINY);
    assert_int_equal(dyt(RUN_TINY " --db '%s'", bom, db), DYT_OK);
}

/* One case, every variant skips it (alpha 0.1 is not exact in fp32): exit
 * 2, with the reason; nan refused with file:line. */
static void test_verify_checked_nothing(void **state)
{
    (void)state;
    static const char tail[] = "x 2\n0.5 0.25\ndy 2\n1 1\ngamma 2\n1 1\nbeta 2\n0 0\ny 2\n0.05 "
                               "0.025\ndx 2\n0.1 0.1\ndgamma 2\n0.05 0.025\ndbeta 2\n1 1\n"
                               "dalpha 1\n0.75\nend\n";
    char path[512], text[600];
    snprintf(path, sizeof path, "%s/inexact.txt", tmpdir);
    snprintf(text, sizeof text, "case dyt rows=1 cols=2 alpha=0.1 beta=1\n%s", tail);
    write_file(path, text);
    assert_int_equal(dyt("verify --vectors '%s'", path), DYT_USAGE);
    char *out = text_of("out"), *err = text_of("err");
    assert_null(strstr(out, "all checked variants pass"));
    assert_non_null(strstr(err, "no case was checked"));
    assert_non_null(strstr(err, "alpha not exact in fp32"));
    free(out);
    free(err);
    snprintf(path, sizeof path, "%s/nan.txt", tmpdir);
    snprintf(text, sizeof text, "case dyt rows=1 cols=2 alpha=0.5 beta=1\n%s", tail);
    char *v = strstr(text, "0.5 0.25");
    memcpy(v, "nan 0.25", 8);
    write_file(path, text);
    assert_int_equal(dyt("verify --vectors '%s'", path), DYT_USAGE);
    err = text_of("err");
    assert_non_null(strstr(err, "nan.txt:3: 'nan' is not a finite number"));
    free(err);
    /* The shipped vectors check something and pass. */
    assert_int_equal(dyt("verify --variant scalar"), DYT_OK);
}

/* Two runs labelled with hostile text, of a suite whose file name and
 * source hold control bytes: every reader's terminal output shows them
 * escaped; every file format stays well formed. */
static void test_hostile_text(void **state)
{
    (void)state;
    char db[512], evil[512], rep[512];
    snprintf(db, sizeof db, "%s/hostile.db", tmpdir);
    snprintf(evil, sizeof evil, "%s/ev\x1b[7mil\x01.suite", tmpdir);
    write_file(evil, TINY "source = \"" SOURCE "\"\n");
    assert_int_equal(dyt(RUN_TINY " --db '%s' --label '" LABEL_A "'", evil, db), DYT_OK);
    assert_int_equal(dyt(RUN_TINY " --db '%s' --label '" LABEL_B "'", evil, db), DYT_OK);
    assert_file_clean("out");

    static const char *const text_cmds[] = {"list runs", "show 1", "show 2", "compare 1 2",
                                            "compare 1 2 --format md"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(text_cmds); i++) {
        int rc = dyt("%s --db '%s'", text_cmds[i], db);
        if (rc != DYT_OK && rc != DYT_FAIL)
            fail_msg("%s: exit %d", text_cmds[i], rc);
        assert_file_clean("out");
        assert_file_clean("err");
    }
    assert_int_equal(dyt("list runs --db '%s'", db), DYT_OK);
    char *out = text_of("out");
    assert_non_null(strstr(out, "\\x1b[31mRED\\x07"));
    assert_non_null(strstr(out, "caf\\xe9\\xff a\\x01b"));
    free(out);
    /* A message quoting what the user typed. */
    assert_int_equal(dyt("show '" LABEL_A "-nope' --db '%s'", db), DYT_USAGE);
    assert_file_clean("err");

    int rc = dyt("compare 1 2 --format junit -o '%s/junit.xml' --db '%s'", tmpdir, db);
    assert_true(rc == DYT_OK || rc == DYT_FAIL);
    assert_file_clean("junit.xml");
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "
             "'%s/junit.xml'",
             tmpdir);
    assert_int_equal(system(cmd), 0);
    rc = dyt("compare 1 2 --format json -o '%s/gate.json' --db '%s'", tmpdir, db);
    assert_true(rc == DYT_OK || rc == DYT_FAIL);
    char json[512];
    snprintf(json, sizeof json, "%s/gate.json", tmpdir);
    json_error_t je;
    json_t *j = json_load_file(json, 0, &je);
    if (!j)
        fail_msg("gate JSON: %s", je.text);
    const char *label =
        json_string_value(json_object_get(json_object_get(j, "candidate"), "label"));
    assert_non_null(label);
    assert_string_equal(label, "caf\xef\xbf\xbd\xef\xbf\xbd a\x01"
                               "b <&>\"");
    json_decref(j);

    snprintf(rep, sizeof rep, "%s/report", tmpdir);
    assert_int_equal(dyt("report 2 --vs 1 --db '%s' --out '%s'", db, rep), DYT_OK);
    static const char *const files[] = {"report/report.md", "report/tables.tex",
                                        "report/index.html"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(files); i++)
        assert_file_clean(files[i]);
    /* Figures where gnuplot is installed: their scripts clean, their SVG
     * (inlined in index.html) well-formed XML. */
    snprintf(cmd, sizeof cmd,
             "cd '%s/figures' 2>/dev/null || exit 0; for f in *.gp; do [ -e \"$f\" ] || exit 0; "
             "LC_ALL=C grep -qP '[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]' \"$f\" && exit 1; done; "
             "for f in *.svg; do [ -e \"$f\" ] || exit 0; python3 -c 'import sys, "
             "xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' \"$f\" || exit 1; done",
             rep);
    assert_int_equal(system(cmd), 0);
}

/* Outputs that cannot be written: exit 3, with a message. */
static void test_unwritable_output(void **state)
{
    (void)state;
    char db[512];
    snprintf(db, sizeof db, "%s/out.db", tmpdir);
    assert_int_equal(dyt(RUN_TINY " --db '%s'", suite, db), DYT_OK);
    assert_int_equal(dyt(RUN_TINY " --db '%s'", suite, db), DYT_OK);
    assert_int_equal(dyt("compare 1 2 --db '%s' -o /dev/full", db), DYT_RESOURCE);
    char *err = text_of("err");
    assert_non_null(strstr(err, "No space left on device"));
    free(err);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s' list runs --db '%s' >/dev/full 2>'%s/err'", dytbench_exe, db,
             tmpdir);
    assert_int_equal(exit_code(system(cmd)), DYT_RESOURCE);
    snprintf(cmd, sizeof cmd, "'%s' show 1 --db '%s' >/dev/full 2>/dev/null", dytbench_exe, db);
    assert_int_equal(exit_code(system(cmd)), DYT_RESOURCE);
    assert_int_equal(dyt("report 1 --db '%s' --out /dev/full/report --no-figures", db),
                     DYT_RESOURCE);
    /* A store that cannot grow (the file-size limit stands in for a full
     * disk): the run stops with 3, not as bad input. */
    char full[512];
    snprintf(full, sizeof full, "%s/full.db", tmpdir);
    snprintf(cmd, sizeof cmd,
             "trap '' XFSZ; ulimit -f 32; '%s' " RUN_TINY " --db '%s' >/dev/null 2>'%s/err'",
             dytbench_exe, suite, full, tmpdir);
    int code = exit_code(system(cmd));
    err = text_of("err");
    if (code != DYT_RESOURCE)
        fail_msg("exit %d: %s", code, err);
    free(err);
}

static int setup(void **state)
{
    (void)state;
    if (!dytbench_exe)
        return -1;
    snprintf(suite, sizeof suite, "%s/tiny.suite", tmpdir);
    write_file(suite, TINY);
    return 0;
}

DYT_TEST_MAIN_IN_TMPDIR("cli-inputs", setup, NULL, cmocka_unit_test(test_papi_typo_changes_nothing),
                        cmocka_unit_test(test_threads_beyond_hardware),
                        cmocka_unit_test(test_suite_named_twice),
                        cmocka_unit_test(test_byte_order_mark),
                        cmocka_unit_test(test_verify_checked_nothing),
                        cmocka_unit_test(test_hostile_text),
                        cmocka_unit_test(test_unwritable_output))
