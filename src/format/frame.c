/*
 * frame.c -- writing and reading the checkpoint file format (frame.h).
 *
 * Invariant 1: every byte of a file is covered by the whole-file CRC in
 * the trailer; the header and each block also carry their own CRC, so a
 * reader detects damage before it decompresses or trusts a length.
 * Invariant 2: a reader never allocates more than the file can hold: a
 * stored length is checked against the bytes left in the file, a raw
 * length against SS_MAX_KEY_LEN + SS_MAX_VALUE_LEN plus the block size.
 * Invariant 3: a reader returns SS_EDONE only after the end marker, the
 * record count and the whole-file CRC matched and nothing follows.
 */
#include "format/frame.h"

#include "util/clock.h"
#include "util/crc32c.h"
#include "util/error.h"
#include "util/random.h"

#include <lz4.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define MAX_RAW_BLOCK                                                          \
    ((size_t)SS_MAX_KEY_LEN + SS_MAX_VALUE_LEN + 4u * 1024u * 1024u)
#define RECORD_OVERHEAD 22u /* op, cf, two varints */

char *
ss_store_id_hex(char *buf, const unsigned char id[SS_STORE_ID_LEN])
{
    unsigned i;

    for (i = 0; i < SS_STORE_ID_LEN; i++)
        snprintf(buf + 2 * i, 3, "%02x", id[i]);
    return buf;
}

const char *
ss_codec_name(unsigned codec)
{
    switch (codec) {
    case SS_CODEC_NONE: return "none";
    case SS_CODEC_LZ4: return "lz4";
    case SS_CODEC_ZSTD: return "zstd";
    default: return "unknown";
    }
}

const char *
ss_file_kind_name(unsigned kind)
{
    switch (kind) {
    case SS_FILE_DELTA: return "delta";
    case SS_FILE_SNAPSHOT: return "snapshot";
    case SS_FILE_META: return "meta";
    case SS_FILE_IDENTITY: return "store identity";
    case SS_FILE_WRITER: return "writer epoch";
    default: return "unknown";
    }
}

static int
emit(ss_frame_writer *fw, const void *data, size_t len)
{
    uint64_t t0 = ss_now_ns();
    int rc;

    fw->crc = ss_crc32c(fw->crc, data, len);
    rc = fw->st->writer_write(fw->w, data, len);
    fw->bytes += len;
    fw->write_ns += ss_now_ns() - t0;
    return rc;
}

int
ss_frame_writer_open(ss_frame_writer *fw, ss_storage *st, const char *name,
                     const ss_file_header *h, int level, size_t block_size)
{
    ss_buf hdr = SS_BUF_INIT;
    unsigned char fixed[SS_FRAME_FIXED_HEADER], crc[4];
    unsigned i;
    int rc;

    memset(fw, 0, sizeof(*fw));
    memset(fixed, 0, sizeof(fixed));
    fw->st = st;
    fw->codec = h->codec;
    fw->level = level;
    fw->block_size = block_size ? block_size : 64 * 1024;
    snprintf(fw->name, sizeof(fw->name), "%s", name);
    memcpy(fixed, SS_FRAME_MAGIC, 8);
    ss_store_le16(fixed + 8, SS_FORMAT_VERSION);
    fixed[10] = (unsigned char)h->kind;
    fixed[11] = (unsigned char)h->codec;
    ss_store_le64(fixed + 16, h->version);
    memcpy(fixed + 24, st->store_id, SS_STORE_ID_LEN);
    ss_store_le64(fixed + 40, st->writer_epoch);
    fw->nonce = ss_random_u64();
    ss_store_le64(fixed + 48, fw->nonce);
    ss_store_le32(fixed + 56, h->n_cf);
    if ((rc = ss_buf_append(&hdr, fixed, sizeof(fixed))) < 0)
        goto out;
    for (i = 0; i < h->n_cf; i++) {
        unsigned char e[2];
        size_t n = strlen(h->cf[i].name);

        e[0] = (unsigned char)h->cf[i].flags;
        e[1] = (unsigned char)n;
        if ((rc = ss_buf_append(&hdr, e, 2)) < 0 ||
            (rc = ss_buf_append(&hdr, h->cf[i].name, n)) < 0)
            goto out;
    }
    ss_store_le32(hdr.data + 12, (uint32_t)hdr.len + 4);
    ss_store_le32(crc, ss_crc32c(0, hdr.data, hdr.len));
    if ((rc = ss_buf_append(&hdr, crc, 4)) < 0)
        goto out;
    if ((rc = st->writer_open(&fw->w, st, name)) < 0)
        goto out;
    rc = emit(fw, hdr.data, hdr.len);
out:
    ss_buf_free(&hdr);
    if (rc < 0)
        ss_frame_writer_abort(fw);
    return rc;
}

