/*
 * store_batch_api.c -- issue 10, items 2 and 6, once per provider config:
 * reads after commit (header convention 8, store.c invariant 1),
 * ss_store_multi_get and ss_store_remove_range.
 */
#include "harness.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define NKEYS 40

static void
key_of(char *buf, size_t len, unsigned i)
{
    snprintf(buf, len, "key-%03u", i);
}

static uint64_t
num_keys(ss_test *t, ss_provider *p)
{
    ss_metrics m;

    memset(&m, 0, sizeof(m));
    m.version = SS_METRICS_VERSION;
    SS_CHECK_OK(ss_provider_metrics(&m, p));
    return m.num_keys;
}

/* ---------------------------------------------------- reads after commit */

/* Convention 8: a committed store reads its new version -- get, iter,
 * prefix and range scans, metrics -- and refuses writes. */
static void
test_batch__reads_after_commit(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    ss_iter *it = NULL;
    ss_slice v;
    unsigned ord;
    uint64_t ver = 0;

    SS_CHECK_OK(ss_provider_cf(&ord, p, "ord", SS_CF_ORDERED));
    s = ss_test_load(t, p, 0);
    put_b(t, s, SS_CF_DEFAULT, B("a"), B("1"));
    put_b(t, s, SS_CF_DEFAULT, B("gone"), B("x"));
    put_b(t, s, ord, B("p:1"), B("one"));
    put_b(t, s, ord, B("p:2"), B("two"));
    put_b(t, s, ord, B("q:1"), B("three"));
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    ss_store_free(s);

    s = ss_test_load(t, p, 1);
    put_b(t, s, SS_CF_DEFAULT, B("a"), B("2"));
    SS_CHECK_OK(ss_store_remove(s, SS_CF_DEFAULT, BS(B("gone"))));
    put_b(t, s, ord, B("p:3"), B("four"));
    SS_CHECK_OK(ss_store_commit(&ver, s));
    SS_CHECK_EQ_U64(ver, 2);
    SS_CHECK_EQ_U64(ss_store_version(s), 2);

    expect_get(t, s, SS_CF_DEFAULT, B("a"), B("2"));
    expect_absent(t, s, SS_CF_DEFAULT, B("gone"));
    expect_get(t, s, ord, B("p:3"), B("four"));
    SS_CHECK_OK(ss_store_iter(&it, s, SS_CF_DEFAULT));
    SS_CHECK_EQ_U64(drain_count(t, it), 1);
    SS_CHECK_OK(ss_store_prefix_scan(&it, s, ord, BS(B("p:"))));
    SS_CHECK_EQ_U64(drain_count(t, it), 3);
    SS_CHECK_OK(ss_store_range_scan(&it, s, ord, BS(B("p:2")), BS(B("q:"))));
    SS_CHECK_OK(ss_iter_next(it, NULL, &v));
    SS_CHECK_EQ_SLICE(v, BS(B("two")));
    SS_CHECK_OK(ss_iter_next(it, NULL, &v));
    SS_CHECK_EQ_SLICE(v, BS(B("four")));
    SS_CHECK_RC(SS_EDONE, ss_iter_next(it, NULL, NULL));
    ss_iter_free(it);
    SS_CHECK_EQ_U64(num_keys(t, p), 5);

    /* Writes, commit and abort stay refused. */
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_put(s, SS_CF_DEFAULT, BS(B("b")), BS(B("v"))),
                     "committed");
    SS_CHECK_ERR(SS_EINVAL, ss_store_remove(s, SS_CF_DEFAULT, BS(B("a"))));
    SS_CHECK_ERR(SS_EINVAL,
                 ss_store_remove_range(s, ord, BS(B("p")), BS(B("q"))));
    SS_CHECK_ERR(SS_EINVAL, ss_store_commit(&ver, s));
    SS_CHECK_ERR(SS_EINVAL, ss_store_abort(s));
    /* The refused calls changed nothing. */
    expect_get(t, s, SS_CF_DEFAULT, B("a"), B("2"));
    expect_absent(t, s, SS_CF_DEFAULT, B("b"));
    ss_store_free(s);
    s = ss_test_load(t, p, 2);
    expect_get(t, s, SS_CF_DEFAULT, B("a"), B("2"));
    expect_absent(t, s, SS_CF_DEFAULT, B("b"));
    ss_store_free(s);
}

