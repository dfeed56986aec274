/*
 * testutil.h -- small helpers shared by the conformance and corrupt tests:
 * copying a store's contents out through the public API and comparing
 * them, byte-string literals with embedded NULs, and listing checkpoint
 * files.  Header-only (static functions) so each test binary stays one
 * .c file.
 */
#ifndef SS_TEST_TESTUTIL_H
#define SS_TEST_TESTUTIL_H

#include "harness.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A byte-string literal that may contain NULs: B("a\x00b"). */
typedef struct bstr {
    const char *d;
    size_t n;
} bstr;
#define B(lit) ((bstr){(lit), sizeof(lit) - 1})
#define BS(b) ss_test_slice((b).d, (b).n)

/* One copied entry and a growable list of them. */
typedef struct kv {
    unsigned char *k;
    size_t kl;
    unsigned char *v;
    size_t vl;
} kv;

typedef struct kv_list {
    kv *e;
    size_t n;
    size_t cap;
} kv_list;

static inline void
kv_free(kv_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        free(l->e[i].k);
        free(l->e[i].v);
    }
    free(l->e);
    l->e = NULL;
    l->n = l->cap = 0;
}

static inline void
kv_add(ss_test *t, kv_list *l, const void *k, size_t kl, const void *v,
       size_t vl)
{
    kv *e;

    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->e = realloc(l->e, l->cap * sizeof(*l->e));
        SS_CHECK(l->e != NULL);
    }
    e = &l->e[l->n++];
    e->k = malloc(kl + 1);
    e->v = malloc(vl + 1);
    SS_CHECK(e->k != NULL && e->v != NULL);
    if (kl)
        memcpy(e->k, k, kl);
    if (vl)
        memcpy(e->v, v, vl);
    e->kl = kl;
    e->vl = vl;
}

static inline int
bytes_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;

    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

static inline int
kv_cmp(const void *a, const void *b)
{
    const kv *x = a, *y = b;

    return bytes_cmp(x->k, x->kl, y->k, y->kl);
}

static inline void
kv_sort(kv_list *l)
{
    if (l->n > 1)
        qsort(l->e, l->n, sizeof(*l->e), kv_cmp);
}

/* Drain `it` into `l` (copies) and free it.  Fails the test on an
 * iterator error; with `ordered`, also requires strictly increasing keys
 * (byte order, shorter prefix first). */
static inline void
kv_drain(ss_test *t, kv_list *l, ss_iter *it, int ordered)
{
    ss_slice k, v;
    size_t first = l->n;
    int rc;

    while ((rc = ss_iter_next(it, &k, &v)) == 0) {
        SS_CHECK(k.len >= 1 && k.data != NULL);
        SS_CHECK(v.len == 0 || v.data != NULL);
        kv_add(t, l, k.data, k.len, v.data, v.len);
        if (ordered && l->n - first >= 2) {
            kv *a = &l->e[l->n - 2], *b = &l->e[l->n - 1];

            if (bytes_cmp(a->k, a->kl, b->k, b->kl) >= 0)
                SS_FAIL("ordered iterator out of order at entry %zu",
                        l->n - first - 1);
        }
    }
    SS_CHECK_RC(SS_EDONE, rc);
    /* Exhausted stays exhausted. */
    SS_CHECK_RC(SS_EDONE, ss_iter_next(it, NULL, NULL));
    ss_iter_free(it);
}

/* Every entry of family `cf`, sorted by key. */
static inline void
kv_dump(ss_test *t, kv_list *l, ss_store *s, unsigned cf, int ordered)
{
    ss_iter *it = NULL;

    SS_CHECK_OK(ss_store_iter(&it, s, cf));
    SS_CHECK(it != NULL);
    kv_drain(t, l, it, ordered);
    kv_sort(l);
}

/* Two sorted lists hold the same entries. */
static inline void
kv_check_equal(ss_test *t, const kv_list *got, const kv_list *want)
{
    size_t i;

    for (i = 0; i < got->n && i < want->n; i++) {
        ss_test_context(t, "entry %zu of %zu", i, want->n);
        SS_CHECK_EQ_SLICE(ss_test_slice(got->e[i].k, got->e[i].kl),
                          ss_test_slice(want->e[i].k, want->e[i].kl));
        SS_CHECK_EQ_SLICE(ss_test_slice(got->e[i].v, got->e[i].vl),
                          ss_test_slice(want->e[i].v, want->e[i].vl));
    }
    ss_test_context(t, "%s", "");
    SS_CHECK_EQ_U64(got->n, want->n);
}

