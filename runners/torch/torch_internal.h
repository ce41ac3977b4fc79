/* Internal interface between the files of the torch runner (runners/torch/):
 * the framework variants and the plan's peer cases (variants.c), the peer
 * process and its line protocol (peer.c), the shared-memory file through
 * which inputs go to the peer and its outputs come back (exchange.c), one
 * peer case measured (case.c) and the run (runner.c). The peer itself is
 * dytbench_torch.py; the protocol is docs/peers.md. Not part of the
 * runner's contract (runners/runner.h); the tests of the torch runner
 * include it. */
#pragma once
#include "common.h"
#include "kernels.h"
#include "plan.h"
#include "runner.h"
#include "runners/cpu/cpu_internal.h"

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Version of the protocol (docs/peers.md) this side speaks. */
#define PEER_PROTOCOL 1

/* ---- variants.c --------------------------------------------------------- */

typedef enum { PEER_TORCH_EAGER = 0, PEER_TORCH_COMPILE, PEER_LIGER, PEER_N_VARIANTS } peer_variant;
/* The framework variant of a variant name; -1 when it is not one. */
int peer_variant_of(const char *name);
/* The framework variant of one of the peer's cases. */
peer_variant peer_case_variant(const plan_case *c);

/* ---- peer.c: the process ------------------------------------------------ */

typedef struct {
    pid_t pid;    /* 0: not running */
    int to, from; /* its stdin and stdout */
    int err;      /* its stderr, kept in a memory file for messages */
    int xfd;      /* the exchange file (exchange.c), its fd 3 */
    char *buf;    /* bytes read from it, not yet a whole line */
    size_t len, cap;
    int dead;                  /* it exited or broke the protocol: no more requests */
    char gone[900];            /* why, for every later request */
    struct sigaction old_pipe; /* SIGPIPE is ignored while the peer runs */
    int pipe_saved;
} peer_proc;

/* Starts argv[0] (argv NULL-terminated) with env (NULL-terminated
 * "NAME=value" entries) as the peer, stdin and stdout piped, stderr kept,
 * the exchange file as fd 3. A program that cannot be started is a
 * DYT_USAGE error naming it. */
int peer_start(peer_proc *pp, char *const argv[], char *const env[], dyt_err *e);
/* Sends msg (one JSON line; decref'd) and reads the one-line reply into
 * *reply (the caller decrefs). The reply must be an object with a boolean
 * "ok"; {"ok": false} is returned as DYT_OK, for the caller to read. A dead
 * peer, a broken line or a signal (runner_stop_flag) is DYT_FAIL with why;
 * the peer is then dead to later requests. */
int peer_request(peer_proc *pp, json_t *msg, json_t **reply, dyt_err *e);
/* Only reads one line (the hello the peer writes first). */
int peer_read(peer_proc *pp, json_t **reply, dyt_err *e);
/* Asks the peer to quit, waits a moment, then kills it; frees pp. */
void peer_stop(peer_proc *pp);
/* The last line the peer wrote to stderr (its message when it failed), or
 * "" (into buf). */
void peer_stderr_tail(const peer_proc *pp, char *buf, size_t n);

/* ---- exchange.c: the shared inputs and outputs -------------------------- */

/* Where each array of one case lies in the exchange file: byte offset and
 * element count (count 0: absent). Inputs are the whole case; outputs and
 * the echo of the inputs the peer holds are its first rows_checked rows,
 * the rows the C verifier checks. */
typedef struct {
    size_t off, count;
} peer_span;
typedef struct {
    peer_span x, gamma, beta, dy;           /* inputs: x, dy in dtype; gamma, beta fp32 */
    peer_span y, dx, dgamma, dbeta, dalpha; /* the peer's outputs (y, dx in dtype) */
    peer_span x_echo, dy_echo;              /* its copy of its inputs, in dtype */
    size_t rows_checked;
    size_t outputs_off; /* where the outputs and echoes begin */
    size_t bytes;       /* the file's size */
} peer_layout;

void peer_layout_of(const plan_case *c, peer_layout *l);
/* The layout's spans as the protocol writes them: "x": [offset, count]. */
void peer_layout_json(const peer_layout *l, json_t *cmd, int outputs);
/* Sizes the file for l and writes the case's inputs into it, from the seed
 * by runner_case_inputs: the same values the CPU runner times. */
int peer_exchange_inputs(int fd, const plan_case *c, uint64_t seed, const peer_layout *l,
                         dyt_err *e);
/* Checks what the peer wrote back: its copy of the inputs equals them bit
 * for bit, then its outputs against ref on those inputs with the C
 * verifier's tolerances (kern_check_given), parameters as the peer holds
 * them (bf16 cases: rounded to bf16). DYT_OK with what the check measured
 * recorded in res (runner_result_accuracy), DYT_FAIL with why. */
int peer_exchange_check(int fd, const plan_case *c, const peer_layout *l, kern_pool *pool,
                        runner_case_result *res, dyt_err *e);

/* ---- case.c: one peer case ---------------------------------------------- */

/* What the run knows of its peer, shared by its cases. */
typedef struct {
    peer_proc proc;
    int available[PEER_N_VARIANTS];
    char why[PEER_N_VARIANTS][256]; /* why not, where not available */
    uint64_t target_ns;             /* shortest sample, from the peer's timer */
} peer_run;

/* As cpu_case_begin: the inputs to the peer (setup), its outputs checked
 * (verify); the case stays set up in the peer for its first block. */
void peer_case_begin(peer_run *pr, const cpu_case_env *env, cpu_case_state *cs);
/* As cpu_case_block: set up again if needed, warm-up, samples, on the last
 * block the counted batch; then the peer lets the case go. */
void peer_case_block(peer_run *pr, const cpu_case_env *env, cpu_case_state *cs, int block,
                     int blocks);