/* Convention 8: the next writable load of the provider ends the
 * committed store's reads (and its iterators'), with a message. */
static void
test_batch__committed_store_refused_after_next_load(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s, *s2;
    ss_iter *it = NULL, *it2 = NULL;
    ss_slice v;

    s = ss_test_load(t, p, 0);
    put_b(t, s, SS_CF_DEFAULT, B("k"), B("v1"));
    put_b(t, s, SS_CF_DEFAULT, B("k2"), B("v1"));
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    SS_CHECK_OK(ss_store_iter(&it, s, SS_CF_DEFAULT));
    SS_CHECK_OK(ss_iter_next(it, NULL, NULL));
    SS_CHECK_OK(ss_store_iter(&it2, s, SS_CF_DEFAULT));

    /* A committed store is not the writable store any more. */
    s2 = ss_test_load(t, p, 1);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_get(&v, s, SS_CF_DEFAULT, BS(B("k"))),
                     "another writable store");
    SS_CHECK_ERR(SS_EINVAL, ss_iter_next(it, NULL, NULL));
    SS_CHECK_ERR(SS_EINVAL, ss_iter_next(it2, NULL, NULL));
    ss_iter_free(it);
    it = NULL;
    SS_CHECK_ERR(SS_EINVAL, ss_store_iter(&it, s, SS_CF_DEFAULT));
    SS_CHECK(it == NULL);
    SS_CHECK_ERR(SS_EINVAL,
                 ss_store_multi_get(&v, (int[1]){0}, s, SS_CF_DEFAULT, &v, 0));
    SS_CHECK_EQ_U64(ss_store_version(s), 1);
    ss_iter_free(it2);

    /* The new writer is unaffected; it may even go back to version 0. */
    put_b(t, s2, SS_CF_DEFAULT, B("k"), B("v2"));
    expect_get(t, s2, SS_CF_DEFAULT, B("k"), B("v2"));
    SS_CHECK_EQ_U64(commit_store(t, s2), 2);
    ss_store_free(s);
    ss_store_free(s2);
    s = ss_test_load(t, p, 0);
    expect_absent(t, s, SS_CF_DEFAULT, B("k"));
    ss_store_free(s);
    s = ss_test_load(t, p, 2);
    expect_get(t, s, SS_CF_DEFAULT, B("k"), B("v2"));
    ss_store_free(s);
}

/* Convention 8: an aborted store refuses reads. */
static void
test_batch__aborted_store_refuses_reads(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s = ss_test_load(t, p, 0);
    ss_iter *it = NULL;
    ss_slice v;

    put_b(t, s, SS_CF_DEFAULT, B("k"), B("v"));
    SS_CHECK_OK(ss_store_abort(s));
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_get(&v, s, SS_CF_DEFAULT, BS(B("k"))),
                     "aborted");
    SS_CHECK_ERR(SS_EINVAL, ss_store_iter(&it, s, SS_CF_DEFAULT));
    ss_store_free(s);
}

/* -------------------------------------------------------------- multi-get */

/* multi_get equals one get per key: present, absent, repeated, and keys
 * the open batch put or removed; then again after commit. */
