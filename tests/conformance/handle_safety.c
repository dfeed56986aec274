/*
 * handle_safety.c -- header convention 9: with checked handles, a call on
 * a freed or closed handle is an error, never a crash (issue 10, item 7).
 * Once per provider config; run under ASan too (SANITIZE=1), where a
 * check that let a stale handle through would be a use after free, and
 * the cascades (invariant 6 of store.c) must leave no leak.
 *
 * Module `checked` runs with ss_handle_checks(1) (its initialize hook),
 * module `unchecked` with checks off: what stays defined there.
 */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "testutil.h"

#include <stdint.h>
#include <string.h>

#define STALE "handle is stale"

static void
test_checked__initialize(ss_test *t)
{
    /* No handle is live between runs: the harness closed them. */
    SS_CHECK(ss_handle_checks(1) >= 0);
    SS_CHECK(ss_handle_checks(-1) == 1);
}

static void
test_unchecked__initialize(ss_test *t)
{
    SS_CHECK(ss_handle_checks(0) >= 0);
    SS_CHECK(ss_handle_checks(-1) == 0);
}

/* A provider with an ordered family `ord` (so every scan applies). */
static ss_provider *
open_with_ord(ss_test *t, unsigned *ord)
{
    ss_provider *p = ss_test_open(t);

    SS_CHECK_OK(ss_provider_cf(ord, p, "ord", SS_CF_ORDERED));
    return p;
}

static ss_store *
load_with_data(ss_test *t, ss_provider *p, unsigned ord)
{
    ss_store *s = ss_test_load(t, p, 0);

    put_b(t, s, SS_CF_DEFAULT, B("k"), B("v"));
    put_b(t, s, ord, B("a"), B("1"));
    put_b(t, s, ord, B("b"), B("2"));
    return s;
}

/* Every store entry point refuses `s`, naming itself; none crashes. */
static void
expect_store_stale(ss_test *t, ss_store *s, unsigned ord)
{
    ss_slice v = {NULL, 0}, keys[1] = {{"k", 1}}, vals[1];
    int status[1];
    ss_iter *it = NULL;
    uint64_t ver = 77;
    unsigned fam;

    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_get(&v, s, SS_CF_DEFAULT, BS(B("k"))),
                     "ss_store_get: store " STALE);
    SS_CHECK_ERR_MSG(
        SS_EINVAL, ss_store_multi_get(vals, status, s, SS_CF_DEFAULT, keys, 1),
        "ss_store_multi_get: store " STALE);
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_put(s, SS_CF_DEFAULT, BS(B("k")), BS(B("w"))),
                     "ss_store_put: store " STALE);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_remove(s, SS_CF_DEFAULT, BS(B("k"))),
                     "ss_store_remove: store " STALE);
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_remove_range(s, ord, BS(B("a")), BS(B(""))),
                     "ss_store_remove_range: store " STALE);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_create(&fam, s, "n", 0),
                     "ss_store_cf_create: store " STALE);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_drop(s, ord),
                     "ss_store_cf_drop: store " STALE);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_cf_list(NULL, 0, s),
                     "ss_store_cf_list: store " STALE);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_commit(&ver, s),
                     "ss_store_commit: store " STALE);
    SS_CHECK_EQ_U64(ver, 77);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_abort(s),
                     "ss_store_abort: store " STALE);
    it = (ss_iter *)&ver;
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_iter(&it, s, SS_CF_DEFAULT),
                     "ss_store_iter: store " STALE);
    SS_CHECK(it == NULL);
    it = (ss_iter *)&ver;
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_prefix_scan(&it, s, SS_CF_DEFAULT, BS(B("k"))),
                     "ss_store_prefix_scan: store " STALE);
    SS_CHECK(it == NULL);
    it = (ss_iter *)&ver;
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_range_scan(&it, s, ord, BS(B("a")), BS(B(""))),
                     "ss_store_range_scan: store " STALE);
    SS_CHECK(it == NULL);
    /* Non-int returns: 0 and the message. */
    ss_error_clear();
    SS_CHECK_EQ_U64(ss_store_version(s), 0);
    SS_CHECK(strstr(ss_error_last(), "ss_store_version: store " STALE));
    /* Destructors: a no-op that says why. */
    ss_error_clear();
    ss_store_free(s);
    SS_CHECK(strstr(ss_error_last(), "ss_store_free: store " STALE));
}

