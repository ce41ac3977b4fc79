/* The torch runner's C side without any peer: the peer's cases in a plan
 * (after the kernels' cases of each shape, norm, dtype and pass; one per
 * framework variant and thread count; liger for DyT only; named variants
 * checked; their kern_entry refuses every call), and the exchange file:
 * the inputs written there are the CPU runner's set 0 bit for bit, and
 * what comes back is checked -- outputs computed by ref pass, a wrong
 * value, an unwritten output or a copy of the inputs that differs fail,
 * and bf16 cases are checked against parameters rounded as a bf16 module
 * holds them. */
#include "peer_test.h"

#include <math.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bf16.h"
#include "check.h"
#include "runners/torch/torch_internal.h"

static int is_peer_name(const char *v)
{
    return !strcmp(v, "torch-eager") || !strcmp(v, "torch-compile") || !strcmp(v, "liger");
}

static void test_peer_cases_in_the_plan(void **state)
{
    (void)state;
    suite su;
    plan p, q;
    plan_suite(tiny_suite, 0, &su, &p);
    assert_int_equal(p.n_cases, 12); /* 3 shapes x 2 norms x 2 passes */
    runner_peer_opts po = {.name = "torch"};
    dyt_err e = {{0}};
    assert_int_equal(runner_peer_plan(&p, &po, &q, &e), DYT_OK);
    /* Every group gets torch-eager and torch-compile; the 6 DyT groups
     * liger too. */
    assert_int_equal(q.n_cases, 12 + 12 * 2 + 6);
    for (size_t i = 0; i < q.n_cases; i++) /* one seq each: the run stores them by it */
        assert_int_equal(q.cases[i].seq, (int)i);
    for (size_t i = 0, g = 0; i < q.n_cases; g++) {
        const plan_case *k = &q.cases[i];
        assert_false(runner_peer_case(k));
        assert_true(k->model == p.cases[g].model && k->rows == p.cases[g].rows &&
                    k->norm == p.cases[g].norm && k->pass == p.cases[g].pass);
        const char *want[] = {"torch-eager", "torch-compile", "liger"};
        size_t n = k->norm == NORM_DYT ? 3 : 2;
        for (size_t j = 0; j < n; j++) {
            const plan_case *c = &q.cases[i + 1 + j];
            assert_true(runner_peer_case(c));
            assert_string_equal(c->variant->name, want[j]);
            assert_true(c->model == k->model && c->rows == k->rows && c->norm == k->norm &&
                        c->pass == k->pass && c->dtype == k->dtype && c->threads == k->threads);
            assert_true(c->variant->norm == c->norm && c->variant->pass == c->pass &&
                        c->variant->dtype == c->dtype);
            /* Nothing in this process can run a framework variant. */
            norm_args a;
            runner_case_args(c, &a);
            kern_exec ex = {0};
            assert_int_not_equal(kern_call(c->variant, &a, &ex), 0);
        }
        i += 1 + n;
    }
    plan_free(&q);

    /* Named: only those, each with a case; unknown ones refused. */
    po.variants[0] = "torch-eager";
    po.n_variants = 1;
    assert_int_equal(runner_peer_plan(&p, &po, &q, &e), DYT_OK);
    assert_int_equal(q.n_cases, 24);
    plan_free(&q);
    po.variants[0] = "torch-jit";
    assert_int_equal(runner_peer_plan(&p, &po, &q, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "unknown framework variant 'torch-jit'"));
    plan_free(&p);
    suite_free(&su);

    /* liger has DyT only: a plan without DyT has no case for it. */
    parse_tiny(&su);
    plan_filter f = {.norms = {NORM_LAYERNORM}, .n_norms = 1, .threads = {1, 2}, .n_threads = 2};
    assert_int_equal(plan_build(&su, 1, &f, &p, &e), DYT_OK);
    po.variants[0] = "liger";
    assert_int_equal(runner_peer_plan(&p, &po, &q, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "'liger' has no case"));
    /* Each thread count of a group gets its own peer case. */
    po.variants[0] = "torch-eager";
    assert_int_equal(runner_peer_plan(&p, &po, &q, &e), DYT_OK);
    assert_int_equal(q.n_cases, 2 * p.n_cases);
    size_t one = 0, two = 0;
    for (size_t i = 0; i < q.n_cases; i++)
        if (is_peer_name(q.cases[i].variant->name)) {
            one += q.cases[i].threads == 1;
            two += q.cases[i].threads == 2;
        }
    assert_int_equal(one, p.n_cases / 2);
    assert_int_equal(two, p.n_cases / 2);
    plan_free(&q);
    plan_free(&p);
    suite_free(&su);
}

/* A case of the tiny suite at norm/pass/dtype, planned alone. */
static void plan_one(norm_kind n, pass_kind ps, dtype_kind d, suite *su, plan *p)
{
    parse_tiny(su);
    dyt_err e = {{0}};
    plan_filter f = {.norms = {n},
                     .n_norms = 1,
                     .passes = {ps},
                     .n_passes = 1,
                     .dtypes = {d},
                     .n_dtypes = 1,
                     .threads = {1},
                     .n_threads = 1,
                     .model_filter = "tiny-ln"};
    assert_int_equal(plan_build(su, 1, &f, p, &e), DYT_OK);
}

