/* Suite files: model shapes, one section per model (or model stage). Format
 * in suites/README.md. The parser validates everything before anything runs
 * and reports `file:line: what is wrong`. */
#pragma once
#include "common.h"
#include "kernels.h"

#define SUITE_MAX_TOKENS 32

typedef enum { DOMAIN_VISION = 0, DOMAIN_LLM, DOMAIN_SPEECH, DOMAIN_DNA, DOMAIN_COUNT } domain_kind;
typedef enum { LAYOUT_CHANNELS_LAST = 0, LAYOUT_CHANNELS_FIRST } layout_kind;

typedef struct {
    char name[64];        /* section name, e.g. "llama-7b-attn" */
    domain_kind domain;
    norm_kind norm;       /* the norm DyT replaces: layernorm or rmsnorm */
    size_t hidden;
    size_t tokens[SUITE_MAX_TOKENS]; /* rows per call; each a case */
    size_t n_tokens;
    char token_labels[SUITE_MAX_TOKENS][32]; /* optional "train", "prefill", "decode" ... ("" if none) */
    unsigned layers;      /* norm layers of this kind in one forward pass */
    double alpha;         /* DyT alpha init */
    int beta;             /* DyT has beta */
    int affine;           /* the norm has gamma/beta */
    double eps;           /* norm epsilon (default 1e-5 layernorm, 1e-6 rmsnorm) */
    layout_kind layout;
    char source[256];     /* citation */
    char file[256];       /* where it was defined, for messages */
    int line;             /* line of the [section] header */
} suite_model;

typedef struct {
    char name[64];        /* file stem: "llm" */
    char path[512];
    uint64_t content_hash; /* dyt_hash64 of the file bytes */
    suite_model *models;
    size_t n_models;
} suite;

const char *domain_name(domain_kind d);
/* Parses a file. On error returns DYT_USAGE with `file:line: message` in e
 * and leaves *out empty. mem_limit bytes (0 = usable memory) bounds the
 * buffers of the largest case. */
int suite_parse_file(const char *path, uint64_t mem_limit, suite *out, dyt_err *e);
int suite_parse_string(const char *name, const char *text, uint64_t mem_limit, suite *out, dyt_err *e);
void suite_free(suite *s);
/* Resolves NAME (a shipped suite: suites/NAME.suite under the source or
 * install data dir) or PATH (contains '/' or ends in .suite). */
int suite_resolve(const char *name_or_path, char *path, size_t n, dyt_err *e);
/* The names of the shipped suites (NULL-terminated static array). */
const char *const *suite_shipped_names(void);
/* Directory holding the shipped suites (DYTBENCH_SUITES_DIR overrides). */
const char *suite_dir(void);
