/*
 * runner.c -- the micro-batch loop: offsets, operators, sink, commits.
 *
 * Per batch N (docs/runner.md gives the file formats):
 *
 *   plan --> offsets/N --> read+parse --> dedup --> window_agg --> sink
 *   (new input)  (durable)   (ranges)     (P stores, threads)      |
 *                                                      commits/N <-+
 *
 * Invariants (tests/runner/runner_exactly_once.c cites them):
 * 1. offsets/N is durable before any state of batch N is written, and
 *    names exactly the bytes batch N reads, plus the watermark it uses.
 * 2. Batch N loads every partition store at version N and commits N+1;
 *    a store already at N+1 (crash after its commit) is simply committed
 *    again from N, which replaces N+1 (statestore.h, convention 6).
 * 3. The sink's output for batch N is one object, part-N, replaced
 *    whole on replay; with (1) and (2) the replayed output is identical.
 * 4. commits/N is written only after every partition committed N+1 and
 *    the sink object is durable.  On restart the first batch without a
 *    commit entry is replayed from its offset entry if there is one, so
 *    no input is skipped and none is counted twice.
 * 5. The watermark of batch N is max(watermark of N-1, max event time
 *    through N-1 - lateness); it is computed from the logs, never from
 *    wall time, so a replay sees the same watermark.
 * 6. The checkpoint's `query` object fingerprints the query; a run with
 *    a different query is refused before anything is written.
 */
#include "runner/runner.h"

#include "checkpoint/storage.h"
#include "ops/dedup.h"
#include "runner/log.h"
#include "runner/parse.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define BAD_REPORT_MAX 10
#define STDIN_DEFAULT_RECORDS 10000
#define PATH_MAX_LEN 4096

/* ------------------------------------------------------------- types */

typedef struct part {
    ss_provider *prov;
    unsigned cf, cf2;
    uint32_t *idx;
    size_t n, cap;
    ss_wagg_result res;
    uint64_t dropped, evicted;
    uint64_t num_keys, memory_bytes, commit_ns;
    int rc;
    char err[1024];
} part;

typedef struct op {
    const char *name;
    part *parts;
} op;

typedef struct batch {
    ss_rec *recs;
    size_t n, cap;
    ss_buf arena;
    double *vals;
    size_t vals_cap;
    unsigned char *keep;
    uint64_t lines, bad, late;
    int64_t max_ts;
} batch;

typedef struct runner {
    const ss_run_options *o;
    unsigned threads;
    char input_dir[PATH_MAX_LEN];
    ss_storage *root, *offsets, *commits, *sink, *stdin_st;
    op agg, dd;
    batch b;
    FILE *mj;
    /* per-batch task dispatch */
    op *cur_op;
    uint64_t cur_batch;
    int64_t cur_wm;
    atomic_uint next_part;
} runner;

/* --------------------------------------------------------- utilities */

static int
is_stdin(const ss_run_options *o)
{
    return strcmp(o->input, "-") == 0;
}

