/* Buffer sets of a CPU case. Set 0 holds the case's inputs, generated from
 * the run's seed by runner_case_inputs (runners/inputs.c, shared with the
 * CUDA runner); for backward, the statistics forward saves come from
 * `ref`. Every buffer is written once when allocated, so no page fault
 * lands in a timed sample.
 *
 * Cold cache: the sets are copies of set 0, allocated until together they
 * exceed the requested total (a few times the LLC); the runner rotates
 * through them so each call finds its data evicted. */
#include "cpu_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *balloc(case_buffers *b, size_t bytes, size_t *acc)
{
    void **na = realloc(b->allocs, (b->n_allocs + 1) * sizeof *na);
    if (!na)
        return NULL;
    b->allocs = na;
    void *p = dyt_alloc_pages(bytes ? bytes : 64, b->pages);
    if (!p)
        return NULL;
    /* Writing every byte now commits the pages: no page fault may land in
     * a timed sample. */
    memset(p, 0, bytes ? bytes : 64);
    b->allocs[b->n_allocs++] = p;
    if (bytes >= DYT_HUGE_PAGE) {
        int64_t huge = dyt_pages_granted(p, bytes);
        b->paged_bytes += bytes;
        b->huge_bytes = huge < 0 || b->huge_bytes < 0 ? -1 : b->huge_bytes + huge;
    }
    *acc += bytes;
    return p;
}

/* Allocates one set's buffers into a (shape fields already set). */
static int alloc_set(case_buffers *b, const plan_case *c, norm_args *a, size_t *bytes)
{
    size_t act = c->rows * c->cols * dtype_size(c->dtype);
    size_t vec = c->cols * sizeof(float), row = c->rows * sizeof(float);
    *bytes = 0;
    void *x = balloc(b, act, bytes);
    float *gamma = balloc(b, vec, bytes), *beta = balloc(b, vec, bytes);
    float *mean = balloc(b, row, bytes), *rstd = balloc(b, row, bytes);
    if (!x || !gamma || !beta || !mean || !rstd)
        return -1;
    a->x = x;
    a->gamma = gamma;
    a->beta = beta;
    a->mean = mean;
    a->rstd = rstd;
    if (c->pass == PASS_FWD) {
        if (!(a->y = balloc(b, act, bytes)))
            return -1;
    } else {
        void *dy = balloc(b, act, bytes);
        a->dx = balloc(b, act, bytes);
        a->dgamma = balloc(b, vec, bytes);
        a->dbeta = balloc(b, vec, bytes);
        a->dalpha = balloc(b, sizeof(float), bytes);
        if (!dy || !a->dx || !a->dgamma || !a->dbeta || !a->dalpha)
            return -1;
        a->dy = dy;
    }
    return 0;
}

uint64_t case_buffers_set_bytes(const plan_case *c)
{
    uint64_t act = (uint64_t)c->rows * c->cols * dtype_size(c->dtype);
    uint64_t vec = (uint64_t)c->cols * sizeof(float), row = (uint64_t)c->rows * sizeof(float);
    uint64_t in = act + 2 * vec + 2 * row; /* x, gamma, beta, mean, rstd */
    return in + (c->pass == PASS_FWD ? act : 2 * act + 2 * vec + sizeof(float));
}

size_t case_buffers_count(uint64_t set_bytes, uint64_t min_total_bytes, uint64_t max_total_bytes)
{
    if (set_bytes == 0 || min_total_bytes <= set_bytes)
        return 1;
    uint64_t want = (min_total_bytes + set_bytes - 1) / set_bytes;
    uint64_t fit = max_total_bytes / set_bytes;
    return (size_t)DYT_MAX((uint64_t)1, DYT_MIN(want, fit));
}

/* Copies set 0's inputs (and saved statistics) into set s. */
static void copy_inputs(const plan_case *c, const norm_args *src, norm_args *dst)
{
    size_t act = c->rows * c->cols * dtype_size(c->dtype);
    size_t vec = c->cols * sizeof(float), row = c->rows * sizeof(float);
    memcpy((void *)dst->x, src->x, act);
    memcpy((void *)dst->gamma, src->gamma, vec);
    memcpy((void *)dst->beta, src->beta, vec);
    memcpy(dst->mean, src->mean, row);
    memcpy(dst->rstd, src->rstd, row);
    if (c->pass == PASS_BWD)
        memcpy((void *)dst->dy, src->dy, act);
}

int case_buffers_create(const plan_case *c, uint64_t seed, uint64_t min_total_bytes,
                        uint64_t max_total_bytes, dyt_pages pages, case_buffers *b, dyt_err *e)
{
    return case_buffers_create_pool(c, seed, min_total_bytes, max_total_bytes, pages, NULL, b, e);
}

