/* Shared utilities for every dytbench stage: error reporting, exit codes,
 * the monotonic clock, aligned allocation, a seeded RNG and small string
 * helpers. Nothing here knows about norms, suites or the store. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

/* Exit codes used everywhere (CLI and functions that return a status). */
enum {
    DYT_OK = 0,
    DYT_FAIL = 1,     /* verification failure or a regression verdict */
    DYT_USAGE = 2,    /* usage or input error (bad file, option, DB) */
    DYT_RESOURCE = 3, /* resource or I/O failure: out of memory, disk full,
                       * an output or store that cannot be written */
};

/* Error message buffer filled by functions that can fail. The message names
 * what and where ("suites/x.suite:12: unknown key 'foo'"). */
typedef struct {
    char msg[1024];
} dyt_err;

/* Formats into e (if non-NULL) and returns code, so callers can write
 * `return dyt_errf(e, DYT_USAGE, "...", ...);`. */
int dyt_errf(dyt_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int dyt_verrf(dyt_err *e, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Nanoseconds from CLOCK_MONOTONIC_RAW (immune to NTP slewing). */
uint64_t dyt_now_ns(void);
/* Wall-clock time as ISO-8601 UTC "2026-11-28T11:31:00Z" into buf (>= 32). */
void dyt_utc_iso(char *buf, size_t n);

/* 64-byte aligned allocation (cache line / AVX-512 width); free with
 * dyt_free. Returns NULL on failure or on size 0. A buffer of at least
 * DYT_HUGE_PAGE bytes gets a mapping of its own, 2 MiB aligned, advised
 * huge or small pages before its first touch (common/pages.c); dyt_alloc
 * advises huge. */
#define DYT_HUGE_PAGE ((size_t)2 << 20)
typedef enum { DYT_PAGES_HUGE, DYT_PAGES_SMALL } dyt_pages;
void *dyt_alloc(size_t bytes);
void *dyt_alloc_pages(size_t bytes, dyt_pages pages);
void dyt_free(void *p);
const char *dyt_pages_name(dyt_pages p);
/* What the kernel made of the advice for the buffer p (from dyt_alloc*,
 * >= DYT_HUGE_PAGE), from its mapping in /proc/self/smaps: the bytes on
 * huge pages (whole 2 MiB pages, so up to the buffer's size rounded up to
 * one) and the advice its flags carry ('h' huge, 'n' no huge, 0 none).
 * -1 (and huge_bytes -1) when it cannot tell: no smaps, or no mapping
 * starts at p (the advice was refused, e.g. a kernel without THP). */
typedef struct {
    int64_t huge_bytes;
    char advice;
} dyt_page_state;
int dyt_pages_state(const void *p, dyt_page_state *st);
/* Of the buffer p of bytes (>= DYT_HUGE_PAGE), the bytes on huge pages,
 * at most bytes (huge pages cover it rounded up to 2 MiB: counting more
 * would hide another buffer's shortfall); -1 unknown. */
int64_t dyt_pages_granted(const void *p, size_t bytes);
/* "huge pages asked, huge pages 61% granted" for paged bytes of buffers
 * >= DYT_HUGE_PAGE of which huge (-1: unknown) are on huge pages; paged 0:
 * "below 2 MiB (malloc's pages)". */
void dyt_pages_text(dyt_pages asked, uint64_t paged, int64_t huge, char *buf, size_t n);
/* The transparent-huge-page mode in /sys/kernel/mm/transparent_hugepage/
 * <which> ("enabled", "defrag", "shmem_enabled"), e.g. "madvise", into
 * buf; "unknown" and -1 where the kernel has none. */
int dyt_thp_mode(const char *which, char *buf, size_t n);

/* xoshiro256** seeded through splitmix64: reproducible across platforms. */
typedef struct {
    uint64_t s[4];
} dyt_rng;
void dyt_rng_seed(dyt_rng *r, uint64_t seed);
uint64_t dyt_rng_u64(dyt_rng *r);
double dyt_rng_uniform(dyt_rng *r);              /* [0, 1) */
double dyt_rng_normal(dyt_rng *r, double mu, double sigma);

/* FNV-1a 64-bit, for content hashes of suite files and fingerprints. */
uint64_t dyt_hash64(const void *data, size_t n, uint64_t h);
#define DYT_HASH64_INIT 0xcbf29ce484222325ULL

/* The exit code of a failed system call's errno: DYT_RESOURCE for
 * resource and I/O failures (ENOMEM, ENOSPC, EDQUOT, EIO, EFBIG, EROFS,
 * EMFILE, EAGAIN, ...), else DYT_USAGE (a path that does not exist, a
 * permission, a bad file). */
int dyt_errno_code(int err);
/* Whether writing failed (ferror, or fclose's result): DYT_RESOURCE with
 * "<path>: <why>" in e, else DYT_OK. Closes f unless it is stdout. */
int dyt_close_output(FILE *f, const char *path, dyt_err *e);

/* Reads a whole file into a NUL-terminated malloc'd buffer. */
int dyt_read_file(const char *path, char **out, size_t *len, dyt_err *e);
/* Whether prog (a path, or a name looked up on PATH as the shell would)
 * is an executable: 1 with its path in buf, else 0. */
int dyt_find_program(const char *prog, char *buf, size_t n);

/* Parses a size: a positive decimal integer with an optional K/k, M or G
 * suffix, powers of 1024 ("4096", "64K", "32M"), into *out; returns 0, or
 * -1 for anything else (a sign, a space, zero, overflow). */
int dyt_parse_size(const char *s, uint64_t *out);
/* Parses a finite float strictly (the whole string, no leading space);
 * returns 0 on success. */
int dyt_parse_double(const char *s, double *out);
/* Parses a percentage "5", "5%" or "0.5%" (0 <= v < 1000) into a fraction
 * (0.05); returns 0 on success. */
int dyt_parse_percent(const char *s, double *out);

/* Human formatting: "1.23 ms", "35.1 GB/s", "128 MiB". */
void dyt_fmt_ns(char *buf, size_t n, double ns);
void dyt_fmt_bytes(char *buf, size_t n, double bytes);

/* Hardware threads this process may run on at once (its CPU affinity,
 * else the online CPUs); at least 1. */
int dyt_hw_threads(void);

/* Total usable memory in bytes (MemAvailable-aware sysconf). */
uint64_t dyt_mem_usable_bytes(void);

/* Returns the status of call when it is not DYT_OK (its code kept: a
 * resource failure stays one). */
#define DYT_TRY(call)                                                                              \
    do {                                                                                           \
        int dyt_try_rc_ = (call);                                                                  \
        if (dyt_try_rc_ != DYT_OK)                                                                 \
            return dyt_try_rc_;                                                                    \
    } while (0)

#define DYT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DYT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DYT_MAX(a, b) ((a) > (b) ? (a) : (b))
