/*
 * random.h -- unpredictable bytes for identities (store ids, file
 * nonces, writer epochs' tokens): never the same in two processes, even
 * ones forked from one parent at the same instant.
 */
#ifndef SS_UTIL_RANDOM_H
#define SS_UTIL_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fill buf with n random bytes (getrandom(2); a clock, pid and counter
 * mix if the kernel refuses, which it does only before boot entropy). */
void ss_random_bytes(void *buf, size_t n);
uint64_t ss_random_u64(void);

#endif
