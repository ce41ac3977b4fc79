/* Pages of common/pages.c: buffers of >= 2 MiB get a mapping of their own,
 * 2 MiB aligned, carrying the advice asked (smaps' VmFlags: hg for huge,
 * nh for small) and reading back how much is on huge pages; small pages
 * asked are small pages had; smaller buffers stay 64-byte aligned; every
 * kind is freed by dyt_free; and the note a CPU case keeps when the pages
 * granted differ from those asked. */
#include "dyt_test.h"

#include "runners/cpu/cpu_internal.h"

#include <string.h>

static void test_small_buffers_aligned(void **state)
{
    (void)state;
    size_t sizes[] = {1, 63, 64, 4095, 100000, DYT_HUGE_PAGE - 1};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = dyt_alloc_pages(sizes[i], i % 2 ? DYT_PAGES_SMALL : DYT_PAGES_HUGE);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        memset(p, 0xa5, sizes[i]);
        assert_int_equal(p[sizes[i] - 1], 0xa5);
        /* No mapping of its own: what its pages are is not known. */
        dyt_page_state st;
        if (sizes[i] > 4096)
            assert_int_equal(dyt_pages_state(p, &st), -1);
        dyt_free(p);
    }
    assert_null(dyt_alloc(0));
    dyt_free(NULL);
}

/* Allocates bytes with pages, touches every byte, and reads back its state. */
static dyt_page_state touched(dyt_pages pages, size_t bytes)
{
    unsigned char *p = dyt_alloc_pages(bytes, pages);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % DYT_HUGE_PAGE, 0);
    memset(p, 1, bytes);
    assert_int_equal(p[bytes - 1], 1);
    dyt_page_state st;
    int rc = dyt_pages_state(p, &st);
    dyt_free(p);
    assert_int_equal(rc, 0);
    return st;
}

static void test_large_buffers_carry_the_advice(void **state)
{
    (void)state;
    const size_t bytes = 8 * DYT_HUGE_PAGE + 12345;
    char thp[32];
    if (dyt_thp_mode("enabled", thp, sizeof thp) != 0 || access("/proc/self/smaps", R_OK) != 0) {
        print_message("no THP or no /proc/self/smaps here: nothing to read back\n");
        skip();
    }
    dyt_page_state small = touched(DYT_PAGES_SMALL, bytes);
    assert_int_equal(small.advice, 'n');
    assert_int_equal(small.huge_bytes, 0);
    dyt_page_state huge = touched(DYT_PAGES_HUGE, bytes);
    assert_int_equal(huge.advice, 'h');
    assert_true(huge.huge_bytes >= 0 && huge.huge_bytes <= (int64_t)(9 * DYT_HUGE_PAGE));
    assert_int_equal(huge.huge_bytes % DYT_HUGE_PAGE, 0);
    if (!strcmp(thp, "never"))
        assert_int_equal(huge.huge_bytes, 0);
    print_message("THP %s: huge pages %lld of %zu bytes\n", thp, (long long)huge.huge_bytes, bytes);
    /* A pointer inside the buffer starts no mapping: unknown, not zero. */
    unsigned char *p = dyt_alloc(bytes);
    assert_non_null(p);
    dyt_page_state st;
    assert_int_equal(dyt_pages_state(p + 4096, &st), -1);
    assert_int_equal(st.huge_bytes, -1);
    dyt_free(p);
}

static void test_pages_note(void **state)
{
    (void)state;
    char note[160] = "";
    case_buffers b = {.pages = DYT_PAGES_HUGE,
                      .paged_bytes = (uint64_t)100 << 20,
                      .huge_bytes = (int64_t)61 << 20};
    case_buffers_pages_note(&b, note, sizeof note);
    assert_string_equal(note, "pages: huge asked, huge pages 61% of 100.0 MiB granted");
    /* All granted: nothing to say. */
    note[0] = 0;
    b.huge_bytes = (int64_t)b.paged_bytes;
    case_buffers_pages_note(&b, note, sizeof note);
    assert_string_equal(note, "");
    /* Small asked, some huge anyway. */
    b.pages = DYT_PAGES_SMALL;
    b.huge_bytes = (int64_t)2 << 20;
    case_buffers_pages_note(&b, note, sizeof note);
    assert_string_equal(note, "pages: small asked, huge pages 2% of 100.0 MiB granted");
    /* Unknown is said so; a note already there is kept. */
    note[0] = 0;
    b.huge_bytes = -1;
    case_buffers_pages_note(&b, note, sizeof note);
    assert_non_null(strstr(note, "unknown"));
    strcpy(note, "earlier");
    case_buffers_pages_note(&b, note, sizeof note);
    assert_string_equal(note, "earlier");
}

/* A case's buffers follow the pages asked, through a relocation too, and
 * count no more huge bytes than they have. */
static void test_case_buffers_follow_pages(void **state)
{
    (void)state;
    if (access("/proc/self/smaps", R_OK) != 0)
        skip();
    suite_model m = {.name = "pages", .norm = NORM_LAYERNORM, .alpha = 0.5, .eps = 1e-5,
                     .beta = 1, .affine = 1};
    plan_case c = {.model = &m, .suite_name = "t", .token_label = "", .norm = NORM_LAYERNORM,
                   .pass = PASS_BWD, .dtype = DTYPE_F32, .rows = 513, .cols = 1024, .threads = 1};
    m.hidden = c.cols;
    c.variant = kern_find(c.norm, c.pass, c.dtype, "ref");
    dyt_err e = {{0}};
    for (int k = 0; k < 2; k++) {
        dyt_pages pages = k ? DYT_PAGES_SMALL : DYT_PAGES_HUGE;
        case_buffers b;
        assert_int_equal(case_buffers_create(&c, 3, 0, (uint64_t)1 << 30, pages, &b, &e), DYT_OK);
        /* x, dy and dx are 2 MiB + 4 KiB each. */
        assert_int_equal(b.paged_bytes, 3 * (uint64_t)513 * 1024 * 4);
        assert_true(b.huge_bytes <= (int64_t)b.paged_bytes);
        if (k)
            assert_int_equal(b.huge_bytes, 0);
        assert_int_equal(case_buffers_relocate(&c, &b, &e), DYT_OK);
        assert_int_equal(b.pages, pages);
        assert_int_equal(b.paged_bytes, 3 * (uint64_t)513 * 1024 * 4);
        if (k)
            assert_int_equal(b.huge_bytes, 0);
        case_buffers_free(&b);
    }
}

DYT_TEST_MAIN("test_pages", NULL, NULL, cmocka_unit_test(test_small_buffers_aligned),
              cmocka_unit_test(test_large_buffers_carry_the_advice),
              cmocka_unit_test(test_pages_note), cmocka_unit_test(test_case_buffers_follow_pages))