static int
flush_block(ss_frame_writer *fw)
{
    unsigned char *bh;
    size_t raw_len = fw->raw.len, bound, stored = raw_len;
    uint64_t t0 = ss_now_ns();
    int rc, n;

    fw->out.len = 0;
    bound = fw->codec == SS_CODEC_ZSTD ? ZSTD_compressBound(raw_len)
            : fw->codec == SS_CODEC_LZ4
                ? (size_t)LZ4_compressBound((int)raw_len)
                : raw_len;
    if ((rc = ss_buf_reserve(&fw->out, SS_FRAME_BLOCK_HEADER + bound)) < 0)
        return rc;
    bh = fw->out.data;
    if (fw->codec == SS_CODEC_LZ4 && raw_len > 0) {
        n = LZ4_compress_default((const char *)fw->raw.data,
                                 (char *)bh + SS_FRAME_BLOCK_HEADER,
                                 (int)raw_len, (int)bound);
        if (n > 0 && (size_t)n < raw_len)
            stored = (size_t)n;
    } else if (fw->codec == SS_CODEC_ZSTD && raw_len > 0) {
        size_t z = ZSTD_compress(bh + SS_FRAME_BLOCK_HEADER, bound,
                                 fw->raw.data, raw_len, fw->level);
        if (!ZSTD_isError(z) && z < raw_len)
            stored = z;
    }
    /* Incompressible blocks stay raw: S == R tells the reader so. */
    if (stored == raw_len && raw_len > 0)
        memcpy(bh + SS_FRAME_BLOCK_HEADER, fw->raw.data, raw_len);
    ss_store_le32(bh, (uint32_t)raw_len);
    ss_store_le32(bh + 4, (uint32_t)stored);
    ss_store_le32(bh + 8, fw->block_records);
    ss_store_le32(bh + 12, ss_crc32c(ss_crc32c(0, bh, 12),
                                     bh + SS_FRAME_BLOCK_HEADER, stored));
    fw->encode_ns += ss_now_ns() - t0;
    rc = emit(fw, bh, SS_FRAME_BLOCK_HEADER + stored);
    fw->raw.len = 0;
    fw->block_records = 0;
    return rc;
}

int
ss_frame_writer_add(ss_frame_writer *fw, unsigned op, unsigned cf,
                    const void *key, size_t klen, const void *value,
                    size_t vlen)
{
    unsigned char *p;
    size_t n = 0;
    int rc;

    if ((rc = ss_buf_reserve(&fw->raw, RECORD_OVERHEAD + klen + vlen)) < 0)
        return rc;
    p = fw->raw.data + fw->raw.len;
    p[n++] = (unsigned char)op;
    p[n++] = (unsigned char)cf;
    n += ss_put_varint(p + n, klen);
    if (op == SS_OP_PUT)
        n += ss_put_varint(p + n, vlen);
    memcpy(p + n, key, klen);
    n += klen;
    if (op == SS_OP_PUT && vlen) {
        memcpy(p + n, value, vlen);
        n += vlen;
    }
    fw->raw.len += n;
    fw->block_records++;
    fw->total_records++;
    if (fw->raw.len >= fw->block_size)
        return flush_block(fw);
    return 0;
}

