/*
 * log.c -- offset and commit log entries (format: docs/runner.md).
 *
 * Invariants:
 * 1. An entry is written whole through ss_storage_put (temp, fsync,
 *    rename, fsync directory on the local backend), so it is either
 *    absent or complete.
 * 2. Every entry ends with "crc32c XXXXXXXX\n" over all bytes before that
 *    line; a mismatch, a truncated entry or an unknown header is
 *    SS_ECORRUPT naming the object, never silently skipped.
 * 3. The batch number inside an entry must equal its object name.
 * 4. offsets/N and commits/N are created only if absent
 *    (ss_storage_put_new: link(2) of a synced temp file), so of two
 *    runners that both try to log batch N exactly one succeeds; the
 *    other gets SS_EEXISTS and stops (runner.c invariant 7).
 * 5. The query object and saved stdin batches end with the same
 *    "crc32c XXXXXXXX\n" line (ss_log__put_sealed); a read that finds it
 *    missing or wrong is SS_ECORRUPT naming the object.
 * 6. Pruning deletes entries oldest first, so an interrupted prune leaves
 *    the newest entries, contiguous (runner.c invariant 8).
 */
#include "runner/log.h"

#include "util/crc32c.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFFSET_MAGIC "statestore-offsets v1"
#define COMMIT_MAGIC "statestore-commits v1"

/* Append the CRC line to b and write it: replacing an older object, or
 * (only_new) only if there is none (invariant 4). */
static int
seal_and_put(ss_storage *st, const char *name, ss_buf *b, int only_new)
{
    uint32_t crc = ss_crc32c(0, b->data, b->len);
    int rc;

    if ((rc = ss_buf_printf(b, "crc32c %08" PRIx32 "\n", crc)) < 0)
        return rc;
    rc = only_new ? ss_storage_put_new(st, name, b->data, b->len)
                  : ss_storage_put(st, name, b->data, b->len);
    if (rc == SS_EEXISTS)
        return ss_error_set(rc, "%s/%s already exists", st->location, name);
    if (rc < 0)
        return ss_error_wrap(rc, "%s/%s", st->location, name);
    return 0;
}

int
ss_log__put_sealed(ss_storage *st, const char *name, const void *data,
                   size_t len, int only_new)
{
    ss_buf b = SS_BUF_INIT;
    int rc;

    if ((rc = ss_buf_append(&b, data, len)) >= 0)
        rc = seal_and_put(st, name, &b, only_new);
    ss_buf_free(&b);
    return rc;
}

int
ss_log__read_all(ss_buf *out, ss_storage *st, const char *name)
{
    ss_storage_reader *r = NULL;
    uint64_t size;
    size_t got;
    int rc;

    if ((rc = st->reader_open(&r, &size, st, name)) < 0)
        return rc;
    for (;;) {
        if ((rc = ss_buf_reserve(out, 4096)) < 0)
            break;
        if ((rc = st->reader_read(&got, r, out->data + out->len, 4096)) < 0)
            break;
        if (got == 0)
            break;
        out->len += got;
    }
    st->reader_close(r);
    return rc;
}

/* Check that b ends with "crc32c XXXXXXXX\n" (16 bytes) over every byte
 * before it, and drop that line from b->len. */
static int
check_seal(ss_buf *b, ss_storage *st, const char *name)
{
    char line[17], *end;
    unsigned long stored;
    uint32_t computed;

    if (b->len < 16 || b->data[b->len - 1] != '\n' ||
        memcmp(b->data + b->len - 16, "crc32c ", 7) != 0)
        return ss_error_set(SS_ECORRUPT,
                            "%s/%s: truncated or damaged (no crc32c line "
                            "at its end)",
                            st->location, name);
    memcpy(line, b->data + b->len - 16, 16);
    line[16] = '\0';
    stored = strtoul(line + 7, &end, 16);
    computed = ss_crc32c(0, b->data, b->len - 16);
    if (end != line + 15 || stored != computed)
        return ss_error_set(SS_ECORRUPT,
                            "%s/%s: checksum mismatch (stored %.8s, "
                            "computed %08" PRIx32 ")",
                            st->location, name, line + 7, computed);
    b->len -= 16;
    return 0;
}

