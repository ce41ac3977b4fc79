/* Tests of the suite parser: every kind of bad line is rejected with the
 * exact `file:line:` prefix and leaves the output empty; good input yields
 * the documented defaults, labels and size expressions. */
#include "dyt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suite.h"

#define GIB ((uint64_t)1 << 30)

/* A valid section to build bad files from. */
#define GOOD                                                                                       \
    "[m]\n"                                                                                        \
    "domain = llm\n"                                                                               \
    "norm = rmsnorm\n"                                                                             \
    "hidden = 4096\n"                                                                              \
    "tokens = 8192 train, 1 decode\n"                                                              \
    "layers = 32\n"

typedef struct {
    const char *what; /* test description */
    const char *text;
    uint64_t mem_limit;
    const char *prefix; /* expected start of the message */
    const char *needle; /* expected somewhere in the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"unknown key", GOOD "colour = red\n", 0, "bad.suite:7: ", "unknown key 'colour'"},
    {"missing field", "[m]\ndomain = llm\nnorm = rmsnorm\nhidden = 64\ntokens = 8\n", 0,
     "bad.suite:1: ", "missing 'layers'"},
    {"missing field, second section",
     GOOD "\n[n]\ndomain = dna\nnorm = layernorm\nlayers = 2\ntokens = 4\n", 0,
     "bad.suite:8: ", "[n] is missing 'hidden'"},
    {"non-numeric size", "[m]\ndomain = llm\nnorm = rmsnorm\nhidden = big\n", 0,
     "bad.suite:4: ", "hidden must be a positive integer"},
    {"zero size", "[m]\ndomain = llm\nnorm = rmsnorm\nhidden = 0\n", 0, "bad.suite:4: ", "got '0'"},
    {"negative size", "[m]\ndomain = llm\nhidden = -4096\n", 0, "bad.suite:3: ", "got '-4096'"},
    {"non-positive token", "[m]\ntokens = 8, 0 decode\n", 0,
     "bad.suite:2: ", "tokens must be a positive integer"},
    {"fractional token", "[m]\ntokens = 1.5\n", 0, "bad.suite:2: ", "got '1.5'"},
    {"bad product", "[m]\ntokens = 64xx197\n", 0, "bad.suite:2: ", "got '64xx197'"},
    {"zero layers", "[m]\nlayers = 0\n", 0, "bad.suite:2: ", "layers must be a positive integer"},
    {"non-numeric alpha", "[m]\nalpha = half\n", 0,
     "bad.suite:2: ", "alpha must be a positive number"},
    {"negative alpha", "[m]\nalpha = -0.5\n", 0,
     "bad.suite:2: ", "alpha must be a positive number"},
    {"eps out of range", "[m]\neps = 2\n", 0, "bad.suite:2: ", "eps must be a number in (0, 1)"},
    {"duplicate section", GOOD "[m]\n", 0,
     "bad.suite:7: ", "duplicate section [m] (first defined on line 1)"},
    {"duplicate key", "[m]\nhidden = 64\n\nhidden = 128\n", 0,
     "bad.suite:4: ", "duplicate key 'hidden' in [m] (first set on line 2)"},
    {"bad domain", "[m]\ndomain = audio\n", 0,
     "bad.suite:2: ", "domain must be vision, llm, speech or dna, got 'audio'"},
    {"bad norm", "[m]\nnorm = dyt\n", 0, "bad.suite:2: ", "norm must be layernorm or rmsnorm"},
    {"bad layout", "[m]\nlayout = nchw\n", 0,
     "bad.suite:2: ", "layout must be channels_last or channels_first"},
    {"bad boolean", "[m]\nbeta = maybe\n", 0, "bad.suite:2: ", "beta must be yes or no"},
    {"does not fit in memory", GOOD, 64 << 20, "bad.suite:5: ", "needs 512.1 MiB of buffers"},
    {"does not fit in usable memory",
     "[m]\ndomain = dna\nnorm = layernorm\nhidden = 1M\ntokens = 1M\nlayers = 1\n", 0,
     "bad.suite:5: ", "tokens 1048576 x hidden 1048576 needs 16.0 TiB"},
    {"junk line", GOOD "hello world\n", 0,
     "bad.suite:7: ", "expected '[section]', 'key = value' or '# comment', got 'hello world'"},
    {"key outside a section", "# header\ndomain = llm\n" GOOD, 0,
     "bad.suite:2: ", "key 'domain' outside any [section]"},
    {"empty file", "", 0, "bad.suite:1: ", "no [section]"},
    {"comments only", "# nothing\n\n   # here\n", 0, "bad.suite:1: ", "no [section]"},
    {"unclosed section", "[m\n", 0, "bad.suite:1: ", "lacks its closing ']'"},
    {"empty section name", "[ ]\n", 0, "bad.suite:1: ", "empty section name"},
    {"bad section name", "[a b]\n", 0, "bad.suite:1: ", "section name 'a b' may hold only"},
    {"empty value", "[m]\nhidden =\n", 0, "bad.suite:2: ", "empty value for 'hidden'"},
    {"missing key", "[m]\n= 4\n", 0, "bad.suite:2: ", "missing key before '='"},
    {"empty token entry", "[m]\ntokens = 8,,4\n", 0, "bad.suite:2: ", "empty entry in tokens list"},
    {"duplicate token count", "[m]\ntokens = 4096 train, 4096 prefill\n", 0,
     "bad.suite:2: ", "token count 4096 listed twice"},
    {"bad token label", "[m]\ntokens = 4096 train batch\n", 0,
     "bad.suite:2: ", "token label 'train batch' may hold only"},
    {"unterminated quote", "[m]\nsource = \"LLaMA\n", 0, "bad.suite:2: ", "missing closing '\"'"},
    {"text after quote", "[m]\nsource = \"a\" b\n", 0, "bad.suite:2: ", "unexpected text after"},
    {"NUL byte", NULL, 0, "bad.suite:1: ", "NUL byte"},
    /* strtoull would skip the vertical tab and negate: not "too large". */
    {"space and minus before a size", "[m]\ndomain = llm\nnorm = rmsnorm\nhidden = \v-5\n", 0,
     "bad.suite:4: ", "hidden must be a positive integer"},
    {"minus inside a product", "[m]\ntokens = 8x-2\n", 0, "bad.suite:2: ", "got '8x-2'"},
    {"a second byte order mark", "\xef\xbb\xbf\xef\xbb\xbf" GOOD, 0, "bad.suite:1: ",
     "expected '[section]'"},
};

