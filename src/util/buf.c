/*
 * buf.c -- growable byte buffer.
 */
#include "util/buf.h"

#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int
ss_buf_reserve(ss_buf *b, size_t extra)
{
    size_t want = b->len + extra, cap = b->cap ? b->cap : 64;
    unsigned char *p;

    if (want <= b->cap)
        return 0;
    while (cap < want)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p)
        return ss_error_set(SS_ENOMEM,
                            "out of memory growing a buffer to "
                            "%zu bytes",
                            cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int
ss_buf_append(ss_buf *b, const void *data, size_t len)
{
    int rc;

    if ((rc = ss_buf_reserve(b, len)) < 0)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

int
ss_buf_printf(ss_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ss_error_set(SS_EINVAL, "bad format string");
    if ((rc = ss_buf_reserve(b, (size_t)n + 1)) < 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void
ss_buf_free(ss_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
