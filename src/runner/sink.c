/*
 * sink.c -- a batch's output: rows formatted, then written to the sink.
 *
 * With a window the rows are the windows the batch closed, gathered
 * from every partition; with dedup only they are the kept input
 * records, in input order, written in the output format: a JSON object
 * of the record's fields (CSV cells as strings, empty ones null), or a
 * CSV row under a header of the batch's field names.
 *
 * Invariants:
 * 1. (runner.c invariant 3) A directory sink gets one object per batch,
 *    part-<N>.<csv|jsonl>, written atomically by ss_storage_put and
 *    replaced whole on replay; a batch with no output writes nothing.
 * 2. The output is a function of the batch alone: window rows are
 *    sorted by window then group key, so neither partitioning
 *    nor thread timing changes the bytes, and a replay is identical.
 * 3. stdout cannot be replaced on replay, so it is at-least-once: a
 *    batch replayed after a crash prints its rows again.
 */
#include "runner/runner_int.h"

#include "runner/parse.h"
#include "util/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct row_ref {
    const unsigned char *key;
    size_t klen;
    const unsigned char *val;
} row_ref;

static int
cmp_rows(const void *a, const void *b)
{
    const row_ref *x = a, *y = b;

    return ss_key_cmp(x->key, x->klen, y->key, y->klen);
}

/* One field of a record's encoded fields (batch.c, format in ss_rec). */
typedef struct enc_field {
    int type;
    const unsigned char *name, *val;
    uint64_t name_len, val_len;
} enc_field;

static int
next_field(enc_field *f, const unsigned char **p, const unsigned char *end)
{
    if (*p >= end)
        return 0;
    f->type = *(*p)++;
    if (ss_get_varint(p, end, &f->name_len) < 0 ||
        f->name_len > (uint64_t)(end - *p))
        return -1;
    f->name = *p;
    *p += f->name_len;
    if (ss_get_varint(p, end, &f->val_len) < 0 ||
        f->val_len > (uint64_t)(end - *p))
        return -1;
    f->val = *p;
    *p += f->val_len;
    return 1;
}

static int
json_value(ss_buf *out, const enc_field *f)
{
    if (f->type == SS_VAL_STRING)
        return ss_wagg__json_string(out, (const char *)f->val, f->val_len);
    if (f->type == SS_VAL_NULL)
        return ss_buf_append(out, "null", 4);
    return ss_buf_append(out, f->val, f->val_len); /* number, bool as read */
}

/* A kept record as a JSON object: its fields in input order. */
static int
format_json_record(ss_buf *out, const unsigned char *p,
                   const unsigned char *end)
{
    enc_field f;
    int rc, more, first = 1;

    if ((rc = ss_buf_append(out, "{", 1)) < 0)
        return rc;
    while ((more = next_field(&f, &p, end)) > 0) {
        if ((!first && (rc = ss_buf_append(out, ",", 1)) < 0) ||
            (rc = ss_wagg__json_string(out, (const char *)f.name, f.name_len)) <
                0 ||
            (rc = ss_buf_append(out, ":", 1)) < 0 ||
            (rc = json_value(out, &f)) < 0)
            return rc;
        first = 0;
    }
    if (more < 0)
        return ss_error_set(SS_EINVAL, "sink: malformed record fields");
    return ss_buf_append(out, "}\n", 2);
}

/* A CSV output column: a field name, in the batch's arena. */
typedef struct column {
    const unsigned char *name;
    uint64_t len;
} column;

/* The index of column `name`, trying `hint` first (records mostly share
 * one layout, so a field is usually at its own position); -1 if absent. */
static long
col_find(const column *cols, size_t n, const enc_field *f, size_t hint)
{
    size_t i;

    if (hint < n && cols[hint].len == f->name_len &&
        memcmp(cols[hint].name, f->name, f->name_len) == 0)
        return (long)hint;
    for (i = 0; i < n; i++)
        if (cols[i].len == f->name_len &&
            memcmp(cols[i].name, f->name, f->name_len) == 0)
            return (long)i;
    return -1;
}

/*
 * Dedup-only output: the kept records in input order, in the chosen
 * format.  CSV columns are every field name the batch's kept records
 * have, in first-seen order (records may differ: JSON lines need not
 * share fields); a record lacking a column gets an empty cell.
 */