static void
expect_iter_stale(ss_test *t, ss_iter *it)
{
    ss_slice k, v;

    SS_CHECK_ERR_MSG(SS_EINVAL, ss_iter_next(it, &k, &v),
                     "ss_iter_next: iterator " STALE);
    ss_error_clear();
    ss_iter_free(it);
    SS_CHECK(strstr(ss_error_last(), "ss_iter_free: iterator " STALE));
}

static void
expect_provider_stale(ss_test *t, ss_provider *p)
{
    ss_store *s = (ss_store *)&s;
    ss_metrics m;
    unsigned cf = 77;
    uint64_t v = 77;

    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_cf(&cf, p, "x", 0),
                     "ss_provider_cf: provider " STALE);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_load(&s, p, 0),
                     "ss_provider_load: provider " STALE);
    SS_CHECK(s == NULL);
    s = (ss_store *)&s;
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_load_readonly(&s, p, 0),
                     "ss_provider_load_readonly: provider " STALE);
    SS_CHECK(s == NULL);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_latest(&v, p),
                     "ss_provider_latest: provider " STALE);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_maintenance(p),
                     "ss_provider_maintenance: provider " STALE);
    m.version = SS_METRICS_VERSION;
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_metrics(&m, p),
                     "ss_provider_metrics: provider " STALE);
    ss_error_clear();
    ss_provider_close(p);
    SS_CHECK(strstr(ss_error_last(), "ss_provider_close: provider " STALE));
}

/* ------------------------------------------------------------ checked */

static void
test_checked__use_after_store_free(ss_test *t)
{
    unsigned ord;
    ss_provider *p = open_with_ord(t, &ord);
    ss_store *s = load_with_data(t, p, ord), *r;

    ss_store_free(s);
    expect_store_stale(t, s, ord);
    /* A committed, then freed store, and a read-only one. */
    s = load_with_data(t, p, ord);
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    ss_store_free(s);
    expect_store_stale(t, s, ord);
    r = ss_test_load_ro(t, p, 1);
    expect_get(t, r, SS_CF_DEFAULT, B("k"), B("v"));
    ss_store_free(r);
    expect_store_stale(t, r, ord);
    /* The provider is unharmed. */
    s = ss_test_load(t, p, 1);
    expect_get(t, s, ord, B("b"), B("2"));
    ss_store_free(s);
}

/* Closing a provider frees every store it made and their iterators:
 * the open writer, a committed store, a committed store made stale by
 * the next writable load, read-only stores (invariant 6 of store.c). */
static void
test_checked__use_after_provider_close(ss_test *t)
{
    unsigned ord;
    ss_provider *p = open_with_ord(t, &ord);
    ss_store *s = load_with_data(t, p, ord), *stale, *committed, *r;
    ss_iter *it_w, *it_stale, *it_c, *it_r;

    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    stale = s;
    SS_CHECK_OK(ss_store_iter(&it_stale, stale, ord));
    s = ss_test_load(t, p, 1); /* stale is stale now */
    put_b(t, s, SS_CF_DEFAULT, B("k2"), B("v2"));
    SS_CHECK_EQ_U64(commit_store(t, s), 2);
    committed = s;
    SS_CHECK_OK(ss_store_iter(&it_c, committed, ord));
    s = ss_test_load(t, p, 2);
    put_b(t, s, ord, B("c"), B("3"));
    SS_CHECK_OK(ss_store_range_scan(&it_w, s, ord, BS(B("a")), BS(B(""))));
    r = ss_test_load_ro(t, p, 1);
    SS_CHECK_OK(ss_store_prefix_scan(&it_r, r, SS_CF_DEFAULT, BS(B("k"))));

    ss_test_close(t, p);
    expect_iter_stale(t, it_w);
    expect_iter_stale(t, it_stale);
    expect_iter_stale(t, it_c);
    expect_iter_stale(t, it_r);
    expect_store_stale(t, s, ord);
    expect_store_stale(t, stale, ord);
    expect_store_stale(t, committed, ord);
    expect_store_stale(t, r, ord);
    expect_provider_stale(t, p);

    /* What was open at close was aborted: version 3 never appeared. */
    p = ss_test_open(t);
    {
        uint64_t latest = 0;

        SS_CHECK_OK(ss_provider_latest(&latest, p));
        SS_CHECK_EQ_U64(latest, 2);
    }
}

