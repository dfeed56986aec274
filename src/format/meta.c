/*
 * meta.c -- encode and decode <V>.meta (layout in meta.h).
 */
#include "format/meta.h"

#include "util/crc32c.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_FILE "f:"
#define KEY_NUM_KEYS "k:num_keys"

static int
by_name(const void *a, const void *b)
{
    const ss_meta_file *x = *(const ss_meta_file *const *)a;
    const ss_meta_file *y = *(const ss_meta_file *const *)b;

    return strcmp(x->name, y->name);
}

static int
add_file(ss_frame_writer *fw, ss_buf *val, const ss_meta_file *f)
{
    unsigned char head[1 + 10 + 4], *p = head;
    char key[2 + SS_META_NAME_MAX];
    bool inline_data = f->object[0] == '\0';

    *p++ = inline_data ? 1 : 0;
    p += ss_put_varint(p, f->size);
    ss_store_le32(p, f->crc);
    p += 4;
    val->len = 0;
    if (ss_buf_append(val, head, (size_t)(p - head)) < 0 ||
        (inline_data ? ss_buf_append(val, f->data, f->size)
                     : ss_buf_append(val, f->object, strlen(f->object))) < 0)
        return ss_error_set(SS_ENOMEM, "out of memory writing %s", fw->name);
    snprintf(key, sizeof(key), KEY_FILE "%s", f->name);
    return ss_frame_writer_add(fw, SS_OP_PUT, 0, key, strlen(key), val->data,
                               val->len);
}

int
ss_meta_write(ss_frame_writer *fw, ss_storage *st, const ss_meta *m, int level,
              size_t block_size)
{
    const ss_meta_file **sorted = NULL;
    unsigned char count[10];
    char name[64];
    ss_buf val = {0};
    size_t i;
    int rc;

    snprintf(name, sizeof(name), "%" PRIu64 ".meta", m->header.version);
    sorted = calloc(m->n_files + 1, sizeof(*sorted));
    if (!sorted)
        return ss_error_set(SS_ENOMEM, "out of memory writing %s", name);
    for (i = 0; i < m->n_files; i++)
        sorted[i] = &m->files[i];
    if (m->n_files > 1)
        qsort(sorted, m->n_files, sizeof(*sorted), by_name);
    if ((rc = ss_frame_writer_open(fw, st, name, &m->header, level,
                                   block_size)) < 0)
        goto out;
    for (i = 0; i < m->n_files; i++)
        if ((rc = add_file(fw, &val, sorted[i])) < 0)
            goto out;
    rc = ss_frame_writer_add(fw, SS_OP_PUT, 0, KEY_NUM_KEYS,
                             strlen(KEY_NUM_KEYS), count,
                             ss_put_varint(count, m->num_keys));
    if (rc == 0)
        rc = ss_frame_writer_finish(fw);
out:
    ss_buf_free(&val);
    free(sorted);
    return rc;
}

static int
bad(const ss_frame_reader *fr, const char *what)
{
    return ss_error_set(SS_ECORRUPT, "%s: corrupt meta file: %s", fr->path,
                        what);
}

/* A name RocksDB could have written and we may use as a path part. */
static bool
plain_name(const unsigned char *s, size_t len)
{
    size_t i;

    if (len == 0 || len >= SS_META_NAME_MAX || s[0] == '.')
        return false;
    for (i = 0; i < len; i++)
        if (s[i] == '/' || s[i] == '\0')
            return false;
    return true;
}

