/*
 * model.h -- deterministic content per version, shared by the fault,
 * kill and concurrency tests (issue 4).
 *
 * Version v's batch is a pure function of v: MODEL_OPS puts and removes
 * over MODEL_KEYS keys in two families (the default one and the ordered
 * family "ord"), values of 8..1507 bytes of seeded pseudo-random bytes
 * (so compression cannot hide them and a delta spans several 4 KiB
 * blocks).  The reference contents of version v are batches 1..v applied
 * in order, so any process can check any version without a log.
 *
 * Also: directory helpers (remove a tree, copy a flat directory, a
 * fingerprint of a directory's names and bytes).  Header-only.
 */
#ifndef SS_TEST_FAULT_MODEL_H
#define SS_TEST_FAULT_MODEL_H

#include "harness.h"
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODEL_KEYS 48u
#define MODEL_OPS 12u
#define MODEL_VAL_MAX 1600u

typedef struct model {
    /* Which (version, op) last wrote each key; version 0 = absent. */
    uint64_t src_v[2][MODEL_KEYS];
    unsigned src_j[2][MODEL_KEYS];
} model;

static inline uint64_t
model_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static inline uint64_t
model_op(uint64_t v, unsigned j)
{
    return model_mix(v * 131u + j);
}

/* The value of op j of version v, into buf (MODEL_VAL_MAX); its length. */
static inline size_t
model_value(unsigned char *buf, uint64_t v, unsigned j)
{
    uint64_t x = model_op(v, j), r = x | 1u;
    size_t len = 8 + (size_t)(x % 1500u), i;
    int n;

    n = snprintf((char *)buf, MODEL_VAL_MAX,
                 "v%llu.j%u:", (unsigned long long)v, j);
    for (i = (size_t)n; i < len; i++) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        buf[i] = (unsigned char)r;
    }
    return len < (size_t)n ? (size_t)n : len;
}

static inline void
model_key(char *buf, size_t len, unsigned k)
{
    snprintf(buf, len, "key-%03u", k);
}

/* Op j of version v: family (0 default, 1 ord), key index, put or not. */
static inline void
model_decode(uint64_t v, unsigned j, unsigned *f, unsigned *k, int *put)
{
    uint64_t x = model_op(v, j);

    *f = (unsigned)(x & 1u);
    *k = (unsigned)((x >> 8) % MODEL_KEYS);
    *put = (x >> 20) % 5u != 0;
}

/* The reference contents of version v. */
static inline void
model_at(model *m, uint64_t version)
{
    unsigned j, f, k;
    uint64_t v;
    int put;

    memset(m, 0, sizeof(*m));
    for (v = 1; v <= version; v++)
        for (j = 0; j < MODEL_OPS; j++) {
            model_decode(v, j, &f, &k, &put);
            m->src_v[f][k] = put ? v : 0;
            m->src_j[f][k] = j;
        }
}

/* Apply version v's batch to `s` (loaded at v - 1).  Returns 0 or the
 * first failing code (no harness: the kill test's child uses it too). */
