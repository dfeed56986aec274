/*
 * error.h -- thread-local last-error message (see statestore.h, rule 2).
 */
#ifndef SS_UTIL_ERROR_H
#define SS_UTIL_ERROR_H

#include "statestore.h"

#if defined(__GNUC__)
#define SS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SS_PRINTF(a, b)
#endif

/* Record a message for `code` and return `code`, so callers can write
 * `return ss_error_set(SS_ECORRUPT, "%s: ...", path);`. */
int ss_error_set(int code, const char *fmt, ...) SS_PRINTF(2, 3);

/* As ss_error_set with a fixed message: no formatting, for hot paths
 * such as a get that misses. */
int ss_error_set_str(int code, const char *msg);

/* Prefix the current message with "<fmt>: " (adds context as an error
 * travels up) and return `code`. */
int ss_error_wrap(int code, const char *fmt, ...) SS_PRINTF(2, 3);

/* Save/restore the message around cleanup that may overwrite it. */
void ss_error__save(char *buf, size_t len);
void ss_error__restore(const char *buf);

#endif
