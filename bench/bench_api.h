/*
 * bench_api.h -- what the benchmarks of the public API share: failing
 * with the library's message, a checked call, and a slice of bytes.
 */
#ifndef SS_BENCH_API_H
#define SS_BENCH_API_H

#include "statestore.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The options every such benchmark takes: [--keys N] (when `keys` is
 * non-zero on entry: its default) [--dir DIR] [--rounds R].  Returns 0,
 * or 2 after printing the usage or what is wrong (main returns it). */
typedef struct bench_args {
    uint32_t keys;
    const char *dir;
    int rounds;
} bench_args;

static inline int
bench_parse(bench_args *a, int argc, char **argv, uint32_t min_keys,
            int max_rounds)
{
    int i, with_keys = a->keys != 0;

    for (i = 1; i < argc; i++) {
        if (with_keys && !strcmp(argv[i], "--keys") && i + 1 < argc)
            a->keys = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            a->dir = argv[++i];
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            a->rounds = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s%s [--dir DIR] [--rounds R]\n",
                    bench_name, with_keys ? " [--keys N]" : "");
            if (with_keys)
                fprintf(stderr, "  N keys (default %u)\n", a->keys);
            fprintf(stderr, "  R rounds (at most %d)\n", max_rounds);
            return 2;
        }
    }
    if (a->rounds < 1 || a->rounds > max_rounds ||
        (with_keys && a->keys < min_keys)) {
        fprintf(stderr, "%s: bad --rounds or --keys\n", bench_name);
        return 2;
    }
    return 0;
}

#endif
