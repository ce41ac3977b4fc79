/* A results store built by the report tests themselves: machines, runs
 * (complete, aborted, empty, on another machine), cases over several
 * domains and models (incl. LLaMA-7B's two sections), both passes, fp32
 * and bf16, variants incl. libm and onednn, raw samples and their stats,
 * counters read and unavailable, and a failed case. Times follow a fixed
 * formula so the expected tables are stable. */
#pragma once
#include <sqlite3.h>
#include <stdint.h>

#define FIX_LABEL "50%_a&b<c>\"|$x"
enum { FIX_RUN_MAIN = 1, FIX_RUN_ABORTED = 2, FIX_RUN_OTHER = 3, FIX_RUN_EMPTY = 4 };
#define FIX_OTHER_FACTOR 1.3

/* Creates the store at path (which must not exist). Returns 0 or -1 with a
 * message on stderr. */
int fixture_create(const char *path);
/* The time formula the fixture uses for a case (median of its samples). */
double fixture_ns(const char *norm, const char *pass, const char *dtype, const char *variant,
                  int64_t rows, int64_t cols);

/* A store of one run (id 1) with a framework peer: at ViT-B's inference
 * shape and LLaMA-7B's attention prefill, fp32, both passes, the norm and
 * DyT each by avx512 and torch-eager (ok; eager's ViT LayerNorm backward
 * failed with FIX_PEER_FAILED), torch-compile skipped with
 * FIX_PEER_NO_COMPILE, liger (DyT) skipped. */
#define FIX_PEER_FAILED "wrong result vs ref: dbeta[5] = 2, ref 1: error 0.5 > tolerance 0.01"
#define FIX_PEER_NO_COMPILE "torch.compile is not in torch 1.13.0 (it needs PyTorch 2.0 or later)"
int fixture_create_peer(const char *path);
