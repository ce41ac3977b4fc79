/* The escapers of common/escape.h on hostile labels: control bytes (ESC
 * sequences, BEL, NUL-adjacent C0, DEL, C1), invalid UTF-8 (stray bytes,
 * overlong forms, surrogates, beyond U+10FFFF, cut short), bidirectional
 * overrides and each format's own specials. Every output is checked byte
 * for byte. */
#include "dyt_test.h"

#include "escape.h"

#include <stdlib.h>
#include <string.h>

#define FFFD "\xef\xbf\xbd"

typedef void (*escaper)(FILE *f, const char *s);

static void expect(escaper esc, const char *name, const char *in, const char *want)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_non_null(f);
    esc(f, in);
    fclose(f);
    if (strcmp(buf, want))
        fail_msg("%s('%s'): got '%s', want '%s'", name, in, buf, want);
    free(buf);
}
#define EXPECT(esc, in, want) expect(esc, #esc, in, want)

/* The labels of the issue and the invalid UTF-8 forms. */
static void test_xml(void **state)
{
    (void)state;
    EXPECT(esc_xml, "\x1b[31mRED", FFFD "[31mRED");
    EXPECT(esc_xml, "a\x01" "b", "a" FFFD "b");
    EXPECT(esc_xml, "caf\xe9\xff", "caf" FFFD FFFD);
    EXPECT(esc_xml, "caf\xc3\xa9", "caf\xc3\xa9"); /* valid UTF-8 kept */
    EXPECT(esc_xml, "<a&b>\"'", "&lt;a&amp;b&gt;&quot;&#39;");
    EXPECT(esc_xml, "t\tn\nr\r", "t&#9;n&#10;r&#13;");
    EXPECT(esc_xml, "\x7f\xc2\x85\xef\xbf\xbe\xef\xbf\xbf", FFFD FFFD FFFD FFFD);
    EXPECT(esc_xml, "\xc0\xaf", FFFD FFFD);             /* overlong '/' */
    EXPECT(esc_xml, "\xed\xa0\x80", FFFD FFFD FFFD);     /* a surrogate */
    EXPECT(esc_xml, "\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* > U+10FFFF */
    EXPECT(esc_xml, "\xe2\x82", FFFD FFFD);             /* cut short */
    EXPECT(esc_xml, "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* U+1F600 */
    EXPECT(esc_xml, NULL, "");
}

static void test_html(void **state)
{
    (void)state;
    EXPECT(esc_html, "\x1b[31mRED\x07", FFFD "[31mRED" FFFD);
    EXPECT(esc_html, "caf\xe9\xff <b>&'\"", "caf" FFFD FFFD " &lt;b&gt;&amp;&#39;&quot;");
    EXPECT(esc_html, "a\nb\tc", "a\nb\tc");
}

static void test_markdown(void **state)
{
    (void)state;
    EXPECT(esc_markdown, "\x1b[31mRED|x", FFFD "\\[31mRED\\|x");
    EXPECT(esc_markdown, "a\x01" "b\nc\xff", "a" FFFD "b c" FFFD);
    EXPECT(esc_markdown, "*_`#$~<>&", "\\*\\_\\`\\#\\$\\~&lt;&gt;&amp;");
}

static void test_latex(void **state)
{
    (void)state;
    EXPECT(esc_latex, "\x1b[31mRED\x07", "[31mRED");
    EXPECT(esc_latex, "caf\xe9\xff", "caf??");
    EXPECT(esc_latex, "caf\xc3\xa9 \xc2\xb5s", "caf\xc3\xa9 \\textmu{}s");
    EXPECT(esc_latex, "\xe4\xb8\xad\xf0\x9f\x98\x80", "??"); /* beyond T1: would stop pdflatex */
    EXPECT(esc_latex, "50%_a&b{c}#$", "50\\%\\_a\\&b\\{c\\}\\#\\$");
    EXPECT(esc_latex, "a--b\nc", "a-{}-b c");
}

static void test_gnuplot(void **state)
{
    (void)state;
    EXPECT(esc_gnuplot, "\x1b[31mRED\"\\", FFFD "[31mRED\\\"\\\\");
    EXPECT(esc_gnuplot, "a\nb\x01" "c\xff", "a b" FFFD "c" FFFD);
    EXPECT(esc_gnuplot, "x_{2}^@&", "x_{2}^@&"); /* enhanced text is off */
}

static void test_terminal(void **state)
{
    (void)state;
    EXPECT(esc_term, "\x1b[31mRED", "\\x1b[31mRED");
    EXPECT(esc_term, "bell\x07 del\x7f nl\n", "bell\\x07 del\\x7f nl\\x0a");
    EXPECT(esc_term, "caf\xe9\xff", "caf\\xe9\\xff");
    EXPECT(esc_term, "caf\xc3\xa9 \xce\xb1", "caf\xc3\xa9 \xce\xb1");
    EXPECT(esc_term, "csi\xc2\x9b" "31m", "csi\\u009b31m"); /* C1 CSI */
    EXPECT(esc_term, "abc\xe2\x80\xae" "fed", "abc\\u202efed"); /* right-to-left override */
    EXPECT(esc_term, "\x1b]0;title\x07", "\\x1b]0;title\\x07");
    char buf[12];
    assert_string_equal(esc_term_str(buf, sizeof buf, "\x1b[31m"), "\\x1b[31m");
    assert_string_equal(esc_term_str(buf, sizeof buf, "abcdefghijklmnop"), "abcdefgh...");
    assert_string_equal(esc_term_str(buf, sizeof buf, "\x01\x02\x03"), "\\x01\\x02...");
    assert_true(strlen(esc_term_str(buf, sizeof buf, "\x01\x02\x03\x04")) < sizeof buf);
}

static void test_utf8_dup(void **state)
{
    (void)state;
    char *s = esc_utf8_dup("caf\xe9\xff ok \xc3\xa9\x01");
    assert_string_equal(s, "caf" FFFD FFFD " ok \xc3\xa9\x01");
    free(s);
}

DYT_TEST_MAIN("escape", NULL, NULL, cmocka_unit_test(test_xml), cmocka_unit_test(test_html),
              cmocka_unit_test(test_markdown), cmocka_unit_test(test_latex),
              cmocka_unit_test(test_gnuplot), cmocka_unit_test(test_terminal),
              cmocka_unit_test(test_utf8_dup))