static int
parse_file(ss_meta_file *f, const ss_frame_reader *fr, const ss_record *rec)
{
    const unsigned char *p = rec->value, *end = rec->value + rec->vlen;
    size_t nlen = rec->klen - strlen(KEY_FILE), rest;
    unsigned how;

    memset(f, 0, sizeof(*f));
    if (!plain_name(rec->key + strlen(KEY_FILE), nlen))
        return bad(fr, "bad local file name");
    memcpy(f->name, rec->key + strlen(KEY_FILE), nlen);
    if (p == end)
        return bad(fr, "empty file entry");
    how = *p++;
    if (how > 1 || ss_get_varint(&p, end, &f->size) < 0 || end - p < 4)
        return bad(fr, "bad file entry");
    f->crc = ss_load_le32(p);
    p += 4;
    rest = (size_t)(end - p);
    if (how == 1) {
        if (rest != f->size)
            return bad(fr, "inline file length does not match its size");
        f->data = malloc(rest ? rest : 1);
        if (!f->data)
            return ss_error_set(SS_ENOMEM, "out of memory reading %s",
                                fr->path);
        memcpy(f->data, p, rest);
        if (ss_crc32c(0, f->data, rest) != f->crc)
            return bad(fr, "inline file checksum mismatch");
        return 0;
    }
    if (rest < strlen(SS_META_OBJECT_PREFIX) + 1 || !plain_name(p, rest) ||
        memcmp(p, SS_META_OBJECT_PREFIX, strlen(SS_META_OBJECT_PREFIX)) != 0)
        return bad(fr, "bad object name");
    memcpy(f->object, p, rest);
    return 0;
}

static int
add_record(ss_meta *m, size_t *cap, const ss_frame_reader *fr,
           const ss_record *rec, bool *have_count)
{
    const unsigned char *p;
    ss_meta_file *grown;
    int rc;

    if (rec->op != SS_OP_PUT || rec->cf != 0)
        return bad(fr, "unexpected record");
    if (rec->klen == strlen(KEY_NUM_KEYS) &&
        memcmp(rec->key, KEY_NUM_KEYS, rec->klen) == 0) {
        p = rec->value;
        if (ss_get_varint(&p, rec->value + rec->vlen, &m->num_keys) < 0 ||
            p != rec->value + rec->vlen)
            return bad(fr, "bad key count");
        *have_count = true;
        return 0;
    }
    if (rec->klen <= strlen(KEY_FILE) ||
        memcmp(rec->key, KEY_FILE, strlen(KEY_FILE)) != 0)
        return bad(fr, "unknown record");
    if (m->n_files == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        grown = realloc(m->files, *cap * sizeof(*grown));
        if (!grown)
            return ss_error_set(SS_ENOMEM, "out of memory reading %s",
                                fr->path);
        m->files = grown;
    }
    rc = parse_file(&m->files[m->n_files], fr, rec);
    m->n_files++; /* counted even on failure: ss_meta_free frees data */
    return rc;
}

int
ss_meta_read(ss_meta *out, ss_storage *st, uint64_t version)
{
    ss_frame_reader fr;
    ss_record rec;
    char name[64];
    size_t cap = 0;
    bool have_count = false;
    int rc;

    memset(out, 0, sizeof(*out));
    snprintf(name, sizeof(name), "%" PRIu64 ".meta", version);
    if ((rc = ss_frame_reader_open(&fr, st, name, SS_FILE_META, version)) < 0)
        return rc;
    out->header = fr.header;
    out->header.cf = calloc(fr.header.n_cf + 1, sizeof(ss_cf_entry));
    if (!out->header.cf) {
        rc = ss_error_set(SS_ENOMEM, "out of memory reading %s", fr.path);
        goto out;
    }
    if (fr.header.n_cf)
        memcpy(out->header.cf, fr.header.cf,
               fr.header.n_cf * sizeof(ss_cf_entry));
    while ((rc = ss_frame_reader_next(&fr, &rec)) == 0)
        if ((rc = add_record(out, &cap, &fr, &rec, &have_count)) < 0)
            goto out;
    if (rc == SS_EDONE)
        rc = have_count ? 0 : bad(&fr, "no key count");
out:
    ss_frame_reader_close(&fr);
    if (rc < 0)
        ss_meta_free(out);
    return rc;
}

void
ss_meta_free(ss_meta *m)
{
    size_t i;

    for (i = 0; i < m->n_files; i++)
        free(m->files[i].data);
    free(m->files);
    free(m->header.cf);
    memset(m, 0, sizeof(*m));
}