static int
format_records(ss_runner *r, ss_buf *out, uint64_t *rows_out)
{
    const ss_run_options *o = r->o;
    const unsigned char *arena = r->b.arena.data;
    column *cols = NULL;
    const enc_field **cells = NULL;
    enc_field *fields = NULL;
    size_t n_cols = 0, cap = 0, k, c, nf;
    int rc = 0, more;

    for (k = 0; k < r->b.n; k++) {
        const ss_rec *rec = &r->b.recs[k];
        const unsigned char *p = arena + rec->line_off,
                            *end = p + rec->line_len;
        enc_field f;

        if (r->b.keep && !r->b.keep[k])
            continue;
        (*rows_out)++;
        if (o->output_format != SS_OUT_CSV) {
            if ((rc = format_json_record(out, p, end)) < 0)
                goto out;
            continue;
        }
        for (nf = 0; (more = next_field(&f, &p, end)) > 0; nf++) {
            if (col_find(cols, n_cols, &f, nf) >= 0)
                continue;
            if (n_cols == cap) {
                column *nc =
                    realloc(cols, (cap = cap ? 2 * cap : 16) * sizeof(*nc));

                if (!nc) {
                    rc = ss_error_set(SS_ENOMEM, "out of memory formatting "
                                                 "output");
                    goto out;
                }
                cols = nc;
            }
            cols[n_cols].name = f.name;
            cols[n_cols++].len = f.name_len;
        }
        if (more < 0) {
            rc = ss_error_set(SS_EINVAL, "sink: malformed record fields");
            goto out;
        }
    }
    if (o->output_format != SS_OUT_CSV || *rows_out == 0)
        goto out;
    if (!(cells = calloc(n_cols, sizeof(*cells))) ||
        !(fields = calloc(n_cols, sizeof(*fields)))) {
        rc = ss_error_set(SS_ENOMEM, "out of memory formatting output");
        goto out;
    }
    for (c = 0; c < n_cols; c++)
        if ((c && (rc = ss_buf_append(out, ",", 1)) < 0) ||
            (rc = ss_wagg__csv_cell(out, (const char *)cols[c].name,
                                    cols[c].len)) < 0)
            goto out;
    if ((rc = ss_buf_append(out, "\n", 1)) < 0)
        goto out;
    for (k = 0; k < r->b.n; k++) {
        const ss_rec *rec = &r->b.recs[k];
        const unsigned char *p = arena + rec->line_off,
                            *end = p + rec->line_len;
        long i;

        if (r->b.keep && !r->b.keep[k])
            continue;
        memset(cells, 0, n_cols * sizeof(*cells));
        /* Names are unique within a record (batch.c), so at most n_cols. */
        for (nf = 0; nf < n_cols && next_field(&fields[nf], &p, end) > 0; nf++)
            if ((i = col_find(cols, n_cols, &fields[nf], nf)) >= 0)
                cells[i] = &fields[nf];
        for (c = 0; c < n_cols; c++) {
            const enc_field *f = cells[c];

            if ((c && (rc = ss_buf_append(out, ",", 1)) < 0) ||
                (f && f->type != SS_VAL_NULL &&
                 (rc = ss_wagg__csv_cell(out, (const char *)f->val,
                                         f->val_len)) < 0))
                goto out;
        }
        if ((rc = ss_buf_append(out, "\n", 1)) < 0)
            goto out;
    }
out:
    free(cells);
    free(fields);
    free(cols);
    return rc;
}

/* Format the batch's output rows, sorted by window then group key. */
int
ss_sink__format(ss_runner *r, ss_buf *out, uint64_t *rows_out)
{
    const ss_run_options *o = r->o;
    size_t vsize = ss_wagg__value_size(&o->wagg), n = 0, k;
    row_ref *rows = NULL;
    unsigned i;
    int rc = 0;

    *rows_out = 0;
    if (!o->have_window)
        return format_records(r, out, rows_out);
    for (i = 0; i < o->partitions; i++)
        n += r->agg.parts[i].res.n_rows;
    if (n == 0)
        return 0;
    if (!(rows = malloc(n * sizeof(*rows))))
        return ss_error_set(SS_ENOMEM, "out of memory sorting output");
    n = 0;
    for (i = 0; i < o->partitions; i++) {
        const ss_buf *rb = &r->agg.parts[i].res.rows;
        size_t off = 0;

        while (off < rb->len) {
            uint32_t kl = ss_load_le32(rb->data + off);

            rows[n].key = rb->data + off + 4;
            rows[n].klen = kl;
            rows[n].val = rb->data + off + 4 + kl;
            off += 4 + kl + vsize;
            n++;
        }
    }
    qsort(rows, n, sizeof(*rows), cmp_rows);
    if (o->output_format == SS_OUT_CSV &&
        (rc = ss_wagg__format_header(out, &o->wagg)) < 0)
        goto out;
    for (k = 0; k < n; k++)
        if ((rc = ss_wagg__format_row(out, &o->wagg, o->output_format,
                                      rows[k].key, rows[k].klen, rows[k].val)) <
            0)
            goto out;
    *rows_out = n;
out:
    free(rows);
    return rc;
}

int
ss_sink__write(ss_runner *r, uint64_t batch_no, const ss_buf *out)
{
    char name[64];

    if (!r->o->output || out->len == 0)
        return 0;
    if (strcmp(r->o->output, "-") == 0) {
        /* stdout cannot be replaced on replay: at-least-once there. */
        if (fwrite(out->data, 1, out->len, stdout) != out->len ||
            fflush(stdout) != 0)
            return ss_error_set(SS_EIO, "writing output to stdout: %s",
                                strerror(errno));
        return 0;
    }
    snprintf(name, sizeof(name), "part-%08" PRIu64 ".%s", batch_no,
             r->o->output_format == SS_OUT_CSV ? "csv" : "jsonl");
    return ss_storage_put(r->sink, name, out->data, out->len);
}