static void test_exchange_inputs_are_the_kernels(void **state)
{
    (void)state;
    for (int ps = 0; ps < PASS_COUNT; ps++) {
        suite su;
        plan p;
        plan_one(NORM_RMSNORM, (pass_kind)ps, DTYPE_BF16, &su, &p);
        const plan_case *c = &p.cases[0];
        int fd = memfd_create("test-exchange", 0);
        assert_true(fd >= 0);
        peer_layout l;
        peer_layout_of(c, &l);
        dyt_err e = {{0}};
        assert_int_equal(peer_exchange_inputs(fd, c, 42, &l, &e), DYT_OK);
        case_buffers b;
        assert_int_equal(case_buffers_create(c, 42, 0, (uint64_t)1 << 30, DYT_PAGES_HUGE, &b, &e), DYT_OK);
        const char *m = mmap(NULL, l.bytes, PROT_READ, MAP_SHARED, fd, 0);
        assert_true(m != MAP_FAILED);
        size_t act = c->rows * c->cols * dtype_size(c->dtype), vec = c->cols * sizeof(float);
        assert_int_equal(memcmp(m + l.x.off, b.sets[0].x, act), 0);
        assert_int_equal(memcmp(m + l.gamma.off, b.sets[0].gamma, vec), 0);
        assert_int_equal(memcmp(m + l.beta.off, b.sets[0].beta, vec), 0);
        if (ps == PASS_BWD)
            assert_int_equal(memcmp(m + l.dy.off, b.sets[0].dy, act), 0);
        else
            assert_int_equal(l.dy.count, 0);
        /* The outputs start as NaN bit patterns. */
        assert_true((unsigned char)m[l.outputs_off] == 0xff);
        munmap((void *)m, l.bytes);
        case_buffers_free(&b);
        close(fd);
        plan_free(&p);
        suite_free(&su);
    }
}

/* Writes what a correct peer writes back: ref's outputs on the first
 * rows_checked rows (parameters rounded to bf16 for a bf16 case) and a
 * copy of the inputs. */
