/* The ISA-independent part of the x86 norm kernels' row machinery: the
 * column chunk every row reduction works in, the streaming row pipeline
 * (KX_STREAM) and the merge of chunk moments. Plain C, so that the tests
 * can walk the pipeline's order without any -m flags
 * (tests/simd/test_stream_order.c). */
#pragma once
#include "common.h"
#include <stddef.h>

/* Row reductions (statistics, backward row sums) run four independent fp32
 * accumulators per sum (RED_LOOP), so the loop is not bound by the add/FMA
 * latency, over chunks of columns whose sums are then combined in double:
 * ROW_CHUNK columns, 16 terms per fp32 lane at most, on the row path, and
 * STREAM_CHUNK on the streaming path (KX_STREAM), whose column pieces are
 * that wide; the fp32 part adds only a few ulp. Each chunk costs a few
 * horizontal sums: the row path, where nothing is interleaved, takes the
 * longer one (its cache-resident LayerNorm forward ran ~10% faster than
 * with 512). Multiples of 4 * VL for every VL. */
#define ROW_CHUNK 1024
#define STREAM_CHUNK 512

/* The streaming path of the norms with row statistics (LayerNorm and
 * RMSNorm, forward and backward), taken when the activations are
 * DRAM-sized (kx_ctx.nt). Row by row, a row is read for its statistics and
 * read again from cache to be written: DRAM reads and writes alternate
 * instead of overlapping, and the writing pass's parameter rows (gamma,
 * beta: 32 KiB at 4096 fp32 columns) and the row itself do not stay in the
 * 48 KiB L1 beside the stream; that ran at ~62-67% of copy on the build VM
 * (8192 x 4096 fp32, 1 thread). Here rows go in blocks of RB (about
 * KX_BLOCK_BYTES of activations): while block b - 1 is written, block b's
 * statistics are read, one STREAM_CHUNK-column chunk of b per STREAM_CHUNK-column
 * piece of b - 1, so reads and writes overlap; and b - 1 is written piece
 * column by piece column, all its rows per column, so a piece's parameters
 * stay in L1 for RB rows while the rows come from L2.
 *
 * The statistics stream is prefetched from the pieces, one line per
 * vector they write (the pieces run evenly through the time the block
 * takes; a chunk's own loads come in bursts): a piece gets the element
 * offset where the stream about is, and the statistics pass prefetches
 * only where no piece runs (the first block). Without the prefetch the
 * hardware prefetcher did not follow the stream: ~35% of copy.
 *
 * STATS(slot, row, col, n, pf): one chunk, columns [col, col + n) of row,
 *   in column order per row (col == 0 starts the row); pf: prefetch it;
 * FINISH(slot, row): the row's statistics are complete;
 * PIECE(slot, row, c0, c1, pfo): write columns [c0, c1) of row (FINISHed),
 *   prefetching the stream from element offset pfo on;
 * COLUMN_DONE(c0, c1): every row of the block has written [c0, c1).
 * slot (0 .. 2 RB - 1) names the row's place in the two blocks in flight,
 * for the caller's per-row statistics. The order of everything depends on
 * (rows, cols, RB) only. */
/* A COLUMN_DONE with nothing to do. */
#define KX_NO_COLUMN_DONE(c0, c1)

#define KX_BLOCK_BYTES ((size_t)128 << 10)
#define KX_BLOCK_MAX 32
static inline size_t kx_block_rows(size_t cols, size_t esz)
{
    size_t rb = KX_BLOCK_BYTES / (cols * esz);
    return rb < 1 ? 1 : rb > KX_BLOCK_MAX ? KX_BLOCK_MAX : rb;
}

/* One statistics chunk of KX_STREAM, then on to the next. */
#define KX_STREAM_CHUNK_(C, STATS, pf)                                                             \
    do {                                                                                           \
        STATS(ss_ + sr_ - sb_, sr_, sc_, DYT_MIN((size_t)STREAM_CHUNK, (C)-sc_), pf);              \
        if ((sc_ += STREAM_CHUNK) >= (C))                                                          \
            sc_ = 0, sr_++;                                                                        \
    } while (0)

#define KX_STREAM(r0, r1, C, RB, STATS, FINISH, PIECE, COLUMN_DONE)                                \
    do {                                                                                           \
        const size_t nb_ = ((r1) - (r0) + (RB)-1) / (RB);                                          \
        for (size_t s_ = 0; s_ <= nb_; s_++) {                                                     \
            const size_t sb_ = (r0) + s_ * (RB);                                                   \
            const size_t se_ = s_ < nb_ ? DYT_MIN((size_t)(r1), sb_ + (RB)) : sb_;                 \
            const size_t ss_ = (s_ & 1) * (RB), os_ = (RB)-ss_;                                    \
            size_t sr_ = sb_, sc_ = 0; /* the next statistics chunk */                             \
            if (s_ > 0) {                                                                          \
                const size_t ob_ = sb_ - (RB), oe_ = DYT_MIN((size_t)(r1), sb_);                   \
                size_t pf_ = sb_ * (C); /* where the statistics stream is, about */                \
                for (size_t c0_ = 0; c0_ < (C); c0_ += STREAM_CHUNK) {                             \
                    const size_t c1_ = DYT_MIN((size_t)(C), c0_ + STREAM_CHUNK);                   \
                    for (size_t r_ = ob_; r_ < oe_; r_++) {                                        \
                        if (sr_ < se_)                                                             \
                            KX_STREAM_CHUNK_(C, STATS, 0);                                         \
                        PIECE(os_ + r_ - ob_, r_, c0_, c1_, pf_);                                  \
                        pf_ += c1_ - c0_;                                                          \
                    }                                                                              \
                    COLUMN_DONE(c0_, c1_);                                                         \
                }                                                                                  \
            }                                                                                      \
            while (sr_ < se_)                                                                      \
                KX_STREAM_CHUNK_(C, STATS, 1);                                                     \
            for (size_t r_ = sb_; r_ < se_; r_++)                                                  \
                FINISH(ss_ + r_ - sb_, r_);                                                        \
        }                                                                                          \
    } while (0)

/* Mean and M2 = sum (x - mean)^2 of a row from its chunks' (count n,
 * mean, M2), without a division per chunk (they are on the row's critical
 * path): the chunk means are summed as deviations d from the first
 * chunk's mean K, and M2 = sum M2_c + sum n d^2 - (sum n d)^2 / N (the
 * between-chunk part, shifted by K). In double; the shifted form loses
 * at most a factor of the chunk count to cancellation, e.g. one outlying
 * first chunk, which at 2^-53 is far below fp32's resolution. */
typedef struct {
    double n, k, s, q, m2;
} kx_moments;

static inline void kx_add_chunk(kx_moments *acc, double n, double mean, double m2)
{
    if (acc->n == 0)
        acc->k = mean;
    const double d = mean - acc->k;
    acc->n += n;
    acc->s += n * d;
    acc->q += n * d * d;
    acc->m2 += m2;
}

/* The row's mean and M2 (>= 0; NaN stays NaN), given 1 / n. */
static inline void kx_moments_of(const kx_moments *acc, double inv_n, double *mean, double *m2)
{
    const double between = acc->q - acc->s * acc->s * inv_n, v = acc->m2 + between;
    *mean = acc->k + acc->s * inv_n;
    *m2 = v < 0 ? 0 : v;
}