static int
file_format(const ss_run_options *o, const char *name)
{
    const char *dot = strrchr(name, '.');

    if (o->input_format != SS_IN_AUTO)
        return o->input_format;
    if (!dot)
        return -1;
    if (strcmp(dot, ".csv") == 0)
        return SS_IN_CSV;
    if (strcmp(dot, ".json") == 0 || strcmp(dot, ".jsonl") == 0 ||
        strcmp(dot, ".ndjson") == 0)
        return SS_IN_JSON;
    return -1;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir/name into out; SS_EINVAL if it does not fit. */
static int
join_path(char *out, size_t size, const char *dir, const char *name)
{
    if (snprintf(out, size, "%s/%s", dir, name) >= (int)size)
        return ss_error_set(SS_EINVAL, "%s/%s: path too long", dir, name);
    return 0;
}

static int
open_storage(ss_storage **out, const char *dir, const char *sub)
{
    char path[PATH_MAX_LEN];

    if (snprintf(path, sizeof(path), "%s%s%s", dir, sub ? "/" : "",
                 sub ? sub : "") >= (int)sizeof(path))
        return ss_error_set(SS_EINVAL, "%s: path too long", dir);
    return ss_local_fs_open(out, path);
}

static void
free_storage(ss_storage *st)
{
    if (st)
        st->free(st);
}

/* Read bytes [start, end) of dir/name into `out` (appended). */
static int
read_range(ss_buf *out, const char *dir, const char *name, uint64_t start,
           uint64_t end)
{
    char path[PATH_MAX_LEN];
    size_t want = (size_t)(end - start), got = 0;
    ssize_t n;
    int fd, rc;

    if ((rc = join_path(path, sizeof(path), dir, name)) < 0)
        return rc;
    if ((fd = open(path, O_RDONLY)) < 0)
        return ss_error_set(SS_EIO, "%s: cannot open input: %s", path,
                            strerror(errno));
    if ((rc = ss_buf_reserve(out, want + 1)) < 0)
        goto out;
    while (got < want) {
        n = pread(fd, out->data + out->len + got, want - got,
                  (off_t)(start + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = ss_error_set(SS_EIO,
                              "%s: input shrank or unreadable at byte %" PRIu64
                              " (batch needs bytes %" PRIu64 "..%" PRIu64
                              "): %s",
                              path, start + got, start, end,
                              n < 0 ? strerror(errno) : "end of file");
            goto out;
        }
        got += (size_t)n;
    }
    out->len += got;
    rc = 0;
out:
    close(fd);
    return rc;
}

/* The first line of a CSV file (its header), into `out`. */
static int
read_header(ss_buf *out, const char *dir, const char *name)
{
    char path[PATH_MAX_LEN];
    struct stat st;
    uint64_t n;
    unsigned char *nl;
    int rc;

    if ((rc = join_path(path, sizeof(path), dir, name)) < 0)
        return rc;
    if (stat(path, &st) < 0)
        return ss_error_set(SS_EIO, "%s: %s", path, strerror(errno));
    n = (uint64_t)st.st_size < 65536 ? (uint64_t)st.st_size : 65536;
    out->len = 0;
    if ((rc = read_range(out, dir, name, 0, n)) < 0)
        return rc;
    nl = memchr(out->data, '\n', out->len);
    if (!nl)
        return ss_error_set(SS_EINVAL, "%s: no header line", path);
    out->len = (size_t)(nl - out->data);
    return 0;
}

/* ------------------------------------------------------------ planning */

/* Plan batch `e->batch` from the input directory after position `pos`.
 * Leaves e->n_ranges 0 when there is nothing new. */
static int
plan_dir(runner *r, ss_offset_entry *e, const ss_range *pos)
{
    const ss_run_options *o = r->o;
    DIR *d;
    struct dirent *de;
    char **names = NULL, path[PATH_MAX_LEN];
    size_t n = 0, cap = 0, i;
    uint64_t records = 0;
    ss_buf data = SS_BUF_INIT;
    int rc = 0;

    e->pos = *pos;
    if (!(d = opendir(r->input_dir)))
        return ss_error_set(SS_EIO, "%s: cannot list input: %s", r->input_dir,
                            strerror(errno));
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || file_format(o, de->d_name) < 0)
            continue;
        if (pos->name[0] && strcmp(de->d_name, pos->name) < 0)
            continue;
        if (strlen(de->d_name) >= SS_LOG_NAME_MAX)
            continue;
        if (n == cap) {
            char **nn =
                realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*nn));

            if (!nn) {
                rc = ss_error_set(SS_ENOMEM, "out of memory listing %s",
                                  r->input_dir);
                goto out;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = ss_error_set(SS_ENOMEM, "out of memory listing %s",
                              r->input_dir);
            goto out;
        }
        n++;
    }
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    for (i = 0; i < n; i++) {
        struct stat st;
        ss_range rg;
        uint64_t size, end;
        size_t k;

        if (o->max_files && e->n_ranges >= o->max_files)
            break;
        if (o->max_records && records >= o->max_records)
            break;
        if ((rc = join_path(path, sizeof(path), r->input_dir, names[i])) < 0)
            goto out;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        size = (uint64_t)st.st_size;
        memset(&rg, 0, sizeof(rg));
        strcpy(rg.name, names[i]);
        rg.line = 1;
        if (pos->name[0] && strcmp(names[i], pos->name) == 0) {
            rg.start = pos->end;
            rg.line = pos->line;
        }
        if (size <= rg.start)
            continue;
        end = size;
        if (o->follow || o->max_records) {
            /* Cut after a whole line: at the bound, or (follow) at the
             * last newline, since a writer may be mid-line. */
            uint64_t last_nl = rg.start, lines = 0;

            data.len = 0;
            if ((rc = read_range(&data, r->input_dir, names[i], rg.start,
                                 size)) < 0)
                goto out;
            for (k = 0; k < data.len; k++) {
                if (data.data[k] != '\n')
                    continue;
                last_nl = rg.start + k + 1;
                lines++;
                if (o->max_records && records + lines >= o->max_records)
                    break;
            }
            if (o->follow ||
                (o->max_records && records + lines >= o->max_records))
                end = last_nl;
            records += lines;
            if (end == size && data.len && data.data[data.len - 1] != '\n')
                records++;
        }
        if (end <= rg.start)
            continue;
        rg.end = end;
        {
            ss_range *nr = realloc(e->ranges, (e->n_ranges + 1) * sizeof(*nr));

            if (!nr) {
                rc = ss_error_set(SS_ENOMEM, "out of memory planning");
                goto out;
            }
            e->ranges = nr;
            nr[e->n_ranges++] = rg;
        }
        /* The position advances to the end of this range; its line is
         * counted when the batch is read, so recount here. */
        e->pos = rg;
        e->pos.start = rg.end;
        e->pos.line = rg.line;
        data.len = 0;
        if ((rc = read_range(&data, r->input_dir, names[i], rg.start, rg.end)) <
            0)
            goto out;
        for (k = 0; k < data.len; k++)
            if (data.data[k] == '\n')
                e->pos.line++;
        e->pos.end = rg.end;
    }