static void write_ref_outputs(int fd, const plan_case *c, const peer_layout *l)
{
    char *m = mmap(NULL, l->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    size_t R = l->rows_checked, C = c->cols, es = dtype_size(c->dtype);
    memcpy(m + l->x_echo.off, m + l->x.off, R * C * es);
    if (l->dy.count)
        memcpy(m + l->dy_echo.off, m + l->dy.off, R * C * es);
    float *gamma = malloc(2 * C * sizeof *gamma), *beta = gamma + C;
    float *mean = malloc(R * sizeof *mean), *rstd = malloc(R * sizeof *rstd);
    void *y = malloc(R * C * es);
    assert_true(gamma && mean && rstd && y);
    norm_args a;
    runner_case_args(c, &a);
    for (size_t j = 0; j < C; j++) {
        gamma[j] = ((float *)(m + l->gamma.off))[j];
        beta[j] = ((float *)(m + l->beta.off))[j];
        if (c->dtype == DTYPE_BF16) {
            gamma[j] = bf16_to_f32(f32_to_bf16(gamma[j]));
            beta[j] = bf16_to_f32(f32_to_bf16(beta[j]));
        }
    }
    if (c->dtype == DTYPE_BF16)
        a.alpha = bf16_to_f32(f32_to_bf16(a.alpha));
    a.rows = R;
    a.x = m + l->x.off;
    a.gamma = gamma;
    a.beta = beta;
    a.mean = mean;
    a.rstd = rstd;
    a.y = c->pass == PASS_FWD ? m + l->y.off : y;
    kern_exec ex = {0};
    assert_int_equal(kern_find(c->norm, PASS_FWD, c->dtype, "ref")->fn(&a, &ex), 0);
    if (c->pass == PASS_BWD) {
        a.dy = m + l->dy.off;
        a.dx = m + l->dx.off;
        a.dgamma = (float *)(m + l->dgamma.off);
        a.dbeta = (float *)(m + l->dbeta.off);
        a.dalpha = (float *)(m + l->dalpha.off);
        assert_int_equal(kern_find(c->norm, PASS_BWD, c->dtype, "ref")->fn(&a, &ex), 0);
    }
    free(gamma);
    free(mean);
    free(rstd);
    free(y);
    munmap(m, l->bytes);
}

/* Flips the sign of element i of span sp (dtype elem bytes). */
static void flip(int fd, const peer_layout *l, peer_span sp, size_t i, size_t elem)
{
    char *m = mmap(NULL, l->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    m[sp.off + i * elem + elem - 1] ^= (char)0x80;
    munmap(m, l->bytes);
}

static void test_exchange_check(void **state)
{
    (void)state;
    static const struct {
        norm_kind n;
        pass_kind p;
        dtype_kind d;
    } cases[] = {
        {NORM_LAYERNORM, PASS_FWD, DTYPE_F32},  {NORM_DYT, PASS_FWD, DTYPE_BF16},
        {NORM_RMSNORM, PASS_BWD, DTYPE_F32},    {NORM_DYT, PASS_BWD, DTYPE_F32},
        {NORM_LAYERNORM, PASS_BWD, DTYPE_BF16},
    };
    for (size_t k = 0; k < DYT_ARRAY_LEN(cases); k++) {
        suite su;
        plan p;
        plan_one(cases[k].n, cases[k].p, cases[k].d, &su, &p);
        const plan_case *c = &p.cases[0];
        int fd = memfd_create("test-exchange", 0);
        peer_layout l;
        peer_layout_of(c, &l);
        dyt_err e = {{0}};
        runner_case_result res;
        memset(&res, 0, sizeof res);
        res.row.max_err = -1;
        assert_int_equal(peer_exchange_inputs(fd, c, 3, &l, &e), DYT_OK);
        /* Nothing written back: NaN outputs (and no copy) cannot pass. */
        assert_int_equal(peer_exchange_check(fd, c, &l, NULL, &res, &e), DYT_FAIL);
        write_ref_outputs(fd, c, &l);
        if (peer_exchange_check(fd, c, &l, NULL, &res, &e) != DYT_OK)
            fail_msg("case %zu: %s", k, e.msg);
        /* ref's own outputs: the error of fp32 rounding, and where it was */
        assert_true(res.row.max_err >= 0 && res.row.max_err < 1e-6);
        assert_true(res.row.max_ulps >= 0 && res.row.max_ulps <= 1 && res.row.err_tol > 0);
        assert_true(res.err_output[0] != 0);
        /* One wrong output value. */
        peer_span out = c->pass == PASS_FWD ? l.y : l.dx;
        size_t es = dtype_size(c->dtype);
        flip(fd, &l, out, 5, es);
        assert_int_equal(peer_exchange_check(fd, c, &l, NULL, &res, &e), DYT_FAIL);
        assert_non_null(strstr(e.msg, c->pass == PASS_FWD ? "wrong result vs ref: y[5]"
                                                          : "wrong result vs ref: dx[5]"));
        flip(fd, &l, out, 5, es);
        /* The peer's copy of its inputs differs from what was written. */
        flip(fd, &l, l.x_echo, 7, es);
        assert_int_equal(peer_exchange_check(fd, c, &l, NULL, &res, &e), DYT_FAIL);
        assert_non_null(strstr(e.msg, "inputs are not dytbench's: x[7] differs"));
        flip(fd, &l, l.x_echo, 7, es);
        if (c->pass == PASS_BWD) {
            flip(fd, &l, l.dgamma, 3, sizeof(float));
            assert_int_equal(peer_exchange_check(fd, c, &l, NULL, &res, &e), DYT_FAIL);
            assert_non_null(strstr(e.msg, "dgamma[3]"));
        }
        close(fd);
        plan_free(&p);
        suite_free(&su);
    }
}

/* kern_check_given refuses outputs that are not all given, rather than
 * pass a check it could not make. */
static void test_check_given_needs_every_output(void **state)
{
    (void)state;
    enum { R = 4, C = 8 };
    float x[R * C], dy[R * C], gamma[C], beta[C], out[R * C], dg[C], da[1];
    for (size_t i = 0; i < R * C; i++)
        x[i] = dy[i] = out[i] = (float)i / 7.0f;
    for (size_t j = 0; j < C; j++)
        gamma[j] = beta[j] = dg[j] = 1;
    kern_check_inputs in = {.norm = NORM_DYT,
                            .pass = PASS_BWD,
                            .dtype = DTYPE_F32,
                            .rows = R,
                            .cols = C,
                            .alpha = 0.5f,
                            .has_beta = 1,
                            .affine = 1,
                            .x = x,
                            .dy = dy,
                            .gamma = gamma,
                            .beta = beta};
    norm_args given = {.dx = out, .dgamma = dg, .dalpha = da}; /* no dbeta */
    kern_check_result r;
    dyt_err e = {{0}};
    assert_int_equal(kern_check_given(&in, &given, NULL, &r, &e), DYT_USAGE);
    assert_non_null(strstr(e.msg, "an output of dyt bwd is not given"));
    in.pass = PASS_FWD;
    given = (norm_args){0};
    assert_int_equal(kern_check_given(&in, &given, NULL, &r, &e), DYT_USAGE);
    /* Forward: y alone is a full answer (mean and rstd are not compared). */
    in.norm = NORM_LAYERNORM;
    given.y = out;
    assert_int_equal(kern_check_given(&in, &given, NULL, &r, &e), DYT_OK);
    assert_false(r.pass); /* out is not a LayerNorm of x */
    assert_int_equal(r.n_outputs, 1);
    assert_string_equal(r.outputs[0].name, "y");
}

DYT_TEST_MAIN_IN_TMPDIR("peer-plan", NULL, NULL, cmocka_unit_test(test_peer_cases_in_the_plan),
                        cmocka_unit_test(test_check_given_needs_every_output),
                        cmocka_unit_test(test_exchange_inputs_are_the_kernels),
                        cmocka_unit_test(test_exchange_check))
