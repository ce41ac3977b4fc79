/* The gate's pairing of blocks for paired mode (gate/pair.c); private to
 * the gate stage. */
#pragma once
#include "gate.h"

/* Why a case was or was not paired. */
typedef enum { PAIR_OK = 0, PAIR_NO_TOKEN, PAIR_NOT_UNIQUE, PAIR_NOMEM } pair_status;

/* The time-matched pairs of case b of side base and case c of side cand: a
 * block of each measured in the same `interleave` session (the runs'
 * lockstep token) and the same round -- the pairing key (token, block).
 * Pairing needs every replicate of both sides to carry a token
 * (PAIR_NO_TOKEN otherwise) and each key to occur at most once per side
 * (PAIR_NOT_UNIQUE: two arms of one session pooled on a side admit no
 * one-to-one pairing). On PAIR_OK, *d (allocated, the caller frees it) gets
 * log(cand / base) for each key present on both sides, *n_pairs their
 * number (possibly 0: other sessions), *dropped the blocks whose key is on
 * one side only or whose median is not positive, med_b/med_c the sides'
 * medians of block medians, n_blocks_b/n_blocks_c their block counts. */
pair_status gate_pair_blocks(const gate_run *base, const gate_case *b, const gate_run *cand,
                             const gate_case *c, double **d, size_t *n_pairs, double *med_b,
                             double *med_c, size_t *dropped, size_t *n_blocks_b,
                             size_t *n_blocks_c);