int
ss_frame_writer_finish(ss_frame_writer *fw)
{
    unsigned char end[SS_FRAME_BLOCK_HEADER] = {0}, tr[SS_FRAME_TRAILER];
    int rc;

    if (fw->raw.len > 0 && (rc = flush_block(fw)) < 0)
        return rc;
    ss_store_le32(end + 12, ss_crc32c(0, end, 12));
    if ((rc = emit(fw, end, sizeof(end))) < 0)
        return rc;
    ss_store_le64(tr, fw->total_records);
    if ((rc = emit(fw, tr, 8)) < 0)
        return rc;
    ss_store_le32(tr + 8, fw->crc);
    return emit(fw, tr + 8, 4);
}

static int
writer_commit(ss_frame_writer *fw, bool only_new)
{
    ss_storage_writer *w = fw->w;
    int rc;

    fw->w = NULL;
    rc = only_new ? fw->st->writer_commit_new(w) : fw->st->writer_commit(w);
    ss_buf_free(&fw->raw);
    ss_buf_free(&fw->out);
    return rc;
}

int
ss_frame_writer_commit(ss_frame_writer *fw)
{
    return writer_commit(fw, false);
}

int
ss_frame_writer_commit_new(ss_frame_writer *fw)
{
    return writer_commit(fw, true);
}

void
ss_frame_writer_abort(ss_frame_writer *fw)
{
    if (fw->w)
        fw->st->writer_abort(fw->w);
    fw->w = NULL;
    ss_buf_free(&fw->raw);
    ss_buf_free(&fw->out);
}

/* ------------------------------------------------------------- reading */

static int
corrupt(ss_frame_reader *fr, const char *what)
{
    return ss_error_set(SS_ECORRUPT,
                        "%s: corrupt %s file (version %llu): "
                        "%s",
                        fr->path, ss_file_kind_name(fr->header.kind),
                        (unsigned long long)fr->header.version, what);
}

/* Read exactly len bytes or fail as truncated. */
static int
read_exact(ss_frame_reader *fr, void *buf, size_t len)
{
    size_t got;
    int rc;

    if ((rc = fr->st->reader_read(&got, fr->r, buf, len)) < 0)
        return rc;
    if (got != len)
        return corrupt(fr, "truncated");
    fr->consumed += len;
    fr->crc = ss_crc32c(fr->crc, buf, len);
    return 0;
}

