/* The page policy of common/pages.c: buffers of >= 2 MiB get a mapping of
 * their own, 2 MiB aligned, whose huge-page share smaps reports; small
 * pages asked are small pages had (the kernel honours MADV_NOHUGEPAGE);
 * smaller buffers stay 64-byte aligned; every kind is freed by dyt_free;
 * and the note a CPU case keeps when the pages granted differ from those
 * asked. */
#include "dyt_test.h"

#include "runners/cpu/cpu_internal.h"

#include <string.h>

static void test_small_buffers_aligned(void **state)
{
    (void)state;
    size_t sizes[] = {1, 63, 64, 4095, 100000, DYT_HUGE_PAGE - 1};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = dyt_alloc(sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        memset(p, 0xa5, sizes[i]);
        assert_int_equal(p[sizes[i] - 1], 0xa5);
        dyt_free(p);
    }
    assert_null(dyt_alloc(0));
    dyt_free(NULL);
}

/* Allocates bytes under policy, touches every byte, and returns what smaps
 * says is on huge pages. */
static int64_t touched_huge_bytes(dyt_pages policy, size_t bytes)
{
    dyt_set_pages(policy);
    unsigned char *p = dyt_alloc(bytes);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % DYT_HUGE_PAGE, 0);
    memset(p, 1, bytes);
    assert_int_equal(p[bytes - 1], 1);
    int64_t huge = dyt_huge_bytes(p);
    dyt_free(p);
    dyt_set_pages(DYT_PAGES_HUGE);
    return huge;
}

static void test_large_buffers_follow_policy(void **state)
{
    (void)state;
    const size_t bytes = 8 * DYT_HUGE_PAGE + 12345;
    char thp[32];
    int known = dyt_thp_mode("enabled", thp, sizeof thp) == 0;
    if (!known || access("/proc/self/smaps", R_OK) != 0) {
        /* Without THP or smaps there is nothing to read back. */
        assert_int_equal(dyt_huge_bytes(dyt_alloc(1)), -1);
        skip();
    }
    /* The buffer's own mapping is found (not "unknown") either way. */
    int64_t small = touched_huge_bytes(DYT_PAGES_SMALL, bytes);
    assert_int_equal(small, 0);
    int64_t huge = touched_huge_bytes(DYT_PAGES_HUGE, bytes);
    assert_true(huge >= 0 && huge <= (int64_t)(9 * DYT_HUGE_PAGE));
    assert_int_equal(huge % DYT_HUGE_PAGE, 0);
    if (!strcmp(thp, "never"))
        assert_int_equal(huge, 0);
    print_message("THP %s: huge pages %lld of %zu bytes\n", thp, (long long)huge, bytes);
    /* A pointer that starts no mapping is unknown, not zero. */
    unsigned char *p = dyt_alloc(bytes);
    assert_int_equal(dyt_huge_bytes(p + 4096), -1);
    dyt_free(p);
}

static void test_pages_note(void **state)
{
    (void)state;
    char note[128] = "";
    case_buffers b = {.paged_bytes = (uint64_t)100 << 20, .huge_bytes = (int64_t)61 << 20};
    case_buffers_pages_note(&b, note, sizeof note);
    assert_string_equal(note, "pages: huge asked, huge pages 61% of 100.0 MiB granted");
    /* All granted: nothing to say. */
    note[0] = 0;
    b.huge_bytes = (int64_t)b.paged_bytes;
    case_buffers_pages_note(&b, note, sizeof note);
    assert_string_equal(note, "");
    /* Small asked, some huge anyway. */
    dyt_set_pages(DYT_PAGES_SMALL);
    b.huge_bytes = (int64_t)2 << 20;
    case_buffers_pages_note(&b, note, sizeof note);
    assert_string_equal(note, "pages: small asked, huge pages 2% of 100.0 MiB granted");
    dyt_set_pages(DYT_PAGES_HUGE);
    /* Unknown is said so; a note already there is kept. */
    note[0] = 0;
    b.huge_bytes = -1;
    case_buffers_pages_note(&b, note, sizeof note);
    assert_non_null(strstr(note, "unknown"));
    strcpy(note, "earlier");
    case_buffers_pages_note(&b, note, sizeof note);
    assert_string_equal(note, "earlier");
}

DYT_TEST_MAIN("test_pages", NULL, NULL, cmocka_unit_test(test_small_buffers_aligned),
              cmocka_unit_test(test_large_buffers_follow_policy),
              cmocka_unit_test(test_pages_note))
