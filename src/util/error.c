/*
 * error.c -- the thread-local last-error message.
 *
 * Invariant 1: every negative status the library returns went through
 * ss_error_set or ss_error_wrap, so ss_error_last() names what failed.
 * Invariant 2: the message is per thread, so partitions on different
 * threads never see each other's errors.
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_MAX 1024

static _Thread_local char last_msg[MSG_MAX];

int
ss_error_set(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
    va_end(ap);
    return code;
}

int
ss_error_set_str(int code, const char *msg)
{
    size_t n = strlen(msg);

    if (n >= sizeof(last_msg))
        n = sizeof(last_msg) - 1;
    memcpy(last_msg, msg, n);
    last_msg[n] = '\0';
    return code;
}

int
ss_error_wrap(int code, const char *fmt, ...)
{
    char old[MSG_MAX];
    va_list ap;
    int n;

    memcpy(old, last_msg, sizeof(old));
    va_start(ap, fmt);
    n = vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
    va_end(ap);
    /* Append ": <old message>" after the prefix, truncating the tail. */
    if (n >= 0 && (size_t)n + 2 < sizeof(last_msg)) {
        memcpy(last_msg + n, ": ", 2);
        memcpy(last_msg + n + 2, old, sizeof(last_msg) - (size_t)n - 2);
        last_msg[sizeof(last_msg) - 1] = '\0';
    }
    return code;
}

void
ss_error__save(char *buf, size_t len)
{
    snprintf(buf, len, "%s", last_msg);
}

void
ss_error__restore(const char *buf)
{
    snprintf(last_msg, sizeof(last_msg), "%s", buf);
}

const char *
ss_error_last(void)
{
    return last_msg;
}

void
ss_error_clear(void)
{
    last_msg[0] = '\0';
}

const char *
ss_strerror(int code)
{
    switch (code) {
    case SS_OK: return "SS_OK";
    case SS_EINVAL: return "SS_EINVAL";
    case SS_ENOMEM: return "SS_ENOMEM";
    case SS_EIO: return "SS_EIO";
    case SS_ENOTFOUND: return "SS_ENOTFOUND";
    case SS_EEXISTS: return "SS_EEXISTS";
    case SS_ECORRUPT: return "SS_ECORRUPT";
    case SS_EVERSION: return "SS_EVERSION";
    case SS_ELIMIT: return "SS_ELIMIT";
    case SS_EBUSY: return "SS_EBUSY";
    case SS_EFATAL: return "SS_EFATAL";
    case SS_EDONE: return "SS_EDONE";
    case SS_EFENCED: return "SS_EFENCED";
    default: return "SS_E(unknown)";
    }
}
