/*
 * source.c -- input discovery: which bytes each batch reads.
 *
 * A source is a directory of JSONL/CSV files (read in name order) or
 * stdin.  Planning turns "what is new since position `pos`" into the
 * ranges of an offset entry; batch.c later reads exactly those ranges.
 *
 * Invariants:
 * 1. A planned range ends after a whole line whenever the file may still
 *    grow (follow mode) or a record bound cuts it, so a batch never
 *    reads half a line that a writer is still appending.
 * 2. The planned ranges are all a batch reads (runner.c invariant 1):
 *    reading is by byte range (pread), never "to end of file", so a
 *    replay reads the same bytes even if the file has grown since.
 * 3. stdin cannot be re-read, so each stdin batch is first stored in the
 *    checkpoint (sources/stdin/<N>.jsonl) and read back from there.
 */
#include "runner/runner_int.h"

#include "runner/parse.h"
#include "util/error.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STDIN_DEFAULT_RECORDS 10000
#define HEADER_MAX (1u << 20) /* bytes searched for a CSV header */

int
ss_source__is_stdin(const ss_run_options *o)
{
    return strcmp(o->input, "-") == 0;
}

int
ss_source__format(const ss_run_options *o, const char *name)
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

/* Read bytes [start, end) of dir/name into `out` (appended). */
int
ss_source__read_range(ss_buf *out, const char *dir, const char *name,
                      uint64_t start, uint64_t end)
{
    char path[SS_RUNNER_PATH_MAX];
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

/* The header record of a CSV file (its first record, after a UTF-8
 * BOM), into `out`; SS_EINVAL if the file has none (batch.c then counts
 * the file's rows bad), SS_EIO if it cannot be read. */
int
ss_source__read_header(ss_buf *out, const char *dir, const char *name)
{
    char path[SS_RUNNER_PATH_MAX];
    struct stat st;
    uint64_t size, got = 0, want;
    size_t skip = 0, n;
    int rc;

    if ((rc = join_path(path, sizeof(path), dir, name)) < 0)
        return rc;
    if (stat(path, &st) < 0)
        return ss_error_set(SS_EIO, "%s: %s", path, strerror(errno));
    size = (uint64_t)st.st_size;
    out->len = 0;
    /* Read 64 KiB at a time: a quoted header cell may hold newlines. */
    while (got < size && got < HEADER_MAX) {
        want = size - got < 65536 ? size - got : 65536;
        if ((rc = ss_source__read_range(out, dir, name, got, got + want)) < 0)
            return rc;
        got += want;
        if (out->len >= 3 && memcmp(out->data, "\xEF\xBB\xBF", 3) == 0)
            skip = 3;
        n = ss_parse__record_len((const char *)out->data + skip,
                                 out->len - skip, 1, NULL);
        if (skip + n < out->len) {
            memmove(out->data, out->data + skip, n);
            out->len = n;
            return 0;
        }
    }
    return ss_error_set(SS_EINVAL,
                        "no complete header line in the first %" PRIu64
                        " bytes (an unterminated quote?)",
                        got);
}

/* A name the offset log can hold (log.c writes it as the rest of a
 * line, read back after the numbers and the blanks before it): no
 * newline, no leading blank, shorter than SS_LOG_NAME_MAX. */
static int
check_name(const char *dir, const char *name)
{
    char shown[SS_LOG_NAME_MAX * 4 + 1];
    size_t i, k = 0, len = strlen(name);
    int ok = len < SS_LOG_NAME_MAX && !isspace((unsigned char)name[0]) &&
             !strchr(name, '\n');

    if (ok)
        return 0;
    for (i = 0; name[i] && k + 5 < sizeof(shown); i++) {
        unsigned char c = (unsigned char)name[i];

        if (c == '\n')
            k += (size_t)snprintf(shown + k, sizeof(shown) - k, "\\n");
        else if (c < 0x20 || c == 0x7f)
            k += (size_t)snprintf(shown + k, sizeof(shown) - k, "\\x%02x", c);
        else
            shown[k++] = (char)c;
    }
    shown[k] = '\0';
    return ss_error_set(SS_EINVAL,
                        "input file \"%s\" in %s: %s; rename it (keeping "
                        "it in name order) and run again",
                        shown, dir,
                        len >= SS_LOG_NAME_MAX
                            ? "the name is too long for the offset log "
                              "(255 bytes at most)"
                            : "a name with a newline or a leading blank "
                              "cannot be written to the offset log");
}

/* Plan batch `e->batch` from the input directory after position `pos`.
 * Leaves e->n_ranges 0 when there is nothing new. */
int
ss_source__plan_dir(ss_runner *r, ss_offset_entry *e, const ss_range *pos)
{
    const ss_run_options *o = r->o;
    DIR *d;
    struct dirent *de;
    char **names = NULL, path[SS_RUNNER_PATH_MAX];
    size_t n = 0, cap = 0, i;
    uint64_t records = 0;
    ss_buf data = SS_BUF_INIT;
    int rc = 0;

    e->pos = *pos;
    if (!(d = opendir(r->input_dir)))
        return ss_error_set(SS_EIO, "%s: cannot list input: %s", r->input_dir,
                            strerror(errno));
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || ss_source__format(o, de->d_name) < 0)
            continue;
        if (pos->name[0] && strcmp(de->d_name, pos->name) < 0)
            continue;
        /* Refused rather than skipped: skipping would lose its rows. */
        if ((rc = check_name(r->input_dir, de->d_name)) < 0)
            goto out;
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
            int csv = ss_source__format(o, names[i]) == SS_IN_CSV;
            size_t rl;

            data.len = 0;
            if ((rc = ss_source__read_range(&data, r->input_dir, names[i],
                                            rg.start, size)) < 0)
                goto out;
            /* Records, not lines: a CSV cut never splits a quoted cell
             * (batch.c reads by the same rule). */
            for (k = 0; k < data.len; k += rl + 1) {
                rl = ss_parse__record_len((const char *)data.data + k,
                                          data.len - k, csv, NULL);
                if (k + rl >= data.len)
                    break;
                last_nl = rg.start + k + rl + 1;
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
        if ((rc = ss_source__read_range(&data, r->input_dir, names[i], rg.start,
                                        rg.end)) < 0)
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
int
ss_source__plan_stdin(ss_runner *r, ss_offset_entry *e)
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
    /* Sealed with a CRC line, checked before each read (runner.c 10). */
    if ((rc = ss_log__put_sealed(r->stdin_st, name, data.data, data.len, 0)) <
        0)
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
