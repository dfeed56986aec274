/*
 * format_frame.c -- the file format round trip for every codec, block
 * boundaries, and the checks a reader makes (frame.c invariants 1-3).
 */
#include "checkpoint/storage.h"
#include "format/frame.h"
#include "util/crc32c.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned codecs[] = {SS_CODEC_NONE, SS_CODEC_LZ4, SS_CODEC_ZSTD};

static void
write_file(ss_test *t, ss_storage *st, unsigned codec, unsigned n,
           size_t block_size)
{
    ss_cf_entry cfs[2] = {{"a", 0}, {"b", SS_CF_ORDERED}};
    ss_file_header h = {.kind = SS_FILE_DELTA,
                        .codec = codec,
                        .version = 7,
                        .n_cf = 2,
                        .cf = cfs};
    ss_frame_writer fw;
    char key[32], val[200];
    unsigned i;

    SS_CHECK_OK(ss_frame_writer_open(&fw, st, "7.delta", &h, 1, block_size));
    for (i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "key-%08u", i);
        memset(val, 'a' + (int)(i % 26), sizeof(val));
        if (i % 5 == 4)
            SS_CHECK_OK(ss_frame_writer_add(&fw, SS_OP_REMOVE, i % 2, key,
                                            strlen(key), NULL, 0));
        else
            SS_CHECK_OK(ss_frame_writer_add(&fw, SS_OP_PUT, i % 2, key,
                                            strlen(key), val, i % 200));
    }
    SS_CHECK_OK(ss_frame_writer_finish(&fw));
    SS_CHECK_OK(ss_frame_writer_commit(&fw));
}

static void
test_frame__round_trip_every_codec(ss_test *t)
{
    ss_storage *st = NULL;
    ss_frame_reader fr;
    ss_record rec;
    char key[32];
    size_t c;
    unsigned i, n = 5000;
    int rc;

    SS_CHECK_OK(ss_local_fs_open(&st, t->dir));
    for (c = 0; c < 3; c++) {
        ss_test_context(t, "codec %s", ss_codec_name(codecs[c]));
        write_file(t, st, codecs[c], n, 4096);
        SS_CHECK_OK(ss_frame_reader_open(&fr, st, "7.delta", SS_FILE_DELTA, 7));
        SS_CHECK(fr.header.n_cf == 2);
        SS_CHECK(strcmp(fr.header.cf[1].name, "b") == 0);
        SS_CHECK(fr.header.cf[1].flags == SS_CF_ORDERED);
        SS_CHECK(fr.header.codec == codecs[c]);
        for (i = 0; (rc = ss_frame_reader_next(&fr, &rec)) == 0; i++) {
            snprintf(key, sizeof(key), "key-%08u", i);
            SS_CHECK(rec.klen == strlen(key));
            SS_CHECK(memcmp(rec.key, key, rec.klen) == 0);
            SS_CHECK(rec.cf == i % 2);
            SS_CHECK(rec.op == (i % 5 == 4 ? SS_OP_REMOVE : SS_OP_PUT));
            if (rec.op == SS_OP_PUT) {
                SS_CHECK(rec.vlen == i % 200);
                SS_CHECK(rec.vlen == 0 ||
                         ((const char *)rec.value)[0] == 'a' + (int)(i % 26));
            }
        }
        SS_CHECK_RC(SS_EDONE, rc);
        SS_CHECK(i == n);
        ss_frame_reader_close(&fr);
    }
    st->free(st);
}

static void
test_frame__reader_checks_kind_and_version(ss_test *t)
{
    ss_storage *st = NULL;
    ss_frame_reader fr;

    SS_CHECK_OK(ss_local_fs_open(&st, t->dir));
    write_file(t, st, SS_CODEC_LZ4, 10, 0);
    SS_CHECK_ERR_MSG(
        SS_ECORRUPT,
        ss_frame_reader_open(&fr, st, "7.delta", SS_FILE_SNAPSHOT, 7),
        "7.delta");
    SS_CHECK_ERR_MSG(SS_ECORRUPT,
                     ss_frame_reader_open(&fr, st, "7.delta", SS_FILE_DELTA, 8),
                     "expected 8");
    SS_CHECK_ERR(SS_ENOTFOUND,
                 ss_frame_reader_open(&fr, st, "9.delta", SS_FILE_DELTA, 9));
    st->free(st);
}

