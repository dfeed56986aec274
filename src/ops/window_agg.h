/*
 * window_agg.h -- event-time windowed aggregation over a state store.
 *
 * The runner parses input into ss_rec rows (event time, encoded group
 * key, numeric values); this operator folds a partition's rows of one
 * batch into that partition's store, emits the windows the watermark
 * closes (append mode) or the windows the batch changed (update mode),
 * and evicts closed windows so state stays bounded.
 */
#ifndef SS_OPS_WINDOW_AGG_H
#define SS_OPS_WINDOW_AGG_H

#include "statestore.h"
#include "util/buf.h"

#include <stddef.h>
#include <stdint.h>

#define SS_WAGG_MAX_GROUP 8
#define SS_WAGG_MAX_VALS 8
#define SS_WAGG_MAX_AGGS 16

typedef enum ss_agg_kind {
    SS_AGG_COUNT = 0,
    SS_AGG_SUM,
    SS_AGG_MIN,
    SS_AGG_MAX,
    SS_AGG_AVG
} ss_agg_kind;

typedef struct ss_agg_spec {
    ss_agg_kind kind;
    int val; /* index into ss_wagg_query.vals; -1 for count */
} ss_agg_spec;

/* The query.  Strings are borrowed from the caller (argv). */
typedef struct ss_wagg_query {
    int64_t window_ms;   /* window length, > 0 */
    int64_t slide_ms;    /* == window_ms for tumbling windows */
    int64_t lateness_ms; /* allowed lateness (watermark delay) */
    int update_mode;     /* 0 = append, 1 = update */
    size_t n_group;
    const char *group[SS_WAGG_MAX_GROUP];
    size_t n_vals; /* distinct value fields the aggregates read */
    const char *vals[SS_WAGG_MAX_VALS];
    size_t n_aggs;
    ss_agg_spec aggs[SS_WAGG_MAX_AGGS];
} ss_wagg_query;

/*
 * One parsed input row.  Group and dedup keys live in the batch's key
 * arena; values in its value array at val_idx * n_vals.
 */
typedef struct ss_rec {
    int64_t ts;
    uint64_t hash;  /* of the group key (partitioning) */
    uint64_t dhash; /* of the dedup key */
    uint32_t key_off, key_len;
    uint32_t dkey_off, dkey_len;
    uint32_t val_idx;
    uint32_t present; /* bit i: vals[i] was present and numeric */
    /* Dedup-only output: the record's fields in the arena, each
     * type byte, varint name length, name, varint value length, value
     * (batch.c writes them, sink.c formats them). */
    uint32_t line_off, line_len;
} ss_rec;

/*
 * Parse "count,sum:bytes,avg:latency" into q->aggs / q->vals.
 * @return 0 or SS_EINVAL naming the bad item (unknown, malformed, or an
 *         aggregate given twice).
 */
int ss_wagg__parse_aggs(ss_wagg_query *q, char *spec);

/*
 * Refuse a query whose output rows would repeat a column name: a
 * --group-by field given twice, or named like a window bound or an
 * aggregate's column.  (Duplicate aggregates are refused by
 * ss_wagg__parse_aggs.)
 * @return 0 or SS_EINVAL naming the column.
 */
int ss_wagg__check_names(const ss_wagg_query *q);

/* Canonical text of the query, for the checkpoint's fingerprint. */
int ss_wagg__describe(ss_buf *out, const ss_wagg_query *q);

/* Per-partition results of one batch. */
typedef struct ss_wagg_result {
    ss_buf rows;        /* emitted rows: u32 klen, key, value (fixed) */
    size_t n_rows;      /* rows emitted */
    uint64_t n_evicted; /* windows removed from state */
    uint64_t n_updated; /* window states written */
} ss_wagg_result;

/* Size of an encoded window state value. */
size_t ss_wagg__value_size(const ss_wagg_query *q);

/*
 * Fold rows recs[idx[i]] (all of this partition, all at or above the
 * watermark) into `store` family `cf` (must be SS_CF_ORDERED), then emit
 * and remove every window with end <= watermark; in update mode also
 * emit every window the batch changed.  Does not commit.
 * @return 0, SS_ENOMEM, SS_ELIMIT (store memory limit), SS_EINVAL,
 *         SS_ECORRUPT (a stored state value has the wrong size).
 */
int ss_wagg__apply(ss_wagg_result *res, ss_store *store, unsigned cf,
                   const ss_wagg_query *q, const ss_rec *recs,
                   const uint32_t *idx, size_t n, const unsigned char *arena,
                   const double *vals, int64_t watermark);

void ss_wagg__result_free(ss_wagg_result *res);

/* Output formats of ss_wagg__format_row. */
enum { SS_OUT_JSON = 0, SS_OUT_CSV = 1 };

/* Append the CSV header line for the query's rows. */
int ss_wagg__format_header(ss_buf *out, const ss_wagg_query *q);

/*
 * Append one output row (JSON object or CSV line, '\n'-terminated) for an
 * emitted (key, value).  Numbers as ss_wagg__format_double; an aggregate
 * with no value (no numeric field in the window) or a non-finite one (a
 * sum past double's range) is null in JSON and an empty CSV cell.
 * Window bounds are ISO 8601 UTC times.
 */
int ss_wagg__format_row(ss_buf *out, const ss_wagg_query *q, int format,
                        const unsigned char *key, size_t klen,
                        const unsigned char *val);

/*
 * A double as text that reads back (strtod) as the same value: integers
 * below 2^53 with every digit ("1000000000000002"), others in the
 * shortest of %.15g, %.16g, %.17g that round-trips ("0.30000000000000004").
 * A non-finite value gives "" (the caller writes null or an empty cell).
 */
void ss_wagg__format_double(char *buf, size_t size, double d);

/* A JSON string literal (quoted, escaped) / a CSV cell (RFC 4180 quoted
 * when it holds a separator, quote, line end, or blanks at either end). */
int ss_wagg__json_string(ss_buf *out, const char *s, size_t n);
int ss_wagg__csv_cell(ss_buf *out, const char *s, size_t n);

/* Format epoch ms as "2024-05-01T10:00:00Z" (".fff" only if ms != 0). */
void ss_wagg__format_time(char *buf, size_t size, int64_t ms);

/* Group-key part type for strings (as ss_field's SS_VAL_STRING); other
 * types ('n' number, 'b' bool) are written unquoted in JSON output. */
#define SS_WAGG_STRING 's'

/* Encode group-key part `type`/`data` (ss_field type) onto `out`. */
int ss_wagg__key_append(ss_buf *out, int type, const char *data, size_t len);

/* Order-preserving 8-byte encoding of a signed window start. */
void ss_wagg__enc_time(unsigned char out[8], int64_t t);
int64_t ss_wagg__dec_time(const unsigned char in[8]);

#endif
