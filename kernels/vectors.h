/* Golden vectors: the parser for the text format of tests/vectors/README.md
 * (`case <norm> rows=R cols=C [alpha=a] [beta=0|1] [eps=e] [affine=0|1]`,
 * then `<tensor> <count>` blocks of numbers, then `end`). Values are kept as
 * float64, exactly as written. Every error names file:line. */
#pragma once
#include "common.h"
#include "kernels.h"

typedef struct {
    char name[16];
    size_t count;
    double *v;
    int line; /* where the tensor's header is */
} vec_tensor;

typedef struct {
    norm_kind norm;
    size_t rows, cols;
    double alpha, eps; /* 0 when absent */
    int has_beta;      /* dyt: beta=1 */
    int affine;        /* layernorm: affine=1; rmsnorm: 1 when gamma is given */
    int line;          /* line of the `case` header */
    vec_tensor *t;
    size_t n_t;
} vec_case;

typedef struct {
    char *path; /* as given (or the name passed to vec_parse_string) */
    vec_case *cases;
    size_t n;
} vec_file;

/* Parses and validates: every tensor the norm needs is present with the
 * count its shape implies, no tensor is unknown or repeated. */
int vec_parse_file(const char *path, vec_file *out, dyt_err *e);
int vec_parse_string(const char *text, const char *name, vec_file *out, dyt_err *e);
void vec_file_free(vec_file *f);

/* The tensor called name, or NULL. */
const vec_tensor *vec_find(const vec_case *c, const char *name);
/* A one-line description: "line 40: dyt 2x3 alpha=0.8 beta=1". */
void vec_case_describe(const vec_case *c, char *buf, size_t n);
