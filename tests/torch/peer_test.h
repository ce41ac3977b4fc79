/* Shared by the torch runner's tests: the runner tests' helpers and the
 * tiny suite every one of them plans (3 shapes: LayerNorm 64 and 3 rows of
 * 256, RMSNorm 33 rows of 96 without beta, alpha 0.8). */
#pragma once
#include "../runner/runner_test.h"

static const char tiny_suite[] = "[tiny-ln]\n"
                                 "domain = llm\nnorm = layernorm\nhidden = 256\ntokens = 64 a, "
                                 "3 b\nlayers = 1\nsource = \"peer test\"\n"
                                 "[tiny-rms]\n"
                                 "domain = dna\nnorm = rmsnorm\nhidden = 96\ntokens = 33\n"
                                 "layers = 2\nalpha = 0.8\nbeta = no\nsource = \"peer test\"\n";

/* Writes the tiny suite as tmpdir/tiny.suite and parses it into su. */
static __attribute__((unused)) void parse_tiny(suite *su)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tiny.suite", tmpdir);
    write_file(path, tiny_suite);
    dyt_err e = {{0}};
    assert_int_equal(suite_parse_file(path, 0, su, &e), DYT_OK);
}
