/*
 * batch.c -- a batch's input ranges read and parsed into records.
 *
 * Each line of each range of the offset entry becomes one ss_rec in
 * r->b (event time, group-key and dedup-key hashes, aggregated values),
 * or is counted bad or late.  Keys and raw lines live in the batch's
 * arena, so records stay valid until the next ss_batch__reset.
 *
 * Invariants:
 * 1. The result depends only on the bytes of the ranges and the
 *    watermark recorded in the offset entry, never on wall time or on
 *    the file beyond the range, so a replayed batch parses to the same
 *    records (runner.c invariants 1 and 5).
 * 2. Line numbers in reports are file line numbers: a range carries the
 *    line its first byte is on.
 * 3. A late record still raises max_ts, but is not kept.
 * 4. A bad line is fatal only with bad_input_fatal; otherwise at most
 *    BAD_REPORT_MAX reports are printed per batch, and all are counted.
 *    What is bad is decided by the line's bytes alone (parse errors,
 *    missing fields, keys too long for a store), so a batch stopped by
 *    bad_input_fatal and replayed from its offset entry without it skips
 *    exactly the lines a run that skipped from the start did.
 * 5. A CSV file's rows are read only under a header that names every
 *    field the query needs, once each; a header that does not is one
 *    bad-input report for the file (a header-less file, a duplicate
 *    column, an unterminated quote), and the rows under it are counted
 *    bad, not misread.
 * 6. A record is one line (JSON) or one RFC 4180 record (CSV: quoted
 *    cells may span lines), cut by ss_parse__record_len, the same rule
 *    the planner cuts ranges by; its line number is the line it starts
 *    on.  A UTF-8 byte order mark at the start of a file is skipped.
 */
#include "runner/runner_int.h"

#include "runner/parse.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define BAD_REPORT_MAX 10
#define UTF8_BOM "\xEF\xBB\xBF"

/* Where the lines being read come from, and what the query needs. */
typedef struct reader {
    ss_runner *r;
    const char *dir, *file;
    int fmt;
    const ss_fields *header;
    int64_t wm;
    uint64_t reports;                    /* bad-input reports printed */
    uint64_t val_seen[SS_WAGG_MAX_VALS]; /* kept rows with the field */
} reader;

static int
batch_grow(ss_run_batch *b, size_t n_vals)
{
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        ss_rec *nr = realloc(b->recs, ncap * sizeof(*nr));
        double *nv;

        if (!nr)
            return ss_error_set(SS_ENOMEM, "out of memory reading input");
        b->recs = nr;
        if (n_vals) {
            nv = realloc(b->vals, ncap * n_vals * sizeof(*nv));
            if (!nv)
                return ss_error_set(SS_ENOMEM, "out of memory reading input");
            b->vals = nv;
        }
        b->cap = ncap;
    }
    return 0;
}

/* Encode fields `names` of `fs` as a key; 1 (and *missing) if one is
 * absent or null. */
static int
encode_key(ss_buf *arena, uint32_t *off, uint32_t *len, const ss_fields *fs,
           const char *const *names, size_t n, const char **missing)
{
    size_t i, start = arena->len;
    int rc;

    for (i = 0; i < n; i++) {
        const ss_field *f = ss_parse__find(fs, names[i]);

        if (!f || f->type == SS_VAL_NULL) {
            *missing = names[i];
            arena->len = start;
            return 1;
        }
        if ((rc = ss_wagg__key_append(arena, f->type, f->val, f->val_len)) < 0)
            return rc;
    }
    *off = (uint32_t)start;
    *len = (uint32_t)(arena->len - start);
    return 0;
}

/* The record's fields for dedup-only output (format: ss_rec), each
 * name once (the first, as ss_parse__find sees it). */
static int
encode_fields(ss_buf *arena, const ss_fields *fs)
{
    unsigned char hdr[11];
    size_t i, j, n;
    int rc;

    for (i = 0; i < fs->n; i++) {
        const ss_field *f = &fs->f[i];

        for (j = 0; j < i; j++)
            if (fs->f[j].name_len == f->name_len &&
                memcmp(fs->f[j].name, f->name, f->name_len) == 0)
                break;
        if (j < i)
            continue;
        hdr[0] = (unsigned char)f->type;
        n = 1 + ss_put_varint(hdr + 1, f->name_len);
        if ((rc = ss_buf_append(arena, hdr, n)) < 0 ||
            (rc = ss_buf_append(arena, f->name, f->name_len)) < 0)
            return rc;
        n = ss_put_varint(hdr, f->val_len);
        if ((rc = ss_buf_append(arena, hdr, n)) < 0 ||
            (rc = ss_buf_append(arena, f->val, f->val_len)) < 0)
            return rc;
    }
    return 0;
}

