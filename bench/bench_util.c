/*
 * bench_util.c -- see bench_util.h.
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile uint64_t result_sink;
static unsigned char value_pool[VALUE_POOL][VALUE_LEN];

uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64's finaliser: a bijection, so distinct inputs stay distinct. */
uint64_t
mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

uint64_t
rng_next(uint64_t *state)
{
    *state += 1;
    return mix64(*state);
}

uint64_t
load_word(const void *p)
{
    uint64_t word;

    memcpy(&word, p, sizeof word);
    return word;
}

/*
 * Key number i -> 16 bytes.  The first word is a bijection of i, so keys
 * are unique; numbers >= N are guaranteed misses.  Keys are computed in
 * the timed loops (two multiplies each) rather than read from an array so
 * that the loops carry no extra cache miss of their own.
 */
void
make_key(unsigned char key[KEY_LEN], uint32_t key_index)
{
    uint64_t w0 = mix64(key_index);
    uint64_t w1 = mix64((uint64_t)key_index | (1ull << 32));

    memcpy(key, &w0, 8);
    memcpy(key + 8, &w1, 8);
}

/* Generation g of key i's value; generations 0..1023 all differ. */
const unsigned char *
value_for(uint32_t key_index, unsigned gen)
{
    return value_pool[(key_index + gen * 331u) & (VALUE_POOL - 1u)];
}

void
value_pool_init(void)
{
    uint64_t rng = 42;
    size_t i, j, w;
    uint64_t word;

    for (i = 0; i < VALUE_POOL; i++) {
        for (w = 0; w < VALUE_LEN; w += 8) {
            word = rng_next(&rng);
            memcpy(&value_pool[i][w], &word, 8);
        }
        /* The timed loops compare only the first word: keep it unique. */
        for (j = 0; j < i; j++) {
            if (load_word(value_pool[j]) == load_word(value_pool[i])) {
                word = rng_next(&rng);
                memcpy(value_pool[i], &word, 8);
                j = (size_t)-1;
            }
        }
    }
}

void
shuffle(uint32_t *items, size_t count, uint64_t *rng)
{
    size_t i, j;
    uint32_t tmp;

    for (i = count; i > 1; i--) {
        j = (size_t)(rng_next(rng) % i);
        tmp = items[i - 1];
        items[i - 1] = items[j];
        items[j] = tmp;
    }
}

static int
compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double
median(double *values, size_t count)
{
    if (count == 0)
        return 0.0;
    qsort(values, count, sizeof *values, compare_doubles);
    if (count % 2)
        return values[count / 2];
    return (values[count / 2 - 1] + values[count / 2]) / 2.0;
}

const char *
format_count(char *buf, size_t size, uint64_t n)
{
    if (n % 1000000u == 0)
        snprintf(buf, size, "%" PRIu64 "M", n / 1000000u);
    else if (n % 1000u == 0)
        snprintf(buf, size, "%" PRIu64 "k", n / 1000u);
    else
        snprintf(buf, size, "%" PRIu64, n);
    return buf;
}

void
spread(const double *values, size_t count, double *lo, double *hi)
{
    size_t i;

    *lo = *hi = values[0];
    for (i = 1; i < count; i++) {
        if (values[i] < *lo)
            *lo = values[i];
        if (values[i] > *hi)
            *hi = values[i];
    }
}
