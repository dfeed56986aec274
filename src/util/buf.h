/*
 * buf.h -- growable byte buffer and little-endian/varint helpers.
 */
#ifndef SS_UTIL_BUF_H
#define SS_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct ss_buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} ss_buf;

#define SS_BUF_INIT                                                            \
    {                                                                          \
        NULL, 0, 0                                                             \
    }

/* Make room for `extra` more bytes; 0 or SS_ENOMEM (message set). */
int ss_buf_reserve(ss_buf *b, size_t extra);
int ss_buf_append(ss_buf *b, const void *data, size_t len);
int ss_buf_printf(ss_buf *b, const char *fmt, ...);
void ss_buf_free(ss_buf *b);

static inline void
ss_store_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void
ss_store_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline void
ss_store_le64(unsigned char *p, uint64_t v)
{
    ss_store_le32(p, (uint32_t)v);
    ss_store_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t
ss_load_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
ss_load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t
ss_load_le64(const unsigned char *p)
{
    return (uint64_t)ss_load_le32(p) | ((uint64_t)ss_load_le32(p + 4) << 32);
}

/* LEB128 varint: at most 10 bytes.  Returns bytes written. */
static inline size_t
ss_put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* Decode a varint from [*p, end); 0 on success, -1 if truncated or too
 * long.  Advances *p. */
static inline int
ss_get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    uint64_t r = 0;
    unsigned shift = 0;

    while (*p < end && shift < 64) {
        unsigned char c = *(*p)++;
        r |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = r;
            return 0;
        }
        shift += 7;
    }
    return -1;
}

/* Byte order of keys: memcmp, then the shorter first. */
static inline int
ss_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

#endif