static void
test_batch__multi_get_matches_get(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    char kb[NKEYS + 8][16], vb[32];
    ss_slice keys[NKEYS + 8], vals[NKEYS + 8], one;
    int status[NKEYS + 8], rc, found, want, pass;
    unsigned i, n = NKEYS + 8;

    s = ss_test_load(t, p, 0);
    for (i = 0; i < NKEYS; i += 2) {
        key_of(kb[0], sizeof(kb[0]), i);
        snprintf(vb, sizeof(vb), "v1-%u", i);
        put_b(t, s, SS_CF_DEFAULT, (bstr){kb[0], strlen(kb[0])},
              (bstr){vb, strlen(vb)});
    }
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    ss_store_free(s);

    s = ss_test_load(t, p, 1);
    /* Uncommitted: puts on odd keys < 10, removes of even keys < 10. */
    for (i = 0; i < 10; i++) {
        key_of(kb[0], sizeof(kb[0]), i);
        if (i % 2) {
            snprintf(vb, sizeof(vb), "v2-%u", i);
            put_b(t, s, SS_CF_DEFAULT, (bstr){kb[0], strlen(kb[0])},
                  (bstr){vb, strlen(vb)});
        } else {
            SS_CHECK_OK(ss_store_remove(s, SS_CF_DEFAULT, SS_STR(kb[0])));
        }
    }
    for (i = 0; i < n; i++) {
        /* The last 8 repeat earlier keys or are far out of range. */
        key_of(kb[i], sizeof(kb[i]), i < NKEYS ? i : (i % 2 ? i - NKEYS : 900));
        keys[i] = SS_STR(kb[i]);
    }
    for (pass = 0; pass < 2; pass++) {
        ss_test_context(t, "pass %d", pass);
        memset(status, 0x55, sizeof(status));
        found = ss_store_multi_get(vals, status, s, SS_CF_DEFAULT, keys, n);
        SS_CHECK(found >= 0);
        want = 0;
        for (i = 0; i < n; i++) {
            ss_test_context(t, "pass %d key %s", pass, kb[i]);
            rc = ss_store_get(&one, s, SS_CF_DEFAULT, keys[i]);
            SS_CHECK_RC(rc, status[i]);
            if (rc == 0) {
                want++;
                SS_CHECK_EQ_SLICE(vals[i], one);
            } else {
                SS_CHECK_RC(SS_ENOTFOUND, rc);
                SS_CHECK(vals[i].data == NULL && vals[i].len == 0);
            }
        }
        SS_CHECK_EQ_U64((uint64_t)found, (uint64_t)want);
        /* The batch's writes show: 1 put, 0 removed, 10 untouched. */
        SS_CHECK_RC(0, status[1]);
        SS_CHECK_EQ_SLICE(vals[1], BS(B("v2-1")));
        SS_CHECK_RC(SS_ENOTFOUND, status[0]);
        SS_CHECK_RC(0, status[10]);
        SS_CHECK_EQ_SLICE(vals[10], BS(B("v1-10")));
        SS_CHECK_RC(SS_ENOTFOUND, status[11]);
        /* 5 odd puts + 15 untouched evens of 10..38, + repeats. */
        if (pass == 0)
            SS_CHECK_OK(ss_store_commit(NULL, s));
    }
    SS_CHECK_EQ_U64((uint64_t)found, 20 + 4);

    /* No keys is fine; a bad key fails the whole call. */
    SS_CHECK_OK(ss_store_multi_get(NULL, NULL, s, SS_CF_DEFAULT, NULL, 0));
    ss_store_free(s);
    s = ss_test_load(t, p, 2);
    keys[3].len = 0;
    SS_CHECK_ERR_MSG(
        SS_EINVAL, ss_store_multi_get(vals, status, s, SS_CF_DEFAULT, keys, n),
        "key 3");
    SS_CHECK_ERR(SS_EINVAL,
                 ss_store_multi_get(NULL, status, s, SS_CF_DEFAULT, keys, 1));
    SS_CHECK_ERR(SS_EINVAL, ss_store_multi_get(vals, status, s, 77, keys, 1));
    ss_store_free(s);
}

/* All values of one multi_get stay valid together, through many keys
 * (several of the rocksdb provider's MultiGet chunks) and a read-only
 * store. */