static void
test_frame__empty_file_round_trips(ss_test *t)
{
    ss_storage *st = NULL;
    ss_frame_reader fr;
    ss_record rec;

    SS_CHECK_OK(ss_local_fs_open(&st, t->dir));
    write_file(t, st, SS_CODEC_ZSTD, 0, 0);
    SS_CHECK_OK(ss_frame_reader_open(&fr, st, "7.delta", SS_FILE_DELTA, 7));
    SS_CHECK_RC(SS_EDONE, ss_frame_reader_next(&fr, &rec));
    ss_frame_reader_close(&fr);
    st->free(st);
}

static void
test_frame__every_flip_and_truncation_refused(ss_test *t)
{
    ss_storage *st = NULL;
    ss_frame_reader fr;
    ss_record rec;
    char path[2048];
    unsigned char *orig;
    size_t len = 0, off;
    int rc;

    SS_CHECK_OK(ss_local_fs_open(&st, t->dir));
    write_file(t, st, SS_CODEC_LZ4, 300, 1024);
    snprintf(path, sizeof(path), "%s/7.delta", t->dir);
    orig = ss_test_read_file(t, path, &len);
    for (off = 0; off < len; off++) {
        orig[off] ^= 0x5a;
        ss_test_write_file(t, path, orig, len);
        orig[off] ^= 0x5a;
        rc = ss_frame_reader_open(&fr, st, "7.delta", SS_FILE_DELTA, 7);
        if (rc == 0) {
            while ((rc = ss_frame_reader_next(&fr, &rec)) == 0)
                ;
            ss_frame_reader_close(&fr);
        }
        ss_test_context(t, "flip at offset %zu of %zu", off, len);
        SS_CHECK(rc == SS_ECORRUPT || rc == SS_EVERSION);
        SS_CHECK(strstr(ss_error_last(), "7.delta") != NULL);
    }
    for (off = 0; off < len; off += 7) {
        ss_test_write_file(t, path, orig, off);
        rc = ss_frame_reader_open(&fr, st, "7.delta", SS_FILE_DELTA, 7);
        if (rc == 0) {
            while ((rc = ss_frame_reader_next(&fr, &rec)) == 0)
                ;
            ss_frame_reader_close(&fr);
        }
        ss_test_context(t, "truncated to %zu of %zu", off, len);
        SS_CHECK(rc == SS_ECORRUPT);
    }
    free(orig);
    st->free(st);
}

/* Format 3 (frame.h, FAMILIES): a delta's dropped-family entry and op 3
 * records (no key) round trip; a snapshot holding either is refused; a
 * version-2 file still reads, and version 4 does not. */
