/*
 * alloc.c -- the library allocator and byte budgets.
 *
 * Invariant 1: ss_budget.used equals the sum of malloc_usable_size (or the
 * mapped size for large tables) of every live block allocated through it.
 */
#include "util/alloc.h"

#include "statestore.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_ALIGN (2u * 1024u * 1024u)

void *
ss_malloc(size_t size)
{
    return malloc(size ? size : 1);
}

void
ss_free(void *ptr)
{
    free(ptr);
}

int
ss_budget_fits(const ss_budget *b, size_t extra)
{
    return b->limit == 0 || b->used + extra <= b->limit;
}

void *
ss_budget_alloc(ss_budget *b, size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p)
        b->used += malloc_usable_size(p);
    return p;
}

void *
ss_budget_realloc(ss_budget *b, void *p, size_t size)
{
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = realloc(p, size ? size : 1);

    if (!q)
        return NULL;
    b->used = b->used - old + malloc_usable_size(q);
    return q;
}

void
ss_budget_free(ss_budget *b, void *p)
{
    if (!p)
        return;
    b->used -= malloc_usable_size(p);
    free(p);
}

void *
ss_budget_calloc_large(ss_budget *b, size_t size)
{
    void *p;

    if (size < 4 * HUGE_ALIGN) {
        p = calloc(1, size);
        if (p)
            b->used += malloc_usable_size(p);
        return p;
    }
    /* Big tables are hit at random; 2 MiB pages halve the cost of a
     * TLB miss on this kind of VM (reference/perf-limits.md 2a). */
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    (void)madvise(p, size, MADV_HUGEPAGE);
    b->used += size;
    return p;
}

void
ss_budget_free_large(ss_budget *b, void *p, size_t size)
{
    if (!p)
        return;
    if (size < 4 * HUGE_ALIGN) {
        ss_budget_free(b, p);
        return;
    }
    munmap(p, size);
    b->used -= size;
}
