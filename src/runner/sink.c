/*
 * sink.c -- a batch's output: rows formatted, then written to the sink.
 *
 * With a window the rows are the windows the batch closed, gathered
 * from every partition; with dedup only they are the kept input lines,
 * verbatim, in input order.
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
    if (!o->have_window) {
        for (k = 0; k < r->b.n; k++) {
            const ss_rec *rec = &r->b.recs[k];

            if (r->b.keep && !r->b.keep[k])
                continue;
            if ((rc = ss_buf_append(out, r->b.arena.data + rec->line_off,
                                    rec->line_len)) < 0 ||
                (rc = ss_buf_append(out, "\n", 1)) < 0)
                return rc;
            (*rows_out)++;
        }
        return 0;
    }
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
