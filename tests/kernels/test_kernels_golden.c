/* Every registered CPU variant this machine supports, against both golden
 * files (PyTorch float64 answers): each case whose inputs are exact in the
 * variant's storage type must pass the harness's tolerance. Walks the
 * registry, so variants added later are covered without editing this. */
#include "dyt_test.h"

#include "check.h"

#include <stdlib.h>
#include <string.h>

static void golden_file(const char *file, int threads)
{
    char p[1024];
    const char *dir = getenv("DYTBENCH_VECTORS_DIR");
    snprintf(p, sizeof p, "%s/%s", dir ? dir : "tests/vectors", file);
    vec_file vf;
    dyt_err e = {{0}};
    if (vec_parse_file(p, &vf, &e))
        fail_msg("%s", e.msg);
    kern_pool *pool = threads > 1 ? kern_pool_create(threads, NULL, NULL) : NULL;
    size_t n, variants = 0;
    const kern_entry *reg = kern_registry(&n);
    int is_bf16_file = strstr(file, "bf16") != NULL;
    for (size_t i = 0; i < n; i++) {
        const kern_entry *v = &reg[i];
        if (v->device != DEVICE_CPU || !kern_supported(v))
            continue;
        size_t checked = 0;
        for (size_t c = 0; c < vf.n; c++) {
            if (vf.cases[c].norm != v->norm)
                continue;
            kern_check_result r;
            if (kern_check_golden(v, &vf.cases[c], pool, &r, &e))
                fail_msg("%s", e.msg);
            if (r.skipped) {
                /* only inexact inputs may skip: a refusal is a failure here */
                if (strncmp(r.reason, "inputs not exact", 16) != 0)
                    fail_msg("%s %s %s %s line %d: %s", v->name, norm_name(v->norm),
                             pass_name(v->pass), dtype_name(v->dtype), vf.cases[c].line, r.reason);
                continue;
            }
            checked++;
            if (!r.pass)
                fail_msg("%s: %s %s %s %s, case at line %d: %s error %.3g > tolerance %.3g "
                         "(threads %d)",
                         file, v->name, norm_name(v->norm), pass_name(v->pass),
                         dtype_name(v->dtype), vf.cases[c].line, r.output, r.worst, r.tol, threads);
        }
        /* fp32 variants check on both files, bf16 ones on the bf16 file */
        if (v->dtype == DTYPE_F32 || is_bf16_file)
            assert_int_equal(checked, v->norm == NORM_DYT ? 16 : 8);
        else
            assert_int_equal(checked, 0);
        variants++;
    }
    assert_true(variants >= 12 + 12 + 4); /* ref, scalar, libm at least */
    kern_pool_destroy(pool);
    vec_file_free(&vf);
}

static void test_golden_fp32(void **state) { (void)state; golden_file("golden-fp32.txt", 1); }
static void test_golden_bf16(void **state) { (void)state; golden_file("golden-bf16.txt", 1); }
static void test_golden_fp32_threads(void **state) { (void)state; golden_file("golden-fp32.txt", 3); }

/* The harness must be able to fail: a corrupted golden answer is caught. */
static void test_golden_detects_wrong_answer(void **state)
{
    (void)state;
    char p[1024];
    const char *dir = getenv("DYTBENCH_VECTORS_DIR");
    snprintf(p, sizeof p, "%s/golden-fp32.txt", dir ? dir : "tests/vectors");
    vec_file vf;
    dyt_err e;
    assert_int_equal(vec_parse_file(p, &vf, &e), DYT_OK);
    const kern_entry *ref = kern_find(NORM_DYT, PASS_BWD, DTYPE_F32, "ref");
    assert_non_null(ref);
    vec_case *c = &vf.cases[4]; /* dyt 2x3 */
    assert_int_equal(c->norm, NORM_DYT);
    kern_check_result r;
    assert_int_equal(kern_check_golden(ref, c, NULL, &r, &e), DYT_OK);
    assert_true(r.pass);
    ((vec_tensor *)vec_find(c, "dgamma"))->v[1] *= 1.0001;
    assert_int_equal(kern_check_golden(ref, c, NULL, &r, &e), DYT_OK);
    assert_false(r.pass);
    assert_string_equal(r.output, "dgamma");
    vec_file_free(&vf);
}

DYT_TEST_MAIN("test_kernels_golden", NULL, NULL, cmocka_unit_test(test_golden_fp32),
              cmocka_unit_test(test_golden_bf16), cmocka_unit_test(test_golden_fp32_threads),
              cmocka_unit_test(test_golden_detects_wrong_answer))
