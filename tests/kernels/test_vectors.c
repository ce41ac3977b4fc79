/* Tests of the golden-vector parser: the shipped files parse completely,
 * malformed input (non-finite values included) is rejected with file:line,
 * and a declared count costs no memory the file does not back. */
#include "dyt_test.h"

#include "vectors.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void vpath(char *buf, size_t n, const char *file)
{
    const char *dir = getenv("DYTBENCH_VECTORS_DIR");
    snprintf(buf, n, "%s/%s", dir ? dir : "tests/vectors", file);
}

static void test_shipped_files(void **state)
{
    (void)state;
    const char *files[] = {"golden-fp32.txt", "golden-bf16.txt"};
    for (int f = 0; f < 2; f++) {
        char p[1024];
        vpath(p, sizeof p, files[f]);
        vec_file vf;
        dyt_err e = {{0}};
        int rc = vec_parse_file(p, &vf, &e);
        if (rc)
            fail_msg("%s", e.msg);
        assert_int_equal(vf.n, 32);
        int norms[NORM_COUNT] = {0};
        for (size_t i = 0; i < vf.n; i++)
            norms[vf.cases[i].norm]++;
        assert_int_equal(norms[NORM_DYT], 16);
        assert_int_equal(norms[NORM_LAYERNORM], 8);
        assert_int_equal(norms[NORM_RMSNORM], 8);
        const vec_case *c = &vf.cases[0]; /* case dyt rows=1 cols=1 alpha=0.5 beta=1 */
        assert_int_equal(c->norm, NORM_DYT);
        assert_int_equal(c->rows, 1);
        assert_int_equal(c->cols, 1);
        assert_true(c->alpha == 0.5);
        assert_int_equal(c->has_beta, 1);
        assert_int_equal(c->line, 2);
        assert_non_null(vec_find(c, "dalpha"));
        assert_null(vec_find(c, "mean"));
        vec_file_free(&vf);
    }
}

static void test_first_values(void **state)
{
    (void)state;
    char p[1024];
    vpath(p, sizeof p, "golden-fp32.txt");
    vec_file vf;
    dyt_err e;
    assert_int_equal(vec_parse_file(p, &vf, &e), DYT_OK);
    const vec_tensor *x = vec_find(&vf.cases[0], "x");
    assert_non_null(x);
    assert_true(x->v[0] == -3.371248722076416);
    const vec_case *ln = &vf.cases[2];
    assert_int_equal(ln->norm, NORM_LAYERNORM);
    assert_int_equal(ln->affine, 1);
    assert_true(ln->eps == 1e-5);
    assert_true(vec_find(ln, "rstd")->v[0] == 316.2277660168379);
    assert_int_equal(vf.cases[3].norm, NORM_RMSNORM);
    assert_int_equal(vf.cases[3].affine, 1); /* rmsnorm always has gamma */
    vec_file_free(&vf);
}

/* Parses text, expects failure with msg containing want. */
static void expect_error(const char *text, const char *want)
{
    vec_file vf;
    dyt_err e = {{0}};
    int rc = vec_parse_string(text, "t.txt", &vf, &e);
    assert_int_equal(rc, DYT_USAGE);
    if (!strstr(e.msg, want))
        fail_msg("error '%s' lacks '%s'", e.msg, want);
}

#define OK_RMS "case rmsnorm rows=1 cols=2 eps=1e-6\nx 2\n1 2\ndy 2 1 1\ngamma 2\n1 1\n" \
               "y 2\n1 1\ndx 2\n0 0\ndgamma 2\n1 1\nrstd 1\n1\nend\n"

