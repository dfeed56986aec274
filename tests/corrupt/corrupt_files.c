/*
 * corrupt_files.c -- damaged checkpoint files are refused, never trusted
 * and never a crash.
 *
 * Invariant 3 (DESIGN.md): every checkpoint file carries a format version
 * and a checksum; a corrupt, truncated or foreign file is refused with an
 * error naming the file and what is wrong.  Nothing is silently skipped.
 *
 * Method (the Redis corrupt-dump idea): build a small checkpoint, then
 * for each `<V>.delta` / `<V>.snapshot` file flip one byte at a time
 * (every offset, or ~400 spread over a larger file) and truncate it to a
 * sampled set of lengths; each time a FRESH provider (nothing cached in
 * memory) loads a version that needs the file and must get SS_ECORRUPT or
 * SS_EVERSION with the file's name in ss_error_last().  The file is
 * restored after every attempt and a final load must succeed with the
 * original contents, so the test cannot pass by breaking the checkpoint
 * some other way.  CI runs this under ASan+UBSan.
 */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SAMPLES 400

/* Versions 1..4 in two families; maintenance after version 3 writes
 * 3.snapshot, so: version 2 = 1.delta + 2.delta, version 3 =
 * 3.snapshot, version 4 = 3.snapshot + 4.delta. */
static void
make_checkpoint(ss_test *t, const char *compression)
{
    ss_provider *p = ss_test_open(t, "min_deltas_for_snapshot=3",
                                  "min_versions_to_retain=100", compression);
    char key[32], val[128];
    unsigned ord, cf;
    ss_store *s;
    uint64_t v;
    int i;

    SS_CHECK_OK(ss_provider_cf(&ord, p, "ord", SS_CF_ORDERED));
    for (v = 0; v < 4; v++) {
        s = ss_test_load(t, p, v);
        for (i = 0; i < 24; i++) {
            cf = i % 2 ? ord : SS_CF_DEFAULT;
            snprintf(key, sizeof(key), "key-%02d", i);
            if ((i + (int)v) % 5 == 0) {
                SS_CHECK_OK(
                    ss_store_remove(s, cf, ss_test_slice(key, strlen(key))));
                continue;
            }
            if (v > 0 && i % 3 != 0)
                continue;
            snprintf(val, sizeof(val),
                     "value %d of version %llu, padded "
                     "to compress: aaaaaaaaaaaaaaaaaaaaaaaa",
                     i, (unsigned long long)v + 1);
            SS_CHECK_OK(ss_store_put(s, cf, ss_test_slice(key, strlen(key)),
                                     ss_test_slice(val, strlen(val))));
        }
        commit_store(t, s);
        ss_store_free(s);
        if (v == 2)
            SS_CHECK_OK(ss_provider_maintenance(p));
    }
    ss_test_close(t, p);
}

/* Both families of `version`, loaded by a fresh provider. */
static void
dump_version(ss_test *t, kv_list out[2], uint64_t version)
{
    ss_provider *p = ss_test_open(t);
    unsigned ord;
    ss_store *s;

    SS_CHECK_OK(ss_provider_cf(&ord, p, "ord", SS_CF_ORDERED));
    s = ss_test_load(t, p, version);
    kv_dump(t, &out[0], s, SS_CF_DEFAULT, 0);
    kv_dump(t, &out[1], s, ord, 1);
    ss_store_free(s);
    ss_test_close(t, p);
}

static void
check_version_intact(ss_test *t, const kv_list want[2], uint64_t version)
{
    kv_list got[2] = {{0}, {0}};
    int f;

    dump_version(t, got, version);
    for (f = 0; f < 2; f++) {
        kv_check_equal(t, &got[f], &want[f]);
        kv_free(&got[f]);
    }
}

/* A fresh provider's load of `version` (read-only or writable) must fail
 * with `code1`/`code2` naming `fname`. */
static void
expect_load_fails(ss_test *t, uint64_t version, int readonly, int code1,
                  int code2, const char *fname)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s = NULL;

    if (readonly)
        SS_CHECK_ERR2_MSG(code1, code2,
                          ss_provider_load_readonly(&s, p, version), fname);
    else
        SS_CHECK_ERR2_MSG(code1, code2, ss_provider_load(&s, p, version),
                          fname);
    SS_CHECK(s == NULL);
    ss_test_close(t, p);
}