/* Family `cf` of `s` holds exactly keys[i] -> vals[i] (vals may be NULL:
 * value == key). */
static inline void
check_contents(ss_test *t, ss_store *s, unsigned cf, int ordered,
               const bstr *keys, const bstr *vals, size_t n)
{
    kv_list got = {0}, want = {0};
    size_t i;

    for (i = 0; i < n; i++)
        kv_add(t, &want, keys[i].d, keys[i].n, vals ? vals[i].d : keys[i].d,
               vals ? vals[i].n : keys[i].n);
    kv_sort(&want);
    kv_dump(t, &got, s, cf, ordered);
    kv_check_equal(t, &got, &want);
    kv_free(&got);
    kv_free(&want);
}

/* Versions of the files named "<V><suffix>" in `dir` (suffix ".delta" or
 * ".snapshot"), ascending; returns how many (at most `max`). */
static inline size_t
list_versions(const char *dir, const char *suffix, uint64_t *out, size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0, i, j, sl = strlen(suffix);

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL && n < max) {
        const char *name = de->d_name;
        size_t nl = strlen(name), dl;
        uint64_t v = 0;

        if (nl <= sl || strcmp(name + nl - sl, suffix) != 0)
            continue;
        dl = nl - sl;
        for (i = 0; i < dl; i++) {
            if (name[i] < '0' || name[i] > '9')
                break;
            v = v * 10 + (uint64_t)(name[i] - '0');
        }
        if (i != dl)
            continue;
        out[n++] = v;
    }
    closedir(d);
    for (i = 1; i < n; i++)
        for (j = i; j > 0 && out[j - 1] > out[j]; j--) {
            uint64_t x = out[j];

            out[j] = out[j - 1];
            out[j - 1] = x;
        }
    return n;
}

/* Does "<dir>/<version><suffix>" exist? */
static inline int
version_file_exists(const char *dir, uint64_t version, const char *suffix)
{
    char path[SS_TEST_PATH_MAX + 64];

    snprintf(path, sizeof(path), "%s/%llu%s", dir, (unsigned long long)version,
             suffix);
    return ss_test_file_exists(path);
}

/* Size of "<dir>/<version><suffix>", or -1. */
static inline long long
version_file_size(const char *dir, uint64_t version, const char *suffix)
{
    char path[SS_TEST_PATH_MAX + 64];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%llu%s", dir, (unsigned long long)version,
             suffix);
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static inline ss_metrics
get_metrics(ss_test *t, ss_provider *p)
{
    ss_metrics m;

    memset(&m, 0, sizeof(m));
    m.version = SS_METRICS_VERSION;
    SS_CHECK_OK(ss_provider_metrics(&m, p));
    return m;
}

static inline uint64_t
commit_store(ss_test *t, ss_store *s)
{
    uint64_t v = UINT64_MAX;

    SS_CHECK_OK(ss_store_commit(&v, s));
    SS_CHECK_EQ_U64(ss_store_version(s), v);
    return v;
}

static inline void
put_b(ss_test *t, ss_store *s, unsigned cf, bstr k, bstr v)
{
    SS_CHECK_OK(ss_store_put(s, cf, BS(k), BS(v)));
}

static inline void
expect_get(ss_test *t, ss_store *s, unsigned cf, bstr k, bstr v)
{
    ss_slice got = {NULL, 0};

    SS_CHECK_OK(ss_store_get(&got, s, cf, BS(k)));
    SS_CHECK_EQ_SLICE(got, BS(v));
}

static inline void
expect_absent(ss_test *t, ss_store *s, unsigned cf, bstr k)
{
    ss_slice got = {NULL, 0};

    SS_CHECK_ERR(SS_ENOTFOUND, ss_store_get(&got, s, cf, BS(k)));
}

/* Count what an iterator yields, checking it ends cleanly; frees it. */
static inline size_t
drain_count(ss_test *t, ss_iter *it)
{
    size_t n = 0;
    int rc;

    while ((rc = ss_iter_next(it, NULL, NULL)) == 0)
        n++;
    SS_CHECK_RC(SS_EDONE, rc);
    ss_iter_free(it);
    return n;
}

/* Keys of family `cf` in `s`, by iterating it. */
static inline size_t
family_size(ss_test *t, ss_store *s, unsigned cf)
{
    ss_iter *it = NULL;

    SS_CHECK_OK(ss_store_iter(&it, s, cf));
    return drain_count(t, it);
}

#endif
