/* Tests of the shipped suites: each parses, every section cites a source,
 * and the key facts from the models' papers and configs are what the files
 * say (hidden sizes, norms per forward pass, tokens, alpha). */
#include "dyt_test.h"

#include <string.h>

#include "suite.h"

/* Fixed bound so the test does not depend on this machine's free memory;
 * the largest shipped case (HyenaDNA 1M x 256) needs 4 GiB. */
#define MEM_LIMIT ((uint64_t)64 << 30)

static void load(const char *name, suite *s)
{
    char path[1024];
    dyt_err e;
    if (suite_resolve(name, path, sizeof path, &e) || suite_parse_file(path, MEM_LIMIT, s, &e))
        fail_msg("%s", e.msg);
}

static const suite_model *find(const suite *s, const char *name)
{
    for (size_t i = 0; i < s->n_models; i++)
        if (!strcmp(s->models[i].name, name))
            return &s->models[i];
    fail_msg("section [%s] not in %s", name, s->name);
    return NULL;
}

/* Norm layers summed over the sections whose name starts with prefix. */
static unsigned layers_of(const suite *s, const char *prefix)
{
    unsigned n = 0;
    for (size_t i = 0; i < s->n_models; i++)
        if (!strncmp(s->models[i].name, prefix, strlen(prefix)))
            n += s->models[i].layers;
    return n;
}

static int has_tokens(const suite_model *m, size_t rows, const char *label)
{
    for (size_t i = 0; i < m->n_tokens; i++)
        if (m->tokens[i] == rows && (!label || !strcmp(m->token_labels[i], label)))
            return 1;
    return 0;
}

static void test_all_parse_and_cite(void **state)
{
    (void)state;
    for (const char *const *n = suite_shipped_names(); *n; n++) {
        suite s;
        load(*n, &s);
        assert_string_equal(s.name, *n);
        assert_true(s.n_models > 0);
        for (size_t i = 0; i < s.n_models; i++) {
            if (strlen(s.models[i].source) < 10)
                fail_msg("%s [%s] cites no source", *n, s.models[i].name);
            assert_true(s.models[i].n_tokens > 0);
        }
        suite_free(&s);
    }
}

static void test_llm(void **state)
{
    (void)state;
    suite s;
    load("llm", &s);
    static const struct {
        const char *model;
        size_t hidden;
        unsigned norms;
        double alpha_attn, alpha_other;
        size_t train;
    } llama[] = {
        {"llama-7b", 4096, 65, 0.8, 0.2, 2 * 4096},
        {"llama-13b", 5120, 81, 0.6, 0.15, 2 * 4096},
        {"llama-34b", 8192, 97, 0.2, 0.05, 4096},
        {"llama-70b", 8192, 161, 0.2, 0.05, 4096},
    };
    for (size_t i = 0; i < 4; i++) {
        char prefix[32], attn[48], other[48];
        snprintf(prefix, sizeof prefix, "%s-", llama[i].model);
        snprintf(attn, sizeof attn, "%s-attn", llama[i].model);
        snprintf(other, sizeof other, "%s-ffn-final", llama[i].model);
        assert_int_equal(layers_of(&s, prefix), llama[i].norms);
        const suite_model *a = find(&s, attn), *o = find(&s, other);
        assert_int_equal(a->hidden, llama[i].hidden);
        assert_int_equal(o->hidden, llama[i].hidden);
        assert_true(a->alpha == llama[i].alpha_attn);
        assert_true(o->alpha == llama[i].alpha_other);
        assert_int_equal(a->layers + 1, o->layers); /* final norm is with the FFN's */
        for (const suite_model *m = a; m; m = m == a ? o : NULL) {
            assert_int_equal(m->norm, NORM_RMSNORM);
            assert_int_equal(m->domain, DOMAIN_LLM);
            assert_int_equal(m->beta, 0);
            assert_true(has_tokens(m, llama[i].train, NULL));
            assert_true(has_tokens(m, 4096, NULL));
            assert_true(has_tokens(m, 1, "decode"));
            assert_true(has_tokens(m, 64, "decode"));
        }
    }
    assert_true(has_tokens(find(&s, "llama-7b-attn"), 8192, "train"));
    assert_true(has_tokens(find(&s, "llama-7b-attn"), 4096, "prefill"));
    assert_true(has_tokens(find(&s, "llama-70b-attn"), 4096, "train/prefill"));
    suite_free(&s);
}