static void test_bad_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        suite s;
        dyt_err e = {{0}};
        memset(&s, 0x5a, sizeof s); /* the parser must clear it */
        int rc;
        if (c->text) {
            rc = suite_parse_string("bad.suite", c->text, c->mem_limit, &s, &e);
        } else {
            /* A NUL byte can only come from a file. */
            char path[] = "/tmp/dyt-suite-XXXXXX";
            int fd = mkstemp(path);
            assert_true(fd >= 0);
            assert_int_equal(write(fd, "[m]\n\0x\n", 7), 7);
            close(fd);
            rc = suite_parse_file(path, 0, &s, &e);
            unlink(path);
            /* The file name is the temporary path: compare after it. */
            char *colon = strstr(e.msg, ":1: ");
            assert_non_null(colon);
            memmove(e.msg + strlen("bad.suite"), colon, strlen(colon) + 1);
            memcpy(e.msg, "bad.suite", strlen("bad.suite"));
        }
        if (rc != DYT_USAGE || strncmp(e.msg, c->prefix, strlen(c->prefix)) ||
            !strstr(e.msg, c->needle))
            fail_msg("case '%s': rc %d, message '%s' (want prefix '%s' and '%s')", c->what, rc,
                     e.msg, c->prefix, c->needle);
        if (s.n_models != 0 || s.models != NULL)
            fail_msg("case '%s': output not empty after an error", c->what);
    }
}

