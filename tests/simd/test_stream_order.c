/* The order of the x86 kernels' streaming row pipeline (KX_STREAM in
 * kernels/x86/norm_stream.h), walked with recording hooks for many row
 * ranges, widths and block sizes: every chunk's statistics exactly once,
 * in column order per row, before the row is finished; every piece of
 * every row exactly once, after its row is finished, with the slot its
 * statistics used and not yet reused; each column done once per block
 * after all its rows; the statistics interleaved with the pieces; the
 * prefetch offsets ahead, within reach, increasing. Also the chunk moments'
 * sum (kx_add_chunk, kx_moments_of) against a direct two-pass sum. */
#include "dyt_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "x86/norm_stream.h"

typedef struct {
    size_t r0, r1, C, RB, nchunks;
    unsigned char *stats_seen, *piece_seen; /* per (row, chunk) */
    size_t *next_col;                       /* per row: next statistics column */
    int *finished;                          /* per row: 0, or 1 + slot */
    long *slot_owner;                       /* per slot: row, or -1 */
    size_t *pieces_left;                    /* per row */
    size_t stats_calls, piece_calls, interleaved, last_pfo;
    long block_first; /* first row of the block being written */
    size_t *col_done; /* per chunk: COLUMN_DONE calls */
    size_t col_done_total;
} rec;

static void rec_init(rec *r, size_t r0, size_t r1, size_t C, size_t RB)
{
    memset(r, 0, sizeof *r);
    r->r0 = r0, r->r1 = r1, r->C = C, r->RB = RB;
    r->nchunks = (C + STREAM_CHUNK - 1) / STREAM_CHUNK;
    size_t rows = r1 + 1, cells = rows * r->nchunks;
    r->stats_seen = calloc(cells, 1);
    r->piece_seen = calloc(cells, 1);
    r->next_col = calloc(rows, sizeof *r->next_col);
    r->finished = calloc(rows, sizeof *r->finished);
    r->pieces_left = calloc(rows, sizeof *r->pieces_left);
    r->slot_owner = malloc(2 * RB * sizeof *r->slot_owner);
    r->col_done = calloc(r->nchunks, sizeof *r->col_done);
    assert_true(r->stats_seen && r->piece_seen && r->next_col && r->finished && r->pieces_left &&
                r->slot_owner && r->col_done);
    for (size_t i = 0; i < 2 * RB; i++)
        r->slot_owner[i] = -1;
    r->block_first = -1;
}

static void rec_free(rec *r)
{
    free(r->stats_seen), free(r->piece_seen), free(r->next_col), free(r->finished);
    free(r->pieces_left), free(r->slot_owner), free(r->col_done);
}

static void on_stats(rec *r, size_t slot, size_t row, size_t col, size_t n, int pf)
{
    assert_true(row >= r->r0 && row < r->r1);
    assert_true(slot < 2 * r->RB);
    assert_int_equal(col, r->next_col[row]); /* column order within the row */
    assert_int_equal(n, DYT_MIN((size_t)STREAM_CHUNK, r->C - col));
    if (col == 0) { /* the row takes its slot, which must be free */
        assert_true(r->slot_owner[slot] < 0 || r->pieces_left[r->slot_owner[slot]] == 0);
        r->slot_owner[slot] = (long)row;
    }
    assert_int_equal(r->slot_owner[slot], (long)row);
    size_t cell = row * r->nchunks + col / STREAM_CHUNK;
    assert_int_equal(r->stats_seen[cell], 0);
    r->stats_seen[cell] = 1;
    r->next_col[row] = col + n;
    r->stats_calls++;
    /* pf: only where no piece is being written at the same time */
    if (pf)
        assert_true(r->block_first < 0 || r->pieces_left[r->block_first] == 0);
}

static void on_finish(rec *r, size_t slot, size_t row)
{
    assert_int_equal(r->next_col[row], r->C); /* all its statistics */
    assert_int_equal(r->finished[row], 0);
    assert_int_equal(r->slot_owner[slot], (long)row);
    r->finished[row] = 1 + (int)slot;
    r->pieces_left[row] = r->nchunks;
}

static void on_piece(rec *r, size_t slot, size_t row, size_t c0, size_t c1, size_t pfo)
{
    assert_true(row >= r->r0 && row < r->r1);
    assert_int_equal(r->finished[row], 1 + (int)slot); /* finished, same slot */
    assert_int_equal(r->slot_owner[slot], (long)row);  /* not reused meanwhile */
    assert_int_equal(c0 % STREAM_CHUNK, 0);
    assert_int_equal(c1, DYT_MIN(r->C, c0 + STREAM_CHUNK));
    size_t cell = row * r->nchunks + c0 / STREAM_CHUNK;
    assert_int_equal(r->piece_seen[cell], 0);
    r->piece_seen[cell] = 1;
    r->pieces_left[row]--;
    size_t first = row - (row - r->r0) % r->RB;
    if ((long)first != r->block_first) {
        r->block_first = (long)first;
        r->last_pfo = 0;
    }
    /* the stream offset: in the next block, ahead of where the pieces are */
    assert_true(pfo >= (first + r->RB) * r->C);
    assert_true(pfo <= (first + 2 * r->RB) * r->C);
    assert_true(pfo >= r->last_pfo);
    r->last_pfo = pfo;
    r->piece_calls++;
}

