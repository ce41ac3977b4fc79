/* The exchange file between dytbench and the peer: a memory file
 * (memfd) that both map. dytbench writes a case's inputs into it from the
 * run's seed with the generator the CPU runner uses (runner_case_inputs),
 * so the peer times bit for bit the values the kernels are timed on,
 * without a generator of its own to keep in step. The peer copies them
 * into tensors of its own and writes back, for the rows the C verifier
 * checks, its outputs and its copy of the inputs; dytbench checks the copy
 * against what it wrote and the outputs against ref, with the verifier's
 * tolerances (runners/cpu/verify.c). The output areas are filled with NaN
 * bit patterns first, so an output the peer did not write cannot pass. */
#include "bf16.h"
#include "check.h"
#include "torch_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void add_span(peer_layout *l, peer_span *sp, size_t count, size_t elem)
{
    sp->off = l->bytes;
    sp->count = count;
    l->bytes = (l->bytes + count * elem + 63) & ~(size_t)63;
}

void peer_layout_of(const plan_case *c, peer_layout *l)
{
    memset(l, 0, sizeof *l);
    size_t es = dtype_size(c->dtype), C = c->cols, n = c->rows * C;
    size_t vr = kern_check_sample_rows(c->rows, C, CASE_VERIFY_MAX_ELEMS), vn = vr * C;
    l->rows_checked = vr;
    add_span(l, &l->x, n, es);
    add_span(l, &l->gamma, C, sizeof(float));
    add_span(l, &l->beta, C, sizeof(float));
    if (c->pass == PASS_BWD)
        add_span(l, &l->dy, n, es);
    size_t outputs = l->bytes;
    if (c->pass == PASS_FWD) {
        add_span(l, &l->y, vn, es);
    } else {
        add_span(l, &l->dx, vn, es);
        add_span(l, &l->dgamma, C, sizeof(float));
        add_span(l, &l->dbeta, C, sizeof(float));
        add_span(l, &l->dalpha, 1, sizeof(float));
    }
    add_span(l, &l->x_echo, vn, es);
    if (c->pass == PASS_BWD)
        add_span(l, &l->dy_echo, vn, es);
    l->outputs_off = outputs;
}

static void put_span(json_t *cmd, const char *key, peer_span sp)
{
    if (sp.count)
        json_object_set_new(cmd, key, json_pack("[II]", (json_int_t)sp.off, (json_int_t)sp.count));
}

void peer_layout_json(const peer_layout *l, json_t *cmd, int outputs)
{
    if (!outputs) {
        put_span(cmd, "x", l->x);
        put_span(cmd, "gamma", l->gamma);
        put_span(cmd, "beta", l->beta);
        put_span(cmd, "dy", l->dy);
        return;
    }
    json_object_set_new(cmd, "rows", json_integer((json_int_t)l->rows_checked));
    put_span(cmd, "y", l->y);
    put_span(cmd, "dx", l->dx);
    put_span(cmd, "dgamma", l->dgamma);
    put_span(cmd, "dbeta", l->dbeta);
    put_span(cmd, "dalpha", l->dalpha);
    put_span(cmd, "x_echo", l->x_echo);
    put_span(cmd, "dy_echo", l->dy_echo);
}

static char *map(int fd, size_t bytes, int prot, dyt_err *e)
{
    void *p = mmap(NULL, bytes, prot, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        dyt_errf(e, DYT_FAIL, "cannot map the peer's exchange file (%zu bytes): %s", bytes,
                 strerror(errno));
        return NULL;
    }
    return p;
}

