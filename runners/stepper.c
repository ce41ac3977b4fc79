/* Stepping: the runner's side of it (wait before a step, report it done;
 * a coordinator that is gone stops the run) and the stepper of
 * `run --lockstep IN,OUT`, the arm's end of `dytbench interleave`
 * (cli/cmd_interleave.c). Before each step the arm reads one byte from IN
 * ('g', go); after it, it writes one byte ('s') to OUT. Between steps the
 * process sleeps in read(), so the arms of one session never measure at
 * the same time, and block r of a case in every arm lies within a few
 * blocks' time of the others: the pairs the gate compares (gate/compare.c,
 * paired mode). End of file on IN means the coordinator is gone. */
#include "runner_internal.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

int runner_step_wait(runner_stepper *st)
{
    if (!st || st->wait(st) == 0)
        return 0;
    if (!runner_stop_flag)
        runner_stop_flag = SIGTERM;
    return -1;
}

void runner_step_done(runner_stepper *st)
{
    if (st)
        st->done(st);
}

static int lockstep_wait(runner_stepper *self)
{
    const runner_lockstep *l = (const runner_lockstep *)self;
    char c;
    ssize_t r;
    do
        r = read(l->in, &c, 1);
    while (r < 0 && errno == EINTR && !runner_stop_flag);
    return r == 1 && c == 'g' ? 0 : -1;
}

static void lockstep_done(runner_stepper *self)
{
    const runner_lockstep *l = (const runner_lockstep *)self;
    const char c = 's';
    ssize_t r;
    do
        r = write(l->out, &c, 1);
    while (r < 0 && errno == EINTR);
    /* A failed write means the coordinator is gone; the next wait sees it. */
}

void runner_lockstep_init(runner_lockstep *l, int in, int out)
{
    l->stepper = (runner_stepper){.wait = lockstep_wait, .done = lockstep_done};
    l->in = in;
    l->out = out;
}