static void test_vision(void **state)
{
    (void)state;
    suite s;
    load("vision", &s);
    const suite_model *m = find(&s, "vit-b16");
    assert_int_equal(m->hidden, 768);
    assert_int_equal(m->layers, 25);
    assert_true(has_tokens(m, 197, "infer") && has_tokens(m, 64 * 197, "train"));
    m = find(&s, "vit-l16");
    assert_int_equal(m->hidden, 1024);
    assert_int_equal(m->layers, 49);
    m = find(&s, "vit-h14");
    assert_int_equal(m->hidden, 1280);
    assert_int_equal(m->layers, 65);
    assert_true(has_tokens(m, 257, "infer"));

    /* ConvNeXt stages: channels, positions per image, depths. */
    static const size_t pos[4] = {3136, 784, 196, 49};
    static const unsigned depth[4] = {3, 3, 27, 3};
    static const size_t ch_b[4] = {128, 256, 512, 1024}, ch_l[4] = {192, 384, 768, 1536};
    for (int v = 0; v < 2; v++)
        for (int st = 0; st < 4; st++) {
            char name[32];
            snprintf(name, sizeof name, "convnext-%c-s%d", v ? 'l' : 'b', st + 1);
            m = find(&s, name);
            assert_int_equal(m->hidden, v ? ch_l[st] : ch_b[st]);
            assert_int_equal(m->layers, depth[st]);
            assert_int_equal(m->layout, LAYOUT_CHANNELS_LAST);
            assert_true(has_tokens(m, pos[st], "infer"));
            assert_true(has_tokens(m, 64 * pos[st], "train"));
            if (st < 3) {
                snprintf(name, sizeof name, "convnext-%c-s%d-down", v ? 'l' : 'b', st + 1);
                m = find(&s, name);
                assert_int_equal(m->layout, LAYOUT_CHANNELS_FIRST);
                assert_int_equal(m->hidden, v ? ch_l[st] : ch_b[st]);
                assert_true(has_tokens(m, pos[st], "infer"));
            }
        }
    /* 36 block norms + stem + 3 downsampling + head. */
    assert_int_equal(layers_of(&s, "convnext-b-"), 41);
    assert_int_equal(layers_of(&s, "convnext-l-"), 41);

    m = find(&s, "mae-vit-l16-enc");
    assert_int_equal(m->hidden, 1024);
    assert_true(has_tokens(m, 50, NULL));
    m = find(&s, "dit-xl2");
    assert_int_equal(m->hidden, 1152);
    assert_int_equal(m->affine, 0);
    assert_true(has_tokens(m, 256, "infer"));
    for (size_t i = 0; i < s.n_models; i++) {
        assert_int_equal(s.models[i].domain, DOMAIN_VISION);
        assert_int_equal(s.models[i].norm, NORM_LAYERNORM);
        assert_true(s.models[i].alpha == 0.5);
    }
    suite_free(&s);
}

static void test_speech_and_dna(void **state)
{
    (void)state;
    suite s;
    load("speech", &s);
    const suite_model *m = find(&s, "wav2vec2-base");
    assert_int_equal(m->hidden, 768);
    assert_int_equal(m->layers, 25);
    assert_true(has_tokens(m, 749, "clip-15s") && has_tokens(m, 999, "clip-20s"));
    m = find(&s, "wav2vec2-large");
    assert_int_equal(m->hidden, 1024);
    assert_int_equal(m->layers, 49);
    assert_true(has_tokens(m, 3 * 999, "train"));
    suite_free(&s);

    load("dna", &s);
    m = find(&s, "hyenadna");
    assert_int_equal(m->hidden, 256);
    assert_int_equal(m->norm, NORM_LAYERNORM);
    assert_true(has_tokens(m, 1024, NULL) && has_tokens(m, 1048576, NULL));
    m = find(&s, "caduceus-ph");
    assert_int_equal(m->hidden, 256);
    assert_int_equal(m->layers, 17);
    assert_int_equal(m->norm, NORM_RMSNORM);
    assert_true(has_tokens(m, 131072, NULL));
    suite_free(&s);
}

/* The quick suite stays small: a handful of shapes covering every domain,
 * none beyond LLaMA-7B's one 4096-token sequence (the DyT paper's setting,
 * 16 M elements), so the default run fits in well under a minute. */
static void test_quick(void **state)
{
    (void)state;
    suite s;
    load("quick", &s);
    size_t shapes = 0;
    int domains[DOMAIN_COUNT] = {0};
    for (size_t i = 0; i < s.n_models; i++) {
        const suite_model *m = &s.models[i];
        domains[m->domain] = 1;
        shapes += m->n_tokens;
        for (size_t t = 0; t < m->n_tokens; t++)
            if (m->tokens[t] * m->hidden > ((size_t)1 << 24))
                fail_msg("quick [%s] %zu x %zu exceeds 16 M elements", m->name, m->tokens[t],
                         m->hidden);
    }
    assert_in_range(shapes, 6, 12);
    for (int d = 0; d < DOMAIN_COUNT; d++)
        assert_true(domains[d]);
    suite_free(&s);
}

DYT_TEST_MAIN("suites_shipped", NULL, NULL, cmocka_unit_test(test_all_parse_and_cite),
              cmocka_unit_test(test_llm), cmocka_unit_test(test_vision),
              cmocka_unit_test(test_speech_and_dna), cmocka_unit_test(test_quick))
