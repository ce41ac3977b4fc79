/* The plan: expands parsed suites into the list of cases a runner executes,
 * the cartesian product
 *     suite x section x token count x norm x dtype x pass x variant x threads
 * in that nesting order, after the user's filters. Defaults (an empty
 * filter list): norms = the model's own norm, then DyT; dtype fp32; passes
 * fwd, bwd; the best supported variant; threads = the physical cores (1 on
 * CUDA, where the host thread only launches).
 *
 * An explicit norm list is taken literally: `--norm layernorm` on LLaMA
 * shapes measures LayerNorm at those shapes (a fair "what if" comparison),
 * it does not filter the model's own norm away.
 *
 * Variants: "all" means every supported variant of the device for that
 * norm/pass/dtype except "ref" (the float64 verification oracle, which is
 * not a contender and would dominate the wall time). A named variant is
 * planned wherever it has a kernel for the norm/pass/dtype; naming one that
 * does not exist, that runs on the other device, that this machine cannot
 * run, or that has no kernel for any selected combination is a usage error,
 * so nothing starts; so is a device this build or machine cannot use. Why
 * a variant cannot run comes from the registry (kern_unsupported_reason).
 * Nothing here measures anything. */
#include "plan.h"

#include <hwloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int plan_default_threads(void)
{
    int cores = 0;
    hwloc_topology_t t;
    if (hwloc_topology_init(&t) == 0) {
        if (hwloc_topology_load(t) == 0)
            cores = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
        hwloc_topology_destroy(t);
    }
    if (cores <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cores = n > 0 ? (int)n : 1;
    }
    return cores;
}

int plan_case_affine(const plan_case *c)
{
    return c->norm == NORM_DYT ? 1 : c->model->affine;
}

uint64_t plan_case_bytes(const plan_case *c)
{
    return kern_min_bytes(c->norm, c->pass, c->dtype, c->rows, c->cols, c->model->beta,
                          plan_case_affine(c));
}

typedef struct {
    plan *p;
    size_t cap;
} builder;

static int push(builder *b, const plan_case *c, dyt_err *e)
{
    if (b->p->n_cases == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        plan_case *n = realloc(b->p->cases, nc * sizeof *n);
        if (!n)
            return dyt_errf(e, DYT_RESOURCE, "plan: out of memory");
        b->p->cases = n;
        b->cap = nc;
    }
    b->p->cases[b->p->n_cases] = *c;
    b->p->cases[b->p->n_cases].seq = (int)b->p->n_cases;
    b->p->n_cases++;
    return DYT_OK;
}

/* Checks every named variant once, before expansion: it exists, runs on the
 * requested device, and this machine can run it. */
static int check_named(const plan_filter *f, dyt_err *e)
{
    size_t count;
    const kern_entry *r = kern_registry(&count);
    for (size_t v = 0; v < f->n_variants; v++) {
        const char *name = f->variants[v];
        if (!strcmp(name, "all"))
            continue;
        const kern_entry *any = NULL, *same_dev = NULL;
        for (size_t i = 0; i < count; i++) {
            if (strcmp(r[i].name, name))
                continue;
            any = &r[i];
            if (r[i].device == f->device && !same_dev)
                same_dev = &r[i];
        }
        if (!any) {
            char known[512] = "";
            for (size_t i = 0; i < count; i++) {
                int seen = 0;
                for (size_t j = 0; j < i && !seen; j++)
                    seen = !strcmp(r[i].name, r[j].name);
                if (seen)
                    continue;
                strncat(known, known[0] ? ", " : "", sizeof known - strlen(known) - 1);
                strncat(known, r[i].name, sizeof known - strlen(known) - 1);
            }
            return dyt_errf(e, DYT_USAGE, "unknown variant '%s' (this build has: %s)", name,
                            known[0] ? known : "no variants at all");
        }
        if (!same_dev)
            return dyt_errf(e, DYT_USAGE, "variant '%s' runs on %s, not %s (see --device)", name,
                            any->device == DEVICE_CUDA ? "the GPU (cuda)" : "the CPU",
                            f->device == DEVICE_CUDA ? "cuda" : "cpu");
        char why[256];
        if (kern_unsupported_reason(same_dev, why, sizeof why))
            return dyt_errf(e, DYT_USAGE, "variant '%s' cannot run here: %s", name, why);
    }
    return DYT_OK;
}