int
ss_log__read_sealed(ss_buf *out, ss_storage *st, const char *name)
{
    int rc;

    out->len = 0;
    if ((rc = ss_log__read_all(out, st, name)) < 0)
        return rc;
    return check_seal(out, st, name);
}

int
ss_log__read_entry(ss_buf *b, char **body, ss_storage *st, const char *name,
                   const char *magic)
{
    size_t ml = strlen(magic);
    int rc;

    if ((rc = ss_log__read_sealed(b, st, name)) < 0)
        return rc;
    if ((rc = ss_buf_append(b, "", 1)) < 0)
        return rc;
    b->len--;
    if (b->len < ml + 1 || memcmp(b->data, magic, ml) != 0 ||
        b->data[ml] != '\n')
        return ss_error_set(SS_ECORRUPT, "%s/%s: not a %s entry", st->location,
                            name, magic);
    *body = (char *)b->data + ml + 1;
    return 0;
}

static int
put_range(ss_buf *b, const char *tag, const ss_range *r)
{
    return ss_buf_printf(b, "%s %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", tag,
                         r->start, r->end, r->line, r->name);
}

int
ss_log__write_offset(ss_storage *st, const ss_offset_entry *e)
{
    ss_buf b = SS_BUF_INIT;
    char name[32];
    size_t i;
    int rc;

    snprintf(name, sizeof(name), "%" PRIu64, e->batch);
    if ((rc = ss_buf_printf(
             &b, OFFSET_MAGIC "\nbatch %" PRIu64 "\nwatermark %" PRId64 "\n",
             e->batch, e->watermark)) < 0)
        goto out;
    for (i = 0; i < e->n_ranges; i++)
        if ((rc = put_range(&b, "file", &e->ranges[i])) < 0)
            goto out;
    if ((rc = put_range(&b, "position", &e->pos)) < 0)
        goto out;
    rc = seal_and_put(st, name, &b, 1);
out:
    ss_buf_free(&b);
    return rc;
}

static int
parse_range(ss_range *r, const char *s)
{
    int n = 0;
    unsigned long long a, b, c;

    if (sscanf(s, "%llu %llu %llu %n", &a, &b, &c, &n) != 3 || n == 0)
        return -1;
    if (strlen(s + n) >= sizeof(r->name) || a > b)
        return -1;
    r->start = a;
    r->end = b;
    r->line = c;
    strcpy(r->name, s + n);
    return 0;
}

int
ss_log__read_offset(ss_offset_entry *out, ss_storage *st, uint64_t batch)
{
    ss_buf b = SS_BUF_INIT;
    char name[32], *body, *line, *save = NULL;
    long long wm;
    unsigned long long bn;
    int rc, have_pos = 0;

    memset(out, 0, sizeof(*out));
    snprintf(name, sizeof(name), "%" PRIu64, batch);
    if ((rc = ss_log__read_entry(&b, &body, st, name, OFFSET_MAGIC)) < 0)
        goto out;
    rc = SS_ECORRUPT;
    line = strtok_r(body, "\n", &save);
    if (!line || sscanf(line, "batch %llu", &bn) != 1 || bn != batch)
        goto bad;
    line = strtok_r(NULL, "\n", &save);
    if (!line || sscanf(line, "watermark %lld", &wm) != 1)
        goto bad;
    out->batch = batch;
    out->watermark = wm;
    while ((line = strtok_r(NULL, "\n", &save))) {
        if (strncmp(line, "file ", 5) == 0 && !have_pos) {
            ss_range *nr =
                realloc(out->ranges, (out->n_ranges + 1) * sizeof(*nr));

            if (!nr) {
                rc = ss_error_set(SS_ENOMEM, "%s/%s: out of memory",
                                  st->location, name);
                goto out;
            }
            out->ranges = nr;
            if (parse_range(&nr[out->n_ranges], line + 5) < 0)
                goto bad;
            out->n_ranges++;
        } else if (strncmp(line, "position ", 9) == 0 && !have_pos) {
            if (parse_range(&out->pos, line + 9) < 0)
                goto bad;
            have_pos = 1;
        } else {
            goto bad;
        }
    }
    if (!have_pos)
        goto bad;
    rc = 0;
    goto out;
bad:
    rc = ss_error_set(SS_ECORRUPT, "%s/%s: malformed offset entry",
                      st->location, name);
out:
    ss_buf_free(&b);
    if (rc < 0)
        ss_log__offset_free(out);
    return rc;
}