static inline int
model_apply(ss_store *s, unsigned ord, uint64_t v)
{
    unsigned char val[MODEL_VAL_MAX];
    char key[16];
    unsigned j, f, k;
    size_t vl;
    int put, rc;

    for (j = 0; j < MODEL_OPS; j++) {
        model_decode(v, j, &f, &k, &put);
        model_key(key, sizeof(key), k);
        if (put) {
            vl = model_value(val, v, j);
            rc = ss_store_put(s, f ? ord : SS_CF_DEFAULT, ss_slice_str(key),
                              (ss_slice){val, vl});
        } else {
            rc = ss_store_remove(s, f ? ord : SS_CF_DEFAULT, ss_slice_str(key));
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Does `s` hold exactly version `version`'s contents?  0 if so, else -1
 * with a description in `why` (no harness, for child processes and
 * reader threads). */
static inline int
model_compare(ss_store *s, unsigned ord, uint64_t version, char *why,
              size_t why_len)
{
    unsigned char val[MODEL_VAL_MAX];
    model m;
    char key[16];
    unsigned f, k, seen;
    ss_slice got, gk;
    ss_iter *it;
    size_t vl;
    int rc;

    model_at(&m, version);
    for (f = 0; f < 2; f++) {
        seen = 0;
        for (k = 0; k < MODEL_KEYS; k++) {
            model_key(key, sizeof(key), k);
            rc = ss_store_get(&got, s, f ? ord : SS_CF_DEFAULT,
                              ss_slice_str(key));
            if (m.src_v[f][k] == 0) {
                if (rc != SS_ENOTFOUND) {
                    snprintf(why, why_len,
                             "version %llu family %u %s: expected absent, "
                             "got rc %d",
                             (unsigned long long)version, f, key, rc);
                    return -1;
                }
                continue;
            }
            seen++;
            vl = model_value(val, m.src_v[f][k], m.src_j[f][k]);
            if (rc != 0 || got.len != vl || memcmp(got.data, val, vl) != 0) {
                snprintf(why, why_len,
                         "version %llu family %u %s: rc %d, value of %zu "
                         "bytes, expected the %zu bytes of v%llu.j%u",
                         (unsigned long long)version, f, key, rc,
                         rc == 0 ? got.len : 0, vl,
                         (unsigned long long)m.src_v[f][k], m.src_j[f][k]);
                return -1;
            }
        }
        /* No extra keys either. */
        if (ss_store_iter(&it, s, f ? ord : SS_CF_DEFAULT) < 0) {
            snprintf(why, why_len, "iter failed: %s", ss_error_last());
            return -1;
        }
        while ((rc = ss_iter_next(it, &gk, NULL)) == 0)
            seen--;
        ss_iter_free(it);
        if (rc != SS_EDONE || seen != 0) {
            snprintf(why, why_len,
                     "version %llu family %u: iteration rc %d, %d keys "
                     "more than expected",
                     (unsigned long long)version, f, rc, -(int)seen);
            return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------- directories */

static inline int
model_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -rf `dir` (absent is fine). */
static inline void
model_rm_tree(const char *dir)
{
    nftw(dir, model_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Copy the regular files of flat directory `from` into new dir `to`. */
static inline void
model_copy_dir(ss_test *t, const char *from, const char *to)
{
    char src[SS_TEST_PATH_MAX + 300], dst[SS_TEST_PATH_MAX + 300];
    unsigned char *data;
    struct dirent *e;
    struct stat sb;
    size_t len;
    DIR *d;

    SS_CHECK(mkdir(to, 0755) == 0);
    d = opendir(from);
    SS_CHECK(d != NULL);
    while ((e = readdir(d)) != NULL) {
        snprintf(src, sizeof(src), "%s/%s", from, e->d_name);
        if (stat(src, &sb) < 0 || !S_ISREG(sb.st_mode))
            continue;
        snprintf(dst, sizeof(dst), "%s/%s", to, e->d_name);
        data = ss_test_read_file(t, src, &len);
        ss_test_write_file(t, dst, data, len);
        free(data);
    }
    closedir(d);
}

static inline int
model_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* FNV-1a over the sorted names and bytes of the regular files of `dir`
 * (names starting with '.' included: temps count as changes too).  With
 * `skip_writers`, writer epoch files (writer-<E>, their temps) and the
 * lock file are left out: a writable load takes an epoch, and may leave
 * that epoch's temp when a fault hits after the link. */
static inline uint64_t
model_dir_fingerprint_ex(ss_test *t, const char *dir, int skip_writers)
{
    char path[SS_TEST_PATH_MAX + 300], *names[512];
    uint64_t h = 0xcbf29ce484222325u;
    unsigned char *data;
    struct dirent *e;
    size_t n = 0, i, j, len;
    DIR *d = opendir(dir);

    SS_CHECK(d != NULL);
    while ((e = readdir(d)) != NULL && n < 512) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (skip_writers && (strncmp(e->d_name, "writer-", 7) == 0 ||
                             strncmp(e->d_name, ".writer-", 8) == 0 ||
                             strcmp(e->d_name, ".lock") == 0))
            continue;
        names[n] = strdup(e->d_name);
        SS_CHECK(names[n] != NULL);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), model_name_cmp);
    for (i = 0; i < n; i++) {
        for (j = 0; names[i][j]; j++)
            h = (h ^ (unsigned char)names[i][j]) * 0x100000001b3u;
        h = (h ^ 0xffu) * 0x100000001b3u;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (ss_test_file_exists(path)) {
            struct stat sb;

            if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
                data = ss_test_read_file(t, path, &len);
                for (j = 0; j < len; j++)
                    h = (h ^ data[j]) * 0x100000001b3u;
                free(data);
            }
        }
        free(names[i]);
    }
    return h;
}

static inline uint64_t
model_dir_fingerprint(ss_test *t, const char *dir)
{
    return model_dir_fingerprint_ex(t, dir, 0);
}

#endif