/* Finalisers run in any order: every order of freeing a provider, a
 * store and an iterator, with every object freed twice. */
static void
test_checked__any_free_order(ss_test *t)
{
    static const char *const orders[] = {"psi", "pis", "spi",
                                         "sip", "ips", "isp"};
    unsigned ord, o, round;
    const char *c;
    ss_provider *p;
    ss_store *s;
    ss_iter *it;

    for (o = 0; o < 6; o++) {
        ss_test_context(t, "free order %s (p provider, s store, i iter)",
                        orders[o]);
        /* The harness closes p again after the run: a no-op too. */
        p = open_with_ord(t, &ord);
        s = load_with_data(t, p, ord);
        SS_CHECK_OK(ss_store_iter(&it, s, ord));
        for (round = 0; round < 2; round++) {
            for (c = orders[o]; *c; c++) {
                if (*c == 'p')
                    ss_provider_close(p);
                else if (*c == 's')
                    ss_store_free(s);
                else
                    ss_iter_free(it);
            }
        }
        expect_iter_stale(t, it);
        expect_store_stale(t, s, ord);
        expect_provider_stale(t, p);
    }
}

static void
test_checked__double_free(ss_test *t)
{
    unsigned ord;
    ss_provider *p = open_with_ord(t, &ord);
    ss_store *s = load_with_data(t, p, ord);
    ss_iter *it;

    SS_CHECK_OK(ss_store_iter(&it, s, ord));
    ss_iter_free(it);
    expect_iter_stale(t, it); /* ends with a second ss_iter_free */
    ss_store_free(s);
    expect_store_stale(t, s, ord); /* ends with a second ss_store_free */
    ss_test_close(t, p);
    expect_provider_stale(t, p); /* ends with a second ss_provider_close */
}

/* An iterator made on a store is freed with it. */
static void
test_checked__iter_after_store_free(ss_test *t)
{
    unsigned ord;
    ss_provider *p = open_with_ord(t, &ord);
    ss_store *s = load_with_data(t, p, ord);
    ss_iter *it, *it2;
    ss_slice k, v;

    SS_CHECK_OK(ss_store_iter(&it, s, ord));
    SS_CHECK_OK(ss_iter_next(it, &k, &v));
    SS_CHECK_EQ_SLICE(k, BS(B("a")));
    ss_store_free(s);
    expect_iter_stale(t, it);

    /* The same after commit: the committed store's iterator reads until
     * the store is freed (convention 8), then is stale. */
    s = load_with_data(t, p, ord);
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    SS_CHECK_OK(ss_store_iter(&it, s, ord));
    SS_CHECK_OK(ss_store_iter(&it2, s, ord));
    SS_CHECK_OK(ss_iter_next(it, &k, &v));
    SS_CHECK_EQ_SLICE(k, BS(B("a")));
    ss_iter_free(it2);
    ss_store_free(s);
    expect_iter_stale(t, it);
    expect_iter_stale(t, it2);
}

/* A committed store's iterator after the next writable load: the store's
 * state is gone (convention 8) but both handles stay valid until freed. */
