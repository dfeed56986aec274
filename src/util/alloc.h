/*
 * alloc.h -- allocation with a byte budget.
 *
 * The memory provider counts every byte it holds for state through an
 * ss_budget, so memory_bytes is exact (what the allocator really handed
 * out, via malloc_usable_size) and memory_limit_bytes can refuse growth.
 */
#ifndef SS_UTIL_ALLOC_H
#define SS_UTIL_ALLOC_H

#include <stddef.h>
#include <stdint.h>

typedef struct ss_budget {
    uint64_t used;  /* bytes currently allocated through this budget */
    uint64_t limit; /* 0 = unlimited */
} ss_budget;

/* 1 if `extra` more bytes fit under the limit. */
int ss_budget_fits(const ss_budget *b, size_t extra);

/* Allocate `size` bytes counted against `b`; NULL if the allocator fails
 * (no limit check: callers check ss_budget_fits first so a refused put
 * changes nothing). */
void *ss_budget_alloc(ss_budget *b, size_t size);
void *ss_budget_realloc(ss_budget *b, void *p, size_t size);
void ss_budget_free(ss_budget *b, void *p);

/* Huge-page friendly zeroed allocation for big tables. */
void *ss_budget_calloc_large(ss_budget *b, size_t size);
void ss_budget_free_large(ss_budget *b, void *p, size_t size);

#endif
