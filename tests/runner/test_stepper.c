/* Stepping, with a fake coordinator in place of `dytbench interleave`: a
 * run with rounds asks for the set-up step, one step per block of each
 * case and the storing step, always in turn (wait, done, wait, ...), and
 * stores nothing before the storing step; a run without rounds stores each
 * case in its own step; a case that fails is stored in the step it failed
 * in; a coordinator that goes away mid-run ends the run 'aborted' as
 * SIGTERM would, with nothing half-measured stored, and one that is gone
 * before the first step leaves no run at all. The lockstep stepper's byte
 * protocol on real pipes: 'g' is go, anything else or end of file is
 * "gone", and each done writes 's'. */
#include "runner_test.h"

#include <signal.h>
#include <unistd.h>

#include "runners/runner_internal.h"

/* 2 shapes x 2 norms (model's + dyt), forward only: 4 cases. */
static const char tiny_suite[] = "[tiny-ln]\n"
                                 "domain = llm\nnorm = layernorm\nhidden = 256\ntokens = 64 a, "
                                 "3 b\nlayers = 1\nsource = \"stepper test\"\n";

#define MAX_WAITS 64

typedef struct {
    runner_stepper stepper; /* first: the runner sees this */
    store *s;
    int fail_at; /* the wait (1-based) at which the coordinator is gone; 0: never */
    int waits, dones;
    int outstanding;           /* a step is under way (waited for, not done yet) */
    int out_of_turn;           /* a wait during a step, or a done without one */
    int64_t stored[MAX_WAITS]; /* cases in the store at each wait */
} fake_coordinator;

static int fake_wait(runner_stepper *self)
{
    fake_coordinator *f = (fake_coordinator *)self;
    f->out_of_turn += f->outstanding;
    if (f->waits < MAX_WAITS)
        f->stored[f->waits] = q_int(store_db(f->s), "SELECT count(*) FROM cases", 0);
    f->waits++;
    if (f->fail_at && f->waits == f->fail_at)
        return -1;
    f->outstanding = 1;
    return 0;
}

static void fake_done(runner_stepper *self)
{
    fake_coordinator *f = (fake_coordinator *)self;
    f->out_of_turn += !f->outstanding;
    f->outstanding = 0;
    f->dones++;
}

typedef struct {
    suite su;
    plan p;
    store *s;
    runner_opts o;
    fake_coordinator f;
    int64_t run_id; /* what run() made */
    dyt_err e;
} fixture;

static void start(fixture *fx, const char *db_name, int rounds, int fail_at)
{
    memset(fx, 0, sizeof *fx);
    plan_suite(tiny_suite, 1, &fx->su, &fx->p);
    assert_int_equal(fx->p.n_cases, 4);
    fx->s = open_new(db_name);
    quick_opts(&fx->o);
    fx->o.rounds = rounds;
    fx->f = (fake_coordinator){
        .stepper = {.wait = fake_wait, .done = fake_done}, .s = fx->s, .fail_at = fail_at};
}

/* Runs the plan with the fake coordinator (fx->run_id, fx->e); returns
 * what the runner did. */
static int run(fixture *fx)
{
    fx->run_id = 7;
    memset(&fx->e, 0, sizeof fx->e);
    return runner_cpu_run(&fx->p, &fx->o, &tiny_id, &fx->f.stepper, fx->s, &fx->run_id, &fx->e);
}

/* The run's status and note, "status: note". */
static void run_status(fixture *fx, int64_t run_id, char *txt, size_t n)
{
    q_text(store_db(fx->s), "SELECT status || ': ' || coalesce(note, '') FROM runs WHERE id = ?1",
           run_id, txt, n);
    note_without_drift(txt);
}

static void finish(fixture *fx)
{
    store_close(fx->s);
    plan_free(&fx->p);
    suite_free(&fx->su);
}

static void test_rounds_take_turns(void **state)
{
    (void)state;
    fixture fx;
    start(&fx, "rounds.db", 3, 0);
    assert_int_equal(run(&fx), DYT_OK);
    /* Set-up, 4 cases x 3 blocks, then the storing step (never done). */
    assert_int_equal(fx.f.waits, 1 + 4 * 3 + 1);
    assert_int_equal(fx.f.dones, 1 + 4 * 3);
    assert_int_equal(fx.f.out_of_turn, 0);
    assert_int_equal(fx.f.outstanding, 1);
    for (int i = 0; i < fx.f.waits; i++)
        assert_int_equal(fx.f.stored[i], 0); /* measuring steps store nothing */
    sqlite3 *d = store_db(fx.s);
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases WHERE status = 'ok'", 0), 4);
    char txt[64];
    run_status(&fx, fx.run_id, txt, sizeof txt);
    assert_string_equal(txt, "complete: ");
    finish(&fx);
}

static void test_one_pass_stores_in_each_step(void **state)
{
    (void)state;
    fixture fx;
    start(&fx, "once.db", 1, 0);
    assert_int_equal(run(&fx), DYT_OK);
    assert_int_equal(fx.f.waits, 1 + 4);
    assert_int_equal(fx.f.dones, 1 + 4);
    assert_int_equal(fx.f.out_of_turn, 0);
    /* Before case k's step, the k - 1 cases before it are stored. */
    for (int k = 1; k <= 4; k++)
        assert_int_equal(fx.f.stored[k], k - 1);
    assert_int_equal(q_int(store_db(fx.s), "SELECT count(*) FROM cases", 0), 4);
    finish(&fx);
}