static int
parse_header(ss_frame_reader *fr, unsigned kind, uint64_t version)
{
    unsigned char fixed[SS_FRAME_FIXED_HEADER], *tbl = NULL;
    char want[33], got[33];
    const unsigned char *p, *end;
    uint32_t hlen, stored_crc;
    unsigned i, fv;
    int rc;

    if (fr->size < sizeof(fixed) + 4 + SS_FRAME_BLOCK_HEADER + SS_FRAME_TRAILER)
        return ss_error_set(SS_ECORRUPT,
                            "%s: corrupt file: truncated "
                            "(%llu bytes, expected version %llu)",
                            fr->path, (unsigned long long)fr->size,
                            (unsigned long long)version);
    if ((rc = read_exact(fr, fixed, sizeof(fixed))) < 0)
        return rc;
    if (memcmp(fixed, SS_FRAME_MAGIC, 8) != 0)
        return ss_error_set(SS_ECORRUPT,
                            "%s: not a statestore checkpoint "
                            "file (bad magic)",
                            fr->path);
    hlen = ss_load_le32(fixed + 12);
    if (hlen < sizeof(fixed) + 4 ||
        hlen > fr->size - SS_FRAME_BLOCK_HEADER - SS_FRAME_TRAILER)
        return ss_error_set(SS_ECORRUPT,
                            "%s: corrupt file: header length "
                            "%u out of range",
                            fr->path, hlen);
    tbl = malloc(hlen - sizeof(fixed));
    if (!tbl)
        return ss_error_set(SS_ENOMEM, "%s: out of memory", fr->path);
    if ((rc = read_exact(fr, tbl, hlen - sizeof(fixed) - 4)) < 0)
        goto out;
    stored_crc = 0;
    {
        unsigned char c[4];
        uint32_t computed = fr->crc;

        if ((rc = read_exact(fr, c, 4)) < 0)
            goto out;
        stored_crc = ss_load_le32(c);
        if (stored_crc != computed) {
            rc = ss_error_set(SS_ECORRUPT,
                              "%s: corrupt file: header "
                              "checksum mismatch (stored %08x, computed "
                              "%08x)",
                              fr->path, stored_crc, computed);
            goto out;
        }
    }
    fv = ss_load_le16(fixed + 8);
    if (fv < SS_FORMAT_VERSION_MIN || fv > SS_FORMAT_VERSION) {
        rc =
            ss_error_set(SS_EVERSION,
                         "%s: format version %u is not "
                         "supported (this build reads versions %u..%u%s)",
                         fr->path, fv, SS_FORMAT_VERSION_MIN, SS_FORMAT_VERSION,
                         fv == 1 ? "; version 1 files carry no store "
                                   "identity and are not read"
                                 : "");
        goto out;
    }
    fr->header.format = fv;
    fr->header.kind = fixed[10];
    fr->header.codec = fixed[11];
    fr->header.version = ss_load_le64(fixed + 16);
    memcpy(fr->header.store_id, fixed + 24, SS_STORE_ID_LEN);
    fr->header.writer_epoch = ss_load_le64(fixed + 40);
    fr->header.nonce = ss_load_le64(fixed + 48);
    fr->header.n_cf = ss_load_le32(fixed + 56);
    if (fr->header.kind != kind) {
        rc = ss_error_set(SS_ECORRUPT, "%s: is a %s file, expected %s",
                          fr->path, ss_file_kind_name(fr->header.kind),
                          ss_file_kind_name(kind));
        goto out;
    }
    if (fr->header.version != version) {
        rc = ss_error_set(SS_ECORRUPT,
                          "%s: holds version %llu, expected "
                          "%llu",
                          fr->path, (unsigned long long)fr->header.version,
                          (unsigned long long)version);
        goto out;
    }
    if (fr->st->has_store_id &&
        memcmp(fr->header.store_id, fr->st->store_id, SS_STORE_ID_LEN) != 0) {
        rc = ss_error_set(SS_ECORRUPT,
                          "%s: belongs to store %s, but this location is "
                          "store %s (a file copied from another store?)",
                          fr->path, ss_store_id_hex(got, fr->header.store_id),
                          ss_store_id_hex(want, fr->st->store_id));
        goto out;
    }
    if (fr->header.codec > SS_CODEC_ZSTD) {
        rc = corrupt(fr, "unknown codec");
        goto out;
    }
    if (fr->header.n_cf > SS_MAX_CFS) {
        rc = corrupt(fr, "too many column families");
        goto out;
    }
    fr->header.cf =
        calloc(fr->header.n_cf ? fr->header.n_cf : 1, sizeof(ss_cf_entry));
    if (!fr->header.cf) {
        rc = ss_error_set(SS_ENOMEM, "%s: out of memory", fr->path);
        goto out;
    }
    p = tbl;
    end = tbl + hlen - sizeof(fixed) - 4;
    for (i = 0; i < fr->header.n_cf; i++) {
        unsigned n;

        if (end - p < 2 || p[1] == 0 || (size_t)(end - p - 2) < p[1]) {
            rc = corrupt(fr, "bad column family table");
            goto out;
        }
        fr->header.cf[i].flags = p[0];
        if ((p[0] & SS_CF_FILE_DROPPED) &&
            (fv < 3 || fr->header.kind != SS_FILE_DELTA)) {
            rc = corrupt(fr, "dropped column family outside a version 3 "
                             "delta");
            goto out;
        }
        n = p[1];
        memcpy(fr->header.cf[i].name, p + 2, n);
        fr->header.cf[i].name[n] = '\0';
        p += 2 + n;
    }
    if (p != end)
        rc = corrupt(fr, "bad column family table length");
out:
    free(tbl);
    return rc;
}