static void
path_of(ss_test *t, char *buf, size_t len, const char *fname)
{
    snprintf(buf, len, "%s/%s", t->dir, fname);
}

/* Offsets to damage: all of them, or MAX_SAMPLES: the first 64 bytes
 * (header), the last 16 (end marker and trailer) and the rest spread
 * evenly in between. */
static size_t
sample_offsets(size_t *out, size_t size)
{
    size_t n = 0, i, spread = MAX_SAMPLES - 64 - 16;

    if (size <= MAX_SAMPLES) {
        for (i = 0; i < size; i++)
            out[n++] = i;
        return n;
    }
    for (i = 0; i < 64; i++)
        out[n++] = i;
    for (i = 0; i < spread; i++)
        out[n++] = 64 + (size - 64 - 16) * i / spread;
    for (i = 0; i < 16; i++)
        out[n++] = size - 16 + i;
    return n;
}

/* Flip every (sampled) byte of `fname`; loading `version` must fail. */
static void
flip_each_byte(ss_test *t, const char *fname, uint64_t version)
{
    size_t offs[MAX_SAMPLES], n, i, size;
    char path[SS_TEST_PATH_MAX + 64];
    unsigned char *orig, *bad;

    path_of(t, path, sizeof(path), fname);
    orig = ss_test_read_file(t, path, &size);
    SS_CHECK(size > 0);
    bad = malloc(size);
    SS_CHECK(bad != NULL);
    n = sample_offsets(offs, size);
    for (i = 0; i < n; i++) {
        ss_test_context(t, "%s: byte %zu of %zu flipped (xor 0x5a)", fname,
                        offs[i], size);
        memcpy(bad, orig, size);
        bad[offs[i]] ^= 0x5a;
        ss_test_write_file(t, path, bad, size);
        expect_load_fails(t, version, (int)(i % 2), SS_ECORRUPT, SS_EVERSION,
                          fname);
    }
    ss_test_context(t, "%s", "");
    ss_test_write_file(t, path, orig, size);
    free(bad);
    free(orig);
}

static int
cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

/* Truncate `fname` to a sampled set of shorter lengths. */
static void
truncate_each_length(ss_test *t, const char *fname, uint64_t version)
{
    size_t lens[128], n = 0, i, size, h;
    char path[SS_TEST_PATH_MAX + 64];
    unsigned char *orig;

    path_of(t, path, sizeof(path), fname);
    orig = ss_test_read_file(t, path, &size);
    /* 0, 1, inside the fixed header (magic 8, version 2, kind 1, codec 1,
     * header length 4, store version 8: docs/format.md), around the end
     * of the variable header, around the trailer, and every 1/50. */
    lens[n++] = 0;
    lens[n++] = 1;
    lens[n++] = 7;
    lens[n++] = 8;
    lens[n++] = 10;
    lens[n++] = 12;
    lens[n++] = 16;
    lens[n++] = 24;
    lens[n++] = 28;
    if (size > 16) {
        h = (size_t)orig[12] | (size_t)orig[13] << 8 | (size_t)orig[14] << 16 |
            (size_t)orig[15] << 24;
        if (h > 4 && h + 1 < size) {
            lens[n++] = h - 4;
            lens[n++] = h - 1;
            lens[n++] = h;
            lens[n++] = h + 1;
            lens[n++] = h + 15;
            lens[n++] = h + 16;
        }
    }
    if (size > 13) {
        lens[n++] = size - 13;
        lens[n++] = size - 12;
        lens[n++] = size - 4;
    }
    lens[n++] = size - 1;
    for (i = 1; i < 50; i++)
        lens[n++] = size * i / 50;
    qsort(lens, n, sizeof(lens[0]), cmp_size);
    for (i = 0; i < n; i++) {
        if (lens[i] >= size || (i > 0 && lens[i] == lens[i - 1]))
            continue;
        ss_test_context(t, "%s truncated to %zu of %zu bytes", fname, lens[i],
                        size);
        ss_test_write_file(t, path, orig, lens[i]);
        expect_load_fails(t, version, (int)(i % 2), SS_ECORRUPT, SS_EVERSION,
                          fname);
    }
    ss_test_context(t, "%s", "");
    ss_test_write_file(t, path, orig, size);
    free(orig);
}