static void
test_batch__multi_get_many_keys(ss_test *t)
{
    enum { N = 1300 };
    static char kb[N][16], vb[N][24];
    static ss_slice keys[N], vals[N];
    static int status[N];
    ss_provider *p = ss_test_open(t);
    ss_store *s = ss_test_load(t, p, 0);
    unsigned i;
    int k;

    for (i = 0; i < N; i++) {
        key_of(kb[i], sizeof(kb[i]), i * 7 % N);
        snprintf(vb[i], sizeof(vb[i]), "value-%u", i * 7 % N);
        keys[i] = SS_STR(kb[i]);
        if (i % 3)
            SS_CHECK_OK(ss_store_put(s, SS_CF_DEFAULT, keys[i], SS_STR(vb[i])));
    }
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    for (k = 0; k < 2; k++) {
        ss_test_context(t, "%s", k ? "read-only" : "committed");
        SS_CHECK_RC(
            (int)(N - (N + 2) / 3),
            ss_store_multi_get(vals, status, s, SS_CF_DEFAULT, keys, N));
        for (i = 0; i < N; i++) {
            if (i % 3) {
                SS_CHECK_RC(0, status[i]);
                SS_CHECK_EQ_SLICE(vals[i], SS_STR(vb[i]));
            } else {
                SS_CHECK_RC(SS_ENOTFOUND, status[i]);
            }
        }
        ss_store_free(s);
        s = ss_test_load_ro(t, p, 1);
    }
    ss_store_free(s);
}

/* ------------------------------------------------------------ remove_range */

/* A model of one ordered family: present[i] for key_of(i). */
typedef struct model {
    unsigned char present[NKEYS];
} model;

static void
model_check(ss_test *t, ss_store *s, unsigned cf, const model *m)
{
    bstr keys[NKEYS];
    char kb[NKEYS][16];
    size_t n = 0;
    unsigned i;

    for (i = 0; i < NKEYS; i++)
        if (m->present[i]) {
            key_of(kb[n], sizeof(kb[n]), i);
            keys[n].d = kb[n];
            keys[n].n = strlen(kb[n]);
            n++;
        }
    check_contents(t, s, cf, 1, keys, NULL, n);
}

/* Remove [lo, hi) of the model, hi == NKEYS meaning an empty end. */
static void
range_both(ss_test *t, ss_store *s, unsigned cf, model *m, unsigned lo,
           unsigned hi)
{
    char a[16], b[16];
    unsigned i;

    key_of(a, sizeof(a), lo);
    key_of(b, sizeof(b), hi);
    SS_CHECK_OK(ss_store_remove_range(s, cf, SS_STR(a),
                                      hi >= NKEYS ? SS_STR("") : SS_STR(b)));
    for (i = lo; i < hi && i < NKEYS; i++)
        m->present[i] = 0;
}

/* remove_range removes exactly start <= k < end, sees and removes the
 * open batch's puts, keeps num_keys exact, and reloads from the files
 * (a fresh provider) equal to the model. */