int
ss_frame_reader_open(ss_frame_reader *fr, ss_storage *st, const char *name,
                     unsigned kind, uint64_t version)
{
    int rc;

    memset(fr, 0, sizeof(*fr));
    fr->st = st;
    fr->header.kind = kind;
    fr->header.version = version;
    snprintf(fr->path, sizeof(fr->path), "%s/%s", st->location, name);
    if ((rc = st->reader_open(&fr->r, &fr->size, st, name)) < 0)
        return rc;
    if ((rc = parse_header(fr, kind, version)) < 0) {
        ss_frame_reader_close(fr);
        return rc;
    }
    return 0;
}

static int
finish_file(ss_frame_reader *fr)
{
    unsigned char tr[SS_FRAME_TRAILER], extra;
    uint32_t computed;
    size_t got;
    int rc;

    if ((rc = read_exact(fr, tr, 8)) < 0)
        return rc;
    computed = fr->crc;
    if ((rc = read_exact(fr, tr + 8, 4)) < 0)
        return rc;
    if (ss_load_le32(tr + 8) != computed)
        return ss_error_set(SS_ECORRUPT,
                            "%s: corrupt file: checksum "
                            "mismatch (stored %08x, computed %08x)",
                            fr->path, ss_load_le32(tr + 8), computed);
    if (ss_load_le64(tr) != fr->total_records)
        return corrupt(fr, "record count in trailer does not match");
    if ((rc = fr->st->reader_read(&got, fr->r, &extra, 1)) < 0)
        return rc;
    if (got != 0)
        return corrupt(fr, "trailing bytes after the trailer");
    fr->done = 1;
    return SS_EDONE;
}

static int
next_block(ss_frame_reader *fr)
{
    unsigned char bh[SS_FRAME_BLOCK_HEADER];
    uint32_t raw_len, stored_len, count, crc;
    uint64_t left;
    int rc;

    if ((rc = read_exact(fr, bh, sizeof(bh))) < 0)
        return rc;
    raw_len = ss_load_le32(bh);
    stored_len = ss_load_le32(bh + 4);
    count = ss_load_le32(bh + 8);
    if (raw_len == 0 && stored_len == 0 && count == 0) {
        if (ss_load_le32(bh + 12) != ss_crc32c(0, bh, 12))
            return corrupt(fr, "bad end marker");
        return finish_file(fr);
    }
    left = fr->size - fr->consumed;
    if (stored_len > left ||
        left - stored_len < SS_FRAME_BLOCK_HEADER + SS_FRAME_TRAILER)
        return corrupt(fr, "block length runs past the end of the file");
    /* A block holds at least one record, so at least one raw byte. */
    if (raw_len == 0 || raw_len > MAX_RAW_BLOCK || stored_len > raw_len ||
        count == 0)
        return corrupt(fr, "bad block header");
    fr->stored.len = 0;
    if ((rc = ss_buf_reserve(&fr->stored, stored_len)) < 0)
        return rc;
    if ((rc = read_exact(fr, fr->stored.data, stored_len)) < 0)
        return rc;
    crc = ss_crc32c(ss_crc32c(0, bh, 12), fr->stored.data, stored_len);
    if (crc != ss_load_le32(bh + 12))
        return corrupt(fr, "block checksum mismatch");
    fr->raw.len = 0;
    if ((rc = ss_buf_reserve(&fr->raw, raw_len)) < 0)
        return rc;
    if (stored_len == raw_len) {
        memcpy(fr->raw.data, fr->stored.data, raw_len);
    } else if (fr->header.codec == SS_CODEC_LZ4) {
        int n = LZ4_decompress_safe((const char *)fr->stored.data,
                                    (char *)fr->raw.data, (int)stored_len,
                                    (int)raw_len);
        if (n < 0 || (uint32_t)n != raw_len)
            return corrupt(fr, "lz4 block does not decompress");
    } else if (fr->header.codec == SS_CODEC_ZSTD) {
        size_t n =
            ZSTD_decompress(fr->raw.data, raw_len, fr->stored.data, stored_len);
        if (ZSTD_isError(n) || n != raw_len)
            return corrupt(fr, "zstd block does not decompress");
    } else {
        return corrupt(fr, "compressed block in an uncompressed file");
    }
    fr->raw.len = raw_len;
    fr->pos = 0;
    fr->block_left = count;
    return 0;
}

