/* The arm's side of `dytbench interleave` (cli/cmd_interleave.c): with
 * --lockstep IN,OUT the runner takes one step at a time when the
 * coordinator says so. A step is the run's set-up (machine probe, pools,
 * bandwidth ceiling), one block of one case, or the final storing. Before
 * each it reads one byte from IN ('g', go); after it, it writes one byte
 * ('s') to OUT. Between steps the process sleeps in read(), so the arms of
 * one session never measure at the same time, and block r of a case in
 * every arm lies within a few blocks' time of the others: the pairs the
 * gate compares (gate/compare.c, paired mode). End of file on IN means the
 * coordinator is gone: the run stops as if interrupted. */
#include "cpu_internal.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

int runner_lockstep_wait(const runner_opts *o)
{
    if (o->lockstep_in < 0)
        return 0;
    char c;
    ssize_t r;
    do
        r = read(o->lockstep_in, &c, 1);
    while (r < 0 && errno == EINTR && !runner_stop_flag);
    if (r == 1 && c == 'g')
        return 0;
    if (!runner_stop_flag)
        runner_stop_flag = SIGTERM;
    return -1;
}

void runner_lockstep_done(const runner_opts *o)
{
    if (o->lockstep_out < 0)
        return;
    const char c = 's';
    ssize_t r;
    do
        r = write(o->lockstep_out, &c, 1);
    while (r < 0 && errno == EINTR);
    /* A failed write means the coordinator is gone; the next wait sees it. */
}