/* The device's default variant for a combination: the best CPU variant, or
 * on CUDA "cuda" when supported, else the first supported CUDA entry. */
static const kern_entry *default_variant(norm_kind n, pass_kind p, dtype_kind d, device_kind dev)
{
    if (dev == DEVICE_CPU)
        return kern_best(n, p, d);
    const kern_entry *c = kern_find(n, p, d, "cuda");
    if (c && c->device == DEVICE_CUDA && kern_supported(c))
        return c;
    size_t count;
    const kern_entry *r = kern_registry(&count);
    for (size_t i = 0; i < count; i++)
        if (r[i].norm == n && r[i].pass == p && r[i].dtype == d && r[i].device == DEVICE_CUDA &&
            kern_supported(&r[i]))
            return &r[i];
    return NULL;
}

/* The variants to plan for one norm/pass/dtype, deduplicated, in registry
 * order for "all" and in the user's order for names. */
static int variants_for(const plan_filter *f, norm_kind n, pass_kind p, dtype_kind d,
                        const kern_entry **out, size_t cap, size_t *n_out, size_t *named_hits,
                        dyt_err *e)
{
    size_t k = 0;
    if (f->n_variants == 0) {
        const kern_entry *v = default_variant(n, p, d, f->device);
        if (v)
            out[k++] = v;
    }
    for (size_t i = 0; i < f->n_variants; i++) {
        const kern_entry *cand[64];
        size_t nc = 0;
        if (!strcmp(f->variants[i], "all")) {
            size_t count;
            const kern_entry *r = kern_registry(&count);
            for (size_t j = 0; j < count && nc < DYT_ARRAY_LEN(cand); j++)
                if (r[j].norm == n && r[j].pass == p && r[j].dtype == d &&
                    r[j].device == f->device && strcmp(r[j].name, "ref") && kern_supported(&r[j]))
                    cand[nc++] = &r[j];
        } else {
            const kern_entry *v = kern_find(n, p, d, f->variants[i]);
            if (v && v->device == f->device) {
                char why[256];
                if (kern_unsupported_reason(v, why, sizeof why))
                    return dyt_errf(e, DYT_USAGE, "variant '%s' (%s %s %s) cannot run here: %s",
                                    v->name, norm_name(n), pass_name(p), dtype_name(d), why);
                cand[nc++] = v;
                named_hits[i]++;
            }
        }
        for (size_t j = 0; j < nc; j++) {
            int dup = 0;
            for (size_t q = 0; q < k && !dup; q++)
                dup = out[q] == cand[j];
            if (!dup && k < cap)
                out[k++] = cand[j];
        }
    }
    *n_out = k;
    return DYT_OK;
}

/* Copies src[0..n) into dst without repeats; returns the new length. */
#define DEDUP(dst, src, n, k)                                                                      \
    do {                                                                                           \
        (k) = 0;                                                                                   \
        for (size_t i_ = 0; i_ < (n); i_++) {                                                      \
            int d_ = 0;                                                                            \
            for (size_t j_ = 0; j_ < (k) && !d_; j_++)                                             \
                d_ = (dst)[j_] == (src)[i_];                                                       \
            if (!d_)                                                                               \
                (dst)[(k)++] = (src)[i_];                                                          \
        }                                                                                          \
    } while (0)