/* Skip unless the provider config writes the files this test damages. */
static void
require_files(ss_test *t)
{
    static const char *const need[] = {"1.delta", "2.delta", "3.snapshot",
                                       "4.delta"};
    char path[SS_TEST_PATH_MAX + 64];
    size_t i;

    for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        path_of(t, path, sizeof(path), need[i]);
        if (!ss_test_file_exists(path))
            ss_test_skip(t, "provider writes no %s", need[i]);
    }
}

static void
flip_and_truncate(ss_test *t, const char *compression)
{
    kv_list v2[2] = {{0}, {0}}, v3[2] = {{0}, {0}}, v4[2] = {{0}, {0}};
    int f;

    make_checkpoint(t, compression);
    require_files(t);
    dump_version(t, v2, 2);
    dump_version(t, v3, 3);
    dump_version(t, v4, 4);

    flip_each_byte(t, "2.delta", 2);
    flip_each_byte(t, "3.snapshot", 3);
    flip_each_byte(t, "4.delta", 4);
    truncate_each_length(t, "1.delta", 2);
    truncate_each_length(t, "2.delta", 2);
    truncate_each_length(t, "3.snapshot", 4);
    truncate_each_length(t, "4.delta", 4);

    /* Restored files load again, unchanged. */
    check_version_intact(t, v2, 2);
    check_version_intact(t, v3, 3);
    check_version_intact(t, v4, 4);
    for (f = 0; f < 2; f++) {
        kv_free(&v2[f]);
        kv_free(&v3[f]);
        kv_free(&v4[f]);
    }
}

static void
test_corrupt__flip_and_truncate_none(ss_test *t)
{
    flip_and_truncate(t, "compression=none");
}

static void
test_corrupt__flip_and_truncate_lz4(ss_test *t)
{
    flip_and_truncate(t, "compression=lz4");
}

static void
test_corrupt__flip_and_truncate_zstd(ss_test *t)
{
    flip_and_truncate(t, "compression=zstd");
}

/* A damaged file breaks only the versions that need it. */
static void
test_corrupt__damage_is_contained(ss_test *t)
{
    kv_list v1[2] = {{0}, {0}}, v3[2] = {{0}, {0}};
    char path[SS_TEST_PATH_MAX + 64];
    unsigned char *orig;
    ss_provider *p;
    ss_store *s;
    size_t size;
    int f;

    make_checkpoint(t, "compression=none");
    require_files(t);
    dump_version(t, v1, 1);
    dump_version(t, v3, 3);
    path_of(t, path, sizeof(path), "2.delta");
    orig = ss_test_read_file(t, path, &size);
    orig[size / 2] ^= 0x5a;
    ss_test_write_file(t, path, orig, size);
    expect_load_fails(t, 2, 0, SS_ECORRUPT, SS_ECORRUPT, "2.delta");
    /* Version 1 does not need 2.delta; versions 3 and 4 start from
     * 3.snapshot. */
    check_version_intact(t, v1, 1);
    check_version_intact(t, v3, 3);
    p = ss_test_open(t);
    s = ss_test_load(t, p, 4);
    ss_store_free(s);
    ss_test_close(t, p);
    for (f = 0; f < 2; f++) {
        kv_free(&v1[f]);
        kv_free(&v3[f]);
    }
    free(orig);
}

/* A missing delta that a version needs is corruption naming the missing
 * file; a version none of whose own files exist is SS_ENOTFOUND. */