out:
    closedir(d);
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    ss_buf_free(&data);
    return rc;
}

/* Plan a batch from stdin: read up to max_records lines and store them in
 * the checkpoint (sources/stdin/<N>.jsonl) so the batch can be replayed. */
static int
plan_stdin(runner *r, ss_offset_entry *e)
{
    uint64_t want =
                 r->o->max_records ? r->o->max_records : STDIN_DEFAULT_RECORDS,
             got = 0;
    ss_buf data = SS_BUF_INIT;
    char *line = NULL, name[64];
    size_t lcap = 0;
    ssize_t n;
    int rc = 0;

    while (got < want && (n = getline(&line, &lcap, stdin)) > 0) {
        if ((rc = ss_buf_append(&data, line, (size_t)n)) < 0)
            goto out;
        if (line[n - 1] != '\n' && (rc = ss_buf_append(&data, "\n", 1)) < 0)
            goto out;
        got++;
    }
    if (got == 0)
        goto out;
    snprintf(name, sizeof(name), "%" PRIu64 ".jsonl", e->batch);
    if ((rc = ss_storage_put(r->stdin_st, name, data.data, data.len)) < 0)
        goto out;
    if (!(e->ranges = calloc(1, sizeof(*e->ranges)))) {
        rc = ss_error_set(SS_ENOMEM, "out of memory");
        goto out;
    }
    strcpy(e->ranges[0].name, name);
    e->ranges[0].end = data.len;
    e->ranges[0].line = 1;
    e->n_ranges = 1;
out:
    free(line);
    ss_buf_free(&data);
    return rc;
}

/* -------------------------------------------------------------- input */