/* Count `n` bad lines at file:line with one report (or stop the run):
 * "why" or "why field". */
static int
report_bad(reader *rd, uint64_t line, uint64_t n, const char *why,
           const char *field)
{
    const char *sp = field ? " " : "";
    ss_runner *r = rd->r;
    ss_run_batch *b = &r->b;

    b->bad += n;
    if (r->o->bad_input_fatal)
        return ss_error_set(SS_EINVAL,
                            "%s/%s:%" PRIu64 ": %s%s%s\n(--on-bad-input "
                            "fail stopped the run here; run again with "
                            "--on-bad-input skip to report and skip %s: "
                            "the batch replays the same logged input)",
                            rd->dir, rd->file, line, why, sp,
                            field ? field : "",
                            n == 1 ? "this line" : "these rows");
    if (r->o->errors && ++rd->reports <= BAD_REPORT_MAX)
        fprintf(r->o->errors,
                "statestore run: skipped %s/%s:%" PRIu64 ": %s%s%s\n", rd->dir,
                rd->file, line, why, sp, field ? field : "");
    return 0;
}

/* A bad-line reason if a `what` key of `len` bytes would not fit the
 * store behind its 8-byte time prefix, else NULL. */
static const char *
key_too_long(char *buf, size_t cap, const char *what, uint32_t len)
{
    if (len <= SS_MAX_KEY_LEN - 8)
        return NULL;
    snprintf(buf, cap,
             "%s key of %" PRIu32 " bytes exceeds the state store's "
             "limit of %u",
             what, len, SS_MAX_KEY_LEN - 8);
    return buf;
}

/* Parse one input record (a line, or a CSV record) into r->b, or count
 * it bad or late. */
static int
take_line(reader *rd, char *line, size_t len, uint64_t lineno)
{
    ss_runner *r = rd->r;
    const ss_run_options *o = r->o;
    ss_run_batch *b = &r->b;
    ss_fields fs;
    const ss_field *f;
    const char *why = NULL, *missing = NULL;
    char reason[160];
    ss_rec *rec;
    size_t v, raw_off;
    int rc;

    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
                   line[len - 1] == '\t'))
        len--;
    if (len == 0)
        return 0;
    b->lines++;
    if ((rc = batch_grow(b, o->wagg.n_vals)) < 0)
        return rc;
    raw_off = b->arena.len;
    if (rd->fmt == SS_IN_CSV)
        rc = ss_parse__csv(&fs, line, len, rd->header, &why);
    else
        rc = ss_parse__json(&fs, line, len, &why);
    if (rc < 0)
        goto bad;
    rec = &b->recs[b->n];
    memset(rec, 0, sizeof(*rec));
    if (!(f = ss_parse__find(&fs, o->event_time))) {
        why = "missing event-time field";
        missing = o->event_time;
        goto bad;
    }
    if (ss_parse__time(&rec->ts, f, &why) < 0)
        goto bad;
    if (o->have_window) {
        rc = encode_key(&b->arena, &rec->key_off, &rec->key_len, &fs,
                        o->wagg.group, o->wagg.n_group, &missing);
        if (rc < 0)
            return rc;
        if (rc > 0) {
            why = "missing group-by field";
            goto bad;
        }
        /* The state key is window start (8 bytes) || group key. */
        if ((why = key_too_long(reason, sizeof(reason), "group-by",
                                rec->key_len)) != NULL)
            goto bad;
        rec->hash = XXH3_64bits(b->arena.data + rec->key_off, rec->key_len);
    }
    if (o->n_dedup) {
        rc = encode_key(&b->arena, &rec->dkey_off, &rec->dkey_len, &fs,
                        o->dedup, o->n_dedup, &missing);
        if (rc < 0)
            return rc;
        if (rc > 0) {
            why = "missing dedup field";
            goto bad;
        }
        /* dedup_time keys are first time (8 bytes) || dedup key. */
        if ((why = key_too_long(reason, sizeof(reason), "dedup",
                                rec->dkey_len)) != NULL)
            goto bad;
        rec->dhash = XXH3_64bits(b->arena.data + rec->dkey_off, rec->dkey_len);
    }
    if (rec->ts > b->max_ts)
        b->max_ts = rec->ts;
    if (rec->ts < rd->wm) {
        b->late++;
        b->arena.len = raw_off;
        return 0;
    }
    if (!o->have_window) {
        rec->line_off = (uint32_t)b->arena.len;
        if ((rc = encode_fields(&b->arena, &fs)) < 0)
            return rc;
        rec->line_len = (uint32_t)(b->arena.len - rec->line_off);
    }
    rec->val_idx = (uint32_t)b->n;
    for (v = 0; v < o->wagg.n_vals; v++) {
        double *dst = &b->vals[b->n * o->wagg.n_vals + v];

        *dst = 0;
        f = ss_parse__find(&fs, o->wagg.vals[v]);
        if (f && f->type != SS_VAL_NULL)
            rd->val_seen[v]++;
        if (f && ss_parse__double(dst, f) == 0)
            rec->present |= 1u << v;
    }
    b->n++;
    return 0;