static int refuse(const norm_args *a, const kern_exec *ex)
{
    (void)a;
    (void)ex;
    return -1;
}

static void test_failed_case_stored_in_its_step(void **state)
{
    (void)state;
    fixture fx;
    start(&fx, "refused.db", 3, 0);
    static kern_entry refusing = {"refusing", NORM_DYT, PASS_FWD, DTYPE_F32,
                                  DEVICE_CPU, 0,        refuse,   "refuses every call (test)"};
    size_t victim = fx.p.n_cases;
    for (size_t i = 0; i < fx.p.n_cases && victim == fx.p.n_cases; i++)
        if (fx.p.cases[i].norm == NORM_DYT && fx.p.cases[i].rows == 3)
            victim = i;
    assert_true(victim < fx.p.n_cases);
    fx.p.cases[victim].variant = &refusing;
    assert_int_equal(run(&fx), DYT_FAIL);
    assert_int_equal(fx.f.out_of_turn, 0);
    /* Stored right after its first block's step, alone, before any other. */
    int first = -1;
    for (int i = 0; i < fx.f.waits && first < 0; i++)
        if (fx.f.stored[i] > 0)
            first = i;
    assert_true(first >= 2 && first <= 5); /* within round 0 */
    assert_int_equal(fx.f.stored[first], 1);
    assert_int_equal(fx.f.stored[fx.f.waits - 1], 1); /* the storing step */
    sqlite3 *d = store_db(fx.s);
    char txt[256];
    q_text(d, "SELECT status || ' ' || seq || ': ' || error FROM cases ORDER BY id LIMIT 1", 0, txt,
           sizeof txt);
    char want[256];
    snprintf(want, sizeof want, "skipped %zu: not verified (variant refused the call (rc=-1))",
             victim);
    assert_string_equal(txt, want);
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases WHERE status = 'ok'", 0), 3);
    assert_int_equal(q_int(d,
                           "SELECT count(*) FROM samples k JOIN cases c ON c.id = k.case_id "
                           "WHERE c.status <> 'ok'",
                           0),
                     0);
    run_status(&fx, fx.run_id, txt, sizeof txt);
    assert_string_equal(txt, "complete: 1 case(s) failed verification or could not run");
    finish(&fx);
}

static void test_coordinator_gone_mid_run(void **state)
{
    (void)state;
    fixture fx;
    start(&fx, "gone.db", 3, 4); /* after set-up and two blocks */
    assert_int_equal(run(&fx), DYT_FAIL);
    assert_int_equal(runner_stop_signal(), SIGTERM);
    assert_int_equal(fx.f.waits, 4);
    assert_int_equal(fx.f.dones, 3);
    sqlite3 *d = store_db(fx.s);
    char txt[128];
    run_status(&fx, fx.run_id, txt, sizeof txt);
    assert_string_equal(txt, "aborted: interrupted by signal 15");
    assert_int_equal(q_int(d, "SELECT count(*) FROM cases", 0), 0);
    finish(&fx);
}

static void test_coordinator_gone_before_start(void **state)
{
    (void)state;
    fixture fx;
    start(&fx, "never.db", 3, 1);
    assert_int_equal(run(&fx), DYT_USAGE);
    assert_non_null(strstr(fx.e.msg, "coordinator is gone"));
    assert_int_equal(fx.run_id, 0);
    assert_int_equal(q_int(store_db(fx.s), "SELECT count(*) FROM runs", 0), 0);
    assert_int_equal(runner_stop_signal(), SIGTERM);
    finish(&fx);
}

static void test_lockstep_pipes(void **state)
{
    (void)state;
    int go[2], ack[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ack), 0);
    runner_lockstep l;
    runner_lockstep_init(&l, go[0], ack[1]);
    runner_stop_flag = 0;
    assert_int_equal(write(go[1], "g", 1), 1);
    assert_int_equal(runner_step_wait(&l.stepper), 0);
    runner_step_done(&l.stepper);
    char c = 0;
    assert_int_equal(read(ack[0], &c, 1), 1);
    assert_int_equal(c, 's');
    assert_int_equal(runner_stop_signal(), 0);
    /* Any byte but 'g' means the coordinator is gone: the run stops. */
    assert_int_equal(write(go[1], "x", 1), 1);
    assert_int_equal(runner_step_wait(&l.stepper), -1);
    assert_int_equal(runner_stop_signal(), SIGTERM);
    /* So does end of file. */
    runner_stop_flag = 0;
    close(go[1]);
    assert_int_equal(runner_step_wait(&l.stepper), -1);
    assert_int_equal(runner_stop_signal(), SIGTERM);
    close(go[0]);
    close(ack[0]);
    close(ack[1]);
    /* Free running: no stepper, no waiting. */
    runner_stop_flag = 0;
    assert_int_equal(runner_step_wait(NULL), 0);
    runner_step_done(NULL);
    assert_int_equal(runner_stop_signal(), 0);
}

DYT_TEST_MAIN_IN_TMPDIR("runner-stepper", NULL, NULL, cmocka_unit_test(test_rounds_take_turns),
                        cmocka_unit_test(test_one_pass_stores_in_each_step),
                        cmocka_unit_test(test_failed_case_stored_in_its_step),
                        cmocka_unit_test(test_coordinator_gone_mid_run),
                        cmocka_unit_test(test_coordinator_gone_before_start),
                        cmocka_unit_test(test_lockstep_pipes))