static int
batch_grow(batch *b, size_t n_vals)
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
report_bad(runner *r, const char *file, uint64_t line, const char *why,
           const char *field)
{
    batch *b = &r->b;

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
take_line(runner *r, int fmt, const ss_fields *header, char *line, size_t len,
          const char *file, uint64_t lineno, int64_t wm)
{
    const ss_run_options *o = r->o;
    batch *b = &r->b;
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

static int
read_batch(runner *r, const ss_offset_entry *e)
{
    const ss_run_options *o = r->o;
    const char *dir = is_stdin(o) ? r->stdin_st->location : r->input_dir;
    ss_buf data = SS_BUF_INIT, hdr = SS_BUF_INIT;
    ss_fields header;
    size_t i;
    int rc = 0;

    for (i = 0; i < e->n_ranges; i++) {
        const ss_range *rg = &e->ranges[i];
        int fmt = is_stdin(o) ? SS_IN_JSON : file_format(o, rg->name);
        uint64_t lineno = rg->line;
        char *p, *end, *nl;
        const char *why;

        data.len = 0;
        if ((rc = read_range(&data, dir, rg->name, rg->start, rg->end)) < 0)
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
            } else if ((rc = read_header(&hdr, dir, rg->name)) < 0) {
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

/* ---------------------------------------------------------- partitions */

static int
part_open(runner *r, op *o, part *p, unsigned i)
{
    const ss_run_options *ro = r->o;
    char path[PATH_MAX_LEN];
    int rc;

    if (snprintf(path, sizeof(path), "%s/state/%s/%u", ro->checkpoint, o->name,
                 i) >= (int)sizeof(path))
        return ss_error_set(SS_EINVAL, "%s: path too long", ro->checkpoint);
    if ((rc = ss_provider_open(&p->prov, path, ro->store_options,
                               ro->n_store_options)) < 0)
        return ss_error_wrap(rc, "%s", path);
    if (o == &r->agg)
        rc = ss_provider_cf(&p->cf, p->prov, "window_agg", SS_CF_ORDERED);
    else if ((rc = ss_provider_cf(&p->cf, p->prov, "dedup", 0)) >= 0)
        rc = ss_provider_cf(&p->cf2, p->prov, "dedup_time", SS_CF_ORDERED);
    return rc;
}

static int
part_run(runner *r, op *o, part *p, unsigned i)
{
    batch *b = &r->b;
    ss_store *s = NULL;
    ss_metrics m;
    int rc;

    if (!p->prov && (rc = part_open(r, o, p, i)) < 0)
        return rc;
    if ((rc = ss_provider_load(&s, p->prov, r->cur_batch)) < 0) {
        rc = ss_error_wrap(rc, "%s partition %u: loading version %" PRIu64,
                           o->name, i, r->cur_batch);
        goto out;
    }
    if (o == &r->agg)
        rc = ss_wagg__apply(&p->res, s, p->cf, &r->o->wagg, b->recs, p->idx,
                            p->n, b->arena.data, b->vals, r->cur_wm);
    else
        rc =
            ss_dedup__apply(&p->dropped, &p->evicted, b->keep, s, p->cf, p->cf2,
                            b->recs, p->idx, p->n, b->arena.data, r->cur_wm);
    if (rc < 0) {
        rc = ss_error_wrap(rc, "%s partition %u, batch %" PRIu64, o->name, i,
                           r->cur_batch);
        goto out;
    }
    if ((rc = ss_store_commit(NULL, s)) < 0) {
        rc = ss_error_wrap(rc, "%s partition %u: commit of batch %" PRIu64,
                           o->name, i, r->cur_batch);
        goto out;
    }
    m.version = SS_METRICS_VERSION;
    if ((rc = ss_provider_metrics(&m, p->prov)) < 0)
        goto out;
    p->num_keys = m.num_keys;
    p->memory_bytes = m.memory_bytes;
    p->commit_ns = m.commit_total_ns;
    rc = ss_provider_maintenance(p->prov);
out:
    ss_store_free(s);
    return rc;
}

static void *
worker(void *arg)
{
    runner *r = arg;
    unsigned i;

    while ((i = atomic_fetch_add(&r->next_part, 1)) < r->o->partitions) {
        part *p = &r->cur_op->parts[i];

        p->rc = part_run(r, r->cur_op, p, i);
        if (p->rc < 0)
            snprintf(p->err, sizeof(p->err), "%s", ss_error_last());
    }
    return NULL;
}

/* Run `o` on every partition, on the worker threads. */
static int
run_op(runner *r, op *o)
{
    pthread_t th[256];
    unsigned n = r->threads, i, started = 0;
    int rc = 0;

    if (n > r->o->partitions)
        n = r->o->partitions;
    if (n > 256)
        n = 256;
    r->cur_op = o;
    atomic_store(&r->next_part, 0);
    for (i = 0; i < r->o->partitions; i++)
        o->parts[i].rc = 0;
    for (i = 1; i < n; i++) {
        if (pthread_create(&th[i], NULL, worker, r) != 0)
            break;
        started++;
    }
    worker(r); /* the calling thread is worker 0 */
    for (i = 1; i <= started; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < r->o->partitions; i++)
        if (o->parts[i].rc < 0) {
            rc = ss_error_set(o->parts[i].rc, "%s", o->parts[i].err);
            break;
        }
    return rc;
}

/* Assign rows to partitions by hash (dedup key or group key). */
static int
partition_rows(runner *r, op *o, int by_dedup)
{
    batch *b = &r->b;
    unsigned P = r->o->partitions, i;
    size_t k;

    for (i = 0; i < P; i++)
        o->parts[i].n = 0;
    for (k = 0; k < b->n; k++) {
        part *p;

        if (b->keep && !by_dedup && !b->keep[k])
            continue;
        p = &o->parts[(by_dedup ? b->recs[k].dhash : b->recs[k].hash) % P];
        if (p->n == p->cap) {
            size_t ncap = p->cap ? p->cap * 2 : 1024;
            uint32_t *ni = realloc(p->idx, ncap * sizeof(*ni));

            if (!ni)
                return ss_error_set(SS_ENOMEM, "out of memory partitioning");
            p->idx = ni;
            p->cap = ncap;
        }
        p->idx[p->n++] = (uint32_t)k;
    }
    return 0;
}

/* --------------------------------------------------------------- sink */

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
static int
format_output(runner *r, ss_buf *out, uint64_t *rows_out)
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

static int
write_sink(runner *r, uint64_t batch_no, const ss_buf *out)
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

/* ------------------------------------------------------------ the loop */

static int
check_query(runner *r)
{
    const ss_run_options *o = r->o;
    ss_buf want = SS_BUF_INIT, have = SS_BUF_INIT;
    size_t i;
    int rc;

    if ((rc = ss_buf_printf(&want,
                            "statestore-query v1\ninput %s\nformat %d\n"
                            "event_time %s\nlateness %" PRId64
                            "\npartitions %u\ndedup ",
                            o->input, o->input_format, o->event_time,
                            o->lateness_ms, o->partitions)) < 0)
        goto out;
    for (i = 0; i < o->n_dedup; i++)
        if ((rc = ss_buf_printf(&want, "%s%s", i ? "," : "", o->dedup[i])) < 0)
            goto out;
    if ((rc = ss_buf_printf(&want, "\n")) < 0)
        goto out;
    if (o->have_window && (rc = ss_wagg__describe(&want, &o->wagg)) < 0)
        goto out;
    if ((rc = ss_buf_printf(&want, "\n")) < 0)
        goto out;
    rc = ss_log__read_all(&have, r->root, "query");
    if (rc == SS_ENOTFOUND) {
        rc = ss_storage_put(r->root, "query", want.data, want.len);
        goto out;
    }
    if (rc < 0)
        goto out;
    if (have.len != want.len || memcmp(have.data, want.data, want.len)) {
        if ((rc = ss_buf_append(&have, "", 1)) < 0 ||
            (rc = ss_buf_append(&want, "", 1)) < 0)
            goto out;
        rc = ss_error_set(SS_EINVAL,
                          "checkpoint %s was written by a different query; "
                          "use a new --checkpoint folder, or the query it "
                          "was written with.\n--- checkpoint's query:\n%s"
                          "--- this run's query:\n%s",
                          o->checkpoint, (char *)have.data, (char *)want.data);
    }
out:
    ss_buf_free(&want);
    ss_buf_free(&have);
    return rc;
}

static void
fmt_wm(char *buf, size_t n, int64_t wm)
{
    if (wm == INT64_MIN)
        snprintf(buf, n, "none");
    else
        ss_wagg__format_time(buf, n, wm);
}

static void
op_totals(const runner *r, const op *o, uint64_t *keys, uint64_t *bytes,
          uint64_t *commit_ns)
{
    unsigned i;

    *keys = *bytes = *commit_ns = 0;
    if (!o->parts)
        return;
    for (i = 0; i < r->o->partitions; i++) {
        *keys += o->parts[i].num_keys;
        *bytes += o->parts[i].memory_bytes;
        if (o->parts[i].commit_ns > *commit_ns)
            *commit_ns = o->parts[i].commit_ns;
    }
}

static void
report(runner *r, const ss_offset_entry *e, uint64_t rows_out, uint64_t dups,
       uint64_t ns, uint64_t state_ns, int replay)
{
    const ss_run_options *o = r->o;
    double secs = (double)ns / 1e9;
    double rate = secs > 0 ? (double)r->b.lines / secs : 0;
    uint64_t ak, ab, ac, dk, db, dc;
    char wm[40];

    op_totals(r, &r->agg, &ak, &ab, &ac);
    op_totals(r, &r->dd, &dk, &db, &dc);
    fmt_wm(wm, sizeof(wm), e->watermark);
    if (o->progress) {
        fprintf(o->progress,
                "batch %" PRIu64 "%s: %" PRIu64 " rows (%" PRIu64
                " bad, %" PRIu64 " late",
                e->batch, replay ? " (replay)" : "", r->b.lines, r->b.bad,
                r->b.late);
        if (o->n_dedup)
            fprintf(o->progress, ", %" PRIu64 " dup", dups);
        fprintf(o->progress,
                "), %.0f rows/s, watermark %s, out %" PRIu64 " rows", rate, wm,
                rows_out);
        if (o->n_dedup)
            fprintf(o->progress, " | dedup state %" PRIu64 " rows %.1f MiB", dk,
                    (double)db / 1048576.0);
        if (o->have_window)
            fprintf(o->progress,
                    " | window_agg state %" PRIu64 " rows %.1f MiB", ak,
                    (double)ab / 1048576.0);
        fprintf(o->progress, " | commit %.1f ms (state phase %.1f ms)\n",
                (double)(o->have_window ? ac : dc) / 1e6,
                (double)state_ns / 1e6);
        fflush(o->progress);
    }
    if (r->mj) {
        fprintf(r->mj,
                "{\"batch\":%" PRIu64 ",\"replay\":%s,\"rows\":%" PRIu64
                ",\"bad\":%" PRIu64 ",\"late\":%" PRIu64
                ",\"duplicates\":%" PRIu64 ",\"seconds\":%.6f,"
                "\"rows_per_s\":%.1f,\"watermark\":\"%s\",\"rows_out\":%" PRIu64
                ",\"state_phase_ms\":%.3f,\"operators\":{",
                e->batch, replay ? "true" : "false", r->b.lines, r->b.bad,
                r->b.late, dups, secs, rate, wm, rows_out,
                (double)state_ns / 1e6);
        if (o->n_dedup)
            fprintf(r->mj,
                    "\"dedup\":{\"state_rows\":%" PRIu64
                    ",\"state_bytes\":%" PRIu64 ",\"commit_ms\":%.3f}%s",
                    dk, db, (double)dc / 1e6, o->have_window ? "," : "");
        if (o->have_window)
            fprintf(r->mj,
                    "\"window_agg\":{\"state_rows\":%" PRIu64
                    ",\"state_bytes\":%" PRIu64 ",\"commit_ms\":%.3f}",
                    ak, ab, (double)ac / 1e6);
        fprintf(r->mj, "}}\n");
        fflush(r->mj);
    }
}

static void
batch_reset(batch *b)
{
    b->n = 0;
    b->arena.len = 0;
    b->lines = b->bad = b->late = 0;
    b->max_ts = INT64_MIN;
    free(b->keep);
    b->keep = NULL;
}

static int
run_batch(runner *r, const ss_offset_entry *e, int replay, ss_commit_entry *ce,
          ss_run_stats *st)
{
    const ss_run_options *o = r->o;
    uint64_t t0 = ss_now_ns(), t1, t2, rows_out = 0, dups = 0;
    ss_buf out = SS_BUF_INIT;
    unsigned i;
    int rc;

    batch_reset(&r->b);
    r->cur_batch = e->batch;
    r->cur_wm = e->watermark;
    if ((rc = read_batch(r, e)) < 0)
        goto out;
    t1 = ss_now_ns();
    if (o->n_dedup) {
        if (!(r->b.keep = calloc(r->b.n ? r->b.n : 1, 1))) {
            rc = ss_error_set(SS_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = partition_rows(r, &r->dd, 1)) < 0 ||
            (rc = run_op(r, &r->dd)) < 0)
            goto out;
        for (i = 0; i < o->partitions; i++)
            dups += r->dd.parts[i].dropped;
    }
    if (o->have_window) {
        for (i = 0; i < o->partitions; i++)
            ss_wagg__result_free(&r->agg.parts[i].res);
        if ((rc = partition_rows(r, &r->agg, 0)) < 0 ||
            (rc = run_op(r, &r->agg)) < 0)
            goto out;
    }
    st->read_ns += t1 - t0;
    t1 = ss_now_ns() - t1;
    st->state_ns += t1;
    {
        uint64_t k1, b1, c1, k2, b2, c2;

        op_totals(r, &r->agg, &k1, &b1, &c1);
        op_totals(r, &r->dd, &k2, &b2, &c2);
        st->commit_ns += c1 + c2;
        st->state_rows = k1 + k2;
        st->state_bytes = b1 + b2;
    }
    t2 = ss_now_ns();
    if ((rc = format_output(r, &out, &rows_out)) < 0 ||
        (rc = write_sink(r, e->batch, &out)) < 0)
        goto out;
    ce->batch = e->batch;
    if (r->b.max_ts > ce->max_event_time)
        ce->max_event_time = r->b.max_ts;
    ce->rows_out = rows_out;
    if ((rc = ss_log__write_commit(r->commits, ce)) < 0)
        goto out;
    st->sink_ns += ss_now_ns() - t2;
    st->batches++;
    st->replayed += replay != 0;
    st->rows_in += r->b.lines;
    st->bad += r->b.bad;
    st->late += r->b.late;
    st->duplicates += dups;
    st->rows_out += rows_out;
    report(r, e, rows_out, dups, ss_now_ns() - t0, t1, replay);
out:
    ss_buf_free(&out);
    return rc;
}

static int64_t
next_watermark(int64_t wm, int64_t max_ts, int64_t lateness)
{
    int64_t cand;

    if (max_ts == INT64_MIN || max_ts < INT64_MIN + lateness + 1)
        return wm;
    cand = max_ts - lateness;
    return cand > wm ? cand : wm;
}

static int
validate(const ss_run_options *o)
{
    if (!o->input || !o->checkpoint)
        return ss_error_set(SS_EINVAL, "run: --input and --checkpoint are "
                                       "required");
    if (!o->event_time || !o->event_time[0])
        return ss_error_set(SS_EINVAL, "run: --event-time is required");
    if (!o->have_window && !o->n_dedup)
        return ss_error_set(SS_EINVAL, "run: no operator: give --window "
                                       "(aggregation) and/or --dedup");
    if (o->partitions < 1 || o->partitions > 4096)
        return ss_error_set(SS_EINVAL, "run: --partitions %u not in 1..4096",
                            o->partitions);
    if (o->have_window) {
        if (o->wagg.window_ms <= 0 || o->wagg.slide_ms <= 0)
            return ss_error_set(SS_EINVAL, "run: --window and --slide must "
                                           "be > 0");
        if (o->wagg.slide_ms > o->wagg.window_ms)
            return ss_error_set(SS_EINVAL, "run: --slide larger than "
                                           "--window would skip events");
        if (o->wagg.window_ms / o->wagg.slide_ms > 1000)
            return ss_error_set(SS_EINVAL, "run: --window/--slide > 1000 "
                                           "windows per event");
        if (o->wagg.n_aggs == 0)
            return ss_error_set(SS_EINVAL, "run: --agg is required with "
                                           "--window");
    }
    if (is_stdin(o) && o->input_format == SS_IN_CSV)
        return ss_error_set(SS_EINVAL, "run: stdin input is JSON lines "
                                       "only");
    return 0;
}

void
ss_run_options_init(ss_run_options *o)
{
    memset(o, 0, sizeof(*o));
    o->partitions = 4;
    o->output_format = SS_OUT_JSON;
    o->poll_ms = 1000;
}

static void
ops_close(runner *r, op *o)
{
    unsigned i;

    if (!o->parts)
        return;
    for (i = 0; i < r->o->partitions; i++) {
        ss_provider_close(o->parts[i].prov);
        free(o->parts[i].idx);
        ss_wagg__result_free(&o->parts[i].res);
    }
    free(o->parts);
    o->parts = NULL;
}

static void
sleep_ms(unsigned ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

int
ss_run(ss_run_stats *stats_out, const ss_run_options *o)
{
    runner r;
    ss_run_stats st;
    ss_offset_entry prev, e;
    ss_commit_entry ce;
    uint64_t next = 0, last_off = 0;
    int found_c = 0, found_o = 0, rc, prev_had_data = 0;
    long nproc;

    memset(&r, 0, sizeof(r));
    memset(&st, 0, sizeof(st));
    memset(&prev, 0, sizeof(prev));
    memset(&e, 0, sizeof(e));
    memset(&ce, 0, sizeof(ce));
    r.o = o;
    r.agg.name = "window_agg";
    r.dd.name = "dedup";
    batch_reset(&r.b);
    if ((rc = validate(o)) < 0)
        goto out;
    nproc = sysconf(_SC_NPROCESSORS_ONLN);
    r.threads = o->threads ? o->threads : (nproc > 0 ? (unsigned)nproc : 1);
    if (!is_stdin(o)) {
        struct stat sb;

        if (stat(o->input, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
            rc = ss_error_set(SS_EINVAL, "--input %s: not a directory",
                              o->input);
            goto out;
        }
        snprintf(r.input_dir, sizeof(r.input_dir), "%s", o->input);
    }
    if ((rc = open_storage(&r.root, o->checkpoint, NULL)) < 0 ||
        (rc = check_query(&r)) < 0 ||
        (rc = open_storage(&r.offsets, o->checkpoint, "offsets")) < 0 ||
        (rc = open_storage(&r.commits, o->checkpoint, "commits")) < 0)
        goto out;
    if (is_stdin(o) &&
        (rc = open_storage(&r.stdin_st, o->checkpoint, "sources/stdin")) < 0)
        goto out;
    if (o->output && strcmp(o->output, "-") != 0 &&
        (rc = open_storage(&r.sink, o->output, NULL)) < 0)
        goto out;
    if (o->metrics_json && !(r.mj = fopen(o->metrics_json, "a"))) {
        rc = ss_error_set(SS_EIO, "%s: cannot open: %s", o->metrics_json,
                          strerror(errno));
        goto out;
    }
    if ((o->have_window &&
         !(r.agg.parts = calloc(o->partitions, sizeof(part)))) ||
        (o->n_dedup && !(r.dd.parts = calloc(o->partitions, sizeof(part))))) {
        rc = ss_error_set(SS_ENOMEM, "out of memory");
        goto out;
    }
    /* Where the logs say we are (invariant 4). */
    if ((rc = ss_log__latest(&next, &found_c, r.commits)) < 0 ||
        (rc = ss_log__latest(&last_off, &found_o, r.offsets)) < 0)
        goto out;
    ce.max_event_time = INT64_MIN;
    prev.watermark = INT64_MIN;
    if (found_c) {
        if ((rc = ss_log__read_commit(&ce, r.commits, next)) < 0 ||
            (rc = ss_log__read_offset(&prev, r.offsets, next)) < 0)
            goto out;
        prev_had_data = prev.n_ranges > 0;
        next++;
    }
    st.first_batch = next;
    if (o->progress && (found_c || found_o))
        fprintf(o->progress,
                "resuming from checkpoint %s: %" PRIu64
                " batches committed%s\n",
                o->checkpoint, next,
                found_o && last_off >= next ? ", replaying the uncommitted "
                                              "batch first"
                                            : "");
    while (!(o->stop && *o->stop) &&
           !(o->max_batches && st.batches >= o->max_batches)) {
        int replay = 0;

        ss_log__offset_free(&e);
        memset(&e, 0, sizeof(e));
        if (found_o && next <= last_off) {
            if ((rc = ss_log__read_offset(&e, r.offsets, next)) < 0)
                goto out;
            replay = 1;
        } else {
            e.batch = next;
            e.watermark = next_watermark(prev.watermark, ce.max_event_time,
                                         o->lateness_ms);
            rc = is_stdin(o) ? plan_stdin(&r, &e) : plan_dir(&r, &e, &prev.pos);
            if (rc < 0)
                goto out;
            if (e.n_ranges == 0) {
                /* No new input: one no-data batch if the watermark moved
                 * (closes windows), else wait or stop. */
                if (!(prev_had_data && e.watermark > prev.watermark)) {
                    if (!o->follow)
                        break;
                    sleep_ms(o->poll_ms);
                    continue;
                }
            }
            if ((rc = ss_log__write_offset(r.offsets, &e)) < 0)
                goto out;
        }
        if ((rc = run_batch(&r, &e, replay, &ce, &st)) < 0)
            goto out;
        prev_had_data = e.n_ranges > 0;
        ss_log__offset_free(&prev);
        prev = e;
        memset(&e, 0, sizeof(e));
        next++;
    }
    rc = 0;
out:
    ss_log__offset_free(&prev);
    ss_log__offset_free(&e);
    {
        char saved[1024];

        ss_error__save(saved, sizeof(saved));
        ops_close(&r, &r.agg);
        ops_close(&r, &r.dd);
        ss_error__restore(saved);
    }
    free(r.b.recs);
    free(r.b.vals);
    free(r.b.keep);
    ss_buf_free(&r.b.arena);
    free_storage(r.root);
    free_storage(r.offsets);
    free_storage(r.commits);
    free_storage(r.sink);
    free_storage(r.stdin_st);
    if (r.mj)
        fclose(r.mj);
    if (stats_out)
        *stats_out = st;
    return rc;
}
