/* Progress of a run: on a terminal, one line rewritten in place (case k/N,
 * model and shape, elapsed, ETA); otherwise (logs, CI) one plain line per
 * case, so a captured log reads like a transcript. Written to stderr so
 * stdout stays the run's result (id and summary). */
#include "cpu_internal.h"
#include "suite.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

static void fmt_dur(char *buf, size_t n, double s)
{
    unsigned t = s > 0 ? (unsigned)(s + 0.5) : 0;
    if (t >= 3600)
        snprintf(buf, n, "%u:%02u:%02u", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%u:%02u", t / 60, t % 60);
}

void progress_init(progress *p, size_t total, int quiet, int want_tty)
{
    memset(p, 0, sizeof *p);
    p->total = total;
    p->quiet = quiet;
    p->tty = want_tty && isatty(STDERR_FILENO);
    p->t0 = dyt_now_ns();
}

static void clear_line(progress *p)
{
    if (p->tty && p->last_len) {
        fputs("\r\033[K", stderr);
        p->last_len = 0;
    }
}

void progress_case(progress *p, size_t k, const plan_case *c)
{
    if (p->quiet)
        return;
    double el = (double)(dyt_now_ns() - p->t0) / 1e9;
    char els[32], eta[32] = "?";
    fmt_dur(els, sizeof els, el);
    /* ETA from the mean time of the cases done so far: cases differ in
     * size, so it is rough until a good share of the plan has run. */
    if (k > 1)
        fmt_dur(eta, sizeof eta, el / (double)(k - 1) * (double)(p->total - k + 1));
    char line[512];
    int len =
        snprintf(line, sizeof line, "[%zu/%zu] %s %zux%zu %s %s %s %s, %d thr  elapsed %s  ETA %s",
                 k, p->total, c->model->name, c->rows, c->cols, norm_name(c->norm),
                 pass_name(c->pass), dtype_name(c->dtype), c->variant->name, c->threads, els, eta);
    if (len < 0)
        return;
    if (p->tty) {
        fprintf(stderr, "\r%s\033[K", line);
        p->last_len = (size_t)len;
    } else {
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
}

void progress_log(progress *p, const char *fmt, ...)
{
    if (p->quiet)
        return;
    clear_line(p);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

void progress_done(progress *p)
{
    if (p->quiet)
        return;
    clear_line(p);
    fflush(stderr);
}