void
ss_log__offset_free(ss_offset_entry *e)
{
    if (!e)
        return;
    free(e->ranges);
    e->ranges = NULL;
    e->n_ranges = 0;
}

int
ss_log__write_commit(ss_storage *st, const ss_commit_entry *e)
{
    ss_buf b = SS_BUF_INIT;
    char name[32];
    int rc;

    snprintf(name, sizeof(name), "%" PRIu64, e->batch);
    if ((rc = ss_buf_printf(&b,
                            COMMIT_MAGIC "\nbatch %" PRIu64
                                         "\nmax_event_time %" PRId64
                                         "\nrows_out %" PRIu64 "\n",
                            e->batch, e->max_event_time, e->rows_out)) >= 0)
        rc = seal_and_put(st, name, &b, 1);
    ss_buf_free(&b);
    return rc;
}

int
ss_log__read_commit(ss_commit_entry *out, ss_storage *st, uint64_t batch)
{
    ss_buf b = SS_BUF_INIT;
    char name[32], *body;
    unsigned long long bn, rows;
    long long mx;
    int rc;

    memset(out, 0, sizeof(*out));
    snprintf(name, sizeof(name), "%" PRIu64, batch);
    if ((rc = ss_log__read_entry(&b, &body, st, name, COMMIT_MAGIC)) < 0)
        goto out;
    if (sscanf(body, "batch %llu\nmax_event_time %lld\nrows_out %llu", &bn, &mx,
               &rows) != 3 ||
        bn != batch) {
        rc = ss_error_set(SS_ECORRUPT, "%s/%s: malformed commit entry",
                          st->location, name);
        goto out;
    }
    out->batch = bn;
    out->max_event_time = mx;
    out->rows_out = rows;
out:
    ss_buf_free(&b);
    return rc;
}

/* Is `name` "<N><suffix>" (N decimal)?  N in *out if so. */
static bool
entry_number(uint64_t *out, const char *name, const char *suffix)
{
    char *end;

    if (name[0] < '0' || name[0] > '9')
        return false;
    *out = strtoull(name, &end, 10);
    return strcmp(end, suffix) == 0;
}

int
ss_log__latest(uint64_t *out, int *found, ss_storage *st)
{
    ss_namelist l = {NULL, 0};
    size_t i;
    int rc;

    *found = 0;
    *out = 0;
    if ((rc = st->list(&l, st)) < 0)
        return rc;
    for (i = 0; i < l.count; i++) {
        uint64_t v;

        if (!entry_number(&v, l.names[i], ""))
            continue;
        if (!*found || v > *out)
            *out = v;
        *found = 1;
    }
    ss_namelist_free(&l);
    return 0;
}

/* Sort numbers ascending (prune: oldest first). */
static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int
ss_log__prune(ss_storage *st, uint64_t below, const char *suffix)
{
    ss_namelist l = {NULL, 0};
    uint64_t *old = NULL;
    size_t i, n = 0;
    char name[64];
    int rc;

    if ((rc = st->list(&l, st)) < 0)
        return rc;
    if (l.count && !(old = malloc(l.count * sizeof(*old)))) {
        rc = ss_error_set(SS_ENOMEM, "%s: out of memory pruning", st->location);
        goto out;
    }
    for (i = 0; i < l.count; i++) {
        uint64_t v;

        if (entry_number(&v, l.names[i], suffix) && v < below)
            old[n++] = v;
    }
    if (n)
        qsort(old, n, sizeof(*old), cmp_u64);
    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%" PRIu64 "%s", old[i], suffix);
        if ((rc = st->remove(st, name)) < 0) {
            rc = ss_error_wrap(rc, "pruning %s/%s", st->location, name);
            goto out;
        }
    }
out:
    free(old);
    ss_namelist_free(&l);
    return rc;
}