static void
test_frame__family_drop_records(ss_test *t)
{
    ss_cf_entry cfs[2] = {{"a", 0}, {"gone", SS_CF_FILE_DROPPED}};
    ss_file_header h = {.kind = SS_FILE_DELTA,
                        .codec = SS_CODEC_NONE,
                        .version = 3,
                        .n_cf = 2,
                        .cf = cfs};
    ss_storage *st = NULL;
    ss_frame_writer fw;
    ss_frame_reader fr;
    ss_record rec;
    char path[2048];
    unsigned char *b;
    size_t len = 0;

    SS_CHECK_OK(ss_local_fs_open(&st, t->dir));
    SS_CHECK_OK(ss_frame_writer_open(&fw, st, "3.delta", &h, 1, 0));
    SS_CHECK_OK(ss_frame_writer_add(&fw, SS_OP_CF_DROP, 0, "", 0, NULL, 0));
    SS_CHECK_OK(ss_frame_writer_add(&fw, SS_OP_PUT, 0, "k", 1, "v", 1));
    SS_CHECK_OK(ss_frame_writer_add(&fw, SS_OP_CF_DROP, 1, "", 0, NULL, 0));
    SS_CHECK_OK(ss_frame_writer_finish(&fw));
    SS_CHECK_OK(ss_frame_writer_commit(&fw));
    SS_CHECK_OK(ss_frame_reader_open(&fr, st, "3.delta", SS_FILE_DELTA, 3));
    SS_CHECK(fr.header.format == 3);
    SS_CHECK(fr.header.cf[1].flags == SS_CF_FILE_DROPPED);
    SS_CHECK_OK(ss_frame_reader_next(&fr, &rec));
    SS_CHECK(rec.op == SS_OP_CF_DROP && rec.cf == 0 && rec.klen == 0);
    SS_CHECK_OK(ss_frame_reader_next(&fr, &rec));
    SS_CHECK(rec.op == SS_OP_PUT && rec.klen == 1);
    SS_CHECK_OK(ss_frame_reader_next(&fr, &rec));
    SS_CHECK(rec.op == SS_OP_CF_DROP && rec.cf == 1);
    SS_CHECK_RC(SS_EDONE, ss_frame_reader_next(&fr, &rec));
    ss_frame_reader_close(&fr);

    h.kind = SS_FILE_SNAPSHOT;
    h.cf[1].flags = 0;
    SS_CHECK_OK(ss_frame_writer_open(&fw, st, "3.snapshot", &h, 1, 0));
    SS_CHECK_OK(ss_frame_writer_add(&fw, SS_OP_CF_DROP, 0, "", 0, NULL, 0));
    SS_CHECK_OK(ss_frame_writer_finish(&fw));
    SS_CHECK_OK(ss_frame_writer_commit(&fw));
    SS_CHECK_OK(
        ss_frame_reader_open(&fr, st, "3.snapshot", SS_FILE_SNAPSHOT, 3));
    SS_CHECK_ERR_MSG(SS_ECORRUPT, ss_frame_reader_next(&fr, &rec),
                     "family drop record outside");
    ss_frame_reader_close(&fr);
    h.cf[1].flags = SS_CF_FILE_DROPPED;
    h.version = 4;
    SS_CHECK_OK(ss_frame_writer_open(&fw, st, "4.snapshot", &h, 1, 0));
    SS_CHECK_OK(ss_frame_writer_finish(&fw));
    SS_CHECK_OK(ss_frame_writer_commit(&fw));
    SS_CHECK_ERR_MSG(
        SS_ECORRUPT,
        ss_frame_reader_open(&fr, st, "4.snapshot", SS_FILE_SNAPSHOT, 4),
        "dropped column family");

    /* Format versions: 2 reads (without drops), 4 is refused. */
    write_file(t, st, SS_CODEC_NONE, 10, 0);
    snprintf(path, sizeof(path), "%s/7.delta", t->dir);
    b = ss_test_read_file(t, path, &len);
    b[8] = 2; /* then fix the header CRC */
    {
        uint32_t hl = (uint32_t)b[12] | (uint32_t)b[13] << 8 |
                      (uint32_t)b[14] << 16 | (uint32_t)b[15] << 24;
        uint32_t c = ss_crc32c(0, b, hl - 4);

        memcpy(b + hl - 4, &c, 4); /* little-endian host (x86, arm) */
        ss_test_write_file(t, path, b, len);
        SS_CHECK_OK(ss_frame_reader_open(&fr, st, "7.delta", SS_FILE_DELTA, 7));
        SS_CHECK(fr.header.format == 2);
        ss_frame_reader_close(&fr);
        b[8] = 4;
        c = ss_crc32c(0, b, hl - 4);
        memcpy(b + hl - 4, &c, 4);
        ss_test_write_file(t, path, b, len);
        SS_CHECK_ERR_MSG(
            SS_EVERSION,
            ss_frame_reader_open(&fr, st, "7.delta", SS_FILE_DELTA, 7),
            "versions 2..3");
    }
    free(b);
    st->free(st);
}

static const ss_test_case cases[] = {
    SS_TEST_ONCE(frame, family_drop_records),
    SS_TEST_ONCE(frame, round_trip_every_codec),
    SS_TEST_ONCE(frame, reader_checks_kind_and_version),
    SS_TEST_ONCE(frame, empty_file_round_trips),
    SS_TEST_ONCE(frame, every_flip_and_truncation_refused),
    SS_TEST_END,
};

SS_TEST_MAIN(cases)
