/* The peer process: started with its stdin and stdout on pipes, its stderr
 * in a memory file (read back only to quote the peer's last words when it
 * fails) and the exchange file as fd 3; then one JSON line each way per
 * request (docs/peers.md). Waiting for a reply polls so that SIGINT or
 * SIGTERM (runner_stop_flag) ends the wait at once; the peer ignores
 * SIGINT itself and is stopped by dytbench. A peer that dies or writes
 * something that is not a reply is dead from then on: every later request
 * fails at once with the same reason, so its remaining cases are stored
 * failed with it. The peer asks for PR_SET_PDEATHSIG, so it never
 * outlives dytbench. */
#include "torch_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* A reply line longer than this is not one. */
#define PEER_MAX_LINE ((size_t)1 << 20)

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int peer_start(peer_proc *pp, char *const argv[], char *const env[], dyt_err *e)
{
    memset(pp, 0, sizeof *pp);
    pp->to = pp->from = pp->err = pp->xfd = -1;
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    pp->err = memfd_create("dytbench-peer-stderr", MFD_CLOEXEC);
    pp->xfd = memfd_create("dytbench-peer-exchange", MFD_CLOEXEC);
    if (pp->err < 0 || pp->xfd < 0 || pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        int err = errno;
        close_fd(&in[0]);
        close_fd(&in[1]);
        close_fd(&out[0]);
        close_fd(&out[1]);
        close_fd(&pp->err);
        close_fd(&pp->xfd);
        return dyt_errf(e, dyt_errno_code(err), "cannot set up the peer's pipes: %s", strerror(err));
    }
    /* A write to a peer that just died must be an error, not SIGPIPE
     * (restored by peer_stop). */
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigemptyset(&ign.sa_mask);
    pp->pipe_saved = sigaction(SIGPIPE, &ign, &pp->old_pipe) == 0;
    pid_t parent = getpid();
    /* Only async-signal-safe calls between fork and exec: the pools'
     * threads exist. */
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(pp->err, 2) < 0 ||
            dup2(pp->xfd, 3) < 0)
            _exit(127);
        /* Nothing else of dytbench's (the store, lockstep pipes) goes along. */
        close_range(4, ~0u, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        execve(argv[0], argv, env);
        _exit(126);
    }
    int err = errno;
    close(in[0]);
    close(out[1]);
    pp->to = in[1];
    pp->from = out[0];
    if (pid < 0) {
        close_fd(&pp->to);
        close_fd(&pp->from);
        close_fd(&pp->err);
        close_fd(&pp->xfd);
        return dyt_errf(e, dyt_errno_code(err), "cannot start %s: fork: %s", argv[0], strerror(err));
    }
    pp->pid = pid;
    return DYT_OK;
}

