/*
 * parse.c -- flat JSON / CSV line parsing, event times and durations.
 *
 * Invariants (tests/runner/runner_parse.c cites them):
 * 1. Any byte string, however malformed, yields 0 or -1 with a reason;
 *    the parser never reads outside [line, line + len) and never crashes.
 * 2. Field names and values point into the line; decoding escapes only
 *    shrinks a string, so it is done in place.
 * 3. Only flat objects are accepted: a nested object or array is an error
 *    (the runner reports the line and skips it), not silently flattened.
 * 4. ss_parse__record_len and ss_parse__csv agree on where quoted cells
 *    start and end, so a record the planner cuts (source.c) is the record
 *    the reader parses (batch.c), and the CSV sink's output (quoted
 *    newlines included) reads back as the rows it wrote.
 */
#include "runner/parse.h"

#include <errno.h>
#include <math.h> /* isfinite (a macro: no libm) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTE_(x) #x
#define QUOTE(x) QUOTE_(x)
#define FIELDS_LIMIT QUOTE(SS_PARSE_MAX_FIELDS)

static void
skip_ws(const char **p, const char *end)
{
    while (*p < end &&
           (**p == ' ' || **p == '\t' || **p == '\r' || **p == '\n'))
        (*p)++;
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int
read_hex4(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;
    int i, h;

    if (end - p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        if ((h = hexval((unsigned char)p[i])) < 0)
            return -1;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return 0;
}

static size_t
put_utf8(char *w, unsigned cp)
{
    if (cp < 0x80) {
        w[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (char)(0xC0 | (cp >> 6));
        w[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        w[0] = (char)(0xE0 | (cp >> 12));
        w[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        w[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    w[0] = (char)(0xF0 | (cp >> 18));
    w[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    w[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    w[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* *p is just past the opening quote.  Decodes in place; on success
 * (*out, *out_len) is the decoded string and *p is past the closing quote. */
static int
read_string(char **p, char *end, const char **out, size_t *out_len,
            const char **why)
{
    char *r = *p, *w = *p, *start = *p;
    unsigned cp, lo;

    while (r < end && *r != '"') {
        unsigned char c = (unsigned char)*r;

        if (c < 0x20) {
            *why = "control character in string";
            return -1;
        }
        if (c != '\\') {
            *w++ = *r++;
            continue;
        }
        if (++r >= end) {
            *why = "unterminated escape";
            return -1;
        }
        switch (*r) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u':
            if (read_hex4(r + 1, end, &cp) < 0) {
                *why = "bad \\u escape";
                return -1;
            }
            r += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - r < 7 || r[1] != '\\' || r[2] != 'u' ||
                    read_hex4(r + 3, end, &lo) < 0 || lo < 0xDC00 ||
                    lo > 0xDFFF) {
                    *why = "unpaired surrogate in \\u escape";
                    return -1;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                r += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                *why = "unpaired surrogate in \\u escape";
                return -1;
            }
            /* Escapes take 6 or 12 bytes and decode to at most 4. */
            w += put_utf8(w, cp);
            break;
        default: *why = "bad escape"; return -1;
        }
        r++;
    }
    if (r >= end) {
        *why = "unterminated string";
        return -1;
    }
    *out = start;
    *out_len = (size_t)(w - start);
    *p = r + 1;
    return 0;
}

static int
read_number(const char **p, const char *end)
{
    const char *s = *p;

    if (s < end && *s == '-')
        s++;
    if (s >= end)
        return -1;
    if (*s == '0') {
        s++;
    } else if (*s >= '1' && *s <= '9') {
        while (s < end && *s >= '0' && *s <= '9')
            s++;
    } else {
        return -1;
    }
    if (s < end && *s == '.') {
        s++;
        if (s >= end || *s < '0' || *s > '9')
            return -1;
        while (s < end && *s >= '0' && *s <= '9')
            s++;
    }
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '+' || *s == '-'))
            s++;
        if (s >= end || *s < '0' || *s > '9')
            return -1;
        while (s < end && *s >= '0' && *s <= '9')
            s++;
    }
    *p = s;
    return 0;
}

static int
match_word(const char **p, const char *end, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(end - *p) < n || memcmp(*p, word, n) != 0)
        return -1;
    *p += n;
    return 0;
}

int
ss_parse__json(ss_fields *out, char *line, size_t len, const char **why)
{
    char *end = line + len;
    const char *p = line;
    ss_field *f;

    out->n = 0;
    skip_ws(&p, end);
    if (p >= end || *p != '{') {
        *why = "not a JSON object";
        return -1;
    }
    p++;
    skip_ws(&p, end);
    if (p < end && *p == '}') {
        p++;
        goto tail;
    }
    for (;;) {
        char *q;

        if (out->n == SS_PARSE_MAX_FIELDS) {
            *why = "too many fields (limit " FIELDS_LIMIT ")";
            return -1;
        }
        f = &out->f[out->n];
        skip_ws(&p, end);
        if (p >= end || *p != '"') {
            *why = "expected a field name";
            return -1;
        }
        q = line + (p - line) + 1;
        if (read_string(&q, end, &f->name, &f->name_len, why) < 0)
            return -1;
        p = q;
        skip_ws(&p, end);
        if (p >= end || *p != ':') {
            *why = "expected ':'";
            return -1;
        }
        p++;
        skip_ws(&p, end);
        if (p >= end) {
            *why = "missing value";
            return -1;
        }
        if (*p == '"') {
            q = line + (p - line) + 1;
            if (read_string(&q, end, &f->val, &f->val_len, why) < 0)
                return -1;
            p = q;
            f->type = SS_VAL_STRING;
        } else if (*p == '{' || *p == '[') {
            *why = "nested object or array (only flat objects are read)";
            return -1;
        } else if (*p == 't' || *p == 'f' || *p == 'n') {
            f->val = p;
            if (match_word(&p, end, "true") == 0 ||
                match_word(&p, end, "false") == 0) {
                f->type = SS_VAL_BOOL;
            } else if (match_word(&p, end, "null") == 0) {
                f->type = SS_VAL_NULL;
            } else {
                *why = "bad literal";
                return -1;
            }
            f->val_len = (size_t)(p - f->val);
        } else {
            f->val = p;
            if (read_number(&p, end) < 0) {
                *why = "bad number";
                return -1;
            }
            f->val_len = (size_t)(p - f->val);
            f->type = SS_VAL_NUMBER;
        }
        out->n++;
        skip_ws(&p, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            break;
        }
        *why = "expected ',' or '}'";
        return -1;
    }
tail:
    skip_ws(&p, end);
    if (p != end) {
        *why = "text after the object";
        return -1;
    }
    return 0;
}

int
ss_parse__csv(ss_fields *out, char *line, size_t len, const ss_fields *header,
              const char **why)
{
    char *end = line + len, *r = line, *w;
    ss_field *f;

    out->n = 0;
    while (end > line && (end[-1] == '\r' || end[-1] == '\n'))
        end--;
    for (;;) {
        if (out->n == SS_PARSE_MAX_FIELDS) {
            *why = "too many fields (limit " FIELDS_LIMIT ")";
            return -1;
        }
        f = &out->f[out->n];
        f->type = SS_VAL_STRING;
        if (r < end && *r == '"') {
            /* Quoted cell: "" is a quote; decode in place. */
            r++;
            w = r;
            f->val = r;
            for (;;) {
                if (r >= end) {
                    *why = "unterminated quoted cell";
                    return -1;
                }
                if (*r == '"') {
                    if (r + 1 < end && r[1] == '"') {
                        *w++ = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                *w++ = *r++;
            }
            f->val_len = (size_t)(w - f->val);
            if (r < end && *r != ',') {
                *why = "text after a quoted cell";
                return -1;
            }
        } else {
            f->val = r;
            while (r < end && *r != ',') {
                if (*r == '"') {
                    *why = "quote inside an unquoted cell";
                    return -1;
                }
                r++;
            }
            f->val_len = (size_t)(r - f->val);
            if (f->val_len == 0)
                f->type = SS_VAL_NULL;
        }
        if (header) {
            if (out->n >= header->n) {
                *why = "more cells than the header has columns";
                return -1;
            }
            f->name = header->f[out->n].val;
            f->name_len = header->f[out->n].val_len;
        } else {
            f->name = f->val;
            f->name_len = f->val_len;
        }
        out->n++;
        if (r >= end)
            break;
        r++; /* the comma */
    }
    if (header && out->n != header->n) {
        *why = "fewer cells than the header has columns";
        return -1;
    }
    return 0;
}

size_t
ss_parse__record_len(const char *p, size_t len, int csv, uint64_t *newlines_out)
{
    /* CSV states: at a cell's start, in an unquoted cell, in a quoted
     * cell, just after a quote inside a quoted cell. */
    enum { START, PLAIN, QUOTED, QUOTE_SEEN } st = START;
    uint64_t nl = 0;
    const char *q;
    size_t i;

    if (!csv) {
        q = memchr(p, '\n', len);
        if (newlines_out)
            *newlines_out = 0;
        return q ? (size_t)(q - p) : len;
    }
    for (i = 0; i < len; i++) {
        char c = p[i];

        switch (st) {
        case START:
        case PLAIN:
            if (c == '\n')
                goto done;
            st = c == ',' ? START : (st == START && c == '"') ? QUOTED : PLAIN;
            break;
        case QUOTED:
            if (c == '"')
                st = QUOTE_SEEN;
            else if (c == '\n')
                nl++;
            break;
        case QUOTE_SEEN: /* "" is a quote; anything else closes the cell */
            if (c == '\n')
                goto done;
            st = c == '"' ? QUOTED : c == ',' ? START : PLAIN;
            break;
        }
    }
done:
    if (newlines_out)
        *newlines_out = nl;
    return i;
}

const ss_field *
ss_parse__find(const ss_fields *fs, const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; i < fs->n; i++)
        if (fs->f[i].name_len == n && memcmp(fs->f[i].name, name, n) == 0)
            return &fs->f[i];
    return NULL;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int
digits(const char **p, const char *end, unsigned n, unsigned *out)
{
    unsigned v = 0, i;

    if ((size_t)(end - *p) < n)
        return -1;
    for (i = 0; i < n; i++) {
        char c = (*p)[i];

        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int
parse_iso(int64_t *out, const char *p, const char *end)
{
    unsigned y, mo, d, h, mi, s, ms = 0, oh, om, scale;
    int64_t t;
    int sign;

    if (digits(&p, end, 4, &y) < 0 || match_word(&p, end, "-") < 0 ||
        digits(&p, end, 2, &mo) < 0 || match_word(&p, end, "-") < 0 ||
        digits(&p, end, 2, &d) < 0)
        return -1;
    if (p >= end || (*p != 'T' && *p != ' ' && *p != 't'))
        return -1;
    p++;
    if (digits(&p, end, 2, &h) < 0 || match_word(&p, end, ":") < 0 ||
        digits(&p, end, 2, &mi) < 0 || match_word(&p, end, ":") < 0 ||
        digits(&p, end, 2, &s) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return -1;
        /* Keep milliseconds; finer digits are truncated. */
        for (scale = 100; p < end && *p >= '0' && *p <= '9'; p++) {
            ms += scale * (unsigned)(*p - '0');
            scale /= 10;
        }
    }
    t = (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000 +
        ms;
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        sign = *p == '-' ? -1 : 1;
        p++;
        if (digits(&p, end, 2, &oh) < 0 || match_word(&p, end, ":") < 0 ||
            digits(&p, end, 2, &om) < 0 || oh > 23 || om > 59)
            return -1;
        t -= sign * (int64_t)(oh * 3600 + om * 60) * 1000;
    } else {
        return -1;
    }
    if (p != end)
        return -1;
    *out = t;
    return 0;
}

int
ss_parse__time(int64_t *out, const ss_field *f, const char **why)
{
    double d;

    if (f->type == SS_VAL_NUMBER ||
        (f->type == SS_VAL_STRING && f->val_len > 0 &&
         (f->val[0] == '-' || (f->val[0] >= '0' && f->val[0] <= '9')) &&
         parse_iso(out, f->val, f->val + f->val_len) < 0)) {
        if (ss_parse__double(&d, f) < 0 || d < -9.0e15 || d > 9.0e15) {
            *why = "event time is not a number of epoch milliseconds";
            return -1;
        }
        /* floor without libm: truncate, then step down for negatives. */
        *out = (int64_t)d;
        if ((double)*out > d)
            (*out)--;
        return 0;
    }
    if (f->type == SS_VAL_STRING &&
        parse_iso(out, f->val, f->val + f->val_len) == 0)
        return 0;
    *why = "event time is neither epoch milliseconds nor an ISO 8601 "
           "UTC time";
    return -1;
}

int
ss_parse__double(double *out, const ss_field *f)
{
    char buf[64], *end;
    double d;

    if ((f->type != SS_VAL_NUMBER && f->type != SS_VAL_STRING) ||
        f->val_len == 0 || f->val_len >= sizeof(buf))
        return -1;
    memcpy(buf, f->val, f->val_len);
    buf[f->val_len] = '\0';
    errno = 0;
    d = strtod(buf, &end);
    if (*end || errno || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

int
ss_parse__duration(int64_t *out, const char *s)
{
    char *end;
    double v;
    double unit;

    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    if (strcmp(end, "") == 0 || strcmp(end, "ms") == 0)
        unit = 1;
    else if (strcmp(end, "s") == 0)
        unit = 1e3;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        unit = 60e3;
    else if (strcmp(end, "h") == 0)
        unit = 3600e3;
    else if (strcmp(end, "d") == 0)
        unit = 86400e3;
    else
        return -1;
    v *= unit;
    if (v > 9.0e15 || (double)(int64_t)v != v)
        return -1;
    *out = (int64_t)v;
    return 0;
}
