/* SIGINT/SIGTERM during a run (CPU and CUDA runner): the first signal sets
 * a flag that the sampling loops poll between samples; the runner abandons
 * the case in progress (it is not stored: a half-measured case would look
 * like a real one), marks the run 'aborted', keeps every stored case (each
 * was committed in its own transaction) and returns; the CLI then exits
 * 128 + signal (130 for Ctrl-C, 143 for SIGTERM), as a shell would report
 * it. SA_RESETHAND
 * makes a second signal act as usual (kill the process at once); a run left
 * 'running' that way is marked aborted by the store the next time the
 * database is opened. */
#include "runner_internal.h"

#include <string.h>

volatile sig_atomic_t runner_stop_flag;
static struct sigaction old_int, old_term;
static int installed;

static void on_signal(int sig)
{
    runner_stop_flag = sig;
}

void runner_signals_install(void)
{
    runner_stop_flag = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    installed = 1;
}

void runner_signals_uninstall(void)
{
    if (!installed)
        return;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    installed = 0;
}

int runner_stop_signal(void)
{
    return (int)runner_stop_flag;
}
