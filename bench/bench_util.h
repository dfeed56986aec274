/*
 * bench_util.h -- helpers shared by the benchmark programs: the key and
 * value generators (so memory_ops and rocksdb_ops measure the same
 * workload), timing, shuffling and medians.
 */
#ifndef SS_BENCH_UTIL_H
#define SS_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define KEY_LEN 16u
#define VALUE_LEN 64u
#define VALUE_POOL 1024u /* distinct values; 64 KiB, stays in L2 */

/* Written by timed loops so the compiler cannot drop their reads. */
extern volatile uint64_t result_sink;

uint64_t now_ns(void);
uint64_t mix64(uint64_t x);
uint64_t rng_next(uint64_t *state);
uint64_t load_word(const void *p);
void make_key(unsigned char key[KEY_LEN], uint32_t key_index);
const unsigned char *value_for(uint32_t key_index, unsigned gen);
void value_pool_init(void);
void shuffle(uint32_t *items, size_t count, uint64_t *rng);
double median(double *values, size_t count);
/* Smallest and largest of values[0..count), count >= 1. */
void spread(const double *values, size_t count, double *lo, double *hi);
const char *format_count(char *buf, size_t size, uint64_t n);

#endif
