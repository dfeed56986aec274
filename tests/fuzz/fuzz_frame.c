/*
 * fuzz_frame.c -- libFuzzer target for every checkpoint file parser:
 * delta and snapshot files (kinds 1 and 2, also what rocksdb changelog
 * mode writes) through format/frame.c's reader, and .meta files (kind 3)
 * through format/meta.c, which reads them with the same reader.
 *
 * Input: one mode byte, then the file.  Mode bit 0 set: before parsing,
 * recompute every checksum (header CRC, block CRCs, end marker, trailer
 * count and CRC) so mutations reach the record decoder and the
 * decompressors instead of stopping at the first CRC.  The kind and
 * store version expected are taken from the file's own header, so the
 * reader gets past those checks too.  The file is served by an
 * in-memory ss_storage (no filesystem).
 *
 * What must hold (else the fuzzer reports a crash): no memory error or
 * undefined behaviour (ASan+UBSan), every failure returns a negative
 * code with a message naming the file, and every record handed out lies
 * inside the reader's buffers with a key of 1..65535 bytes.
 */
#include "checkpoint/storage.h"
#include "format/frame.h"
#include "format/meta.h"
#include "statestore.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint32_t sink;

typedef struct mem_storage {
    ss_storage base;
    const unsigned char *data;
    size_t size;
} mem_storage;

struct ss_storage_reader {
    const mem_storage *st;
    size_t pos;
};

static int
mem_reader_open(ss_storage_reader **out, uint64_t *size_out, ss_storage *base,
                const char *name)
{
    mem_storage *st = (mem_storage *)base;
    ss_storage_reader *r = calloc(1, sizeof(*r));

    (void)name;
    *out = NULL;
    if (!r)
        return ss_error_set(SS_ENOMEM, "out of memory");
    r->st = st;
    if (size_out)
        *size_out = st->size;
    *out = r;
    return 0;
}

static int
mem_reader_read(size_t *got, ss_storage_reader *r, void *buf, size_t len)
{
    size_t n = r->st->size - r->pos;

    if (n > len)
        n = len;
    if (n)
        memcpy(buf, r->st->data + r->pos, n);
    r->pos += n;
    *got = n;
    return 0;
}

static void
mem_reader_close(ss_storage_reader *r)
{
    free(r);
}

/* Recompute the checksums of a frame in place (frame.h's layout). */
static void
fix_checksums(unsigned char *p, size_t len)
{
    uint64_t records = 0;
    uint32_t h, s, r, c;
    size_t pos;

    if (len < 16)
        return;
    h = ss_load_le32(p + 12);
    if (h < 32 || h > len)
        return;
    ss_store_le32(p + h - 4, ss_crc32c(0, p, h - 4));
    for (pos = h; pos + SS_FRAME_BLOCK_HEADER <= len;) {
        r = ss_load_le32(p + pos);
        s = ss_load_le32(p + pos + 4);
        c = ss_load_le32(p + pos + 8);
        if (r == 0 && s == 0 && c == 0) {
            ss_store_le32(p + pos + 12, ss_crc32c(0, p + pos, 12));
            pos += SS_FRAME_BLOCK_HEADER;
            if (pos + SS_FRAME_TRAILER <= len) {
                ss_store_le64(p + pos, records);
                ss_store_le32(p + pos + 8, ss_crc32c(0, p, pos + 8));
            }
            return;
        }
        if (s > len - pos - SS_FRAME_BLOCK_HEADER)
            return;
        ss_store_le32(p + pos + 12,
                      ss_crc32c(ss_crc32c(0, p + pos, 12),
                                p + pos + SS_FRAME_BLOCK_HEADER, s));
        records += c;
        pos += SS_FRAME_BLOCK_HEADER + s;
    }
}

static void
check_failure(int rc, const char *name)
{
    if (rc >= 0)
        return;
    /* Every failure names the file. */
    if (!strstr(ss_error_last(), name)) {
        fprintf(stderr, "error without the file name: %d %s\n", rc,
                ss_error_last());
        abort();
    }
}

static void
parse_frame(ss_storage *st, unsigned kind, uint64_t version)
{
    ss_frame_reader fr;
    ss_record rec;
    char name[64];
    int rc;

    snprintf(name, sizeof(name), "%llu.%s", (unsigned long long)version,
             ss_file_kind_name(kind));
    ss_error_clear();
    rc = ss_frame_reader_open(&fr, st, name, kind, version);
    if (rc < 0) {
        check_failure(rc, name);
        return;
    }
    while ((rc = ss_frame_reader_next(&fr, &rec)) == 0) {
        /* A family drop (op 3, format 3) has no key. */
        if (rec.op == SS_OP_CF_DROP && rec.klen == 0 && rec.vlen == 0 &&
            fr.header.format == 3 && rec.cf < fr.header.n_cf)
            continue;
        if (rec.klen < 1 || rec.klen > SS_MAX_KEY_LEN ||
            rec.cf >= fr.header.n_cf ||
            (rec.op != SS_OP_PUT && rec.op != SS_OP_REMOVE))
            abort();
        /* Touch every byte: ASan checks the bounds. */
        sink = ss_crc32c(sink, rec.key, rec.klen);
        if (rec.vlen)
            sink = ss_crc32c(sink, rec.value, rec.vlen);
    }
    if (rc != SS_EDONE)
        check_failure(rc, name);
    ss_frame_reader_close(&fr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mem_storage st;
    unsigned char *copy;
    uint64_t version = 0;
    unsigned kind = SS_FILE_DELTA;
    ss_meta meta;
    int rc;

    if (size < 1)
        return 0;
    copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data + 1, size - 1);
    if (data[0] & 1)
        fix_checksums(copy, size - 1);
    if (size - 1 >= 24) {
        kind = copy[10];
        version = ss_load_le64(copy + 16);
    }
    memset(&st, 0, sizeof(st));
    st.base.version = SS_STORAGE_VERSION;
    st.base.location = "fuzz";
    st.base.reader_open = mem_reader_open;
    st.base.reader_read = mem_reader_read;
    st.base.reader_close = mem_reader_close;
    st.data = copy;
    st.size = size - 1;
    if (kind == SS_FILE_META) {
        ss_error_clear();
        rc = ss_meta_read(&meta, &st.base, version);
        if (rc == 0)
            ss_meta_free(&meta);
        else
            check_failure(rc, ".meta");
    } else {
        parse_frame(&st.base, kind == SS_FILE_SNAPSHOT ? kind : SS_FILE_DELTA,
                    version);
    }
    free(copy);
    return 0;
}