int plan_build(const suite *suites, size_t n_suites, const plan_filter *f, plan *out, dyt_err *e)
{
    memset(out, 0, sizeof *out);
    if (n_suites == 0)
        return dyt_errf(e, DYT_USAGE, "plan: no suites given");
    if (f->n_norms > NORM_COUNT || f->n_dtypes > DTYPE_COUNT || f->n_passes > PASS_COUNT ||
        f->n_variants > DYT_ARRAY_LEN(f->variants) || f->n_threads > DYT_ARRAY_LEN(f->threads))
        return dyt_errf(e, DYT_USAGE, "plan: filter list too long");
    /* Say plainly why a device cannot be used before any variant check
     * reports the consequence ("no CUDA variant can run"). */
    char why[256];
    if (!kern_device_usable(f->device, why, sizeof why))
        return dyt_errf(e, DYT_USAGE, "%s", why);
    int rc = check_named(f, e);
    if (rc)
        return rc;

    dtype_kind dtypes[DTYPE_COUNT];
    pass_kind passes[PASS_COUNT];
    int threads[16];
    size_t nd, np, nt;
    if (f->n_dtypes) {
        DEDUP(dtypes, f->dtypes, f->n_dtypes, nd);
    } else {
        dtypes[0] = DTYPE_F32;
        nd = 1;
    }
    if (f->n_passes) {
        DEDUP(passes, f->passes, f->n_passes, np);
    } else {
        passes[0] = PASS_FWD;
        passes[1] = PASS_BWD;
        np = 2;
    }
    if (f->n_threads) {
        DEDUP(threads, f->threads, f->n_threads, nt);
        for (size_t i = 0; i < nt; i++)
            if (threads[i] <= 0)
                return dyt_errf(e, DYT_USAGE, "threads must be positive, got %d", threads[i]);
    } else {
        threads[0] = f->device == DEVICE_CUDA ? 1 : plan_default_threads();
        nt = 1;
    }

    builder b = {.p = out};
    size_t named_hits[16] = {0};
    size_t matched_models = 0;
    for (size_t si = 0; si < n_suites; si++) {
        const suite *s = &suites[si];
        for (size_t mi = 0; mi < s->n_models; mi++) {
            const suite_model *m = &s->models[mi];
            if (f->model_filter && *f->model_filter && !strstr(m->name, f->model_filter))
                continue;
            matched_models++;
            norm_kind norms[NORM_COUNT];
            size_t nn;
            if (f->n_norms) {
                DEDUP(norms, f->norms, f->n_norms, nn);
            } else {
                norms[0] = m->norm;
                norms[1] = NORM_DYT;
                nn = 2;
            }
            for (size_t ti = 0; ti < m->n_tokens; ti++)
                for (size_t ni = 0; ni < nn; ni++)
                    for (size_t di = 0; di < nd; di++)
                        for (size_t pi = 0; pi < np; pi++) {
                            const kern_entry *vs[64];
                            size_t nv = 0;
                            rc = variants_for(f, norms[ni], passes[pi], dtypes[di], vs,
                                              DYT_ARRAY_LEN(vs), &nv, named_hits, e);
                            if (rc)
                                goto fail;
                            /* Only an empty default or "all" can leave a
                             * combination without variants: say which. */
                            if (nv == 0 &&
                                (f->n_variants == 0 ||
                                 (f->n_variants == 1 && !strcmp(f->variants[0], "all")))) {
                                rc = dyt_errf(e, DYT_USAGE,
                                              "no %s variant of %s %s %s can run on this machine "
                                              "(see dytbench list kernels)",
                                              f->device == DEVICE_CUDA ? "CUDA" : "CPU",
                                              norm_name(norms[ni]), pass_name(passes[pi]),
                                              dtype_name(dtypes[di]));
                                goto fail;
                            }
                            for (size_t vi = 0; vi < nv; vi++)
                                for (size_t hi = 0; hi < nt; hi++) {
                                    plan_case c = {
                                        .model = m,
                                        .suite_name = s->name,
                                        .rows = m->tokens[ti],
                                        .cols = m->hidden,
                                        .token_label = m->token_labels[ti],
                                        .norm = norms[ni],
                                        .dtype = dtypes[di],
                                        .pass = passes[pi],
                                        .variant = vs[vi],
                                        .threads = threads[hi],
                                    };
                                    if ((rc = push(&b, &c, e)))
                                        goto fail;
                                }
                        }
        }
    }
    if (matched_models == 0) {
        rc = dyt_errf(e, DYT_USAGE, "no section matches '%s'",
                      f->model_filter ? f->model_filter : "");
        goto fail;
    }
    for (size_t i = 0; i < f->n_variants; i++)
        if (strcmp(f->variants[i], "all") && named_hits[i] == 0) {
            rc = dyt_errf(e, DYT_USAGE,
                          "variant '%s' has no kernel for the selected norms, passes and dtypes "
                          "(see dytbench list kernels)",
                          f->variants[i]);
            goto fail;
        }
    if (out->n_cases == 0) {
        rc = dyt_errf(e, DYT_USAGE, "the plan is empty: no variant matches the filters");
        goto fail;
    }
    return DYT_OK;
fail:
    plan_free(out);
    return rc;
}

void plan_free(plan *p)
{
    if (!p)
        return;
    free(p->cases);
    p->cases = NULL;
    p->n_cases = 0;
}