static void test_errors(void **state)
{
    (void)state;
    vec_file vf;
    dyt_err e;
    assert_int_equal(vec_parse_string("# comment\n" OK_RMS, "t.txt", &vf, &e), DYT_OK);
    assert_int_equal(vf.n, 1);
    assert_true(vec_find(&vf.cases[0], "dy")->v[1] == 1.0);
    vec_file_free(&vf);

    expect_error("", "t.txt: no cases");
    expect_error("bogus\n", "t.txt:1: expected 'case'");
    expect_error("case foo rows=1 cols=1\n", "t.txt:1: unknown norm 'foo'");
    expect_error("case dyt rows=1\nend\n", "t.txt:1: case needs rows= and cols=");
    expect_error("case dyt rows=1 cols=1 colour=3\n", "t.txt:1: unknown key 'colour'");
    expect_error("case dyt rows=x cols=1\n", "t.txt:1: bad value for 'rows'");
    expect_error("case dyt rows=1 cols=1 beta=2\n", "t.txt:1: bad value for 'beta'");
    expect_error("case rmsnorm rows=1 cols=2 eps=1e-6\n\nx 3\n1 2 3\nend\n",
                 "t.txt:3: tensor 'x' has count 3, its shape needs 2");
    expect_error("case rmsnorm rows=1 cols=2 eps=1e-6\nx 2\n1 zz\nend\n",
                 "t.txt:3: 'zz' is not a finite number");
    expect_error("case rmsnorm rows=1 cols=2 eps=1e-6\nx 2\n1 2\nfoo 2\n",
                 "t.txt:4: unknown tensor 'foo'");
    expect_error("case rmsnorm rows=1 cols=2 eps=1e-6\nx 2\n1 2\nmean 1\n1\nend\n",
                 "t.txt:4: tensor 'mean' does not belong");
    expect_error("case rmsnorm rows=1 cols=2 eps=1e-6\nx 2\n1 2\nx 2\n",
                 "t.txt:4: tensor 'x' given twice");
    expect_error("case rmsnorm rows=1 cols=2 eps=1e-6\nx 2\n1 2\nend\n",
                 "t.txt:1: rmsnorm case lacks tensor 'dy'");
    expect_error("case rmsnorm rows=1 cols=2 eps=1e-6\nx 2\n1\n", "tensor 'x' ends after 1 of 2");
    expect_error("case rmsnorm rows=1 cols=2 eps=1e-6\nx 2\n1 2\ndy\n2\n",
                 "t.txt:4: tensor 'dy' needs a count");
    expect_error(OK_RMS "case dyt rows=1 cols=1 alpha=1 beta=0\nx 1\n1\n",
                 "t.txt:16: case has no 'end'");
}

/* A value must be a finite number: nan and inf (any spelling strtod takes)
 * are refused, with file:line. */
static void test_non_finite(void **state)
{
    (void)state;
    static const char *const bad[] = {"nan", "NaN", "inf", "-inf", "Infinity", "1e999"};
    for (size_t i = 0; i < DYT_ARRAY_LEN(bad); i++) {
        char text[256], want[64];
        snprintf(text, sizeof text, "case rmsnorm rows=1 cols=2 eps=1e-6\nx 2\n1 %s\nend\n",
                 bad[i]);
        snprintf(want, sizeof want, "t.txt:3: '%s' is not a finite number", bad[i]);
        expect_error(text, want);
    }
}

/* A 200-byte file that declares 2^28 values (2 GiB as float64) is refused
 * for what it holds, without the 2 GiB: checked in a child whose address
 * space is capped at 512 MiB. */
static void test_count_bounded_by_file(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit lim = {512u << 20, 512u << 20};
        if (setrlimit(RLIMIT_AS, &lim) != 0)
            _exit(3);
        const char *text = "case dyt rows=16384 cols=16384 alpha=0.5 beta=1\nx 268435456\n1 2 3\n";
        vec_file vf;
        dyt_err e = {{0}};
        int rc = vec_parse_string(text, "big.txt", &vf, &e);
        fprintf(stderr, "%s\n", e.msg);
        _exit(rc == DYT_USAGE && strstr(e.msg, "big.txt:4: tensor 'x' ends after 3 of 268435456")
                  ? 0
                  : 1);
    }
    assert_int_equal(wait_exit(pid), 0);
}

static void test_missing_file(void **state)
{
    (void)state;
    vec_file vf;
    dyt_err e = {{0}};
    assert_int_not_equal(vec_parse_file("/nonexistent/golden.txt", &vf, &e), DYT_OK);
    assert_non_null(strstr(e.msg, "/nonexistent/golden.txt"));
}

DYT_TEST_MAIN("test_vectors", NULL, NULL, cmocka_unit_test(test_shipped_files),
              cmocka_unit_test(test_first_values), cmocka_unit_test(test_errors),
              cmocka_unit_test(test_non_finite), cmocka_unit_test(test_count_bounded_by_file),
              cmocka_unit_test(test_missing_file))
