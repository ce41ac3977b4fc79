/* Tests of the ISA table and the backends: the table's rows are well
 * formed; every registered variant's ISA bits are in it and every
 * optional backend's variants need its bit; kern_best follows the ranks
 * under every mask of the CPU bits (stepped in this process, as dav1d's
 * checkasm does); the reasons name what is missing and why; the backends
 * report built / usable / why not; host calls go through the backend.
 *
 * Run twice by meson: as is, and with DYTBENCH_ISA_MASK=0x1 and argv[1] =
 * "0x1", the mask the environment is expected to have set. */
#include "dyt_test.h"

#include "dyt_config.h"
#include "kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned env_mask = ~0u; /* what DYTBENCH_ISA_MASK was set to (argv[1]) */
static unsigned detected;       /* every usable bit, mask cleared */

static int all_ones(void **st)
{
    (void)st;
    kern_set_isa_mask(~0u);
    return 0;
}

/* First, before any test steps the mask: the environment's mask applies
 * to what was detected and nothing else. */
static void test_env_mask(void **st)
{
    (void)st;
    unsigned flags = kern_cpu_flags();
    kern_set_isa_mask(~0u);
    detected = kern_cpu_flags();
    assert_int_equal(flags, detected & env_mask);
    size_t n;
    const kern_isa *isa = kern_isa_table(&n);
    for (size_t i = 0; i < n; i++) {
        kern_set_isa_mask(env_mask);
        const char *why = kern_isa_missing(isa[i].bit);
        if ((detected & isa[i].bit) && !(env_mask & isa[i].bit))
            assert_string_equal(why, "disabled by DYTBENCH_ISA_MASK");
        else if (detected & isa[i].bit)
            assert_null(why);
        else
            assert_non_null(why);
    }
    kern_set_isa_mask(~0u);
}

static void test_table_rows(void **st)
{
    (void)st;
    size_t n;
    const kern_isa *isa = kern_isa_table(&n);
    assert_true(n > 0);
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) {
        const kern_isa *r = &isa[i];
        assert_true(r->bit && !(r->bit & (r->bit - 1))); /* one bit */
        assert_false(seen & r->bit);
        seen |= r->bit;
        assert_ptr_equal(kern_isa_find(r->bit), r);
        assert_true(r->name && r->name[0] && r->what && r->what[0]);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(isa[j].name, r->name);
            if (r->prefer > 0)
                assert_int_not_equal(isa[j].prefer, r->prefer);
        }
        if (r->kind == KERN_ISA_CPU) {
            assert_non_null(r->detect);
            assert_null(r->not_built);
            assert_true(r->prefer >= 0);
        } else {
            assert_int_equal(r->kind, KERN_ISA_BACKEND);
            assert_null(r->detect);
            assert_true(r->not_built && r->not_built[0]);
            assert_int_equal(r->prefer, 0);
        }
    }
    assert_int_equal(kern_isa_bits(KERN_ISA_CPU) | kern_isa_bits(KERN_ISA_BACKEND), seen);
    assert_int_equal(kern_isa_bits(KERN_ISA_CPU) & kern_isa_bits(KERN_ISA_BACKEND), 0);
    assert_null(kern_isa_find(1u << 30));
    assert_null(kern_isa_find(ISA_NONE));
}

