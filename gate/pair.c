/* Pairing for the gate's paired mode: the blocks of a case on each side
 * get a key (the lockstep token of the block's run, the block = round), the
 * keys of the two sides are matched one-to-one by a merge of the sorted
 * lists, and each matched key gives one difference log(cand / base) of the
 * block medians. Blocks of one `interleave` session with the same round were
 * measured moments apart, so the machine's drift is common to the pair. */
#include "gate_pair.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One block of a side for pairing: its key (session token, block) and its
 * median. */
typedef struct {
    const char *token;
    int64_t block;
    double med;
} pair_key;

static int cmp_pair_key(const void *x, const void *y)
{
    const pair_key *a = x, *b = y;
    int c = strcmp(a->token, b->token);
    return c ? c : (a->block > b->block) - (a->block < b->block);
}

/* The keys of one side's blocks of case c into *keys (allocated, sorted):
 * the run of each replicate gives the token, its low 32 bits the block.
 * PAIR_NO_TOKEN when some replicate was not measured in lockstep;
 * PAIR_NOT_UNIQUE when two replicates share a key (two arms of one
 * session pooled on one side), which admits no one-to-one pairing. */
static pair_status side_keys(const gate_run *side, const gate_case *c, pair_key **keys,
                             size_t *n)
{
    *keys = NULL;
    *n = 0;
    if (!c->rep || c->n == 0)
        return PAIR_NO_TOKEN;
    double *med = malloc(c->n * sizeof *med);
    int64_t *ids = malloc(c->n * sizeof *ids);
    pair_key *k = malloc(c->n * sizeof *k);
    size_t nb = med && ids && k ? stats_block_medians(c->x, c->rep, c->n, med, ids) : 0;
    pair_status st = nb ? PAIR_OK : PAIR_NOMEM;
    for (size_t i = 0; i < nb && st == PAIR_OK; i++) {
        size_t run = (size_t)(ids[i] >> 32);
        if (run >= side->n_runs || !side->runs[run].lockstep_token[0])
            st = PAIR_NO_TOKEN;
        else
            k[i] = (pair_key){side->runs[run].lockstep_token, ids[i] & 0xffffffff, med[i]};
    }
    if (st == PAIR_OK) {
        qsort(k, nb, sizeof *k, cmp_pair_key);
        for (size_t i = 1; i < nb && st == PAIR_OK; i++)
            if (!cmp_pair_key(&k[i - 1], &k[i]))
                st = PAIR_NOT_UNIQUE;
    }
    free(med);
    free(ids);
    if (st != PAIR_OK) {
        free(k);
        return st;
    }
    *keys = k;
    *n = nb;
    return PAIR_OK;
}

pair_status gate_pair_blocks(const gate_run *base, const gate_case *b, const gate_run *cand,
                             const gate_case *c, double **d, size_t *n_pairs, double *med_b,
                             double *med_c, size_t *dropped, size_t *n_blocks_b,
                             size_t *n_blocks_c)
{
    pair_key *kb = NULL, *kc = NULL;
    size_t nb = 0, nc = 0, n = 0;
    *d = NULL;
    *n_pairs = *dropped = *n_blocks_b = *n_blocks_c = 0;
    pair_status st = side_keys(base, b, &kb, &nb);
    if (st == PAIR_OK)
        st = side_keys(cand, c, &kc, &nc);
    if (st == PAIR_OK && !(*d = malloc(DYT_MIN(nb, nc) * sizeof **d + 1)))
        st = PAIR_NOMEM;
    if (st != PAIR_OK) {
        free(kb);
        free(kc);
        return st;
    }
    /* Merge of the two sorted key lists. */
    for (size_t i = 0, j = 0; i < nb && j < nc;) {
        int cmp = cmp_pair_key(&kb[i], &kc[j]);
        if (cmp < 0) {
            i++;
        } else if (cmp > 0) {
            j++;
        } else {
            if (kb[i].med > 0 && kc[j].med > 0)
                (*d)[n++] = log(kc[j].med / kb[i].med);
            i++;
            j++;
        }
    }
    double *m = malloc((nb > nc ? nb : nc) * sizeof *m);
    if (m) {
        for (size_t i = 0; i < nb; i++)
            m[i] = kb[i].med;
        *med_b = stats_median(m, nb);
        for (size_t j = 0; j < nc; j++)
            m[j] = kc[j].med;
        *med_c = stats_median(m, nc);
    }
    free(m);
    free(kb);
    free(kc);
    if (!m) {
        free(*d);
        *d = NULL;
        return PAIR_NOMEM;
    }
    *n_pairs = n;
    *dropped = nb + nc - 2 * n;
    *n_blocks_b = nb;
    *n_blocks_c = nc;
    return PAIR_OK;
}