int peer_exchange_inputs(int fd, const plan_case *c, uint64_t seed, const peer_layout *l,
                         dyt_err *e)
{
    /* Truncating first gives the file fresh (zero) pages. */
    if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)l->bytes) != 0)
        return dyt_errf(e, DYT_FAIL, "cannot size the peer's exchange file to %zu bytes: %s",
                        l->bytes, strerror(errno));
    char *m = map(fd, l->bytes, PROT_READ | PROT_WRITE, e);
    if (!m)
        return DYT_FAIL;
    int rc = runner_case_inputs(c, seed, m + l->x.off, (float *)(m + l->gamma.off),
                                (float *)(m + l->beta.off), l->dy.count ? m + l->dy.off : NULL, e);
    memset(m + l->outputs_off, 0xff, l->bytes - l->outputs_off);
    munmap(m, l->bytes);
    return rc;
}

/* The first element where the peer's copy of an input differs, or -1. */
static long first_difference(const char *a, const char *b, size_t count, size_t elem)
{
    if (!memcmp(a, b, count * elem))
        return -1;
    for (size_t i = 0; i < count; i++)
        if (memcmp(a + i * elem, b + i * elem, elem))
            return (long)i;
    return -1;
}

static int check_echo(const char *m, const plan_case *c, const char *name, peer_span in,
                      peer_span echo, dyt_err *e)
{
    size_t es = dtype_size(c->dtype);
    long i = first_difference(m + in.off, m + echo.off, echo.count, es);
    if (i < 0)
        return DYT_OK;
    return dyt_errf(e, DYT_FAIL,
                    "the torch peer's inputs are not dytbench's: %s[%ld] differs (of the %zu "
                    "elements compared)",
                    name, i, echo.count);
}

/* What a bf16 module holds of an fp32 parameter. */
static float bf16_round(float v)
{
    return bf16_to_f32(f32_to_bf16(v));
}

int peer_exchange_check(int fd, const plan_case *c, const peer_layout *l, kern_pool *pool,
                        runner_case_result *res, dyt_err *e)
{
    char *m = map(fd, l->bytes, PROT_READ, e);
    if (!m)
        return DYT_FAIL;
    int rc = check_echo(m, c, "x", l->x, l->x_echo, e);
    if (rc == DYT_OK && l->dy.count)
        rc = check_echo(m, c, "dy", l->dy, l->dy_echo, e);
    float *params = NULL;
    if (rc == DYT_OK) {
        norm_args a;
        runner_case_args(c, &a);
        a.x = m + l->x.off;
        a.dy = l->dy.count ? m + l->dy.off : NULL;
        a.gamma = (const float *)(m + l->gamma.off);
        a.beta = (const float *)(m + l->beta.off);
        if (c->dtype != DTYPE_F32) {
            /* The peer's module holds its parameters in the case's dtype
             * (module.to(torch.bfloat16)): ref is given the same values. */
            params = malloc(2 * c->cols * sizeof *params);
            if (!params) {
                munmap(m, l->bytes);
                return dyt_errf(e, DYT_FAIL, "out of memory checking the peer's outputs");
            }
            for (size_t j = 0; j < c->cols; j++) {
                params[j] = bf16_round(a.gamma[j]);
                params[c->cols + j] = bf16_round(a.beta[j]);
            }
            a.gamma = params;
            a.beta = params + c->cols;
            a.alpha = bf16_round(a.alpha);
        }
        kern_check_inputs in;
        case_verify_inputs(c, &a, &in);
        norm_args given = {
            .y = l->y.count ? m + l->y.off : NULL,
            .dx = l->dx.count ? m + l->dx.off : NULL,
            .dgamma = l->dgamma.count ? (float *)(m + l->dgamma.off) : NULL,
            .dbeta = l->dbeta.count ? (float *)(m + l->dbeta.off) : NULL,
            .dalpha = l->dalpha.count ? (float *)(m + l->dalpha.off) : NULL,
        };
        kern_check_result r;
        dyt_err ce = {{0}};
        if (kern_check_given(&in, &given, pool, &r, &ce) != DYT_OK)
            rc = dyt_errf(e, DYT_FAIL, "verification could not run: %s", ce.msg);
        else
            rc = case_verify_verdict(c, &in, &r, res, e);
    }
    free(params);
    munmap(m, l->bytes);
    return rc;
}
