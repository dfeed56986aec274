/*
 * store_iter_writes.c -- issue 10, item 1, once per provider config:
 * iterators survive puts and removes on their store (ss_iter_next).
 *
 * Each step returns the first key after the last one returned that is
 * present at that step.  Checked here at sizes the model test does not
 * reach: eviction loops over thousands of keys, and enough inserts
 * during one iteration to make the memory provider's hash index double
 * several times under it.
 */
#include "harness.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t
key_of(char *buf, size_t len, unsigned i)
{
    return (size_t)snprintf(buf, len, "key-%06u", i);
}

/* Index of a key made by key_of, or -1. */
static long
index_of(ss_slice k)
{
    char buf[32];
    unsigned i;

    if (k.len < 5 || k.len >= sizeof(buf))
        return -1;
    memcpy(buf, k.data, k.len);
    buf[k.len] = '\0';
    if (sscanf(buf, "key-%u", &i) != 1)
        return -1;
    return (long)i;
}

static void
fill(ss_test *t, ss_store *s, unsigned cf, unsigned n)
{
    char k[32];
    unsigned i;

    for (i = 0; i < n; i++)
        SS_CHECK_OK(ss_store_put(s, cf, ss_test_slice(k, key_of(k, 32, i)),
                                 ss_test_slice(k, 4)));
}

/* Spark's "removing while iterating": remove every other key as it is
 * returned, in an unordered and an ordered family, then commit and load
 * the result back. */
static void
evict(ss_test *t, unsigned flags)
{
    enum { N = 20000 };
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    ss_iter *it = NULL;
    ss_slice k, v;
    unsigned char *seen = calloc(N, 1);
    unsigned cf;
    size_t returned = 0, removed = 0;
    long idx, prev = -1;
    int rc;

    SS_CHECK(seen != NULL);
    SS_CHECK_OK(ss_provider_cf(&cf, p, "f", flags));
    s = ss_test_load(t, p, 0);
    fill(t, s, cf, N);
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    ss_store_free(s);

    s = ss_test_load(t, p, 1);
    SS_CHECK_OK(ss_store_iter(&it, s, cf));
    while ((rc = ss_iter_next(it, &k, &v)) == 0) {
        idx = index_of(k);
        if (idx < 0 || idx >= N || seen[idx])
            SS_FAIL("key %ld returned twice or never put", idx);
        if ((flags & SS_CF_ORDERED) && idx <= prev)
            SS_FAIL("ordered family: key %ld after %ld", idx, prev);
        seen[idx] = 1;
        prev = idx;
        SS_CHECK_EQ_SLICE(v, ss_test_slice(k.data, 4));
        returned++;
        if (idx % 2 == 0) {
            SS_CHECK_OK(ss_store_remove(s, cf, k));
            removed++;
            /* The key slice is the iterator's copy: intact. */
            SS_CHECK_EQ_U64((uint64_t)index_of(k), (uint64_t)idx);
        }
    }
    SS_CHECK_RC(SS_EDONE, rc);
    ss_iter_free(it);
    SS_CHECK_EQ_U64(returned, N);
    SS_CHECK_EQ_U64(removed, N / 2);
    SS_CHECK_EQ_U64(family_size(t, s, cf), N / 2);
    SS_CHECK_EQ_U64(commit_store(t, s), 2);
    ss_store_free(s);

    SS_CHECK_OK(ss_provider_load_readonly(&s, p, 2));
    SS_CHECK_EQ_U64(family_size(t, s, cf), N / 2);
    expect_absent(t, s, cf, B("key-000000"));
    expect_get(t, s, cf, B("key-000001"), B("key-"));
    ss_store_free(s);
    free(seen);
}

static void
test_iter_writes__evict_unordered(ss_test *t)
{
    evict(t, 0);
}

static void
test_iter_writes__evict_ordered(ss_test *t)
{
    evict(t, SS_CF_ORDERED);
}

/* An unordered family of 1,000 keys gets 8 new keys per step: 8,000 by
 * the end, so the memory provider's index doubles several times while
 * the iterator is in it.  Every original key comes back exactly once; no
 * key comes back twice. */
