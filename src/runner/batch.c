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

static int
report_bad(ss_runner *r, const char *file, uint64_t line, const char *why,
           const char *field)
{
    ss_run_batch *b = &r->b;

    b->bad++;
    if (r->o->bad_input_fatal)
        return ss_error_set(SS_EINVAL, "%s/%s:%" PRIu64 ": %s%s%s",
                            r->input_dir, file, line, why, field ? " " : "",
                            field ? field : "");
    if (r->o->errors && b->bad <= BAD_REPORT_MAX)
        fprintf(r->o->errors,
                "statestore run: skipped %s/%s:%" PRIu64 ": %s%s%s\n",
                r->input_dir, file, line, why, field ? " " : "",
                field ? field : "");
    return 0;
}

/* Parse one line into a record (or count it bad / late). */
static int
take_line(ss_runner *r, int fmt, const ss_fields *header, char *line,
          size_t len, const char *file, uint64_t lineno, int64_t wm)
{
    const ss_run_options *o = r->o;
    ss_run_batch *b = &r->b;
    ss_fields fs;
    const ss_field *f;
    const char *why = NULL, *missing = NULL;
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
    /* Dedup-only output repeats the raw line, so keep it before parsing
     * decodes escapes in place. */
    raw_off = b->arena.len;
    if (!o->have_window && (rc = ss_buf_append(&b->arena, line, len)) < 0)
        return rc;
    if (fmt == SS_IN_CSV)
        rc = ss_parse__csv(&fs, line, len, header, &why);
    else
        rc = ss_parse__json(&fs, line, len, &why);
    if (rc < 0)
        goto bad;
    rec = &b->recs[b->n];
    memset(rec, 0, sizeof(*rec));
    rec->line_off = (uint32_t)raw_off;
    rec->line_len = (uint32_t)(b->arena.len - raw_off);
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
        rec->dhash = XXH3_64bits(b->arena.data + rec->dkey_off, rec->dkey_len);
    }
    if (rec->ts > b->max_ts)
        b->max_ts = rec->ts;
    if (rec->ts < wm) {
        b->late++;
        return 0;
    }
    rec->val_idx = (uint32_t)b->n;
    for (v = 0; v < o->wagg.n_vals; v++) {
        double *dst = &b->vals[b->n * o->wagg.n_vals + v];

        *dst = 0;
        f = ss_parse__find(&fs, o->wagg.vals[v]);
        if (f && ss_parse__double(dst, f) == 0)
            rec->present |= 1u << v;
    }
    b->n++;
    return 0;
bad:
    b->arena.len = raw_off;
    return report_bad(r, file, lineno, why, missing);
}

int
ss_batch__read(ss_runner *r, const ss_offset_entry *e)
{
    const ss_run_options *o = r->o;
    const char *dir =
        ss_source__is_stdin(o) ? r->stdin_st->location : r->input_dir;
    ss_buf data = SS_BUF_INIT, hdr = SS_BUF_INIT;
    ss_fields header;
    size_t i;
    int rc = 0;

    for (i = 0; i < e->n_ranges; i++) {
        const ss_range *rg = &e->ranges[i];
        int fmt = ss_source__is_stdin(o) ? SS_IN_JSON
                                         : ss_source__format(o, rg->name);
        uint64_t lineno = rg->line;
        char *p, *end, *nl;
        const char *why;

        data.len = 0;
        if ((rc = ss_source__read_range(&data, dir, rg->name, rg->start,
                                        rg->end)) < 0)
            goto out;
        p = (char *)data.data;
        end = p + data.len;
        if (fmt == SS_IN_CSV) {
            if (rg->start == 0) {
                nl = memchr(p, '\n', (size_t)(end - p));
                hdr.len = 0;
                if ((rc = ss_buf_append(
                         &hdr, p, nl ? (size_t)(nl - p) : (size_t)(end - p))) <
                    0)
                    goto out;
                p = nl ? nl + 1 : end;
                lineno++;
            } else if ((rc = ss_source__read_header(&hdr, dir, rg->name)) < 0) {
                goto out;
            }
            if ((rc = ss_buf_append(&hdr, "", 1)) < 0)
                goto out;
            hdr.len--;
            if (ss_parse__csv(&header, (char *)hdr.data, hdr.len, NULL, &why) <
                0) {
                rc = ss_error_set(SS_EINVAL, "%s/%s:1: bad CSV header: %s", dir,
                                  rg->name, why);
                goto out;
            }
        }
        while (p < end) {
            nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl)
                nl = end;
            if ((rc = take_line(r, fmt, &header, p, (size_t)(nl - p), rg->name,
                                lineno, e->watermark)) < 0)
                goto out;
            lineno++;
            p = nl + 1;
        }
    }
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
