/*
 * parse.h -- input line parsing for the runner: flat JSON objects (one per
 * line) and CSV rows, event times and durations.
 *
 * A parsed line is a list of fields, each a name and a value that point
 * into the caller's line buffer (strings are unescaped in place), so
 * parsing allocates nothing.
 */
#ifndef SS_RUNNER_PARSE_H
#define SS_RUNNER_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Fields per line (JSON) or columns per row (CSV). */
#define SS_PARSE_MAX_FIELDS 256

enum {
    SS_VAL_STRING = 's', /* a JSON string or any CSV cell */
    SS_VAL_NUMBER = 'n', /* a JSON number (text kept as written) */
    SS_VAL_BOOL = 'b',   /* true / false */
    SS_VAL_NULL = 'z'    /* null, or an empty CSV cell */
};

typedef struct ss_field {
    const char *name;
    size_t name_len;
    const char *val;
    size_t val_len;
    int type; /* SS_VAL_* */
} ss_field;

typedef struct ss_fields {
    ss_field f[SS_PARSE_MAX_FIELDS];
    size_t n;
} ss_fields;

/*
 * Parse one flat JSON object {"k": v, ...} held in line[0..len).  Values
 * may be strings, numbers, true, false or null; nested objects and arrays
 * are refused.  String escapes are decoded in place (line is modified).
 * Returns 0, or -1 with a short reason in *why (static string).
 */
int ss_parse__json(ss_fields *out, char *line, size_t len, const char **why);

/*
 * Split one CSV row (RFC 4180 quoting, ',' separator) in place into
 * cells; names come from `header` (a parsed header row, may be NULL when
 * parsing the header itself).  Returns 0 or -1 with *why.
 */
int ss_parse__csv(ss_fields *out, char *line, size_t len,
                  const ss_fields *header, const char **why);

/*
 * Length of the record at p[0..len): up to, not including, the newline
 * that ends it, or `len` if none does.  A JSON record is one line; a CSV
 * record ends at the first newline outside a quoted cell (RFC 4180), so
 * a quoted cell may hold newlines.  A quote opens a quoted cell only at
 * the start of a cell, as ss_parse__csv reads it, so a stray quote in an
 * unquoted cell does not swallow the lines after it.  *newlines_out (if
 * not NULL) gets the number of newlines inside the record.
 */
size_t ss_parse__record_len(const char *p, size_t len, int csv,
                            uint64_t *newlines_out);

/* Find field `name` (NUL-terminated) in `fs`; NULL if absent. */
const ss_field *ss_parse__find(const ss_fields *fs, const char *name);

/*
 * Event time of a field, in milliseconds since the epoch: a number is
 * taken as epoch milliseconds; a string as RFC 3339 / ISO 8601 UTC
 * ("2024-05-01T10:00:00Z", optional ".fff", optional "+hh:mm" offset).
 * Returns 0 or -1 with *why.
 */
int ss_parse__time(int64_t *out, const ss_field *f, const char **why);

/* A finite double from a number field or a numeric string; 0 or -1. */
int ss_parse__double(double *out, const ss_field *f);

/*
 * A duration such as "90s", "1m", "500ms", "2h", "1d" or a bare number of
 * milliseconds.  Returns 0 or -1.
 */
int ss_parse__duration(int64_t *out, const char *s);

#endif