static void
test_corrupt__missing_files(ss_test *t)
{
    char path[SS_TEST_PATH_MAX + 64];
    unsigned char *d1, *d2;
    size_t n1, n2;
    ss_provider *p;
    ss_store *s = NULL;
    uint64_t latest = 0;

    make_checkpoint(t, "compression=lz4");
    require_files(t);

    path_of(t, path, sizeof(path), "1.delta");
    d1 = ss_test_read_file(t, path, &n1);
    SS_CHECK(unlink(path) == 0);
    expect_load_fails(t, 2, 0, SS_ECORRUPT, SS_ECORRUPT, "1.delta");
    expect_load_fails(t, 2, 1, SS_ECORRUPT, SS_ECORRUPT, "1.delta");
    expect_load_fails(t, 1, 0, SS_ENOTFOUND, SS_ENOTFOUND, "1");
    /* 3 and 4 start from 3.snapshot and never needed 1.delta. */
    p = ss_test_open(t);
    s = ss_test_load(t, p, 4);
    ss_store_free(s);
    ss_test_close(t, p);
    ss_test_write_file(t, path, d1, n1);

    path_of(t, path, sizeof(path), "2.delta");
    d2 = ss_test_read_file(t, path, &n2);
    SS_CHECK(unlink(path) == 0);
    expect_load_fails(t, 2, 0, SS_ENOTFOUND, SS_ENOTFOUND, "2");
    ss_test_write_file(t, path, d2, n2);

    /* Versions above the newest do not exist either. */
    expect_load_fails(t, 5, 0, SS_ENOTFOUND, SS_ENOTFOUND, "5");
    p = ss_test_open(t);
    SS_CHECK_OK(ss_provider_latest(&latest, p));
    SS_CHECK_EQ_U64(latest, 4);
    s = ss_test_load(t, p, 2);
    ss_store_free(s);
    ss_test_close(t, p);
    free(d1);
    free(d2);
}

/* Random bytes, or a valid file of another version or kind, under a
 * version's name are refused. */
static void
test_corrupt__foreign_files(ss_test *t)
{
    static const size_t sizes[] = {0, 1, 8, 16, 100, 5000};
    char path[SS_TEST_PATH_MAX + 64], path2[SS_TEST_PATH_MAX + 64];
    unsigned char *junk, *d1, *d2, *snap;
    size_t i, j, n1, n2, ns;
    uint64_t seed = 0x9e3779b97f4a7c15u;

    make_checkpoint(t, "compression=none");
    require_files(t);
    junk = malloc(5000);
    SS_CHECK(junk != NULL);
    for (j = 0; j < 5000; j++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        junk[j] = (unsigned char)seed;
    }
    path_of(t, path, sizeof(path), "5.delta");
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        ss_test_context(t, "5.delta: %zu random bytes", sizes[i]);
        ss_test_write_file(t, path, junk, sizes[i]);
        expect_load_fails(t, 5, 0, SS_ECORRUPT, SS_EVERSION, "5.delta");
        expect_load_fails(t, 5, 1, SS_ECORRUPT, SS_EVERSION, "5.delta");
    }
    /* The right magic and nothing else. */
    memcpy(junk, "\x89SST\r\n\x1a\n", 8);
    ss_test_write_file(t, path, junk, 100);
    expect_load_fails(t, 5, 0, SS_ECORRUPT, SS_EVERSION, "5.delta");
    SS_CHECK(unlink(path) == 0);
    ss_test_context(t, "%s", "");

    path_of(t, path, sizeof(path), "2.delta");
    d2 = ss_test_read_file(t, path, &n2);
    path_of(t, path2, sizeof(path2), "1.delta");
    d1 = ss_test_read_file(t, path2, &n1);
    /* 1.delta renamed to 2.delta: valid file, wrong version. */
    ss_test_write_file(t, path, d1, n1);
    expect_load_fails(t, 2, 0, SS_ECORRUPT, SS_ECORRUPT, "2.delta");
    /* 3.snapshot renamed to 2.delta: wrong kind and version. */
    path_of(t, path2, sizeof(path2), "3.snapshot");
    snap = ss_test_read_file(t, path2, &ns);
    ss_test_write_file(t, path, snap, ns);
    expect_load_fails(t, 2, 0, SS_ECORRUPT, SS_ECORRUPT, "2.delta");
    ss_test_write_file(t, path, d2, n2);
    /* 2.delta copied to 2.snapshot: a delta where a snapshot belongs. */
    path_of(t, path2, sizeof(path2), "2.snapshot");
    ss_test_write_file(t, path2, d2, n2);
    expect_load_fails(t, 2, 0, SS_ECORRUPT, SS_ECORRUPT, "2.snapshot");
    SS_CHECK(unlink(path2) == 0);
    /* Random bytes as 2.delta. */
    ss_test_write_file(t, path, junk + 8, n2);
    expect_load_fails(t, 2, 1, SS_ECORRUPT, SS_EVERSION, "2.delta");
    ss_test_write_file(t, path, d2, n2);

    free(junk);
    free(d1);
    free(d2);
    free(snap);
}

