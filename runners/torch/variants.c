/* The framework variants and the peer's cases in a plan. A framework
 * variant is not a kernel of the registry (nothing in this process can run
 * it): its cases carry a kern_entry of their own, from the table below,
 * whose function refuses every call, so that a peer case is an ordinary
 * plan case (name, norm, pass, dtype) to everything that reads the plan,
 * and only the torch runner measures it. Where the peer's cases go: after
 * the kernels' cases of each shape, norm, dtype and pass, one per
 * framework variant and thread count of those cases, so that a report
 * finds them beside the kernels they are compared with. */
#include "torch_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const variant_names[] = {"torch-eager", "torch-compile", "liger", NULL};
static const char *const peer_names[] = {"torch", NULL};

const char *const *runner_peer_variants(void)
{
    return variant_names;
}

const char *const *runner_peer_names(void)
{
    return peer_names;
}

int runner_peer_huge_pages(void)
{
    char thp[32];
    return dyt_thp_mode("enabled", thp, sizeof thp) == 0 && !strcmp(thp, "always");
}

int peer_variant_of(const char *name)
{
    for (int i = 0; variant_names[i]; i++)
        if (!strcmp(name, variant_names[i]))
            return i;
    return -1;
}

/* Liger-Kernel's Triton kernel in this comparison is its DyT. */
static int variant_has_norm(peer_variant v, norm_kind n)
{
    return v != PEER_LIGER || n == NORM_DYT;
}

static int refuse(const norm_args *a, const kern_exec *ex)
{
    (void)a;
    (void)ex;
    return -1;
}

#define PEER_ENTRY(name, n, p, d, note)                                                            \
    {                                                                                              \
        name, n, p, d, DEVICE_CPU, ISA_NONE, refuse, note                                          \
    }
#define PEER_NORM(name, n, note)                                                                   \
    PEER_ENTRY(name, n, PASS_FWD, DTYPE_F32, note),                                                \
        PEER_ENTRY(name, n, PASS_BWD, DTYPE_F32, note),                                            \
        PEER_ENTRY(name, n, PASS_FWD, DTYPE_BF16, note),                                           \
        PEER_ENTRY(name, n, PASS_BWD, DTYPE_BF16, note)
#define PEER_VARIANT(name, note)                                                                   \
    PEER_NORM(name, NORM_DYT, note), PEER_NORM(name, NORM_LAYERNORM, note),                        \
        PEER_NORM(name, NORM_RMSNORM, note)

static const kern_entry entries[] = {
    PEER_VARIANT("torch-eager", "PyTorch eager modules, timed by the torch peer"),
    PEER_VARIANT("torch-compile", "torch.compile of the same modules, timed by the torch peer"),
    PEER_VARIANT("liger", "Liger-Kernel's Triton DyT, timed by the torch peer"),
};

static const kern_entry *entry_of(peer_variant v, norm_kind n, pass_kind p, dtype_kind d)
{
    for (size_t i = 0; i < DYT_ARRAY_LEN(entries); i++)
        if (!strcmp(entries[i].name, variant_names[v]) && entries[i].norm == n &&
            entries[i].pass == p && entries[i].dtype == d)
            return &entries[i];
    return NULL;
}

int runner_peer_case(const plan_case *c)
{
    const kern_entry *e = c->variant;
    return e >= entries && e < entries + DYT_ARRAY_LEN(entries);
}

peer_variant peer_case_variant(const plan_case *c)
{
    return (peer_variant)peer_variant_of(c->variant->name);
}

/* The cases of p[i..j) share everything but variant and threads. */
static int same_group(const plan_case *a, const plan_case *b)
{
    return a->model == b->model && a->suite_name == b->suite_name && a->rows == b->rows &&
           a->token_label == b->token_label && a->norm == b->norm && a->dtype == b->dtype &&
           a->pass == b->pass;
}

int runner_peer_plan(const plan *p, const runner_peer_opts *po, plan *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    peer_variant want[PEER_N_VARIANTS];
    size_t nw = 0, hits[PEER_N_VARIANTS] = {0};
    if (po->n_variants == 0)
        for (int v = 0; v < PEER_N_VARIANTS; v++)
            want[nw++] = (peer_variant)v;
    for (size_t i = 0; i < po->n_variants; i++) {
        int v = peer_variant_of(po->variants[i]);
        if (v < 0)
            return dyt_errf(e, DYT_USAGE,
                            "unknown framework variant '%s' (torch-eager, torch-compile, liger)",
                            po->variants[i]);
        int dup = 0;
        for (size_t k = 0; k < nw; k++)
            dup |= want[k] == (peer_variant)v;
        if (!dup && nw < PEER_N_VARIANTS)
            want[nw++] = (peer_variant)v;
    }
    /* At most every case once more per framework variant. */
    size_t cap = p->n_cases * (nw + 1) + 1;
    out->cases = malloc(cap * sizeof *out->cases);
    if (!out->cases)
        return dyt_errf(e, DYT_RESOURCE, "plan: out of memory");
    for (size_t i = 0; i < p->n_cases;) {
        size_t j = i;
        while (j < p->n_cases && same_group(&p->cases[i], &p->cases[j]))
            out->cases[out->n_cases++] = p->cases[j++];
        for (size_t w = 0; w < nw; w++) {
            if (!variant_has_norm(want[w], p->cases[i].norm))
                continue;
            for (size_t k = i; k < j; k++) {
                int seen = 0;
                for (size_t q = i; q < k && !seen; q++)
                    seen = p->cases[q].threads == p->cases[k].threads;
                const kern_entry *ve =
                    entry_of(want[w], p->cases[k].norm, p->cases[k].pass, p->cases[k].dtype);
                if (seen || !ve)
                    continue;
                plan_case c = p->cases[k];
                c.variant = ve;
                out->cases[out->n_cases++] = c;
                hits[w]++;
            }
        }
        i = j;
    }
    /* The plan with the peer's cases is the run's plan: each case's seq is
     * its place in it (a copied kernel case would share its seq). */
    for (size_t i = 0; i < out->n_cases; i++)
        out->cases[i].seq = (int)i;
    for (size_t w = 0; w < nw && po->n_variants; w++)
        if (!hits[w]) {
            plan_free(out);
            return dyt_errf(e, DYT_USAGE,
                            "framework variant '%s' has no case in this plan (liger: DyT only; "
                            "fp32 and bf16)",
                            variant_names[want[w]]);
        }
    return DYT_OK;
}