static void
test_iter_writes__inserts_while_iterating(ss_test *t)
{
    enum { N = 1000, PER_STEP = 8, MAX = N + N * PER_STEP };
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    ss_iter *it = NULL;
    ss_slice k;
    unsigned char *seen = calloc(MAX, 1);
    char nk[32];
    unsigned next = N, j;
    size_t originals = 0;
    long idx;
    int rc;

    SS_CHECK(seen != NULL);
    s = ss_test_load(t, p, 0);
    fill(t, s, SS_CF_DEFAULT, N);
    SS_CHECK_OK(ss_store_iter(&it, s, SS_CF_DEFAULT));
    while ((rc = ss_iter_next(it, &k, NULL)) == 0) {
        idx = index_of(k);
        if (idx < 0 || idx >= MAX || seen[idx])
            SS_FAIL("key %ld returned twice or never put", idx);
        seen[idx] = 1;
        if (idx < N)
            originals++;
        for (j = 0; j < PER_STEP && next < MAX; j++, next++)
            SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT,
                                     ss_test_slice(nk, key_of(nk, 32, next)),
                                     ss_test_slice(nk, 4)));
    }
    SS_CHECK_RC(SS_EDONE, rc);
    ss_iter_free(it);
    SS_CHECK_EQ_U64(originals, N);
    SS_CHECK_EQ_U64(family_size(t, s, SS_CF_DEFAULT), MAX);
    ss_store_abort(s);
    ss_store_free(s);
    free(seen);
}

/* Ordered families see writes ahead of the cursor and not behind it. */
static void
test_iter_writes__ordered_visibility(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    ss_iter *it = NULL;
    ss_slice k, v;
    unsigned ord;

    SS_CHECK_OK(ss_provider_cf(&ord, p, "ord", SS_CF_ORDERED));
    s = ss_test_load(t, p, 0);
    put_b(t, s, ord, B("b"), B("1"));
    put_b(t, s, ord, B("d"), B("2"));
    put_b(t, s, ord, B("f"), B("3"));
    SS_CHECK_OK(ss_store_range_scan(&it, s, ord, SS_STR("b"), SS_STR("z")));
    SS_CHECK_OK(ss_iter_next(it, &k, &v));
    SS_CHECK_EQ_SLICE(k, SS_STR("b"));
    put_b(t, s, ord, B("a"), B("behind")); /* before the cursor: unseen */
    put_b(t, s, ord, B("c"), B("ahead"));  /* after it: seen */
    put_b(t, s, ord, B("d"), B("new"));    /* rewritten ahead: new value */
    SS_CHECK_OK(ss_store_remove(s, ord, SS_STR("f")));
    put_b(t, s, ord, B("zz"), B("past end"));
    SS_CHECK_OK(ss_iter_next(it, &k, &v));
    SS_CHECK_EQ_SLICE(k, SS_STR("c"));
    SS_CHECK_EQ_SLICE(v, SS_STR("ahead"));
    SS_CHECK_OK(ss_iter_next(it, &k, &v));
    SS_CHECK_EQ_SLICE(k, SS_STR("d"));
    SS_CHECK_EQ_SLICE(v, SS_STR("new"));
    SS_CHECK_RC(SS_EDONE, ss_iter_next(it, &k, &v));
    /* Exhausted stays exhausted, whatever is written after. */
    put_b(t, s, ord, B("e"), B("late"));
    SS_CHECK_RC(SS_EDONE, ss_iter_next(it, &k, &v));
    ss_iter_free(it);
    ss_store_abort(s);
    ss_store_free(s);
}

/* A family first written after the iterator was made (rocksdb creates
 * its column family lazily) is seen by the iterator. */
static void
test_iter_writes__family_written_after_creation(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    ss_iter *it = NULL;
    ss_slice k;
    unsigned cf;

    SS_CHECK_OK(ss_provider_cf(&cf, p, "late", SS_CF_ORDERED));
    s = ss_test_load(t, p, 0);
    SS_CHECK_OK(ss_store_iter(&it, s, cf));
    put_b(t, s, cf, B("x"), B("1"));
    SS_CHECK_OK(ss_iter_next(it, &k, NULL));
    SS_CHECK_EQ_SLICE(k, SS_STR("x"));
    SS_CHECK_RC(SS_EDONE, ss_iter_next(it, &k, NULL));
    ss_iter_free(it);
    ss_store_abort(s);
    ss_store_free(s);
}

/* Commit still ends the store's iterators (convention 8). */
static void
test_iter_writes__commit_ends_iterators(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    ss_iter *it = NULL;
    ss_slice k;

    s = ss_test_load(t, p, 0);
    put_b(t, s, SS_CF_DEFAULT, B("a"), B("1"));
    put_b(t, s, SS_CF_DEFAULT, B("b"), B("2"));
    SS_CHECK_OK(ss_store_iter(&it, s, SS_CF_DEFAULT));
    SS_CHECK_OK(ss_iter_next(it, &k, NULL));
    commit_store(t, s);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_iter_next(it, &k, NULL), "committed");
    ss_iter_free(it);
    ss_store_free(s);
}

static const ss_test_case cases[] = {
    SS_TEST(iter_writes, evict_unordered),
    SS_TEST(iter_writes, evict_ordered),
    SS_TEST(iter_writes, inserts_while_iterating),
    SS_TEST(iter_writes, ordered_visibility),
    SS_TEST(iter_writes, family_written_after_creation),
    SS_TEST(iter_writes, commit_ends_iterators),
    SS_TEST_END,
};

SS_TEST_MAIN(cases)