/* Names beginning with '.' are temp files, never versions. */
static void
test_corrupt__dot_files_are_not_versions(ss_test *t)
{
    static const char *const names[] = {".5.delta", ".5.delta.tmp",
                                        ".6.snapshot", ".tmp-123"};
    char path[SS_TEST_PATH_MAX + 64];
    ss_provider *p;
    ss_store *s;
    uint64_t latest = 0;
    size_t i;

    make_checkpoint(t, "compression=none");
    require_files(t);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        path_of(t, path, sizeof(path), names[i]);
        ss_test_write_file(t, path, "garbage", 7);
    }
    p = ss_test_open(t);
    SS_CHECK_OK(ss_provider_latest(&latest, p));
    SS_CHECK_EQ_U64(latest, 4);
    s = ss_test_load(t, p, 4);
    ss_store_free(s);
    SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load(&s, p, 5));
    SS_CHECK_ERR(SS_ENOTFOUND, ss_provider_load_readonly(&s, p, 6));
    /* Maintenance copes with them too. */
    SS_CHECK_OK(ss_provider_maintenance(p));
    ss_test_close(t, p);
}

/* Maintenance reads the files it compacts: a damaged input must stop it
 * (SS_ECORRUPT / SS_EVERSION naming the file) before it can turn bad
 * bytes into a snapshot with a valid checksum.  4.snapshot is written
 * from 3.snapshot + 4.delta when min_deltas_for_snapshot=1. */
static void
test_corrupt__maintenance_refuses_damaged_files(ss_test *t)
{
    static const char *const victims[] = {"3.snapshot", "4.delta"};
    char path[SS_TEST_PATH_MAX + 64], snap4[SS_TEST_PATH_MAX + 64];
    unsigned char *orig, *bad;
    ss_provider *p;
    size_t f, i, size, off, tried = 0;

    make_checkpoint(t, "compression=lz4");
    require_files(t);
    path_of(t, snap4, sizeof(snap4), "4.snapshot");
    for (f = 0; f < 2; f++) {
        path_of(t, path, sizeof(path), victims[f]);
        orig = ss_test_read_file(t, path, &size);
        bad = malloc(size);
        SS_CHECK(bad != NULL);
        /* ~60 offsets: the header densely, the rest spread. */
        for (i = 0; i < 60; i++) {
            off = i < 20 ? i * 3 : 60 + (size - 61) * (i - 20) / 40;
            if (off >= size)
                continue;
            ss_test_context(t, "%s: byte %zu of %zu flipped", victims[f], off,
                            size);
            memcpy(bad, orig, size);
            bad[off] ^= 0x5a;
            ss_test_write_file(t, path, bad, size);
            p = ss_test_open(t, "min_deltas_for_snapshot=1",
                             "min_versions_to_retain=100");
            SS_CHECK_ERR2_MSG(SS_ECORRUPT, SS_EVERSION,
                              ss_provider_maintenance(p), victims[f]);
            ss_test_close(t, p);
            SS_CHECK(!ss_test_file_exists(snap4));
            tried++;
        }
        ss_test_context(t, "%s", "");
        ss_test_write_file(t, path, orig, size);
        free(bad);
        free(orig);
    }
    /* Restored, maintenance succeeds and writes the snapshot. */
    p = ss_test_open(t, "min_deltas_for_snapshot=1",
                     "min_versions_to_retain=100");
    SS_CHECK_OK(ss_provider_maintenance(p));
    ss_test_close(t, p);
    SS_CHECK(ss_test_file_exists(snap4));
    SS_CHECK(tried > 60);
}

static const ss_test_case tests[] = {
    SS_TEST(corrupt, maintenance_refuses_damaged_files),
    SS_TEST(corrupt, flip_and_truncate_none),
    SS_TEST(corrupt, flip_and_truncate_lz4),
    SS_TEST(corrupt, flip_and_truncate_zstd),
    SS_TEST(corrupt, damage_is_contained),
    SS_TEST(corrupt, missing_files),
    SS_TEST(corrupt, foreign_files),
    SS_TEST(corrupt, dot_files_are_not_versions),
    SS_TEST_END,
};

SS_TEST_MAIN(tests)