int case_buffers_create_pool(const plan_case *c, uint64_t seed, uint64_t min_total_bytes,
                             uint64_t max_total_bytes, dyt_pages pages, kern_pool *pool,
                             case_buffers *b, dyt_err *e)
{
    memset(b, 0, sizeof *b);
    b->pages = pages;
    b->sets = calloc(1, sizeof *b->sets);
    if (!b->sets)
        return dyt_errf(e, DYT_FAIL, "out of memory");
    norm_args *a = &b->sets[0];
    runner_case_args(c, a);
    size_t bytes;
    if (alloc_set(b, c, a, &bytes) != 0) {
        case_buffers_free(b);
        return dyt_errf(e, DYT_FAIL, "out of memory allocating %zu x %zu %s buffers", c->rows,
                        c->cols, dtype_name(c->dtype));
    }
    b->set_bytes = bytes;
    b->n_sets = 1;
    if (runner_case_inputs(c, seed, (void *)a->x, (float *)a->gamma, (float *)a->beta,
                           c->pass == PASS_BWD ? (void *)a->dy : NULL, e) != DYT_OK) {
        case_buffers_free(b);
        return DYT_FAIL;
    }
    if (c->pass == PASS_BWD && c->norm != NORM_DYT) {
        /* Backward consumes what forward saved (LayerNorm mean+rstd,
         * RMSNorm rstd): take it from the oracle, on the case's pool. DyT
         * saves nothing. */
        const kern_entry *ref = kern_find(c->norm, PASS_FWD, c->dtype, "ref");
        if (!ref) {
            case_buffers_free(b);
            return dyt_errf(e, DYT_FAIL, "no ref forward for %s %s", norm_name(c->norm),
                            dtype_name(c->dtype));
        }
        size_t act = c->rows * c->cols * dtype_size(c->dtype);
        void *y = dyt_alloc(act);
        norm_args fa = *a;
        fa.y = y;
        kern_exec ex = {.pool = pool};
        int rc = y ? ref->fn(&fa, &ex) : -1;
        dyt_free(y);
        if (rc != 0) {
            case_buffers_free(b);
            return dyt_errf(e, DYT_FAIL, "ref forward (for the saved statistics) failed");
        }
    }

    size_t n = case_buffers_count(bytes, min_total_bytes, max_total_bytes);
    if (n > 1) {
        norm_args *ns = realloc(b->sets, n * sizeof *ns);
        if (!ns) {
            case_buffers_free(b);
            return dyt_errf(e, DYT_FAIL, "out of memory");
        }
        b->sets = ns;
        for (size_t s = 1; s < n; s++) {
            runner_case_args(c, &b->sets[s]);
            if (alloc_set(b, c, &b->sets[s], &bytes) != 0) {
                case_buffers_free(b);
                return dyt_errf(e, DYT_FAIL, "out of memory allocating buffer set %zu of %zu",
                                s + 1, n);
            }
            copy_inputs(c, &b->sets[0], &b->sets[s]);
            b->n_sets = s + 1;
        }
    }
    return DYT_OK;
}

int case_buffers_relocate(const plan_case *c, case_buffers *b, dyt_err *e)
{
    case_buffers nb;
    memset(&nb, 0, sizeof nb);
    nb.pages = b->pages;
    nb.sets = calloc(b->n_sets, sizeof *nb.sets);
    if (!nb.sets)
        return dyt_errf(e, DYT_FAIL, "out of memory");
    for (size_t s = 0; s < b->n_sets; s++) {
        size_t bytes;
        runner_case_args(c, &nb.sets[s]);
        if (alloc_set(&nb, c, &nb.sets[s], &bytes) != 0) {
            case_buffers_free(&nb);
            return dyt_errf(e, DYT_FAIL, "out of memory relocating %zu x %zu buffers", c->rows,
                            c->cols);
        }
        copy_inputs(c, &b->sets[s], &nb.sets[s]);
        nb.set_bytes = bytes;
        nb.n_sets = s + 1;
    }
    case_buffers_free(b);
    *b = nb;
    return DYT_OK;
}

void case_buffers_free(case_buffers *b)
{
    for (size_t i = 0; i < b->n_allocs; i++)
        dyt_free(b->allocs[i]);
    free(b->allocs);
    free(b->sets);
    memset(b, 0, sizeof *b);
}

void case_buffers_pages_note(const case_buffers *b, char *note, size_t n)
{
    if (note[0] || b->paged_bytes == 0)
        return;
    char size[32];
    dyt_fmt_bytes(size, sizeof size, (double)b->paged_bytes);
    if (b->huge_bytes < 0) {
        snprintf(note, n,
                 "pages: %s asked; which of %s are huge pages is unknown (no /proc/self/smaps, "
                 "or the advice was refused)",
                 dyt_pages_name(b->pages), size);
        return;
    }
    /* Huge pages are whole 2 MiB pages: a buffer's tail may be on small ones. */
    double share = (double)b->huge_bytes / (double)b->paged_bytes;
    int huge = b->pages == DYT_PAGES_HUGE;
    if ((huge && share < 0.95) || (!huge && b->huge_bytes > 0))
        snprintf(note, n, "pages: %s asked, huge pages %.0f%% of %s granted",
                 dyt_pages_name(b->pages), 100.0 * share, size);
}