void peer_stderr_tail(const peer_proc *pp, char *buf, size_t n)
{
    buf[0] = 0;
    if (pp->err < 0 || n == 0)
        return;
    off_t size = lseek(pp->err, 0, SEEK_END);
    if (size <= 0)
        return;
    char tail[2048];
    off_t from = size > (off_t)sizeof tail - 1 ? size - (off_t)sizeof tail + 1 : 0;
    ssize_t got = pread(pp->err, tail, (size_t)(size - from), from);
    if (got <= 0)
        return;
    tail[got] = 0;
    /* The last non-empty line: Python's final traceback line, or the
     * peer's own message. */
    char *end = tail + got;
    while (end > tail && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        *--end = 0;
    char *line = strrchr(tail, '\n');
    snprintf(buf, n, "%s", line ? line + 1 : tail);
}

/* Waits up to ticks x 10 ms for pid to exit; 1 (reaped, *st set) or 0. */
static int wait_exit(pid_t pid, int ticks, int *st)
{
    for (int i = 0; i <= ticks; i++) {
        pid_t w = waitpid(pid, st, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            return w == pid;
        if (i < ticks)
            usleep(10000);
    }
    return 0;
}

/* The peer is dead to later requests: why, with its exit status and last
 * words when it has exited. */
static int mark_dead(peer_proc *pp, dyt_err *e, const char *what)
{
    char status[64] = "";
    int st;
    /* It closed its stdout: give it a moment to finish exiting. */
    if (pp->pid > 0 && wait_exit(pp->pid, 50, &st)) {
        if (WIFEXITED(st))
            snprintf(status, sizeof status, " (exit status %d)", WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
            snprintf(status, sizeof status, " (killed by signal %d)", WTERMSIG(st));
        pp->pid = 0;
    }
    char tail[600];
    peer_stderr_tail(pp, tail, sizeof tail);
    snprintf(pp->gone, sizeof pp->gone, "%.250s%s%s%.560s", what, status, tail[0] ? ": " : "",
             tail);
    pp->dead = 1;
    return dyt_errf(e, DYT_FAIL, "%s", pp->gone);
}

/* Reads until buf holds a whole line; returns its length (without the
 * newline) or -1 (e set). */
static long read_line(peer_proc *pp, dyt_err *e)
{
    for (;;) {
        char *nl = pp->len ? memchr(pp->buf, '\n', pp->len) : NULL;
        if (nl)
            return nl - pp->buf;
        if (pp->len >= PEER_MAX_LINE) {
            mark_dead(pp, e, "the torch peer wrote a line over 1 MiB: not the protocol");
            return -1;
        }
        if (runner_stop_flag) {
            /* Its reply may still come: no later request may read it. */
            pp->dead = 1;
            snprintf(pp->gone, sizeof pp->gone, "interrupted");
            dyt_errf(e, DYT_FAIL, "interrupted");
            return -1;
        }
        struct pollfd pf = {.fd = pp->from, .events = POLLIN};
        int r = poll(&pf, 1, 200);
        if (r < 0 && errno != EINTR) {
            char what[128];
            snprintf(what, sizeof what, "reading the torch peer: %s", strerror(errno));
            mark_dead(pp, e, what);
            return -1;
        }
        if (r <= 0)
            continue;
        if (pp->cap - pp->len < 4096) {
            size_t nc = pp->cap ? 2 * pp->cap : 8192;
            char *nb = realloc(pp->buf, nc);
            if (!nb) {
                dyt_errf(e, DYT_FAIL, "out of memory reading the torch peer");
                return -1;
            }
            pp->buf = nb;
            pp->cap = nc;
        }
        ssize_t got = read(pp->from, pp->buf + pp->len, pp->cap - pp->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            mark_dead(pp, e, "the torch peer exited");
            return -1;
        }
        pp->len += (size_t)got;
    }
}

int peer_read(peer_proc *pp, json_t **reply, dyt_err *e)
{
    *reply = NULL;
    if (pp->dead)
        return dyt_errf(e, DYT_FAIL, "%s", pp->gone);
    long n = read_line(pp, e);
    if (n < 0)
        return DYT_FAIL;
    json_error_t je;
    json_t *j = json_loadb(pp->buf, (size_t)n, 0, &je);
    memmove(pp->buf, pp->buf + n + 1, pp->len - (size_t)n - 1);
    pp->len -= (size_t)n + 1;
    if (!j || !json_is_object(j) || !json_is_boolean(json_object_get(j, "ok"))) {
        json_decref(j);
        char what[256];
        snprintf(what, sizeof what, "the torch peer's reply is not the protocol's: %s",
                 je.text[0] ? je.text : "no boolean \"ok\"");
        return mark_dead(pp, e, what);
    }
    *reply = j;
    return DYT_OK;
}

int peer_request(peer_proc *pp, json_t *msg, json_t **reply, dyt_err *e)
{
    *reply = NULL;
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!text)
        return dyt_errf(e, DYT_FAIL, "out of memory writing to the torch peer");
    if (pp->dead) {
        free(text);
        return dyt_errf(e, DYT_FAIL, "%s", pp->gone);
    }
    size_t len = strlen(text);
    text[len++] = '\n'; /* json_dumps' NUL becomes the line's end */
    int rc = DYT_OK;
    for (size_t done = 0; done < len && rc == DYT_OK;) {
        ssize_t w = write(pp->to, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            char what[128];
            snprintf(what, sizeof what, "writing to the torch peer: %s", strerror(errno));
            rc = mark_dead(pp, e, what);
        } else
            done += (size_t)w;
    }
    free(text);
    return rc == DYT_OK ? peer_read(pp, reply, e) : rc;
}

void peer_stop(peer_proc *pp)
{
    if (pp->pid > 0) {
        /* End of its stdin is the peer's signal to quit; one busy in a
         * long call gets 3 s. */
        close_fd(&pp->to);
        int st;
        if (!wait_exit(pp->pid, 300, &st)) {
            kill(pp->pid, SIGKILL);
            waitpid(pp->pid, &st, 0);
        }
        pp->pid = 0;
    }
    if (pp->pipe_saved)
        sigaction(SIGPIPE, &pp->old_pipe, NULL);
    pp->pipe_saved = 0;
    close_fd(&pp->to);
    close_fd(&pp->from);
    close_fd(&pp->err);
    close_fd(&pp->xfd);
    free(pp->buf);
    pp->buf = NULL;
    pp->len = pp->cap = 0;
}