static void test_defaults_and_syntax(void **state)
{
    (void)state;
    const char *text = "# leading comment\r\n"
                       "[vit]   # trailing comment\r\n"
                       "domain = vision\n"
                       "norm   = layernorm\n"
                       "hidden = 768\n"
                       "tokens = 64x197 train, 197 infer,2K, 1M seq-1m\n"
                       "layers = 25\n"
                       "source = \"ViT \\\"B/16\\\" # not a comment\"\n"
                       "; also a comment\n"
                       "[llama]\n"
                       "domain=llm\n"
                       "norm=rmsnorm\n"
                       "hidden=4096\n"
                       "tokens=1\n"
                       "layers=33\n"
                       "alpha=0.2\n"
                       "beta=no\n"
                       "affine=false\n"
                       "eps=1e-5\n"
                       "layout=channels_first\n"
                       "source=bare text source\n";
    suite s;
    dyt_err e;
    int rc = suite_parse_string("dir/mine.suite", text, 64 * GIB, &s, &e);
    if (rc)
        fail_msg("%s", e.msg);
    assert_string_equal(s.name, "mine");
    assert_int_equal(s.n_models, 2);
    const suite_model *v = &s.models[0], *l = &s.models[1];
    assert_string_equal(v->name, "vit");
    assert_int_equal(v->line, 2);
    assert_int_equal(v->domain, DOMAIN_VISION);
    assert_int_equal(v->norm, NORM_LAYERNORM);
    assert_int_equal(v->hidden, 768);
    assert_int_equal(v->n_tokens, 4);
    assert_int_equal(v->tokens[0], 64 * 197);
    assert_string_equal(v->token_labels[0], "train");
    assert_int_equal(v->tokens[1], 197);
    assert_string_equal(v->token_labels[1], "infer");
    assert_int_equal(v->tokens[2], 2048);
    assert_string_equal(v->token_labels[2], "");
    assert_int_equal(v->tokens[3], 1048576);
    assert_string_equal(v->token_labels[3], "seq-1m");
    assert_true(v->alpha == 0.5);
    assert_int_equal(v->beta, 1);
    assert_int_equal(v->affine, 1);
    assert_true(v->eps == 1e-5);
    assert_int_equal(v->layout, LAYOUT_CHANNELS_LAST);
    assert_string_equal(v->source, "ViT \"B/16\" # not a comment");
    assert_string_equal(v->file, "dir/mine.suite");

    assert_int_equal(l->norm, NORM_RMSNORM);
    assert_int_equal(l->layers, 33);
    assert_true(l->alpha == 0.2);
    assert_int_equal(l->beta, 0);
    assert_int_equal(l->affine, 0);
    assert_true(l->eps == 1e-5);
    assert_int_equal(l->layout, LAYOUT_CHANNELS_FIRST);
    assert_string_equal(l->source, "bare text source");
    suite_free(&s);
    assert_null(s.models);

    /* RMSNorm's default epsilon differs from LayerNorm's. */
    rc = suite_parse_string("x", "[r]\ndomain=llm\nnorm=rmsnorm\nhidden=8\ntokens=8\nlayers=1\n", 0,
                            &s, &e);
    assert_int_equal(rc, DYT_OK);
    assert_true(s.models[0].eps == 1e-6);
    suite_free(&s);
}

/* A UTF-8 byte order mark at the start (as some editors save) is not
 * text: the file parses as without it, and its hash is the file's. */
static void test_byte_order_mark(void **state)
{
    (void)state;
    suite plain, bom;
    dyt_err e = {{0}};
    assert_int_equal(suite_parse_string("p.suite", GOOD, 0, &plain, &e), DYT_OK);
    if (suite_parse_string("b.suite", "\xef\xbb\xbf" GOOD, 0, &bom, &e) != DYT_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(bom.n_models, 1);
    assert_string_equal(bom.models[0].name, "m");
    assert_int_equal(bom.models[0].hidden, plain.models[0].hidden);
    assert_int_equal(bom.models[0].n_tokens, 2);
    assert_true(bom.content_hash != plain.content_hash);
    suite_free(&plain);
    suite_free(&bom);
}

static void test_hash_and_files(void **state)
{
    (void)state;
    suite a, b, c;
    dyt_err e;
    const char *t1 = GOOD, *t2 = GOOD "alpha = 0.7\n";
    assert_int_equal(suite_parse_string("a", t1, 0, &a, &e), DYT_OK);
    assert_int_equal(suite_parse_string("b", t1, 0, &b, &e), DYT_OK);
    assert_int_equal(suite_parse_string("c", t2, 0, &c, &e), DYT_OK);
    assert_true(a.content_hash == b.content_hash);
    assert_true(a.content_hash != c.content_hash);
    suite_free(&a);
    suite_free(&b);
    suite_free(&c);

    /* A missing file is an input error naming the file. */
    assert_int_equal(suite_parse_file("/nonexistent/x.suite", 0, &a, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "/nonexistent/x.suite"));
    assert_int_equal(a.n_models, 0);

    /* Resolution: a shipped name, an unknown name, a path. */
    char path[1024];
    assert_int_equal(suite_resolve("llm", path, sizeof path, &e), DYT_OK);
    size_t n = strlen(path);
    assert_true(n > 10 && !strcmp(path + n - 10, "/llm.suite"));
    assert_int_equal(suite_resolve("no-such-suite", path, sizeof path, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "unknown suite 'no-such-suite'"));
    assert_int_equal(suite_resolve("./missing.suite", path, sizeof path, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "./missing.suite"));
    assert_string_equal(suite_shipped_names()[0], "quick");
    assert_string_equal(domain_name(DOMAIN_SPEECH), "speech");
}

DYT_TEST_MAIN("suite_parse", NULL, NULL, cmocka_unit_test(test_bad_lines),
              cmocka_unit_test(test_defaults_and_syntax), cmocka_unit_test(test_byte_order_mark),
              cmocka_unit_test(test_hash_and_files))