int
ss_frame_reader_next(ss_frame_reader *fr, ss_record *rec)
{
    const unsigned char *p, *end;
    uint64_t klen, vlen = 0;
    int rc;

    if (fr->done)
        return SS_EDONE;
    while (fr->block_left == 0) {
        if (fr->pos != fr->raw.len)
            return corrupt(fr, "block holds bytes after its last record");
        if ((rc = next_block(fr)) < 0)
            return rc;
    }
    p = fr->raw.data + fr->pos;
    end = fr->raw.data + fr->raw.len;
    if (end - p < 3)
        return corrupt(fr, "record truncated");
    rec->op = *p++;
    rec->cf = *p++;
    if (rec->op != SS_OP_PUT && rec->op != SS_OP_REMOVE &&
        rec->op != SS_OP_CF_DROP)
        return corrupt(fr, "unknown record type");
    if (rec->op == SS_OP_REMOVE && fr->header.kind == SS_FILE_SNAPSHOT)
        return corrupt(fr, "remove record in a snapshot");
    if (rec->cf >= fr->header.n_cf)
        return corrupt(fr, "record names an undeclared column family");
    if (rec->op == SS_OP_CF_DROP) {
        /* A family drop: no key, no value (frame.h, FAMILIES). */
        if (fr->header.format < 3 || fr->header.kind != SS_FILE_DELTA)
            return corrupt(fr, "family drop record outside a version 3 "
                               "delta");
        if (*p++ != 0)
            return corrupt(fr, "family drop record with a key");
        rec->key = p;
        rec->klen = 0;
        rec->value = p;
        rec->vlen = 0;
        fr->pos = (size_t)(p - fr->raw.data);
        fr->block_left--;
        fr->total_records++;
        return 0;
    }
    if (ss_get_varint(&p, end, &klen) < 0 || klen == 0 || klen > SS_MAX_KEY_LEN)
        return corrupt(fr, "bad key length");
    if (rec->op == SS_OP_PUT &&
        (ss_get_varint(&p, end, &vlen) < 0 || vlen > SS_MAX_VALUE_LEN))
        return corrupt(fr, "bad value length");
    if ((uint64_t)(end - p) < klen + vlen)
        return corrupt(fr, "record runs past the end of its block");
    rec->key = p;
    rec->klen = (size_t)klen;
    rec->value = p + klen;
    rec->vlen = (size_t)vlen;
    fr->pos = (size_t)(p + klen + vlen - fr->raw.data);
    fr->block_left--;
    fr->total_records++;
    return 0;
}

void
ss_frame_reader_close(ss_frame_reader *fr)
{
    if (fr->r)
        fr->st->reader_close(fr->r);
    fr->r = NULL;
    free(fr->header.cf);
    fr->header.cf = NULL;
    ss_buf_free(&fr->stored);
    ss_buf_free(&fr->raw);
}