bad:
    b->arena.len = raw_off;
    return report_bad(rd, lineno, 1, why, why == reason ? NULL : missing);
}

/* Does the CSV header name every field the query reads, once each?
 * 0, or -1 with the reason in why. */
static int
check_header(char *why, size_t size, const ss_fields *h,
             const ss_run_options *o)
{
    const char *need[1 + SS_WAGG_MAX_GROUP + SS_RUN_MAX_DEDUP];
    const char *role[1 + SS_WAGG_MAX_GROUP + SS_RUN_MAX_DEDUP];
    size_t n = 0, i, j;
    int datalike = 0;

    for (i = 0; i < h->n; i++) {
        const ss_field *f = &h->f[i];
        double d;

        for (j = 0; j < i; j++)
            if (h->f[j].val_len == f->val_len &&
                memcmp(h->f[j].val, f->val, f->val_len) == 0) {
                snprintf(why, size, "duplicate column name '%.*s'",
                         (int)(f->val_len > 100 ? 100 : f->val_len), f->val);
                return -1;
            }
        if (f->val_len == 0 || ss_parse__double(&d, f) == 0)
            datalike = 1;
    }
    need[n] = o->event_time;
    role[n++] = "--event-time";
    for (i = 0; o->have_window && i < o->wagg.n_group; i++) {
        need[n] = o->wagg.group[i];
        role[n++] = "a --group-by field";
    }
    for (i = 0; i < o->n_dedup; i++) {
        need[n] = o->dedup[i];
        role[n++] = "a --dedup field";
    }
    for (i = 0; i < n; i++) {
        /* A parsed header's names are its cells (ss_parse__csv). */
        if (!ss_parse__find(h, need[i])) {
            snprintf(why, size, "no column '%s' (%s)%s", need[i], role[i],
                     datalike ? "; the first line looks like data: a CSV "
                                "file must start with a header line naming "
                                "its columns"
                              : "");
            return -1;
        }
    }
    return 0;
}

/* A bad header: the rows of [p, end) are counted bad in one report. */
static int
bad_header(reader *rd, const char *p, const char *end, uint64_t hdr_line,
           const char *why)
{
    char reason[600];
    uint64_t rows = 0;
    size_t n;

    while (p < end) {
        const char *q;

        n = ss_parse__record_len(p, (size_t)(end - p), 1, NULL);
        for (q = p; q < p + n; q++)
            if (*q != ' ' && *q != '\t' && *q != '\r')
                break;
        rows += q < p + n;
        p += n < (size_t)(end - p) ? n + 1 : n;
    }
    rd->r->b.lines += rows;
    snprintf(reason, sizeof(reason),
             "bad CSV header: %s (%" PRIu64 " row%s under it)", why, rows,
             rows == 1 ? "" : "s");
    return report_bad(rd, hdr_line, rows, reason, NULL);
}

/* Warn once per run about a value field that no kept row of a batch
 * has as a number: its aggregates are null (a misspelt sum:F?). */
static void
warn_values(reader *rd, uint64_t batch, uint32_t numeric)
{
    ss_runner *r = rd->r;
    const ss_run_options *o = r->o;
    size_t v;

    if (!o->errors || r->b.n == 0)
        return;
    for (v = 0; v < o->wagg.n_vals; v++) {
        if ((numeric & (1u << v)) || (r->b.vals_warned & (1u << v)))
            continue;
        r->b.vals_warned |= 1u << v;
        if (rd->val_seen[v] == 0)
            fprintf(o->errors,
                    "statestore run: warning: no record of batch %" PRIu64
                    " has a field '%s' (read by --agg): its aggregates are "
                    "null; is the name right?\n",
                    batch, o->wagg.vals[v]);
        else
            fprintf(o->errors,
                    "statestore run: warning: field '%s' (read by --agg) "
                    "is in %" PRIu64 " records of batch %" PRIu64
                    " but never a number: its aggregates are null\n",
                    o->wagg.vals[v], rd->val_seen[v], batch);
    }
}

