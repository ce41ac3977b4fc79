/* Aligned allocation under the process's page policy. Buffers of at least
 * DYT_HUGE_PAGE bytes (kernel operands, the copy ceiling's arrays) get a
 * mapping of their own, 2 MiB aligned, advised huge or small as the run
 * asks: with 4 KiB pages a backward pass's five streams miss the TLB far
 * more often than a copy's two, so the page size must be a stated setting
 * that kernels and their ceiling share, not whatever the OS defaults to.
 * Smaller buffers come from malloc. Either kind carries a header just
 * below the pointer so dyt_free knows how to give it back. */
#include "common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { HEAP = 0x68656170, MAPPED = 0x6d617070 };

typedef struct {
    unsigned kind;
    void *base;     /* what malloc or mmap returned */
    size_t length;  /* the mapping's length (MAPPED) */
} alloc_header;

/* 64 bytes below the pointer keeps it 64-byte aligned. */
#define HEADER_BYTES 64

static dyt_pages page_policy = DYT_PAGES_HUGE;

void dyt_set_pages(dyt_pages p) { page_policy = p; }
dyt_pages dyt_get_pages(void) { return page_policy; }
const char *dyt_pages_name(dyt_pages p) { return p == DYT_PAGES_SMALL ? "small" : "huge"; }

static void *alloc_mapped(size_t bytes)
{
    size_t payload = (bytes + DYT_HUGE_PAGE - 1) & ~(size_t)(DYT_HUGE_PAGE - 1);
    /* One huge page more than the payload: room to align it and for the
     * header on the small pages below it. */
    size_t length = payload + DYT_HUGE_PAGE;
    if (payload < bytes || length < payload)
        return NULL;
    char *base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    uintptr_t at = ((uintptr_t)base + HEADER_BYTES + DYT_HUGE_PAGE - 1) &
                   ~(uintptr_t)(DYT_HUGE_PAGE - 1);
    char *p = (char *)at;
    /* Advice, not a promise: what the kernel granted is read back from
     * smaps (dyt_huge_bytes) and recorded with the case. */
    (void)madvise(p, payload, page_policy == DYT_PAGES_HUGE ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    alloc_header *h = (alloc_header *)(p - HEADER_BYTES);
    *h = (alloc_header){MAPPED, base, length};
    return p;
}

void *dyt_alloc(size_t bytes)
{
    if (bytes == 0)
        return NULL;
    if (bytes >= DYT_HUGE_PAGE)
        return alloc_mapped(bytes);
    /* Round up so the size stays a multiple of the alignment. */
    size_t rounded = (bytes + 63) & ~(size_t)63;
    void *base = NULL;
    if (posix_memalign(&base, 64, rounded + HEADER_BYTES) != 0)
        return NULL;
    char *p = (char *)base + HEADER_BYTES;
    *(alloc_header *)(p - HEADER_BYTES) = (alloc_header){HEAP, base, 0};
    return p;
}

void dyt_free(void *p)
{
    if (!p)
        return;
    const alloc_header *h = (const alloc_header *)((char *)p - HEADER_BYTES);
    if (h->kind == MAPPED)
        munmap(h->base, h->length);
    else
        free(h->base);
}

int64_t dyt_huge_bytes(const void *p)
{
    if (!p)
        return -1;
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    /* The advice gives the buffer a mapping (VMA) of its own, starting at
     * p; its AnonHugePages line says how much of it is on huge pages. */
    char line[256];
    int in = 0;
    int64_t kb = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            if (in)
                break;
            in = lo == (uintptr_t)p;
        } else if (in && sscanf(line, "AnonHugePages: %" SCNd64 " kB", &kb) == 1) {
            break;
        }
    }
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

int dyt_thp_mode(const char *which, char *buf, size_t n)
{
    char path[128];
    snprintf(path, sizeof path, "/sys/kernel/mm/transparent_hugepage/%s", which);
    FILE *f = fopen(path, "r");
    char line[256] = "";
    int ok = f && fgets(line, sizeof line, f);
    if (f)
        fclose(f);
    /* "always [madvise] never": the bracketed word is the mode. */
    const char *lb = ok ? strchr(line, '[') : NULL, *rb = lb ? strchr(lb, ']') : NULL;
    if (!rb) {
        snprintf(buf, n, "unknown");
        return -1;
    }
    snprintf(buf, n, "%.*s", (int)(rb - lb - 1), lb + 1);
    return 0;
}
