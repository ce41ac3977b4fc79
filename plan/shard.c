/* A plan split into shards for a campaign (run --shard I/N): every shard
 * builds the whole plan, assigns each case to a shard from the plan alone,
 * and keeps its own cases, so N processes on N machines agree on a
 * disjoint partition whose union is the plan without exchanging a byte.
 *
 * The assignment balances estimated cost, not case count: a campaign's
 * wall time is its slowest shard's, and one 4096x4096 case costs as much as
 * hundreds of decode-sized ones. The estimate is integer arithmetic on the
 * plan (no measurement, no floating point), so it is the same on every
 * machine; the greedy longest-first rule keeps every shard within one
 * case's cost of the mean. */
#include "plan.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A case streams its bytes once per call: inputs and verification against
 * ref, warm-up and at least the minimum samples make about this many
 * passes. Every case also spends a fixed share of the budget (warm-up and
 * minimum time) however small it is: that much, as bytes at a few GB/s. */
#define PLAN_COST_PASSES 16u
#define PLAN_COST_FLOOR_BYTES ((uint64_t)256 << 20)

uint64_t plan_case_cost(const plan_case *c)
{
    return plan_case_bytes(c) * PLAN_COST_PASSES + PLAN_COST_FLOOR_BYTES;
}

typedef struct {
    uint64_t cost;
    size_t index;
} costed;

/* Most expensive first; equal costs in plan order. */
static int by_cost_desc(const void *x, const void *y)
{
    const costed *a = x, *b = y;
    if (a->cost != b->cost)
        return a->cost < b->cost ? 1 : -1;
    return (a->index > b->index) - (a->index < b->index);
}

/* The shards' loads as a binary min-heap on (load, shard index), so the
 * least loaded shard, the lowest-numbered among equals, is at the top. */
typedef struct {
    uint64_t load;
    int shard;
} bin;

static int bin_less(const bin *a, const bin *b)
{
    return a->load != b->load ? a->load < b->load : a->shard < b->shard;
}

static void sift_down(bin *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && bin_less(&h[l], &h[m]))
            m = l;
        if (r < n && bin_less(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        bin t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

int plan_shard_assign(const plan *p, int count, int *shard_of, dyt_err *e)
{
    if (count < 1)
        return dyt_errf(e, DYT_USAGE, "plan: %d shards: want at least 1", count);
    size_t n = p->n_cases;
    costed *order = malloc((n ? n : 1) * sizeof *order);
    bin *heap = malloc((size_t)count * sizeof *heap);
    if (!order || !heap) {
        free(order);
        free(heap);
        return dyt_errf(e, DYT_RESOURCE, "plan: out of memory sharding %zu cases", n);
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (costed){plan_case_cost(&p->cases[i]), i};
    qsort(order, n, sizeof *order, by_cost_desc);
    /* All loads are zero: shard order is already a heap. */
    for (int k = 0; k < count; k++)
        heap[k] = (bin){0, k};
    for (size_t i = 0; i < n; i++) {
        shard_of[order[i].index] = heap[0].shard;
        heap[0].load += order[i].cost;
        sift_down(heap, (size_t)count, 0);
    }
    free(order);
    free(heap);
    return DYT_OK;
}

int plan_shard(const plan *p, int index, int count, plan *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    if (index < 0 || index >= count)
        return dyt_errf(e, DYT_USAGE, "plan: shard %d of %d does not exist", index + 1, count);
    int *shard_of = malloc((p->n_cases ? p->n_cases : 1) * sizeof *shard_of);
    out->cases = malloc((p->n_cases ? p->n_cases : 1) * sizeof *out->cases);
    int rc = shard_of && out->cases
                 ? plan_shard_assign(p, count, shard_of, e)
                 : dyt_errf(e, DYT_RESOURCE, "plan: out of memory sharding %zu cases", p->n_cases);
    for (size_t i = 0; rc == DYT_OK && i < p->n_cases; i++)
        if (shard_of[i] == index)
            out->cases[out->n_cases++] = p->cases[i];
    free(shard_of);
    if (rc != DYT_OK)
        plan_free(out);
    return rc;
}

static uint64_t hash_str(const char *s, uint64_t h)
{
    s = s ? s : "";
    return dyt_hash64(s, strlen(s) + 1, h);
}

void plan_hash(const plan *p, char out[17])
{
    uint64_t h = DYT_HASH64_INIT;
    for (size_t i = 0; i < p->n_cases; i++) {
        const plan_case *c = &p->cases[i];
        h = hash_str(c->suite_name, h);
        h = hash_str(c->model->name, h);
        h = hash_str(c->token_label, h);
        h = hash_str(c->variant->name, h);
        uint64_t nums[] = {c->rows,           c->cols,
                           (uint64_t)c->norm, (uint64_t)c->dtype,
                           (uint64_t)c->pass, (uint64_t)c->threads};
        h = dyt_hash64(nums, sizeof nums, h);
    }
    snprintf(out, 17, "%016" PRIx64, h);
}