static void test_names(void **st)
{
    (void)st;
    char buf[128];
    assert_int_equal(kern_isa_names(ISA_AVX512 | ISA_AVX512BF16, "+", buf, sizeof buf), 2);
    assert_string_equal(buf, "avx512+avx512bf16");
    assert_int_equal(kern_isa_names(ISA_NONE, "+", buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    /* Table order, whatever order the bits are given in. */
    assert_int_equal(kern_isa_names(ISA_CUDA | ISA_AVX2, " ", buf, sizeof buf), 2);
    assert_string_equal(buf, "avx2 cuda");
    /* Truncated, never overrun. */
    char small[8];
    memset(small, 'x', sizeof small);
    assert_int_equal(
        kern_isa_names(ISA_AVX2 | ISA_AVX512 | ISA_AVX512BF16, " ", small, sizeof small), 3);
    assert_string_equal(small, "avx2 av");
}

/* Every variant's bits are in the table; an optional backend's variants
 * all need its bit, and the registry is the backends' concatenation. */
static void test_variant_bits(void **st)
{
    (void)st;
    size_t n, nb;
    const kern_entry *r = kern_registry(&n);
    const kern_backend *const *b = kern_backend_list(&nb);
    unsigned known = kern_isa_bits(KERN_ISA_CPU) | kern_isa_bits(KERN_ISA_BACKEND);
    size_t k = 0;
    for (size_t i = 0; i < nb; i++) {
        assert_true(b[i]->name && b[i]->name[0] && b[i]->n_variants > 0);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(b[j]->name, b[i]->name);
        if (b[i]->isa) {
            const kern_isa *row = kern_isa_find(b[i]->isa);
            assert_non_null(row);
            assert_int_equal(row->kind, KERN_ISA_BACKEND);
        }
        for (size_t v = 0; v < b[i]->n_variants; v++, k++) {
            const kern_entry *e = &b[i]->variants[v];
            assert_true(k < n);
            assert_memory_equal(&r[k], e, sizeof *e);
            assert_int_equal(e->isa & ~known, 0);
            assert_int_equal(e->isa & b[i]->isa, b[i]->isa);
            /* A plain backend's variants need CPU features only. */
            if (!b[i]->isa)
                assert_int_equal(e->isa & kern_isa_bits(KERN_ISA_BACKEND), 0);
            if (e->device == DEVICE_CUDA)
                assert_true(e->isa & ISA_CUDA);
            assert_non_null(e->fn);
        }
    }
    assert_int_equal(k, n);
    assert_string_equal(r[0].name, "ref");
}

/* Each ranked CPU ISA names its variant, and the baseline covers every
 * CPU combination kern_best can be asked for. */
static void test_dispatch_variants_exist(void **st)
{
    (void)st;
    size_t n, count;
    const kern_isa *isa = kern_isa_table(&n);
    const kern_entry *r = kern_registry(&count);
    for (size_t i = 0; i < n; i++) {
        if (isa[i].prefer <= 0)
            continue;
        size_t found = 0;
        for (size_t j = 0; j < count; j++)
            if (!strcmp(r[j].name, isa[i].name)) {
                found++;
                assert_int_equal(r[j].device, DEVICE_CPU);
                assert_true(r[j].isa & isa[i].bit);
            }
        if (!found)
            fail_msg("ISA %s has rank %d but no variant of that name", isa[i].name, isa[i].prefer);
    }
    for (int no = 0; no < NORM_COUNT; no++)
        for (int p = 0; p < PASS_COUNT; p++)
            for (int d = 0; d < DTYPE_COUNT; d++) {
                if (d == DTYPE_F16)
                    continue; /* no CPU variant stores fp16 */
                const kern_entry *e =
                    kern_find((norm_kind)no, (pass_kind)p, (dtype_kind)d, KERN_BASELINE_VARIANT);
                assert_non_null(e);
                assert_int_equal(e->isa, ISA_NONE);
            }
}

/* What kern_best should pick, worked out from the registry side: among the
 * CPU variants of the combination that can run, the one whose name has
 * the highest rank (the baseline ranks 0). */
static const kern_entry *expected_best(norm_kind no, pass_kind p, dtype_kind d, unsigned flags)
{
    size_t count;
    const kern_entry *r = kern_registry(&count), *best = NULL;
    int best_rank = -1;
    for (size_t i = 0; i < count; i++) {
        if (r[i].norm != no || r[i].pass != p || r[i].dtype != d || r[i].device != DEVICE_CPU ||
            (r[i].isa & ~flags))
            continue;
        int rank = -1;
        if (!strcmp(r[i].name, KERN_BASELINE_VARIANT))
            rank = 0;
        size_t n;
        const kern_isa *isa = kern_isa_table(&n);
        for (size_t j = 0; j < n; j++)
            if (isa[j].prefer > 0 && !strcmp(isa[j].name, r[i].name))
                rank = isa[j].prefer;
        if (rank > best_rank)
            best = &r[i], best_rank = rank;
    }
    return best;
}

static void test_preference_every_mask(void **st)
{
    (void)st;
    unsigned cpu = kern_isa_bits(KERN_ISA_CPU);
    for (unsigned m = 0; m <= cpu; m++) {
        if (m & ~cpu)
            continue;
        kern_set_isa_mask(m | kern_isa_bits(KERN_ISA_BACKEND));
        unsigned flags = kern_cpu_flags();
        assert_int_equal(flags & cpu, detected & m);
        for (int no = 0; no < NORM_COUNT; no++)
            for (int p = 0; p < PASS_COUNT; p++)
                for (int d = 0; d < DTYPE_COUNT; d++) {
                    const kern_entry *got = kern_best((norm_kind)no, (pass_kind)p, (dtype_kind)d);
                    const kern_entry *want =
                        expected_best((norm_kind)no, (pass_kind)p, (dtype_kind)d, flags);
                    if (got != want)
                        fail_msg("mask 0x%x, %s %s %s: kern_best gave %s, expected %s", m,
                                 norm_name((norm_kind)no), pass_name((pass_kind)p),
                                 dtype_name((dtype_kind)d), got ? got->name : "none",
                                 want ? want->name : "none");
                }
    }
    /* The ranks as this project means them, on a CPU that has them all. */
    unsigned all = ISA_AVX2 | ISA_AVX512 | ISA_AVX512BF16;
    if ((detected & all) == all) {
        static const struct {
            unsigned mask;
            dtype_kind d;
            const char *best;
        } want[] = {
            {ISA_AVX2 | ISA_AVX512 | ISA_AVX512BF16, DTYPE_BF16, "avx512bf16"},
            {ISA_AVX2 | ISA_AVX512 | ISA_AVX512BF16, DTYPE_F32, "avx512"},
            {ISA_AVX2 | ISA_AVX512, DTYPE_BF16, "avx512"},
            {ISA_AVX2 | ISA_AVX512BF16, DTYPE_BF16, "avx2"}, /* bf16 stores need AVX-512 too */
            {ISA_AVX2, DTYPE_F32, "avx2"},
            {ISA_AVX512BF16, DTYPE_BF16, KERN_BASELINE_VARIANT},
            {0, DTYPE_F32, KERN_BASELINE_VARIANT},
        };
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            kern_set_isa_mask(want[i].mask);
            const kern_entry *e = kern_best(NORM_RMSNORM, PASS_BWD, want[i].d);
            assert_non_null(e);
            assert_string_equal(e->name, want[i].best);
        }
    }
    /* No baseline and nothing else: none (fp16 has no CPU variant). */
    kern_set_isa_mask(~0u);
    assert_null(kern_best(NORM_DYT, PASS_FWD, DTYPE_F16));
}

static void test_reasons(void **st)
{
    (void)st;
    char why[256], want[256];
    kern_entry k = {.name = "x", .isa = ISA_NONE};
    kern_set_isa_mask(0);
    assert_int_equal(kern_unsupported_reason(&k, why, sizeof why), 0);
    assert_string_equal(why, "");
    size_t n;
    const kern_isa *isa = kern_isa_table(&n);
    for (size_t i = 0; i < n; i++) {
        if (isa[i].kind != KERN_ISA_CPU)
            continue;
        k.isa = isa[i].bit;
        kern_set_isa_mask(~isa[i].bit);
        assert_int_equal(kern_unsupported_reason(&k, why, sizeof why), 1);
        snprintf(want, sizeof want, "needs %s: %s", isa[i].what,
                 detected & isa[i].bit ? "disabled by DYTBENCH_ISA_MASK" : "this CPU lacks it");
        assert_string_equal(why, want);
        kern_set_isa_mask(~0u);
        assert_int_equal(kern_unsupported_reason(&k, why, sizeof why),
                         (detected & isa[i].bit) ? 0 : 1);
        assert_int_equal(kern_isa_missing(isa[i].bit) == NULL, (detected & isa[i].bit) != 0);
    }
    /* Several missing: the first in table order is named. */
    k.isa = ISA_AVX512 | ISA_AVX512BF16;
    kern_set_isa_mask(0);
    assert_int_equal(kern_unsupported_reason(&k, why, sizeof why), 1);
    assert_non_null(strstr(why, "needs AVX-512 (F/BW/DQ/VL): "));
    kern_set_isa_mask(~0u);
    k.isa = 1u << 30;
    assert_int_equal(kern_unsupported_reason(&k, why, sizeof why), 1);
    assert_string_equal(why, "needs an unknown feature (isa mask 0x40000000)");
    /* A short buffer is cut, not overrun. */
    char small[6];
    assert_int_equal(kern_unsupported_reason(&k, small, sizeof small), 1);
    assert_string_equal(small, "needs");
}

/* The backend that provides bit, or NULL when this build has none. */
static const kern_backend *backend_of(unsigned bit)
{
    size_t nb;
    const kern_backend *const *b = kern_backend_list(&nb);
    for (size_t i = 0; i < nb; i++)
        if (b[i]->isa == bit)
            return b[i];
    return NULL;
}

static void test_backend_status(void **st)
{
    (void)st;
    char why[256];
    assert_non_null(kern_isa_find(ISA_ONEDNN));
    assert_int_equal(backend_of(ISA_ONEDNN) != NULL, DYT_HAVE_ONEDNN);
    assert_int_equal(backend_of(ISA_CUDA) != NULL, DYT_HAVE_CUDA);
    size_t n;
    const kern_isa *isa = kern_isa_table(&n);
    for (size_t i = 0; i < n; i++) {
        const kern_isa *row = &isa[i];
        if (row->kind != KERN_ISA_BACKEND) {
            assert_int_equal(kern_backend_usable(row->bit, why, sizeof why), 0);
            assert_string_equal(why, "not a backend");
            continue;
        }
        const kern_backend *b = backend_of(row->bit);
        kern_set_isa_mask(~0u);
        int usable = kern_backend_usable(row->bit, why, sizeof why);
        assert_int_equal(usable, (kern_cpu_flags() & row->bit) != 0);
        if (!b) {
            /* Not built: the table says why, and no variant needs it. */
            assert_int_equal(usable, 0);
            assert_string_equal(why, row->not_built);
            assert_string_equal(kern_isa_missing(row->bit), row->not_built);
            continue;
        }
        if (!usable) {
            /* Built, but the probe says no: its reason, whatever the mask. */
            assert_non_null(b->probe);
            assert_true(why[0]);
            assert_string_equal(kern_isa_missing(row->bit), b->unusable ? b->unusable : why);
            kern_set_isa_mask(0);
            char again[256];
            assert_int_equal(kern_backend_usable(row->bit, again, sizeof again), 0);
            assert_string_equal(again, why);
            continue;
        }
        assert_string_equal(why, "");
        assert_null(kern_isa_missing(row->bit));
        kern_set_isa_mask(~row->bit);
        assert_int_equal(kern_backend_usable(row->bit, why, sizeof why), 0);
        assert_string_equal(why, "disabled by DYTBENCH_ISA_MASK");
        assert_string_equal(kern_isa_missing(row->bit), "disabled by DYTBENCH_ISA_MASK");
    }
    kern_set_isa_mask(~0u);
    /* Devices: the CPU always; CUDA exactly as its backend. */
    assert_int_equal(kern_device_usable(DEVICE_CPU, why, sizeof why), 1);
    assert_string_equal(why, "");
    char dev[256];
    assert_int_equal(kern_device_usable(DEVICE_CUDA, dev, sizeof dev),
                     kern_backend_usable(ISA_CUDA, why, sizeof why));
    assert_string_equal(dev, why);
}

/* kern_run_host: a CPU variant runs as is; a device variant goes through
 * its backend, which without a GPU refuses with the reason. */
static void test_run_host(void **st)
{
    (void)st;
    enum { R = 3, C = 5 };
    float x[R * C], y1[R * C], y2[R * C], gamma[C], beta[C];
    for (int i = 0; i < R * C; i++)
        x[i] = (float)(i % 7) * 0.37f - 1.1f;
    for (int i = 0; i < C; i++)
        gamma[i] = 1.0f + 0.1f * (float)i, beta[i] = -0.05f * (float)i;
    norm_args a = {.rows = R, .cols = C, .dtype = DTYPE_F32, .alpha = 0.7f, .has_beta = 1,
                   .x = x, .gamma = gamma, .beta = beta, .y = y1};
    kern_exec ex = {0};
    const kern_entry *e = kern_find(NORM_DYT, PASS_FWD, DTYPE_F32, KERN_BASELINE_VARIANT);
    assert_non_null(e);
    char err[256] = "unchanged";
    assert_int_equal(kern_run_host(e, &a, &ex, err, sizeof err), 0);
    assert_string_equal(err, "");
    a.y = y2;
    assert_int_equal(e->fn(&a, &ex), 0);
    assert_memory_equal(y1, y2, sizeof y1);

    const kern_entry *g = kern_find(NORM_DYT, PASS_FWD, DTYPE_F32, "cuda");
    if (!g || kern_supported(g))
        return; /* no CUDA build, or a GPU that tests/cuda exercises */
    a.y = y1;
    assert_int_not_equal(kern_run_host(g, &a, &ex, err, sizeof err), 0);
    assert_non_null(strstr(err, "no usable GPU was found: "));
}

/* Library settings are set once, never over the user's. */
static void test_backend_setenv(void **st)
{
    (void)st;
    size_t nb;
    const kern_backend *const *b = kern_backend_list(&nb);
    int expect = 0;
    for (size_t i = 0; i < nb; i++) {
        const char *kv = b[i]->load_env;
        if (!kv)
            continue;
        const char *eq = strchr(kv, '=');
        assert_non_null(eq);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(eq - kv), kv);
        unsetenv(name);
        expect++;
    }
    assert_int_equal(kern_backend_setenv(), expect);
    assert_int_equal(kern_backend_setenv(), 0);
    for (size_t i = 0; i < nb; i++) {
        const char *kv = b[i]->load_env;
        if (!kv)
            continue;
        const char *eq = strchr(kv, '=');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(eq - kv), kv);
        assert_non_null(getenv(name));
        assert_string_equal(getenv(name), eq + 1);
        setenv(name, "the user's", 1);
        assert_int_equal(kern_backend_setenv(), 0);
        assert_string_equal(getenv(name), "the user's");
    }
    assert_int_equal(expect > 0, DYT_HAVE_ONEDNN);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        env_mask = (unsigned)strtoul(argv[1], NULL, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_mask),
        cmocka_unit_test_teardown(test_table_rows, all_ones),
        cmocka_unit_test_teardown(test_names, all_ones),
        cmocka_unit_test_teardown(test_variant_bits, all_ones),
        cmocka_unit_test_teardown(test_dispatch_variants_exist, all_ones),
        cmocka_unit_test_teardown(test_preference_every_mask, all_ones),
        cmocka_unit_test_teardown(test_reasons, all_ones),
        cmocka_unit_test_teardown(test_backend_status, all_ones),
        cmocka_unit_test_teardown(test_run_host, all_ones),
        cmocka_unit_test_teardown(test_backend_setenv, all_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
