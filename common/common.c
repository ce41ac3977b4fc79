/* Shared utilities: errors, clock, allocation, RNG, hashing, parsing and
 * formatting helpers used by every stage. */
#include "common.h"

#include <ctype.h>
#include <sched.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int dyt_verrf(dyt_err *e, int code, const char *fmt, va_list ap)
{
    if (e)
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return code;
}

int dyt_errf(dyt_err *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dyt_verrf(e, code, fmt, ap);
    va_end(ap);
    return code;
}

int dyt_errno_code(int err)
{
    switch (err) {
    case ENOMEM:
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EFBIG:
    case EROFS:
    case EMFILE:
    case ENFILE:
    case EAGAIN:
    case ENOBUFS:
    case ETXTBSY:
        return DYT_RESOURCE;
    default:
        return DYT_USAGE;
    }
}

int dyt_close_output(FILE *f, const char *path, dyt_err *e)
{
    errno = 0;
    int bad = ferror(f) || fflush(f) != 0;
    int err = errno;
    if (f != stdout && fclose(f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (!bad)
        return DYT_OK;
    return dyt_errf(e, DYT_RESOURCE, "%s: writing failed: %s", path,
                    err ? strerror(err) : "I/O error");
}

uint64_t dyt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void dyt_utc_iso(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}


static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void dyt_rng_seed(dyt_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t dyt_rng_u64(dyt_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double dyt_rng_uniform(dyt_rng *r) { return (double)(dyt_rng_u64(r) >> 11) * 0x1.0p-53; }

double dyt_rng_normal(dyt_rng *r, double mu, double sigma)
{
    /* Box-Muller; u1 in (0,1] so log never sees 0. */
    double u1 = 1.0 - dyt_rng_uniform(r);
    double u2 = dyt_rng_uniform(r);
    return mu + sigma * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t dyt_hash64(const void *data, size_t n, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int dyt_read_file(const char *path, char **out, size_t *len, dyt_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dyt_errf(e, dyt_errno_code(errno), "%s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return dyt_errf(e, DYT_RESOURCE, "%s: out of memory", path);
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                return dyt_errf(e, DYT_RESOURCE, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        errno = 0;
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f), err = errno;
    fclose(f);
    if (bad) {
        free(buf);
        return dyt_errf(e, err ? dyt_errno_code(err) : DYT_RESOURCE, "%s: %s", path,
                        err ? strerror(err) : "read error");
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return DYT_OK;
}

int dyt_find_program(const char *prog, char *buf, size_t n)
{
    if (!prog || !*prog)
        return 0;
    if (strchr(prog, '/')) {
        snprintf(buf, n, "%s", prog);
        return access(buf, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        snprintf(buf, n, "%.*s/%s", (int)len, len ? path : ".", prog);
        if (access(buf, X_OK) == 0)
            return 1;
        path += len + (end != NULL);
    }
    return 0;
}

int dyt_parse_size(const char *s, uint64_t *out)
{
    /* strtoull would skip spaces and negate a '-' after them. */
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno)
        return -1;
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1024, end++;
    else if (*end == 'M')
        mul = 1024 * 1024, end++;
    else if (*end == 'G')
        mul = 1024ull * 1024 * 1024, end++;
    if (*end != '\0' || v == 0)
        return -1;
    if (v > UINT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int dyt_parse_double(const char *s, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int dyt_parse_percent(const char *s, double *out)
{
    char buf[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n + 1);
    if (buf[n - 1] == '%')
        buf[n - 1] = '\0';
    double v;
    if (dyt_parse_double(buf, &v) != 0 || !(v >= 0) || v >= 1000)
        return -1;
    *out = v / 100.0;
    return 0;
}

void dyt_fmt_ns(char *buf, size_t n, double ns)
{
    if (ns < 1e3)
        snprintf(buf, n, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(buf, n, "%.2f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, n, "%.2f ms", ns / 1e6);
    else
        snprintf(buf, n, "%.2f s", ns / 1e9);
}

void dyt_fmt_bytes(char *buf, size_t n, double bytes)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (bytes >= 1024 && i < 4)
        bytes /= 1024, i++;
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", bytes, u[i]);
}

int dyt_hw_threads(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

uint64_t dyt_mem_usable_bytes(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                fclose(f);
                return (uint64_t)kb * 1024;
            }
        }
        fclose(f);
    }
    long pages = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    return pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
}
