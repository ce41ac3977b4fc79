/* Aligned allocation with a stated page size. Buffers of at least
 * DYT_HUGE_PAGE bytes (kernel operands, the copy ceiling's arrays) get a
 * mapping of their own, 2 MiB aligned, advised huge or small as the caller
 * (the run's --pages) asks: with 4 KiB pages a backward pass's five streams miss the TLB far
 * more often than a copy's two, so the page size must be a stated setting
 * that kernels and their ceiling share, not whatever the OS defaults to.
 * Smaller buffers come from malloc. Either kind carries a header just
 * below the pointer so dyt_free knows how to give it back. */
#include "common.h"

#include <assert.h>
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

const char *dyt_pages_name(dyt_pages p) { return p == DYT_PAGES_SMALL ? "small" : "huge"; }

static void *alloc_mapped(size_t bytes, dyt_pages pages)
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
     * smaps (dyt_pages_state) and recorded with the case. Refused advice
     * (no THP) leaves the mapping whole, so no mapping starts at p and the
     * state reads unknown. */
    (void)madvise(p, payload, pages == DYT_PAGES_HUGE ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    alloc_header *h = (alloc_header *)(p - HEADER_BYTES);
    *h = (alloc_header){MAPPED, base, length};
    return p;
}

void *dyt_alloc(size_t bytes) { return dyt_alloc_pages(bytes, DYT_PAGES_HUGE); }

void *dyt_alloc_pages(size_t bytes, dyt_pages pages)
{
    if (bytes == 0)
        return NULL;
    if (bytes >= DYT_HUGE_PAGE)
        return alloc_mapped(bytes, pages);
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
    /* Anything else was not allocated here (or was overwritten). */
    assert(h->kind == MAPPED || h->kind == HEAP);
    if (h->kind == MAPPED)
        munmap(h->base, h->length);
    else
        free(h->base);
}

int dyt_pages_state(const void *p, dyt_page_state *st)
{
    *st = (dyt_page_state){-1, 0};
    FILE *f = p ? fopen("/proc/self/smaps", "r") : NULL;
    if (!f)
        return -1;
    /* The advice gives the buffer a mapping (VMA) of its own, starting at
     * p: its AnonHugePages line says how much of it is on huge pages, its
     * VmFlags which advice it carries (hg, nh). */
    char line[512];
    int in = 0, found = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        int64_t kb;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            if (in)
                break;
            in = found = lo == (uintptr_t)p;
        } else if (in && sscanf(line, "AnonHugePages: %" SCNd64 " kB", &kb) == 1) {
            st->huge_bytes = kb * 1024;
        } else if (in && !strncmp(line, "VmFlags:", 8)) {
            st->advice = strstr(line, " hg") ? 'h' : strstr(line, " nh") ? 'n' : 0;
        }
    }
    fclose(f);
    if (!found || st->huge_bytes < 0) {
        *st = (dyt_page_state){-1, 0};
        return -1;
    }
    return 0;
}

int64_t dyt_pages_granted(const void *p, size_t bytes)
{
    dyt_page_state st;
    if (dyt_pages_state(p, &st) != 0)
        return -1;
    return st.huge_bytes < (int64_t)bytes ? st.huge_bytes : (int64_t)bytes;
}

void dyt_pages_text(dyt_pages asked, uint64_t paged, int64_t huge, char *buf, size_t n)
{
    if (paged == 0)
        snprintf(buf, n, "below 2 MiB (malloc's pages)");
    else if (huge < 0)
        snprintf(buf, n, "%s pages asked, granted unknown", dyt_pages_name(asked));
    else
        snprintf(buf, n, "%s pages asked, huge pages %.0f%% granted", dyt_pages_name(asked),
                 100.0 * (double)huge / (double)paged);
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
