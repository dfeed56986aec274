/*
 * bench_api.h -- what the benchmarks of the public API share: failing
 * with the library's message, a checked call, and a slice of bytes.
 */
#ifndef SS_BENCH_API_H
#define SS_BENCH_API_H

#include "statestore.h"

#include <stdio.h>
#include <stdlib.h>

/* The program's name in messages; each benchmark sets it first. */
extern const char *bench_name;

/* Print what failed with ss_error_last() and exit 1. */
static inline void
die(const char *what, int rc)
{
    fprintf(stderr, "%s: %s: %s: %s\n", bench_name, what, ss_strerror(rc),
            ss_error_last());
    exit(1);
}

#define TRY(what, call)                                                        \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_ < 0)                                                           \
            die(what, rc_);                                                    \
    } while (0)

static inline ss_slice
sl(const void *p, size_t n)
{
    ss_slice s;

    s.data = p;
    s.len = n;
    return s;
}

#endif