static void on_column_done(rec *r, size_t c0, size_t c1)
{
    assert_int_equal(c1, DYT_MIN(r->C, c0 + STREAM_CHUNK));
    size_t first = (size_t)r->block_first, last = DYT_MIN(r->r1, first + r->RB);
    for (size_t row = first; row < last; row++) /* every row of the block wrote it */
        assert_int_equal(r->piece_seen[row * r->nchunks + c0 / STREAM_CHUNK], 1);
    r->col_done[c0 / STREAM_CHUNK]++;
    r->col_done_total++;
}

/* Counts statistics calls made between two pieces of the same block. */
static void walk(size_t r0, size_t r1, size_t C, size_t RB)
{
    rec r;
    rec_init(&r, r0, r1, C, RB);
    size_t since_piece = 0, max_between = 0;
#define STATS(slot, row, col, n, pf) (on_stats(&r, slot, row, col, n, pf), since_piece++)
#define FINISH(slot, row) on_finish(&r, slot, row)
#define PIECE(slot, row, c0, c1, pfo)                                                              \
    do {                                                                                           \
        on_piece(&r, slot, row, c0, c1, pfo);                                                      \
        if (since_piece > max_between && r.pieces_left[row] + 1 < r.nchunks)                       \
            max_between = since_piece;                                                             \
        since_piece = 0;                                                                           \
    } while (0)
#define COLUMN_DONE(c0, c1) on_column_done(&r, c0, c1)
    KX_STREAM(r0, r1, C, RB, STATS, FINISH, PIECE, COLUMN_DONE);
#undef STATS
#undef FINISH
#undef PIECE
#undef COLUMN_DONE
    size_t rows = r1 - r0, blocks = (rows + RB - 1) / RB;
    assert_int_equal(r.stats_calls, rows * r.nchunks);
    assert_int_equal(r.piece_calls, rows * r.nchunks);
    assert_int_equal(r.col_done_total, blocks * r.nchunks);
    for (size_t row = r0; row < r1; row++) {
        assert_int_not_equal(r.finished[row], 0);
        assert_int_equal(r.pieces_left[row], 0);
    }
    assert_true(max_between <= 1); /* one statistics chunk per piece, not bursts */
    rec_free(&r);
}

static void test_order(void **state)
{
    (void)state;
    const size_t widths[] = {
        1, 5, STREAM_CHUNK - 1, STREAM_CHUNK, STREAM_CHUNK + 1, 3 * STREAM_CHUNK + 7};
    const size_t blocks[] = {1, 2, 3, 8, KX_BLOCK_MAX};
    for (size_t w = 0; w < DYT_ARRAY_LEN(widths); w++)
        for (size_t b = 0; b < DYT_ARRAY_LEN(blocks); b++) {
            size_t RB = blocks[b], C = widths[w];
            const size_t ranges[][2] = {{0, 0},          {0, 1},          {0, RB - 1 + 1},
                                        {2, 2 + RB + 1}, {5, 5 + 3 * RB}, {7, 7 + 4 * RB - 1},
                                        {1, 1 + RB - 1}};
            for (size_t k = 0; k < DYT_ARRAY_LEN(ranges); k++)
                walk(ranges[k][0], ranges[k][1], C, RB);
        }
}

static void test_block_rows(void **state)
{
    (void)state;
    assert_int_equal(kx_block_rows(4096, 4), KX_BLOCK_BYTES / (4096 * 4));
    assert_int_equal(kx_block_rows(4096, 2), KX_BLOCK_BYTES / (4096 * 2));
    assert_int_equal(kx_block_rows(1, 4), KX_BLOCK_MAX);    /* capped */
    assert_int_equal(kx_block_rows((size_t)1 << 20, 4), 1); /* a row beyond the block */
}

/* Chunk moments added in order give the two-pass mean and M2 of the
 * whole: a large mean over a small spread, and a first chunk far from
 * the others (the shift of the between-chunk sums is that chunk's mean). */
static void test_merge(void **state)
{
    (void)state;
    const double shifts[] = {0.0, 1e4, -1e6, 0.0};
    for (size_t s = 0; s < DYT_ARRAY_LEN(shifts); s++) {
        enum { N = 1234 };
        double v[N], sum = 0;
        uint64_t h = 12345 + s;
        for (size_t i = 0; i < N; i++) {
            h = h * 6364136223846793005ull + 1442695040888963407ull;
            v[i] = shifts[s] + (double)(h >> 40) / 16777216.0 - 0.5;
            if (s == 3 && i < 100)
                v[i] += 1e6; /* an outlying first chunk */
            sum += v[i];
        }
        double mean = sum / N, m2 = 0;
        for (size_t i = 0; i < N; i++)
            m2 += (v[i] - mean) * (v[i] - mean);
        kx_moments acc = {0, 0, 0, 0, 0};
        for (size_t c0 = 0; c0 < N; c0 += 100) {
            size_t n = DYT_MIN((size_t)100, N - c0);
            double cs = 0, cm2 = 0;
            for (size_t i = c0; i < c0 + n; i++)
                cs += v[i];
            double cm = cs / (double)n;
            for (size_t i = c0; i < c0 + n; i++)
                cm2 += (v[i] - cm) * (v[i] - cm);
            kx_add_chunk(&acc, (double)n, cm, cm2);
        }
        double got_mean, got_m2;
        kx_moments_of(&acc, 1.0 / N, &got_mean, &got_m2);
        assert_true(acc.n == N);
        assert_true(fabs(got_mean - mean) <= 1e-12 * fmax(1.0, fabs(mean)));
        assert_true(fabs(got_m2 - m2) <= 1e-9 * m2);
    }
}

DYT_TEST_MAIN("test_stream_order", NULL, NULL, cmocka_unit_test(test_order),
              cmocka_unit_test(test_block_rows), cmocka_unit_test(test_merge))