static void
test_batch__remove_range_ordered(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s;
    model m;
    char kb[16];
    unsigned ord, i, n;

    memset(&m, 0, sizeof(m));
    SS_CHECK_OK(ss_provider_cf(&ord, p, "ord", SS_CF_ORDERED));
    s = ss_test_load(t, p, 0);
    for (i = 0; i < NKEYS; i += 2) {
        key_of(kb, sizeof(kb), i);
        put_b(t, s, ord, (bstr){kb, strlen(kb)}, (bstr){kb, strlen(kb)});
        m.present[i] = 1;
    }
    /* A key of another family in the range is not touched. */
    put_b(t, s, SS_CF_DEFAULT, B("key-005"), B("other family"));
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    ss_store_free(s);
    SS_CHECK_EQ_U64(num_keys(t, p), NKEYS / 2 + 1);

    s = ss_test_load(t, p, 1);
    /* Odd keys 1..9 put in this batch, then [3, 8) removed: both the
     * batch's keys and the loaded ones, bound 3 (absent in files, put
     * now) included, 8 excluded. */
    for (i = 1; i < 10; i += 2) {
        key_of(kb, sizeof(kb), i);
        put_b(t, s, ord, (bstr){kb, strlen(kb)}, (bstr){kb, strlen(kb)});
        m.present[i] = 1;
    }
    range_both(t, s, ord, &m, 3, 8);
    model_check(t, s, ord, &m);
    expect_absent(t, s, ord, B("key-003"));
    expect_get(t, s, ord, B("key-008"), B("key-008"));
    /* Bounds between keys, and an empty range. */
    SS_CHECK_OK(
        ss_store_remove_range(s, ord, BS(B("key-010x")), BS(B("key-014"))));
    m.present[12] = 0;
    SS_CHECK_OK(
        ss_store_remove_range(s, ord, BS(B("key-030")), BS(B("key-020"))));
    SS_CHECK_OK(
        ss_store_remove_range(s, ord, BS(B("key-015")), BS(B("key-015"))));
    /* Empty end: to the last key. */
    range_both(t, s, ord, &m, 31, NKEYS);
    model_check(t, s, ord, &m);
    expect_get(t, s, SS_CF_DEFAULT, B("key-005"), B("other family"));
    /* A put after the range delete in the same batch survives. */
    put_b(t, s, ord, B("key-035"), B("key-035"));
    m.present[35] = 1;
    SS_CHECK_EQ_U64(commit_store(t, s), 2);
    for (i = 0, n = 0; i < NKEYS; i++)
        n += m.present[i];
    SS_CHECK_EQ_U64(num_keys(t, p), n + 1);
    model_check(t, s, ord, &m); /* the committed store reads */
    ss_store_free(s);

    ss_test_close(t, p);
    p = ss_test_open(t);
    SS_CHECK_OK(ss_provider_cf(&ord, p, "ord", SS_CF_ORDERED));
    s = ss_test_load_ro(t, p, 2);
    model_check(t, s, ord, &m);
    ss_store_free(s);
    s = ss_test_load(t, p, 2);
    model_check(t, s, ord, &m);
    SS_CHECK_EQ_U64(num_keys(t, p), n + 1);
    /* Everything, with both bounds empty; then abort restores it. */
    SS_CHECK_OK(
        ss_store_remove_range(s, ord, ss_test_slice(NULL, 0), SS_STR("")));
    check_contents(t, s, ord, 1, NULL, NULL, 0);
    SS_CHECK_EQ_U64(commit_store(t, s), 3);
    SS_CHECK_EQ_U64(num_keys(t, p), 1);
    ss_store_free(s);
    s = ss_test_load(t, p, 2);
    model_check(t, s, ord, &m);
    ss_store_free(s);
}

/* remove_range is for ordered families only; read-only stores refuse. */
static void
test_batch__remove_range_refused(ss_test *t)
{
    ss_provider *p = ss_test_open(t);
    ss_store *s, *ro;
    unsigned hashed, ord;

    SS_CHECK_OK(ss_provider_cf(&hashed, p, "hashed", 0));
    SS_CHECK_OK(ss_provider_cf(&ord, p, "ord", SS_CF_ORDERED));
    s = ss_test_load(t, p, 0);
    put_b(t, s, hashed, B("a"), B("1"));
    put_b(t, s, SS_CF_DEFAULT, B("a"), B("1"));
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_remove_range(s, hashed, SS_STR("a"), SS_STR("")),
                     "not ordered");
    SS_CHECK_ERR(SS_EINVAL, ss_store_remove_range(s, SS_CF_DEFAULT, SS_STR("a"),
                                                  SS_STR("b")));
    SS_CHECK_ERR(SS_EINVAL,
                 ss_store_remove_range(s, 99, SS_STR("a"), SS_STR("b")));
    SS_CHECK_ERR(SS_EINVAL,
                 ss_store_remove_range(NULL, ord, SS_STR("a"), SS_STR("b")));
    expect_get(t, s, hashed, B("a"), B("1"));
    expect_get(t, s, SS_CF_DEFAULT, B("a"), B("1"));
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    ss_store_free(s);
    ro = ss_test_load_ro(t, p, 1);
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_remove_range(ro, ord, SS_STR("a"), SS_STR("")),
                     "read-only");
    ss_store_free(ro);
}

static const ss_test_case cases[] = {
    SS_TEST(batch, reads_after_commit),
    SS_TEST(batch, committed_store_refused_after_next_load),
    SS_TEST(batch, aborted_store_refuses_reads),
    SS_TEST(batch, multi_get_matches_get),
    SS_TEST(batch, multi_get_many_keys),
    SS_TEST(batch, remove_range_ordered),
    SS_TEST(batch, remove_range_refused),
    SS_TEST_END,
};

SS_TEST_MAIN(cases)