/* The CSV header of range rg: parsed into *header from hdr (which it
 * points into).  0, 1 if it is bad (reported, rows counted), or < 0. */
static int
read_csv_header(reader *rd, ss_fields *header, ss_buf *hdr, char **pp,
                char *end, uint64_t *lineno, const ss_range *rg)
{
    char why[400];
    const char *pwhy;
    uint64_t nls, hdr_line = 1;
    size_t n;
    int rc;

    hdr->len = 0;
    if (rg->start == 0) {
        n = ss_parse__record_len(*pp, (size_t)(end - *pp), 1, &nls);
        if ((rc = ss_buf_append(hdr, *pp, n)) < 0)
            return rc;
        hdr_line = *lineno;
        *pp += n < (size_t)(end - *pp) ? n + 1 : n;
        *lineno += nls + 1;
    } else if ((rc = ss_source__read_header(hdr, rd->dir, rg->name)) < 0) {
        if (rc != SS_EINVAL)
            return rc;
        snprintf(why, sizeof(why), "%s", ss_error_last());
        goto bad;
    }
    while (hdr->len &&
           (hdr->data[hdr->len - 1] == ' ' || hdr->data[hdr->len - 1] == '\t' ||
            hdr->data[hdr->len - 1] == '\r'))
        hdr->len--;
    if ((rc = ss_buf_append(hdr, "", 1)) < 0)
        return rc;
    hdr->len--;
    if (ss_parse__csv(header, (char *)hdr->data, hdr->len, NULL, &pwhy) < 0) {
        snprintf(why, sizeof(why), "%s", pwhy);
        goto bad;
    }
    if (check_header(why, sizeof(why), header, rd->r->o) < 0)
        goto bad;
    return 0;
bad:
    if ((rc = bad_header(rd, *pp, end, hdr_line, why)) < 0)
        return rc;
    return 1;
}

int
ss_batch__read(ss_runner *r, const ss_offset_entry *e)
{
    const ss_run_options *o = r->o;
    ss_buf data = SS_BUF_INIT, hdr = SS_BUF_INIT;
    ss_fields header;
    reader rd;
    uint32_t numeric = 0;
    size_t i, k;
    int rc = 0;

    memset(&rd, 0, sizeof(rd));
    rd.r = r;
    rd.dir = ss_source__is_stdin(o) ? r->stdin_st->location : r->input_dir;
    rd.wm = e->watermark;
    for (i = 0; i < e->n_ranges; i++) {
        const ss_range *rg = &e->ranges[i];
        uint64_t lineno = rg->line, nls;
        char *p, *end;
        size_t n;

        rd.file = rg->name;
        rd.fmt = ss_source__is_stdin(o) ? SS_IN_JSON
                                        : ss_source__format(o, rg->name);
        rd.header = rd.fmt == SS_IN_CSV ? &header : NULL;
        data.len = 0;
        if ((rc = ss_source__read_range(&data, rd.dir, rg->name, rg->start,
                                        rg->end)) < 0)
            goto out;
        p = (char *)data.data;
        end = p + data.len;
        if (rg->start == 0 && data.len >= 3 && memcmp(p, UTF8_BOM, 3) == 0)
            p += 3;
        if (rd.fmt == SS_IN_CSV) {
            rc = read_csv_header(&rd, &header, &hdr, &p, end, &lineno, rg);
            if (rc < 0)
                goto out;
            if (rc > 0)
                continue;
        }
        while (p < end) {
            n = ss_parse__record_len(p, (size_t)(end - p), rd.fmt == SS_IN_CSV,
                                     &nls);
            if ((rc = take_line(&rd, p, n, lineno)) < 0)
                goto out;
            lineno += nls + 1;
            p += n < (size_t)(end - p) ? n + 1 : n;
        }
    }
    for (k = 0; k < r->b.n; k++)
        numeric |= r->b.recs[k].present;
    warn_values(&rd, e->batch, numeric);
    rc = 0;
out:
    ss_buf_free(&data);
    ss_buf_free(&hdr);
    return rc;
}

void
ss_batch__reset(ss_run_batch *b)
{
    b->n = 0;
    b->arena.len = 0;
    b->lines = b->bad = b->late = 0;
    b->max_ts = INT64_MIN;
    free(b->keep);
    b->keep = NULL;
}

void
ss_batch__free(ss_run_batch *b)
{
    free(b->recs);
    free(b->vals);
    free(b->keep);
    ss_buf_free(&b->arena);
}