static void
test_checked__iter_of_retired_store(ss_test *t)
{
    unsigned ord;
    ss_provider *p = open_with_ord(t, &ord);
    ss_store *s = load_with_data(t, p, ord), *s2;
    ss_iter *it;
    ss_slice k, v;

    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    SS_CHECK_OK(ss_store_iter(&it, s, ord));
    s2 = ss_test_load(t, p, 1);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_iter_next(it, &k, &v), "state is gone");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_get(&v, s, ord, BS(B("a"))),
                     "state is gone");
    SS_CHECK_EQ_U64(ss_store_version(s), 1);
    ss_store_free(s);
    expect_iter_stale(t, it);
    expect_store_stale(t, s, ord);
    expect_get(t, s2, ord, B("a"), B("1"));
    ss_store_free(s2);
}

/* A slot freed and reused by the next handle: the old token is refused,
 * the new one works.  Tokens are [type:4][slot:28][generation:32]
 * (src/store/handles.c); a freed slot is the next one handed out. */
static void
test_checked__recycled_slot(ss_test *t)
{
    unsigned ord, i;
    ss_provider *p = open_with_ord(t, &ord);
    ss_store *s = load_with_data(t, p, ord), *old[64], *r;
    ss_iter *it, *old_it;
    ss_slice k, v;

    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    ss_store_free(s);
    for (i = 0; i < 64; i++) {
        old[i] = ss_test_load_ro(t, p, 1);
        ss_store_free(old[i]);
    }
    r = ss_test_load_ro(t, p, 1);
    /* Same slot, another generation. */
    SS_CHECK((uintptr_t)r >> 32 == (uintptr_t)old[63] >> 32);
    SS_CHECK(r != old[63]);
    for (i = 0; i < 64; i++) {
        ss_test_context(t, "old store %u", i);
        SS_CHECK_ERR_MSG(SS_EINVAL,
                         ss_store_get(&v, old[i], SS_CF_DEFAULT, BS(B("k"))),
                         "ss_store_get: store " STALE);
        ss_error_clear();
        ss_store_free(old[i]);
        SS_CHECK(strstr(ss_error_last(), STALE));
    }
    ss_test_context(t, "%s", "");
    expect_get(t, r, SS_CF_DEFAULT, B("k"), B("v"));

    /* Iterators too. */
    SS_CHECK_OK(ss_store_iter(&old_it, r, ord));
    ss_iter_free(old_it);
    SS_CHECK_OK(ss_store_iter(&it, r, ord));
    SS_CHECK((uintptr_t)it >> 32 == (uintptr_t)old_it >> 32);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_iter_next(old_it, &k, &v),
                     "ss_iter_next: iterator " STALE);
    SS_CHECK_OK(ss_iter_next(it, &k, &v));
    SS_CHECK_EQ_SLICE(k, BS(B("a")));
    ss_iter_free(it);
    ss_store_free(r);
}

/* A handle of the wrong kind, or a value that never was a handle. */
static void
test_checked__wrong_kind_and_garbage(ss_test *t)
{
    unsigned ord;
    ss_provider *p = open_with_ord(t, &ord);
    ss_store *s = load_with_data(t, p, ord), *bad;
    ss_iter *it;
    ss_slice v;
    int local;

    SS_CHECK_OK(ss_store_iter(&it, s, ord));
    SS_CHECK_ERR_MSG(SS_EINVAL,
                     ss_store_get(&v, (ss_store *)p, ord, BS(B("a"))),
                     "got a provider handle, not a store handle");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_iter_next((ss_iter *)s, NULL, NULL),
                     "got a store handle, not an iterator handle");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_provider_latest(NULL, (ss_provider *)it),
                     "not a provider handle");
    ss_error_clear();
    ss_provider_close((ss_provider *)s);
    SS_CHECK(strstr(ss_error_last(), "not a provider handle"));
    /* An address, and a token-shaped value whose slot was never used. */
    bad = (ss_store *)&local;
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_get(&v, bad, ord, BS(B("a"))),
                     "not a store handle");
    bad =
        (ss_store *)(uintptr_t)(UINT64_C(2) << 60 | UINT64_C(0x0ffffff) << 32);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_store_get(&v, bad, ord, BS(B("a"))),
                     "ss_store_get: 0x20ffffff00000000 is not a store handle");
    /* All three still work. */
    expect_get(t, s, ord, B("a"), B("1"));
    ss_iter_free(it);
    ss_store_free(s);
    SS_CHECK_EQ_U64(ss_store_version(NULL), 0);
}

/* ss_handle_checks switches only while no handle exists. */
static void
test_checked__mode_switch_refused(ss_test *t)
{
    unsigned ord;
    ss_provider *p = open_with_ord(t, &ord);
    ss_store *s;
    ss_iter *it;

    SS_CHECK_ERR_MSG(SS_EINVAL, ss_handle_checks(0), "live");
    SS_CHECK(ss_handle_checks(1) == 1); /* no switch: allowed */
    SS_CHECK(ss_handle_checks(-1) == 1);
    ss_test_close(t, p);
    SS_CHECK(ss_handle_checks(0) == 1);

    /* Unchecked handles block the switch the same way, iterators
     * included: one outlives its freed store (convention 9). */
    p = open_with_ord(t, &ord);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_handle_checks(1), "1 handles");
    s = load_with_data(t, p, ord);
    SS_CHECK_OK(ss_store_iter(&it, s, ord));
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_handle_checks(1), "3 handles");
    ss_store_free(s);
    ss_test_close(t, p);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_handle_checks(1), "1 handles");
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_iter_next(it, NULL, NULL),
                     "its store was freed");
    ss_iter_free(it);
    SS_CHECK(ss_handle_checks(1) == 0);
    SS_CHECK(ss_handle_checks(-1) == 1);
}

/* ---------------------------------------------------------- unchecked */

/* Without checks an iterator outlives its store, detached: refused,
 * then freed by the caller (ASan: no leak, no use after free). */
static void
test_unchecked__iter_outlives_store(ss_test *t)
{
    unsigned ord;
    ss_provider *p = open_with_ord(t, &ord);
    ss_store *s = load_with_data(t, p, ord);
    ss_iter *it, *it_c;
    ss_slice k, v;

    SS_CHECK_OK(ss_store_iter(&it, s, ord));
    ss_store_free(s);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_iter_next(it, &k, &v),
                     "its store was freed");
    ss_iter_free(it);

    /* And outlives its provider. */
    s = load_with_data(t, p, ord);
    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    SS_CHECK_OK(ss_store_iter(&it_c, s, ord));
    ss_test_close(t, p);
    SS_CHECK_ERR_MSG(SS_EINVAL, ss_iter_next(it_c, &k, &v),
                     "its store was freed");
    ss_iter_free(it_c);
}

/* Closing a provider frees a committed store the next writable load made
 * stale (it is on no other list): no leak under ASan. */
static void
test_unchecked__close_frees_stale_store(ss_test *t)
{
    unsigned ord;
    ss_provider *p = open_with_ord(t, &ord);
    ss_store *s = load_with_data(t, p, ord), *s2;
    ss_iter *it;

    SS_CHECK_EQ_U64(commit_store(t, s), 1);
    s2 = ss_test_load(t, p, 1);
    SS_CHECK_OK(ss_store_iter(&it, s2, ord));
    ss_test_close(t, p); /* frees s, s2; detaches it */
    ss_iter_free(it);
    SS_CHECK(ss_handle_checks(1) == 0); /* nothing is left */
    SS_CHECK(ss_handle_checks(0) == 1);
}

static const ss_test_case tests[] = {
    SS_TEST_INITIALIZE(checked),
    SS_TEST(checked, use_after_store_free),
    SS_TEST(checked, use_after_provider_close),
    SS_TEST(checked, any_free_order),
    SS_TEST(checked, double_free),
    SS_TEST(checked, iter_after_store_free),
    SS_TEST(checked, iter_of_retired_store),
    SS_TEST(checked, recycled_slot),
    SS_TEST(checked, wrong_kind_and_garbage),
    SS_TEST(checked, mode_switch_refused),
    SS_TEST_INITIALIZE(unchecked),
    SS_TEST(unchecked, iter_outlives_store),
    SS_TEST(unchecked, close_frees_stale_store),
    SS_TEST_END};

SS_TEST_MAIN(tests)
